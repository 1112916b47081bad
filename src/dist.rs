//! Distributions of token counts and durations, as written in a scenario and as sampled.
//!
//! A scenario writes a distribution either as a bare number (a constant) or as a table with a
//! `dist` key: `{ dist = "normal", mean = 9500, sd = 800 }`. [`RawDist`] is that table as
//! written; [`Dist::from_raw`] checks it and turns it into a ready sampler. Some samplers
//! (normal, exponential) take a variable number of values from the generator; common random
//! numbers hold anyway because each session draws from its own stream in a fixed order.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, Exp, LogNormal, Normal};
use serde::Deserialize;

/// A distribution as written in the scenario file.
#[derive(Clone, Debug, PartialEq, schemars::JsonSchema)]
#[schemars(untagged)]
pub enum RawDist {
    /// A bare number: a constant.
    Constant(f64),
    /// A table with a `dist` key.
    Table(RawDistTable),
}

impl<'de> Deserialize<'de> for RawDist {
    // Not `untagged`: serde's untagged errors say only "did not match any variant"; this
    // names the unknown key or the wrong type.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{Error, Unexpected};
        match toml::Value::deserialize(d)? {
            toml::Value::Integer(i) => Ok(RawDist::Constant(i as f64)),
            toml::Value::Float(f) => Ok(RawDist::Constant(f)),
            // Inside the table, a type error names the inner key in the domain's words.
            t @ toml::Value::Table(_) => serde_path_to_error::deserialize::<_, RawDistTable>(t)
                .map(RawDist::Table)
                .map_err(|e| {
                    let path = e.path().to_string();
                    let message = e.into_inner().message().to_string();
                    D::Error::custom(
                        crate::scenario::words::type_error(&path, &message).unwrap_or(message),
                    )
                }),
            other => {
                let text;
                let found = match &other {
                    toml::Value::String(s) => Unexpected::Str(s),
                    toml::Value::Boolean(b) => Unexpected::Bool(*b),
                    toml::Value::Array(_) => Unexpected::Seq,
                    v => {
                        text = v.to_string();
                        Unexpected::Other(&text)
                    }
                };
                Err(D::Error::invalid_type(
                    found,
                    &"a number or a distribution table",
                ))
            }
        }
    }
}

/// The table form of a distribution. Which keys apply depends on `dist`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[derive(schemars::JsonSchema)]
pub struct RawDistTable {
    /// `constant`, `uniform`, `normal`, `lognormal`, `exponential` or `empirical`.
    pub dist: String,
    /// For `constant`.
    pub value: Option<f64>,
    /// For `normal`, `lognormal`, `exponential`.
    pub mean: Option<f64>,
    /// Standard deviation, for `normal`.
    pub sd: Option<f64>,
    /// Coefficient of variation (sd / mean), for `lognormal`.
    pub cv: Option<f64>,
    /// Lower bound: for `uniform` the range start; for the others a clamp on samples.
    pub min: Option<f64>,
    /// Upper bound: for `uniform` the range end; for the others a clamp on samples.
    pub max: Option<f64>,
    /// For `empirical`: the values.
    pub values: Option<Vec<f64>>,
    /// For `empirical`: optional weights, one per value (default equal).
    pub weights: Option<Vec<f64>>,
}

/// A checked distribution, ready to sample.
#[derive(Clone, Debug)]
pub struct Dist {
    kind: DistKind,
    min: f64,
    max: f64,
}

#[derive(Clone, Debug)]
enum DistKind {
    Constant(f64),
    Uniform(f64, f64),
    Normal(Normal<f64>),
    /// The sampler and its mean.
    LogNormal(LogNormal<f64>, f64),
    /// The sampler and its mean.
    Exponential(Exp<f64>, f64),
    /// Values with cumulative weights normalised to end at 1.
    Empirical(Vec<f64>, Vec<f64>),
}

impl Dist {
    /// A constant.
    pub fn constant(v: f64) -> Dist {
        Dist {
            kind: DistKind::Constant(v),
            min: f64::NEG_INFINITY,
            max: f64::INFINITY,
        }
    }

    /// Checks a written distribution. `lower` is the smallest value that makes sense for the
    /// quantity (0 for tokens and durations); samples are clamped to it. Errors say which key is
    /// missing or wrong and what is allowed.
    pub fn from_raw(raw: &RawDist, lower: f64) -> Result<Dist, String> {
        let t = match raw {
            RawDist::Constant(v) => {
                if !v.is_finite() || *v < lower {
                    return Err(format!("constant {v} must be a finite number >= {lower}"));
                }
                return Ok(Dist {
                    kind: DistKind::Constant(*v),
                    min: lower,
                    max: f64::INFINITY,
                });
            }
            RawDist::Table(t) => t,
        };
        let need = |name: &str, v: Option<f64>| -> Result<f64, String> {
            match v {
                Some(x) if x.is_finite() => Ok(x),
                Some(x) => Err(format!("'{name}' must be finite, got {x}")),
                None => Err(format!("dist = \"{}\" needs the key '{name}'", t.dist)),
            }
        };
        let positive = |name: &str, v: f64| -> Result<f64, String> {
            if v > 0.0 {
                Ok(v)
            } else {
                Err(format!("'{name}' must be > 0, got {v}"))
            }
        };
        let only = |allowed: &[&str]| -> Result<(), String> {
            let present = [
                ("value", t.value.is_some()),
                ("mean", t.mean.is_some()),
                ("sd", t.sd.is_some()),
                ("cv", t.cv.is_some()),
                ("values", t.values.is_some()),
                ("weights", t.weights.is_some()),
            ];
            for (k, p) in present {
                if p && !allowed.contains(&k) {
                    return Err(format!(
                        "key '{k}' does not apply to dist = \"{}\" (it takes: {})",
                        t.dist,
                        allowed.join(", ")
                    ));
                }
            }
            Ok(())
        };
        let mut min = t.min.unwrap_or(lower).max(lower);
        let max = t.max.unwrap_or(f64::INFINITY);
        let kind = match t.dist.as_str() {
            "constant" => {
                only(&["value"])?;
                DistKind::Constant(need("value", t.value)?)
            }
            "uniform" => {
                only(&[])?;
                let lo = need("min", t.min)?;
                let hi = need("max", t.max)?;
                if hi < lo {
                    return Err(format!("uniform needs min <= max, got {lo} > {hi}"));
                }
                min = lo.max(lower);
                DistKind::Uniform(lo, hi)
            }
            "normal" => {
                only(&["mean", "sd"])?;
                let mean = need("mean", t.mean)?;
                let sd = need("sd", t.sd)?;
                if sd < 0.0 {
                    return Err(format!("'sd' must be >= 0, got {sd}"));
                }
                DistKind::Normal(Normal::new(mean, sd).map_err(|e| e.to_string())?)
            }
            "lognormal" => {
                only(&["mean", "cv"])?;
                let mean = positive("mean", need("mean", t.mean)?)?;
                let cv = need("cv", t.cv)?;
                if cv < 0.0 {
                    return Err(format!("'cv' must be >= 0, got {cv}"));
                }
                let (mu, sigma) = lognormal_params(mean, cv);
                DistKind::LogNormal(LogNormal::new(mu, sigma).map_err(|e| e.to_string())?, mean)
            }
            "exponential" => {
                only(&["mean"])?;
                let mean = positive("mean", need("mean", t.mean)?)?;
                DistKind::Exponential(Exp::new(1.0 / mean).map_err(|e| e.to_string())?, mean)
            }
            "empirical" => {
                only(&["values", "weights"])?;
                empirical(t)?
            }
            other => {
                return Err(format!(
                    "unknown dist \"{other}\"; allowed: constant, uniform, normal, lognormal, exponential, empirical"
                ));
            }
        };
        if max < min {
            return Err(format!("'max' ({max}) is below 'min' ({min})"));
        }
        Ok(Dist { kind, min, max })
    }

    /// A share in [0, 1] (e.g. of a prompt that is cached): a constant must be in range; the
    /// samples of a distribution are clamped to it.
    pub fn share(raw: &RawDist) -> Result<Dist, String> {
        if let RawDist::Constant(v) = raw
            && !(0.0..=1.0).contains(v)
        {
            return Err(format!("a share from 0 to 1, got {v}"));
        }
        let mut d = Dist::from_raw(raw, 0.0)?;
        d.max = d.max.min(1.0);
        Ok(d)
    }

    /// Whether every draw is the same number (sampling takes nothing from the generator).
    pub fn is_constant(&self) -> bool {
        matches!(self.kind, DistKind::Constant(_))
    }

    /// Draws one value, clamped to the distribution's bounds.
    #[inline(always)]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let v = match &self.kind {
            DistKind::Constant(v) => *v,
            DistKind::Uniform(lo, hi) => lo + (hi - lo) * rng.random::<f64>(),
            DistKind::Normal(d) => d.sample(rng),
            DistKind::LogNormal(d, _) => d.sample(rng),
            DistKind::Exponential(d, _) => d.sample(rng),
            DistKind::Empirical(values, cum) => {
                let u: f64 = rng.random();
                let i = cum.partition_point(|&c| c <= u).min(values.len() - 1);
                values[i]
            }
        };
        v.clamp(self.min, self.max)
    }

    /// The mean before clamping (exact for every kind); used by tests and sanity checks.
    pub fn mean(&self) -> f64 {
        match &self.kind {
            DistKind::Constant(v) => *v,
            DistKind::Uniform(lo, hi) => (lo + hi) / 2.0,
            DistKind::Normal(d) => d.mean(),
            DistKind::LogNormal(_, mean) | DistKind::Exponential(_, mean) => *mean,
            DistKind::Empirical(values, cum) => {
                let mut prev = 0.0;
                values
                    .iter()
                    .zip(cum)
                    .map(|(v, c)| {
                        let w = c - prev;
                        prev = *c;
                        v * w
                    })
                    .sum()
            }
        }
    }
}

/// `x.round()` (half away from zero), bit for bit, without the libm call that `f64::round`
/// costs on baseline x86-64 (no SSE4.1 `roundsd`): the hot path rounds every drawn token
/// count. Below 2^52 in magnitude, `x - trunc(x)` is exact, so the comparison with 0.5 is
/// exact too; from 2^52 up every double is already whole (and NaN or infinity passes through).
#[inline]
pub fn round(x: f64) -> f64 {
    const WHOLE: f64 = 4_503_599_627_370_496.0; // 2^52
    let a = x.abs();
    if a < WHOLE {
        // Rounding the magnitude and putting the sign back is rounding half away from zero.
        // The half is added as a 0 or 1 from the comparison, not chosen by a branch: whether a
        // drawn value's fraction is at least one half is a coin toss the CPU cannot predict.
        let t = a as i64 as f64;
        let r = t + f64::from(u8::from(a - t >= 0.5));
        r.copysign(x)
    } else {
        x
    }
}

/// The `empirical` kind: values with cumulative weights normalised to end at 1.
fn empirical(t: &RawDistTable) -> Result<DistKind, String> {
    let values = t.values.clone().unwrap_or_default();
    if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
        return Err("empirical needs 'values', a non-empty list of numbers".into());
    }
    let weights = t.weights.clone().unwrap_or_else(|| vec![1.0; values.len()]);
    if weights.len() != values.len() {
        return Err(format!(
            "'weights' has {} entries but 'values' has {}",
            weights.len(),
            values.len()
        ));
    }
    if weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
        return Err("'weights' must be finite numbers >= 0".into());
    }
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return Err("'weights' must not all be zero".into());
    }
    let mut acc = 0.0;
    let cum = weights
        .iter()
        .map(|w| {
            acc += w / total;
            acc
        })
        .collect();
    Ok(DistKind::Empirical(values, cum))
}

/// `(mu, sigma)` of the underlying normal for a lognormal with the given mean and
/// coefficient of variation.
pub fn lognormal_params(mean: f64, cv: f64) -> (f64, f64) {
    let sigma2 = (1.0 + cv * cv).ln();
    (mean.ln() - sigma2 / 2.0, sigma2.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Stream, stream};

    fn table(dist: &str) -> RawDistTable {
        RawDistTable {
            dist: dist.into(),
            ..Default::default()
        }
    }

    proptest::proptest! {
        #![proptest_config(crate::testkit::proptest_config(10_000))]
        /// Bit for bit `f64::round`, on any double (NaN, infinities, halves, huge values).
        #[test]
        fn round_is_f64_round(bits in proptest::num::u64::ANY, k in -2_000_000i64..2_000_000) {
            let x = f64::from_bits(bits);
            proptest::prop_assert_eq!(round(x).to_bits(), x.round().to_bits(), "{}", x);
            // Halves and their neighbours, where rounding is decided.
            let h = k as f64 / 2.0;
            for y in [h, h.next_up(), h.next_down(), -h] {
                proptest::prop_assert_eq!(round(y).to_bits(), y.round().to_bits(), "{}", y);
            }
        }
    }

    #[test]
    fn round_edge_cases() {
        for x in [
            0.0,
            -0.0,
            0.5,
            -0.5,
            0.49999999999999994,
            -0.49999999999999994,
            2.5,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            9.3e18,
            -9.3e18,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
        ] {
            assert_eq!(round(x).to_bits(), x.round().to_bits(), "{x}");
        }
        assert!(round(f64::NAN).is_nan());
    }

    fn sample_mean(d: &Dist, n: usize) -> f64 {
        let mut r = stream(1, Stream::Chaos, 0);
        (0..n).map(|_| d.sample(&mut r)).sum::<f64>() / n as f64
    }

    #[test]
    fn lognormal_matches_requested_mean() {
        let mut t = table("lognormal");
        t.mean = Some(500.0);
        t.cv = Some(0.5);
        let d = Dist::from_raw(&RawDist::Table(t), 0.0).unwrap();
        assert!((d.mean() - 500.0).abs() < 1e-6, "{}", d.mean());
        let m = sample_mean(&d, 200_000);
        assert!((m - 500.0).abs() < 5.0, "{m}");
    }

    #[test]
    fn exponential_and_uniform_means() {
        let mut t = table("exponential");
        t.mean = Some(2.0);
        let d = Dist::from_raw(&RawDist::Table(t), 0.0).unwrap();
        assert!((d.mean() - 2.0).abs() < 1e-9);
        assert!((sample_mean(&d, 200_000) - 2.0).abs() < 0.03);
        let mut u = table("uniform");
        u.min = Some(6000.0);
        u.max = Some(8000.0);
        let d = Dist::from_raw(&RawDist::Table(u), 0.0).unwrap();
        let mut r = stream(2, Stream::Chaos, 0);
        for _ in 0..1000 {
            let v = d.sample(&mut r);
            assert!((6000.0..=8000.0).contains(&v));
        }
    }

    #[test]
    fn empirical_respects_weights() {
        let mut t = table("empirical");
        t.values = Some(vec![1.0, 10.0]);
        t.weights = Some(vec![3.0, 1.0]);
        let d = Dist::from_raw(&RawDist::Table(t), 0.0).unwrap();
        assert!((d.mean() - 3.25).abs() < 1e-9);
        assert!((sample_mean(&d, 100_000) - 3.25).abs() < 0.05);
    }

    #[test]
    fn clamps_to_lower_bound() {
        let mut t = table("normal");
        t.mean = Some(0.0);
        t.sd = Some(10.0);
        let d = Dist::from_raw(&RawDist::Table(t), 0.0).unwrap();
        let mut r = stream(3, Stream::Chaos, 0);
        assert!((0..1000).all(|_| d.sample(&mut r) >= 0.0));
    }

    #[test]
    fn errors_name_the_missing_or_wrong_key() {
        let e = Dist::from_raw(&RawDist::Table(table("normal")), 0.0).unwrap_err();
        assert!(e.contains("'mean'"), "{e}");
        let mut t = table("exponential");
        t.mean = Some(1.0);
        t.sd = Some(1.0);
        let e = Dist::from_raw(&RawDist::Table(t), 0.0).unwrap_err();
        assert!(e.contains("'sd'") && e.contains("mean"), "{e}");
        let e = Dist::from_raw(&RawDist::Table(table("zipf")), 0.0).unwrap_err();
        assert!(e.contains("lognormal"), "{e}");
        let e = Dist::from_raw(&RawDist::Constant(-1.0), 0.0).unwrap_err();
        assert!(e.contains(">= 0"), "{e}");
    }
}
