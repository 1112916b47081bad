//! Per-model parameters: defaults from the model catalogue (`catalogue.toml`, see
//! [`catalogue`]), overridden by the `[models."NAME"]` tables a scenario may give.
//!
//! Every catalogue figure has its source or is marked as an assumption, in the file. A model
//! that is not in the catalogue must give at least `decode_tokens_per_s`; its other keys fall
//! back to the generic defaults below, which are stated assumptions, except its prices: a
//! deployment of a model without a price is an error unless the scenario sets one, so that no
//! cost is $0 by omission (checked in `validate::models`).

pub mod catalogue;

use super::Serving;
use super::limits::{self, Range};
use super::raw::RawModel;
use crate::time::{SimTime, parse_duration};
use catalogue::{Entry, Figure, catalogue};

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
    /// Smallest provisioned deployment in PTUs (Global and Data Zone), if the model has a rule.
    pub ptu_minimum: Option<u32>,
    /// Provisioned deployments grow in steps of this many PTUs, if the model has a rule.
    pub ptu_step: Option<u32>,
    /// USD per 1M input tokens (standard deployments).
    pub price_input_per_1m: f64,
    /// USD per 1M cached input tokens (standard deployments); the input price when the
    /// catalogue has no cached price for the model and the scenario gives none.
    pub price_cached_input_per_1m: f64,
    /// USD per 1M output tokens (standard deployments).
    pub price_output_per_1m: f64,
    /// USD per PTU-hour (provisioned deployments).
    pub ptu_price_per_hour: f64,
    /// Context window, tokens: a call whose prompt + max_tokens exceeds it gets a 400.
    pub context_window: Option<u32>,
    /// Keys that neither the catalogue nor the scenario gives a value for (prices, PTU
    /// figures), in key order. Their values above are placeholders (prices 0); validation
    /// refuses a deployment that needs one of them.
    pub missing: Vec<&'static str>,
}

/// The defaults of one model before the scenario's overrides (`None`: no figure).
struct Defaults {
    context_window: Option<u32>,
    ttft_base: SimTime,
    prefill: f64,
    decode: Option<f64>,
    cv: f64,
    default_estimate: u32,
    rpm_per_1k: f64,
    ptu_tpm: Option<f64>,
    ratio: Option<f64>,
    ptu_minimum: Option<u32>,
    ptu_step: Option<u32>,
    price_in: Option<f64>,
    price_cached: Option<f64>,
    price_out: Option<f64>,
    ptu_hour: Option<f64>,
}

/// Generic defaults for models that are not in the catalogue (all assumptions; override
/// them). A model not in the catalogue has no price and no PTU size rule.
const GENERIC: Defaults = Defaults {
    context_window: None,
    ttft_base: SimTime::from_millis(300),
    prefill: 10_000.0,
    decode: None, // must be given
    cv: 0.15,
    default_estimate: 648,
    rpm_per_1k: 6.0,
    ptu_tpm: Some(2_500.0),
    ratio: Some(4.0),
    ptu_minimum: None,
    ptu_step: None,
    price_in: None,
    price_cached: None,
    price_out: None,
    ptu_hour: None,
};

/// Placeholders for PTU figures a catalogue model does not have (used only if a scenario
/// gives the other PTU figures).
const PTU_TPM_PLACEHOLDER: f64 = 2_500.0;
const RATIO_PLACEHOLDER: f64 = 4.0;

impl Defaults {
    fn of(e: &Entry) -> Defaults {
        fn v<T: Copy>(f: &Figure<T>) -> Option<T> {
            f.value
        }
        // The catalogue's rules (checked by its unit test) guarantee the required figures.
        let ttft = e.ttft_base.value.as_deref().unwrap_or("300ms");
        Defaults {
            context_window: v(&e.context_window),
            ttft_base: parse_duration(ttft).unwrap_or(GENERIC.ttft_base),
            prefill: v(&e.prefill_tokens_per_s).unwrap_or(GENERIC.prefill),
            decode: v(&e.decode_tokens_per_s),
            cv: v(&e.decode_variation_cv).unwrap_or(GENERIC.cv),
            default_estimate: v(&e.default_max_tokens_estimate).unwrap_or(GENERIC.default_estimate),
            rpm_per_1k: v(&e.rpm_per_1k_tpm).unwrap_or(GENERIC.rpm_per_1k),
            ptu_tpm: v(&e.ptu_input_tpm),
            ratio: v(&e.ptu_output_ratio),
            ptu_minimum: v(&e.ptu_minimum),
            ptu_step: v(&e.ptu_step),
            price_in: v(&e.price_input_per_1m),
            price_cached: v(&e.price_cached_input_per_1m),
            price_out: v(&e.price_output_per_1m),
            ptu_hour: v(&e.ptu_price_per_hour),
        }
    }
}

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

/// The catalogue's defaults for `name` (generic ones for a model not in it), overridden by
/// `raw`. Errors are `(key, message)`.
pub fn resolve(name: &str, raw: Option<&RawModel>) -> Result<ModelParams, (String, String)> {
    let empty = RawModel::default();
    let r = raw.unwrap_or(&empty);
    let b = match catalogue().get(name) {
        Some(e) => Defaults::of(e),
        None => GENERIC,
    };
    let check = |k: &str, v: f64, range: &Range| -> Result<f64, (String, String)> {
        range.check(v).map_err(|m| (k.to_string(), m))
    };
    // A value given for any model is checked first: `nan` is not "missing".
    if let Some(v) = r.decode_tokens_per_s {
        check("decode_tokens_per_s", v, &limits::DECODE_TOKENS_PER_S)?;
    }
    let Some(decode) = r.decode_tokens_per_s.or(b.decode) else {
        return Err((
            "decode_tokens_per_s".into(),
            format!(
                "model '{name}' is not in the model catalogue ({}; see `spillway models`); give at least decode_tokens_per_s",
                catalogue().names()
            ),
        ));
    };
    let ttft_base = match &r.ttft_base {
        Some(s) => parse_duration(s).map_err(|m| ("ttft_base".to_string(), m))?,
        None => b.ttft_base,
    };
    let o = optional(r, &b)?;
    let (ptu_minimum, ptu_step) = ptu_rule(r, &b)?;
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
        context_window: r.context_window.or(b.context_window),
        default_max_tokens_estimate: r.default_max_tokens_estimate.unwrap_or(b.default_estimate),
        rpm_per_1k_tpm: check(
            "rpm_per_1k_tpm",
            r.rpm_per_1k_tpm.unwrap_or(b.rpm_per_1k),
            &limits::RPM_PER_1K_TPM,
        )?,
        ptu_input_tpm: o.ptu_input_tpm,
        ptu_output_ratio: o.ptu_output_ratio,
        ptu_minimum,
        ptu_step,
        price_input_per_1m: o.price_input_per_1m,
        price_cached_input_per_1m: o.price_cached_input_per_1m,
        price_output_per_1m: o.price_output_per_1m,
        ptu_price_per_hour: o.ptu_price_per_hour,
        missing: o.missing,
    })
}

/// The figures a model may lack: PTU capacity and prices.
struct Optional {
    ptu_input_tpm: f64,
    ptu_output_ratio: f64,
    price_input_per_1m: f64,
    price_cached_input_per_1m: f64,
    price_output_per_1m: f64,
    ptu_price_per_hour: f64,
    missing: Vec<&'static str>,
}

/// Each optional figure: the scenario's, else the catalogue's, else a placeholder noted as
/// missing. Every value given is range-checked.
fn optional(r: &RawModel, b: &Defaults) -> Result<Optional, (String, String)> {
    let check = |k: &str, v: f64, range: &Range| -> Result<f64, (String, String)> {
        range.check(v).map_err(|m| (k.to_string(), m))
    };
    let mut missing = Vec::new();
    let mut figure = |k: &'static str,
                      given: Option<f64>,
                      default: Option<f64>,
                      placeholder: f64,
                      range: &Range|
     -> Result<f64, (String, String)> {
        match given.or(default) {
            Some(v) => check(k, v, range),
            None => {
                missing.push(k);
                Ok(placeholder)
            }
        }
    };
    use limits::{PRICE_PER_1M_TOKENS as PER_1M, PRICE_PER_PTU_HOUR as PER_HOUR};
    let ptu_input_tpm = figure(
        "ptu_input_tpm",
        r.ptu_input_tpm,
        b.ptu_tpm,
        PTU_TPM_PLACEHOLDER,
        &limits::PTU_INPUT_TPM,
    )?;
    let ptu_output_ratio = figure(
        "ptu_output_ratio",
        r.ptu_output_ratio,
        b.ratio,
        RATIO_PLACEHOLDER,
        &limits::PTU_OUTPUT_RATIO,
    )?;
    let price_in = figure(
        "price_input_per_1m",
        r.price_input_per_1m,
        b.price_in,
        0.0,
        &PER_1M,
    )?;
    let price_out = figure(
        "price_output_per_1m",
        r.price_output_per_1m,
        b.price_out,
        0.0,
        &PER_1M,
    )?;
    let ptu_hour = figure(
        "ptu_price_per_hour",
        r.ptu_price_per_hour,
        b.ptu_hour,
        0.0,
        &PER_HOUR,
    )?;
    // No cached price: cached input tokens cost what input tokens cost.
    let cached = r
        .price_cached_input_per_1m
        .or(b.price_cached)
        .unwrap_or(price_in);
    let price_cached_input_per_1m = check("price_cached_input_per_1m", cached, &PER_1M)?;
    missing.sort_unstable();
    Ok(Optional {
        ptu_input_tpm,
        ptu_output_ratio,
        price_input_per_1m: price_in,
        price_cached_input_per_1m,
        price_output_per_1m: price_out,
        ptu_price_per_hour: ptu_hour,
        missing,
    })
}

/// The PTU size rule: the scenario's `ptu_minimum` / `ptu_step`, else the catalogue's. Given
/// only a step, the minimum is one step; given only a minimum, the step is 1.
fn ptu_rule(r: &RawModel, b: &Defaults) -> Result<(Option<u32>, Option<u32>), (String, String)> {
    for (k, v) in [("ptu_minimum", r.ptu_minimum), ("ptu_step", r.ptu_step)] {
        if let Some(v) = v {
            limits::PTU
                .check_int(u64::from(v))
                .map_err(|m| (k.to_string(), m))?;
        }
    }
    let minimum = r.ptu_minimum.or(b.ptu_minimum);
    let step = r.ptu_step.or(b.ptu_step);
    Ok(match (minimum, step) {
        (None, None) => (None, None),
        (Some(m), None) => (Some(m), Some(1)),
        (None, Some(s)) => (Some(s), Some(s)),
        (Some(m), Some(s)) => (Some(m), Some(s)),
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
        assert!(
            e.1.contains("not in the model catalogue (gpt-4o-mini, "),
            "{}",
            e.1
        );
        assert!(resolve("my-model", Some(&r)).is_ok());
    }

    /// The two models built in before the catalogue keep exactly their values (every committed
    /// result depends on them); the generic defaults of other models are unchanged but for
    /// prices, which are now missing rather than 0.
    #[test]
    fn the_catalogue_keeps_the_old_built_ins_exactly() {
        // (name, ttft ms, [prefill, decode, cv], estimate, [rpm/1K, PTU TPM, ratio, in, out, PTU-h])
        type Old = (&'static str, u64, [f64; 3], u32, [f64; 6]);
        let old: [Old; 2] = [
            (
                "gpt-4.1-mini",
                300,
                [12_500.0, 108.0, 0.15],
                648,
                [1.0, 14_900.0, 4.0, 0.40, 1.60, 1.0],
            ),
            (
                "gpt-4o-mini",
                300,
                [12_500.0, 111.0, 0.15],
                648,
                [6.0, 37_000.0, 4.0, 0.15, 0.60, 1.0],
            ),
        ];
        for (name, ttft, [prefill, decode, cv], est, [rpm, tpm, ratio, pin, pout, hour]) in old {
            let m = resolve(name, None).unwrap();
            assert_eq!(m.serving.ttft_base, SimTime::from_millis(ttft), "{name}");
            let bits = |a: f64, b: f64| assert_eq!(a.to_bits(), b.to_bits(), "{name}: {a} vs {b}");
            bits(m.serving.prefill_tokens_per_s, prefill);
            bits(m.serving.decode_tokens_per_s, decode);
            bits(m.serving.decode_variation_cv, cv);
            assert_eq!(m.default_max_tokens_estimate, est);
            bits(m.rpm_per_1k_tpm, rpm);
            bits(m.ptu_input_tpm, tpm);
            bits(m.ptu_output_ratio, ratio);
            bits(m.price_input_per_1m, pin);
            bits(m.price_output_per_1m, pout);
            bits(m.ptu_price_per_hour, hour);
            assert_eq!(m.serving.speed_table, vec![1.0, 1.0]);
            assert!(m.missing.is_empty(), "{name}: {:?}", m.missing);
            assert_eq!((m.ptu_minimum, m.ptu_step), (Some(15), Some(5)));
        }
        let r = RawModel {
            decode_tokens_per_s: Some(50.0),
            ..Default::default()
        };
        let g = resolve("my-model", Some(&r)).unwrap();
        assert_eq!(g.serving.ttft_base, SimTime::from_millis(300));
        assert_eq!(
            (
                g.serving.prefill_tokens_per_s,
                g.rpm_per_1k_tpm,
                g.ptu_input_tpm,
                g.ptu_output_ratio
            ),
            (10_000.0, 6.0, 2_500.0, 4.0)
        );
        assert_eq!(
            g.missing,
            [
                "price_input_per_1m",
                "price_output_per_1m",
                "ptu_price_per_hour"
            ]
        );
        assert_eq!((g.ptu_minimum, g.ptu_step), (None, None));
    }

    #[test]
    fn every_catalogue_model_resolves_with_its_figures() {
        for e in &catalogue().model {
            let m = resolve(&e.name, None).unwrap();
            assert_eq!(
                Some(m.serving.decode_tokens_per_s),
                e.decode_tokens_per_s.value
            );
            assert_eq!(Some(m.price_input_per_1m), e.price_input_per_1m.value);
            assert_eq!(
                Some(m.price_cached_input_per_1m),
                e.price_cached_input_per_1m.value
            );
            let ptu = e.ptu_input_tpm.value.is_some();
            assert_eq!(m.missing.is_empty(), ptu, "{}: {:?}", e.name, m.missing);
        }
        let nano = resolve("gpt-5-nano", None).unwrap();
        assert_eq!(
            nano.missing,
            ["ptu_input_tpm", "ptu_output_ratio", "ptu_price_per_hour"]
        );
        let o4 = resolve("o4-mini", None).unwrap();
        assert_eq!(o4.serving.ttft_base, SimTime::from_millis(21_900));
        assert_eq!(resolve("gpt-5", None).unwrap().ptu_output_ratio, 8.0);
    }

    #[test]
    fn overrides_of_the_new_keys() {
        // The cached price: the scenario's, else the catalogue's, else the input price.
        let r = RawModel {
            price_cached_input_per_1m: Some(0.01),
            ptu_minimum: Some(25),
            ptu_step: Some(25),
            ..Default::default()
        };
        let m = resolve("gpt-4.1-mini", Some(&r)).unwrap();
        assert_eq!(m.price_cached_input_per_1m, 0.01);
        assert_eq!((m.ptu_minimum, m.ptu_step), (Some(25), Some(25)));
        assert_eq!(
            resolve("gpt-4.1-mini", None)
                .unwrap()
                .price_cached_input_per_1m,
            0.10
        );
        let custom = RawModel {
            decode_tokens_per_s: Some(80.0),
            price_input_per_1m: Some(0.7),
            price_output_per_1m: Some(0.0),
            ..Default::default()
        };
        let m = resolve("my-model", Some(&custom)).unwrap();
        assert_eq!(m.price_cached_input_per_1m, 0.7);
        assert_eq!(m.price_output_per_1m, 0.0);
        assert_eq!(m.missing, ["ptu_price_per_hour"], "0 is a price");
        // A step alone also sets the minimum; a minimum alone steps by 1.
        let step = RawModel {
            ptu_step: Some(10),
            ..custom.clone()
        };
        let m = resolve("my-model", Some(&step)).unwrap();
        assert_eq!((m.ptu_minimum, m.ptu_step), (Some(10), Some(10)));
        let min = RawModel {
            ptu_minimum: Some(3),
            ..custom.clone()
        };
        let m = resolve("my-model", Some(&min)).unwrap();
        assert_eq!((m.ptu_minimum, m.ptu_step), (Some(3), Some(1)));
        // Checked like the other numbers.
        let zero = RawModel {
            ptu_step: Some(0),
            ..custom.clone()
        };
        assert_eq!(resolve("my-model", Some(&zero)).unwrap_err().0, "ptu_step");
        let nan = RawModel {
            price_cached_input_per_1m: Some(f64::NAN),
            ..custom
        };
        assert_eq!(
            resolve("my-model", Some(&nan)).unwrap_err().0,
            "price_cached_input_per_1m"
        );
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
