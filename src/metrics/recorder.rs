//! The metrics room during a run: what requests and sessions did, as their user sees it, and
//! the time series cut at every metrics interval.

use super::{Outcome, RunMetrics, SeriesRow};
use crate::time::SimTime;
use crate::workload::Breakdown;

/// What the deployments report when a time-series interval closes.
#[derive(Clone, Debug, Default)]
pub struct DeploymentInterval {
    /// Per deployment: tokens processed per minute in the interval, utilization at its end.
    pub per_dep: Vec<(f64, f64)>,
    /// Attempt-level 429s in the interval.
    pub rejected_429: u64,
    /// Attempt-level 408s in the interval.
    pub timed_out_408: u64,
}

#[derive(Default)]
struct Interval {
    arrivals: u64,
    completions: u64,
    failures: u64,
}

/// Request- and session-level measurements of one run, and its time series.
pub struct Recorder {
    m: RunMetrics,
    interval: Interval,
    interval_len: SimTime,
    next_sample: SimTime,
    in_flight: u64,
}

impl Recorder {
    /// A recorder cutting the time series every `interval_len`.
    pub fn new(interval_len: SimTime) -> Self {
        Recorder {
            m: RunMetrics::default(),
            interval: Interval::default(),
            interval_len,
            next_sample: interval_len,
            in_flight: 0,
        }
    }

    /// A session began.
    #[inline]
    pub fn session_started(&mut self) {
        self.m.sessions_started += 1;
    }

    /// A session completed every step, `duration` after it began, spent as `times`.
    #[inline]
    pub fn session_completed(&mut self, duration: SimTime, times: Breakdown) {
        self.m.sessions_completed += 1;
        self.m.session_duration.record(duration);
        let t = &mut self.m.session_times;
        t.think += times.think;
        t.waiting += times.waiting;
        t.queued += times.queued;
        t.prefill += times.prefill;
        t.generating += times.generating;
    }

    /// A session was abandoned after a failed request.
    #[inline]
    pub fn session_failed(&mut self) {
        self.m.sessions_failed += 1;
    }

    /// A request (one step's call) started.
    #[inline]
    pub fn request_started(&mut self) {
        self.m.sent += 1;
        self.interval.arrivals += 1;
        self.in_flight += 1;
    }

    /// A request succeeded now: `e2e` after it started, its first token `ttft` after it
    /// started, delivering `tokens` of the `want` completion tokens it asked for.
    #[inline]
    pub fn request_succeeded(
        &mut self,
        e2e: SimTime,
        ttft: SimTime,
        prompt: u32,
        tokens: u32,
        want: u32,
    ) {
        let m = &mut self.m;
        m.succeeded += 1;
        m.e2e.record(e2e);
        m.ttft.record(ttft);
        m.prompt_tokens += prompt as u64;
        m.completion_tokens += tokens as u64;
        m.wanted_tokens += want as u64;
        if want > tokens {
            m.truncated += 1;
        }
        self.interval.completions += 1;
        self.in_flight -= 1;
    }

    /// The client gave up on a request.
    #[inline]
    pub fn request_failed(&mut self, outcome: Outcome) {
        self.m.failed += 1;
        match outcome {
            Outcome::RateLimited => self.m.rate_limited += 1,
            Outcome::TimedOut => self.m.timed_out += 1,
            _ => {}
        }
        self.interval.failures += 1;
        self.in_flight -= 1;
    }

    /// An attempt that delivered no answer had generated `tokens` completion tokens.
    #[inline]
    pub fn wasted(&mut self, tokens: u32) {
        self.m.wasted_tokens += tokens as u64;
    }

    /// A live event was handled; returns the count so far.
    #[inline]
    pub fn event(&mut self) -> u64 {
        self.m.events += 1;
        self.m.events
    }

    /// Live events handled so far.
    pub fn events(&self) -> u64 {
        self.m.events
    }

    /// Moves the clock from `now` to `t`, closing every interval boundary passed on the way
    /// (`deps` reports the deployments' side of an interval ending at a time, of a length in
    /// minutes). Returns `t`.
    #[inline]
    pub fn advance(
        &mut self,
        now: SimTime,
        t: SimTime,
        deps: impl FnMut(SimTime, f64) -> DeploymentInterval,
    ) -> SimTime {
        let now = if t >= self.next_sample {
            self.close_intervals(now, t, deps)
        } else {
            now
        };
        self.m.in_flight_area += self.in_flight as u128 * (t - now).as_micros() as u128;
        t
    }

    #[cold]
    fn close_intervals(
        &mut self,
        mut now: SimTime,
        t: SimTime,
        mut deps: impl FnMut(SimTime, f64) -> DeploymentInterval,
    ) -> SimTime {
        while t >= self.next_sample {
            let b = self.next_sample;
            self.m.in_flight_area += self.in_flight as u128 * (b - now).as_micros() as u128;
            now = b;
            self.sample(b, &mut deps);
            self.next_sample = b + self.interval_len;
        }
        now
    }

    /// Writes the time-series row of the interval ending at `b` (allocates once per interval,
    /// not per event).
    fn sample(&mut self, b: SimTime, deps: &mut impl FnMut(SimTime, f64) -> DeploymentInterval) {
        let start = self.next_sample - self.interval_len;
        let len_min = (b - start).as_secs_f64() / 60.0;
        let d = deps(b, len_min);
        let iv = std::mem::take(&mut self.interval);
        self.m.series.push(SeriesRow {
            t: start,
            arrivals: iv.arrivals,
            completions: iv.completions,
            failures: iv.failures,
            rejected_429: d.rejected_429,
            timed_out_408: d.timed_out_408,
            in_flight: self.in_flight,
            deployments: d.per_dep,
        });
    }

    /// Ends the run at `now`: the last, partial interval is written when it has any length
    /// or anything happened in it (`deps_active`: the deployments counted something), also
    /// when the run ends exactly on a boundary but events happened at that instant (they
    /// belong to the interval starting there). Returns the request- and session-level
    /// metrics; the rooms add their own counters.
    pub fn finish(
        mut self,
        now: SimTime,
        deps_active: bool,
        mut deps: impl FnMut(SimTime, f64) -> DeploymentInterval,
    ) -> RunMetrics {
        let iv = &self.interval;
        let quiet = iv.arrivals + iv.completions + iv.failures == 0 && !deps_active;
        if now > self.next_sample - self.interval_len || !quiet {
            self.sample(now, &mut deps);
        }
        self.m.span = now;
        self.m.incomplete_requests = self.in_flight;
        self.m
    }
}
