//! Heap traffic, counted by a wrapping global allocator: in steady state a
//! get and a release allocate nothing, on every pool kind; and a pool's
//! bookkeeping is at most 4 bytes per slot plus a constant header.
//!
//! One test function, so no other test of this binary allocates while it
//! counts (the count is process-wide). Not run under Miri: it measures heap
//! traffic, not memory safety, and the code paths it drives are covered by
//! the other tests there; under Miri it takes over eight minutes.
#![cfg(not(miri))]

use fastalloc::{AsyncPool, FixedPool, PoolBuilder, ThreadLocalPool, ThreadSafePool};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to `System` unchanged, counting on the way.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size(), Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        BYTES.fetch_add(new_size, Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap allocations made by `f`.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Relaxed);
    f();
    ALLOCATIONS.load(Relaxed) - before
}

/// Heap bytes allocated by `f` (frees not subtracted).
fn bytes(f: impl FnOnce()) -> usize {
    let before = BYTES.load(Relaxed);
    f();
    BYTES.load(Relaxed) - before
}

type Obj = [u64; 8];
const CAPACITY: usize = 1024;
const ROUNDS: usize = 20_000;

/// Round trips, then a batch of 256 held and released, `ROUNDS` times over.
/// The batch is held on the stack, so the harness allocates nothing.
fn steady_state<G>(mut get: impl FnMut() -> G, touch: impl Fn(&mut G)) {
    for i in 0..ROUNDS {
        let mut g = get();
        touch(&mut g);
        drop(g);
        if i % 64 == 0 {
            let held: [G; 256] = std::array::from_fn(|_| get());
            drop(held);
        }
    }
}

/// Warms `run` once (first-use setup may allocate: a thread's cache or
/// pool, objects built lazily), then asserts that running it again
/// allocates nothing.
fn assert_no_allocations(kind: &str, mut run: impl FnMut()) {
    run();
    let n = allocations(&mut run);
    assert_eq!(n, 0, "{kind}: {n} heap allocations in steady state");
    println!("{kind}: 0 allocations in {ROUNDS} round trips and batches");
}

#[test]
fn no_heap_traffic_in_steady_state_and_at_most_four_bytes_per_slot() {
    let fixed = FixedPool::new(CAPACITY, || [0u64; 8]);
    assert_no_allocations("FixedPool", || {
        steady_state(|| fixed.get().unwrap(), |g| g[0] += 1)
    });

    let growing = PoolBuilder::new(|| [0u64; 8])
        .capacity(16)
        .max_capacity(CAPACITY)
        .build_growing()
        .unwrap();
    // The warm-up run grows it to hold 256 at once; then it is steady.
    assert_no_allocations("GrowingPool", || {
        steady_state(|| growing.get().unwrap(), |g| g[0] += 1)
    });

    let safe = ThreadSafePool::new(CAPACITY, || [0u64; 8]);
    assert_no_allocations("ThreadSafePool", || {
        steady_state(|| safe.get().unwrap(), |g| g[0] += 1)
    });

    let stats = PoolBuilder::new(|| [0u64; 8])
        .capacity(CAPACITY)
        .statistics(true)
        .reset(|o: &mut Obj| o[0] = 0)
        .build_thread_safe()
        .unwrap();
    assert_no_allocations("ThreadSafePool, statistics and reset", || {
        steady_state(|| stats.get().unwrap(), |g| g[0] += 1)
    });

    let local = ThreadLocalPool::new(CAPACITY, || [0u64; 8]);
    assert_no_allocations("ThreadLocalPool", || {
        steady_state(|| local.get().unwrap(), |g| g[0] += 1)
    });

    let asynch = AsyncPool::new(CAPACITY, || [0u64; 8]);
    assert_no_allocations("AsyncPool (try_get)", || {
        steady_state(|| asynch.try_get().unwrap(), |g| g[0] += 1)
    });

    // Two threads sharing one pool, releasing each other's objects: after a
    // warm-up (each thread's cache is made on first use), no allocation.
    let shared = std::sync::Arc::new(ThreadSafePool::new(CAPACITY, || [0u64; 8]));
    let (to_main, from_worker) = std::sync::mpsc::sync_channel(64);
    let (to_worker, from_main) = std::sync::mpsc::sync_channel::<usize>(0);
    let worker = {
        let shared = shared.clone();
        std::thread::spawn(move || {
            while let Ok(n) = from_main.recv() {
                for _ in 0..n {
                    to_main.send(shared.get_owned().unwrap()).unwrap();
                }
            }
        })
    };
    let cross = |n: usize| {
        to_worker.send(n).unwrap();
        for _ in 0..n {
            drop(from_worker.recv().unwrap()); // released on this thread
        }
    };
    cross(512);
    let n = allocations(|| cross(5_000));
    // The channel's own bookkeeping may allocate; the pool must not add
    // one allocation per object.
    assert!(n < 16, "cross-thread releases: {n} allocations");
    println!("ThreadSafePool, released on another thread: {n} allocations (channel included)");
    drop(to_worker);
    worker.join().unwrap();

    // Bookkeeping per slot: build two pools of different sizes and compare
    // what they allocate beyond the objects themselves.
    let (small, large) = (1_000, 100_000);
    let overhead = |n: usize| {
        let mut pool = None;
        let b = bytes(|| pool = Some(FixedPool::new(n, || [0u64; 8])));
        drop(pool);
        b - n * std::mem::size_of::<Obj>()
    };
    let per_slot = (overhead(large) - overhead(small)) as f64 / (large - small) as f64;
    let header = overhead(small) as f64 - per_slot * small as f64;
    println!("FixedPool bookkeeping: {per_slot} bytes per slot, {header} bytes of header");
    assert!(per_slot <= 4.0, "{per_slot} bytes of bookkeeping per slot");
    let shared_overhead = |n: usize| {
        let mut pool = None;
        let b = bytes(|| pool = Some(ThreadSafePool::new(n, || [0u64; 8])));
        drop(pool);
        b - n * std::mem::size_of::<Obj>()
    };
    let per_slot =
        (shared_overhead(large) - shared_overhead(small)) as f64 / (large - small) as f64;
    let header = shared_overhead(small) as f64 - per_slot * small as f64;
    println!("ThreadSafePool bookkeeping: {per_slot} bytes per slot, {header} bytes of header");
    assert!(per_slot <= 4.0, "{per_slot} bytes of bookkeeping per slot");
}
