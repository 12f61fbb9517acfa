//! "Thread-local pools": each thread gets its own pool, so the hot path
//! takes no lock and touches no shared cache line. The trade-off from the
//! guide: capacity x threads objects in total.
//!
//! cargo run --release --example thread_local

use fastalloc::PoolBuilder;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let built = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&built);
    // Python: pool = ThreadLocalPool(MyObject, capacity=100)
    let pool = PoolBuilder::new(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        Vec::<u64>::with_capacity(128)
    })
    .capacity(100)
    .reset(Vec::clear)
    .statistics(true)
    .build_thread_local()?;

    std::thread::scope(|s| {
        for t in 0..4u64 {
            let pool = &pool;
            s.spawn(move || {
                for i in 0..10_000 {
                    let mut v = pool.get().expect("100 per thread");
                    v.push(t * i);
                }
                // Each thread's own figures:
                assert_eq!(pool.in_use(), 0);
                assert_eq!(pool.capacity(), 100);
            });
        }
    });
    let s = pool.stats();
    println!(
        "4 threads x 10 000 gets; objects built: {}",
        built.load(Ordering::Relaxed)
    );
    println!("statistics summed over the threads:\n{s}");
    assert_eq!(s.total_allocations, 40_000);
    assert!(
        built.load(Ordering::Relaxed) <= 4,
        "one object per thread, reused"
    );
    Ok(())
}
