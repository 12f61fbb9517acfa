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
//! Free-list links (one `u32` per slot) use the top bit of the word to record
//! whether the free slot holds a value: see [`Link`].

/// Number of bits of a slot index.
pub(crate) const INDEX_BITS: u32 = 31;
/// Mask selecting the index bits of a link or of a tagged word's low half.
pub(crate) const INDEX_MASK: u32 = (1 << INDEX_BITS) - 1;
/// The "no slot" index: the end of a free list, or an empty head.
pub(crate) const NIL: u32 = INDEX_MASK;
/// The largest number of slots one pool can index: indices `0..MAX_CAPACITY`,
/// with `NIL` itself reserved.
pub(crate) const MAX_CAPACITY: usize = NIL as usize;
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

/// A free-list entry: an index (or [`NIL`]) plus, in bit 31, whether the slot
/// the entry belongs to is *empty* (holds no value). In the linked
/// `TreiberStack` the index is the next free slot; in the array `LocalStack`
/// it is the free slot itself.
///
/// Storing "empty" rather than "initialised" keeps the hot push of a released,
/// initialised object a plain store of the old head index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Link(pub(crate) u32);

impl Link {
    /// Bit set when the slot holds no value.
    const EMPTY: u32 = 1 << INDEX_BITS;

    /// A link to `next` from a slot that holds a value (`filled`) or not.
    #[inline(always)]
    pub(crate) const fn new(next: u32, filled: bool) -> Self {
        debug_assert!(next <= NIL);
        Self(if filled { next } else { next | Self::EMPTY })
    }

    /// The index (the next free one in a linked list), or [`NIL`].
    #[inline(always)]
    pub(crate) const fn next(self) -> u32 {
        self.0 & INDEX_MASK
    }

    /// Whether the slot owning this link holds an initialised value.
    #[inline(always)]
    pub(crate) const fn filled(self) -> bool {
        self.0 & Self::EMPTY == 0
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
    fn link_keeps_index_and_fill_state_apart() {
        for next in [0, 1, 1234, MAX_CAPACITY as u32 - 1, NIL] {
            for filled in [true, false] {
                let l = Link::new(next, filled);
                assert_eq!(l.next(), next);
                assert_eq!(l.filled(), filled);
            }
        }
        assert_eq!(Link::new(3, true).0, 3, "a filled link is the bare index");
    }
}
