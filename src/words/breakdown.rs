//! Where session time goes: the summary's `sessions.time_breakdown_ms` (mean milliseconds per
//! completed session spent thinking, waiting for quota or a retry, queued for a slot, to the
//! first token, generating) in words and as parts for a stacked bar. Summaries written before
//! the breakdown existed read as all zeros, and say nothing.

use super::{Sentence, fmt_secs};
use crate::metrics::{Summary, VariantSummary};

/// The parts of a session's time: key in the summary, and words.
pub const PARTS: [(&str, &str); 5] = [
    ("think", "thinking"),
    ("waiting", "waiting for quota or a retry"),
    ("queued", "queued for a slot"),
    ("prefill", "to first token"),
    ("generating", "generating"),
];

/// The mean milliseconds per completed session of each of [`PARTS`], or `None` when the
/// summary has no breakdown (written before it existed) or no session completed.
pub fn parts(v: &VariantSummary) -> Option<[f64; 5]> {
    let t = &v.sessions.time_breakdown_ms;
    let p = [t.think, t.waiting, t.queued, t.prefill, t.generating];
    let sane = p.iter().all(|x| x.is_finite() && *x >= 0.0);
    (v.sessions.completed > 0 && sane && p.iter().any(|x| *x > 0.0)).then_some(p)
}

/// Whether any variant of the run has a breakdown.
pub fn any(run: &Summary) -> bool {
    run.variants.iter().any(|v| parts(v).is_some())
}

/// One line per variant with a breakdown, e.g. "`4-users`: 238 s per session: waiting for
/// quota or a retry 150 s (63%), generating 65 s (27%), thinking 20 s (8%), to first token
/// 3.0 s (1%)." (parts in [`PARTS`] order, those under 0.5% of the total left out).
pub fn sentences(run: &Summary) -> Vec<Sentence> {
    run.variants
        .iter()
        .filter_map(|v| {
            let p = parts(v)?;
            let total: f64 = p.iter().sum();
            let items: Vec<String> = PARTS
                .iter()
                .zip(p)
                .filter(|(_, ms)| *ms / total >= 0.005)
                .map(|((_, words), ms)| {
                    format!("{words} {} ({:.0}%)", fmt_secs(ms), ms / total * 100.0)
                })
                .collect();
            Some(Sentence::default().code(&v.name).text(format!(
                ": {} per completed session: {}.",
                fmt_secs(total),
                items.join(", ")
            )))
        })
        .collect()
}
