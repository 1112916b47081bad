//! API Management's backend circuit breaker as a state machine.

use std::collections::VecDeque;

use super::{BreakerSpec, TripRule};
use crate::time::SimTime;

/// The state of a circuit breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    /// Forwarding; failures are counted.
    Closed,
    /// Not forwarding until the given time.
    Open {
        /// When it lets a probe through.
        until: SimTime,
    },
    /// One probe was let through; its answer closes or re-opens the breaker. Another probe
    /// goes when `probe_until` passes without an answer.
    HalfOpen {
        /// When another probe may go.
        probe_until: SimTime,
    },
}

/// One circuit breaker: the state machine of API Management's backend circuit breaker
/// (count or percentage of failing answers in a rolling interval, trip duration or accepted
/// Retry-After), with a half-open probe.
#[derive(Clone, Debug)]
pub struct Breaker {
    state: BreakerState,
    /// Answers in the rolling interval, oldest first: `(time, failed)`.
    events: VecDeque<(SimTime, bool)>,
    failures: u32,
    /// Times it tripped.
    pub trips: u64,
    /// Total time it was set open for (each trip's open span, capped at the horizon given).
    pub open_time: SimTime,
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker {
            state: BreakerState::Closed,
            events: VecDeque::new(),
            failures: 0,
            trips: 0,
            open_time: SimTime::ZERO,
        }
    }
}

impl Breaker {
    /// The current state (as last updated; see [`Breaker::available`]).
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// Whether a forward may go now (closed, open past its end, or half-open with no probe
    /// pending). Does not change the state.
    #[inline]
    pub fn available(&self, now: SimTime) -> bool {
        match self.state {
            BreakerState::Closed => true,
            BreakerState::Open { until } => now >= until,
            BreakerState::HalfOpen { probe_until } => now >= probe_until,
        }
    }

    /// Until when the breaker blocks forwards (`now` or earlier when it does not).
    pub fn blocked_until(&self) -> SimTime {
        match self.state {
            BreakerState::Closed => SimTime::ZERO,
            BreakerState::Open { until } => until,
            BreakerState::HalfOpen { probe_until } => probe_until,
        }
    }

    /// A forward goes through the breaker at `now` (it must be [`available`](Self::available)):
    /// an open breaker past its end becomes half-open and this forward is its probe.
    pub fn on_forward(&mut self, spec: &BreakerSpec, now: SimTime) {
        match self.state {
            BreakerState::Closed => {}
            BreakerState::Open { .. } | BreakerState::HalfOpen { .. } => {
                self.state = BreakerState::HalfOpen {
                    probe_until: now + spec.trip_duration,
                };
            }
        }
    }

    /// The backend answered `status` (200 on success) at `now`, with a Retry-After of
    /// `retry_after` if any. Returns whether the breaker tripped. `horizon` caps the open
    /// time counted in [`Breaker::open_time`].
    pub fn on_result(
        &mut self,
        spec: &BreakerSpec,
        now: SimTime,
        status: u16,
        retry_after: Option<SimTime>,
        horizon: SimTime,
    ) -> bool {
        let failed = spec.statuses.contains(status);
        match self.state {
            BreakerState::Open { .. } => false, // an answer to a forward sent before the trip
            BreakerState::HalfOpen { .. } => {
                if failed {
                    self.trip(spec, now, retry_after, horizon);
                    true
                } else {
                    self.state = BreakerState::Closed;
                    self.events.clear();
                    self.failures = 0;
                    false
                }
            }
            BreakerState::Closed => {
                self.events.push_back((now, failed));
                self.failures += failed as u32;
                while let Some(&(t, f)) = self.events.front() {
                    if t + spec.interval <= now {
                        self.events.pop_front();
                        self.failures -= f as u32;
                    } else {
                        break;
                    }
                }
                let trip = failed
                    && match spec.rule {
                        TripRule::Count(n) => self.failures >= n,
                        TripRule::Percent {
                            percent,
                            min_requests,
                        } => {
                            let total = self.events.len() as u32;
                            total >= min_requests
                                && self.failures as f64 * 100.0 >= percent * total as f64
                        }
                    };
                if trip {
                    self.trip(spec, now, retry_after, horizon);
                }
                trip
            }
        }
    }

    fn trip(
        &mut self,
        spec: &BreakerSpec,
        now: SimTime,
        retry_after: Option<SimTime>,
        horizon: SimTime,
    ) {
        let span = match retry_after {
            Some(ra) if spec.accept_retry_after && ra > SimTime::ZERO => {
                spec.retry_after_cap.map_or(ra, |cap| ra.min(cap))
            }
            _ => spec.trip_duration,
        };
        let until = now.saturating_add(span);
        self.state = BreakerState::Open { until };
        self.events.clear();
        self.failures = 0;
        self.trips += 1;
        self.open_time += until.min(horizon).saturating_sub(now);
    }
}
