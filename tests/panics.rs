//! The panic and leak rules: panicking `init`, `reset` and `T::drop`, and
//! `mem::forget` of a guard. Each must leave the pool consistent and usable,
//! with every object dropped at most once.

mod common;
use common::{panic_message, Counters, TestPool};
use std::panic::{catch_unwind, AssertUnwindSafe};

fn panicking_init_on_first_use_keeps_the_slot_free<P: TestPool>() {
    let c = Counters::new();
    let pool = P::build(3, &c, false, false);
    let first = pool.get().unwrap();
    c.set_init_panics(true);
    let err = catch_unwind(AssertUnwindSafe(|| pool.get().map(|_| ()))).unwrap_err();
    assert_eq!(
        panic_message(&*err),
        "init panics (test)",
        "the panic reaches the caller"
    );
    assert_eq!(
        (pool.in_use(), pool.available()),
        (1, 2),
        "{}: the slot went back",
        P::NAME
    );
    c.set_init_panics(false);
    let second = pool.get().unwrap();
    let third = pool.get().unwrap();
    assert!(pool.get().is_err(), "capacity is intact: exactly 3 objects");
    assert_eq!(c.built(), 3);
    drop((first, second, third));
    drop(pool);
    assert_eq!(c.dropped(), 3, "every built object dropped once");
}

fn panicking_init_while_pre_initializing_drops_what_was_built<P: TestPool>() {
    let c = Counters::new();
    let init = c.init();
    let counters = c.clone();
    let result = catch_unwind(AssertUnwindSafe(|| {
        fastalloc::PoolBuilder::new(move || {
            if counters.built() == 3 {
                panic!("init panics on the fourth object");
            }
            init()
        })
        .capacity(6)
        .pre_initialize(true)
        .build_fixed()
    }));
    assert!(result.is_err());
    assert_eq!(
        (c.built(), c.dropped()),
        (3, 3),
        "the three built objects were dropped"
    );
    // and the same through the generic path
    let c = Counters::new();
    c.set_init_panics(true);
    assert!(catch_unwind(AssertUnwindSafe(|| P::build(4, &c, false, true))).is_err());
    assert_eq!((c.built(), c.dropped()), (0, 0));
}

fn panicking_reset_drops_the_object_instead_of_reusing_it<P: TestPool>() {
    let c = Counters::new();
    let pool = P::build(2, &c, true, false);
    let mut g = pool.get().unwrap();
    g.dirty = true;
    c.set_reset_panics(true);
    let err = catch_unwind(AssertUnwindSafe(|| drop(g))).unwrap_err();
    assert_eq!(panic_message(&*err), "reset panics (test)");
    assert_eq!(
        c.dropped(),
        1,
        "{}: the half-reset object was dropped",
        P::NAME
    );
    assert_eq!(
        (pool.in_use(), pool.available()),
        (0, 2),
        "its slot went back"
    );
    c.set_reset_panics(false);
    let g = pool.get().unwrap();
    assert_eq!(g.id, 1, "a fresh object was built in its place");
    assert!(!g.dirty);
    // explicit release with a panicking reset behaves the same
    c.set_reset_panics(true);
    assert!(catch_unwind(AssertUnwindSafe(|| pool.release(g))).is_err());
    assert_eq!((c.dropped(), pool.in_use()), (2, 0));
    c.set_reset_panics(false);
    drop(pool);
    assert_eq!(c.alive(), 0);
}

fn panicking_drop_during_pool_drop_drops_every_other_object_once<P: TestPool>() {
    let c = Counters::new();
    let pool = P::build(4, &c, false, true);
    {
        let mut held: Vec<_> = (0..4).map(|_| pool.get().unwrap()).collect();
        held[1].panic_on_drop = true;
    }
    let result = catch_unwind(AssertUnwindSafe(move || drop(pool)));
    assert!(result.is_err(), "the drop panic reaches the pool's owner");
    assert_eq!(
        c.dropped(),
        4,
        "{}: the other three were still dropped, none twice",
        P::NAME
    );
}

fn releasing_into_the_wrong_pool_panics_and_loses_nothing<P: TestPool>() {
    let c = Counters::new();
    let one = P::build(2, &c, false, false);
    let two = P::build(2, &c, false, false);
    let g = one.get().unwrap();
    let err = catch_unwind(AssertUnwindSafe(|| two.release(g))).unwrap_err();
    let msg = panic_message(&*err);
    assert!(msg.contains("belongs to another pool"), "{msg}");
    assert_eq!(
        (one.in_use(), two.in_use()),
        (0, 0),
        "the guard went back to its own pool"
    );
}

for_each_pool!(
    panicking_init_on_first_use_keeps_the_slot_free,
    panicking_init_while_pre_initializing_drops_what_was_built,
    panicking_reset_drops_the_object_instead_of_reusing_it,
    panicking_drop_during_pool_drop_drops_every_other_object_once,
    releasing_into_the_wrong_pool_panics_and_loses_nothing,
);

#[test]
fn new_rejects_a_zero_capacity_with_a_clear_message() {
    let err = catch_unwind(|| fastalloc::FixedPool::new(0, || 0u8)).unwrap_err();
    let msg = panic_message(&*err);
    assert!(
        msg.starts_with("FixedPool::new: capacity must be at least 1"),
        "{msg}"
    );
    let err = catch_unwind(|| fastalloc::ThreadSafePool::new(0, || 0u8)).unwrap_err();
    let msg = panic_message(&*err);
    assert!(
        msg.starts_with("ThreadSafePool::new: capacity must be at least 1"),
        "{msg}"
    );
}

#[test]
fn new_rejects_a_capacity_beyond_the_index_space() {
    let too_big = fastalloc::MAX_CAPACITY + 1;
    let err = catch_unwind(|| fastalloc::FixedPool::new(too_big, || 0u8)).unwrap_err();
    let msg = panic_message(&*err);
    assert!(msg.contains("beyond the index space"), "{msg}");
    assert!(msg.contains(&fastalloc::MAX_CAPACITY.to_string()), "{msg}");
    assert!(catch_unwind(|| fastalloc::ThreadSafePool::new(usize::MAX, || 0u8)).is_err());
}

/// `mem::forget` leaks the forgotten object by design, so these tests use an
/// object that owns no heap memory (Miri's leak check stays meaningful) and
/// counts its drops in a static of its own.
macro_rules! forget_test {
    ($name:ident, $pool:ty, $get:ident) => {
        #[test]
        fn $name() {
            static DROPS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            struct Counted(u32);
            impl Drop for Counted {
                fn drop(&mut self) {
                    DROPS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
            let drops = || DROPS.load(std::sync::atomic::Ordering::SeqCst);
            let next = std::sync::atomic::AtomicU32::new(0);
            let pool = <$pool>::new(3, move || {
                Counted(next.fetch_add(1, std::sync::atomic::Ordering::SeqCst))
            });
            let forgotten = pool.$get().unwrap();
            assert_eq!(forgotten.0, 0);
            std::mem::forget(forgotten);
            assert_eq!((pool.in_use(), pool.available()), (1, 2));
            let a = pool.$get().unwrap();
            let b = pool.$get().unwrap();
            assert!(
                pool.$get().is_err(),
                "the forgotten slot is not handed out again"
            );
            assert_eq!((a.0, b.0), (1, 2));
            drop((a, b));
            assert_eq!(drops(), 0);
            drop(pool);
            assert_eq!(drops(), 2, "the forgotten object is leaked, never dropped");
        }
    };
}

forget_test!(
    forgetting_a_fixed_guard_only_loses_its_capacity,
    fastalloc::FixedPool<Counted>,
    get
);
forget_test!(
    forgetting_a_thread_safe_guard_only_loses_its_capacity,
    fastalloc::ThreadSafePool<Counted>,
    get
);
