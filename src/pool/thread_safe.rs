//! [`ThreadSafePool`]: a pool shared across threads, per-thread caches in
//! front of a lock-free stack.

use super::guard::guard_impls;
use super::hooks::{BoxedHooks, SharedHooks};
use super::{shared_core, SharedCore};
#[cfg(doc)]
use crate::error::ConfigError;
use crate::error::PoolExhausted;
use crate::slab::{Grows, Layout, Lease, Settings};
use crate::stats::StatsSnapshot;
use crate::sync::Arc;
use alloc::boxed::Box;
use core::fmt;

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
pub struct ThreadSafePool<T> {
    core: Arc<SharedCore<T>>,
}

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
            core: shared_core(layout, hooks),
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
        Lease::acquire(&*self.core).map(|lease| ThreadSafeGuard { lease })
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
        Lease::acquire(Arc::clone(&self.core)).map(|lease| OwnedGuard { lease })
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

    /// The pool's figures now; see [`StatsSnapshot`].
    pub fn stats(&self) -> StatsSnapshot {
        self.core.stats()
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
pub struct ThreadSafeGuard<'a, T> {
    lease: Lease<&'a SharedCore<T>>,
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
pub struct OwnedGuard<T> {
    lease: Lease<Arc<SharedCore<T>>>,
}

guard_impls!(OwnedGuard);
