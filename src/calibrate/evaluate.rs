//! The training/held-out split, and how well a fit predicts requests it has not seen.
//!
//! For each held-out request the fitted model predicts its TTFT and its end-to-end time (the
//! median request: speed multiplier `exp(-sigma^2/2)`); the absolute percentage errors
//! `|predicted - observed| / observed` are summarized by their median and 95th percentile.
//! The distribution check draws [`DRAWS`] simulated end-to-end times per held-out request
//! (speed multipliers from the fitted lognormal) and measures the Kolmogorov-Smirnov
//! distance between the observed and simulated distributions.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::fit::{self, Obs, Params};
use super::stats;
use super::telemetry::{Outcome, Request};

/// Simulated draws per held-out request for the distribution distance.
pub const DRAWS: usize = 40;
/// At most this many quantiles in a Q-Q plot.
pub const QQ_POINTS: usize = 50;

/// Which of `n` requests are held out: `round(n x holdout)` of them (at least one and at
/// most `n - 1` when `n >= 2`), chosen by a shuffle keyed by the seed and the model's name,
/// so the split does not depend on the other models in the file.
pub fn split(n: usize, holdout: f64, seed: u64, model: &str) -> Vec<bool> {
    let k = if n < 2 {
        0
    } else {
        ((n as f64 * holdout).round() as usize).clamp(1, n - 1)
    };
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = stats::calibration_rng(seed, 0, stats::name_key(model));
    for i in (1..n).rev() {
        let j = ((rng.next_u64() as u128 * (i as u128 + 1)) >> 64) as usize;
        order.swap(i, j);
    }
    let mut test = vec![false; n];
    for &i in &order[..k] {
        test[i] = true;
    }
    test
}

/// Error figures of one quantity on one set of requests.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ErrorStats {
    /// Requests scored.
    pub n: usize,
    /// Median absolute percentage error (0.12 = 12%).
    pub median_ape: f64,
    /// 95th percentile of the absolute percentage error.
    pub p95_ape: f64,
    /// Kolmogorov-Smirnov distance between observed and simulated distributions (0..1).
    pub ks: f64,
}

/// TTFT and end-to-end error figures on one set of requests.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Errors {
    /// Time to first token (streamed requests only).
    pub ttft: Option<ErrorStats>,
    /// End-to-end time.
    pub e2e: Option<ErrorStats>,
}

/// One scored request, for the charts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// Prompt tokens.
    pub prompt: u32,
    /// Observed and predicted TTFT, seconds.
    pub ttft: Option<(f64, f64)>,
    /// Observed and predicted end-to-end time, seconds.
    pub e2e: Option<(f64, f64)>,
    /// Whether it was held out.
    pub held_out: bool,
}

/// Observed against simulated quantiles of the held-out requests.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QQ {
    /// `(observed, simulated)` TTFT quantiles, seconds.
    pub ttft: Vec<(f64, f64)>,
    /// `(observed, simulated)` end-to-end quantiles, seconds.
    pub e2e: Vec<(f64, f64)>,
}

/// The status mix of a set of requests.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Mix {
    /// Requests.
    pub requests: usize,
    /// 2xx.
    pub ok: usize,
    /// 429.
    pub rate_limited: usize,
    /// 408, 504 or no answer.
    pub timeout: usize,
    /// Other 5xx.
    pub server_error: usize,
    /// Anything else.
    pub other_error: usize,
    /// Median Retry-After of the 429s that carried one, seconds.
    pub retry_after_median_s: Option<f64>,
}

impl Mix {
    /// The mix of `requests`.
    pub fn of<'a>(requests: impl IntoIterator<Item = &'a Request>) -> Mix {
        let mut m = Mix::default();
        let mut ra = Vec::new();
        for r in requests {
            m.requests += 1;
            match r.outcome {
                Outcome::Ok => m.ok += 1,
                Outcome::RateLimited => {
                    m.rate_limited += 1;
                    ra.extend(r.retry_after_s);
                }
                Outcome::Timeout => m.timeout += 1,
                Outcome::ServerError => m.server_error += 1,
                Outcome::OtherError => m.other_error += 1,
            }
        }
        m.retry_after_median_s = (!ra.is_empty()).then(|| stats::median(ra));
        m
    }

    /// `count / requests` (0 for no requests).
    pub fn share(&self, count: usize) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            count as f64 / self.requests as f64
        }
    }
}

/// Predictions of `params` for `obs` (usable requests only).
pub fn points(params: &Params, obs: &[Obs], held_out: bool) -> Vec<Point> {
    obs.iter()
        .filter(|o| fit::usable(o.r))
        .map(|o| Point {
            prompt: o.r.prompt_tokens,
            ttft: o
                .r
                .ttft_s
                .map(|t| (t, fit::predict_ttft(params, o.r.prompt_tokens, o.load))),
            e2e: fit::predict_e2e(params, o.r, o.load, None).map(|p| (o.r.e2e_s.unwrap(), p)),
            held_out,
        })
        .collect()
}

fn ape_stats(pairs: &[(f64, f64)], ks: f64) -> Option<ErrorStats> {
    let apes = stats::sorted(
        pairs
            .iter()
            .filter(|p| p.0 > 0.0)
            .map(|(obs, pred)| (pred - obs).abs() / obs),
    );
    (!apes.is_empty()).then(|| ErrorStats {
        n: apes.len(),
        median_ape: stats::round_sig(stats::quantile_sorted(&apes, 0.5), 4),
        p95_ape: stats::round_sig(stats::quantile_sorted(&apes, 0.95), 4),
        ks: stats::round_sig(ks, 4),
    })
}

/// Error figures and Q-Q quantiles of `params` on `obs`; draws come from the stream keyed by
/// `(seed, model)`.
pub fn errors(params: &Params, obs: &[Obs], seed: u64, model: &str) -> (Errors, QQ) {
    let pts = points(params, obs, true);
    let ttft: Vec<(f64, f64)> = pts.iter().filter_map(|p| p.ttft).collect();
    let e2e: Vec<(f64, f64)> = pts.iter().filter_map(|p| p.e2e).collect();
    // TTFT: Spillway draws no spread, so the simulated distribution is the predictions.
    let t_obs = stats::sorted(ttft.iter().map(|p| p.0));
    let t_sim = stats::sorted(ttft.iter().map(|p| p.1));
    let mut rng = stats::calibration_rng(seed, 1, stats::name_key(model));
    let cv = params.decode_variation_cv.unwrap_or(0.0);
    let mut sims = Vec::with_capacity(e2e.len() * DRAWS);
    for o in obs.iter().filter(|o| fit::usable(o.r)) {
        for _ in 0..DRAWS {
            let z: f64 = StandardNormal.sample(&mut rng);
            if let Some(s) =
                fit::predict_e2e(params, o.r, o.load, Some(stats::speed_multiplier(cv, z)))
            {
                sims.push(s);
            }
        }
    }
    let e_obs = stats::sorted(e2e.iter().map(|p| p.0));
    let e_sim = stats::sorted(sims);
    let errs = Errors {
        ttft: ape_stats(&ttft, stats::ks_distance(&t_obs, &t_sim)),
        e2e: ape_stats(&e2e, stats::ks_distance(&e_obs, &e_sim)),
    };
    (
        errs,
        QQ {
            ttft: qq(&t_obs, &t_sim),
            e2e: qq(&e_obs, &e_sim),
        },
    )
}

fn qq(obs: &[f64], sim: &[f64]) -> Vec<(f64, f64)> {
    if obs.is_empty() || sim.is_empty() {
        return Vec::new();
    }
    let n = obs.len().min(QQ_POINTS);
    (0..n)
        .map(|i| {
            let q = (i as f64 + 0.5) / n as f64;
            (
                stats::quantile_sorted(obs, q),
                stats::quantile_sorted(sim, q),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_deterministic_sized_and_keyed_by_model() {
        let a = split(100, 0.3, 7, "m");
        assert_eq!(a.iter().filter(|t| **t).count(), 30);
        assert_eq!(a, split(100, 0.3, 7, "m"));
        assert_ne!(a, split(100, 0.3, 8, "m"));
        assert_ne!(a, split(100, 0.3, 7, "other"));
        assert_eq!(split(3, 0.01, 1, "m").iter().filter(|t| **t).count(), 1);
        assert_eq!(split(3, 0.99, 1, "m").iter().filter(|t| **t).count(), 2);
        assert_eq!(split(1, 0.5, 1, "m"), [false]);
    }

    #[test]
    fn mix_counts_outcomes() {
        let mut r = Request {
            line: 0,
            start_s: None,
            model: "m".into(),
            deployment: String::new(),
            prompt_tokens: 1,
            completion_tokens: 1,
            ttft_s: None,
            e2e_s: Some(1.0),
            status: Some(429),
            outcome: Outcome::RateLimited,
            retry_after_s: Some(2.0),
            streaming: false,
        };
        let mut rs = vec![r.clone(), r.clone()];
        r.outcome = Outcome::Ok;
        rs.push(r);
        let m = Mix::of(&rs);
        assert_eq!((m.requests, m.ok, m.rate_limited), (3, 1, 2));
        assert_eq!(m.retry_after_median_s, Some(2.0));
        assert!((m.share(m.rate_limited) - 2.0 / 3.0).abs() < 1e-12);
    }
}
