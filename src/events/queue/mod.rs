//! The future-event list: ordered by `(time, insertion sequence)`, so simultaneous events run in
//! the order they were scheduled, identically on every run.
//!
//! Every key is unique (the sequence number), so the order of pops is fully determined by the
//! keys, whatever structure holds them. Three structures share one sequence counter, and `pop`
//! takes the smallest key among their fronts, exactly the order a single heap would give:
//!
//! - a timing wheel for most events: per-bucket lists of 2 ms, the current bucket sorted when it
//!   comes up, and a 4-ary min-heap for events more than 33.5 s ahead (see [`Wheel`]);
//! - FIFO *lanes* for timers with a fixed delay (a client timeout, a deployment's completion
//!   window), created in time order: O(1) to add and remove, and they do not crowd the heap
//!   (the smallest front is kept, so a pop looks at one lane, not all);
//! - *keyed* events (a deployment's next processor-sharing finish), at most one per key, kept in
//!   a small indexed heap: scheduling a key again replaces its pending event in place, so
//!   superseded events never reach the main heap.

mod keyed;
mod wheel;

use std::collections::VecDeque;

use keyed::Keyed;
use wheel::Wheel;

use crate::time::SimTime;

#[derive(Clone, Copy)]
struct Item<E> {
    /// `time << 64 | seq`: one integer comparison orders by time, then by insertion.
    key: u128,
    event: E,
}

/// No position (a key with no pending event, an empty list).
const NONE: u32 = u32::MAX;

/// A deterministic future-event list.
pub struct EventQueue<E> {
    main: Wheel<E>,
    lanes: Vec<VecDeque<Item<E>>>,
    /// The smallest key among the lanes' fronts (`u128::MAX` when every lane is empty) and
    /// its lane: kept up to date so that a pop does not scan the lanes.
    lane_best: (u128, usize),
    keyed: Keyed<E>,
    seq: u64,
}

/// A FIFO lane for timers whose times arrive in non-decreasing order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lane(usize);

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            main: Wheel::new(),
            lanes: Vec::new(),
            lane_best: (u128::MAX, 0),
            keyed: Keyed::new(),
            seq: 0,
        }
    }
}

/// Where the next event comes from.
enum Source {
    Main,
    Lane(usize),
    Keyed,
}

impl<E: Copy> EventQueue<E> {
    #[inline]
    fn key(&mut self, time: SimTime) -> u128 {
        self.seq += 1;
        ((time.as_micros() as u128) << 64) | self.seq as u128
    }

    /// Schedules `event` at `time` (not earlier than the last event popped).
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) {
        let item = Item {
            key: self.key(time),
            event,
        };
        self.main.push(item);
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
        if l.is_empty() && key < self.lane_best.0 {
            self.lane_best = (key, lane.0);
        }
        l.push_back(Item { key, event });
    }

    /// Finds the smallest key among the lanes' fronts again.
    fn rescan_lanes(&mut self) {
        self.lane_best = (u128::MAX, 0);
        for (n, l) in self.lanes.iter().enumerate() {
            if let Some(front) = l.front()
                && front.key < self.lane_best.0
            {
                self.lane_best = (front.key, n);
            }
        }
    }

    /// Schedules `event` at `time` as the one pending event of `key`, replacing the one it
    /// had (which will not be popped). Keys are small integers (a deployment's index).
    pub fn push_keyed(&mut self, key: usize, time: SimTime, event: E) {
        let item = Item {
            key: self.key(time),
            event,
        };
        self.keyed.set(key, item);
    }

    /// Removes the pending event of `key`, if any.
    pub fn cancel_keyed(&mut self, key: usize) {
        self.keyed.remove(key);
    }

    /// The earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let main_key = self.main.min_key();
        let mut best_key = main_key;
        let mut best = Source::Main;
        if self.lane_best.0 < best_key {
            (best_key, best) = (self.lane_best.0, Source::Lane(self.lane_best.1));
        }
        if self.keyed.has_entries()
            && let Some(k) = self.keyed.min_key()
            && k < best_key
        {
            (best_key, best) = (k, Source::Keyed);
        }
        if best_key == u128::MAX {
            // Only possible when every structure is empty (a real key has a sequence number
            // below `u64::MAX` in its low half).
            return None;
        }
        let item = match best {
            Source::Main => self.main.pop(main_key),
            Source::Lane(n) => {
                let item = self.lanes[n].pop_front()?;
                self.rescan_lanes();
                self.main.settle(&item);
                item
            }
            Source::Keyed => {
                let item = self.keyed.pop_min()?;
                self.main.settle(&item);
                item
            }
        };
        Some((SimTime::from_micros((item.key >> 64) as u64), item.event))
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.main.len() + self.lanes.iter().map(VecDeque::len).sum::<usize>() + self.keyed.len()
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

    #[test]
    fn a_keyed_event_scheduled_again_replaces_the_pending_one() {
        let mut q = EventQueue::default();
        q.push_keyed(3, SimTime(10), 'a');
        q.push(SimTime(5), 'b');
        q.push_keyed(3, SimTime(7), 'c');
        q.push_keyed(1, SimTime(20), 'd');
        q.push_keyed(1, SimTime(30), 'e');
        q.push_keyed(0, SimTime(1), 'f');
        q.cancel_keyed(0);
        assert_eq!(q.len(), 3);
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|x| x.1)).collect();
        assert_eq!(order, vec!['b', 'c', 'e']);
        assert!(q.is_empty());
    }

    /// A crowded current bucket: hundreds of events within its 2 ms, scheduled in any order
    /// while it is being popped (the sorted stack's linear and binary placements both).
    #[test]
    fn a_crowded_bucket_pops_in_key_order() {
        let mut q = EventQueue::default();
        let mut reference: Vec<(u64, u64)> = Vec::new();
        let mut x = 12345u64;
        let mut next = || {
            x = crate::rng::splitmix64(x);
            x
        };
        let (mut now, mut seq) = (0u64, 0u64);
        for round in 0..2_000 {
            let pushes = if round % 3 == 0 { 5 } else { 1 };
            for _ in 0..pushes {
                seq += 1;
                let t = now + next() % 1_500;
                q.push(SimTime(t), seq);
                reference.push((t, seq));
            }
            if next() % 2 == 0 {
                reference.sort();
                let (t, s) = reference.remove(0);
                assert_eq!(q.pop().map(|(qt, qs)| (qt.as_micros(), qs)), Some((t, s)));
                now = t;
            }
        }
        assert!(reference.len() > 100, "the bucket was never crowded");
        reference.sort();
        for (t, s) in reference {
            assert_eq!(q.pop().map(|(qt, qs)| (qt.as_micros(), qs)), Some((t, s)));
        }
        assert!(q.pop().is_none());
    }

    /// The delays the wheel must handle: the same microsecond, the same bucket, the next
    /// buckets, seconds ahead, and beyond the wheel's 33.5 s (the `far` heap).
    fn delay(raw: u64) -> u64 {
        match raw % 5 {
            0 => raw % 20,
            1 => raw % 20_000,
            2 => raw % 3_000_000,
            3 => raw % 40_000_000,
            _ => 30_000_000 + raw % 400_000_000,
        }
    }

    proptest! {
        #![proptest_config(crate::testkit::proptest_config(512))]
        /// The wheel against a sorted list, with delays from microseconds to minutes, long
        /// quiet spells (a lane event far ahead moves the clock while the wheel is empty) and
        /// many events at once.
        #[test]
        fn the_wheel_matches_a_sorted_reference(
            ops in prop::collection::vec((any::<u64>(), 0u8..8), 1..600),
        ) {
            let mut q = EventQueue::default();
            let lane = q.add_lane();
            let mut reference: Vec<(u64, u64)> = Vec::new();
            let (mut now, mut seq) = (0u64, 0u64);
            for (raw, op) in ops {
                if op <= 2 && !reference.is_empty() {
                    reference.sort();
                    let (t, s) = reference.remove(0);
                    let (qt, qs) = q.pop().unwrap();
                    prop_assert_eq!((qt.as_micros(), qs), (t, s));
                    now = t;
                } else if op == 7 {
                    // A timer an hour ahead in a lane.
                    seq += 1;
                    let t = now + 3_600_000_000 + raw % 1_000;
                    if reference.iter().all(|r| r.0 <= t) {
                        q.push_lane(lane, SimTime(t), seq);
                        reference.push((t, seq));
                    }
                } else {
                    for k in 0..1 + (op == 6) as u64 * (raw % 7) {
                        seq += 1;
                        let t = now + delay(raw.rotate_left(k as u32 * 7));
                        q.push(SimTime(t), seq);
                        reference.push((t, seq));
                    }
                }
                prop_assert_eq!(q.len(), reference.len());
            }
            reference.sort();
            for (t, s) in reference {
                let (qt, qs) = q.pop().unwrap();
                prop_assert_eq!((qt.as_micros(), qs), (t, s));
            }
            prop_assert!(q.pop().is_none());
        }
    }

    proptest! {
        #![proptest_config(crate::testkit::proptest_config(256))]
        /// Against an obviously correct model: a sorted list of (time, seq). Ops: pop (0, 3),
        /// push (1), push to a fixed-delay lane (2), schedule a keyed event (4), cancel one (5).
        #[test]
        fn matches_a_sorted_reference(ops in prop::collection::vec((0u64..50, 0u8..6), 1..300)) {
            let mut q = EventQueue::default();
            let lanes = [q.add_lane(), q.add_lane()];
            // (time, seq, key of a keyed event)
            let mut reference: Vec<(u64, u64, Option<u64>)> = Vec::new();
            let mut now = 0u64;
            let mut seq = 0u64;
            for (delay, op) in ops {
                if (op == 0 || op == 3) && !reference.is_empty() {
                    reference.sort();
                    let (t, s, _) = reference.remove(0);
                    let (qt, qs) = q.pop().unwrap();
                    prop_assert_eq!((qt.as_micros(), qs), (t, s));
                    now = t;
                } else if op == 1 {
                    seq += 1;
                    q.push(SimTime(now + delay), seq);
                    reference.push((now + delay, seq, None));
                } else if op == 4 {
                    let k = delay % 11;
                    seq += 1;
                    q.push_keyed(k as usize, SimTime(now + delay), seq);
                    reference.retain(|r| r.2 != Some(k));
                    reference.push((now + delay, seq, Some(k)));
                } else if op == 5 {
                    let k = delay % 11;
                    q.cancel_keyed(k as usize);
                    reference.retain(|r| r.2 != Some(k));
                } else {
                    // A fixed-delay timer: lane 0 is "+10", lane 1 is "+25".
                    let (lane, d) = if delay % 2 == 0 { (lanes[0], 10) } else { (lanes[1], 25) };
                    seq += 1;
                    q.push_lane(lane, SimTime(now + d), seq);
                    reference.push((now + d, seq, None));
                }
                prop_assert_eq!(q.len(), reference.len());
            }
        }
    }
}
