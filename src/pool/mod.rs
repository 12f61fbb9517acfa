//! The typed pools: safe code over the slab layer.

#[cfg(feature = "std")]
pub(crate) mod async_pool;
pub(crate) mod fixed;
pub(crate) mod growing;
pub(crate) mod guard;
pub(crate) mod hooks;
#[cfg(feature = "std")]
pub(crate) mod thread_local;
pub(crate) mod thread_safe;
