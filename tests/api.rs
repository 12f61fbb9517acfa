//! Taking objects out, putting objects in, rejecting worn objects, resetting
//! statistics (on every pool kind); moving single-thread pools to a thread;
//! waiting with a timeout.

mod common;

use common::{Counters, TestPool, Tracked};
use fastalloc::{
    FixedGuard, FixedPool, GrowingPool, PoolBuilder, PoolExhausted, ThreadSafeGuard, ThreadSafePool,
};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A `Tracked` built outside any pool (by the counters' own `init`).
fn made_by_hand(c: &Counters) -> Tracked {
    (c.init())()
}

fn into_inner_takes_the_object_out_and_its_slot_is_rebuilt<P: TestPool>() {
    let c = Counters::new();
    let pool = P::build_recycling(2, &c);
    let first = pool.get().unwrap();
    let first_id = first.id;
    let taken = P::into_inner(first);
    assert_eq!(
        taken.id,
        first_id,
        "{}: into_inner returns the object",
        P::NAME
    );
    assert_eq!((pool.in_use(), pool.idle()), (0, 0), "{}", P::NAME);
    assert_eq!(
        c.resets(),
        0,
        "{}: no reset hook runs on into_inner",
        P::NAME
    );
    let s = pool.stats();
    assert_eq!(
        (s.total_allocations, s.total_releases, s.total_resets),
        (1, 0, 0),
        "{}: taking out is not a release: {s:?}",
        P::NAME
    );
    // Its slot is rebuilt by `init`.
    let again = pool.get().unwrap();
    assert_ne!(again.id, first_id, "{}", P::NAME);
    assert_eq!(c.built(), 2, "{}", P::NAME);
    drop(again);
    assert_eq!((pool.in_use(), pool.idle()), (0, 1), "{}", P::NAME);
    assert_eq!(pool.stats().total_releases, 1, "{}", P::NAME);
    assert_eq!(
        c.dropped(),
        0,
        "{}: the taken object is the caller's",
        P::NAME
    );
    drop(taken);
    drop(pool);
    assert_eq!(c.alive(), 0, "{}: nothing leaked", P::NAME);
}

fn insert_fills_empty_slots_and_hands_the_value_back_when_full<P: TestPool>() {
    let c = Counters::new();
    let pool = P::build_recycling(3, &c);
    let mine = made_by_hand(&c);
    let mine_id = mine.id;
    assert!(pool.insert(mine).is_ok(), "{}", P::NAME);
    assert_eq!(pool.idle(), 1, "{}", P::NAME);
    assert_eq!(pool.in_use(), 0, "{}", P::NAME);
    let got = pool.get().unwrap();
    assert_eq!(
        got.id,
        mine_id,
        "{}: the inserted object is handed out",
        P::NAME
    );
    assert_eq!(c.built(), 1, "{}: without running init", P::NAME);
    drop(got);
    // Fill every remaining slot of the current capacity, then one more.
    let capacity = pool.stats().current_capacity as usize;
    let mut inserted = 1;
    let refused = loop {
        match pool.insert(made_by_hand(&c)) {
            Ok(()) => inserted += 1,
            Err(value) => break value,
        }
        assert!(
            inserted <= capacity,
            "{}: more inserted than slots",
            P::NAME
        );
    };
    assert_eq!(inserted, capacity, "{}: every empty slot took one", P::NAME);
    assert_eq!(pool.idle(), capacity, "{}", P::NAME);
    drop(refused);
    // The built objects are all handed out before anything is built.
    let before = c.built();
    let held: Vec<_> = (0..capacity).map(|_| pool.get().unwrap()).collect();
    assert_eq!(c.built(), before, "{}", P::NAME);
    assert_eq!(pool.idle(), 0, "{}", P::NAME);
    drop(held);
    let s = pool.stats();
    assert_eq!(
        s.total_allocations,
        1 + capacity as u64,
        "{}: inserting is not a get: {s:?}",
        P::NAME
    );
    drop(pool);
    assert_eq!(c.alive(), 0, "{}: nothing leaked", P::NAME);
}

fn insert_goes_under_the_idle_objects_and_keeps_their_order<P: TestPool>() {
    let c = Counters::new();
    // (A growing pool starts at half: 3 slots.)
    let pool = P::build_recycling(6, &c);
    let a = pool.get().unwrap();
    let b = pool.get().unwrap();
    let (a_id, b_id) = (a.id, b.id);
    drop(a);
    drop(b); // idle, most recent first: b, a; one slot never built
    assert!(pool.insert(made_by_hand(&c)).is_ok(), "{}", P::NAME);
    let held: Vec<_> = (0..3).map(|_| pool.get().unwrap()).collect();
    let order: Vec<usize> = held.iter().map(|g| g.id).collect();
    assert_eq!(
        order,
        [b_id, a_id, 2],
        "{}: LIFO order kept, the inserted one below",
        P::NAME
    );
    assert_eq!(c.built(), 3, "{}: nothing built by get", P::NAME);
}

fn recycle_if_drops_rejected_objects_and_counts_them<P: TestPool>() {
    let c = Counters::new();
    let pool = P::build_recycling(2, &c);
    let mut worn = pool.get().unwrap();
    worn.worn = true;
    let worn_id = worn.id;
    let kept = pool.get().unwrap();
    let kept_id = kept.id;
    drop(worn);
    assert_eq!(c.dropped(), 1, "{}: the worn object is dropped", P::NAME);
    assert_eq!(c.resets(), 1, "{}: after its reset", P::NAME);
    assert_eq!((pool.in_use(), pool.idle()), (1, 0), "{}", P::NAME);
    drop(kept);
    assert_eq!((pool.in_use(), pool.idle()), (0, 1), "{}", P::NAME);
    let s = pool.stats();
    assert_eq!(
        (s.total_releases, s.total_resets, s.total_discarded, s.idle),
        (2, 2, 1, 1),
        "{}: {s:?}",
        P::NAME
    );
    // The kept one comes back; the discarded slot is rebuilt by init.
    let a = pool.get().unwrap();
    let b = pool.get().unwrap();
    assert_eq!(a.id, kept_id, "{}", P::NAME);
    assert!(b.id != worn_id && b.id != kept_id, "{}", P::NAME);
    assert_eq!(c.built(), 3, "{}", P::NAME);
    drop((a, b));
    drop(pool);
    assert_eq!(c.alive(), 0, "{}", P::NAME);
}

fn a_panicking_recycle_predicate_drops_the_object_and_keeps_the_pool<P: TestPool>() {
    let c = Counters::new();
    let pool = P::build_recycling(1, &c);
    let guard = pool.get().unwrap();
    c.set_reset_panics(true);
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(guard)));
    assert!(caught.is_err(), "{}", P::NAME);
    c.set_reset_panics(false);
    assert_eq!((pool.in_use(), pool.idle()), (0, 0), "{}", P::NAME);
    assert_eq!(c.alive(), 0, "{}", P::NAME);
    assert_eq!(pool.get().unwrap().id, 1, "{}: rebuilt", P::NAME);
}

fn reset_stats_starts_a_new_window<P: TestPool>() {
    let c = Counters::new();
    let pool = P::build_recycling(3, &c);
    let held = pool.get().unwrap();
    drop(pool.get().unwrap());
    drop(pool.get().unwrap());
    pool.reset_stats();
    let s = pool.stats();
    assert_eq!(
        (
            s.total_allocations,
            s.total_releases,
            s.total_resets,
            s.peak_in_use
        ),
        (0, 0, 0, 1),
        "{}: counters zero, peak at the figure now: {s:?}",
        P::NAME
    );
    assert_eq!((s.current_in_use, s.idle), (1, 1), "{}: {s:?}", P::NAME);
    drop(held); // out before the reset, released in the new window
    let g = pool.get().unwrap();
    drop(g);
    let s = pool.stats();
    assert_eq!(
        (
            s.total_allocations,
            s.total_releases,
            s.total_resets,
            s.peak_in_use
        ),
        (1, 2, 2, 1),
        "{}: {s:?}",
        P::NAME
    );
}

fn snapshot_has_the_structural_figures<P: TestPool>() {
    let c = Counters::new();
    let pool = P::build_recycling(4, &c);
    let held = pool.get().unwrap();
    drop(pool.get().unwrap());
    let s = pool.stats();
    assert_eq!(s.idle as usize, pool.idle(), "{}", P::NAME);
    assert_eq!(s.idle, 1, "{}: two built, one held: {s:?}", P::NAME);
    assert!(s.max_capacity >= s.current_capacity, "{}: {s:?}", P::NAME);
    assert_eq!(s.waiting, 0, "{}", P::NAME);
    assert!(
        s.total_allocation_time_ns as f64 >= s.avg_allocation_time_ns.floor(),
        "{}: {s:?}",
        P::NAME
    );
    drop(held);
}

fn the_pool_replaces_an_object_taken_out_before_reusing_idle_ones<P: TestPool>() {
    let c = Counters::new();
    let pool = P::build_recycling(4, &c);
    let idle = pool.get().unwrap();
    let idle_id = idle.id;
    let taken = pool.get().unwrap();
    drop(idle); // one idle object
    let taken = P::into_inner(taken);
    let next = pool.get().unwrap();
    assert_eq!(next.id, 2, "{}: a replacement is built first", P::NAME);
    assert_eq!(pool.idle(), 1, "{}: the idle object stays idle", P::NAME);
    let after = pool.get().unwrap();
    assert_eq!(after.id, idle_id, "{}: then the idle one", P::NAME);
    drop((next, after, taken));
}

for_each_pool!(
    the_pool_replaces_an_object_taken_out_before_reusing_idle_ones,
    into_inner_takes_the_object_out_and_its_slot_is_rebuilt,
    insert_fills_empty_slots_and_hands_the_value_back_when_full,
    insert_goes_under_the_idle_objects_and_keeps_their_order,
    recycle_if_drops_rejected_objects_and_counts_them,
    a_panicking_recycle_predicate_drops_the_object_and_keeps_the_pool,
    reset_stats_starts_a_new_window,
    snapshot_has_the_structural_figures,
);

// === Single-thread pools that move ===

#[test]
fn a_send_fixed_pool_moves_into_a_thread_and_works_there() {
    let c = Counters::new();
    let pool = PoolBuilder::new(c.init())
        .capacity(2)
        .reset(c.reset())
        .recycle_if(|t: &Tracked| !t.worn)
        .statistics(true)
        .build_fixed_send()
        .unwrap();
    let pool = std::thread::spawn(move || {
        {
            let mut a = pool.get().unwrap();
            a.dirty = true;
            let _b = pool.get().unwrap();
            assert!(pool.get().is_err());
        }
        assert_eq!(pool.stats().total_releases, 2);
        pool // and back
    })
    .join()
    .unwrap();
    assert_eq!(pool.idle(), 2);
    assert!(!pool.get().unwrap().dirty, "reset ran on the other thread");
    drop(pool);
    assert_eq!(c.alive(), 0);
}

#[test]
fn send_pools_from_new_send_move_too() {
    let fixed = FixedPool::new_send(4, || vec![0u8; 8]);
    let growing = GrowingPool::new_send(1, String::new);
    let (fixed, growing) = std::thread::spawn(move || {
        let held: Vec<_> = (0..4).map(|_| growing.get().unwrap()).collect();
        assert_eq!(growing.capacity(), 4);
        drop(held);
        let block = FixedGuard::into_inner(fixed.get().unwrap());
        fixed.insert(block).unwrap();
        (fixed, growing)
    })
    .join()
    .unwrap();
    assert_eq!((fixed.idle(), growing.idle()), (1, 4));
}

#[test]
fn build_growing_send_moves_and_grows() {
    let pool = PoolBuilder::new(|| [0u64; 4])
        .capacity(1)
        .max_capacity(3)
        .build_growing_send()
        .unwrap();
    let capacity = std::thread::spawn(move || {
        let held: Vec<_> = (0..3).map(|_| pool.get().unwrap()).collect();
        assert!(pool.get().is_err());
        drop(held);
        pool.capacity()
    })
    .join()
    .unwrap();
    assert_eq!(capacity, 3);
}

// === Waiting with a timeout ===

/// Starts `n` threads that wait in `get_timeout`, one after the other (each
/// is waiting before the next starts), each recording its number when
/// served and giving the object straight back.
#[test]
fn get_timeout_serves_waiting_threads_first_come_first_served() {
    let pool = ThreadSafePool::new(1, || 0u32);
    let held = pool.get().unwrap();
    let served = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for n in 0..4 {
            let (pool, served) = (&pool, &served);
            s.spawn(move || {
                let got = pool.get_timeout(Duration::from_secs(60)).expect("served");
                served.lock().unwrap().push(n);
                drop(got); // wakes the next in line
            });
            let start = Instant::now();
            while pool.waiting() != n + 1 {
                assert!(
                    start.elapsed() < Duration::from_secs(30),
                    "waiter {n} never queued"
                );
                std::thread::yield_now();
            }
        }
        assert_eq!(pool.stats().waiting, 4);
        drop(held);
    });
    assert_eq!(*served.lock().unwrap(), [0, 1, 2, 3]);
    assert_eq!(pool.waiting(), 0);
    assert_eq!(pool.in_use(), 0);
}

#[test]
fn get_timeout_times_out_and_leaves_the_line() {
    let pool = PoolBuilder::new(|| 0u32)
        .capacity(1)
        .statistics(true)
        .build_thread_safe()
        .unwrap();
    let held = pool.get().unwrap();
    let start = Instant::now();
    let err: PoolExhausted = pool.get_timeout(Duration::from_millis(50)).unwrap_err();
    assert!(
        start.elapsed() >= Duration::from_millis(50),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(err.capacity(), 1);
    assert_eq!(pool.waiting(), 0);
    assert_eq!(pool.stats().exhausted, 1, "one wait, counted once");
    drop(held);
    // A zero timeout still takes a free object.
    assert!(pool.get_timeout(Duration::ZERO).is_ok());
}

#[test]
fn into_inner_wakes_a_waiting_thread_and_insert_refuses_a_full_pool() {
    let pool = ThreadSafePool::new(1, || String::from("built"));
    let held = pool.get().unwrap();
    std::thread::scope(|s| {
        let waiter = s.spawn(|| pool.get_timeout(Duration::from_secs(60)).map(|g| g.clone()));
        while pool.waiting() != 1 {
            std::thread::yield_now();
        }
        // The object leaves; its slot is free (empty) and the waiter builds.
        let taken = ThreadSafeGuard::into_inner(held);
        assert_eq!(waiter.join().unwrap().unwrap(), "built");
        assert_eq!(taken, "built");
    });
    let held = pool.get().unwrap();
    let taken = ThreadSafeGuard::into_inner(held);
    let held = pool.get().unwrap(); // rebuilt
    std::thread::scope(|s| {
        let waiter = s.spawn(|| pool.get_timeout(Duration::from_secs(60)).map(|g| g.clone()));
        while pool.waiting() != 1 {
            std::thread::yield_now();
        }
        // No free slot while `held` is out: insert hands the value back.
        let taken = pool.insert(taken).unwrap_err();
        drop(held);
        assert_eq!(waiter.join().unwrap().unwrap(), "built");
        drop(taken);
    });
}

#[test]
fn an_owned_guard_release_wakes_a_waiting_thread() {
    let pool = Arc::new(ThreadSafePool::new(1, || 5u8));
    let owned = pool.get_owned().unwrap();
    std::thread::scope(|s| {
        let waiter = s.spawn(|| *pool.get_timeout(Duration::from_secs(60)).unwrap());
        while pool.waiting() != 1 {
            std::thread::yield_now();
        }
        std::thread::spawn(move || drop(owned)).join().unwrap();
        assert_eq!(waiter.join().unwrap(), 5);
    });
}

#[test]
fn a_panicking_init_in_a_waiter_wakes_the_next() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    let fails = Arc::new(AtomicUsize::new(0));
    let pool = {
        let fails = fails.clone();
        ThreadSafePool::new(1, move || {
            let failing = fails
                .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
                .is_ok();
            assert!(!failing, "init fails (test)");
            7u8
        })
    };
    let held = pool.get().unwrap();
    std::thread::scope(|s| {
        let first = s.spawn(|| pool.get_timeout(Duration::from_secs(60)).map(|g| *g));
        while pool.waiting() != 1 {
            std::thread::yield_now();
        }
        let second = s.spawn(|| pool.get_timeout(Duration::from_secs(60)).map(|g| *g));
        while pool.waiting() != 2 {
            std::thread::yield_now();
        }
        fails.store(1, SeqCst); // the next init panics
        let _taken: u8 = ThreadSafeGuard::into_inner(held); // the slot is empty: a waiter builds
        assert!(first.join().is_err(), "the first waiter's init panicked");
        assert_eq!(
            second.join().unwrap().unwrap(),
            7,
            "the next waiter was woken"
        );
    });
    assert_eq!(pool.waiting(), 0);
}

#[test]
fn a_panicking_init_in_a_plain_get_wakes_a_waiting_thread() {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    let go = Arc::new(AtomicBool::new(false));
    let fail = Arc::new(AtomicBool::new(true));
    let pool = {
        let (go, fail) = (go.clone(), fail.clone());
        ThreadSafePool::new(1, move || {
            while !go.load(SeqCst) {
                std::thread::yield_now();
            }
            assert!(!fail.swap(false, SeqCst), "init fails (test)");
            3u8
        })
    };
    std::thread::scope(|s| {
        // Takes the only slot and builds in it, slowly; then init panics.
        let builder = s.spawn(|| pool.get().map(|g| *g));
        while pool.in_use() != 1 {
            std::thread::yield_now();
        }
        let waiter = s.spawn(|| pool.get_timeout(Duration::from_secs(20)).map(|g| *g));
        while pool.waiting() != 1 {
            std::thread::yield_now();
        }
        go.store(true, SeqCst);
        assert!(builder.join().is_err(), "the first init panicked");
        assert_eq!(
            waiter
                .join()
                .unwrap()
                .expect("woken when the slot came back"),
            3
        );
    });
}

#[test]
fn a_panicking_recycle_predicate_counts_a_discard_not_a_failed_reset() {
    let pool = PoolBuilder::new(|| 0u32)
        .capacity(2)
        .reset(|v: &mut u32| *v = 0)
        .recycle_if(|v: &u32| {
            assert!(*v != 99, "recycle_if panics (test)");
            true
        })
        .statistics(true)
        .build_fixed()
        .unwrap();
    let mut g = pool.get().unwrap();
    *g = 99;
    // The reset hook clears it first: the predicate sees 0 and keeps it.
    drop(g);
    assert_eq!(pool.idle(), 1);
    let pool = PoolBuilder::new(|| 0u32)
        .capacity(2)
        .reset(|_: &mut u32| {})
        .recycle_if(|v: &u32| {
            assert!(*v != 99, "recycle_if panics (test)");
            true
        })
        .statistics(true)
        .build_fixed()
        .unwrap();
    let mut g = pool.get().unwrap();
    *g = 99;
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(g)));
    assert!(caught.is_err());
    let s = pool.stats();
    assert_eq!(
        (s.total_releases, s.total_resets, s.total_discarded, s.idle),
        (1, 1, 1, 0),
        "the reset ran; the object was dropped by the predicate: {s:?}"
    );
    assert_eq!(*pool.get().unwrap(), 0, "its slot is rebuilt");
}

#[test]
fn thread_local_owned_guards_outlive_their_pool_on_their_thread() {
    use fastalloc::{ThreadLocalGuard, ThreadLocalOwnedGuard};
    let c = Counters::new();
    let pool = PoolBuilder::new(c.init())
        .capacity(3)
        .reset(c.reset())
        .statistics(true)
        .build_thread_local()
        .unwrap();
    let mut owned: Vec<ThreadLocalOwnedGuard<Tracked>> =
        (0..2).map(|_| pool.get_owned().unwrap()).collect();
    let borrowed: ThreadLocalGuard<'_, Tracked> = pool.get().unwrap();
    assert!(pool.get_owned().is_err(), "3 objects per thread");
    assert_eq!(pool.in_use(), 3);
    owned[0].dirty = true;
    drop(owned.remove(0));
    assert_eq!((pool.in_use(), pool.idle(), c.resets()), (2, 1, 1));
    drop(borrowed);
    let taken = ThreadLocalOwnedGuard::into_inner(pool.get_owned().unwrap());
    assert!(!taken.dirty, "the reset object came back");
    drop(pool); // the owned guard keeps this thread's core, and its idle object
    assert_eq!(
        c.alive(),
        3,
        "one out, one taken out, one idle in the kept core"
    );
    drop(owned); // the last reference: the core goes, with its objects
    assert_eq!(c.alive(), 1, "the one taken out is the caller's");
    drop(taken);
    assert_eq!(c.alive(), 0);
}
