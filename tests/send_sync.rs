//! Compile-time checks of the Send/Sync contract (SAFETY.md, I8). A positive
//! check fails to compile if the bound is missing; a negative one fails to
//! compile if the bound is present.

use fastalloc::{FixedGuard, FixedPool, OwnedGuard, ThreadSafeGuard, ThreadSafePool};
use std::cell::Cell;
use std::rc::Rc;

fn send<T: Send>() {}
fn sync<T: Sync>() {}
fn is_static<T: 'static>() {}

/// Compiles only if `$t` does NOT implement `$trait` (the ambiguity trick:
/// with the impl present, two candidate impls match and inference fails).
macro_rules! assert_not_impl {
    ($t:ty: $trait:path) => {{
        #[allow(dead_code)]
        trait Ambiguous<A> {
            fn check() {}
        }
        impl<T: ?Sized> Ambiguous<()> for T {}
        #[allow(dead_code)]
        struct Invalid;
        impl<T: ?Sized + $trait> Ambiguous<Invalid> for T {}
        let _ = <$t as Ambiguous<_>>::check;
    }};
}

#[test]
fn thread_safe_pool_is_send_and_sync_for_send_objects() {
    send::<ThreadSafePool<Vec<u8>>>();
    sync::<ThreadSafePool<Vec<u8>>>();
    // `T: Sync` is not needed: objects are never shared by the pool.
    send::<ThreadSafePool<Cell<u8>>>();
    sync::<ThreadSafePool<Cell<u8>>>();
    assert_not_impl!(ThreadSafePool<Rc<u8>>: Send);
    assert_not_impl!(ThreadSafePool<Rc<u8>>: Sync);
}

#[test]
fn thread_safe_guards_follow_their_object() {
    send::<ThreadSafeGuard<'static, Vec<u8>>>();
    sync::<ThreadSafeGuard<'static, Vec<u8>>>();
    send::<OwnedGuard<Vec<u8>>>();
    sync::<OwnedGuard<Vec<u8>>>();
    is_static::<OwnedGuard<Vec<u8>>>();
    // A guard of a `Send + !Sync` object can move but not be shared.
    send::<OwnedGuard<Cell<u8>>>();
    assert_not_impl!(OwnedGuard<Cell<u8>>: Sync);
    assert_not_impl!(ThreadSafeGuard<'static, Cell<u8>>: Sync);
}

#[test]
fn fixed_pool_and_its_guards_stay_on_one_thread() {
    assert_not_impl!(FixedPool<u8>: Sync);
    assert_not_impl!(FixedPool<u8>: Send);
    assert_not_impl!(FixedGuard<'static, u8>: Send);
    assert_not_impl!(FixedGuard<'static, u8>: Sync);
}

#[test]
fn single_thread_pools_with_send_hooks_move_but_are_never_shared() {
    use fastalloc::{FixedRcGuard, GrowingGuard, GrowingPool, GrowingRcGuard, SendHooks};
    send::<FixedPool<Vec<u8>, SendHooks<Vec<u8>>>>();
    send::<GrowingPool<Vec<u8>, SendHooks<Vec<u8>>>>();
    // A `Send + !Sync` object is fine: the pool moves whole.
    send::<FixedPool<Cell<u8>, SendHooks<Cell<u8>>>>();
    assert_not_impl!(FixedPool<Rc<u8>, SendHooks<Rc<u8>>>: Send);
    assert_not_impl!(GrowingPool<Rc<u8>, SendHooks<Rc<u8>>>: Send);
    assert_not_impl!(FixedPool<u8, SendHooks<u8>>: Sync);
    assert_not_impl!(GrowingPool<u8, SendHooks<u8>>: Sync);
    assert_not_impl!(FixedGuard<'static, u8, SendHooks<u8>>: Send);
    assert_not_impl!(GrowingGuard<'static, u8, SendHooks<u8>>: Send);
    // Rc guards keep an `Rc`: never `Send`, but `'static`.
    assert_not_impl!(FixedRcGuard<u8, SendHooks<u8>>: Send);
    assert_not_impl!(GrowingRcGuard<u8>: Send);
    is_static::<FixedRcGuard<u8>>();
    is_static::<GrowingRcGuard<u8, SendHooks<u8>>>();
}

#[test]
fn thread_local_owned_guards_stay_on_their_thread() {
    assert_not_impl!(fastalloc::ThreadLocalOwnedGuard<Vec<u8>>: Send);
    assert_not_impl!(fastalloc::ThreadLocalOwnedGuard<Vec<u8>>: Sync);
    is_static::<fastalloc::ThreadLocalOwnedGuard<Vec<u8>>>();
}

#[test]
fn errors_and_snapshots_cross_threads() {
    send::<fastalloc::PoolExhausted>();
    sync::<fastalloc::PoolExhausted>();
    send::<fastalloc::ConfigError>();
    sync::<fastalloc::StatsSnapshot>();
}

#[test]
fn growing_pool_stays_on_one_thread() {
    assert_not_impl!(fastalloc::GrowingPool<u8>: Sync);
    assert_not_impl!(fastalloc::GrowingPool<u8>: Send);
    assert_not_impl!(fastalloc::GrowingGuard<'static, u8>: Send);
}

#[test]
fn thread_local_pool_is_shared_but_its_guards_stay_home() {
    send::<fastalloc::ThreadLocalPool<Vec<u8>>>();
    sync::<fastalloc::ThreadLocalPool<Vec<u8>>>();
    sync::<fastalloc::ThreadLocalPool<Cell<u8>>>();
    assert_not_impl!(fastalloc::ThreadLocalPool<Rc<u8>>: Sync);
    assert_not_impl!(fastalloc::ThreadLocalPool<Rc<u8>>: Send);
    assert_not_impl!(fastalloc::ThreadLocalGuard<'static, Vec<u8>>: Send);
    assert_not_impl!(fastalloc::ThreadLocalGuard<'static, Vec<u8>>: Sync);
}

#[test]
fn async_pool_guards_and_futures_are_send() {
    send::<fastalloc::AsyncPool<Vec<u8>>>();
    sync::<fastalloc::AsyncPool<Vec<u8>>>();
    send::<fastalloc::AsyncGuard<'static, Vec<u8>>>();
    send::<fastalloc::AsyncOwnedGuard<Vec<u8>>>();
    is_static::<fastalloc::AsyncOwnedGuard<Vec<u8>>>();
    send::<fastalloc::Acquire<'static, Vec<u8>>>();
    send::<fastalloc::AcquireOwned<Vec<u8>>>();
    assert_not_impl!(fastalloc::AsyncPool<Rc<u8>>: Sync);
    assert_not_impl!(fastalloc::AsyncOwnedGuard<Rc<u8>>: Send);
}
