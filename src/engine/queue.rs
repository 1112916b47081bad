//! The event queue: a binary heap ordered by `(time, insertion sequence)`, so simultaneous
//! events run in the order they were scheduled, identically on every run.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::time::SimTime;

struct Item<E> {
    /// `time << 64 | seq`: one integer comparison orders by time, then by insertion.
    key: u128,
    event: E,
}

impl<E> PartialEq for Item<E> {
    fn eq(&self, o: &Self) -> bool {
        self.key == o.key
    }
}
impl<E> Eq for Item<E> {}
impl<E> PartialOrd for Item<E> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Item<E> {
    // Reversed for a min-heap.
    fn cmp(&self, o: &Self) -> Ordering {
        o.key.cmp(&self.key)
    }
}

/// A deterministic future-event list.
pub struct EventQueue<E> {
    heap: BinaryHeap<Item<E>>,
    seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// Schedules `event` at `time`.
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) {
        self.seq += 1;
        self.heap.push(Item {
            key: ((time.as_micros() as u128) << 64) | self.seq as u128,
            event,
        });
    }

    /// The earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.heap
            .pop()
            .map(|i| (SimTime::from_micros((i.key >> 64) as u64), i.event))
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no event waits.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ties_pop_in_insertion_order() {
        let mut q = EventQueue::default();
        q.push(SimTime(5), 'a');
        q.push(SimTime(1), 'b');
        q.push(SimTime(5), 'c');
        q.push(SimTime(1), 'd');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|x| x.1)).collect();
        assert_eq!(order, vec!['b', 'd', 'a', 'c']);
    }

    proptest! {
        /// Against an obviously correct model: a sorted list of (time, seq).
        #[test]
        fn matches_a_sorted_reference(ops in prop::collection::vec((0u64..50, 0u8..3), 1..300)) {
            let mut q = EventQueue::default();
            let mut reference: Vec<(u64, u64)> = Vec::new();
            let mut now = 0u64;
            let mut seq = 0u64;
            for (delay, op) in ops {
                if op == 0 && !reference.is_empty() {
                    reference.sort();
                    let (t, s) = reference.remove(0);
                    let (qt, qs) = q.pop().unwrap();
                    prop_assert_eq!((qt.as_micros(), qs), (t, s));
                    now = t;
                } else {
                    seq += 1;
                    q.push(SimTime(now + delay), seq);
                    reference.push((now + delay, seq));
                }
                prop_assert_eq!(q.len(), reference.len());
            }
        }
    }
}
