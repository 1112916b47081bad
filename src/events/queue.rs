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

use std::collections::VecDeque;

use crate::time::SimTime;

#[derive(Clone, Copy)]
struct Item<E> {
    /// `time << 64 | seq`: one integer comparison orders by time, then by insertion.
    key: u128,
    event: E,
}

impl<E> Item<E> {
    /// The wheel bucket of the item's time.
    #[inline]
    fn bucket(&self) -> u64 {
        ((self.key >> 64) as u64) >> GRAIN_BITS
    }
}

/// Children per node of a heap.
const ARITY: usize = 4;

/// No position (a key with no pending event, an empty list).
const NONE: u32 = u32::MAX;

/// A bucket of the wheel spans 2^11 us (2.05 ms) ...
const GRAIN_BITS: u32 = 11;
/// ... and the wheel has 2^14 of them: 33.5 s ahead of its current bucket. Buckets this narrow
/// hold one event or none at the rates a run usually has (hundreds of events per simulated
/// second), so moving a bucket into `near` and popping it rarely depend on how many events it
/// holds: with 8.2 ms buckets that count was a coin toss, and its mispredicted branches cost
/// more than the longer bitmap scans and the larger list heads (64 KiB) do.
const WHEEL_BITS: u32 = 14;
const SLOTS: usize = 1 << WHEEL_BITS;
const SLOT_MASK: u64 = SLOTS as u64 - 1;

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

/// A 4-ary min-heap by key (half the depth of a binary heap). A pop leaves a *hole* at the
/// root that the next push fills: when a pop is followed by a push, both cost one walk down
/// the heap (and a short walk up) instead of three walks.
struct Heap<E> {
    /// Heap-ordered; when `hole`, `items[0]` was popped and is not an event.
    items: Vec<Item<E>>,
    hole: bool,
}

/// The events of the wheel's current bucket, sorted by key, the smallest last: popping is
/// taking the last one. A bucket usually holds one event or none, and then there is nothing
/// to sort or to sift; a bucket that holds many is sorted once when it becomes current.
struct Sorted<E> {
    items: Vec<Item<E>>,
}

impl<E: Copy> Sorted<E> {
    /// The smallest key (`u128::MAX` when empty).
    #[inline]
    fn min_key(&self) -> u128 {
        self.items.last().map_or(u128::MAX, |i| i.key)
    }

    /// Adds `item`, keeping the order. A new event in the current bucket is usually among
    /// the next ones (a delay below the bucket's 2 ms), so its place is found from the end.
    /// Out of line: most events are scheduled further ahead, and the push they go through
    /// stays small.
    #[inline(never)]
    fn insert(&mut self, item: Item<E>) {
        let items = &self.items;
        let pos = if items.len() <= 8 {
            let mut pos = items.len();
            while pos > 0 && items[pos - 1].key < item.key {
                pos -= 1;
            }
            pos
        } else {
            // A crowded bucket (a high rate): a binary search, so that a run with thousands
            // of events per bucket pays O(log n) comparisons and one move of memory.
            items.partition_point(|i| i.key > item.key)
        };
        self.items.insert(pos, item);
    }

    /// Sorts what was appended since it was empty (a bucket's list, unsorted).
    #[inline]
    fn sort(&mut self) {
        if self.items.len() > 1 {
            // Keys are unique: an unstable sort gives the one order there is.
            self.items.sort_unstable_by(|a, b| b.key.cmp(&a.key));
        }
    }
}

/// The main store: a timing wheel, its current bucket sorted, and a heap for what lies beyond.
///
/// Time is cut into buckets of 2^11 us. Events up to the wheel's current bucket `cur` are in
/// `near`, sorted; events in the next 2^14 - 1 buckets wait, unsorted, in one list per
/// bucket (a slab of nodes: nothing is allocated once the slab has grown); events further
/// ahead go to the `far` heap. When `near` runs dry, the next non-empty bucket (found with a
/// bitmap) moves into it and is sorted (one event or none, usually: nothing to do). Most
/// events are scheduled seconds ahead, land in a list at O(1), and are popped from a sorted
/// handful when their bucket comes up, instead of from a heap of every pending event. The order is the keys' order whatever the structure: `near` holds
/// every listed event up to `cur` and lists hold only later buckets, so `near`'s smallest
/// key and `far`'s smallest key are the two candidates for the smallest one.
struct Wheel<E> {
    near: Sorted<E>,
    far: Heap<E>,
    /// The wheel's current bucket: events up to it are in `near`; lists hold the buckets
    /// `cur + 1 ..= cur + SLOTS - 1`.
    cur: u64,
    /// First node of each bucket's list (by `bucket & SLOT_MASK`), or [`NONE`].
    heads: Vec<u32>,
    /// Bit `i` set when list `i` is not empty.
    bits: Vec<u64>,
    nodes: Vec<Node<E>>,
    /// First free node, or [`NONE`].
    free: u32,
    /// Events in lists.
    listed: usize,
}

#[derive(Clone, Copy)]
struct Node<E> {
    item: Item<E>,
    next: u32,
}

/// Keyed events: at most one pending event per key, in an indexed binary min-heap.
struct Keyed<E> {
    /// `(item key, key)`, heap-ordered by the item key.
    heap: Vec<(u128, u32)>,
    /// Position of each key in `heap`, or [`NONE`].
    pos: Vec<u32>,
    /// The pending event of each key (meaningful when `pos` is not [`NONE`]).
    events: Vec<E>,
    /// The key whose entry was popped but is still at the root (see
    /// [`pop_min`](Keyed::pop_min)), or [`NONE`].
    held: u32,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            main: Wheel {
                near: Sorted { items: Vec::new() },
                far: Heap::default(),
                cur: 0,
                heads: vec![NONE; SLOTS],
                bits: vec![0; SLOTS / 64],
                nodes: Vec::new(),
                free: NONE,
                listed: 0,
            },
            lanes: Vec::new(),
            lane_best: (u128::MAX, 0),
            keyed: Keyed {
                heap: Vec::new(),
                pos: Vec::new(),
                events: Vec::new(),
                held: NONE,
            },
            seq: 0,
        }
    }
}

impl<E> Default for Heap<E> {
    fn default() -> Self {
        Heap {
            items: Vec::new(),
            hole: false,
        }
    }
}

/// Where the next event comes from.
enum Source {
    Main,
    Lane(usize),
    Keyed,
}

impl<E: Copy> Heap<E> {
    #[inline]
    fn len(&self) -> usize {
        self.items.len() - self.hole as usize
    }

    #[inline]
    fn push(&mut self, item: Item<E>) {
        if self.hole {
            self.hole = false;
            self.sift_down(0, item);
        } else {
            let n = self.items.len();
            self.items.push(item);
            self.sift_up(n, item);
        }
    }

    /// The smallest key (`u128::MAX` when empty).
    #[inline]
    fn min_key(&mut self) -> u128 {
        self.fill_hole();
        self.items.first().map_or(u128::MAX, |i| i.key)
    }

    /// Removes the smallest item, leaving a hole; call after [`min_key`](Self::min_key)
    /// found one.
    #[inline]
    fn pop(&mut self) -> Item<E> {
        debug_assert!(!self.hole && !self.items.is_empty());
        self.hole = true;
        self.items[0]
    }

    /// Places `item` at `pos` or above it.
    #[inline]
    fn sift_up(&mut self, mut pos: usize, item: Item<E>) {
        while pos > 0 {
            let parent = (pos - 1) / ARITY;
            if self.items[parent].key < item.key {
                break;
            }
            self.items[pos] = self.items[parent];
            pos = parent;
        }
        self.items[pos] = item;
    }

    /// Places `item` in the free slot at `pos` or below it, bottom-up: the hole first walks
    /// down to a leaf along the smaller children (no comparison with `item`, which usually
    /// belongs near the bottom: a new event is rarely the next one), then `item` moves up.
    #[inline]
    fn sift_down(&mut self, mut pos: usize, item: Item<E>) {
        let len = self.items.len();
        let h = &mut self.items[..];
        loop {
            let first = ARITY * pos + 1;
            let best = if first + ARITY <= len {
                // All four children exist: a fixed tournament choosing an index only.
                let ab = first + (h[first + 1].key < h[first].key) as usize;
                let cd = first + 2 + (h[first + 3].key < h[first + 2].key) as usize;
                if h[cd].key < h[ab].key { cd } else { ab }
            } else if first < len {
                let mut best = first;
                for j in first + 1..len {
                    if h[j].key < h[best].key {
                        best = j;
                    }
                }
                best
            } else {
                break;
            };
            h[pos] = h[best];
            pos = best;
        }
        self.sift_up(pos, item);
    }

    /// Removes the hole at the root, if any, by moving the last item there.
    #[inline]
    fn fill_hole(&mut self) {
        if self.hole {
            self.hole = false;
            let last = self.items.pop().expect("a hole is a slot of the heap");
            if !self.items.is_empty() {
                self.sift_down(0, last);
            }
        }
    }
}

impl<E: Copy> Wheel<E> {
    #[inline]
    fn len(&self) -> usize {
        self.near.items.len() + self.listed + self.far.len()
    }

    #[inline]
    fn push(&mut self, item: Item<E>) {
        let b = item.bucket();
        if b <= self.cur {
            self.near.insert(item);
        } else if b - self.cur < SLOTS as u64 {
            let slot = (b & SLOT_MASK) as usize;
            let node = Node {
                item,
                next: self.heads[slot],
            };
            let n = if self.free == NONE {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            } else {
                let n = self.free;
                self.free = self.nodes[n as usize].next;
                self.nodes[n as usize] = node;
                n
            };
            self.heads[slot] = n;
            self.bits[slot / 64] |= 1 << (slot % 64);
            self.listed += 1;
        } else {
            self.far.push(item);
        }
    }

    /// The smallest key (`u128::MAX` when empty); moves the next bucket into `near` when
    /// `near` is empty.
    #[inline]
    fn min_key(&mut self) -> u128 {
        let mut near = self.near.min_key();
        if near == u128::MAX && self.listed > 0 {
            self.advance();
            self.near.sort();
            near = self.near.min_key();
        }
        near.min(self.far.min_key())
    }

    /// Moves the next non-empty bucket's list into `near` (which is empty).
    fn advance(&mut self) {
        let start = ((self.cur + 1) & SLOT_MASK) as usize;
        let words = self.bits.len();
        let mut w = start / 64;
        let mut word = self.bits[w] & (!0u64 << (start % 64));
        let mut scanned = 0;
        while word == 0 {
            w = (w + 1) % words;
            word = self.bits[w];
            scanned += 1;
            debug_assert!(scanned <= words, "listed events but no list");
        }
        let slot = w * 64 + word.trailing_zeros() as usize;
        let ahead = (slot as u64).wrapping_sub(start as u64) & SLOT_MASK;
        self.cur += 1 + ahead;
        self.bits[w] &= !(1 << (slot % 64));
        let mut n = std::mem::replace(&mut self.heads[slot], NONE);
        while n != NONE {
            let node = self.nodes[n as usize];
            self.near.items.push(node.item);
            self.nodes[n as usize].next = self.free;
            self.free = n;
            self.listed -= 1;
            n = node.next;
        }
    }

    /// Removes the item with the smallest key, `key` (from [`min_key`](Self::min_key)).
    #[inline]
    fn pop(&mut self, key: u128) -> Item<E> {
        let item = if self.near.items.last().is_some_and(|i| i.key == key) {
            self.near.items.pop().expect("checked above")
        } else {
            self.far.pop()
        };
        self.settle(&item);
        item
    }

    /// After a pop at `item`'s time: an empty wheel restarts from the present, so that what
    /// is scheduled next lands in its lists and not in `far`.
    #[inline]
    fn settle(&mut self, item: &Item<E>) {
        if self.listed == 0 && self.near.items.is_empty() {
            self.cur = item.bucket();
        }
    }
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
        if !self.keyed.heap.is_empty()
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

impl<E: Copy> Keyed<E> {
    #[inline]
    fn min_key(&mut self) -> Option<u128> {
        self.settle();
        self.heap.first().map(|&(key, _)| key)
    }

    /// Removes the entry popped last, if it is still held at the root.
    #[inline]
    fn settle(&mut self) {
        if self.held != NONE {
            let k = std::mem::replace(&mut self.held, NONE);
            self.remove(k as usize);
        }
    }

    #[inline]
    fn place(&mut self, i: usize, entry: (u128, u32)) {
        self.heap[i] = entry;
        self.pos[entry.1 as usize] = i as u32;
    }

    fn set(&mut self, k: usize, item: Item<E>) {
        if self.held != NONE {
            if self.held as usize == k {
                // The key popped last is scheduled again: its entry, still at the root,
                // takes the new time in place (one walk down instead of a removal and an
                // insertion).
                self.held = NONE;
                self.events[k] = item.event;
                self.down(0, (item.key, k as u32));
                return;
            }
            self.settle();
        }
        if k >= self.pos.len() {
            self.pos.resize(k + 1, NONE);
            self.events.resize(k + 1, item.event);
        }
        self.events[k] = item.event;
        let entry = (item.key, k as u32);
        match self.pos[k] {
            NONE => {
                self.heap.push(entry);
                self.up(self.heap.len() - 1, entry);
            }
            p => {
                let i = p as usize;
                if entry.0 < self.heap[i].0 {
                    self.up(i, entry);
                } else {
                    self.down(i, entry);
                }
            }
        }
    }

    fn remove(&mut self, k: usize) {
        self.settle();
        let Some(&p) = self.pos.get(k) else { return };
        if p == NONE {
            return;
        }
        let i = p as usize;
        self.pos[k] = NONE;
        let last = self.heap.pop().expect("a pending key is in the heap");
        if i < self.heap.len() {
            if last.0 < self.heap[i].0 {
                self.up(i, last);
            } else {
                self.down(i, last);
            }
        }
    }

    /// The smallest entry; it stays at the root, *held*, until the next operation: when that
    /// is its key scheduled again (a deployment's next finish after this one), the entry is
    /// reused in place.
    fn pop_min(&mut self) -> Option<Item<E>> {
        self.settle();
        let (key, k) = *self.heap.first()?;
        self.held = k;
        Some(Item {
            key,
            event: self.events[k as usize],
        })
    }

    /// Events pending (a held entry is not).
    fn len(&self) -> usize {
        self.heap.len() - (self.held != NONE) as usize
    }

    /// Places `entry` at `i` or above it.
    fn up(&mut self, mut i: usize, entry: (u128, u32)) {
        while i > 0 {
            let p = (i - 1) / 2;
            if self.heap[p].0 < entry.0 {
                break;
            }
            self.place(i, self.heap[p]);
            i = p;
        }
        self.place(i, entry);
    }

    /// Places `entry` at `i` or below it.
    fn down(&mut self, mut i: usize, entry: (u128, u32)) {
        let len = self.heap.len();
        loop {
            let l = 2 * i + 1;
            if l >= len {
                break;
            }
            let c = l + (l + 1 < len && self.heap[l + 1].0 < self.heap[l].0) as usize;
            if entry.0 < self.heap[c].0 {
                break;
            }
            self.place(i, self.heap[c]);
            i = c;
        }
        self.place(i, entry);
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
