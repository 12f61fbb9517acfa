//! `fastalloc._native`: the guides' pools for Python, each a thin layer over
//! the pool of the same name in the `fastalloc` crate.
//!
//! A Python pool hands out the object itself, so the layer keeps the guard
//! of each object on loan in a map keyed by the object's address; `release`
//! finds the guard there (an object not in the map is a double or foreign
//! release) and drops it, which runs the reset method and gives the slot
//! back, in Rust. No Python-level dict is touched on the hot path.
//!
//! User code (the factory, the reset method) runs inside the crate's pools.
//! An exception it raises is carried to the caller across the pool's own
//! unwinding (the crate's panic rules keep the pool consistent): the
//! exception is kept in a thread-local, the pool unwinds with a private
//! payload, and the method that called into the pool raises the exception.
//! The maps are never borrowed while user code runs.

use fastalloc as fa;
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyType};
use std::cell::RefCell;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

/// A pooled Python object.
type Obj = Py<PyAny>;

// === exceptions from user code, carried across the pools' unwinding ===

thread_local! {
    /// The exception raised by the factory or reset method that is unwinding
    /// through a pool on this thread.
    static PENDING: RefCell<Option<PyErr>> = const { RefCell::new(None) };
}

/// The payload of the unwinding that carries a Python exception.
struct HookFailed;

/// Keeps `err` for the caller and unwinds out of the pool.
fn fail(err: PyErr) -> ! {
    // During the thread's exit the slot may be gone: the caller then raises
    // a generic error instead of the user's.
    let _ = PENDING.try_with(|p| *p.borrow_mut() = Some(err));
    resume_unwind(Box::new(HookFailed))
}

/// Runs `f`, which calls into a pool that may run user code; an exception
/// that code raised comes back as `Err`.
fn guarded<R>(f: impl FnOnce() -> R) -> PyResult<R> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => Ok(r),
        Err(payload) if payload.is::<HookFailed>() => Err(PENDING
            .try_with(|p| p.borrow_mut().take())
            .ok()
            .flatten()
            .unwrap_or_else(|| PyRuntimeError::new_err("a pool hook failed"))),
        Err(payload) => resume_unwind(payload),
    }
}

/// Drops guards one at a time, each as its own release, so a reset method
/// that raises for one does not stop (or abort) the others; what they raise
/// goes to `sys.unraisablehook`, as errors in finalisers do.
fn drop_each<G>(guards: impl IntoIterator<Item = G>) {
    for guard in guards {
        if let Err(e) = guarded(|| drop(guard)) {
            Python::attach(|py| e.write_unraisable(py, None));
        }
    }
}

/// The pools' `init`: the factory, called with no arguments.
fn make_init(factory: Obj) -> impl Fn() -> Obj + Send + Sync + 'static {
    move || Python::attach(|py| factory.call0(py).unwrap_or_else(|e| fail(e)))
}

/// The pools' reset hook: calls `obj.<name>()` when the object has such a
/// callable attribute (objects without it are given back as they are).
fn make_reset(name: Py<PyString>) -> impl Fn(&mut Obj) + Send + Sync + 'static {
    move |obj: &mut Obj| {
        Python::attach(|py| {
            let method = match obj.bind(py).getattr(name.bind(py)) {
                Ok(m) if m.is_callable() => m,
                Ok(_) => return,
                Err(e) if e.is_instance_of::<pyo3::exceptions::PyAttributeError>(py) => return,
                Err(e) => fail(e),
            };
            if let Err(e) = method.call0() {
                fail(e);
            }
        })
    }
}

/// The exception classes of `fastalloc.exceptions`, imported once.
fn exception<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let module =
        MODULE.get_or_try_init(py, || py.import("fastalloc.exceptions").map(Bound::unbind))?;
    module.bind(py).getattr(name)
}

fn raise(py: Python<'_>, name: &str, message: String) -> PyErr {
    match exception(py, name).and_then(|cls| cls.call1((message,))) {
        Ok(instance) => PyErr::from_value(instance),
        Err(e) => e,
    }
}

fn empty_error(py: Python<'_>, kind: &str, capacity: usize) -> PyErr {
    raise(
        py,
        "PoolEmptyError",
        format!("{kind} is empty: all {capacity} objects are in use"),
    )
}

fn closed_error(py: Python<'_>, kind: &str) -> PyErr {
    raise(py, "PoolClosedError", format!("{kind} is closed"))
}

/// `TypeMismatchError` unless `obj` is an instance of the pool's type (one
/// pointer compare for the exact type).
#[inline]
fn check_type(info: &Info, obj: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = obj.py();
    let expected = info.obj_type.bind(py);
    if obj.get_type().is(expected) || obj.is_instance(expected)? {
        return Ok(());
    }
    let args = (expected, obj.get_type());
    Err(
        match exception(py, "TypeMismatchError").and_then(|cls| cls.call1(args)) {
            Ok(instance) => PyErr::from_value(instance),
            Err(e) => e,
        },
    )
}

/// The error of a release of an object (of the pool's type) not out of this
/// pool: a double or foreign release.
fn release_error(py: Python<'_>, info: &Info, obj: &Bound<'_, PyAny>) -> PyErr {
    raise(
        py,
        "AlreadyReleasedError",
        format!(
            "{} is not out of this {}: it was already released, or never taken from it",
            obj.repr()
                .map(|r| r.to_string())
                .unwrap_or_else(|_| "the object".into()),
            info.kind
        ),
    )
}

// === settings shared by every pool class ===

/// The constructor arguments every pool takes, checked.
struct Settings {
    capacity: usize,
    factory: Obj,
    reset: Option<Py<PyString>>,
    statistics: bool,
    pre_initialize: bool,
}

/// What every pool class keeps besides its Rust pool.
struct Info {
    kind: &'static str,
    obj_type: Py<PyType>,
    closed: AtomicBool,
    statistics: bool,
    /// The `max_capacity` the user gave (growing pools), for `max_capacity()`.
    max_capacity: Option<usize>,
}

fn capacity_of(py: Python<'_>, name: &str, value: &Bound<'_, PyAny>) -> PyResult<usize> {
    let invalid = |message: String| -> PyErr {
        match exception(py, "InvalidCapacityError").and_then(|cls| cls.call1((value, message))) {
            Ok(instance) => PyErr::from_value(instance),
            Err(e) => e,
        }
    };
    let is_int = value.is_instance_of::<pyo3::types::PyInt>()
        && !value.is_instance_of::<pyo3::types::PyBool>();
    if !is_int {
        return Err(invalid(format!(
            "{name} must be an integer, got {}",
            value.get_type().name()?
        )));
    }
    let Ok(n) = value.extract::<i64>() else {
        return Err(invalid(format!(
            "{name} {value} is beyond the largest pool ({})",
            fa::MAX_CAPACITY
        )));
    };
    if n <= 0 {
        return Err(invalid(format!("{name} must be positive, got {n}")));
    }
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    if n > fa::MAX_CAPACITY {
        return Err(invalid(format!(
            "{name} {n} exceeds the largest pool ({})",
            fa::MAX_CAPACITY
        )));
    }
    Ok(n)
}

#[allow(clippy::too_many_arguments)]
fn settings(
    py: Python<'_>,
    kind: &'static str,
    obj_type: &Bound<'_, PyType>,
    capacity: &Bound<'_, PyAny>,
    factory: Option<Obj>,
    reset_method: Option<Py<PyString>>,
    enable_statistics: bool,
    pre_initialize: bool,
    max_capacity: Option<usize>,
) -> PyResult<(Settings, Info)> {
    let capacity = capacity_of(py, "capacity", capacity)?;
    let factory = match factory {
        Some(f) if !f.bind(py).is_callable() => {
            return Err(PyTypeError::new_err("factory must be callable"))
        }
        Some(f) => f,
        None => obj_type.clone().into_any().unbind(),
    };
    Ok((
        Settings {
            capacity,
            factory,
            reset: reset_method,
            statistics: enable_statistics,
            pre_initialize,
        },
        Info {
            kind,
            obj_type: obj_type.clone().unbind(),
            closed: AtomicBool::new(false),
            statistics: enable_statistics,
            max_capacity,
        },
    ))
}

/// A builder for these settings, with its reset hook (if any) applied by
/// `build`.
macro_rules! build {
    ($s:expr, |$b:ident| $configure:expr, $build:ident) => {{
        let s = $s;
        let $b = fa::PoolBuilder::new(make_init(s.factory))
            .capacity(s.capacity)
            .pre_initialize(s.pre_initialize)
            .statistics(s.statistics);
        let $b = $configure;
        match s.reset {
            Some(name) => guarded(|| $b.reset(make_reset(name)).$build()),
            None => guarded(|| $b.$build()),
        }
    }};
}

fn config_error(py: Python<'_>, e: fa::ConfigError) -> PyErr {
    raise(py, "PoolConfigurationError", e.to_string())
}

/// `pool.stats()`: a `fastalloc.stats.StatsCollector` over this pool.
fn collector(py: Python<'_>, pool: Py<PyAny>, enabled: bool) -> PyResult<Py<PyAny>> {
    static CLASS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let class = CLASS.get_or_try_init(py, || {
        py.import("fastalloc.stats")
            .and_then(|m| m.getattr("StatsCollector"))
            .map(Bound::unbind)
    })?;
    Ok(class.bind(py).call1((pool, enabled))?.unbind())
}

/// The snapshot keys of the guides, from a Rust snapshot.
fn snapshot_dict<'py>(py: Python<'py>, s: &fa::StatsSnapshot) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("total_allocations", s.total_allocations)?;
    d.set_item("total_releases", s.total_releases)?;
    d.set_item("total_resets", s.total_resets)?;
    d.set_item("growth_events", s.growth_events)?;
    d.set_item("peak_in_use", s.peak_in_use)?;
    d.set_item("peak_capacity", s.peak_capacity.max(s.current_capacity))?;
    d.set_item("current_in_use", s.current_in_use)?;
    d.set_item("current_capacity", s.current_capacity)?;
    d.set_item("total_allocation_time_ns", s.total_allocation_time_ns)?;
    d.set_item("total_release_time_ns", s.total_release_time_ns)?;
    d.set_item(
        "avg_allocation_time_ns",
        s.avg_allocation_time_ns.round() as u64,
    )?;
    d.set_item("avg_release_time_ns", s.avg_release_time_ns.round() as u64)?;
    d.set_item("exhausted", s.exhausted)?;
    d.set_item("idle", s.idle)?;
    d.set_item("waiting", s.waiting)?;
    d.set_item("total_discarded", s.total_discarded)?;
    Ok(d)
}

// === the map of objects on loan ===

/// A hasher for object addresses: a multiply and a fold, so the low bits
/// that pick a bucket depend on every bit of the (16-byte aligned) address.
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(23) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// The guards of the objects on loan, by object address. A factory may hand
/// out the same object twice: then its address holds several guards.
struct OutMap<G, K = usize>(HashMap<K, Out<G>, BuildHasherDefault<AddressHasher>>);

enum Out<G> {
    One(G),
    More(Vec<G>),
}

impl<G, K> Default for OutMap<G, K> {
    fn default() -> Self {
        Self(HashMap::default())
    }
}

impl<G, K: std::hash::Hash + Eq> OutMap<G, K> {
    #[inline]
    fn insert(&mut self, key: K, guard: G) {
        match self.0.entry(key) {
            Entry::Vacant(v) => {
                v.insert(Out::One(guard));
            }
            Entry::Occupied(o) => Self::insert_again(o.into_mut(), guard),
        }
    }

    /// The same object handed out again (a factory returning one object).
    #[cold]
    fn insert_again(slot: &mut Out<G>, guard: G) {
        let old = std::mem::replace(slot, Out::More(Vec::new()));
        if let Out::More(v) = slot {
            match old {
                Out::One(g) => v.push(g),
                Out::More(gs) => v.extend(gs),
            }
            v.push(guard);
        }
    }

    #[inline]
    fn remove(&mut self, key: K) -> Option<G> {
        match self.0.remove(&key)? {
            Out::One(g) => Some(g),
            Out::More(v) => self.remove_again(key, v),
        }
    }

    /// An object handed out more than once: one of its guards.
    #[cold]
    fn remove_again(&mut self, key: K, mut v: Vec<G>) -> Option<G> {
        let g = v.pop();
        match v.len() {
            0 => {}
            1 => {
                if let Some(last) = v.pop() {
                    self.0.insert(key, Out::One(last));
                }
            }
            _ => {
                self.0.insert(key, Out::More(v));
            }
        }
        g
    }

    /// Every guard, to drop outside the borrow of the map.
    fn drain(&mut self) -> Vec<G> {
        let mut all = Vec::new();
        for (_, out) in self.0.drain() {
            match out {
                Out::One(g) => all.push(g),
                Out::More(gs) => all.extend(gs),
            }
        }
        all
    }
}

fn address(obj: &Obj) -> usize {
    obj.as_ptr() as usize
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// === the methods every pool class has ===

/// `get`, `release`, `size`, `capacity`, `available`, `close`,
/// `is_closed`, `stats`, `_snapshot`, `reset_stats`, `__repr__`,
/// `allocate` and `max_capacity` for a pool class with fields `inner` (the
/// Rust pool) and `info`, and methods `get_object` and `release_object`.
macro_rules! common_methods {
    ($class:ident) => {
        #[pymethods]
        impl $class {
            /// An object now (built by the factory on first use), without
            /// waiting; `PoolEmptyError` when every object is out.
            fn get(&self, py: Python<'_>) -> PyResult<Obj> {
                self.get_object(py)
            }

            /// Gives `obj` back; its reset method runs.
            #[pyo3(signature = (obj, /))]
            fn release(&self, obj: &Bound<'_, PyAny>) -> PyResult<()> {
                self.release_object(obj)
            }

            // (`guarded`: a `ThreadLocalPool` makes the calling thread's pool
            // on its first use, which may call the factory.)

            /// Objects handed out and not released.
            fn size(&self) -> PyResult<usize> {
                guarded(|| self.inner.in_use())
            }

            /// Objects the pool can hold now (per thread for
            /// `ThreadLocalPool`).
            fn capacity(&self) -> usize {
                self.inner.capacity()
            }

            /// Objects built and idle: handed out by the next gets without
            /// calling the factory.
            fn available(&self) -> PyResult<usize> {
                guarded(|| self.inner.idle())
            }

            /// The `max_capacity` the pool was given, or `None`.
            fn max_capacity(&self) -> Option<usize> {
                self.info.max_capacity
            }

            /// Refuses further gets (`PoolClosedError`); objects out may
            /// still be released.
            fn close(&self) {
                self.info.closed.store(true, Ordering::Relaxed);
            }

            fn is_closed(&self) -> bool {
                self.info.closed.load(Ordering::Relaxed)
            }

            /// The pool's statistics collector.
            fn stats(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
                let enabled = slf.borrow().info.statistics;
                collector(slf.py(), slf.clone().into_any().unbind(), enabled)
            }

            /// The figures now, as the guides' snapshot dict.
            fn _snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
                snapshot_dict(py, &guarded(|| self.inner.stats())?)
            }

            /// Counters to zero, peaks to the figures now.
            fn reset_stats(&self) {
                self.inner.reset_stats();
            }

            /// `with pool.allocate() as obj:` gets an object now and
            /// releases it when the block ends, exceptions included.
            fn allocate(slf: &Bound<'_, Self>) -> PyResult<ContextHandle> {
                let obj = slf.borrow().get_object(slf.py())?;
                Ok(ContextHandle {
                    obj: Some(obj),
                    release: Release::Pool(slf.clone().into_any().unbind()),
                })
            }

            fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
                Ok(format!(
                    "{}(type={}, capacity={}, in_use={}, available={}, closed={})",
                    self.info.kind,
                    self.info.obj_type.bind(py).name()?,
                    self.inner.capacity(),
                    self.size()?,
                    self.available()?,
                    if self.is_closed() { "True" } else { "False" },
                ))
            }
        }
    };
}

// === FixedPool and GrowingPool: one thread ===

/// A fixed-capacity pool used on the thread that built it.
#[pyclass(
    module = "fastalloc",
    name = "FixedPool",
    unsendable,
    frozen,
    subclass,
    generic
)]
struct FixedPool {
    inner: Rc<fa::FixedPool<Obj>>,
    out: RefCell<OutMap<fa::FixedRcGuard<Obj>>>,
    info: Info,
}

/// A pool that grows from `capacity` to `max_capacity`, used on the thread
/// that built it.
#[pyclass(
    module = "fastalloc",
    name = "GrowingPool",
    unsendable,
    frozen,
    subclass,
    generic
)]
struct GrowingPool {
    inner: Rc<fa::GrowingPool<Obj>>,
    out: RefCell<OutMap<fa::GrowingRcGuard<Obj>>>,
    info: Info,
}

/// `get`, `release` and the helpers of a single-thread pool class.
macro_rules! local_methods {
    ($class:ident, $get:ident) => {
        impl $class {
            fn get_object(&self, py: Python<'_>) -> PyResult<Obj> {
                if self.info.closed.load(Ordering::Relaxed) {
                    return Err(closed_error(py, self.info.kind));
                }
                match guarded(|| self.inner.$get())? {
                    Ok(guard) => {
                        let obj = guard.clone_ref(py);
                        self.out.borrow_mut().insert(address(&obj), guard);
                        Ok(obj)
                    }
                    Err(e) => Err(empty_error(py, self.info.kind, e.capacity())),
                }
            }

            fn release_object(&self, obj: &Bound<'_, PyAny>) -> PyResult<()> {
                check_type(&self.info, obj)?;
                let guard = self.out.borrow_mut().remove(obj.as_ptr() as usize);
                match guard {
                    // The reset method runs as the guard drops, the map
                    // not borrowed.
                    Some(guard) => guarded(|| drop(guard)),
                    None => Err(release_error(obj.py(), &self.info, obj)),
                }
            }
        }

        impl Drop for $class {
            fn drop(&mut self) {
                // Objects still out go back (and are dropped with the pool)
                // after the map is emptied.
                drop_each(self.out.get_mut().drain());
            }
        }
    };
}

local_methods!(FixedPool, get_rc);
local_methods!(GrowingPool, get_rc);
common_methods!(FixedPool);
common_methods!(GrowingPool);

/// The constructor of a pool class that takes the common arguments only:
/// `Class(obj_type, capacity, *, factory=None, reset_method=None,
/// enable_statistics=False, pre_initialize=False)`, built by the builder's
/// `$build`; `$make` turns the Rust pool into the class's fields.
macro_rules! plain_new {
    ($class:ident, $build:ident, |$pool:ident| $make:expr) => {
        #[pymethods]
        impl $class {
            #[new]
            #[pyo3(signature = (obj_type, capacity, *, factory=None, reset_method=None, enable_statistics=false, pre_initialize=false))]
            fn new(
                py: Python<'_>,
                obj_type: &Bound<'_, PyType>,
                capacity: &Bound<'_, PyAny>,
                factory: Option<Obj>,
                reset_method: Option<Py<PyString>>,
                enable_statistics: bool,
                pre_initialize: bool,
            ) -> PyResult<Self> {
                let (s, info) = settings(
                    py,
                    stringify!($class),
                    obj_type,
                    capacity,
                    factory,
                    reset_method,
                    enable_statistics,
                    pre_initialize,
                    None,
                )?;
                let $pool = build!(s, |b| b, $build)?.map_err(|e| config_error(py, e))?;
                let (inner, id) = $make;
                Ok(Self::from_parts(inner, id, info))
            }
        }
    };
}

plain_new!(FixedPool, build_fixed, |pool| (Rc::new(pool), ()));

impl FixedPool {
    fn from_parts(inner: Rc<fa::FixedPool<Obj>>, _: (), info: Info) -> Self {
        Self {
            inner,
            out: RefCell::default(),
            info,
        }
    }
}

/// How a growing pool grows, from a `GrowthConfig`-like object.
fn growth_of(
    py: Python<'_>,
    config: Option<&Bound<'_, PyAny>>,
    capacity: usize,
) -> PyResult<(fa::Growth, Option<usize>)> {
    let Some(config) = config else {
        // The guides' default: linear steps of half the initial capacity.
        return Ok((fa::Growth::Linear((capacity / 2).max(1)), None));
    };
    let strategy = config.getattr("strategy")?.getattr("name")?;
    let strategy: String = strategy.extract()?;
    let max: Option<usize> = config.getattr("max_capacity")?.extract()?;
    let growth = match strategy.as_str() {
        "LINEAR" => {
            let increment: Option<i64> = config.getattr("increment")?.extract()?;
            match increment {
                Some(n) if n > 0 => fa::Growth::Linear(n as usize),
                _ => {
                    return Err(raise(
                        py,
                        "PoolConfigurationError",
                        "linear growth needs a positive increment".into(),
                    ))
                }
            }
        }
        "EXPONENTIAL" => {
            let factor: Option<f64> = config.getattr("factor")?.extract()?;
            match factor {
                Some(f) if f > 1.0 => fa::Growth::Exponential(f),
                _ => {
                    return Err(raise(
                        py,
                        "PoolConfigurationError",
                        "exponential growth needs a factor above 1.0".into(),
                    ))
                }
            }
        }
        other => {
            return Err(raise(
                py,
                "PoolConfigurationError",
                format!("unknown growth strategy {other}"),
            ))
        }
    };
    Ok((growth, max))
}

#[pymethods]
impl GrowingPool {
    #[new]
    #[pyo3(signature = (obj_type, capacity, *, max_capacity=None, growth_config=None, factory=None, reset_method=None, enable_statistics=false, pre_initialize=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        obj_type: &Bound<'_, PyType>,
        capacity: &Bound<'_, PyAny>,
        max_capacity: Option<&Bound<'_, PyAny>>,
        growth_config: Option<&Bound<'_, PyAny>>,
        factory: Option<Obj>,
        reset_method: Option<Py<PyString>>,
        enable_statistics: bool,
        pre_initialize: bool,
    ) -> PyResult<Self> {
        let max = match max_capacity {
            Some(m) if !m.is_none() => Some(capacity_of(py, "max_capacity", m)?),
            _ => None,
        };
        let (s, mut info) = settings(
            py,
            "GrowingPool",
            obj_type,
            capacity,
            factory,
            reset_method,
            enable_statistics,
            pre_initialize,
            max,
        )?;
        let (growth, config_max) = growth_of(py, growth_config, s.capacity)?;
        // `max_capacity()` answers what was given as `max_capacity`; a growth
        // config's maximum still bounds the pool.
        info.max_capacity = max;
        let max = max.or(config_max);
        if let Some(m) = max {
            if m < s.capacity {
                return Err(raise(
                    py,
                    "PoolConfigurationError",
                    format!("max_capacity {m} is below the capacity {}", s.capacity),
                ));
            }
        }
        // Without a maximum, a linear pool may take as many steps as a pool
        // can have segments (65 534 steps after the first).
        let limit = match (max, growth) {
            (Some(m), _) => Some(m),
            (None, fa::Growth::Linear(step)) => Some(
                s.capacity
                    .saturating_add(step.saturating_mul(fa::MAX_SEGMENTS - 2))
                    .min(fa::MAX_CAPACITY),
            ),
            (None, fa::Growth::Exponential(_)) => None,
        };
        let pool = build!(
            s,
            |b| {
                let b = b.growth(growth);
                match limit {
                    Some(m) => b.max_capacity(m),
                    None => b,
                }
            },
            build_growing
        )?
        .map_err(|e| config_error(py, e))?;
        Ok(Self {
            inner: Rc::new(pool),
            out: RefCell::default(),
            info,
        })
    }
}

// === ThreadSafePool and AsyncPool: guards in a locked map ===

/// `get`, `release` and the helpers of a pool class over a Rust `$pool`
/// whose guards are kept in `out: Mutex<OutMap<$guard>>`; `$take` takes one
/// without waiting.
macro_rules! locked_map_methods {
    ($class:ident, $pool:ty, $take:ident, $guard:ty) => {
        impl $class {
            fn get_object(&self, py: Python<'_>) -> PyResult<Obj> {
                if self.info.closed.load(Ordering::Relaxed) {
                    return Err(closed_error(py, self.info.kind));
                }
                match guarded(|| self.inner.$take())? {
                    Ok(guard) => Ok(self.hand_out(py, guard)),
                    Err(e) => Err(empty_error(py, self.info.kind, e.capacity())),
                }
            }

            fn hand_out(&self, py: Python<'_>, guard: $guard) -> Obj {
                let obj = guard.clone_ref(py);
                lock(&self.out).insert(address(&obj), guard);
                obj
            }

            fn release_object(&self, obj: &Bound<'_, PyAny>) -> PyResult<()> {
                check_type(&self.info, obj)?;
                let guard = lock(&self.out).remove(obj.as_ptr() as usize);
                match guard {
                    // Dropped out of the lock: the reset method runs, and a
                    // waiter is woken.
                    Some(guard) => guarded(|| drop(guard)),
                    None => Err(release_error(obj.py(), &self.info, obj)),
                }
            }

            fn from_parts(inner: Arc<$pool>, _: (), info: Info) -> Self {
                Self {
                    inner,
                    out: Mutex::default(),
                    info,
                }
            }
        }

        impl Drop for $class {
            fn drop(&mut self) {
                drop_each(
                    self.out
                        .get_mut()
                        .unwrap_or_else(|e| e.into_inner())
                        .drain(),
                );
            }
        }
    };
}

/// A pool shared by threads.
#[pyclass(
    module = "fastalloc",
    name = "ThreadSafePool",
    frozen,
    subclass,
    generic
)]
struct ThreadSafePool {
    inner: Arc<fa::ThreadSafePool<Obj>>,
    out: Mutex<OutMap<fa::OwnedGuard<Obj>>>,
    info: Info,
}

locked_map_methods!(
    ThreadSafePool,
    fa::ThreadSafePool<Obj>,
    get_owned,
    fa::OwnedGuard<Obj>
);
plain_new!(ThreadSafePool, build_thread_safe, |pool| (
    Arc::new(pool),
    ()
));
common_methods!(ThreadSafePool);

// === ThreadLocalPool ===

/// Pool ids, never reused: the keys of the thread-local maps.
static LOCAL_IDS: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The objects this thread has on loan from any `ThreadLocalPool`, by
    /// (pool id, object address). Dropped with the thread: its guards go
    /// back to this thread's pools there.
    static LOCAL_OUT: LocalOut = LocalOut(RefCell::new(OutMap::default()));
}

/// The thread-local map of `ThreadLocalPool` objects on loan.
struct LocalOut(RefCell<OutMap<fa::ThreadLocalOwnedGuard<Obj>, (usize, u64)>>);

impl LocalOut {
    fn borrow_mut(
        &self,
    ) -> std::cell::RefMut<'_, OutMap<fa::ThreadLocalOwnedGuard<Obj>, (usize, u64)>> {
        self.0.borrow_mut()
    }
}

impl Drop for LocalOut {
    /// The thread exits with objects still out: they go back to its pools
    /// one by one, a raising reset method reported, never unwinding out of
    /// the thread-local destructor.
    fn drop(&mut self) {
        let guards = self.0.get_mut().drain();
        for guard in guards {
            let _ = catch_unwind(AssertUnwindSafe(|| drop(guard)));
        }
    }
}

/// The key of an object of pool `id` in the thread-local map.
fn local_key(id: u64, address: usize) -> (usize, u64) {
    (address, id)
}

/// A pool giving each thread its own `capacity` objects.
#[pyclass(
    module = "fastalloc",
    name = "ThreadLocalPool",
    frozen,
    subclass,
    generic
)]
struct ThreadLocalPool {
    inner: Arc<fa::ThreadLocalPool<Obj>>,
    id: u64,
    info: Info,
}

impl ThreadLocalPool {
    fn get_object(&self, py: Python<'_>) -> PyResult<Obj> {
        if self.info.closed.load(Ordering::Relaxed) {
            return Err(closed_error(py, self.info.kind));
        }
        match guarded(|| self.inner.get_owned())? {
            Ok(guard) => {
                let obj = guard.clone_ref(py);
                let key = local_key(self.id, address(&obj));
                LOCAL_OUT.with(|out| out.borrow_mut().insert(key, guard));
                Ok(obj)
            }
            Err(e) => Err(empty_error(py, self.info.kind, e.capacity())),
        }
    }

    fn release_object(&self, obj: &Bound<'_, PyAny>) -> PyResult<()> {
        check_type(&self.info, obj)?;
        let key = local_key(self.id, obj.as_ptr() as usize);
        let guard = LOCAL_OUT.with(|out| out.borrow_mut().remove(key));
        match guard {
            Some(guard) => guarded(|| drop(guard)),
            None => Err(release_error(obj.py(), &self.info, obj)),
        }
    }
}

impl ThreadLocalPool {
    fn from_parts(inner: Arc<fa::ThreadLocalPool<Obj>>, id: u64, info: Info) -> Self {
        Self { inner, id, info }
    }
}

plain_new!(ThreadLocalPool, build_thread_local, |pool| (
    Arc::new(pool),
    LOCAL_IDS.fetch_add(1, Ordering::Relaxed)
));

common_methods!(ThreadLocalPool);

impl Drop for ThreadLocalPool {
    fn drop(&mut self) {
        // The dropping thread's objects of this pool go back now; other
        // threads' go back when those threads exit.
        let id = self.id;
        let guards: Vec<_> = LOCAL_OUT
            .try_with(|out| {
                let mut out = out.borrow_mut();
                let keys: Vec<_> = out.0.keys().filter(|k| k.1 == id).copied().collect();
                keys.into_iter()
                    .flat_map(|k| match out.0.remove(&k) {
                        Some(Out::One(g)) => vec![g],
                        Some(Out::More(gs)) => gs,
                        None => Vec::new(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        drop_each(guards);
    }
}

// === AsyncPool ===

/// The pool under `fastalloc.AsyncPool`, which adds the awaiting methods.
#[pyclass(
    module = "fastalloc._native",
    name = "AsyncPool",
    frozen,
    subclass,
    generic
)]
struct AsyncPool {
    inner: Arc<fa::AsyncPool<Obj>>,
    out: Mutex<OutMap<fa::AsyncOwnedGuard<Obj>>>,
    info: Info,
}

locked_map_methods!(
    AsyncPool,
    fa::AsyncPool<Obj>,
    try_get_owned,
    fa::AsyncOwnedGuard<Obj>
);
plain_new!(AsyncPool, build_async, |pool| (Arc::new(pool), ()));
common_methods!(AsyncPool);

#[pymethods]
impl AsyncPool {
    /// Tasks waiting for an object now.
    fn waiting(&self) -> usize {
        self.inner.waiting()
    }

    /// A place in the pool's first-come-first-served line (see `Waiter`).
    fn _waiter(slf: &Bound<'_, Self>) -> PyResult<Waiter> {
        if slf.get().info.closed.load(Ordering::Relaxed) {
            return Err(closed_error(slf.py(), slf.get().info.kind));
        }
        let acquire = slf.get().inner.get_owned();
        Ok(Waiter {
            pool: slf.clone().unbind(),
            state: Mutex::new(WaitState::Waiting(Box::pin(acquire))),
        })
    }
}

/// A waiter: the future of the Rust pool's `get_owned`, polled from the
/// event loop. `poll(wake)` returns the object when one is free, else `None`
/// after arranging for `wake()` to be called when the waiter should be
/// polled again (from whatever thread releases the object: `wake` is
/// expected to hand over to the loop, as `loop.call_soon_threadsafe` does).
/// `cancel()` (or dropping the waiter) gives up its place; any wake-up meant
/// for it goes to the next waiter. A closed pool makes `poll` raise
/// `PoolClosedError`.
#[pyclass(module = "fastalloc._native", frozen)]
struct Waiter {
    pool: Py<AsyncPool>,
    state: Mutex<WaitState>,
}

/// Where a waiter stands.
enum WaitState {
    /// In line, not being polled.
    Waiting(Pin<Box<fa::AcquireOwned<Obj>>>),
    /// Being polled (out of the lock: `init` may run).
    Polling,
    /// Cancelled while being polled: the poll gives its result back.
    Cancelled,
    /// Served, failed or cancelled.
    Done,
}

/// Calls a Python callable when woken.
struct CallOnWake(Obj);

impl Wake for CallOnWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        Python::attach(|py| {
            if let Err(e) = self.0.call0(py) {
                e.write_unraisable(py, Some(self.0.bind(py)));
            }
        });
    }
}

#[pymethods]
impl Waiter {
    fn poll(&self, py: Python<'_>, wake: Obj) -> PyResult<Option<Obj>> {
        let pool = self.pool.get();
        let mut acquire = match std::mem::replace(&mut *lock(&self.state), WaitState::Polling) {
            WaitState::Waiting(acquire) => acquire,
            other => {
                // Being polled elsewhere, cancelled or done: left as it was.
                *lock(&self.state) = other;
                return Err(PyRuntimeError::new_err(
                    "this waiter is being polled, was cancelled or was served",
                ));
            }
        };
        if pool.info.closed.load(Ordering::Relaxed) {
            *lock(&self.state) = WaitState::Done;
            drop(acquire); // leaves the line, passing a wake-up on
            return Err(closed_error(py, pool.info.kind));
        }
        let waker = Waker::from(Arc::new(CallOnWake(wake)));
        let mut cx = Context::from_waker(&waker);
        let polled = guarded(|| acquire.as_mut().poll(&mut cx));
        let mut state = lock(&self.state);
        let cancelled = matches!(*state, WaitState::Cancelled);
        match polled {
            Ok(Poll::Pending) if !cancelled => {
                *state = WaitState::Waiting(acquire);
                Ok(None)
            }
            Ok(Poll::Pending) => {
                *state = WaitState::Done;
                drop(state);
                drop(acquire);
                Ok(None)
            }
            Ok(Poll::Ready(guard)) => {
                *state = WaitState::Done;
                drop(state);
                if cancelled {
                    // Given back: the object goes to the next waiter.
                    drop_each([guard]);
                    return Ok(None);
                }
                Ok(Some(pool.hand_out(py, guard)))
            }
            Err(e) => {
                *state = WaitState::Done;
                drop(state);
                drop(acquire);
                Err(e)
            }
        }
    }

    /// Leaves the line if still in it.
    fn cancel(&self) {
        let taken = {
            let mut state = lock(&self.state);
            match std::mem::replace(&mut *state, WaitState::Done) {
                WaitState::Waiting(acquire) => Some(acquire),
                WaitState::Polling => {
                    *state = WaitState::Cancelled;
                    None
                }
                _ => None,
            }
        };
        // Out of the lock: leaving may wake the next waiter.
        drop(taken);
    }
}

// === ContextHandle ===

enum Release {
    /// `allocate()`: the pool's own release.
    Pool(Obj),
    /// `ContextHandle(obj, release_func)`.
    Func(Obj),
}

/// `with handle as obj:` releases `obj` when the block ends. Made by
/// `pool.allocate()`, or as `ContextHandle(obj, release_func)`.
#[pyclass(
    module = "fastalloc.handle",
    name = "ContextHandle",
    generic,
    freelist = 64
)]
struct ContextHandle {
    obj: Option<Obj>,
    release: Release,
}

impl ContextHandle {
    /// Releases the object; if the release raises, the handle keeps it.
    fn do_release(&mut self, py: Python<'_>) -> PyResult<()> {
        let Some(obj) = self.obj.as_ref().map(|o| o.clone_ref(py)) else {
            return Err(raise(
                py,
                "AlreadyReleasedError",
                "this handle's object was already released".into(),
            ));
        };
        let result = match &self.release {
            Release::Pool(pool) => {
                let pool = pool.bind(py);
                let obj = obj.bind(py);
                if let Ok(p) = pool.cast::<FixedPool>() {
                    p.borrow().release_object(obj)
                } else if let Ok(p) = pool.cast::<ThreadSafePool>() {
                    p.get().release_object(obj)
                } else if let Ok(p) = pool.cast::<GrowingPool>() {
                    p.borrow().release_object(obj)
                } else if let Ok(p) = pool.cast::<ThreadLocalPool>() {
                    p.get().release_object(obj)
                } else if let Ok(p) = pool.cast::<AsyncPool>() {
                    p.get().release_object(obj)
                } else {
                    pool.call_method1("release", (obj,)).map(drop)
                }
            }
            Release::Func(f) => f.call1(py, (obj,)).map(drop),
        };
        if result.is_ok() {
            self.obj = None;
        }
        result
    }
}

#[pymethods]
impl ContextHandle {
    #[new]
    fn new(obj: Obj, release_func: Obj) -> Self {
        Self {
            obj: Some(obj),
            release: Release::Func(release_func),
        }
    }

    /// The object (`AlreadyReleasedError` once released).
    fn get(&self, py: Python<'_>) -> PyResult<Obj> {
        match &self.obj {
            Some(obj) => Ok(obj.clone_ref(py)),
            None => Err(raise(
                py,
                "AlreadyReleasedError",
                "this handle's object was already released".into(),
            )),
        }
    }

    /// Gives the object back now.
    fn release(&mut self, py: Python<'_>) -> PyResult<()> {
        self.do_release(py)
    }

    fn is_released(&self) -> bool {
        self.obj.is_none()
    }

    fn __enter__(&self, py: Python<'_>) -> PyResult<Obj> {
        self.get(py)
    }

    #[pyo3(signature = (_exc_type=None, _exc=None, _tb=None, /))]
    fn __exit__(
        &mut self,
        py: Python<'_>,
        _exc_type: Option<&Bound<'_, PyAny>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        if self.obj.is_some() {
            self.do_release(py)?;
        }
        Ok(false)
    }
}

// === the module ===

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<FixedPool>()?;
    m.add_class::<GrowingPool>()?;
    m.add_class::<ThreadSafePool>()?;
    m.add_class::<ThreadLocalPool>()?;
    m.add_class::<AsyncPool>()?;
    m.add_class::<Waiter>()?;
    m.add_class::<ContextHandle>()?;
    m.add("MAX_CAPACITY", fa::MAX_CAPACITY)?;
    Ok(())
}
