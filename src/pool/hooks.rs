//! The boxed `init` and `reset` closures a pool stores, and the per-thread
//! hooks of a `ThreadLocalPool`'s cores.

use crate::slab::Hooks;
#[cfg(feature = "std")]
use crate::sync::StdArc;
use alloc::boxed::Box;
#[cfg(feature = "std")]
use core::cell::Cell;

/// A pool's `init` closure and optional `reset` closure, boxed so the pool
/// type names only `T`.
pub(crate) struct BoxedHooks<I: ?Sized, R: ?Sized> {
    init: Box<I>,
    reset: Option<Box<R>>,
}

/// Hooks of a single-thread pool.
pub(crate) type LocalHooks<T> = BoxedHooks<dyn Fn() -> T, dyn Fn(&mut T)>;
/// Hooks of a pool shared across threads: callable from any thread.
pub(crate) type SharedHooks<T> =
    BoxedHooks<dyn Fn() -> T + Send + Sync, dyn Fn(&mut T) + Send + Sync>;

impl<I: ?Sized, R: ?Sized> BoxedHooks<I, R> {
    pub(crate) fn new(init: Box<I>, reset: Option<Box<R>>) -> Self {
        Self { init, reset }
    }
}

impl<T, I, R> Hooks<T> for BoxedHooks<I, R>
where
    I: Fn() -> T + ?Sized,
    R: Fn(&mut T) + ?Sized,
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
}
