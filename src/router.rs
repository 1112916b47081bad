//! The router: which deployment a client attempt goes to when there is no gateway.
//!
//! Per model, an ordered list of deployments: `round-robin` starts each attempt at the next
//! one in turn, `priority` always at the first. When a deployment answers with a status in
//! `failover_on`, the next untried one is tried at once, within the same client attempt.
//! The router decides the order and when to stop; admission is the deployment's (it is given
//! as a function), and what to do with the final error is the client's.

use crate::deployment::{Admit, Reject};
use crate::events::{Ev, EventQueue};
use crate::scenario::{RoutePolicy, RouterSpec};
use crate::time::SimTime;
use crate::workload::Call;

/// The router of one run.
pub struct Router<'a> {
    spec: &'a RouterSpec,
    /// Round-robin cursor per model.
    cursor: Vec<usize>,
    failovers: u64,
}

impl<'a> Router<'a> {
    /// A router over `spec` (`models` cursors).
    pub fn new(spec: &'a RouterSpec, models: usize) -> Self {
        Router {
            spec,
            cursor: vec![0; models],
            failovers: 0,
        }
    }

    /// Routes one client attempt of `call`: tries the model's deployments in order
    /// until one admits (`Ok`) or failover ends. The error is the last answer's status with
    /// the soonest Retry-After seen in the attempt.
    #[inline]
    pub fn route(
        &mut self,
        call: &Call,
        q: &mut EventQueue<Ev>,
        admit: &mut impl Admit,
    ) -> Result<(), Reject> {
        let model = call.model as usize;
        let route = &self.spec.routes[model];
        let n = route.len();
        let start = match self.spec.policy {
            RoutePolicy::RoundRobin => {
                // The cursor stays below `n` (no division on the hot path).
                let s = self.cursor[model];
                self.cursor[model] = if s + 1 >= n { 0 } else { s + 1 };
                s
            }
            RoutePolicy::Priority => 0,
        };
        let mut tried = 0u64;
        let mut soonest = SimTime::MAX;
        loop {
            let Some(k) = (0..n)
                .map(|j| {
                    if start + j >= n {
                        start + j - n
                    } else {
                        start + j
                    }
                })
                .find(|&k| tried & (1 << k) == 0)
            else {
                return Err(Reject {
                    status: 429,
                    at: Some(soonest),
                });
            };
            if tried != 0 {
                self.failovers += 1;
            }
            tried |= 1 << k;
            match admit(q, route[k], call, false) {
                Ok(_) => return Ok(()),
                Err(rej) => {
                    if let Some(at) = rej.at {
                        soonest = soonest.min(at);
                    }
                    if !self.spec.failover_on.contains(&rej.status)
                        || tried.count_ones() as usize == n
                    {
                        return Err(Reject {
                            status: rej.status,
                            at: (soonest != SimTime::MAX).then_some(soonest),
                        });
                    }
                }
            }
        }
    }

    /// Failovers made (a further deployment tried within one client attempt).
    pub fn failovers(&self) -> u64 {
        self.failovers
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deployment::Admitted;

    fn call() -> Call {
        Call {
            class: 0,
            step: 0,
            model: 0,
            prompt: 100,
            cached: 0,
            want: 10,
            max_tokens: None,
            streaming: false,
            speed_z: 0.0,
            key: 0,
        }
    }

    /// Routes once against deployments answering from `answers` (by deployment index);
    /// returns the result and the deployments tried, in order.
    fn route_once(
        r: &mut Router,
        answers: &[Result<(), Reject>],
    ) -> (Result<(), Reject>, Vec<usize>) {
        let mut q = EventQueue::default();
        let mut seen = Vec::new();
        let mut admit = |_: &mut EventQueue<Ev>, d: usize, _: &Call, _: bool| {
            seen.push(d);
            answers[d].map(|()| Admitted { utilization: 0.0 })
        };
        let res = r.route(&call(), &mut q, &mut admit);
        (res, seen)
    }

    fn spec(policy: RoutePolicy, failover_on: Vec<u16>) -> RouterSpec {
        RouterSpec {
            policy,
            routes: vec![vec![0, 1, 2]],
            failover_on,
        }
    }

    const REJ: Reject = Reject {
        status: 429,
        at: Some(SimTime(5_000_000)),
    };

    #[test]
    fn round_robin_rotates_the_first_choice() {
        let s = spec(RoutePolicy::RoundRobin, vec![429]);
        let mut r = Router::new(&s, 1);
        let firsts: Vec<usize> = (0..4)
            .map(|_| route_once(&mut r, &[Ok(()), Ok(()), Ok(())]).1[0])
            .collect();
        assert_eq!(firsts, vec![0, 1, 2, 0]);
    }

    #[test]
    fn fails_over_on_listed_statuses_and_keeps_the_soonest_retry_after() {
        let s = spec(RoutePolicy::Priority, vec![429]);
        let mut r = Router::new(&s, 1);
        let later = Reject {
            status: 429,
            at: Some(SimTime(9_000_000)),
        };
        let (res, seen) = route_once(&mut r, &[Err(later), Err(REJ), Ok(())]);
        assert_eq!((res, seen), (Ok(()), vec![0, 1, 2]));
        assert_eq!(r.failovers(), 2);
        let (res, seen) = route_once(&mut r, &[Err(later), Err(REJ), Err(later)]);
        assert_eq!(seen, vec![0, 1, 2]);
        assert_eq!(res, Err(REJ), "last status, soonest Retry-After");
    }

    #[test]
    fn stops_at_a_status_it_does_not_fail_over_on() {
        let s = spec(RoutePolicy::Priority, vec![429]);
        let mut r = Router::new(&s, 1);
        let e500 = Reject {
            status: 500,
            at: None,
        };
        let (res, seen) = route_once(&mut r, &[Err(e500), Ok(()), Ok(())]);
        assert_eq!(seen, vec![0]);
        assert_eq!(res, Err(e500));
        assert_eq!(r.failovers(), 0);
    }
}
