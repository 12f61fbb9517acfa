//! [`AsyncPool`]: `get().await` waits for a free object, fairly, on any
//! executor.
//!
//! The objects live in the same core as [`ThreadSafePool`]'s (per-thread
//! caches in front of a lock-free stack,
//! growth included); waiting is a FIFO list of wakers under a mutex that
//! only waiting tasks and releases *while someone waits* touch:
//!
//! * `get` takes an object directly when nobody waits; otherwise it queues
//!   (behind earlier waiters, never ahead of them).
//! * A release pushes the object back, then, if anyone waits, moves the
//!   first queued waiter to "notified" and wakes it. The waiter takes an
//!   object when polled; if a `try_get` took it first, it goes back to the
//!   front of the queue.
//! * A dropped `get` future leaves the queue; if it had been notified (or
//!   its `init` panicked while it took an object), it passes the wake-up on
//!   to the next waiter, so no release is lost.
//!
//! A waiter registers before the attempt that may fail, and a release
//! checks for waiters after its push (the release with the light side of
//! the crate's barrier pair between its write and its read, the waiter with
//! the heavy side), so a waiter either sees the released object or is seen
//! by the release. No user code (`init`, wakers) runs
//! under the mutex: see `wait_list.rs`.
//!
//! [`ThreadSafePool`]: crate::ThreadSafePool

use super::guard::guard_impls;
use super::hooks::{BoxedHooks, SharedHooks};
use super::wait_list::{wake_on_unwind, Place, WaitList, WakeNext};
use super::{shared_core, SharedCore};
#[cfg(doc)]
use crate::error::ConfigError;
use crate::error::PoolExhausted;
use crate::slab::{Grows, Layout, Lease, Settings};
use crate::stats::StatsSnapshot;
use crate::sync::Arc;
use alloc::boxed::Box;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

/// A pool whose `get().await` waits while every object is in use and wakes
/// when one is released. Runtime-agnostic (plain `Waker`s, no timer, no
/// executor of its own), fair (waiters are served first come, first served)
/// and cancellation-safe (a dropped `get` future loses no object and no
/// wake-up). `Send + Sync` when `T: Send`; its guards and futures are `Send`
/// when `T: Send`.
///
/// Shares [`ThreadSafePool`](crate::ThreadSafePool)'s core: when
/// nobody waits, `get` costs a `try_get` plus one load, and it grows like a
/// `ThreadSafePool` when built with a larger `max_capacity`.
///
/// ```
/// use std::sync::Arc;
/// use fastalloc::AsyncPool;
///
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     use std::task::{Context, Poll, Wake, Waker};
/// #     struct Unpark(std::thread::Thread);
/// #     impl Wake for Unpark { fn wake(self: Arc<Self>) { self.0.unpark() } }
/// #     let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
/// #     let mut f = std::pin::pin!(f);
/// #     loop {
/// #         if let Poll::Ready(v) = f.as_mut().poll(&mut Context::from_waker(&waker)) { return v }
/// #         std::thread::park();
/// #     }
/// # }
/// let pool = Arc::new(AsyncPool::new(1, || vec![0u8; 1024]));
/// block_on(async {
///     let first = pool.get().await;
///     assert!(pool.try_get().is_err(), "the only object is out");
///     let pool2 = Arc::clone(&pool);
///     let waiter = std::thread::spawn(move || block_on(async {
///         pool2.get().await.len() // waits until `first` is dropped
///     }));
///     drop(first);
///     assert_eq!(waiter.join().unwrap(), 1024);
/// });
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub struct AsyncPool<T> {
    core: Arc<SharedCore<T>>,
    waiters: Arc<WaitList>,
}

impl<T: Send> AsyncPool<T> {
    /// A pool of `capacity` objects, each built by `init` on first use.
    ///
    /// # Panics
    ///
    /// If `capacity` is 0 or above [`MAX_CAPACITY`](crate::MAX_CAPACITY) (the
    /// builder returns a [`ConfigError`] instead).
    #[track_caller]
    pub fn new<F>(capacity: usize, init: F) -> Self
    where
        F: Fn() -> T + Send + Sync + 'static,
    {
        let layout =
            Settings::with_capacity(capacity).expect("AsyncPool", Grows::WithMax, "AsyncPool::new");
        Self::from_parts(layout, BoxedHooks::init_only(Box::new(init)))
    }

    pub(crate) fn from_parts(layout: Layout, hooks: SharedHooks<T>) -> Self {
        Self {
            core: shared_core(layout, hooks),
            waiters: Arc::new(WaitList::new()),
        }
    }
}

impl<T> AsyncPool<T> {
    /// Waits for a free object and hands it out. Never fails: it waits as
    /// long as every object is in use. Waiters are served in the order they
    /// first polled. Dropping the future before it completes gives up its
    /// place (and any object or wake-up meant for it goes to the next waiter).
    /// Forgetting it instead (`mem::forget`, or leaking it) after it was
    /// polled keeps its place: it is woken in turn and never claims the
    /// object, so the waiter behind it waits for the next release. No object
    /// is lost (`try_get` still gets it).
    ///
    /// No lock is held while `init` runs or while a waker is cloned, dropped
    /// or woken, so `init` and wakers may use this same pool.
    ///
    /// To wait at most a while, wrap the future in your runtime's timeout;
    /// when it expires the future is dropped, which gives up its place:
    ///
    /// ```
    /// use std::time::Duration;
    /// use fastalloc::AsyncPool;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = AsyncPool::new(1, || [0u8; 64]);
    /// let held = pool.get().await;
    /// let waited = tokio::time::timeout(Duration::from_millis(10), pool.get()).await;
    /// assert!(waited.is_err(), "every object is in use: timed out");
    /// assert_eq!(pool.waiting(), 0, "the timed-out waiter left the line");
    /// drop(held);
    /// let got = tokio::time::timeout(Duration::from_secs(1), pool.get()).await;
    /// assert!(got.is_ok());
    /// # }
    /// ```
    pub fn get(&self) -> Acquire<'_, T> {
        Acquire {
            pool: self,
            place: Place::default(),
        }
    }

    /// Hands out a free object now, or fails without waiting. It does not
    /// queue, so it may take an object ahead of waiting tasks.
    ///
    /// # Errors
    ///
    /// [`PoolExhausted`] when every object is in use.
    #[inline(always)]
    pub fn try_get(&self) -> Result<AsyncGuard<'_, T>, PoolExhausted> {
        wake_on_unwind(&self.waiters, || Lease::acquire(&*self.core)).map(|lease| self.guard(lease))
    }

    fn guard<'a>(&'a self, lease: Lease<&'a SharedCore<T>>) -> AsyncGuard<'a, T> {
        AsyncGuard {
            lease,
            _wake: WakeNext(&self.waiters),
        }
    }

    /// Like [`get`](Self::get), with a guard that keeps the pool's storage
    /// alive by reference count: `'static`, and `Send` when `T: Send`, so it
    /// can move into a spawned task.
    pub fn get_owned(self: &alloc::sync::Arc<Self>) -> AcquireOwned<T> {
        AcquireOwned {
            core: Arc::clone(&self.core),
            waiters: Arc::clone(&self.waiters),
            place: Place::default(),
        }
    }

    /// Like [`try_get`](Self::try_get), with an owned guard (see
    /// [`get_owned`](Self::get_owned)).
    ///
    /// # Errors
    ///
    /// [`PoolExhausted`] when every object is in use.
    pub fn try_get_owned(
        self: &alloc::sync::Arc<Self>,
    ) -> Result<AsyncOwnedGuard<T>, PoolExhausted> {
        wake_on_unwind(&self.waiters, || Lease::acquire(Arc::clone(&self.core)))
            .map(|lease| AsyncOwnedGuard::new(lease, &self.waiters))
    }

    /// Gives an object back: the same as dropping its guard.
    ///
    /// # Panics
    ///
    /// If `guard` came from another pool, or if the reset hook panics.
    #[track_caller]
    pub fn release(&self, guard: AsyncGuard<'_, T>) {
        guard.lease.assert_from(&self.core, "AsyncPool::release");
        drop(guard);
    }

    /// Gives an owned object back: the same as dropping its guard.
    ///
    /// # Panics
    ///
    /// As [`release`](Self::release).
    #[track_caller]
    pub fn release_owned(&self, guard: AsyncOwnedGuard<T>) {
        guard
            .lease
            .assert_from(&self.core, "AsyncPool::release_owned");
        drop(guard);
    }

    /// The number of objects the pool can hold now (more after it grows).
    pub fn capacity(&self) -> usize {
        self.core.capacity()
    }

    /// The capacity the pool may grow to.
    pub fn max_capacity(&self) -> usize {
        self.core.max_capacity()
    }

    /// The number of objects held by guards now.
    pub fn in_use(&self) -> usize {
        self.core.in_use()
    }

    /// The number of objects `try_get` can hand out now.
    pub fn available(&self) -> usize {
        self.core.available()
    }

    /// The number of tasks waiting in `get` now.
    pub fn waiting(&self) -> usize {
        self.waiters.waiting()
    }

    /// Drops every idle object, keeping the slots: see
    /// [`ThreadSafePool::trim`](crate::ThreadSafePool::trim).
    pub fn trim(&self) -> usize {
        self.core.trim()
    }

    /// The pool's figures now; see [`StatsSnapshot`]. A `get` that waits is
    /// one allocation when it completes; `exhausted` counts `try_get`
    /// failures and each time a `get` had to wait: once when it queues, and
    /// once more each time it was woken but a `try_get` took the object
    /// first.
    pub fn stats(&self) -> StatsSnapshot {
        let mut stats = self.core.stats();
        stats.waiting = self.waiting() as u64;
        stats
    }

    /// The number of objects built and free now: the gets that will not run
    /// `init` (Python's `available()`; exact when no get or release is in
    /// flight).
    #[inline]
    pub fn idle(&self) -> usize {
        self.core.idle()
    }

    /// Sets the statistics' counters to zero and their peaks to the figures
    /// now (see [`FixedPool::reset_stats`](crate::FixedPool::reset_stats)).
    /// Exact when no get or release is in flight; one that is may be counted
    /// in the window before, the one after, or (a get whose object was taken
    /// but not yet counted) as a release in both.
    pub fn reset_stats(&self) {
        self.core.reset_stats();
    }

    /// Puts `value`, built by the caller, into a slot that holds no object
    /// (see [`FixedPool::insert`](crate::FixedPool::insert)). The pool does
    /// not grow for it.
    ///
    /// # Errors
    ///
    /// `Err(value)` when no free slot is empty.
    pub fn insert(&self, value: T) -> Result<(), T> {
        // No waiter to wake: a free slot that `insert` can fill is one a
        // waiter's attempt would have found.
        self.core.insert(value)
    }
}

impl<T> fmt::Debug for AsyncPool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncPool")
            .field("capacity", &self.capacity())
            .field("in_use", &self.in_use())
            .field("waiting", &self.waiting())
            .finish()
    }
}

/// The future of [`AsyncPool::get`]: resolves to a guard.
#[must_use = "futures do nothing unless awaited"]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub struct Acquire<'a, T> {
    pool: &'a AsyncPool<T>,
    place: Place,
}

impl<'a, T> Future for Acquire<'a, T> {
    type Output = AsyncGuard<'a, T>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let pool = this.pool;
        this.place
            .poll(
                &pool.waiters,
                cx,
                || wake_on_unwind(&pool.waiters, || Lease::new_unreported(&*pool.core)),
                || pool.core.count_wait(),
            )
            .map(|lease| pool.guard(lease))
    }
}

impl<T> Drop for Acquire<'_, T> {
    fn drop(&mut self) {
        self.place.cancel(&self.pool.waiters);
    }
}

impl<T> fmt::Debug for Acquire<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("queued", &self.place.is_queued())
            .finish()
    }
}

/// The future of [`AsyncPool::get_owned`]: resolves to an owned guard.
#[must_use = "futures do nothing unless awaited"]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub struct AcquireOwned<T> {
    core: Arc<SharedCore<T>>,
    waiters: Arc<WaitList>,
    place: Place,
}

impl<T> Future for AcquireOwned<T> {
    type Output = AsyncOwnedGuard<T>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let core = &this.core;
        this.place
            .poll(
                &this.waiters,
                cx,
                || wake_on_unwind(&this.waiters, || Lease::new_unreported(Arc::clone(core))),
                || core.count_wait(),
            )
            .map(|lease| AsyncOwnedGuard::new(lease, &this.waiters))
    }
}

impl<T> Drop for AcquireOwned<T> {
    fn drop(&mut self) {
        self.place.cancel(&self.waiters);
    }
}

impl<T> fmt::Debug for AcquireOwned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquireOwned")
            .field("queued", &self.place.is_queued())
            .finish()
    }
}

/// [`WakeNext`] for owned guards.
struct WakeNextOwned(Arc<WaitList>);

impl Drop for WakeNextOwned {
    #[inline]
    fn drop(&mut self) {
        self.0.released();
    }
}

/// An object on loan from an [`AsyncPool`], borrowing the pool. `Send` when
/// `T: Send`. Dropping it wakes the next waiting task.
///
/// The guard is `#[must_use]`: a guard dropped at once hands its object
/// straight back, so discarding one is reported (an error here, where the
/// lint is denied):
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// let pool = fastalloc::AsyncPool::new(1, || 0u32);
/// pool.try_get().unwrap(); // error: unused `AsyncGuard` that must be used
/// ```
///
/// ```
/// #![deny(unused_must_use)]
/// let pool = fastalloc::AsyncPool::new(1, || 0u32);
/// let _held = pool.try_get().unwrap(); // bound: held to the end of the scope
/// ```
#[must_use = "dropping the guard at once gives the object straight back to the pool; bind it: `let obj = pool.get()?;`"]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub struct AsyncGuard<'a, T> {
    lease: Lease<&'a SharedCore<T>>,
    _wake: WakeNext<'a>,
}

guard_impls!(AsyncGuard<'a>);

/// An object on loan from an [`AsyncPool`] that keeps the pool's storage
/// alive: `'static`, and `Send` when `T: Send`. From
/// [`AsyncPool::get_owned`].
///
/// The guard is `#[must_use]`: a guard dropped at once hands its object
/// straight back, so discarding one is reported (an error here, where the
/// lint is denied):
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// let pool = std::sync::Arc::new(fastalloc::AsyncPool::new(1, || 0u32));
/// pool.try_get_owned().unwrap(); // error: unused `AsyncOwnedGuard` that must be used
/// ```
///
/// ```
/// #![deny(unused_must_use)]
/// let pool = std::sync::Arc::new(fastalloc::AsyncPool::new(1, || 0u32));
/// let _held = pool.try_get_owned().unwrap(); // bound: held to the end of the scope
/// ```
#[must_use = "dropping the guard at once gives the object straight back to the pool; bind it: `let obj = pool.get()?;`"]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub struct AsyncOwnedGuard<T> {
    lease: Lease<Arc<SharedCore<T>>>,
    _wake: WakeNextOwned,
}

guard_impls!(AsyncOwnedGuard);

impl<T> AsyncOwnedGuard<T> {
    fn new(lease: Lease<Arc<SharedCore<T>>>, waiters: &Arc<WaitList>) -> Self {
        Self {
            lease,
            _wake: WakeNextOwned(Arc::clone(waiters)),
        }
    }
}
