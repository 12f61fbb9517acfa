//! [`GrowingPool`]: single thread, grows by segments up to a maximum.

use super::guard::guard_impls;
use super::hooks::{BoxedHooks, LocalHooks, SendHooks};
use super::GrowingCore;
#[cfg(doc)]
use crate::error::ConfigError;
use crate::error::PoolExhausted;
#[cfg(doc)]
use crate::growth::Growth;
use crate::slab::{Core, Growable, Grows, Hooks, Layout, Lease, Owner, Settings};
use crate::stats::StatsSnapshot;
use alloc::boxed::Box;
use alloc::rc::Rc;
use core::fmt;

/// A single-thread pool that starts at `capacity` objects and grows when it
/// runs out, following its [`Growth`] setting, up to `max_capacity`.
///
/// Growth appends a segment of slots; objects never move, so guards stay
/// valid across growth. New slots are filled on first use. Like
/// [`FixedPool`](crate::FixedPool), it is not `Sync`, and it is `Send` when
/// built by [`new_send`](GrowingPool::new_send) (or
/// `PoolBuilder::build_growing_send`) and `T` is `Send`.
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
pub struct GrowingPool<T, H = LocalHooks<T>> {
    core: GrowingCore<T, H>,
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
        Self::from_parts(layout, BoxedHooks::init_only(Box::new(init)))
    }
}

impl<T> GrowingPool<T, SendHooks<T>> {
    /// Like [`new`](GrowingPool::new), for a pool that can move to another
    /// thread: `init` must be `Send`, and the pool is `Send` when `T` is.
    ///
    /// ```
    /// use fastalloc::GrowingPool;
    ///
    /// let pool = GrowingPool::new_send(1, String::new);
    /// let worker = std::thread::spawn(move || {
    ///     let held: Vec<_> = (0..3).map(|_| pool.get().unwrap()).collect();
    ///     held.len() * 10 + pool.capacity()
    /// });
    /// assert_eq!(worker.join().unwrap(), 34); // 3 held, grown 1 -> 2 -> 4
    /// ```
    ///
    /// # Panics
    ///
    /// As `new`.
    #[track_caller]
    pub fn new_send<F>(capacity: usize, init: F) -> Self
    where
        F: Fn() -> T + Send + 'static,
    {
        let layout = Settings::with_capacity(capacity).expect(
            "GrowingPool",
            Grows::Always,
            "GrowingPool::new_send",
        );
        Self::from_parts(layout, BoxedHooks::init_only(Box::new(init)))
    }
}

impl<T, H: Hooks<T>> GrowingPool<T, H> {
    pub(crate) fn from_parts(layout: Layout, hooks: H) -> Self {
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
    pub fn get(&self) -> Result<GrowingGuard<'_, T, H>, PoolExhausted> {
        Lease::acquire(&self.core).map(|lease| GrowingGuard { lease })
    }

    /// Like [`get`](Self::get), for a pool in an `Rc`: the guard holds a
    /// reference count on the pool instead of a borrow, so it is `'static`
    /// (see [`FixedPool::get_rc`](crate::FixedPool::get_rc)).
    ///
    /// ```
    /// use std::rc::Rc;
    /// use fastalloc::GrowingPool;
    ///
    /// let pool = Rc::new(GrowingPool::new(1, String::new));
    /// let held: Vec<_> = (0..3).map(|_| pool.get_rc()).collect::<Result<_, _>>()?;
    /// drop(pool);
    /// assert_eq!(held.len(), 3);
    /// # Ok::<(), fastalloc::PoolExhausted>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As `get`.
    #[inline(always)]
    pub fn get_rc(self: &Rc<Self>) -> Result<GrowingRcGuard<T, H>, PoolExhausted> {
        Lease::acquire(Rc::clone(self)).map(|lease| GrowingRcGuard { lease })
    }

    /// Puts `value`, built by the caller, into a slot that holds no object
    /// (see [`FixedPool::insert`](crate::FixedPool::insert)). A growing pool
    /// does not grow for it: it hands `value` back when every slot of its
    /// current capacity holds an object or is on loan.
    ///
    /// # Errors
    ///
    /// `Err(value)` when no free slot is empty.
    pub fn insert(&self, value: T) -> Result<(), T> {
        self.core.insert(value)
    }

    /// Gives an object back: the same as dropping its guard.
    ///
    /// # Panics
    ///
    /// If `guard` came from another pool (the guard then goes back to its own
    /// pool as it unwinds), or if the reset hook panics.
    #[track_caller]
    pub fn release(&self, guard: GrowingGuard<'_, T, H>) {
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

    /// The number of objects built and free now (Python's `available()`).
    #[inline]
    pub fn idle(&self) -> usize {
        self.core.idle()
    }

    /// Sets the statistics' counters to zero and their peaks to the figures
    /// now (see [`FixedPool::reset_stats`](crate::FixedPool::reset_stats)).
    pub fn reset_stats(&self) {
        self.core.reset_stats();
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

impl<T, H: Hooks<T>> fmt::Debug for GrowingPool<T, H> {
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
pub struct GrowingGuard<'a, T, H: Hooks<T> = LocalHooks<T>> {
    lease: Lease<&'a GrowingCore<T, H>>,
}

guard_impls!(GrowingGuard ['a, T, H: Hooks<T>] ['a, T, H]);

/// An object on loan from a [`GrowingPool`] held in an `Rc`, from
/// [`GrowingPool::get_rc`]: `'static`, it keeps the pool alive. Not `Send`.
#[must_use = "dropping the guard at once gives the object straight back to the pool; bind it: `let obj = pool.get_rc()?;`"]
pub struct GrowingRcGuard<T, H: Hooks<T> = LocalHooks<T>> {
    lease: Lease<Rc<GrowingPool<T, H>>>,
}

guard_impls!(GrowingRcGuard [T, H: Hooks<T>] [T, H]);

// SAFETY: I7 — an `Rc` always points at the same pool, which lives (unmoved,
// with its core) while any clone does.
unsafe impl<T, H: Hooks<T>> Owner for Rc<GrowingPool<T, H>> {
    type Item = T;
    type List = crate::freelist::LocalStack;
    type Hooks = H;
    type Shape = Growable;
    #[inline(always)]
    fn core(&self) -> &GrowingCore<T, H> {
        &self.core
    }
}
