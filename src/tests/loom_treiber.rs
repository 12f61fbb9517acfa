//! Loom models of `TreiberStack`: every interleaving (up to the preemption
//! bound) of concurrent pops and pushes hands each index to one owner.

use crate::freelist::{FreeList, TreiberStack, Word, Words};
use crate::sync::AtomicU32;
use alloc::boxed::Box;
use alloc::vec::Vec;
use loom::sync::Arc;
use loom::thread;

/// A Treiber stack with its link words (in a pool they live in the store).
struct Stack {
    list: TreiberStack,
    words: Plain,
}

struct Plain(Box<[AtomicU32]>);

impl Words for Plain {
    type W = AtomicU32;
    unsafe fn word(&self, i: u32) -> &AtomicU32 {
        &self.0[i as usize]
    }
}

impl Stack {
    fn new(n: usize) -> Self {
        let words = Plain((0..n).map(|_| <AtomicU32 as Word>::new(0)).collect());
        Self {
            list: TreiberStack::new(n, &words.0),
            words,
        }
    }
    fn pop(&self) -> Option<(u32, bool)> {
        self.list.pop(&self.words)
    }
    /// # Safety
    ///
    /// As `FreeList::push`.
    unsafe fn push(&self, index: u32, filled: bool) {
        // SAFETY: the caller's contract.
        unsafe { self.list.push(&self.words, index, filled) }
    }
}

/// Pops everything left and checks that, with the indices the threads hold,
/// each of `0..n` is accounted for exactly once.
fn assert_each_index_once(stack: &Stack, held: Vec<u32>, n: u32) {
    let mut all = held;
    while let Some((i, _)) = stack.pop() {
        all.push(i);
    }
    all.sort_unstable();
    assert_eq!(
        all,
        (0..n).collect::<Vec<_>>(),
        "an index was lost or duplicated"
    );
}

#[test]
fn loom_concurrent_pops_take_distinct_indices() {
    loom::model(|| {
        let stack = Arc::new(Stack::new(2));
        let poppers: Vec<_> = (0..2)
            .map(|_| {
                let stack = stack.clone();
                thread::spawn(move || stack.pop().expect("two indices for two poppers").0)
            })
            .collect();
        let held: Vec<u32> = poppers.into_iter().map(|h| h.join().unwrap()).collect();
        assert_ne!(held[0], held[1]);
        assert_each_index_once(&stack, held, 2);
    });
}

#[test]
fn loom_push_races_pop() {
    loom::model(|| {
        let stack = Arc::new(Stack::new(2));
        let (a, _) = stack.pop().unwrap();
        let s1 = stack.clone();
        // SAFETY: I1, I10 — `a` was popped above and is pushed once.
        let pusher = thread::spawn(move || unsafe { s1.push(a, true) });
        let s2 = stack.clone();
        let popper = thread::spawn(move || s2.pop());
        pusher.join().unwrap();
        let popped = popper.join().unwrap();
        let held: Vec<u32> = popped.iter().map(|&(i, _)| i).collect();
        if let Some((i, filled)) = popped {
            // The fill state travels with the index it was pushed with.
            assert_eq!(
                filled,
                i == a,
                "index {i} came back with the wrong fill state"
            );
        }
        assert_each_index_once(&stack, held, 2);
    });
}

/// The ABA interleaving drawn in `freelist/treiber.rs`: one thread pops while another
/// pops A, pops B and pushes A back. Without the tag, the first thread could
/// install B as head while B is held.
#[test]
fn loom_aba_attempt_is_defeated_by_the_tag() {
    loom::model(|| {
        let stack = Arc::new(Stack::new(3));
        let s1 = stack.clone();
        let victim = thread::spawn(move || s1.pop().map(|(i, _)| i));
        let s2 = stack.clone();
        let attacker = thread::spawn(move || {
            let (a, _) = s2.pop().unwrap();
            let b = s2.pop().map(|(i, _)| i);
            // SAFETY: I1, I10 — `a` was popped above and is pushed once.
            unsafe { s2.push(a, true) };
            b
        });
        let mut held: Vec<u32> = Vec::new();
        held.extend(victim.join().unwrap());
        held.extend(attacker.join().unwrap());
        assert_each_index_once(&stack, held, 3);
    });
}

#[test]
fn loom_three_threads_cycle_one_index_each() {
    loom::model(|| {
        let stack = Arc::new(Stack::new(2));
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let stack = stack.clone();
                thread::spawn(move || {
                    if let Some((i, _)) = stack.pop() {
                        // SAFETY: I1, I10 — `i` was just popped.
                        unsafe { stack.push(i, true) };
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        assert_each_index_once(&stack, Vec::new(), 2);
    });
}
