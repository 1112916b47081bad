//! What a trace reader remembers between rows, kept small whatever the trace's length:
//!
//! - [`Sessions`]: the sessions still open (seen within `session_idle` of the current row),
//!   to number their steps and measure the gaps between them. A session silent for longer
//!   is forgotten; if its id comes back, that is a new session. Memory: one entry (~80 bytes)
//!   per session open at once, not per session ever seen.
//! - [`Blocks`]: the prompt blocks (Mooncake's `hash_ids`) that earlier requests sent, to
//!   tell how much of a prompt a prefix cache would hold. Mooncake numbers blocks in the order
//!   they first appear, so "seen" is "below the next new id": one counter. Ids that arrive out
//!   of that order are kept in a set until the counter reaches them (8-16 bytes each).
//! - [`keep_session`]: the deterministic sampling of sessions.

use std::collections::{HashMap, HashSet};

use crate::rng::{derive_seed, splitmix64};

/// A session id as a trace writes it: a whole number, or text (kept as its 64-bit hash).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SessionKey {
    /// A whole-number id.
    Number(u64),
    /// The FNV-1a hash of a text id.
    Text(u64),
}

impl SessionKey {
    /// The key of a text id (a whole number when it is one).
    pub fn from_text(text: &str) -> SessionKey {
        match text.parse::<u64>() {
            Ok(n) => SessionKey::Number(n),
            Err(_) => SessionKey::Text(fnv1a(text.as_bytes())),
        }
    }
}

/// FNV-1a, 64 bits: a stable hash of text ids (not keyed: the same on every machine).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// One open session.
#[derive(Clone, Copy, Debug)]
pub struct Open {
    /// The replay's session number (sessions are numbered in order of first appearance).
    pub id: u64,
    /// Steps replayed so far (the next replayed step's number).
    pub kept: u32,
    /// Trace time of the session's last row (replayed or not), microseconds.
    pub last_row: i64,
    /// Trace time of its last replayed step.
    pub last_kept: i64,
    /// The recorded duration of its last replayed step, when the trace has one.
    pub last_elapsed: Option<i64>,
    /// The `step` column of its last row, when the trace has one.
    pub last_step: Option<u32>,
}

impl Open {
    fn new(id: u64, t: i64) -> Open {
        Open {
            id,
            kept: 0,
            last_row: t,
            last_kept: t,
            last_elapsed: None,
            last_step: None,
        }
    }
}

/// The open sessions of a trace, and the numbering of new ones.
#[derive(Debug)]
pub struct Sessions {
    open: HashMap<SessionKey, Open>,
    next_id: u64,
    idle_us: i64,
    rows_since_sweep: usize,
}

impl Sessions {
    /// No session open yet; sessions silent for more than `idle_us` close.
    pub fn new(idle_us: i64) -> Sessions {
        Sessions {
            open: HashMap::new(),
            next_id: 0,
            idle_us,
            rows_since_sweep: 0,
        }
    }

    /// The session of a row at trace time `t` with session id `key` and `step` column, as it
    /// was before this row: an open session, or a new one (a row without an id is a session
    /// of its own; an id silent for longer than the idle time, or whose `step` restarts at 0,
    /// starts a new session). Records the row as the session's last.
    /// `Err(previous step)` when `step` does not increase.
    pub fn row(&mut self, key: Option<SessionKey>, t: i64, step: Option<u32>) -> Result<Open, u32> {
        let Some(key) = key else {
            self.next_id += 1;
            return Ok(Open::new(self.next_id - 1, t));
        };
        self.rows_since_sweep += 1;
        // Sweep once per as many rows as sessions are open: O(1) per row on average.
        if self.rows_since_sweep >= self.open.len().max(4096) {
            self.sweep(t);
        }
        let idle = self.idle_us;
        let next_id = &mut self.next_id;
        let o = self.open.entry(key).or_insert_with(|| {
            *next_id += 1;
            Open::new(*next_id - 1, t)
        });
        let restart = match (step, o.last_step) {
            _ if t - o.last_row > idle => true,
            (Some(s), Some(p)) if s <= p => match s {
                0 => true,
                _ => return Err(p),
            },
            _ => false,
        };
        if restart {
            *o = Open::new(*next_id, t);
            *next_id += 1;
        }
        let before = *o;
        o.last_row = t;
        o.last_step = step;
        Ok(before)
    }

    /// Records that session `key`'s row at `t` was replayed, with its recorded duration.
    pub fn replayed(&mut self, key: Option<SessionKey>, t: i64, elapsed: Option<i64>) {
        if let Some(o) = key.and_then(|k| self.open.get_mut(&k)) {
            o.kept += 1;
            o.last_kept = t;
            o.last_elapsed = elapsed;
        }
    }

    /// Forgets the sessions silent for longer than the idle time at `now` (they would start
    /// afresh anyway); only memory changes, never what is read.
    fn sweep(&mut self, now: i64) {
        let idle = self.idle_us;
        self.open.retain(|_, o| now - o.last_row <= idle);
        self.rows_since_sweep = 0;
    }

    /// Sessions open now (for the memory figures).
    pub fn len(&self) -> usize {
        self.open.len()
    }
}

/// The prompt blocks that earlier requests sent.
#[derive(Debug, Default)]
pub struct Blocks {
    /// Every id below this has been seen.
    below: u64,
    /// Seen ids at or above `below` (out of first-appearance order).
    above: HashSet<u64>,
}

impl Blocks {
    fn seen(&self, id: u64) -> bool {
        id < self.below || self.above.contains(&id)
    }

    /// How many leading ids of one request an earlier request already sent; then records the
    /// request's ids as sent.
    pub fn leading_seen_then_add(&mut self, ids: &[u64]) -> usize {
        let lead = ids.iter().take_while(|&&id| self.seen(id)).count();
        for &id in &ids[lead..] {
            if id == self.below {
                self.below += 1;
                while self.above.remove(&self.below) {
                    self.below += 1;
                }
            } else if id > self.below {
                self.above.insert(id);
            }
        }
        lead
    }

    /// Ids kept in the set (0 when the trace numbers blocks in order of first appearance).
    pub fn out_of_order(&self) -> usize {
        self.above.len()
    }
}

/// Whether session `id` is in the sample of `fraction` of sessions drawn with `seed`: its
/// hash, as a number in [0, 1), is below `fraction`. The same seed keeps the same sessions,
/// and a smaller fraction keeps a subset of a larger one's.
pub fn keep_session(seed: u64, id: u64, fraction: f64) -> bool {
    const TRACE_SAMPLE: u64 = 0x5452_4143_4553; // "TRACES"
    let h = splitmix64(derive_seed(&[seed, TRACE_SAMPLE, id]));
    ((h >> 11) as f64 / (1u64 << 53) as f64) < fraction
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_count_leading_ids_sent_before() {
        let mut b = Blocks::default();
        assert_eq!(b.leading_seen_then_add(&[0, 1, 2]), 0);
        assert_eq!(b.leading_seen_then_add(&[0, 1, 3]), 2);
        // Not leading: 2 was seen but 4 before it was not.
        assert_eq!(b.leading_seen_then_add(&[4, 2]), 0);
        // Ids within one request do not count as sent before it.
        assert_eq!(b.leading_seen_then_add(&[9, 9]), 0);
        assert_eq!(b.out_of_order(), 1); // 9 (5..=8 not seen yet)
        assert_eq!(b.leading_seen_then_add(&[0, 9, 5]), 2);
        for id in 6..=8 {
            b.leading_seen_then_add(&[id]);
        }
        assert_eq!(b.out_of_order(), 0);
        assert_eq!(b.below, 10);
    }

    #[test]
    fn sessions_are_numbered_in_order_and_close_when_idle() {
        let mut s = Sessions::new(100);
        let a = Some(SessionKey::from_text("a"));
        let id = |o: Result<Open, u32>| o.map(|o| (o.id, o.kept));
        assert_eq!(id(s.row(a, 0, None)), Ok((0, 0)));
        s.replayed(a, 0, None);
        assert_eq!(id(s.row(None, 10, None)), Ok((1, 0)));
        assert_eq!(id(s.row(a, 50, None)), Ok((0, 1)));
        // Silent for 101 > 100: a new session.
        assert_eq!(id(s.row(a, 151, None)), Ok((2, 0)));
        assert_eq!(s.len(), 1);
        // Steps must increase; 0 restarts.
        let b = Some(SessionKey::Number(9));
        assert_eq!(id(s.row(b, 160, Some(0))), Ok((3, 0)));
        assert_eq!(id(s.row(b, 161, Some(2))), Ok((3, 0)));
        assert_eq!(s.row(b, 162, Some(2)).map(|_| ()), Err(2));
        assert_eq!(id(s.row(b, 163, Some(0))), Ok((4, 0)));
        assert_eq!(SessionKey::from_text("17"), SessionKey::Number(17));
        assert_ne!(SessionKey::from_text("x17"), SessionKey::from_text("x18"));
    }

    #[test]
    fn sampling_is_deterministic_and_nested() {
        let kept = |seed, f| {
            (0..10_000)
                .filter(|&id| keep_session(seed, id, f))
                .collect::<Vec<u64>>()
        };
        let tenth = kept(7, 0.1);
        assert_eq!(tenth, kept(7, 0.1));
        assert!((900..1100).contains(&tenth.len()), "{}", tenth.len());
        let half = kept(7, 0.5);
        assert!(tenth.iter().all(|id| half.contains(id)));
        assert_ne!(tenth, kept(8, 0.1));
        assert_eq!(kept(7, 1.0).len(), 10_000);
    }
}
