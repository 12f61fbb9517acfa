//! Arbitrary builder settings for every pool kind, and arbitrary capacities
//! for the `new` constructors: the result is a `ConfigError` whose claim is
//! true of the settings (or a `new` panic with a clear message), or a pool
//! that works as configured. Never another panic, never UB.
//!
//! Initial capacities are drawn from `0..=4096` or from above
//! `MAX_CAPACITY` (always refused), so a valid pool never allocates
//! gigabytes; maxima of growing pools may be anything, since their segments
//! are allocated only when the pool grows.
#![no_main]

use arbitrary::Arbitrary;
use fastalloc::{ConfigError, FixedPool, Growth, MAX_CAPACITY, MAX_SEGMENTS};
use fastalloc_fuzz::{
    built, catch_quietly, make_obj, may_panic, reset_counters, Config, Harness, Obj,
};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum Kind {
    Fixed,
    Growing,
    ThreadSafe,
    ThreadLocal,
    Async,
    /// `FixedPool::new` (panics instead of returning an error).
    New,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Capacity {
    Small(u16),
    /// `MAX_CAPACITY` plus one plus this (saturating): always too large.
    Beyond(u64),
    Edge(bool),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Max {
    Small(u16),
    Any(u64),
    AtMax,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum GrowthIn {
    Linear(u64),
    LinearSmall(u8),
    Exponential(f64),
    Factor(u8),
}

#[derive(Arbitrary, Debug)]
struct Input {
    kind: Kind,
    capacity: Option<Capacity>,
    max: Option<Max>,
    growth: Option<GrowthIn>,
    pre_initialize: bool,
    statistics: bool,
    reset: bool,
}

fn growth_of(input: &Input) -> Option<Growth> {
    input.growth.map(|g| match g {
        GrowthIn::Linear(n) => Growth::Linear(usize_of(n)),
        GrowthIn::LinearSmall(n) => Growth::Linear(usize::from(n)),
        GrowthIn::Exponential(f) => Growth::Exponential(f),
        GrowthIn::Factor(k) => Growth::Exponential(1.0 + f64::from(k) / 64.0),
    })
}

fn usize_of(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

fuzz_target!(|input: Input| {
    reset_counters();
    let capacity = input.capacity.map(|c| match c {
        Capacity::Small(n) => usize::from(n) % 4097,
        Capacity::Beyond(extra) => (MAX_CAPACITY + 1).saturating_add(usize_of(extra)),
        // MAX_CAPACITY + 1 is the smallest capacity refused.
        Capacity::Edge(big) => {
            if big {
                MAX_CAPACITY + 1
            } else {
                1
            }
        }
    });
    let max = input.max.map(|m| match m {
        Max::Small(n) => usize::from(n),
        Max::Any(n) => usize_of(n),
        Max::AtMax => MAX_CAPACITY,
    });
    let growth = growth_of(&input);

    if input.kind == Kind::New {
        let Some(capacity) = capacity else { return };
        let result = catch_quietly(|| FixedPool::new(capacity, make_obj));
        match result {
            Ok(pool) => {
                assert!((1..=MAX_CAPACITY).contains(&capacity));
                assert_eq!(pool.capacity(), capacity);
                assert!(pool.get().is_ok());
            }
            Err(message) => {
                assert!(capacity == 0 || capacity > MAX_CAPACITY, "{message}");
                assert!(message.starts_with("FixedPool::new: "), "{message}");
            }
        }
        return;
    }

    let config = Config {
        capacity: 0,
        max_capacity: max,
        growth,
        pre_initialize: input.pre_initialize,
        statistics: input.statistics,
        reset: input.reset,

        recycle: false,
    };
    // The builder with exactly the settings given (capacity may be unset).
    let build = |kind: Kind| -> Result<(), ConfigError> {
        let mut b = config.builder();
        b = match capacity {
            Some(c) => b.capacity(c),
            None => fastalloc_fuzz::without_capacity(&config),
        };
        match kind {
            Kind::Fixed => check_pool(b.build_fixed()?, capacity, capacity, &input),
            Kind::Growing => check_pool(
                b.build_growing()?,
                capacity,
                Some(max.unwrap_or(MAX_CAPACITY)),
                &input,
            ),
            Kind::ThreadSafe => {
                check_pool(b.build_thread_safe()?, capacity, max.or(capacity), &input)
            }
            Kind::ThreadLocal => check_pool(b.build_thread_local()?, capacity, capacity, &input),
            Kind::Async => check_pool(b.build_async()?, capacity, max.or(capacity), &input),
            Kind::New => unreachable!(),
        }
        Ok(())
    };
    let result =
        may_panic(|| build(input.kind)).unwrap_or_else(|m| panic!("building panicked: {m}"));
    let grows = matches!(input.kind, Kind::Growing | Kind::ThreadSafe | Kind::Async);
    match result {
        Ok(()) => {
            // What any valid configuration satisfies.
            let c = capacity.expect("built without a capacity");
            assert!((1..=MAX_CAPACITY).contains(&c));
            if grows {
                let m = max.unwrap_or(MAX_CAPACITY);
                assert!(c <= m && m <= MAX_CAPACITY);
                if let Some(g) = growth {
                    match g {
                        Growth::Linear(n) => assert!(n > 0),
                        Growth::Exponential(f) => assert!(f > 1.0 && f.is_finite()),
                    }
                }
            } else {
                assert!(max.is_none() && growth.is_none());
            }
        }
        Err(e) => {
            let text = e.to_string();
            assert!(text.len() > 20, "{text}");
            // The error's claim is true of the settings.
            match e {
                ConfigError::MissingCapacity => assert!(capacity.is_none()),
                ConfigError::ZeroCapacity => assert_eq!(capacity, Some(0)),
                ConfigError::CapacityTooLarge { requested, max: m } => {
                    assert_eq!(Some(requested), capacity);
                    assert!(requested > m && m == MAX_CAPACITY);
                }
                ConfigError::MaxBelowCapacity {
                    capacity: c,
                    max_capacity,
                } => {
                    assert!(grows && Some(c) == capacity && Some(max_capacity) == max);
                    assert!(max_capacity < c);
                }
                ConfigError::MaxCapacityTooLarge { requested, max: m } => {
                    assert!(grows && Some(requested) == max);
                    assert!(requested > m && m == MAX_CAPACITY);
                }
                ConfigError::GrowthFactorTooSmall { factor } => {
                    let Some(Growth::Exponential(f)) = growth else {
                        panic!("{e}")
                    };
                    assert_eq!(f.to_bits(), factor.to_bits());
                    assert!(!(f > 1.0 && f.is_finite()));
                }
                ConfigError::ZeroIncrement => assert_eq!(growth, Some(Growth::Linear(0))),
                ConfigError::GrowthNotSupported { pool, setting } => {
                    assert!(!grows, "{pool}");
                    match setting {
                        "max_capacity" => assert!(max.is_some()),
                        "growth" => assert!(growth.is_some()),
                        other => panic!("setting {other}"),
                    }
                }
                ConfigError::GrowthWithoutMax { .. } => {
                    assert!(matches!(input.kind, Kind::ThreadSafe | Kind::Async));
                    assert!(growth.is_some() && max.unwrap_or(0) <= capacity.unwrap_or(0));
                }
                ConfigError::TooManySegments { segments, limit } => {
                    assert!(grows && limit == MAX_SEGMENTS && segments > limit);
                    let (c, m) = (capacity.unwrap(), max.unwrap_or(MAX_CAPACITY));
                    assert!(m - c >= MAX_SEGMENTS, "each step adds at least one");
                    if let Some(Growth::Linear(n)) = growth {
                        assert_eq!(segments, 1 + (m - c).div_ceil(n));
                    }
                }
                other => panic!("unknown error {other:?}"),
            }
        }
    }
});

/// A pool built from valid settings works as configured.
fn check_pool<P: Harness>(pool: P, capacity: Option<usize>, max: Option<usize>, input: &Input) {
    let capacity = capacity.unwrap();
    pool.touch();
    assert_eq!(pool.capacity(), capacity, "{}", P::NAME);
    assert_eq!(pool.max_capacity(), max.unwrap(), "{}", P::NAME);
    if input.pre_initialize {
        assert_eq!(built() as usize, capacity, "{}", P::NAME);
    }
    let max = max.unwrap();
    // Fill small pools to their maximum; larger ones a few steps past their
    // initial capacity.
    // The size of the first growth step: past 2^16 slots the run stays at
    // the initial capacity (a fuzz run is no place for gigabyte segments).
    let step = match growth_of(input).unwrap_or_default() {
        Growth::Linear(n) => n.min(max - capacity),
        Growth::Exponential(f) => {
            ((capacity as f64 * (f - 1.0)).ceil() as usize).min(max - capacity)
        }
    };
    let target = if step > 1 << 16 {
        capacity
    } else if max <= 512 {
        max
    } else {
        (capacity + 3).min(max)
    };
    let mut held: Vec<P::Guard<'_>> = Vec::new();
    for _ in 0..target {
        held.push(pool.get().unwrap_or_else(|e| panic!("{}: {e}", P::NAME)));
    }
    assert_eq!(pool.in_use(), held.len());
    if target == max {
        assert!(pool.get().is_err(), "{}: full at {max}", P::NAME);
    }
    let first: &Obj = &held[0];
    assert!(first.id < built());
    drop(held);
    assert_eq!(pool.in_use(), 0);
}
