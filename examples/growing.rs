//! "Capacity planning" and "growth strategies": a pool that starts at the
//! typical load and grows to the peak, linearly or exponentially, without
//! moving any object; `trim` gives the memory of idle objects back after a
//! burst.
//!
//! cargo run --example growing

use fastalloc::{Growth, PoolBuilder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Python: GrowingPool(MyObject, capacity=typical_load, max_capacity=peak_load,
    //                     growth_config=linear_growth(increment=100))
    let linear = PoolBuilder::new(|| vec![0u8; 4096])
        .capacity(100)
        .max_capacity(450)
        .growth(Growth::Linear(100))
        .statistics(true)
        .build_growing()?;

    let burst: Vec<_> = (0..450).map(|_| linear.get()).collect::<Result<_, _>>()?;
    let first = &*burst[0] as *const Vec<u8>;
    println!(
        "linear: {} objects out, capacity {} (100 -> 200 -> 300 -> 400 -> 450: the last step is cut to the maximum)",
        linear.in_use(),
        linear.capacity()
    );
    assert_eq!(linear.capacity(), 450);
    assert!(linear.get().is_err(), "450 is the maximum");
    assert_eq!(first, &*burst[0] as *const Vec<u8>, "objects never move");
    drop(burst);

    // After the burst: the objects are idle; give their memory back.
    let freed = linear.trim();
    println!("trim dropped {freed} idle buffers (4 KiB each); the 450 slots stay");
    let s = linear.stats();
    println!(
        "growth events {}, peak in use {}, peak capacity {}",
        s.growth_events, s.peak_in_use, s.peak_capacity
    );

    // Python: exponential_growth(factor=2.0), the default of GrowingPool::new.
    let exponential = fastalloc::GrowingPool::new(16, || [0u64; 8]);
    let mut capacities = vec![exponential.capacity()];
    let held: Vec<_> = (0..300)
        .map(|_| {
            let g = exponential.get();
            if capacities.last() != Some(&exponential.capacity()) {
                capacities.push(exponential.capacity());
            }
            g
        })
        .collect::<Result<_, _>>()?;
    println!(
        "exponential: capacity went {capacities:?} for {} objects",
        held.len()
    );
    assert_eq!(capacities, [16, 32, 64, 128, 256, 512]);
    Ok(())
}
