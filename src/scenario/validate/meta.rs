//! `[scenario]`: name, seed, how long sessions arrive, drain, time-series interval, and the
//! baseline variant.

use super::Ctx;
use crate::error::{Error, Result};
use crate::scenario::raw::RawMeta;
use crate::scenario::{Scenario, limits, names};
use crate::time::SimTime;

/// The checked times of `[scenario]` (the name and seed are taken as written).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Meta {
    /// New sessions arrive in `[0, duration)`.
    pub duration: SimTime,
    /// How long in-flight sessions run on after `duration`.
    pub drain: SimTime,
    /// Time-series interval.
    pub metrics_interval: SimTime,
}

/// The time series holds one row per interval of `span` (duration + drain), with one cell per
/// deployment: both within the limits.
fn series_size(c: &Ctx, span: SimTime, interval: SimTime, deployments: usize) -> Result<()> {
    let rows = span.as_micros().div_ceil(interval.as_micros());
    let cells = rows.saturating_mul(deployments.max(1) as u64);
    let l = c.limits;
    if rows > l.max_series_rows || cells > l.max_series_cells {
        return Err(c.err(
            "scenario.metrics_interval",
            format!(
                "duration + drain ({}) in intervals of {} makes {} time-series rows x {} deployment(s); at most {} rows and {} cells per run: use a longer metrics_interval or split the run (e.g. a shorter duration); {}",
                limits::span(span),
                limits::span(interval),
                limits::group(rows.min(i64::MAX as u64) as i64),
                deployments,
                limits::group(l.max_series_rows.min(i64::MAX as u64) as i64),
                limits::group(l.max_series_cells.min(i64::MAX as u64) as i64),
                limits::SEE_LIMITS
            ),
        ));
    }
    Ok(())
}

/// Checks `[scenario]`; the time series of `deployments` deployments must fit the limits.
pub(super) fn check(meta: &RawMeta, c: &Ctx, deployments: usize) -> Result<Meta> {
    let duration = c.dur("scenario.duration", Some(&meta.duration), "")?;
    if duration == SimTime::ZERO {
        return Err(c.err("scenario.duration", "must be > 0"));
    }
    let drain = c.dur("scenario.drain", meta.drain.as_ref(), "1h")?;
    let metrics_interval = c.dur(
        "scenario.metrics_interval",
        meta.metrics_interval.as_ref(),
        "60s",
    )?;
    if metrics_interval < SimTime::SEC {
        return Err(c.err("scenario.metrics_interval", "must be at least 1s"));
    }
    series_size(c, duration + drain, metrics_interval, deployments)?;
    if let Some(b) = &meta.baseline {
        if b.is_empty() {
            return Err(c.err(
                "scenario.baseline",
                "must name a variant (the one the others are compared with)",
            ));
        }
        names::check_name(b).map_err(|m| c.err("scenario.baseline", m))?;
    }
    Ok(Meta {
        duration,
        drain,
        metrics_interval,
    })
}

/// `[scenario] baseline`, across the variants of a file: the same in every variant, and the
/// name of one of them.
pub(crate) fn check_baseline(variants: &[Scenario], file: &str) -> Result<()> {
    let Some(first) = variants.first() else {
        return Ok(());
    };
    if let Some(v) = variants.iter().find(|v| v.baseline != first.baseline) {
        return Err(Error::at_key(
            file,
            Some(&v.variant),
            "scenario.baseline",
            "the baseline is shared by all variants; set it in [scenario] (or with --baseline)",
        ));
    }
    match &first.baseline {
        Some(b) if !variants.iter().any(|v| &v.variant == b) => Err(Error::at_key(
            file,
            None,
            "scenario.baseline",
            format!(
                "'{b}' is not a variant of this file; variants: {}",
                variants
                    .iter()
                    .map(|v| v.variant.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::testutil::{BASE, err, err_set, ok, with_set};
    use crate::time::SimTime;

    /// `[scenario] baseline` names a variant of the file, the same for all of them.
    #[test]
    fn baseline_names_a_variant() {
        let two = "\n[[variant]]\nname = \"a\"\n[[variant]]\nname = \"b\"\n";
        let with = |b: &str| {
            BASE.replace(
                "duration = \"10m\"",
                &format!("duration = \"10m\"\nbaseline = {b}"),
            ) + two
        };
        let set = ok(&with("\"b\""));
        assert!(
            set.variants
                .iter()
                .all(|v| v.baseline.as_deref() == Some("b"))
        );
        assert_eq!(ok(&format!("{BASE}{two}")).variants[0].baseline, None);
        let e = err(&with("\"c\""));
        assert!(
            e.contains("key 'scenario.baseline'")
                && e.contains("'c' is not a variant of this file; variants: a, b"),
            "{e}"
        );
        let e = err(&with("\"\""));
        assert!(
            e.contains("scenario.baseline") && e.contains("must name a variant"),
            "{e}"
        );
        let e = err(&with("\"a\\nb\""));
        assert!(e.contains("control characters"), "{e}");
        // A variant may not move it.
        let e = err(&(with("\"a\"") + "set = { \"scenario.baseline\" = \"b\" }\n"));
        assert!(
            e.contains("variant 'b'") && e.contains("shared by all variants"),
            "{e}"
        );
        // Without [[variant]], the one variant is `baseline`.
        ok(&BASE.replace(
            "duration = \"10m\"",
            "duration = \"10m\"\nbaseline = \"baseline\"",
        ));
        let e = err_set(&[("scenario.baseline", "\"x\"")]);
        assert!(e.contains("variants: baseline"), "{e}");
    }

    #[test]
    fn defaults_and_bounds() {
        let sc = with_set(&[]);
        assert_eq!(sc.duration, SimTime::from_secs(600));
        assert_eq!(sc.drain, SimTime::from_secs(3600));
        assert_eq!(sc.metrics_interval, SimTime::from_secs(60));
        assert_eq!(sc.seed, 1);
        let e = err_set(&[("scenario.duration", "0s")]);
        assert!(e.contains("scenario.duration") && e.contains("> 0"), "{e}");
        let e = err_set(&[("scenario.metrics_interval", "500ms")]);
        assert!(e.contains("at least 1s"), "{e}");
    }

    #[test]
    fn time_series_size_is_limited() {
        // 10m + 1h of drain in 1 s intervals: 4_200 rows, fine; a year is not.
        with_set(&[("scenario.metrics_interval", "1s")]);
        let e = err_set(&[
            ("scenario.duration", "\"8760h\""),
            ("scenario.metrics_interval", "\"10s\""),
        ]);
        assert!(
            e.contains("duration + drain (8_761h) in intervals of 10s makes 3_153_960 time-series rows x 1 deployment(s); at most 1_000_000 rows"),
            "{e}"
        );
    }
}
