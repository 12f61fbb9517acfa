//! "Async migration": `async with pool.allocate() as obj` becomes
//! `let obj = pool.get().await;`. Many more tasks than objects: each waits
//! its turn (first come, first served) and a cancelled wait loses nothing.
//!
//! cargo run --example async

use fastalloc::{AsyncPool, PoolBuilder};
use std::sync::Arc;
use std::time::Duration;

/// The guides' `MyClass` with an async operation.
#[derive(Default)]
struct Connection {
    requests: u64,
}

impl Connection {
    async fn async_operation(&mut self) {
        self.requests += 1;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Python: pool = AsyncPool(MyClass, capacity=100); here 4 for 100 tasks.
    let pool: Arc<AsyncPool<Connection>> = Arc::new(
        PoolBuilder::new(Connection::default)
            .capacity(4)
            .statistics(true)
            .build_async()?,
    );

    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move {
                // Python: async with pool.allocate() as obj:
                let mut obj = pool.get_owned().await;
                obj.async_operation().await;
            }) // released when `obj` goes out of scope
        })
        .collect();
    for t in tasks {
        t.await?;
    }
    let s = pool.stats();
    println!("100 tasks served by {} connections", s.current_capacity);
    assert_eq!(s.total_allocations, 100);

    // A wait that gives up: the timeout drops the `get` future.
    let held: Vec<_> = (0..4).map(|_| pool.try_get()).collect::<Result<_, _>>()?;
    let timed_out = tokio::time::timeout(Duration::from_millis(5), pool.get()).await;
    println!(
        "get with every connection out: {}",
        if timed_out.is_err() {
            "timed out"
        } else {
            "served"
        }
    );
    assert!(timed_out.is_err());
    drop(held);
    assert_eq!(pool.waiting(), 0, "the cancelled waiter left the queue");
    let mut all = Vec::new();
    for _ in 0..4 {
        all.push(pool.get().await);
    }
    let total: u64 = all.iter().map(|c| c.requests).sum();
    println!("requests over the 4 connections add up: {total}");
    assert_eq!(total, 100);
    Ok(())
}
