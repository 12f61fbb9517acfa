//! The one place that names atomics, `Arc` and `UnsafeCell`.
//!
//! Normal builds get `core`'s and `alloc`'s types; `--cfg loom` builds get loom's,
//! so the model checker sees every atomic access and every cell access. Cells are
//! only reached through `UnsafeCell::with_mut` (the loom API), never through
//! `get()`.

#[cfg(not(loom))]
pub(crate) use alloc::sync::Arc;
/// The standard `Arc` (with `Weak`) even under loom, for state loom does not
/// model: the thread-local pool's registry.
#[cfg_attr(not(feature = "std"), allow(unused_imports))]
pub(crate) use alloc::sync::{Arc as StdArc, Weak as StdWeak};
/// A flag only ever touched by one thread at a time (outside loom's view:
/// never compiled under loom).
#[cfg(all(feature = "std", not(loom)))]
pub(crate) use core::sync::atomic::AtomicBool;
#[cfg(not(loom))]
#[cfg_attr(not(feature = "std"), allow(unused_imports))]
pub(crate) use core::sync::atomic::{
    fence, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
#[cfg(all(not(loom), feature = "std"))]
pub(crate) use std::sync::{Mutex, MutexGuard};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};

/// Loom's model runner and threads, for models kept beside the code they
/// check (`src/cache.rs`); the models in `src/tests/` name loom directly.
#[cfg(all(test, loom))]
pub(crate) mod loom_rt {
    pub(crate) use loom::{model, thread};
}

/// `core::cell::UnsafeCell` with loom's closure-based access API.
#[cfg(not(loom))]
#[derive(Debug)]
#[repr(transparent)]
pub(crate) struct UnsafeCell<T: ?Sized>(core::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    /// Wraps `value`.
    #[inline(always)]
    pub(crate) const fn new(value: T) -> Self {
        Self(core::cell::UnsafeCell::new(value))
    }
}

#[cfg(not(loom))]
impl<T: ?Sized> UnsafeCell<T> {
    /// Runs `f` with a mutable raw pointer to the contents.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

/// Exponential backoff after a lost compare-and-swap, so contending threads
/// stop stealing the cache line from the winner; under loom, a yield so the
/// model checker can schedule the other threads.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    #[cfg(not(loom))]
    inner: crossbeam_utils::Backoff,
}

impl Backoff {
    /// A backoff that has not waited yet.
    #[inline(always)]
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Waits a little longer than last time.
    #[inline]
    pub(crate) fn spin(&self) {
        #[cfg(not(loom))]
        self.inner.spin();
        #[cfg(loom)]
        loom::thread::yield_now();
    }
}

/// Under loom, models choose the cache each loom thread uses (default:
/// none); see `src/cache.rs`.
#[cfg(loom)]
pub(crate) mod loom_serial {
    use core::cell::Cell;

    loom::thread_local! {
        static SERIAL: Cell<Option<usize>> = Cell::new(None);
    }

    /// The cache the calling loom thread uses.
    pub(crate) fn get() -> Option<usize> {
        SERIAL.with(Cell::get)
    }

    /// Makes the calling loom thread use cache `serial` (`None`: the shared
    /// stack only).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn set(serial: Option<usize>) {
        SERIAL.with(|s| s.set(serial));
    }
}
