//! In-crate tests that need private items: loom models and core properties.

#[cfg(loom)]
mod loom_treiber;
#[cfg(loom)]
mod loom_pool;
#[cfg(not(loom))]
mod core_props;
