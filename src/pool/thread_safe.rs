//! [`ThreadSafePool`]: a pool shared across threads, per-thread caches in
//! front of a lock-free stack.

use super::guard::guard_impls;
use super::hooks::{BoxedHooks, SharedHooks};
#[cfg(feature = "std")]
use super::wait_list::{wake_on_unwind, Place, WaitList, WakeNext};
use super::SharedCore;
#[cfg(doc)]
use crate::error::ConfigError;
use crate::error::PoolExhausted;
use crate::slab::{Core, Growable, Grows, Layout, Lease, Owner, Settings};
use crate::stats::StatsSnapshot;
use crate::sync::Arc;
#[cfg(feature = "std")]
use crate::sync::StdArc;
use alloc::boxed::Box;
use core::fmt;
use core::ops::Deref;
#[cfg(feature = "std")]
use std::time::{Duration, Instant};

/// A pool of `capacity` objects shared across threads by reference (it is
/// `Send + Sync` when `T: Send`).
///
/// Free objects sit in small per-thread caches in front of a tagged Treiber
/// stack of slot indices: a `get` and a release touch only the calling
/// thread's cache (one uncontended lock each, which other threads take only
/// to steal), and move indices to and from the lock-free shared stack in
/// batches. An object parked in any thread's cache
/// counts as available: a `get` that finds its cache and the shared stack
/// empty takes one from another thread's cache, and reports
/// [`PoolExhausted`] only when every object was on loan at one instant. When
/// a thread exits, the next refill on any thread takes its cached objects.
/// Built with a [`max_capacity`](crate::PoolBuilder::max_capacity) above its
/// capacity, the pool grows when it runs out, lock-free: threads that find it
/// empty at once add one segment between them, and no object ever moves.
/// [`get`](ThreadSafePool::get) returns a guard that borrows the pool;
/// [`get_owned`](ThreadSafePool::get_owned) returns a `'static` guard that can
/// move into a spawned thread or task.
///
/// ```
/// use fastalloc::ThreadSafePool;
///
/// let pool = ThreadSafePool::new(4, || [0u64; 8]);
/// std::thread::scope(|s| {
///     for t in 0..2 {
///         let pool = &pool;
///         s.spawn(move || {
///             let mut block = pool.get().expect("4 objects for 2 threads");
///             block[0] = t;
///         });
///     }
/// });
/// assert_eq!(pool.in_use(), 0);
/// ```
///
/// A borrowed guard cannot outlive its pool (use `get_owned` for that):
///
/// ```compile_fail,E0597
/// use fastalloc::ThreadSafePool;
///
/// let guard = {
///     let pool = ThreadSafePool::new(1, || 0u32);
///     pool.get().unwrap() // error: `pool` does not live long enough
/// };
/// ```
#[cfg_attr(docsrs, doc(cfg(target_has_atomic = "64")))]
pub struct ThreadSafePool<T> {
    core: Arc<Shared<T>>,
}

/// A `ThreadSafePool`'s storage: the core, and (with `std`) the threads
/// waiting in `get_timeout`, which every release of the pool's guards looks
/// at (one relaxed load when nobody waits).
pub(crate) struct Shared<T> {
    core: SharedCore<T>,
    #[cfg(feature = "std")]
    waiters: WaitList,
}

impl<T> Shared<T> {
    /// Runs `take`, which may run `init`: if `init` panics, its slot went
    /// back empty, so a `get_timeout` waiter is woken for it, as a release
    /// would. Free unless a panic unwinds.
    #[inline(always)]
    fn waking_on_unwind<R>(&self, take: impl FnOnce() -> R) -> R {
        #[cfg(feature = "std")]
        return wake_on_unwind(&self.waiters, take);
        #[cfg(not(feature = "std"))]
        take()
    }
}

impl<T> Deref for Shared<T> {
    type Target = SharedCore<T>;
    #[inline(always)]
    fn deref(&self) -> &SharedCore<T> {
        &self.core
    }
}

/// The `Owner` impls of the two handles a guard may keep of a `Shared`: a
/// borrow (`ThreadSafeGuard`) or an `Arc` (`OwnedGuard`).
macro_rules! shared_owner {
    ($($handle:ty),*) => {$(
        // SAFETY: I7 — a borrow, or an `Arc`, always points at the same
        // `Shared`, which it keeps alive and in place (with its core) while it
        // lives.
        unsafe impl<T> Owner for $handle {
            type Item = T;
            type List = crate::freelist::CachedStack;
            type Hooks = SharedHooks<T>;
            type Shape = Growable;
            #[inline(always)]
            fn core(&self) -> &Core<T, Self::List, Self::Hooks, Growable> {
                &self.core
            }
            #[cfg(feature = "std")]
            #[inline(always)]
            fn on_release(&self) -> impl Sized {
                WakeNext(&self.waiters)
            }
        }
    )*};
}

shared_owner!(&Shared<T>, Arc<Shared<T>>);

impl<T: Send> ThreadSafePool<T> {
    /// A pool of `capacity` objects, each built by `init` on first use, on
    /// whichever thread first needs it.
    ///
    /// For a reset hook, pre-initialisation or statistics, use
    /// [`PoolBuilder`](crate::PoolBuilder).
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
        let layout = Settings::with_capacity(capacity).expect(
            "ThreadSafePool",
            Grows::WithMax,
            "ThreadSafePool::new",
        );
        Self::from_parts(layout, BoxedHooks::init_only(Box::new(init)))
    }

    pub(crate) fn from_parts(layout: Layout, hooks: SharedHooks<T>) -> Self {
        Self {
            core: Arc::new(Shared {
                core: Core::new(layout, hooks),
                #[cfg(feature = "std")]
                waiters: WaitList::new(),
            }),
        }
    }
}

impl<T> ThreadSafePool<T> {
    /// Hands out a free object, building it if its slot is still empty.
    ///
    /// # Errors
    ///
    /// [`PoolExhausted`] when all `capacity` objects are held by guards (for
    /// a growing pool: at `max_capacity`, or when the allocator refuses the
    /// next growth step's memory).
    ///
    /// # Panics
    ///
    /// If `init` panics; the pool stays usable and the slot stays free.
    #[inline(always)]
    pub fn get(&self) -> Result<ThreadSafeGuard<'_, T>, PoolExhausted> {
        self.core
            .waking_on_unwind(|| Lease::acquire(&*self.core))
            .map(|lease| ThreadSafeGuard { lease })
    }

    /// Like [`get`](Self::get), but the guard holds a reference count on the
    /// pool's storage instead of a borrow: it is `'static`, and `Send` when
    /// `T: Send`. The storage lives until the pool and every owned guard are
    /// gone.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use fastalloc::ThreadSafePool;
    ///
    /// let pool = Arc::new(ThreadSafePool::new(2, String::new));
    /// let mut s = pool.get_owned()?;
    /// let worker = std::thread::spawn(move || {
    ///     s.push_str("filled on another thread");
    ///     s.len()
    /// });
    /// assert_eq!(worker.join().unwrap(), 24);
    /// assert_eq!(pool.in_use(), 0);
    /// # Ok::<(), fastalloc::PoolExhausted>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`PoolExhausted`] when all `capacity` objects are held by guards.
    #[inline(always)]
    pub fn get_owned(self: &alloc::sync::Arc<Self>) -> Result<OwnedGuard<T>, PoolExhausted> {
        self.core
            .waking_on_unwind(|| Lease::acquire(Arc::clone(&self.core)))
            .map(|lease| OwnedGuard { lease })
    }

    /// Like [`get`](Self::get), but when every object is in use the calling
    /// thread parks until one is released or `timeout` has passed. Waiting
    /// callers are served first come, first served: each release wakes the
    /// longest-waiting one. When nobody waits, a release pays one relaxed
    /// load for this (on Linux; elsewhere also a `SeqCst` fence).
    ///
    /// ```
    /// use std::time::Duration;
    /// use fastalloc::ThreadSafePool;
    ///
    /// let pool = ThreadSafePool::new(1, || 0u64);
    /// let held = pool.get()?;
    /// std::thread::scope(|s| {
    ///     s.spawn(|| {
    ///         std::thread::sleep(Duration::from_millis(20));
    ///         drop(held); // wakes the waiting thread
    ///     });
    ///     let got = pool.get_timeout(Duration::from_secs(10)).expect("released within 10 s");
    ///     assert_eq!(*got, 0);
    /// });
    /// let _held = pool.get()?;
    /// assert!(pool.get_timeout(Duration::from_millis(10)).is_err()); // nobody releases
    /// # Ok::<(), fastalloc::PoolExhausted>(())
    /// ```
    ///
    /// A guard taken by `get_timeout` is like any other; `get` and
    /// `get_owned` do not queue (they may take an object a waiter was woken
    /// for, which then waits on).
    ///
    /// # Errors
    ///
    /// [`PoolExhausted`] when no object came free within `timeout`
    /// (statistics count one `exhausted` per wait).
    ///
    /// # Panics
    ///
    /// If `init` panics; the pool stays usable, and the next waiter is woken.
    #[cfg(feature = "std")]
    #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
    pub fn get_timeout(&self, timeout: Duration) -> Result<ThreadSafeGuard<'_, T>, PoolExhausted> {
        let shared = &*self.core;
        let take = || wake_on_unwind(&shared.waiters, || Lease::new_unreported(shared));
        let waits = || shared.count_wait();
        // The first poll takes a free object directly when nobody waits.
        let mut place = Waiting(Place::default(), &shared.waiters);
        let waker = THREAD_WAKER
            .try_with(Clone::clone)
            .unwrap_or_else(|_| thread_waker());
        let mut cx = core::task::Context::from_waker(&waker);
        let deadline = Instant::now().checked_add(timeout);
        loop {
            if let core::task::Poll::Ready(lease) =
                place.0.poll(&shared.waiters, &mut cx, take, waits)
            {
                return Ok(ThreadSafeGuard { lease });
            }
            let left = match deadline {
                Some(deadline) => deadline.saturating_duration_since(Instant::now()),
                None => Duration::MAX,
            };
            if left.is_zero() {
                // Leaves the line (passing on a wake meant for it) as it drops.
                return Err(PoolExhausted::new(self.capacity()));
            }
            std::thread::park_timeout(left);
        }
    }

    /// Gives an object back: the same as dropping its guard.
    ///
    /// # Panics
    ///
    /// If `guard` came from another pool (the guard then goes back to its own
    /// pool as it unwinds), or if the reset hook panics.
    #[track_caller]
    pub fn release(&self, guard: ThreadSafeGuard<'_, T>) {
        guard
            .lease
            .assert_from(&self.core, "ThreadSafePool::release");
        drop(guard);
    }

    /// Gives an owned object back: the same as dropping its guard.
    ///
    /// # Panics
    ///
    /// As [`release`](Self::release).
    #[track_caller]
    pub fn release_owned(&self, guard: OwnedGuard<T>) {
        guard
            .lease
            .assert_from(&self.core, "ThreadSafePool::release_owned");
        drop(guard);
    }

    /// The number of objects the pool can hold now (more after it grows).
    #[inline]
    pub fn capacity(&self) -> usize {
        self.core.capacity()
    }

    /// The capacity the pool may grow to: its capacity unless it was built
    /// with a larger [`max_capacity`](crate::PoolBuilder::max_capacity).
    pub fn max_capacity(&self) -> usize {
        self.core.max_capacity()
    }

    /// Drops every idle object the pool holds, keeping its slots (see
    /// [`FixedPool::trim`](crate::FixedPool::trim)). Returns how many were
    /// dropped.
    ///
    /// It takes the free objects off the pool for a moment and moves them
    /// out of their slots, as `FixedPool::trim` does: a `get` on another
    /// thread that finds no free object in that moment waits for it rather
    /// than report exhaustion (or grow the pool). While the slots are off
    /// the pool, `in_use`, `available` and `stats` read by other threads
    /// count them as in use.
    ///
    /// # Panics
    ///
    /// If a `T::drop` panics; every slot is back (empty), and the objects
    /// after the panicking one are dropped as the panic unwinds.
    pub fn trim(&self) -> usize {
        self.core.trim()
    }

    /// The number of objects held by guards now (exact when no `get` or
    /// release is in flight).
    #[inline]
    pub fn in_use(&self) -> usize {
        self.core.in_use()
    }

    /// The number of objects `get` can hand out now (built or not yet built).
    #[inline]
    pub fn available(&self) -> usize {
        self.core.available()
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
    /// ```
    /// use fastalloc::{ThreadSafeGuard, ThreadSafePool};
    ///
    /// let pool = ThreadSafePool::new(1, || vec![0u8; 16]);
    /// let buf = ThreadSafeGuard::into_inner(pool.get()?);
    /// assert_eq!((pool.in_use(), pool.idle()), (0, 0));
    /// pool.insert(buf).unwrap();
    /// assert_eq!(pool.idle(), 1);
    /// # Ok::<(), fastalloc::PoolExhausted>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `Err(value)` when no free slot is empty.
    pub fn insert(&self, value: T) -> Result<(), T> {
        // No waiter to wake: a free slot that `insert` can fill is one a
        // waiter's attempt would have found.
        self.core.insert(value)
    }

    /// The number of threads waiting in [`get_timeout`](Self::get_timeout)
    /// now.
    #[cfg(feature = "std")]
    #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
    pub fn waiting(&self) -> usize {
        self.core.waiters.waiting()
    }

    /// The pool's figures now; see [`StatsSnapshot`].
    pub fn stats(&self) -> StatsSnapshot {
        #[allow(unused_mut)]
        let mut stats = self.core.stats();
        #[cfg(feature = "std")]
        {
            stats.waiting = self.waiting() as u64;
        }
        stats
    }
}

impl<T> fmt::Debug for ThreadSafePool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadSafePool")
            .field("capacity", &self.capacity())
            .field("in_use", &self.in_use())
            .finish()
    }
}

/// An object on loan from a [`ThreadSafePool`], borrowing the pool. `Send`
/// when `T: Send`, so it may be released on another (scoped) thread.
///
/// The guard is `#[must_use]`: a guard dropped at once hands its object
/// straight back, so discarding one is reported (an error here, where the
/// lint is denied):
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// let pool = fastalloc::ThreadSafePool::new(1, || 0u32);
/// pool.get().unwrap(); // error: unused `ThreadSafeGuard` that must be used
/// ```
///
/// ```
/// #![deny(unused_must_use)]
/// let pool = fastalloc::ThreadSafePool::new(1, || 0u32);
/// let _held = pool.get().unwrap(); // bound: held to the end of the scope
/// ```
#[must_use = "dropping the guard at once gives the object straight back to the pool; bind it: `let obj = pool.get()?;`"]
#[cfg_attr(docsrs, doc(cfg(target_has_atomic = "64")))]
pub struct ThreadSafeGuard<'a, T> {
    lease: Lease<&'a Shared<T>>,
}

guard_impls!(ThreadSafeGuard<'a>);

/// An object on loan from a [`ThreadSafePool`] that keeps the pool's storage
/// alive by reference count: `'static`, and `Send` when `T: Send`. From
/// [`ThreadSafePool::get_owned`].
///
/// Passing it to `mem::forget` leaks its object *and* the pool's storage (the
/// reference count it holds is never given back), as forgetting an `Arc` does.
///
/// The guard is `#[must_use]`: a guard dropped at once hands its object
/// straight back, so discarding one is reported (an error here, where the
/// lint is denied):
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// let pool = std::sync::Arc::new(fastalloc::ThreadSafePool::new(1, || 0u32));
/// pool.get_owned().unwrap(); // error: unused `OwnedGuard` that must be used
/// ```
///
/// ```
/// #![deny(unused_must_use)]
/// let pool = std::sync::Arc::new(fastalloc::ThreadSafePool::new(1, || 0u32));
/// let _held = pool.get_owned().unwrap(); // bound: held to the end of the scope
/// ```
#[must_use = "dropping the guard at once gives the object straight back to the pool; bind it: `let obj = pool.get()?;`"]
#[cfg_attr(docsrs, doc(cfg(target_has_atomic = "64")))]
pub struct OwnedGuard<T> {
    lease: Lease<Arc<Shared<T>>>,
}

guard_impls!(OwnedGuard);

/// A `get_timeout` caller's place in the wait list; leaves it when dropped
/// (served, timed out, or unwinding from a panicking `init`).
#[cfg(feature = "std")]
struct Waiting<'a>(Place, &'a WaitList);

#[cfg(feature = "std")]
impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.cancel(self.1);
    }
}

#[cfg(feature = "std")]
std::thread_local! {
    /// The calling thread's waker for `get_timeout`, made once per thread.
    static THREAD_WAKER: core::task::Waker = thread_waker();
}

/// A waker that unparks the calling thread.
#[cfg(feature = "std")]
fn thread_waker() -> core::task::Waker {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: StdArc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &StdArc<Self>) {
            self.0.unpark();
        }
    }
    core::task::Waker::from(StdArc::new(Unpark(std::thread::current())))
}
