//! `PoolBuilder`: each setting takes effect, each invalid one is a clear
//! `ConfigError`.

use fastalloc::{ConfigError, PoolBuilder, MAX_CAPACITY};

#[test]
fn missing_capacity_is_an_error_that_says_what_to_call() {
    let err = PoolBuilder::new(|| 0u8).build_fixed().unwrap_err();
    assert_eq!(err, ConfigError::MissingCapacity);
    assert!(err.to_string().contains(".capacity(n)"), "{err}");
    let err = PoolBuilder::new(|| 0u8).build_thread_safe().unwrap_err();
    assert_eq!(err, ConfigError::MissingCapacity);
}

#[test]
fn zero_capacity_is_an_error() {
    let err = PoolBuilder::new(|| 0u8)
        .capacity(0)
        .build_thread_safe()
        .unwrap_err();
    assert_eq!(err, ConfigError::ZeroCapacity);
    assert!(err.to_string().contains("at least 1"), "{err}");
}

#[test]
fn capacity_beyond_the_index_space_is_an_error_naming_both_numbers() {
    let err = PoolBuilder::new(|| 0u8)
        .capacity(MAX_CAPACITY + 1)
        .build_fixed()
        .unwrap_err();
    assert_eq!(
        err,
        ConfigError::CapacityTooLarge {
            requested: MAX_CAPACITY + 1,
            max: MAX_CAPACITY
        }
    );
    let msg = err.to_string();
    assert!(
        msg.contains(&(MAX_CAPACITY + 1).to_string()) && msg.contains(&MAX_CAPACITY.to_string()),
        "{msg}"
    );
    let _: &dyn std::error::Error = &err;
}

#[test]
fn settings_reach_the_pool() {
    use std::cell::Cell;
    use std::rc::Rc;
    let built = Rc::new(Cell::new(0));
    let b = built.clone();
    let pool = PoolBuilder::new(move || {
        b.set(b.get() + 1);
        vec![0u8; 4]
    })
    .capacity(3)
    .pre_initialize(true)
    .reset(|v: &mut Vec<u8>| v.iter_mut().for_each(|x| *x = 0))
    .build_fixed()
    .unwrap();
    assert_eq!((pool.capacity(), built.get()), (3, 3));
    let mut v = pool.get().unwrap();
    v[0] = 9;
    drop(v);
    assert_eq!(pool.get().unwrap()[0], 0, "the reset hook ran");

    let shared = PoolBuilder::new(String::new)
        .capacity(2)
        .reset(String::clear)
        .build_thread_safe()
        .unwrap();
    let mut s = shared.get().unwrap();
    s.push('x');
    drop(s);
    assert!(shared.get().unwrap().is_empty());
    assert!(format!("{:?}", PoolBuilder::new(|| 1).capacity(2)).contains("capacity: Some(2)"));
}
