//! Per-thread serial numbers and exit hooks, shared by `ThreadLocalPool`
//! (one core per thread) and the per-thread caches of the shared pools.
//!
//! A thread's serial is a small number, unique among live threads, assigned
//! on first use and recycled after the thread's exit hooks have run. The hot
//! path reads it from a `const` thread-local with no destructor: one load.
//! A second thread-local, with a destructor, holds the exit hooks; when it is
//! destroyed the serial is marked gone, so code that runs later in the
//! thread's teardown (another thread-local's destructor) gets no serial and
//! falls back to whatever the caller does without one.

use crate::sync::{Ordering, StdAtomicU64, StdMutex as Mutex};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};

/// Something to do when the calling thread exits, registered by a pool the
/// thread used.
pub(crate) trait ThreadExit {
    /// Runs in the exiting thread. Returns `false` if the thread's serial
    /// must never be reused (it left objects on loan in a per-thread core).
    fn exit(&self) -> bool;

    /// Whether the pool that registered this hook is gone, leaving the hook
    /// nothing to do. Stale hooks are dropped when the thread registers new
    /// ones, so a long-lived thread that uses many short-lived pools keeps
    /// a bounded list.
    fn is_stale(&self) -> bool;
}

/// Serial numbers of live threads: the next never used, and those freed by
/// exited threads.
struct Serials {
    next: usize,
    free: Vec<usize>,
}

static SERIALS: Mutex<Serials> = Mutex::new(Serials {
    next: 0,
    free: Vec::new(),
});

/// The thread's exit hooks; its destructor runs them and frees the serial.
struct ThreadState {
    exits: RefCell<Vec<Box<dyn ThreadExit>>>,
}

/// No serial assigned yet.
const UNASSIGNED: usize = usize::MAX;
/// The thread's exit hooks have run: no serial any more.
const GONE: usize = usize::MAX - 1;

std::thread_local! {
    static THREAD: ThreadState = const {
        ThreadState { exits: RefCell::new(Vec::new()) }
    };
    /// The serial, or `UNASSIGNED` / `GONE`. No destructor, so reading it is
    /// a plain load at any point of the thread's life.
    static SERIAL: Cell<usize> = const { Cell::new(UNASSIGNED) };
    /// The per-thread state a pool last found for this thread: its pool id
    /// (0: none) and a pointer to the state. No destructor: one load.
    static LAST: Cell<(u64, *const ())> = const { Cell::new((0, core::ptr::null())) };
}

/// The next pool id; ids start at 1 and are never reused.
static POOL_IDS: StdAtomicU64 = StdAtomicU64::new(1);

/// A new pool id, unique in the process for its whole life.
pub(crate) fn pool_id() -> u64 {
    // Relaxed: only uniqueness matters. 2^64 ids are never used up.
    POOL_IDS.fetch_add(1, Ordering::Relaxed)
}

/// The state pool `id` last recorded for the calling thread with
/// [`set_last`], if it was the last pool to record one and the thread's
/// exit hooks have not started.
#[inline(always)]
pub(crate) fn last(id: u64) -> Option<*const ()> {
    let (last, state) = LAST.get();
    (last == id).then_some(state)
}

/// Records `state` as pool `id`'s state for the calling thread (one entry:
/// it replaces any other pool's). The caller keeps `state` valid for as
/// long as pool `id` lives, and records it only once the thread's exit hook
/// for it is registered (I12).
#[inline]
pub(crate) fn set_last(id: u64, state: *const ()) {
    LAST.set((id, state));
}

impl Drop for ThreadState {
    fn drop(&mut self) {
        // From here on no pool finds this thread's state by its one-entry
        // cache: the hooks below may hand that state to a next owner.
        LAST.set((0, core::ptr::null()));
        let serial = SERIAL.replace(GONE);
        let mut reusable = true;
        // Hooks may register nothing new: the state is being destroyed, and
        // `at_exit` fails from here on.
        for hook in self.exits.get_mut().drain(..) {
            reusable &= hook.exit();
        }
        if serial < GONE && reusable {
            let mut serials = SERIALS.lock().unwrap_or_else(|e| e.into_inner());
            serials.free.push(serial);
        }
    }
}

/// The calling thread's serial, assigned on first use; `None` once the
/// thread's exit hooks have run (during its thread-local teardown).
#[inline(always)]
pub(crate) fn serial() -> Option<usize> {
    let serial = SERIAL.get();
    if serial < GONE {
        return Some(serial);
    }
    assign_serial()
}

#[cold]
#[inline(never)]
fn assign_serial() -> Option<usize> {
    if SERIAL.get() == GONE {
        return None;
    }
    // Touching the state registers its destructor, which frees the serial.
    let assigned = THREAD.try_with(|_| {
        let mut serials = SERIALS.lock().unwrap_or_else(|e| e.into_inner());
        serials.free.pop().unwrap_or_else(|| {
            serials.next += 1;
            serials.next - 1
        })
    });
    match assigned {
        Ok(serial) => {
            SERIAL.set(serial);
            Some(serial)
        }
        Err(_) => {
            SERIAL.set(GONE);
            None
        }
    }
}

/// Runs `hook` when the calling thread exits. Returns `false` (and drops
/// the hook) if the thread is already exiting.
pub(crate) fn at_exit(hook: Box<dyn ThreadExit>) -> bool {
    // While the hooks run, the state is being destroyed and `try_with` fails.
    THREAD
        .try_with(|t| {
            let mut exits = t.exits.borrow_mut();
            if exits.len() == exits.capacity() {
                // Full: drop the hooks of pools that are gone before growing,
                // and grow only if at least half are live (amortised O(1)).
                exits.retain(|h| !h.is_stale());
                let (len, capacity) = (exits.len(), exits.capacity());
                if len > capacity / 2 {
                    exits.reserve(len.max(4));
                }
            }
            exits.push(hook);
        })
        .is_ok()
}

/// The number of exit hooks the calling thread holds (for tests).
#[cfg(all(test, not(fastalloc_loom)))]
pub(crate) fn exit_hooks() -> usize {
    THREAD.with(|t| t.exits.borrow().len())
}
