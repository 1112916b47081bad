//! The future-event list: ordered by `(time, insertion sequence)`, so simultaneous events run in
//! the order they were scheduled, identically on every run.
//!
//! Most events go into a binary heap. Timers with a fixed delay (a client timeout, a
//! deployment's completion window) are created in time order, so each such delay gets a FIFO
//! *lane* instead: O(1) to add and remove, and they do not crowd the heap. `pop` takes the
//! smallest key among the heap's top and the lanes' fronts; keys share one sequence counter, so
//! the order is exactly what a single heap would give.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

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
    lanes: Vec<VecDeque<Item<E>>>,
    seq: u64,
}

/// A FIFO lane for timers whose times arrive in non-decreasing order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lane(usize);

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            lanes: Vec::new(),
            seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    #[inline]
    fn key(&mut self, time: SimTime) -> u128 {
        self.seq += 1;
        ((time.as_micros() as u128) << 64) | self.seq as u128
    }

    /// Schedules `event` at `time`.
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) {
        let key = self.key(time);
        self.heap.push(Item { key, event });
    }

    /// A new lane.
    pub fn add_lane(&mut self) -> Lane {
        self.lanes.push(VecDeque::new());
        Lane(self.lanes.len() - 1)
    }

    /// Schedules `event` at `time` in `lane`; `time` must not be earlier than the lane's last.
    #[inline]
    pub fn push_lane(&mut self, lane: Lane, time: SimTime, event: E) {
        let key = self.key(time);
        let l = &mut self.lanes[lane.0];
        debug_assert!(
            l.back().is_none_or(|b| b.key < key),
            "lane times must not decrease"
        );
        l.push_back(Item { key, event });
    }

    /// The earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let mut best: Option<(u128, usize)> = self.heap.peek().map(|i| (i.key, usize::MAX));
        for (n, l) in self.lanes.iter().enumerate() {
            if let Some(front) = l.front()
                && best.is_none_or(|(k, _)| front.key < k)
            {
                best = Some((front.key, n));
            }
        }
        let item = match best? {
            (_, usize::MAX) => self.heap.pop()?,
            (_, n) => self.lanes[n].pop_front()?,
        };
        Some((SimTime::from_micros((item.key >> 64) as u64), item.event))
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.heap.len() + self.lanes.iter().map(VecDeque::len).sum::<usize>()
    }

    /// Bytes the waiting events take (not counting spare capacity).
    pub fn bytes(&self) -> usize {
        self.len() * std::mem::size_of::<Item<E>>()
    }

    /// Whether no event waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        #![proptest_config(crate::testkit::proptest_config(256))]
        /// Against an obviously correct model: a sorted list of (time, seq).
        #[test]
        fn matches_a_sorted_reference(ops in prop::collection::vec((0u64..50, 0u8..4), 1..300)) {
            let mut q = EventQueue::default();
            let lanes = [q.add_lane(), q.add_lane()];
            let mut reference: Vec<(u64, u64)> = Vec::new();
            let mut now = 0u64;
            let mut seq = 0u64;
            for (delay, op) in ops {
                if (op == 0 || op == 3) && !reference.is_empty() {
                    reference.sort();
                    let (t, s) = reference.remove(0);
                    let (qt, qs) = q.pop().unwrap();
                    prop_assert_eq!((qt.as_micros(), qs), (t, s));
                    now = t;
                } else if op == 1 {
                    seq += 1;
                    q.push(SimTime(now + delay), seq);
                    reference.push((now + delay, seq));
                } else {
                    // A fixed-delay timer: lane 0 is "+10", lane 1 is "+25".
                    let (lane, d) = if delay % 2 == 0 { (lanes[0], 10) } else { (lanes[1], 25) };
                    seq += 1;
                    q.push_lane(lane, SimTime(now + d), seq);
                    reference.push((now + d, seq));
                }
                prop_assert_eq!(q.len(), reference.len());
            }
        }
    }
}
