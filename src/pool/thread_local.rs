//! [`ThreadLocalPool`]: one pool per thread, no shared state on the hot path.
//!
//! Each thread that uses the pool gets its own fixed pool of
//! `capacity_per_thread` objects, found through a per-thread serial number:
//! `get` and release are the single-thread pool's operations plus two
//! acquire loads to find the thread's pool, with no atomic read-modify-write.
//!
//! Lifetimes: the pool owns every thread's pool (`Arc`s in a table indexed
//! by serial). A thread holds weak references to the pools it used and, when
//! it exits, drops their idle objects; when the pool is dropped first, it
//! drops every thread's pool, idle objects included. Serial numbers are
//! recycled only after their thread's exit hook has run, and only when that
//! thread left no object on loan, so a recycled serial never shares a pool
//! with a thread still using it.

use super::guard::guard_impls;
use super::hooks::{BoxedHooks, SharedHooks, ThreadHooks};
use super::PerThreadCore;
#[cfg(doc)]
use crate::error::ConfigError;
use crate::error::PoolExhausted;
use crate::slab::{Core, Fixed, Grows, Layout, Lease, Owner, Settings};
use crate::stats::{StatsSnapshot, Totals};
use crate::sync::{StdArc as Arc, StdWeak as Weak};
use crate::thread::{self, ThreadExit};
use alloc::boxed::Box;
use core::cell::Cell;
use core::fmt;
use core::marker::PhantomData;
use std::sync::OnceLock;

/// A thread's pool, shared (by `Arc`) between the pool's table and, weakly,
/// the thread's exit hook.
struct ThreadCore<T> {
    core: PerThreadCore<T>,
}

// SAFETY: I8, I12 — a `ThreadCore`'s non-atomic state (the list's stack
// entries, the hooks' `registered` flag) is touched only by its owner thread
// (the one whose serial indexes it: through `get`, its `!Send` guards and its
// exit hook) or by the thread that drops the last `Arc` (then no one else can
// reach it). Other threads only read its atomics (`stats`). Owners change
// only after the previous owner's exit hook ran (serials are recycled then),
// with the serial mutex ordering the two. `T: Send`: objects built on one
// thread may be dropped on another (pool drop).
// (`Send` is derived: moving the last `Arc` moves exclusive access.)
unsafe impl<T: Send> Sync for ThreadCore<T> {}

/// A thread's exit hook for one core it used: drops the idle objects.
struct ExitCore<T>(Weak<ThreadCore<T>>);

impl<T: Send + 'static> ThreadExit for ExitCore<T> {
    fn exit(&self) -> bool {
        let Some(core) = self.0.upgrade() else {
            return true;
        };
        core.core.trim();
        core.core.hooks().registered.set(false);
        core.core.in_use() == 0
    }

    fn is_stale(&self) -> bool {
        self.0.strong_count() == 0
    }
}

/// The calling thread's serial (see [`thread::serial`]).
#[inline(always)]
fn serial() -> usize {
    thread::serial().unwrap_or_else(|| {
        panic!(
            "ThreadLocalPool used while this thread's exit hooks run, after its thread-local \
             state was destroyed; get objects before the thread starts exiting"
        )
    })
}

// === the table ===

/// Buckets of the serial-indexed table: bucket `b` holds serials
/// `2^b - 1 .. 2^(b+1) - 1`.
const BUCKETS: usize = usize::BITS as usize;

type Slot<T> = OnceLock<Arc<ThreadCore<T>>>;

/// Bucket and offset of a serial.
#[inline(always)]
fn bucket_of(serial: usize) -> (usize, usize) {
    let n = serial + 1;
    let bucket = (usize::BITS - 1 - n.leading_zeros()) as usize;
    (bucket, n - (1 << bucket))
}

/// A pool that gives each thread its own pool of `capacity_per_thread`
/// objects: the hot path touches only the calling thread's objects, with no
/// atomic read-modify-write. `Send + Sync` when `T: Send`; its guards are not
/// `Send` (an object goes back to the pool of the thread that took it).
///
/// A thread's pool is made on its first `get`. Its idle objects are dropped
/// when the thread exits (in its thread-local destructors: `JoinHandle::join`
/// returns after them, the end of a `std::thread::scope` may come before) or
/// when the pool is dropped, whichever comes first. `T::drop` must not use
/// the pool while a thread exits.
/// [`capacity`](Self::capacity), [`in_use`](Self::in_use) and
/// [`available`](Self::available) are the calling thread's; [`stats`](Self::stats)
/// sums over every thread.
///
/// ```
/// use fastalloc::ThreadLocalPool;
/// use std::sync::Arc;
///
/// let pool = Arc::new(ThreadLocalPool::new(2, || Vec::<u8>::with_capacity(256)));
/// let workers: Vec<_> = (0..3)
///     .map(|_| {
///         let pool = Arc::clone(&pool);
///         std::thread::spawn(move || {
///             let a = pool.get().unwrap();
///             let b = pool.get().unwrap();
///             assert!(pool.get().is_err(), "2 per thread");
///             drop((a, b));
///         })
///     })
///     .collect();
/// // `join` returns after each thread's exit dropped its idle objects (the
/// // end of a `thread::scope` may come before: then a thread still dropping
/// // them counts them as in use for that moment).
/// for worker in workers {
///     worker.join().unwrap();
/// }
/// let stats = pool.stats();
/// assert_eq!(stats.current_in_use, 0);
/// // A thread's pool of 2 is reused by a thread that starts after it exited.
/// assert!((2..=6).contains(&stats.current_capacity));
/// ```
///
/// Guards stay on their thread:
///
/// ```compile_fail,E0277
/// use fastalloc::ThreadLocalPool;
///
/// let pool = ThreadLocalPool::new(1, || 0u32);
/// let guard = pool.get().unwrap();
/// std::thread::scope(|s| {
///     s.spawn(move || drop(guard)); // error: the guard is not `Send`
/// });
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub struct ThreadLocalPool<T> {
    /// This pool's id, never reused: the key of the thread's one-entry
    /// cache of its per-thread core (I12).
    id: u64,
    hooks: Arc<SharedHooks<T>>,
    /// Every thread's core is built from this.
    layout: Layout,
    table: [OnceLock<Box<[Slot<T>]>>; BUCKETS],
}

impl<T: Send + 'static> ThreadLocalPool<T> {
    /// A pool giving each thread `capacity_per_thread` objects, each built by
    /// `init` on first use, on the thread that uses it.
    ///
    /// # Panics
    ///
    /// If `capacity_per_thread` is 0 or above
    /// [`MAX_CAPACITY`](crate::MAX_CAPACITY) (the builder returns a
    /// [`ConfigError`] instead).
    #[track_caller]
    pub fn new<F>(capacity_per_thread: usize, init: F) -> Self
    where
        F: Fn() -> T + Send + Sync + 'static,
    {
        let layout = Settings::with_capacity(capacity_per_thread).expect(
            "ThreadLocalPool",
            Grows::Never,
            "ThreadLocalPool::new",
        );
        Self::from_parts(layout, BoxedHooks::init_only(Box::new(init)))
    }

    pub(crate) fn from_parts(layout: Layout, hooks: SharedHooks<T>) -> Self {
        Self {
            id: thread::pool_id(),
            hooks: Arc::new(hooks),
            layout,
            table: core::array::from_fn(|_| OnceLock::new()),
        }
    }

    /// The calling thread's pool, made (and registered with the thread's
    /// exit hook) on first use. A hit in the thread's one-entry cache is one
    /// thread-local load and a compare.
    #[inline(always)]
    fn local(&self) -> &PerThreadCore<T> {
        if let Some(core) = thread::last(self.id) {
            // SAFETY: I12 — the entry for this pool's id (ids are never
            // reused) was recorded by `find_local` on this thread: a pointer
            // to this thread's core, registered, in the pool's table, which
            // keeps it alive and in place while the pool (borrowed here)
            // lives; the entry was cleared before the thread's exit hooks
            // could hand the core to another thread.
            return unsafe { &*core.cast::<PerThreadCore<T>>() };
        }
        self.find_local()
    }

    /// [`local`](Self::local) past the one-entry cache: the table lookup;
    /// records the core in the cache.
    #[inline(never)]
    fn find_local(&self) -> &PerThreadCore<T> {
        let (bucket, offset) = bucket_of(serial());
        let core = match self.table[bucket]
            .get()
            .and_then(|slots| slots[offset].get())
        {
            Some(core) if core.core.hooks().registered.get() => &core.core,
            _ => self.make_local(bucket, offset),
        };
        if core.hooks().registered.get() {
            thread::set_last(self.id, (core as *const PerThreadCore<T>).cast());
        }
        core
    }

    #[cold]
    #[inline(never)]
    fn make_local(&self, bucket: usize, offset: usize) -> &PerThreadCore<T> {
        let slots = self.table[bucket]
            .get_or_init(|| (0..1usize << bucket).map(|_| OnceLock::new()).collect());
        // Only this thread (the serial's owner) initialises its slot. No
        // user code runs inside the once-cell: `init` could use this pool,
        // and re-entering the cell would block for ever.
        let mut made = false;
        let core = slots[offset].get_or_init(|| {
            made = true;
            let hooks = ThreadHooks {
                shared: Arc::clone(&self.hooks),
                registered: Cell::new(false),
            };
            let layout = Layout {
                pre_initialize: false,
                ..self.layout.clone()
            };
            Arc::new(ThreadCore {
                core: Core::new(layout, hooks),
            })
        });
        if !core.core.hooks().registered.get() {
            // If the thread is already exiting, the pool's drop will drop
            // the objects instead.
            thread::at_exit(Box::new(ExitCore(Arc::downgrade(core))));
            core.core.hooks().registered.set(true);
        }
        if made && self.layout.pre_initialize {
            // The core is in its slot and registered: an `init` that uses
            // this pool finds it, like a `get` on a pool not pre-initialised.
            core.core.fill_free();
        }
        &core.core
    }

    /// Hands out a free object from the calling thread's pool, building it
    /// if its slot is still empty.
    ///
    /// # Errors
    ///
    /// [`PoolExhausted`] when all of this thread's `capacity_per_thread`
    /// objects are held by its guards (other threads' objects are theirs).
    ///
    /// # Panics
    ///
    /// If `init` panics; the pool stays usable and the slot stays free.
    #[inline(always)]
    pub fn get(&self) -> Result<ThreadLocalGuard<'_, T>, PoolExhausted> {
        Lease::acquire(self.local()).map(|lease| ThreadLocalGuard { lease })
    }

    /// Like [`get`](Self::get), but the guard keeps the calling thread's
    /// pool alive by reference count instead of borrowing this pool: it is
    /// `'static` (it can be stored in a thread-local, a struct without a
    /// lifetime, an object of another language's runtime), and still not
    /// `Send`: it is dropped on the thread that took it. Dropping the pool
    /// while such guards are out keeps that thread's pool alive until they
    /// are gone.
    ///
    /// ```
    /// use fastalloc::{ThreadLocalOwnedGuard, ThreadLocalPool};
    ///
    /// thread_local! {
    ///     static HELD: std::cell::RefCell<Vec<ThreadLocalOwnedGuard<String>>> =
    ///         Default::default();
    /// }
    /// let pool = ThreadLocalPool::new(4, String::new);
    /// HELD.with(|held| held.borrow_mut().push(pool.get_owned().unwrap()));
    /// assert_eq!(pool.in_use(), 1);
    /// drop(pool); // the guard outlives it
    /// HELD.with(|held| held.borrow_mut().clear());
    /// ```
    ///
    /// # Errors
    ///
    /// As `get`.
    pub fn get_owned(&self) -> Result<ThreadLocalOwnedGuard<T>, PoolExhausted> {
        let core = self.local();
        let (bucket, offset) = bucket_of(serial());
        let owner = self.table[bucket]
            .get()
            .and_then(|slots| slots[offset].get())
            .filter(|owned| core::ptr::eq(&owned.core, core))
            .map(|owned| LocalOwner(Arc::clone(owned), PhantomData))
            .expect("the calling thread's pool is in its slot of the table");
        Lease::acquire(owner).map(|lease| ThreadLocalOwnedGuard { lease })
    }

    /// Gives an object back: the same as dropping its guard.
    ///
    /// # Panics
    ///
    /// If `guard` came from another pool, or if the reset hook panics.
    #[track_caller]
    pub fn release(&self, guard: ThreadLocalGuard<'_, T>) {
        guard
            .lease
            .assert_from(self.local(), "ThreadLocalPool::release");
        drop(guard);
    }

    /// The number of objects each thread's pool holds.
    pub fn capacity(&self) -> usize {
        self.layout.capacity
    }

    /// The number of the calling thread's objects held by its guards.
    pub fn in_use(&self) -> usize {
        self.local().in_use()
    }

    /// The number of objects the calling thread can get now.
    pub fn available(&self) -> usize {
        self.local().available()
    }

    /// The number of the calling thread's objects built and free now
    /// (Python's `available()`).
    pub fn idle(&self) -> usize {
        self.local().idle()
    }

    /// Puts `value`, built by the caller, into a slot of the calling
    /// thread's pool that holds no object (see
    /// [`FixedPool::insert`](crate::FixedPool::insert)).
    ///
    /// # Errors
    ///
    /// `Err(value)` when none of this thread's free slots is empty.
    pub fn insert(&self, value: T) -> Result<(), T> {
        self.local().insert(value)
    }

    /// Sets the statistics' counters of every thread's pool to zero and
    /// their peaks to the figures now (see
    /// [`FixedPool::reset_stats`](crate::FixedPool::reset_stats)). Each
    /// thread writes its own counters: reset them while the other threads
    /// do not use the pool, or a count they make meanwhile may be lost.
    pub fn reset_stats(&self) {
        for core in self.cores() {
            core.core.reset_stats();
        }
    }

    /// Drops the calling thread's idle objects, keeping its slots (see
    /// [`FixedPool::trim`](crate::FixedPool::trim)). Returns how many.
    pub fn trim(&self) -> usize {
        self.local().trim()
    }

    /// The pool's figures summed over every thread that has used it (and has
    /// not had its pool dropped): `current_capacity` is the sum of their
    /// capacities, `current_in_use` of their objects on loan. A thread that
    /// is exiting (or trimming) counts its idle objects as in use for the
    /// moment it takes them out of their slots.
    pub fn stats(&self) -> StatsSnapshot {
        let mut snapshot = StatsSnapshot::default();
        let mut totals = Totals::default();
        for core in self.cores() {
            let s = core.core.stats();
            snapshot.current_in_use += s.current_in_use;
            snapshot.current_capacity += s.current_capacity;
            snapshot.max_capacity += s.max_capacity;
            snapshot.idle += s.idle;
            if let Some(t) = core.core.totals() {
                totals = totals + t;
            }
        }
        if self.layout.statistics {
            totals.fill(&mut snapshot);
        }
        snapshot
    }

    /// Every thread's pool made so far.
    fn cores(&self) -> impl Iterator<Item = &ThreadCore<T>> {
        self.table
            .iter()
            .filter_map(OnceLock::get)
            .flat_map(|slots| slots.iter().filter_map(OnceLock::get))
            .map(|core| &**core)
    }
}

impl<T: Send + 'static> fmt::Debug for ThreadLocalPool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadLocalPool")
            .field("capacity_per_thread", &self.layout.capacity)
            .field("threads", &self.cores().count())
            .finish()
    }
}

/// An object on loan from the calling thread's part of a
/// [`ThreadLocalPool`]; gives it back when dropped. Not `Send`.
///
/// The guard is `#[must_use]`: a guard dropped at once hands its object
/// straight back, so discarding one is reported (an error here, where the
/// lint is denied):
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// let pool = fastalloc::ThreadLocalPool::new(1, || 0u32);
/// pool.get().unwrap(); // error: unused `ThreadLocalGuard` that must be used
/// ```
///
/// ```
/// #![deny(unused_must_use)]
/// let pool = fastalloc::ThreadLocalPool::new(1, || 0u32);
/// let _held = pool.get().unwrap(); // bound: held to the end of the scope
/// ```
#[must_use = "dropping the guard at once gives the object straight back to the pool; bind it: `let obj = pool.get()?;`"]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub struct ThreadLocalGuard<'a, T> {
    lease: Lease<&'a PerThreadCore<T>>,
}

guard_impls!(ThreadLocalGuard<'a>);

/// An object on loan from a [`ThreadLocalPool`] that keeps the calling
/// thread's pool alive by reference count: `'static`, not `Send`. From
/// [`ThreadLocalPool::get_owned`].
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
#[must_use = "dropping the guard at once gives the object straight back to the pool; bind it: `let obj = pool.get_owned()?;`"]
pub struct ThreadLocalOwnedGuard<T> {
    lease: Lease<LocalOwner<T>>,
}

guard_impls!(ThreadLocalOwnedGuard);

/// What a [`ThreadLocalOwnedGuard`] holds: a reference count on the thread's
/// core, and a raw-pointer marker that keeps the guard on its thread.
struct LocalOwner<T>(Arc<ThreadCore<T>>, PhantomData<*const ()>);

// SAFETY: I7, I12 — an `Arc` always points at the same `ThreadCore`, which
// lives (unmoved) while any clone does; the owner is not `Send` (the marker),
// so the lease is released on the thread that took it, the core's owner.
unsafe impl<T> Owner for LocalOwner<T> {
    type Item = T;
    type List = crate::freelist::LocalStack<crate::sync::AtomicU32>;
    type Hooks = ThreadHooks<T>;
    type Shape = Fixed;
    #[inline(always)]
    fn core(&self) -> &PerThreadCore<T> {
        &self.0.core
    }
}
