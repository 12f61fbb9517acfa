//! Loom models of the lock-free parts (run with `--cfg loom`; see `ci/loom.sh`).

#[cfg(loom)]
mod loom_cache;
#[cfg(loom)]
mod loom_pool;
#[cfg(loom)]
mod loom_treiber;
