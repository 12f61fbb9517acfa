//! Growth: schedules, limits, pointers that never move, trim, and threads
//! racing to grow one pool.

mod common;

use common::{scaled, Counters};
use fastalloc::{ConfigError, GrowingPool, Growth, PoolBuilder, ThreadSafePool, MAX_CAPACITY};
use std::collections::HashSet;
use std::sync::{Arc, Barrier};

#[test]
fn linear_growth_cuts_its_last_step_to_the_maximum() {
    let pool = PoolBuilder::new(|| 0u32)
        .capacity(2)
        .max_capacity(5)
        .growth(Growth::Linear(2))
        .statistics(true)
        .build_growing()
        .unwrap();
    let mut held = Vec::new();
    let mut capacities = Vec::new();
    for _ in 0..5 {
        held.push(pool.get().unwrap());
        capacities.push(pool.capacity());
    }
    assert_eq!(capacities, [2, 2, 4, 4, 5]);
    let err = pool.get().unwrap_err();
    assert_eq!(err.capacity(), 5);
    let s = pool.stats();
    assert_eq!((s.growth_events, s.peak_capacity, s.exhausted), (2, 5, 1));
    assert_eq!(s.peak_in_use, 5);
}

#[test]
fn exponential_growth_multiplies_and_rounds_up() {
    let pool = PoolBuilder::new(|| 0u8)
        .capacity(3)
        .max_capacity(100)
        .growth(Growth::Exponential(1.5))
        .build_growing()
        .unwrap();
    let mut seen = vec![pool.capacity()];
    let mut held = Vec::new();
    while held.len() < 100 {
        held.push(pool.get().unwrap());
        if *seen.last().unwrap() != pool.capacity() {
            seen.push(pool.capacity());
        }
    }
    // 3 -> 5 (4.5 up) -> 8 (7.5 up) -> 12 -> 18 -> 27 -> 41 (40.5 up) -> 62 (61.5 up) -> 93 -> 100
    assert_eq!(seen, [3, 5, 8, 12, 18, 27, 41, 62, 93, 100]);
}

#[test]
fn growing_pool_new_doubles_without_a_practical_limit() {
    let pool = GrowingPool::new(1, || [0u8; 16]);
    assert_eq!(pool.max_capacity(), MAX_CAPACITY);
    let held: Vec<_> = (0..33).map(|_| pool.get().unwrap()).collect();
    assert_eq!(pool.capacity(), 64);
    drop(held);
    assert_eq!(pool.available(), 64);
}

#[test]
fn objects_never_move_when_the_pool_grows() {
    let pool = GrowingPool::new(1, || 0u64);
    let mut held = Vec::new();
    let mut addresses = Vec::new();
    for i in 0..scaled(1000, 40) {
        let mut g = pool.get().unwrap();
        *g = i as u64;
        addresses.push(&*g as *const u64 as usize);
        held.push(g);
    }
    for (i, g) in held.iter().enumerate() {
        assert_eq!(**g, i as u64, "object {i} kept its value across growth");
        assert_eq!(
            &**g as *const u64 as usize, addresses[i],
            "object {i} moved"
        );
    }
    assert_eq!(
        addresses.iter().collect::<HashSet<_>>().len(),
        held.len(),
        "distinct slots"
    );
}

#[test]
fn grown_slots_are_reused_lifo_and_dropped_once() {
    let c = Counters::new();
    {
        let pool = PoolBuilder::new(c.init())
            .capacity(1)
            .max_capacity(8)
            .growth(Growth::Linear(3))
            .build_growing()
            .unwrap();
        let held: Vec<_> = (0..6).map(|_| pool.get().unwrap()).collect();
        let last_id = held.last().unwrap().id;
        drop(held);
        assert_eq!(pool.get().unwrap().id, last_id, "LIFO across segments");
        assert_eq!(c.built(), 6);
        assert_eq!(c.alive(), 6);
    }
    assert_eq!(
        c.dropped(),
        6,
        "pool drop drops the objects of every segment"
    );
}

#[test]
fn trim_drops_idle_objects_and_keeps_slots_and_held_objects() {
    let c = Counters::new();
    let pool = PoolBuilder::new(c.init())
        .capacity(2)
        .max_capacity(8)
        .build_growing()
        .unwrap();
    let mut held: Vec<_> = (0..6).map(|_| pool.get().unwrap()).collect();
    let kept = held.remove(0);
    drop(held);
    assert_eq!(c.alive(), 6);
    assert_eq!(pool.trim(), 5, "the five idle objects");
    assert_eq!(c.alive(), 1, "the held object survives");
    assert_eq!(kept.id, 0);
    assert_eq!(pool.capacity(), 8, "slots are kept");
    let g = pool.get().unwrap();
    assert_eq!(c.built(), 7, "a trimmed slot is rebuilt on use");
    drop((g, kept));
    assert_eq!(pool.trim(), 2);
    assert_eq!(c.alive(), 0);
    assert_eq!(pool.in_use(), 0);
}

#[test]
fn thread_safe_pool_grows_only_when_built_to() {
    let fixed = ThreadSafePool::new(2, || 0u8);
    assert_eq!(fixed.max_capacity(), 2);
    let _a = fixed.get().unwrap();
    let _b = fixed.get().unwrap();
    assert!(fixed.get().is_err());

    let growing = PoolBuilder::new(|| 0u8)
        .capacity(2)
        .max_capacity(6)
        .build_thread_safe()
        .unwrap();
    let held: Vec<_> = (0..6).map(|_| growing.get().unwrap()).collect();
    assert_eq!(growing.capacity(), 6, "2 -> 4 -> 6 (doubling, cut to max)");
    assert!(growing.get().is_err());
    drop(held);
}

/// Threads that find the pool empty at once add one segment between them:
/// with `Linear(k)` steps and `n` threads each holding one object, the pool
/// ends at the smallest capacity that holds them all.
#[test]
fn threads_racing_to_grow_add_one_segment_not_two() {
    let threads = 4;
    for round in 0..scaled(200, 4) {
        let pool = PoolBuilder::new(|| [0u8; 32])
            .capacity(1)
            .max_capacity(64)
            .growth(Growth::Linear(threads))
            .statistics(true)
            .build_thread_safe()
            .unwrap();
        let start = Barrier::new(threads);
        let held = Barrier::new(threads);
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    start.wait();
                    let g = pool.get().unwrap();
                    held.wait();
                    drop(g);
                });
            }
        });
        assert_eq!(
            pool.capacity(),
            1 + threads,
            "round {round}: {} objects for {threads} threads",
            pool.capacity()
        );
        assert_eq!(pool.stats().growth_events, 1);
        assert_eq!(pool.in_use(), 0);
    }
}

#[test]
fn owned_guards_of_a_grown_pool_outlive_it() {
    let c = Counters::new();
    let pool = Arc::new(
        PoolBuilder::new(c.init())
            .capacity(1)
            .max_capacity(4)
            .build_thread_safe()
            .unwrap(),
    );
    let owned: Vec<_> = (0..4).map(|_| pool.get_owned().unwrap()).collect();
    drop(pool);
    let worker = std::thread::spawn(move || owned.iter().map(|g| g.id).sum::<usize>());
    assert_eq!(worker.join().unwrap(), 1 + 2 + 3);
    assert_eq!(c.dropped(), 4);
}

#[test]
fn growth_settings_are_checked() {
    let b = || PoolBuilder::new(|| 0u8).capacity(10);
    assert_eq!(
        b().max_capacity(5).build_growing().unwrap_err(),
        ConfigError::MaxBelowCapacity {
            capacity: 10,
            max_capacity: 5
        }
    );
    assert_eq!(
        b().growth(Growth::Linear(0)).build_growing().unwrap_err(),
        ConfigError::ZeroIncrement
    );
    assert!(matches!(
        b().growth(Growth::Exponential(1.0)).build_growing(),
        Err(ConfigError::GrowthFactorTooSmall { factor }) if factor == 1.0
    ));
    assert!(matches!(
        b().max_capacity(MAX_CAPACITY + 1).build_growing(),
        Err(ConfigError::MaxCapacityTooLarge { .. })
    ));
    assert!(matches!(
        b().max_capacity(1 << 30)
            .growth(Growth::Linear(1))
            .build_growing(),
        Err(ConfigError::TooManySegments { .. })
    ));
    assert_eq!(
        b().growth(Growth::Linear(5))
            .build_thread_safe()
            .unwrap_err(),
        ConfigError::GrowthWithoutMax {
            pool: "ThreadSafePool"
        }
    );
    assert_eq!(
        b().growth(Growth::Linear(5)).build_async().unwrap_err(),
        ConfigError::GrowthWithoutMax { pool: "AsyncPool" }
    );
    for (err, setting) in [
        (
            b().max_capacity(20).build_fixed().unwrap_err(),
            "max_capacity",
        ),
        (
            b().growth(Growth::Linear(1)).build_fixed().unwrap_err(),
            "growth",
        ),
    ] {
        assert_eq!(
            err,
            ConfigError::GrowthNotSupported {
                pool: "FixedPool",
                setting
            }
        );
        assert!(err.to_string().contains("never grows"), "{err}");
    }
    assert_eq!(
        b().max_capacity(20).build_thread_local().unwrap_err(),
        ConfigError::GrowthNotSupported {
            pool: "ThreadLocalPool",
            setting: "max_capacity"
        }
    );
    // Each message names the setting and what to do.
    for e in [
        ConfigError::ZeroIncrement,
        ConfigError::GrowthFactorTooSmall { factor: 0.5 },
        ConfigError::MaxBelowCapacity {
            capacity: 3,
            max_capacity: 2,
        },
        ConfigError::GrowthWithoutMax { pool: "AsyncPool" },
    ] {
        let text = e.to_string();
        assert!(
            text.contains("use") || text.contains("must") || text.contains("set"),
            "{text}"
        );
    }
}

/// Found by the `config` fuzz target: a growth step the allocator refuses
/// (here about 137 GB in one segment) aborted the process. Now `get`
/// reports exhaustion and the pool stays usable.
#[test]
#[cfg(not(miri))]
fn a_growth_step_the_allocator_refuses_is_reported_as_exhaustion() {
    let pool = PoolBuilder::new(|| [7u64; 8])
        .capacity(1)
        .max_capacity(fastalloc::MAX_CAPACITY)
        .growth(Growth::Linear(fastalloc::MAX_CAPACITY))
        .statistics(true)
        .build_growing()
        .unwrap();
    let held = pool.get().unwrap();
    let err = pool.get().unwrap_err();
    assert_eq!(err.capacity(), 1);
    assert_eq!((pool.capacity(), pool.stats().growth_events), (1, 0));
    drop(held);
    assert_eq!(*pool.get().unwrap(), [7; 8], "still usable");
}
