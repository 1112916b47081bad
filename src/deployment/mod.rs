//! Deployments: the service side of every attempt.
//!
//! A deployment *admits* or *rejects* an attempt at once ([`Deployments::admit`]): a standard
//! deployment by its rolling token and request windows ([`RollingWindow`]), a provisioned one
//! by its utilization leaky bucket ([`LeakyBucket`]), with injected [`faults`] first and
//! spillover from a provisioned deployment to its standard target on a 429 or 5xx. An
//! admitted attempt is then *served*: it waits for a concurrency slot if the deployment has a
//! cap, pre-fills (time to first token), and decodes at its own speed or, when speed depends
//! on concurrency, under processor sharing ([`ProcessorSharing`], O(log n) per event). The
//! room schedules its own events (prefill done, decode done, the attempt's deadline) and
//! tells the engine how each attempt ends: [`Completed`], or [`Expired`] by a timer. It never
//! decides whether to retry or where else to go: that is the client's and the router's or
//! gateway's.
//!
//! Per-attempt state lives in a slab indexed by the session slot; an attempt id makes events
//! of a finished attempt stale (lazy cancellation).

mod admission;
pub mod bucket;
pub mod decode;
pub mod faults;
mod serving;
pub mod window;

use std::collections::VecDeque;

pub use bucket::LeakyBucket;
pub use decode::ProcessorSharing;
pub use faults::{Fault, FaultKind};
pub use serving::{SpeedVariation, prefill_time, speed_multiplier};
pub use window::{RollingWindow, RollingWindows};

/// A standard deployment's windows: tokens (60 s) first, then requests (10 s).
const TOKENS: usize = 0;
const REQUESTS: usize = 1;

/// One value per window of a standard deployment, each at its index ([`TOKENS`],
/// [`REQUESTS`]).
#[inline]
fn per_window<T>(tokens: T, requests: T) -> [T; 2] {
    const { assert!(TOKENS == 0 && REQUESTS == 1) };
    [tokens, requests]
}

use crate::events::{Ev, EventQueue, Lane};
use crate::metrics::{DeploymentInterval, DeploymentMetrics};
use crate::scenario::{DeploymentKind, Scenario};
use crate::time::SimTime;
use crate::workload::Call;
use faults::Faults;

/// A deployment's (or the gateway's) error answer to an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reject {
    /// HTTP status.
    pub status: u16,
    /// Retry-After as an absolute time, when the answer carries one.
    pub at: Option<SimTime>,
}

/// A deployment admitted an attempt.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Admitted {
    /// The load its response headers report (share of the token window used, or the PTU
    /// bucket's utilization), when it was asked for; 0 otherwise.
    pub utilization: f64,
}

/// Admission as a function: `(queue, deployment, call, want headers) -> answer`. The router
/// and the gateway are given one, bound to the attempt being sent.
pub trait Admit:
    FnMut(&mut EventQueue<Ev>, usize, &Call, bool) -> Result<Admitted, Reject>
{
}
impl<F: FnMut(&mut EventQueue<Ev>, usize, &Call, bool) -> Result<Admitted, Reject>> Admit for F {}

/// The timers that may end an attempt besides the server's completion window: durations
/// from the moment it is admitted.
#[derive(Clone, Copy, Debug)]
pub struct Timers {
    /// The client's timeout (non-streaming: the whole answer; streaming: the first token).
    pub client: SimTime,
    /// The gateway's timeout, if the attempt goes through a gateway that has one.
    pub gateway: Option<SimTime>,
}

/// One attempt being admitted: whose, which, when, under which timers.
#[derive(Clone, Copy, Debug)]
pub struct Try {
    /// The call slot.
    pub slot: u32,
    /// The attempt's number within its call (0 = first; router failovers and gateway retries
    /// count): a fresh attempt is served at a fresh speed.
    pub attempt: u32,
    /// Now.
    pub now: SimTime,
    /// The timers that may end it.
    pub timers: Timers,
}

/// Which timer ends an attempt first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeadlineKind {
    /// The client's timeout.
    Client,
    /// The server's completion window (408).
    Server,
    /// The gateway's timeout (504).
    Gateway,
}

/// An attempt that decoded its last token.
#[derive(Clone, Copy, Debug)]
pub struct Completed {
    /// The deployment that served it.
    pub dep: usize,
    /// Completion tokens delivered.
    pub tokens: u32,
    /// When it was admitted.
    pub admitted: SimTime,
    /// When it got a concurrency slot (prefill began).
    pub served: SimTime,
    /// When its first token came out.
    pub first_token: SimTime,
}

/// An attempt ended by its deadline.
#[derive(Clone, Copy, Debug)]
pub struct Expired {
    /// Which timer fired.
    pub kind: DeadlineKind,
    /// Completion tokens it had generated (wasted).
    pub generated: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    Queued,
    Prefill,
    Decoding,
}

/// One session slot's current attempt (one cache line).
#[derive(Clone, Copy, Debug)]
#[repr(align(64))]
struct Attempt {
    id: u64,
    phase: Phase,
    dep: u32,
    prompt: u32,
    /// Prompt tokens that are a cached prefix.
    cached: u32,
    tokens: u32,
    streaming: bool,
    deadline: DeadlineKind,
    /// Whether the current client attempt was spilled (reset by
    /// [`Deployments::new_client_attempt`]).
    spilled: bool,
    first_token: SimTime,
    admitted: SimTime,
    served: SimTime,
    /// Pre-fill multiplier of this attempt (its time-to-first-token noise).
    ttft_noise: f64,
    estimate: f64,
    rate: f64,
    v_start: f64,
}

impl Default for Attempt {
    fn default() -> Self {
        Attempt {
            id: 0,
            phase: Phase::Idle,
            dep: 0,
            prompt: 0,
            cached: 0,
            tokens: 0,
            streaming: false,
            deadline: DeadlineKind::Client,
            spilled: false,
            first_token: SimTime::MAX,
            admitted: SimTime::ZERO,
            served: SimTime::ZERO,
            ttft_noise: 1.0,
            estimate: 0.0,
            rate: 1.0,
            v_start: 0.0,
        }
    }
}

/// One deployment's live state.
struct DepState {
    /// Token and request limits as configured (a `limit-cut` fault scales them).
    base_limits: (u64, u64),
    /// Whether decode speed is independent of concurrency.
    flat: bool,
    /// The smallest speed factor of the curve (the slowest an attempt can decode at).
    slowest: f64,
    /// Whether time to first token is independent of concurrency.
    flat_ttft: bool,
    /// Per-attempt decode speed variation, with its constants computed once.
    speed_variation: SpeedVariation,
    /// Per-attempt time-to-first-token noise.
    ttft_variation: SpeedVariation,
    /// A standard deployment's token and request windows ([`TOKENS`], [`REQUESTS`]).
    windows: Option<RollingWindows<2>>,
    bucket: Option<LeakyBucket>,
    ps: ProcessorSharing,
    busy: u32,
    queue: VecDeque<(u32, u64)>,
    decode_gen: u64,
    decode_at: SimTime,
    /// Completion-window deadline lane, if the deployment has a window.
    window_lane: Option<Lane>,
    interval_tokens: u64,
    /// Provisioned: normalized tokens (input + ratio x output) processed in the interval, and
    /// the capacity per minute they are measured against.
    interval_normalized: f64,
    capacity_per_min: f64,
}

/// The deployments of one run.
pub struct Deployments<'a> {
    sc: &'a Scenario,
    deps: Vec<DepState>,
    slots: Vec<Attempt>,
    next_attempt: u64,
    faults: Faults<'a>,
    client_lane: Lane,
    gateway_lane: Option<Lane>,
    metrics: Vec<DeploymentMetrics>,
    spilled: u64,
    spilled_cost: f64,
    interval_429: u64,
    interval_408: u64,
}

/// What the deployments counted in a run.
pub struct DeploymentTotals {
    /// Per deployment.
    pub per_dep: Vec<DeploymentMetrics>,
    /// Attempts spilled from provisioned to standard.
    pub spilled: u64,
    /// Per-token cost of spilled attempts.
    pub spilled_cost: f64,
}

impl<'a> Deployments<'a> {
    /// Bytes of per-session state this room keeps for each session slot.
    pub const SLOT_BYTES: usize = std::mem::size_of::<Attempt>();

    /// The deployments of `sc`; deadline lanes are made on `q` (one for the client's
    /// timeout, one for the gateway's when `gateway_timeout`, one per distinct completion
    /// window).
    pub fn new(sc: &'a Scenario, q: &mut EventQueue<Ev>, gateway_timeout: bool) -> Self {
        let client_lane = q.add_lane();
        let gateway_lane = gateway_timeout.then(|| q.add_lane());
        let mut lane_of: Vec<(SimTime, Lane)> = Vec::new();
        let deps = sc
            .deployments
            .iter()
            .map(|d| {
                let window_lane =
                    d.completion_window
                        .map(|w| match lane_of.iter().find(|(l, _)| *l == w) {
                            Some((_, lane)) => *lane,
                            None => {
                                let lane = q.add_lane();
                                lane_of.push((w, lane));
                                lane
                            }
                        });
                DepState::new(d, window_lane)
            })
            .collect();
        Deployments {
            sc,
            deps,
            slots: Vec::new(),
            next_attempt: 0,
            faults: Faults::new(&sc.faults, sc.deployments.len(), sc.seed),
            client_lane,
            gateway_lane,
            metrics: vec![DeploymentMetrics::default(); sc.deployments.len()],
            spilled: 0,
            spilled_cost: 0.0,
            interval_429: 0,
            interval_408: 0,
        }
    }

    /// A new client attempt of the request in `slot` begins (whether it was spilled is
    /// counted anew).
    #[inline]
    pub fn new_client_attempt(&mut self, slot: u32) {
        let i = slot as usize;
        if i >= self.slots.len() {
            self.slots.resize(i + 1, Attempt::default());
        }
        self.slots[i].spilled = false;
    }

    /// Whether the current client attempt of `slot` was spilled.
    #[inline]
    pub fn spilled(&self, slot: u32) -> bool {
        self.slots[slot as usize].spilled
    }

    /// Whether `slot` has no attempt in progress.
    #[inline]
    pub fn is_idle(&self, slot: u32) -> bool {
        self.slots
            .get(slot as usize)
            .is_none_or(|a| a.phase == Phase::Idle)
    }

    /// Whether attempt `id` of `slot` is pre-filling (a `PrefillDone` is live).
    #[inline]
    pub fn is_prefilling(&self, slot: u32, id: u64) -> bool {
        let a = &self.slots[slot as usize];
        a.id == id && a.phase == Phase::Prefill
    }

    /// Whether attempt `id` of `slot` is decoding.
    #[inline]
    pub fn is_decoding(&self, slot: u32, id: u64) -> bool {
        is_decoding(&self.slots, id, slot)
    }

    /// Whether `generation` is deployment `dep`'s current decode generation.
    #[inline]
    pub fn is_current_decode(&self, dep: u32, generation: u64) -> bool {
        self.deps[dep as usize].decode_gen == generation
    }

    /// Whether the deadline of attempt `id` of `slot` can still fire (a streaming attempt's
    /// deadline bounds its first token only).
    #[inline]
    pub fn deadline_live(&self, slot: u32, id: u64) -> bool {
        let a = &self.slots[slot as usize];
        a.id == id && a.phase != Phase::Idle && !(a.phase == Phase::Decoding && a.streaming)
    }

    /// The time-series side of the interval ending at `b`, `len_min` minutes long.
    /// Provisioned utilization: share of the PTU capacity processed in the interval (the
    /// bucket level is the admission mechanism; it stays near zero below capacity).
    /// Standard: share of the token limit held by the rolling window at the interval's end.
    pub fn sample(&mut self, b: SimTime, len_min: f64) -> DeploymentInterval {
        let mut per_dep = Vec::with_capacity(self.deps.len());
        for (d, dm) in self.deps.iter_mut().zip(&mut self.metrics) {
            let util = if d.bucket.is_some() {
                if len_min > 0.0 {
                    d.interval_normalized / (d.capacity_per_min * len_min)
                } else {
                    0.0
                }
            } else if let Some(w) = d.windows.as_mut() {
                w.used_of(TOKENS, b) as f64 / w.limit_of(TOKENS) as f64
            } else {
                0.0
            };
            dm.utilization_sum += util;
            dm.utilization_samples += 1;
            let tpm = if len_min > 0.0 {
                d.interval_tokens as f64 / len_min
            } else {
                0.0
            };
            per_dep.push((tpm, util));
            d.interval_tokens = 0;
            d.interval_normalized = 0.0;
        }
        DeploymentInterval {
            per_dep,
            rejected_429: std::mem::take(&mut self.interval_429),
            timed_out_408: std::mem::take(&mut self.interval_408),
        }
    }

    /// Whether any 429 or 408 was counted since the last [`sample`](Self::sample).
    pub fn interval_active(&self) -> bool {
        self.interval_429 + self.interval_408 > 0
    }

    /// What the deployments counted, at the end of the run.
    pub fn totals(self) -> DeploymentTotals {
        DeploymentTotals {
            per_dep: self.metrics,
            spilled: self.spilled,
            spilled_cost: self.spilled_cost,
        }
    }
}

impl DepState {
    fn new(d: &crate::scenario::Deployment, window_lane: Option<Lane>) -> Self {
        let (windows, bucket) = match d.kind {
            DeploymentKind::Standard {
                tpm,
                rpm,
                token_window,
                request_window,
                ..
            } => {
                let requests = ((rpm as f64) * request_window.as_secs_f64() / 60.0)
                    .floor()
                    .max(1.0) as u64;
                let tokens = ((tpm as f64) * token_window.as_secs_f64() / 60.0).round() as u64;
                let lengths = per_window(token_window, request_window);
                let limits = per_window(tokens, requests);
                (Some(RollingWindows::with_limits(lengths, limits)), None)
            }
            DeploymentKind::Provisioned {
                capacity_per_min,
                bucket_depth,
                ..
            } => (None, Some(LeakyBucket::new(capacity_per_min, bucket_depth))),
        };
        DepState {
            base_limits: (
                windows.as_ref().map_or(0, |w| w.limit_of(TOKENS)),
                windows.as_ref().map_or(0, |w| w.limit_of(REQUESTS)),
            ),
            flat: crate::scenario::is_flat(&d.serving.speed_table),
            slowest: d
                .serving
                .speed_table
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min),
            flat_ttft: crate::scenario::is_flat(&d.serving.ttft_table),
            speed_variation: SpeedVariation::new(d.serving.decode_variation_cv),
            ttft_variation: SpeedVariation::new(d.serving.ttft_variation_cv),
            windows,
            bucket,
            ps: ProcessorSharing::default(),
            busy: 0,
            queue: VecDeque::new(),
            decode_gen: 0,
            decode_at: SimTime::MAX,
            window_lane,
            interval_tokens: 0,
            interval_normalized: 0.0,
            capacity_per_min: match d.kind {
                DeploymentKind::Provisioned {
                    capacity_per_min, ..
                } => capacity_per_min,
                DeploymentKind::Standard { .. } => 0.0,
            },
        }
    }
}

#[inline]
fn is_decoding(slots: &[Attempt], id: u64, slot: u32) -> bool {
    let a = &slots[slot as usize];
    a.id == id && a.phase == Phase::Decoding
}

#[cfg(test)]
mod tests;
