//! [`FixedPool`]: single thread, fixed capacity, the fastest pool.

use super::guard::guard_impls;
use super::hooks::{BoxedHooks, LocalHooks, SendHooks};
use super::FixedCore;
#[cfg(doc)]
use crate::error::ConfigError;
use crate::error::PoolExhausted;
use crate::slab::{Core, Grows, Hooks, Layout, Lease, Owner, Settings};
use crate::stats::StatsSnapshot;
use alloc::boxed::Box;
use alloc::rc::Rc;
use core::fmt;

/// A single-thread pool of at most `capacity` objects.
///
/// `get` pops the most recently released object (or builds one on first use)
/// and returns a [`FixedGuard`]; dropping the guard, or passing it to
/// [`release`](FixedPool::release), runs the reset hook and gives the object
/// back. No heap allocation happens after construction.
///
/// `FixedPool` is not `Sync`: its bookkeeping uses plain cells, so one
/// thread uses it at a time (use [`ThreadSafePool`](crate::ThreadSafePool)
/// to share a pool). Built by [`new`](FixedPool::new) its closures may
/// capture anything and it stays on its thread; built by
/// [`new_send`](FixedPool::new_send) (or `PoolBuilder::build_fixed_send`)
/// its closures are `Send`, and so is the pool when `T` is: build it on one
/// thread and move it to the one that uses it. The second type parameter
/// says which ([`LocalHooks`] or [`SendHooks`]).
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
/// the pool cannot be shared across threads (not even one built with
/// `new_send`):
///
/// ```compile_fail,E0277
/// use fastalloc::FixedPool;
///
/// let pool = FixedPool::new_send(1, || 0u32);
/// std::thread::scope(|s| {
///     s.spawn(|| drop(pool.get())); // error: `FixedPool` is not `Sync`
/// });
/// ```
///
/// a pool built by `new` cannot move to another thread:
///
/// ```compile_fail,E0277
/// use fastalloc::FixedPool;
///
/// let pool = FixedPool::new(1, || 0u32);
/// std::thread::spawn(move || drop(pool.get())); // error: the closure is not `Send`
/// ```
///
/// and neither can its guards leave the pool's thread:
///
/// ```compile_fail,E0277
/// use fastalloc::FixedPool;
///
/// let pool = FixedPool::new_send(1, || 0u32);
/// let guard = pool.get().unwrap();
/// std::thread::scope(|s| {
///     s.spawn(move || drop(guard)); // error: `FixedGuard` is not `Send`
/// });
/// ```
pub struct FixedPool<T, H = LocalHooks<T>> {
    core: FixedCore<T, H>,
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
        Self::from_parts(layout, BoxedHooks::init_only(Box::new(init)))
    }
}

impl<T> FixedPool<T, SendHooks<T>> {
    /// Like [`new`](FixedPool::new), for a pool that can move to another
    /// thread: `init` must be `Send`, and the pool is `Send` when `T` is.
    ///
    /// ```
    /// use fastalloc::FixedPool;
    ///
    /// let pool = FixedPool::new_send(8, || [0u8; 256]);
    /// let worker = std::thread::spawn(move || {
    ///     let mut block = pool.get().expect("8 blocks");
    ///     block[0] = 7;
    ///     (block[0], pool.in_use())
    /// });
    /// assert_eq!(worker.join().unwrap(), (7, 1));
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
            "FixedPool",
            Grows::Never,
            "FixedPool::new_send",
        );
        Self::from_parts(layout, BoxedHooks::init_only(Box::new(init)))
    }
}

impl<T, H: Hooks<T>> FixedPool<T, H> {
    pub(crate) fn from_parts(layout: Layout, hooks: H) -> Self {
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
    pub fn get(&self) -> Result<FixedGuard<'_, T, H>, PoolExhausted> {
        Lease::acquire(&self.core).map(|lease| FixedGuard { lease })
    }

    /// Like [`get`](Self::get), for a pool in an `Rc`: the guard holds a
    /// reference count on the pool instead of a borrow, so it is `'static`
    /// and can be stored anywhere on the pool's thread. The pool lives until
    /// it and every such guard are gone.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use fastalloc::{FixedPool, FixedRcGuard};
    ///
    /// struct Frame { scratch: FixedRcGuard<Vec<u8>> } // no lifetime
    ///
    /// let pool = Rc::new(FixedPool::new(2, || Vec::with_capacity(64)));
    /// let frame = Frame { scratch: pool.get_rc()? };
    /// drop(pool); // the guard keeps the pool alive
    /// assert_eq!(frame.scratch.capacity(), 64);
    /// # Ok::<(), fastalloc::PoolExhausted>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As `get`.
    #[inline(always)]
    pub fn get_rc(self: &Rc<Self>) -> Result<FixedRcGuard<T, H>, PoolExhausted> {
        Lease::acquire(Rc::clone(self)).map(|lease| FixedRcGuard { lease })
    }

    /// Puts `value`, built by the caller, into a slot that holds no object
    /// (one never built yet, or emptied by `into_inner`, `recycle_if` or
    /// `trim`), so the pool hands it out like any other idle object. Hands
    /// `value` back when every slot holds an object or is on loan.
    ///
    /// ```
    /// use fastalloc::{FixedGuard, FixedPool};
    ///
    /// let pool = FixedPool::new(2, || String::from("built by init"));
    /// let taken = FixedGuard::into_inner(pool.get()?); // leaves the pool
    /// assert_eq!((pool.in_use(), pool.idle()), (0, 0));
    /// pool.insert(String::from("built by the caller")).unwrap();
    /// assert_eq!(pool.idle(), 1);
    /// assert_eq!(*pool.get()?, "built by the caller");
    /// pool.insert(taken).unwrap(); // the second slot, never built
    /// assert_eq!(pool.insert(String::new()), Err(String::new())); // full
    /// # Ok::<(), fastalloc::PoolExhausted>(())
    /// ```
    ///
    /// It searches the free slots from the most recently released, so it
    /// takes time in the number of idle objects; it runs no user code.
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
    /// pool as it unwinds), or if the reset hook panics (the object is then
    /// dropped and its slot rebuilt on a later `get`).
    #[track_caller]
    pub fn release(&self, guard: FixedGuard<'_, T, H>) {
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

    /// The number of objects built and free now: the gets that will not run
    /// `init` (Python's `available()`; at most [`available`](Self::available)).
    #[inline]
    pub fn idle(&self) -> usize {
        self.core.idle()
    }

    /// Sets the statistics' counters to zero and their peaks to the figures
    /// now, so the next [`stats`](Self::stats) covers what happened since
    /// (a monitor reading a window at a time). Does nothing to a pool built
    /// without statistics.
    ///
    /// ```
    /// use fastalloc::PoolBuilder;
    ///
    /// let pool = PoolBuilder::new(|| 0u64).capacity(4).statistics(true).build_fixed()?;
    /// let held = pool.get()?;
    /// drop(pool.get()?);
    /// pool.reset_stats();
    /// let s = pool.stats();
    /// assert_eq!((s.total_allocations, s.total_releases, s.peak_in_use), (0, 0, 1));
    /// drop(held); // its release counts in the new window
    /// assert_eq!(pool.stats().total_releases, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reset_stats(&self) {
        self.core.reset_stats();
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

impl<T, H: Hooks<T>> fmt::Debug for FixedPool<T, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FixedPool")
            .field("capacity", &self.capacity())
            .field("in_use", &self.in_use())
            .field("idle", &self.idle())
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
pub struct FixedGuard<'a, T, H: Hooks<T> = LocalHooks<T>> {
    lease: Lease<&'a FixedCore<T, H>>,
}

guard_impls!(FixedGuard ['a, T, H: Hooks<T>] ['a, T, H]);

/// An object on loan from a [`FixedPool`] held in an `Rc`, from
/// [`FixedPool::get_rc`]: `'static`, it keeps the pool alive. Not `Send`.
#[must_use = "dropping the guard at once gives the object straight back to the pool; bind it: `let obj = pool.get_rc()?;`"]
pub struct FixedRcGuard<T, H: Hooks<T> = LocalHooks<T>> {
    lease: Lease<Rc<FixedPool<T, H>>>,
}

guard_impls!(FixedRcGuard [T, H: Hooks<T>] [T, H]);

// SAFETY: I7 — an `Rc` always points at the same pool, which lives (unmoved,
// with its core) while any clone does.
unsafe impl<T, H: Hooks<T>> Owner for Rc<FixedPool<T, H>> {
    type Item = T;
    type List = crate::freelist::LocalStack;
    type Hooks = H;
    type Shape = crate::slab::Fixed;
    #[inline(always)]
    fn core(&self) -> &FixedCore<T, H> {
        &self.core
    }
}
