//! The slab layer: slot storage, the core that pairs it with a free list, and
//! the lease that owns one slot. All raw-memory `unsafe` of the crate is here;
//! every block cites the SAFETY.md invariant it relies on.
//!
//! * [`Store`]: the slots, one `u32` word of free-list bookkeeping per slot,
//!   and (for growing pools) the table of segments added since. It never
//!   forms a reference to a whole segment's slots, only raw pointers to one.
//! * [`Core`]: a store, a free list of its indices (with its out-count), the
//!   user's hooks and optional statistics. It fills empty slots on first use,
//!   grows the store when the list runs dry, runs the reset hook on release
//!   and drops the idle objects when it is dropped.
//! * [`Lease`]: proof of exclusive ownership of one filled slot, generic over
//!   how it keeps the core alive (`&Core` for borrowed guards, `Arc<Core>` for
//!   owned ones). The typed pools wrap it in their public guards.

use crate::freelist::{Counter, FreeList, Word, Words};
use crate::stats::{Recorder, StatsSnapshot};
use crate::sync::{Arc, AtomicPtr, AtomicU64, AtomicUsize, Backoff, Ordering, UnsafeCell};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use core::marker::PhantomData;
use core::mem::{self, MaybeUninit};
use core::ops::{Deref, DerefMut};
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
enum Grown {
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
pub(crate) struct Store<T, W, S> {
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
    fresh: AtomicU64,
    _shape: PhantomData<S>,
}

impl<T, W: Word, S: Shape> Store<T, W, S> {
    /// A store with `starts` as its segment schedule (see
    /// [`Growth::schedule`](crate::Growth)); only segment 0 is allocated.
    fn new(starts: Vec<u32>) -> Self {
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
            fresh: AtomicU64::new(pack_fresh(first_len, first_len)),
            _shape: PhantomData,
        }
    }

    /// The published capacity: slots of the segments added so far.
    #[inline]
    fn capacity(&self) -> usize {
        if S::GROWS {
            unpack_fresh(self.fresh.load(Ordering::Acquire)).1 as usize
        } else {
            self.first_len as usize
        }
    }

    /// The capacity the store may grow to.
    fn max_capacity(&self) -> usize {
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
    unsafe fn slot(&self, index: u32) -> NonNull<T> {
        // SAFETY: I10, I11 — the caller's contract.
        let (segment, offset) = unsafe { self.locate(index) };
        debug_assert!(offset < segment.slots.len());
        // SAFETY: I10 — `locate` returns an offset inside the segment.
        let cell = unsafe { segment.slots.get_unchecked(offset) };
        let ptr = cell.with_mut(|p| p.cast::<T>());
        // SAFETY: I7 — a pointer into a live boxed slice is never null.
        unsafe { NonNull::new_unchecked(ptr) }
    }

    /// Claims a never-used index of an added segment, or `None` when every
    /// added slot has been handed out at least once.
    fn claim_fresh(&self) -> Option<u32> {
        let mut word = self.fresh.load(Ordering::Acquire);
        loop {
            let (next, limit) = unpack_fresh(word);
            if next >= limit {
                return None;
            }
            match self.fresh.compare_exchange_weak(
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
    fn grow(&self) -> Grown {
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

impl<T, W, S> Drop for Store<T, W, S> {
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

/// How a pool's core is laid out and what it records.
pub(crate) struct Settings {
    /// Segment starts ([`Growth::schedule`](crate::Growth)); `[0, capacity]`
    /// for a pool that does not grow.
    pub(crate) starts: Vec<u32>,
    /// Build every object of segment 0 now.
    pub(crate) pre_initialize: bool,
    /// Keep counters and timings.
    pub(crate) statistics: bool,
}

impl Settings {
    /// A pool of `capacity` that does not grow, with nothing else set.
    pub(crate) fn fixed(capacity: usize) -> Self {
        Self {
            starts: Vec::from([0, capacity as u32]),
            pre_initialize: false,
            statistics: false,
        }
    }
}

/// A store, the free list of its indices, the pool's hooks and statistics.
pub(crate) struct Core<T, L: FreeList, H, S: Shape = Fixed> {
    store: Store<T, L::Word, S>,
    free: L,
    hooks: H,
    /// Statistics, when the pool keeps them.
    stats: Option<Box<Recorder<L::Counter>>>,
    /// `has_reset() || stats.is_some()`: a release does more than a push.
    slow_release: bool,
    /// Calls of `trim` in flight on a shared pool: while one holds free
    /// indices off the list, `get` waits for them instead of reporting
    /// exhaustion (I6).
    trimming: AtomicUsize,
}

impl<T, L: FreeList, H: Hooks<T>, S: Shape> Core<T, L, H, S> {
    /// A core laid out by `settings`. With `pre_initialize`, every slot of
    /// segment 0 is filled now (a panic in `init` drops the objects built so
    /// far and propagates); otherwise slots are filled on first use.
    pub(crate) fn new(settings: Settings, hooks: H) -> Self {
        let store = Store::new(settings.starts);
        let capacity = store.first_len as usize;
        let free = L::new(capacity, &store.first.words);
        let mut core = Self {
            slow_release: hooks.has_reset() || settings.statistics,
            store,
            free,
            hooks,
            stats: settings.statistics.then(|| Box::new(Recorder::new())),
            trimming: AtomicUsize::new(0),
        };
        if settings.pre_initialize {
            for index in 0..capacity as u32 {
                let value = core.hooks.init();
                // SAFETY: I10 — `index` is below the first segment's length.
                let slot = unsafe { core.store.slot(index) };
                // SAFETY: I1, I2 — `core` is local, so we own every index;
                // slot `index` is still empty (its entry says so), and marking
                // it filled right after keeps I2 if a later `init` panics.
                unsafe { slot.as_ptr().write(value) };
                core.free.mark_filled(&core.store.first.words, index);
            }
        }
        core
    }

    /// Number of slots now (grows with the store).
    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.store.capacity()
    }

    /// The most slots the store may grow to.
    pub(crate) fn max_capacity(&self) -> usize {
        self.store.max_capacity()
    }

    /// Number of slots held by leases (exact when no get or release is in
    /// flight; never above `capacity`, see SAFETY.md I6).
    #[inline]
    pub(crate) fn in_use(&self) -> usize {
        self.free.out().min(self.capacity())
    }

    /// Number of objects `get` can hand out now without growing (I6: never
    /// underflows).
    #[inline]
    pub(crate) fn available(&self) -> usize {
        self.capacity().saturating_sub(self.in_use())
    }

    /// Statistics: the failed `acquire` just made is not reported (an async
    /// waiter's retry).
    #[cfg(feature = "std")]
    #[cold]
    pub(crate) fn uncount_failure(&self) {
        if let Some(recorder) = &self.stats {
            recorder.uncount_failure();
        }
    }

    /// Statistics: a `get` found no object and waits (one `exhausted`).
    #[cfg(feature = "std")]
    #[cold]
    pub(crate) fn count_wait(&self) {
        if let Some(recorder) = &self.stats {
            recorder.waits();
        }
    }

    /// The pool's figures now: structural ones always, counters and timings
    /// when statistics are on.
    pub(crate) fn stats(&self) -> StatsSnapshot {
        let mut snapshot = StatsSnapshot::structural(self.in_use(), self.capacity());
        if let Some(totals) = self.totals() {
            totals.fill(&mut snapshot);
        }
        snapshot
    }

    /// The counts and timing sums, when statistics are on.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) fn totals(&self) -> Option<crate::stats::Totals> {
        self.stats
            .as_ref()
            .map(|recorder| recorder.totals(self.in_use(), self.hooks.has_reset()))
    }

    /// The free list (tests look into it).
    #[cfg(all(test, feature = "std", not(loom)))]
    pub(crate) fn free_list(&self) -> &L {
        &self.free
    }

    /// The pool's hooks.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) fn hooks(&self) -> &H {
        &self.hooks
    }

    /// Pops a slot (growing the store if the list is empty and the store may
    /// grow), filling it first if it is empty.
    #[inline(always)]
    fn acquire(&self) -> Option<(u32, NonNull<T>)> {
        match &self.stats {
            None => self.acquire_plain(),
            Some(recorder) => self.acquire_recorded(recorder),
        }
    }

    /// [`acquire`](Self::acquire) with statistics: counts, a sampled timing
    /// and the peak.
    #[inline(never)]
    fn acquire_recorded(&self, recorder: &Recorder<L::Counter>) -> Option<(u32, NonNull<T>)> {
        let stamp = recorder.begin_get();
        let got = self.acquire_plain();
        match got {
            Some(_) => recorder.got(stamp, self.in_use()),
            None => recorder.exhausted(),
        }
        got
    }

    #[inline(always)]
    fn acquire_plain(&self) -> Option<(u32, NonNull<T>)> {
        let (index, filled) = match self.free.pop(&self.store) {
            Some(entry) => entry,
            None => self.acquire_slow()?,
        };
        // SAFETY: I10 — popped and claimed indices are below capacity.
        let ptr = unsafe { self.store.slot(index) };
        if !filled {
            self.fill(index, ptr);
        }
        Some((index, ptr))
    }

    /// The list was empty: claim a fresh index, grow, or (on a shared pool
    /// with a `trim` in flight) wait for the indices it holds.
    #[cold]
    #[inline(never)]
    fn acquire_slow(&self) -> Option<(u32, bool)> {
        let backoff = Backoff::new();
        loop {
            if S::GROWS {
                if let Some(index) = self.store.claim_fresh() {
                    self.free.adopt();
                    return Some((index, false));
                }
                match self.store.grow() {
                    Grown::Added => {
                        if let Some(recorder) = &self.stats {
                            recorder.growth_events.add(1);
                        }
                        continue;
                    }
                    Grown::Retry => continue,
                    Grown::AtMax | Grown::OutOfMemory => {}
                }
            }
            // A last look: an index released since the first pop counts.
            if let Some(entry) = self.free.pop(&self.store) {
                return Some(entry);
            }
            if !L::SHARED || self.trimming.load(Ordering::Acquire) == 0 {
                return None;
            }
            backoff.spin();
        }
    }

    /// Builds the object of a popped, empty slot. If `init` panics, the slot
    /// goes back on the free list, still empty (DESIGN panic rules).
    #[cold]
    #[inline(never)]
    fn fill(&self, index: u32, ptr: NonNull<T>) {
        struct PushBackEmpty<'a, T, L: FreeList, S: Shape> {
            store: &'a Store<T, L::Word, S>,
            free: &'a L,
            recorder: Option<&'a Recorder<L::Counter>>,
            index: u32,
        }
        impl<T, L: FreeList, S: Shape> Drop for PushBackEmpty<'_, T, L, S> {
            fn drop(&mut self) {
                if let Some(recorder) = self.recorder {
                    recorder.init_panicked();
                }
                // SAFETY: I1, I10 — the index was popped (or claimed and
                // adopted) by `acquire` and is pushed back only here, once,
                // still empty (I2).
                unsafe { self.free.push(self.store, self.index, false) };
            }
        }
        let on_unwind = PushBackEmpty::<T, L, S> {
            store: &self.store,
            free: &self.free,
            recorder: self.stats.as_deref(),
            index,
        };
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
        if self.slow_release {
            // SAFETY: the caller's contract, passed on.
            unsafe { self.release_slow(index, ptr) };
            return;
        }
        // Under loom, record the release as an access to the slot, so the
        // model checker verifies it happens-before the next holder's access.
        #[cfg(loom)]
        // SAFETY: I10 — the index came from `acquire` (caller's contract).
        let _ = unsafe { self.store.slot(index) };
        // SAFETY: I1, I10 — the caller's index came from `acquire` and is
        // released once; the slot is filled (I2).
        unsafe { self.free.push(&self.store, index, true) };
    }

    /// [`release`](Self::release) with a reset hook or statistics.
    ///
    /// # Safety
    ///
    /// As for `release`.
    #[inline(never)]
    unsafe fn release_slow(&self, index: u32, ptr: NonNull<T>) {
        let stamp = self
            .stats
            .as_ref()
            .map(|recorder| (recorder, recorder.begin_release()));
        if self.hooks.has_reset() {
            struct DropAndPushBackEmpty<'a, T, L: FreeList, S: Shape> {
                store: &'a Store<T, L::Word, S>,
                free: &'a L,
                recorder: Option<&'a Recorder<L::Counter>>,
                index: u32,
                ptr: NonNull<T>,
            }
            impl<T, L: FreeList, S: Shape> Drop for DropAndPushBackEmpty<'_, T, L, S> {
                fn drop(&mut self) {
                    if let Some(recorder) = self.recorder {
                        recorder.reset_panicked();
                    }
                    // SAFETY: I1, I2 — the caller's lease owned this filled slot
                    // and gave it up to `release`; nothing else can reach it
                    // until the push below. A panic from `T::drop` here aborts
                    // (panic while unwinding), so no path pushes a slot whose
                    // value was dropped twice or not at all.
                    unsafe { self.ptr.as_ptr().drop_in_place() };
                    // SAFETY: I1, I10 — the released index came from `acquire`
                    // and goes back once, now empty (I2).
                    unsafe { self.free.push(self.store, self.index, false) };
                }
            }
            let on_unwind = DropAndPushBackEmpty::<T, L, S> {
                store: &self.store,
                free: &self.free,
                recorder: self.stats.as_deref(),
                index,
                ptr,
            };
            // SAFETY: I1, I3 — the lease being released owned the slot
            // exclusively and its references are gone (caller's contract).
            self.hooks.reset(unsafe { &mut *ptr.as_ptr() });
            mem::forget(on_unwind);
        }
        #[cfg(loom)]
        // SAFETY: I10 — the index came from `acquire` (caller's contract).
        let _ = unsafe { self.store.slot(index) };
        // SAFETY: I1, I10 — the caller's index came from `acquire` and is
        // released once; the slot is filled and reset (I2).
        unsafe { self.free.push(&self.store, index, true) };
        if let Some((recorder, stamp)) = stamp {
            recorder.released(stamp);
        }
    }

    /// Drops every idle object the pool holds, keeping the slots: each is
    /// rebuilt by `init` on a later `get`. Returns how many were dropped.
    ///
    /// On a shared pool, a `get` that finds the list empty while this runs
    /// waits for it rather than report exhaustion. If a `T::drop` panics, the
    /// indices taken so far go back (empty) and the panic propagates.
    pub(crate) fn trim(&self) -> usize {
        struct PutBack<'a, T, L: FreeList, H, S: Shape> {
            core: &'a Core<T, L, H, S>,
            empty: Vec<u32>,
        }
        impl<T, L: FreeList, H, S: Shape> Drop for PutBack<'_, T, L, H, S> {
            fn drop(&mut self) {
                // Bottom first, so the list keeps its order.
                for &index in self.empty.iter().rev() {
                    // SAFETY: I1, I10 — each index was popped by `trim` and
                    // is pushed back once, empty (I2).
                    unsafe { self.core.free.push(&self.core.store, index, false) };
                }
                self.core.trimming.fetch_sub(1, Ordering::Release);
            }
        }
        self.trimming.fetch_add(1, Ordering::AcqRel);
        let mut taken = PutBack {
            core: self,
            empty: Vec::new(),
        };
        let mut dropped = 0;
        while let Some((index, filled)) = self.free.pop(&self.store) {
            taken.empty.push(index);
            if filled {
                // SAFETY: I10 — popped indices are below capacity.
                let ptr = unsafe { self.store.slot(index) };
                // SAFETY: I1, I2 — popping made us the owner of `index` and
                // its entry said the slot is filled; it goes back marked
                // empty (already recorded in `taken`), so the value is
                // dropped exactly once even if this drop panics.
                unsafe { ptr.as_ptr().drop_in_place() };
                dropped += 1;
            }
        }
        dropped
    }
}

impl<T, L: FreeList, H, S: Shape> Drop for Core<T, L, H, S> {
    fn drop(&mut self) {
        // No lease can be alive here (I7): borrowed leases borrow the core and
        // owned ones hold an `Arc` to it. Forgotten leases keep their index off
        // the list, so their values are leaked, never dropped.
        struct DrainOnUnwind<'a, T, L: FreeList, H, S: Shape>(&'a Core<T, L, H, S>);
        impl<T, L: FreeList, H, S: Shape> Drop for DrainOnUnwind<'_, T, L, H, S> {
            fn drop(&mut self) {
                self.0.drain_values();
            }
        }
        let rest = DrainOnUnwind(self);
        rest.0.drain_values();
    }
}

impl<T, L: FreeList, H, S: Shape> Core<T, L, H, S> {
    /// Pops every free slot and drops the values of the filled ones. Used by
    /// `Drop`: if a `T::drop` panics, the unwind guard calls this again and it
    /// carries on from the next slot (the panicking slot was already popped,
    /// so it is not dropped twice).
    fn drain_values(&self) {
        while let Some((index, filled)) = self.free.drain_pop(&self.store) {
            if filled {
                // SAFETY: I10 — popped indices are below capacity.
                let ptr = unsafe { self.store.slot(index) };
                // SAFETY: I1, I2, I7 — popping made us the owner of `index`,
                // its entry said the slot is filled, and it is not pushed back,
                // so this value is dropped exactly once.
                unsafe { ptr.as_ptr().drop_in_place() };
            }
        }
    }
}

// SAFETY: I8 — sharing `&Core` lets several threads pop and push indices (the
// free list and its words must be `Sync`), call the hooks (`H: Sync`), read
// the statistics (`L::Counter: Sync`), and move `T` values between threads
// through leases (`T: Send`). No `&T` is ever shared by the core itself, so
// `T: Sync` is not needed. Added segments are reached through atomics.
unsafe impl<T: Send, L, H: Sync, S: Shape> Sync for Core<T, L, H, S>
where
    L: FreeList + Sync,
    L::Word: Sync,
    L::Counter: Sync,
{
}

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
    /// Whether the core's store grows.
    type Shape: Shape;
    /// The core this owner keeps alive.
    fn core(&self) -> &Core<Self::Item, Self::List, Self::Hooks, Self::Shape>;
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
        match owner.core().acquire() {
            Some((index, ptr)) => Ok(Self { ptr, index, owner }),
            None => Err(owner),
        }
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
