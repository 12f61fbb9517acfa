//! The typed pools: safe code over the slab layer. This file names every
//! core the pools are made of (which free list, hooks and shape each uses);
//! each pool's file holds its public type and guards.
//!
//! | pool | core | free list | grows |
//! |---|---|---|---|
//! | `FixedPool` | [`FixedCore`] | `LocalStack` (cells) | no |
//! | `GrowingPool` | [`GrowingCore`] | `LocalStack` (cells) | by segments |
//! | `ThreadSafePool`, `AsyncPool` | [`SharedCore`] | `CachedStack` | with a `max_capacity` |
//! | `ThreadLocalPool` | [`PerThreadCore`], one per thread | `LocalStack` (owner-written atomics) | no |

#[cfg(feature = "std")]
pub(crate) mod async_pool;
pub(crate) mod fixed;
pub(crate) mod growing;
pub(crate) mod guard;
pub(crate) mod hooks;
#[cfg(feature = "std")]
pub(crate) mod thread_local;
#[cfg(target_has_atomic = "64")]
pub(crate) mod thread_safe;
#[cfg(feature = "std")]
mod wait_list;

#[cfg(target_has_atomic = "64")]
use crate::freelist::CachedStack;
use crate::freelist::LocalStack;
use crate::slab::{Core, Growable};
#[cfg(target_has_atomic = "64")]
use crate::{slab::Layout, sync::Arc};
use hooks::LocalHooks;
#[cfg(target_has_atomic = "64")]
use hooks::SharedHooks;

/// The core of a [`FixedPool`](crate::FixedPool): one segment, a plain
/// array stack.
pub(crate) type FixedCore<T, H = LocalHooks<T>> = Core<T, LocalStack, H>;

/// The core of a [`GrowingPool`](crate::GrowingPool): segments added on
/// demand, a plain array stack.
pub(crate) type GrowingCore<T, H = LocalHooks<T>> = Core<T, LocalStack, H, Growable>;

/// The core of a [`ThreadSafePool`](crate::ThreadSafePool) and an
/// [`AsyncPool`](crate::AsyncPool): per-thread caches in front of a Treiber
/// stack; it grows when built with a `max_capacity` above its capacity.
#[cfg(target_has_atomic = "64")]
pub(crate) type SharedCore<T> = Core<T, CachedStack, SharedHooks<T>, Growable>;

/// One thread's core in a [`ThreadLocalPool`](crate::ThreadLocalPool): its
/// list words and counters are atomics written by the owner thread only, so
/// other threads may read its figures.
#[cfg(feature = "std")]
pub(crate) type PerThreadCore<T> =
    Core<T, LocalStack<crate::sync::AtomicU32>, hooks::ThreadHooks<T>>;

/// A shared core in its `Arc`, as `ThreadSafePool` and `AsyncPool` hold it.
#[cfg(target_has_atomic = "64")]
pub(crate) fn shared_core<T: Send>(layout: Layout, hooks: SharedHooks<T>) -> Arc<SharedCore<T>> {
    Arc::new(Core::new(layout, hooks))
}
