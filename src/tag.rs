//! Tagged indices: a slot index and an ABA tag packed in one `u64`.
//!
//! ```text
//!  63                32 31                 0
//! +--------------------+--------------------+
//! |        tag         |       index        |
//! +--------------------+--------------------+
//! ```
//!
//! The index is a slot number below [`MAX_CAPACITY`] or [`NIL`] (empty). The tag
//! is bumped on every successful pop of the lock-free free list, so a head word
//! that was read, then changed and changed back by other threads, no longer
//! compares equal (SAFETY.md, invariant I5).
//!
//! Free-list words (one `u32` per slot) use bit 31 to record whether a free
//! slot holds a value. An [`Entry`] names a free slot by its own index (the
//! array stacks); a [`Link`] names the next free slot (the linked stack).

/// Number of bits of a slot index.
pub(crate) const INDEX_BITS: u32 = 31;
/// Mask selecting the index bits of a link or of a tagged word's low half.
pub(crate) const INDEX_MASK: u32 = (1 << INDEX_BITS) - 1;
/// The "no slot" index: the end of a free list, or an empty head.
pub(crate) const NIL: u32 = INDEX_MASK;
/// The largest capacity any pool can have: slot indices are 31-bit, with one
/// value reserved as the end-of-list marker (indices `0..MAX_CAPACITY`).
pub const MAX_CAPACITY: usize = NIL as usize;
/// Shift of the tag in a packed tagged word.
const TAG_SHIFT: u32 = 32;
/// Mask selecting the low (index) half of a packed tagged word.
const LOW_MASK: u64 = u32::MAX as u64;

/// A slot index with an ABA tag, packed as `tag << 32 | index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TaggedIndex {
    /// Slot index, or [`NIL`].
    pub(crate) index: u32,
    /// Bumped on every successful pop.
    pub(crate) tag: u32,
}

impl TaggedIndex {
    /// Packs into the atomic word's representation.
    #[inline(always)]
    pub(crate) const fn pack(self) -> u64 {
        ((self.tag as u64) << TAG_SHIFT) | self.index as u64
    }

    /// Unpacks an atomic word.
    #[inline(always)]
    pub(crate) const fn unpack(word: u64) -> Self {
        Self {
            index: (word & LOW_MASK) as u32,
            tag: (word >> TAG_SHIFT) as u32,
        }
    }

    /// Whether the index is [`NIL`].
    #[inline(always)]
    pub(crate) const fn is_nil(self) -> bool {
        self.index == NIL
    }
}

/// Bit 31 of an [`Entry`] or a [`Link`]: set when the slot holds no value.
///
/// Storing "empty" rather than "filled" keeps the hot push of a released,
/// filled object a plain store of a bare index.
const EMPTY: u32 = 1 << INDEX_BITS;

/// Packs an index (or [`NIL`]) and a slot's fill state into one `u32`.
#[inline(always)]
const fn pack(index: u32, filled: bool) -> u32 {
    debug_assert!(index <= NIL);
    if filled {
        index
    } else {
        index | EMPTY
    }
}

/// A free index as the array stacks hold it (`LocalStack`, the per-thread
/// caches, batches moved between them and the shared stack): the slot's own
/// index, and whether the slot holds a value. A filled entry is the bare
/// index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry(pub(crate) u32);

impl Entry {
    /// The entry of free slot `index`, `filled` or not.
    #[inline(always)]
    pub(crate) const fn new(index: u32, filled: bool) -> Self {
        Self(pack(index, filled))
    }

    /// The free slot's index.
    #[inline(always)]
    pub(crate) const fn index(self) -> u32 {
        self.0 & INDEX_MASK
    }

    /// Whether the slot holds an initialised value.
    #[inline(always)]
    pub(crate) const fn filled(self) -> bool {
        self.0 & EMPTY == 0
    }
}

/// The word of a free slot in the linked `TreiberStack`: the index of the
/// *next* free slot (or [`NIL`]), and whether the slot owning the word holds
/// a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Link(pub(crate) u32);

impl Link {
    /// A link to `next` from a slot that holds a value (`filled`) or not.
    #[inline(always)]
    pub(crate) const fn new(next: u32, filled: bool) -> Self {
        Self(pack(next, filled))
    }

    /// The next free index, or [`NIL`].
    #[inline(always)]
    pub(crate) const fn next(self) -> u32 {
        self.0 & INDEX_MASK
    }

    /// Whether the slot owning this link holds an initialised value.
    #[inline(always)]
    pub(crate) const fn filled(self) -> bool {
        self.0 & EMPTY == 0
    }

    /// The entry of the slot owning this link, whose index is `own`.
    #[inline(always)]
    pub(crate) const fn entry(self, own: u32) -> Entry {
        Entry::new(own, self.filled())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_round_trips() {
        for (index, tag) in [
            (0, 0),
            (NIL, 0),
            (5, u32::MAX),
            (MAX_CAPACITY as u32 - 1, 7),
        ] {
            let t = TaggedIndex { index, tag };
            assert_eq!(TaggedIndex::unpack(t.pack()), t);
        }
        assert!(TaggedIndex { index: NIL, tag: 9 }.is_nil());
        assert_eq!(TaggedIndex::unpack(u64::MAX).tag, u32::MAX);
    }

    #[test]
    fn entries_and_links_keep_index_and_fill_state_apart() {
        for index in [0, 1, 1234, MAX_CAPACITY as u32 - 1, NIL] {
            for filled in [true, false] {
                let l = Link::new(index, filled);
                assert_eq!(l.next(), index);
                assert_eq!(l.filled(), filled);
                let e = Entry::new(index, filled);
                assert_eq!(e.index(), index);
                assert_eq!(e.filled(), filled);
                assert_eq!(l.entry(7), Entry::new(7, filled));
            }
        }
        assert_eq!(Link::new(3, true).0, 3, "a filled link is the bare index");
        assert_eq!(Entry::new(3, true).0, 3, "a filled entry is the bare index");
    }
}
