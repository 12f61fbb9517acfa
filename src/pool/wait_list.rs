//! The wait list of [`AsyncPool`](crate::AsyncPool): a count of waiters,
//! and a FIFO queue of wakers under a mutex that only waiting tasks, and
//! releases while someone waits, touch. Each `get` future keeps a [`Place`]
//! in it.
//!
//! No user code runs under the mutex: wakers are cloned before it is taken
//! and dropped or woken after it is released, and a waiter's attempt to take
//! an object (which may run `init`) happens outside it.
//!
//! The protocol, for a waiter W and a release R of the same pool:
//!
//! * W registers (counted in `waiting`, under the mutex) before its attempt
//!   that may fail; R pushes its object before it reads `waiting`; between
//!   the two, R runs the light side of the barrier pair of
//!   `crate::sync::barrier` (a compiler fence with `membarrier`, else a
//!   `SeqCst` fence) and W, the rare and already waiting side, the heavy
//!   one. So either W's attempt sees R's object, or R sees W counted and
//!   takes the mutex (SAFETY.md I14's store-buffering argument).
//! * A waiter *attempts* to take an object only when it is first in line:
//!   when it registers into an empty queue with no one notified ahead of it,
//!   or once it was notified. Notified waiters stay in `notified` until they
//!   finish, so later arrivals queue behind them, in id (arrival) order.
//! * Under the mutex, R notifies the first queued waiter, unless nobody is
//!   queued, or a waiter attempting right now has no credit kept for it
//!   yet: then it leaves a *credit* (a free object no waiter was told
//!   about). An attempt that fails takes a credit and tries again; one that
//!   succeeds hands the credits on to the queue once no attempt runs; an
//!   arrival that finds the queue empty takes a credit and attempts. So a
//!   release that lands while a waiter attempts goes to that waiter first
//!   (FIFO), further releases wake the queue at once, and none is lost.
//! * A waiter that leaves while notified (its future dropped, or its attempt
//!   panicked in `init`) passes its notification on to the next in line: the
//!   object meant for it is free again. A panic in `init` outside a waiter's
//!   attempt (`try_get`, a first poll's direct take) wakes a waiter as a
//!   release does (see `AsyncPool`).

use crate::sync::{barrier, AtomicUsize, Mutex, MutexGuard, Ordering};
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::mem;
use core::task::{Context, Poll, Waker};

/// The tasks waiting for an object.
pub(crate) struct WaitList {
    /// Waiters registered and not finished (queued or notified). `get`
    /// queues when it is not zero, and releases look at the queue only when
    /// it is not zero.
    waiting: AtomicUsize,
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    next_id: u64,
    /// Waiting, oldest (lowest id) first.
    waiting: VecDeque<(u64, Waker)>,
    /// Notified by a release (or first in line on arrival) and not finished.
    notified: Vec<u64>,
    /// Notified waiters inside an attempt now (a poll that is taking an
    /// object, outside the mutex).
    attempting: usize,
    /// Releases that notified nobody (a waiter was attempting, or nobody was
    /// queued): free objects for the attempting waiters or the next ones.
    credits: usize,
}

impl WaitList {
    pub(crate) fn new() -> Self {
        Self {
            waiting: AtomicUsize::new(0),
            queue: Mutex::new(Queue::default()),
        }
    }

    /// The number of waiters registered now.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // No user code runs under the lock, but a poisoned lock (a panic in
        // the standard library's allocation, say) leaves the queue as it was.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// After a release (or an object freed by a panicking `init`): wakes the
    /// first queued waiter, or leaves a credit.
    #[inline]
    pub(crate) fn released(&self) {
        barrier::light();
        if self.waiting.load(Ordering::Relaxed) != 0 {
            self.wake_first();
        }
    }

    #[cold]
    fn wake_first(&self) {
        let waker = {
            let mut queue = self.lock();
            // One credit is kept for each waiter attempting now (its object
            // may have been taken first); further releases wake the queue.
            if queue.credits < queue.attempting {
                queue.credits += 1;
                None
            } else {
                queue.pass_on()
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// A registered waiter is done (served or gone): uncounts it, and
    /// forgets the credits when no waiter is left.
    fn leave(&self, queue: &mut Queue) {
        if self.waiting.fetch_sub(1, Ordering::Relaxed) == 1 {
            queue.credits = 0;
        }
    }
}

impl Queue {
    /// Moves the first queued waiter to `notified`; returns its waker.
    fn notify_first(&mut self) -> Option<Waker> {
        let (id, waker) = self.waiting.pop_front()?;
        self.notified.push(id);
        Some(waker)
    }

    /// One free object to hand on: notifies the first queued waiter, or
    /// leaves a credit when nobody is queued.
    fn pass_on(&mut self) -> Option<Waker> {
        let waker = self.notify_first();
        if waker.is_none() {
            self.credits += 1;
        }
        waker
    }

    /// Once no attempt runs, hands the credits on to queued waiters (one
    /// each); returns their wakers, to wake after unlocking.
    fn hand_on_credits(&mut self) -> Vec<Waker> {
        let mut wakers = Vec::new();
        while self.attempting == 0 && self.credits > 0 {
            let Some(waker) = self.notify_first() else {
                break;
            };
            self.credits -= 1;
            wakers.push(waker);
        }
        wakers
    }

    /// Removes `id` from `notified`; whether it was there.
    fn take_notified(&mut self, id: u64) -> bool {
        match self.notified.iter().position(|&n| n == id) {
            Some(at) => {
                self.notified.swap_remove(at);
                true
            }
            None => false,
        }
    }

    /// Puts a waiter back in the queue at its place by arrival (a notified
    /// waiter whose attempt failed: it is usually first again).
    fn requeue(&mut self, id: u64, waker: Waker) {
        let at = self
            .waiting
            .iter()
            .position(|e| e.0 > id)
            .unwrap_or(self.waiting.len());
        self.waiting.insert(at, (id, waker));
    }
}

/// Where a waiter stands.
#[derive(Debug, Default)]
enum Stage {
    /// Not registered (not polled yet, or done).
    #[default]
    Idle,
    /// In the queue, under this id.
    Queued(u64),
    /// In `notified`, under this id, outside an attempt: woken and not
    /// polled yet, or its last attempt panicked.
    Notified(u64),
}

/// A waiter's place in a [`WaitList`].
#[derive(Debug, Default)]
pub(crate) struct Place {
    stage: Stage,
}

impl Place {
    /// Whether the waiter is registered (queued or notified).
    pub(crate) fn is_queued(&self) -> bool {
        !matches!(self.stage, Stage::Idle)
    }

    /// One poll of a waiter: `take` tries to lease an object (its failures
    /// not counted in the statistics; it may run `init`, and panic); `waits`
    /// counts one `exhausted` each time the waiter queues.
    pub(crate) fn poll<L>(
        &mut self,
        list: &WaitList,
        cx: &mut Context<'_>,
        mut take: impl FnMut() -> Option<L>,
        waits: impl Fn(),
    ) -> Poll<L> {
        let id = match self.stage {
            Stage::Idle => {
                // First poll: take an object directly when nobody waits.
                if list.waiting.load(Ordering::Relaxed) == 0 {
                    if let Some(lease) = take() {
                        return Poll::Ready(lease);
                    }
                }
                let waker = cx.waker().clone();
                let mut queue = list.lock();
                list.waiting.fetch_add(1, Ordering::SeqCst);
                let id = queue.next_id;
                queue.next_id += 1;
                let first =
                    queue.waiting.is_empty() && (queue.notified.is_empty() || queue.credits > 0);
                if !first {
                    queue.waiting.push_back((id, waker));
                    self.stage = Stage::Queued(id);
                    drop(queue);
                    waits();
                    return Poll::Pending;
                }
                // First in line: attempt now, after registering, so a
                // release that missed the attempt above sees us.
                if !queue.notified.is_empty() {
                    queue.credits -= 1;
                }
                queue.notified.push(id);
                queue.attempting += 1;
                drop(queue);
                return self.attempt(list, id, waker, take, waits);
            }
            Stage::Queued(id) => id,
            Stage::Notified(id) => {
                // Polled again after an attempt panicked: attempt again.
                list.lock().attempting += 1;
                return self.attempt(list, id, cx.waker().clone(), take, waits);
            }
        };
        let waker = cx.waker().clone();
        let mut queue = list.lock();
        if queue.notified.contains(&id) {
            queue.attempting += 1;
            drop(queue);
            return self.attempt(list, id, waker, take, waits);
        }
        // Still queued: keep the newest waker; the old one is dropped after
        // the lock is released.
        let old = match queue.waiting.iter_mut().find(|e| e.0 == id) {
            Some(entry) => mem::replace(&mut entry.1, waker),
            None => waker,
        };
        drop(queue);
        drop(old);
        Poll::Pending
    }

    /// A notified waiter's attempt, outside the lock (it is counted in
    /// `attempting`): take an object, or go back to the queue unless a
    /// release left a credit meanwhile.
    fn attempt<L>(
        &mut self,
        list: &WaitList,
        id: u64,
        waker: Waker,
        mut take: impl FnMut() -> Option<L>,
        waits: impl Fn(),
    ) -> Poll<L> {
        /// If `take` panics (in `init`), the waiter stops attempting but
        /// stays notified: polled again it attempts again; dropped, it
        /// passes its notification and any credits on (`cancel`). Nothing
        /// is woken while the panic unwinds.
        struct Attempting<'a>(&'a WaitList);
        impl Drop for Attempting<'_> {
            fn drop(&mut self) {
                self.0.lock().attempting -= 1;
            }
        }
        self.stage = Stage::Notified(id);
        let attempting = Attempting(list);
        loop {
            barrier::heavy();
            let got = take();
            let mut queue = list.lock();
            match got {
                Some(lease) => {
                    mem::forget(attempting);
                    queue.take_notified(id);
                    queue.attempting -= 1;
                    list.leave(&mut queue);
                    let wakers = queue.hand_on_credits();
                    drop(queue);
                    wakers.into_iter().for_each(Waker::wake);
                    self.stage = Stage::Idle;
                    return Poll::Ready(lease);
                }
                None if queue.credits > 0 => {
                    // A release came while we attempted: its object is ours
                    // to try for.
                    queue.credits -= 1;
                }
                None => {
                    // Taken first (by a `try_get`): back in line, first
                    // again unless an earlier waiter is queued.
                    mem::forget(attempting);
                    queue.take_notified(id);
                    queue.attempting -= 1;
                    queue.requeue(id, waker);
                    let wakers = queue.hand_on_credits();
                    drop(queue);
                    wakers.into_iter().for_each(Waker::wake);
                    self.stage = Stage::Queued(id);
                    waits();
                    return Poll::Pending;
                }
            }
        }
    }

    /// A waiter dropped before it got an object: leaves the list, passing a
    /// notification it received (and credits no attempt is left to use) on
    /// to the next waiters.
    pub(crate) fn cancel(&mut self, list: &WaitList) {
        let (old, wakers) = {
            let id = match self.stage {
                Stage::Idle => return,
                Stage::Queued(id) | Stage::Notified(id) => id,
            };
            self.stage = Stage::Idle;
            let mut queue = list.lock();
            let mut wakers = Vec::new();
            let mut old = None;
            if queue.take_notified(id) {
                wakers.extend(queue.pass_on());
            } else if let Some(at) = queue.waiting.iter().position(|e| e.0 == id) {
                old = queue.waiting.remove(at);
            }
            list.leave(&mut queue);
            wakers.extend(queue.hand_on_credits());
            (old, wakers)
        };
        drop(old);
        wakers.into_iter().for_each(Waker::wake);
    }
}

/// Runs `take`, which may run `init`. If `init` panics, the slot it was
/// building went back to the pool, empty: a waiter is woken for it, as a
/// release would, so no waiter sleeps next to it.
#[inline(always)]
pub(crate) fn wake_on_unwind<R>(waiters: &WaitList, take: impl FnOnce() -> R) -> R {
    struct WakeOnUnwind<'a>(&'a WaitList);
    impl Drop for WakeOnUnwind<'_> {
        #[cold]
        fn drop(&mut self) {
            self.0.released();
        }
    }
    let on_unwind = WakeOnUnwind(waiters);
    let taken = take();
    core::mem::forget(on_unwind);
    taken
}

/// Wakes the next waiter after the guard's lease went back (fields drop in
/// order: the lease first).
pub(crate) struct WakeNext<'a>(pub(crate) &'a WaitList);

impl Drop for WakeNext<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.released();
    }
}
