//! One variant's time series, read from `timeseries-<variant>.csv` (written by
//! [`crate::output::csv::timeseries`]): one row per metrics interval.

use std::path::Path;

use super::load::read_text;
use crate::error::{Error, Result};
use crate::metrics::VariantSummary;

/// One variant's time series.
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// Interval starts, seconds.
    pub t_s: Vec<f64>,
    /// Requests started per interval.
    pub arrivals: Vec<f64>,
    /// Requests succeeded per interval.
    pub completions: Vec<f64>,
    /// Requests failed per interval.
    pub failures: Vec<f64>,
    /// Attempts answered 429 per interval.
    pub rejected_429: Vec<f64>,
    /// Attempts answered 408 per interval.
    pub timed_out_408: Vec<f64>,
    /// Requests in flight at each interval's end.
    pub in_flight: Vec<f64>,
    /// Per deployment (in column order): name and utilization at each interval's end.
    pub utilization: Vec<(String, Vec<f64>)>,
    /// The last row is a shorter interval (the run ended inside it), so its rates are over a
    /// few seconds only.
    pub partial_last: bool,
}

/// The fixed columns after `t_s`, in the order of [`Series`]' fields.
const FIXED: [&str; 6] = [
    "arrivals",
    "completions",
    "failures",
    "rejected_429",
    "timed_out_408",
    "in_flight",
];

/// The most numbers the report reads from a run's time series, all variants together
/// (20 million: a week at one row per second for one variant, or a year per minute).
pub const MAX_SERIES_VALUES: usize = 20_000_000;

impl Series {
    /// Reads and checks the time series of variant `v` from `path`; `budget` is how many
    /// more numbers may be read (see [`MAX_SERIES_VALUES`]), decreased by what is read.
    pub fn load(path: &Path, v: &VariantSummary, budget: &mut usize) -> Result<Series> {
        let text = read_text(path)?;
        let mut series = Series::parse(&text, path, v, budget)?;
        if let Some(&last) = series.t_s.last() {
            series.partial_last =
                series.t_s.len() > 1 && v.sim.span_s - last < series.interval_s() - 1e-6;
        }
        Ok(series)
    }

    /// Parses and checks the CSV text of variant `v`: every column the simulator writes, one
    /// utilization column per deployment of `v` in its order, finite numbers >= 0, interval
    /// starts increasing. `path` names the file in errors.
    pub fn parse(
        text: &str,
        path: &Path,
        v: &VariantSummary,
        budget: &mut usize,
    ) -> Result<Series> {
        let bad = |m: String| Error::Usage(format!("{}: {m}", path.display()));
        let mut r = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(text.as_bytes());
        let header: Vec<String> = r
            .headers()
            .map_err(|e| bad(format!("header: {e}")))?
            .iter()
            .map(str::to_string)
            .collect();
        let col = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| bad(format!("no '{name}' column in the header")))
        };
        let mut cols = vec![col("t_s")?];
        for name in FIXED {
            cols.push(col(name)?);
        }
        let util_cols: Vec<(String, usize)> = header
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.strip_suffix("_utilization").map(|n| (n.to_string(), i)))
            .collect();
        if !util_cols
            .iter()
            .map(|u| &u.0)
            .eq(v.deployments.iter().map(|d| &d.name))
        {
            return Err(bad(format!(
                "header: utilization columns for {}, but variant '{}' has deployments {}",
                util_cols
                    .iter()
                    .map(|u| u.0.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                v.name,
                v.deployments
                    .iter()
                    .map(|d| d.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        cols.extend(util_cols.iter().map(|u| u.1));
        let mut s = Series {
            utilization: util_cols
                .iter()
                .map(|(n, _)| (n.clone(), Vec::new()))
                .collect(),
            ..Default::default()
        };
        let mut row_values = Vec::with_capacity(cols.len());
        for (line, rec) in r.records().enumerate() {
            let row = line + 2;
            let rec = rec.map_err(|e| bad(format!("row {row}: {e}")))?;
            *budget = budget.checked_sub(cols.len()).ok_or_else(|| {
                bad(format!(
                    "row {row}: the run's time series hold more than {MAX_SERIES_VALUES} numbers, \
                     the most the report reads (a longer scenario.metrics_interval writes fewer rows)"
                ))
            })?;
            row_values.clear();
            for &c in &cols {
                let cell = rec.get(c).unwrap_or("");
                match cell.trim().parse::<f64>() {
                    Ok(x) if x.is_finite() && x >= 0.0 => row_values.push(x),
                    _ => {
                        return Err(bad(format!(
                            "row {row}, column '{}': '{cell}' is not a number >= 0",
                            header[c]
                        )));
                    }
                }
            }
            if s.t_s.last().is_some_and(|&t| row_values[0] <= t) {
                return Err(bad(format!(
                    "row {row}, column 't_s': {} does not come after the row before",
                    row_values[0]
                )));
            }
            s.push(&row_values);
        }
        Ok(s)
    }

    /// Appends one checked row: `t_s`, the [`FIXED`] columns, then utilization per deployment.
    fn push(&mut self, row: &[f64]) {
        let fixed = [
            &mut self.t_s,
            &mut self.arrivals,
            &mut self.completions,
            &mut self.failures,
            &mut self.rejected_429,
            &mut self.timed_out_408,
            &mut self.in_flight,
        ];
        for (col, x) in fixed.into_iter().zip(row) {
            col.push(*x);
        }
        for (u, x) in self.utilization.iter_mut().zip(&row[7..]) {
            u.1.push(*x);
        }
    }

    /// The interval length in seconds (the most common step between rows; 60 when unknown).
    pub fn interval_s(&self) -> f64 {
        let mut steps: Vec<f64> = self.t_s.windows(2).map(|w| w[1] - w[0]).collect();
        steps.retain(|d| *d > 0.0);
        steps.sort_by(f64::total_cmp);
        if steps.is_empty() {
            60.0
        } else {
            steps[steps.len() / 2]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baseline() -> (String, VariantSummary) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("results/timeouts-to-triumph");
        let summary = crate::report::load::read_summary(&dir.join("summary.json")).unwrap();
        let text = std::fs::read_to_string(dir.join("timeseries-baseline.csv")).unwrap();
        (text, summary.variants[0].clone())
    }

    #[test]
    fn a_shipped_series_reads_every_row_and_deployment() {
        let (text, v) = baseline();
        let mut budget = MAX_SERIES_VALUES;
        let s = Series::parse(&text, Path::new("t.csv"), &v, &mut budget).unwrap();
        let rows = text.lines().count() - 1;
        assert_eq!(s.t_s.len(), rows);
        assert_eq!(s.utilization.len(), v.deployments.len());
        assert_eq!(MAX_SERIES_VALUES - budget, rows * (7 + v.deployments.len()));
    }

    /// The numbers read are bounded for the whole run, not by what a file says.
    #[test]
    fn the_budget_stops_reading_at_the_row_that_exceeds_it() {
        let (text, v) = baseline();
        let per_row = 7 + v.deployments.len();
        let mut budget = 3 * per_row + 1;
        let e = Series::parse(&text, Path::new("t.csv"), &v, &mut budget)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("t.csv: row 5: ") && e.contains("20000000"),
            "{e}"
        );
    }
}
