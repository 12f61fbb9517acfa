//! [`CachedStack`]: per-thread caches in front of the shared Treiber stack,
//! the free list of [`ThreadSafePool`](crate::ThreadSafePool) and
//! [`AsyncPool`](crate::AsyncPool).
//!
//! Each thread that uses a pool gets a small stack of free indices of its
//! own ([`Cache`], up to [`CACHE_SLOTS`] entries), found by the thread's
//! serial. A get pops from it and a release pushes onto it, touching only
//! the thread's own cache line and with no atomic read-modify-write: the
//! owner marks itself busy with a plain store, passes the light side of an
//! asymmetric barrier pair (`crate::sync::barrier`: a compiler fence where
//! `membarrier` is available, a `SeqCst` fence otherwise) and, if no other
//! thread holds the cache's lock, pops or pushes with plain loads and
//! stores. Indices move to and from the shared stack in batches: an empty
//! cache takes half its size with one CAS, a full one gives half back with
//! one CAS.
//!
//! The lock is what lets other threads reach a cache, so that exhaustion
//! stays exact (an object parked in any cache counts as available: `get`
//! never reports exhaustion while one sits in another thread's cache).
//! A getter that finds its cache and the shared stack empty *steals*: in
//! one pass it locks every cache, runs the heavy side of the barrier pair
//! once (a process-wide `membarrier`, or a fence), waits for each owner to
//! leave its lock-free section, and takes half of the fullest cache's
//! entries (one for the caller, the rest into its own cache). While it
//! holds the locks no cache changes, so if every cache is empty, the shared
//! head has not moved since the shared stack was found empty and no cache
//! was made meanwhile, every index was out at that instant: "exhausted" is
//! exact.
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
//! Invariants: SAFETY.md I13 (locks, lifetimes, exhaustion) and I14 (the
//! owner's lock-free section).

use super::{FreeList, TreiberStack, Words};
use crate::stats::SharedU64;
use crate::sync::{
    barrier, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Backoff, Ordering, StdArc,
};
use crate::tag::Entry;
use alloc::boxed::Box;
use core::ptr;
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

/// Lock word: a thread holds the lock.
const HELD: u32 = 1;
/// Lock word: other threads steal from this cache. While it is set the
/// owner takes the lock for every operation (it has no lock-free section),
/// so a stealer that finds it needs no barrier for this cache (I14). Set
/// by a stealer after its heavy barrier; cleared by the owner after
/// [`STOLEN_OPS`] operations under the lock.
const STOLEN: u32 = 2;
/// Operations an owner does under the lock before it takes the lock-free
/// section back: a cache stolen from pays at most one heavy barrier per
/// this many of its owner's operations.
#[cfg(not(fastalloc_loom))]
const STOLEN_OPS: u32 = 256;
/// Models go back to the lock-free section after two operations.
#[cfg(fastalloc_loom)]
const STOLEN_OPS: u32 = 2;

/// One thread's stack of free indices, each an [`Entry`] (its own index and
/// fill state).
///
/// Its state (`len`, `orphaned`, `entries`) is atomics accessed relaxed
/// (plain moves on x86), reached by the owner thread in its lock-free
/// section or by any thread holding the lock (I14).
pub(crate) struct Cache {
    /// [`HELD`] and [`STOLEN`]. Other threads take it to reach the state;
    /// the owner takes it only when it finds it held or stolen from (I13,
    /// I14).
    lock: AtomicU32,
    /// The owner's operations under the lock since a stealer set
    /// [`STOLEN`]; only the owner touches it (plain load and store).
    stolen_ops: AtomicU32,
    /// 1 while the owner thread is in its lock-free section (I14).
    busy: AtomicU32,
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
    /// Entries `0..len` are free indices, the top at `len - 1`.
    len: AtomicU32,
    /// 1: its owner exited and left entries here; counted in the list's
    /// `orphans` until another thread takes them or the cache over. Written
    /// under the lock.
    orphaned: AtomicU32,
    entries: [AtomicU32; CACHE_SLOTS],
}

/// A locked cache; unlocks when dropped, leaving [`STOLEN`] as
/// `unlock_to` says.
struct Locked<'a> {
    cache: &'a Cache,
    /// The lock word to store when unlocking (`0` or [`STOLEN`]).
    unlock_to: u32,
}

impl Cache {
    fn new() -> Self {
        Self {
            lock: AtomicU32::new(0),
            stolen_ops: AtomicU32::new(0),
            busy: AtomicU32::new(0),
            out: AtomicU64::new(0),
            #[cfg(all(feature = "std", not(fastalloc_loom)))]
            registered: crate::sync::AtomicBool::new(false),
            len: AtomicU32::new(0),
            orphaned: AtomicU32::new(0),
            entries: core::array::from_fn(|_| AtomicU32::new(0)),
        }
    }

    /// Runs `f` on the cache as its owner thread: without a read-modify-
    /// write when no other thread holds the lock (I14), under the lock
    /// otherwise. Only the owner thread calls it, and `f` runs no user code.
    #[inline(always)]
    fn owned<R>(&self, f: impl FnOnce(&Cache) -> R) -> R {
        self.busy.store(1, Ordering::Relaxed);
        // The store above is ordered before the load below against any
        // thread that takes the lock and then runs the heavy barrier (I14).
        barrier::light();
        // Acquire: the last holder's writes happen-before ours.
        if self.lock.load(Ordering::Acquire) == 0 {
            let result = f(self);
            // Release: our writes happen-before a holder that sees us idle.
            self.busy.store(0, Ordering::Release);
            result
        } else {
            // Not idle-waited for while we wait for the lock.
            self.busy.store(0, Ordering::Release);
            self.owned_locked(f)
        }
    }

    /// [`owned`](Self::owned) while another thread holds the lock: wait
    /// for it.
    #[cold]
    #[inline(never)]
    fn owned_locked<R>(&self, f: impl FnOnce(&Cache) -> R) -> R {
        let mut locked = self.lock();
        let result = f(self);
        if locked.unlock_to & STOLEN != 0 {
            let ops = self.stolen_ops.load(Ordering::Relaxed) + 1;
            if ops >= STOLEN_OPS {
                // Back to the lock-free section: the next stealer pays a
                // barrier for this cache again.
                locked.unlock_to = 0;
                self.stolen_ops.store(0, Ordering::Relaxed);
            } else {
                self.stolen_ops.store(ops, Ordering::Relaxed);
            }
        }
        result
    }

    #[inline(always)]
    fn lock(&self) -> Locked<'_> {
        self.try_lock().unwrap_or_else(|| self.lock_contended())
    }

    /// The lock if it is free now.
    #[inline]
    fn try_lock(&self) -> Option<Locked<'_>> {
        // Build the guard only on success: a `Locked` unlocks when dropped,
        // so one made and thrown away on failure would unlock the holder's
        // lock (`then_some` evaluates its argument either way).
        let word = self.lock.load(Ordering::Relaxed);
        // Acquire: the previous holder's entries (and, through them, the
        // slots it released) happen-before our use (I4, I13).
        if word & HELD == 0
            && self
                .lock
                .compare_exchange(word, word | HELD, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            Some(Locked {
                cache: self,
                unlock_to: word,
            })
        } else {
            None
        }
    }

    #[cold]
    #[inline(never)]
    fn lock_contended(&self) -> Locked<'_> {
        let backoff = Backoff::new();
        loop {
            // The holder may be a stealer that was preempted: yield after
            // a few spins.
            backoff.snooze();
            if let Some(locked) = self.try_lock() {
                return locked;
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

    /// Pops the top entry. Only the owner in its section or a lock holder.
    #[inline(always)]
    fn pop(&self) -> Option<u32> {
        let top = self.len.load(Ordering::Relaxed).checked_sub(1)?;
        self.len.store(top, Ordering::Relaxed);
        Some(self.entries[top as usize].load(Ordering::Relaxed))
    }

    /// Pushes `entry`; the caller checked there is room. Only the owner in
    /// its section or a lock holder.
    #[inline(always)]
    fn push(&self, entry: u32) {
        let len = self.len.load(Ordering::Relaxed);
        self.entries[len as usize].store(entry, Ordering::Relaxed);
        self.len.store(len + 1, Ordering::Relaxed);
    }

    /// The number of entries (owner or lock holder).
    #[inline(always)]
    fn len(&self) -> u32 {
        self.len.load(Ordering::Relaxed)
    }
}

impl Locked<'_> {
    /// Whether a stealer made this cache's owner take the lock (and the
    /// owner has not gone back to its lock-free section since): the owner
    /// is not in that section, and cannot enter it while we hold the lock,
    /// without a barrier of ours (I14).
    #[inline]
    fn stolen(&self) -> bool {
        self.unlock_to & STOLEN != 0
    }

    /// After the heavy barrier: waits until the owner thread is out of its
    /// lock-free section. From then until unlocked, the cache is ours
    /// (I14).
    fn wait_idle(&self) {
        let backoff = Backoff::new();
        // Acquire: the owner's writes in its section happen-before ours.
        while self.cache.busy.load(Ordering::Acquire) != 0 {
            backoff.snooze();
        }
    }
}

impl Drop for Locked<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        // Release: our entries (and the slots behind them) happen-before the
        // next holder's use (I4, I13).
        self.cache.lock.store(self.unlock_to, Ordering::Release);
    }
}

/// Whether `cache` is `own`, the caller's.
#[inline]
fn is_own(own: Option<&Cache>, cache: &Cache) -> bool {
    own.is_some_and(|own| ptr::eq(own, cache))
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
    /// A full cache moves its older half to the shared stack.
    ///
    /// # Safety
    ///
    /// - The caller is in the owner's section of `cache`, or holds its lock
    ///   (I13, I14): no other thread touches its entries meanwhile.
    #[cold]
    #[inline(never)]
    unsafe fn spill_older_half<S: Words<W = AtomicU32>>(&self, words: &S, cache: &Cache) {
        let limit = self.limit;
        let half = limit - limit / 2;
        let mut older = [0u32; CACHE_SLOTS];
        for (slot, entry) in older.iter_mut().zip(&cache.entries[..half as usize]) {
            *slot = entry.load(Ordering::Relaxed);
        }
        for position in half..limit {
            let entry = cache.entries[position as usize].load(Ordering::Relaxed);
            cache.entries[(position - half) as usize].store(entry, Ordering::Relaxed);
        }
        cache.len.store(limit - half, Ordering::Relaxed);
        // SAFETY: I1, I13, I14 — these entries are free indices held only by
        // this cache, which no other thread touches during the caller's
        // section (or while it holds the lock); they just left it.
        unsafe { self.shared.put_chain(words, &older[..half as usize]) };
    }

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
        let locked = cache.lock();
        if cache.orphaned.swap(0, Ordering::Relaxed) != 0 {
            self.orphans.fetch_sub(1, Ordering::Relaxed);
        }
        drop(locked);
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
    /// the caller); what does not fit goes to the shared stack. Holding our
    /// lock, we only *try* the others' locks: two refilling threads never
    /// wait for each other (a busy cache is skipped; stealing still reaches
    /// it). An orphaned cache has no owner in a lock-free section (its owner
    /// exited, and a next owner takes the lock before it uses the cache), so
    /// its lock alone gives us its entries (I14).
    #[cold]
    #[inline(never)]
    fn adopt_orphans<S: Words<W = AtomicU32>>(&self, words: &S, own: &Cache) {
        for (_, cache) in self.caches() {
            if ptr::eq(&**cache, own) {
                continue;
            }
            let Some(locked) = cache.try_lock() else {
                continue;
            };
            if cache.orphaned.swap(0, Ordering::Relaxed) == 0 {
                continue;
            }
            self.orphans.fetch_sub(1, Ordering::Relaxed);
            while let Some(entry) = cache.pop() {
                if own.len() < self.limit {
                    own.push(entry);
                } else {
                    // SAFETY: I1, I13, I14 — a free index we just took from
                    // the orphan (no owner section runs there), under its
                    // lock, and hold alone.
                    unsafe { self.shared.put_chain(words, &[entry]) };
                }
            }
            drop(locked);
        }
    }

    /// The number of caches made so far (never falls).
    fn made(&self) -> usize {
        self.caches().count()
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
    /// stack, or take free indices another thread's cache holds.
    #[cold]
    #[inline(never)]
    fn pop_slow<S: Words<W = AtomicU32>>(
        &self,
        words: &S,
        cache: Option<&Cache>,
    ) -> Option<(u32, bool)> {
        if let Some(cache) = cache {
            // Refill under our lock, so the batch is never in flight where a
            // stealer cannot see it (I13). We are the owner: no stealer is
            // in, and our own lock-free section is not running.
            let locked = cache.lock();
            let got = (|| {
                if let Some(entry) = cache.pop() {
                    return Some(entry);
                }
                if self.orphans.load(Ordering::Relaxed) != 0 {
                    self.adopt_orphans(words, cache);
                    if let Some(entry) = cache.pop() {
                        return Some(entry);
                    }
                }
                let mut batch = [0u32; CACHE_SLOTS];
                let want = (self.limit as usize / 2).max(1);
                let n = self.shared.take_batch(words, &mut batch[..want]);
                // Keep the rest so that the next one taken is `batch[1]`.
                for &entry in batch[1..n.max(1)].iter().rev() {
                    cache.push(entry);
                }
                (n > 0).then_some(batch[0])
            })();
            drop(locked);
            if let Some(entry) = got {
                cache.count(1);
                return Some(unpack(entry));
            }
        }
        self.steal(words, cache)
    }

    /// Takes a free index from the shared stack or another thread's cache
    /// (and, into `own`, up to half of that cache's entries); `None` only if,
    /// at one instant while it looked, every index was out.
    ///
    /// One pass locks every cache (in serial order, so stealers never wait
    /// for each other in a cycle), runs one heavy barrier for all of them,
    /// and waits for each owner to leave its lock-free section (I14): from
    /// then on no cache changes until the pass unlocks them. If all are
    /// empty, the shared head did not move since the shared stack was found
    /// empty, and no cache was made meanwhile, every index was out at that
    /// instant.
    fn steal<S: Words<W = AtomicU32>>(
        &self,
        words: &S,
        own: Option<&Cache>,
    ) -> Option<(u32, bool)> {
        loop {
            let head = self.shared.head_word();
            if let Some(entry) = self.shared.pop(words) {
                return Some(entry);
            }
            let mut held: [Option<Locked<'_>>; CACHES] = core::array::from_fn(|_| None);
            let mut made = 0;
            for (serial, cache) in self.caches() {
                held[serial] = Some(cache.lock());
                made += 1;
            }
            if made == 0 {
                if self.shared.head_word() == head && self.made() == 0 {
                    return None;
                }
                continue;
            }
            // One barrier for every cache whose owner may be in its
            // lock-free section; none if all were stolen from before.
            if held
                .iter()
                .flatten()
                .any(|locked| !is_own(own, locked.cache) && !locked.stolen())
            {
                barrier::heavy();
            }
            let mut victim: Option<&Cache> = None;
            for locked in held.iter_mut().flatten() {
                if is_own(own, locked.cache) {
                    // Only its owner (us) pushes into our cache, and it
                    // was empty.
                    continue;
                }
                if !locked.stolen() {
                    locked.wait_idle();
                    // Its owner takes the lock from now on, so the next
                    // pass needs no barrier for it.
                    locked.unlock_to = STOLEN;
                }
                if locked.cache.len() > victim.map_or(0, Cache::len) {
                    victim = Some(locked.cache);
                }
            }
            if let Some(victim) = victim {
                let first = victim.pop();
                if let Some(own) = own {
                    // Half of what is left, into our cache (empty, locked
                    // above): the next gets find them there.
                    let take = victim.len().div_ceil(2).min(self.limit - own.len());
                    for _ in 0..take {
                        if let Some(entry) = victim.pop() {
                            own.push(entry);
                        }
                    }
                }
                drop(held);
                self.shared.count(1);
                return first.map(unpack);
            }
            // Everything looked empty; was it empty all at once?
            if self.shared.head_word() == head && self.made() == made {
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
                let locked = cache.lock();
                barrier::heavy();
                locked.wait_idle();
                cache.len() as usize
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
        if caches > 0 {
            // Choose the barrier pair (and register for membarrier) now,
            // not on the first get.
            barrier::prepare();
        }
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
            if let Some(entry) = cache.owned(Cache::pop) {
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
            let limit = self.limit;
            cache.owned(|cache| {
                if cache.len() == limit {
                    // SAFETY: I1, I13, I14 — we are in the owner's section
                    // of `cache` (or hold its lock).
                    unsafe { self.spill_older_half(words, cache) };
                }
                cache.push(entry);
            });
            cache.count(u64::MAX);
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
            // We are the owner, out of its section for good: the lock
            // alone gives us the cache (I14).
            let locked = self.cache.lock();
            if self.cache.len() > 0 && self.cache.orphaned.load(Ordering::Relaxed) == 0 {
                self.cache.orphaned.store(1, Ordering::Relaxed);
                self.orphans.fetch_add(1, Ordering::Relaxed);
            }
            drop(locked);
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
                    locked.cache.push(1);
                }
                let locked = other.lock();
                locked.cache.push(2);
            });
            let locked = cache.lock();
            locked.cache.push(3);
            locked.cache.pop();
            drop(locked);
            t.join().unwrap();
            let len = cache.lock().cache.len();
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
