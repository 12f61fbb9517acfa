//! Free lists of slot indices, the layer below the slab: the [`FreeList`]
//! trait the slab's core is generic over, and its three implementations:
//!
//! * [`LocalStack`] (`local.rs`): one owner, an array stack;
//! * [`TreiberStack`] (`treiber.rs`): lock-free linked stack, tagged head;
//! * [`CachedStack`] (`cached.rs`): per-thread caches in front of a
//!   `TreiberStack`, the free list of the shared pools.
//!
//! All hold indices only, never pointers, so popping a stale index can never
//! touch freed memory and no reclamation scheme is needed. Each free slot's
//! entry records whether the slot holds an initialised value ([`Entry`],
//! [`Link`](crate::tag::Link)), so
//! the free list *is* the slot-state table: an index on the list marked filled
//! is "free, initialised", marked empty "free, uninitialised", and an index
//! not on the list is "in use" (SAFETY.md, invariants I1 and I2).
//!
//! A list keeps its per-slot words (stack entries or links) in the store that
//! holds the slots ([`Words`]), one `u32` per slot, so that a growing pool's
//! new segment brings its words with it and nothing ever moves.
//!
//! The slab layer builds its guarantees on the fact that a successful `pop`
//! hands an index to exactly one caller (SAFETY.md, I1). `push` is `unsafe`
//! because it is where an index enters the list; word access is unchecked
//! (I10: every index and position a list uses is in range).

#[cfg(target_has_atomic = "64")]
mod cached;
mod local;
#[cfg(target_has_atomic = "64")]
mod treiber;

#[cfg(target_has_atomic = "64")]
pub(crate) use cached::CachedStack;
pub(crate) use local::LocalStack;
#[cfg(target_has_atomic = "64")]
pub(crate) use treiber::TreiberStack;

use crate::stats::Counter;
#[cfg(target_has_atomic = "64")]
use crate::stats::OwnedU64;
use crate::sync::Ordering;
#[cfg(target_has_atomic = "64")]
use crate::sync::{AtomicU32, AtomicU64};
#[cfg(doc)]
use crate::tag::Entry;
use crate::tag::MAX_CAPACITY;
use core::cell::Cell;

// === Words ===

/// One `u32` of bookkeeping per slot, read and written whole: a plain cell
/// for single-thread lists, an atomic (relaxed loads and stores) where other
/// threads may read it.
pub(crate) trait Word {
    /// The matching 64-bit counter (statistics of the pool owning the list).
    type Wide: Counter;
    /// The matching word of two packed halves (the store's fresh indices,
    /// the core's trim counts).
    type Double: DoubleWord;
    /// A word holding `value`.
    fn new(value: u32) -> Self;
    /// The value.
    fn get(&self) -> u32;
    /// Replaces the value.
    fn set(&self, value: u32);
}

impl Word for Cell<u32> {
    type Wide = Cell<u64>;
    type Double = Cell<u64>;
    #[inline(always)]
    fn new(value: u32) -> Self {
        Cell::new(value)
    }
    #[inline(always)]
    fn get(&self) -> u32 {
        Cell::get(self)
    }
    #[inline(always)]
    fn set(&self, value: u32) {
        Cell::set(self, value);
    }
}

#[cfg(target_has_atomic = "64")]
impl Word for AtomicU32 {
    type Wide = OwnedU64;
    type Double = AtomicU64;
    #[inline(always)]
    fn new(value: u32) -> Self {
        AtomicU32::new(value)
    }
    #[inline(always)]
    fn get(&self) -> u32 {
        self.load(Ordering::Relaxed)
    }
    #[inline(always)]
    fn set(&self, value: u32) {
        self.store(value, Ordering::Relaxed);
    }
}

/// A 64-bit word read and replaced whole: a plain cell where one thread owns
/// it (orderings ignored), an atomic where threads share it. Single-thread
/// pools use the cell, so they build on targets without 64-bit atomics.
pub(crate) trait DoubleWord {
    /// A word holding `value`.
    fn new(value: u64) -> Self;
    /// The value.
    fn load(&self, order: Ordering) -> u64;
    /// Replaces `current` by `new`, or returns the value found instead.
    fn compare_exchange(
        &self,
        current: u64,
        new: u64,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u64, u64>;
    /// Adds `n` (wrapping) and returns the previous value.
    fn fetch_add(&self, n: u64, order: Ordering) -> u64;
}

impl DoubleWord for Cell<u64> {
    #[inline(always)]
    fn new(value: u64) -> Self {
        Cell::new(value)
    }
    #[inline(always)]
    fn load(&self, _: Ordering) -> u64 {
        self.get()
    }
    #[inline(always)]
    fn compare_exchange(
        &self,
        current: u64,
        new: u64,
        _: Ordering,
        _: Ordering,
    ) -> Result<u64, u64> {
        let found = self.get();
        if found == current {
            self.set(new);
            Ok(found)
        } else {
            Err(found)
        }
    }
    #[inline(always)]
    fn fetch_add(&self, n: u64, _: Ordering) -> u64 {
        let found = self.get();
        self.set(found.wrapping_add(n));
        found
    }
}

#[cfg(target_has_atomic = "64")]
impl DoubleWord for AtomicU64 {
    #[inline(always)]
    fn new(value: u64) -> Self {
        AtomicU64::new(value)
    }
    #[inline(always)]
    fn load(&self, order: Ordering) -> u64 {
        AtomicU64::load(self, order)
    }
    #[inline(always)]
    fn compare_exchange(
        &self,
        current: u64,
        new: u64,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u64, u64> {
        AtomicU64::compare_exchange(self, current, new, success, failure)
    }
    #[inline(always)]
    fn fetch_add(&self, n: u64, order: Ordering) -> u64 {
        AtomicU64::fetch_add(self, n, order)
    }
}

/// Where a list finds its per-slot words: the store of the slots.
pub(crate) trait Words {
    /// The word type.
    type W: Word;
    /// The word of slot (or stack position) `i`.
    ///
    /// # Safety
    ///
    /// - `i` is below the store's published capacity (I10, I11).
    unsafe fn word(&self, i: u32) -> &Self::W;
}

// === FreeList ===

/// What the slab layer needs from a free list.
pub(crate) trait FreeList {
    /// The per-slot word kept in the store.
    type Word: Word;
    /// The counter type of the statistics of a pool using this list.
    type Counter: Counter;
    /// Whether several threads may pop and push at once.
    const SHARED: bool;

    /// A list holding every index in `0..capacity`, all empty, with index 0
    /// on top; `words` are the first `capacity` words of the store.
    fn new(capacity: usize, words: &[Self::Word]) -> Self;

    /// Takes the most recently pushed index and whether its slot is filled,
    /// counting it out. `None` when the list is empty.
    fn pop<S: Words<W = Self::Word>>(&self, words: &S) -> Option<(u32, bool)>;

    /// Puts `index` back on top, recording whether its slot is `filled`, and
    /// counts it in.
    ///
    /// # Safety
    ///
    /// - `index` was returned by `pop` on this list, or claimed from the
    ///   store's fresh indices and [`adopt`](FreeList::adopt)ed, and has not
    ///   been pushed since (I1: each index in one place; I10: in range).
    unsafe fn push<S: Words<W = Self::Word>>(&self, words: &S, index: u32, filled: bool);

    /// Marks slot `index` as filled. Only for a list exactly as `new` built
    /// it (apart from earlier `mark_filled` calls): pre-initialisation.
    fn mark_filled(&mut self, words: &[Self::Word], index: u32);

    /// A never-used index of a grown segment joins the list's indices: it is
    /// handed out now (counted out, like a pop) and pushed like any other
    /// later.
    fn adopt(&self);

    /// Indices handed out (popped or adopted) and not pushed back since
    /// (exact when no operation is in flight; I6).
    fn out(&self) -> usize;

    /// Like `pop`, for the core's drop: takes any free index, wherever the
    /// list keeps it, without setting up per-thread state.
    #[inline]
    fn drain_pop<S: Words<W = Self::Word>>(&self, words: &S) -> Option<(u32, bool)> {
        self.pop(words)
    }
}

/// Checks a list size against the index space (pools check it first, with a
/// `ConfigError`; this guards the `as u32` casts below).
fn assert_in_index_space(capacity: usize) {
    assert!(
        capacity <= MAX_CAPACITY,
        "free list of {capacity} slots exceeds the index space ({MAX_CAPACITY})"
    );
}

#[cfg(all(test, not(fastalloc_loom)))]
pub(crate) mod tests {
    use super::*;
    use alloc::boxed::Box;
    use alloc::vec::Vec;

    /// A bare word array standing in for a store.
    pub(crate) struct Plain<W>(pub(crate) Box<[W]>);

    impl<W: Word> Plain<W> {
        pub(crate) fn new(n: usize) -> Self {
            Self((0..n).map(|_| W::new(0)).collect())
        }
    }

    impl<W: Word> Words for Plain<W> {
        type W = W;
        unsafe fn word(&self, i: u32) -> &W {
            &self.0[i as usize]
        }
    }

    pub(crate) fn drain<L: FreeList>(list: &L, words: &Plain<L::Word>) -> Vec<(u32, bool)> {
        core::iter::from_fn(|| list.pop(words)).collect()
    }

    fn lifo_and_fill_state<L: FreeList>() {
        let words = Plain::<L::Word>::new(4);
        let mut list = L::new(4, &words.0);
        list.mark_filled(&words.0, 2);
        assert_eq!(
            drain(&list, &words),
            [(0, false), (1, false), (2, true), (3, false)],
            "a new list pops 0 first, all empty but the marked one"
        );
        for (index, filled) in [(3, true), (0, false), (1, true)] {
            // SAFETY: I1, I10 — each index was popped by `drain` above and is
            // pushed once.
            unsafe { list.push(&words, index, filled) };
        }
        assert_eq!(drain(&list, &words), [(1, true), (0, false), (3, true)]);
        assert_eq!(list.pop(&words), None);
        let none = Plain::<L::Word>::new(0);
        assert_eq!(
            L::new(0, &none.0).pop(&none),
            None,
            "an empty list pops nothing"
        );
    }

    #[test]
    fn local_stack_is_lifo_and_keeps_fill_state() {
        lifo_and_fill_state::<LocalStack>();
        lifo_and_fill_state::<LocalStack<AtomicU32>>();
    }

    #[test]
    fn treiber_stack_is_lifo_and_keeps_fill_state() {
        lifo_and_fill_state::<TreiberStack>();
    }
}
