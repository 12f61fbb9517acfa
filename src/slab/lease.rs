//! [`Lease`]: exclusive ownership of one filled slot, and the [`Owner`]
//! that keeps its core alive (`&Core` or `Arc<Core>`).

use super::core::{Core, Hooks};
use super::store::Shape;
use crate::error::PoolExhausted;
use crate::freelist::FreeList;
use crate::sync::Arc;
use core::fmt;
use core::mem::ManuallyDrop;
use core::ops::{Deref, DerefMut};
use core::ptr::{self, NonNull};

// === impl Lease ===

/// How a lease reaches its core and keeps it alive.
///
/// # Safety
///
/// `core` returns the same core on every call, and that core stays alive and
/// does not move for as long as the implementing value lives (I7).
/// Implemented here for `&Core` and `Arc<Core>`, and by the pools for the
/// handles their guards keep (an `Rc` of a single-thread pool, a shared
/// pool's core with its wait list).
pub(crate) unsafe trait Owner {
    /// The pooled type.
    type Item;
    /// The core's free list.
    type List: FreeList;
    /// The core's hooks.
    type Hooks: Hooks<Self::Item>;
    /// Whether the core's store grows.
    type Shape: Shape;
    /// The core this owner keeps alive.
    fn core(&self) -> &Core<Self::Item, Self::List, Self::Hooks, Self::Shape>;

    /// A value made before the lease's slot goes back to the core and
    /// dropped after it (released, taken out, or pushed back empty by a
    /// panicking reset hook): a pool whose callers can wait for an object
    /// returns one that wakes a waiter when dropped. It holds what it needs
    /// (a pointer to the wait list), not a reference to the lease, so the
    /// lease stays in registers.
    #[inline(always)]
    #[allow(clippy::unused_unit)]
    fn on_release(&self) -> impl Sized {}
}

// SAFETY: I7 — a shared reference always points at the same core, which the
// borrow keeps alive and in place.
unsafe impl<T, L: FreeList, H: Hooks<T>, S: Shape> Owner for &Core<T, L, H, S> {
    type Item = T;
    type List = L;
    type Hooks = H;
    type Shape = S;
    #[inline(always)]
    fn core(&self) -> &Core<T, L, H, S> {
        self
    }
}

// SAFETY: I7 — an `Arc` always points at the same heap allocation, which lives
// (unmoved) while any clone does.
unsafe impl<T, L: FreeList, H: Hooks<T>, S: Shape> Owner for Arc<Core<T, L, H, S>> {
    type Item = T;
    type List = L;
    type Hooks = H;
    type Shape = S;
    #[inline(always)]
    fn core(&self) -> &Core<T, L, H, S> {
        self
    }
}

/// Exclusive ownership of one filled slot of a core. Dropping it releases the
/// slot (reset hook, then back on the free list).
pub(crate) struct Lease<P: Owner> {
    ptr: NonNull<P::Item>,
    index: u32,
    owner: P,
}

impl<P: Owner> Lease<P> {
    /// Leases a slot of `owner`'s core, or hands `owner` back when every slot
    /// is leased.
    #[inline(always)]
    pub(crate) fn new(owner: P) -> Result<Self, P> {
        match owner.core().acquire(true) {
            Some((index, ptr)) => Ok(Self { ptr, index, owner }),
            None => Err(owner),
        }
    }

    /// Like [`new`](Self::new), for an attempt whose failure the statistics
    /// do not count (an async waiter's: it counts one wait instead).
    #[cfg(feature = "std")]
    #[inline]
    pub(crate) fn new_unreported(owner: P) -> Option<Self> {
        let (index, ptr) = owner.core().acquire(false)?;
        Some(Self { ptr, index, owner })
    }

    /// Leases a slot of `owner`'s core: what every pool's `get` is. Fails
    /// with the core's capacity when every slot is leased.
    #[inline(always)]
    pub(crate) fn acquire(owner: P) -> Result<Self, PoolExhausted> {
        Self::new(owner).map_err(|owner| PoolExhausted::new(owner.core().capacity()))
    }

    /// Ends the lease and moves its object out: the object leaves the pool
    /// for good, and its slot goes back empty, to be rebuilt by `init` when
    /// next handed out. Returns the owner too, for the guard's own
    /// bookkeeping.
    pub(crate) fn into_inner(self) -> (P::Item, P) {
        let this = ManuallyDrop::new(self);
        // SAFETY: I1, I2 — the lease owns this filled slot exclusively; the
        // value moves out once, and the slot is given back empty below
        // (the lease is never dropped, so it is not released twice).
        let value = unsafe { this.ptr.as_ptr().read() };
        // SAFETY: I7 — the lease is in a `ManuallyDrop` and never used
        // again, so its owner (which keeps the core alive) is moved out of
        // it exactly once and dropped once, by the caller.
        let owner = unsafe { ptr::read(&this.owner) };
        let notify = owner.on_release();
        // SAFETY: I1, I2 — `index` came from `acquire` on this core (I7) and
        // is given back only here, once; its value was moved out above.
        unsafe { owner.core().give_back_empty(this.index) };
        drop(notify);
        (value, owner)
    }

    /// Panics, naming `caller`, unless this lease came from `core`: an
    /// explicit release into the wrong pool is a bug worth reporting (the
    /// lease then goes back to its own pool as it unwinds).
    #[track_caller]
    pub(crate) fn assert_from(
        &self,
        core: &Core<P::Item, P::List, P::Hooks, P::Shape>,
        caller: &str,
    ) {
        assert!(
            core::ptr::eq(self.owner.core(), core),
            "{caller}: this guard belongs to another pool; drop it, or release it into \
             the pool that handed it out"
        );
    }
}

impl<P: Owner> Deref for Lease<P> {
    type Target = P::Item;
    #[inline(always)]
    fn deref(&self) -> &P::Item {
        // SAFETY: I1, I2, I7 — the lease owns this filled slot exclusively and
        // its owner keeps the storage alive; the borrow is tied to `&self`.
        unsafe { self.ptr.as_ref() }
    }
}

impl<P: Owner> DerefMut for Lease<P> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut P::Item {
        // SAFETY: I1, I2, I7 — as for `deref`, and `&mut self` makes the
        // returned reference the only one.
        unsafe { self.ptr.as_mut() }
    }
}

impl<P: Owner> Drop for Lease<P> {
    #[inline(always)]
    fn drop(&mut self) {
        // Dropped after the release, also when a reset hook panics (the slot
        // is back then too, empty).
        let _notify = self.owner.on_release();
        // SAFETY: I1, I3 — `index` and `ptr` came from `acquire` on this very
        // core (I7), a lease is released only here, once, and every borrow of
        // the value has ended because we hold `&mut self`.
        unsafe { self.owner.core().release(self.index, self.ptr) };
    }
}

// SAFETY: I8 — sending a lease moves exclusive access to a `T` (`T: Send`) and
// the owner (`P: Send`, so `&Core` only when the core is `Sync`) to another
// thread, which will run the release there.
unsafe impl<P: Owner + Send> Send for Lease<P> where P::Item: Send {}
// SAFETY: I8 — `&Lease` gives out only `&T` (`T: Sync`) and `&P` (`P: Sync`).
unsafe impl<P: Owner + Sync> Sync for Lease<P> where P::Item: Sync {}

impl<P: Owner> fmt::Debug for Lease<P>
where
    P::Item: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
