//! The slab layer: slot storage, the core that pairs it with a free list, and
//! the lease that owns one slot. All raw-memory `unsafe` of the crate is here;
//! every block cites the SAFETY.md invariant it relies on.
//!
//! * [`Slab`]: a contiguous `Box<[UnsafeCell<MaybeUninit<T>>]>`. It never forms
//!   a reference to the whole storage, only raw pointers to one slot.
//! * [`Core`]: a slab, a free list of its indices (with its out-count) and the
//!   user's hooks. It fills empty slots on first use, runs the reset hook on
//!   release and drops the idle objects when it is dropped.
//! * [`Lease`]: proof of exclusive ownership of one filled slot, generic over
//!   how it keeps the core alive (`&Core` for borrowed guards, `Arc<Core>` for
//!   owned ones). The typed pools wrap it in their public guards.

use crate::freelist::FreeList;
use crate::sync::{Arc, UnsafeCell};
use alloc::boxed::Box;
use core::fmt;
use core::mem::{self, MaybeUninit};
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;

// === impl Slab ===

/// Contiguous storage for `capacity` objects, each slot initialised or not.
///
/// Which slots are initialised is recorded by the free list (a slot that is
/// not on it is leased, and leased slots are always filled): SAFETY.md, I2.
pub(crate) struct Slab<T> {
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
}

impl<T> Slab<T> {
    fn new(capacity: usize) -> Self {
        Self {
            slots: (0..capacity)
                .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
                .collect(),
        }
    }

    fn len(&self) -> usize {
        self.slots.len()
    }

    /// A raw pointer to slot `index`. What may be done through it is governed
    /// by who owns `index` (SAFETY.md, I1).
    ///
    /// # Safety
    ///
    /// - `index < self.len()` (I10: it came from a free list of this size).
    #[inline(always)]
    unsafe fn slot(&self, index: u32) -> NonNull<T> {
        debug_assert!((index as usize) < self.slots.len());
        // SAFETY: I10 — the caller guarantees the index is in range.
        let cell = unsafe { self.slots.get_unchecked(index as usize) };
        let ptr = cell.with_mut(|p| p.cast::<T>());
        // SAFETY: I7 — a pointer into a live boxed slice is never null.
        unsafe { NonNull::new_unchecked(ptr) }
    }
}

// === Hooks ===

/// The user's construction and reset closures, as the core calls them.
pub(crate) trait Hooks<T> {
    /// Builds a new object (the pool's `init`). May panic.
    fn init(&self) -> T;
    /// Whether the pool has a reset hook.
    fn has_reset(&self) -> bool;
    /// Runs the reset hook on a released object. May panic.
    fn reset(&self, value: &mut T);
}

// === impl Core ===

/// A slab, the free list of its indices, and the pool's hooks.
pub(crate) struct Core<T, L: FreeList, H> {
    slab: Slab<T>,
    free: L,
    hooks: H,
}

impl<T, L: FreeList, H: Hooks<T>> Core<T, L, H> {
    /// A core of `capacity` slots. With `pre_initialize`, every slot is filled
    /// now (a panic in `init` drops the objects built so far and propagates);
    /// otherwise slots are filled on first use.
    pub(crate) fn new(capacity: usize, hooks: H, pre_initialize: bool) -> Self {
        let mut core = Self {
            slab: Slab::new(capacity),
            free: L::new(capacity),
            hooks,
        };
        if pre_initialize {
            for index in 0..capacity as u32 {
                let value = core.hooks.init();
                // SAFETY: I10 — `index` is below capacity.
                let slot = unsafe { core.slab.slot(index) };
                // SAFETY: I1, I2 — `core` is local, so we own every index;
                // slot `index` is still empty (its entry says so), and marking
                // it filled right after keeps I2 if a later `init` panics.
                unsafe { slot.as_ptr().write(value) };
                core.free.mark_filled(index);
            }
        }
        core
    }

    /// Number of slots.
    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.slab.len()
    }

    /// Number of slots held by leases (exact when no get or release is in
    /// flight; never above `capacity`, see SAFETY.md I6).
    #[inline]
    pub(crate) fn in_use(&self) -> usize {
        self.free.out()
    }

    /// Number of slots `get` can hand out now (I6: never underflows).
    #[inline]
    pub(crate) fn available(&self) -> usize {
        self.capacity() - self.in_use()
    }

    /// Pops a slot, filling it first if it is empty.
    #[inline(always)]
    fn acquire(&self) -> Option<(u32, NonNull<T>)> {
        let (index, filled) = self.free.pop()?;
        // SAFETY: I10 — popped indices are below capacity.
        let ptr = unsafe { self.slab.slot(index) };
        if !filled {
            self.fill(index, ptr);
        }
        self.free.count_out();
        Some((index, ptr))
    }

    /// Builds the object of a popped, empty slot. If `init` panics, the slot
    /// goes back on the free list, still empty (DESIGN panic rules).
    #[cold]
    #[inline(never)]
    fn fill(&self, index: u32, ptr: NonNull<T>) {
        struct PushBackEmpty<'a, L: FreeList>(&'a L, u32);
        impl<L: FreeList> Drop for PushBackEmpty<'_, L> {
            fn drop(&mut self) {
                // SAFETY: I1, I10 — the index was popped by `acquire` and is
                // pushed back only here, once, still empty (I2).
                unsafe { self.0.push(self.1, false) };
            }
        }
        let on_unwind = PushBackEmpty(&self.free, index);
        let value = self.hooks.init();
        mem::forget(on_unwind);
        // SAFETY: I1, I2 — we popped `index`, so we own it, and its entry said
        // the slot is empty: writing does not overwrite a live value.
        unsafe { ptr.as_ptr().write(value) };
    }

    /// Gives a leased slot back: runs the reset hook, then pushes it as filled.
    /// If the hook panics, the object is dropped and the slot pushed back
    /// empty, so a half-reset object is never handed out (DESIGN panic rules).
    ///
    /// # Safety
    ///
    /// - `index` was returned by [`Core::acquire`] on this core, `ptr` with it,
    ///   and this is the only release of that acquisition (I1).
    /// - No reference derived from `ptr` is used after this call (I3).
    #[inline(always)]
    unsafe fn release(&self, index: u32, ptr: NonNull<T>) {
        if self.hooks.has_reset() {
            struct DropAndPushBackEmpty<'a, T, L: FreeList> {
                free: &'a L,
                index: u32,
                ptr: NonNull<T>,
            }
            impl<T, L: FreeList> Drop for DropAndPushBackEmpty<'_, T, L> {
                fn drop(&mut self) {
                    self.free.count_in();
                    // SAFETY: I1, I2 — the caller's lease owned this filled slot
                    // and gave it up to `release`; nothing else can reach it
                    // until the push below. A panic from `T::drop` here aborts
                    // (panic while unwinding), so no path pushes a slot whose
                    // value was dropped twice or not at all.
                    unsafe { self.ptr.as_ptr().drop_in_place() };
                    // SAFETY: I1, I10 — the released index came from `acquire`
                    // and goes back once, now empty (I2).
                    unsafe { self.free.push(self.index, false) };
                }
            }
            let on_unwind = DropAndPushBackEmpty {
                free: &self.free,
                index,
                ptr,
            };
            // SAFETY: I1, I3 — the lease being released owned the slot
            // exclusively and its references are gone (caller's contract).
            self.hooks.reset(unsafe { &mut *ptr.as_ptr() });
            mem::forget(on_unwind);
        }
        // Under loom, record the release as an access to the slot, so the
        // model checker verifies it happens-before the next holder's access.
        #[cfg(loom)]
        // SAFETY: I10 — the index came from `acquire` (caller's contract).
        let _ = unsafe { self.slab.slot(index) };
        self.free.count_in();
        // SAFETY: I1, I10 — the caller's index came from `acquire` and is
        // released once; the slot is filled and reset (I2).
        unsafe { self.free.push(index, true) };
    }
}

impl<T, L: FreeList, H> Drop for Core<T, L, H> {
    fn drop(&mut self) {
        // No lease can be alive here (I7): borrowed leases borrow the core and
        // owned ones hold an `Arc` to it. Forgotten leases keep their index off
        // the list, so their values are leaked, never dropped.
        struct DrainOnUnwind<'a, T, L: FreeList, H>(&'a Core<T, L, H>);
        impl<T, L: FreeList, H> Drop for DrainOnUnwind<'_, T, L, H> {
            fn drop(&mut self) {
                self.0.drain_values();
            }
        }
        let rest = DrainOnUnwind(self);
        rest.0.drain_values();
    }
}

impl<T, L: FreeList, H> Core<T, L, H> {
    /// Pops every free slot and drops the values of the filled ones. Used by
    /// `Drop`: if a `T::drop` panics, the unwind guard calls this again and it
    /// carries on from the next slot (the panicking slot was already popped,
    /// so it is not dropped twice).
    fn drain_values(&self) {
        while let Some((index, filled)) = self.free.pop() {
            if filled {
                // SAFETY: I10 — popped indices are below capacity.
                let ptr = unsafe { self.slab.slot(index) };
                // SAFETY: I1, I2, I7 — popping made us the owner of `index`,
                // its entry said the slot is filled, and it is not pushed back,
                // so this value is dropped exactly once.
                unsafe { ptr.as_ptr().drop_in_place() };
            }
        }
    }
}

// SAFETY: I8 — sharing `&Core` lets several threads pop and push indices (the
// free list and its out-count must be `Sync`), call the hooks (`H: Sync`), and move
// `T` values between threads through leases (`T: Send`). No `&T` is ever
// shared by the core itself, so `T: Sync` is not needed.
unsafe impl<T: Send, L: FreeList + Sync, H: Sync> Sync for Core<T, L, H> {}

// === impl Lease ===

/// How a lease reaches its core and keeps it alive.
///
/// # Safety
///
/// `core` returns the same core on every call, and that core stays alive and
/// does not move for as long as the implementing value lives (I7). Implemented
/// only here, for `&Core` and `Arc<Core>`.
pub(crate) unsafe trait Owner {
    /// The pooled type.
    type Item;
    /// The core's free list.
    type List: FreeList;
    /// The core's hooks.
    type Hooks: Hooks<Self::Item>;
    /// The core this owner keeps alive.
    fn core(&self) -> &Core<Self::Item, Self::List, Self::Hooks>;
}

// SAFETY: I7 — a shared reference always points at the same core, which the
// borrow keeps alive and in place.
unsafe impl<T, L: FreeList, H: Hooks<T>> Owner for &Core<T, L, H> {
    type Item = T;
    type List = L;
    type Hooks = H;
    #[inline(always)]
    fn core(&self) -> &Core<T, L, H> {
        self
    }
}

// SAFETY: I7 — an `Arc` always points at the same heap allocation, which lives
// (unmoved) while any clone does.
unsafe impl<T, L: FreeList, H: Hooks<T>> Owner for Arc<Core<T, L, H>> {
    type Item = T;
    type List = L;
    type Hooks = H;
    #[inline(always)]
    fn core(&self) -> &Core<T, L, H> {
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
        match owner.core().acquire() {
            Some((index, ptr)) => Ok(Self { ptr, index, owner }),
            None => Err(owner),
        }
    }

    /// Panics, naming `caller`, unless this lease came from `core`: an
    /// explicit release into the wrong pool is a bug worth reporting (the
    /// lease then goes back to its own pool as it unwinds).
    #[track_caller]
    pub(crate) fn assert_from(&self, core: &Core<P::Item, P::List, P::Hooks>, caller: &str) {
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
