//! How the rooms' answers travel: the wiring between rooms, with no decision of its own.
//!
//! workload (a call) -> client (an attempt) -> router or gateway -> deployments (admission,
//! serving) -> back to the client (an answer: retry or give up) and to the metrics (how the
//! request and its session ended) -> workload (the next step).

use super::Engine;
use crate::client::Next;
use crate::deployment::{DeadlineKind, Timers, Try};
use crate::events::{Ev, EventQueue};
use crate::gateway::{Gateway, Handled};
use crate::metrics::{CLIENT_TIMEOUT, Outcome, RequestRecord};
use crate::time::SimTime;
use crate::workload::{AfterCall, Call, CallTimes};

/// The deployments' admission for one client attempt of `$slot`, as the function the router
/// and the gateway are given; every call is one deployment try, counted in `$tries`.
macro_rules! admission {
    ($e:ident, $slot:expr, $tries:expr) => {{
        let deployments = &mut $e.deployments;
        let audit = &mut $e.audit;
        let tries: &mut u32 = $tries;
        let slot = $slot;
        let first = $e.client.attempts(slot);
        let timers = Timers {
            client: $e.client.timeout(),
            gateway: $e.gateway.as_ref().and_then(Gateway::timeout),
        };
        let now = $e.now;
        move |q: &mut EventQueue<Ev>, d: usize, call: &Call, headers: bool| {
            let at = Try {
                slot,
                attempt: first + *tries,
                now,
                timers,
            };
            *tries += 1;
            deployments.admit(&at, d, call, headers, q, audit.as_deref_mut())
        }
    }};
}

impl Engine<'_> {
    /// A session begins in session slot `session`: its first stage starts now.
    pub(super) fn begin_session(&mut self, session: u32) {
        self.metrics.session_started();
        self.start_stage(session);
    }

    /// The current stage of `session` starts: each of its calls is drawn and sent.
    pub(super) fn start_stage(&mut self, session: u32) {
        while let Some(slot) = self.workload.next_stage_call(session) {
            self.start_call(slot);
        }
    }

    /// The call in call slot `slot` starts: the client and the gateway take note, and the
    /// first attempt is sent.
    #[inline]
    fn start_call(&mut self, slot: u32) {
        self.client.begin(slot, self.now);
        if let Some(g) = self.gateway.as_mut() {
            g.on_request(slot, self.workload.call(slot));
        }
        self.metrics.request_started();
        self.send(slot);
    }

    /// One client attempt of `slot`'s request, through the gateway or the router.
    #[inline]
    pub(super) fn send(&mut self, slot: u32) {
        let now = self.now;
        let call = self.workload.call(slot);
        let key = self.workload.call_id(slot);
        self.deployments.new_client_attempt(slot);
        let mut tries = 0;
        let handled = {
            let mut admit = admission!(self, slot, &mut tries);
            match self.gateway.as_mut() {
                Some(g) => g.receive(slot, key, call, now, &mut self.queue, &mut admit),
                None => match self.router.route(call, &mut self.queue, &mut admit) {
                    Ok(()) => Handled::Pending,
                    Err(rej) => Handled::Answer(rej),
                },
            }
        };
        self.tried(slot, tries);
        self.handled(slot, handled);
    }

    /// The gateway's retry of `slot`'s attempt is due.
    pub(super) fn gateway_retry(&mut self, slot: u32) {
        let (call, key) = (*self.workload.call(slot), self.workload.call_id(slot));
        let mut tries = 0;
        let handled = {
            let mut admit = admission!(self, slot, &mut tries);
            let g = self
                .gateway
                .as_mut()
                .expect("a gateway event implies a gateway");
            g.forward(slot, key, &call, self.now, &mut self.queue, &mut admit)
        };
        self.tried(slot, tries);
        self.handled(slot, handled);
    }

    /// The gateway's cache lookup for `slot`'s attempt is done.
    pub(super) fn gateway_lookup(&mut self, slot: u32) {
        let (call, key) = (*self.workload.call(slot), self.workload.call_id(slot));
        let mut tries = 0;
        let handled = {
            let mut admit = admission!(self, slot, &mut tries);
            let g = self
                .gateway
                .as_mut()
                .expect("a gateway event implies a gateway");
            g.lookup_done(slot, key, &call, self.now, &mut self.queue, &mut admit)
        };
        self.tried(slot, tries);
        self.handled(slot, handled);
    }

    #[inline]
    fn tried(&mut self, slot: u32, n: u32) {
        self.client.tried(slot, n);
        self.attempts += n as u64;
    }

    /// What the router or gateway did with an attempt, to the client.
    #[inline]
    fn handled(&mut self, slot: u32, h: Handled) {
        match h {
            Handled::Pending => {}
            Handled::Answer(rej) => {
                let ra = rej.at.map(|a| a.saturating_sub(self.now));
                self.attempt_failed(slot, rej.status, ra);
            }
            Handled::Cached(tokens) => {
                let now = self.now;
                let times = CallTimes {
                    started: self.client.started(slot),
                    admitted: now,
                    served: now,
                    first_token: now,
                };
                self.request_succeeded(slot, None, tokens, times);
            }
        }
    }

    /// The attempt of `slot` decoded its last token: the deployment accounts it, the
    /// gateway learns of it, and the request succeeded.
    #[inline]
    pub(super) fn attempt_succeeded(&mut self, slot: u32) {
        let now = self.now;
        let done = self
            .deployments
            .complete(slot, now, &mut self.queue, self.audit.as_deref_mut());
        if let Some(g) = self.gateway.as_mut() {
            g.answered(slot, 200, done.first_token, now);
        }
        let times = CallTimes {
            started: self.client.started(slot),
            admitted: done.admitted,
            served: done.served,
            first_token: done.first_token,
        };
        self.request_succeeded(slot, Some(done.dep), done.tokens, times);
    }

    /// The deadline of `slot`'s attempt fired: the attempt is cancelled, and the gateway (its
    /// own 504, or a backend's 408 it may retry) or the client hears of it.
    pub(super) fn deadline(&mut self, slot: u32) {
        let now = self.now;
        let expired =
            self.deployments
                .expire(slot, now, &mut self.queue, self.audit.as_deref_mut());
        self.metrics.wasted(expired.generated);
        let status = match expired.kind {
            DeadlineKind::Gateway => 504,
            DeadlineKind::Server => 408,
            DeadlineKind::Client => CLIENT_TIMEOUT,
        };
        if let Some(g) = self.gateway.as_mut() {
            if status == 504 {
                g.timed_out();
            }
            g.answered(slot, status, SimTime::MAX, now);
            if status == 408 {
                let (call, key) = (*self.workload.call(slot), self.workload.call_id(slot));
                let mut tries = 0;
                let handled = {
                    let mut admit = admission!(self, slot, &mut tries);
                    let g = self.gateway.as_mut().expect("checked above");
                    g.backend_timed_out(slot, key, &call, now, &mut self.queue, &mut admit)
                };
                self.tried(slot, tries);
                self.handled(slot, handled);
                return;
            }
        }
        self.attempt_failed(slot, status, None);
    }

    /// The call in `slot` got an error answer: the client retries or gives up.
    fn attempt_failed(&mut self, slot: u32, status: u16, retry_after: Option<SimTime>) {
        let now = self.now;
        match self.client.on_error(slot, status, retry_after, now) {
            Next::RetryAt(t) => {
                let key = self.workload.call_id(slot);
                self.queue.push(t, Ev::Retry { slot, key });
            }
            Next::Failed(outcome) => {
                self.metrics.request_failed(outcome);
                if self.sink.is_some() {
                    self.record(slot, outcome, status, None, 0, SimTime::MAX);
                }
                let session = self.workload.session_of(slot);
                let after = self.workload.call_failed(slot);
                self.after_call(session, after);
            }
        }
    }

    /// The call in `slot` succeeded now with `tokens`, timed as `times`, answered by
    /// deployment `dep` (`None`: the gateway's cache); its session moves on.
    #[inline]
    fn request_succeeded(&mut self, slot: u32, dep: Option<usize>, tokens: u32, times: CallTimes) {
        let now = self.now;
        let call = self.workload.call(slot);
        let (prompt, want) = (call.prompt, call.want);
        self.metrics.request_succeeded(
            now - times.started,
            times.first_token - times.started,
            prompt,
            tokens,
            want,
        );
        if self.sink.is_some() {
            self.record(
                slot,
                Outcome::Succeeded,
                200,
                dep,
                tokens,
                times.first_token,
            );
        }
        let session = self.workload.session_of(slot);
        let after = self
            .workload
            .call_succeeded(slot, now, times, &mut self.queue);
        self.after_call(session, after);
    }

    /// Where `session` goes after one of its calls ended.
    #[inline]
    fn after_call(&mut self, session: u32, after: AfterCall) {
        let now = self.now;
        match after {
            AfterCall::Waiting { first_failure } => {
                if first_failure {
                    self.metrics.session_failed();
                }
            }
            AfterCall::NextStage => self.start_stage(session),
            AfterCall::Thinking => {}
            AfterCall::Completed { duration, times } => {
                self.metrics.session_completed(duration, times);
                self.workload.end_session(session, now, &mut self.queue);
            }
            AfterCall::Failed { first_failure } => {
                if first_failure {
                    self.metrics.session_failed();
                }
                self.workload.end_session(session, now, &mut self.queue);
            }
        }
    }

    /// Streams the record of `slot`'s request, ending now, to the sink (if any).
    fn record(
        &mut self,
        slot: u32,
        outcome: Outcome,
        status: u16,
        deployment: Option<usize>,
        tokens: u32,
        first_token: SimTime,
    ) {
        let Some(sink) = self.sink.as_deref_mut() else {
            return;
        };
        let call = self.workload.call(slot);
        let start = self.client.started(slot);
        let ok = outcome == Outcome::Succeeded;
        let (session, step) = self.workload.call_origin(slot);
        sink.record(&RequestRecord {
            session,
            step,
            class: call.class as usize,
            start,
            end: self.now,
            outcome,
            status,
            attempts: self.client.attempts(slot),
            prompt_tokens: call.prompt,
            completion_tokens: if ok { tokens } else { 0 },
            wanted_tokens: call.want,
            ttft: ok.then(|| first_token - start),
            deployment,
            spilled: self.deployments.spilled(slot),
        });
    }
}
