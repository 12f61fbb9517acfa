//! AsyncPool: waiting, fairness, cancellation, on tokio and on a bare
//! executor.

mod common;

use common::scaled;
#[cfg(not(miri))]
use common::Counters;
use fastalloc::{AsyncPool, PoolBuilder};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// A waker that records that it was woken.
#[derive(Default)]
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, SeqCst);
    }
}

impl Flag {
    fn take(&self) -> bool {
        self.0.swap(false, SeqCst)
    }
}

/// Polls `f` once with `flag` as its waker.
fn poll_once<F: Future + Unpin>(f: &mut F, flag: &Arc<Flag>) -> Poll<F::Output> {
    let waker = Waker::from(Arc::clone(flag));
    Pin::new(f).poll(&mut Context::from_waker(&waker))
}

/// Runs a future to completion on the calling thread (park/unpark).
fn block_on<F: Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut Context::from_waker(&waker)) {
            return v;
        }
        std::thread::park();
    }
}

#[test]
fn get_completes_at_once_when_an_object_is_free() {
    let pool = AsyncPool::new(2, || 7u32);
    let flag = Arc::new(Flag::default());
    let mut f = Box::pin(pool.get());
    match poll_once(&mut f, &flag) {
        Poll::Ready(g) => assert_eq!(*g, 7),
        Poll::Pending => panic!("a free object must be handed out on the first poll"),
    };
}

#[test]
fn waiters_are_served_first_come_first_served() {
    let pool = AsyncPool::new(1, || 0u32);
    let held = pool.try_get().unwrap();
    let flags: Vec<Arc<Flag>> = (0..3).map(|_| Arc::new(Flag::default())).collect();
    let mut futures: Vec<_> = (0..3).map(|_| Box::pin(pool.get())).collect();
    for (f, flag) in futures.iter_mut().zip(&flags) {
        assert!(poll_once(f, flag).is_pending());
    }
    assert_eq!(pool.waiting(), 3);
    drop(held);
    for i in 0..3 {
        // Exactly the oldest waiter is woken by each release.
        let woken: Vec<bool> = flags.iter().map(|f| f.take()).collect();
        let mut expected = vec![false; 3];
        expected[i] = true;
        assert_eq!(woken, expected, "release {i}");
        // A later waiter polled now does not jump the queue.
        for j in (i + 1)..3 {
            assert!(poll_once(&mut futures[j], &flags[j]).is_pending());
        }
        let g = match poll_once(&mut futures[i], &flags[i]) {
            Poll::Ready(g) => g,
            Poll::Pending => panic!("woken waiter {i} got nothing"),
        };
        drop(g);
    }
    assert_eq!(pool.waiting(), 0);
}

/// A pinned `get` future and the flag its waker sets.
type Waiter<'a, T> = (Pin<Box<fastalloc::Acquire<'a, T>>>, Arc<Flag>);

/// Two `get` futures of `pool`, each polled once (and so queued, in order,
/// while every object is out), with the flags that record their wake-ups.
fn queued_waiters<T>(pool: &AsyncPool<T>) -> [Waiter<'_, T>; 2] {
    [(); 2].map(|()| {
        let flag = Arc::new(Flag::default());
        let mut f = Box::pin(pool.get());
        assert!(poll_once(&mut f, &flag).is_pending());
        (f, flag)
    })
}

#[test]
fn a_cancelled_waiter_passes_its_wake_up_on() {
    let pool = AsyncPool::new(1, || 0u32);
    let held = pool.try_get().unwrap();
    let [(fa, a), (mut fb, b)] = queued_waiters(&pool);
    drop(held); // wakes A
    assert!(a.take() && !b.take());
    drop(fa); // A gives up: its wake-up goes to B
    assert!(b.take(), "B woken after A was cancelled");
    assert!(poll_once(&mut fb, &b).is_ready());
    assert_eq!(pool.waiting(), 0);
}

#[test]
fn a_cancelled_queued_waiter_leaves_the_queue() {
    let pool = AsyncPool::new(1, || 0u32);
    let held = pool.try_get().unwrap();
    let [(fa, _a), (mut fb, b)] = queued_waiters(&pool);
    drop(fa);
    assert_eq!(pool.waiting(), 1);
    drop(held);
    assert!(b.take());
    assert!(poll_once(&mut fb, &b).is_ready());
}

#[test]
fn a_waiter_robbed_by_try_get_stays_first_in_line() {
    let pool = AsyncPool::new(1, || 0u32);
    let held = pool.try_get().unwrap();
    let [(mut fa, a), (_fb, b)] = queued_waiters(&pool);
    drop(held);
    let robber = pool.try_get().unwrap(); // takes the object before A polls
    assert!(a.take());
    assert!(poll_once(&mut fa, &a).is_pending());
    drop(robber);
    assert!(a.take() && !b.take(), "A is still first");
    assert!(poll_once(&mut fa, &a).is_ready());
}

#[test]
fn works_on_a_plain_executor_across_threads() {
    let pool = Arc::new(AsyncPool::new(2, || 0usize));
    let rounds = scaled(500, 20);
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || {
                block_on(async {
                    for _ in 0..rounds {
                        let mut g = pool.get().await;
                        *g += 1;
                    }
                })
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let total: usize = block_on(async {
        let a = pool.get().await;
        let b = pool.get().await;
        *a + *b
    });
    assert_eq!(total, 4 * rounds);
    assert_eq!(pool.waiting(), 0);
}

#[test]
fn guards_and_futures_are_send() {
    fn send<S: Send>(_: &S) {}
    let pool = Arc::new(AsyncPool::new(1, String::new));
    send(&pool.get());
    send(&pool.get_owned());
    send(&pool.try_get().unwrap());
}

/// A woken waiter whose `init` panics (it had to build the object: the idle
/// one was trimmed) and whose future is then dropped, as an executor drops a
/// panicked task, passes its wake-up on: the next waiter is woken and served.
/// (The wake-up was lost: the waiter had left the notified set before `init`
/// ran, so dropping it passed nothing on, and `waiting()` stayed 1.)
#[test]
fn a_woken_waiter_whose_init_panics_passes_the_wake_up_on() {
    let panics = Arc::new(AtomicBool::new(false));
    let p = Arc::clone(&panics);
    let pool = AsyncPool::new(1, move || {
        assert!(!p.load(SeqCst), "init refuses");
        5u32
    });
    let held = pool.try_get().unwrap();
    let (fa, fb) = (Arc::new(Flag::default()), Arc::new(Flag::default()));
    let mut a = Box::pin(pool.get());
    let mut b = Box::pin(pool.get());
    assert!(poll_once(&mut a, &fa).is_pending());
    assert!(poll_once(&mut b, &fb).is_pending());
    drop(held);
    assert!(fa.take(), "the release woke A");
    assert_eq!(
        pool.trim(),
        1,
        "the idle object is dropped: A must build one"
    );
    panics.store(true, SeqCst);
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll_once(&mut a, &fa)));
    assert!(caught.is_err(), "A's init panicked");
    drop(a);
    assert!(fb.take(), "A passed its wake-up on to B");
    panics.store(false, SeqCst);
    match poll_once(&mut b, &fb) {
        Poll::Ready(g) => assert_eq!(*g, 5),
        Poll::Pending => panic!("B is pending next to a free object"),
    }
    assert_eq!((pool.waiting(), pool.in_use()), (0, 0));
}

/// A first poll whose `init` panics (in its direct take, before it
/// registers) leaves the count of waiters as it found it, and the slot free.
#[test]
fn a_first_poll_whose_init_panics_leaves_no_waiter_counted() {
    let panics = Arc::new(AtomicBool::new(true));
    let p = Arc::clone(&panics);
    let pool = AsyncPool::new(1, move || {
        assert!(!p.load(SeqCst), "init refuses");
        5u32
    });
    let flag = Arc::new(Flag::default());
    let mut a = Box::pin(pool.get());
    let caught =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll_once(&mut a, &flag)));
    assert!(caught.is_err());
    drop(a);
    assert_eq!((pool.waiting(), pool.in_use(), pool.available()), (0, 0, 1));
    panics.store(false, SeqCst);
    assert_eq!(*pool.try_get().unwrap(), 5);
}

/// A release that finds nobody queued while a notified waiter is yet to
/// take its object leaves a credit: a waiter arriving next takes the second
/// free object at once instead of queueing behind the notified one for ever.
#[test]
fn a_release_that_notifies_nobody_is_not_lost() {
    let pool = AsyncPool::new(2, || 1u32);
    let (a, b) = (pool.try_get().unwrap(), pool.try_get().unwrap());
    let (fx, fw) = (Arc::new(Flag::default()), Arc::new(Flag::default()));
    let mut x = Box::pin(pool.get());
    assert!(poll_once(&mut x, &fx).is_pending());
    drop(a); // notifies X
    assert!(fx.take());
    drop(b); // nobody queued: a credit
    let mut w = Box::pin(pool.get());
    let w_first = poll_once(&mut w, &fw);
    let x_got = poll_once(&mut x, &fx);
    let x_guard = match x_got {
        Poll::Ready(g) => g,
        Poll::Pending => panic!("X was notified next to a free object"),
    };
    let w_guard = match w_first {
        Poll::Ready(g) => g,
        Poll::Pending => match poll_once(&mut w, &fw) {
            Poll::Ready(g) => g,
            Poll::Pending => panic!("W sleeps next to a free object (woken: {})", fw.take()),
        },
    };
    assert_eq!((*x_guard, *w_guard, pool.waiting()), (1, 1, 0));
}

/// An `init` that panics in a `try_get` puts its slot back: a waiter that
/// queued meanwhile is woken for it, as for a release (it slept next to the
/// free slot). The waiter is polled from inside that `init`, so the steps
/// are exact on one thread.
#[test]
fn a_try_get_whose_init_panics_wakes_a_waiter() {
    type Waiter = (Pin<Box<fastalloc::AcquireOwned<u32>>>, Arc<Flag>);
    let slot: Arc<std::sync::Mutex<Option<Waiter>>> = Arc::default();
    let in_init = Arc::clone(&slot);
    let pool = Arc::new(AsyncPool::new(1, move || {
        let mut waiter = in_init.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((w, flag)) = waiter.as_mut() {
            // The only slot is being built by this `try_get`: W queues.
            assert!(poll_once(w, flag).is_pending());
            panic!("init refuses");
        }
        3u32
    }));
    let flag = Arc::new(Flag::default());
    *slot.lock().unwrap() = Some((Box::pin(pool.get_owned()), Arc::clone(&flag)));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pool.try_get().is_ok()));
    assert!(caught.is_err(), "init panicked");
    let (mut w, flag) = slot
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .unwrap();
    assert!(flag.take(), "the slot the panic freed woke W");
    match poll_once(&mut w, &flag) {
        Poll::Ready(g) => assert_eq!(*g, 3),
        Poll::Pending => panic!("W pending next to a free slot"),
    }
    assert_eq!(pool.waiting(), 0);
}

/// A future re-polled with a new waker (legal) drops its old waker outside
/// the pool's lock: an old waker owning the last reference to a guard of the
/// same pool releases it without deadlocking. (The waker was replaced under
/// the wait-list mutex, and the release locked it again on the same thread.)
#[test]
fn a_waker_dropped_by_the_pool_may_release_a_guard_of_that_pool() {
    /// A waker whose data owns a guard: dropping its last reference
    /// releases the guard.
    struct Holds {
        _guard: fastalloc::AsyncOwnedGuard<u32>,
    }
    impl Wake for Holds {
        fn wake(self: Arc<Self>) {}
    }
    let pool = Arc::new(AsyncPool::new(2, || 0u32));
    let (tx, rx) = std::sync::mpsc::channel();
    let p = Arc::clone(&pool);
    std::thread::spawn(move || {
        let _mine = p.try_get_owned().unwrap();
        let holds = Arc::new(Holds {
            _guard: p.try_get_owned().unwrap(),
        });
        let old = Waker::from(holds);
        let mut f = Box::pin(p.get());
        assert!(f.as_mut().poll(&mut Context::from_waker(&old)).is_pending());
        drop(old); // the queue now holds the last reference
        let new = Arc::new(Flag::default());
        // Replacing the waker drops the old one: its guard goes back, which
        // wakes this very waiter.
        let first = poll_once(&mut f, &new);
        let served = match first {
            Poll::Ready(g) => *g,
            Poll::Pending => {
                assert!(new.take(), "the released guard woke the waiter");
                match poll_once(&mut f, &new) {
                    Poll::Ready(g) => *g,
                    Poll::Pending => panic!("woken next to a free object, but pending"),
                }
            }
        };
        tx.send(served).unwrap();
    });
    let served = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("deadlock: a waker was dropped under the wait-list mutex");
    assert_eq!(served, 0);
    assert_eq!(pool.waiting(), 0);
}

/// tokio's runtime is too slow under Miri.
#[cfg(not(miri))]
mod on_tokio {
    use super::*;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_more_tasks_than_objects_all_finish() {
        let c = Counters::new();
        let pool = Arc::new(
            PoolBuilder::new(c.init())
                .capacity(4)
                .reset(c.reset())
                .statistics(true)
                .build_async()
                .unwrap(),
        );
        let done = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..200)
            .map(|t| {
                let (pool, done) = (Arc::clone(&pool), Arc::clone(&done));
                tokio::spawn(async move {
                    let mut g = pool.get_owned().await;
                    g.claim(t);
                    g.dirty = true;
                    tokio::task::yield_now().await; // hold it across an await
                    g.unclaim(t);
                    drop(g);
                    done.fetch_add(1, SeqCst);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(done.load(SeqCst), 200);
        assert!(c.built() <= 4);
        let s = pool.stats();
        assert_eq!((s.total_allocations, s.total_releases), (200, 200));
        assert_eq!(s.current_in_use, 0);
        assert_eq!(pool.waiting(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn timeouts_cancel_waiters_without_losing_objects() {
        let pool = Arc::new(AsyncPool::new(2, || 0u64));
        let tasks: Vec<_> = (0..100u64)
            .map(|t| {
                let pool = Arc::clone(&pool);
                tokio::spawn(async move {
                    // Short timeouts for half the tasks: many give up while
                    // queued, some right after being woken.
                    let limit = Duration::from_micros(if t % 2 == 0 { 50 } else { 50_000 });
                    match tokio::time::timeout(limit, pool.get()).await {
                        Ok(mut g) => {
                            *g += 1;
                            tokio::time::sleep(Duration::from_micros(100)).await;
                            true
                        }
                        Err(_) => false,
                    }
                })
            })
            .collect();
        let mut served = 0u64;
        for t in tasks {
            served += u64::from(t.await.unwrap());
        }
        assert!(served > 0);
        assert_eq!(pool.waiting(), 0, "every cancelled waiter left the queue");
        assert_eq!(pool.in_use(), 0, "no object lost");
        // Both objects are immediately available, and together counted every use.
        let a = pool.try_get().unwrap();
        let b = pool.try_get().unwrap();
        assert_eq!(*a + *b, served);
    }
}

/// Found by the `ops` fuzz target: a `get` that waited counted two
/// exhaustions (its direct attempt and its retry under the wait-list lock).
#[test]
fn a_get_that_waits_counts_one_exhaustion_per_wait() {
    let pool = PoolBuilder::new(|| 0u32)
        .capacity(1)
        .statistics(true)
        .build_async()
        .unwrap();
    let held = pool.try_get().unwrap();
    let (a, b) = (Arc::new(Flag::default()), Arc::new(Flag::default()));
    let (mut fa, mut fb) = (Box::pin(pool.get()), Box::pin(pool.get()));
    assert!(poll_once(&mut fa, &a).is_pending());
    assert_eq!(pool.stats().exhausted, 1, "one get queued");
    assert!(poll_once(&mut fb, &b).is_pending());
    assert_eq!(pool.stats().exhausted, 2, "two gets queued");
    assert!(poll_once(&mut fa, &a).is_pending());
    assert_eq!(
        pool.stats().exhausted,
        2,
        "polled again, not woken: no count"
    );
    drop(held); // wakes A
    let robber = pool.try_get().unwrap();
    assert!(a.take() && poll_once(&mut fa, &a).is_pending());
    assert!(pool.try_get().is_err());
    let s = pool.stats();
    assert_eq!(s.exhausted, 4, "A robbed (waits again), one try_get failed");
    drop(robber);
    assert!(a.take());
    let got_a = poll_once(&mut fa, &a);
    assert!(got_a.is_ready());
    drop(got_a);
    assert!(b.take());
    assert!(poll_once(&mut fb, &b).is_ready());
    let s = pool.stats();
    assert_eq!((s.total_allocations, s.exhausted), (4, 4), "{s:?}");
    assert_eq!((s.total_releases, s.current_in_use), (4, 0), "{s:?}");
}
