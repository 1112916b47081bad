//! Per-model parameters: built-in defaults for the models in `../shared/azure-facts.md`, and
//! the `[models."NAME"]` overrides a scenario may give.
//!
//! Where a figure comes from is said beside it. A model that is not built in must give at
//! least `decode_tokens_per_s`; its other keys fall back to the generic defaults below, which
//! are stated assumptions.

use super::Serving;
use super::limits::{self, Range};
use super::raw::RawModel;
use crate::time::{SimTime, parse_duration};

/// Per-model parameters after defaults and overrides.
#[derive(Clone, Debug)]
pub struct ModelParams {
    /// Model name.
    pub name: String,
    /// Default serving behaviour of deployments of this model.
    pub serving: Serving,
    /// Token estimate charged for the completion when a call sets no `max_tokens`.
    pub default_max_tokens_estimate: u32,
    /// Requests per minute granted per 1,000 TPM of quota.
    pub rpm_per_1k_tpm: f64,
    /// Input tokens per minute per PTU.
    pub ptu_input_tpm: f64,
    /// Weight of an output token relative to an input token in PTU utilization.
    pub ptu_output_ratio: f64,
    /// USD per 1M input tokens (standard deployments).
    pub price_input_per_1m: f64,
    /// USD per 1M output tokens (standard deployments).
    pub price_output_per_1m: f64,
    /// USD per 1M cached input tokens (standard deployments).
    pub price_cached_input_per_1m: f64,
    /// Context window, tokens: a call whose prompt + max_tokens exceeds it gets a 400.
    pub context_window: Option<u32>,
    /// USD per PTU-hour (provisioned deployments).
    pub ptu_price_per_hour: f64,
}

struct Builtin {
    context_window: Option<u32>,
    ttft_base_ms: u64,
    prefill: f64,
    decode: f64,
    cv: f64,
    default_estimate: u32,
    rpm_per_1k: f64,
    ptu_tpm: f64,
    ratio: f64,
    price_in: f64,
    price_out: f64,
    ptu_hour: f64,
}

fn builtin(name: &str) -> Option<Builtin> {
    match name {
        // azure-facts "Generation speed": measured ~108 output tokens/s and 1.1 s TTFT with a
        // 10K-token prompt; we split that TTFT into 300 ms fixed (assumption) + 10K / 12,500
        // tokens/s prefill. RPM: 1 per 1K TPM (gpt-4.1 family tables). PTU: 14,900 input TPM
        // per PTU, output ratio 4 (2026 sizing docs). Prices $0.40 / $1.60 per 1M (azure-facts
        // "Prices"). Default completion estimate when max_tokens is unset: not published for
        // this model; assumed equal to the 648 measured for gpt-4o. PTU-hour $1 (low end of the
        // third-party $1-2 range). Per-request speed variation cv 0.15: assumption.
        // Context window 1,047,576 tokens (OpenAI model page, gpt-4.1-mini).
        "gpt-4.1-mini" => Some(Builtin {
            context_window: Some(1_047_576),
            ttft_base_ms: 300,
            prefill: 12_500.0,
            decode: 108.0,
            cv: 0.15,
            default_estimate: 648,
            rpm_per_1k: 1.0,
            ptu_tpm: 14_900.0,
            ratio: 4.0,
            price_in: 0.40,
            price_out: 1.60,
            ptu_hour: 1.0,
        }),
        // azure-facts: the seed measured 8-10 ms between tokens, so ~111 tokens/s (1 / 9 ms) as the mean
        // (1 / 9 ms); the PTU floor of 33 tokens/s for 99% of requests is expressed per
        // deployment where a scenario needs it. TTFT split as for gpt-4.1-mini (assumption).
        // RPM 6 per 1K TPM (2025 tables). PTU 37,000 input TPM per PTU, ratio 4. Prices $0.15 /
        // $0.60. Completion estimate 648 (gpt-4o measurement, assumed). PTU-hour $1.
        // Context window 128,000 tokens (OpenAI model page, gpt-4o-mini).
        "gpt-4o-mini" => Some(Builtin {
            context_window: Some(128_000),
            ttft_base_ms: 300,
            prefill: 12_500.0,
            decode: 111.0,
            cv: 0.15,
            default_estimate: 648,
            rpm_per_1k: 6.0,
            ptu_tpm: 37_000.0,
            ratio: 4.0,
            price_in: 0.15,
            price_out: 0.60,
            ptu_hour: 1.0,
        }),
        _ => None,
    }
}

/// Generic fallbacks for models that are not built in (all assumptions; override them).
const GENERIC: Builtin = Builtin {
    context_window: None,
    ttft_base_ms: 300,
    prefill: 10_000.0,
    decode: f64::NAN, // must be given
    cv: 0.15,
    default_estimate: 648,
    rpm_per_1k: 6.0,
    ptu_tpm: 2_500.0,
    ratio: 4.0,
    price_in: 0.0,
    price_out: 0.0,
    ptu_hour: 1.0,
};

/// Turns `[[concurrency, factor], ...]` points into a lookup table by concurrency, linear
/// between points, flat beyond the last. The factor at concurrency 1 defaults to 1.
pub fn speed_table(curve: &[[f64; 2]]) -> Result<Vec<f64>, String> {
    if curve.is_empty() {
        return Ok(vec![1.0, 1.0]);
    }
    let mut last_n = 0.0;
    for &[n, f] in curve {
        if !(n >= 1.0 && n.fract() == 0.0 && n <= 100_000.0) {
            return Err(format!(
                "concurrency {n} must be a whole number from 1 to 100000"
            ));
        }
        if n <= last_n {
            return Err("points must be in increasing concurrency order".into());
        }
        if !(f.is_finite() && f > 0.0 && f <= 1e6) {
            return Err(format!("speed factor {f} must be a number > 0"));
        }
        last_n = n;
    }
    let max_n = last_n as usize;
    let mut table = vec![0.0; max_n + 1];
    let mut points: Vec<(f64, f64)> = curve.iter().map(|p| (p[0], p[1])).collect();
    if points[0].0 > 1.0 {
        points.insert(0, (1.0, 1.0));
    }
    for (n, slot) in table.iter_mut().enumerate().skip(1) {
        let x = n as f64;
        let i = points.partition_point(|p| p.0 <= x);
        *slot = if i == 0 {
            points[0].1
        } else if i == points.len() {
            points[i - 1].1
        } else {
            let (x0, y0) = points[i - 1];
            let (x1, y1) = points[i];
            y0 + (y1 - y0) * (x - x0) / (x1 - x0)
        };
    }
    table[0] = table[1];
    Ok(table)
}

/// Built-in defaults for `name`, overridden by `raw`. Errors are `(key, message)`.
pub fn resolve(name: &str, raw: Option<&RawModel>) -> Result<ModelParams, (String, String)> {
    let empty = RawModel::default();
    let r = raw.unwrap_or(&empty);
    let known = builtin(name);
    let b = known.as_ref().unwrap_or(&GENERIC);
    let check = |k: &str, v: f64, range: &Range| -> Result<f64, (String, String)> {
        range.check(v).map_err(|m| (k.to_string(), m))
    };
    // A value given for any model is checked first: `nan` is not "missing".
    if let Some(v) = r.decode_tokens_per_s {
        check("decode_tokens_per_s", v, &limits::DECODE_TOKENS_PER_S)?;
    }
    let decode = r.decode_tokens_per_s.unwrap_or(b.decode);
    if decode.is_nan() {
        return Err((
            "decode_tokens_per_s".into(),
            format!(
                "model '{name}' is not built in (built in: gpt-4.1-mini, gpt-4o-mini); give at least decode_tokens_per_s"
            ),
        ));
    }
    let ttft_base = match &r.ttft_base {
        Some(s) => parse_duration(s).map_err(|m| ("ttft_base".to_string(), m))?,
        None => SimTime::from_millis(b.ttft_base_ms),
    };
    Ok(ModelParams {
        name: name.to_string(),
        serving: Serving {
            ttft_base,
            prefill_tokens_per_s: check(
                "prefill_tokens_per_s",
                r.prefill_tokens_per_s.unwrap_or(b.prefill),
                &limits::PREFILL_TOKENS_PER_S,
            )?,
            decode_tokens_per_s: check(
                "decode_tokens_per_s",
                decode,
                &limits::DECODE_TOKENS_PER_S,
            )?,
            decode_variation_cv: check(
                "decode_variation_cv",
                r.decode_variation_cv.unwrap_or(b.cv),
                &limits::DECODE_VARIATION_CV,
            )?,
            speed_table: speed_table(r.speed_curve.as_deref().unwrap_or(&[]))
                .map_err(|m| ("speed_curve".to_string(), m))?,
            // No public source gives how TTFT grows with load: flat unless the scenario (or a
            // calibration) says otherwise.
            ttft_table: speed_table(r.ttft_curve.as_deref().unwrap_or(&[]))
                .map_err(|m| ("ttft_curve".to_string(), m))?,
            ttft_variation_cv: check(
                "ttft_variation_cv",
                r.ttft_variation_cv.unwrap_or(0.0),
                &limits::DECODE_VARIATION_CV,
            )?,
            fresh_speed_per_attempt: r.fresh_speed_per_attempt.unwrap_or(true),
        },
        default_max_tokens_estimate: r.default_max_tokens_estimate.unwrap_or(b.default_estimate),
        rpm_per_1k_tpm: check(
            "rpm_per_1k_tpm",
            r.rpm_per_1k_tpm.unwrap_or(b.rpm_per_1k),
            &limits::RPM_PER_1K_TPM,
        )?,
        ptu_input_tpm: check(
            "ptu_input_tpm",
            r.ptu_input_tpm.unwrap_or(b.ptu_tpm),
            &limits::PTU_INPUT_TPM,
        )?,
        ptu_output_ratio: check(
            "ptu_output_ratio",
            r.ptu_output_ratio.unwrap_or(b.ratio),
            &limits::PTU_OUTPUT_RATIO,
        )?,
        price_input_per_1m: check(
            "price_input_per_1m",
            r.price_input_per_1m.unwrap_or(b.price_in),
            &limits::PRICE_PER_1M_TOKENS,
        )?,
        price_output_per_1m: check(
            "price_output_per_1m",
            r.price_output_per_1m.unwrap_or(b.price_out),
            &limits::PRICE_PER_1M_TOKENS,
        )?,
        context_window: r.context_window.or(b.context_window),
        price_cached_input_per_1m: check(
            "price_cached_input_per_1m",
            r.price_cached_input_per_1m
                .or(r.price_input_per_1m)
                .unwrap_or(b.price_in),
            &limits::PRICE_PER_1M_TOKENS,
        )?,
        ptu_price_per_hour: check(
            "ptu_price_per_hour",
            r.ptu_price_per_hour.unwrap_or(b.ptu_hour),
            &limits::PRICE_PER_PTU_HOUR,
        )?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_table_interpolates_and_flattens() {
        let t = speed_table(&[[1.0, 1.0], [5.0, 0.6]]).unwrap();
        assert_eq!(t.len(), 6);
        assert!((t[3] - 0.8).abs() < 1e-12);
        assert!((t[5] - 0.6).abs() < 1e-12);
        let t = speed_table(&[[4.0, 0.5]]).unwrap();
        assert!((t[1] - 1.0).abs() < 1e-12 && (t[4] - 0.5).abs() < 1e-12);
        assert!(speed_table(&[[2.0, 1.0], [1.0, 1.0]]).is_err());
        assert!(speed_table(&[[1.5, 1.0]]).is_err());
        assert!(speed_table(&[[1.0, 0.0]]).is_err());
    }

    #[test]
    fn builtins_and_overrides() {
        let m = resolve("gpt-4.1-mini", None).unwrap();
        assert_eq!(m.rpm_per_1k_tpm, 1.0);
        assert_eq!(m.ptu_input_tpm, 14_900.0);
        let r = RawModel {
            decode_tokens_per_s: Some(50.0),
            ..Default::default()
        };
        assert_eq!(
            resolve("gpt-4o-mini", Some(&r))
                .unwrap()
                .serving
                .decode_tokens_per_s,
            50.0
        );
        let e = resolve("my-model", None).unwrap_err();
        assert_eq!(e.0, "decode_tokens_per_s");
        assert!(resolve("my-model", Some(&r)).is_ok());
    }

    #[test]
    fn non_finite_and_absurd_numbers_name_the_key_and_range() {
        let nan = RawModel {
            decode_tokens_per_s: Some(f64::NAN),
            ..Default::default()
        };
        // A built-in model given `nan` is not "not built in".
        assert_eq!(
            resolve("gpt-4o-mini", Some(&nan)).unwrap_err(),
            (
                "decode_tokens_per_s".to_string(),
                "must be a finite number > 0 (tokens per second), got NaN".to_string()
            )
        );
        let price = RawModel {
            price_input_per_1m: Some(1e308),
            ..Default::default()
        };
        assert_eq!(
            resolve("gpt-4o-mini", Some(&price)).unwrap_err().1,
            "must be within [0, 10_000] (USD per 1M tokens), got 1e308"
        );
        let tiny = RawModel {
            ptu_input_tpm: Some(5e-324),
            ..Default::default()
        };
        assert_eq!(
            resolve("gpt-4o-mini", Some(&tiny)).unwrap_err().0,
            "ptu_input_tpm"
        );
        let ratio = RawModel {
            ptu_output_ratio: Some(1e308),
            ..Default::default()
        };
        assert!(
            resolve("gpt-4o-mini", Some(&ratio))
                .unwrap_err()
                .1
                .contains("(0, 1000]")
        );
        let cv = RawModel {
            decode_variation_cv: Some(f64::INFINITY),
            ..Default::default()
        };
        assert!(
            resolve("gpt-4o-mini", Some(&cv))
                .unwrap_err()
                .1
                .contains("finite")
        );
    }
}
