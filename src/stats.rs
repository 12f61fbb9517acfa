//! Pool statistics: the public [`StatsSnapshot`], the [`Recorder`] a pool
//! built with `.statistics(true)` keeps, and the [`Counter`]s it is made of
//! (plain cells, owner-written atomics or shared atomics, chosen by the
//! pool's free list).

#[cfg(target_has_atomic = "64")]
use crate::sync::{AtomicU64, Ordering};
use core::cell::Cell;
use core::fmt;

// === Counters ===

/// A statistics counter. `add` and `raise_to` may be called by one thread at
/// a time or by many, depending on the implementation; `get` from any.
pub(crate) trait Counter: Default {
    /// Adds `n` and returns the new value.
    fn add(&self, n: u64) -> u64;
    /// The value.
    fn get(&self) -> u64;
    /// Raises the value to `v` if it is lower.
    fn raise_to(&self, v: u64);
    /// Subtracts `n` (wrapping: the count it undoes was added first).
    fn sub(&self, n: u64);
    /// Replaces the value (`reset_stats`).
    fn set_to(&self, v: u64);
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
    #[inline(always)]
    fn sub(&self, n: u64) {
        self.set(Cell::get(self).wrapping_sub(n));
    }
    fn set_to(&self, v: u64) {
        self.set(v);
    }
}

/// A counter written by one thread only and read by any: plain loads and
/// stores, no read-modify-write (the thread-local pool's per-thread figures).
/// Stores release and loads acquire, so a reader that sees a count also sees
/// the counts its writer made before it.
#[cfg(target_has_atomic = "64")]
#[derive(Default)]
pub(crate) struct OwnedU64(AtomicU64);

#[cfg(target_has_atomic = "64")]
impl Counter for OwnedU64 {
    #[inline(always)]
    fn add(&self, n: u64) -> u64 {
        let v = self.0.load(Ordering::Relaxed) + n;
        self.0.store(v, Ordering::Release);
        v
    }
    #[inline(always)]
    fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
    #[inline(always)]
    fn raise_to(&self, v: u64) {
        if v > self.0.load(Ordering::Relaxed) {
            self.0.store(v, Ordering::Release);
        }
    }
    #[inline(always)]
    fn sub(&self, n: u64) {
        let v = self.0.load(Ordering::Relaxed).wrapping_sub(n);
        self.0.store(v, Ordering::Release);
    }
    fn set_to(&self, v: u64) {
        self.0.store(v, Ordering::Release);
    }
}

/// A counter shared by every thread: atomic read-modify-writes, exact once
/// the threads have joined. Additions release and loads acquire (free on
/// x86), so a reader that sees a count also sees the counts made before it.
#[cfg(target_has_atomic = "64")]
#[derive(Default)]
pub(crate) struct SharedU64(AtomicU64);

#[cfg(target_has_atomic = "64")]
impl Counter for SharedU64 {
    #[inline(always)]
    fn add(&self, n: u64) -> u64 {
        self.0.fetch_add(n, Ordering::Release) + n
    }
    #[inline(always)]
    fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
    #[inline(always)]
    fn raise_to(&self, v: u64) {
        if v > self.0.load(Ordering::Relaxed) {
            self.0.fetch_max(v, Ordering::Release);
        }
    }
    #[inline(always)]
    fn sub(&self, n: u64) {
        self.0.fetch_sub(n, Ordering::Release);
    }
    fn set_to(&self, v: u64) {
        self.0.store(v, Ordering::Release);
    }
}

// === StatsSnapshot ===

/// A copy of a pool's figures at one moment, from `pool.stats()`.
///
/// The structural figures (`current_in_use`, `current_capacity`,
/// `max_capacity`, `idle`, `waiting`) are always exact (for a shared pool,
/// exact whenever no `get` or release is in flight). Every other figure is
/// zero unless the pool was built with
/// [`.statistics(true)`](crate::PoolBuilder::statistics); then the counts are
/// exact (after the threads using the pool have joined), and the timings are
/// means over 1 call in 64, with the clock's own cost subtracted.
///
/// For a [`ThreadLocalPool`](crate::ThreadLocalPool), the figures are summed
/// over the threads: capacity and in-use over every thread's pool, and
/// `peak_in_use` as the sum of each thread's peak.
///
/// `pool.reset_stats()` sets the counters to zero and the peaks to the
/// figures of that moment, for a monitor that reads a window at a time.
/// With the `serde` feature the snapshot implements `serde::Serialize`,
/// each figure under its field name (here with `serde_json`):
///
/// ```
/// # #[cfg(feature = "serde")]
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use fastalloc::PoolBuilder;
///
/// let pool = PoolBuilder::new(String::new).capacity(8).statistics(true).build_fixed()?;
/// drop(pool.get()?);
/// let json = serde_json::to_value(pool.stats())?;
/// assert_eq!(json["total_allocations"], 1);
/// assert_eq!(json["idle"], 1);
/// pool.reset_stats(); // the next export covers what happens from now
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "serde"))]
/// # fn main() {}
/// ```
///
/// It is `#[non_exhaustive]`: read its fields, or start from
/// `StatsSnapshot::default()`; new figures may be added.
///
/// ```
/// use fastalloc::FixedPool;
///
/// let pool = FixedPool::new(8, String::new);
/// let _a = pool.get()?;
/// let stats = pool.stats();
/// assert_eq!((stats.current_in_use, stats.current_capacity), (1, 8));
/// println!("{stats}");
/// # Ok::<(), fastalloc::PoolExhausted>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct StatsSnapshot {
    /// Successful `get` calls.
    pub total_allocations: u64,
    /// Objects given back (explicit `release` or guard drop), including
    /// those `recycle_if` then dropped; not those taken out by `into_inner`.
    pub total_releases: u64,
    /// Reset hook runs.
    pub total_resets: u64,
    /// Times a growing pool added storage.
    pub growth_events: u64,
    /// `get` calls that failed because every object was in use.
    pub exhausted: u64,
    /// The most objects in use at once.
    pub peak_in_use: u64,
    /// The largest capacity the pool has had.
    pub peak_capacity: u64,
    /// Objects in use now.
    pub current_in_use: u64,
    /// Capacity now.
    pub current_capacity: u64,
    /// The capacity the pool may grow to (its capacity, for a pool that
    /// does not grow; per thread for a `ThreadLocalPool`, summed over its
    /// threads like `current_capacity`).
    pub max_capacity: u64,
    /// Objects built and free now: handed out by the next gets without
    /// running `init` (Python's `available()`).
    pub idle: u64,
    /// Callers waiting for an object now (`AsyncPool::get`,
    /// `ThreadSafePool::get_timeout`); 0 for the other pools.
    pub waiting: u64,
    /// Released objects that `recycle_if` rejected and dropped.
    pub total_discarded: u64,
    /// Mean time of a successful `get`, in nanoseconds.
    pub avg_allocation_time_ns: f64,
    /// Mean time of a release, in nanoseconds.
    pub avg_release_time_ns: f64,
    /// Estimated time spent in successful gets, in nanoseconds: the sampled
    /// mean times the number of gets (not a measured sum).
    pub total_allocation_time_ns: u64,
    /// Estimated time spent in releases, in nanoseconds: the sampled mean
    /// times the number of releases (not a measured sum).
    pub total_release_time_ns: u64,
}

impl StatsSnapshot {
    /// The structural figures every pool knows without keeping statistics.
    pub(crate) fn structural(in_use: usize, capacity: usize, max: usize, idle: usize) -> Self {
        Self {
            current_in_use: in_use as u64,
            current_capacity: capacity as u64,
            max_capacity: max as u64,
            idle: idle as u64,
            ..Self::default()
        }
    }
}

/// One timing in this many calls is taken (per kind: get, release), so a
/// pool keeping statistics pays for a clock read on 1 call in 64.
#[cfg(feature = "std")]
pub(crate) const SAMPLE_EVERY: u64 = 64;

/// A timing in progress: the start time when this call is sampled.
#[cfg(feature = "std")]
pub(crate) type Stamp = Option<std::time::Instant>;
/// Without `std` there is no clock: timings stay zero.
#[cfg(not(feature = "std"))]
pub(crate) type Stamp = ();

/// The counters and sampled timings of a pool built with `.statistics(true)`.
///
/// `C` decides how they are shared: plain cells for single-thread pools,
/// owner-written atomics for the per-thread pools of `ThreadLocalPool`, and
/// atomic read-modify-writes for shared pools (exact once threads join).
///
/// To keep the hot path short, a round trip updates one counter (`gets`)
/// and the peak: releases and resets follow from them and from the pool's
/// in-use count (every successful get ends in a release or is still out;
/// every release runs the reset hook, if any, unless it panicked).
///
/// Every figure is a count of calls that happened, never a difference of two
/// counters read at different moments, so a snapshot taken while other
/// threads work is within its bounds (see [`Recorder::totals`]).
pub(crate) struct Recorder<C> {
    /// Successful `get` calls, counted when the object is handed out.
    gets: C,
    /// `get` calls that found every object in use (and were reported).
    exhausted: C,
    pub(crate) growth_events: C,
    peak_in_use: C,
    reset_panics: C,
    get_ns: C,
    get_samples: C,
    release_ns: C,
    release_samples: C,
    /// Released objects `recycle_if` rejected.
    discarded: C,
    /// Objects taken out by `into_inner` (not releases).
    taken: C,
    /// Objects that were out when the statistics were last reset: their
    /// releases count, though their gets were counted before.
    carried: C,
    /// The cost of a clock read pair, subtracted from each sample.
    #[cfg(feature = "std")]
    overhead_ns: u64,
}

impl<C: Counter> Recorder<C> {
    pub(crate) fn new() -> Self {
        Self {
            gets: C::default(),
            exhausted: C::default(),
            growth_events: C::default(),
            peak_in_use: C::default(),
            reset_panics: C::default(),
            get_ns: C::default(),
            get_samples: C::default(),
            release_ns: C::default(),
            release_samples: C::default(),
            discarded: C::default(),
            taken: C::default(),
            carried: C::default(),
            #[cfg(feature = "std")]
            overhead_ns: clock_overhead_ns(),
        }
    }

    /// Starts a `get`'s timing if it is sampled (one in [`SAMPLE_EVERY`],
    /// by the count of gets so far).
    #[inline]
    pub(crate) fn begin_get(&self) -> Stamp {
        start(self.gets.get())
    }

    /// Starts a release's timing if it is sampled (the release following a
    /// sampled get, in a round trip).
    #[inline]
    pub(crate) fn begin_release(&self) -> Stamp {
        start(self.gets.get().wrapping_sub(1))
    }

    /// Ends a timing into `total` and `samples`.
    #[inline]
    fn end(&self, stamp: Stamp, total: &C, samples: &C) {
        #[cfg(feature = "std")]
        if let Some(start) = stamp {
            let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
            total.add(ns.saturating_sub(self.overhead_ns));
            samples.add(1);
        }
        #[cfg(not(feature = "std"))]
        let _ = (stamp, total, samples);
    }

    /// A successful `get`, with `in_use` objects out after it: counted now,
    /// when the object is handed out (a get whose `init` panicked, or that
    /// failed, is not a get).
    #[inline]
    pub(crate) fn got(&self, stamp: Stamp, in_use: usize) {
        self.end(stamp, &self.get_ns, &self.get_samples);
        self.gets.add(1);
        self.peak_in_use.raise_to(in_use as u64);
    }

    /// A released object was rejected by `recycle_if`.
    #[cold]
    pub(crate) fn discarded(&self) {
        self.discarded.add(1);
    }

    /// An object left the pool through `into_inner`.
    #[cold]
    pub(crate) fn taken(&self) {
        self.taken.add(1);
    }

    /// Counters to zero, the peak to `in_use` (the objects out now, whose
    /// releases will count).
    pub(crate) fn reset(&self, in_use: usize) {
        for counter in [
            &self.gets,
            &self.exhausted,
            &self.growth_events,
            &self.reset_panics,
            &self.get_ns,
            &self.get_samples,
            &self.release_ns,
            &self.release_samples,
            &self.discarded,
            &self.taken,
        ] {
            counter.set_to(0);
        }
        self.carried.set_to(in_use as u64);
        self.peak_in_use.set_to(in_use as u64);
    }

    /// A `get` that found every object in use.
    #[cold]
    pub(crate) fn exhausted(&self) {
        self.exhausted.add(1);
    }

    /// A reset hook panicked (its release still counts).
    #[cold]
    pub(crate) fn reset_panicked(&self) {
        self.reset_panics.add(1);
    }

    /// A `get` that found no object and waits (an async `get` as it
    /// queues): one `exhausted`.
    #[cfg(feature = "std")]
    #[cold]
    pub(crate) fn waits(&self) {
        self.exhausted();
    }

    /// A release finished.
    #[inline]
    pub(crate) fn released(&self, stamp: Stamp) {
        self.end(stamp, &self.release_ns, &self.release_samples);
    }

    /// The figures now, for a pool that has (or not) a reset hook and whose
    /// in-use count `in_use` reads after the counters.
    ///
    /// Read while other threads work, each figure is within its bounds:
    /// allocations and exhausted gets are counts of calls that completed
    /// (a get is counted after its object was taken, so the in-use count read
    /// afterwards includes it); releases are allocations less the objects
    /// still out, never negative and never more than the releases made; the
    /// same for resets. Once the threads have joined, all are exact.
    pub(crate) fn totals(&self, in_use: impl FnOnce() -> usize, has_reset: bool) -> Totals {
        let reset_panics = self.reset_panics.get();
        let exhausted = self.exhausted.get();
        let allocations = self.gets.get();
        let given = allocations + self.carried.get();
        let releases = given.saturating_sub(in_use() as u64 + self.taken.get());
        Totals {
            allocations,
            releases,
            resets: if has_reset {
                releases.saturating_sub(reset_panics)
            } else {
                0
            },
            growth_events: self.growth_events.get(),
            exhausted,
            peak_in_use: self.peak_in_use.get(),
            get_ns: self.get_ns.get(),
            get_samples: self.get_samples.get(),
            release_ns: self.release_ns.get(),
            release_samples: self.release_samples.get(),
            discarded: self.discarded.get(),
        }
    }
}

/// Starts a timing if call number `n` (from 0) is sampled.
#[inline(always)]
fn start(n: u64) -> Stamp {
    #[cfg(feature = "std")]
    {
        if n % SAMPLE_EVERY == 0 {
            now()
        } else {
            None
        }
    }
    #[cfg(not(feature = "std"))]
    {
        let _ = n;
    }
}

/// The clock read of a sampled call, out of the hot path.
#[cfg(feature = "std")]
#[cold]
#[inline(never)]
fn now() -> Stamp {
    Some(std::time::Instant::now())
}

/// The minimum over a few back-to-back clock reads: what a sample costs
/// beyond the work it times.
#[cfg(feature = "std")]
fn clock_overhead_ns() -> u64 {
    (0..16)
        .map(|_| {
            let start = std::time::Instant::now();
            u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
        })
        .min()
        .unwrap_or(0)
}

/// A recorder's figures, summable across the per-thread pools of a
/// `ThreadLocalPool`.
#[derive(Clone, Copy, Default)]
pub(crate) struct Totals {
    allocations: u64,
    releases: u64,
    resets: u64,
    growth_events: u64,
    exhausted: u64,
    peak_in_use: u64,
    get_ns: u64,
    get_samples: u64,
    release_ns: u64,
    release_samples: u64,
    discarded: u64,
}

impl core::ops::Add for Totals {
    type Output = Self;
    /// Sums every figure; the peaks too, so a thread-local pool's peak is the
    /// sum of its threads' peaks (an upper bound of the true peak).
    fn add(self, o: Self) -> Self {
        Self {
            allocations: self.allocations + o.allocations,
            releases: self.releases + o.releases,
            resets: self.resets + o.resets,
            growth_events: self.growth_events + o.growth_events,
            exhausted: self.exhausted + o.exhausted,
            peak_in_use: self.peak_in_use + o.peak_in_use,
            get_ns: self.get_ns + o.get_ns,
            get_samples: self.get_samples + o.get_samples,
            release_ns: self.release_ns + o.release_ns,
            release_samples: self.release_samples + o.release_samples,
            discarded: self.discarded + o.discarded,
        }
    }
}

impl Totals {
    /// Writes the counters and averages into `snapshot`; the peak capacity is
    /// the current one (stores never shrink).
    pub(crate) fn fill(self, snapshot: &mut StatsSnapshot) {
        let avg = |ns: u64, n: u64| if n == 0 { 0.0 } else { ns as f64 / n as f64 };
        snapshot.total_allocations = self.allocations;
        snapshot.total_releases = self.releases;
        snapshot.total_resets = self.resets;
        snapshot.growth_events = self.growth_events;
        snapshot.exhausted = self.exhausted;
        snapshot.peak_in_use = self.peak_in_use.max(snapshot.current_in_use);
        snapshot.peak_capacity = snapshot.current_capacity;
        snapshot.avg_allocation_time_ns = avg(self.get_ns, self.get_samples);
        snapshot.avg_release_time_ns = avg(self.release_ns, self.release_samples);
        snapshot.total_discarded = self.discarded;
        snapshot.total_allocation_time_ns =
            (snapshot.avg_allocation_time_ns * self.allocations as f64) as u64;
        snapshot.total_release_time_ns =
            (snapshot.avg_release_time_ns * self.releases as f64) as u64;
    }
}

impl fmt::Display for StatsSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: [(&str, &dyn fmt::Display); 15] = [
            ("in use", &self.current_in_use),
            ("idle", &self.idle),
            ("waiting", &self.waiting),
            ("capacity", &self.current_capacity),
            ("max capacity", &self.max_capacity),
            ("peak in use", &self.peak_in_use),
            ("peak capacity", &self.peak_capacity),
            ("allocations", &self.total_allocations),
            ("releases", &self.total_releases),
            ("resets", &self.total_resets),
            ("growth events", &self.growth_events),
            ("exhausted", &self.exhausted),
            ("discarded", &self.total_discarded),
            ("avg get (ns)", &self.avg_allocation_time_ns),
            ("avg release (ns)", &self.avg_release_time_ns),
        ];
        for (i, (name, value)) in rows.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            // Precision applies to the f64 timings; integers ignore it.
            write!(f, "{name:<17} {value:>12.1}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn display_is_a_table_with_every_figure() {
        let s = StatsSnapshot {
            current_in_use: 3,
            current_capacity: 10,
            avg_allocation_time_ns: 12.345,
            ..StatsSnapshot::default()
        };
        let text = s.to_string();
        assert_eq!(text.lines().count(), 15);
        assert!(text.lines().next().unwrap().ends_with(" 3"), "{text}");
        assert!(text.contains("avg get (ns)              12.3"), "{text}");
    }
}
