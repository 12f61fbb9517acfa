//! [`PoolBuilder`]: every pool setting in one place, checked when built.

use crate::error::ConfigError;
use crate::growth::Growth;
#[cfg(feature = "std")]
use crate::pool::async_pool::AsyncPool;
use crate::pool::fixed::FixedPool;
use crate::pool::growing::GrowingPool;
#[cfg(target_has_atomic = "64")]
use crate::pool::hooks::SharedHooks;
use crate::pool::hooks::{BoxedHooks, LocalHooks, SendHooks};
#[cfg(feature = "std")]
use crate::pool::thread_local::ThreadLocalPool;
#[cfg(target_has_atomic = "64")]
use crate::pool::thread_safe::ThreadSafePool;
use crate::slab::{Grows, Settings};
use alloc::boxed::Box;
use core::fmt;
use core::marker::PhantomData;

/// Builds any pool from an `init` closure and settings; each `build_*`
/// checks the settings and returns a [`ConfigError`] naming the wrong one.
///
/// | setting | default | applies to |
/// |---|---|---|
/// | [`capacity`](Self::capacity) | required | every pool (per thread for `ThreadLocalPool`) |
/// | [`max_capacity`](Self::max_capacity) | `capacity` (`MAX_CAPACITY` for `build_growing`) | growing, thread-safe, async |
/// | [`growth`](Self::growth) | `Exponential(2.0)` | growing, thread-safe, async |
/// | [`pre_initialize`](Self::pre_initialize) | `false` | every pool |
/// | [`reset`](Self::reset) | none | every pool |
/// | [`recycle_if`](Self::recycle_if) | keep every object | every pool |
/// | [`statistics`](Self::statistics) | `false` | every pool |
///
/// ```
/// use fastalloc::PoolBuilder;
///
/// #[derive(Default)]
/// struct Particle { pos: [f32; 3], alive: bool }
///
/// let pool = PoolBuilder::new(Particle::default)
///     .capacity(1000)
///     .pre_initialize(true)
///     .reset(|p: &mut Particle| *p = Particle::default())
///     .build_fixed()?;
/// let mut p = pool.get()?;
/// p.alive = true;
/// drop(p); // reset runs here
/// assert!(!pool.get()?.alive);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// A setting that cannot work is an error, not a surprise:
///
/// ```
/// use fastalloc::{ConfigError, PoolBuilder};
///
/// let err = PoolBuilder::new(|| 0u8)
///     .capacity(10)
///     .max_capacity(100)
///     .build_fixed()
///     .unwrap_err();
/// assert!(matches!(err, ConfigError::GrowthNotSupported { .. }));
/// println!("{err}"); // max_capacity was set, but a FixedPool never grows: ...
/// ```
#[must_use = "a builder does nothing until one of its build_* methods is called"]
pub struct PoolBuilder<T, F, R = fn(&mut T), K = fn(&T) -> bool> {
    init: F,
    reset: Option<R>,
    recycle: Option<K>,
    settings: Settings,
    _object: PhantomData<fn() -> T>,
}

impl<T, F: Fn() -> T> PoolBuilder<T, F> {
    /// A builder for pools whose objects are made by `init`.
    pub fn new(init: F) -> Self {
        Self {
            init,
            reset: None,
            recycle: None,
            settings: Settings::default(),
            _object: PhantomData,
        }
    }
}

impl<T, F: Fn() -> T, R: Fn(&mut T), K: Fn(&T) -> bool> PoolBuilder<T, F, R, K> {
    /// The number of objects the pool holds (a growing pool: to begin with;
    /// a `ThreadLocalPool`: per thread). Required; at least 1.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.settings.capacity = Some(capacity);
        self
    }

    /// The capacity a pool may grow to. For `build_growing` it defaults to
    /// [`MAX_CAPACITY`](crate::MAX_CAPACITY); `build_thread_safe` and
    /// `build_async` grow only when it is set above `capacity`; fixed and
    /// thread-local pools never grow and refuse it.
    pub fn max_capacity(mut self, max_capacity: usize) -> Self {
        self.settings.max_capacity = Some(max_capacity);
        self
    }

    /// How a growing pool adds capacity (default `Growth::Exponential(2.0)`).
    pub fn growth(mut self, growth: Growth) -> Self {
        self.settings.growth = Some(growth);
        self
    }

    /// Build every object when the pool is built (`true`), or each on its
    /// first use (`false`, the default). For a growing pool this is the
    /// initial capacity; slots added by growth are filled on first use.
    pub fn pre_initialize(mut self, pre_initialize: bool) -> Self {
        self.settings.pre_initialize = pre_initialize;
        self
    }

    /// Keep counters and timings for [`StatsSnapshot`](crate::StatsSnapshot)
    /// (default `false`: only the current in-use and capacity figures).
    pub fn statistics(mut self, statistics: bool) -> Self {
        self.settings.statistics = statistics;
        self
    }

    /// A hook run on every released object before it can be handed out again,
    /// e.g. to clear a buffer while keeping its allocation. If it panics, the
    /// object is dropped instead of being reused.
    pub fn reset<R2: Fn(&mut T)>(self, reset: R2) -> PoolBuilder<T, F, R2, K> {
        PoolBuilder {
            init: self.init,
            reset: Some(reset),
            recycle: self.recycle,
            settings: self.settings,
            _object: PhantomData,
        }
    }

    /// A predicate run on every released object, after the reset hook:
    /// `true` keeps the object in the pool, `false` drops it and the pool
    /// replaces it: its slot goes back first in line, empty, so the next get
    /// builds a new object with `init`. Rejected objects are counted in
    /// [`StatsSnapshot::total_discarded`](crate::StatsSnapshot::total_discarded).
    /// The typical use: drop a buffer whose capacity grew past a limit, so
    /// one large request does not pin its memory in the pool for ever.
    ///
    /// ```
    /// use fastalloc::PoolBuilder;
    ///
    /// let pool = PoolBuilder::new(|| Vec::<u8>::with_capacity(1024))
    ///     .capacity(4)
    ///     .reset(Vec::clear)
    ///     .recycle_if(|buf: &Vec<u8>| buf.capacity() <= 4096)
    ///     .statistics(true)
    ///     .build_fixed()?;
    /// let mut buf = pool.get()?;
    /// buf.resize(1 << 20, 0); // one huge request
    /// drop(buf); // too big to keep: dropped, its slot rebuilt on a later get
    /// assert_eq!(pool.stats().total_discarded, 1);
    /// assert_eq!(pool.idle(), 0);
    /// assert_eq!(pool.get()?.capacity(), 1024);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// If the predicate panics, the object is dropped (as when the reset
    /// hook panics) and the panic reaches the code that released it.
    pub fn recycle_if<K2: Fn(&T) -> bool>(self, keep: K2) -> PoolBuilder<T, F, R, K2> {
        PoolBuilder {
            init: self.init,
            reset: self.reset,
            recycle: Some(keep),
            settings: self.settings,
            _object: PhantomData,
        }
    }

    /// Builds a [`FixedPool`].
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] if the capacity is missing, 0, or too large, or if
    /// `max_capacity` or `growth` was set (a fixed pool never grows).
    ///
    /// # Panics
    ///
    /// If `pre_initialize` is set and `init` panics (objects built so far are
    /// dropped).
    pub fn build_fixed(self) -> Result<FixedPool<T>, ConfigError>
    where
        F: 'static,
        R: 'static,
        K: 'static,
    {
        let layout = self.settings.check("FixedPool", Grows::Never)?;
        Ok(FixedPool::from_parts(layout, self.local_hooks()))
    }

    /// Builds a [`GrowingPool`]: `max_capacity` defaults to
    /// [`MAX_CAPACITY`](crate::MAX_CAPACITY), `growth` to doubling.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] if the capacity is missing, 0, or too large, if the
    /// maximum is below the capacity or too large, if the growth setting
    /// would never grow, or if its schedule has too many steps.
    ///
    /// # Panics
    ///
    /// If `pre_initialize` is set and `init` panics.
    pub fn build_growing(self) -> Result<GrowingPool<T>, ConfigError>
    where
        F: 'static,
        R: 'static,
        K: 'static,
    {
        let layout = self.settings.check("GrowingPool", Grows::Always)?;
        Ok(GrowingPool::from_parts(layout, self.local_hooks()))
    }

    /// Like [`build_fixed`](Self::build_fixed), for a pool that can move to
    /// another thread: the closures must be `Send`, and the pool is `Send`
    /// when `T` is (it stays single-thread: not `Sync`, and its guards are
    /// not `Send`). Build it where it is configured, use it where it runs:
    ///
    /// ```
    /// use fastalloc::PoolBuilder;
    ///
    /// let pool = PoolBuilder::new(|| vec![0.0f32; 512])
    ///     .capacity(4)
    ///     .pre_initialize(true)
    ///     .reset(|buf: &mut Vec<f32>| buf.fill(0.0))
    ///     .build_fixed_send()?;
    /// let audio = std::thread::spawn(move || {
    ///     let mut frame = pool.get().expect("4 frames");
    ///     frame[0] = 1.0;
    ///     frame.len()
    /// });
    /// assert_eq!(audio.join().unwrap(), 512);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As `build_fixed`.
    ///
    /// # Panics
    ///
    /// As `build_fixed`.
    pub fn build_fixed_send(self) -> Result<FixedPool<T, SendHooks<T>>, ConfigError>
    where
        F: Send + 'static,
        R: Send + 'static,
        K: Send + 'static,
    {
        let layout = self.settings.check("FixedPool", Grows::Never)?;
        Ok(FixedPool::from_parts(layout, self.send_hooks()))
    }

    /// Like [`build_growing`](Self::build_growing), for a pool that can move
    /// to another thread (see [`build_fixed_send`](Self::build_fixed_send)).
    ///
    /// # Errors
    ///
    /// As `build_growing`.
    ///
    /// # Panics
    ///
    /// As `build_growing`.
    pub fn build_growing_send(self) -> Result<GrowingPool<T, SendHooks<T>>, ConfigError>
    where
        F: Send + 'static,
        R: Send + 'static,
        K: Send + 'static,
    {
        let layout = self.settings.check("GrowingPool", Grows::Always)?;
        Ok(GrowingPool::from_parts(layout, self.send_hooks()))
    }

    /// Builds a [`ThreadSafePool`]; it grows when `max_capacity` is set above
    /// `capacity`.
    ///
    /// # Errors
    ///
    /// As [`build_growing`](Self::build_growing), and
    /// [`ConfigError::GrowthWithoutMax`] if `growth` is set without a
    /// `max_capacity` above `capacity`.
    ///
    /// # Panics
    ///
    /// If `pre_initialize` is set and `init` panics.
    #[cfg(target_has_atomic = "64")]
    #[cfg_attr(docsrs, doc(cfg(target_has_atomic = "64")))]
    pub fn build_thread_safe(self) -> Result<ThreadSafePool<T>, ConfigError>
    where
        T: Send,
        F: Send + Sync + 'static,
        R: Send + Sync + 'static,
        K: Send + Sync + 'static,
    {
        let layout = self.settings.check("ThreadSafePool", Grows::WithMax)?;
        Ok(ThreadSafePool::from_parts(layout, self.shared_hooks()))
    }

    /// Builds a [`ThreadLocalPool`](crate::ThreadLocalPool): `capacity`
    /// objects for each thread that uses it.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] if the capacity is missing, 0, or too large, or if
    /// `max_capacity` or `growth` was set (per-thread pools never grow).
    #[cfg(feature = "std")]
    #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
    pub fn build_thread_local(self) -> Result<ThreadLocalPool<T>, ConfigError>
    where
        T: Send + 'static,
        F: Send + Sync + 'static,
        R: Send + Sync + 'static,
        K: Send + Sync + 'static,
    {
        let layout = self.settings.check("ThreadLocalPool", Grows::Never)?;
        Ok(ThreadLocalPool::from_parts(layout, self.shared_hooks()))
    }

    /// Builds an [`AsyncPool`](crate::AsyncPool); it grows when
    /// `max_capacity` is set above `capacity`.
    ///
    /// # Errors
    ///
    /// As [`build_thread_safe`](Self::build_thread_safe).
    ///
    /// # Panics
    ///
    /// If `pre_initialize` is set and `init` panics.
    #[cfg(feature = "std")]
    #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
    pub fn build_async(self) -> Result<AsyncPool<T>, ConfigError>
    where
        T: Send,
        F: Send + Sync + 'static,
        R: Send + Sync + 'static,
        K: Send + Sync + 'static,
    {
        let layout = self.settings.check("AsyncPool", Grows::WithMax)?;
        Ok(AsyncPool::from_parts(layout, self.shared_hooks()))
    }

    /// Boxes the closures for a single-thread pool.
    fn local_hooks(self) -> LocalHooks<T>
    where
        F: 'static,
        R: 'static,
        K: 'static,
    {
        let reset = self.reset.map(|r| Box::new(r) as Box<dyn Fn(&mut T)>);
        let recycle = self.recycle.map(|k| Box::new(k) as Box<dyn Fn(&T) -> bool>);
        BoxedHooks::new(Box::new(self.init) as Box<dyn Fn() -> T>, reset, recycle)
    }

    fn send_hooks(self) -> SendHooks<T>
    where
        F: Send + 'static,
        R: Send + 'static,
        K: Send + 'static,
    {
        let reset = self
            .reset
            .map(|r| Box::new(r) as Box<dyn Fn(&mut T) + Send>);
        let recycle = self
            .recycle
            .map(|k| Box::new(k) as Box<dyn Fn(&T) -> bool + Send>);
        BoxedHooks::new(
            Box::new(self.init) as Box<dyn Fn() -> T + Send>,
            reset,
            recycle,
        )
    }

    /// Boxes the closures for a pool used from many threads.
    #[cfg(target_has_atomic = "64")]
    fn shared_hooks(self) -> SharedHooks<T>
    where
        F: Send + Sync + 'static,
        R: Send + Sync + 'static,
        K: Send + Sync + 'static,
    {
        let reset = self
            .reset
            .map(|r| Box::new(r) as Box<dyn Fn(&mut T) + Send + Sync>);
        let recycle = self
            .recycle
            .map(|k| Box::new(k) as Box<dyn Fn(&T) -> bool + Send + Sync>);
        BoxedHooks::new(
            Box::new(self.init) as Box<dyn Fn() -> T + Send + Sync>,
            reset,
            recycle,
        )
    }
}

impl<T, F, R, K> fmt::Debug for PoolBuilder<T, F, R, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("capacity", &self.settings.capacity)
            .field("max_capacity", &self.settings.max_capacity)
            .field("growth", &self.settings.growth)
            .field("pre_initialize", &self.settings.pre_initialize)
            .field("statistics", &self.settings.statistics)
            .field("reset", &self.reset.is_some())
            .field("recycle_if", &self.recycle.is_some())
            .finish_non_exhaustive()
    }
}
