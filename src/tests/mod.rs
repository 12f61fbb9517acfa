//! Tests that need the crate's private parts across layers (they build
//! pools to look into the layers below), and the loom models of the
//! lock-free parts (run with `--cfg fastalloc_loom`; see `ci/loom.sh`).

#[cfg(all(feature = "std", not(fastalloc_loom)))]
mod cached;
#[cfg(all(feature = "std", not(fastalloc_loom)))]
mod thread_exit;

#[cfg(fastalloc_loom)]
mod loom_cache;
#[cfg(fastalloc_loom)]
mod loom_pool;
#[cfg(fastalloc_loom)]
mod loom_treiber;
