//! Wall-clock benches (criterion): round trip, get and release inside a held
//! batch of 256, and two threads sharing one pool. Baselines measured in the
//! same run: `Box::new`/drop of the same 64-byte object, and the naive pool a
//! user would write first, a `Vec<Box<T>>` popped and pushed (the floor for
//! any free list kept in memory).
//!
//! `cargo bench --bench pools` — see benches/README.md.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use fastalloc::{AsyncPool, FixedPool, GrowingPool, PoolBuilder, ThreadLocalPool, ThreadSafePool};
use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// The benched object: 64 bytes, one cache line.
#[derive(Clone, Copy)]
#[repr(C)]
struct Obj([u64; 8]);

const CAPACITY: usize = 1024;
const BATCH: usize = 256;

/// The naive pool: a vector of boxed objects, popped and pushed by hand. The
/// boxes are the point: each object keeps its address while it is out.
#[allow(clippy::vec_box)]
fn naive_pool() -> Vec<Box<Obj>> {
    (0..CAPACITY).map(|_| Box::new(Obj([0; 8]))).collect()
}

fn fixed() -> FixedPool<Obj> {
    PoolBuilder::new(|| Obj([0; 8]))
        .capacity(CAPACITY)
        .pre_initialize(true)
        .build_fixed()
        .unwrap()
}

fn thread_safe() -> ThreadSafePool<Obj> {
    PoolBuilder::new(|| Obj([0; 8]))
        .capacity(CAPACITY)
        .pre_initialize(true)
        .build_thread_safe()
        .unwrap()
}

/// The same pools with statistics on (the "statistics on" row of the targets in benches/README.md).
fn fixed_stats() -> FixedPool<Obj> {
    PoolBuilder::new(|| Obj([0; 8]))
        .capacity(CAPACITY)
        .pre_initialize(true)
        .statistics(true)
        .build_fixed()
        .unwrap()
}

fn thread_safe_stats() -> ThreadSafePool<Obj> {
    PoolBuilder::new(|| Obj([0; 8]))
        .capacity(CAPACITY)
        .pre_initialize(true)
        .statistics(true)
        .build_thread_safe()
        .unwrap()
}

/// A growing pool at its initial capacity (allowed to double once).
fn growing() -> GrowingPool<Obj> {
    PoolBuilder::new(|| Obj([0; 8]))
        .capacity(CAPACITY)
        .max_capacity(2 * CAPACITY)
        .pre_initialize(true)
        .build_growing()
        .unwrap()
}

fn thread_local() -> ThreadLocalPool<Obj> {
    PoolBuilder::new(|| Obj([0; 8]))
        .capacity(CAPACITY)
        .pre_initialize(true)
        .build_thread_local()
        .unwrap()
}

fn async_pool() -> AsyncPool<Obj> {
    PoolBuilder::new(|| Obj([0; 8]))
        .capacity(CAPACITY)
        .pre_initialize(true)
        .build_async()
        .unwrap()
}

/// get + touch + release, `iters` times.
macro_rules! round_trips {
    ($iters:expr, $get:expr) => {{
        for i in 0..$iters {
            let mut g = $get;
            g.0[0] = i;
            black_box(&mut *g);
        }
    }};
}

fn round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("round_trip");
    g.bench_function("Box::new", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            round_trips!(iters, Box::new(Obj([0; 8])));
            t.elapsed()
        })
    });
    let naive = std::cell::RefCell::new(naive_pool());
    g.bench_function("Vec<Box<T>> pop+push", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            for i in 0..iters {
                let mut obj = naive.borrow_mut().pop().unwrap();
                obj.0[0] = i;
                black_box(&mut *obj);
                naive.borrow_mut().push(obj);
            }
            t.elapsed()
        })
    });
    let pool = fixed();
    g.bench_function("FixedPool", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            round_trips!(iters, pool.get().unwrap());
            t.elapsed()
        })
    });
    let pool = thread_safe();
    g.bench_function("ThreadSafePool", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            round_trips!(iters, pool.get().unwrap());
            t.elapsed()
        })
    });
    let pool = fixed_stats();
    g.bench_function("FixedPool statistics on", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            round_trips!(iters, pool.get().unwrap());
            t.elapsed()
        })
    });
    let pool = thread_safe_stats();
    g.bench_function("ThreadSafePool statistics on", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            round_trips!(iters, pool.get().unwrap());
            t.elapsed()
        })
    });
    let pool = growing();
    g.bench_function("GrowingPool", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            round_trips!(iters, pool.get().unwrap());
            t.elapsed()
        })
    });
    let pool = thread_local();
    g.bench_function("ThreadLocalPool", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            round_trips!(iters, pool.get().unwrap());
            t.elapsed()
        })
    });
    let pool = async_pool();
    g.bench_function("AsyncPool try_get", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            round_trips!(iters, pool.try_get().unwrap());
            t.elapsed()
        })
    });
    g.finish();
}

/// Times `iters` gets (or releases) made in batches of [`BATCH`] held objects;
/// the other half of each batch is not timed. Reports time per single op.
fn batched<G>(iters: u64, mut get: impl FnMut() -> G, time_gets: bool) -> Duration {
    let mut held: Vec<G> = Vec::with_capacity(BATCH);
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(BATCH as u64) as usize;
        let t = Instant::now();
        for _ in 0..n {
            held.push(get());
        }
        let got = t.elapsed();
        black_box(&mut held);
        let t = Instant::now();
        held.clear();
        let released = t.elapsed();
        total += if time_gets { got } else { released };
        left -= n as u64;
    }
    total
}

fn batch(c: &mut Criterion) {
    let fixed = fixed();
    let shared = thread_safe();
    let local = thread_local();
    for (op, time_gets) in [
        ("get_in_batch_of_256", true),
        ("release_in_batch_of_256", false),
    ] {
        let mut g = c.benchmark_group(op);
        g.bench_function("Box::new", |b| {
            b.iter_custom(|iters| batched(iters, || Box::new(Obj([0; 8])), time_gets))
        });
        let naive = std::cell::RefCell::new(naive_pool());
        g.bench_function("Vec<Box<T>> pop+push", |b| {
            b.iter_custom(|iters| {
                #[allow(clippy::vec_box)]
                let mut held: Vec<Box<Obj>> = Vec::with_capacity(BATCH);
                let mut total = Duration::ZERO;
                let mut left = iters;
                let mut naive = naive.borrow_mut();
                while left > 0 {
                    let n = left.min(BATCH as u64) as usize;
                    let t = Instant::now();
                    for _ in 0..n {
                        held.push(naive.pop().unwrap());
                    }
                    let got = t.elapsed();
                    black_box(&mut held);
                    let t = Instant::now();
                    naive.extend(held.drain(..));
                    let back = t.elapsed();
                    total += if time_gets { got } else { back };
                    left -= n as u64;
                }
                total
            })
        });
        g.bench_function("FixedPool", |b| {
            b.iter_custom(|iters| batched(iters, || fixed.get().unwrap(), time_gets))
        });
        g.bench_function("ThreadSafePool", |b| {
            b.iter_custom(|iters| batched(iters, || shared.get().unwrap(), time_gets))
        });
        g.bench_function("ThreadLocalPool", |b| {
            b.iter_custom(|iters| batched(iters, || local.get().unwrap(), time_gets))
        });
        g.finish();
    }
}

/// Runs `work(iters)` on `threads` threads at once; returns the wall time of
/// the slowest, i.e. the time per op per thread once divided by `iters`.
fn on_threads(threads: usize, iters: u64, work: impl Fn(u64) + Sync) -> Duration {
    let start = Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    let t = Instant::now();
                    work(iters);
                    t.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .max()
            .unwrap()
    })
}

fn contended(c: &mut Criterion) {
    let mut g = c.benchmark_group("round_trip_threads_sharing_one_pool");
    let pool = thread_safe();
    let local = thread_local();
    for threads in [1, 2] {
        g.bench_with_input(
            BenchmarkId::new("ThreadLocalPool", threads),
            &threads,
            |b, &t| {
                b.iter_custom(|iters| {
                    on_threads(t, iters, |n| round_trips!(n, local.get().unwrap()))
                })
            },
        );
        g.bench_with_input(BenchmarkId::new("Box::new", threads), &threads, |b, &t| {
            b.iter_custom(|iters| on_threads(t, iters, |n| round_trips!(n, Box::new(Obj([0; 8])))))
        });
        g.bench_with_input(
            BenchmarkId::new("ThreadSafePool", threads),
            &threads,
            |b, &t| {
                b.iter_custom(|iters| {
                    on_threads(t, iters, |n| round_trips!(n, pool.get().unwrap()))
                })
            },
        );
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(40);
    targets = round_trip, batch, contended
}
criterion_main!(benches);
