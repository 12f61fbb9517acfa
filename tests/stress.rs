//! Long threaded runs, ignored by default: CI runs them in release with
//! `cargo test --release --test stress -- --ignored`. Many more threads than
//! cores, objects released on other threads, growth under contention, async
//! waiters cancelled at random. Every run ends with the counts consistent
//! and every object dropped exactly once (a drop counter, and an ownership
//! stamp that catches a double hand-out). `STRESS_SCALE` (default 1)
//! multiplies the iteration counts.
#![cfg(not(miri))]

mod common;

use common::{Counters, Tracked};
use fastalloc::{Growth, OwnedGuard, PoolBuilder};
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

fn scale(n: usize) -> usize {
    let k: usize = std::env::var("STRESS_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    n * k
}

/// A small xorshift generator: each thread its own sequence.
struct Rng(u64);
impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Stamps an object as held by `who` and checks it was reset.
fn take(obj: &mut Tracked, who: usize) {
    obj.claim(who);
    assert!(!obj.dirty, "object {} handed out without its reset", obj.id);
    obj.dirty = true;
}

#[test]
#[ignore = "stress: run with --ignored in release"]
fn many_threads_release_each_others_objects() {
    const THREADS: usize = 16;
    let c = Counters::new();
    let pool = Arc::new(
        PoolBuilder::new(c.init())
            .capacity(48)
            .reset(c.reset())
            .statistics(true)
            .build_thread_safe()
            .unwrap(),
    );
    let (got, exhausted) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    // Each thread hands some objects to the next thread, which releases them.
    let channels: Vec<_> = (0..THREADS)
        .map(|_| mpsc::channel::<OwnedGuard<Tracked>>())
        .collect();
    let senders: Vec<_> = channels.iter().map(|(tx, _)| tx.clone()).collect();
    let handles: Vec<_> = channels
        .into_iter()
        .enumerate()
        .map(|(who, (_, rx))| {
            let next = senders[(who + 1) % THREADS].clone();
            let (pool, got, exhausted) = (pool.clone(), got.clone(), exhausted.clone());
            std::thread::spawn(move || {
                let mut rng = Rng::new(who as u64 + 1);
                let mut held = Vec::new();
                for _ in 0..scale(40_000) {
                    match rng.below(8) {
                        0..=3 => match pool.get_owned() {
                            Ok(mut g) => {
                                take(&mut g, who);
                                held.push(g);
                                got.fetch_add(1, SeqCst);
                            }
                            Err(_) => {
                                exhausted.fetch_add(1, SeqCst);
                            }
                        },
                        4 | 5 if !held.is_empty() => {
                            let g = held.swap_remove(rng.below(held.len() as u64) as usize);
                            g.unclaim(who);
                            drop(g);
                        }
                        6 if !held.is_empty() => {
                            let g = held.pop().unwrap();
                            g.unclaim(who);
                            // The receiver may have finished: then it comes
                            // back and is released here.
                            if let Err(mpsc::SendError(g)) = next.send(g) {
                                drop(g);
                            }
                        }
                        _ => {
                            while let Ok(g) = rx.try_recv() {
                                drop(g); // a release on another thread
                            }
                        }
                    }
                }
                for g in held {
                    g.unclaim(who);
                }
                drop(next);
                // Drain what is still coming, then exit.
                rx.iter().for_each(drop);
            })
        })
        .collect();
    drop(senders);
    for h in handles {
        h.join().unwrap();
    }
    let s = pool.stats();
    let (got, exhausted) = (got.load(SeqCst), exhausted.load(SeqCst));
    assert_eq!((s.current_in_use, pool.in_use()), (0, 0), "{s:?}");
    assert_eq!(s.total_allocations, got, "{s:?}");
    assert_eq!(s.exhausted, exhausted, "{s:?}");
    assert_eq!((s.total_releases, s.total_resets), (got, got), "{s:?}");
    assert!(c.alive() <= 48);
    drop(pool);
    assert_eq!(c.alive(), 0, "every object dropped exactly once");
    assert!(
        got > 0 && exhausted > 0,
        "both paths taken: {got} {exhausted}"
    );
}

#[test]
#[ignore = "stress: run with --ignored in release"]
fn threads_grow_a_shared_pool_under_contention() {
    for (round, growth) in [
        Growth::Linear(3),
        Growth::Exponential(1.3),
        Growth::Linear(1),
    ]
    .into_iter()
    .enumerate()
    {
        let c = Counters::new();
        let pool = Arc::new(
            PoolBuilder::new(c.init())
                .capacity(1)
                .max_capacity(300)
                .growth(growth)
                .reset(c.reset())
                .statistics(true)
                .build_thread_safe()
                .unwrap(),
        );
        let handles: Vec<_> = (0..12)
            .map(|who| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    let mut rng = Rng::new((round * 100 + who) as u64 + 7);
                    let mut held = Vec::new();
                    let mut got = 0u64;
                    for _ in 0..scale(3_000) {
                        // Fill up in bursts (growth), then give back.
                        for _ in 0..rng.below(40) {
                            match pool.get() {
                                Ok(mut g) => {
                                    take(&mut g, who);
                                    held.push(g);
                                    got += 1;
                                }
                                Err(e) => assert_eq!(e.capacity(), 300, "exhausted only at max"),
                            }
                        }
                        for _ in 0..rng.below(held.len() as u64 + 1) {
                            let g = held.swap_remove(rng.below(held.len() as u64) as usize);
                            g.unclaim(who);
                        }
                    }
                    for g in &held {
                        g.unclaim(who);
                    }
                    drop(held);
                    got
                })
            })
            .collect();
        let got: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        let s = pool.stats();
        assert_eq!(s.current_capacity, 300, "{growth:?}: grown to the maximum");
        assert_eq!(s.total_allocations, got);
        assert_eq!((s.total_releases, s.current_in_use), (got, 0));
        let steps = {
            let (mut cap, mut steps) = (1usize, 0);
            while cap < 300 {
                cap = match growth {
                    Growth::Linear(n) => (cap + n).min(300),
                    Growth::Exponential(f) => {
                        ((cap as f64 * f).ceil() as usize).max(cap + 1).min(300)
                    }
                };
                steps += 1;
            }
            steps
        };
        assert_eq!(s.growth_events, steps, "{growth:?}: one event per segment");
        assert!(c.alive() <= 300);
        drop(pool);
        assert_eq!(c.alive(), 0, "{growth:?}: every object dropped once");
    }
}

#[test]
#[ignore = "stress: run with --ignored in release"]
fn async_waiters_cancelled_at_random_lose_nothing() {
    let c = Counters::new();
    let pool = Arc::new(
        PoolBuilder::new(c.init())
            .capacity(4)
            .reset(c.reset())
            .statistics(true)
            .build_async()
            .unwrap(),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_time()
        .build()
        .unwrap();
    let (got, cancelled) = runtime.block_on(async {
        let tasks: Vec<_> = (0..64)
            .map(|who| {
                let pool = pool.clone();
                tokio::spawn(async move {
                    let mut rng = Rng::new(who as u64 + 99);
                    let (mut got, mut cancelled) = (0u64, 0u64);
                    for _ in 0..scale(300) {
                        let wait = Duration::from_micros(rng.below(300));
                        match tokio::time::timeout(wait, pool.get_owned()).await {
                            Ok(mut g) => {
                                take(&mut g, who);
                                got += 1;
                                if rng.below(2) == 0 {
                                    tokio::task::yield_now().await;
                                }
                                g.unclaim(who);
                            }
                            Err(_) => cancelled += 1,
                        }
                    }
                    (got, cancelled)
                })
            })
            .collect();
        let mut totals = (0, 0);
        for t in tasks {
            let (g, x) = t.await.unwrap();
            totals.0 += g;
            totals.1 += x;
        }
        totals
    });
    drop(runtime);
    let s = pool.stats();
    assert_eq!(pool.waiting(), 0, "no waiter left behind");
    assert_eq!((s.current_in_use, s.total_allocations), (0, got), "{s:?}");
    assert_eq!(s.total_releases, got);
    assert!(
        got > 0 && cancelled > 0,
        "both paths taken: {got} {cancelled}"
    );
    assert_eq!(pool.available(), 4, "no object lost to a cancelled waiter");
    drop(pool);
    assert_eq!(c.alive(), 0, "every object dropped exactly once");
}

#[test]
#[ignore = "stress: run with --ignored in release"]
fn short_lived_threads_churn_a_thread_local_pool() {
    let c = Counters::new();
    let pool = Arc::new(
        PoolBuilder::new(c.init())
            .capacity(3)
            .reset(c.reset())
            .statistics(true)
            .build_thread_local()
            .unwrap(),
    );
    let mut total = 0u64;
    for wave in 0..scale(40) {
        let handles: Vec<_> = (0..24)
            .map(|who| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    let mut rng = Rng::new((wave * 24 + who) as u64 + 3);
                    let mut got = 0;
                    let mut held = Vec::new();
                    for _ in 0..200 {
                        if rng.below(2) == 0 {
                            if let Ok(mut g) = pool.get() {
                                take(&mut g, who);
                                held.push(g);
                                got += 1;
                            }
                        } else if let Some(g) = held.pop() {
                            g.unclaim(who);
                        }
                    }
                    for g in &held {
                        g.unclaim(who);
                    }
                    got // exits holding `held`: released, then dropped at exit
                })
            })
            .collect();
        total += handles.into_iter().map(|h| h.join().unwrap()).sum::<u64>();
        assert_eq!(pool.stats().current_in_use, 0);
    }
    let s = pool.stats();
    assert!(s.total_allocations <= total);
    assert_eq!(
        c.alive(),
        0,
        "exited threads' objects are dropped at their exit"
    );
    drop(pool);
    assert_eq!(c.alive(), 0);
}
