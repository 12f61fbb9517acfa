//! Errors: [`PoolExhausted`] from `get`, [`ConfigError`] from the builder.

use core::fmt;

/// Every object the pool may hold is in use: `get` found no free object.
///
/// Release a guard (or drop it) and try again, or build the pool with a larger
/// capacity. The message names the capacity.
///
/// ```
/// use fastalloc::FixedPool;
///
/// let pool = FixedPool::new(1, || 0u32);
/// let _held = pool.get()?;
/// let err = pool.get().unwrap_err();
/// assert_eq!(err.capacity(), 1);
/// assert!(err.to_string().contains("all 1 objects are in use"));
/// # Ok::<(), fastalloc::PoolExhausted>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolExhausted {
    capacity: usize,
}

impl PoolExhausted {
    /// Built on the failure path only, so it is kept out of line.
    #[cold]
    #[inline(never)]
    pub(crate) fn new(capacity: usize) -> Self {
        Self { capacity }
    }

    /// The capacity of the pool that ran out.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl fmt::Display for PoolExhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pool exhausted: all {} objects are in use; release a guard first, \
             or build the pool with a larger capacity",
            self.capacity
        )
    }
}

impl core::error::Error for PoolExhausted {}

/// A pool setting that cannot work. Returned by the `PoolBuilder::build_*`
/// methods; the `new` constructors panic with the same message.
///
/// ```
/// use fastalloc::{ConfigError, PoolBuilder};
///
/// let err = PoolBuilder::new(|| 0u8).capacity(0).build_fixed().unwrap_err();
/// assert_eq!(err, ConfigError::ZeroCapacity);
/// assert!(err.to_string().contains("capacity must be at least 1"));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    /// `.capacity(n)` was never called.
    MissingCapacity,
    /// A capacity of 0 was asked for: a pool must hold at least one object.
    ZeroCapacity,
    /// The capacity is beyond what a pool can index.
    CapacityTooLarge {
        /// The capacity asked for.
        requested: usize,
        /// The largest capacity a pool supports ([`crate::MAX_CAPACITY`]).
        max: usize,
    },
    /// `max_capacity` is below `capacity`.
    MaxBelowCapacity {
        /// The (initial) capacity.
        capacity: usize,
        /// The maximum asked for.
        max_capacity: usize,
    },
    /// `max_capacity` is beyond what a pool can index.
    MaxCapacityTooLarge {
        /// The maximum asked for.
        requested: usize,
        /// The largest capacity a pool supports ([`crate::MAX_CAPACITY`]).
        max: usize,
    },
    /// `Growth::Exponential(f)` with `f <= 1.0` (or not finite): the pool
    /// would never grow.
    GrowthFactorTooSmall {
        /// The factor asked for.
        factor: f64,
    },
    /// `Growth::Linear(0)`: the pool would never grow.
    ZeroIncrement,
    /// A growth setting (`max_capacity` or `growth`) was given to a pool
    /// kind that never grows.
    GrowthNotSupported {
        /// The pool kind built (`"FixedPool"`, `"ThreadLocalPool"`).
        pool: &'static str,
        /// The setting that does not apply.
        setting: &'static str,
    },
    /// `growth` was set for a `ThreadSafePool` or `AsyncPool` without a
    /// `max_capacity` above `capacity`, so it would never be used.
    GrowthWithoutMax {
        /// The pool kind built.
        pool: &'static str,
    },
    /// The growth schedule from `capacity` to `max_capacity` needs more
    /// segments (the initial one plus one per step) than a pool can have.
    TooManySegments {
        /// Segments the schedule needs: exact for `Growth::Linear`; for
        /// `Growth::Exponential`, counted for at most `4 * MAX_SEGMENTS`
        /// steps past the limit, so a lower bound for longer schedules.
        segments: usize,
        /// The limit ([`crate::MAX_SEGMENTS`]).
        limit: usize,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingCapacity => f.write_str(
                "no capacity set: call .capacity(n) on the builder with the number of objects \
                 the pool should hold",
            ),
            Self::ZeroCapacity => {
                f.write_str("capacity must be at least 1 (got 0): a pool needs room for one object")
            }
            Self::CapacityTooLarge { requested, max } => write!(
                f,
                "capacity {requested} is beyond the index space: a pool holds at most {max} \
                 objects; use a smaller capacity or several pools"
            ),
            Self::MaxBelowCapacity {
                capacity,
                max_capacity,
            } => write!(
                f,
                "max_capacity {max_capacity} is below capacity {capacity}: the maximum must be \
                 at least the initial capacity"
            ),
            Self::MaxCapacityTooLarge { requested, max } => write!(
                f,
                "max_capacity {requested} is beyond the index space: a pool holds at most {max} \
                 objects; use a smaller maximum"
            ),
            Self::GrowthFactorTooSmall { factor } => write!(
                f,
                "growth factor {factor} would never grow the pool: use Growth::Exponential \
                 with a finite factor above 1.0, e.g. 2.0"
            ),
            Self::ZeroIncrement => f.write_str(
                "Growth::Linear(0) would never grow the pool: use an increment of at least 1",
            ),
            Self::GrowthNotSupported { pool, setting } => write!(
                f,
                "{setting} was set, but a {pool} never grows: drop the setting, or build a \
                 GrowingPool (build_growing) or a growing ThreadSafePool"
            ),
            Self::GrowthWithoutMax { pool } => write!(
                f,
                "growth was set for a {pool} without a max_capacity above its capacity, so it \
                 would never grow: also set .max_capacity(m)"
            ),
            Self::TooManySegments { segments, limit } => write!(
                f,
                "the growth schedule needs at least {segments} segments, more than the {limit} a pool \
                 can have: use a larger Growth::Linear increment or Growth::Exponential"
            ),
        }
    }
}

impl core::error::Error for ConfigError {}
