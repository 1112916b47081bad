//! What a run's variants are compared with, and the verdict: variants grouped by the load
//! they ran under (so strategies are compared at equal load), each group's reference (the
//! baseline when it is in the group, else the group's first variant), SLO verdicts per
//! variant, which variant meets the SLOs at the lowest cost, and truncation flags.

use super::{Sentence, fmt_ratio, fmt_secs, fmt_usd};
use crate::metrics::{LoadSummary, SloSummary, Summary, VariantSummary};
use crate::slo::{Slo, Verdict};

/// A variant that cuts more than this share of its answers short (`max_tokens`) is flagged
/// wherever it is ranked.
pub const TRUNCATION_FLAG: f64 = 0.01;

/// Without `[[slo]]`, the verdict's bar: fewer than this share of requests fail.
pub const DEFAULT_FAILED_BAR: f64 = 0.01;

/// Whether any session of `v` completed (so session percentiles and cost per session mean
/// something).
pub fn has_sessions(v: &VariantSummary) -> bool {
    v.sessions.completed > 0
}

/// Answers cut short by `max_tokens`, as a share of the requests that succeeded.
pub fn truncated_ratio(v: &VariantSummary) -> f64 {
    let r = &v.requests;
    if r.succeeded == 0 {
        0.0
    } else {
        r.truncated as f64 / r.succeeded as f64
    }
}

/// Whether `v` cuts more than [`TRUNCATION_FLAG`] of its answers short.
pub fn truncates(v: &VariantSummary) -> bool {
    truncated_ratio(v) > TRUNCATION_FLAG
}

/// "; it cuts 4.0% of its answers short at max_tokens" when `v` truncates, else nothing.
pub fn truncation_note(v: &VariantSummary) -> String {
    if truncates(v) {
        format!(
            "; it cuts {} of its answers short at max_tokens",
            fmt_ratio(truncated_ratio(v))
        )
    } else {
        String::new()
    }
}

/// A number without trailing zeros: `12`, `0.5`, `2.25`.
fn num(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A load in words: `4 users`, `12 sessions/min`, `2-10 sessions/min (schedule)`, with
/// `, 300 sessions` when the number of sessions is capped.
pub fn load_label(l: &LoadSummary) -> String {
    let mut s = if let Some(u) = l.users {
        format!("{u} user{}", if u == 1 { "" } else { "s" })
    } else if let Some(r) = l.rate_per_min {
        format!("{} sessions/min", num(r))
    } else {
        let lo = l
            .schedule
            .iter()
            .map(|p| p[1])
            .fold(f64::INFINITY, f64::min);
        let hi = l.schedule.iter().map(|p| p[1]).fold(0.0, f64::max);
        format!("{}-{} sessions/min (schedule)", num(lo), num(hi))
    };
    if let Some(n) = l.sessions {
        s += &format!(", {n} sessions");
    }
    s
}

/// The variants that ran at one load.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadGroup {
    /// The load in words (see [`load_label`]); empty when the summary says nothing of loads.
    pub label: String,
    /// Positions of its variants, in file order.
    pub members: Vec<usize>,
    /// The variant the others are compared with: the baseline when it is a member, else the
    /// first member.
    pub reference: usize,
}

/// The variants grouped by load, groups in order of their first variant. Variants whose
/// summary has no `load` (older summaries) share one group.
pub fn load_groups(run: &Summary) -> Vec<LoadGroup> {
    let mut keys: Vec<Option<&LoadSummary>> = Vec::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (i, v) in run.variants.iter().enumerate() {
        match keys.iter().position(|k| *k == v.load.as_ref()) {
            Some(g) => members[g].push(i),
            None => {
                keys.push(v.load.as_ref());
                members.push(vec![i]);
            }
        }
    }
    let mut labels: Vec<String> = keys
        .iter()
        .map(|k| k.map(load_label).unwrap_or_default())
        .collect();
    // Two different loads that read the same (a different arrival process or duration):
    // say how they differ.
    for g in 0..labels.len() {
        if labels.iter().filter(|l| **l == labels[g]).count() > 1
            && let Some(k) = keys[g]
        {
            labels[g] = format!("{} ({}, {} s)", labels[g], k.arrival, num(k.duration_s));
        }
    }
    let base = run.baseline_index();
    members
        .into_iter()
        .zip(labels)
        .map(|(members, label)| LoadGroup {
            reference: if members.contains(&base) {
                base
            } else {
                members[0]
            },
            label,
            members,
        })
        .collect()
}

/// One SLO's verdict on a variant, in the SLO's units.
#[derive(Clone, Debug, PartialEq)]
pub struct SloCheck {
    /// The SLO's name.
    pub name: String,
    /// Whether it holds.
    pub pass: bool,
    /// The measured value, e.g. `354.4 s`.
    pub value: String,
    /// The bound, e.g. `<= 300 s`.
    pub bound: String,
}

/// The verdicts of the run's SLOs on variant `name`, in SLO order (empty when none applies).
pub fn slo_checks(run: &Summary, name: &str) -> Vec<SloCheck> {
    run.slo
        .iter()
        .filter_map(|o| {
            let r = o.results.iter().find(|r| r.variant == name)?;
            let v = verdict_of(o, name, r.value, r.pass);
            Some(SloCheck {
                name: o.name.clone(),
                pass: r.pass,
                value: v.value_text(),
                bound: v.bound_text(),
            })
        })
        .collect()
}

/// An SLO's bound in its unit, e.g. `<= 300 s`.
pub fn slo_bound(o: &SloSummary) -> String {
    verdict_of(o, "", f64::NAN, false).bound_text()
}

fn verdict_of(o: &SloSummary, variant: &str, value: f64, pass: bool) -> Verdict {
    let slo = Slo::from_parts(&o.name, &o.metric, o.min, o.max, &o.variants);
    Verdict::new(&slo, None, variant, value, pass)
}

/// Whether variant `i` clears the verdict's bar: every SLO that applies to it holds (without
/// `[[slo]]`: fewer than [`DEFAULT_FAILED_BAR`] of its requests fail), and some session
/// completed (so it has a cost per session).
pub fn meets(run: &Summary, i: usize) -> bool {
    let v = &run.variants[i];
    has_sessions(v)
        && if run.slo.is_empty() {
            v.requests.failed_ratio < DEFAULT_FAILED_BAR
        } else {
            slo_checks(run, &v.name).iter().all(|c| c.pass)
        }
}

/// The verdict at one load.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupVerdict {
    /// Position of the group in [`load_groups`].
    pub group: usize,
    /// The variants that clear the bar ([`meets`]).
    pub meeting: Vec<usize>,
    /// The cheapest of them per 1K completed sessions (ties: the shorter p95 session).
    pub pick: Option<usize>,
    /// When the pick truncates: the cheapest that meets the bar without truncating.
    pub alternative: Option<usize>,
    /// When none meets the bar: the one that misses the fewest SLOs (fails least without
    /// SLOs), cheapest first.
    pub closest: Option<usize>,
}

fn cheapest(run: &Summary, among: impl Iterator<Item = usize>) -> Option<usize> {
    let key = |i: &usize| {
        let v = &run.variants[*i];
        (v.cost_usd.per_1k_sessions, v.sessions.duration_ms.p95)
    };
    among.min_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        ka.0.total_cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
    })
}

/// The verdict of each load group, in group order.
pub fn verdicts(run: &Summary, groups: &[LoadGroup]) -> Vec<GroupVerdict> {
    groups
        .iter()
        .enumerate()
        .map(|(g, grp)| {
            let meeting: Vec<usize> = grp
                .members
                .iter()
                .copied()
                .filter(|&i| meets(run, i))
                .collect();
            let pick = cheapest(run, meeting.iter().copied());
            let alternative = pick.filter(|&p| truncates(&run.variants[p])).and_then(|_| {
                cheapest(
                    run,
                    meeting
                        .iter()
                        .copied()
                        .filter(|&i| !truncates(&run.variants[i])),
                )
            });
            let closest = if pick.is_some() {
                None
            } else {
                let misses = |i: usize| -> f64 {
                    if run.slo.is_empty() {
                        run.variants[i].requests.failed_ratio
                    } else {
                        slo_checks(run, &run.variants[i].name)
                            .iter()
                            .filter(|c| !c.pass)
                            .count() as f64
                    }
                };
                let fewest = grp
                    .members
                    .iter()
                    .map(|&i| misses(i))
                    .fold(f64::INFINITY, f64::min);
                let tied = grp.members.iter().copied().filter(|&i| misses(i) == fewest);
                cheapest(
                    run,
                    tied.clone().filter(|&i| has_sessions(&run.variants[i])),
                )
                .or_else(|| tied.clone().next())
            };
            GroupVerdict {
                group: g,
                meeting,
                pick,
                alternative,
                closest,
            }
        })
        .collect()
}

/// "$45.99 per 1K sessions, p95 session 102 s, 0.0% failed, 0.0% truncated".
fn figures(v: &VariantSummary) -> String {
    format!(
        "{} per 1K sessions, p95 session {}, {} failed, {} truncated",
        fmt_usd(v.cost_usd.per_1k_sessions),
        fmt_secs(v.sessions.duration_ms.p95),
        fmt_ratio(v.requests.failed_ratio),
        fmt_ratio(truncated_ratio(v))
    )
}

/// The verdict in words: one sentence per load group (and, without `[[slo]]`, first a
/// sentence that says what the bar is).
pub fn verdict_sentences(run: &Summary) -> Vec<Sentence> {
    let groups = load_groups(run);
    let multi = groups.len() > 1;
    let mut out = Vec::new();
    let no_slo = run.slo.is_empty();
    if no_slo {
        out.push(Sentence::default().text(
            "The scenario sets no [[slo]], so the bar here is fewer than 1% of requests failing.",
        ));
    }
    let (meet, meets_them) = if no_slo {
        ("fails under 1% of requests", "fail under 1%")
    } else {
        ("meets every SLO", "meet every SLO")
    };
    for gv in verdicts(run, &groups) {
        let grp = &groups[gv.group];
        let mut s = Sentence::default();
        if multi {
            s = s.text(format!("At {}: ", grp.label));
        }
        let s = match gv.pick {
            Some(p) => {
                let v = &run.variants[p];
                s = s.code(&v.name).text(format!(" {meet}"));
                if grp.members.len() > 1 {
                    s = s.text(" at the lowest cost");
                }
                s = s.text(format!(": {}", figures(v)));
                if grp.members.len() > 1 {
                    s = s.text(format!(
                        " ({} of {} variants {meets_them})",
                        gv.meeting.len(),
                        grp.members.len()
                    ));
                }
                if truncates(v) {
                    s = s.text(format!(
                        "; it cuts {} of its answers short at max_tokens",
                        fmt_ratio(truncated_ratio(v))
                    ));
                    s = match gv.alternative {
                        Some(a) => {
                            let av = &run.variants[a];
                            s.text(", so weigh it against the cheapest that does not: ")
                                .code(&av.name)
                                .text(format!(
                                    " ({} per 1K sessions, p95 session {})",
                                    fmt_usd(av.cost_usd.per_1k_sessions),
                                    fmt_secs(av.sessions.duration_ms.p95)
                                ))
                        }
                        None if gv.meeting.len() > 1 => {
                            s.text(", as does every other variant that clears the bar")
                        }
                        None => s,
                    };
                }
                s
            }
            None => closest_sentence(run, s, &gv, grp, no_slo, !multi),
        };
        out.push(s.text("."));
    }
    out
}

/// "no variant meets every SLO; closest: `X`, which misses 2 of 3 ($93.19 per 1K sessions,
/// ...)", or for a group of one, "`X` misses 3 of 3 SLOs (...)"; `capital` starts with a
/// capital letter.
fn closest_sentence(
    run: &Summary,
    s: Sentence,
    gv: &GroupVerdict,
    grp: &LoadGroup,
    no_slo: bool,
    capital: bool,
) -> Sentence {
    let Some(c) = gv.closest else {
        return s.text(if capital {
            "No variant to judge"
        } else {
            "no variant to judge"
        });
    };
    let v = &run.variants[c];
    let checks = slo_checks(run, &v.name);
    let missed = checks.iter().filter(|c| !c.pass).count();
    let mut s = if grp.members.len() > 1 {
        let lead = match (no_slo, capital) {
            (true, true) => "No variant keeps failures under 1%; fewest: ",
            (true, false) => "no variant keeps failures under 1%; fewest: ",
            (false, true) => "No variant meets every SLO; closest: ",
            (false, false) => "no variant meets every SLO; closest: ",
        };
        let s = s.text(lead).code(&v.name);
        if no_slo {
            s
        } else {
            s.text(format!(", which misses {missed} of {}", checks.len()))
        }
    } else if no_slo {
        s.code(&v.name).text(" fails 1% of requests or more")
    } else {
        s.code(&v.name)
            .text(format!(" misses {missed} of {} SLOs", checks.len()))
    };
    if !has_sessions(v) {
        return s.text(" (no session completed)");
    }
    s = s.text(format!(
        " ({} per 1K sessions, p95 session {}, {} failed{})",
        fmt_usd(v.cost_usd.per_1k_sessions),
        fmt_secs(v.sessions.duration_ms.p95),
        fmt_ratio(v.requests.failed_ratio),
        truncation_note(v)
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(users: Option<u32>, rate: Option<f64>, schedule: Vec<[f64; 2]>) -> LoadSummary {
        LoadSummary {
            arrival: if users.is_some() { "closed" } else { "poisson" }.into(),
            users,
            rate_per_min: rate,
            schedule,
            sessions: None,
            duration_s: 3600.0,
        }
    }

    #[test]
    fn loads_in_words() {
        assert_eq!(load_label(&load(Some(1), None, vec![])), "1 user");
        assert_eq!(load_label(&load(Some(4), None, vec![])), "4 users");
        assert_eq!(
            load_label(&load(None, Some(0.5), vec![])),
            "0.5 sessions/min"
        );
        let mut l = load(None, None, vec![[0.0, 2.0], [600.0, 10.0]]);
        assert_eq!(load_label(&l), "2-10 sessions/min (schedule)");
        l.sessions = Some(300);
        assert_eq!(load_label(&l), "2-10 sessions/min (schedule), 300 sessions");
    }
}
