//! `[scenario]`: name, seed, how long sessions arrive, drain, time-series interval.

use super::Ctx;
use crate::error::Result;
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

/// Checks `[scenario]`.
pub(super) fn check(meta: &RawMeta, c: &Ctx) -> Result<Meta> {
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
}
