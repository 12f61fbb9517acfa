//! [`Growth`]: how a growing pool adds capacity, and the segment schedule it
//! implies.
//!
//! A growing pool's storage is a table of segments: segment 0 holds the
//! initial capacity, and each growth step appends one segment of the step's
//! size. The whole schedule (where each segment starts) is fixed when the pool
//! is built, so an index maps to its segment without locks, and a segment,
//! once added, never moves.

use crate::error::ConfigError;
use crate::tag::MAX_CAPACITY;
use alloc::vec::Vec;

/// How a growing pool adds capacity when it runs out.
///
/// The last step is cut down to the pool's `max_capacity` rather than refused:
/// `Linear(2)` from 2 with a maximum of 5 grows 2 → 4 → 5.
///
/// ```
/// use fastalloc::{Growth, PoolBuilder};
///
/// let pool = PoolBuilder::new(|| [0u8; 64])
///     .capacity(2)
///     .max_capacity(5)
///     .growth(Growth::Linear(2))
///     .build_growing()?;
/// let held: Vec<_> = (0..5).map(|_| pool.get()).collect::<Result<_, _>>()?;
/// assert_eq!(pool.capacity(), 5);
/// assert!(pool.get().is_err(), "5 is the maximum");
/// # drop(held);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Growth {
    /// Add this many objects per step (at least 1).
    Linear(usize),
    /// Multiply the capacity by this factor per step (above 1.0), rounding
    /// up, and adding at least one object.
    Exponential(f64),
}

impl Default for Growth {
    /// `Exponential(2.0)`: doubling, as `GrowingPool::new` does.
    fn default() -> Self {
        Growth::Exponential(2.0)
    }
}

/// The most segments one pool's schedule may have. Each costs 12 bytes of
/// table when the pool is built, so a schedule of millions of tiny steps is
/// refused with [`ConfigError::TooManySegments`] instead.
pub const MAX_SEGMENTS: usize = 1 << 16;

impl Growth {
    /// Checks the setting itself.
    pub(crate) fn check(self) -> Result<Self, ConfigError> {
        match self {
            Growth::Linear(0) => Err(ConfigError::ZeroIncrement),
            // NaN is neither above nor below 1.0: refused too.
            Growth::Exponential(f)
                if f.partial_cmp(&1.0) != Some(core::cmp::Ordering::Greater) || !f.is_finite() =>
            {
                Err(ConfigError::GrowthFactorTooSmall { factor: f })
            }
            g => Ok(g),
        }
    }

    /// The capacity after one step from `current`, cut to `max`.
    fn next(self, current: usize, max: usize) -> usize {
        let grown = match self {
            Growth::Linear(n) => current.saturating_add(n),
            Growth::Exponential(f) => {
                let g = current as f64 * f;
                // Rounds up (no `f64::ceil` without std); `as` saturates for
                // floats beyond usize.
                let t = g as usize;
                let up = if (t as f64) < g {
                    t.saturating_add(1)
                } else {
                    t
                };
                up.max(current + 1)
            }
        };
        grown.min(max)
    }

    /// Segment starts for a pool growing from `capacity` to `max`:
    /// `starts[0] = 0`, `starts[k]` is where segment `k` begins, and the last
    /// entry is `max` (the end of the last segment). Both capacities are
    /// already checked against the index space.
    pub(crate) fn schedule(self, capacity: usize, max: usize) -> Result<Vec<u32>, ConfigError> {
        debug_assert!(0 < capacity && capacity <= max && max <= MAX_CAPACITY);
        let mut starts = Vec::from([0, capacity as u32]);
        let mut current = capacity;
        while current < max {
            if starts.len() > MAX_SEGMENTS {
                let mut steps = starts.len() - 1;
                if let Growth::Linear(n) = self {
                    steps += (max - current).div_ceil(n);
                } else {
                    // Counted step by step, but not forever: a factor just
                    // above 1.0 adds one object per step, up to 2^31 steps.
                    // Past this budget the count is a lower bound.
                    let mut budget = 4 * MAX_SEGMENTS;
                    while current < max && budget > 0 {
                        current = self.next(current, max);
                        steps += 1;
                        budget -= 1;
                    }
                }
                return Err(ConfigError::TooManySegments {
                    segments: steps,
                    limit: MAX_SEGMENTS,
                });
            }
            current = self.next(current, max);
            starts.push(current as u32);
        }
        Ok(starts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_schedule_cuts_the_last_step_to_max() {
        assert_eq!(Growth::Linear(2).schedule(2, 5).unwrap(), [0, 2, 4, 5]);
        assert_eq!(Growth::Linear(100).schedule(100, 100).unwrap(), [0, 100]);
    }

    #[test]
    fn exponential_schedule_rounds_up_and_always_grows() {
        assert_eq!(
            Growth::Exponential(2.0).schedule(3, 20).unwrap(),
            [0, 3, 6, 12, 20]
        );
        // 1 * 1.1 rounds up to 2: each step adds at least one object.
        assert_eq!(
            Growth::Exponential(1.1).schedule(1, 4).unwrap(),
            [0, 1, 2, 3, 4]
        );
    }

    #[test]
    fn doubling_to_the_index_space_is_a_short_table() {
        let starts = Growth::default().schedule(1, MAX_CAPACITY).unwrap();
        assert_eq!(starts.len(), 33);
        assert_eq!(*starts.last().unwrap() as usize, MAX_CAPACITY);
    }

    #[test]
    fn too_many_steps_is_an_error_naming_the_count() {
        let err = Growth::Linear(1).schedule(1, 1 << 20).unwrap_err();
        assert_eq!(
            err,
            ConfigError::TooManySegments {
                segments: 1 << 20,
                limit: MAX_SEGMENTS
            }
        );
    }

    /// A factor just above 1.0 grows by one object per step: rejecting it
    /// once took 2^31 steps (23 s); the count stops at a budget, which the
    /// reported count shows (it would be about 2^31 without one). Pure
    /// arithmetic with no unsafe code, so Miri skips its 327 680 steps.
    #[test]
    #[cfg_attr(miri, ignore = "pure arithmetic, too slow to interpret")]
    fn a_factor_barely_above_one_is_refused_at_once() {
        let err = Growth::Exponential(1.0 + f64::EPSILON)
            .schedule(1, MAX_CAPACITY)
            .unwrap_err();
        let ConfigError::TooManySegments { segments, limit } = err else {
            panic!("{err:?}")
        };
        assert_eq!(limit, MAX_SEGMENTS);
        assert_eq!(segments, 5 * MAX_SEGMENTS, "a lower bound: the budget");
    }

    #[test]
    fn bad_settings_are_refused() {
        assert_eq!(Growth::Linear(0).check(), Err(ConfigError::ZeroIncrement));
        for f in [1.0, 0.5, -2.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                Growth::Exponential(f).check(),
                Err(ConfigError::GrowthFactorTooSmall { .. })
            ));
        }
    }
}
