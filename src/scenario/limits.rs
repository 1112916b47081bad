//! Limits: what validation accepts, as a documented contract (`docs/scenario.md`, "Limits").
//!
//! Two kinds of bound live here, in one place:
//!
//! - [`Limits`]: **sizes** of a run (users, expected sessions and calls, time-series rows,
//!   numbers of deployments, classes, ...), checked before anything is allocated so that a
//!   run fits a laptop's memory and finishes in minutes. A caller may relax them (the default
//!   is [`Limits::default`]; [`Limits::NONE`] lifts them all), e.g. behind a `--force` flag
//!   once the engine has a run budget.
//! - [`Range`] constants: **sane ranges** of numeric inputs (prices, speeds, ratios, TPM, ...)
//!   that keep every derived figure (costs, utilization, times) finite. They are not relaxed.
//!
//! Structural bounds of the model (at most 64 deployments per model in the router, 64 gateway
//! backends and instances) are stated where they apply; `copies` is bounded by the first.

use std::fmt::Write as _;

use crate::time::SimTime;

/// Size limits of one run, checked by validation before anything is allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Closed loop: concurrent users (each holds a random stream and a session).
    pub max_users: u32,
    /// Open loop: sessions expected to arrive (rate x duration, capped by
    /// `workload.sessions`).
    pub max_expected_sessions: u64,
    /// Open loop: calls expected (expected sessions x mean steps per session).
    pub max_expected_calls: u64,
    /// Calls (steps) per session.
    pub max_steps: u32,
    /// Client retries per request (`client.max_retries`) and gateway retries per forward
    /// (`gateway.retry.count`): with a zero backoff, every retry is work at one instant.
    pub max_retries: u32,
    /// `[[deployment]]` entries, after `copies` are expanded.
    pub max_deployments: usize,
    /// `[[pool]]` entries, after `copies` are expanded.
    pub max_pools: usize,
    /// `[[workload.class]]` entries.
    pub max_classes: usize,
    /// `[[fault]]` entries.
    pub max_faults: usize,
    /// Points of `workload.schedule`.
    pub max_schedule_points: usize,
    /// `[[variant]]` entries (each is built and checked in full).
    pub max_variants: usize,
    /// Time-series rows: `(duration + drain) / metrics_interval`.
    pub max_series_rows: u64,
    /// Time-series cells: rows x deployments.
    pub max_series_cells: u64,
}

impl Limits {
    /// No size limit at all (the caller takes responsibility, e.g. with a run budget).
    pub const NONE: Limits = Limits {
        max_users: u32::MAX,
        max_expected_sessions: u64::MAX,
        max_expected_calls: u64::MAX,
        max_steps: u32::MAX,
        max_retries: u32::MAX,
        max_deployments: usize::MAX,
        max_pools: usize::MAX,
        max_classes: usize::MAX,
        max_faults: usize::MAX,
        max_schedule_points: usize::MAX,
        max_variants: usize::MAX,
        max_series_rows: u64::MAX,
        max_series_cells: u64::MAX,
    };
}

impl Default for Limits {
    /// Sizes a laptop runs in well under 2 GB and a few minutes (measured: 9 million one-call
    /// sessions in ~50 s and 280 MB; a million closed-loop users in 280 MB).
    fn default() -> Self {
        Limits {
            max_users: 1_000_000,
            max_expected_sessions: 10_000_000,
            max_expected_calls: 50_000_000,
            max_steps: 10_000,
            max_retries: 100,
            max_deployments: 1_000,
            max_pools: 1_000,
            max_classes: 1_000,
            max_faults: 1_000,
            max_schedule_points: 10_000,
            max_variants: 1_000,
            max_series_rows: 1_000_000,
            max_series_cells: 20_000_000,
        }
    }
}

/// Where every size error points for the limits and how to lift them.
pub(crate) const SEE_LIMITS: &str = "see 'Limits' in docs/scenario.md";

/// `copies` may not exceed the router's 64 deployments per model.
pub const MAX_COPIES: u32 = 64;

/// A sane range for a numeric input, with its unit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    /// Lower bound.
    pub min: f64,
    /// Whether the lower bound itself is excluded (`> min` rather than `>= min`).
    pub min_open: bool,
    /// Upper bound (inclusive).
    pub max: f64,
    /// The unit, in words (`USD per 1M tokens`).
    pub unit: &'static str,
}

impl Range {
    /// `v` if it is finite and within the range; otherwise what is wrong, in one line. A value
    /// below a lower bound of 0 keeps the historical wording (`must be a number > 0, got -1`).
    pub fn check(&self, v: f64) -> Result<f64, String> {
        let low = if self.min_open { ">" } else { ">=" };
        let min = num(self.min);
        if !v.is_finite() {
            return Err(format!(
                "must be a finite number {low} {min} ({}), got {}",
                self.unit,
                shown(v)
            ));
        }
        let below = if self.min_open {
            v <= self.min
        } else {
            v < self.min
        };
        if below && self.min == 0.0 {
            return Err(format!("must be a number {low} {min}, got {v}"));
        }
        if below || v > self.max {
            return Err(format!(
                "must be within {}{min}, {}] ({}), got {}",
                if self.min_open { "(" } else { "[" },
                num(self.max),
                self.unit,
                shown(v)
            ));
        }
        Ok(v)
    }

    /// The same range with 0 allowed (`>= 0`).
    pub const fn or_zero(self) -> Range {
        Range {
            min: 0.0,
            min_open: false,
            ..self
        }
    }

    /// Checks an integer input against the range.
    pub fn check_int(&self, v: u64) -> Result<u64, String> {
        self.check(v as f64).map(|_| v)
    }
}

const fn range(min: f64, min_open: bool, max: f64, unit: &'static str) -> Range {
    Range {
        min,
        min_open,
        max,
        unit,
    }
}

/// Prices per 1M tokens (list prices are below $100; o1-pro output is $600).
pub const PRICE_PER_1M_TOKENS: Range = range(0.0, false, 10_000.0, "USD per 1M tokens");
/// PTU-hour prices (about $1-2 in practice).
pub const PRICE_PER_PTU_HOUR: Range = range(0.0, false, 10_000.0, "USD per PTU-hour");
/// Semantic cache embedding prices.
pub const PRICE_PER_1K_TOKENS: Range = range(0.0, false, 10_000.0, "USD per 1K tokens");
/// Input tokens per minute per PTU (2,500-37,000 for published models). At least 1, so that a
/// PTU deployment drains and its utilization is finite.
pub const PTU_INPUT_TPM: Range = range(1.0, false, 10_000_000.0, "tokens per minute per PTU");
/// Weight of an output token in PTU utilization (3-4 for published models).
pub const PTU_OUTPUT_RATIO: Range = range(0.0, true, 1_000.0, "input tokens per output token");
/// Requests per minute per 1,000 TPM (1-10 for published models).
pub const RPM_PER_1K_TPM: Range = range(0.0, true, 1_000.0, "requests per minute per 1K TPM");
/// Prefill speed; 1e12 stands for "instant" (queueing tests use it).
pub const PREFILL_TOKENS_PER_S: Range = range(0.0, true, 1e12, "tokens per second");
/// Decode speed (tens to hundreds of tokens per second in practice).
pub const DECODE_TOKENS_PER_S: Range = range(0.0, true, 1e9, "tokens per second");
/// Per-request decode speed variation (coefficient of variation; about 0.1-0.3 in practice).
pub const DECODE_VARIATION_CV: Range = range(0.0, false, 10.0, "coefficient of variation");
/// Relative weights of session classes (0 allowed: a class that is never picked).
pub const CLASS_WEIGHT: Range = range(0.0, false, 1_000_000.0, "relative weight");
/// Relative weights of gateway backends.
pub const BACKEND_WEIGHT: Range = range(0.0, true, 1_000_000.0, "relative weight");
/// Open-loop arrival rates: no upper bound of their own (the expected sessions are limited).
pub const RATE_PER_MIN: Range = range(0.0, false, f64::INFINITY, "sessions per minute");
/// Quota: tokens per minute of a pool or a deployment.
pub const TPM: Range = range(0.0, true, 1e12, "tokens per minute");
/// Quota: requests per minute of a pool or a deployment.
pub const RPM: Range = range(0.0, true, 1e12, "requests per minute");
/// PTUs of a provisioned deployment (Azure sells tens to thousands).
pub const PTU: Range = range(0.0, true, 100_000.0, "PTUs");

/// Rolling window lengths (Azure: 60 s for tokens, 10 s or 1 s for requests): at least 1 s, so
/// that a deployment's token limit per window is at least one token.
pub const MIN_WINDOW_S: u64 = 1;
/// Rolling window lengths: at most a day.
pub const MAX_WINDOW_S: u64 = 86_400;

/// A number as a scenario author writes it: whole numbers of 10,000 and more with `_`
/// separators (`10_000_000`), others as Rust prints them.
pub fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() >= 10_000.0 && v.abs() < 1e18 {
        group(v as i64)
    } else {
        format!("{v}")
    }
}

/// A value found in the input, for messages: as [`num`], but very large or very small
/// magnitudes in exponent form (`1e308`, `5e-324`) rather than hundreds of digits.
pub fn shown(v: f64) -> String {
    let a = v.abs();
    if v.is_finite() && v != 0.0 && !(1e-4..1e15).contains(&a) {
        format!("{v:e}")
    } else {
        num(v)
    }
}

/// A span as a scenario author writes it: `90m`, `2h`, `45s`, `1.5s`.
pub fn span(t: SimTime) -> String {
    let us = t.as_micros();
    if us.is_multiple_of(3_600_000_000) {
        format!("{}h", group((us / 3_600_000_000) as i64))
    } else if us.is_multiple_of(60_000_000) {
        format!("{}m", group((us / 60_000_000) as i64))
    } else {
        format!("{}s", num(us as f64 / 1e6))
    }
}

/// An integer with `_` separators: `10_000_000`.
pub fn group(v: i64) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::new();
    if v < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('_');
        }
        let _ = write!(out, "{ch}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_written() {
        assert_eq!(num(10_000.0), "10_000");
        assert_eq!(num(1e12), "1_000_000_000_000");
        assert_eq!(num(1000.0), "1000");
        assert_eq!(num(0.25), "0.25");
        assert_eq!(group(-1_234_567), "-1_234_567");
        assert_eq!(shown(1e308), "1e308");
        assert_eq!(shown(4_294_967_295.0), "4_294_967_295");
        assert_eq!(shown(0.5), "0.5");
    }

    #[test]
    fn ranges_name_the_bounds_and_unit() {
        assert_eq!(
            PRICE_PER_1M_TOKENS.check(1e308).unwrap_err(),
            "must be within [0, 10_000] (USD per 1M tokens), got 1e308"
        );
        assert_eq!(
            PTU_INPUT_TPM.check(5e-324).unwrap_err(),
            "must be within [1, 10_000_000] (tokens per minute per PTU), got 5e-324"
        );
        assert_eq!(
            DECODE_TOKENS_PER_S.check(f64::NAN).unwrap_err(),
            "must be a finite number > 0 (tokens per second), got NaN"
        );
        // Below a lower bound of 0: the historical wording.
        assert_eq!(
            DECODE_TOKENS_PER_S.check(-5.0).unwrap_err(),
            "must be a number > 0, got -5"
        );
        assert_eq!(CLASS_WEIGHT.check(0.0), Ok(0.0));
        assert_eq!(TPM.check_int(1_000), Ok(1_000));
    }

    #[test]
    fn none_lifts_every_limit() {
        let d = Limits::default();
        assert!(Limits::NONE.max_users > d.max_users);
        assert!(Limits::NONE.max_expected_calls > d.max_expected_calls);
    }
}
