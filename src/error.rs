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
#[derive(Clone, Debug, PartialEq, Eq)]
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
}

impl ConfigError {
    /// Checks a capacity against the index space.
    pub(crate) fn check_capacity(capacity: usize) -> Result<usize, Self> {
        match capacity {
            0 => Err(Self::ZeroCapacity),
            c if c > crate::MAX_CAPACITY => Err(Self::CapacityTooLarge {
                requested: c,
                max: crate::MAX_CAPACITY,
            }),
            c => Ok(c),
        }
    }

    /// The capacity check of the `new` constructors: panics with the message.
    #[track_caller]
    pub(crate) fn expect_capacity(capacity: usize, constructor: &str) -> usize {
        match Self::check_capacity(capacity) {
            Ok(c) => c,
            Err(e) => panic!("{constructor}: {e}"),
        }
    }
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
        }
    }
}

impl core::error::Error for ConfigError {}
