//! Object pools for code that cannot afford the allocator in its hot loop:
//! game and simulation loops, network servers, trading and audio engines.
//! Build a pool of objects once, then get a ready object in a few
//! nanoseconds, use it and give it back, with no heap traffic in steady
//! state.
//!
//! The crate is not on crates.io (the name `fastalloc` there belongs to
//! another, unrelated crate): depend on it by path or git,
//! `fastalloc = { path = "../fastalloc" }`.
//!
//! ```
//! use fastalloc::{FixedPool, PoolBuilder, ThreadSafePool};
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // A single-thread pool of 100 buffers, each built on first use.
//!     let pool = FixedPool::new(100, || Vec::<u8>::with_capacity(4096));
//!     {
//!         let mut buf = pool.get()?; // Result<guard, PoolExhausted>
//!         buf.extend_from_slice(b"frame");
//!         assert_eq!(pool.in_use(), 1);
//!     } // the guard gives the buffer back here
//!
//!     // Pre-build every object, clear each one as it comes back, and drop
//!     // buffers that grew too big instead of keeping them.
//!     let pool = PoolBuilder::new(|| Vec::<u8>::with_capacity(4096))
//!         .capacity(100)
//!         .pre_initialize(true)
//!         .reset(Vec::clear)
//!         .recycle_if(|buf: &Vec<u8>| buf.capacity() <= 1 << 16)
//!         .build_fixed()?;
//!     let mut buf = pool.get()?;
//!     buf.push(1);
//!     pool.release(buf); // explicit release = drop(buf)
//!     assert!(pool.get()?.is_empty()); // reset ran
//!
//!     // A pool shared by threads (per-thread caches, a lock-free stack behind).
//!     let shared = ThreadSafePool::new(64, || [0u64; 8]);
//!     std::thread::scope(|s| {
//!         for _ in 0..2 {
//!             s.spawn(|| shared.get().expect("64 blocks for 2 threads")[0] += 1);
//!         }
//!     });
//!     assert_eq!(shared.in_use(), 0);
//!     Ok(())
//! }
//! ```
//!
//! # Which pool?
//!
//! | pool | threads | pick it when |
//! |---|---|---|
//! | [`FixedPool`] (= [`Pool`]) | one | the pool and its users live on one thread and the peak is known |
//! | [`GrowingPool`] | one | one thread, load that varies: start at the typical load, grow to the peak |
//! | [`ThreadSafePool`] | many, sharing one pool | objects are taken and returned on several threads |
//! | [`ThreadLocalPool`] | many, a pool each | every thread takes and returns its own objects |
//! | [`AsyncPool`] | tasks | async tasks that should wait for an object rather than fail |
//!
//! Every pool is configured through [`PoolBuilder`] (or its `new`
//! constructor), hands out a guard that derefs to the object and gives it
//! back when dropped, and reports [`PoolExhausted`] only when every object it
//! may hold is in use. [`StatsSnapshot`] holds its figures.
//!
//! A single-thread pool built by `new_send` (or the builder's
//! `build_fixed_send` / `build_growing_send`) is `Send`: build it on one
//! thread, use it on another. [`ThreadSafePool::get_timeout`] waits for an
//! object on a thread, [`AsyncPool::get`] in a task.
//!
//! # Features
//!
//! * `std` (default): [`ThreadLocalPool`], [`AsyncPool`],
//!   [`ThreadSafePool::get_timeout`] and the timings of statistics. Without
//!   it the crate is `no_std + alloc`: [`FixedPool`] and [`GrowingPool`]
//!   build on every target, [`ThreadSafePool`] on targets with 64-bit
//!   atomics.
//! * `serde`: `Serialize` for [`StatsSnapshot`].
//!
//! # Soundness
//!
//! Every `unsafe` block cites a numbered invariant of the crate's safety
//! argument, the [`safety`] page, which also names the code relying on each
//! one. The concurrent protocols are model-checked with loom, and the test
//! suite runs under Miri and the sanitizers.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
// Without 64-bit atomics only the single-thread pools are built; the
// lock-free words and tags they do not use are left in place.
#![cfg_attr(not(target_has_atomic = "64"), allow(dead_code))]

extern crate alloc;

// The `std` pools share words between threads with 64-bit atomics.
#[cfg(all(feature = "std", not(target_has_atomic = "64")))]
compile_error!(
    "fastalloc's `std` feature needs 64-bit atomics, which this target lacks; \
     depend on fastalloc with `default-features = false` for FixedPool and GrowingPool"
);
#[cfg(any(feature = "std", test))]
extern crate std;

// Layers, bottom up: each module imports only from those above it in this
// list (ARCHITECTURE.md draws them; SAFETY.md proves the unsafe ones).
mod sync;
mod tag;
#[cfg(feature = "std")]
mod thread;
mod error;
mod growth;
mod stats;
mod freelist;
mod slab;
mod pool;
mod builder;
pub mod safety;

#[cfg(test)]
mod tests;

pub use builder::PoolBuilder;
pub use error::{ConfigError, PoolExhausted};
pub use growth::{Growth, MAX_SEGMENTS};
#[cfg(feature = "std")]
pub use pool::async_pool::{Acquire, AcquireOwned, AsyncGuard, AsyncOwnedGuard, AsyncPool};
pub use pool::fixed::{FixedGuard, FixedPool, FixedRcGuard, Pool};
pub use pool::growing::{GrowingGuard, GrowingPool, GrowingRcGuard};
pub use pool::hooks::{BoxedHooks, LocalHooks, SendHooks};
#[cfg(feature = "std")]
pub use pool::thread_local::{ThreadLocalGuard, ThreadLocalOwnedGuard, ThreadLocalPool};
#[cfg(target_has_atomic = "64")]
pub use pool::thread_safe::{OwnedGuard, ThreadSafeGuard, ThreadSafePool};
pub use stats::StatsSnapshot;
pub use tag::MAX_CAPACITY;

/// The README's examples, compiled and run as doc tests (not rendered).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
