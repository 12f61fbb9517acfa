//! Shared harness of the fuzz targets: a pooled object that records what
//! happens to it, one trait over every pool kind, and a model of what a pool
//! must do, checked after every operation.
//!
//! Objects count their constructions and drops in process-wide counters
//! (libFuzzer runs one input at a time; [`reset_counters`] starts each), so an
//! object holds no heap memory and a guard forgotten on purpose leaks nothing
//! the leak checker would report.

use fastalloc::{
    AsyncGuard, AsyncOwnedGuard, AsyncPool, ConfigError, FixedGuard, FixedPool, GrowingGuard,
    GrowingPool, Growth, OwnedGuard, PoolBuilder, PoolExhausted, StatsSnapshot, ThreadLocalGuard,
    ThreadLocalOwnedGuard, ThreadLocalPool, ThreadSafeGuard, ThreadSafePool,
};
use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::panic::{self, AssertUnwindSafe};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, Once};
use std::task::{Context, Poll, Waker};

// === the pooled object ===

static BUILT: AtomicU64 = AtomicU64::new(0);
static RESETS: AtomicU64 = AtomicU64::new(0);
static INIT_PANICS: AtomicBool = AtomicBool::new(false);
static RESET_PANICS: AtomicBool = AtomicBool::new(false);
/// Ids of dropped objects, in drop order.
static DROPPED: Mutex<Vec<u64>> = Mutex::new(Vec::new());

/// The panic message of `init` when [`set_init_panics`] is on.
pub const INIT_PANIC: &str = "init panics (fuzz)";
/// The panic message of the reset hook when [`set_reset_panics`] is on.
pub const RESET_PANIC: &str = "reset panics (fuzz)";
/// The panic message of an object's drop when its `panic_on_drop` is set.
pub const DROP_PANIC: &str = "drop panics (fuzz)";

/// No thread holds this object.
pub const FREE: usize = usize::MAX;

/// A pooled object: a unique id (its construction number), a dirty flag the
/// reset hook clears, and an ownership stamp for threaded runs.
#[derive(Debug)]
pub struct Obj {
    pub id: u64,
    pub dirty: bool,
    /// Not cleared by the reset hook; a pool built with `recycle` drops a
    /// worn object on release.
    pub worn: bool,
    pub panic_on_drop: bool,
    pub owner: AtomicUsize,
    /// Padding so that objects are not all the same few bytes.
    pub payload: [u8; 24],
}

impl Obj {
    /// Stamps the object as held by `who`; panics on a double hand-out.
    pub fn claim(&self, who: usize) {
        let prev = self.owner.swap(who, SeqCst);
        assert_eq!(
            prev, FREE,
            "object {} handed to {who} while held by {prev}",
            self.id
        );
    }
    /// Clears the stamp before the object goes back.
    pub fn unclaim(&self, who: usize) {
        let prev = self.owner.swap(FREE, SeqCst);
        assert_eq!(prev, who, "object {} stamp changed while held", self.id);
    }
}

impl Drop for Obj {
    fn drop(&mut self) {
        DROPPED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(self.id);
        if self.panic_on_drop {
            panic!("{DROP_PANIC}");
        }
    }
}

/// The pools' `init`.
pub fn make_obj() -> Obj {
    if INIT_PANICS.load(SeqCst) {
        panic!("{INIT_PANIC}");
    }
    make_obj_by_hand()
}

/// An object built by the harness itself (for `insert`): never panics.
pub fn make_obj_by_hand() -> Obj {
    let id = BUILT.fetch_add(1, SeqCst);
    Obj {
        id,
        dirty: false,
        worn: false,
        panic_on_drop: false,
        owner: AtomicUsize::new(FREE),
        payload: [id as u8; 24],
    }
}

/// The pools' reset hook.
pub fn reset_obj(obj: &mut Obj) {
    if RESET_PANICS.load(SeqCst) {
        panic!("{RESET_PANIC}");
    }
    RESETS.fetch_add(1, SeqCst);
    obj.dirty = false;
}

pub fn set_init_panics(on: bool) {
    INIT_PANICS.store(on, SeqCst);
}
pub fn set_reset_panics(on: bool) {
    RESET_PANICS.store(on, SeqCst);
}
pub fn built() -> u64 {
    BUILT.load(SeqCst)
}
pub fn resets() -> u64 {
    RESETS.load(SeqCst)
}
/// Takes the ids dropped since the last call.
pub fn take_dropped() -> Vec<u64> {
    std::mem::take(&mut *DROPPED.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Starts a run: zero counters, nothing panics, and (once) a panic hook
/// that stays quiet for the panics a run provokes on purpose.
pub fn reset_counters() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !EXPECTING.with(Cell::get) {
                // libFuzzer's hook: report and abort.
                previous(info);
            }
        }));
    });
    BUILT.store(0, SeqCst);
    RESETS.store(0, SeqCst);
    set_init_panics(false);
    set_reset_panics(false);
    take_dropped();
}

thread_local! {
    static EXPECTING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, which may panic with one of this harness's messages; any other
/// panic is a finding (it reaches libFuzzer's hook). Returns the message of
/// a caught panic.
pub fn may_panic<R>(f: impl FnOnce() -> R) -> Result<R, &'static str> {
    catch_quietly(f).map_err(|message| {
        [INIT_PANIC, RESET_PANIC, DROP_PANIC]
            .into_iter()
            .find(|m| *m == message)
            .unwrap_or_else(|| panic!("unexpected panic: {message}"))
    })
}

/// Runs `f`, catching a panic without reporting it; returns its message.
pub fn catch_quietly<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    EXPECTING.with(|e| e.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    EXPECTING.with(|e| e.set(false));
    result.map_err(|payload| message_of(&*payload))
}

fn message_of(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(not a string)".to_owned()
    }
}

// === configuration ===

/// How a pool is built; `max_capacity: None` builds a pool that never grows.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    pub capacity: usize,
    pub max_capacity: Option<usize>,
    pub growth: Option<Growth>,
    pub pre_initialize: bool,
    pub statistics: bool,
    pub reset: bool,
    /// `recycle_if(|obj| !obj.worn)`.
    pub recycle: bool,
}

impl Config {
    /// The builder for these settings.
    pub fn builder(&self) -> PoolBuilder<Obj, fn() -> Obj, fn(&mut Obj), fn(&Obj) -> bool> {
        without_capacity(self).capacity(self.capacity)
    }

    /// The capacity after one growth step from `current` (the documented
    /// rule: `Linear(n)` adds `n`; `Exponential(f)` multiplies, rounding up
    /// and adding at least one; the last step is cut to the maximum).
    pub fn next_capacity(&self, current: usize) -> usize {
        let max = self.max_capacity.unwrap_or(self.capacity);
        let grown = match self.growth.unwrap_or_default() {
            Growth::Linear(n) => current.saturating_add(n),
            Growth::Exponential(f) => {
                let g = current as f64 * f;
                let mut up = g as usize;
                if (up as f64) < g {
                    up += 1;
                }
                up.max(current + 1)
            }
        };
        grown.min(max)
    }
}

/// A builder with `config`'s settings but no capacity (to check the
/// missing-capacity error).
pub fn without_capacity(
    config: &Config,
) -> PoolBuilder<Obj, fn() -> Obj, fn(&mut Obj), fn(&Obj) -> bool> {
    let mut b = PoolBuilder::new(make_obj as fn() -> Obj)
        .pre_initialize(config.pre_initialize)
        .statistics(config.statistics);
    if let Some(max) = config.max_capacity {
        b = b.max_capacity(max);
    }
    if let Some(growth) = config.growth {
        b = b.growth(growth);
    }
    if config.reset {
        b = b.reset(reset_obj as fn(&mut Obj));
    }
    if config.recycle {
        b = b.recycle_if(not_worn as fn(&Obj) -> bool);
    }
    b
}

/// The pools' `recycle_if` predicate.
pub fn not_worn(obj: &Obj) -> bool {
    !obj.worn
}

// === one trait over the pool kinds ===

/// A guard type for pools without owned guards: never made.
pub enum NoOwned {}
impl Deref for NoOwned {
    type Target = Obj;
    fn deref(&self) -> &Obj {
        match *self {}
    }
}
impl DerefMut for NoOwned {
    fn deref_mut(&mut self) -> &mut Obj {
        match *self {}
    }
}

/// What the harness does with a pool, whatever its kind.
pub trait Harness: Sized + 'static {
    type Guard<'a>: DerefMut<Target = Obj>;
    type Owned: DerefMut<Target = Obj>;
    const NAME: &'static str;
    /// Whether the pool's capacity grows on demand up to `max_capacity`.
    const GROWS: bool;
    fn build(config: &Config) -> Result<Self, ConfigError>;
    /// Makes the calling thread's part of the pool, where the kind has one
    /// (a `ThreadLocalPool` pre-initializes a thread's objects then).
    fn touch(&self) {}
    fn get(&self) -> Result<Self::Guard<'_>, PoolExhausted>;
    /// `AsyncPool::get` polled once (and dropped if pending: a cancelled
    /// waiter); `get` elsewhere. `None`: no object.
    fn get_wait(&self) -> Option<Self::Guard<'_>> {
        self.get().ok()
    }
    /// `None` when the kind has no owned guards.
    fn get_owned(_pool: &Arc<Self>) -> Option<Result<Self::Owned, PoolExhausted>> {
        None
    }
    fn release<'a>(&'a self, guard: Self::Guard<'a>);
    fn release_owned(&self, guard: Self::Owned) {
        drop(guard);
    }
    fn capacity(&self) -> usize;
    fn max_capacity(&self) -> usize {
        self.capacity()
    }
    fn in_use(&self) -> usize;
    fn available(&self) -> usize;
    fn trim(&self) -> usize;
    fn stats(&self) -> StatsSnapshot;
    fn idle(&self) -> usize;
    fn insert(&self, obj: Obj) -> Result<(), Obj>;
    fn reset_stats(&self);
    fn into_inner(guard: Self::Guard<'_>) -> Obj;
    fn into_inner_owned(_guard: Self::Owned) -> Obj {
        unreachable!("{}: no owned guards", Self::NAME)
    }
}

macro_rules! delegate {
    (get) => {
        fn get(&self) -> Result<Self::Guard<'_>, PoolExhausted> {
            self.get()
        }
        fn release<'a>(&'a self, guard: Self::Guard<'a>) {
            self.release(guard)
        }
        delegate!();
    };
    () => {
        fn capacity(&self) -> usize {
            self.capacity()
        }
        fn in_use(&self) -> usize {
            self.in_use()
        }
        fn available(&self) -> usize {
            self.available()
        }
        fn trim(&self) -> usize {
            self.trim()
        }
        fn stats(&self) -> StatsSnapshot {
            self.stats()
        }
        fn idle(&self) -> usize {
            self.idle()
        }
        fn insert(&self, obj: Obj) -> Result<(), Obj> {
            self.insert(obj)
        }
        fn reset_stats(&self) {
            self.reset_stats()
        }
    };
}

impl Harness for FixedPool<Obj> {
    type Guard<'a> = FixedGuard<'a, Obj>;
    type Owned = NoOwned;
    const NAME: &'static str = "FixedPool";
    const GROWS: bool = false;
    fn build(c: &Config) -> Result<Self, ConfigError> {
        c.builder().build_fixed()
    }
    fn into_inner(guard: Self::Guard<'_>) -> Obj {
        FixedGuard::into_inner(guard)
    }
    delegate!(get);
}

impl Harness for GrowingPool<Obj> {
    type Guard<'a> = GrowingGuard<'a, Obj>;
    type Owned = NoOwned;
    const NAME: &'static str = "GrowingPool";
    const GROWS: bool = true;
    fn build(c: &Config) -> Result<Self, ConfigError> {
        c.builder().build_growing()
    }
    fn into_inner(guard: Self::Guard<'_>) -> Obj {
        GrowingGuard::into_inner(guard)
    }
    fn max_capacity(&self) -> usize {
        self.max_capacity()
    }
    delegate!(get);
}

impl Harness for ThreadSafePool<Obj> {
    type Guard<'a> = ThreadSafeGuard<'a, Obj>;
    type Owned = OwnedGuard<Obj>;
    const NAME: &'static str = "ThreadSafePool";
    const GROWS: bool = true;
    fn build(c: &Config) -> Result<Self, ConfigError> {
        c.builder().build_thread_safe()
    }
    fn into_inner(guard: Self::Guard<'_>) -> Obj {
        ThreadSafeGuard::into_inner(guard)
    }
    fn into_inner_owned(guard: Self::Owned) -> Obj {
        OwnedGuard::into_inner(guard)
    }
    fn get_owned(pool: &Arc<Self>) -> Option<Result<Self::Owned, PoolExhausted>> {
        Some(pool.get_owned())
    }
    fn release_owned(&self, guard: Self::Owned) {
        self.release_owned(guard)
    }
    fn max_capacity(&self) -> usize {
        self.max_capacity()
    }
    delegate!(get);
}

impl Harness for ThreadLocalPool<Obj> {
    type Guard<'a> = ThreadLocalGuard<'a, Obj>;
    type Owned = ThreadLocalOwnedGuard<Obj>;
    const NAME: &'static str = "ThreadLocalPool";
    const GROWS: bool = false;
    fn touch(&self) {
        self.in_use();
    }
    fn build(c: &Config) -> Result<Self, ConfigError> {
        c.builder().build_thread_local()
    }
    fn into_inner(guard: Self::Guard<'_>) -> Obj {
        ThreadLocalGuard::into_inner(guard)
    }
    fn get_owned(pool: &Arc<Self>) -> Option<Result<Self::Owned, PoolExhausted>> {
        Some(pool.get_owned())
    }
    fn into_inner_owned(guard: Self::Owned) -> Obj {
        ThreadLocalOwnedGuard::into_inner(guard)
    }
    delegate!(get);
}

/// Polls a future once with a waker that does nothing.
fn poll_once<F: Future>(f: F) -> Option<F::Output> {
    let f = pin!(f);
    match f.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

impl Harness for AsyncPool<Obj> {
    type Guard<'a> = AsyncGuard<'a, Obj>;
    type Owned = AsyncOwnedGuard<Obj>;
    const NAME: &'static str = "AsyncPool";
    const GROWS: bool = true;
    fn build(c: &Config) -> Result<Self, ConfigError> {
        c.builder().build_async()
    }
    fn into_inner(guard: Self::Guard<'_>) -> Obj {
        AsyncGuard::into_inner(guard)
    }
    fn into_inner_owned(guard: Self::Owned) -> Obj {
        AsyncOwnedGuard::into_inner(guard)
    }
    fn get(&self) -> Result<Self::Guard<'_>, PoolExhausted> {
        self.try_get()
    }
    fn get_wait(&self) -> Option<Self::Guard<'_>> {
        poll_once(self.get())
    }
    fn get_owned(pool: &Arc<Self>) -> Option<Result<Self::Owned, PoolExhausted>> {
        Some(pool.try_get_owned())
    }
    fn release<'a>(&'a self, guard: Self::Guard<'a>) {
        self.release(guard)
    }
    fn release_owned(&self, guard: Self::Owned) {
        self.release_owned(guard)
    }
    fn max_capacity(&self) -> usize {
        self.max_capacity()
    }
    delegate!();
}

// === single-thread operations and their model ===

/// One step of a single-thread run.
#[derive(Clone, Copy, Debug, arbitrary::Arbitrary)]
pub enum Op {
    /// `get` (`try_get` on an async pool).
    Get,
    /// `get_owned` where the kind has it, else `get`.
    GetOwned,
    /// An async `get` polled once, cancelled if pending; `get` elsewhere.
    GetWait,
    /// `get` this many times (at most 64).
    GetMany(u8),
    /// Drops the guard at this position (modulo the number held).
    Drop(u8),
    /// Gives the guard at this position back with `release`.
    Release(u8),
    /// Drops the newest guard.
    DropNewest,
    /// Drops every guard, oldest first or newest first.
    DropAll(bool),
    /// Marks a held object dirty (the reset hook clears it).
    Dirty(u8),
    /// Makes a held object's drop panic.
    PanicOnDrop(u8),
    /// `mem::forget` of a borrowed guard: its object stays out for good.
    Forget(u8),
    InitPanics(bool),
    ResetPanics(bool),
    Trim,
    Stats,
    /// Marks a held object worn (a pool with `recycle` drops it on release).
    Wear(u8),
    /// `into_inner` of the guard at this position: the object leaves the
    /// pool and the harness keeps it.
    IntoInner(u8),
    /// `insert` of an object taken out earlier (the newest), or else one the
    /// harness builds.
    Insert,
    ResetStats,
}

enum Held<'a, P: Harness> {
    Borrowed(P::Guard<'a>),
    Owned(P::Owned),
}

impl<P: Harness> Deref for Held<'_, P> {
    type Target = Obj;
    fn deref(&self) -> &Obj {
        match self {
            Held::Borrowed(g) => g,
            Held::Owned(g) => g,
        }
    }
}
impl<P: Harness> DerefMut for Held<'_, P> {
    fn deref_mut(&mut self) -> &mut Obj {
        match self {
            Held::Borrowed(g) => g,
            Held::Owned(g) => g,
        }
    }
}

/// What the pool must look like, kept by the harness.
#[derive(Debug, Default)]
struct Model {
    capacity: usize,
    max_capacity: usize,
    /// Objects built and alive, not held: id -> the dirty flag a get must
    /// find (a released object is reset when the pool has the hook; an
    /// inserted one is as the harness made it).
    idle: std::collections::HashMap<u64, bool>,
    /// Ids of objects held (by guards in `held`) or forgotten.
    out: std::collections::HashSet<u64>,
    forgotten: usize,
    /// Every id ever built, with the address it lives at (objects never move).
    addresses: std::collections::HashMap<u64, usize>,
    /// The last object released and kept (the next get must return it).
    last_released: Option<u64>,
    /// The object whose drop panics, if any (at most one: a second panic
    /// while unwinding would abort, in any Rust code).
    armed: Option<u64>,
    gets: u64,
    exhausted: u64,
    releases: u64,
    reset_panics: u64,
    init_panics: u64,
    growth_events: u64,
    peak_in_use: usize,
    dropped: u64,
    /// Releases whose object `recycle_if` rejected.
    discarded: u64,
    /// Objects taken out by `into_inner`, held by the harness.
    taken: Vec<Obj>,
}

/// Runs `ops` on a pool of kind `P` built from `config`, checking the pool
/// against the model after every step, then drops everything and checks that
/// every object not forgotten was dropped exactly once.
pub fn run_ops<P: Harness>(config: &Config, ops: &[Op], drop_pool_first: bool) {
    reset_counters();
    let pool = match may_panic(|| P::build(config)) {
        Ok(Ok(pool)) => Arc::new(pool),
        Ok(Err(e)) => panic!("{}: {config:?} refused: {e}", P::NAME),
        Err(m) => panic!("{}: build panicked: {m}", P::NAME),
    };
    let mut m = Model {
        capacity: config.capacity,
        max_capacity: if P::GROWS {
            config.max_capacity.unwrap_or(config.capacity)
        } else {
            config.capacity
        },
        ..Model::default()
    };
    pool.touch();
    if config.pre_initialize {
        assert_eq!(built() as usize, config.capacity, "pre-initialized");
        for id in 0..built() {
            m.idle.insert(id, false);
        }
    }
    let mut owned: Vec<P::Owned> = Vec::new();
    {
        let mut held: Vec<Held<'_, P>> = Vec::new();
        for (step, op) in ops.iter().enumerate() {
            apply(&pool, config, &mut m, &mut held, *op);
            check(&*pool, &m, &held, step, op);
        }
        // Owned guards may outlive the pool.
        if drop_pool_first {
            for h in held.drain(..).rev() {
                match h {
                    Held::Owned(g) => owned.push(g),
                    Held::Borrowed(g) => {
                        give_back(&*pool, config, &mut m, Held::Borrowed(g), false)
                    }
                }
            }
        } else {
            while let Some(h) = held.pop() {
                give_back(&*pool, config, &mut m, h, false);
            }
        }
    }
    set_reset_panics(false);
    let before = built();
    // Pool drop (maybe with a panicking object drop).
    let dropped_pool = may_panic(AssertUnwindSafe(|| drop(pool)));
    if let Err(message) = dropped_pool {
        assert_eq!(message, DROP_PANIC, "{}", P::NAME);
    }
    // The core outlives the pool while owned guards hold it.
    if let Err(message) = may_panic(AssertUnwindSafe(|| drop(owned))) {
        assert_eq!(message, DROP_PANIC, "{}", P::NAME);
    }
    assert_eq!(built(), before, "{}: dropping built objects", P::NAME);
    // Objects taken out are the harness's: dropped here, once each.
    drop(std::mem::take(&mut m.taken));
    let dropped = take_dropped();
    m.dropped += dropped.len() as u64;
    let mut seen = std::collections::HashSet::new();
    for id in &dropped {
        assert!(seen.insert(*id), "{}: object {id} dropped twice", P::NAME);
    }
    assert_eq!(
        m.dropped + m.forgotten as u64,
        built(),
        "{}: every object built is dropped once, but the forgotten ones",
        P::NAME
    );
}

/// Notes drops since the last look: a dropped object must not be out.
fn note_drops(m: &mut Model, who: &str) {
    for id in take_dropped() {
        assert!(
            !m.out.contains(&id),
            "{who}: object {id} dropped while held"
        );
        assert!(
            m.idle.remove(&id).is_some(),
            "{who}: object {id} dropped but not idle (twice?)"
        );
        if m.armed == Some(id) {
            m.armed = None;
        }
        if m.last_released == Some(id) {
            m.last_released = None;
        }
        m.dropped += 1;
    }
}

/// A get returned `obj` (or not): check it against the model.
fn got(m: &mut Model, config: &Config, obj: Option<&Obj>, who: &str) {
    let in_use = m.out.len();
    let Some(obj) = obj else {
        m.gets += 1;
        m.exhausted += 1;
        assert_eq!(
            in_use, m.max_capacity,
            "{who}: exhausted with {in_use} of {} out",
            m.max_capacity
        );
        return;
    };
    m.gets += 1;
    if in_use == m.capacity {
        // All out: only a growth step makes room.
        assert!(m.capacity < m.max_capacity, "{who}: got beyond the maximum");
        m.capacity = config.next_capacity(m.capacity);
        m.growth_events += 1;
    }
    let id = obj.id;
    assert!(m.out.insert(id), "{who}: object {id} handed out twice");
    let address = obj as *const Obj as usize;
    assert_eq!(
        *m.addresses.entry(id).or_insert(address),
        address,
        "{who}: object {id} moved"
    );
    if let Some(last) = m.last_released.take() {
        assert_eq!(id, last, "{who}: the last object released comes back first");
    }
    match m.idle.remove(&id) {
        Some(expected) => {
            assert_eq!(obj.dirty, expected, "{who}: object {id} reset state");
        }
        None => {
            assert_eq!(id + 1, built(), "{who}: object {id} neither idle nor new");
            assert!(!obj.dirty, "{who}: a new object is clean");
        }
    }
    m.peak_in_use = m.peak_in_use.max(m.out.len());
}

fn apply<'a, P: Harness>(
    pool: &'a Arc<P>,
    config: &Config,
    m: &mut Model,
    held: &mut Vec<Held<'a, P>>,
    op: Op,
) {
    let who = P::NAME;
    match op {
        Op::Get | Op::GetOwned | Op::GetWait | Op::GetMany(_) => {
            let times = match op {
                Op::GetMany(n) => usize::from(n % 64) + 1,
                _ => 1,
            };
            for _ in 0..times {
                let built_before = built();
                let result = may_panic(|| match op {
                    Op::GetOwned => match P::get_owned(pool) {
                        Some(r) => r.ok().map(Held::Owned),
                        None => pool.get().ok().map(Held::Borrowed),
                    },
                    Op::GetWait => pool.get_wait().map(Held::Borrowed),
                    _ => pool.get().ok().map(Held::Borrowed),
                });
                match result {
                    Ok(h) => {
                        got(m, config, h.as_deref(), who);
                        if let Some(h) = h {
                            held.push(h);
                        }
                    }
                    Err(message) => {
                        // Only `init` may panic here, and only when a slot
                        // without an object was taken: nothing changed.
                        assert_eq!(message, INIT_PANIC, "{who}");
                        assert_eq!(built(), built_before, "{who}");
                        let slots = m.max_capacity;
                        let filled = m.out.len() + m.idle.len();
                        assert!(filled < slots, "{who}: init ran with every slot filled");
                        // The growth step (if one) still happened.
                        if m.out.len() == m.capacity && m.capacity < m.max_capacity {
                            m.capacity = config.next_capacity(m.capacity);
                            m.growth_events += 1;
                        }
                        m.last_released = None;
                        m.init_failed();
                    }
                }
            }
        }
        Op::Drop(i) | Op::Release(i) => {
            if !held.is_empty() {
                let h = held.remove(usize::from(i) % held.len());
                give_back(&**pool, config, m, h, matches!(op, Op::Release(_)));
            }
        }
        Op::DropNewest => {
            if let Some(h) = held.pop() {
                give_back(&**pool, config, m, h, false);
            }
        }
        Op::DropAll(newest_first) => {
            if newest_first {
                while let Some(h) = held.pop() {
                    give_back(&**pool, config, m, h, false);
                }
            } else {
                for h in std::mem::take(held) {
                    give_back(&**pool, config, m, h, false);
                }
            }
        }
        Op::Dirty(i) => {
            if !held.is_empty() {
                let n = held.len();
                held[usize::from(i) % n].dirty = true;
            }
        }
        Op::PanicOnDrop(i) => {
            if !held.is_empty() && m.armed.is_none() {
                let n = held.len();
                let obj = &mut held[usize::from(i) % n];
                obj.panic_on_drop = true;
                m.armed = Some(obj.id);
            }
        }
        Op::Forget(i) => {
            if !held.is_empty() {
                let n = held.len();
                let at = usize::from(i) % n;
                if let Held::Borrowed(_) = held[at] {
                    let h = held.remove(at);
                    if m.armed == Some(h.id) {
                        m.armed = None;
                    }
                    m.forgotten += 1;
                    std::mem::forget(h);
                }
            }
        }
        Op::InitPanics(on) => set_init_panics(on),
        Op::ResetPanics(on) => set_reset_panics(on),
        Op::Trim => {
            let idle_before = m.idle.len();
            let result = may_panic(|| pool.trim());
            let dropped_before = m.dropped;
            note_drops(m, who);
            let dropped = (m.dropped - dropped_before) as usize;
            match result {
                Ok(n) => {
                    assert_eq!(n, idle_before, "{who}: trim drops every idle object");
                    assert_eq!(dropped, n, "{who}: trim's count");
                }
                Err(message) => assert_eq!(message, DROP_PANIC, "{who}"),
            }
            m.last_released = None;
        }
        Op::Stats => check_stats(&**pool, config, m),
        Op::Wear(i) => {
            if !held.is_empty() {
                let n = held.len();
                held[usize::from(i) % n].worn = true;
            }
        }
        Op::IntoInner(i) => {
            if !held.is_empty() {
                let h = held.remove(usize::from(i) % held.len());
                let id = h.id;
                let obj = match h {
                    Held::Borrowed(g) => P::into_inner(g),
                    Held::Owned(g) => P::into_inner_owned(g),
                };
                assert_eq!(obj.id, id, "{who}: into_inner returns the guard's object");
                assert!(m.out.remove(&id), "{who}: object {id} was not out");
                assert!(
                    take_dropped().is_empty(),
                    "{who}: into_inner dropped something"
                );
                // Moved out by value: inserted again, it lives in a new slot.
                m.addresses.remove(&id);
                if m.armed == Some(id) {
                    // The harness owns it now: disarm so its drop at the end
                    // of the run is quiet.
                    m.armed = None;
                }
                let mut obj = obj;
                obj.panic_on_drop = false;
                m.taken.push(obj);
                // The emptied slot goes back first in line: the next get
                // builds a replacement.
                m.last_released = None;
            }
        }
        Op::Insert => {
            let obj = m.taken.pop().unwrap_or_else(make_obj_by_hand);
            let (id, dirty) = (obj.id, obj.dirty);
            let empty_slots = m.capacity - m.out.len() - m.idle.len();
            match pool.insert(obj) {
                Ok(()) => {
                    assert!(empty_slots > 0, "{who}: inserted with no empty slot");
                    m.idle.insert(id, dirty);
                }
                Err(obj) => {
                    assert_eq!(empty_slots, 0, "{who}: refused with an empty slot");
                    assert_eq!(obj.id, id, "{who}: the refused value comes back");
                    m.taken.push(obj);
                }
            }
            assert!(take_dropped().is_empty(), "{who}: insert dropped something");
        }
        Op::ResetStats => {
            pool.reset_stats();
            m.gets = 0;
            m.exhausted = 0;
            m.releases = 0;
            m.reset_panics = 0;
            m.init_panics = 0;
            m.growth_events = 0;
            m.discarded = 0;
            m.peak_in_use = m.out.len();
        }
    }
}

impl Model {
    /// A get whose `init` panicked: it counts as a get that handed nothing
    /// out and was not exhausted.
    fn init_failed(&mut self) {
        self.gets += 1;
        self.init_panics += 1;
    }
}

/// Gives a held object back, by drop or `release`, checking reset and drop.
fn give_back<'a, P: Harness>(
    pool: &'a P,
    config: &Config,
    m: &mut Model,
    mut h: Held<'a, P>,
    explicit: bool,
) {
    let who = P::NAME;
    let id = h.id;
    let dirty = h.dirty;
    let rejected = config.recycle && h.worn;
    let armed = m.armed == Some(id);
    let resets_before = resets();
    if config.reset && RESET_PANICS.load(SeqCst) && h.panic_on_drop {
        // Reset panics, then the object's drop would panic while unwinding:
        // an abort in any Rust code, not a pool finding.
        h.panic_on_drop = false;
        m.armed = None;
    }
    let result = may_panic(AssertUnwindSafe(|| match h {
        Held::Borrowed(g) if explicit => pool.release(g),
        Held::Owned(g) if explicit => pool.release_owned(g),
        h => drop(h),
    }));
    assert!(m.out.remove(&id), "{who}: released object {id} was not out");
    m.releases += 1;
    let dropped = take_dropped();
    let reset_panicked = matches!(result, Err(message) if message == RESET_PANIC);
    if rejected && !reset_panicked {
        // Reset, then rejected by `recycle_if`: dropped (its drop may panic),
        // its slot emptied.
        if let Err(message) = result {
            assert_eq!(message, DROP_PANIC, "{who}");
            assert!(armed, "{who}: only the armed object's drop panics");
        }
        assert_eq!(dropped, [id], "{who}: the worn object is dropped");
        if config.reset {
            assert_eq!(resets(), resets_before + 1, "{who}: reset ran first");
        }
        if armed {
            m.armed = None;
        }
        m.discarded += 1;
        m.dropped += 1;
        m.last_released = None;
        return;
    }
    match result {
        Ok(()) => {
            assert!(dropped.is_empty(), "{who}: a release dropped {dropped:?}");
            if config.reset {
                assert_eq!(resets(), resets_before + 1, "{who}: reset ran once");
            } else {
                assert_eq!(resets(), resets_before, "{who}: no reset hook");
            }
            m.idle.insert(id, dirty && !config.reset);
            m.last_released = Some(id);
        }
        Err(message) => {
            // The reset hook panicked: the object was dropped, not kept.
            assert_eq!(message, RESET_PANIC, "{who}");
            assert!(config.reset);
            assert_eq!(dropped, [id], "{who}: the half-reset object is dropped");
            m.reset_panics += 1;
            m.dropped += 1;
            m.last_released = None;
        }
    }
}

fn check<P: Harness>(pool: &P, m: &Model, held: &[Held<'_, P>], step: usize, op: &Op) {
    let who = P::NAME;
    let out = m.out.len();
    assert_eq!(held.len() + m.forgotten, out, "{who}: step {step} {op:?}");
    assert_eq!(pool.in_use(), out, "{who}: in_use after step {step} {op:?}");
    assert_eq!(
        pool.capacity(),
        m.capacity,
        "{who}: capacity after step {step} {op:?}"
    );
    assert_eq!(pool.max_capacity(), m.max_capacity, "{who}: max_capacity");
    assert_eq!(
        pool.available(),
        m.capacity - out,
        "{who}: available after step {step} {op:?}"
    );
    assert_eq!(
        built() - m.dropped,
        (out + m.idle.len() + m.taken.len()) as u64,
        "{who}: objects alive after step {step} {op:?}"
    );
    assert_eq!(
        pool.idle(),
        m.idle.len(),
        "{who}: idle after step {step} {op:?}"
    );
    assert!(
        m.idle.len() + out <= m.capacity,
        "{who}: more objects than slots"
    );
}

fn check_stats<P: Harness>(pool: &P, config: &Config, m: &Model) {
    let who = P::NAME;
    let s = pool.stats();
    let out = m.out.len() as u64;
    assert_eq!(s.current_in_use, out, "{who}: {s:?}");
    assert_eq!(s.current_capacity, m.capacity as u64, "{who}: {s:?}");
    assert_eq!(s.idle, m.idle.len() as u64, "{who}: {s:?}");
    assert_eq!(s.max_capacity, m.max_capacity as u64, "{who}: {s:?}");
    assert_eq!(s.waiting, 0, "{who}: nobody waits in a single-thread run");
    if !config.statistics {
        let mut zero = StatsSnapshot::default();
        zero.current_in_use = s.current_in_use;
        zero.current_capacity = s.current_capacity;
        zero.max_capacity = s.max_capacity;
        zero.idle = s.idle;
        assert_eq!(s, zero, "{who}: statistics off");
        return;
    }
    assert_eq!(s.total_discarded, m.discarded, "{who}: discarded {s:?}");
    let allocations = m.gets - m.exhausted - m.init_panics;
    assert_eq!(
        s.total_allocations, allocations,
        "{who}: allocations {s:?} {m:?}"
    );
    assert_eq!(s.exhausted, m.exhausted, "{who}: exhausted {s:?}");
    assert_eq!(s.total_releases, m.releases, "{who}: releases {s:?}");
    let resets = if config.reset {
        m.releases - m.reset_panics
    } else {
        0
    };
    assert_eq!(s.total_resets, resets, "{who}: resets {s:?}");
    assert_eq!(
        s.growth_events, m.growth_events,
        "{who}: growth events {s:?}"
    );
    assert_eq!(s.peak_in_use, m.peak_in_use as u64, "{who}: peak {s:?}");
    assert!(s.peak_capacity >= s.current_capacity, "{who}: {s:?}");
    let text = s.to_string();
    assert!(text.lines().count() >= 11, "{who}: {text}");
}

// === threads ===

/// One step of one thread in a threaded run on a `ThreadSafePool`.
#[derive(Clone, Copy, Debug, arbitrary::Arbitrary)]
pub enum ThreadOp {
    Get,
    GetOwned,
    /// Gives back the guard at this position (modulo the number held).
    Drop(u8),
    /// Passes an owned guard to the next thread's mailbox (it is released
    /// there: a cross-thread release).
    Send(u8),
    /// Takes a guard from this thread's mailbox.
    TakeMail,
    Trim,
    Stats,
    Yield,
}

enum Either<'a> {
    Borrowed(ThreadSafeGuard<'a, Obj>),
    Owned(OwnedGuard<Obj>),
}

impl Deref for Either<'_> {
    type Target = Obj;
    fn deref(&self) -> &Obj {
        match self {
            Either::Borrowed(g) => g,
            Either::Owned(g) => g,
        }
    }
}
impl DerefMut for Either<'_> {
    fn deref_mut(&mut self) -> &mut Obj {
        match self {
            Either::Borrowed(g) => g,
            Either::Owned(g) => g,
        }
    }
}

/// What one thread did.
#[derive(Default)]
struct Tally {
    got: u64,
    exhausted: u64,
}

/// Checks an object just handed to thread `who`: stamps it (a double
/// hand-out panics), and checks that it is intact and, with a reset hook,
/// was reset.
fn take(obj: &mut Obj, who: usize, reset: bool) {
    obj.claim(who);
    assert_eq!(
        obj.payload, [obj.id as u8; 24],
        "object {} corrupted",
        obj.id
    );
    if reset {
        assert!(!obj.dirty, "object {} handed out without its reset", obj.id);
    }
    obj.dirty = true;
}

/// Worker threads kept across runs (spawning 2 to 4 threads per run would
/// cost more than the run): each takes jobs from its channel.
type Job = Box<dyn FnOnce() + Send>;

fn workers() -> &'static [Mutex<std::sync::mpsc::Sender<Job>>] {
    static WORKERS: std::sync::OnceLock<Vec<Mutex<std::sync::mpsc::Sender<Job>>>> =
        std::sync::OnceLock::new();
    WORKERS.get_or_init(|| {
        (0..4)
            .map(|_| {
                let (tx, rx) = std::sync::mpsc::channel::<Job>();
                std::thread::spawn(move || {
                    for job in rx {
                        job();
                    }
                });
                Mutex::new(tx)
            })
            .collect()
    })
}

/// One thread's part of a threaded run.
fn run_thread(
    who: usize,
    ops: &[ThreadOp],
    pool: &ThreadSafePool<Obj>,
    mailboxes: &[Mutex<Vec<OwnedGuard<Obj>>>],
    reset: bool,
) -> Tally {
    let n = mailboxes.len();
    let mut tally = Tally::default();
    let mut held: Vec<Either<'_>> = Vec::new();
    let owned = |pool: &ThreadSafePool<Obj>| {
        // `get_owned` needs the `Arc`; the run keeps one in `Shared`.
        SHARED_POOL
            .with(|p| {
                p.borrow()
                    .as_ref()
                    .map(|a: &Arc<ThreadSafePool<Obj>>| a.get_owned())
            })
            .unwrap_or_else(|| panic!("no shared pool on this thread: {}", pool.capacity()))
    };
    for op in ops {
        match *op {
            ThreadOp::Get | ThreadOp::GetOwned => {
                let got = if let ThreadOp::Get = op {
                    pool.get().map(Either::Borrowed)
                } else {
                    owned(pool).map(Either::Owned)
                };
                match got {
                    Ok(mut g) => {
                        take(&mut g, who, reset);
                        held.push(g);
                        tally.got += 1;
                    }
                    Err(e) => {
                        assert_eq!(e.capacity(), pool.capacity());
                        tally.exhausted += 1;
                    }
                }
            }
            ThreadOp::Drop(i) => {
                if !held.is_empty() {
                    let g = held.remove(usize::from(i) % held.len());
                    g.unclaim(who);
                    drop(g);
                }
            }
            ThreadOp::Send(i) => {
                if !held.is_empty() {
                    let at = usize::from(i) % held.len();
                    if let Either::Owned(_) = held[at] {
                        let Either::Owned(g) = held.remove(at) else {
                            unreachable!()
                        };
                        g.unclaim(who);
                        mailboxes[(who + 1) % n].lock().unwrap().push(g);
                    }
                }
            }
            ThreadOp::TakeMail => {
                let mail = mailboxes[who].lock().unwrap().pop();
                if let Some(g) = mail {
                    g.claim(who);
                    held.push(Either::Owned(g));
                }
            }
            ThreadOp::Trim => {
                pool.trim();
            }
            ThreadOp::Stats => {
                let s = pool.stats();
                assert!(s.current_in_use <= s.current_capacity, "{s:?}");
                assert!(pool.in_use() <= pool.capacity());
            }
            ThreadOp::Yield => std::thread::yield_now(),
        }
    }
    for g in held {
        g.unclaim(who);
    }
    tally
}

thread_local! {
    static SHARED_POOL: std::cell::RefCell<Option<Arc<ThreadSafePool<Obj>>>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs each list of `ops` on its own worker thread, all sharing one
/// `ThreadSafePool`, then checks the counts and that every object is dropped
/// exactly once with the pool. With `spawn`, on freshly spawned threads
/// instead (their exits orphan their caches mid-run).
pub fn run_threads(config: &Config, ops: &[Vec<ThreadOp>], spawn: bool) {
    reset_counters();
    let pool = Arc::new(
        config
            .builder()
            .build_thread_safe()
            .unwrap_or_else(|e| panic!("{config:?} refused: {e}")),
    );
    let n = ops.len();
    assert!((1..=4).contains(&n));
    let mailboxes: Arc<Vec<Mutex<Vec<OwnedGuard<Obj>>>>> =
        Arc::new((0..n).map(|_| Mutex::default()).collect());
    let start = Arc::new(std::sync::Barrier::new(n));
    let (done_tx, done_rx) = std::sync::mpsc::channel::<std::thread::Result<Tally>>();
    let mut spawned = Vec::new();
    for (who, ops) in ops.iter().enumerate() {
        let (pool, mailboxes, start, done) = (
            Arc::clone(&pool),
            Arc::clone(&mailboxes),
            Arc::clone(&start),
            done_tx.clone(),
        );
        let ops = ops.clone();
        let reset = config.reset;
        let job: Job = Box::new(move || {
            SHARED_POOL.with(|p| *p.borrow_mut() = Some(Arc::clone(&pool)));
            start.wait();
            // A failed check panics: report it to the run, which re-raises it.
            let tally = panic::catch_unwind(AssertUnwindSafe(|| {
                run_thread(who, &ops, &pool, &mailboxes, reset)
            }));
            SHARED_POOL.with(|p| p.borrow_mut().take());
            drop(pool);
            done.send(tally).unwrap();
        });
        if spawn {
            spawned.push(std::thread::spawn(job));
        } else {
            workers()[who].lock().unwrap().send(job).unwrap();
        }
    }
    drop(done_tx);
    let tallies: Vec<Tally> = done_rx
        .iter()
        .map(|r| r.unwrap_or_else(|p| panic::resume_unwind(p)))
        .collect();
    // Spawned threads have exited (their exit hooks ran) before the run
    // ends: none is still tearing down when the next run, or the process's
    // exit and its leak check, comes.
    for thread in spawned {
        thread.join().expect("a job catches its own panics");
    }
    assert_eq!(tallies.len(), n);
    let mailboxes = Arc::into_inner(mailboxes).expect("every thread is done");
    // Mail nobody took is released here, on the main thread.
    drop(mailboxes);
    let got: u64 = tallies.iter().map(|t| t.got).sum();
    let exhausted: u64 = tallies.iter().map(|t| t.exhausted).sum();
    assert_eq!(pool.in_use(), 0, "every guard was given back");
    assert_eq!(pool.available(), pool.capacity());
    let dropped = take_dropped();
    let alive = built() - dropped.len() as u64;
    assert!(alive as usize <= pool.capacity(), "{alive} alive");
    if config.statistics {
        let s = pool.stats();
        assert_eq!(s.total_allocations, got, "{s:?}");
        assert_eq!(s.exhausted, exhausted, "{s:?}");
        assert_eq!(s.total_releases, got, "{s:?}");
        assert_eq!(s.total_resets, if config.reset { got } else { 0 }, "{s:?}");
        assert!(s.peak_in_use <= s.peak_capacity, "{s:?}");
    }
    if config.reset {
        assert_eq!(resets(), got, "one reset per release");
    }
    drop(pool);
    let mut all = dropped;
    all.extend(take_dropped());
    all.sort_unstable();
    let before = all.len();
    all.dedup();
    assert_eq!(all.len(), before, "an object was dropped twice");
    assert_eq!(
        all.len() as u64,
        built(),
        "every object dropped with the pool"
    );
}
