//! The boxed `init` and `reset` closures a pool stores.

use crate::slab::Hooks;
use alloc::boxed::Box;

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
