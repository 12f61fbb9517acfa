//! "Thread safety migration": instead of a lock around object creation, a
//! lock-free pool shared by threads. Guards can be released on another
//! thread, and `get_owned` gives guards that move into spawned threads.
//!
//! cargo run --release --example threads

use fastalloc::{PoolBuilder, ThreadSafePool};
use std::sync::{mpsc, Arc};

/// The guides' `DataProcessor`.
struct DataProcessor {
    scratch: Vec<u32>,
}

impl DataProcessor {
    fn new() -> Self {
        Self {
            scratch: Vec::with_capacity(64),
        }
    }
    fn process(&mut self, item: u32) -> u32 {
        self.scratch.clear();
        self.scratch.extend((1..=8).map(|k| item * k));
        self.scratch.iter().sum()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Python: pool = ThreadSafePool(DataProcessor, capacity=100)
    let pool = ThreadSafePool::new(100, DataProcessor::new);

    // Four threads share the pool by reference.
    let total: u32 = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4u32)
            .map(|t| {
                let pool = &pool;
                s.spawn(move || {
                    (0..1000)
                        .map(|i| {
                            pool.get()
                                .expect("100 processors for 4 threads")
                                .process(t + i % 3)
                        })
                        .fold(0u32, u32::wrapping_add)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .fold(0, u32::wrapping_add)
    });
    println!(
        "4 threads x 1000 items: checksum {total}, in use after: {}",
        pool.in_use()
    );
    assert_eq!(pool.in_use(), 0);

    // Producer/consumer: objects taken on one thread, released on another.
    let pool = Arc::new(
        PoolBuilder::new(DataProcessor::new)
            .capacity(8)
            .max_capacity(64) // grows, lock-free, if the consumer falls behind
            .statistics(true)
            .build_thread_safe()?,
    );
    let (tx, rx) = mpsc::sync_channel(32);
    let producer = {
        let pool = Arc::clone(&pool);
        std::thread::spawn(move || {
            for i in 0..10_000u32 {
                let mut p = pool.get_owned().expect("at most 64 in flight");
                p.process(i);
                tx.send(p).unwrap();
            }
        })
    };
    let consumed = rx.iter().map(drop).count(); // released on this thread
    producer.join().unwrap();
    let s = pool.stats();
    println!(
        "producer/consumer: {consumed} objects, capacity grew to {} ({} growth events), peak in use {}",
        s.current_capacity, s.growth_events, s.peak_in_use
    );
    assert_eq!(s.total_allocations, 10_000);
    assert_eq!(s.total_releases, 10_000);
    Ok(())
}
