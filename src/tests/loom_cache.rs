//! Loom models of the per-thread caches (`src/freelist/cached.rs`): each loom thread
//! is given its own cache, so every hand-off between a cache and the shared
//! stack, every steal and every double collect before "exhausted" is
//! explored under every interleaving (up to the preemption bound). Objects
//! carry a value whose visibility to the next holder loom checks through the
//! slot's `UnsafeCell`.

use crate::sync::loom_serial;
use crate::{PoolBuilder, ThreadSafePool};
use alloc::vec::Vec;
use loom::sync::Arc;
use loom::thread;

/// A pool of `capacity` counters; each model thread picks its cache with
/// `loom_serial::set`.
fn pool(capacity: usize) -> Arc<ThreadSafePool<usize>> {
    Arc::new(ThreadSafePool::new(capacity, || 0usize))
}

#[test]
fn loom_get_never_fails_while_an_object_is_parked_in_another_cache() {
    // Two objects, two threads, each holding at most one at a time: when a
    // thread calls `get`, at least one object is free (in the shared stack
    // or in either cache), so no `get` may fail. The second round forces a
    // steal or a refill racing the other thread's release.
    loom::model(|| {
        let pool = pool(2);
        let workers: Vec<_> = (0..2)
            .map(|serial| {
                let pool = pool.clone();
                thread::spawn(move || {
                    loom_serial::set(Some(serial));
                    for _ in 0..2 {
                        let mut g = pool.get().expect("an object was free");
                        *g += 1;
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(pool.in_use(), 0);
        assert_eq!(pool.available(), 2);
        let (a, b) = (pool.get().unwrap(), pool.get().unwrap());
        assert_eq!(*a + *b, 4, "every increment reached the next holder");
        assert!(pool.get().is_err(), "exactly two objects");
    });
}

#[test]
fn loom_an_object_released_into_another_threads_cache_is_reachable() {
    // The main thread takes both objects, hands one to a thread that
    // releases it into its own cache, and releases the other into its own.
    // After the join, both must be reachable from the main thread.
    loom::model(|| {
        loom_serial::set(Some(0));
        let pool = alloc::sync::Arc::new(
            PoolBuilder::new(|| 0u32)
                .capacity(2)
                .reset(|x: &mut u32| *x = 0)
                .build_thread_safe()
                .unwrap(),
        );
        let mut moved = pool.get_owned().unwrap();
        let mut kept = pool.get_owned().unwrap();
        *moved = 1;
        *kept = 2;
        let worker = thread::spawn(move || {
            loom_serial::set(Some(1));
            assert_eq!(*moved, 1);
            drop(moved); // reset, then parked in cache 1
        });
        drop(kept); // reset, then parked in cache 0
        worker.join().unwrap();
        assert_eq!(pool.in_use(), 0);
        let a = pool.get().expect("from this thread's cache");
        let b = pool.get().expect("stolen from the other thread's cache");
        assert_eq!((*a, *b), (0, 0), "both were reset before they were parked");
        assert!(pool.get().is_err());
    });
}

#[test]
fn loom_cached_and_uncached_threads_share_one_pool() {
    // A thread with a cache and one without (past the cached serials, or in
    // its exit teardown) each take and give back an object of a pool of two,
    // while the main thread, with another cache, checks the total.
    loom::model(|| {
        let pool = pool(4); // one entry per cache
        let workers: Vec<_> = [Some(1), None]
            .into_iter()
            .map(|serial| {
                let pool = pool.clone();
                thread::spawn(move || {
                    loom_serial::set(serial);
                    let mut g = pool.get().expect("four objects, three takers");
                    *g += 1;
                })
            })
            .collect();
        loom_serial::set(Some(0));
        let mut mine = pool.get().expect("four objects, three takers");
        *mine += 1;
        drop(mine);
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(pool.in_use(), 0);
        let all: Vec<_> = (0..4).map(|_| pool.get().unwrap()).collect();
        assert_eq!(all.iter().map(|g| **g).sum::<usize>(), 3);
    });
}

#[test]
fn loom_exhaustion_is_reported_only_when_every_object_was_out_at_once() {
    // Three objects: `z` stays with the main thread, `x` with a thread
    // without a cache that releases it to the shared stack, and `y` sits in
    // cache 1, where a thread with that cache takes it and gives it back,
    // but only after `x` was released. So at every instant one object is
    // free, and the main thread's `get`, which finds its own cache and the
    // shared stack empty and must steal, may not fail. A getter that looked
    // at the shared stack before `x` came back and at cache 1 while `y` was
    // out saw nothing; its double collect sends it round again.
    loom::model(|| {
        let pool = alloc::sync::Arc::new(ThreadSafePool::new(3, || 0u8));
        loom_serial::set(Some(1));
        let x = pool.get_owned().unwrap();
        let y = pool.get_owned().unwrap();
        let z = pool.get_owned().unwrap();
        drop(y); // parked in cache 1
        loom_serial::set(Some(0));
        let p = pool.clone();
        let releaser = thread::spawn(move || {
            loom_serial::set(None);
            drop(x); // to the shared stack
            let p = p.clone();
            thread::spawn(move || {
                loom_serial::set(Some(1));
                drop(p.get().expect("x was free"));
            })
            .join()
            .unwrap();
        });
        let got = pool.get().expect("one object was free at every instant");
        drop(got);
        releaser.join().unwrap();
        drop(z);
        assert_eq!(pool.in_use(), 0);
    });
}
