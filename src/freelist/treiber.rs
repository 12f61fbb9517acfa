//! [`TreiberStack`]: the lock-free linked free list of the shared pools,
//! its tagged head and out-count on one cache line.

use super::{assert_in_index_space, FreeList, Word, Words};
use crate::stats::SharedU64;
use crate::sync::{AtomicU32, AtomicU64, AtomicUsize, Backoff, Ordering};
use crate::tag::{Entry, Link, TaggedIndex, NIL};
use crossbeam_utils::CachePadded;

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
                let entry = Entry(one[0]);
                Some((entry.index(), entry.filled()))
            }
        }
    }

    /// Pops up to `out.len()` indices with one compare-and-swap, top first,
    /// writing each as an [`Entry`] (its own index and fill state). Returns
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
                out[n] = link.entry(index).0;
                n += 1;
                index = link.next();
            }
            let next = TaggedIndex {
                index,
                tag: head.tag.wrapping_add(1),
            };
            // AcqRel: a thread that reads the head this pop leaves sees
            // what the popper did before it, such as a `trim` marking itself
            // started (I6).
            match self.line.head.compare_exchange_weak(
                head.pack(),
                next.pack(),
                Ordering::AcqRel,
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
        unsafe { self.put_chain(words, &[Entry::new(index, filled).0]) }
    }

    /// Pushes the indices of `entries` (each an [`Entry`]) with one compare-and-swap; `entries[0]` ends on top.
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
            let (this, below) = (Entry(pair[0]), Entry(pair[1]));
            // SAFETY: I10, I11 — the caller's indices are in range.
            unsafe { words.word(this.index()) }
                .store(Link::new(below.index(), this.filled()).0, Ordering::Relaxed);
        }
        let last = Entry(last);
        let top = Entry(rest.first().copied().unwrap_or(last.0)).index();
        // SAFETY: I10, I11 — as above.
        let link = unsafe { words.word(last.index()) };
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

#[cfg(all(test, not(fastalloc_loom)))]
mod tests {
    use super::*;
    use crate::freelist::tests::{drain, Plain};
    use alloc::vec::Vec;

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
