//! Decoding as processor sharing with a load-dependent speed, in O(log n) per event.
//!
//! While `n` requests decode on a deployment, each advances at `speed_factor(n)` times its own
//! solo speed. Give each request its *work* in solo-seconds (`tokens / solo tokens/s`) and
//! keep one virtual clock `V` per deployment that advances at `speed_factor(n)` per real
//! second: a request that joined at `V0` finishes when `V` reaches `V0 + work`. That finish
//! tag never changes, so the requests sit in a min-heap by tag and every arrival, departure or
//! cancellation costs O(log n): this is the virtual time of weighted fair queueing.
//!
//! Cancellation is lazy: the caller stops counting the request (`cancel`) and the stale heap
//! entry is dropped when it reaches the top (`is_live` tells which entries still count). Every
//! stale entry is a cancelled one, so while nothing cancelled is left in the heap the top is
//! live without asking: the caller's `is_live` (a look at the attempt's state elsewhere in
//! memory) is called only when there are cancellations to drop.
//! [`reference`] is a slow, obvious step-by-step model used by tests to check this one.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::time::SimTime;

#[derive(Clone, Copy, Debug)]
struct Entry {
    /// `finish tag bits << 64 | key`: one integer comparison orders by finish tag, then by
    /// key. Tags are never negative (a virtual time plus a non-negative work), and the bits of
    /// non-negative floats order as the floats do (`f64::total_cmp`).
    order: u128,
    slot: u32,
}

impl Entry {
    fn new(finish: f64, key: u64, slot: u32) -> Self {
        debug_assert!(finish >= 0.0 && finish.is_sign_positive());
        Entry {
            order: ((finish.to_bits() as u128) << 64) | key as u128,
            slot,
        }
    }

    fn finish(&self) -> f64 {
        f64::from_bits((self.order >> 64) as u64)
    }

    fn key(&self) -> u64 {
        self.order as u64
    }
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        self.order == o.order
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    // Reversed: BinaryHeap is a max-heap and we want the smallest finish tag (then key) first.
    fn cmp(&self, o: &Self) -> Ordering {
        o.order.cmp(&self.order)
    }
}

/// The decoding requests of one deployment.
#[derive(Clone, Debug, Default)]
pub struct ProcessorSharing {
    virtual_now: f64,
    last: SimTime,
    active: usize,
    /// Entries in the heap that were cancelled (stale, not yet dropped).
    cancelled: usize,
    heap: BinaryHeap<Entry>,
}

impl ProcessorSharing {
    /// Requests currently decoding.
    pub fn active(&self) -> usize {
        self.active
    }

    /// The virtual clock (solo-seconds of progress since the deployment started).
    pub fn virtual_now(&self) -> f64 {
        self.virtual_now
    }

    /// Brings the virtual clock to `now` under the current concurrency.
    #[inline]
    pub fn advance(&mut self, now: SimTime, speed: impl Fn(usize) -> f64) {
        if now > self.last {
            if self.active > 0 {
                self.virtual_now += speed(self.active) * (now - self.last).as_secs_f64();
            }
            self.last = now;
        }
    }

    /// Adds a request with `work` solo-seconds at `now`; returns its virtual start.
    #[inline]
    pub fn add(
        &mut self,
        now: SimTime,
        key: u64,
        slot: u32,
        work: f64,
        speed: impl Fn(usize) -> f64,
    ) -> f64 {
        self.advance(now, speed);
        self.heap
            .push(Entry::new(self.virtual_now + work, key, slot));
        self.active += 1;
        self.virtual_now
    }

    /// Stops counting a request that was added and has not finished (its heap entry becomes
    /// stale: the caller's `is_live` must say so from now on).
    pub fn cancel(&mut self, now: SimTime, speed: impl Fn(usize) -> f64) {
        self.advance(now, speed);
        debug_assert!(self.active > 0);
        self.active -= 1;
        self.cancelled += 1;
    }

    #[inline]
    fn drop_stale(&mut self, is_live: &mut impl FnMut(u64, u32) -> bool) {
        while self.cancelled > 0
            && let Some(top) = self.heap.peek()
        {
            if is_live(top.key(), top.slot) {
                break;
            }
            self.heap.pop();
            self.cancelled -= 1;
        }
        debug_assert!(
            self.heap.peek().is_none_or(|t| is_live(t.key(), t.slot)),
            "a stale entry that was not cancelled"
        );
    }

    /// When the next live request finishes, if nothing changes before then.
    #[inline]
    pub fn next_finish(
        &mut self,
        now: SimTime,
        speed: impl Fn(usize) -> f64,
        mut is_live: impl FnMut(u64, u32) -> bool,
    ) -> Option<SimTime> {
        self.drop_stale(&mut is_live);
        let top = self.heap.peek()?;
        debug_assert!(self.active > 0);
        let remaining = (top.finish() - self.virtual_now).max(0.0);
        Some(now + SimTime::from_secs_f64(remaining / speed(self.active)))
    }

    /// Pops one live request whose work is done by the virtual clock (call `advance` first).
    #[inline]
    pub fn pop_finished(
        &mut self,
        mut is_live: impl FnMut(u64, u32) -> bool,
    ) -> Option<(u64, u32)> {
        self.drop_stale(&mut is_live);
        let top = *self.heap.peek()?;
        // Event times are rounded up to the microsecond, so the clock is at or past the tag up
        // to float rounding.
        if top.finish() <= self.virtual_now + 1e-9 * self.virtual_now.max(1.0) {
            self.heap.pop();
            self.active -= 1;
            Some((top.key(), top.slot))
        } else {
            None
        }
    }
}

#[doc(hidden)]
pub mod reference {
    //! The slow, obvious model: every active job's remaining work is decreased explicitly, and
    //! the next event is found by scanning all jobs. O(n) per event; tests only.

    /// A job for the reference model.
    #[derive(Clone, Copy, Debug)]
    pub struct Job {
        /// Arrival time, seconds.
        pub arrival: f64,
        /// Solo work, seconds.
        pub work: f64,
        /// Optional cancellation time, seconds.
        pub cancel_at: Option<f64>,
    }

    /// Finish time of each job (`None` if cancelled first).
    pub fn finish_times(jobs: &[Job], speed: impl Fn(usize) -> f64) -> Vec<Option<f64>> {
        let n = jobs.len();
        let mut remaining: Vec<f64> = jobs.iter().map(|j| j.work).collect();
        let mut state = vec![0u8; n]; // 0 waiting, 1 active, 2 done
        let mut out = vec![None; n];
        let mut now = 0.0f64;
        loop {
            let active: Vec<usize> = (0..n).filter(|&i| state[i] == 1).collect();
            let rate = if active.is_empty() {
                0.0
            } else {
                speed(active.len())
            };
            // Next event: an arrival, a cancellation, or a finish.
            let mut next = f64::INFINITY;
            for i in 0..n {
                if state[i] == 0 {
                    next = next.min(jobs[i].arrival);
                }
                if state[i] == 1 {
                    if let Some(c) = jobs[i].cancel_at {
                        next = next.min(c);
                    }
                    next = next.min(now + remaining[i] / rate);
                }
            }
            if !next.is_finite() {
                return out;
            }
            let dt = next - now;
            for &i in &active {
                remaining[i] -= rate * dt;
            }
            now = next;
            for i in 0..n {
                if state[i] == 1 && remaining[i] <= 1e-9 {
                    state[i] = 2;
                    out[i] = Some(now);
                } else if state[i] == 1 && jobs[i].cancel_at.is_some_and(|c| c <= now) {
                    state[i] = 2;
                } else if state[i] == 0 && jobs[i].arrival <= now {
                    state[i] = 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::reference::{Job, finish_times};
    use super::*;
    use proptest::prelude::*;

    /// Drives the fast model with the same jobs through a tiny event loop.
    fn fast_finish_times(jobs: &[Job], speed: impl Fn(usize) -> f64 + Copy) -> Vec<Option<f64>> {
        let mut ps = ProcessorSharing::default();
        let mut out = vec![None; jobs.len()];
        let mut live = vec![false; jobs.len()];
        let us = |s: f64| SimTime::from_secs_f64(s);
        // Pending arrivals and cancellations as (time, kind, job), processed in time order.
        let mut pending: Vec<(SimTime, u8, usize)> = Vec::new();
        for (i, j) in jobs.iter().enumerate() {
            pending.push((us(j.arrival), 0, i));
            if let Some(c) = j.cancel_at {
                pending.push((us(c), 1, i));
            }
        }
        pending.sort();
        let mut k = 0;
        loop {
            let next_finish = ps.next_finish(ps.last, speed, |key, _| live[key as usize]);
            let next_pending = pending.get(k).map(|p| p.0);
            match (next_finish, next_pending) {
                (None, None) => return out,
                (Some(f), p) if p.is_none_or(|p| f < p) => {
                    ps.advance(f, speed);
                    while let Some((key, _)) = ps.pop_finished(|key, _| live[key as usize]) {
                        live[key as usize] = false;
                        out[key as usize] = Some(f.as_secs_f64());
                    }
                }
                (_, Some(t)) => {
                    let (_, kind, i) = pending[k];
                    k += 1;
                    if kind == 0 {
                        live[i] = true;
                        ps.add(t, i as u64, 0, jobs[i].work, speed);
                    } else if live[i] {
                        live[i] = false;
                        ps.cancel(t, speed);
                    }
                }
                _ => unreachable!(),
            }
        }
    }

    #[test]
    fn two_jobs_share_with_a_slowdown() {
        // speed(1) = 1, speed(2) = 0.5: job A (work 2) alone for 1 s, then both at half speed.
        let jobs = [
            Job {
                arrival: 0.0,
                work: 2.0,
                cancel_at: None,
            },
            Job {
                arrival: 1.0,
                work: 1.0,
                cancel_at: None,
            },
        ];
        let speed = |n: usize| if n >= 2 { 0.5 } else { 1.0 };
        let r = finish_times(&jobs, speed);
        // A has 1 left at t=1; both at 0.5: B finishes at t=3 (A then has 0 left too).
        assert!(
            (r[0].unwrap() - 3.0).abs() < 1e-9 && (r[1].unwrap() - 3.0).abs() < 1e-9,
            "{r:?}"
        );
        let f = fast_finish_times(&jobs, speed);
        assert!(
            (f[0].unwrap() - 3.0).abs() < 1e-5 && (f[1].unwrap() - 3.0).abs() < 1e-5,
            "{f:?}"
        );
    }

    proptest! {
        #![proptest_config(crate::testkit::proptest_config(200))]
        #[test]
        fn fast_matches_reference(
            raw in prop::collection::vec((0.0f64..20.0, 0.01f64..5.0, prop::option::of(0.0f64..30.0)), 1..40),
            slope in 0.0f64..0.2,
        ) {
            let jobs: Vec<Job> = raw.iter().map(|&(a, w, c)| Job {
                arrival: (a * 1e3).round() / 1e3,
                work: w,
                cancel_at: c.map(|c| ((a + c) * 1e3).round() / 1e3),
            }).collect();
            let speed = move |n: usize| 1.0 / (1.0 + slope * (n as f64 - 1.0));
            let slow = finish_times(&jobs, speed);
            let fast = fast_finish_times(&jobs, speed);
            for (i, (s, f)) in slow.iter().zip(&fast).enumerate() {
                match (s, f) {
                    (Some(s), Some(f)) => prop_assert!((s - f).abs() < 1e-3, "job {i}: reference {s} fast {f}"),
                    (None, None) => {}
                    // A finish and a cancellation within rounding of each other may go either way.
                    (Some(s), None) => prop_assert!((s - jobs[i].cancel_at.unwrap()).abs() < 1e-3, "job {i}: {s} vs cancelled"),
                    (None, Some(f)) => prop_assert!((f - jobs[i].cancel_at.unwrap()).abs() < 1e-3, "job {i}: cancelled vs {f}"),
                }
            }
        }
    }
}
