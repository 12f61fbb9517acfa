//! "Measure, then pick a pool" (the migration guide's performance tuning):
//! 1. start with a fixed pool of the estimated maximum, statistics on;
//! 2. run the workload and read `stats()`;
//! 3. pick the pool the numbers call for, and measure again.
//!
//! cargo run --release --example statistics

use fastalloc::{Growth, PoolBuilder, StatsSnapshot};

/// A bursty workload: most steps hold 5 objects at once, 1 step in 100
/// holds 60. `get` returns `None` when the pool is exhausted.
fn workload<G>(mut get: impl FnMut() -> Option<G>) {
    let mut held = Vec::with_capacity(64);
    for step in 0..10_000u32 {
        let want = if step % 100 == 0 { 60 } else { 5 };
        held.clear(); // releases the previous step's objects
        held.extend((0..want).filter_map(|_| get()));
    }
}

/// The guide's decision table, from a fixed pool's figures.
fn advise(s: &StatsSnapshot) -> String {
    if s.exhausted > 0 {
        format!(
            "{} gets failed at capacity {}: the load is bursty. Use a GrowingPool from the \
             typical load up to the peak plus 20%.",
            s.exhausted, s.current_capacity
        )
    } else if s.peak_in_use < s.current_capacity {
        format!(
            "the peak ({}) stayed below the capacity ({}): a FixedPool of {} is enough.",
            s.peak_in_use, s.current_capacity, s.peak_in_use
        )
    } else {
        "the pool ran exactly full: keep it, or add some headroom.".to_string()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. Python: Pool(MyClass, capacity=100, enable_statistics=True)
    let estimate = 32;
    let fixed = PoolBuilder::new(|| [0u8; 256])
        .capacity(estimate)
        .statistics(true)
        .build_fixed()?;
    workload(|| fixed.get().ok());
    // 2. Python: stats = pool.stats().snapshot(); stats['peak_in_use']
    let s = fixed.stats();
    println!("FixedPool of {estimate}, statistics on:\n{s}\n");
    println!("advice: {}\n", advise(&s));
    assert!(s.exhausted > 0, "the bursts do not fit in {estimate}");

    // 3. Python: GrowingPool(MyClass, capacity=typical_usage, max_capacity=peak_usage * 1.2)
    let growing = PoolBuilder::new(|| [0u8; 256])
        .capacity(8)
        .max_capacity(72) // 60 * 1.2
        .growth(Growth::Linear(16))
        .statistics(true)
        .build_growing()?;
    workload(|| growing.get().ok());
    let g = growing.stats();
    println!("GrowingPool 8 -> 72 by 16, same workload:\n{g}");
    assert_eq!(g.exhausted, 0, "every burst served");
    assert_eq!(g.peak_in_use, 60);
    println!(
        "\nthe burst needed {} objects; the pool settled at capacity {} after {} growth events",
        g.peak_in_use, g.current_capacity, g.growth_events
    );

    // 4. A monitor reads a window at a time: figures since the last reset.
    // (With the `serde` feature, `serde_json::to_string(&w)` exports it.)
    growing.reset_stats();
    workload(|| growing.get().ok());
    let w = growing.stats();
    println!(
        "
next window: {} gets, peak {} in use, {} idle of {} built, {} of {} max capacity, \
         about {} ns spent in gets",
        w.total_allocations,
        w.peak_in_use,
        w.idle,
        w.idle + w.current_in_use,
        w.current_capacity,
        w.max_capacity,
        w.total_allocation_time_ns
    );
    assert_eq!(
        w.total_allocations, g.total_allocations,
        "the same workload again"
    );
    assert_eq!(w.growth_events, 0, "already grown");
    Ok(())
}
