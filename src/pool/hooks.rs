//! The boxed `init`, `reset` and `recycle_if` closures a pool stores, and the
//! per-thread hooks of a `ThreadLocalPool`'s cores.

use crate::slab::Hooks;
#[cfg(feature = "std")]
use crate::sync::StdArc;
use alloc::boxed::Box;
#[cfg(feature = "std")]
use core::cell::Cell;
use core::fmt;

/// A pool's user code: its `init` closure and the optional `reset` and
/// [`recycle_if`](crate::PoolBuilder::recycle_if) closures, boxed so the
/// pool's type names only `T` and which of the two kinds below it holds.
///
/// The single-thread pools take it as their second type parameter:
///
/// * [`LocalHooks<T>`], the default: the closures may capture anything
///   (an `Rc`, a `Cell`), and the pool stays on the thread that built it;
/// * [`SendHooks<T>`]: the closures are `Send`, so the pool is `Send` when
///   `T` is, and can be moved to the thread that will use it (an audio
///   callback, a worker). Built by [`FixedPool::new_send`](crate::FixedPool::new_send),
///   [`GrowingPool::new_send`](crate::GrowingPool::new_send) and the
///   builder's `build_fixed_send` / `build_growing_send`.
pub struct BoxedHooks<I: ?Sized, R: ?Sized, K: ?Sized> {
    init: Box<I>,
    reset: Option<Box<R>>,
    recycle: Option<Box<K>>,
}

/// The hooks of a single-thread pool that stays on its thread (the default
/// second type parameter of [`FixedPool`](crate::FixedPool) and
/// [`GrowingPool`](crate::GrowingPool)).
pub type LocalHooks<T> = BoxedHooks<dyn Fn() -> T, dyn Fn(&mut T), dyn Fn(&T) -> bool>;

/// The hooks of a single-thread pool that may move to another thread: every
/// closure is `Send`.
pub type SendHooks<T> =
    BoxedHooks<dyn Fn() -> T + Send, dyn Fn(&mut T) + Send, dyn Fn(&T) -> bool + Send>;

/// Hooks of a pool shared across threads: callable from any thread.
#[cfg_attr(not(target_has_atomic = "64"), allow(dead_code))]
pub(crate) type SharedHooks<T> = BoxedHooks<
    dyn Fn() -> T + Send + Sync,
    dyn Fn(&mut T) + Send + Sync,
    dyn Fn(&T) -> bool + Send + Sync,
>;

impl<I: ?Sized, R: ?Sized, K: ?Sized> BoxedHooks<I, R, K> {
    pub(crate) fn new(init: Box<I>, reset: Option<Box<R>>, recycle: Option<Box<K>>) -> Self {
        Self {
            init,
            reset,
            recycle,
        }
    }

    /// Hooks with only an `init` closure.
    pub(crate) fn init_only(init: Box<I>) -> Self {
        Self::new(init, None, None)
    }
}

impl<T, I, R, K> Hooks<T> for BoxedHooks<I, R, K>
where
    I: Fn() -> T + ?Sized,
    R: Fn(&mut T) + ?Sized,
    K: Fn(&T) -> bool + ?Sized,
{
    #[inline]
    fn init(&self) -> T {
        (self.init)()
    }

    #[inline(always)]
    fn has_reset(&self) -> bool {
        self.reset.is_some()
    }

    #[inline]
    fn reset(&self, value: &mut T) {
        if let Some(reset) = &self.reset {
            reset(value);
        }
    }

    #[inline(always)]
    fn has_recycle(&self) -> bool {
        self.recycle.is_some()
    }

    #[inline]
    fn recycle(&self, value: &T) -> bool {
        self.recycle.as_ref().map_or(true, |keep| keep(value))
    }
}

impl<I: ?Sized, R: ?Sized, K: ?Sized> fmt::Debug for BoxedHooks<I, R, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoxedHooks")
            .field("reset", &self.reset.is_some())
            .field("recycle_if", &self.recycle.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "std")]
/// The pool's hooks for one thread's core: the shared closures, plus
/// whether the owner thread's exit hook knows this core (a core drained at
/// an earlier owner's exit is registered again by its next owner).
pub(crate) struct ThreadHooks<T> {
    pub(crate) shared: StdArc<SharedHooks<T>>,
    pub(crate) registered: Cell<bool>,
}

#[cfg(feature = "std")]
impl<T> Hooks<T> for ThreadHooks<T> {
    fn init(&self) -> T {
        self.shared.init()
    }
    #[inline(always)]
    fn has_reset(&self) -> bool {
        self.shared.has_reset()
    }
    fn reset(&self, value: &mut T) {
        self.shared.reset(value);
    }
    #[inline(always)]
    fn has_recycle(&self) -> bool {
        self.shared.has_recycle()
    }
    fn recycle(&self, value: &T) -> bool {
        self.shared.recycle(value)
    }
}
