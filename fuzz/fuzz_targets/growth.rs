//! Growth settings and get / release sequences that cross segment boundaries
//! and run into `max_capacity`, on every growing kind: capacity follows the
//! documented schedule step by step, objects never move, and a full pool
//! reports exhaustion at exactly `max_capacity`.
#![no_main]

use arbitrary::Arbitrary;
use fastalloc::{AsyncPool, GrowingPool, Growth, ThreadSafePool};
use fastalloc_fuzz::{run_ops, Config, Op};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Kind {
    Growing,
    ThreadSafe,
    Async,
}

#[derive(Arbitrary, Debug)]
enum Step {
    /// Get this many objects.
    Fill(u8),
    /// Give back this many of the newest or oldest held.
    Give(u8, bool),
    /// Give back the one at this position.
    GiveAt(u8),
    Trim,
    Stats,
    InitPanics(bool),
}

#[derive(Arbitrary, Debug)]
struct Input {
    kind: Kind,
    capacity: u8,
    extra: u16,
    linear: bool,
    step: u16,
    pre_initialize: bool,
    statistics: bool,
    reset: bool,
    steps: Vec<Step>,
}

fuzz_target!(|input: Input| {
    let capacity = usize::from(input.capacity % 64) + 1;
    let max = capacity + usize::from(input.extra % 512);
    let growth = if input.linear {
        Growth::Linear(usize::from(input.step % 256) + 1)
    } else {
        // Factors from just above 1 (a step of one object) to 5.
        Growth::Exponential(1.0 + f64::from(input.step % 1024 + 1) / 256.0)
    };
    let config = Config {
        capacity,
        max_capacity: Some(max),
        growth: (max > capacity || matches!(input.kind, Kind::Growing)).then_some(growth),
        pre_initialize: input.pre_initialize,
        statistics: input.statistics,
        reset: input.reset,

        recycle: false,
    };
    let mut ops = Vec::new();
    for step in input.steps.iter().take(64) {
        match *step {
            Step::Fill(n) => ops.extend(std::iter::repeat_n(Op::Get, usize::from(n))),
            Step::Give(n, newest) => ops.extend(std::iter::repeat_n(
                if newest { Op::DropNewest } else { Op::Drop(0) },
                usize::from(n),
            )),
            Step::GiveAt(i) => ops.push(Op::Release(i)),
            Step::Trim => ops.push(Op::Trim),
            Step::Stats => ops.push(Op::Stats),
            Step::InitPanics(on) => ops.push(Op::InitPanics(on)),
        }
    }
    // Finally fill the pool to its maximum, and one more: exhaustion comes
    // at exactly `max_capacity` (checked by the model).
    ops.push(Op::InitPanics(false));
    ops.extend(std::iter::repeat_n(Op::Get, max + 1));
    ops.push(Op::Stats);
    match input.kind {
        Kind::Growing => run_ops::<GrowingPool<_>>(&config, &ops, false),
        Kind::ThreadSafe => run_ops::<ThreadSafePool<_>>(&config, &ops, false),
        Kind::Async => run_ops::<AsyncPool<_>>(&config, &ops, true),
    }
});
