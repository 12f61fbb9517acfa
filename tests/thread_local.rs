//! ThreadLocalPool: a pool per thread, objects dropped at thread exit or pool
//! drop (whichever comes first), figures summed over threads.

mod common;

use common::{scaled, Counters};
use fastalloc::{PoolBuilder, ThreadLocalPool};
use std::sync::{mpsc, Arc, Barrier};

#[test]
fn each_thread_gets_its_own_capacity() {
    let c = Counters::new();
    let pool = ThreadLocalPool::new(2, c.init());
    let barrier = Barrier::new(3);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                let a = pool.get().unwrap();
                let b = pool.get().unwrap();
                assert!(pool.get().is_err(), "2 per thread");
                assert_eq!((pool.in_use(), pool.available()), (2, 0));
                barrier.wait(); // all three threads hold 2 at once
                drop((a, b));
            });
        }
    });
    assert_eq!(c.built(), 6);
    assert_eq!(pool.in_use(), 0, "the main thread holds nothing");
}

/// Runs `f` on a new thread and joins it. `JoinHandle::join` returns after
/// the thread's thread-local destructors ran (the end of a
/// `std::thread::scope` may come before them).
fn on_a_thread<P: Send + Sync + 'static>(pool: &Arc<P>, f: impl FnOnce(&P) + Send + 'static) {
    let pool = Arc::clone(pool);
    std::thread::spawn(move || f(&pool)).join().unwrap();
}

#[test]
fn a_threads_objects_are_dropped_when_it_exits() {
    let c = Counters::new();
    let pool = Arc::new(ThreadLocalPool::new(4, c.init()));
    let c2 = c.clone();
    on_a_thread(&pool, move |pool| {
        let held: Vec<_> = (0..3).map(|_| pool.get().unwrap()).collect();
        drop(held);
        assert_eq!(c2.alive(), 3);
    });
    // The thread was joined: its exit hook has run.
    assert_eq!(c.built(), 3);
    assert_eq!(c.dropped(), 3, "idle objects dropped at thread exit");
    assert_eq!(pool.stats().current_in_use, 0);
}

#[test]
fn dropping_the_pool_first_drops_the_objects_of_live_threads() {
    let c = Counters::new();
    let pool = Arc::new(ThreadLocalPool::new(4, c.init()));
    let (built_tx, built_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let worker = {
        let pool = Arc::clone(&pool);
        std::thread::spawn(move || {
            drop((pool.get().unwrap(), pool.get().unwrap()));
            drop(pool);
            built_tx.send(()).unwrap();
            done_rx.recv().unwrap(); // stay alive until the pool is gone
        })
    };
    built_rx.recv().unwrap();
    assert_eq!(c.alive(), 2);
    drop(pool);
    assert_eq!(
        c.dropped(),
        2,
        "the live thread's idle objects went with the pool"
    );
    done_tx.send(()).unwrap();
    worker.join().unwrap();
    assert_eq!(c.dropped(), 2, "and were not dropped again at thread exit");
}

#[test]
fn many_short_threads_reuse_pools_without_leaks() {
    let c = Counters::new();
    let pool = Arc::new(
        PoolBuilder::new(c.init())
            .capacity(2)
            .reset(c.reset())
            .statistics(true)
            .build_thread_local()
            .unwrap(),
    );
    let threads = scaled(64, 6);
    for _ in 0..threads {
        on_a_thread(&pool, |pool| {
            let mut g = pool.get().unwrap();
            g.dirty = true;
        });
        assert_eq!(c.alive(), 0, "each thread's object dropped at its exit");
    }
    let s = pool.stats();
    assert_eq!(s.total_allocations, threads as u64);
    assert_eq!(s.total_releases, threads as u64);
    assert_eq!(s.total_resets, threads as u64);
    assert_eq!(s.current_in_use, 0);
    // Serials are recycled, so the table holds far fewer pools than threads.
    assert!(s.current_capacity <= 2 * 4, "{}", s.current_capacity);
}

#[test]
fn stats_sum_over_threads() {
    let pool = PoolBuilder::new(|| 0u64)
        .capacity(8)
        .statistics(true)
        .build_thread_local()
        .unwrap();
    let held = Barrier::new(3);
    let checked = Barrier::new(3);
    std::thread::scope(|s| {
        for t in 1..=2 {
            let (pool, held, checked) = (&pool, &held, &checked);
            s.spawn(move || {
                let g: Vec<_> = (0..t).map(|_| pool.get().unwrap()).collect();
                held.wait();
                checked.wait();
                drop(g);
            });
        }
        held.wait();
        let s = pool.stats();
        assert_eq!(s.current_in_use, 3, "1 + 2 objects held by two threads");
        assert_eq!(s.current_capacity, 16);
        assert_eq!(s.total_allocations, 3);
        checked.wait();
    });
    assert!(pool.get().unwrap().eq(&0));
}

#[test]
fn pre_initialize_builds_a_threads_objects_on_its_first_use() {
    let c = Counters::new();
    let pool = Arc::new(
        PoolBuilder::new(c.init())
            .capacity(3)
            .pre_initialize(true)
            .build_thread_local()
            .unwrap(),
    );
    assert_eq!(c.built(), 0, "no thread has used the pool yet");
    drop(pool.get().unwrap());
    assert_eq!(c.built(), 3);
    on_a_thread(&pool, |pool| drop(pool.get().unwrap()));
    assert_eq!(c.built(), 6);
    assert_eq!(
        c.dropped(),
        3,
        "the other thread's objects went at its exit"
    );
    drop(pool);
    assert_eq!(c.dropped(), 6);
}

/// An `init` that uses the same pool while the thread's pool is being
/// pre-initialised works as it does without pre-initialisation (it once
/// re-entered the once-cell that was building the thread's pool, and hung).
#[test]
fn a_pre_initialising_init_may_use_the_same_pool() {
    type Cell = std::sync::OnceLock<std::sync::Weak<ThreadLocalPool<Vec<u32>>>>;
    let cell: Arc<Cell> = Arc::new(Cell::new());
    let c = Arc::clone(&cell);
    let pool = Arc::new(
        PoolBuilder::new(move || {
            // What the init sees of the pool: the calling thread's figures,
            // and a get (which takes a slot not built yet, or fails).
            let pool = c.get().and_then(std::sync::Weak::upgrade);
            let seen = pool.as_ref().map_or(0, |p| p.available());
            let nested = pool.as_ref().map(|p| p.get().is_ok());
            vec![seen as u32, u32::from(nested == Some(true))]
        })
        .capacity(3)
        .pre_initialize(true)
        .build_thread_local()
        .unwrap(),
    );
    assert!(cell.set(Arc::downgrade(&pool)).is_ok());
    let (tx, rx) = mpsc::channel();
    let p = Arc::clone(&pool);
    std::thread::spawn(move || {
        let g = p.get().map(|g| g.clone());
        tx.send((g, p.available(), p.in_use())).unwrap();
    });
    let (got, available, in_use) = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("hang: init re-entered the thread's pool while it was being built");
    assert!(got.is_ok(), "{got:?}");
    assert_eq!((available, in_use), (3, 0), "three objects, all back");
}
