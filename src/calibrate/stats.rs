//! The statistics calibration needs, written out so that every step is visible and
//! deterministic: quantiles, a robust line (Theil-Sen with Sen's interval), least squares,
//! the lognormal moments, and the two-sample Kolmogorov-Smirnov distance.

use rand::SeedableRng;
use rand_pcg::Pcg64;

use crate::rng::{derive_seed, splitmix64};

/// Quantile `q` (0..=1) of sorted values, linear between order statistics (Hyndman and
/// Fan's type 7, the default of R and NumPy). `NaN` for no values.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
        }
    }
}

/// `values` sorted ascending (total order: no value is NaN here by construction).
pub fn sorted(values: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = values.into_iter().collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Median of `values` (`NaN` for none).
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    quantile_sorted(&sorted(values), 0.5)
}

/// Mean and sample variance (n - 1 in the denominator; 0 for one value).
pub fn mean_var(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    (mean, ss / (n - 1.0))
}

/// A robust straight line `y = intercept + slope x`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Line {
    /// Slope: the median of the pairwise slopes.
    pub slope: f64,
    /// Lower end of the slope's 95% interval (Sen 1968).
    pub slope_lo: f64,
    /// Upper end of the slope's 95% interval.
    pub slope_hi: f64,
    /// Intercept: the median of `y - slope x`.
    pub intercept: f64,
}

/// At most this many points enter the pairwise slopes (about 2 million pairs); beyond it an
/// evenly spaced, deterministic subset is used for the slope (the intercept uses all points).
pub const THEIL_SEN_MAX_POINTS: usize = 2_000;

/// Theil-Sen line through `(x, y)` with Sen's 95% interval for the slope, from the Kendall
/// statistic's variance corrected for ties in `x`. `None` when fewer than two distinct `x`.
pub fn theil_sen(x: &[f64], y: &[f64]) -> Option<Line> {
    debug_assert_eq!(x.len(), y.len());
    let idx: Vec<usize> = if x.len() > THEIL_SEN_MAX_POINTS {
        let step = x.len() as f64 / THEIL_SEN_MAX_POINTS as f64;
        (0..THEIL_SEN_MAX_POINTS)
            .map(|k| (k as f64 * step) as usize)
            .collect()
    } else {
        (0..x.len()).collect()
    };
    let mut slopes = Vec::with_capacity(idx.len() * idx.len().saturating_sub(1) / 2);
    for (a, &i) in idx.iter().enumerate() {
        for &j in &idx[a + 1..] {
            let dx = x[j] - x[i];
            if dx != 0.0 {
                slopes.push((y[j] - y[i]) / dx);
            }
        }
    }
    if slopes.is_empty() {
        return None;
    }
    slopes.sort_by(f64::total_cmp);
    let slope = quantile_sorted(&slopes, 0.5);
    // Var(S) of Kendall's statistic with ties in x (ties in y are rare in timings).
    let n = idx.len() as f64;
    let xs = sorted(idx.iter().map(|&i| x[i]));
    let mut ties = 0.0;
    let mut k = 0;
    while k < xs.len() {
        let mut e = k + 1;
        while e < xs.len() && xs[e] == xs[k] {
            e += 1;
        }
        let t = (e - k) as f64;
        ties += t * (t - 1.0) * (2.0 * t + 5.0);
        k = e;
    }
    let var_s = ((n * (n - 1.0) * (2.0 * n + 5.0) - ties) / 18.0).max(0.0);
    let c = 1.959_964 * var_s.sqrt();
    let m = slopes.len() as f64;
    let lo_rank = ((m - c) / 2.0).ceil().max(1.0) as usize;
    let hi_rank = ((m + c) / 2.0).floor().max(1.0) as usize + 1;
    let slope_lo = slopes[(lo_rank - 1).min(slopes.len() - 1)];
    let slope_hi = slopes[(hi_rank - 1).min(slopes.len() - 1)];
    let intercept = median(x.iter().zip(y).map(|(xi, yi)| yi - slope * xi));
    Some(Line {
        slope,
        slope_lo,
        slope_hi,
        intercept,
    })
}

/// Ordinary least squares of `y` on the columns of `rows` (each row: the regressors, a
/// leading 1 for an intercept included by the caller): the coefficients and their standard
/// errors. `None` when the normal equations are singular (a regressor that does not vary, or
/// no more rows than unknowns).
pub fn least_squares<const K: usize>(rows: &[[f64; K]], y: &[f64]) -> Option<([f64; K], [f64; K])> {
    if rows.len() <= K {
        return None;
    }
    let mut a = [[0.0; K]; K];
    let mut b = [0.0; K];
    for (r, &yi) in rows.iter().zip(y) {
        for i in 0..K {
            b[i] += r[i] * yi;
            for j in 0..K {
                a[i][j] += r[i] * r[j];
            }
        }
    }
    let coef = solve(a, b)?;
    let ss: f64 = rows
        .iter()
        .zip(y)
        .map(|(r, yi)| {
            let fit: f64 = r.iter().zip(&coef).map(|(x, c)| x * c).sum();
            (yi - fit) * (yi - fit)
        })
        .sum();
    let s2 = ss / (rows.len() - K) as f64;
    let mut se = [0.0; K];
    for (j, s) in se.iter_mut().enumerate() {
        let mut e = [0.0; K];
        e[j] = 1.0;
        *s = (solve(a, e)?[j] * s2).max(0.0).sqrt();
    }
    Some((coef, se))
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting; `None` when singular.
#[allow(clippy::needless_range_loop)]
fn solve<const K: usize>(mut a: [[f64; K]; K], mut b: [f64; K]) -> Option<[f64; K]> {
    for col in 0..K {
        let piv = (col..K).max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs()))?;
        let scale = a.iter().map(|r| r[col].abs()).fold(0.0, f64::max);
        if a[piv][col].abs() <= 1e-12 * scale.max(1e-300) {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        for r in col + 1..K {
            let f = a[r][col] / a[col][col];
            for c in col..K {
                a[r][c] -= f * a[col][c];
            }
            b[r] -= f * b[col];
        }
    }
    let mut x = [0.0; K];
    for i in (0..K).rev() {
        let s: f64 = (i + 1..K).map(|j| a[i][j] * x[j]).sum();
        x[i] = (b[i] - s) / a[i][i];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// The lognormal whose logarithm has mean `mu` and variance `s2`, as Spillway's serving
/// parameters: (mean, coefficient of variation).
pub fn lognormal_mean_cv(mu: f64, s2: f64) -> (f64, f64) {
    ((mu + s2 / 2.0).exp(), (s2.exp() - 1.0).max(0.0).sqrt())
}

/// Spillway's per-request speed multiplier for a coefficient of variation `cv` and a standard
/// normal `z`: `exp(sigma z - sigma^2 / 2)` with `sigma^2 = ln(1 + cv^2)` (mean 1), as in
/// `deployment::serving::SpeedVariation`.
pub fn speed_multiplier(cv: f64, z: f64) -> f64 {
    crate::deployment::speed_multiplier(cv, z)
}

/// The standard normal quantile of `p` in (0, 1) (Acklam's rational approximation, relative
/// error below 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.024_25 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.024_25 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// Two-sample Kolmogorov-Smirnov statistic: the largest vertical distance between the two
/// empirical distribution functions (0 = identical, 1 = disjoint). Both inputs sorted.
pub fn ks_distance(a: &[f64], b: &[f64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return f64::NAN;
    }
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        let t = a[i].min(b[j]);
        while i < a.len() && a[i] <= t {
            i += 1;
        }
        while j < b.len() && b[j] <= t {
            j += 1;
        }
        d = d.max((i as f64 / na - j as f64 / nb).abs());
    }
    d
}

/// A named, portable generator for calibration: PCG-64 seeded through SplitMix64 from
/// `(seed, purpose, key)`, like the simulation's streams (`rng`), but in its own key space.
pub fn calibration_rng(seed: u64, purpose: u64, key: u64) -> Pcg64 {
    const CALIBRATE: u64 = 0xCA11_B8A7_E000_0000;
    let a = derive_seed(&[seed, CALIBRATE ^ purpose, key]);
    let b = splitmix64(a ^ 0x5A5A_5A5A_5A5A_5A5A);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&a.to_le_bytes());
    bytes[8..16].copy_from_slice(&b.to_le_bytes());
    bytes[16..24].copy_from_slice(&splitmix64(b).to_le_bytes());
    bytes[24..].copy_from_slice(&(splitmix64(a.rotate_left(29)) | 1).to_le_bytes());
    Pcg64::from_seed(bytes)
}

/// FNV-1a hash of a name: a key that does not depend on which other names are present.
pub fn name_key(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `x` rounded to `digits` significant digits (so that outputs do not carry the last bits
/// of a platform's `exp` or `ln`).
pub fn round_sig(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let mag = x.abs().log10().floor() as i32;
    let scale = 10f64.powi(digits - 1 - mag);
    let r = (x * scale).round() / scale;
    // Parse back through text so that the value is the shortest decimal it prints as.
    format!("{r:.*}", (digits - 1 - mag).max(0) as usize)
        .parse()
        .unwrap_or(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&v, 0.5), 2.5);
        assert_eq!(quantile_sorted(&v, 0.0), 1.0);
        assert_eq!(quantile_sorted(&v, 1.0), 4.0);
        assert!((quantile_sorted(&v, 0.95) - 3.85).abs() < 1e-12);
        assert!(quantile_sorted(&[], 0.5).is_nan());
    }

    #[test]
    fn theil_sen_recovers_a_line_and_brackets_it() {
        let x: Vec<f64> = (0..40).map(|i| (i % 10) as f64 * 100.0).collect();
        let y: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, x)| 0.3 + x / 5000.0 + if i % 2 == 0 { 0.01 } else { -0.01 })
            .collect();
        let l = theil_sen(&x, &y).unwrap();
        assert!((l.slope - 1.0 / 5000.0).abs() < 1e-6, "{l:?}");
        assert!(l.slope_lo <= l.slope && l.slope <= l.slope_hi);
        assert!(l.slope_lo > 0.0);
        assert!((l.intercept - 0.3).abs() < 0.011);
        assert!(theil_sen(&[1.0, 1.0], &[2.0, 3.0]).is_none());
    }

    #[test]
    fn flat_data_gives_an_interval_around_zero() {
        let x: Vec<f64> = (0..30).map(|i| (i % 6) as f64).collect();
        let y: Vec<f64> = (0..30).map(|i| ((i * 7919) % 13) as f64).collect();
        let l = theil_sen(&x, &y).unwrap();
        assert!(l.slope_lo < 0.0 && l.slope_hi > 0.0, "{l:?}");
    }

    #[test]
    fn least_squares_solves_and_refuses_singular() {
        let rows: Vec<[f64; 3]> = (0..20)
            .map(|i| [1.0, i as f64, ((i * 3) % 7) as f64])
            .collect();
        let y: Vec<f64> = rows.iter().map(|r| 2.0 + 0.5 * r[1] - 3.0 * r[2]).collect();
        let (b, se) = least_squares(&rows, &y).unwrap();
        assert!(
            (b[0] - 2.0).abs() < 1e-9 && (b[1] - 0.5).abs() < 1e-9 && (b[2] + 3.0).abs() < 1e-9
        );
        assert!(se.iter().all(|s| *s < 1e-6), "an exact fit: {se:?}");
        // Noise gives the textbook standard error of a mean.
        let one: Vec<[f64; 1]> = (0..4).map(|_| [1.0]).collect();
        let (m, se) = least_squares(&one, &[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert!((m[0] - 2.5).abs() < 1e-12);
        assert!((se[0] - (5.0f64 / 3.0 / 4.0).sqrt()).abs() < 1e-12);
        let flat: Vec<[f64; 2]> = (0..5).map(|_| [1.0, 7.0]).collect();
        assert!(least_squares(&flat, &[1.0; 5]).is_none());
    }

    #[test]
    fn normal_quantiles() {
        assert!((normal_quantile(0.975) - 1.959_964).abs() < 1e-6);
        assert!((normal_quantile(0.5)).abs() < 1e-12);
        assert!((normal_quantile(0.001) + 3.090_232).abs() < 1e-6);
        assert!((normal_quantile(1.0 - 0.025 / 3.0) - 2.393_980).abs() < 1e-5);
    }

    #[test]
    fn ks_distance_of_identical_and_disjoint_samples() {
        let a = [1.0, 2.0, 3.0];
        assert_eq!(ks_distance(&a, &a), 0.0);
        assert_eq!(ks_distance(&a, &[4.0, 5.0]), 1.0);
        assert!((ks_distance(&[1.0, 2.0, 3.0, 4.0], &[3.0, 4.0, 5.0, 6.0]) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn lognormal_moments_match_the_multiplier() {
        // Spillway's multiplier has mean 1 and the requested cv.
        let cv = 0.4;
        let s2 = (1.0f64 + cv * cv).ln();
        let (mean, got) = lognormal_mean_cv(-s2 / 2.0, s2);
        assert!((mean - 1.0).abs() < 1e-12 && (got - cv).abs() < 1e-12);
        assert!((speed_multiplier(cv, 0.0) - (-s2 / 2.0).exp()).abs() < 1e-12);
    }

    #[test]
    fn rounding_keeps_significant_digits() {
        assert_eq!(round_sig(123.456_789, 4), 123.5);
        assert_eq!(round_sig(0.000_123_456, 3), 0.000_123);
        assert_eq!(round_sig(-98_765.4, 2), -99_000.0);
        assert_eq!(round_sig(0.0, 3), 0.0);
    }

    #[test]
    fn streams_are_reproducible() {
        use rand::Rng;
        let a = calibration_rng(1, 2, 3).next_u64();
        assert_eq!(a, calibration_rng(1, 2, 3).next_u64());
        assert_ne!(a, calibration_rng(1, 2, 4).next_u64());
        assert_ne!(name_key("a"), name_key("b"));
    }
}
