//! What a run measures: counters, HDR histograms and the time series, fed by the rooms
//! while the run goes, and the `spillway.summary/v1` document built from them after it.
//!
//! Each room counts what it alone sees (a deployment its admissions and 429s, the gateway its
//! forwards, the client its retries); this module owns what is measured of *requests and
//! sessions* as the user sees them ([`Recorder`]) and assembles the whole [`RunMetrics`] at
//! the end. Nothing here allocates per event; percentiles come from histograms with 3
//! significant digits, means are exact sums. [`summary`] turns a run into a
//! [`VariantSummary`]; [`record`] is the per-request record streamed to sinks; [`audit`] lets
//! tests watch internal steps.

pub mod audit;
pub mod record;
mod recorder;
pub mod summary;
mod trace_summary;
mod verdicts;

use std::cell::OnceCell;
use std::sync::OnceLock;

use hdrhistogram::Histogram;

use crate::time::SimTime;
pub use audit::Audit;
pub use record::{CLIENT_TIMEOUT, Outcome, RequestRecord, RequestSink};
pub use recorder::{DeploymentInterval, Recorder};
pub use summary::*;
pub use trace_summary::TraceSummary;
pub use verdicts::{LoadSummary, SloSummary, SloVerdict};

/// A latency distribution in microseconds: counts laid out as an HDR histogram's (3
/// significant digits, 1 us to 100 days), plus an exact sum.
///
/// Recording is the hot path (twice per request), so it increments the count of the value's
/// bucket directly; the [`Histogram`] itself is built from the counts when a figure is asked
/// for. The result is the histogram that recording every value would have given (the tests
/// compare the two, and `hdr_index` with the crate's own bucket of every value).
#[derive(Clone, Debug)]
pub struct Latency {
    /// Values recorded in each bucket, indexed as the histogram's counts.
    counts: Vec<u64>,
    sum_us: u128,
    /// The histogram built from `counts`, once a figure was asked for (emptied by a record).
    built: OnceCell<Histogram<u64>>,
}

/// The histogram's bounds: 1 us to 100 days, 3 significant digits (a bucket's width is at
/// most 1/1024 of its values).
const HIST_LOW: u64 = 1;
const HIST_HIGH: u64 = 100 * 24 * 3600 * 1_000_000;
const HIST_DIGITS: u8 = 3;
/// With 3 significant digits and a lowest value of 1, hdrhistogram splits each power-of-two
/// range into 2^11 sub-buckets, of which a bucket above the first uses the upper half
/// (2^10).
const SUB_BITS: u32 = 11;
const HALF_BITS: u32 = SUB_BITS - 1;

/// The index of `value`'s count in an HDR histogram with the bounds above: what
/// hdrhistogram's `index_for` computes for them (the leading-zero count picks the power-of-two
/// range, the next 11 bits the sub-bucket).
#[inline]
fn hdr_index(value: u64) -> usize {
    let bucket = (64 - SUB_BITS) - (value | ((1 << SUB_BITS) - 1)).leading_zeros();
    let sub = (value >> bucket) as usize;
    ((bucket as usize + 1) << HALF_BITS) + sub - (1 << HALF_BITS)
}

/// The lowest value counted at `index` (the inverse of [`hdr_index`]).
fn hdr_value(index: usize) -> u64 {
    let range = index >> HALF_BITS;
    let sub = (index & ((1 << HALF_BITS) - 1)) as u64;
    if range == 0 {
        sub
    } else {
        (sub + (1 << HALF_BITS)) << (range - 1)
    }
}

fn empty_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(HIST_LOW, HIST_HIGH, HIST_DIGITS).expect("valid histogram bounds")
}

/// The number of counts of a histogram with the bounds above (asked of hdrhistogram once).
fn hdr_len() -> usize {
    static LEN: OnceLock<usize> = OnceLock::new();
    *LEN.get_or_init(|| empty_histogram().distinct_values())
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            counts: vec![0; hdr_len()],
            sum_us: 0,
            built: OnceCell::new(),
        }
    }
}

impl Latency {
    /// Records one value (at least 1 us is counted; above 100 days, 100 days, as
    /// hdrhistogram's `saturating_record` does).
    #[inline]
    pub fn record(&mut self, d: SimTime) {
        let us = d.as_micros();
        let i = hdr_index(us.max(HIST_LOW));
        match self.counts.get_mut(i) {
            Some(c) => *c += 1,
            None => self.counts[hdr_index(HIST_HIGH)] += 1,
        }
        self.sum_us += us as u128;
        if self.built.get().is_some() {
            self.built = OnceCell::new();
        }
    }

    /// The HDR histogram of the values recorded (built on the first call after a record).
    fn hist(&self) -> &Histogram<u64> {
        self.built.get_or_init(|| {
            let mut h = empty_histogram();
            // Most of the ~39K counts are zero: whole chunks of them are skipped at once.
            const CHUNK: usize = 16;
            for (c, chunk) in self.counts.chunks(CHUNK).enumerate() {
                if chunk.iter().fold(0, |any, &n| any | n) == 0 {
                    continue;
                }
                for (j, &n) in chunk.iter().enumerate() {
                    if n > 0 {
                        h.saturating_record_n(hdr_value(c * CHUNK + j), n);
                    }
                }
            }
            h
        })
    }

    /// Number of values.
    pub fn count(&self) -> u64 {
        self.hist().len()
    }
    /// Exact mean in milliseconds (0 when empty).
    pub fn mean_ms(&self) -> f64 {
        if self.count() == 0 {
            0.0
        } else {
            self.sum_us as f64 / self.count() as f64 / 1e3
        }
    }
    /// The distribution as `[value_ms, quantile]` points at quantiles 0.01, 0.02, ..., 1.00
    /// and 0.995, 0.999 (empty when there are no values): enough to draw a CDF.
    pub fn cdf(&self) -> Vec<[f64; 2]> {
        if self.count() == 0 {
            return Vec::new();
        }
        let mut qs: Vec<f64> = (1..=100).map(|i| i as f64 / 100.0).collect();
        qs.insert(99, 0.995);
        qs.insert(100, 0.999);
        // Sorted quantiles: one pass over the histogram's counts instead of one per quantile
        // (the same values as `value_at_quantile`, checked in the tests).
        let hist = self.hist();
        let values = hist.value_at_quantiles(qs.iter().copied());
        values
            .zip(&qs)
            .map(|(v, &q)| [round3(v as f64 / 1e3), q])
            .collect()
    }

    /// Summary in milliseconds.
    pub fn percentiles(&self) -> Percentiles {
        let mut q = [0.0; 4];
        let hist = self.hist();
        if self.count() > 0 {
            let values = hist.value_at_quantiles([0.50, 0.90, 0.95, 0.99]);
            for (q, v) in q.iter_mut().zip(values) {
                *q = round3(v as f64 / 1e3);
            }
        }
        Percentiles {
            count: self.count(),
            mean: round3(self.mean_ms()),
            p50: q[0],
            p90: q[1],
            p95: q[2],
            p99: q[3],
            max: if self.count() == 0 {
                0.0
            } else {
                round3(hist.max() as f64 / 1e3)
            },
        }
    }
}

/// Rounds to 3 decimals, so documents diff cleanly.
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Per-deployment counters.
#[derive(Clone, Debug, Default)]
pub struct DeploymentMetrics {
    /// Attempts that reached this deployment (including spilled ones).
    pub attempts: u64,
    /// Admitted attempts.
    pub admitted: u64,
    /// 429 rejections.
    pub rejected_429: u64,
    /// 400 rejections (prompt + max_tokens over the model's context window).
    pub rejected_400: u64,
    /// 408 completion-window terminations.
    pub timed_out_408: u64,
    /// Attempts received by spillover from a provisioned deployment.
    pub spilled_in: u64,
    /// Prompt tokens processed.
    pub prompt_tokens: u64,
    /// ... of which a cached prefix.
    pub cached_prompt_tokens: u64,
    /// Completion tokens billed (standard deployments).
    pub billed_completion_tokens: u64,
    /// PTU-normalized tokens processed (provisioned deployments).
    pub normalized_tokens: f64,
    /// What the cached prefixes saved against the input price (standard deployments).
    pub cache_savings_usd: f64,
    /// Completion tokens generated.
    pub completion_tokens: u64,
    /// Token charges (estimates) at admission.
    pub charged_estimate: u64,
    /// Per-token cost (standard deployments).
    pub token_cost_usd: f64,
    /// Attempts answered at once by an injected error fault (outage or transient error).
    pub fault_errors: u64,
    /// Attempts answered at once by an injected capacity 429.
    pub fault_429: u64,
    /// Attempts that reached the deployment while an outage fault was active on it.
    pub attempts_in_outage: u64,
    /// Sum of utilization samples (for the mean).
    pub utilization_sum: f64,
    /// Number of utilization samples.
    pub utilization_samples: u64,
}

/// What one gateway backend saw, summed over gateway instances.
#[derive(Clone, Debug, Default)]
pub struct BackendMetrics {
    /// Forwards to it (attempts).
    pub forwarded: u64,
    /// Forwards it admitted.
    pub admitted: u64,
    /// Forwards answered with an error (rejections, faults, 408s).
    pub failed: u64,
    /// Breaker trips.
    pub breaker_trips: u64,
    /// Time its breakers were open.
    pub breaker_open: SimTime,
    /// Times it was marked throttled.
    pub throttle_marks: u64,
}

/// What the gateway counted (all zero without a gateway).
#[derive(Clone, Debug, Default)]
pub struct GatewayMetrics {
    /// Retries the gateway made on its own (each is one more attempt).
    pub retries: u64,
    /// Answers of the gateway itself with 503: every backend's breaker open.
    pub rejected_503: u64,
    /// Answers of the gateway itself with 429: every backend marked throttled.
    pub rejected_429: u64,
    /// Answers of the gateway's token limit (429).
    pub token_limit_429: u64,
    /// Answers of the gateway's token quota (403).
    pub token_quota_403: u64,
    /// Semantic-cache lookups that hit / missed.
    pub cache_hits: u64,
    pub cache_misses: u64,
    /// Embedding cost of the cache lookups.
    pub embedding_cost_usd: f64,
    /// Gateway timeouts (504 to the client).
    pub timeouts_504: u64,
    /// Requests whose `max_tokens` the gateway's cap lowered (or set).
    pub max_tokens_capped: u64,
    /// Per backend, in `[[gateway.backend]]` order.
    pub backends: Vec<BackendMetrics>,
}

/// One time-series row.
#[derive(Clone, Debug, Default)]
pub struct SeriesRow {
    /// Interval start.
    pub t: SimTime,
    /// Requests started.
    pub arrivals: u64,
    /// Requests succeeded.
    pub completions: u64,
    /// Requests failed.
    pub failures: u64,
    /// Attempt-level 429s.
    pub rejected_429: u64,
    /// Attempt-level 408s.
    pub timed_out_408: u64,
    /// Requests in flight at the end of the interval.
    pub in_flight: u64,
    /// Per deployment: tokens processed per minute in the interval, utilization at its end.
    pub deployments: Vec<(f64, f64)>,
}

/// Everything one run counts.
#[derive(Clone, Debug, Default)]
pub struct RunMetrics {
    /// Requests started.
    pub sent: u64,
    /// Attempts (deployment tries, including router failovers and client retries).
    pub attempts: u64,
    /// Requests that succeeded.
    pub succeeded: u64,
    /// Requests that failed after the client gave up.
    pub failed: u64,
    /// ... of which the last error was a 429.
    pub rate_limited: u64,
    /// ... of which the last error was a 408 or a client timeout.
    pub timed_out: u64,
    /// Router failovers (a further deployment tried within one client attempt).
    pub failovers: u64,
    /// Client retries.
    pub client_retries: u64,
    /// Succeeded requests whose answer was cut by `max_tokens`.
    pub truncated: u64,
    /// Attempts spilled from provisioned to standard.
    pub spilled: u64,
    /// Requests still in flight when the run ended.
    pub incomplete_requests: u64,
    /// Sessions started.
    pub sessions_started: u64,
    /// Sessions whose every step succeeded.
    pub sessions_completed: u64,
    /// Sessions abandoned after a failed request.
    pub sessions_failed: u64,
    /// Prompt tokens of succeeded requests.
    pub prompt_tokens: u64,
    /// Completion tokens of succeeded requests.
    pub completion_tokens: u64,
    /// Completion tokens the succeeded requests wanted (before `max_tokens`).
    pub wanted_tokens: u64,
    /// Tokens generated by attempts that did not deliver an answer.
    pub wasted_tokens: u64,
    /// Per-token cost of attempts that were spilled from provisioned to standard.
    pub spilled_token_cost_usd: f64,
    /// Time to first token of succeeded requests, from the request's start.
    pub ttft: Latency,
    /// End-to-end latency of succeeded requests, from the request's start.
    pub e2e: Latency,
    /// Duration of completed sessions.
    pub session_duration: Latency,
    /// Where the time of completed sessions went, summed (microseconds).
    pub session_times: crate::workload::Breakdown,
    /// Per deployment, by index.
    pub deployments: Vec<DeploymentMetrics>,
    /// Gateway counters.
    pub gateway: GatewayMetrics,
    /// Time series.
    pub series: Vec<SeriesRow>,
    /// Integral of requests in flight over time, request-microseconds.
    pub in_flight_area: u128,
    /// Events processed.
    pub events: u64,
    /// Simulated span: from 0 to the last event (or the cut-off).
    pub span: SimTime,
    /// Why the run stopped before its end, if it did (its figures are then partial).
    pub stopped: Option<crate::engine::Stopped>,
    /// What a trace replay sent (`[workload] trace`), and the trace's own failures.
    pub trace: Option<crate::workload::TraceCounts>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(crate::testkit::proptest_config(300))]
        /// The one-pass quantiles give what asking the histogram one quantile at a time gives.
        #[test]
        fn one_pass_quantiles_match_one_at_a_time(
            values in prop::collection::vec(0u64..5_000_000_000, 1..400),
        ) {
            let mut l = Latency::default();
            for &v in &values {
                l.record(SimTime(v));
            }
            let hist = l.hist();
            let slow = |q: f64| round3(hist.value_at_quantile(q) as f64 / 1e3);
            for [v, q] in l.cdf() {
                prop_assert_eq!(v, slow(q), "quantile {}", q);
            }
            let p = l.percentiles();
            prop_assert_eq!(
                [p.p50, p.p90, p.p95, p.p99],
                [slow(0.50), slow(0.90), slow(0.95), slow(0.99)]
            );
        }
    }

    /// Every value the histogram can hold is counted where hdrhistogram counts it: the
    /// lowest value of its index is the crate's lowest equivalent value, and the indexes
    /// count up one by one through the crate's whole counts array.
    #[test]
    fn hdr_index_is_the_crates_bucket() {
        let h = empty_histogram();
        let len = h.distinct_values();
        for i in 0..len {
            let v = hdr_value(i);
            assert_eq!(hdr_index(v), i, "index {i}");
            assert_eq!(h.lowest_equivalent(v), v, "index {i}");
            if i > 0 {
                // The previous index ends just below this one.
                assert_eq!(h.highest_equivalent(hdr_value(i - 1)), v - 1, "index {i}");
            }
        }
        assert!(hdr_index(HIST_HIGH) < len);
        assert!(hdr_index(h.highest_equivalent(hdr_value(len - 1)) + 1) >= len);
    }

    proptest! {
        #![proptest_config(crate::testkit::proptest_config(300))]
        /// Counting into buckets gives the histogram that recording every value gives: the
        /// same counts, total, minimum and maximum, including values of 0 (counted as 1 us)
        /// and beyond 100 days (counted as 100 days).
        #[test]
        fn counts_give_the_recorded_histogram(
            values in prop::collection::vec(
                prop_oneof![0u64..3_000, 0u64..5_000_000_000, 0u64..u64::MAX / 2],
                0..300,
            ),
        ) {
            let mut l = Latency::default();
            let mut direct = empty_histogram();
            for &v in &values {
                l.record(SimTime(v));
                direct.saturating_record(v.max(1));
            }
            let built = l.hist();
            prop_assert!(*built == direct);
            prop_assert_eq!(l.count(), direct.len());
            prop_assert_eq!(built.max(), direct.max());
            prop_assert_eq!(built.min_nz(), direct.min_nz());
        }
    }

    /// A figure asked for before the last values were recorded does not hide them.
    #[test]
    fn figures_follow_values_recorded_after_a_read() {
        let mut read = Latency::default();
        let mut unread = Latency::default();
        for ms in [10, 250] {
            read.record(SimTime::from_millis(ms));
            unread.record(SimTime::from_millis(ms));
            let _ = read.percentiles();
        }
        assert_eq!(read.percentiles(), unread.percentiles());
        assert_eq!(read.percentiles().count, 2);
        assert_eq!(read.cdf(), unread.cdf());
    }

    #[test]
    fn an_empty_latency_has_zero_percentiles_and_no_cdf() {
        let l = Latency::default();
        assert!(l.cdf().is_empty());
        let p = l.percentiles();
        assert_eq!([p.p50, p.p99, p.max], [0.0; 3]);
    }
}
