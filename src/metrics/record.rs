//! The record of one finished request, streamed to a [`RequestSink`] (the per-request CSV).

use crate::time::SimTime;

/// Status recorded for a client-side timeout (no HTTP status reached the client).
pub const CLIENT_TIMEOUT: u16 = 0;

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An attempt completed.
    Succeeded,
    /// The client gave up; the last error was a 429.
    RateLimited,
    /// The client gave up; the last error was a 408 or a client timeout.
    TimedOut,
    /// The client gave up on another status.
    Failed,
}

impl Outcome {
    /// Lower-case name used in CSV output.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::RateLimited => "rate_limited",
            Outcome::TimedOut => "timed_out",
            Outcome::Failed => "failed",
        }
    }

    /// The outcome of a request the client gave up on after `status`.
    pub fn of_failure(status: u16) -> Outcome {
        match status {
            429 => Outcome::RateLimited,
            408 | CLIENT_TIMEOUT => Outcome::TimedOut,
            _ => Outcome::Failed,
        }
    }
}

/// One finished request, as given to a [`RequestSink`].
#[derive(Clone, Copy, Debug)]
pub struct RequestRecord {
    /// Session key (stable across variants).
    pub session: u64,
    /// Step within the session, from 0.
    pub step: u32,
    /// Class index.
    pub class: usize,
    /// When the request started.
    pub start: SimTime,
    /// When it ended.
    pub end: SimTime,
    /// How it ended.
    pub outcome: Outcome,
    /// Last status (200 on success, [`CLIENT_TIMEOUT`] for a client timeout).
    pub status: u16,
    /// Attempts made.
    pub attempts: u32,
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Completion tokens delivered (0 on failure).
    pub completion_tokens: u32,
    /// Completion tokens wanted.
    pub wanted_tokens: u32,
    /// Time to first token from the request's start, on success.
    pub ttft: Option<SimTime>,
    /// Deployment of the last admitted attempt.
    pub deployment: Option<usize>,
    /// Whether the last attempt was spilled.
    pub spilled: bool,
}

/// Receives every finished request, in the order they finish (streamed per-request output).
pub trait RequestSink {
    /// One request ended.
    fn record(&mut self, r: &RequestRecord);
}
