//! The summary's `trace` block: what a trace replay sent, and the trace's own failures.

use serde::{Deserialize, Serialize};

use crate::scenario::Scenario;

/// A trace replay in the summary: what was sent from the trace, and the trace's own failures
/// (requests the recorded system failed, replayed like the others: compare
/// `failed_in_trace` with `requests.failed`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TraceSummary {
    /// The trace file's name (without its folder).
    pub file: String,
    /// Its format.
    pub format: String,
    /// `open` or `session`.
    pub mode: String,
    /// Requests sent from trace records.
    pub requests: u64,
    /// Sessions begun from trace records.
    pub sessions: u64,
    /// Requests sent whose record the trace marks as failed (BurstGPT: 0 response tokens).
    pub failed_in_trace: u64,
    /// Cached prompt tokens of the requests sent.
    pub cached_prompt_tokens: u64,
    /// Session mode: steps not sent because their session failed first.
    pub steps_not_sent: u64,
}

/// The trace block of the summary (`None` without a trace).
pub(super) fn trace_summary(
    sc: &Scenario,
    t: &crate::workload::TraceCounts,
) -> Option<TraceSummary> {
    let spec = sc.workload.trace.as_ref()?;
    Some(TraceSummary {
        file: spec
            .file
            .file_name()
            .map_or_else(String::new, |f| f.to_string_lossy().into_owned()),
        format: spec.format.map_or("auto", |f| f.name()).to_string(),
        mode: match spec.mode {
            crate::trace::TraceMode::Open => "open",
            crate::trace::TraceMode::Session => "session",
        }
        .to_string(),
        requests: t.requests,
        sessions: t.sessions,
        failed_in_trace: t.failed_in_trace,
        cached_prompt_tokens: t.cached_prompt_tokens,
        steps_not_sent: t.steps_not_sent,
    })
}
