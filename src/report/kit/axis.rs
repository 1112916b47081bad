//! A one-dimensional axis with exact ticks, linear or logarithmic, and tick labels.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};

/// A one-dimensional axis with ticks where we want them (plotters' own choice of ticks is
/// not used), linear or base-10 logarithmic. Values outside the range are clamped to its edge.
#[derive(Clone, Debug)]
pub struct Axis {
    pub lo: f64,
    pub hi: f64,
    pub log: bool,
    pub ticks: Vec<f64>,
}

/// The largest magnitude an axis spans (so that padding it by a few times stays finite).
const BIG: f64 = 1e300;
/// The smallest positive value a log axis starts at.
const TINY: f64 = 1e-300;
/// At most this many ticks on an axis.
const MAX_TICKS: usize = 24;

/// `x` clamped into `[TINY, BIG]`, `d` when NaN: a value a log axis can take.
fn positive(x: f64, d: f64) -> f64 {
    if x.is_nan() { d } else { x.clamp(TINY, BIG) }
}

/// Every `k`-th of `ticks` so that at most about ten are left (when there are more than 12).
fn thin(ticks: Vec<f64>) -> Vec<f64> {
    if ticks.len() <= 12 {
        return ticks;
    }
    let k = ticks.len().div_ceil(10);
    ticks.into_iter().step_by(k).collect()
}

impl Axis {
    /// A linear axis from `lo` to at least `hi` with about `n` round ticks. Whatever the
    /// inputs (huge, tiny, infinite or NaN), the axis is finite and has at most a few dozen
    /// ticks.
    pub fn linear(lo: f64, hi: f64, n: usize) -> Axis {
        let lo = if lo.is_finite() {
            lo.clamp(-BIG, BIG)
        } else {
            0.0
        };
        let hi = if hi.is_nan() { lo } else { hi.clamp(-BIG, BIG) };
        let hi = if hi > lo {
            hi.max(lo + TINY)
        } else if lo + 1.0 > lo {
            lo + 1.0
        } else {
            lo + lo.abs() * 1e-6
        };
        let raw = (hi - lo) / n.clamp(1, MAX_TICKS) as f64;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 2.5, 5.0, 10.0]
            .iter()
            .map(|m| m * mag)
            .find(|s| *s >= raw * 0.999)
            .unwrap_or(10.0 * mag);
        let a = (lo / step).floor() * step;
        let b = (hi / step - 1e-9).ceil() * step;
        let count = (((b - a) / step).round() as usize).min(4 * MAX_TICKS);
        let ticks = (0..=count).map(|k| clean(a + k as f64 * step)).collect();
        Axis {
            lo: a,
            hi: b,
            log: false,
            ticks,
        }
    }

    /// A log axis from exactly `lo` to `hi`, ticks at the round values inside. Inputs are
    /// clamped into 1e-300..1e300 (an infinite or zero bound from an overflow included).
    pub fn log_fit(lo: f64, hi: f64) -> Axis {
        let lo = positive(lo, TINY);
        let hi = positive(hi, BIG).max(lo);
        let mut a = Axis::log(lo, hi);
        a.lo = lo;
        a.hi = hi;
        a.ticks.retain(|t| *t >= lo && *t <= hi);
        if a.ticks.len() < 3 {
            let k0 = lo.log10().floor() as i32;
            let k1 = hi.log10().ceil() as i32;
            a.ticks = thin(
                (k0..=k1)
                    .flat_map(|k| [1.0, 1.5, 2.0, 3.0, 5.0, 7.0].map(|m| clean(m * 10f64.powi(k))))
                    .filter(|t| *t >= lo && *t <= hi)
                    .collect(),
            );
        }
        a
    }

    /// A log axis covering `lo..hi` (both > 0; `lo` at least 1e-6, `hi` at most 1e300), ticks
    /// at 1, 2, 5 x 10^k (only powers of ten when that would be too many, and only some of
    /// them over very wide ranges).
    pub fn log(lo: f64, hi: f64) -> Axis {
        let lo = if lo.is_nan() {
            1e-6
        } else {
            lo.clamp(1e-6, BIG)
        };
        let hi = if hi.is_nan() {
            lo * 1.01
        } else {
            hi.min(BIG).max(lo * 1.01)
        };
        let mut all = Vec::new();
        let k0 = lo.log10().floor() as i32 - 1;
        let k1 = hi.log10().ceil() as i32 + 1;
        for k in k0..=k1 {
            for m in [1.0, 2.0, 5.0] {
                all.push(clean(m * 10f64.powi(k)));
            }
        }
        let a = all
            .iter()
            .rev()
            .find(|t| **t <= lo * 1.000001)
            .copied()
            .unwrap_or(lo);
        let b = all
            .iter()
            .find(|t| **t >= hi * 0.999999)
            .copied()
            .unwrap_or(hi);
        let mut ticks: Vec<f64> = all.into_iter().filter(|t| *t >= a && *t <= b).collect();
        if ticks.len() > 12 {
            ticks.retain(|t| (t.log10() - t.log10().round()).abs() < 1e-9);
        }
        Axis {
            lo: a,
            hi: b,
            log: true,
            ticks: thin(ticks),
        }
    }

    /// Rows for `n` categories: row 0 at the top, ticks at row centres.
    pub fn rows(n: usize) -> Axis {
        Axis {
            lo: -0.5,
            hi: n.max(1) as f64 - 0.5,
            log: false,
            ticks: (0..n).map(|i| i as f64).collect(),
        }
    }

    /// The value that draws row `i` of `n` (first row on top).
    pub fn row(n: usize, i: usize) -> f64 {
        (n - 1 - i) as f64
    }

    fn t(&self, v: f64) -> f64 {
        let f = |x: f64| if self.log { x.max(TINY).log10() } else { x };
        let (a, b) = (f(self.lo), f(self.hi));
        if b > a {
            ((f(v) - a) / (b - a)).clamp(0.0, 1.0)
        } else {
            0.5
        }
    }
}

/// `x` rounded to 9 decimals (so that 0.1 + 0.2 gives the tick 0.3); huge values unchanged.
fn clean(x: f64) -> f64 {
    let y = x * 1e9;
    if y.is_finite() { y.round() / 1e9 } else { x }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        (limit.0 as f64 + self.t(*v) * (limit.1 - limit.0) as f64).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// A number for a tick label: no trailing zeros, thousands separated; scientific notation
/// (`1e300`, `2.5e-7`) beyond 1e15 and below 1e-4; `n/a` when not finite.
pub fn tick(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    if v.abs() >= 1e15 || (v != 0.0 && v.abs() < 1e-4) {
        return crate::words::sci(v);
    }
    if v.abs() >= 1000.0 && (v - v.round()).abs() < 1e-9 {
        return crate::words::thousands(v.round() as i64);
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        let a = Axis::linear(0.0, 354.4, 8);
        assert_eq!(a.lo, 0.0);
        assert_eq!(a.hi, 400.0);
        assert_eq!(
            a.ticks,
            vec![0.0, 50.0, 100.0, 150.0, 200.0, 250.0, 300.0, 350.0, 400.0]
        );
        let l = Axis::log(2.5, 420.0);
        assert_eq!(l.lo, 2.0);
        assert_eq!(l.hi, 500.0);
        assert_eq!(
            l.ticks,
            vec![2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0]
        );
        assert_eq!(tick(0.30000000000000004), "0.3");
        assert_eq!(tick(2000.0), "2,000");
        assert_eq!(tick(1e300), "1e300");
        assert_eq!(tick(2.5e-7), "2.5e-7");
        assert_eq!(tick(f64::NAN), "n/a");
    }

    fn sane(a: &Axis) {
        assert!(
            a.lo.is_finite() && a.hi.is_finite() && a.lo <= a.hi,
            "{a:?}"
        );
        assert!(a.ticks.len() <= 100, "{} ticks", a.ticks.len());
        assert!(a.ticks.iter().all(|t| t.is_finite()), "{a:?}");
    }

    /// The sweep of ../shared/reliability-cases/D11 (a price of 0.1 and 1e300) asked a log
    /// axis for 1e-13..inf: 2^31 decades of ticks, 4 GB, then an abort.
    #[test]
    fn extreme_ranges_give_finite_axes_with_few_ticks() {
        let d11 = (1e301f64).powf(0.04);
        sane(&Axis::log_fit(0.1 / d11, 1e300 * d11));
        let specials = [
            0.0,
            -0.0,
            1e-320,
            -1e-320,
            1e-300,
            1e-6,
            0.1,
            1.0,
            1e15,
            1e300,
            f64::MAX,
            -f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        for &lo in &specials {
            for &hi in &specials {
                sane(&Axis::log_fit(lo, hi));
                sane(&Axis::log(lo, hi));
                for n in [0, 1, 8, usize::MAX] {
                    sane(&Axis::linear(lo, hi, n));
                }
            }
        }
    }
}
