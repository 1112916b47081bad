//! Faults injected on deployments: outages, transient errors, capacity 429s that quota does
//! not explain, and temporary cuts of a standard deployment's limits.

use rand::RngExt;

use super::Reject;
use crate::metrics::DeploymentMetrics;
use crate::rng::{SimRng, Stream, stream};
use crate::time::SimTime;

/// A fault injected on deployments.
#[derive(Clone, Debug)]
pub struct Fault {
    /// Name (for outputs).
    pub name: String,
    /// What happens.
    pub kind: FaultKind,
    /// Deployments it applies to.
    pub deployments: Vec<usize>,
    /// Active from (inclusive).
    pub from: SimTime,
    /// Active until (exclusive).
    pub to: SimTime,
}

impl Fault {
    /// Whether the fault is active at `now`.
    #[inline]
    pub fn active(&self, now: SimTime) -> bool {
        self.from <= now && now < self.to
    }
}

/// What a fault does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultKind {
    /// Every attempt is answered at once with `status` (no Retry-After).
    Outage {
        /// Status, e.g. 503.
        status: u16,
    },
    /// A share of attempts is answered at once with `status`.
    Errors {
        /// Status, e.g. 500.
        status: u16,
        /// Probability per attempt.
        rate: f64,
    },
    /// A share of attempts gets a capacity 429 ("system is experiencing high demand") that
    /// quota does not explain.
    Capacity429 {
        /// Probability per attempt.
        rate: f64,
        /// Retry-After sent with it.
        retry_after: SimTime,
    },
    /// A standard deployment's token and request limits are multiplied by `factor`.
    LimitCut {
        /// Factor in (0, 1].
        factor: f64,
    },
}

/// The faults of one run, by deployment, and their random stream ([`Stream::Faults`]).
pub(super) struct Faults<'a> {
    faults: &'a [Fault],
    /// Per deployment, the indices of the faults that apply to it.
    by_dep: Vec<Vec<usize>>,
    rng: SimRng,
}

/// What the active faults do to one attempt at a deployment.
pub(super) struct Injected {
    /// An immediate error answer, if one applies.
    pub answer: Option<Reject>,
    /// The factor applied to a standard deployment's limits.
    pub limit_factor: f64,
    /// Whether the answer is a capacity 429 (it counts in the time series' 429s).
    pub capacity_429: bool,
}

impl<'a> Faults<'a> {
    pub(super) fn new(faults: &'a [Fault], deployments: usize, seed: u64) -> Self {
        Faults {
            faults,
            by_dep: (0..deployments)
                .map(|d| {
                    (0..faults.len())
                        .filter(|&f| faults[f].deployments.contains(&d))
                        .collect()
                })
                .collect(),
            rng: stream(seed, Stream::Faults, 0),
        }
    }

    /// Whether any fault applies to deployment `d` (at any time).
    #[inline]
    pub(super) fn any(&self, d: usize) -> bool {
        !self.by_dep[d].is_empty()
    }

    /// The faults active on deployment `d` at `now`. Every active rate fault draws once per
    /// attempt (whether or not an earlier fault already answered), so the stream stays
    /// aligned; the first answer wins.
    pub(super) fn inject(
        &mut self,
        d: usize,
        now: SimTime,
        dm: &mut DeploymentMetrics,
    ) -> Injected {
        let mut limit_factor = 1.0;
        let mut answer = None;
        let mut capacity_429 = false;
        for &f in &self.by_dep[d] {
            let fault = &self.faults[f];
            if !fault.active(now) {
                continue;
            }
            match fault.kind {
                FaultKind::Outage { status } => {
                    dm.attempts_in_outage += 1;
                    if answer.is_none() {
                        dm.fault_errors += 1;
                        answer = Some(Reject { status, at: None });
                    }
                }
                FaultKind::Errors { status, rate } => {
                    let u: f64 = self.rng.random();
                    if answer.is_none() && u < rate {
                        dm.fault_errors += 1;
                        answer = Some(Reject { status, at: None });
                    }
                }
                FaultKind::Capacity429 { rate, retry_after } => {
                    let u: f64 = self.rng.random();
                    if answer.is_none() && u < rate {
                        dm.fault_429 += 1;
                        dm.rejected_429 += 1;
                        capacity_429 = true;
                        answer = Some(Reject {
                            status: 429,
                            at: Some(now + retry_after),
                        });
                    }
                }
                FaultKind::LimitCut { factor } => limit_factor = f64::min(limit_factor, factor),
            }
        }
        Injected {
            answer,
            limit_factor,
            capacity_429,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(kind: FaultKind, from: u64, to: u64) -> Fault {
        Fault {
            name: "f".into(),
            kind,
            deployments: vec![0],
            from: SimTime::from_secs(from),
            to: SimTime::from_secs(to),
        }
    }

    #[test]
    fn an_outage_answers_within_its_span_only() {
        let list = [fault(FaultKind::Outage { status: 503 }, 10, 20)];
        let mut f = Faults::new(&list, 2, 1);
        let mut dm = DeploymentMetrics::default();
        assert!(f.any(0) && !f.any(1));
        assert!(f.inject(0, SimTime::from_secs(9), &mut dm).answer.is_none());
        let hit = f.inject(0, SimTime::from_secs(10), &mut dm).answer;
        assert_eq!(
            hit,
            Some(Reject {
                status: 503,
                at: None
            })
        );
        assert!(
            f.inject(0, SimTime::from_secs(20), &mut dm)
                .answer
                .is_none()
        );
        assert_eq!((dm.attempts_in_outage, dm.fault_errors), (1, 1));
    }

    #[test]
    fn capacity_429s_carry_their_retry_after_and_cuts_take_the_smallest_factor() {
        let list = [
            fault(
                FaultKind::Capacity429 {
                    rate: 1.0,
                    retry_after: SimTime::from_secs(3),
                },
                0,
                100,
            ),
            fault(FaultKind::LimitCut { factor: 0.5 }, 0, 100),
            fault(FaultKind::LimitCut { factor: 0.25 }, 0, 100),
        ];
        let mut f = Faults::new(&list, 1, 1);
        let mut dm = DeploymentMetrics::default();
        let now = SimTime::from_secs(7);
        let inj = f.inject(0, now, &mut dm);
        assert_eq!(
            inj.answer,
            Some(Reject {
                status: 429,
                at: Some(SimTime::from_secs(10))
            })
        );
        assert_eq!(inj.limit_factor, 0.25);
        assert_eq!((dm.fault_429, dm.rejected_429), (1, 1));
    }
}
