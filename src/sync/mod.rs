//! The one place that names atomics, `Arc`, `Mutex` and `UnsafeCell`.
//!
//! Two mirror modules export the same names: [`std_types`] (`core`'s,
//! `alloc`'s and `std`'s types, for every normal build) and `loom_types`
//! (loom's, under `--cfg fastalloc_loom`), so the model checker sees every
//! atomic access and every cell access. Cells are only reached through
//! `UnsafeCell::with_mut` (loom's API), never through `get()`.
//!
//! The cfg is `fastalloc_loom`, not `loom`, so that dependencies with `loom`
//! code paths of their own (tokio, in the tests) build as usual in a model
//! run. `ci/sync-paths.sh` fails the build if another file names these types
//! directly.

#[cfg(target_has_atomic = "64")]
pub(crate) mod barrier;

#[cfg(not(fastalloc_loom))]
pub(crate) use self::std_types::*;

#[cfg(fastalloc_loom)]
pub(crate) use self::loom_types::*;

/// The standard `Arc` (with `Weak`) even under loom, for state loom does not
/// model: the thread-local pool's table and the caches' exit hooks.
#[cfg_attr(not(feature = "std"), allow(unused_imports))]
pub(crate) use alloc::sync::{Arc as StdArc, Weak as StdWeak};
/// A standard atomic even under loom, for state loom does not model: the
/// counter of `ThreadLocalPool` ids (a `static`, which loom atomics cannot
/// be).
#[cfg(feature = "std")]
pub(crate) use core::sync::atomic::AtomicU64 as StdAtomicU64;
/// The standard `Mutex` even under loom: the thread serial allocator, which
/// loom does not model (loom threads have no serials).
#[cfg(feature = "std")]
pub(crate) use std::sync::Mutex as StdMutex;

/// Normal builds: the standard library's types.
#[cfg(not(fastalloc_loom))]
mod std_types {
    pub(crate) use alloc::sync::Arc;
    /// A flag only ever touched by one thread at a time (outside loom's view:
    /// never compiled under loom).
    #[cfg(feature = "std")]
    pub(crate) use core::sync::atomic::AtomicBool;
    /// 64-bit atomics only where the target has them: the shared pools'
    /// words need them; the single-thread pools build without.
    #[cfg(target_has_atomic = "64")]
    pub(crate) use core::sync::atomic::AtomicU64;
    #[cfg_attr(not(feature = "std"), allow(unused_imports))]
    pub(crate) use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};
    #[cfg(feature = "std")]
    pub(crate) use std::sync::{Mutex, MutexGuard};

    /// `core::cell::UnsafeCell` with loom's closure-based access API.
    #[derive(Debug)]
    #[repr(transparent)]
    pub(crate) struct UnsafeCell<T: ?Sized>(core::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        /// Wraps `value`.
        #[inline(always)]
        pub(crate) const fn new(value: T) -> Self {
            Self(core::cell::UnsafeCell::new(value))
        }
    }

    impl<T: ?Sized> UnsafeCell<T> {
        /// Runs `f` with a mutable raw pointer to the contents.
        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }

    /// Exponential backoff after a lost compare-and-swap, so contending
    /// threads stop stealing the cache line from the winner.
    #[derive(Debug, Default)]
    pub(crate) struct Backoff(crossbeam_utils::Backoff);

    impl Backoff {
        /// A backoff that has not waited yet.
        #[inline(always)]
        pub(crate) fn new() -> Self {
            Self::default()
        }

        /// Waits a little longer than last time.
        #[inline]
        pub(crate) fn spin(&self) {
            self.0.spin();
        }

        /// Waits for another thread to make progress: spins a little longer
        /// each time, then (with `std`) yields the thread.
        #[inline]
        pub(crate) fn snooze(&self) {
            self.0.snooze();
        }
    }
}

/// Model runs: loom's types, with the same names.
#[cfg(fastalloc_loom)]
mod loom_types {
    pub(crate) use loom::cell::UnsafeCell;
    pub(crate) use loom::sync::atomic::{
        fence, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
    };
    pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};

    /// Under loom a lost compare-and-swap yields, so the model checker can
    /// schedule the other threads.
    #[derive(Debug, Default)]
    pub(crate) struct Backoff;

    impl Backoff {
        /// A backoff that has not waited yet.
        #[inline(always)]
        pub(crate) fn new() -> Self {
            Self
        }

        /// Lets another loom thread run.
        #[inline]
        pub(crate) fn spin(&self) {
            loom::thread::yield_now();
        }

        /// Lets another loom thread run.
        #[inline]
        pub(crate) fn snooze(&self) {
            loom::thread::yield_now();
        }
    }

    /// Loom's model runner and threads, for the models in `src/tests/` and
    /// beside the code they check.
    #[cfg(test)]
    pub(crate) mod loom_rt {
        pub(crate) use loom::{model, thread};
    }

    /// Models choose the cache each loom thread uses (default: none); see
    /// `src/freelist/cached.rs`.
    pub(crate) mod loom_serial {
        use core::cell::Cell;

        loom::thread_local! {
            static SERIAL: Cell<Option<usize>> = Cell::new(None);
        }

        /// The cache the calling loom thread uses.
        pub(crate) fn get() -> Option<usize> {
            SERIAL.with(Cell::get)
        }

        /// Makes the calling loom thread use cache `serial` (`None`: the
        /// shared stack only).
        #[cfg_attr(not(test), allow(dead_code))]
        pub(crate) fn set(serial: Option<usize>) {
            SERIAL.with(|s| s.set(serial));
        }
    }
}
