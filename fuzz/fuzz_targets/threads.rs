//! Op sequences split over 2 to 4 threads sharing one `ThreadSafePool`
//! (fixed or growing): each object carries an ownership stamp, so a double
//! hand-out panics; objects cross threads through mailboxes; the counts add
//! up after the threads join and every object is dropped once.
#![no_main]

use arbitrary::Arbitrary;
use fastalloc::Growth;
use fastalloc_fuzz::{run_threads, Config, ThreadOp};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    threads: u8,
    capacity: u8,
    extra: u8,
    linear: bool,
    pre_initialize: bool,
    statistics: bool,
    reset: bool,
    /// Spawn fresh threads (exiting mid-run) instead of reusing workers.
    spawn: bool,
    ops: Vec<ThreadOp>,
}

fuzz_target!(|input: Input| {
    let threads = usize::from(input.threads % 3) + 2;
    let capacity = usize::from(input.capacity % 64) + 1;
    let max = capacity + usize::from(input.extra % 32);
    let config = Config {
        capacity,
        max_capacity: (max > capacity).then_some(max),
        growth: (max > capacity).then_some(if input.linear {
            Growth::Linear(3)
        } else {
            Growth::Exponential(1.5)
        }),
        pre_initialize: input.pre_initialize,
        statistics: input.statistics,
        reset: input.reset,

        recycle: false,
    };
    // Deal the ops out round-robin.
    let mut per_thread = vec![Vec::new(); threads];
    for (i, op) in input.ops.iter().take(1024).enumerate() {
        per_thread[i % threads].push(*op);
    }
    run_threads(&config, &per_thread, input.spawn);
});
