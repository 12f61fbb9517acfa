//! Arbitrary get / release / out-of-order release / panicking init, reset
//! and drop / trim / stats / into_inner / insert / worn objects rejected by
//! `recycle_if` / reset_stats sequences on every pool kind, each step checked
//! against a model (see `fastalloc_fuzz::run_ops`).
#![no_main]

use arbitrary::Arbitrary;
use fastalloc::{AsyncPool, FixedPool, GrowingPool, Growth, ThreadLocalPool, ThreadSafePool};
use fastalloc_fuzz::{run_ops, Config, Op};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Kind {
    Fixed,
    Growing,
    ThreadSafe,
    GrowingThreadSafe,
    ThreadLocal,
    Async,
    GrowingAsync,
}

#[derive(Arbitrary, Debug)]
struct Input {
    kind: Kind,
    capacity: u8,
    extra: u8,
    linear: bool,
    step: u8,
    pre_initialize: bool,
    statistics: bool,
    reset: bool,
    recycle: bool,
    drop_pool_first: bool,
    ops: Vec<Op>,
}

fuzz_target!(|input: Input| {
    let capacity = usize::from(input.capacity % 32) + 1;
    let grows = matches!(
        input.kind,
        Kind::Growing | Kind::GrowingThreadSafe | Kind::GrowingAsync
    );
    let max = capacity + usize::from(input.extra % 64);
    let growth = if input.linear {
        Growth::Linear(usize::from(input.step % 8) + 1)
    } else {
        Growth::Exponential(1.0 + f64::from(input.step % 32 + 1) / 16.0)
    };
    let config = Config {
        capacity,
        // A shared pool refuses growth settings that could never apply.
        max_capacity: grows.then_some(max),
        growth: (grows && max > capacity).then_some(growth),
        pre_initialize: input.pre_initialize,
        statistics: input.statistics,
        reset: input.reset,
        recycle: input.recycle,
    };
    let ops = &input.ops[..input.ops.len().min(400)];
    let first = input.drop_pool_first;
    match input.kind {
        Kind::Fixed => run_ops::<FixedPool<_>>(&config, ops, first),
        Kind::Growing => run_ops::<GrowingPool<_>>(&config, ops, first),
        Kind::ThreadSafe | Kind::GrowingThreadSafe => {
            run_ops::<ThreadSafePool<_>>(&config, ops, first)
        }
        Kind::ThreadLocal => run_ops::<ThreadLocalPool<_>>(&config, ops, first),
        Kind::Async | Kind::GrowingAsync => run_ops::<AsyncPool<_>>(&config, ops, first),
    }
});
