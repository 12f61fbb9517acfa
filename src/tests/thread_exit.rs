//! Exit hooks of pools a thread used (`crate::thread`), seen through the
//! pools.

use crate::thread::exit_hooks;
use crate::{ThreadLocalPool, ThreadSafePool};

/// Found by the `ops` fuzz target (memory kept growing on its one
/// thread): every pool a thread used left an exit hook, holding the
/// thread's cache of that pool, until the thread exited.
#[test]
fn a_thread_using_many_short_lived_pools_keeps_few_exit_hooks() {
    std::thread::spawn(|| {
        let kept = ThreadSafePool::new(8, || 0u64);
        drop(kept.get().unwrap());
        for _ in 0..if cfg!(miri) { 50 } else { 2000 } {
            let shared = ThreadSafePool::new(8, || 0u64);
            drop(shared.get().unwrap());
            let local = ThreadLocalPool::new(2, || 0u64);
            drop(local.get().unwrap());
        }
        assert!(exit_hooks() <= 16, "{} hooks", exit_hooks());
        // The live pool's hook survived the pruning: its cache is
        // orphaned at exit, so its object stays reachable.
        drop(kept.get().unwrap());
        kept
    })
    .join()
    .map(|kept| assert_eq!((kept.in_use(), kept.available()), (0, 8)))
    .unwrap();
}
