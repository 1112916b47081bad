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

impl Series {
    /// Reads and checks the time series of variant `v` from `path`.
    pub fn load(path: &Path, v: &VariantSummary) -> Result<Series> {
        let text = read_text(path)?;
        let mut series = Series::parse(&text, path)?;
        if let Some(&last) = series.t_s.last() {
            series.partial_last =
                series.t_s.len() > 1 && v.sim.span_s - last < series.interval_s() - 1e-6;
        }
        Ok(series)
    }

    /// Parses the CSV text; `path` names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Series> {
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
        let col = |name: &str| header.iter().position(|h| h == name);
        let t_col = col("t_s").ok_or_else(|| bad("no t_s column in the header".into()))?;
        let fixed = FIXED.map(col);
        let util_cols: Vec<(String, usize)> = header
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.strip_suffix("_utilization").map(|n| (n.to_string(), i)))
            .collect();
        let mut s = Series {
            utilization: util_cols
                .iter()
                .map(|(n, _)| (n.clone(), Vec::new()))
                .collect(),
            ..Default::default()
        };
        for (line, rec) in r.records().enumerate() {
            let row = line + 2;
            let rec = rec.map_err(|e| bad(format!("row {row}: {e}")))?;
            let num = |c: Option<usize>| -> Result<f64> {
                match c {
                    None => Ok(0.0),
                    Some(c) => {
                        let cell = rec.get(c).unwrap_or("");
                        cell.trim().parse::<f64>().map_err(|_| {
                            bad(format!(
                                "row {row}, column '{}': '{cell}' is not a number",
                                header[c]
                            ))
                        })
                    }
                }
            };
            s.t_s.push(num(Some(t_col))?);
            s.arrivals.push(num(fixed[0])?);
            s.completions.push(num(fixed[1])?);
            s.failures.push(num(fixed[2])?);
            s.rejected_429.push(num(fixed[3])?);
            s.timed_out_408.push(num(fixed[4])?);
            s.in_flight.push(num(fixed[5])?);
            for (k, (_, c)) in util_cols.iter().enumerate() {
                s.utilization[k].1.push(num(Some(*c))?);
            }
        }
        Ok(s)
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
