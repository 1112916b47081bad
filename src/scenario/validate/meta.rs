//! `[scenario]`: name, seed, how long sessions arrive, drain, time-series interval.

use super::Ctx;
use crate::error::Result;
use crate::scenario::limits;
use crate::scenario::raw::RawMeta;
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
    Ok(Meta {
        duration,
        drain,
        metrics_interval,
    })
}

#[cfg(test)]
mod tests {
    use crate::scenario::testutil::{err_set, with_set};
    use crate::time::SimTime;

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
