//! [`Store`]: the slots of a pool and their free-list words, in segments
//! that never move; fresh-index claims and lock-free growth.

use crate::freelist::{DoubleWord, Word, Words};
use crate::sync::{AtomicPtr, Ordering, UnsafeCell};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::{self, NonNull};

// === Shape ===

/// Whether a store can grow, known at compile time so a fixed pool's index
/// lookups carry no segment test.
pub(crate) trait Shape {
    /// `true` for stores with a segment table.
    const GROWS: bool;
}

/// A store of one segment, for ever.
pub(crate) struct Fixed;
impl Shape for Fixed {
    const GROWS: bool = false;
}

/// A store that may add segments up to its maximum capacity.
pub(crate) struct Growable;
impl Shape for Growable {
    const GROWS: bool = true;
}

// === impl Segment ===

/// One allocation of slots and their words. Segment 0 is allocated with the
/// store; later ones when the pool grows. None moves or is freed before the
/// store is dropped (SAFETY.md, I11).
struct Segment<T, W> {
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
    words: Box<[W]>,
}

impl<T, W: Word> Segment<T, W> {
    /// A segment of `len` slots, or `None` if the allocator refuses it
    /// (a growth step of billions of slots, say).
    fn try_new(len: usize) -> Option<Self> {
        let mut slots = Vec::new();
        slots.try_reserve_exact(len).ok()?;
        let mut words = Vec::new();
        words.try_reserve_exact(len).ok()?;
        slots.extend((0..len).map(|_| UnsafeCell::new(MaybeUninit::uninit())));
        words.extend((0..len).map(|_| W::new(0)));
        Some(Self {
            slots: slots.into_boxed_slice(),
            words: words.into_boxed_slice(),
        })
    }

    fn new(len: usize) -> Self {
        Self {
            slots: (0..len)
                .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
                .collect(),
            words: (0..len).map(|_| W::new(0)).collect(),
        }
    }
}

/// Packs the fresh-index word: `next << 32 | limit`.
#[inline(always)]
fn pack_fresh(next: u32, limit: u32) -> u64 {
    (u64::from(next) << 32) | u64::from(limit)
}

/// Unpacks the fresh-index word into `(next, limit)`.
#[inline(always)]
fn unpack_fresh(word: u64) -> (u32, u32) {
    ((word >> 32) as u32, word as u32)
}

/// What one attempt to grow a store did.
pub(super) enum Grown {
    /// This thread added the next segment (a growth event).
    Added,
    /// Another thread added it, or fresh indices are there: look again.
    Retry,
    /// The store is at its maximum capacity.
    AtMax,
    /// The allocator refused the next segment: no growth this time.
    OutOfMemory,
}

// === impl Store ===

/// Slot storage for up to `max_capacity` objects, each slot initialised or
/// not, with one free-list word per slot.
///
/// Which slots are initialised is recorded by the free list (a slot that is
/// not on it is leased or fresh, leased slots are always filled and fresh
/// ones always empty): SAFETY.md, I2.
pub(crate) struct Store<T, W: Word, S> {
    /// Segment 0: the initial capacity.
    first: Segment<T, W>,
    /// `first.slots.len()`, as an index.
    first_len: u32,
    /// Segment starts: `starts[k]` is segment `k`'s first index; the last
    /// entry is the maximum capacity. `[0, capacity]` for a fixed store.
    starts: Box<[u32]>,
    /// Segments `1..`, null until added (I11).
    more: Box<[AtomicPtr<Segment<T, W>>]>,
    /// `next << 32 | limit`: indices `next..limit` belong to added segments
    /// and have never been handed out; `limit` is the published capacity.
    /// Both only ever increase.
    fresh: W::Double,
    _shape: PhantomData<S>,
}

impl<T, W: Word, S: Shape> Store<T, W, S> {
    /// A store with `starts` as its segment schedule (see
    /// [`Growth::schedule`](crate::Growth)); only segment 0 is allocated.
    pub(super) fn new(starts: Vec<u32>) -> Self {
        assert!(starts.len() >= 2 && starts[0] == 0);
        assert!(
            S::GROWS || starts.len() == 2,
            "a fixed store has one segment"
        );
        let first_len = starts[1];
        Self {
            first: Segment::new(first_len as usize),
            first_len,
            more: (2..starts.len())
                .map(|_| AtomicPtr::new(ptr::null_mut()))
                .collect(),
            starts: starts.into_boxed_slice(),
            fresh: W::Double::new(pack_fresh(first_len, first_len)),
            _shape: PhantomData,
        }
    }

    /// The words of segment 0 (its slots are the initial capacity).
    pub(super) fn first_words(&self) -> &[W] {
        &self.first.words
    }

    /// The published capacity: slots of the segments added so far.
    #[inline]
    pub(super) fn capacity(&self) -> usize {
        if S::GROWS {
            unpack_fresh(self.fresh.load(Ordering::Acquire)).1 as usize
        } else {
            self.first_len as usize
        }
    }

    /// The capacity the store may grow to.
    pub(super) fn max_capacity(&self) -> usize {
        self.starts[self.starts.len() - 1] as usize
    }

    /// The segment holding index `i`, and `i`'s offset in it.
    ///
    /// # Safety
    ///
    /// - `i` is below the published capacity (I10, I11).
    #[inline(always)]
    unsafe fn locate(&self, i: u32) -> (&Segment<T, W>, usize) {
        if !S::GROWS || i < self.first_len {
            (&self.first, i as usize)
        } else {
            // SAFETY: I11 — the caller's contract.
            unsafe { self.locate_grown(i) }
        }
    }

    /// [`locate`](Self::locate) beyond segment 0.
    ///
    /// # Safety
    ///
    /// As for `locate`.
    #[inline(never)]
    unsafe fn locate_grown(&self, i: u32) -> (&Segment<T, W>, usize) {
        // `starts[0] = 0 <= i < max = starts[last]`, so 1 <= k < last.
        let k = self.starts.partition_point(|&s| s <= i) - 1;
        debug_assert!(k >= 1 && k + 1 < self.starts.len());
        // SAFETY: I10 — `k - 1 < more.len() = starts.len() - 2`.
        let cell = unsafe { self.more.get_unchecked(k - 1) };
        // Acquire: pairs with the release CAS that added the segment, so its
        // boxed slices are visible.
        let segment = cell.load(Ordering::Acquire);
        debug_assert!(!segment.is_null(), "index {i} in a segment never added");
        // SAFETY: I11 — `i` is below the published capacity, and the limit
        // is raised past a segment only after the segment was added (the
        // limit's release CAS follows the pointer's); added segments are
        // freed only when the store is dropped.
        let segment = unsafe { &*segment };
        // SAFETY: I10 — `starts[k] <= i`.
        let start = unsafe { *self.starts.get_unchecked(k) };
        (segment, (i - start) as usize)
    }

    /// A raw pointer to slot `index`. What may be done through it is governed
    /// by who owns `index` (SAFETY.md, I1).
    ///
    /// # Safety
    ///
    /// - `index` is below the published capacity (I10: it came from the free
    ///   list or a fresh claim of this store).
    #[inline(always)]
    pub(super) unsafe fn slot(&self, index: u32) -> NonNull<T> {
        // SAFETY: I10, I11 — the caller's contract.
        let (segment, offset) = unsafe { self.locate(index) };
        debug_assert!(offset < segment.slots.len());
        // SAFETY: I10 — `locate` returns an offset inside the segment.
        let cell = unsafe { segment.slots.get_unchecked(offset) };
        let ptr = cell.with_mut(|p| p.cast::<T>());
        // SAFETY: `ptr` points into a live boxed slice (I10: in range), so it is
        // never null.
        unsafe { NonNull::new_unchecked(ptr) }
    }

    /// Claims a never-used index of an added segment, or `None` when every
    /// added slot has been handed out at least once.
    pub(super) fn claim_fresh(&self) -> Option<u32> {
        let mut word = self.fresh.load(Ordering::Acquire);
        loop {
            let (next, limit) = unpack_fresh(word);
            if next >= limit {
                return None;
            }
            match self.fresh.compare_exchange(
                word,
                pack_fresh(next + 1, limit),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(next),
                Err(actual) => word = actual,
            }
        }
    }

    /// Adds the next segment if every added slot has been handed out and the
    /// maximum is not reached. Lock-free: threads racing here allocate a
    /// segment each, one installs it and the others free theirs, and any of
    /// them may raise the limit (once) past the installed segment.
    #[cold]
    pub(super) fn grow(&self) -> Grown {
        let word = self.fresh.load(Ordering::Acquire);
        let (next, limit) = unpack_fresh(word);
        if next < limit {
            return Grown::Retry;
        }
        if limit as usize == self.max_capacity() {
            return Grown::AtMax;
        }
        // `limit` is a segment boundary: `starts[k] == limit`, k >= 1.
        let k = self.starts.partition_point(|&s| s <= limit) - 1;
        debug_assert_eq!(self.starts[k], limit);
        let end = self.starts[k + 1];
        let cell = &self.more[k - 1];
        let mut added = false;
        if cell.load(Ordering::Acquire).is_null() {
            let Some(segment) = Segment::<T, W>::try_new((end - limit) as usize) else {
                return Grown::OutOfMemory;
            };
            let segment = Box::into_raw(Box::new(segment));
            // Release: publishes the new segment's slices with the pointer.
            match cell.compare_exchange(
                ptr::null_mut(),
                segment,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => added = true,
                // SAFETY: I11 — the CAS failed, so `segment` was never shared:
                // we still own the box we just leaked.
                Err(_) => drop(unsafe { Box::from_raw(segment) }),
            }
        }
        // Raise the limit past segment `k`. The word only ever increases, so
        // a failed CAS means another thread did it (or claimed past it).
        let _ = self.fresh.compare_exchange(
            word,
            pack_fresh(next, end),
            Ordering::AcqRel,
            Ordering::Relaxed,
        );
        if added {
            Grown::Added
        } else {
            Grown::Retry
        }
    }
}

impl<T, W: Word, S: Shape> Words for Store<T, W, S> {
    type W = W;
    #[inline(always)]
    unsafe fn word(&self, i: u32) -> &W {
        // SAFETY: I10, I11 — the caller's contract.
        let (segment, offset) = unsafe { self.locate(i) };
        debug_assert!(offset < segment.words.len());
        // SAFETY: I10 — `locate` returns an offset inside the segment.
        unsafe { segment.words.get_unchecked(offset) }
    }
}

impl<T, W: Word, S> Drop for Store<T, W, S> {
    fn drop(&mut self) {
        for cell in self.more.iter() {
            let segment = cell.load(Ordering::Acquire);
            if !segment.is_null() {
                // SAFETY: I11 — added segments are boxes leaked by `grow` and
                // freed only here, once; no lease outlives the store (I7).
                // Their slots are `MaybeUninit`: values were dropped by the
                // core before (or leaked with a forgotten lease).
                drop(unsafe { Box::from_raw(segment) });
            }
        }
    }
}
