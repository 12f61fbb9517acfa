//! The per-thread caches of the shared pools (`crate::freelist::cached`),
//! driven through a shared core: batches, orphans, steals.

use crate::pool::hooks::BoxedHooks;
use crate::pool::{shared_core, SharedCore};
use crate::slab::{Grows, Lease, Settings};
use crate::sync::Arc;
use alloc::boxed::Box;
use alloc::vec::Vec;

fn core(capacity: usize) -> Arc<SharedCore<u32>> {
    let layout = Settings::with_capacity(capacity)
        .check("ThreadSafePool", Grows::WithMax)
        .unwrap();
    shared_core(layout, BoxedHooks::init_only(Box::new(|| 7)))
}

fn my_serial() -> usize {
    crate::thread::serial().expect("a live thread has a serial")
}

#[test]
fn releases_park_in_the_callers_cache_and_refills_come_in_batches() {
    let core = core(64); // 16 entries per cache
    let leases: Vec<_> = (0..20).map(|_| Lease::new(&*core).ok().unwrap()).collect();
    assert_eq!(core.in_use(), 20);
    let me = my_serial();
    assert_eq!(
        core.free_list().cached(me),
        4,
        "three refills of 8 for 20 gets leave 4"
    );
    drop(leases);
    assert_eq!(core.in_use(), 0);
    assert_eq!(
        core.free_list().cached(me),
        16,
        "full at 16 after 12 releases: 8 went back to the shared stack, 8 more came in"
    );
}

#[test]
fn a_threads_cache_is_taken_by_the_next_refill_after_the_thread_exits() {
    // 16 entries per cache, refills of 8.
    let core = core(64);
    // A serial for this thread first, so the exiting thread's serial is
    // not recycled to it (that would take the cache over instead).
    let me = my_serial();
    let (serial, parked) = std::thread::scope(|s| {
        s.spawn(|| {
            drop(
                (0..3)
                    .map(|_| Lease::new(&*core).ok().unwrap())
                    .collect::<Vec<_>>(),
            );
            (my_serial(), core.free_list().cached(my_serial()))
        })
        .join()
        .unwrap()
    });
    assert_eq!(parked, 8, "the thread's refill of 8 sat in its cache");
    // Scoped threads may still be running their thread-local destructors
    // after `join`; wait until the exit hook has orphaned the cache.
    while core.free_list().orphans() == 0 {
        std::thread::yield_now();
    }
    assert_eq!(core.free_list().cached(serial), 8, "orphaned, not emptied");
    assert_ne!(me, serial);
    let first = Lease::new(&*core).ok().unwrap();
    assert_eq!(core.free_list().cached(serial), 0, "the refill took them");
    assert_eq!(
        core.free_list().cached(me),
        7,
        "all 8 came here, one is out"
    );
    assert_eq!(core.free_list().orphans(), 0);
    drop(first);
    assert_eq!(core.available(), 64);
}

#[test]
fn objects_parked_in_another_threads_cache_are_stolen_before_exhaustion() {
    let core = core(8); // 2 entries per cache
    let (tx, rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|s| {
        let core = &*core;
        s.spawn(move || {
            // Take all eight, give two back into this thread's cache,
            // then stay alive (so no exit hook runs) while main gets.
            let mut all: Vec<_> = (0..8).map(|_| Lease::new(core).ok().unwrap()).collect();
            all.truncate(6);
            tx.send(core.free_list().cached(my_serial())).unwrap();
            done_rx.recv().unwrap();
            drop(all);
        });
        assert_eq!(
            rx.recv().unwrap(),
            2,
            "two parked in the other thread's cache"
        );
        let a = Lease::new(core).ok().expect("stolen from the other cache");
        let b = Lease::new(core).ok().expect("stolen from the other cache");
        assert!(Lease::new(core).is_err(), "all eight out now");
        drop((a, b));
        done_tx.send(()).unwrap();
    });
    assert_eq!(core.in_use(), 0);
}
