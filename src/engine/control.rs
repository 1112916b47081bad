//! What may stop a run before its end, and the window through which progress is watched.
//!
//! The engine looks at these every [`CHECK_EVERY`] events (one mask test per event), so a
//! run that goes astray (more events than its budget, per-session state beyond its memory
//! budget, a clock that stopped advancing, or Ctrl-C) stops within a few thousand events with
//! a [`Stopped`] reason instead of running on.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::time::SimTime;

/// The engine checks its [`Control`] once every this many events.
pub const CHECK_EVERY: u64 = 1 << 14;

/// A clock that has not moved for this many checks ([`CHECK_EVERY`] events each) is stalled.
pub const STALL_CHECKS: u32 = 64;

/// Default event budget of a run: about a minute or two of one core.
pub const DEFAULT_MAX_EVENTS: u64 = 1_000_000_000;

/// Default budget for per-session state (the slabs of sessions in flight), bytes.
pub const DEFAULT_MAX_STATE_BYTES: u64 = 1 << 30;

/// Limits and observers of one run.
#[derive(Clone, Copy, Debug)]
pub struct Control<'a> {
    /// Stop once more events than this were handled.
    pub max_events: u64,
    /// Stop when the per-session state of the sessions in flight would take more bytes.
    pub max_state_bytes: u64,
    /// Stop when this flag is set (by a Ctrl-C handler).
    pub interrupt: Option<&'a AtomicBool>,
    /// Where the simulated time reached (microseconds) is published for a progress display.
    pub progress: Option<&'a AtomicU64>,
}

impl Default for Control<'_> {
    /// No event or memory budget, no observers (library use; the command line sets budgets).
    fn default() -> Self {
        Control {
            max_events: u64::MAX,
            max_state_bytes: u64::MAX,
            interrupt: None,
            progress: None,
        }
    }
}

/// Why a run stopped before its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    /// More events than the budget.
    Events {
        /// The budget.
        limit: u64,
        /// Simulated time reached.
        at: SimTime,
    },
    /// Per-session state over its budget.
    Memory {
        /// Sessions in flight.
        sessions: u64,
        /// Bytes they would take.
        bytes: u64,
        /// The budget.
        limit: u64,
        /// Simulated time reached.
        at: SimTime,
    },
    /// The clock stopped advancing: events kept coming at one instant (e.g. retries with no
    /// backoff against a backend that always fails).
    Stalled {
        /// The instant.
        at: SimTime,
        /// Events handled at it (at least).
        events: u64,
    },
    /// Interrupted (Ctrl-C).
    Interrupted {
        /// Simulated time reached.
        at: SimTime,
    },
}

impl Stopped {
    /// One line saying what happened and what to do, in the domain's words.
    pub fn describe(&self, horizon: SimTime) -> String {
        let pct = |at: SimTime| 100.0 * at.as_secs_f64() / horizon.as_secs_f64().max(1e-9);
        match *self {
            Stopped::Events { limit, at } => format!(
                "the run handled more than {limit} events (the budget) by simulated time {at} \
                 ({:.1}% of duration + drain); shorten the run or raise the budget with \
                 --max-events N",
                pct(at)
            ),
            Stopped::Memory {
                sessions,
                bytes,
                limit,
                at,
            } => format!(
                "{sessions} sessions in flight at simulated time {at} would take {} MB of \
                 state, over the budget of {} MB; lower the load (users, rate) or raise the \
                 budget with --max-state-mb N",
                bytes >> 20,
                limit >> 20
            ),
            Stopped::Stalled { at, events } => format!(
                "simulated time stopped advancing at {at}: more than {events} events at that \
                 instant (retries with no backoff against a backend that keeps failing?); \
                 give the client a backoff (client.backoff_initial) or fewer retries"
            ),
            Stopped::Interrupted { at } => format!("interrupted at simulated time {at}"),
        }
    }
}

/// The engine's side of a [`Control`]: what it needs between checks.
#[derive(Debug)]
pub(super) struct Watch<'a> {
    control: Control<'a>,
    last_time: SimTime,
    still: u32,
}

impl<'a> Watch<'a> {
    pub(super) fn new(control: Control<'a>) -> Self {
        Watch {
            control,
            last_time: SimTime::MAX,
            still: 0,
        }
    }

    /// The periodic check, at `now` after `events` events with `state_bytes` of per-session
    /// state held by `sessions` slots.
    pub(super) fn check(
        &mut self,
        now: SimTime,
        events: u64,
        sessions: u64,
        state_bytes: u64,
    ) -> Option<Stopped> {
        let c = &self.control;
        if let Some(p) = c.progress {
            p.store(now.as_micros(), Ordering::Relaxed);
        }
        if c.interrupt.is_some_and(|f| f.load(Ordering::Relaxed)) {
            return Some(Stopped::Interrupted { at: now });
        }
        if events > c.max_events {
            return Some(Stopped::Events {
                limit: c.max_events,
                at: now,
            });
        }
        if state_bytes > c.max_state_bytes {
            return Some(Stopped::Memory {
                sessions,
                bytes: state_bytes,
                limit: c.max_state_bytes,
                at: now,
            });
        }
        if now == self.last_time {
            self.still += 1;
            if self.still >= STALL_CHECKS {
                return Some(Stopped::Stalled {
                    at: now,
                    events: self.still as u64 * CHECK_EVERY,
                });
            }
        } else {
            self.last_time = now;
            self.still = 0;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_that_stops_is_caught_and_one_that_moves_is_not() {
        let mut w = Watch::new(Control::default());
        let t = SimTime::from_secs(5);
        // The first check at `t` sees the clock arrive there; the next ones see it stand.
        for i in 0..STALL_CHECKS {
            assert_eq!(w.check(t, i as u64, 1, 0), None);
        }
        assert!(matches!(
            w.check(t, 99, 1, 0),
            Some(Stopped::Stalled { at, .. }) if at == t
        ));
        let mut w = Watch::new(Control::default());
        for i in 0..10 * STALL_CHECKS as u64 {
            assert_eq!(w.check(SimTime(i), i, 1, 0), None);
        }
    }

    #[test]
    fn budgets_and_the_interrupt_flag_stop_a_run() {
        let flag = AtomicBool::new(false);
        let seen = AtomicU64::new(0);
        let c = Control {
            max_events: 100,
            max_state_bytes: 1000,
            interrupt: Some(&flag),
            progress: Some(&seen),
        };
        let mut w = Watch::new(c);
        let t = SimTime::from_secs(1);
        assert_eq!(w.check(t, 100, 1, 1000), None);
        assert_eq!(seen.load(Ordering::Relaxed), 1_000_000);
        assert!(matches!(
            w.check(t, 101, 1, 0),
            Some(Stopped::Events { limit: 100, .. })
        ));
        assert!(matches!(
            w.check(t, 1, 9, 1001),
            Some(Stopped::Memory { sessions: 9, .. })
        ));
        flag.store(true, Ordering::Relaxed);
        assert_eq!(w.check(t, 1, 1, 0), Some(Stopped::Interrupted { at: t }));
        let msg = Stopped::Events { limit: 100, at: t }.describe(SimTime::from_secs(10));
        assert!(
            msg.contains("--max-events") && msg.contains("10.0%"),
            "{msg}"
        );
    }
}
