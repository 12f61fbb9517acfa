#![doc = include_str!("../README.md")]
#![no_std]
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
pub use pool::thread_local::{ThreadLocalGuard, ThreadLocalPool};
#[cfg(target_has_atomic = "64")]
pub use pool::thread_safe::{OwnedGuard, ThreadSafeGuard, ThreadSafePool};
pub use stats::StatsSnapshot;
pub use tag::MAX_CAPACITY;
