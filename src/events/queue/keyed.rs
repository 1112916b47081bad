//! Keyed events: at most one pending event per key (a deployment's next processor-sharing
//! finish), replaced in place when the key is scheduled again.

use super::{Item, NONE};

/// Keyed events: at most one pending event per key, in an indexed binary min-heap.
pub(super) struct Keyed<E> {
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

impl<E> Keyed<E> {
    /// No key, no event.
    pub(super) fn new() -> Self {
        Keyed {
            heap: Vec::new(),
            pos: Vec::new(),
            events: Vec::new(),
            held: NONE,
        }
    }

    /// Whether the heap has an entry (pending, or popped and still held at the root).
    #[inline]
    pub(super) fn has_entries(&self) -> bool {
        !self.heap.is_empty()
    }
}

impl<E: Copy> Keyed<E> {
    #[inline]
    pub(super) fn min_key(&mut self) -> Option<u128> {
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

    pub(super) fn set(&mut self, k: usize, item: Item<E>) {
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

    pub(super) fn remove(&mut self, k: usize) {
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
    pub(super) fn pop_min(&mut self) -> Option<Item<E>> {
        self.settle();
        let (key, k) = *self.heap.first()?;
        self.held = k;
        Some(Item {
            key,
            event: self.events[k as usize],
        })
    }

    /// Events pending (a held entry is not).
    pub(super) fn len(&self) -> usize {
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
