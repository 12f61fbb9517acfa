//! Behaviour every pool kind shares: lazy and eager construction, LIFO reuse,
//! exhaustion, reset, explicit release, counts, and dropping the pool.

mod common;
use common::{Counters, TestPool, Tracked};

fn lazy_pool_builds_one_object_when_used_one_at_a_time<P: TestPool>() {
    let c = Counters::new();
    let pool = P::build(8, &c, false, false);
    assert_eq!(
        c.built(),
        0,
        "{}: nothing is built before first use",
        P::NAME
    );
    for _ in 0..20 {
        let g = pool.get().unwrap();
        assert_eq!(g.id, 0);
    }
    assert_eq!(c.built(), 1, "{}: LIFO reuse builds one object", P::NAME);
    drop(pool);
    assert_eq!(c.dropped(), 1);
}

fn pre_initialize_builds_everything_up_front<P: TestPool>() {
    let c = Counters::new();
    let pool = P::build(5, &c, false, true);
    assert_eq!(c.built(), 5);
    let held: Vec<_> = (0..5).map(|_| pool.get().unwrap()).collect();
    assert_eq!(c.built(), 5, "get builds nothing on a pre-initialised pool");
    let mut ids: Vec<usize> = held.iter().map(|g| g.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, [0, 1, 2, 3, 4], "every object handed out once");
    drop(held);
    drop(pool);
    assert_eq!(c.dropped(), 5);
}

fn most_recently_released_object_comes_back_first<P: TestPool>() {
    let c = Counters::new();
    let pool = P::build(4, &c, false, true);
    let a = pool.get().unwrap();
    let b = pool.get().unwrap();
    let (a_id, b_id) = (a.id, b.id);
    drop(a);
    drop(b);
    assert_eq!(pool.get().unwrap().id, b_id);
    let b = pool.get().unwrap();
    let a = pool.get().unwrap();
    assert_eq!((b.id, a.id), (b_id, a_id));
}

fn exhaustion_is_reported_with_the_capacity_and_recovers<P: TestPool>() {
    let c = Counters::new();
    let pool = P::build(2, &c, false, false);
    let a = pool.get().unwrap();
    let _b = pool.get().unwrap();
    assert_eq!((pool.in_use(), pool.available()), (2, 0));
    let err = pool.get().err().expect("third get on a pool of 2 fails");
    assert_eq!(err.capacity(), 2);
    let msg = err.to_string();
    assert!(msg.contains("all 2 objects are in use"), "{msg}");
    assert!(
        msg.contains("larger capacity"),
        "the message says what to do: {msg}"
    );
    pool.release(a);
    assert_eq!((pool.in_use(), pool.available()), (1, 1));
    assert!(pool.get().is_ok());
    assert_eq!(c.built(), 2, "a failed get builds nothing");
}

fn reset_runs_on_every_release_and_only_then<P: TestPool>() {
    let c = Counters::new();
    let pool = P::build(3, &c, true, false);
    let mut g = pool.get().unwrap();
    assert_eq!(c.resets(), 0, "get does not reset");
    g.dirty = true;
    pool.release(g);
    assert_eq!(c.resets(), 1, "explicit release resets");
    let mut g = pool.get().unwrap();
    assert!(!g.dirty, "the object came back reset");
    g.dirty = true;
    drop(g);
    assert_eq!(c.resets(), 2, "dropping the guard resets");
    assert!(!pool.get().unwrap().dirty);
}

fn counts_track_every_get_and_release<P: TestPool>() {
    let c = Counters::new();
    let pool = P::build(10, &c, false, false);
    assert_eq!(pool.capacity(), 10);
    let mut held = Vec::new();
    for n in 1..=10 {
        held.push(pool.get().unwrap());
        assert_eq!(pool.in_use(), n);
        assert_eq!(pool.available(), 10 - n);
    }
    while let Some(g) = held.pop() {
        drop(g);
        assert_eq!(pool.in_use() + pool.available(), 10);
    }
    assert_eq!(pool.in_use(), 0);
}

fn guards_give_access_to_distinct_objects<P: TestPool>() {
    let c = Counters::new();
    let pool = P::build(3, &c, false, false);
    let mut a = pool.get().unwrap();
    let mut b = pool.get().unwrap();
    a.dirty = true;
    assert!(!b.dirty, "writing through one guard does not touch another");
    b.id += 100;
    assert_ne!(a.id, b.id);
    assert_ne!(&*a as *const Tracked, &*b as *const Tracked);
}

fn dropping_the_pool_drops_exactly_the_objects_it_built<P: TestPool>() {
    let c = Counters::new();
    let pool = P::build(10, &c, false, false);
    {
        let _x = pool.get().unwrap();
        let _y = pool.get().unwrap();
        let _z = pool.get().unwrap();
    }
    assert_eq!(
        (c.built(), c.dropped()),
        (3, 0),
        "released objects stay in the pool"
    );
    drop(pool);
    assert_eq!(c.dropped(), 3, "and are dropped with it, once each");
}

fn objects_survive_many_rounds_without_rebuilding<P: TestPool>() {
    let c = Counters::new();
    let pool = P::build(16, &c, true, false);
    let rounds = common::scaled(2_000, 50);
    for round in 0..rounds {
        let held: Vec<_> = (0..1 + round % 16).map(|_| pool.get().unwrap()).collect();
        assert_eq!(pool.in_use(), held.len());
    }
    assert_eq!(c.built(), 16, "at most capacity objects are ever built");
    assert_eq!(c.dropped(), 0);
}

for_each_pool!(
    lazy_pool_builds_one_object_when_used_one_at_a_time,
    pre_initialize_builds_everything_up_front,
    most_recently_released_object_comes_back_first,
    exhaustion_is_reported_with_the_capacity_and_recovers,
    reset_runs_on_every_release_and_only_then,
    counts_track_every_get_and_release,
    guards_give_access_to_distinct_objects,
    dropping_the_pool_drops_exactly_the_objects_it_built,
    objects_survive_many_rounds_without_rebuilding,
);

#[test]
fn stats_report_the_structural_figures() {
    let pool = fastalloc::FixedPool::new(4, || 0u8);
    let _g = pool.get().unwrap();
    let s = pool.stats();
    assert_eq!(
        (s.current_in_use, s.current_capacity, s.peak_capacity),
        (1, 4, 0),
        "only the current figures without statistics"
    );
    assert_eq!(
        s.total_allocations, 0,
        "counters stay zero without statistics"
    );
    let text = s.to_string();
    assert!(
        text.contains("in use") && text.contains("capacity"),
        "{text}"
    );

    let shared = fastalloc::ThreadSafePool::new(3, || 0u8);
    let _g = shared.get().unwrap();
    let s = shared.stats();
    assert_eq!((s.current_in_use, s.current_capacity), (1, 3));
}

#[test]
fn pool_alias_is_the_fixed_pool() {
    let pool: fastalloc::Pool<String> = fastalloc::Pool::new(2, String::new);
    let mut s = pool.get().unwrap();
    s.push_str("abc");
    assert_eq!(&*s, "abc");
    assert_eq!(format!("{s:?}"), "FixedGuard(\"abc\")");
    assert_eq!(
        format!("{pool:?}"),
        "FixedPool { capacity: 2, in_use: 1, idle: 0 }"
    );
}

#[test]
fn zero_sized_objects_work() {
    let pool = fastalloc::FixedPool::new(3, || ());
    let held: Vec<_> = (0..3).map(|_| pool.get().unwrap()).collect();
    assert!(pool.get().is_err());
    drop(held);
    let shared = fastalloc::ThreadSafePool::new(2, || ());
    let _a = shared.get().unwrap();
    let _b = shared.get().unwrap();
    assert!(shared.get().is_err());
}

#[test]
fn over_aligned_objects_are_aligned() {
    #[repr(align(128))]
    struct Line([u8; 128]);
    #[repr(align(4096))]
    struct Page(u8);
    let lines = fastalloc::FixedPool::new(3, || Line([0; 128]));
    let held: Vec<_> = (0..3).map(|_| lines.get().unwrap()).collect();
    for g in &held {
        assert_eq!(&**g as *const Line as usize % 128, 0);
        assert_eq!(g.0[127], 0);
    }
    let pages = fastalloc::ThreadSafePool::new(2, || Page(7));
    let a = pages.get().unwrap();
    let b = pages.get().unwrap();
    assert_eq!(&*a as *const Page as usize % 4096, 0);
    assert_eq!(&*b as *const Page as usize % 4096, 0);
    assert_eq!(a.0 + b.0, 14);
}
