//! The quick start of the guides, in Rust: a pool of processors reused across
//! a loop instead of building one per item, a reset hook, explicit release,
//! exhaustion, and a pool shared by threads. Ends with a rough timing of the
//! hot loop against `Box::new` (for real numbers, run the benches).
//!
//! cargo run --release --example quickstart

use fastalloc::{Pool, PoolBuilder, PoolExhausted, ThreadSafePool};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

/// Something costly to build: it owns a scratch buffer.
struct DataProcessor {
    scratch: Vec<u32>,
    processed: u64,
}

impl DataProcessor {
    fn new() -> Self {
        Self {
            scratch: Vec::with_capacity(256),
            processed: 0,
        }
    }

    fn process(&mut self, item: u32) -> u32 {
        self.scratch.clear();
        self.scratch
            .extend((0..8).map(|k| item.wrapping_mul(k + 1)));
        self.processed += 1;
        self.scratch.iter().copied().fold(0, u32::wrapping_add)
    }

    fn reset(&mut self) {
        self.scratch.clear();
        self.processed = 0;
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // --- Before: a new processor per item. After: one from the pool. ---
    let built = std::rc::Rc::new(std::cell::Cell::new(0));
    let counter = built.clone();
    let pool = Pool::new(100, move || {
        counter.set(counter.get() + 1);
        DataProcessor::new()
    });
    let items: Vec<u32> = (1..=10).collect();
    let mut results = Vec::new();
    for &item in &items {
        let mut processor = pool.get()?; // `with pool.allocate() as processor:`
        results.push(processor.process(item));
    } // the processor goes back to the pool at the end of each iteration
    println!(
        "processed {} items; results start {:?}",
        results.len(),
        &results[..3]
    );
    println!(
        "pool: capacity {}, in use {}, processors built: {} (the released one is reused)",
        pool.capacity(),
        pool.in_use(),
        built.get()
    );
    assert_eq!(
        built.get(),
        1,
        "one at a time, a lazy pool builds one object"
    );

    // --- Reset hook, pre-initialisation, explicit release. ---
    let pool = PoolBuilder::new(DataProcessor::new)
        .capacity(4)
        .pre_initialize(true)
        .reset(DataProcessor::reset)
        .build_fixed()?;
    let mut p = pool.get()?;
    p.process(7);
    assert_eq!(p.processed, 1);
    pool.release(p); // same as drop(p): runs DataProcessor::reset
    assert_eq!(pool.get()?.processed, 0);
    println!("reset hook ran on release: processed counter back to 0");

    // --- Exhaustion is an error value, not a surprise. ---
    let held: Vec<_> = (0..4)
        .map(|_| pool.get())
        .collect::<Result<_, PoolExhausted>>()?;
    match pool.get() {
        Err(e) => println!("fifth get on a pool of 4: {e}"),
        Ok(_) => unreachable!("the pool holds 4 objects"),
    }
    drop(held);

    // --- A lock-free pool shared by threads. ---
    let shared = Arc::new(ThreadSafePool::new(8, DataProcessor::new));
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                let mut sum = 0u64;
                for i in 0..10_000u32 {
                    let mut p = shared.get().expect("8 processors for 4 threads");
                    sum += u64::from(p.process(i ^ t));
                }
                sum
            })
        })
        .collect();
    let total: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    println!(
        "4 threads x 10000 gets on a shared pool of 8: checksum {total}, in use {}",
        shared.in_use()
    );

    // --- A rough look at the hot loop (the benches measure properly). ---
    const N: u32 = 5_000_000;
    let fixed = PoolBuilder::new(|| [0u64; 8])
        .capacity(1024)
        .pre_initialize(true)
        .build_fixed()?;
    let shared = PoolBuilder::new(|| [0u64; 8])
        .capacity(1024)
        .pre_initialize(true)
        .build_thread_safe()?;
    let per_op = |name: &str, f: &dyn Fn()| {
        let t = Instant::now();
        f();
        println!(
            "  {name:<15} {:>6.2} ns per get + touch + release",
            t.elapsed().as_nanos() as f64 / f64::from(N)
        );
    };
    println!("rough timing, {N} round trips of a 64-byte object:");
    per_op("Box::new", &|| {
        for i in 0..N {
            let mut b = Box::new([0u64; 8]);
            b[0] = u64::from(i);
            black_box(&mut *b);
        }
    });
    per_op("FixedPool", &|| {
        for i in 0..N {
            let mut g = fixed.get().unwrap();
            g[0] = u64::from(i);
            black_box(&mut *g);
        }
    });
    per_op("ThreadSafePool", &|| {
        for i in 0..N {
            let mut g = shared.get().unwrap();
            g[0] = u64::from(i);
            black_box(&mut *g);
        }
    });
    Ok(())
}
