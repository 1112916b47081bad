//! The columns of a run's side-by-side table (`spillway run`, `--columns`, `--wide`) and of
//! the report's compact table: what each shows, its cell for a variant, and which way is
//! better (for marking the best and worst at each load).

use super::compare::{
    LoadGroup, has_sessions, load_groups, slo_checks, truncated_ratio, truncates,
};
use super::{fixed, pct_change};
use crate::metrics::Summary;

/// One column of the run table. The names are what `--columns` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Column {
    /// The variant's name (`*` marks the verdict at its load).
    Variant,
    /// The load it ran under: users, or sessions per minute.
    Load,
    /// Sessions completed / started.
    Sessions,
    /// Median session duration, seconds.
    P50,
    /// p95 session duration, seconds.
    P95,
    /// p95 session against the reference at the same load (the baseline, or the first
    /// variant at that load).
    #[value(name = "p95-vs-ref")]
    P95VsRef,
    /// Requests sent.
    Requests,
    /// Failed requests, % of sent.
    Failed,
    /// Answers cut short by max_tokens, % of succeeded requests.
    Truncated,
    /// Requests that failed rate-limited (429).
    #[value(name = "429")]
    RateLimited,
    /// Requests that failed on a timeout (408 or the client's).
    Timeouts,
    /// Retries (attempts beyond the first).
    Retries,
    /// Requests spilled from PTU to standard.
    Spilled,
    /// p95 end-to-end latency of successful requests, seconds.
    #[value(name = "e2e-p95")]
    E2eP95,
    /// Median time to first token, seconds.
    #[value(name = "ttft-p50")]
    TtftP50,
    /// Where a completed session's time went, mean seconds: thinking between steps.
    Think,
    /// ... waiting for quota or a retry (backoff, failed attempts).
    Waiting,
    /// ... admitted, queued for a concurrency slot.
    Queued,
    /// ... to the first token once served.
    Prefill,
    /// ... generating the answer.
    Generating,
    /// Completion tokens per successful request.
    #[value(name = "out-tokens")]
    OutTokens,
    /// Tokens generated per request sent (including those of failed attempts).
    Generated,
    /// Total cost, USD.
    Cost,
    /// Cost per 1,000 completed sessions, USD.
    #[value(name = "cost-1k")]
    Cost1k,
    /// SLOs met / SLOs that apply.
    Slo,
}

/// Which way a column is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    /// Smaller is better.
    Lower,
    /// Larger is better.
    Higher,
}

impl Column {
    /// Every column, in the order of `--wide`.
    pub const ALL: [Column; 25] = [
        Column::Variant,
        Column::Load,
        Column::Sessions,
        Column::P50,
        Column::P95,
        Column::P95VsRef,
        Column::Requests,
        Column::Failed,
        Column::Truncated,
        Column::RateLimited,
        Column::Timeouts,
        Column::Retries,
        Column::Spilled,
        Column::E2eP95,
        Column::TtftP50,
        Column::Think,
        Column::Waiting,
        Column::Queued,
        Column::Prefill,
        Column::Generating,
        Column::OutTokens,
        Column::Generated,
        Column::Cost,
        Column::Cost1k,
        Column::Slo,
    ];

    /// The column's title.
    pub fn header(self) -> &'static str {
        match self {
            Column::Variant => "variant",
            Column::Load => "load",
            Column::Sessions => "sessions ok",
            Column::P50 => "p50 s",
            Column::P95 => "p95 s",
            Column::P95VsRef => "p95 vs ref",
            Column::Requests => "requests",
            Column::Failed => "failed %",
            Column::Truncated => "trunc %",
            Column::RateLimited => "429 (req)",
            Column::Timeouts => "408/timeout (req)",
            Column::Retries => "retries",
            Column::Spilled => "spilled",
            Column::E2eP95 => "e2e p95 s",
            Column::TtftP50 => "ttft p50 s",
            Column::Think => "think s",
            Column::Waiting => "waiting s",
            Column::Queued => "queued s",
            Column::Prefill => "prefill s",
            Column::Generating => "gen s",
            Column::OutTokens => "out tokens/req",
            Column::Generated => "generated/req",
            Column::Cost => "cost $",
            Column::Cost1k => "$/1K sess",
            Column::Slo => "SLOs",
        }
    }

    /// Whether the cells are numbers (right-aligned).
    pub fn numeric(self) -> bool {
        !matches!(self, Column::Variant | Column::Load)
    }

    /// Which way is better, for columns where one way is.
    pub fn better(self) -> Option<Better> {
        match self {
            Column::P50
            | Column::P95
            | Column::Failed
            | Column::Truncated
            | Column::RateLimited
            | Column::Timeouts
            | Column::E2eP95
            | Column::TtftP50
            | Column::Cost1k => Some(Better::Lower),
            _ => None,
        }
    }

    /// The value a best/worst mark compares (`None`: nothing to compare).
    pub fn value(self, run: &Summary, i: usize) -> Option<f64> {
        let v = &run.variants[i];
        let needs_sessions = matches!(self, Column::P50 | Column::P95 | Column::Cost1k);
        if needs_sessions && !has_sessions(v) {
            return None;
        }
        Some(match self {
            Column::P50 => v.sessions.duration_ms.p50,
            Column::P95 => v.sessions.duration_ms.p95,
            Column::Failed => v.requests.failed_ratio,
            Column::Truncated => truncated_ratio(v),
            Column::RateLimited => v.requests.rate_limited as f64,
            Column::Timeouts => v.requests.timed_out as f64,
            Column::E2eP95 => v.latency_ms.e2e.p95,
            Column::TtftP50 => v.latency_ms.ttft.p50,
            Column::Cost1k => v.cost_usd.per_1k_sessions,
            _ => return None,
        })
    }

    /// The cell of variant `i`; `groups` are the run's [`load_groups`].
    pub fn cell(self, run: &Summary, i: usize, groups: &[LoadGroup]) -> String {
        let v = &run.variants[i];
        let r = &v.requests;
        let secs = |ms: f64| {
            if has_sessions(v) {
                fixed(ms / 1e3, 1)
            } else {
                "n/a".to_string()
            }
        };
        match self {
            Column::Variant => v.name.clone(),
            Column::Load => groups
                .iter()
                .find(|g| g.members.contains(&i))
                .map(|g| g.label.clone())
                .unwrap_or_default(),
            Column::Sessions => format!("{}/{}", v.sessions.completed, v.sessions.started),
            Column::P50 => secs(v.sessions.duration_ms.p50),
            Column::P95 => secs(v.sessions.duration_ms.p95),
            Column::P95VsRef => match groups.iter().find(|g| g.members.contains(&i)) {
                Some(g) if g.reference == i => "ref".into(),
                Some(g) => {
                    let b = &run.variants[g.reference];
                    if has_sessions(v) && has_sessions(b) {
                        pct_change(v.sessions.duration_ms.p95, b.sessions.duration_ms.p95)
                    } else {
                        "n/a".into()
                    }
                }
                None => String::new(),
            },
            Column::Requests => r.sent.to_string(),
            Column::Failed => fixed(r.failed_ratio * 100.0, 2),
            Column::Truncated => {
                let t = fixed(truncated_ratio(v) * 100.0, 2);
                if truncates(v) { t + "!" } else { t }
            }
            Column::RateLimited => r.rate_limited.to_string(),
            Column::Timeouts => r.timed_out.to_string(),
            Column::Retries => r.retries.to_string(),
            Column::Spilled => r.spilled.to_string(),
            Column::E2eP95 => fixed(v.latency_ms.e2e.p95 / 1e3, 1),
            Column::TtftP50 => fixed(v.latency_ms.ttft.p50 / 1e3, 2),
            Column::Think
            | Column::Waiting
            | Column::Queued
            | Column::Prefill
            | Column::Generating => {
                let b = &v.sessions.time_breakdown_ms;
                let ms = match self {
                    Column::Think => b.think,
                    Column::Waiting => b.waiting,
                    Column::Queued => b.queued,
                    Column::Prefill => b.prefill,
                    _ => b.generating,
                };
                secs(ms)
            }
            Column::OutTokens => fixed(v.tokens.completion_per_request, 0),
            Column::Generated => fixed(v.tokens.generated_per_request, 0),
            Column::Cost => fixed(v.cost_usd.total, 2),
            Column::Cost1k => {
                if has_sessions(v) {
                    fixed(v.cost_usd.per_1k_sessions, 2)
                } else {
                    "n/a".into()
                }
            }
            Column::Slo => {
                let c = slo_checks(run, &v.name);
                if c.is_empty() {
                    "-".into()
                } else {
                    format!("{}/{}", c.iter().filter(|c| c.pass).count(), c.len())
                }
            }
        }
    }
}

/// The default columns: the few that answer "which strategy, at what cost": variant, load
/// (when variants differ in load), sessions ok, p95 session, failed %, truncated %, cost per
/// 1K sessions, and SLOs met (when the scenario has `[[slo]]`).
pub fn default_columns(run: &Summary) -> Vec<Column> {
    let mut cols = vec![Column::Variant];
    if load_groups(run).len() > 1 {
        cols.push(Column::Load);
    }
    cols.extend([
        Column::Sessions,
        Column::P95,
        Column::Failed,
        Column::Truncated,
        Column::Cost1k,
    ]);
    if !run.slo.is_empty() {
        cols.push(Column::Slo);
    }
    cols
}

/// The columns of `--wide`: all of them, without `load` when every variant ran at the same
/// load and without `SLOs` when the scenario has none.
pub fn wide_columns(run: &Summary) -> Vec<Column> {
    let multi = load_groups(run).len() > 1;
    Column::ALL
        .into_iter()
        .filter(|c| match c {
            Column::Load => multi,
            Column::Slo => !run.slo.is_empty(),
            _ => true,
        })
        .collect()
}

/// What a short header means, for a note under the table.
pub fn note(cols: &[Column]) -> Vec<&'static str> {
    cols.iter()
        .filter_map(|c| match c {
            Column::P50 if cols.contains(&Column::P95) => {
                Some("p50/p95 s: session duration percentiles, seconds")
            }
            Column::P95 if cols.contains(&Column::P50) => {
                Some("p50/p95 s: session duration percentiles, seconds")
            }
            Column::P50 => Some("p50 s: median session duration, seconds"),
            Column::P95 => Some("p95 s: p95 session duration, seconds"),
            Column::Truncated => Some(
                "trunc %: answers cut short by max_tokens, % of succeeded requests (! over 1%)",
            ),
            Column::Cost1k => Some("$/1K sess: cost per 1,000 completed sessions"),
            Column::Think
            | Column::Waiting
            | Column::Queued
            | Column::Prefill
            | Column::Generating => Some(
                "think/waiting/queued/prefill/gen s: where a completed session's time went \
                 (thinking, waiting for quota or a retry, queued for a slot, to first token, \
                 generating), mean seconds",
            ),
            Column::P95VsRef => {
                Some("p95 vs ref: against the baseline, or the first variant at the same load")
            }
            Column::Slo => Some("SLOs: [[slo]] entries met / checked"),
            _ => None,
        })
        .fold(Vec::new(), |mut acc, n| {
            if !acc.contains(&n) {
                acc.push(n);
            }
            acc
        })
}
