//! The main store of the future-event list: a timing wheel whose current bucket is sorted,
//! and a 4-ary heap for events beyond the wheel.

use super::{Item, NONE};

impl<E> Item<E> {
    /// The wheel bucket of the item's time.
    #[inline]
    pub(super) fn bucket(&self) -> u64 {
        ((self.key >> 64) as u64) >> GRAIN_BITS
    }
}

/// Children per node of a heap.
const ARITY: usize = 4;

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

/// A 4-ary min-heap by key (half the depth of a binary heap), for the events beyond the
/// wheel: few, and rarely popped.
struct Heap<E> {
    /// Heap-ordered.
    items: Vec<Item<E>>,
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
            self.items
                .sort_unstable_by_key(|i| std::cmp::Reverse(i.key));
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
/// handful when their bucket comes up, instead of from a heap of every pending event. The
/// order is the keys' order whatever the structure: `near` holds every listed event up to
/// `cur` and lists hold only later buckets, so `near`'s smallest key and `far`'s smallest key
/// are the two candidates for the smallest one.
pub(super) struct Wheel<E> {
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

impl<E> Default for Heap<E> {
    fn default() -> Self {
        Heap { items: Vec::new() }
    }
}

impl<E> Wheel<E> {
    /// An empty wheel at time zero.
    pub(super) fn new() -> Self {
        Wheel {
            near: Sorted { items: Vec::new() },
            far: Heap::default(),
            cur: 0,
            heads: vec![NONE; SLOTS],
            bits: vec![0; SLOTS / 64],
            nodes: Vec::new(),
            free: NONE,
            listed: 0,
        }
    }
}

impl<E: Copy> Heap<E> {
    #[inline]
    fn len(&self) -> usize {
        self.items.len()
    }

    #[inline]
    fn push(&mut self, item: Item<E>) {
        let n = self.items.len();
        self.items.push(item);
        self.sift_up(n, item);
    }

    /// The smallest key (`u128::MAX` when empty).
    #[inline]
    fn min_key(&self) -> u128 {
        self.items.first().map_or(u128::MAX, |i| i.key)
    }

    /// Removes the smallest item; call after [`min_key`](Self::min_key) found one.
    fn pop(&mut self) -> Item<E> {
        let last = self.items.pop().expect("pop on an empty heap");
        if self.items.is_empty() {
            return last;
        }
        let top = self.items[0];
        self.sift_down(0, last);
        top
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

    /// Places `item` in the free slot at `pos` or below it, bottom-up: the free slot first
    /// walks down to a leaf along the smaller children (no comparison with `item`, which
    /// usually belongs near the bottom), then `item` moves up.
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
}

impl<E: Copy> Wheel<E> {
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.near.items.len() + self.listed + self.far.len()
    }

    #[inline]
    pub(super) fn push(&mut self, item: Item<E>) {
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
    pub(super) fn min_key(&mut self) -> u128 {
        let mut near = self.near.min_key();
        if near == u128::MAX && self.listed > 0 {
            self.advance();
            near = self.near.min_key();
        }
        near.min(self.far.min_key())
    }

    /// Moves the next non-empty bucket's list into `near` (which is empty), sorted.
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
        self.near.sort();
    }

    /// Removes the item with the smallest key, `key` (from [`min_key`](Self::min_key)).
    #[inline]
    pub(super) fn pop(&mut self, key: u128) -> Item<E> {
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
    pub(super) fn settle(&mut self, item: &Item<E>) {
        if self.listed == 0 && self.near.items.is_empty() {
            self.cur = item.bucket();
        }
    }
}
