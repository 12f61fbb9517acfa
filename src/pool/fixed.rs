//! [`FixedPool`]: single thread, fixed capacity, the fastest pool.

use super::guard::guard_impls;
use super::hooks::{BoxedHooks, LocalHooks};
use super::FixedCore;
#[cfg(doc)]
use crate::error::ConfigError;
use crate::error::PoolExhausted;
use crate::slab::{Core, Grows, Layout, Lease, Settings};
use crate::stats::StatsSnapshot;
use alloc::boxed::Box;
use core::fmt;

/// A single-thread pool of at most `capacity` objects.
///
/// `get` pops the most recently released object (or builds one on first use)
/// and returns a [`FixedGuard`]; dropping the guard, or passing it to
/// [`release`](FixedPool::release), runs the reset hook and gives the object
/// back. No heap allocation happens after construction.
///
/// `FixedPool` is neither `Send` nor `Sync`: its bookkeeping uses plain
/// cells. Use [`ThreadSafePool`](crate::ThreadSafePool) to share a pool.
///
/// ```
/// use fastalloc::FixedPool;
///
/// let pool = FixedPool::new(2, || Vec::<u8>::with_capacity(1024));
/// {
///     let mut buf = pool.get()?;
///     buf.extend_from_slice(b"hello");
///     assert_eq!(pool.in_use(), 1);
/// } // the guard gives the buffer back here
/// assert_eq!(pool.available(), 2);
/// # Ok::<(), fastalloc::PoolExhausted>(())
/// ```
///
/// A guard borrows its pool, so it cannot outlive it:
///
/// ```compile_fail,E0597
/// use fastalloc::FixedPool;
///
/// let guard = {
///     let pool = FixedPool::new(1, || 0u32);
///     pool.get().unwrap() // error: `pool` does not live long enough
/// };
/// ```
///
/// the pool cannot be shared across threads:
///
/// ```compile_fail,E0277
/// use fastalloc::FixedPool;
///
/// let pool = FixedPool::new(1, || 0u32);
/// std::thread::scope(|s| {
///     s.spawn(|| drop(pool.get())); // error: `FixedPool` is not `Sync`
/// });
/// ```
///
/// and neither can its guards leave the pool's thread:
///
/// ```compile_fail,E0277
/// use fastalloc::FixedPool;
///
/// let pool = FixedPool::new(1, || 0u32);
/// let guard = pool.get().unwrap();
/// std::thread::scope(|s| {
///     s.spawn(move || drop(guard)); // error: `FixedGuard` is not `Send`
/// });
/// ```
pub struct FixedPool<T> {
    core: FixedCore<T>,
}

/// The Python guides' `Pool`: the same single-thread, fixed-capacity pool.
pub type Pool<T> = FixedPool<T>;

impl<T> FixedPool<T> {
    /// A pool of `capacity` objects, each built by `init` on first use.
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
        F: Fn() -> T + 'static,
    {
        let layout =
            Settings::with_capacity(capacity).expect("FixedPool", Grows::Never, "FixedPool::new");
        Self::from_parts(layout, BoxedHooks::new(Box::new(init), None))
    }

    pub(crate) fn from_parts(layout: Layout, hooks: LocalHooks<T>) -> Self {
        Self {
            core: Core::new(layout, hooks),
        }
    }

    /// Hands out a free object, building it if its slot is still empty.
    ///
    /// # Errors
    ///
    /// [`PoolExhausted`] when all `capacity` objects are held by guards.
    ///
    /// # Panics
    ///
    /// If `init` panics; the pool stays usable and the slot stays free.
    #[inline(always)]
    pub fn get(&self) -> Result<FixedGuard<'_, T>, PoolExhausted> {
        Lease::acquire(&self.core).map(|lease| FixedGuard { lease })
    }

    /// Gives an object back: the same as dropping its guard.
    ///
    /// # Panics
    ///
    /// If `guard` came from another pool (the guard then goes back to its own
    /// pool as it unwinds), or if the reset hook panics (the object is then
    /// dropped and its slot rebuilt on a later `get`).
    #[track_caller]
    pub fn release(&self, guard: FixedGuard<'_, T>) {
        guard.lease.assert_from(&self.core, "FixedPool::release");
        drop(guard);
    }

    /// The number of objects the pool can hold.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.core.capacity()
    }

    /// The number of objects held by guards now.
    #[inline]
    pub fn in_use(&self) -> usize {
        self.core.in_use()
    }

    /// The number of objects `get` can hand out now (built or not yet built).
    #[inline]
    pub fn available(&self) -> usize {
        self.core.available()
    }

    /// Drops every idle object the pool holds, keeping its slots: each is
    /// rebuilt by `init` when next handed out. Returns how many were dropped.
    /// Objects held by guards are untouched.
    ///
    /// The idle objects are moved out of their slots (into a temporary
    /// buffer of `size_of::<T>()` bytes each), the slots are put back, and
    /// only then are the objects dropped, so a `T::drop` that uses the pool
    /// finds it whole.
    ///
    /// ```
    /// use fastalloc::PoolBuilder;
    ///
    /// let pool = PoolBuilder::new(|| vec![0u8; 1 << 20])
    ///     .capacity(4)
    ///     .pre_initialize(true)
    ///     .build_fixed()?;
    /// let held = pool.get()?;
    /// assert_eq!(pool.trim(), 3, "three idle megabyte buffers freed");
    /// assert_eq!(held.len(), 1 << 20);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Panics
    ///
    /// If a `T::drop` panics; every slot is back (empty), and the objects
    /// after the panicking one are dropped as the panic unwinds.
    pub fn trim(&self) -> usize {
        self.core.trim()
    }

    /// The pool's figures now; see [`StatsSnapshot`].
    pub fn stats(&self) -> StatsSnapshot {
        self.core.stats()
    }
}

impl<T> fmt::Debug for FixedPool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FixedPool")
            .field("capacity", &self.capacity())
            .field("in_use", &self.in_use())
            .finish()
    }
}

/// An object on loan from a [`FixedPool`]; derefs to `T` and gives the object
/// back when dropped. Not `Send`: it must be dropped on the pool's thread.
///
/// The guard is `#[must_use]`: a guard dropped at once hands its object
/// straight back, so discarding one is reported (an error here, where the
/// lint is denied):
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// let pool = fastalloc::FixedPool::new(1, || 0u32);
/// pool.get().unwrap(); // error: unused `FixedGuard` that must be used
/// ```
///
/// ```
/// #![deny(unused_must_use)]
/// let pool = fastalloc::FixedPool::new(1, || 0u32);
/// let _held = pool.get().unwrap(); // bound: held to the end of the scope
/// ```
#[must_use = "dropping the guard at once gives the object straight back to the pool; bind it: `let obj = pool.get()?;`"]
pub struct FixedGuard<'a, T> {
    lease: Lease<&'a FixedCore<T>>,
}

guard_impls!(FixedGuard<'a>);
