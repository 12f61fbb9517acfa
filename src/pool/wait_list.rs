//! The wait list of [`AsyncPool`](crate::AsyncPool): a count of waiters,
//! and a FIFO queue of wakers under a mutex that only waiting tasks, and
//! releases while someone waits, touch. Each `get` future keeps a [`Place`]
//! in it.

use crate::sync::{fence, AtomicUsize, Mutex, MutexGuard, Ordering};
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::task::{Context, Poll, Waker};

/// The tasks waiting for an object.
pub(crate) struct WaitList {
    /// Waiters queued or notified and not finished. `get` queues when it is
    /// not zero, and releases look at the queue only when it is not zero.
    waiting: AtomicUsize,
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    next_id: u64,
    /// Waiting, oldest first.
    waiting: VecDeque<(u64, Waker)>,
    /// Woken by a release and not yet polled.
    notified: Vec<u64>,
}

impl WaitList {
    pub(crate) fn new() -> Self {
        Self {
            waiting: AtomicUsize::new(0),
            queue: Mutex::new(Queue::default()),
        }
    }

    /// The number of waiters queued or notified now.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic in `init` under the lock leaves the queue consistent.
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
}

/// A waiter's place: not yet queued, queued under an id, or done.
#[derive(Debug, Default)]
pub(crate) struct Place {
    id: Option<u64>,
}

impl Place {
    /// Whether the waiter is in the queue (queued or notified).
    pub(crate) fn is_queued(&self) -> bool {
        self.id.is_some()
    }

    /// One poll of a waiter: `take` tries to lease an object (its failures
    /// not counted in the statistics); `waits` counts one `exhausted` each
    /// time the waiter queues.
    pub(crate) fn poll<L>(
        &mut self,
        list: &WaitList,
        cx: &mut Context<'_>,
        mut take: impl FnMut() -> Option<L>,
        waits: impl FnOnce(),
    ) -> Poll<L> {
        let Some(id) = self.id else {
            // First poll: take an object directly when nobody waits.
            if list.waiting.load(Ordering::Relaxed) == 0 {
                if let Some(lease) = take() {
                    return Poll::Ready(lease);
                }
            }
            let mut queue = list.lock();
            list.waiting.fetch_add(1, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            if queue.waiting.is_empty() && queue.notified.is_empty() {
                if let Some(lease) = take() {
                    list.waiting.fetch_sub(1, Ordering::Relaxed);
                    return Poll::Ready(lease);
                }
            }
            let id = queue.next_id;
            queue.next_id += 1;
            queue.waiting.push_back((id, cx.waker().clone()));
            self.id = Some(id);
            waits();
            return Poll::Pending;
        };
        let mut queue = list.lock();
        if let Some(at) = queue.notified.iter().position(|&n| n == id) {
            queue.notified.swap_remove(at);
            fence(Ordering::SeqCst);
            if let Some(lease) = take() {
                list.waiting.fetch_sub(1, Ordering::Relaxed);
                self.id = None;
                return Poll::Ready(lease);
            }
            // Taken by a `try_get` in between: first in line again.
            queue.waiting.push_front((id, cx.waker().clone()));
            waits();
        } else if let Some(entry) = queue.waiting.iter_mut().find(|e| e.0 == id) {
            entry.1.clone_from(cx.waker());
        }
        Poll::Pending
    }

    /// A waiter dropped before it got an object: leaves the queue, passing a
    /// wake-up it received on to the next waiter.
    pub(crate) fn cancel(&mut self, list: &WaitList) {
        let Some(id) = self.id.take() else { return };
        let waker = {
            let mut queue = list.lock();
            list.waiting.fetch_sub(1, Ordering::Relaxed);
            if let Some(at) = queue.notified.iter().position(|&n| n == id) {
                queue.notified.swap_remove(at);
                queue.notify_first()
            } else {
                if let Some(at) = queue.waiting.iter().position(|e| e.0 == id) {
                    queue.waiting.remove(at);
                }
                None
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}
