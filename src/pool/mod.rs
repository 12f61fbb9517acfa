//! The typed pools: safe code over the slab layer.

pub(crate) mod fixed;
pub(crate) mod growing;
pub(crate) mod guard;
pub(crate) mod hooks;
pub(crate) mod thread_safe;
