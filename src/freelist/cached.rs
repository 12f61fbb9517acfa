//! [`CachedStack`]: per-thread caches in front of the shared Treiber stack,
//! the free list of [`ThreadSafePool`](crate::ThreadSafePool) and
//! [`AsyncPool`](crate::AsyncPool).
//!
//! Each thread that uses a pool gets a small stack of free indices of its
//! own ([`Cache`], up to [`CACHE_SLOTS`] entries), found by the thread's
//! serial. A get pops from it and a release pushes onto it, touching only
//! the thread's own cache line: one uncontended lock (an acquire CAS and a
//! release store) and no shared line. Indices move to and from the shared
//! stack in batches: an empty cache takes half its size with one CAS, a full
//! one gives half back with one CAS.
//!
//! The lock is what lets other threads reach a cache, so that exhaustion
//! stays exact (an object parked in any cache counts as available: `get`
//! never reports exhaustion while one sits in another thread's cache).
//! A getter that finds its cache and the shared stack empty *steals* one
//! index from another thread's cache, under that cache's lock. Before it
//! reports exhaustion it checks that nothing was pushed anywhere while it
//! looked (a double collect over per-cache push versions and the shared
//! head), so "exhausted" means every index was out at one instant.
//!
//! When a thread exits, its exit hook marks its cache *orphaned*: the next
//! refill on any thread takes the orphaned entries before it looks at the
//! shared stack, and the next thread given the same serial takes the cache
//! over (until then, others reach it by stealing). The hook touches only the
//! cache, which is reference-counted and holds no `T`, never the pool: it
//! may run after the pool is gone. Threads without a
//! serial (past the first [`CACHES`], or in their thread-local teardown), and
//! every thread in `no_std` builds, use the shared stack directly.
//!
//! Invariants: SAFETY.md I13.

use super::{FreeList, TreiberStack, Words};
use crate::stats::SharedU64;
use crate::sync::{
    AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Backoff, Ordering, StdArc, UnsafeCell,
};
use crate::tag::Entry;
use alloc::boxed::Box;
use core::{mem, ptr};
use crossbeam_utils::CachePadded;

/// The most entries a cache holds.
pub(crate) const CACHE_SLOTS: usize = 32;

/// Threads with serials `0..CACHES` get a cache in each shared pool they
/// use; others use the shared stack directly.
#[cfg(not(fastalloc_loom))]
pub(crate) const CACHES: usize = 64;
/// Loom models use serials 0 and 1; fewer caches keep the models small.
#[cfg(fastalloc_loom)]
pub(crate) const CACHES: usize = 2;

/// How many entries each cache of a pool of `capacity` may hold: a quarter
/// of the capacity, between 1 and [`CACHE_SLOTS`]; 0 (no caches) for a pool
/// of one object.
pub(crate) fn cache_limit(capacity: usize) -> u32 {
    if capacity < 2 {
        0
    } else {
        (capacity / 4).clamp(1, CACHE_SLOTS) as u32
    }
}

// === Cache ===

/// One thread's stack of free indices, each an [`Entry`] (its own index and
/// fill state).
pub(crate) struct Cache {
    /// 0 free, 1 held. Every access to `state` holds it (I13).
    lock: AtomicU32,
    /// Indices handed out through this cache minus those released into it
    /// (wrapping: a thread may release more than it got). Written only by
    /// the cache's owner thread (a plain load and store, just after its pop
    /// or push), read by anyone (I6).
    out: AtomicU64,
    /// Whether the owner thread's exit hook knows this cache. Touched only
    /// by the thread whose serial indexes the cache (its owner), and by that
    /// thread's exit hook.
    #[cfg(all(feature = "std", not(fastalloc_loom)))]
    registered: crate::sync::AtomicBool,
    state: UnsafeCell<State>,
}

struct State {
    /// Entries `0..len` are free indices, the top at `len - 1`.
    len: u32,
    /// Bumped by every push into the cache (the double collect reads it).
    version: u64,
    /// Its owner exited and left entries here; counted in the list's
    /// `orphans` until another thread takes them or the cache over.
    orphaned: bool,
    entries: [u32; CACHE_SLOTS],
}

// SAFETY: I13 — the non-atomic state is plain integers, reached only with
// the lock held, which orders every access after the previous holder's.
// (`Send` is derived: nothing in a cache is tied to a thread.)
unsafe impl Sync for Cache {}

/// A locked cache; unlocks when dropped.
struct Locked<'a> {
    cache: &'a Cache,
}

impl Cache {
    fn new() -> Self {
        Self {
            lock: AtomicU32::new(0),
            out: AtomicU64::new(0),
            #[cfg(all(feature = "std", not(fastalloc_loom)))]
            registered: crate::sync::AtomicBool::new(false),
            state: UnsafeCell::new(State {
                len: 0,
                version: 0,
                orphaned: false,
                entries: [0; CACHE_SLOTS],
            }),
        }
    }

    #[inline(always)]
    fn lock(&self) -> Locked<'_> {
        // Acquire: the previous holder's entries (and, through them, the
        // slots it released) happen-before our use (I4, I13).
        if self
            .lock
            .compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        Locked { cache: self }
    }

    /// The lock if it is free now.
    #[inline]
    fn try_lock(&self) -> Option<Locked<'_>> {
        // Build the guard only on success: a `Locked` unlocks when dropped,
        // so one made and thrown away on failure would unlock the holder's
        // lock (`then_some` evaluates its argument either way).
        if self
            .lock
            .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            Some(Locked { cache: self })
        } else {
            None
        }
    }

    #[cold]
    #[inline(never)]
    fn lock_contended(&self) {
        let backoff = Backoff::new();
        loop {
            backoff.spin();
            if self.lock.load(Ordering::Relaxed) == 0
                && self
                    .lock
                    .compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                return;
            }
        }
    }

    /// Adds `delta` (wrapping) to the out-count; only the owner thread calls
    /// it.
    #[inline(always)]
    fn count(&self, delta: u64) {
        let out = self.out.load(Ordering::Relaxed);
        self.out.store(out.wrapping_add(delta), Ordering::Relaxed);
    }
}

impl Locked<'_> {
    /// Runs `f` on the cache's state.
    #[inline(always)]
    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        // SAFETY: I13 — we hold the cache's lock, so no other reference to
        // its state exists while `f` runs.
        self.cache.state.with_mut(|state| f(unsafe { &mut *state }))
    }
}

impl Drop for Locked<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        // Release: our entries (and the slots behind them) happen-before the
        // next holder's use (I4, I13).
        self.cache.lock.store(0, Ordering::Release);
    }
}

impl State {
    #[inline(always)]
    fn pop(&mut self) -> Option<u32> {
        let top = self.len.checked_sub(1)?;
        self.len = top;
        Some(self.entries[top as usize])
    }

    /// Pushes `entry`; the caller checked there is room.
    #[inline(always)]
    fn push(&mut self, entry: u32) {
        self.entries[self.len as usize] = entry;
        self.len += 1;
        self.version = self.version.wrapping_add(1);
    }
}

/// Whether `cache` is `own`, the caller's.
#[inline]
fn is_own(own: Option<&Cache>, cache: &CachePadded<Cache>) -> bool {
    own.is_some_and(|own| ptr::eq(own, &**cache))
}

/// Splits an entry into its index and fill state.
#[inline(always)]
fn unpack(entry: u32) -> (u32, bool) {
    let entry = Entry(entry);
    (entry.index(), entry.filled())
}

// === CachedStack ===

/// A Treiber stack with per-thread caches in front of it.
pub(crate) struct CachedStack {
    shared: TreiberStack,
    /// Entries each cache holds at most; 0: no caches.
    limit: u32,
    /// Cache of serial `s`, made on its first use: a pointer from
    /// `Arc::into_raw`, whose count the list holds until it is dropped
    /// (exit hooks hold others; I13). Empty when `limit` is 0.
    caches: Box<[AtomicPtr<CachePadded<Cache>>]>,
    /// Caches marked orphaned and not yet taken (shared with exit hooks).
    orphans: StdArc<AtomicUsize>,
}

impl CachedStack {
    /// The calling thread's cache, made on first use; `None` when the pool
    /// has no caches or the thread has no serial below [`CACHES`].
    #[inline(always)]
    fn current(&self) -> Option<&CachePadded<Cache>> {
        let serial = current_serial()?;
        let cell = self.caches.get(serial)?;
        let cache = cell.load(Ordering::Acquire);
        if cache.is_null() {
            return Some(self.install(serial));
        }
        // SAFETY: I13 — a non-null cache pointer stays valid until the list
        // is dropped.
        let cache_ref = unsafe { &*cache };
        #[cfg(all(feature = "std", not(fastalloc_loom)))]
        if !cache_ref.registered.load(Ordering::Relaxed) {
            self.register(cache);
        }
        Some(cache_ref)
    }

    /// Makes the cache of `serial`.
    #[cold]
    #[inline(never)]
    fn install(&self, serial: usize) -> &CachePadded<Cache> {
        let fresh = StdArc::into_raw(StdArc::new(CachePadded::new(Cache::new()))).cast_mut();
        // AcqRel: publishes the new cache; acquires one installed first.
        let cache = match self.caches[serial].compare_exchange(
            ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => fresh,
            Err(installed) => {
                // SAFETY: I13 — the CAS failed, so `fresh` was never shared:
                // we give back the count `into_raw` kept.
                drop(unsafe { StdArc::from_raw(fresh) });
                installed
            }
        };
        #[cfg(all(feature = "std", not(fastalloc_loom)))]
        self.register(cache);
        // SAFETY: I13 — installed caches live until the list is dropped.
        unsafe { &*cache }
    }

    /// The calling thread (the owner of `cache`'s serial) starts using it:
    /// it takes the cache over if its last owner orphaned it, and registers
    /// the exit hook that orphans it when this thread exits.
    #[cfg(all(feature = "std", not(fastalloc_loom)))]
    #[cold]
    #[inline(never)]
    fn register(&self, ptr: *mut CachePadded<Cache>) {
        // SAFETY: I13 — `cache` is a pointer of our table, from
        // `Arc::into_raw`, whose count the table holds until the list drops;
        // a new count for the hook keeps it alive as long as the hook needs.
        unsafe { StdArc::increment_strong_count(ptr) };
        // SAFETY: I13 — the count just taken is the one this `Arc` owns.
        let cache = unsafe { StdArc::from_raw(ptr) };
        if cache.lock().with(|state| mem::take(&mut state.orphaned)) {
            self.orphans.fetch_sub(1, Ordering::Relaxed);
        }
        cache.registered.store(true, Ordering::Relaxed);
        let hook = exit::Hook {
            cache,
            orphans: StdArc::clone(&self.orphans),
        };
        if !crate::thread::at_exit(Box::new(hook)) {
            // Exiting already (the hook was dropped): register again next
            // time rather than never.
            // SAFETY: I13 — as above; the table's count keeps it alive.
            unsafe { &*ptr }.registered.store(false, Ordering::Relaxed);
        }
    }

    /// Moves the entries of orphaned caches into `own` (its lock held by
    /// the caller, `state` its state); what does not fit goes to the shared
    /// stack. Holding our lock, we only *try* the others' locks: two
    /// refilling threads never wait for each other (a busy cache is skipped;
    /// stealing still reaches it).
    #[cold]
    #[inline(never)]
    fn adopt_orphans<S: Words<W = AtomicU32>>(&self, words: &S, own: &Cache, state: &mut State) {
        for (_, cache) in self.caches() {
            if ptr::eq(&**cache, own) {
                continue;
            }
            let Some(locked) = cache.try_lock() else {
                continue;
            };
            locked.with(|orphan| {
                if !mem::take(&mut orphan.orphaned) {
                    return;
                }
                self.orphans.fetch_sub(1, Ordering::Relaxed);
                while let Some(entry) = orphan.pop() {
                    if state.len < self.limit {
                        state.push(entry);
                    } else {
                        // SAFETY: I1, I13 — a free index we just took from
                        // the orphan, under its lock, and hold alone.
                        unsafe { self.shared.put_chain(words, &[entry]) };
                    }
                }
            });
        }
    }

    /// Every cache made so far, with its serial.
    fn caches(&self) -> impl Iterator<Item = (usize, &CachePadded<Cache>)> {
        self.caches.iter().enumerate().filter_map(|(serial, cell)| {
            let cache = cell.load(Ordering::Acquire);
            // SAFETY: I13 — as in `current`.
            (!cache.is_null()).then(|| (serial, unsafe { &*cache }))
        })
    }

    /// The cache was empty (or there is none): refill it from the shared
    /// stack, or take any index another thread holds free.
    #[cold]
    #[inline(never)]
    fn pop_slow<S: Words<W = AtomicU32>>(
        &self,
        words: &S,
        cache: Option<&Cache>,
    ) -> Option<(u32, bool)> {
        if let Some(cache) = cache {
            // Refill under our lock, so the batch is never in flight where a
            // stealer's double collect cannot see it (I13).
            let locked = cache.lock();
            let got = locked.with(|state| {
                if let Some(entry) = state.pop() {
                    return Some(entry);
                }
                if self.orphans.load(Ordering::Relaxed) != 0 {
                    self.adopt_orphans(words, cache, state);
                    if let Some(entry) = state.pop() {
                        return Some(entry);
                    }
                }
                let mut batch = [0u32; CACHE_SLOTS];
                let want = (self.limit as usize / 2).max(1);
                let n = self.shared.take_batch(words, &mut batch[..want]);
                // Keep the rest so that the next one taken is `batch[1]`.
                for &entry in batch[1..n.max(1)].iter().rev() {
                    state.push(entry);
                }
                (n > 0).then_some(batch[0])
            });
            if let Some(entry) = got {
                cache.count(1);
                return Some(unpack(entry));
            }
        }
        self.steal(words, cache)
    }

    /// Takes a free index from the shared stack or any cache; `None` only
    /// if, at one instant while it looked, every index was out.
    fn steal<S: Words<W = AtomicU32>>(
        &self,
        words: &S,
        own: Option<&Cache>,
    ) -> Option<(u32, bool)> {
        let mut versions = [0u64; CACHES];
        loop {
            let head = self.shared.head_word();
            if let Some(entry) = self.shared.pop(words) {
                return Some(entry);
            }
            for (serial, cache) in self.caches() {
                if is_own(own, cache) {
                    // Only its owner (us) pushes into our cache.
                    continue;
                }
                let locked = cache.lock();
                match locked.with(|state| state.pop().ok_or(state.version)) {
                    Ok(entry) => {
                        self.shared.count(1);
                        return Some(unpack(entry));
                    }
                    Err(version) => versions[serial] = version,
                }
            }
            // Everything looked empty; was it empty all at once?
            if self.shared.head_word() != head {
                continue;
            }
            let unchanged = self.caches().all(|(serial, cache)| {
                is_own(own, cache)
                    // A cache made since the scan started at version 0.
                    || cache.lock().with(|state| state.version) == versions[serial]
            });
            if unchanged {
                return None;
            }
        }
    }

    /// Caches orphaned and not yet taken (tests).
    #[cfg(all(test, not(fastalloc_loom)))]
    pub(crate) fn orphans(&self) -> usize {
        self.orphans.load(Ordering::Relaxed)
    }

    /// Entries in the cache of `serial` (tests).
    #[cfg(all(test, not(fastalloc_loom)))]
    pub(crate) fn cached(&self, serial: usize) -> usize {
        self.caches()
            .find(|&(s, _)| s == serial)
            .map_or(0, |(_, cache)| {
                cache.lock().with(|state| state.len as usize)
            })
    }
}

impl FreeList for CachedStack {
    type Word = AtomicU32;
    type Counter = SharedU64;
    const SHARED: bool = true;

    fn new(capacity: usize, words: &[AtomicU32]) -> Self {
        let limit = cache_limit(capacity);
        let caches = if limit == 0 { 0 } else { CACHES };
        Self {
            shared: TreiberStack::new(capacity, words),
            limit,
            caches: (0..caches)
                .map(|_| AtomicPtr::new(ptr::null_mut()))
                .collect(),
            orphans: StdArc::new(AtomicUsize::new(0)),
        }
    }

    #[inline(always)]
    fn pop<S: Words<W = AtomicU32>>(&self, words: &S) -> Option<(u32, bool)> {
        let cache = self.current();
        if let Some(cache) = cache {
            let locked = cache.lock();
            if let Some(entry) = locked.with(State::pop) {
                drop(locked);
                cache.count(1);
                return Some(unpack(entry));
            }
        }
        self.pop_slow(words, cache.map(|c| &**c))
    }

    #[inline(always)]
    unsafe fn push<S: Words<W = AtomicU32>>(&self, words: &S, index: u32, filled: bool) {
        let entry = Entry::new(index, filled).0;
        if let Some(cache) = self.current() {
            let locked = cache.lock();
            let limit = self.limit;
            locked.with(|state| {
                if state.len == limit {
                    // Full: the older half goes to the shared stack, under
                    // our lock (I13).
                    let half = (limit - limit / 2) as usize;
                    // SAFETY: I1, I13 — these entries are free indices held
                    // only by this cache, whose lock we hold; they leave it
                    // below.
                    unsafe { self.shared.put_chain(words, &state.entries[..half]) };
                    state.entries.copy_within(half..limit as usize, 0);
                    state.len -= half as u32;
                }
                state.push(entry);
            });
            cache.count(u64::MAX);
            drop(locked);
            return;
        }
        // SAFETY: the caller's contract.
        unsafe { self.shared.push(words, index, filled) };
    }

    fn mark_filled(&mut self, words: &[AtomicU32], index: u32) {
        self.shared.mark_filled(words, index);
    }

    #[inline]
    fn adopt(&self) {
        self.shared.adopt();
    }

    fn out(&self) -> usize {
        let total = self
            .caches()
            .fold(self.shared.out() as u64, |sum, (_, cache)| {
                sum.wrapping_add(cache.out.load(Ordering::Relaxed))
            });
        // Racing reads may sum below zero for a moment.
        usize::try_from(total as i64).unwrap_or(0)
    }

    fn drain_pop<S: Words<W = AtomicU32>>(&self, words: &S) -> Option<(u32, bool)> {
        self.steal(words, None)
    }
}

impl Drop for CachedStack {
    fn drop(&mut self) {
        for cell in self.caches.iter() {
            let cache = cell.load(Ordering::Acquire);
            if !cache.is_null() {
                // SAFETY: I13 — each pointer holds one count, taken by
                // `Arc::into_raw` in `install` and given back only here.
                drop(unsafe { StdArc::from_raw(cache) });
            }
        }
    }
}

/// The calling thread's serial, as the caches see it.
#[inline(always)]
fn current_serial() -> Option<usize> {
    #[cfg(all(feature = "std", not(fastalloc_loom)))]
    return crate::thread::serial();
    #[cfg(fastalloc_loom)]
    return crate::sync::loom_serial::get();
    #[cfg(all(not(feature = "std"), not(fastalloc_loom)))]
    return None;
}

/// Thread exit: orphaning the thread's caches.
#[cfg(all(feature = "std", not(fastalloc_loom)))]
mod exit {
    use super::Cache;
    use crate::sync::{AtomicUsize, Ordering, StdArc};
    use crate::thread::ThreadExit;
    use crossbeam_utils::CachePadded;

    /// One thread's exit hook for one cache of one pool. It holds the cache
    /// and the pool's orphan count, never the pool.
    pub(super) struct Hook {
        pub(super) cache: StdArc<CachePadded<Cache>>,
        pub(super) orphans: StdArc<AtomicUsize>,
    }

    impl ThreadExit for Hook {
        fn exit(&self) -> bool {
            self.cache.registered.store(false, Ordering::Relaxed);
            let locked = self.cache.lock();
            locked.with(|state| {
                if state.len > 0 && !state.orphaned {
                    state.orphaned = true;
                    self.orphans.fetch_add(1, Ordering::Relaxed);
                }
            });
            true
        }

        fn is_stale(&self) -> bool {
            // The pool's table holds one count while the pool lives, and
            // after it is gone no one makes new ones.
            StdArc::strong_count(&self.cache) == 1
        }
    }
}

/// The cache lock on its own under loom: whatever a thread tries, two
/// holders never touch a cache's state at once (loom checks every access to
/// it). The pool models in `src/tests/loom_cache.rs` never reach `try_lock`
/// (orphans need thread exits, which loom does not model).
#[cfg(all(test, fastalloc_loom))]
mod loom_lock {
    use super::Cache;
    use crate::sync::loom_rt::{model, thread};
    use crate::sync::Arc;

    #[test]
    fn loom_a_failed_try_lock_never_lets_a_second_holder_in() {
        model(|| {
            let cache = Arc::new(Cache::new());
            let other = Arc::clone(&cache);
            let t = thread::spawn(move || {
                // Fails whenever the main thread holds the lock; must then
                // leave it held.
                if let Some(locked) = other.try_lock() {
                    locked.with(|state| state.push(1));
                }
                let locked = other.lock();
                locked.with(|state| state.push(2));
            });
            let locked = cache.lock();
            locked.with(|state| {
                state.push(3);
                state.pop()
            });
            drop(locked);
            t.join().unwrap();
            let len = cache.lock().with(|state| state.len);
            assert!((1..=2).contains(&len), "{len}");
        });
    }
}

#[cfg(all(test, not(fastalloc_loom)))]
mod tests {
    use super::Cache;
    use crate::sync::Ordering;

    /// A failed `try_lock` must leave the lock to its holder. It once built
    /// the guard eagerly (`then_some`), whose drop unlocked the holder's
    /// lock: a thread adopting orphans could let a stealer into a cache its
    /// owner was pushing to (found by ThreadSanitizer on the stress test).
    #[test]
    fn a_failed_try_lock_leaves_the_holders_lock_held() {
        let cache = Cache::new();
        let held = cache.lock();
        assert!(cache.try_lock().is_none(), "held: try_lock fails");
        assert_eq!(
            cache.lock.load(Ordering::Relaxed),
            1,
            "and it is still held"
        );
        assert!(cache.try_lock().is_none(), "still held on a second try");
        drop(held);
        let again = cache.try_lock().expect("free after the holder unlocks");
        assert!(cache.try_lock().is_none());
        drop(again);
        assert_eq!(cache.lock.load(Ordering::Relaxed), 0);
    }
}
