//! Open-loop arrival times.

use rand::RngExt;

use crate::rng::SimRng;
use crate::time::SimTime;

/// The next open-loop arrival after `from` under a piecewise-constant rate `schedule`
/// (`(from, sessions per minute)`, sorted, first at time zero): integrate the rate until it
/// reaches an Exp(1) draw (`poisson`) or exactly 1 (evenly spaced). `None` when the rate
/// stays zero for ever.
pub fn next_arrival(
    schedule: &[(SimTime, f64)],
    poisson: bool,
    from: SimTime,
    rng: &mut SimRng,
) -> Option<SimTime> {
    let mut target: f64 = if poisson {
        let u: f64 = rng.random();
        -(1.0 - u).ln()
    } else {
        1.0
    };
    let mut t = from;
    let mut i = schedule.partition_point(|p| p.0 <= t).saturating_sub(1);
    loop {
        let rate_per_us = schedule[i].1 / 60e6;
        let piece_end = schedule.get(i + 1).map_or(SimTime::MAX, |p| p.0);
        if rate_per_us > 0.0 {
            let need_us = target / rate_per_us;
            let cand = t + SimTime::from_secs_f64(need_us / 1e6).max(SimTime(1));
            if cand < piece_end {
                return Some(cand);
            }
            target -= rate_per_us * (piece_end - t).as_micros() as f64;
        }
        if piece_end == SimTime::MAX {
            return None;
        }
        t = piece_end;
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Stream, stream};

    fn min(m: u64) -> SimTime {
        SimTime::from_secs(60 * m)
    }

    #[test]
    fn constant_spacing_follows_each_piece() {
        let mut r = stream(1, Stream::Arrivals, 0);
        // 60/min for a minute, then 120/min.
        let sched = [(SimTime::ZERO, 60.0), (min(1), 120.0)];
        let t1 = next_arrival(&sched, false, SimTime::ZERO, &mut r).unwrap();
        assert_eq!(t1, SimTime::from_secs(1));
        let late = next_arrival(&sched, false, min(2), &mut r).unwrap();
        assert_eq!(late, min(2) + SimTime::from_millis(500));
        // Across a boundary: half the work in the first piece, the rest at twice the rate.
        let across = next_arrival(&sched, false, min(1) - SimTime::from_millis(500), &mut r);
        assert_eq!(across, Some(min(1) + SimTime::from_millis(250)));
    }

    #[test]
    fn a_zero_rate_tail_ends_the_arrivals() {
        let mut r = stream(1, Stream::Arrivals, 0);
        let sched = [(SimTime::ZERO, 1.0), (min(1), 0.0)];
        assert_eq!(
            next_arrival(&sched, false, SimTime::from_secs(30), &mut r),
            None
        );
    }

    #[test]
    fn poisson_gaps_have_the_rate_as_mean() {
        let mut r = stream(3, Stream::Arrivals, 0);
        let sched = [(SimTime::ZERO, 600.0)]; // 10 per second
        let mut t = SimTime::ZERO;
        let n = 50_000;
        for _ in 0..n {
            t = next_arrival(&sched, true, t, &mut r).unwrap();
        }
        let mean_gap = t.as_secs_f64() / n as f64;
        assert!((mean_gap - 0.1).abs() < 0.002, "{mean_gap}");
    }
}
