//! Loom models of `ThreadSafePool`: get and release across threads, the
//! object's contents handed over with the index, owned guards outliving the
//! pool. Slot accesses go through loom's `UnsafeCell` on acquire and on
//! release, so a missing happens-before edge is reported as a causality
//! violation.

use crate::{PoolBuilder, ThreadSafePool};
use alloc::vec::Vec;
use loom::sync::Arc;
use loom::thread;

#[test]
fn loom_two_threads_share_one_object() {
    loom::model(|| {
        let pool = Arc::new(ThreadSafePool::new(1, || 0usize));
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let pool = pool.clone();
                thread::spawn(move || match pool.get() {
                    Ok(mut g) => {
                        *g += 1;
                        1
                    }
                    Err(e) => {
                        assert_eq!(e.capacity(), 1);
                        0
                    }
                })
            })
            .collect();
        let wins: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
        assert!(wins >= 1, "the first getter always wins");
        assert_eq!(pool.in_use(), 0);
        // Every increment made by a winner is visible to the next holder.
        assert_eq!(*pool.get().unwrap(), wins);
    });
}

#[test]
fn loom_owned_guard_released_on_another_thread_with_reset() {
    loom::model(|| {
        let pool = alloc::sync::Arc::new(
            PoolBuilder::new(|| 0u32)
                .capacity(2)
                .reset(|x: &mut u32| *x = 0)
                .build_thread_safe()
                .unwrap(),
        );
        let mut g = pool.get_owned().unwrap();
        *g = 7;
        let p = pool.clone();
        let worker = thread::spawn(move || {
            assert_eq!(*g, 7, "the value written before the move is visible");
            *g = 8;
            drop(g); // released (and reset) on this thread
            if let Ok(mut other) = p.get() {
                assert_eq!(*other, 0, "a handed-out object is always reset");
                *other = 9;
            }
        });
        if let Ok(g2) = pool.get() {
            assert_eq!(*g2, 0);
        }
        worker.join().unwrap();
        assert_eq!(pool.in_use(), 0);
        let a = pool.get().unwrap();
        let b = pool.get().unwrap();
        assert_eq!((*a, *b), (0, 0), "both objects came back reset");
    });
}

#[test]
fn loom_owned_guard_outlives_the_pool() {
    loom::model(|| {
        let pool = alloc::sync::Arc::new(ThreadSafePool::new(2, || alloc::vec![1u8; 4]));
        let mut g = pool.get_owned().unwrap();
        let worker = thread::spawn(move || {
            g[0] = 2;
            g.len()
        });
        drop(pool); // may run before or after the worker drops its guard
        assert_eq!(worker.join().unwrap(), 4);
    });
}
