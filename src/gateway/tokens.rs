//! The gateway's token quota counter (fixed periods, 403 when exhausted).

use super::TokenQuotaSpec;
use crate::time::SimTime;

/// A token quota counter of one key: fixed periods starting at time 0.
#[derive(Clone, Copy, Debug, Default)]
pub struct QuotaCounter {
    period: u64,
    used: u64,
}

impl QuotaCounter {
    /// `Ok` if `amount` fits in `spec.tokens` for the period containing `now` (a new period
    /// starts from zero); otherwise when the period ends.
    pub fn check(
        &mut self,
        spec: &TokenQuotaSpec,
        now: SimTime,
        amount: u64,
    ) -> Result<(), SimTime> {
        let len = spec.period.as_micros().max(1);
        let p = now.as_micros() / len;
        if p != self.period {
            self.period = p;
            self.used = 0;
        }
        if self.used + amount > spec.tokens {
            return Err(SimTime::from_micros((p + 1).saturating_mul(len)));
        }
        Ok(())
    }

    /// Charges `amount` to the current period (after a successful [`check`](Self::check)).
    pub fn charge(&mut self, amount: u64) {
        self.used += amount;
    }
}
