//! [`GrowingPool`]: single thread, grows by segments up to a maximum.

use super::guard::guard_impls;
use super::hooks::{BoxedHooks, LocalHooks};
use super::GrowingCore;
#[cfg(doc)]
use crate::error::ConfigError;
use crate::error::PoolExhausted;
#[cfg(doc)]
use crate::growth::Growth;
use crate::slab::{Core, Grows, Layout, Lease, Settings};
use crate::stats::StatsSnapshot;
use alloc::boxed::Box;
use core::fmt;

/// A single-thread pool that starts at `capacity` objects and grows when it
/// runs out, following its [`Growth`] setting, up to `max_capacity`.
///
/// Growth appends a segment of slots; objects never move, so guards stay
/// valid across growth. New slots are filled on first use. Like
/// [`FixedPool`](crate::FixedPool), it is neither `Send` nor `Sync`.
///
/// ```
/// use fastalloc::GrowingPool;
///
/// let pool = GrowingPool::new(2, String::new); // doubles when empty
/// let held: Vec<_> = (0..5).map(|_| pool.get()).collect::<Result<_, _>>()?;
/// assert_eq!(pool.capacity(), 8); // 2 -> 4 -> 8
/// assert_eq!(pool.stats().current_in_use, 5);
/// # drop(held);
/// # Ok::<(), fastalloc::PoolExhausted>(())
/// ```
///
/// With a maximum and linear steps, through [`PoolBuilder`](crate::PoolBuilder):
///
/// ```
/// use fastalloc::{Growth, PoolBuilder};
///
/// let pool = PoolBuilder::new(|| [0u64; 8])
///     .capacity(100)
///     .max_capacity(1_000)
///     .growth(Growth::Linear(100))
///     .statistics(true)
///     .build_growing()?;
/// let held: Vec<_> = (0..250).map(|_| pool.get()).collect::<Result<_, _>>()?;
/// assert_eq!(pool.capacity(), 300);
/// assert_eq!(pool.stats().growth_events, 2);
/// # drop(held);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct GrowingPool<T> {
    core: GrowingCore<T>,
}

impl<T> GrowingPool<T> {
    /// A pool of `capacity` objects that doubles when it runs out
    /// (`Growth::Exponential(2.0)`), up to [`MAX_CAPACITY`](crate::MAX_CAPACITY).
    /// Objects are built by `init` on first use.
    ///
    /// # Panics
    ///
    /// If `capacity` is 0 or above `MAX_CAPACITY` (the builder returns a
    /// [`ConfigError`] instead).
    #[track_caller]
    pub fn new<F>(capacity: usize, init: F) -> Self
    where
        F: Fn() -> T + 'static,
    {
        let layout = Settings::with_capacity(capacity).expect(
            "GrowingPool",
            Grows::Always,
            "GrowingPool::new",
        );
        Self::from_parts(layout, BoxedHooks::new(Box::new(init), None))
    }

    pub(crate) fn from_parts(layout: Layout, hooks: LocalHooks<T>) -> Self {
        Self {
            core: Core::new(layout, hooks),
        }
    }

    /// Hands out a free object, growing the pool first if every object is in
    /// use and the pool is below its maximum.
    ///
    /// # Errors
    ///
    /// [`PoolExhausted`] when the pool is at `max_capacity` and every object
    /// is held by a guard, or when the allocator refuses the next growth
    /// step's memory (the pool keeps its capacity and tries again on a
    /// later `get`).
    ///
    /// # Panics
    ///
    /// If `init` panics; the pool stays usable and the slot stays free.
    #[inline(always)]
    pub fn get(&self) -> Result<GrowingGuard<'_, T>, PoolExhausted> {
        Lease::acquire(&self.core).map(|lease| GrowingGuard { lease })
    }

    /// Gives an object back: the same as dropping its guard.
    ///
    /// # Panics
    ///
    /// If `guard` came from another pool (the guard then goes back to its own
    /// pool as it unwinds), or if the reset hook panics.
    #[track_caller]
    pub fn release(&self, guard: GrowingGuard<'_, T>) {
        guard.lease.assert_from(&self.core, "GrowingPool::release");
        drop(guard);
    }

    /// The number of objects the pool can hold now.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.core.capacity()
    }

    /// The capacity the pool may grow to.
    pub fn max_capacity(&self) -> usize {
        self.core.max_capacity()
    }

    /// The number of objects held by guards now.
    #[inline]
    pub fn in_use(&self) -> usize {
        self.core.in_use()
    }

    /// The number of objects `get` can hand out before the pool has to grow.
    #[inline]
    pub fn available(&self) -> usize {
        self.core.available()
    }

    /// Drops every idle object, keeping the slots (and the capacity): see
    /// [`FixedPool::trim`](crate::FixedPool::trim). Returns how many were
    /// dropped. Use it after a burst to give the objects' memory back.
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

impl<T> fmt::Debug for GrowingPool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrowingPool")
            .field("capacity", &self.capacity())
            .field("max_capacity", &self.max_capacity())
            .field("in_use", &self.in_use())
            .finish()
    }
}

/// An object on loan from a [`GrowingPool`]; gives it back when dropped. Not
/// `Send`.
///
/// The guard is `#[must_use]`: a guard dropped at once hands its object
/// straight back, so discarding one is reported (an error here, where the
/// lint is denied):
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// let pool = fastalloc::GrowingPool::new(1, || 0u32);
/// pool.get().unwrap(); // error: unused `GrowingGuard` that must be used
/// ```
///
/// ```
/// #![deny(unused_must_use)]
/// let pool = fastalloc::GrowingPool::new(1, || 0u32);
/// let _held = pool.get().unwrap(); // bound: held to the end of the scope
/// ```
#[must_use = "dropping the guard at once gives the object straight back to the pool; bind it: `let obj = pool.get()?;`"]
pub struct GrowingGuard<'a, T> {
    lease: Lease<&'a GrowingCore<T>>,
}

guard_impls!(GrowingGuard<'a>);
