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

use crate::sync::StdMutex as Mutex;
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
}

impl Drop for ThreadState {
    fn drop(&mut self) {
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
