//! [`Core`]: a store, the free list of its indices, the user's hooks and
//! optional statistics; the pool's settings and their one check.

use super::store::{Fixed, Grown, Shape, Store};
use crate::error::ConfigError;
use crate::freelist::{DoubleWord, FreeList, Word};
use crate::growth::Growth;
use crate::stats::{Counter, Recorder, StatsSnapshot, Totals};
use crate::sync::{Backoff, Ordering};
use crate::tag::MAX_CAPACITY;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::mem;
use core::ptr::NonNull;

// === Hooks ===

/// The user's construction, reset and recycle closures, as the core calls
/// them.
///
/// Nominally public, so the single-thread pools can be generic over their
/// hooks; the module is private, so no type outside the crate implements it.
#[allow(unreachable_pub)]
pub trait Hooks<T> {
    /// Builds a new object (the pool's `init`). May panic.
    fn init(&self) -> T;
    /// Whether the pool has a reset hook.
    fn has_reset(&self) -> bool;
    /// Runs the reset hook on a released object. May panic.
    fn reset(&self, value: &mut T);
    /// Whether the pool has a `recycle_if` predicate.
    fn has_recycle(&self) -> bool;
    /// Whether a released (and reset) object goes back into the pool;
    /// `false` drops it. May panic.
    fn recycle(&self, value: &T) -> bool;
}

// === impl Core ===

/// Added to `Core::trims` when a trim starts (the high half wraps off the
/// top of the word).
const TRIM_STARTED: u64 = 1 << 32;
/// `Core::trims` after one more trim ended: the low half counts up,
/// wrapping without a carry into the high half.
#[inline]
fn trim_finished(trims: u64) -> u64 {
    (trims & !u64::from(u32::MAX)) | u64::from((trims as u32).wrapping_add(1))
}

/// Whether a trim was running when `trims` was read: more started than
/// finished (each half wraps at the same count).
#[inline]
fn trim_running(trims: u64) -> bool {
    (trims >> 32) as u32 != trims as u32
}

// === Settings ===

/// Whether, and how, a pool kind grows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Grows {
    /// Never: growth settings are refused (`FixedPool`, `ThreadLocalPool`).
    Never,
    /// Only when `max_capacity` is set above `capacity`; `growth` alone is
    /// refused (`ThreadSafePool`, `AsyncPool`).
    WithMax,
    /// Up to `max_capacity`, by default [`MAX_CAPACITY`] (`GrowingPool`).
    Always,
}

/// A pool's settings as given (by the builder, or a `new` constructor), not
/// yet checked. Every pool is built through [`Settings::check`].
#[derive(Clone, Debug, Default)]
pub(crate) struct Settings {
    /// Objects at first (per thread for `ThreadLocalPool`); required.
    pub(crate) capacity: Option<usize>,
    /// The most objects a growing pool may hold.
    pub(crate) max_capacity: Option<usize>,
    /// How a growing pool grows (default: doubling).
    pub(crate) growth: Option<Growth>,
    /// Build every object of the first segment when the pool is built.
    pub(crate) pre_initialize: bool,
    /// Keep counters and timings.
    pub(crate) statistics: bool,
}

/// Checked settings: what a core is built from.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    /// Slots of segment 0, the capacity the pool starts with.
    pub(crate) capacity: usize,
    /// Segment starts ([`Growth::schedule`]): `[0, capacity]` for a pool
    /// that does not grow, then one start per growth step, ending at the
    /// maximum capacity.
    pub(crate) starts: Vec<u32>,
    /// Build every object of segment 0 now.
    pub(crate) pre_initialize: bool,
    /// Keep counters and timings.
    pub(crate) statistics: bool,
}

impl Settings {
    /// The settings of a `new` constructor: `capacity` and nothing else.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity: Some(capacity),
            ..Self::default()
        }
    }

    /// Checks the settings for a `pool` kind that `grows` as given: the one
    /// path from what the user asked for to a [`Layout`].
    pub(crate) fn check(&self, pool: &'static str, grows: Grows) -> Result<Layout, ConfigError> {
        let capacity = match self.capacity.ok_or(ConfigError::MissingCapacity)? {
            0 => return Err(ConfigError::ZeroCapacity),
            c if c > MAX_CAPACITY => {
                return Err(ConfigError::CapacityTooLarge {
                    requested: c,
                    max: MAX_CAPACITY,
                })
            }
            c => c,
        };
        let starts = if grows == Grows::Never {
            if self.max_capacity.is_some() {
                return Err(ConfigError::GrowthNotSupported {
                    pool,
                    setting: "max_capacity",
                });
            }
            if self.growth.is_some() {
                return Err(ConfigError::GrowthNotSupported {
                    pool,
                    setting: "growth",
                });
            }
            Vec::from([0, capacity as u32])
        } else {
            let growth = self.growth.unwrap_or_default().check()?;
            let default_max = if grows == Grows::Always {
                MAX_CAPACITY
            } else {
                capacity
            };
            let max = self.max_capacity.unwrap_or(default_max);
            if max > MAX_CAPACITY {
                return Err(ConfigError::MaxCapacityTooLarge {
                    requested: max,
                    max: MAX_CAPACITY,
                });
            }
            if max < capacity {
                return Err(ConfigError::MaxBelowCapacity {
                    capacity,
                    max_capacity: max,
                });
            }
            if grows == Grows::WithMax && self.growth.is_some() && max == capacity {
                return Err(ConfigError::GrowthWithoutMax { pool });
            }
            growth.schedule(capacity, max)?
        };
        Ok(Layout {
            capacity,
            starts,
            pre_initialize: self.pre_initialize,
            statistics: self.statistics,
        })
    }

    /// [`check`](Self::check) for a `new` constructor: panics with the
    /// error's message, naming the `constructor`.
    #[track_caller]
    pub(crate) fn expect(&self, pool: &'static str, grows: Grows, constructor: &str) -> Layout {
        match self.check(pool, grows) {
            Ok(layout) => layout,
            Err(e) => panic!("{constructor}: {e}"),
        }
    }
}

// === impl Core ===

/// A store, the free list of its indices, the pool's hooks and statistics.
pub(crate) struct Core<T, L: FreeList, H, S: Shape = Fixed> {
    store: Store<T, L::Word, S>,
    free: L,
    hooks: H,
    /// Statistics, when the pool keeps them.
    stats: Option<Box<Recorder<L::Counter>>>,
    /// `has_reset() || has_recycle() || stats.is_some()`: a release does
    /// more than a push.
    slow_release: bool,
    /// `has_reset() || has_recycle()`: a release runs user code.
    hooked_release: bool,
    /// Slots holding an object (free or leased): built by `init` or
    /// `insert`, less those dropped or taken out since. `live - in_use` is
    /// the idle count.
    live: L::Counter,
    /// Calls of `trim` started (high half) and finished (low half), each
    /// wrapping: while one holds free indices off the list, a shared pool's
    /// `get` waits for them instead of reporting exhaustion (I6). An
    /// `insert`'s search counts here too.
    trims: <L::Word as Word>::Double,
    /// The same count for trims alone (they empty slots): an `insert` that
    /// found no empty slot while one ran looks again (I6).
    emptying: <L::Word as Word>::Double,
}

impl<T, L: FreeList, H: Hooks<T>, S: Shape> Core<T, L, H, S> {
    /// A core laid out by `layout`. With `pre_initialize`, every slot of
    /// segment 0 is filled now (a panic in `init` drops the objects built so
    /// far and propagates); otherwise slots are filled on first use.
    pub(crate) fn new(layout: Layout, hooks: H) -> Self {
        let capacity = layout.capacity;
        let store = Store::new(layout.starts);
        debug_assert_eq!(store.first_words().len(), capacity);
        let free = L::new(capacity, store.first_words());
        let mut core = Self {
            slow_release: hooks.has_reset() || hooks.has_recycle() || layout.statistics,
            hooked_release: hooks.has_reset() || hooks.has_recycle(),
            live: L::Counter::default(),
            store,
            free,
            hooks,
            stats: layout.statistics.then(|| Box::new(Recorder::new())),
            trims: DoubleWord::new(0),
            emptying: DoubleWord::new(0),
        };
        if layout.pre_initialize {
            for index in 0..capacity as u32 {
                let value = core.hooks.init();
                // SAFETY: I10 — `index` is below the first segment's length.
                let slot = unsafe { core.store.slot(index) };
                // SAFETY: I1, I2 — `core` is local, so we own every index;
                // slot `index` is still empty (its entry says so), and marking
                // it filled right after keeps I2 if a later `init` panics.
                unsafe { slot.as_ptr().write(value) };
                core.free.mark_filled(core.store.first_words(), index);
                core.live.add(1);
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

    /// Number of objects built and free: handed out by `get` without running
    /// `init` (exact when no get or release is in flight).
    #[inline]
    pub(crate) fn idle(&self) -> usize {
        let live = usize::try_from(self.live.get()).unwrap_or(usize::MAX);
        live.saturating_sub(self.in_use()).min(self.available())
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
        let mut snapshot = StatsSnapshot::structural(
            self.in_use(),
            self.capacity(),
            self.max_capacity(),
            self.idle(),
        );
        if let Some(totals) = self.totals() {
            totals.fill(&mut snapshot);
        }
        snapshot
    }

    /// The counts and timing sums, when statistics are on.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) fn totals(&self) -> Option<Totals> {
        self.stats
            .as_ref()
            .map(|recorder| recorder.totals(|| self.in_use(), self.hooks.has_reset()))
    }

    /// The free list (tests look into it).
    #[cfg(all(test, feature = "std", not(fastalloc_loom)))]
    pub(crate) fn free_list(&self) -> &L {
        &self.free
    }

    /// The pool's hooks.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) fn hooks(&self) -> &H {
        &self.hooks
    }

    /// Pops a slot (growing the store if the list is empty and the store may
    /// grow), filling it first if it is empty. With statistics, a failure
    /// counts as an exhausted `get` when `report` is set (an async waiter's
    /// attempts are not reported: it counts one wait instead).
    #[inline(always)]
    pub(super) fn acquire(&self, report: bool) -> Option<(u32, NonNull<T>)> {
        match &self.stats {
            None => self.acquire_plain(),
            Some(recorder) => self.acquire_recorded(recorder, report),
        }
    }

    /// [`acquire`](Self::acquire) with statistics: counts, a sampled timing
    /// and the peak.
    #[inline(never)]
    fn acquire_recorded(
        &self,
        recorder: &Recorder<L::Counter>,
        report: bool,
    ) -> Option<(u32, NonNull<T>)> {
        let stamp = recorder.begin_get();
        let got = self.acquire_plain();
        match got {
            Some(_) => recorder.got(stamp, self.in_use()),
            None if report => recorder.exhausted(),
            None => {}
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

    /// The list was empty: look again, then claim a fresh index or grow;
    /// on a shared pool, wait while a `trim` holds free indices off the list.
    ///
    /// Exhaustion is reported (or the store grown) only after a look that
    /// found the list empty while no trim ran from before the look to after
    /// it (the trim counter read unchanged and idle around it, I6): then every
    /// index was out at the instant of that look.
    #[cold]
    #[inline(never)]
    fn acquire_slow(&self) -> Option<(u32, bool)> {
        let backoff = Backoff::new();
        let mut at_max = false;
        loop {
            let trims = self.trims.load(Ordering::SeqCst);
            if let Some(entry) = self.free.pop(&self.store) {
                return Some(entry);
            }
            if L::SHARED {
                if trim_running(trims) {
                    // Wait for the indices it holds (no user code runs
                    // while it holds them: a short wait).
                    backoff.snooze();
                    continue;
                }
                // SeqCst: a look that saw indices a trim had taken (the
                // trim's pops release its start) sees the trim started here.
                if self.trims.load(Ordering::SeqCst) != trims {
                    continue;
                }
            }
            if !S::GROWS || at_max {
                return None;
            }
            if let Some(index) = self.store.claim_fresh() {
                self.free.adopt();
                return Some((index, false));
            }
            match self.store.grow() {
                Grown::Added => {
                    if let Some(recorder) = &self.stats {
                        recorder.growth_events.add(1);
                    }
                }
                Grown::Retry => {}
                // One more look: an index released since this one counts.
                Grown::AtMax | Grown::OutOfMemory => at_max = true,
            }
        }
    }

    /// Builds the object of a popped, empty slot. If `init` panics, the slot
    /// goes back on the free list, still empty (I9).
    #[cold]
    #[inline(never)]
    fn fill(&self, index: u32, ptr: NonNull<T>) {
        struct PushBackEmpty<'a, T, L: FreeList, S: Shape> {
            store: &'a Store<T, L::Word, S>,
            free: &'a L,
            index: u32,
        }
        impl<T, L: FreeList, S: Shape> Drop for PushBackEmpty<'_, T, L, S> {
            fn drop(&mut self) {
                // SAFETY: I1, I10 — the index was popped (or claimed and
                // adopted) by `acquire` and is pushed back only here, once,
                // still empty (I2).
                unsafe { self.free.push(self.store, self.index, false) };
            }
        }
        let on_unwind = PushBackEmpty::<T, L, S> {
            store: &self.store,
            free: &self.free,
            index,
        };
        let value = self.hooks.init();
        mem::forget(on_unwind);
        // SAFETY: I1, I2 — we popped `index`, so we own it, and its entry said
        // the slot is empty: writing does not overwrite a live value.
        unsafe { ptr.as_ptr().write(value) };
        self.live.add(1);
    }

    /// Gives a leased slot back: runs the reset hook, then pushes it as filled.
    /// If the hook panics, the object is dropped and the slot pushed back
    /// empty, so a half-reset object is never handed out (I9).
    ///
    /// # Safety
    ///
    /// - `index` was returned by [`Core::acquire`] on this core, `ptr` with it,
    ///   and this is the only release of that acquisition (I1).
    /// - No reference derived from `ptr` is used after this call (I3).
    #[inline(always)]
    pub(super) unsafe fn release(&self, index: u32, ptr: NonNull<T>) {
        if self.slow_release {
            // SAFETY: the caller's contract, passed on.
            unsafe { self.release_slow(index, ptr) };
            return;
        }
        // Under loom, record the release as an access to the slot, so the
        // model checker verifies it happens-before the next holder's access.
        #[cfg(fastalloc_loom)]
        // SAFETY: I10 — the index came from `acquire` (caller's contract).
        let _ = unsafe { self.store.slot(index) };
        // SAFETY: I1, I10 — the caller's index came from `acquire` and is
        // released once; the slot is filled (I2).
        unsafe { self.free.push(&self.store, index, true) };
    }

    /// [`release`](Self::release) with a reset hook, a `recycle_if`
    /// predicate or statistics.
    ///
    /// The reset hook runs, then the predicate; an object it rejects is
    /// moved out, its slot pushed back empty, and only then dropped (so a
    /// `T::drop` that uses the pool finds it whole). If either hook panics,
    /// the object is dropped and its slot pushed back empty (I9).
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
        let mut keep = true;
        if self.hooked_release {
            struct DropAndPushBackEmpty<'a, T, L: FreeList, S: Shape> {
                store: &'a Store<T, L::Word, S>,
                free: &'a L,
                live: &'a L::Counter,
                recorder: Option<&'a Recorder<L::Counter>>,
                index: u32,
                ptr: NonNull<T>,
                /// The reset hook returned: a panic now is `recycle_if`'s.
                reset_done: bool,
            }
            impl<T, L: FreeList, S: Shape> Drop for DropAndPushBackEmpty<'_, T, L, S> {
                fn drop(&mut self) {
                    if let Some(recorder) = self.recorder {
                        if self.reset_done {
                            // Reset, then dropped by a panicking predicate.
                            recorder.discarded();
                        } else {
                            recorder.reset_panicked();
                        }
                    }
                    self.live.sub(1);
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
            let mut on_unwind = DropAndPushBackEmpty::<T, L, S> {
                store: &self.store,
                free: &self.free,
                live: &self.live,
                recorder: self.stats.as_deref(),
                index,
                ptr,
                reset_done: false,
            };
            // SAFETY: I1, I3 — the lease being released owned the slot
            // exclusively and its references are gone (caller's contract).
            self.hooks.reset(unsafe { &mut *ptr.as_ptr() });
            on_unwind.reset_done = true;
            // SAFETY: I1, I3 — as above; the reset hook's borrow has ended.
            keep = self.hooks.recycle(unsafe { ptr.as_ref() });
            mem::forget(on_unwind);
        }
        #[cfg(fastalloc_loom)]
        // SAFETY: I10 — the index came from `acquire` (caller's contract).
        let _ = unsafe { self.store.slot(index) };
        if keep {
            // SAFETY: I1, I10 — the caller's index came from `acquire` and is
            // released once; the slot is filled and reset (I2).
            unsafe { self.free.push(&self.store, index, true) };
        } else {
            // SAFETY: I1, I2 — the lease owned this filled slot; its value
            // moves out, and the slot goes back empty right below.
            let rejected = unsafe { ptr.as_ptr().read() };
            self.live.sub(1);
            // SAFETY: I1, I10 — the released index came from `acquire` and
            // goes back once, now empty (I2).
            unsafe { self.free.push(&self.store, index, false) };
            if let Some(recorder) = &self.stats {
                recorder.discarded();
            }
            // The slot is back: the rejected object is dropped with nothing
            // held (I9).
            drop(rejected);
        }
        if let Some((recorder, stamp)) = stamp {
            recorder.released(stamp);
        }
    }

    /// Gives a leased slot back empty: its object was moved out by
    /// `into_inner` and has left the pool. Not a release: no hook runs and
    /// the statistics count it as taken.
    ///
    /// # Safety
    ///
    /// - `index` was returned by [`Core::acquire`] on this core, and this is
    ///   the only release of that acquisition (I1).
    /// - The slot's value has been moved out (I2: the slot is empty now).
    pub(super) unsafe fn give_back_empty(&self, index: u32) {
        self.live.sub(1);
        // SAFETY: I1, I10 — the caller's index came from `acquire` and goes
        // back once, empty (I2, the caller's contract).
        unsafe { self.free.push(&self.store, index, false) };
        if let Some(recorder) = &self.stats {
            recorder.taken();
        }
    }

    /// Puts `value` into a free slot that holds no object (never built, or
    /// emptied by `into_inner`, a `recycle_if` rejection or `trim`), or
    /// hands it back when every slot holds an object or is leased. A growing
    /// pool does not grow for it, but uses slots of its added segments that
    /// were never handed out.
    ///
    /// The free list is searched from the top, so it takes time in the
    /// number of built idle objects above the first empty slot; those are
    /// held off the list meanwhile (and put back in their order), which a
    /// shared pool's `get` waits out as it waits out a `trim` (I6). No user
    /// code runs meanwhile.
    pub(crate) fn insert(&self, value: T) -> Result<(), T> {
        struct PutBack<'a, T, L: FreeList, H, S: Shape> {
            core: &'a Core<T, L, H, S>,
            filled: Vec<u32>,
        }
        impl<T, L: FreeList, H, S: Shape> Drop for PutBack<'_, T, L, H, S> {
            fn drop(&mut self) {
                for &index in self.filled.iter().rev() {
                    // SAFETY: I1, I10 — each index was popped by `insert`,
                    // filled, and goes back once, as it was (I2).
                    unsafe { self.core.free.push(&self.core.store, index, true) };
                }
                self.core.end_trim();
            }
        }
        let backoff = Backoff::new();
        let (index, held) = loop {
            // Trims running now or since: they may hold empty slots off the
            // list (I6). Other inserts hold only filled ones, besides the
            // empty slot each takes for itself.
            let emptying = self.emptying.load(Ordering::SeqCst);
            self.trims.fetch_add(TRIM_STARTED, Ordering::SeqCst);
            let mut held = PutBack {
                core: self,
                filled: Vec::new(),
            };
            let empty = loop {
                match self.free.pop(&self.store) {
                    Some((index, true)) => held.filled.push(index),
                    Some((index, false)) => break Some(index),
                    None => break self.store.claim_fresh().inspect(|_| self.free.adopt()),
                }
            };
            if let Some(index) = empty {
                break (index, held);
            }
            let trimmed =
                trim_running(emptying) || self.emptying.load(Ordering::SeqCst) != emptying;
            drop(held);
            if !L::SHARED || !trimmed {
                return Err(value);
            }
            // A trim held slots off the list during the look: look again
            // once it has put them back.
            backoff.snooze();
        };
        // SAFETY: I10 — popped and claimed indices are below capacity.
        let ptr = unsafe { self.store.slot(index) };
        // SAFETY: I1, I2 — we popped (or claimed and adopted) `index`, so we
        // own it, and it is empty: the write overwrites no value.
        unsafe { ptr.as_ptr().write(value) };
        self.live.add(1);
        // Below the filled ones taken above it (pushed back by `held`).
        // SAFETY: I1, I10 — the index is ours and goes back once, filled.
        unsafe { self.free.push(&self.store, index, true) };
        drop(held);
        Ok(())
    }

    /// Statistics: counters to zero, peaks to the figures now.
    pub(crate) fn reset_stats(&self) {
        if let Some(recorder) = &self.stats {
            recorder.reset(self.in_use());
        }
    }

    /// Builds the object of every free, empty slot: pre-initialisation of a
    /// core that is already reachable (a `ThreadLocalPool`'s per-thread
    /// core), so `init` runs with no lock or once-cell held and may use the
    /// pool (its gets take the slots not taken here yet). If `init` panics,
    /// every index goes back, filled or empty as it is (I9).
    #[cfg(feature = "std")]
    pub(crate) fn fill_free(&self) {
        struct PutBack<'a, T, L: FreeList, H, S: Shape> {
            core: &'a Core<T, L, H, S>,
            taken: Vec<(u32, bool)>,
        }
        impl<T, L: FreeList, H, S: Shape> Drop for PutBack<'_, T, L, H, S> {
            fn drop(&mut self) {
                // Bottom first, so the list keeps its order.
                for &(index, filled) in self.taken.iter().rev() {
                    // SAFETY: I1, I2, I10 — each index was popped below and
                    // goes back once, with the state its slot has.
                    unsafe { self.core.free.push(&self.core.store, index, filled) };
                }
            }
        }
        let mut taken = PutBack {
            core: self,
            taken: Vec::new(),
        };
        while let Some((index, filled)) = self.free.pop(&self.store) {
            taken.taken.push((index, filled));
            if !filled {
                let value = self.hooks.init();
                // SAFETY: I10 — popped indices are below capacity.
                let ptr = unsafe { self.store.slot(index) };
                // SAFETY: I1, I2 — we popped `index`, so we own it, and its
                // entry said the slot is empty: the write overwrites no value;
                // the entry is marked filled right after.
                unsafe { ptr.as_ptr().write(value) };
                self.live.add(1);
                if let Some(last) = taken.taken.last_mut() {
                    last.1 = true;
                }
            }
        }
    }

    /// Drops every idle object the pool holds, keeping the slots: each is
    /// rebuilt by `init` on a later `get`. Returns how many were dropped.
    ///
    /// It takes every free index off the list, drops (or moves out) the
    /// values of the filled ones, and puts the indices back empty. On a
    /// shared pool, a `get` that finds the list empty meanwhile waits for the
    /// indices to come back rather than report exhaustion (I6), so no user
    /// code may run in that window: the values are moved out, the indices put
    /// back, and only then are the values dropped (a `T::drop` that uses the
    /// pool works). A single-thread pool drops them in place. If a `T::drop`
    /// panics, every index is back (empty) and the panic propagates.
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
                self.core.end_trim();
                Core::<T, L, H, S>::count_finished(&self.core.emptying);
            }
        }
        let mut moved: Vec<T> = Vec::new();
        {
            self.emptying.fetch_add(TRIM_STARTED, Ordering::SeqCst);
            self.trims.fetch_add(TRIM_STARTED, Ordering::SeqCst);
            let mut taken = PutBack {
                core: self,
                empty: Vec::new(),
            };
            while let Some((index, filled)) = self.free.pop(&self.store) {
                taken.empty.push(index);
                if filled {
                    // SAFETY: I10 — popped indices are below capacity.
                    let ptr = unsafe { self.store.slot(index) };
                    // SAFETY: I1, I2 — popping made us the owner of `index`
                    // and its entry said the slot is filled; the value moves
                    // out and the slot goes back marked empty (already
                    // recorded in `taken`).
                    moved.push(unsafe { ptr.as_ptr().read() });
                }
            }
        }
        // Every index is back: the values are dropped with nothing held (I9).
        let dropped = moved.len();
        self.live.sub(dropped as u64);
        drop(moved);
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
    /// Ends a trim (or an insert's search): the indices it held are back
    /// before a getter that sees it finished looks again (I6).
    fn end_trim(&self) {
        Self::count_finished(&self.trims);
    }

    /// One more finished in a started/finished count word.
    fn count_finished(word: &<L::Word as Word>::Double) {
        let mut w = word.load(Ordering::SeqCst);
        while let Err(found) =
            word.compare_exchange(w, trim_finished(w), Ordering::SeqCst, Ordering::SeqCst)
        {
            w = found;
        }
    }

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
    <L::Word as Word>::Double: Sync,
    L::Counter: Sync,
{
}
