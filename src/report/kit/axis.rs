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

impl Axis {
    /// A linear axis from `lo` to at least `hi` with about `n` round ticks.
    pub fn linear(lo: f64, hi: f64, n: usize) -> Axis {
        let (lo, hi) = if hi > lo { (lo, hi) } else { (lo, lo + 1.0) };
        let raw = (hi - lo) / n.max(1) as f64;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 2.5, 5.0, 10.0]
            .iter()
            .map(|m| m * mag)
            .find(|s| *s >= raw * 0.999)
            .unwrap_or(10.0 * mag);
        let a = (lo / step).floor() * step;
        let b = (hi / step - 1e-9).ceil() * step;
        let count = ((b - a) / step).round() as usize;
        let ticks = (0..=count).map(|k| clean(a + k as f64 * step)).collect();
        Axis {
            lo: a,
            hi: b,
            log: false,
            ticks,
        }
    }

    /// A log axis from exactly `lo` to `hi`, ticks at the round values inside.
    pub fn log_fit(lo: f64, hi: f64) -> Axis {
        let mut a = Axis::log(lo, hi);
        a.lo = lo;
        a.hi = hi;
        a.ticks.retain(|t| *t >= lo && *t <= hi);
        if a.ticks.len() < 3 {
            let k0 = lo.log10().floor() as i32;
            let k1 = hi.log10().ceil() as i32;
            a.ticks = (k0..=k1)
                .flat_map(|k| [1.0, 1.5, 2.0, 3.0, 5.0, 7.0].map(|m| clean(m * 10f64.powi(k))))
                .filter(|t| *t >= lo && *t <= hi)
                .collect();
        }
        a
    }

    /// A log axis covering `lo..hi` (both > 0), ticks at 1, 2, 5 x 10^k (only powers of ten
    /// when that would be too many).
    pub fn log(lo: f64, hi: f64) -> Axis {
        let lo = lo.max(1e-6);
        let hi = hi.max(lo * 1.01);
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
            ticks,
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
        let f = |x: f64| if self.log { x.max(1e-12).log10() } else { x };
        let (a, b) = (f(self.lo), f(self.hi));
        if b > a {
            ((f(v) - a) / (b - a)).clamp(0.0, 1.0)
        } else {
            0.5
        }
    }
}

fn clean(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
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

/// A number for a tick label: no trailing zeros, thousands separated.
pub fn tick(v: f64) -> String {
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
    }
}
