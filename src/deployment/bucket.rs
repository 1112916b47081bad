//! Provisioned (PTU) admission: a leaky bucket of utilization.
//!
//! Utilization is a level of normalized tokens (input + ratio x output). Admission adds the
//! estimate when the level is at or below the bucket depth (100%); above it the attempt gets a
//! 429 whose Retry-After is the time until the level has drained back to 100%. On completion
//! the estimate is corrected to the actual cost. The level drains continuously at the PTU
//! capacity rate. Accounting balances: `added + corrected - drained == level`.

use crate::time::SimTime;

/// Leaky-bucket utilization of one provisioned deployment.
#[derive(Clone, Debug)]
pub struct LeakyBucket {
    level: f64,
    drain_per_sec: f64,
    depth: f64,
    last: SimTime,
    /// Total estimates added at admission.
    pub added: f64,
    /// Total drained.
    pub drained: f64,
    /// Total corrections (actual - estimate), after clamping at an empty bucket.
    pub corrected: f64,
}

impl LeakyBucket {
    /// `capacity_per_min` normalized tokens drain per minute; 100% = `depth` of drain.
    pub fn new(capacity_per_min: f64, depth: SimTime) -> Self {
        let drain_per_sec = capacity_per_min / 60.0;
        LeakyBucket {
            level: 0.0,
            drain_per_sec,
            depth: drain_per_sec * depth.as_secs_f64(),
            last: SimTime::ZERO,
            added: 0.0,
            drained: 0.0,
            corrected: 0.0,
        }
    }

    fn advance(&mut self, now: SimTime) {
        if now > self.last {
            let d = (self.drain_per_sec * (now - self.last).as_secs_f64()).min(self.level);
            self.level -= d;
            self.drained += d;
            self.last = now;
        }
    }

    /// Current level, normalized tokens.
    pub fn level(&mut self, now: SimTime) -> f64 {
        self.advance(now);
        self.level
    }

    /// Utilization at `now`: 1.0 = 100%.
    pub fn utilization(&mut self, now: SimTime) -> f64 {
        self.level(now) / self.depth
    }

    /// Admits with `estimate` added, or returns the time at which utilization is back at 100%.
    pub fn try_admit(&mut self, now: SimTime, estimate: f64) -> Result<(), SimTime> {
        self.advance(now);
        if self.level > self.depth {
            let wait = (self.level - self.depth) / self.drain_per_sec;
            return Err(now + SimTime::from_secs_f64(wait).max(SimTime(1)));
        }
        self.level += estimate;
        self.added += estimate;
        Ok(())
    }

    /// Corrects a past estimate by `delta` (actual - estimate); the level never goes below 0.
    pub fn correct(&mut self, now: SimTime, delta: f64) {
        self.advance(now);
        let new = (self.level + delta).max(0.0);
        self.corrected += new - self.level;
        self.level = new;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_above_full_and_says_when_it_drains() {
        // 60,000 per minute = 1,000 per second; depth 60 s = 60,000.
        let mut b = LeakyBucket::new(60_000.0, SimTime::from_secs(60));
        assert!(b.try_admit(SimTime::ZERO, 50_000.0).is_ok());
        // A burst just over 100% is allowed ...
        assert!(b.try_admit(SimTime::ZERO, 20_000.0).is_ok());
        // ... but above 100% the next one waits until the level is back at 60,000.
        let at = b.try_admit(SimTime::ZERO, 1.0).unwrap_err();
        assert_eq!(at, SimTime::from_secs(10));
        assert!(b.try_admit(at, 1.0).is_ok());
    }

    #[test]
    fn accounting_balances_with_corrections() {
        let mut b = LeakyBucket::new(6_000.0, SimTime::from_secs(60));
        b.try_admit(SimTime::ZERO, 3_000.0).unwrap();
        b.correct(SimTime::from_secs(1), -2_000.0);
        b.try_admit(SimTime::from_secs(2), 500.0).unwrap();
        b.correct(SimTime::from_secs(30), -5_000.0); // clamps at empty
        let level = b.level(SimTime::from_secs(31));
        assert!(level >= 0.0);
        assert!((b.added + b.corrected - b.drained - level).abs() < 1e-6);
    }
}
