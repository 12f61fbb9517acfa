//! Loom models of `ThreadSafePool`: get and release across threads, the
//! object's contents handed over with the index, owned guards outliving the
//! pool. Slot accesses go through loom's `UnsafeCell` on acquire and on
//! release, so a missing happens-before edge is reported as a causality
//! violation.

use crate::{PoolBuilder, ThreadSafePool};
use alloc::boxed::Box;
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

/// Two threads find a growing pool empty at once: between them they add one
/// segment (of two slots), not two, and each gets its own object.
#[test]
fn loom_racing_growth_adds_one_segment() {
    loom::model(|| {
        let pool = Arc::new(
            PoolBuilder::new(|| 0usize)
                .capacity(1)
                .max_capacity(5)
                .growth(crate::Growth::Linear(2))
                .build_thread_safe()
                .unwrap(),
        );
        let first = pool.get().unwrap();
        let workers: Vec<_> = (0..2)
            .map(|t| {
                let pool = pool.clone();
                thread::spawn(move || {
                    let mut g = pool.get().expect("growth makes room for both");
                    *g = t + 10;
                    let seen = *g;
                    drop(g);
                    seen
                })
            })
            .collect();
        let seen: Vec<usize> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        assert_eq!(seen, [10, 11], "each thread saw only its own write");
        drop(first);
        assert_eq!(pool.capacity(), 3, "one segment of 2 added, not two");
        assert_eq!(pool.in_use(), 0);
    });
}

/// A waiter of an async pool is cancelled while a release races with it: the
/// object is not lost and the other waiter is served.
#[test]
fn loom_async_cancelled_waiter_loses_no_wake_up() {
    use crate::AsyncPool;
    use core::future::Future;
    use core::pin::Pin;
    use core::task::{Context, Poll};
    loom::model(|| {
        let pool = alloc::sync::Arc::new(AsyncPool::new(1, || 0u32));
        let held = pool.try_get_owned().unwrap();
        let waker = futures_noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut a = Box::pin(pool.get());
        let mut b = Box::pin(pool.get());
        assert!(a.as_mut().poll(&mut cx).is_pending());
        assert!(b.as_mut().poll(&mut cx).is_pending());
        let releaser = thread::spawn(move || drop(held));
        drop(a); // may run before, during or after the release
        releaser.join().unwrap();
        // B was woken (by the release or by A passing it on) and gets the object.
        match Pin::new(&mut b).poll(&mut cx) {
            Poll::Ready(g) => drop(g),
            Poll::Pending => panic!("the object was released but B was not served"),
        }
        assert_eq!(pool.waiting(), 0);
        assert_eq!(pool.in_use(), 0);
    });
}

/// A waker that does nothing (the model polls by hand).
fn futures_noop_waker() -> core::task::Waker {
    use core::task::{RawWaker, RawWakerVTable, Waker};
    const VTABLE: RawWakerVTable = RawWakerVTable::new(
        |_| RawWaker::new(core::ptr::null(), &VTABLE),
        |_| {},
        |_| {},
        |_| {},
    );
    // SAFETY: every vtable function ignores the null data pointer.
    unsafe { Waker::from_raw(RawWaker::new(core::ptr::null(), &VTABLE)) }
}

/// A get racing a trim of an idle pool of two: the trim holds both objects
/// off the list for a moment, and the get must wait for them, not report the
/// pool exhausted. (It once looked at the list before it looked for a trim:
/// a trim that took the objects before the look and finished before the
/// check was never seen.)
#[test]
fn loom_get_racing_trim_of_an_idle_pool_succeeds() {
    get_racing_trim(2);
}

/// The same on a pool built to grow: a get racing a trim must not add a
/// segment (calling `trim` to give memory back must not make the pool grow).
#[test]
fn loom_get_racing_trim_of_a_growing_pool_does_not_grow_it() {
    get_racing_trim(4);
}

/// One get racing one trim on an idle, pre-initialised pool of two that may
/// grow to `max`.
fn get_racing_trim(max: usize) {
    loom::model(move || {
        let pool = Arc::new(
            PoolBuilder::new(|| 5u32)
                .capacity(2)
                .max_capacity(max)
                .pre_initialize(true)
                .build_thread_safe()
                .unwrap(),
        );
        let p = pool.clone();
        let trimmer = thread::spawn(move || p.trim());
        let got = pool.get().map(|g| *g);
        let trimmed = trimmer.join().unwrap();
        assert_eq!(got, Ok(5), "no object was in use");
        assert!(trimmed <= 2);
        assert_eq!(pool.capacity(), 2, "a trim made the pool grow");
        assert_eq!(pool.in_use(), 0);
    });
}

/// A waiter woken by a release takes its object while a trim runs: it must
/// get it (or stay woken), never sleep next to a free object.
#[test]
fn loom_async_woken_waiter_racing_trim_is_served() {
    use crate::AsyncPool;
    use core::future::Future;
    use core::task::{Context, Poll};
    loom::model(|| {
        let pool = alloc::sync::Arc::new(
            PoolBuilder::new(|| 5u32)
                .capacity(1)
                .pre_initialize(true)
                .build_async()
                .unwrap(),
        );
        let held = pool.try_get_owned().unwrap();
        let (waker, woken) = flag_waker();
        let mut cx = Context::from_waker(&waker);
        let mut a = Box::pin(pool.get());
        assert!(a.as_mut().poll(&mut cx).is_pending());
        let p = pool.clone();
        let trimmer = thread::spawn(move || {
            p.trim();
        });
        drop(held); // wakes A
        woken.store(false, core::sync::atomic::Ordering::SeqCst);
        let first = a.as_mut().poll(&mut cx);
        trimmer.join().unwrap();
        match first {
            Poll::Ready(g) => assert_eq!(*g, 5),
            Poll::Pending => {
                assert!(
                    woken.load(core::sync::atomic::Ordering::SeqCst),
                    "A sleeps next to a free object and nobody will wake it"
                );
                assert!(a.as_mut().poll(&mut cx).is_ready());
            }
        }
        assert_eq!(pool.waiting(), 0);
    });
}

/// Statistics read while another thread's gets fail stay within their
/// bounds: no figure is negative (a debug build once panicked subtracting)
/// or above the calls made; exact once the thread joined.
#[test]
fn loom_stats_read_while_gets_fail_stay_in_bounds() {
    loom::model(|| {
        let pool = Arc::new(
            PoolBuilder::new(|| 0u8)
                .capacity(1)
                .statistics(true)
                .build_thread_safe()
                .unwrap(),
        );
        let held = pool.get().unwrap();
        let p = pool.clone();
        let failing = thread::spawn(move || {
            assert!(p.get().is_err());
            assert!(p.get().is_err());
        });
        let s = pool.stats();
        assert_eq!(s.total_allocations, 1);
        assert!(s.exhausted <= 2, "{s:?}");
        assert_eq!(s.total_releases, 0, "{s:?}");
        failing.join().unwrap();
        drop(held);
        let s = pool.stats();
        assert_eq!(
            (s.total_allocations, s.exhausted, s.total_releases),
            (1, 2, 1)
        );
    });
}

/// A waker that records that it was woken (the model polls by hand).
fn flag_waker() -> (
    core::task::Waker,
    alloc::sync::Arc<core::sync::atomic::AtomicBool>,
) {
    use core::sync::atomic::{AtomicBool, Ordering};
    struct Flag(alloc::sync::Arc<AtomicBool>);
    impl std::task::Wake for Flag {
        fn wake(self: alloc::sync::Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let flag = alloc::sync::Arc::new(AtomicBool::new(false));
    let waker = core::task::Waker::from(alloc::sync::Arc::new(Flag(flag.clone())));
    (waker, flag)
}

/// A release racing a first waiter's attempt (registered, taking an object
/// outside the wait-list lock): the waiter is served, or stays woken.
/// Releases that land while a waiter attempts leave it a credit.
#[test]
fn loom_async_release_racing_an_attempt_is_not_lost() {
    use crate::AsyncPool;
    use core::future::Future;
    use core::task::{Context, Poll};
    loom::model(|| {
        let pool = alloc::sync::Arc::new(AsyncPool::new(1, || 5u32));
        let held = pool.try_get_owned().unwrap();
        let p = pool.clone();
        let waiter = thread::spawn(move || {
            let (waker, woken) = flag_waker();
            let mut x = Box::pin(p.get_owned());
            let first = x.as_mut().poll(&mut Context::from_waker(&waker));
            (x, waker, woken, first.map(|g| *g))
        });
        drop(held);
        let (mut x, waker, woken, first) = waiter.join().unwrap();
        if first.is_pending() {
            assert!(
                woken.load(core::sync::atomic::Ordering::SeqCst),
                "X sleeps next to the released object"
            );
            match x.as_mut().poll(&mut Context::from_waker(&waker)) {
                Poll::Ready(g) => assert_eq!(*g, 5),
                Poll::Pending => panic!("X woken next to a free object, but pending"),
            }
        }
        drop(x);
        assert_eq!(pool.waiting(), 0);
    });
}
