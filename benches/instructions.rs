//! Instruction counts (gungraun / callgrind): one pre-initialised pool of 1024
//! 64-byte objects, `N` round trips (get + touch + release) per bench, so the
//! count per round trip is the total divided by `N` (loop overhead included,
//! setup excluded). `Box::new`/drop of the same object is the baseline.
//!
//! Needs valgrind and `gungraun-runner` of the same version as the `gungraun`
//! dev-dependency: `cargo bench --bench instructions` — see benches/README.md.

use fastalloc::{AsyncPool, FixedPool, GrowingPool, PoolBuilder, ThreadLocalPool, ThreadSafePool};
use gungraun::{library_benchmark, library_benchmark_group, main};
use std::hint::black_box;

#[derive(Clone, Copy)]
#[repr(C)]
struct Obj([u64; 8]);

/// Round trips per bench.
const N: u64 = 10_000;

fn fixed() -> FixedPool<Obj> {
    PoolBuilder::new(|| Obj([0; 8]))
        .capacity(1024)
        .pre_initialize(true)
        .build_fixed()
        .unwrap()
}

fn thread_safe() -> ThreadSafePool<Obj> {
    PoolBuilder::new(|| Obj([0; 8]))
        .capacity(1024)
        .pre_initialize(true)
        .build_thread_safe()
        .unwrap()
}

fn fixed_stats() -> FixedPool<Obj> {
    PoolBuilder::new(|| Obj([0; 8]))
        .capacity(1024)
        .pre_initialize(true)
        .statistics(true)
        .build_fixed()
        .unwrap()
}

fn growing() -> GrowingPool<Obj> {
    PoolBuilder::new(|| Obj([0; 8]))
        .capacity(1024)
        .max_capacity(2048)
        .pre_initialize(true)
        .build_growing()
        .unwrap()
}

fn thread_local() -> ThreadLocalPool<Obj> {
    let pool = PoolBuilder::new(|| Obj([0; 8]))
        .capacity(1024)
        .pre_initialize(true)
        .build_thread_local()
        .unwrap();
    drop(pool.get()); // make this thread's pool outside the measured loop
    pool
}

fn async_pool() -> AsyncPool<Obj> {
    PoolBuilder::new(|| Obj([0; 8]))
        .capacity(1024)
        .pre_initialize(true)
        .build_async()
        .unwrap()
}

/// `N` times: get (by `$get`) + touch + release.
macro_rules! round_trips {
    ($get:expr) => {
        for i in 0..N {
            let mut g = $get;
            g.0[0] = i;
            black_box(&mut *g);
        }
    };
}

#[library_benchmark]
#[bench::round_trips_10000(fixed())]
fn fixed_pool(pool: FixedPool<Obj>) -> FixedPool<Obj> {
    round_trips!(pool.get().unwrap());
    pool
}

#[library_benchmark]
#[bench::round_trips_10000(thread_safe())]
fn thread_safe_pool(pool: ThreadSafePool<Obj>) -> ThreadSafePool<Obj> {
    round_trips!(pool.get().unwrap());
    pool
}

#[library_benchmark]
#[bench::round_trips_10000(fixed_stats())]
fn fixed_pool_statistics_on(pool: FixedPool<Obj>) -> FixedPool<Obj> {
    round_trips!(pool.get().unwrap());
    pool
}

#[library_benchmark]
#[bench::round_trips_10000(growing())]
fn growing_pool(pool: GrowingPool<Obj>) -> GrowingPool<Obj> {
    round_trips!(pool.get().unwrap());
    pool
}

#[library_benchmark]
#[bench::round_trips_10000(thread_local())]
fn thread_local_pool(pool: ThreadLocalPool<Obj>) -> ThreadLocalPool<Obj> {
    round_trips!(pool.get().unwrap());
    pool
}

#[library_benchmark]
#[bench::round_trips_10000(async_pool())]
fn async_pool_try_get(pool: AsyncPool<Obj>) -> AsyncPool<Obj> {
    round_trips!(pool.try_get().unwrap());
    pool
}

#[library_benchmark]
#[bench::round_trips_10000()]
fn box_new() {
    round_trips!(Box::new(Obj([0; 8])));
}

fn growing_from_one() -> GrowingPool<Obj> {
    PoolBuilder::new(|| Obj([0; 8]))
        .capacity(1)
        .max_capacity(1024)
        .growth(fastalloc::Growth::Exponential(2.0))
        .build_growing()
        .unwrap()
}

// Growth: 1024 gets held at once on a pool that starts at 1 and doubles to
// 1024 (10 segments added), each object built on first use, then all
// released. Divide by 1024 for the cost per object.
#[library_benchmark]
#[bench::grow_1_to_1024(growing_from_one())]
fn growing_pool_growth(pool: GrowingPool<Obj>) -> GrowingPool<Obj> {
    {
        let held: Vec<_> = (0..1024).map(|_| pool.get().unwrap()).collect();
        black_box(&held);
    }
    pool
}

library_benchmark_group!(name = growth, benchmarks = [growing_pool_growth]);

library_benchmark_group!(
    name = round_trip,
    benchmarks = [
        fixed_pool,
        fixed_pool_statistics_on,
        growing_pool,
        thread_safe_pool,
        thread_local_pool,
        async_pool_try_get,
        box_new
    ]
);

main!(library_benchmark_groups = round_trip, growth);
