//! Free lists of slot indices: [`LocalStack`] (one thread, an array stack) and
//! [`TreiberStack`] (lock-free linked stack, tagged head).
//!
//! Both hold indices only, never pointers, so popping a stale index can never
//! touch freed memory and no reclamation scheme is needed. Each free slot's
//! entry records whether the slot holds an initialised value ([`Link`]), so
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

use crate::sync::{AtomicU32, AtomicU64, AtomicUsize, Backoff, Ordering};
use crate::tag::{Link, TaggedIndex, MAX_CAPACITY, NIL};
use core::cell::Cell;
use core::marker::PhantomData;
use crossbeam_utils::CachePadded;

// === Words and counters ===

/// One `u32` of bookkeeping per slot, read and written whole: a plain cell
/// for single-thread lists, an atomic (relaxed loads and stores) where other
/// threads may read it.
pub(crate) trait Word {
    /// The matching 64-bit counter (statistics of the pool owning the list).
    type Wide: Counter;
    /// A word holding `value`.
    fn new(value: u32) -> Self;
    /// The value.
    fn get(&self) -> u32;
    /// Replaces the value.
    fn set(&self, value: u32);
}

impl Word for Cell<u32> {
    type Wide = Cell<u64>;
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

impl Word for AtomicU32 {
    type Wide = OwnedU64;
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

/// A statistics counter. `add` and `raise_to` may be called by one thread at
/// a time or by many, depending on the implementation; `get` from any.
pub(crate) trait Counter: Default {
    /// Adds `n` and returns the new value.
    fn add(&self, n: u64) -> u64;
    /// The value.
    fn get(&self) -> u64;
    /// Raises the value to `v` if it is lower.
    fn raise_to(&self, v: u64);
}

impl Counter for Cell<u64> {
    #[inline(always)]
    fn add(&self, n: u64) -> u64 {
        let v = Cell::get(self) + n;
        self.set(v);
        v
    }
    #[inline(always)]
    fn get(&self) -> u64 {
        Cell::get(self)
    }
    #[inline(always)]
    fn raise_to(&self, v: u64) {
        if v > Cell::get(self) {
            self.set(v);
        }
    }
}

/// A counter written by one thread only and read by any: relaxed loads and
/// stores, no read-modify-write (the thread-local pool's per-thread figures).
#[derive(Default)]
pub(crate) struct OwnedU64(AtomicU64);

impl Counter for OwnedU64 {
    #[inline(always)]
    fn add(&self, n: u64) -> u64 {
        let v = self.0.load(Ordering::Relaxed) + n;
        self.0.store(v, Ordering::Relaxed);
        v
    }
    #[inline(always)]
    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    #[inline(always)]
    fn raise_to(&self, v: u64) {
        if v > self.get() {
            self.0.store(v, Ordering::Relaxed);
        }
    }
}

/// A counter shared by every thread: atomic read-modify-writes, exact once
/// the threads have joined.
#[derive(Default)]
pub(crate) struct SharedU64(AtomicU64);

impl Counter for SharedU64 {
    #[inline(always)]
    fn add(&self, n: u64) -> u64 {
        self.0.fetch_add(n, Ordering::Relaxed) + n
    }
    #[inline(always)]
    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    #[inline(always)]
    fn raise_to(&self, v: u64) {
        if v > self.get() {
            self.0.fetch_max(v, Ordering::Relaxed);
        }
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

// === impl LocalStack ===

/// A single-owner LIFO free list: an array stack of free indices, its entries
/// in the store's words (stack position `p` uses word `p`).
///
/// An array rather than a linked list, because one thread owns it: a pop's
/// load address depends only on `len`, not on the previous pop's load, so a
/// burst of gets chases no pointers; and the number of indices out is
/// `total - len`, with no counter to maintain. Same 4 bytes per slot.
///
/// `W` is `Cell<u32>` for a pool of one thread, or `AtomicU32` (relaxed
/// loads and stores, never a read-modify-write) for the per-thread pools of
/// `ThreadLocalPool`, whose figures other threads read.
pub(crate) struct LocalStack<W = Cell<u32>> {
    /// Number of free slots: positions `0..len` hold their [`Link`]s (I10:
    /// `len <= total`).
    len: W,
    /// Number of indices in circulation (on the list or leased): the initial
    /// capacity plus the fresh indices adopted since.
    total: W,
    /// One owner only, whatever `W` is: never `Sync`.
    _not_sync: PhantomData<Cell<()>>,
}

impl<W: Word> FreeList for LocalStack<W> {
    type Word = W;
    type Counter = W::Wide;
    const SHARED: bool = false;

    fn new(capacity: usize, words: &[W]) -> Self {
        assert_in_index_space(capacity);
        assert_eq!(words.len(), capacity);
        // Index 0 on top (last), so a new pool hands out slots in order.
        for (position, word) in words.iter().enumerate() {
            word.set(Link::new((capacity - 1 - position) as u32, false).0);
        }
        Self {
            len: W::new(capacity as u32),
            total: W::new(capacity as u32),
            _not_sync: PhantomData,
        }
    }

    #[inline(always)]
    fn pop<S: Words<W = W>>(&self, words: &S) -> Option<(u32, bool)> {
        let top = self.len.get().checked_sub(1)?;
        self.len.set(top);
        // SAFETY: I10 — `len <= total <= capacity`, so `top = len - 1` is a
        // position below the published capacity.
        let entry = Link(unsafe { words.word(top) }.get());
        Some((entry.next(), entry.filled()))
    }

    #[inline(always)]
    unsafe fn push<S: Words<W = W>>(&self, words: &S, index: u32, filled: bool) {
        let len = self.len.get();
        debug_assert!(len < self.total.get());
        // SAFETY: I1, I10 — the caller holds `index` outside the list, so at
        // most `total - 1` entries are on it: `len` is below `total`, which
        // is at most the published capacity.
        unsafe { words.word(len) }.set(Link::new(index, filled).0);
        self.len.set(len + 1);
    }

    fn mark_filled(&mut self, words: &[W], index: u32) {
        // Only called on a list as `new` built it: index `i` sits at
        // position `capacity - 1 - i`.
        let word = &words[words.len() - 1 - index as usize];
        debug_assert_eq!(Link(word.get()).next(), index, "mark_filled on a used list");
        word.set(Link::new(index, true).0);
    }

    #[inline]
    fn adopt(&self) {
        self.total.set(self.total.get() + 1);
    }

    #[inline(always)]
    fn out(&self) -> usize {
        (self.total.get() - self.len.get()) as usize
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
///
/// The links live in the store's words: word `i` is the [`Link`] of slot `i`
/// while it is free. A stale popper may read a link concurrently with its
/// owner rewriting it; both sides are atomic, and the tag makes the stale
/// popper's CAS fail.
pub(crate) struct TreiberStack {
    /// The head and the out-count, padded onto a cache line of their own.
    line: CachePadded<HeadLine>,
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

impl TreiberStack {
    /// Pops the top index and its fill state, without counting it out.
    #[inline]
    pub(crate) fn take<S: Words<W = AtomicU32>>(&self, words: &S) -> Option<(u32, bool)> {
        let mut one = [0u32; 1];
        match self.take_batch(words, &mut one) {
            0 => None,
            _ => {
                let entry = Link(one[0]);
                Some((entry.next(), entry.filled()))
            }
        }
    }

    /// Pops up to `out.len()` indices with one compare-and-swap, top first,
    /// writing each as a [`Link`] of its own index and fill state. Returns
    /// how many (0 when the stack is empty or `out` is).
    ///
    /// The walk down the links may read links that another thread is
    /// rewriting (it popped and pushed them); then the head has changed and
    /// the CAS fails on the tag (I5). On success the head was unchanged from
    /// our acquire load to the CAS, so no pop or push happened in between and
    /// every link we read was the one its pusher published (I4).
    #[inline]
    pub(crate) fn take_batch<S: Words<W = AtomicU32>>(&self, words: &S, out: &mut [u32]) -> usize {
        if out.is_empty() {
            return 0;
        }
        // Acquire: the slot contents and the links below were written before
        // the release CASes that published them (SAFETY.md, I4).
        let mut head = TaggedIndex::unpack(self.line.head.load(Ordering::Acquire));
        let backoff = Backoff::new();
        loop {
            if head.is_nil() {
                return 0;
            }
            let mut index = head.index;
            let mut n = 0;
            while n < out.len() && index != NIL {
                // SAFETY: I10, I11 — `index` is the head or a link read from
                // a word, and every value a word or the head ever held is NIL
                // or an index that was pushed, so below the published
                // capacity.
                let link = Link(unsafe { words.word(index) }.load(Ordering::Relaxed));
                out[n] = Link::new(index, link.filled()).0;
                n += 1;
                index = link.next();
            }
            let next = TaggedIndex {
                index,
                tag: head.tag.wrapping_add(1),
            };
            match self.line.head.compare_exchange_weak(
                head.pack(),
                next.pack(),
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => return n,
                Err(actual) => {
                    head = TaggedIndex::unpack(actual);
                    backoff.spin();
                }
            }
        }
    }

    /// Pushes `index` without counting it in.
    ///
    /// # Safety
    ///
    /// As [`FreeList::push`].
    #[inline]
    pub(crate) unsafe fn put<S: Words<W = AtomicU32>>(&self, words: &S, index: u32, filled: bool) {
        // SAFETY: the caller's contract.
        unsafe { self.put_chain(words, &[Link::new(index, filled).0]) }
    }

    /// Pushes the indices of `entries` (each a [`Link`] of its own index and
    /// fill state) with one compare-and-swap; `entries[0]` ends on top.
    ///
    /// # Safety
    ///
    /// Each index was taken from this list (or a cache in front of it) or
    /// adopted, is held by the caller, and appears once (I1, I10).
    #[inline]
    pub(crate) unsafe fn put_chain<S: Words<W = AtomicU32>>(&self, words: &S, entries: &[u32]) {
        let Some((&last, rest)) = entries.split_last() else {
            return;
        };
        // Link the chain among itself: we own these indices (I1), so only
        // stale poppers read their links, and their CAS fails.
        for pair in entries.windows(2) {
            let (this, below) = (Link(pair[0]), Link(pair[1]));
            // SAFETY: I10, I11 — the caller's indices are in range.
            unsafe { words.word(this.next()) }
                .store(Link::new(below.next(), this.filled()).0, Ordering::Relaxed);
        }
        let last = Link(last);
        let top = Link(rest.first().copied().unwrap_or(last.0)).next();
        // SAFETY: I10, I11 — as above.
        let link = unsafe { words.word(last.next()) };
        let mut head = TaggedIndex::unpack(self.line.head.load(Ordering::Relaxed));
        let backoff = Backoff::new();
        loop {
            link.store(Link::new(head.index, last.filled()).0, Ordering::Relaxed);
            let new = TaggedIndex {
                index: top,
                tag: head.tag,
            };
            // Release: publishes the link stores above and the slots'
            // contents to the threads that pop these indices next.
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

    /// The packed head now: equal on two reads with nothing pushed or
    /// popped between them (pops bump the tag, pushes change the index).
    #[inline]
    pub(crate) fn head_word(&self) -> u64 {
        self.line.head.load(Ordering::Acquire)
    }

    /// Adds `delta` (wrapping) to the out-count.
    #[inline(always)]
    pub(crate) fn count(&self, delta: usize) {
        self.line.out.fetch_add(delta, Ordering::Relaxed);
    }
}

impl FreeList for TreiberStack {
    type Word = AtomicU32;
    type Counter = SharedU64;
    const SHARED: bool = true;

    fn new(capacity: usize, words: &[AtomicU32]) -> Self {
        assert_in_index_space(capacity);
        assert_eq!(words.len(), capacity);
        // `i -> i + 1`, the last to NIL, all empty.
        for (i, word) in words.iter().enumerate() {
            let next = if i + 1 == capacity { NIL } else { i as u32 + 1 };
            Word::set(word, Link::new(next, false).0);
        }
        let head = TaggedIndex {
            index: if capacity == 0 { NIL } else { 0 },
            tag: 0,
        };
        Self {
            line: CachePadded::new(HeadLine {
                head: AtomicU64::new(head.pack()),
                out: AtomicUsize::new(0),
            }),
        }
    }

    #[inline]
    fn pop<S: Words<W = AtomicU32>>(&self, words: &S) -> Option<(u32, bool)> {
        let entry = self.take(words)?;
        self.count(1);
        Some(entry)
    }

    #[inline]
    unsafe fn push<S: Words<W = AtomicU32>>(&self, words: &S, index: u32, filled: bool) {
        self.count(usize::MAX);
        // SAFETY: the caller's contract.
        unsafe { self.put(words, index, filled) };
    }

    fn mark_filled(&mut self, words: &[AtomicU32], index: u32) {
        let link = &words[index as usize];
        let next = Link(Word::get(link)).next();
        Word::set(link, Link::new(next, true).0);
    }

    #[inline]
    fn adopt(&self) {
        self.count(1);
    }

    #[inline(always)]
    fn out(&self) -> usize {
        self.line.out.load(Ordering::Relaxed)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use alloc::boxed::Box;
    use alloc::vec::Vec;

    /// A bare word array standing in for a store.
    struct Plain<W>(Box<[W]>);

    impl<W: Word> Plain<W> {
        fn new(n: usize) -> Self {
            Self((0..n).map(|_| W::new(0)).collect())
        }
    }

    impl<W: Word> Words for Plain<W> {
        type W = W;
        unsafe fn word(&self, i: u32) -> &W {
            &self.0[i as usize]
        }
    }

    fn drain<L: FreeList>(list: &L, words: &Plain<L::Word>) -> Vec<(u32, bool)> {
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

    #[test]
    fn local_stack_counts_adopted_indices() {
        let words = Plain::<Cell<u32>>::new(3);
        let list = LocalStack::new(1, &words.0[..1]);
        assert_eq!(list.out(), 0);
        list.adopt(); // index 1 handed out fresh
        assert_eq!(list.out(), 1);
        // SAFETY: I1, I10 — index 1 was adopted and is pushed once.
        unsafe { list.push(&words, 1, true) };
        assert_eq!(list.out(), 0);
        assert_eq!(drain(&list, &words), [(1, true), (0, false)]);
    }

    #[test]
    fn treiber_tag_bumps_on_pop_only() {
        let words = Plain::<AtomicU32>::new(2);
        let list = TreiberStack::new(2, &words.0);
        let tag = || TaggedIndex::unpack(list.line.head.load(Ordering::Relaxed)).tag;
        assert_eq!(tag(), 0);
        let (a, _) = list.pop(&words).unwrap();
        assert_eq!(tag(), 1);
        // SAFETY: I1, I10 — `a` was just popped.
        unsafe { list.push(&words, a, true) };
        assert_eq!(tag(), 1, "push keeps the tag");
        list.pop(&words).unwrap();
        list.pop(&words).unwrap();
        assert_eq!(tag(), 3);
        assert_eq!(list.pop(&words), None);
        assert_eq!(tag(), 3, "a failed pop changes nothing");
    }

    #[test]
    fn treiber_pops_are_exclusive_across_threads() {
        use std::sync::Mutex;
        let (n, rounds) = if cfg!(miri) { (8, 20) } else { (64, 20_000) };
        let words = Plain::<AtomicU32>::new(n);
        let list = TreiberStack::new(n, &words.0);
        let owner: Vec<Mutex<Option<usize>>> = (0..n).map(|_| Mutex::new(None)).collect();
        std::thread::scope(|s| {
            for t in 0..2 {
                let (list, owner, words) = (&list, &owner, &words);
                s.spawn(move || {
                    for _ in 0..rounds {
                        if let Some((i, _)) = list.pop(words) {
                            let prev = owner[i as usize].lock().unwrap().replace(t);
                            assert_eq!(prev, None, "index {i} handed out twice");
                            *owner[i as usize].lock().unwrap() = None;
                            // SAFETY: I1, I10 — `i` was popped above.
                            unsafe { list.push(words, i, true) };
                        }
                    }
                });
            }
        });
        let mut all: Vec<u32> = drain(&list, &words).into_iter().map(|(i, _)| i).collect();
        all.sort_unstable();
        assert_eq!(
            all,
            (0..n as u32).collect::<Vec<_>>(),
            "every index back once"
        );
    }
}
