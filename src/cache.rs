//! Per-thread caches in front of the shared Treiber stack (DESIGN layer 6):
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
//! stays exact (API.md: an object parked in any cache counts as available).
//! A getter that finds its cache and the shared stack empty *steals* one
//! index from another thread's cache, under that cache's lock. Before it
//! reports exhaustion it checks that nothing was pushed anywhere while it
//! looked (a double collect over per-cache push versions and the shared
//! head), so "exhausted" means every index was out at one instant.
//!
//! When a thread exits, its exit hook gives its cache back to the shared
//! stack (until then, other threads reach it by stealing). Threads without a
//! serial (past the first [`CACHES`], or in their thread-local teardown), and
//! every thread in `no_std` builds, use the shared stack directly.
//!
//! Invariants: SAFETY.md I13.

use crate::freelist::{FreeList, TreiberStack, Words};
use crate::sync::{AtomicPtr, AtomicU32, AtomicU64, Backoff, Ordering, UnsafeCell};
use crate::tag::Link;
use alloc::boxed::Box;
use core::ptr;
use crossbeam_utils::CachePadded;

/// The most entries a cache holds.
pub(crate) const CACHE_SLOTS: usize = 32;

/// Threads with serials `0..CACHES` get a cache in each shared pool they
/// use; others use the shared stack directly.
#[cfg(not(loom))]
pub(crate) const CACHES: usize = 64;
/// Loom models use serials 0 and 1; fewer caches keep the models small.
#[cfg(loom)]
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

/// One thread's stack of free indices, each entry a [`Link`] of its own
/// index and fill state.
pub(crate) struct Cache {
    /// 0 free, 1 held. Every access to `state` holds it (I13).
    lock: AtomicU32,
    /// Indices handed out through this cache minus those released into it
    /// (wrapping: a thread may release more than it got). Written with the
    /// lock held, read by anyone.
    out: AtomicU64,
    /// Whether the owner thread's exit hook knows this cache. Touched only
    /// by the thread whose serial indexes the cache (its owner), and by that
    /// thread's exit hook.
    #[cfg(all(feature = "std", not(loom)))]
    registered: core::sync::atomic::AtomicBool,
    state: UnsafeCell<State>,
}

struct State {
    /// Entries `0..len` are free indices, the top at `len - 1`.
    len: u32,
    /// Bumped by every push into the cache (the double collect reads it).
    version: u64,
    entries: [u32; CACHE_SLOTS],
}

/// A locked cache; unlocks when dropped.
struct Locked<'a> {
    cache: &'a Cache,
}

impl Cache {
    fn new() -> Self {
        Self {
            lock: AtomicU32::new(0),
            out: AtomicU64::new(0),
            #[cfg(all(feature = "std", not(loom)))]
            registered: core::sync::atomic::AtomicBool::new(false),
            state: UnsafeCell::new(State {
                len: 0,
                version: 0,
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

    /// Adds `delta` (wrapping) to the out-count; the lock is held.
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

/// Splits an entry into its index and fill state.
#[inline(always)]
fn unpack(entry: u32) -> (u32, bool) {
    let link = Link(entry);
    (link.next(), link.filled())
}

// === CachedStack ===

/// A Treiber stack with per-thread caches in front of it.
pub(crate) struct CachedStack {
    shared: TreiberStack,
    /// Entries each cache holds at most; 0: no caches.
    limit: u32,
    /// Cache of serial `s`, allocated on its first use, freed with the list
    /// (I13). Empty when `limit` is 0.
    caches: Box<[AtomicPtr<CachePadded<Cache>>]>,
    /// How the exit hooks reach the core that holds this list.
    #[cfg(all(feature = "std", not(loom)))]
    exit: exit::Binding,
}

impl CachedStack {
    /// The calling thread's cache, made on first use; `None` when the pool
    /// has no caches or the thread has no serial below [`CACHES`].
    #[inline(always)]
    fn current(&self) -> Option<&Cache> {
        let serial = current_serial()?;
        let cell = self.caches.get(serial)?;
        let cache = cell.load(Ordering::Acquire);
        if cache.is_null() {
            return Some(self.install(serial));
        }
        // SAFETY: I13 — a non-null cache pointer stays valid until the list
        // is dropped.
        let cache = unsafe { &*cache };
        #[cfg(all(feature = "std", not(loom)))]
        if !cache.registered.load(Ordering::Relaxed) {
            self.exit.register(cache, serial);
        }
        Some(cache)
    }

    /// Allocates the cache of `serial`.
    #[cold]
    #[inline(never)]
    fn install(&self, serial: usize) -> &Cache {
        let fresh = Box::into_raw(Box::new(CachePadded::new(Cache::new())));
        // AcqRel: publishes the new cache; acquires one installed first.
        let cache = match self.caches[serial].compare_exchange(
            ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => fresh,
            Err(installed) => {
                // SAFETY: I13 — the CAS failed, so `fresh` was never shared.
                drop(unsafe { Box::from_raw(fresh) });
                installed
            }
        };
        // SAFETY: I13 — installed caches live until the list is dropped.
        let cache = unsafe { &*cache };
        #[cfg(all(feature = "std", not(loom)))]
        self.exit.register(cache, serial);
        cache
    }

    /// Every cache made so far, with its serial.
    fn caches(&self) -> impl Iterator<Item = (usize, &Cache)> {
        self.caches.iter().enumerate().filter_map(|(serial, cell)| {
            let cache = cell.load(Ordering::Acquire);
            // SAFETY: I13 — as in `current`.
            (!cache.is_null()).then(|| (serial, unsafe { &**cache }))
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
                if own.is_some_and(|own| ptr::eq(own, cache)) {
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
                own.is_some_and(|own| ptr::eq(own, cache))
                    // A cache made since the scan started at version 0.
                    || cache.lock().with(|state| state.version) == versions[serial]
            });
            if unchanged {
                return None;
            }
        }
    }

    /// Gives the cache of `serial` back to the shared stack (a thread's exit).
    #[cfg_attr(any(not(feature = "std"), loom), allow(dead_code))]
    pub(crate) fn flush<S: Words<W = AtomicU32>>(&self, words: &S, serial: usize) {
        let Some((_, cache)) = self.caches().find(|&(s, _)| s == serial) else {
            return;
        };
        #[cfg(all(feature = "std", not(loom)))]
        cache.registered.store(false, Ordering::Relaxed);
        let locked = cache.lock();
        locked.with(|state| {
            let len = state.len as usize;
            // SAFETY: I1, I13 — the entries are free indices held only by
            // this cache, whose lock we hold; they leave it below.
            unsafe { self.shared.put_chain(words, &state.entries[..len]) };
            state.len = 0;
        });
    }

    /// Entries in the cache of `serial` (tests).
    #[cfg(all(test, not(loom)))]
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
    type Counter = crate::freelist::SharedU64;
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
            #[cfg(all(feature = "std", not(loom)))]
            exit: exit::Binding::new(),
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
        self.pop_slow(words, cache)
    }

    #[inline(always)]
    unsafe fn push<S: Words<W = AtomicU32>>(&self, words: &S, index: u32, filled: bool) {
        let entry = Link::new(index, filled).0;
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

    fn retire(&self) {
        #[cfg(all(feature = "std", not(loom)))]
        self.exit.retire();
    }
}

impl Drop for CachedStack {
    fn drop(&mut self) {
        for cell in self.caches.iter() {
            let cache = cell.load(Ordering::Acquire);
            if !cache.is_null() {
                // SAFETY: I13 — caches are boxes leaked by `install` and
                // freed only here, once; `&mut self` means no one uses them.
                drop(unsafe { Box::from_raw(cache) });
            }
        }
    }
}

/// The calling thread's serial, as the caches see it.
#[inline(always)]
fn current_serial() -> Option<usize> {
    #[cfg(all(feature = "std", not(loom)))]
    return crate::thread::serial();
    #[cfg(loom)]
    return loom_serial::get();
    #[cfg(all(not(feature = "std"), not(loom)))]
    return None;
}

/// Under loom, models choose each thread's cache (default: none).
#[cfg(loom)]
pub(crate) mod loom_serial {
    use core::cell::Cell;

    loom::thread_local! {
        static SERIAL: Cell<Option<usize>> = Cell::new(None);
    }

    /// The cache the calling loom thread uses.
    pub(crate) fn get() -> Option<usize> {
        SERIAL.with(Cell::get)
    }

    /// Makes the calling loom thread use cache `serial` (`None`: the shared
    /// stack only).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn set(serial: Option<usize>) {
        SERIAL.with(|s| s.set(serial));
    }
}

/// Thread exit: giving a thread's cache back to the shared stack.
#[cfg(all(feature = "std", not(loom)))]
mod exit {
    use super::Cache;
    use crate::sync::{Ordering, StdArc};
    use crate::thread::{self, ThreadExit};
    use alloc::boxed::Box;
    use std::sync::{Mutex, OnceLock};

    /// The core holding a list, type-erased: its address and the function
    /// that flushes one of its caches.
    #[derive(Clone, Copy)]
    struct Target {
        core: *const (),
        flush: unsafe fn(*const (), usize),
    }

    // SAFETY: I13 — `Target` is a plain address and a function pointer; the
    // address is dereferenced only by `Hook::exit`, under the liveness lock
    // that keeps the core alive.
    unsafe impl Send for Target {}
    // SAFETY: I13 — as above.
    unsafe impl Sync for Target {}

    /// Set once the core is in its final place (an `Arc`), and the core's
    /// liveness: `true` until the core starts dropping.
    pub(super) struct Binding {
        target: OnceLock<Target>,
        alive: StdArc<Mutex<bool>>,
    }

    impl Binding {
        pub(super) fn new() -> Self {
            Self {
                target: OnceLock::new(),
                alive: StdArc::new(Mutex::new(true)),
            }
        }

        /// Has the calling thread (the owner of `serial`) give `cache` back
        /// when it exits. Without a bound core, nothing to do: the cache
        /// stays reachable by stealing.
        #[cold]
        #[inline(never)]
        pub(super) fn register(&self, cache: &Cache, serial: usize) {
            let Some(&target) = self.target.get() else {
                return;
            };
            let hook = Hook {
                target,
                alive: StdArc::clone(&self.alive),
                serial,
            };
            if thread::at_exit(Box::new(hook)) {
                cache.registered.store(true, Ordering::Relaxed);
            }
        }

        /// The core starts dropping: exit hooks still to run must not touch
        /// it, and one running now finishes first.
        pub(super) fn retire(&self) {
            *self.alive.lock().unwrap_or_else(|e| e.into_inner()) = false;
        }
    }

    /// One thread's exit hook for one cache.
    struct Hook {
        target: Target,
        alive: StdArc<Mutex<bool>>,
        serial: usize,
    }

    impl ThreadExit for Hook {
        fn exit(&self) -> bool {
            let alive = self.alive.lock().unwrap_or_else(|e| e.into_inner());
            if *alive {
                // SAFETY: I13 — the core is alive (it retires under this
                // lock before anything is freed) and was bound at this
                // address with this function.
                unsafe { (self.target.flush)(self.target.core, self.serial) };
            }
            true
        }
    }

    impl super::CachedStack {
        /// Binds the list to the core that holds it, now at its final
        /// address: a thread's exit hook calls `flush(core, serial)`, which
        /// must call [`flush`](super::CachedStack::flush) on this list.
        ///
        /// # Safety
        ///
        /// `core` stays valid and in place until [`FreeList::retire`] is
        /// called on this list, and `flush` may be called with it from any
        /// thread that used the list until then.
        ///
        /// [`FreeList::retire`]: crate::freelist::FreeList::retire
        pub(crate) unsafe fn bind_exit(&self, core: *const (), flush: unsafe fn(*const (), usize)) {
            let _ = self.exit.target.set(Target { core, flush });
        }
    }
}

#[cfg(all(test, feature = "std", not(loom)))]
mod tests {
    use crate::pool::hooks::BoxedHooks;
    use crate::pool::thread_safe::{shared_core, SharedCore};
    use crate::slab::{Lease, Settings};
    use crate::sync::Arc;
    use alloc::boxed::Box;
    use alloc::vec::Vec;

    fn core(capacity: usize) -> Arc<SharedCore<u32>> {
        shared_core(
            Settings::fixed(capacity),
            BoxedHooks::new(Box::new(|| 7), None),
        )
    }

    fn my_serial() -> usize {
        crate::thread::serial().expect("a live thread has a serial")
    }

    #[test]
    fn releases_park_in_the_callers_cache_and_refills_come_in_batches() {
        let core = core(64); // 16 entries per cache
        let leases: Vec<_> = (0..20).map(|_| Lease::new(&*core).ok().unwrap()).collect();
        assert_eq!(core.in_use(), 20);
        let me = my_serial();
        assert_eq!(
            core.free_list().cached(me),
            4,
            "three refills of 8 for 20 gets leave 4"
        );
        drop(leases);
        assert_eq!(core.in_use(), 0);
        assert_eq!(
            core.free_list().cached(me),
            16,
            "full at 16 after 12 releases: 8 went back to the shared stack, 8 more came in"
        );
    }

    #[test]
    fn a_threads_cache_goes_back_when_it_exits() {
        let core = core(64);
        let (serial, parked) = std::thread::scope(|s| {
            s.spawn(|| {
                drop(
                    (0..3)
                        .map(|_| Lease::new(&*core).ok().unwrap())
                        .collect::<Vec<_>>(),
                );
                (my_serial(), core.free_list().cached(my_serial()))
            })
            .join()
            .unwrap()
        });
        assert!(parked >= 3, "the objects were parked in the thread's cache");
        // `join` returns after the thread's thread-local destructors ran.
        assert_eq!(
            core.free_list().cached(serial),
            0,
            "the exit hook emptied the cache"
        );
        assert_eq!(core.available(), 64);
    }

    #[test]
    fn objects_parked_in_another_threads_cache_are_stolen_before_exhaustion() {
        let core = core(8); // 2 entries per cache
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        std::thread::scope(|s| {
            let core = &*core;
            s.spawn(move || {
                // Take all eight, give two back into this thread's cache,
                // then stay alive (so no exit hook runs) while main gets.
                let mut all: Vec<_> = (0..8).map(|_| Lease::new(core).ok().unwrap()).collect();
                all.truncate(6);
                tx.send(core.free_list().cached(my_serial())).unwrap();
                done_rx.recv().unwrap();
                drop(all);
            });
            assert_eq!(
                rx.recv().unwrap(),
                2,
                "two parked in the other thread's cache"
            );
            let a = Lease::new(core).ok().expect("stolen from the other cache");
            let b = Lease::new(core).ok().expect("stolen from the other cache");
            assert!(Lease::new(core).is_err(), "all eight out now");
            drop((a, b));
            done_tx.send(()).unwrap();
        });
        assert_eq!(core.in_use(), 0);
    }
}
