//! Fitting Spillway's serving model to one model's training requests.
//!
//! The model (`docs/scenario.md`, "Serving"): a request's first token comes after
//! `ttft_base + prompt / prefill_tokens_per_s` (times `ttft_curve(n)`), then its completion
//! tokens come at `decode_tokens_per_s x M x speed_curve(n)`, where `M` is a lognormal
//! multiplier with mean 1 and coefficient of variation `decode_variation_cv`, and `n` is the
//! load. Here `n` is the number of requests in flight on the same model and deployment when
//! the request started (itself included), reconstructed from timestamps and durations.
//!
//! - **TTFT**: a Theil-Sen line of TTFT on prompt tokens (robust to the long tail of slow
//!   first tokens); its slope is a prefill rate only when its 95% interval lies above 0.
//! - **Decode**: each streamed request's speed `completion / (e2e - ttft)`, divided by the
//!   load factor; the mean and spread of its logarithm give the lognormal's mean and cv.
//! - **Load curves**: requests grouped by load level (at least [`MIN_PER_LEVEL`] each); the
//!   speed factor of a level is its geometric-mean speed over the lowest level's, the TTFT
//!   factor its median TTFT ratio to the fitted line over the lowest level's.
//! - **Non-streamed requests** have no TTFT: base and prefill then come from a least-squares
//!   fit of e2e on prompt and completion tokens, and decode from what is left.

use super::load::{
    curve_at, level_of, level_point, levels_differ, load_levels, load_notes, per_level,
};
use super::stats::{self, Line};
use super::telemetry::{Outcome, Request};

/// A load level enters a curve only with at least this many training requests.
pub const MIN_PER_LEVEL: usize = 10;
/// A load level's factor must differ from 1 by at least this much to make a curve.
pub const MIN_EFFECT: f64 = 0.02;
/// Fewer successful training requests than this: the model is not fitted.
pub const MIN_REQUESTS: usize = 5;

/// Fitted serving parameters, rounded as they are written out (and used to predict).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params {
    /// Fixed part of TTFT, seconds (whole milliseconds).
    pub ttft_base_s: f64,
    /// Prompt tokens per second before the first token; `None` when not identified.
    pub prefill_tokens_per_s: Option<f64>,
    /// Mean decode speed at the lowest load, tokens/s; `None` when not identified.
    pub decode_tokens_per_s: Option<f64>,
    /// Coefficient of variation of the per-request speed multiplier.
    pub decode_variation_cv: Option<f64>,
    /// Decode speed multiplier by load: `[[concurrency, factor], ...]`.
    pub speed_curve: Option<Vec<[f64; 2]>>,
    /// TTFT multiplier by load: `[[concurrency, factor], ...]`.
    pub ttft_curve: Option<Vec<[f64; 2]>>,
}

/// What the data showed about each parameter (the numbers behind the notes).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evidence {
    /// Training requests with a TTFT (streamed).
    pub ttft_requests: usize,
    /// Distinct prompt sizes among them.
    pub prompt_sizes: usize,
    /// Smallest and largest prompt among them.
    pub prompt_range: (u32, u32),
    /// TTFT slope in ms per 1,000 prompt tokens, with its 95% interval.
    pub slope_ms_per_1k: Option<(f64, f64, f64)>,
    /// Training requests whose decode speed was measured.
    pub decode_requests: usize,
    /// Spread of TTFT around the fitted line: coefficient of variation of a lognormal fitted to
    /// observed / fitted TTFT.
    pub ttft_spread_cv: Option<f64>,
    /// Load levels seen (concurrency at start), smallest and largest; `None` without
    /// timestamps.
    pub load_range: Option<(u32, u32)>,
    /// Load levels used for the curves: `(concurrency, requests, speed factor, TTFT factor)`.
    pub levels: Vec<(u32, usize, f64, Option<f64>)>,
    /// Whether the fit used streamed requests' TTFT (false: regression on e2e).
    pub streamed: bool,
}

/// A fit: parameters, evidence, and plain sentences on what could not be identified.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fit {
    /// The parameters.
    pub params: Params,
    /// The numbers behind them.
    pub evidence: Evidence,
    /// One sentence per finding, in a fixed order.
    pub notes: Vec<String>,
}

/// A request with its load, as the fit uses it.
#[derive(Clone, Copy, Debug)]
pub struct Obs<'a> {
    /// The request.
    pub r: &'a Request,
    /// Concurrency at its start (itself included), when timestamps allow.
    pub load: Option<u32>,
}

/// The model's TTFT at prompt `p` and load `n` (seconds).
pub fn predict_ttft(p: &Params, prompt: u32, load: Option<u32>) -> f64 {
    let prefill = p.prefill_tokens_per_s.map_or(0.0, |r| prompt as f64 / r);
    (p.ttft_base_s + prefill) * curve_at(p.ttft_curve.as_deref(), load)
}

/// The model's end-to-end time for a request, with speed multiplier `m` (`None`: the
/// median request, `m = exp(-sigma^2 / 2)`). `None` when decode is not identified.
pub fn predict_e2e(p: &Params, r: &Request, load: Option<u32>, m: Option<f64>) -> Option<f64> {
    let decode = p.decode_tokens_per_s?;
    let cv = p.decode_variation_cv.unwrap_or(0.0);
    let m = m.unwrap_or_else(|| stats::speed_multiplier(cv, 0.0));
    let speed = decode * m * curve_at(p.speed_curve.as_deref(), load);
    Some(predict_ttft(p, r.prompt_tokens, load) + r.completion_tokens as f64 / speed)
}

/// Whether a request can enter the fit: it succeeded and has a duration.
pub fn usable(r: &Request) -> bool {
    r.outcome == Outcome::Ok && r.e2e_s.is_some_and(|e| e > 0.0)
}

/// Fits one model's training requests (all of them one model's). An error, saying why, when
/// there are fewer than [`MIN_REQUESTS`] successful requests with a duration.
pub fn fit(train: &[Obs]) -> Result<Fit, String> {
    let ok: Vec<Obs> = train.iter().copied().filter(|o| usable(o.r)).collect();
    if ok.len() < MIN_REQUESTS {
        return Err(format!(
            "only {} successful request(s) with a duration in the training split (at least {MIN_REQUESTS} needed): nothing fitted",
            ok.len()
        ));
    }
    let mut f = Fit::default();
    let loads: Vec<u32> = ok.iter().filter_map(|o| o.load).collect();
    f.evidence.load_range = (loads.len() == ok.len() && !loads.is_empty())
        .then(|| (*loads.iter().min().unwrap(), *loads.iter().max().unwrap()));
    let levels = if f.evidence.load_range.is_some() {
        load_levels(&loads)
    } else {
        Vec::new()
    };
    let streamed: Vec<Obs> = ok
        .iter()
        .copied()
        .filter(|o| o.r.ttft_s.is_some())
        .collect();
    f.evidence.streamed = !streamed.is_empty();
    let ttft_factor = if f.evidence.streamed {
        fit_ttft(&streamed, &levels, &mut f)
    } else {
        Vec::new()
    };
    if f.evidence.streamed || fit_ttft_from_e2e(&ok, &mut f) {
        fit_decode(&ok, &levels, &ttft_factor, &mut f);
    }
    load_notes(&mut f, &levels);
    Ok(f)
}

fn fmt_ms(s: f64) -> String {
    format!("{:.0} ms", s * 1e3)
}

/// TTFT from streamed requests: base, prefill, and the TTFT curve. Returns the TTFT factor
/// per level (empty when there is no curve).
fn fit_ttft(obs: &[Obs], levels: &[(u32, u32)], f: &mut Fit) -> Vec<f64> {
    let x: Vec<f64> = obs.iter().map(|o| o.r.prompt_tokens as f64).collect();
    let y: Vec<f64> = obs.iter().map(|o| o.r.ttft_s.unwrap()).collect();
    let ev = &mut f.evidence;
    ev.ttft_requests = obs.len();
    ev.prompt_sizes = {
        let mut v: Vec<u32> = obs.iter().map(|o| o.r.prompt_tokens).collect();
        v.sort_unstable();
        v.dedup();
        v.len()
    };
    ev.prompt_range = (
        obs.iter().map(|o| o.r.prompt_tokens).min().unwrap_or(0),
        obs.iter().map(|o| o.r.prompt_tokens).max().unwrap_or(0),
    );
    let (mut line, mut slope_ok, mut factor) = ttft_line(&x, &y, obs, levels, ev);
    if levels.len() >= 2 {
        let logs = per_level(obs, levels, |o| {
            (o.r.ttft_s.unwrap()
                / (line.intercept + line.slope * o.r.prompt_tokens as f64).max(1e-9))
            .ln()
        });
        if !levels_differ(&logs) {
            (line, slope_ok, factor) = ttft_line(&x, &y, obs, &[], ev);
        }
    }
    let (mut base, mut slope) = (line.intercept, line.slope);
    if base < 0.0 && slope > 0.0 {
        // A negative intercept is not a latency: keep the line through the median point.
        slope = stats::median(
            x.iter()
                .zip(&y)
                .filter(|(x, _)| **x > 0.0)
                .map(|(x, y)| y / x),
        );
        base = 0.0;
        f.notes.push("the TTFT line crosses zero above the smallest prompt: ttft_base set to 0 and the prefill rate taken through the median point".into());
    }
    let p = &mut f.params;
    p.ttft_base_s = (base.max(0.0) * 1e3).round() / 1e3;
    p.prefill_tokens_per_s = (slope_ok && slope > 0.0).then(|| stats::round_sig(1.0 / slope, 4));
    if factor.len() >= 2 && obs.iter().all(|o| o.load.is_some()) {
        let curve: Vec<[f64; 2]> = (0..levels.len())
            .map(|k| [level_point(obs, levels, k), stats::round_sig(factor[k], 3)])
            .collect();
        p.ttft_curve = Some(curve);
    }
    let pred: Vec<f64> = obs
        .iter()
        .map(|o| predict_ttft(p, o.r.prompt_tokens, o.load))
        .collect();
    // The spread as a lognormal's cv, like decode_variation_cv: from the variance of the
    // log ratios of observed to fitted TTFT.
    let logs: Vec<f64> = y
        .iter()
        .zip(&pred)
        .filter(|(y, p)| **y > 0.0 && **p > 0.0)
        .map(|(y, p)| (y / p).ln())
        .collect();
    let (_, var) = stats::mean_var(&logs);
    ev.ttft_spread_cv =
        (logs.len() >= 3).then(|| stats::round_sig(stats::lognormal_mean_cv(0.0, var).1, 3));
    ttft_notes(ev, p, slope_ok, &mut f.notes);
    factor
}

/// The TTFT line on load-adjusted TTFT, alternating with the level factors (3 rounds when
/// there are levels): the line, whether its slope is a prefill rate, the factors.
fn ttft_line(
    x: &[f64],
    y: &[f64],
    obs: &[Obs],
    levels: &[(u32, u32)],
    ev: &mut Evidence,
) -> (Line, bool, Vec<f64>) {
    let mut factor = vec![1.0; levels.len()];
    let flat = |adj: &[f64]| Line {
        slope: 0.0,
        slope_lo: 0.0,
        slope_hi: 0.0,
        intercept: stats::median(adj.iter().copied()),
    };
    let (mut line, mut slope_ok) = (flat(y), false);
    for _ in 0..if levels.len() >= 2 { 3 } else { 1 } {
        let adj: Vec<f64> = obs
            .iter()
            .zip(y)
            .map(|(o, y)| y / level_of(levels, o.load).map_or(1.0, |k| factor[k]))
            .collect();
        let ts = (ev.prompt_sizes >= 3)
            .then(|| stats::theil_sen(x, &adj))
            .flatten();
        slope_ok = ts.is_some_and(|l| l.slope_lo > 0.0 && l.slope > 0.0);
        line = match ts {
            Some(l) if slope_ok => l,
            _ => flat(&adj),
        };
        if let Some(l) = ts {
            ev.slope_ms_per_1k = Some((l.slope * 1e6, l.slope_lo * 1e6, l.slope_hi * 1e6));
        }
        if levels.len() >= 2 {
            let ratio = |k: usize| {
                stats::median(
                    obs.iter()
                        .zip(y)
                        .filter(|(o, _)| level_of(levels, o.load) == Some(k))
                        .map(|(o, y)| {
                            y / (line.intercept + line.slope * o.r.prompt_tokens as f64).max(1e-9)
                        }),
                )
            };
            let r0 = ratio(0);
            factor = (0..levels.len()).map(|k| ratio(k) / r0).collect();
        }
    }
    (line, slope_ok, factor)
}

fn ttft_notes(ev: &Evidence, p: &Params, slope_ok: bool, notes: &mut Vec<String>) {
    let (lo, hi) = ev.prompt_range;
    let base = fmt_ms(p.ttft_base_s);
    if ev.prompt_sizes <= 1 {
        notes.push(format!("prefill_tokens_per_s: not identified: every prompt has the same size ({lo} tokens), so TTFT cannot be split into a fixed part and a per-token part; ttft_base ({base}) is the whole TTFT at that size"));
    } else if ev.prompt_sizes < 3 {
        notes.push(format!("prefill_tokens_per_s: not identified: only {} prompt sizes ({lo} and {hi} tokens); ttft_base ({base}) is the median TTFT", ev.prompt_sizes));
    } else if let (false, Some((s, a, b))) = (slope_ok, ev.slope_ms_per_1k) {
        notes.push(format!("prefill_tokens_per_s: not identified: TTFT does not grow measurably with prompt size over {lo}-{hi} tokens (slope {s:.1} ms per 1,000 tokens, 95% interval {a:.1} to {b:.1}); ttft_base ({base}) is the median TTFT, and Spillway's default prefill rate applies unless you set one"));
    } else if let (Some(rate), Some((s, a, b))) = (p.prefill_tokens_per_s, ev.slope_ms_per_1k) {
        notes.push(format!("prefill_tokens_per_s: {rate} tokens/s: TTFT grows by {s:.1} ms per 1,000 prompt tokens (95% interval {a:.1} to {b:.1}) over {lo}-{hi} tokens"));
    }
    if let Some(cv) = ev.ttft_spread_cv {
        notes.push(format!("TTFT varies around the fit with a coefficient of variation of {cv} (lognormal); Spillway draws no TTFT spread, so simulated TTFT percentiles above the median will be too low by about that much"));
    }
}

/// Without streamed requests: `e2e = base + prompt / prefill + completion / speed`. Divided
/// by the completion, `e2e / k = 1 / speed + base / k + (prompt / prefill) / k`: a least-squares
/// fit of that (whose noise, the per-request speed, no longer grows with `k`) gives base and
/// prefill; decode then comes from what remains of each request. Returns false when base and
/// decode cannot be told apart (every completion the same length).
fn fit_ttft_from_e2e(ok: &[Obs], f: &mut Fit) -> bool {
    let rows: Vec<(f64, f64, f64)> = ok
        .iter()
        .filter(|o| o.r.completion_tokens > 0)
        .map(|o| {
            let k = o.r.completion_tokens as f64;
            (
                o.r.e2e_s.unwrap() / k,
                1.0 / k,
                o.r.prompt_tokens as f64 / k,
            )
        })
        .collect();
    let y: Vec<f64> = rows.iter().map(|r| r.0).collect();
    let full: Vec<[f64; 3]> = rows.iter().map(|r| [1.0, r.1, r.2]).collect();
    let no_prefill: Vec<[f64; 2]> = rows.iter().map(|r| [1.0, r.1]).collect();
    let (mut base, mut slope) = (None, 0.0);
    if let Some((c, se)) = stats::least_squares(&full, &y)
        && c[1] >= 0.0
        && c[2] - 1.96 * se[2] > 0.0
    {
        (base, slope) = (Some(c[1]), c[2]);
        f.evidence.slope_ms_per_1k = Some((
            c[2] * 1e6,
            (c[2] - 1.96 * se[2]) * 1e6,
            (c[2] + 1.96 * se[2]) * 1e6,
        ));
    } else if let Some((c, _)) = stats::least_squares(&no_prefill, &y) {
        base = Some(c[1].max(0.0));
    }
    let p = &mut f.params;
    let Some(base) = base else {
        p.ttft_base_s = (stats::median(ok.iter().map(|o| o.r.e2e_s.unwrap())) * 1e3).round() / 1e3;
        f.notes.push(format!(
            "no streamed requests, and every completion has the same length: the fixed time and the decode time cannot be told apart; ttft_base ({}) is the median end-to-end time and decode_tokens_per_s is not identified",
            fmt_ms(p.ttft_base_s)
        ));
        return false;
    };
    p.ttft_base_s = (base * 1e3).round() / 1e3;
    p.prefill_tokens_per_s = (slope > 0.0).then(|| stats::round_sig(1.0 / slope, 4));
    f.notes.push(format!(
        "no streamed requests, so no TTFT was observed: ttft_base ({}){} come from how end-to-end time grows with prompt and completion tokens (least squares on e2e / completion), decode from what remains; the TTFT spread and ttft_curve cannot be identified{}",
        fmt_ms(p.ttft_base_s),
        if slope > 0.0 { " and prefill_tokens_per_s" } else { "" },
        if slope > 0.0 { "" } else { "; prefill_tokens_per_s is not identified (no measurable growth with prompt size)" }
    ));
    true
}

/// Decode speed, its spread and the speed curve.
fn fit_decode(ok: &[Obs], levels: &[(u32, u32)], ttft_factor: &[f64], f: &mut Fit) {
    let p = &f.params;
    let rates: Vec<(Option<usize>, f64, Option<u32>)> = ok
        .iter()
        .filter(|o| o.r.completion_tokens > 0)
        .filter_map(|o| {
            let ttft =
                o.r.ttft_s
                    .unwrap_or_else(|| predict_ttft(p, o.r.prompt_tokens, o.load));
            let dt = o.r.e2e_s.unwrap() - ttft;
            (dt > 0.0).then(|| {
                (
                    level_of(levels, o.load),
                    o.r.completion_tokens as f64 / dt,
                    o.load,
                )
            })
        })
        .collect();
    f.evidence.decode_requests = rates.len();
    if rates.len() < MIN_REQUESTS {
        f.notes.push(format!(
            "decode_tokens_per_s: not identified: only {} request(s) with completion tokens and time after the first token",
            rates.len()
        ));
        return;
    }
    let logs: Vec<Vec<f64>> = (0..levels.len())
        .map(|k| {
            rates
                .iter()
                .filter(|r| r.0 == Some(k))
                .map(|r| r.1.ln())
                .collect()
        })
        .collect();
    let use_curve = levels.len() >= 2 && levels_differ(&logs);
    let mut factor = vec![1.0; levels.len()];
    if use_curve {
        let gm = |k: usize| {
            let v: Vec<f64> = rates
                .iter()
                .filter(|r| r.0 == Some(k))
                .map(|r| r.1.ln())
                .collect();
            stats::mean_var(&v).0
        };
        let g0 = gm(0);
        factor = (0..levels.len()).map(|k| (gm(k) - g0).exp()).collect();
        let curve: Vec<[f64; 2]> = (0..levels.len())
            .map(|k| [level_point(ok, levels, k), stats::round_sig(factor[k], 3)])
            .collect();
        f.params.speed_curve = Some(curve);
    }
    let logs: Vec<f64> = rates
        .iter()
        .map(|r| (r.1 / curve_at(f.params.speed_curve.as_deref(), r.2)).ln())
        .collect();
    let (mu, s2) = stats::mean_var(&logs);
    let (mean, cv) = stats::lognormal_mean_cv(mu, s2);
    f.params.decode_tokens_per_s = Some(stats::round_sig(mean, 4));
    f.params.decode_variation_cv = Some(stats::round_sig(cv, 3).min(10.0));
    for (k, &(lo, _)) in levels.iter().enumerate() {
        let n = ok
            .iter()
            .filter(|o| level_of(levels, o.load) == Some(k))
            .count();
        f.evidence
            .levels
            .push((lo, n, factor[k], ttft_factor.get(k).copied()));
    }
    let slow = ok.len() - rates.len();
    f.notes.push(format!(
        "decode_tokens_per_s: {} tokens/s on average{}, from {} request(s){}; decode_variation_cv {}: the spread of per-request speeds (lognormal)",
        f.params.decode_tokens_per_s.unwrap(),
        if use_curve { " at the lowest load" } else { "" },
        rates.len(),
        if slow > 0 { format!(" ({slow} without completion tokens or time after the first token left out)") } else { String::new() },
        f.params.decode_variation_cv.unwrap()
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(prompt: u32, ttft: f64, e2e: f64) -> Request {
        Request {
            line: 0,
            start_s: None,
            model: "m".into(),
            deployment: "d".into(),
            prompt_tokens: prompt,
            completion_tokens: 100,
            ttft_s: Some(ttft),
            e2e_s: Some(e2e),
            status: Some(200),
            outcome: Outcome::Ok,
            retry_after_s: None,
            streaming: true,
        }
    }

    #[test]
    fn an_exact_line_and_speed_are_recovered() {
        let rs: Vec<Request> = (0..20)
            .map(|i| {
                let p = 1000 * (1 + i % 5);
                let ttft = 0.25 + p as f64 / 4000.0;
                req(p, ttft, ttft + 2.0)
            })
            .collect();
        let obs: Vec<Obs> = rs.iter().map(|r| Obs { r, load: None }).collect();
        let f = fit(&obs).unwrap();
        assert_eq!(f.params.ttft_base_s, 0.25);
        assert_eq!(f.params.prefill_tokens_per_s, Some(4000.0));
        assert_eq!(f.params.decode_tokens_per_s, Some(50.0));
        assert_eq!(f.params.decode_variation_cv, Some(0.0));
        assert!(fit(&obs[..4]).unwrap_err().contains("only 4 successful"));
    }
}
