//! Statistics: exact counts (also across threads), zero when off, a table
//! when printed.

mod common;

use common::{scaled, Counters};
use fastalloc::{PoolBuilder, StatsSnapshot};

#[test]
fn counts_every_event_exactly() {
    let c = Counters::new();
    let pool = PoolBuilder::new(c.init())
        .capacity(3)
        .reset(c.reset())
        .statistics(true)
        .build_fixed()
        .unwrap();
    let a = pool.get().unwrap();
    let b = pool.get().unwrap();
    let x = pool.get().unwrap();
    assert!(pool.get().is_err());
    assert!(pool.get().is_err());
    drop((a, b));
    pool.release(x);
    let _d = pool.get().unwrap();
    let s = pool.stats();
    assert_eq!(s.total_allocations, 4);
    assert_eq!(s.total_releases, 3);
    assert_eq!(s.total_resets, 3);
    assert_eq!(s.exhausted, 2);
    assert_eq!(s.peak_in_use, 3);
    assert_eq!((s.current_in_use, s.current_capacity), (1, 3));
    assert_eq!((s.peak_capacity, s.growth_events), (3, 0));
    assert!(
        s.avg_allocation_time_ns >= 0.0 && s.avg_release_time_ns >= 0.0,
        "{s:?}"
    );
}

#[test]
fn timings_are_sampled_means() {
    let pool = PoolBuilder::new(|| vec![0u8; 64])
        .capacity(4)
        .reset(|v: &mut Vec<u8>| {
            // A reset slow enough to show in the release timing.
            std::thread::sleep(std::time::Duration::from_micros(50));
            v.clear();
        })
        .statistics(true)
        .build_fixed()
        .unwrap();
    for _ in 0..130 {
        drop(pool.get().unwrap());
    }
    let s = pool.stats();
    assert!(
        s.avg_release_time_ns > 10_000.0,
        "releases sleep 50 µs in reset: {s:?}"
    );
}

#[test]
fn everything_but_the_current_figures_is_zero_when_off() {
    let pool = PoolBuilder::new(|| 0u8).capacity(2).build_fixed().unwrap();
    let _a = pool.get().unwrap();
    let _b = pool.get().unwrap();
    assert!(pool.get().is_err());
    let mut expected = StatsSnapshot::default();
    expected.current_in_use = 2;
    expected.current_capacity = 2;
    expected.max_capacity = 2;
    assert_eq!(pool.stats(), expected);
}

#[test]
fn shared_counts_add_up_after_threads_join() {
    let c = Counters::new();
    let pool = PoolBuilder::new(c.init())
        .capacity(2)
        .max_capacity(6)
        .reset(c.reset())
        .statistics(true)
        .build_thread_safe()
        .unwrap();
    let rounds = scaled(5_000, 50);
    let threads = 4;
    let got = std::sync::atomic::AtomicU64::new(0);
    let failed = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for i in 0..rounds {
                    match pool.get() {
                        Ok(g) => {
                            got.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if i % 3 == 0 {
                                let second = pool.get();
                                let counter = if second.is_ok() { &got } else { &failed };
                                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }
                            drop(g);
                        }
                        Err(_) => {
                            failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    let s = pool.stats();
    let got = got.into_inner();
    assert_eq!(s.total_allocations, got);
    assert_eq!(s.total_releases, got);
    assert_eq!(s.total_resets, got);
    assert_eq!(c.resets() as u64, got);
    assert_eq!(s.exhausted, failed.into_inner());
    assert_eq!(s.current_in_use, 0);
    assert!(s.peak_in_use >= 2 && s.peak_in_use <= 6, "{s:?}");
    assert_eq!(s.peak_capacity, s.current_capacity);
    assert_eq!(
        s.growth_events as usize,
        [2, 4, 6]
            .iter()
            .position(|&c| c == s.current_capacity)
            .unwrap()
    );
}

#[test]
fn display_is_a_table_of_every_figure() {
    let pool = PoolBuilder::new(|| 0u8)
        .capacity(2)
        .statistics(true)
        .build_thread_safe()
        .unwrap();
    drop(pool.get().unwrap());
    let text = pool.stats().to_string();
    assert_eq!(text.lines().count(), 15, "{text}");
    for label in [
        "in use",
        "idle",
        "waiting",
        "max capacity",
        "discarded",
        "capacity",
        "allocations",
        "releases",
        "exhausted",
        "avg get (ns)",
    ] {
        assert!(text.contains(label), "{label} missing:\n{text}");
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("allocations") && l.ends_with(" 1")),
        "{text}"
    );
}

#[test]
fn a_panicking_reset_counts_as_a_release_but_not_a_reset() {
    let c = Counters::new();
    let pool = PoolBuilder::new(c.init())
        .capacity(2)
        .reset(c.reset())
        .statistics(true)
        .build_fixed()
        .unwrap();
    drop(pool.get().unwrap());
    c.set_reset_panics(true);
    let g = pool.get().unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(g)));
    assert!(caught.is_err());
    c.set_reset_panics(false);
    let s = pool.stats();
    assert_eq!((s.total_allocations, s.total_releases), (2, 2));
    assert_eq!(s.total_resets, 1, "the panicked reset is not counted");
    assert_eq!(s.current_in_use, 0);
}

/// Found by the `ops` fuzz target: a `get` whose `init` panicked was counted
/// as an allocation, a release and a reset.
#[test]
fn a_panicking_init_counts_as_neither_an_allocation_nor_a_release() {
    let c = Counters::new();
    let fixed = PoolBuilder::new(c.init())
        .capacity(2)
        .reset(c.reset())
        .statistics(true)
        .build_fixed()
        .unwrap();
    let shared = PoolBuilder::new(c.init())
        .capacity(2)
        .reset(c.reset())
        .statistics(true)
        .build_thread_safe()
        .unwrap();
    c.set_init_panics(true);
    let fixed_get = || drop(fixed.get());
    let shared_get = || drop(shared.get());
    for get in [&fixed_get as &dyn Fn(), &shared_get] {
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(get));
        assert!(caught.is_err(), "init panics");
    }
    c.set_init_panics(false);
    for s in [fixed.stats(), shared.stats()] {
        assert_eq!(
            (s.total_allocations, s.total_releases, s.total_resets),
            (0, 0, 0),
            "{s:?}"
        );
        assert_eq!((s.exhausted, s.current_in_use), (0, 0), "{s:?}");
    }
    drop(fixed.get().unwrap());
    let s = fixed.stats();
    assert_eq!(
        (s.total_allocations, s.total_releases, s.total_resets),
        (1, 1, 1)
    );
}

/// Statistics read by a monitoring thread while workers get, fail and
/// release stay within their bounds at every moment: no figure is negative
/// (a debug build once panicked subtracting racing reads; a release build
/// reported allocations near 2^64) or above the calls made so far; and they
/// are exact once the workers have joined. On every kind that shares its
/// figures across threads.
#[test]
fn shared_stats_read_while_threads_work_stay_within_bounds() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
    fn check<P: Sync>(
        pool: &P,
        get_release: impl Fn(&P) -> u64 + Sync,
        stats: impl Fn(&P) -> StatsSnapshot + Sync,
    ) {
        let calls = AtomicU64::new(0);
        let done = AtomicBool::new(false);
        let rounds = scaled(20_000, 6);
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        let mut failed = 0u64;
                        for _ in 0..rounds {
                            // Counted before the call: a snapshot never
                            // reports more than was called.
                            calls.fetch_add(2, SeqCst);
                            failed += get_release(pool);
                        }
                        failed
                    })
                })
                .collect();
            s.spawn(|| {
                let mut reads = 0;
                while !done.load(SeqCst) || reads == 0 {
                    let st = stats(pool);
                    let made = calls.load(SeqCst);
                    reads += 1;
                    assert!(st.total_allocations <= made, "{st:?} after {made} calls");
                    assert!(st.exhausted <= made, "{st:?} after {made} calls");
                    assert!(
                        st.total_allocations + st.exhausted <= made,
                        "{st:?} after {made} calls"
                    );
                    assert!(st.total_releases <= st.total_allocations, "{st:?}");
                    assert!(st.total_resets <= st.total_releases, "{st:?}");
                    assert!(st.current_in_use <= st.current_capacity, "{st:?}");
                }
            });
            let failed: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
            done.store(true, SeqCst);
            let st = stats(pool);
            let made = calls.load(SeqCst);
            assert_eq!(st.exhausted, failed, "{st:?}");
            assert_eq!(st.total_allocations + st.exhausted, made, "{st:?}");
            assert_eq!(st.total_releases, st.total_allocations, "{st:?}");
            assert_eq!(st.total_resets, st.total_releases, "{st:?}");
        });
    }
    /// A pool of `capacity` with a reset hook and statistics.
    fn built(capacity: usize) -> PoolBuilder<u64, impl Fn() -> u64, impl Fn(&mut u64)> {
        PoolBuilder::new(|| 0u64)
            .capacity(capacity)
            .reset(|x: &mut u64| *x = 0)
            .statistics(true)
    }
    /// How many of two gets failed.
    fn failures<G, E>(a: Result<G, E>, b: Result<G, E>) -> u64 {
        u64::from(a.is_err()) + u64::from(b.is_err())
    }
    // Each worker gets two objects at a time from a pool of 3: some gets
    // fail.
    let pool = built(3).build_thread_safe().unwrap();
    check(&pool, |p| failures(p.get(), p.get()), |p| p.stats());
    let pool = built(3).build_async().unwrap();
    check(&pool, |p| failures(p.try_get(), p.try_get()), |p| p.stats());
    // One object per thread: every second get fails.
    let pool = built(1).build_thread_local().unwrap();
    check(&pool, |p| failures(p.get(), p.get()), |p| p.stats());
}

/// With the `serde` feature (`cargo test --features serde --test stats`), a
/// snapshot serialises with every figure under its field name.
#[cfg(feature = "serde")]
#[test]
fn a_snapshot_serialises_with_serde() {
    let pool = PoolBuilder::new(|| vec![0u8; 8])
        .capacity(4)
        .reset(Vec::clear)
        .recycle_if(|v: &Vec<u8>| v.capacity() <= 64)
        .statistics(true)
        .build_thread_safe()
        .unwrap();
    let held = pool.get().unwrap();
    let mut big = pool.get().unwrap();
    big.reserve(1024);
    drop(big);
    let json = serde_json::to_value(pool.stats()).unwrap();
    assert_eq!(json["total_allocations"], 2);
    assert_eq!(json["total_releases"], 1);
    assert_eq!(json["total_discarded"], 1);
    assert_eq!(json["current_in_use"], 1);
    assert_eq!(json["current_capacity"], 4);
    assert_eq!(json["max_capacity"], 4);
    assert_eq!(json["idle"], 0);
    assert_eq!(json["waiting"], 0);
    assert!(json["avg_allocation_time_ns"].is_number());
    assert!(json["total_release_time_ns"].is_u64());
    let fields = json.as_object().unwrap().len();
    assert_eq!(fields, 17, "every figure is serialised: {json}");
    drop(held);
}
