//! Admission: a deployment answers an attempt at once, admitted or rejected.
//!
//! Standard: the attempt's estimate (prompt + `max_tokens`, or the model's default estimate)
//! must fit the rolling token window, and one request the rolling request window; a 429's
//! Retry-After is the time until both would admit it, in whole milliseconds. Provisioned: the
//! estimate, normalized (input + ratio x output), is added to the leaky bucket unless the
//! bucket is above 100%; a 429 there spills to the standard target when there is one, as does
//! an injected 5xx.

use super::{Admitted, Attempt, Deployments, Reject, Timers};
use crate::events::{Ev, EventQueue};
use crate::metrics::Audit;
use crate::scenario::DeploymentKind;
use crate::time::SimTime;
use crate::workload::Call;

impl Deployments<'_> {
    /// Deployment `d` answers the attempt of `slot` carrying `call` at `now`. Admitted, the
    /// attempt is served (its deadline and first events are scheduled on `q`); `headers`
    /// asks for the load its response headers report. Spillover is followed here: the
    /// service itself forwards a provisioned deployment's 429 or 5xx to its target.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub fn admit(
        &mut self,
        slot: u32,
        d: usize,
        call: &Call,
        now: SimTime,
        timers: Timers,
        headers: bool,
        q: &mut EventQueue<Ev>,
        audit: Option<&mut (dyn Audit + '_)>,
    ) -> Result<Admitted, Reject> {
        self.admit_at(slot, d, call, now, timers, q, audit)?;
        let utilization = if headers {
            self.reported_utilization(d, now)
        } else {
            0.0
        };
        Ok(Admitted { utilization })
    }

    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn admit_at(
        &mut self,
        slot: u32,
        d: usize,
        call: &Call,
        now: SimTime,
        timers: Timers,
        q: &mut EventQueue<Ev>,
        mut audit: Option<&mut (dyn Audit + '_)>,
    ) -> Result<(), Reject> {
        if self.faults.any(d) {
            let inj = self.faults.inject(d, now, &mut self.metrics[d]);
            if inj.capacity_429 {
                self.interval_429 += 1;
            }
            if let Some(rej) = inj.answer {
                self.metrics[d].attempts += 1;
                // The service forwards a provisioned deployment's 5xx to its spillover target.
                if let DeploymentKind::Provisioned {
                    spillover: Some(t), ..
                } = self.sc.deployments[d].kind
                    && rej.status >= 500
                {
                    self.spill(slot, t);
                    return self.admit_at(slot, t, call, now, timers, q, audit);
                }
                return Err(rej);
            }
            let st = &mut self.deps[d];
            let (tl, rl) = st.base_limits;
            if let (Some(tw), Some(rw)) = (st.tokens.as_mut(), st.requests.as_mut()) {
                tw.set_limit(((tl as f64 * inj.limit_factor).round() as u64).max(1));
                rw.set_limit(((rl as f64 * inj.limit_factor).floor() as u64).max(1));
            }
        }
        let dep = &self.sc.deployments[d];
        let model = &self.sc.models[dep.model];
        let est_completion = call.max_tokens.unwrap_or(model.default_max_tokens_estimate) as u64;
        let dm = &mut self.metrics[d];
        dm.attempts += 1;
        let st = &mut self.deps[d];
        let estimate = match dep.kind {
            DeploymentKind::Standard {
                count_rejected_requests,
                ..
            } => {
                let est = call.prompt as u64 + est_completion;
                let rw = st.requests.as_mut().expect("standard has windows");
                let tw = st.tokens.as_mut().expect("standard has windows");
                let r1 = rw.check(now, 1);
                let r2 = tw.check(now, est);
                if r1.is_err() || r2.is_err() {
                    // A rejected request still counts against the request window; the
                    // Retry-After the service returns accounts for it.
                    let r1 = if count_rejected_requests {
                        rw.charge(now, 1);
                        rw.check(now, 1)
                    } else {
                        r1
                    };
                    dm.rejected_429 += 1;
                    self.interval_429 += 1;
                    let at = r1.err().unwrap_or(now).max(r2.err().unwrap_or(now));
                    return Err(Reject {
                        status: 429,
                        at: Some(at.ceil_ms_after(now)),
                    });
                }
                rw.charge(now, 1);
                tw.charge(now, est);
                dm.charged_estimate += est;
                if let Some(a) = audit.as_deref_mut() {
                    a.admitted(d, now, est, 0.0);
                }
                est as f64
            }
            DeploymentKind::Provisioned {
                output_ratio,
                spillover,
                ..
            } => {
                let est = call.prompt as f64 + output_ratio * est_completion as f64;
                let bucket = st.bucket.as_mut().expect("provisioned has a bucket");
                if let Err(at) = bucket.try_admit(now, est) {
                    dm.rejected_429 += 1;
                    self.interval_429 += 1;
                    if let Some(t) = spillover {
                        // The service forwards the 429 to the spillover deployment itself.
                        self.spill(slot, t);
                        return self.admit_at(slot, t, call, now, timers, q, audit);
                    }
                    return Err(Reject {
                        status: 429,
                        at: Some(at.ceil_ms_after(now)),
                    });
                }
                dm.charged_estimate += est.round() as u64;
                if let Some(a) = audit {
                    a.admitted(d, now, 0, est);
                    let level = bucket.level(now);
                    a.bucket(
                        d,
                        now,
                        bucket.added,
                        bucket.corrected,
                        bucket.drained,
                        level,
                    );
                }
                est
            }
        };
        self.metrics[d].admitted += 1;
        self.serve(slot, d, call, estimate, now, timers, q);
        Ok(())
    }

    fn spill(&mut self, slot: u32, target: usize) {
        self.slots[slot as usize].spilled = true;
        self.spilled += 1;
        self.metrics[target].spilled_in += 1;
    }

    /// What deployment `d`'s response headers say about its load now: the share of the
    /// token window used (standard), or the bucket's utilization (provisioned).
    fn reported_utilization(&mut self, d: usize, now: SimTime) -> f64 {
        let st = &mut self.deps[d];
        if let Some(b) = st.bucket.as_mut() {
            b.utilization(now)
        } else if let Some(w) = st.tokens.as_mut() {
            w.used(now) as f64 / w.limit().max(1) as f64
        } else {
            0.0
        }
    }
}

impl Attempt {
    /// A fresh attempt `id` of `call` on deployment `dep`.
    pub(super) fn admitted(id: u64, dep: usize, call: &Call, estimate: f64, spilled: bool) -> Self {
        Attempt {
            id,
            phase: super::Phase::Idle,
            dep: dep as u32,
            prompt: call.prompt,
            tokens: call.tokens(),
            streaming: call.streaming,
            deadline: super::DeadlineKind::Client,
            spilled,
            first_token: SimTime::MAX,
            estimate,
            rate: 1.0,
            v_start: 0.0,
        }
    }
}
