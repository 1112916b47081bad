//! The events of a run and the future-event list they wait in.
//!
//! This is the shared vocabulary of the rooms: each room schedules the events it will handle
//! itself (a deployment its prefill and decode ends, the client its retries, the workload its
//! next arrival), and only the engine pops them and routes each to the room that owns it.
//! Every event that refers to a session carries what makes it *stale* when the world has
//! moved on (the session key, the attempt id, the decode generation): stale events are
//! dropped when popped (lazy cancellation) instead of being searched for.

mod queue;

pub use queue::{EventQueue, Lane};

/// Everything that can happen in a run, by the room that handles it.
#[derive(Clone, Copy, Debug)]
pub enum Ev {
    /// Workload: the next open-loop session arrives.
    Arrival,
    /// Workload: closed-loop user `user` starts a session.
    UserStart {
        /// User index.
        user: u32,
    },
    /// Workload: the session in session slot `slot` starts its next stage after thinking.
    StepStart {
        /// Session slot.
        slot: u32,
        /// Session key (stale if the slot was reused).
        key: u64,
    },
    /// Client: the SDK re-sends the call after its backoff.
    Retry {
        /// Call slot.
        slot: u32,
        /// Call id (stale if the call ended).
        key: u64,
    },
    /// Gateway: the gateway re-forwards the call's attempt after its retry interval.
    GatewayRetry {
        /// Call slot.
        slot: u32,
        /// Call id.
        key: u64,
    },
    /// Gateway: the semantic-cache lookup of the call's attempt is done.
    GatewayLookup {
        /// Call slot.
        slot: u32,
        /// Call id.
        key: u64,
    },
    /// Deployment: the attempt's prompt is processed; its first token is out.
    PrefillDone {
        /// Call slot.
        slot: u32,
        /// Attempt id (stale if the attempt ended).
        attempt: u64,
    },
    /// Deployment `dep`: the earliest processor-sharing finish (stale when superseded).
    DecodeDone {
        /// Deployment index.
        dep: u32,
        /// Decode generation of the deployment.
        generation: u64,
    },
    /// Deployment: an attempt decoding at a fixed speed is done.
    DecodeFinish {
        /// Call slot.
        slot: u32,
        /// Attempt id.
        attempt: u64,
    },
    /// The earliest timer of an attempt fires: the client's timeout, the server's completion
    /// window or the gateway's timeout (the attempt knows which).
    Deadline {
        /// Call slot.
        slot: u32,
        /// Attempt id.
        attempt: u64,
    },
}
