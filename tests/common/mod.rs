//! Test helpers: objects that count their constructions and drops, and one
//! trait over the pool kinds so each property is checked on every pool.
#![allow(dead_code)]

use fastalloc::{
    AsyncPool, FixedPool, GrowingPool, Growth, PoolBuilder, PoolExhausted, StatsSnapshot,
    ThreadLocalPool, ThreadSafePool,
};
use std::ops::DerefMut;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

/// Shrinks loop counts under Miri.
pub fn scaled(full: usize, miri: usize) -> usize {
    if cfg!(miri) {
        miri
    } else {
        full
    }
}

/// Counts of what the pool's `init` built and what was dropped, plus switches
/// that make `init`, `reset` or `drop` panic.
#[derive(Clone, Default)]
pub struct Counters {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    built: AtomicUsize,
    dropped: AtomicUsize,
    resets: AtomicUsize,
    init_panics: AtomicBool,
    reset_panics: AtomicBool,
}

impl Counters {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn built(&self) -> usize {
        self.inner.built.load(SeqCst)
    }
    pub fn dropped(&self) -> usize {
        self.inner.dropped.load(SeqCst)
    }
    pub fn resets(&self) -> usize {
        self.inner.resets.load(SeqCst)
    }
    /// Objects alive now (built and not dropped).
    pub fn alive(&self) -> usize {
        self.built() - self.dropped()
    }
    pub fn set_init_panics(&self, on: bool) {
        self.inner.init_panics.store(on, SeqCst);
    }
    pub fn set_reset_panics(&self, on: bool) {
        self.inner.reset_panics.store(on, SeqCst);
    }

    /// An `init` closure building [`Tracked`] objects with ids 0, 1, 2, ...
    pub fn init(&self) -> impl Fn() -> Tracked + Send + Sync + 'static {
        let c = self.clone();
        move || {
            if c.inner.init_panics.load(SeqCst) {
                panic!("init panics (test)");
            }
            let id = c.inner.built.fetch_add(1, SeqCst);
            Tracked {
                id,
                dirty: false,
                worn: false,
                panic_on_drop: false,
                owner: AtomicUsize::new(FREE),
                counters: c.clone(),
            }
        }
    }

    /// A `reset` closure that clears `dirty`, counting its runs.
    pub fn reset(&self) -> impl Fn(&mut Tracked) + Send + Sync + 'static {
        let c = self.clone();
        move |t: &mut Tracked| {
            c.inner.resets.fetch_add(1, SeqCst);
            if c.inner.reset_panics.load(SeqCst) {
                panic!("reset panics (test)");
            }
            t.dirty = false;
        }
    }
}

/// No thread holds this object.
pub const FREE: usize = usize::MAX;

/// A pooled object that reports its drop.
pub struct Tracked {
    pub id: usize,
    /// Set by users, cleared by the reset hook.
    pub dirty: bool,
    /// Set by users, not cleared by the reset hook: `recycle_if` tests
    /// reject worn objects.
    pub worn: bool,
    /// Makes this object's `Drop` panic (after counting the drop).
    pub panic_on_drop: bool,
    /// Ownership stamp: the id of the thread holding it, or [`FREE`].
    pub owner: AtomicUsize,
    counters: Counters,
}

impl Tracked {
    /// Stamps the object as held by `who`; panics if someone else holds it
    /// (a double hand-out).
    pub fn claim(&self, who: usize) {
        let prev = self.owner.swap(who, SeqCst);
        assert_eq!(
            prev, FREE,
            "object {} handed out to {who} while held by {prev}",
            self.id
        );
    }
    /// Clears the stamp before release.
    pub fn unclaim(&self, who: usize) {
        let prev = self.owner.swap(FREE, SeqCst);
        assert_eq!(prev, who, "object {} stamp changed while held", self.id);
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.counters.inner.dropped.fetch_add(1, SeqCst);
        if self.panic_on_drop {
            panic!("drop panics (test)");
        }
    }
}

/// The operations every pool kind shares, so a test can run on each.
pub trait TestPool: Sized {
    type Guard<'a>: DerefMut<Target = Tracked>
    where
        Self: 'a;
    const NAME: &'static str;
    fn build(capacity: usize, c: &Counters, reset: bool, pre_initialize: bool) -> Self;
    fn get(&self) -> Result<Self::Guard<'_>, PoolExhausted>;
    fn release<'a>(&'a self, guard: Self::Guard<'a>);
    fn capacity(&self) -> usize;
    fn in_use(&self) -> usize;
    fn available(&self) -> usize;
    fn trim(&self) -> usize;
    /// With a reset hook, statistics on, and `recycle_if(|t| !t.worn)`.
    fn build_recycling(capacity: usize, c: &Counters) -> Self;
    fn into_inner(guard: Self::Guard<'_>) -> Tracked;
    fn insert(&self, value: Tracked) -> Result<(), Tracked>;
    fn idle(&self) -> usize;
    fn stats(&self) -> StatsSnapshot;
    fn reset_stats(&self);
}

type Builder<F> = PoolBuilder<Tracked, F>;

/// A builder with a reset hook, statistics, and `recycle_if(|t| !t.worn)`.
fn recycling<F: Fn() -> Tracked + Send + Sync + 'static>(
    c: &Counters,
    b: Builder<F>,
) -> PoolBuilder<
    Tracked,
    F,
    impl Fn(&mut Tracked) + Send + Sync + 'static,
    impl Fn(&Tracked) -> bool + Send + Sync + 'static,
> {
    b.reset(c.reset())
        .recycle_if(|t: &Tracked| !t.worn)
        .statistics(true)
}

fn plain(capacity: usize, c: &Counters) -> Builder<impl Fn() -> Tracked + Send + Sync + 'static> {
    PoolBuilder::new(c.init()).capacity(capacity)
}

fn growing_lazy(
    capacity: usize,
    c: &Counters,
) -> Builder<impl Fn() -> Tracked + Send + Sync + 'static> {
    growing_builder(capacity, c, false)
}

/// The methods every pool has under the same name, for `TestPool`.
macro_rules! common_methods {
    ($pool:ty, $guard:ident, $build:ident, $builder:ident) => {
        fn build_recycling(capacity: usize, c: &Counters) -> Self {
            recycling(c, $builder(capacity, c)).$build().unwrap()
        }
        fn into_inner(guard: Self::Guard<'_>) -> Tracked {
            fastalloc::$guard::into_inner(guard)
        }
        fn insert(&self, value: Tracked) -> Result<(), Tracked> {
            <$pool>::insert(self, value)
        }
        fn idle(&self) -> usize {
            <$pool>::idle(self)
        }
        fn stats(&self) -> StatsSnapshot {
            <$pool>::stats(self)
        }
        fn reset_stats(&self) {
            <$pool>::reset_stats(self)
        }
    };
}

impl TestPool for FixedPool<Tracked> {
    type Guard<'a> = fastalloc::FixedGuard<'a, Tracked>;
    const NAME: &'static str = "FixedPool";
    fn build(capacity: usize, c: &Counters, reset: bool, pre_initialize: bool) -> Self {
        let b = PoolBuilder::new(c.init())
            .capacity(capacity)
            .pre_initialize(pre_initialize);
        if reset {
            b.reset(c.reset()).build_fixed().unwrap()
        } else {
            b.build_fixed().unwrap()
        }
    }
    fn get(&self) -> Result<Self::Guard<'_>, PoolExhausted> {
        FixedPool::get(self)
    }
    fn release<'a>(&'a self, guard: Self::Guard<'a>) {
        FixedPool::release(self, guard)
    }
    fn capacity(&self) -> usize {
        FixedPool::capacity(self)
    }
    fn in_use(&self) -> usize {
        FixedPool::in_use(self)
    }
    fn available(&self) -> usize {
        FixedPool::available(self)
    }
    fn trim(&self) -> usize {
        FixedPool::trim(self)
    }
    common_methods!(FixedPool<Tracked>, FixedGuard, build_fixed, plain);
}

impl TestPool for ThreadSafePool<Tracked> {
    type Guard<'a> = fastalloc::ThreadSafeGuard<'a, Tracked>;
    const NAME: &'static str = "ThreadSafePool";
    fn build(capacity: usize, c: &Counters, reset: bool, pre_initialize: bool) -> Self {
        let b = PoolBuilder::new(c.init())
            .capacity(capacity)
            .pre_initialize(pre_initialize);
        if reset {
            b.reset(c.reset()).build_thread_safe().unwrap()
        } else {
            b.build_thread_safe().unwrap()
        }
    }
    fn get(&self) -> Result<Self::Guard<'_>, PoolExhausted> {
        ThreadSafePool::get(self)
    }
    fn release<'a>(&'a self, guard: Self::Guard<'a>) {
        ThreadSafePool::release(self, guard)
    }
    fn capacity(&self) -> usize {
        ThreadSafePool::capacity(self)
    }
    fn in_use(&self) -> usize {
        ThreadSafePool::in_use(self)
    }
    fn available(&self) -> usize {
        ThreadSafePool::available(self)
    }
    fn trim(&self) -> usize {
        ThreadSafePool::trim(self)
    }
    common_methods!(
        ThreadSafePool<Tracked>,
        ThreadSafeGuard,
        build_thread_safe,
        plain
    );
}

/// Growing pools in the shared tests start at half the capacity (unless
/// pre-initialised) and grow one object per step to it, so every property
/// is also checked across segment boundaries. Their `capacity` in these
/// tests is the maximum.
fn growing_builder(
    capacity: usize,
    c: &Counters,
    pre_initialize: bool,
) -> PoolBuilder<Tracked, impl Fn() -> Tracked + Send + Sync + 'static> {
    let initial = if pre_initialize {
        capacity
    } else {
        capacity.div_ceil(2)
    };
    let b = PoolBuilder::new(c.init())
        .capacity(initial)
        .max_capacity(capacity)
        .pre_initialize(pre_initialize);
    // A pool of one has no room to grow (a shared pool refuses the setting).
    if initial < capacity {
        b.growth(Growth::Linear(1))
    } else {
        b
    }
}

impl TestPool for GrowingPool<Tracked> {
    type Guard<'a> = fastalloc::GrowingGuard<'a, Tracked>;
    const NAME: &'static str = "GrowingPool";
    fn build(capacity: usize, c: &Counters, reset: bool, pre_initialize: bool) -> Self {
        let b = growing_builder(capacity, c, pre_initialize);
        if reset {
            b.reset(c.reset()).build_growing().unwrap()
        } else {
            b.build_growing().unwrap()
        }
    }
    fn get(&self) -> Result<Self::Guard<'_>, PoolExhausted> {
        GrowingPool::get(self)
    }
    fn release<'a>(&'a self, guard: Self::Guard<'a>) {
        GrowingPool::release(self, guard)
    }
    fn capacity(&self) -> usize {
        self.max_capacity()
    }
    fn in_use(&self) -> usize {
        GrowingPool::in_use(self)
    }
    fn available(&self) -> usize {
        self.max_capacity() - GrowingPool::in_use(self)
    }
    fn trim(&self) -> usize {
        GrowingPool::trim(self)
    }
    common_methods!(
        GrowingPool<Tracked>,
        GrowingGuard,
        build_growing,
        growing_lazy
    );
}

/// A `ThreadSafePool` built to grow (see [`growing_builder`]).
pub struct GrowingShared(pub ThreadSafePool<Tracked>);

impl TestPool for GrowingShared {
    type Guard<'a> = fastalloc::ThreadSafeGuard<'a, Tracked>;
    const NAME: &'static str = "growing ThreadSafePool";
    fn build(capacity: usize, c: &Counters, reset: bool, pre_initialize: bool) -> Self {
        let b = growing_builder(capacity, c, pre_initialize);
        if pre_initialize {
            // No growth settings without a maximum above the capacity.
            let b = PoolBuilder::new(c.init())
                .capacity(capacity)
                .pre_initialize(true);
            return Self(if reset {
                b.reset(c.reset()).build_thread_safe().unwrap()
            } else {
                b.build_thread_safe().unwrap()
            });
        }
        Self(if reset {
            b.reset(c.reset()).build_thread_safe().unwrap()
        } else {
            b.build_thread_safe().unwrap()
        })
    }
    fn get(&self) -> Result<Self::Guard<'_>, PoolExhausted> {
        self.0.get()
    }
    fn release<'a>(&'a self, guard: Self::Guard<'a>) {
        self.0.release(guard)
    }
    fn capacity(&self) -> usize {
        self.0.max_capacity()
    }
    fn in_use(&self) -> usize {
        self.0.in_use()
    }
    fn available(&self) -> usize {
        self.0.max_capacity() - self.0.in_use()
    }
    fn trim(&self) -> usize {
        self.0.trim()
    }
    fn build_recycling(capacity: usize, c: &Counters) -> Self {
        Self(
            recycling(c, growing_lazy(capacity, c))
                .build_thread_safe()
                .unwrap(),
        )
    }
    fn into_inner(guard: Self::Guard<'_>) -> Tracked {
        fastalloc::ThreadSafeGuard::into_inner(guard)
    }
    fn insert(&self, value: Tracked) -> Result<(), Tracked> {
        self.0.insert(value)
    }
    fn idle(&self) -> usize {
        self.0.idle()
    }
    fn stats(&self) -> StatsSnapshot {
        self.0.stats()
    }
    fn reset_stats(&self) {
        self.0.reset_stats()
    }
}

impl TestPool for ThreadLocalPool<Tracked> {
    type Guard<'a> = fastalloc::ThreadLocalGuard<'a, Tracked>;
    const NAME: &'static str = "ThreadLocalPool";
    fn build(capacity: usize, c: &Counters, reset: bool, pre_initialize: bool) -> Self {
        let b = PoolBuilder::new(c.init())
            .capacity(capacity)
            .pre_initialize(pre_initialize);
        let pool = if reset {
            b.reset(c.reset()).build_thread_local().unwrap()
        } else {
            b.build_thread_local().unwrap()
        };
        if pre_initialize {
            // A thread's pool (and its pre-initialised objects) is made on
            // the thread's first use.
            pool.available();
        }
        pool
    }
    fn get(&self) -> Result<Self::Guard<'_>, PoolExhausted> {
        ThreadLocalPool::get(self)
    }
    fn release<'a>(&'a self, guard: Self::Guard<'a>) {
        ThreadLocalPool::release(self, guard)
    }
    fn capacity(&self) -> usize {
        ThreadLocalPool::capacity(self)
    }
    fn in_use(&self) -> usize {
        ThreadLocalPool::in_use(self)
    }
    fn available(&self) -> usize {
        ThreadLocalPool::available(self)
    }
    fn trim(&self) -> usize {
        ThreadLocalPool::trim(self)
    }
    common_methods!(
        ThreadLocalPool<Tracked>,
        ThreadLocalGuard,
        build_thread_local,
        plain
    );
}

impl TestPool for AsyncPool<Tracked> {
    type Guard<'a> = fastalloc::AsyncGuard<'a, Tracked>;
    const NAME: &'static str = "AsyncPool";
    fn build(capacity: usize, c: &Counters, reset: bool, pre_initialize: bool) -> Self {
        let b = PoolBuilder::new(c.init())
            .capacity(capacity)
            .pre_initialize(pre_initialize);
        if reset {
            b.reset(c.reset()).build_async().unwrap()
        } else {
            b.build_async().unwrap()
        }
    }
    fn get(&self) -> Result<Self::Guard<'_>, PoolExhausted> {
        self.try_get()
    }
    fn release<'a>(&'a self, guard: Self::Guard<'a>) {
        AsyncPool::release(self, guard)
    }
    fn capacity(&self) -> usize {
        AsyncPool::capacity(self)
    }
    fn in_use(&self) -> usize {
        AsyncPool::in_use(self)
    }
    fn available(&self) -> usize {
        AsyncPool::available(self)
    }
    fn trim(&self) -> usize {
        AsyncPool::trim(self)
    }
    common_methods!(AsyncPool<Tracked>, AsyncGuard, build_async, plain);
}

/// Defines one `#[test]` per pool kind from a generic function `fn f<P: TestPool>()`.
#[macro_export]
macro_rules! for_each_pool {
    ($($f:ident),* $(,)?) => {
        mod fixed_pool {
            $(#[test] fn $f() { super::$f::<fastalloc::FixedPool<$crate::common::Tracked>>() })*
        }
        mod thread_safe_pool {
            $(#[test] fn $f() { super::$f::<fastalloc::ThreadSafePool<$crate::common::Tracked>>() })*
        }
        mod growing_pool {
            $(#[test] fn $f() { super::$f::<fastalloc::GrowingPool<$crate::common::Tracked>>() })*
        }
        mod growing_thread_safe_pool {
            $(#[test] fn $f() { super::$f::<$crate::common::GrowingShared>() })*
        }
        mod thread_local_pool {
            $(#[test] fn $f() { super::$f::<fastalloc::ThreadLocalPool<$crate::common::Tracked>>() })*
        }
        mod async_pool {
            $(#[test] fn $f() { super::$f::<fastalloc::AsyncPool<$crate::common::Tracked>>() })*
        }
    };
}

/// The text of a caught panic, whether it was a literal or formatted.
pub fn panic_message(err: &(dyn std::any::Any + Send)) -> String {
    err.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| err.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "<non-string panic>".into())
}

/// A waker that does nothing (`Waker::noop` needs Rust 1.85).
pub fn noop_waker() -> std::task::Waker {
    struct Noop;
    impl std::task::Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    std::task::Waker::from(Arc::new(Noop))
}
