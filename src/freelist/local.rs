//! [`LocalStack`]: the free list of one owner, an array stack of entries.

use super::{assert_in_index_space, FreeList, Word, Words};
use crate::tag::Entry;
use core::cell::Cell;
use core::marker::PhantomData;

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
    /// Number of free slots: positions `0..len` hold their [`Entry`]s (I10:
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
            word.set(Entry::new((capacity - 1 - position) as u32, false).0);
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
        let entry = Entry(unsafe { words.word(top) }.get());
        Some((entry.index(), entry.filled()))
    }

    #[inline(always)]
    unsafe fn push<S: Words<W = W>>(&self, words: &S, index: u32, filled: bool) {
        let len = self.len.get();
        debug_assert!(len < self.total.get());
        // SAFETY: I1, I10 — the caller holds `index` outside the list, so at
        // most `total - 1` entries are on it: `len` is below `total`, which
        // is at most the published capacity.
        unsafe { words.word(len) }.set(Entry::new(index, filled).0);
        self.len.set(len + 1);
    }

    fn mark_filled(&mut self, words: &[W], index: u32) {
        // Only called on a list as `new` built it: index `i` sits at
        // position `capacity - 1 - i`.
        let word = &words[words.len() - 1 - index as usize];
        debug_assert_eq!(
            Entry(word.get()).index(),
            index,
            "mark_filled on a used list"
        );
        word.set(Entry::new(index, true).0);
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

#[cfg(all(test, not(fastalloc_loom)))]
mod tests {
    use super::*;
    use crate::freelist::tests::{drain, Plain};

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
}
