//! The hard cases, each a named test: panicking `init`, reset and `T::drop`
//! (with `panics.rs`), `mem::forget` of every guard kind, pools dropped while
//! owned guards live, zero-sized and over-aligned objects, capacity 1 and the
//! whole index space, threads exiting while they hold `ThreadLocalPool`
//! objects. (No leak after pool drop: `leaks.rs`, also run under valgrind.)

mod common;

use common::{panic_message, scaled, Counters, TestPool, Tracked};
use fastalloc::{
    AsyncPool, FixedPool, GrowingPool, PoolBuilder, PoolExhausted, ThreadLocalGuard,
    ThreadLocalPool, ThreadSafePool, MAX_CAPACITY,
};
use std::cell::RefCell;
use std::future::Future;
use std::ops::Deref;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

// === panicking T::drop ===

fn panicking_drop_in_trim_keeps_the_pool_consistent<P: TestPool>() {
    let c = Counters::new();
    let pool = P::build(4, &c, false, true);
    {
        let mut held: Vec<_> = (0..4).map(|_| pool.get().unwrap()).collect();
        held[2].panic_on_drop = true;
    }
    let err = catch_unwind(AssertUnwindSafe(|| pool.trim())).unwrap_err();
    assert_eq!(panic_message(&*err), "drop panics (test)");
    assert_eq!(pool.in_use(), 0, "{}", P::NAME);
    let dropped = c.dropped();
    assert!((1..=4).contains(&dropped), "{}: {dropped}", P::NAME);
    // Slots emptied by the trim are rebuilt; the rest are reused.
    let held: Vec<_> = (0..4).map(|_| pool.get().unwrap()).collect();
    assert_eq!(c.built(), 4 + dropped, "{}", P::NAME);
    assert!(pool.get().is_err());
    drop(held);
    drop(pool);
    assert_eq!(c.alive(), 0, "{}: every object dropped once", P::NAME);
}

// === mem::forget of every guard kind ===

fn forgetting_a_guard_leaks_only_its_object<P: TestPool>() {
    let c = Counters::new();
    let pool = P::build(2, &c, true, false);
    std::mem::forget(pool.get().unwrap());
    assert_eq!((pool.in_use(), pool.available()), (1, 1), "{}", P::NAME);
    let g = pool.get().unwrap();
    assert_eq!(
        g.id,
        1,
        "{}: the forgotten object is never handed out",
        P::NAME
    );
    assert!(pool.get().is_err());
    drop(g);
    drop(pool.get().unwrap());
    drop(pool);
    assert_eq!(c.alive(), 1, "{}: only the forgotten object leaks", P::NAME);
}

fn capacity_one_hands_out_one_object_at_a_time<P: TestPool>() {
    let c = Counters::new();
    let pool = P::build(1, &c, true, false);
    assert_eq!(pool.capacity(), 1);
    for round in 0..3 {
        let mut g = pool.get().unwrap();
        assert_eq!(g.id, 0, "{}: round {round}", P::NAME);
        g.dirty = true;
        let err: PoolExhausted = pool.get().map(|_| ()).unwrap_err();
        assert_eq!(err.capacity(), 1);
        pool.release(g);
    }
    assert_eq!((c.built(), c.resets()), (1, 3), "{}", P::NAME);
}

for_each_pool!(
    panicking_drop_in_trim_keeps_the_pool_consistent,
    forgetting_a_guard_leaks_only_its_object,
    capacity_one_hands_out_one_object_at_a_time,
);

/// Polls a future once.
fn poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(&common::noop_waker()))
}

#[test]
fn forgetting_owned_guards_leaks_their_pools_storage_and_nothing_more() {
    let c = Counters::new();
    let shared = Arc::new(
        PoolBuilder::new(c.init())
            .capacity(2)
            .build_thread_safe()
            .unwrap(),
    );
    let waiting = Arc::new(
        PoolBuilder::new(c.init())
            .capacity(2)
            .build_async()
            .unwrap(),
    );
    std::mem::forget(shared.get_owned().unwrap());
    std::mem::forget(waiting.try_get_owned().unwrap());
    let mut f = Box::pin(waiting.get_owned());
    let Poll::Ready(g) = poll_once(f.as_mut()) else {
        panic!("one object is free")
    };
    drop(f);
    assert_eq!((shared.in_use(), waiting.in_use()), (1, 2));
    drop(g);
    drop((shared, waiting));
    // An owned guard holds a count on its pool's storage, so forgetting one
    // leaks the storage too: the async pool's idle object (`g`) stays.
    assert_eq!(c.alive(), 3, "the two forgotten objects and g leak");
    assert_eq!(c.dropped(), 0, "nothing is dropped, so nothing twice");
}

/// A `get` future forgotten while queued keeps its place in line: it is
/// woken in turn and never takes the object. The object is not lost (a
/// `try_get` gets it), and the waiter behind it is served at the next
/// release (documented on `AsyncPool::get`).
#[test]
fn forgetting_a_queued_get_future_loses_no_object() {
    let pool = AsyncPool::new(1, || 5u32);
    let held = pool.try_get().unwrap();
    let mut forgotten = Box::pin(pool.get());
    assert!(poll_once(forgotten.as_mut()).is_pending());
    std::mem::forget(forgotten);
    let mut waiter = pin!(pool.get());
    assert!(poll_once(waiter.as_mut()).is_pending());
    drop(held); // wakes the forgotten waiter, first in line
    assert!(poll_once(waiter.as_mut()).is_pending(), "not its turn yet");
    let robber = pool.try_get().expect("the object is free, not lost");
    assert_eq!(*robber, 5);
    drop(robber); // the next release wakes the live waiter
    let Poll::Ready(g) = poll_once(waiter.as_mut()) else {
        panic!("the live waiter is served at the next release")
    };
    assert_eq!(*g, 5);
}

#[test]
fn async_owned_guards_outlive_their_pool() {
    let c = Counters::new();
    let pool = Arc::new(
        PoolBuilder::new(c.init())
            .capacity(3)
            .reset(c.reset())
            .build_async()
            .unwrap(),
    );
    let a = pool.try_get_owned().unwrap();
    let mut f = Box::pin(pool.get_owned());
    let Poll::Ready(b) = poll_once(f.as_mut()) else {
        panic!("free objects")
    };
    drop((f, pool));
    assert_eq!((a.id, b.id), (0, 1));
    assert_eq!(c.alive(), 2);
    drop(a);
    assert_eq!(c.resets(), 1, "released into the orphaned pool: reset");
    drop(b);
    assert_eq!(c.alive(), 0, "the last guard drops the storage and objects");
}

// === zero-sized and over-aligned objects, on every kind ===

/// Takes `n` objects through `get`, checks each address's alignment and that
/// a further get fails, then gives them back and takes one again.
fn exercise<G: Deref>(name: &str, n: usize, get: impl Fn() -> Result<G, PoolExhausted>)
where
    G::Target: Sized,
{
    let align = std::mem::align_of::<G::Target>();
    let held: Vec<G> = (0..n).map(|_| get().unwrap()).collect();
    for g in &held {
        let address = &**g as *const G::Target as usize;
        assert_eq!(address % align, 0, "{name}: aligned to {align}");
    }
    if std::mem::size_of::<G::Target>() > 0 {
        let mut addresses: Vec<usize> = held.iter().map(|g| &**g as *const _ as usize).collect();
        addresses.sort_unstable();
        addresses.dedup();
        assert_eq!(addresses.len(), n, "{name}: distinct objects");
    }
    assert!(get().is_err(), "{name}: {n} is the capacity");
    drop(held);
    assert!(get().is_ok(), "{name}");
}

/// Runs [`exercise`] on every pool kind (a growing one from 1 object).
fn on_every_kind<T: Send + 'static>(n: usize, init: fn() -> T) {
    let fixed = FixedPool::new(n, init);
    exercise("FixedPool", n, || fixed.get());
    let growing = PoolBuilder::new(init)
        .capacity(1)
        .max_capacity(n)
        .build_growing()
        .unwrap();
    exercise("GrowingPool", n, || growing.get());
    let shared = ThreadSafePool::new(n, init);
    exercise("ThreadSafePool", n, || shared.get());
    let growing_shared = PoolBuilder::new(init)
        .capacity(1)
        .max_capacity(n)
        .build_thread_safe()
        .unwrap();
    exercise("growing ThreadSafePool", n, || growing_shared.get());
    let local = ThreadLocalPool::new(n, init);
    exercise("ThreadLocalPool", n, || local.get());
    let waiting = AsyncPool::new(n, init);
    exercise("AsyncPool", n, || waiting.try_get());
}

#[test]
fn zero_sized_objects_on_every_kind() {
    on_every_kind(5, || ());
    #[derive(Debug)]
    struct Unit;
    on_every_kind(3, || Unit);
}

#[test]
fn objects_aligned_to_128_on_every_kind() {
    #[repr(align(128))]
    struct Line(#[allow(dead_code)] [u8; 100]);
    on_every_kind(5, || Line([1; 100]));
}

#[test]
fn objects_aligned_to_4096_on_every_kind() {
    #[repr(align(4096))]
    struct Page(#[allow(dead_code)] u8);
    on_every_kind(3, || Page(1));
}

// === the index space ===

#[test]
fn the_largest_capacity_is_accepted_and_one_more_is_refused() {
    let max = PoolBuilder::new(|| ())
        .capacity(1)
        .max_capacity(MAX_CAPACITY)
        .build_growing()
        .unwrap();
    assert_eq!(max.max_capacity(), MAX_CAPACITY);
    let shared = PoolBuilder::new(|| ())
        .capacity(1)
        .max_capacity(MAX_CAPACITY)
        .build_thread_safe()
        .unwrap();
    assert_eq!(shared.max_capacity(), MAX_CAPACITY);
    for err in [
        PoolBuilder::new(|| ())
            .capacity(MAX_CAPACITY + 1)
            .build_fixed()
            .err(),
        PoolBuilder::new(|| ())
            .capacity(1)
            .max_capacity(MAX_CAPACITY + 1)
            .build_growing()
            .err(),
    ] {
        let text = err.expect("refused").to_string();
        assert!(text.contains(&MAX_CAPACITY.to_string()), "{text}");
    }
    let err = catch_unwind(|| GrowingPool::new(MAX_CAPACITY + 1, || ())).unwrap_err();
    assert!(panic_message(&*err).contains("beyond the index space"));
}

/// Every index of the largest pool handed out, then exhaustion. Needs about
/// 8.6 GB (4 bytes per slot) and 10 s: run by CI's stress step.
#[test]
#[ignore = "8.6 GB and 10 s: run with --ignored (CI's stress step)"]
fn a_pool_of_the_largest_capacity_hands_out_every_index() {
    let pool = FixedPool::new(MAX_CAPACITY, || ());
    for _ in 0..MAX_CAPACITY {
        std::mem::forget(pool.get().unwrap());
    }
    assert_eq!((pool.in_use(), pool.available()), (MAX_CAPACITY, 0));
    let err = pool.get().unwrap_err();
    assert_eq!(err.capacity(), MAX_CAPACITY);
}

// === threads exiting while they hold ThreadLocalPool objects ===

fn tls_pool() -> &'static (ThreadLocalPool<Tracked>, Counters) {
    static POOL: OnceLock<(ThreadLocalPool<Tracked>, Counters)> = OnceLock::new();
    POOL.get_or_init(|| {
        let c = Counters::new();
        let pool = PoolBuilder::new(c.init())
            .capacity(2)
            .reset(c.reset())
            .build_thread_local()
            .unwrap();
        (pool, c)
    })
}

std::thread_local! {
    /// Guards kept in a thread-local: dropped during the thread's exit,
    /// before or after the pool's own exit hook.
    static HELD: RefCell<Vec<ThreadLocalGuard<'static, Tracked>>> = const { RefCell::new(Vec::new()) };
}

#[test]
fn a_thread_exiting_with_guards_in_its_thread_locals_gives_them_back() {
    let (pool, c) = tls_pool();
    for _ in 0..scaled(20, 3) {
        std::thread::spawn(move || {
            let a = pool.get().unwrap();
            let b = pool.get().unwrap();
            assert!(pool.get().is_err());
            HELD.with(|h| h.borrow_mut().extend([a, b]));
        })
        .join()
        .unwrap();
        let s = pool.stats();
        assert_eq!(s.current_in_use, 0, "given back during the thread's exit");
    }
    // Each exited thread's objects were reset on release, and either dropped
    // by its exit hook or left idle in its part of the pool; none lost.
    assert!(c.alive() <= 2 * scaled(20, 3));
    assert_eq!(c.resets(), 2 * scaled(20, 3));
    std::thread::spawn(move || assert!(pool.get().is_ok()))
        .join()
        .unwrap();
}

#[test]
fn a_thread_forgetting_or_panicking_with_guards_exits_cleanly() {
    let c = Counters::new();
    let pool = Arc::new(ThreadLocalPool::new(2, c.init()));
    let p = Arc::clone(&pool);
    std::thread::spawn(move || std::mem::forget(p.get().unwrap()))
        .join()
        .unwrap();
    let p = Arc::clone(&pool);
    let panicked = std::thread::spawn(move || {
        let _held = p.get().unwrap();
        let _also = p.get().unwrap();
        panic!("worker fails while holding two objects");
    })
    .join();
    assert!(panicked.is_err());
    assert_eq!(pool.stats().current_in_use, 1, "only the forgotten one");
    assert_eq!(
        c.alive(),
        1,
        "the panicking thread's objects were dropped at its exit"
    );
    drop(pool);
    assert_eq!(
        c.alive(),
        1,
        "the forgotten object leaks; nothing is dropped twice"
    );
}

/// A `T::drop` run by `trim` that uses its single-thread pool finds the pool
/// whole: every slot is back before any object is dropped. (It once ran
/// while `trim` held the free slots: a `FixedPool` reported exhaustion with
/// no guard out, and a `GrowingPool` grew by a segment per dropped object.)
#[test]
fn a_drop_run_by_trim_finds_a_single_thread_pool_whole() {
    use std::rc::{Rc, Weak};
    /// A pool whose objects, when dropped, get one object from it.
    trait GetOne {
        fn get_one(&self) -> bool;
    }
    struct Uses<P: GetOne> {
        pool: Rc<RefCell<Weak<P>>>,
        got: Rc<RefCell<Vec<bool>>>,
    }
    impl<P: GetOne> Drop for Uses<P> {
        fn drop(&mut self) {
            if let Some(pool) = self.pool.borrow().upgrade() {
                self.got.borrow_mut().push(pool.get_one());
            }
        }
    }
    struct Fixed(FixedPool<Uses<Fixed>>);
    impl GetOne for Fixed {
        fn get_one(&self) -> bool {
            self.0.get().is_ok()
        }
    }
    struct Growing(GrowingPool<Uses<Growing>>);
    impl GetOne for Growing {
        fn get_one(&self) -> bool {
            self.0.get().is_ok()
        }
    }
    /// Where an object finds its pool, and what its drops got.
    type Cell<P> = Rc<RefCell<Weak<P>>>;
    type Got = Rc<RefCell<Vec<bool>>>;
    fn objects<P: GetOne + 'static>() -> (Cell<P>, Got, impl Fn() -> Uses<P> + 'static) {
        let (cell, got) = (Rc::new(RefCell::new(Weak::new())), Rc::default());
        let (c, g) = (Rc::clone(&cell), Rc::clone(&got));
        let init = move || Uses {
            pool: Rc::clone(&c),
            got: Rc::clone(&g),
        };
        (cell, got, init)
    }

    // A FixedPool of 3, all idle.
    let (cell, got, init) = objects::<Fixed>();
    let pool = Rc::new(Fixed(
        PoolBuilder::new(init)
            .capacity(3)
            .pre_initialize(true)
            .build_fixed()
            .unwrap(),
    ));
    *cell.borrow_mut() = Rc::downgrade(&pool);
    assert_eq!(pool.0.trim(), 3);
    assert_eq!(*got.borrow(), [true; 3], "each drop got an object");
    assert_eq!(pool.0.in_use(), 0);

    // A GrowingPool of 2 that may grow to 64, all idle: trimming must not
    // grow it.
    let (cell, got, init) = objects::<Growing>();
    let pool = Rc::new(Growing(
        PoolBuilder::new(init)
            .capacity(2)
            .max_capacity(64)
            .pre_initialize(true)
            .build_growing()
            .unwrap(),
    ));
    *cell.borrow_mut() = Rc::downgrade(&pool);
    assert_eq!(pool.0.trim(), 2);
    assert_eq!(*got.borrow(), [true; 2]);
    assert_eq!(pool.0.capacity(), 2, "trimming made the pool grow");
}
