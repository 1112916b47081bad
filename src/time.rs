//! Simulated time: an integer count of microseconds in a newtype.
//!
//! The clock never uses floating point, so event order and outputs are exact and portable.
//! Rates and speeds (tokens per second) are `f64` model parameters; they are turned into
//! integer durations with [`SimTime::from_secs_f64`], which rounds up so that a finite amount
//! of work never takes zero time.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A point in simulated time, or a span of it, in microseconds since the run started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

impl SimTime {
    /// Time zero: the start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// The largest representable time; used as "never".
    pub const MAX: SimTime = SimTime(u64::MAX);
    /// One millisecond.
    pub const MS: SimTime = SimTime(1_000);
    /// One second.
    pub const SEC: SimTime = SimTime(1_000_000);
    /// One minute.
    pub const MIN: SimTime = SimTime(60_000_000);

    /// From whole microseconds.
    pub const fn from_micros(us: u64) -> Self {
        SimTime(us)
    }
    /// From whole milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        SimTime(ms * 1_000)
    }
    /// From whole seconds.
    pub const fn from_secs(s: u64) -> Self {
        SimTime(s * 1_000_000)
    }
    /// From fractional seconds, rounded up to the next microsecond; negative or NaN gives zero,
    /// too large saturates at [`SimTime::MAX`].
    pub fn from_secs_f64(s: f64) -> Self {
        if s.is_nan() || s <= 0.0 {
            return SimTime::ZERO;
        }
        let us = s * 1e6;
        // Round up without a libm call (hot path): truncate, then add one if anything was cut.
        // Below 2^63 the signed conversions are single instructions; the unsigned ones are not.
        if us < 9_223_372_036_854_775_808.0 {
            let t = us as i64;
            return SimTime(if (t as f64) < us {
                t as u64 + 1
            } else {
                t as u64
            });
        }
        if us >= u64::MAX as f64 {
            return SimTime::MAX;
        }
        let t = us as u64;
        SimTime(if (t as f64) < us { t + 1 } else { t })
    }
    /// Microseconds.
    pub const fn as_micros(self) -> u64 {
        self.0
    }
    /// Seconds as a float (for reporting and rate arithmetic only).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
    /// Milliseconds as a float (for reporting only).
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e3
    }
    /// `self + d`, saturating at [`SimTime::MAX`].
    pub fn saturating_add(self, d: SimTime) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
    /// This time as a Retry-After sent at `now` carries it: the wait rounded up to whole
    /// milliseconds.
    #[inline]
    pub fn ceil_ms_after(self, now: SimTime) -> SimTime {
        let d = (self - now).as_micros();
        now + SimTime::from_micros(d.div_ceil(1000) * 1000)
    }
    /// `self - d`, or zero when `d > self`.
    pub fn saturating_sub(self, d: SimTime) -> SimTime {
        SimTime(self.0.saturating_sub(d.0))
    }
}

impl Add for SimTime {
    type Output = SimTime;
    fn add(self, rhs: SimTime) -> SimTime {
        self.saturating_add(rhs)
    }
}
impl AddAssign for SimTime {
    fn add_assign(&mut self, rhs: SimTime) {
        *self = *self + rhs;
    }
}
impl Sub for SimTime {
    type Output = SimTime;
    fn sub(self, rhs: SimTime) -> SimTime {
        self.saturating_sub(rhs)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3}s", self.as_secs_f64())
    }
}

/// Parses a human duration such as `"250ms"`, `"60s"`, `"1h"`, `"1m 30s"` or `"1.5s"`.
///
/// Whole-unit forms are handled by the `humantime` crate; a single decimal number followed
/// by one unit (`"1.5s"`, `"0.25ms"`) is also accepted because scenario authors write it.
pub fn parse_duration(text: &str) -> Result<SimTime, String> {
    let t = text.trim();
    if let Some(d) = parse_decimal_duration(t) {
        return Ok(d);
    }
    match humantime::parse_duration(t) {
        Ok(d) => Ok(SimTime(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))),
        Err(e) => Err(format!(
            "'{text}' is not a duration ({e}); write e.g. \"250ms\", \"1.5s\", \"60s\", \"10m\", \"1h\""
        )),
    }
}

fn parse_decimal_duration(t: &str) -> Option<SimTime> {
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = t.split_at(split);
    if !num.contains('.') {
        return None;
    }
    let value: f64 = num.parse().ok()?;
    let scale = match unit.trim() {
        "us" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    Some(SimTime::from_secs_f64(value * scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(parse_duration("250ms").unwrap(), SimTime::from_millis(250));
        assert_eq!(parse_duration("60s").unwrap(), SimTime::from_secs(60));
        assert_eq!(parse_duration("1h").unwrap(), SimTime::from_secs(3600));
        assert_eq!(parse_duration("1m 30s").unwrap(), SimTime::from_secs(90));
        assert_eq!(parse_duration("1.5s").unwrap(), SimTime::from_millis(1500));
        assert_eq!(parse_duration("0.25ms").unwrap(), SimTime::from_micros(250));
    }

    #[test]
    fn rejects_garbage_with_a_hint() {
        let e = parse_duration("fast").unwrap_err();
        assert!(e.contains("250ms"), "{e}");
        assert!(parse_duration("10").is_err());
    }

    #[test]
    fn retry_after_rounds_up_to_whole_ms() {
        let now = SimTime::from_secs(1);
        assert_eq!((now + SimTime(1)).ceil_ms_after(now), now + SimTime::MS);
        assert_eq!((now + SimTime::MS).ceil_ms_after(now), now + SimTime::MS);
    }

    #[test]
    fn float_seconds_round_up_and_saturate() {
        assert_eq!(SimTime::from_secs_f64(1e-9), SimTime(1));
        assert_eq!(SimTime::from_secs_f64(-1.0), SimTime::ZERO);
        assert_eq!(SimTime::from_secs_f64(f64::INFINITY), SimTime::MAX);
        assert_eq!(SimTime(5) - SimTime(9), SimTime::ZERO);
        // Both sides of the switch from the signed to the unsigned conversion at 2^63 us.
        assert_eq!(
            SimTime::from_secs_f64(9.2e12),
            SimTime(9_200_000_000_000_000_000)
        );
        assert_eq!(
            SimTime::from_secs_f64(1.8e13),
            SimTime(18_000_000_000_000_000_000)
        );
        assert_eq!(SimTime::from_secs_f64(1.9e13), SimTime::MAX);
    }

    proptest::proptest! {
        #![proptest_config(crate::testkit::proptest_config(10_000))]
        /// The conversion is the ceiling of the microseconds, computed the slow, obvious way.
        #[test]
        fn float_seconds_are_the_ceiling_of_the_microseconds(bits in proptest::num::u64::ANY) {
            let s = f64::from_bits(bits);
            let us = s * 1e6;
            let want = if s.is_nan() || s <= 0.0 {
                0
            } else if us >= u64::MAX as f64 {
                u64::MAX
            } else {
                us.ceil() as u64
            };
            proptest::prop_assert_eq!(SimTime::from_secs_f64(s).as_micros(), want, "{}", s);
        }
    }
}
