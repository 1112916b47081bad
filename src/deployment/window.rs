//! Rolling admission windows of a standard deployment (tokens per 60 s, requests per 10 s).
//!
//! A charge made at `t` returns at `t + window`. Charges are kept in arrival order with their
//! running totals, so expiring is O(1) amortized and the Retry-After of a rejection (the time
//! until enough old charges have expired) is a binary search: O(log n).
//!
//! A standard deployment charges its token window and its request window at the same
//! instants, so [`RollingWindows`] keeps `N` windows over one list of charges: each charge
//! is one entry with the running total of every window, and each window has its own head
//! (its oldest charge not yet expired). One admission then checks and charges both windows in
//! one pass. [`RollingWindow`] is the one-window case (a gateway's token limit).

use crate::time::SimTime;

/// `N` rolling windows, each with its length and limit, charged at the same instants.
#[derive(Clone, Debug)]
pub struct RollingWindows<const N: usize> {
    window: [SimTime; N],
    limit: [u64; N],
    /// A ring of `(charge time, running totals including this charge)`, oldest first; the
    /// entry with absolute number `i` is at `ring[i & mask]`. Its length is a power of two.
    ring: Vec<(SimTime, [u64; N])>,
    /// The absolute numbers of the oldest kept entry and of the next one.
    start: u64,
    end: u64,
    /// Per window, the absolute number of its oldest charge still in it.
    head: [u64; N],
    added: [u64; N],
    /// Per window, the running total at its last expired charge.
    expired: [u64; N],
}

/// A single rolling window with a limit.
pub type RollingWindow = RollingWindows<1>;

impl<const N: usize> RollingWindows<N> {
    /// Empty windows of lengths `window` (each longer than zero: a charge made now is still
    /// in every window now) admitting at most `limit` within each.
    pub fn with_limits(window: [SimTime; N], limit: [u64; N]) -> Self {
        debug_assert!(window.iter().all(|&w| w > SimTime::ZERO), "empty window");
        RollingWindows {
            window,
            limit,
            // Never empty, so that `entry` can be read at any number (see `expire_one`).
            ring: vec![(SimTime::ZERO, [0; N]); 16],
            start: 0,
            end: 0,
            head: [0; N],
            added: [0; N],
            expired: [0; N],
        }
    }

    /// The limit of window `k`.
    pub fn limit_of(&self, k: usize) -> u64 {
        self.limit[k]
    }

    /// Changes the limit of window `k` (a temporary cut of a deployment's effective limit).
    /// Charges already in the window stay; checks from now on use the new limit.
    pub fn set_limit_of(&mut self, k: usize, limit: u64) {
        self.limit[k] = limit;
    }

    #[inline]
    fn entry(&self, i: u64) -> &(SimTime, [u64; N]) {
        &self.ring[(i as usize) & (self.ring.len() - 1)]
    }

    /// Moves window `k`'s head past its oldest charge if that charge has expired by `now`;
    /// returns whether it did. The answer is data (how many charges expire at an admission
    /// is near a coin toss), so it moves the head as a 0 or 1 and selects the expired total,
    /// instead of branching on it.
    #[inline]
    fn expire_one(&mut self, k: usize, now: SimTime) -> bool {
        let h = self.head[k];
        // With no charge (`h == end`) the entry read is a stale or empty one: `go` is false
        // and it is not used. The ring is never empty (`with_limits`).
        let &(t, cum) = self.entry(h);
        let go = (h < self.end) & (t + self.window[k] <= now);
        self.expired[k] = if go { cum[k] } else { self.expired[k] };
        self.head[k] = h + go as u64;
        go
    }

    #[inline]
    fn expire(&mut self, now: SimTime) {
        let mut start = u64::MAX;
        for k in 0..N {
            // At a steady rate one charge expires per admission on average: two steps without
            // a branch cover most admissions, the loop the rest.
            self.expire_one(k, now);
            if self.expire_one(k, now) {
                while self.expire_one(k, now) {}
            }
            start = start.min(self.head[k]);
        }
        self.start = start;
    }

    /// Amount charged to window `k` within it, ending at `now`.
    pub fn used_of(&mut self, k: usize, now: SimTime) -> u64 {
        self.expire(now);
        self.added[k] - self.expired[k]
    }

    /// `Ok` if `amount[k]` fits window `k` now, for every `k`; otherwise the earliest time at
    /// which all of them would fit if nothing else were charged meanwhile. An amount above
    /// its window's limit never fits: it is told to come back after a whole window.
    #[inline]
    pub fn check_all(&mut self, now: SimTime, amount: [u64; N]) -> Result<(), SimTime> {
        self.expire(now);
        let mut fits = true;
        for (k, a) in amount.iter().enumerate() {
            fits &= self.added[k] - self.expired[k] + a <= self.limit[k];
        }
        if fits {
            return Ok(());
        }
        let mut at = now;
        for (k, &amount) in amount.iter().enumerate() {
            at = at.max(self.fits_at(k, now, amount));
        }
        Err(at)
    }

    /// When `amount` fits window `k` (`now` if it does now).
    #[cold]
    fn fits_at(&self, k: usize, now: SimTime, amount: u64) -> SimTime {
        let used = self.added[k] - self.expired[k];
        if used + amount <= self.limit[k] {
            return now;
        }
        if amount > self.limit[k] {
            return now + self.window[k];
        }
        // The first charge whose expiry brings the window down to `limit - amount`.
        let need = used + amount - self.limit[k];
        let (mut lo, mut hi) = (self.head[k], self.end);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.entry(mid).1[k] - self.expired[k] < need {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        self.entry(lo).0 + self.window[k]
    }

    /// Charges `amount[k]` to window `k` at `now` (times must not decrease).
    #[inline]
    pub fn charge_all(&mut self, now: SimTime, amount: [u64; N]) {
        if amount.iter().all(|&a| a == 0) {
            return;
        }
        for (added, a) in self.added.iter_mut().zip(amount) {
            *added += a;
        }
        if self.end > self.start {
            let mask = self.ring.len() - 1;
            let last = &mut self.ring[(self.end - 1) as usize & mask];
            if last.0 == now {
                last.1 = self.added;
                return;
            }
        }
        if self.end - self.start == self.ring.len() as u64 {
            self.grow();
        }
        let mask = self.ring.len() - 1;
        self.ring[self.end as usize & mask] = (now, self.added);
        self.end += 1;
    }

    /// Doubles the ring, keeping every entry at its absolute number.
    #[cold]
    fn grow(&mut self) {
        let cap = self.ring.len() * 2;
        let mut ring = vec![(SimTime::ZERO, [0; N]); cap];
        for i in self.start..self.end {
            ring[i as usize & (cap - 1)] = *self.entry(i);
        }
        self.ring = ring;
    }
}

impl RollingWindow {
    /// An empty window of length `window` admitting at most `limit` within it.
    pub fn new(window: SimTime, limit: u64) -> Self {
        Self::with_limits([window], [limit])
    }

    /// The limit.
    pub fn limit(&self) -> u64 {
        self.limit[0]
    }

    /// Changes the limit (see [`set_limit_of`](Self::set_limit_of)).
    pub fn set_limit(&mut self, limit: u64) {
        self.limit[0] = limit;
    }

    /// Amount charged within the window ending at `now`.
    pub fn used(&mut self, now: SimTime) -> u64 {
        self.used_of(0, now)
    }

    /// `Ok` if `amount` fits now; otherwise the earliest time at which it would fit if nothing
    /// else were charged meanwhile (see [`check_all`](Self::check_all)).
    pub fn check(&mut self, now: SimTime, amount: u64) -> Result<(), SimTime> {
        self.check_all(now, [amount])
    }

    /// Charges `amount` at `now` (times must not decrease).
    pub fn charge(&mut self, now: SimTime, amount: u64) {
        self.charge_all(now, [amount]);
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

    proptest::proptest! {
        #![proptest_config(crate::testkit::proptest_config(512))]
        /// Two windows of different lengths over one list of charges (a token window and a
        /// request window, some charges to the requests only), against two lists of every
        /// charge: what each window holds, whether both fit, and the Retry-After (the time
        /// both fit, to the microsecond).
        #[test]
        fn two_windows_match_two_lists(
            ops in proptest::collection::vec((0u64..3_000_000, 0u64..400, 0u8..4), 1..400),
        ) {
            let lengths = [SimTime::from_secs(10), SimTime::from_secs(3)];
            // Many charges in the long window while the short one's head moves on.
            let limits = [10_000, 15];
            let mut w = RollingWindows::with_limits(lengths, limits);
            let mut all: Vec<(SimTime, [u64; 2])> = Vec::new();
            let mut now = SimTime::ZERO;
            for (step, amount, kind) in ops {
                now += SimTime(step % 7 * (step / 7 % 2) * 100_000);
                let in_window = |k: usize, at: SimTime| -> u64 {
                    all.iter().filter(|(t, _)| *t + lengths[k] > at).map(|c| c.1[k]).sum()
                };
                let charge = [amount, 1];
                let fits_at = |at: SimTime| (0..2).all(|k| in_window(k, at) + charge[k] <= limits[k]);
                for k in 0..2 {
                    proptest::prop_assert_eq!(w.used_of(k, now), in_window(k, now));
                }
                match w.check_all(now, charge) {
                    Ok(()) => {
                        proptest::prop_assert!(fits_at(now));
                        w.charge_all(now, charge);
                        all.push((now, charge));
                    }
                    Err(at) => {
                        proptest::prop_assert!(!fits_at(now));
                        proptest::prop_assert!(fits_at(at));
                        proptest::prop_assert!(!fits_at(at - SimTime(1)));
                        if kind == 0 {
                            // A rejected request that still counts in the request window.
                            w.charge_all(now, [0, 1]);
                            all.push((now, [0, 1]));
                        }
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
