//! Rolling admission window of a standard deployment (tokens per 60 s, requests per 10 s).
//!
//! A charge made at `t` returns at `t + window`. Charges are kept in arrival order with their
//! running total, so expiring is O(1) amortized and the Retry-After of a rejection (the time
//! until enough old charges have expired) is a binary search: O(log n).

use std::collections::VecDeque;

use crate::time::SimTime;

/// A rolling window with a limit.
#[derive(Clone, Debug)]
pub struct RollingWindow {
    window: SimTime,
    limit: u64,
    /// `(charge time, running total including this charge)`, oldest first.
    charges: VecDeque<(SimTime, u64)>,
    added: u64,
    expired: u64,
}

impl RollingWindow {
    /// An empty window of length `window` admitting at most `limit` within it.
    pub fn new(window: SimTime, limit: u64) -> Self {
        RollingWindow {
            window,
            limit,
            charges: VecDeque::new(),
            added: 0,
            expired: 0,
        }
    }

    /// The limit.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Changes the limit (a temporary cut of a deployment's effective limit). Charges already
    /// in the window stay; checks from now on use the new limit.
    pub fn set_limit(&mut self, limit: u64) {
        self.limit = limit;
    }

    fn expire(&mut self, now: SimTime) {
        while let Some(&(t, cum)) = self.charges.front() {
            if t + self.window <= now {
                self.expired = cum;
                self.charges.pop_front();
            } else {
                break;
            }
        }
    }

    /// Amount charged within the window ending at `now`.
    pub fn used(&mut self, now: SimTime) -> u64 {
        self.expire(now);
        self.added - self.expired
    }

    /// `Ok` if `amount` fits now; otherwise the earliest time at which it would fit if nothing
    /// else were charged meanwhile. An amount above the limit never fits: it is told to come
    /// back after a whole window.
    pub fn check(&mut self, now: SimTime, amount: u64) -> Result<(), SimTime> {
        let used = self.used(now);
        if used + amount <= self.limit {
            return Ok(());
        }
        if amount > self.limit {
            return Err(now + self.window);
        }
        let need = used + amount - self.limit;
        let base = self.expired;
        let i = self.charges.partition_point(|&(_, cum)| cum - base < need);
        let (t, _) = self.charges[i];
        Err(t + self.window)
    }

    /// Charges `amount` at `now` (times must not decrease).
    pub fn charge(&mut self, now: SimTime, amount: u64) {
        if amount == 0 {
            return;
        }
        self.added += amount;
        match self.charges.back_mut() {
            Some(last) if last.0 == now => last.1 = self.added,
            _ => self.charges.push_back((now, self.added)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: u64) -> SimTime {
        SimTime::from_secs(x)
    }

    #[test]
    fn charges_return_after_the_window() {
        let mut w = RollingWindow::new(s(60), 100);
        w.charge(s(0), 60);
        w.charge(s(10), 30);
        assert_eq!(w.used(s(59)), 90);
        assert_eq!(w.used(s(60)), 30);
        assert_eq!(w.used(s(70)), 0);
    }

    #[test]
    fn retry_at_is_when_enough_has_expired() {
        let mut w = RollingWindow::new(s(60), 100);
        w.charge(s(0), 40);
        w.charge(s(5), 40);
        w.charge(s(20), 20);
        assert_eq!(w.check(s(30), 10), Err(s(60)));
        assert_eq!(w.check(s(30), 50), Err(s(65)));
        assert_eq!(w.check(s(60), 40), Ok(()));
        assert_eq!(w.check(s(30), 500), Err(s(90)));
    }

    proptest::proptest! {
        #![proptest_config(crate::testkit::proptest_config(512))]
        /// Against the obvious model (every charge kept, sums taken afresh), over enough
        /// charges for the ring to grow and wrap: what is used, what fits, and when.
        #[test]
        fn matches_a_list_of_every_charge(
            ops in proptest::collection::vec((0u64..3_000_000, 0u64..400), 1..400),
        ) {
            let (window, limit) = (SimTime::from_secs(10), 5_000);
            let mut w = RollingWindow::new(window, limit);
            let mut all: Vec<(SimTime, u64)> = Vec::new();
            let mut now = SimTime::ZERO;
            for (step, amount) in ops {
                now += SimTime(step % 7 * (step / 7 % 2) * 400_000);
                let in_window = |at: SimTime| -> u64 {
                    all.iter().filter(|(t, _)| *t + window > at).map(|c| c.1).sum()
                };
                let used = in_window(now);
                proptest::prop_assert_eq!(w.used(now), used);
                match w.check(now, amount) {
                    Ok(()) => {
                        proptest::prop_assert!(used + amount <= limit);
                        w.charge(now, amount);
                        all.push((now, amount));
                    }
                    Err(at) => {
                        proptest::prop_assert!(used + amount > limit);
                        // The earliest time at which it fits, and not a microsecond before.
                        proptest::prop_assert!(in_window(at) + amount <= limit);
                        proptest::prop_assert!(in_window(at - SimTime(1)) + amount > limit);
                    }
                }
            }
        }
    }

    #[test]
    fn retry_at_admits_exactly_then() {
        let mut w = RollingWindow::new(s(60), 1000);
        let mut t = 0;
        for k in 1..50u64 {
            t += k % 7;
            match w.check(s(t), 97) {
                Ok(()) => w.charge(s(t), 97),
                Err(at) => {
                    // Admitted exactly at the Retry-After time, and not a microsecond before.
                    assert!(w.clone().check(at, 97).is_ok());
                    assert!(w.clone().check(at - SimTime(1), 97).is_err());
                }
            }
        }
    }
}
