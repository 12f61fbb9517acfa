//! No leak after pool drop: a counting allocator measures the bytes still
//! allocated after every pool kind was built, used (threads, growth, thread
//! exits, async waiters, owned guards outliving their pool) and dropped.
//! CI also runs this binary under valgrind's leak checker (`ci/san.sh`).
#![cfg(not(miri))]

mod common;

use common::Counters;
use fastalloc::{AsyncPool, FixedPool, Growth, PoolBuilder, ThreadLocalPool};
use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicIsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::Context;

/// Bytes allocated and not yet freed, over the whole process.
static LIVE: AtomicIsize = AtomicIsize::new(0);

struct Counting;

// SAFETY: forwards every call to the system allocator unchanged; the counter
// has no effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, SeqCst);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, SeqCst);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, SeqCst);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Builds, uses and drops one pool of every kind, on threads that exit.
fn workload(c: &Counters) {
    let fixed = PoolBuilder::new(c.init())
        .capacity(8)
        .reset(c.reset())
        .statistics(true)
        .build_fixed()
        .unwrap();
    let held: Vec<_> = (0..5).map(|_| fixed.get().unwrap()).collect();
    drop(held);
    let growing = PoolBuilder::new(c.init())
        .capacity(2)
        .max_capacity(100)
        .growth(Growth::Exponential(1.5))
        .build_growing()
        .unwrap();
    let held: Vec<_> = (0..100).map(|_| growing.get().unwrap()).collect();
    drop(held);
    growing.trim();

    let shared = Arc::new(
        PoolBuilder::new(c.init())
            .capacity(16)
            .max_capacity(64)
            .reset(c.reset())
            .build_thread_safe()
            .unwrap(),
    );
    let local = Arc::new(ThreadLocalPool::new(4, c.init()));
    let waiting = Arc::new(AsyncPool::new(2, c.init()));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (shared, local, waiting) = (shared.clone(), local.clone(), waiting.clone());
            std::thread::spawn(move || {
                let mut owned = Vec::new();
                for round in 0..50 {
                    let g = shared.get_owned().unwrap();
                    if round % 5 == 0 {
                        owned.push(g);
                    }
                    let _l = local.get().unwrap();
                    if let Ok(w) = waiting.try_get_owned() {
                        owned_drop_later(w);
                    }
                }
                // Some handed back on another thread: the caller's.
                owned
            })
        })
        .collect();
    let moved: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    // A waiter queued, then cancelled; an owned guard outliving its pool.
    let held = waiting.try_get().unwrap();
    let also = waiting.try_get().unwrap();
    {
        let mut f = pin!(waiting.get());
        assert!(f
            .as_mut()
            .poll(&mut Context::from_waker(&common::noop_waker()))
            .is_pending());
    }
    drop((held, also));
    let outliving = shared.get_owned().unwrap();
    drop((shared, local, waiting, fixed, growing));
    drop(moved);
    drop(outliving);
}

fn owned_drop_later<G>(g: G) {
    drop(g);
}

#[test]
fn no_memory_is_left_after_pools_are_dropped() {
    let c = Counters::new();
    // Warm-up: the process-wide tables (thread serials) reach their size.
    std::thread::spawn({
        let c = c.clone();
        move || workload(&c)
    })
    .join()
    .unwrap();
    let before = LIVE.load(SeqCst);
    for _ in 0..3 {
        std::thread::spawn({
            let c = c.clone();
            move || workload(&c)
        })
        .join()
        .unwrap();
    }
    let after = LIVE.load(SeqCst);
    assert_eq!(c.alive(), 0, "every object dropped");
    assert_eq!(
        after - before,
        0,
        "bytes still allocated after three rounds"
    );
    // A plain fixed pool on this thread, too.
    let before = LIVE.load(SeqCst);
    let pool = FixedPool::new(100, || vec![0u8; 100]);
    let held: Vec<_> = (0..100).map(|_| pool.get().unwrap()).collect();
    drop(held);
    drop(pool);
    assert_eq!(LIVE.load(SeqCst) - before, 0);
}
