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
    /// Workload: the session in `slot` starts its next step after thinking.
    StepStart {
        /// Session slot.
        slot: u32,
        /// Session key (stale if the slot was reused).
        session: u64,
    },
    /// Client: the SDK re-sends the current request after its backoff.
    Retry {
        /// Session slot.
        slot: u32,
        /// Session key.
        session: u64,
    },
    /// Gateway: the gateway re-forwards the current attempt after its retry interval.
    GatewayRetry {
        /// Session slot.
        slot: u32,
        /// Session key.
        session: u64,
    },
    /// Gateway: the semantic-cache lookup of the current attempt is done.
    GatewayLookup {
        /// Session slot.
        slot: u32,
        /// Session key.
        session: u64,
    },
    /// Deployment: the attempt's prompt is processed; its first token is out.
    PrefillDone {
        /// Session slot.
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
        /// Session slot.
        slot: u32,
        /// Attempt id.
        attempt: u64,
    },
    /// The earliest timer of an attempt fires: the client's timeout, the server's completion
    /// window or the gateway's timeout (the attempt knows which).
    Deadline {
        /// Session slot.
        slot: u32,
        /// Attempt id.
        attempt: u64,
    },
}
