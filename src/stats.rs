//! Pool statistics: [`StatsSnapshot`].

use core::fmt;

/// A copy of a pool's figures at one moment, from `pool.stats()`.
///
/// `current_in_use` and `current_capacity` are always exact (for a shared pool,
/// exact whenever no `get` or release is in flight). The counters and timings
/// are zero unless the pool keeps statistics; `peak_capacity` of a fixed-size
/// pool is its capacity.
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
pub struct StatsSnapshot {
    /// Successful `get` calls.
    pub total_allocations: u64,
    /// Objects given back (explicit `release` or guard drop).
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
    /// Mean time of a successful `get`, in nanoseconds.
    pub avg_allocation_time_ns: f64,
    /// Mean time of a release, in nanoseconds.
    pub avg_release_time_ns: f64,
}

impl StatsSnapshot {
    /// The structural figures every pool knows without keeping statistics.
    pub(crate) fn structural(in_use: usize, capacity: usize) -> Self {
        Self {
            current_in_use: in_use as u64,
            current_capacity: capacity as u64,
            peak_capacity: capacity as u64,
            ..Self::default()
        }
    }
}

impl fmt::Display for StatsSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: [(&str, &dyn fmt::Display); 11] = [
            ("in use", &self.current_in_use),
            ("capacity", &self.current_capacity),
            ("peak in use", &self.peak_in_use),
            ("peak capacity", &self.peak_capacity),
            ("allocations", &self.total_allocations),
            ("releases", &self.total_releases),
            ("resets", &self.total_resets),
            ("growth events", &self.growth_events),
            ("exhausted", &self.exhausted),
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
        assert_eq!(text.lines().count(), 11);
        assert!(text.lines().next().unwrap().ends_with(" 3"), "{text}");
        assert!(text.contains("avg get (ns)              12.3"), "{text}");
    }
}
