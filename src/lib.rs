#![doc = include_str!("../README.md")]
#![no_std]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

extern crate alloc;
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
pub use pool::fixed::{FixedGuard, FixedPool, Pool};
pub use pool::growing::{GrowingGuard, GrowingPool};
#[cfg(feature = "std")]
pub use pool::thread_local::{ThreadLocalGuard, ThreadLocalPool};
pub use pool::thread_safe::{OwnedGuard, ThreadSafeGuard, ThreadSafePool};
pub use stats::StatsSnapshot;
pub use tag::MAX_CAPACITY;
