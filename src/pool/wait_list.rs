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
//!   that may fail; R pushes its object before it reads `waiting`; both put
//!   a `SeqCst` fence between the two. So either W's attempt sees R's object,
//!   or R sees W counted and wakes the first queued waiter.
//! * A waiter *attempts* only when it is first in line: when it registers
//!   into an empty queue, or once a release notified it. While it attempts
//!   it stays in `notified`, so later arrivals queue behind it. A release
//!   that finds no one to notify still bumps `wakes`: a waiter whose attempt
//!   failed looks again when `wakes` moved since its attempt began, so a
//!   release that came while it was attempting is never lost.
//! * A waiter that leaves while notified (its future dropped, or its attempt
//!   panicked in `init`) passes the wake-up on to the next in line: the
//!   object meant for it is free again.

use crate::sync::{fence, AtomicUsize, Mutex, MutexGuard, Ordering};
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
    /// Waiting, oldest first.
    waiting: VecDeque<(u64, Waker)>,
    /// Notified by a release (or first in line on arrival) and not finished:
    /// each is about to attempt, or attempting, to take an object.
    notified: Vec<u64>,
    /// Bumped by every release that looked for a waiter to wake.
    wakes: u64,
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

    /// After a release: wakes the first queued waiter, if any.
    #[inline]
    pub(crate) fn released(&self) {
        fence(Ordering::SeqCst);
        if self.waiting.load(Ordering::Relaxed) != 0 {
            self.wake_first();
        }
    }

    #[cold]
    fn wake_first(&self) {
        let waker = {
            let mut queue = self.lock();
            queue.wakes = queue.wakes.wrapping_add(1);
            queue.notify_first()
        };
        if let Some(waker) = waker {
            waker.wake();
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
}

/// Where a waiter stands.
#[derive(Debug, Default)]
enum Stage {
    /// Not registered (not polled yet, or done).
    #[default]
    Idle,
    /// In the queue, under this id.
    Queued(u64),
    /// Notified (or first in line on arrival), attempting to take an object;
    /// `wakes` is the queue's count when the attempt began.
    Notified { id: u64, wakes: u64 },
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
        match self.stage {
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
                if queue.waiting.is_empty() && queue.notified.is_empty() {
                    // First in line: attempt now, after registering, so a
                    // release that missed the attempt above sees us.
                    queue.notified.push(id);
                    self.stage = Stage::Notified {
                        id,
                        wakes: queue.wakes,
                    };
                    drop(queue);
                    self.attempt(list, waker, take, waits)
                } else {
                    queue.waiting.push_back((id, waker));
                    self.stage = Stage::Queued(id);
                    drop(queue);
                    waits();
                    Poll::Pending
                }
            }
            Stage::Queued(id) => {
                let waker = cx.waker().clone();
                let mut queue = list.lock();
                if queue.notified.contains(&id) {
                    // It stays in `notified` while it attempts.
                    self.stage = Stage::Notified {
                        id,
                        wakes: queue.wakes,
                    };
                    drop(queue);
                    return self.attempt(list, waker, take, waits);
                }
                // Still queued: keep the newest waker; the old one is
                // dropped after the lock is released.
                let old = queue
                    .waiting
                    .iter_mut()
                    .find(|e| e.0 == id)
                    .map(|e| mem::replace(&mut e.1, waker));
                drop(queue);
                drop(old);
                Poll::Pending
            }
            // Polled again after an attempt panicked: attempt again.
            Stage::Notified { .. } => self.attempt(list, cx.waker().clone(), take, waits),
        }
    }

    /// A notified waiter's attempt, outside the lock: take an object, or go
    /// back to the front of the queue, unless a release came meanwhile.
    fn attempt<L>(
        &mut self,
        list: &WaitList,
        waker: Waker,
        mut take: impl FnMut() -> Option<L>,
        waits: impl Fn(),
    ) -> Poll<L> {
        let Stage::Notified { id, mut wakes } = self.stage else {
            unreachable!("attempt while not notified")
        };
        loop {
            fence(Ordering::SeqCst);
            // May panic (in `init`): the stage stays `Notified`, and `cancel`
            // passes the wake-up on.
            if let Some(lease) = take() {
                let mut queue = list.lock();
                queue.take_notified(id);
                list.waiting.fetch_sub(1, Ordering::Relaxed);
                drop(queue);
                self.stage = Stage::Idle;
                return Poll::Ready(lease);
            }
            let mut queue = list.lock();
            if queue.wakes != wakes {
                // A release came while we attempted: its object may be the
                // one we missed.
                wakes = queue.wakes;
                self.stage = Stage::Notified { id, wakes };
                continue;
            }
            // Taken by a `try_get` first: first in line again.
            queue.take_notified(id);
            queue.waiting.push_front((id, waker));
            self.stage = Stage::Queued(id);
            drop(queue);
            waits();
            return Poll::Pending;
        }
    }

    /// A waiter dropped before it got an object: leaves the list, passing a
    /// wake-up it received on to the next waiter.
    pub(crate) fn cancel(&mut self, list: &WaitList) {
        let (old, next) = {
            match mem::take(&mut self.stage) {
                Stage::Idle => return,
                Stage::Queued(id) => {
                    let mut queue = list.lock();
                    list.waiting.fetch_sub(1, Ordering::Relaxed);
                    if queue.take_notified(id) {
                        (None, queue.notify_first())
                    } else {
                        let at = queue.waiting.iter().position(|e| e.0 == id);
                        (at.and_then(|at| queue.waiting.remove(at)), None)
                    }
                }
                Stage::Notified { id, .. } => {
                    let mut queue = list.lock();
                    list.waiting.fetch_sub(1, Ordering::Relaxed);
                    queue.take_notified(id);
                    (None, queue.notify_first())
                }
            }
        };
        drop(old);
        if let Some(waker) = next {
            waker.wake();
        }
    }
}
