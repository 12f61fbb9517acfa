//! Free lists of slot indices: [`LocalStack`] (one thread, no atomics, an
//! array stack) and [`TreiberStack`] (lock-free linked stack, tagged head).
//!
//! Both hold indices only, never pointers, so popping a stale index can never
//! touch freed memory and no reclamation scheme is needed. Each free slot's
//! entry records whether the slot holds an initialised value ([`Link`]), so
//! the free list *is* the slot-state table: an index on the list marked filled
//! is "free, initialised", marked empty "free, uninitialised", and an index
//! not on the list is "in use" (SAFETY.md, invariants I1 and I2).
//!
//! The slab layer builds its guarantees on the fact that a successful `pop`
//! hands an index to exactly one caller (SAFETY.md, I1). The only `unsafe` here
//! is unchecked indexing of the link and entry arrays, sound because every
//! index and position a list uses is in range (I10); `push` is `unsafe`
//! because it is where an index enters the list.

use crate::sync::{AtomicU32, AtomicU64, AtomicUsize, Backoff, Ordering};
use crate::tag::{Link, TaggedIndex, MAX_CAPACITY, NIL};
use alloc::boxed::Box;
use core::cell::Cell;
use crossbeam_utils::CachePadded;

/// What the slab layer needs from a free list.
pub(crate) trait FreeList {
    /// A list holding every index in `0..capacity`, all empty, with index 0
    /// on top.
    fn new(capacity: usize) -> Self;

    /// Takes the most recently pushed index and whether its slot is filled.
    /// `None` when the list is empty.
    fn pop(&self) -> Option<(u32, bool)>;

    /// Puts `index` back on top, recording whether its slot is `filled`.
    ///
    /// # Safety
    ///
    /// - `index` was returned by `pop` on this list and has not been pushed
    ///   since (I1: each index in one place; I10: indices in range).
    unsafe fn push(&self, index: u32, filled: bool);

    /// Marks slot `index` as filled. Only for a list exactly as `new` built
    /// it (apart from earlier `mark_filled` calls): pre-initialisation.
    fn mark_filled(&mut self, index: u32);

    /// Counts one index handed out: called after a successful `pop` that
    /// ends in a lease (SAFETY.md, I6).
    fn count_out(&self);

    /// Counts one index coming back: called before its `push` (I6).
    fn count_in(&self);

    /// Indices handed out and not yet back (exact when no operation is in
    /// flight; I6).
    fn out(&self) -> usize;
}

/// Checks a list size against the index space (pools check it first, with a
/// `ConfigError`; this guards the `as u32` casts below).
fn assert_in_index_space(capacity: usize) {
    assert!(
        capacity <= MAX_CAPACITY,
        "free list of {capacity} slots exceeds the index space ({MAX_CAPACITY})"
    );
}

// === impl LocalStack ===

/// A single-threaded LIFO free list: an array stack of free indices.
///
/// An array rather than a linked list, because one thread owns it: a pop's
/// load address depends only on `len`, not on the previous pop's load, so a
/// burst of gets chases no pointers; and the number of indices out is
/// `capacity - len`, with no counter to maintain. Same 4 bytes per slot.
pub(crate) struct LocalStack {
    /// `entries[..len]` are the free slots, the top last; each is a [`Link`]
    /// holding the slot's index and whether the slot is filled.
    entries: Box<[Cell<u32>]>,
    /// Number of free slots (I10: `len <= capacity`).
    len: Cell<u32>,
}

impl FreeList for LocalStack {
    fn new(capacity: usize) -> Self {
        assert_in_index_space(capacity);
        Self {
            // Index 0 on top (last), so a new pool hands out slots in order.
            entries: (0..capacity as u32)
                .rev()
                .map(|i| Cell::new(Link::new(i, false).0))
                .collect(),
            len: Cell::new(capacity as u32),
        }
    }

    #[inline(always)]
    fn pop(&self) -> Option<(u32, bool)> {
        let top = self.len.get().checked_sub(1)?;
        self.len.set(top);
        debug_assert!((top as usize) < self.entries.len());
        // SAFETY: I10 — `len <= capacity`, so `top = len - 1` is in range.
        let entry = Link(unsafe { self.entries.get_unchecked(top as usize) }.get());
        Some((entry.next(), entry.filled()))
    }

    #[inline(always)]
    unsafe fn push(&self, index: u32, filled: bool) {
        let len = self.len.get();
        debug_assert!((len as usize) < self.entries.len());
        // SAFETY: I1, I10 — the caller holds `index` outside the list, so at
        // most `capacity - 1` entries are on it: `len` is in range.
        let entry = unsafe { self.entries.get_unchecked(len as usize) };
        entry.set(Link::new(index, filled).0);
        self.len.set(len + 1);
    }

    fn mark_filled(&mut self, index: u32) {
        // Only called on a list as `new` built it: index `i` sits at
        // position `capacity - 1 - i`.
        let position = self.entries.len() - 1 - index as usize;
        let entry = self.entries[position].get_mut();
        debug_assert_eq!(Link(*entry).next(), index, "mark_filled on a used list");
        *entry = Link::new(index, true).0;
    }

    #[inline(always)]
    fn count_out(&self) {}

    #[inline(always)]
    fn count_in(&self) {}

    #[inline(always)]
    fn out(&self) -> usize {
        self.entries.len() - self.len.get() as usize
    }
}

// === impl TreiberStack ===

/// A lock-free LIFO free list (Treiber stack) of slot indices.
///
/// The ABA problem, and how the tag prevents it (SAFETY.md, I5):
///
/// ```text
/// thread 1 (pop)                 | thread 2                    | head
/// -------------------------------+-----------------------------+----------
/// read head = (A, t)             |                             | (A, t)
/// read next(A) = B               |                             |
///                                | pop A                       | (B, t+1)
///                                | pop B  (B now in use)       | (C, t+2)
///                                | push A                      | (A, t+2)
/// CAS head (A, t) -> (B, t+1)    |                             |
///   untagged: succeeds, B is on  |                             |
///   the list AND in use: a double hand-out                     |
///   tagged: fails, t != t+2, thread 1 retries                  |
/// ```
pub(crate) struct TreiberStack {
    /// The head and the out-count, padded onto a cache line of their own.
    line: CachePadded<HeadLine>,
    /// `links[i]` is the [`Link`] of slot `i` while it is free. A stale popper
    /// may read a link concurrently with its owner rewriting it; both sides
    /// are atomic, and the tag makes the stale popper's CAS fail.
    links: Box<[AtomicU32]>,
}

/// The words every get and release touches, kept on one cache line so that a
/// round trip under contention moves one line between cores, not two.
struct HeadLine {
    /// Packed [`TaggedIndex`]: `tag << 32 | index`, index [`NIL`] when empty.
    /// The tag is bumped on every successful pop; pushes keep it.
    head: AtomicU64,
    /// Indices handed out (I6).
    out: AtomicUsize,
}

impl FreeList for TreiberStack {
    fn new(capacity: usize) -> Self {
        assert_in_index_space(capacity);
        let head = TaggedIndex {
            index: if capacity == 0 { NIL } else { 0 },
            tag: 0,
        };
        Self {
            line: CachePadded::new(HeadLine {
                head: AtomicU64::new(head.pack()),
                out: AtomicUsize::new(0),
            }),
            // `i -> i + 1`, the last to NIL, all empty.
            links: (1..=capacity as u32)
                .map(|next| {
                    let next = if next as usize == capacity { NIL } else { next };
                    AtomicU32::new(Link::new(next, false).0)
                })
                .collect(),
        }
    }

    #[inline]
    fn pop(&self) -> Option<(u32, bool)> {
        // Acquire: the slot contents and the link below were written before
        // the release CAS that published this head (SAFETY.md, I4).
        let mut head = TaggedIndex::unpack(self.line.head.load(Ordering::Acquire));
        let backoff = Backoff::new();
        loop {
            if head.is_nil() {
                return None;
            }
            debug_assert!((head.index as usize) < self.links.len());
            // SAFETY: I10 — a non-NIL head index is below capacity.
            let link = unsafe { self.links.get_unchecked(head.index as usize) };
            // Possibly stale (another thread may have popped `head.index` and
            // be rewriting its link); then the CAS below fails on the tag.
            let link = Link(link.load(Ordering::Relaxed));
            let next = TaggedIndex {
                index: link.next(),
                tag: head.tag.wrapping_add(1),
            };
            match self.line.head.compare_exchange_weak(
                head.pack(),
                next.pack(),
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some((head.index, link.filled())),
                Err(actual) => {
                    head = TaggedIndex::unpack(actual);
                    backoff.spin();
                }
            }
        }
    }

    #[inline]
    unsafe fn push(&self, index: u32, filled: bool) {
        debug_assert!((index as usize) < self.links.len());
        // SAFETY: I10 — the caller's index came from `pop`, so it is in range.
        let link = unsafe { self.links.get_unchecked(index as usize) };
        let mut head = TaggedIndex::unpack(self.line.head.load(Ordering::Relaxed));
        let backoff = Backoff::new();
        loop {
            // We own `index` (I1): only stale poppers read this link, and
            // they will fail their CAS (see the table above).
            link.store(Link::new(head.index, filled).0, Ordering::Relaxed);
            let new = TaggedIndex {
                index,
                tag: head.tag,
            };
            // Release: publishes the link store above and the slot's contents
            // to the thread that pops `index` next.
            match self.line.head.compare_exchange_weak(
                head.pack(),
                new.pack(),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => {
                    head = TaggedIndex::unpack(actual);
                    backoff.spin();
                }
            }
        }
    }

    fn mark_filled(&mut self, index: u32) {
        let link = &self.links[index as usize];
        let next = Link(link.load(Ordering::Relaxed)).next();
        link.store(Link::new(next, true).0, Ordering::Relaxed);
    }

    #[inline(always)]
    fn count_out(&self) {
        self.line.out.fetch_add(1, Ordering::Relaxed);
    }

    #[inline(always)]
    fn count_in(&self) {
        self.line.out.fetch_sub(1, Ordering::Relaxed);
    }

    #[inline(always)]
    fn out(&self) -> usize {
        self.line.out.load(Ordering::Relaxed)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn drain<L: FreeList>(list: &L) -> Vec<(u32, bool)> {
        core::iter::from_fn(|| list.pop()).collect()
    }

    fn lifo_and_fill_state<L: FreeList>() {
        let mut list = L::new(4);
        list.mark_filled(2);
        assert_eq!(
            drain(&list),
            [(0, false), (1, false), (2, true), (3, false)],
            "a new list pops 0 first, all empty but the marked one"
        );
        for (index, filled) in [(3, true), (0, false), (1, true)] {
            // SAFETY: I1, I10 — each index was popped by `drain` above and is
            // pushed once.
            unsafe { list.push(index, filled) };
        }
        assert_eq!(drain(&list), [(1, true), (0, false), (3, true)]);
        assert_eq!(list.pop(), None);
        assert_eq!(L::new(0).pop(), None, "an empty list pops nothing");
    }

    #[test]
    fn local_stack_is_lifo_and_keeps_fill_state() {
        lifo_and_fill_state::<LocalStack>();
    }

    #[test]
    fn treiber_stack_is_lifo_and_keeps_fill_state() {
        lifo_and_fill_state::<TreiberStack>();
    }

    #[test]
    fn treiber_tag_bumps_on_pop_only() {
        let list = TreiberStack::new(2);
        let tag = || TaggedIndex::unpack(list.line.head.load(Ordering::Relaxed)).tag;
        assert_eq!(tag(), 0);
        let (a, _) = list.pop().unwrap();
        assert_eq!(tag(), 1);
        // SAFETY: I1, I10 — `a` was just popped.
        unsafe { list.push(a, true) };
        assert_eq!(tag(), 1, "push keeps the tag");
        list.pop().unwrap();
        list.pop().unwrap();
        assert_eq!(tag(), 3);
        assert_eq!(list.pop(), None);
        assert_eq!(tag(), 3, "a failed pop changes nothing");
    }

    #[test]
    fn treiber_pops_are_exclusive_across_threads() {
        use std::sync::Mutex;
        let (n, rounds) = if cfg!(miri) { (8, 20) } else { (64, 20_000) };
        let list = TreiberStack::new(n);
        let owner: Vec<Mutex<Option<usize>>> = (0..n).map(|_| Mutex::new(None)).collect();
        std::thread::scope(|s| {
            for t in 0..2 {
                let (list, owner) = (&list, &owner);
                s.spawn(move || {
                    for _ in 0..rounds {
                        if let Some((i, _)) = list.pop() {
                            let prev = owner[i as usize].lock().unwrap().replace(t);
                            assert_eq!(prev, None, "index {i} handed out twice");
                            *owner[i as usize].lock().unwrap() = None;
                            // SAFETY: I1, I10 — `i` was popped above.
                            unsafe { list.push(i, true) };
                        }
                    }
                });
            }
        });
        let mut all: Vec<u32> = drain(&list).into_iter().map(|(i, _)| i).collect();
        all.sort_unstable();
        assert_eq!(
            all,
            (0..n as u32).collect::<Vec<_>>(),
            "every index back once"
        );
    }
}
