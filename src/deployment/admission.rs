//! Admission: a deployment answers an attempt at once, admitted or rejected.
//!
//! Standard: the attempt's estimate (prompt + `max_tokens`, or the model's default estimate)
//! must fit the rolling token window, and one request the rolling request window; a 429's
//! Retry-After is the time until both would admit it, in whole milliseconds. Provisioned: the
//! estimate, normalized (input + ratio x output), is added to the leaky bucket unless the
//! bucket is above 100%; a 429 there spills to the standard target when there is one, as does
//! an injected 5xx.
//!
//! With `count_rejected_requests` (off by default, docs/scenario.md says why), a rejected
//! request still takes a slot in the request window, and the Retry-After the service returns
//! accounts for it. A rejection is never charged to the token window: in a public test log (stuartleeks/aoai-testing,
//! results/chat.md, "max_tokens=2000 (extended)") a client sending a call every second got 429s
//! for a minute and then successes again as the first admitted charges expired, which could not
//! happen if each rejected call's 2,000-token estimate had been charged.

use super::{Admitted, Attempt, Deployments, REQUESTS, Reject, TOKENS, Try, per_window};
use crate::events::{Ev, EventQueue};
use crate::metrics::Audit;
use crate::scenario::DeploymentKind;
use crate::time::SimTime;
use crate::workload::Call;

impl Deployments<'_> {
    /// Deployment `d` answers attempt `at` carrying `call`. Admitted, the
    /// attempt is served (its deadline and first events are scheduled on `q`); `headers`
    /// asks for the load its response headers report. Spillover is followed here: the
    /// service itself forwards a provisioned deployment's 429 or 5xx to its target.
    #[inline]
    pub fn admit(
        &mut self,
        at: &Try,
        d: usize,
        call: &Call,
        headers: bool,
        q: &mut EventQueue<Ev>,
        audit: Option<&mut (dyn Audit + '_)>,
    ) -> Result<Admitted, Reject> {
        self.admit_at(at, d, call, q, audit)?;
        let utilization = if headers {
            self.reported_utilization(d, at.now)
        } else {
            0.0
        };
        Ok(Admitted { utilization })
    }

    #[inline]
    fn admit_at(
        &mut self,
        at: &Try,
        d: usize,
        call: &Call,
        q: &mut EventQueue<Ev>,
        mut audit: Option<&mut (dyn Audit + '_)>,
    ) -> Result<(), Reject> {
        let now = at.now;
        if self.faults.any(d) {
            let inj = self.faults.inject(d, now, &mut self.metrics[d]);
            if inj.capacity_429 {
                self.interval_429 += 1;
            }
            if let Some(rej) = inj.answer {
                self.metrics[d].attempts += 1;
                // The service forwards a provisioned deployment's 5xx to its spillover target.
                if rej.status >= 500 {
                    return self.spill_or(at, d, call, rej, q, audit);
                }
                return Err(rej);
            }
            let st = &mut self.deps[d];
            let (tl, rl) = st.base_limits;
            if let Some(w) = st.windows.as_mut() {
                w.set_limit_of(
                    TOKENS,
                    ((tl as f64 * inj.limit_factor).round() as u64).max(1),
                );
                w.set_limit_of(
                    REQUESTS,
                    ((rl as f64 * inj.limit_factor).floor() as u64).max(1),
                );
            }
        }
        let dep = &self.sc.deployments[d];
        let model = &self.sc.models[dep.model];
        if let Some(window) = model.context_window
            && call.prompt as u64 + call.max_tokens.unwrap_or(0) as u64 > window as u64
        {
            // 400 "context_length_exceeded"; a provisioned deployment spills it too [facts].
            self.metrics[d].attempts += 1;
            self.metrics[d].rejected_400 += 1;
            let rej = Reject {
                status: 400,
                at: None,
            };
            return self.spill_or(at, d, call, rej, q, audit);
        }
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
                let w = st.windows.as_mut().expect("standard has windows");
                let charge = per_window(est, 1);
                if let Err(when) = w.check_all(now, charge) {
                    // What a rejection is charged: see the module documentation.
                    let when = if count_rejected_requests {
                        w.charge_all(now, per_window(0, 1));
                        w.check_all(now, charge).err().unwrap_or(when)
                    } else {
                        when
                    };
                    dm.rejected_429 += 1;
                    self.interval_429 += 1;
                    return Err(Reject {
                        status: 429,
                        at: Some(when.ceil_ms_after(now)),
                    });
                }
                w.charge_all(now, charge);
                dm.charged_estimate += est;
                if let Some(a) = audit.as_deref_mut() {
                    a.admitted(d, now, est, 0.0);
                }
                est as f64
            }
            DeploymentKind::Provisioned { output_ratio, .. } => {
                // Cached prompt tokens are left out of PTU utilization [facts].
                let est = (call.prompt - call.cached) as f64 + output_ratio * est_completion as f64;
                let bucket = st.bucket.as_mut().expect("provisioned has a bucket");
                if let Err(when) = bucket.try_admit(now, est) {
                    dm.rejected_429 += 1;
                    self.interval_429 += 1;
                    let rej = Reject {
                        status: 429,
                        at: Some(when.ceil_ms_after(now)),
                    };
                    // The service forwards the 429 to the spillover deployment itself.
                    return self.spill_or(at, d, call, rej, q, audit);
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
        self.serve(at, d, call, estimate, q);
        Ok(())
    }

    /// Deployment `d` answered `rej`: a provisioned deployment with a spillover target
    /// forwards the attempt there; when the target rejects it too, the client sees `d`'s own
    /// answer (its status and Retry-After).
    fn spill_or(
        &mut self,
        at: &Try,
        d: usize,
        call: &Call,
        rej: Reject,
        q: &mut EventQueue<Ev>,
        audit: Option<&mut (dyn Audit + '_)>,
    ) -> Result<(), Reject> {
        let DeploymentKind::Provisioned {
            spillover: Some(t), ..
        } = self.sc.deployments[d].kind
        else {
            return Err(rej);
        };
        self.slots[at.slot as usize].spilled = true;
        self.spilled += 1;
        self.metrics[t].spilled_in += 1;
        self.admit_at(at, t, call, q, audit).map_err(|_| rej)
    }

    /// What deployment `d`'s response headers say about its load now: the share of the
    /// token window used (standard), or the bucket's utilization (provisioned).
    fn reported_utilization(&mut self, d: usize, now: SimTime) -> f64 {
        let st = &mut self.deps[d];
        if let Some(b) = st.bucket.as_mut() {
            b.utilization(now)
        } else if let Some(w) = st.windows.as_mut() {
            w.used_of(TOKENS, now) as f64 / w.limit_of(TOKENS).max(1) as f64
        } else {
            0.0
        }
    }
}

impl Attempt {
    /// A fresh attempt `id` of `call` on deployment `dep`.
    pub(super) fn admitted(
        id: u64,
        dep: usize,
        call: &Call,
        estimate: f64,
        spilled: bool,
        now: SimTime,
    ) -> Self {
        Attempt {
            id,
            phase: super::Phase::Idle,
            dep: dep as u32,
            prompt: call.prompt,
            cached: call.cached,
            tokens: call.tokens(),
            streaming: call.streaming,
            deadline: super::DeadlineKind::Client,
            spilled,
            first_token: SimTime::MAX,
            admitted: now,
            served: now,
            ttft_noise: 1.0,
            estimate,
            rate: 1.0,
            v_start: 0.0,
        }
    }
}
