//! [`PoolBuilder`]: every pool setting in one place, checked when built.

use crate::error::ConfigError;
use crate::pool::hooks::BoxedHooks;
use crate::{FixedPool, ThreadSafePool};
use alloc::boxed::Box;
use core::fmt;
use core::marker::PhantomData;

/// Builds any pool from an `init` closure and settings; `build_*` checks the
/// settings and returns a [`ConfigError`] naming the wrong one.
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
#[must_use = "a builder does nothing until one of its build_* methods is called"]
pub struct PoolBuilder<T, F, R = fn(&mut T)> {
    init: F,
    reset: Option<R>,
    capacity: Option<usize>,
    pre_initialize: bool,
    _object: PhantomData<fn() -> T>,
}

impl<T, F: Fn() -> T> PoolBuilder<T, F> {
    /// A builder for pools whose objects are made by `init`.
    pub fn new(init: F) -> Self {
        Self {
            init,
            reset: None,
            capacity: None,
            pre_initialize: false,
            _object: PhantomData,
        }
    }
}

impl<T, F: Fn() -> T, R: Fn(&mut T)> PoolBuilder<T, F, R> {
    /// The number of objects the pool holds. Required; at least 1.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = Some(capacity);
        self
    }

    /// Build every object when the pool is built (`true`), or each on its
    /// first use (`false`, the default).
    pub fn pre_initialize(mut self, pre_initialize: bool) -> Self {
        self.pre_initialize = pre_initialize;
        self
    }

    /// A hook run on every released object before it can be handed out again,
    /// e.g. to clear a buffer while keeping its allocation. If it panics, the
    /// object is dropped instead of being reused.
    pub fn reset<R2: Fn(&mut T)>(self, reset: R2) -> PoolBuilder<T, F, R2> {
        PoolBuilder {
            init: self.init,
            reset: Some(reset),
            capacity: self.capacity,
            pre_initialize: self.pre_initialize,
            _object: PhantomData,
        }
    }

    fn checked_capacity(&self) -> Result<usize, ConfigError> {
        ConfigError::check_capacity(self.capacity.ok_or(ConfigError::MissingCapacity)?)
    }

    /// Builds a [`FixedPool`].
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] if the capacity is missing, 0, or too large.
    ///
    /// # Panics
    ///
    /// If `pre_initialize` is set and `init` panics (objects built so far are
    /// dropped).
    pub fn build_fixed(self) -> Result<FixedPool<T>, ConfigError>
    where
        F: 'static,
        R: 'static,
    {
        let capacity = self.checked_capacity()?;
        let reset = self.reset.map(|r| Box::new(r) as Box<dyn Fn(&mut T)>);
        let hooks = BoxedHooks::new(Box::new(self.init) as Box<dyn Fn() -> T>, reset);
        Ok(FixedPool::from_parts(capacity, hooks, self.pre_initialize))
    }

    /// Builds a [`ThreadSafePool`].
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] if the capacity is missing, 0, or too large.
    ///
    /// # Panics
    ///
    /// If `pre_initialize` is set and `init` panics (objects built so far are
    /// dropped).
    pub fn build_thread_safe(self) -> Result<ThreadSafePool<T>, ConfigError>
    where
        T: Send,
        F: Send + Sync + 'static,
        R: Send + Sync + 'static,
    {
        let capacity = self.checked_capacity()?;
        let reset = self
            .reset
            .map(|r| Box::new(r) as Box<dyn Fn(&mut T) + Send + Sync>);
        let init = Box::new(self.init) as Box<dyn Fn() -> T + Send + Sync>;
        let hooks = BoxedHooks::new(init, reset);
        Ok(ThreadSafePool::from_parts(
            capacity,
            hooks,
            self.pre_initialize,
        ))
    }
}

impl<T, F, R> fmt::Debug for PoolBuilder<T, F, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("capacity", &self.capacity)
            .field("pre_initialize", &self.pre_initialize)
            .field("reset", &self.reset.is_some())
            .finish_non_exhaustive()
    }
}
