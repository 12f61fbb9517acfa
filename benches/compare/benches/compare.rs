//! fastalloc side by side with the allocators and the other pool crates on
//! crates.io, on the workloads of benches/README.md: a pool of 1024 pre-initialised
//! 64-byte objects; round trip = get + touch + release in a hot loop.
//!
//! Groups (criterion ids `group/pool`):
//!
//! * `round_trip` — one thread.
//! * `batch_get`, `batch_release` — 256 objects held at once; the time of
//!   the gets (or of the releases) per object.
//! * `threads_1`, `threads_2`, `threads_4` — that many threads doing round
//!   trips on one shared pool; time per op per thread.
//! * `exhaustion` — 4 threads share 8 objects, each trying to hold 3 at
//!   once: gets fail often; time per attempt (three gets) per thread.
//! * `producer_consumer` — one thread gets and sends objects, another
//!   receives and releases them (over a bounded queue); time per object.
//!
//! `report.py` (next to this crate's Cargo.toml) turns criterion's medians
//! into the table and chart of the README.

use criterion::{criterion_group, criterion_main, Criterion};
use crossbeam_queue::ArrayQueue;
use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const CAPACITY: usize = 1024;
const BATCH: usize = 256;

/// The pooled object: 64 bytes.
#[derive(Clone, Default)]
struct Obj([u64; 8]);

impl sharded_slab::Clear for Obj {
    fn clear(&mut self) {}
}

impl fastalloc_15::Poolable for Obj {}

#[inline(always)]
fn touch(o: &mut Obj) {
    o.0[0] = o.0[0].wrapping_add(1);
    black_box(o);
}

struct ObjAlloc;
impl opool::PoolAllocator<Obj> for ObjAlloc {
    fn allocate(&self) -> Obj {
        Obj::default()
    }
}

/// The floor for a single-thread pool: a `Vec` of objects and a `Vec<u32>`
/// stack of free indices, no guard (the caller releases by index).
struct VecSlab {
    objects: Vec<Obj>,
    free: Vec<u32>,
}

impl VecSlab {
    fn new(n: usize) -> Self {
        Self { objects: vec![Obj::default(); n], free: (0..n as u32).rev().collect() }
    }
    #[inline(always)]
    fn get(&mut self) -> Option<u32> {
        self.free.pop()
    }
    #[inline(always)]
    fn release(&mut self, i: u32) {
        self.free.push(i);
    }
}

/// A crossbeam `ArrayQueue` holding `n` boxed objects: the queue-as-pool
/// contender.
fn filled_queue(n: usize) -> ArrayQueue<Box<Obj>> {
    let q = ArrayQueue::new(n);
    for _ in 0..n {
        let _ = q.push(Box::new(Obj::default()));
    }
    q
}

/// One round trip per call, for any pool; `Sync` pools only (the shared
/// workloads use the same closures).
type RoundTrip = Box<dyn Fn() + Sync + Send>;

/// Every contender that can be shared by threads, by name.
fn shared_contenders() -> Vec<(&'static str, RoundTrip)> {
    let mut v: Vec<(&'static str, RoundTrip)> = Vec::new();
    {
        let pool = fastalloc::PoolBuilder::new(Obj::default)
            .capacity(CAPACITY)
            .pre_initialize(true)
            .build_thread_safe()
            .unwrap();
        v.push(("fastalloc ThreadSafePool", Box::new(move || touch(&mut pool.get().unwrap()))));
    }
    {
        let pool = fastalloc::PoolBuilder::new(Obj::default)
            .capacity(CAPACITY)
            .pre_initialize(true)
            .build_thread_local()
            .unwrap();
        v.push(("fastalloc ThreadLocalPool", Box::new(move || touch(&mut pool.get().unwrap()))));
    }
    v.push(("Box::new (system)", Box::new(|| touch(&mut *black_box(Box::new(Obj::default()))))));
    v.push((
        "mimalloc alloc/free",
        Box::new(|| {
            let layout = Layout::new::<Obj>();
            // SAFETY: a non-zero layout; the block is initialised before use
            // and freed with the same allocator and layout.
            unsafe {
                let p = mimalloc::MiMalloc.alloc(layout).cast::<Obj>();
                assert!(!p.is_null());
                p.write(Obj::default());
                touch(&mut *p);
                mimalloc::MiMalloc.dealloc(p.cast(), layout);
            }
        }),
    ));
    {
        let q = filled_queue(CAPACITY);
        v.push((
            "crossbeam ArrayQueue<Box<T>>",
            Box::new(move || {
                let mut o = q.pop().unwrap();
                touch(&mut o);
                let _ = q.push(o);
            }),
        ));
    }
    {
        let pool: sharded_slab::Pool<Obj> = sharded_slab::Pool::new();
        // Warm it: create and clear as many objects as the others hold.
        let keys: Vec<_> = (0..CAPACITY).map(|_| pool.create_with(|_| {}).unwrap()).collect();
        for k in keys {
            pool.clear(k);
        }
        v.push((
            "sharded-slab Pool",
            Box::new(move || {
                let mut o = pool.create().unwrap();
                touch(&mut o);
                let key = o.key();
                drop(o);
                pool.clear(key);
            }),
        ));
    }
    {
        let pool = lockfree_object_pool::LinearObjectPool::new(Obj::default, |_| {});
        let warm: Vec<_> = (0..CAPACITY).map(|_| pool.pull()).collect();
        drop(warm);
        v.push(("lockfree-object-pool Linear", Box::new(move || touch(&mut pool.pull()))));
    }
    {
        let pool = opool::Pool::new_prefilled(CAPACITY, ObjAlloc);
        v.push(("opool Pool", Box::new(move || touch(&mut pool.get()))));
    }
    {
        let pool = object_pool::Pool::new(CAPACITY, Obj::default);
        v.push(("object-pool Pool", Box::new(move || touch(&mut pool.try_pull().unwrap()))));
    }
    {
        let pool = fastalloc::PoolBuilder::new(Obj::default)
            .capacity(CAPACITY)
            .pre_initialize(true)
            .build_async()
            .unwrap();
        v.push(("fastalloc AsyncPool::try_get", Box::new(move || touch(&mut pool.try_get().unwrap()))));
    }
    {
        let pool = fastalloc_15::ThreadSafePool::<Obj>::new(CAPACITY).unwrap();
        v.push((
            "fastalloc 1.5 ThreadSafePool",
            Box::new(move || touch(&mut pool.allocate(Obj::default()).unwrap())),
        ));
    }
    v
}

/// Single-thread-only contenders (not `Sync`), for the one-thread groups.
fn local_contenders() -> Vec<(&'static str, Box<dyn FnMut()>)> {
    let mut v: Vec<(&'static str, Box<dyn FnMut()>)> = Vec::new();
    {
        let pool = fastalloc::PoolBuilder::new(Obj::default)
            .capacity(CAPACITY)
            .pre_initialize(true)
            .build_fixed()
            .unwrap();
        v.push(("fastalloc FixedPool", Box::new(move || touch(&mut pool.get().unwrap()))));
    }
    {
        let pool = fastalloc::PoolBuilder::new(Obj::default)
            .capacity(CAPACITY)
            .max_capacity(4 * CAPACITY)
            .pre_initialize(true)
            .build_growing()
            .unwrap();
        v.push(("fastalloc GrowingPool", Box::new(move || touch(&mut pool.get().unwrap()))));
    }
    {
        let pool = fastalloc::PoolBuilder::new(Obj::default)
            .capacity(CAPACITY)
            .pre_initialize(true)
            .statistics(true)
            .build_fixed()
            .unwrap();
        v.push(("fastalloc FixedPool, statistics on", Box::new(move || touch(&mut pool.get().unwrap()))));
    }
    {
        // Grown from 64 to 1024 objects (five segments), every object built.
        let pool = fastalloc::PoolBuilder::new(Obj::default)
            .capacity(64)
            .max_capacity(4 * CAPACITY)
            .build_growing()
            .unwrap();
        let all: Vec<_> = (0..CAPACITY).map(|_| pool.get().unwrap()).collect();
        drop(all);
        v.push(("fastalloc GrowingPool, grown 64→1024", Box::new(move || touch(&mut pool.get().unwrap()))));
    }
    {
        let mut slab = VecSlab::new(CAPACITY);
        v.push((
            "Vec slab + free stack (hand-written)",
            Box::new(move || {
                let i = slab.get().unwrap();
                touch(&mut slab.objects[i as usize]);
                slab.release(i);
            }),
        ));
    }
    {
        let pool = opool::LocalPool::new_prefilled(CAPACITY, ObjAlloc);
        v.push(("opool LocalPool", Box::new(move || touch(&mut pool.get()))));
    }
    {
        let pool = fastalloc_15::FixedPool::<Obj>::new(CAPACITY).unwrap();
        v.push((
            "fastalloc 1.5 FixedPool",
            Box::new(move || touch(&mut pool.allocate(Obj::default()).unwrap())),
        ));
    }
    v
}

fn round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("round_trip");
    for (name, mut f) in local_contenders() {
        g.bench_function(name, |b| b.iter(&mut f));
    }
    for (name, f) in shared_contenders() {
        g.bench_function(name, |b| b.iter(&f));
    }
    g.finish();
}

/// Holding `BATCH` objects: a pool's get and its guard's drop, separately.
trait Batch {
    /// Times `iters` objects' gets (or releases), `BATCH` at a time.
    fn run(&self, iters: u64, time_gets: bool) -> Duration;
}

struct Holder<G, F: Fn() -> G>(F);

impl<G, F: Fn() -> G> Batch for Holder<G, F> {
    fn run(&self, iters: u64, time_gets: bool) -> Duration {
        let mut held: Vec<G> = Vec::with_capacity(BATCH);
        let mut total = Duration::ZERO;
        let mut done = 0;
        while done < iters {
            let n = (iters - done).min(BATCH as u64) as usize;
            let t = Instant::now();
            for _ in 0..n {
                held.push((self.0)());
            }
            if time_gets {
                total += t.elapsed();
            }
            let t = Instant::now();
            held.clear();
            if !time_gets {
                total += t.elapsed();
            }
            done += n as u64;
        }
        black_box(held);
        total
    }
}

fn batch(c: &mut Criterion) {
    let fixed = fastalloc::PoolBuilder::new(Obj::default)
        .capacity(CAPACITY)
        .pre_initialize(true)
        .build_fixed()
        .unwrap();
    let safe = fastalloc::PoolBuilder::new(Obj::default)
        .capacity(CAPACITY)
        .pre_initialize(true)
        .build_thread_safe()
        .unwrap();
    let local = fastalloc::PoolBuilder::new(Obj::default)
        .capacity(CAPACITY)
        .pre_initialize(true)
        .build_thread_local()
        .unwrap();
    let slab: sharded_slab::Pool<Obj> = sharded_slab::Pool::new();
    let lockfree = lockfree_object_pool::LinearObjectPool::new(Obj::default, |_| {});
    let opool_pool = opool::Pool::new_prefilled(CAPACITY, ObjAlloc);
    let object_pool = object_pool::Pool::new(CAPACITY, Obj::default);
    let old_fixed = fastalloc_15::FixedPool::<Obj>::new(CAPACITY).unwrap();
    let old_safe = fastalloc_15::ThreadSafePool::<Obj>::new(CAPACITY).unwrap();
    let contenders: Vec<(&str, Box<dyn Batch + '_>)> = vec![
        ("fastalloc FixedPool", Box::new(Holder(|| fixed.get().unwrap()))),
        ("fastalloc ThreadSafePool", Box::new(Holder(|| safe.get().unwrap()))),
        ("fastalloc ThreadLocalPool", Box::new(Holder(|| local.get().unwrap()))),
        ("Box::new (system)", Box::new(Holder(|| Box::new(Obj::default())))),
        ("sharded-slab Pool", Box::new(Holder(|| slab.create().unwrap()))),
        ("lockfree-object-pool Linear", Box::new(Holder(|| lockfree.pull()))),
        ("opool Pool", Box::new(Holder(|| opool_pool.get()))),
        ("object-pool Pool", Box::new(Holder(|| object_pool.try_pull().unwrap()))),
        ("fastalloc 1.5 FixedPool", Box::new(Holder(|| old_fixed.allocate(Obj::default()).unwrap()))),
        ("fastalloc 1.5 ThreadSafePool", Box::new(Holder(|| old_safe.allocate(Obj::default()).unwrap()))),
    ];
    for (group, time_gets) in [("batch_get", true), ("batch_release", false)] {
        let mut g = c.benchmark_group(group);
        for (name, contender) in &contenders {
            g.bench_function(*name, |b| b.iter_custom(|iters| contender.run(iters, time_gets)));
        }
        g.finish();
    }
}

/// `threads` threads each doing `iters` round trips at once; the wall time
/// is the time per op per thread.
fn on_threads(threads: usize, iters: u64, f: &(dyn Fn() + Sync)) -> Duration {
    let start = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let start = &start;
                s.spawn(move || {
                    start.wait();
                    let t = Instant::now();
                    for _ in 0..iters {
                        f();
                    }
                    t.elapsed()
                })
            })
            .collect();
        start.wait();
        handles.into_iter().map(|h| h.join().unwrap()).max().unwrap()
    })
}

fn threads(c: &mut Criterion) {
    let contenders = shared_contenders();
    for threads in [1, 2, 4] {
        let mut g = c.benchmark_group(format!("threads_{threads}"));
        for (name, f) in &contenders {
            g.bench_function(*name, |b| b.iter_custom(|iters| on_threads(threads, iters, &**f)));
        }
        g.finish();
    }
}

/// Objects got on one thread and released on another, through a bounded
/// queue of 64; time per object.
fn producer_consumer(c: &mut Criterion) {
    fn run<G: Send>(iters: u64, get: impl Fn() -> Option<G> + Sync) -> Duration {
        let queue = ArrayQueue::<G>::new(64);
        let t = Instant::now();
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut sent = 0;
                while sent < iters {
                    if let Some(mut o) = get() {
                        let mut spins = 0;
                        loop {
                            match queue.push(o) {
                                Ok(()) => break,
                                Err(back) => {
                                    o = back;
                                    spins += 1;
                                    if spins > 64 {
                                        std::thread::yield_now();
                                    }
                                }
                            }
                        }
                        sent += 1;
                    } else {
                        std::thread::yield_now();
                    }
                }
            });
            let mut got = 0;
            while got < iters {
                match queue.pop() {
                    Some(o) => {
                        drop(black_box(o));
                        got += 1;
                    }
                    None => std::hint::spin_loop(),
                }
            }
        });
        t.elapsed()
    }
    let safe = Arc::new(
        fastalloc::PoolBuilder::new(Obj::default)
            .capacity(CAPACITY)
            .pre_initialize(true)
            .build_thread_safe()
            .unwrap(),
    );
    let slab: Arc<sharded_slab::Pool<Obj>> = Arc::new(sharded_slab::Pool::new());
    let lockfree = Arc::new(lockfree_object_pool::LinearObjectPool::new(Obj::default, |_| {}));
    let opool_pool = Arc::new(opool::Pool::new_prefilled(CAPACITY, ObjAlloc));
    let object_pool = Arc::new(object_pool::Pool::new(CAPACITY, Obj::default));
    let ring = ArrayQueue::new(CAPACITY);
    for _ in 0..CAPACITY {
        let _ = ring.push(Box::new(Obj::default()));
    }
    let ring = Arc::new(ring);
    let old_safe = fastalloc_15::ThreadSafePool::<Obj>::new(CAPACITY).unwrap();
    let mut g = c.benchmark_group("producer_consumer");
    g.bench_function("fastalloc ThreadSafePool", |b| {
        b.iter_custom(|iters| run(iters, || safe.get_owned().ok()))
    });
    g.bench_function("Box::new (system)", |b| {
        b.iter_custom(|iters| run(iters, || Some(Box::new(Obj::default()))))
    });
    g.bench_function("crossbeam ArrayQueue<Box<T>>", |b| {
        struct Back(Option<Box<Obj>>, Arc<ArrayQueue<Box<Obj>>>);
        impl Drop for Back {
            fn drop(&mut self) {
                let _ = self.1.push(self.0.take().unwrap());
            }
        }
        b.iter_custom(|iters| run(iters, || ring.pop().map(|o| Back(Some(o), Arc::clone(&ring)))))
    });
    g.bench_function("sharded-slab Pool", |b| {
        b.iter_custom(|iters| run(iters, || Arc::clone(&slab).create_owned()))
    });
    g.bench_function("lockfree-object-pool Linear", |b| {
        b.iter_custom(|iters| run(iters, || Some(lockfree.pull_owned())))
    });
    g.bench_function("opool Pool", |b| {
        b.iter_custom(|iters| run(iters, || Some(Arc::clone(&opool_pool).get_rc())))
    });
    g.bench_function("object-pool Pool", |b| {
        b.iter_custom(|iters| run(iters, || object_pool.try_pull_owned()))
    });
    g.bench_function("fastalloc 1.5 ThreadSafePool", |b| {
        b.iter_custom(|iters| run(iters, || old_safe.allocate(Obj::default()).ok()))
    });
    g.finish();
}

/// Exhaustion-heavy: `EXHAUST_THREADS` threads share `EXHAUST_OBJECTS`
/// objects and each tries to hold three at once, so gets fail often and
/// objects move between threads all the time; time per attempt per thread.
const EXHAUST_OBJECTS: usize = 8;
const EXHAUST_THREADS: usize = 4;

fn exhaustion(c: &mut Criterion) {
    type Attempt = Box<dyn Fn() + Sync + Send>;
    let mut v: Vec<(&str, Attempt)> = Vec::new();
    {
        let pool = fastalloc::PoolBuilder::new(Obj::default)
            .capacity(EXHAUST_OBJECTS)
            .pre_initialize(true)
            .build_thread_safe()
            .unwrap();
        v.push((
            "fastalloc ThreadSafePool",
            Box::new(move || {
                let held: [_; 3] = std::array::from_fn(|_| pool.get().ok());
                for mut o in held.into_iter().flatten() {
                    touch(&mut o);
                }
            }),
        ));
    }
    {
        let q = filled_queue(EXHAUST_OBJECTS);
        v.push((
            "crossbeam ArrayQueue<Box<T>>",
            Box::new(move || {
                let held: [_; 3] = std::array::from_fn(|_| q.pop());
                for mut o in held.into_iter().flatten() {
                    touch(&mut o);
                    let _ = q.push(o);
                }
            }),
        ));
    }
    let mut g = c.benchmark_group("exhaustion");
    for (name, f) in &v {
        g.bench_function(*name, |b| b.iter_custom(|iters| on_threads(EXHAUST_THREADS, iters, &**f)));
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = round_trip, batch, threads, exhaustion, producer_consumer
}
criterion_main!(benches);
