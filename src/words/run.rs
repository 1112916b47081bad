//! The words of a run: the opening paragraph, the verdict, the headline findings, one
//! comparison per variant against the reference of its load, and the summary, SLO, detail
//! and deployment tables, all read from the typed summary document.

use super::columns::Column;
use super::compare::{
    LoadGroup, load_groups, slo_bound, slo_checks, truncated_ratio, truncation_note,
    verdict_sentences,
};
use super::{Sentence, Table, fixed, fmt_ratio, fmt_secs, fmt_usd, pct_change};
use crate::metrics::{Summary, VariantSummary};

pub use super::compare::has_sessions;

/// The one-line comparison of `v` with the reference `b` of its load, e.g.
/// "`4-users-3-subscriptions`: p95 session 102 s vs 354 s (-71%), failures 0.0% vs 0.3%,
/// cost per 1K sessions $45.99 vs $46.77 (-2%), total cost $7.82 vs $2.67 (+193%)."
/// Truncated answers are compared when either variant has any.
pub fn comparison(v: &VariantSummary, b: &VariantSummary) -> Sentence {
    let (vs, bs) = (&v.sessions.duration_ms, &b.sessions.duration_ms);
    let mut s = Sentence::default().code(&v.name).text(": ");
    s = match (has_sessions(v), has_sessions(b)) {
        (true, true) => s.text(format!(
            "p95 session {} vs {} ({})",
            fmt_secs(vs.p95),
            fmt_secs(bs.p95),
            pct_change(vs.p95, bs.p95)
        )),
        (true, false) => s.text(format!(
            "p95 session {} (the baseline completed no session)",
            fmt_secs(vs.p95)
        )),
        (false, _) => s.text("no session completed"),
    };
    s = s.text(format!(
        ", failures {} vs {}",
        fmt_ratio(v.requests.failed_ratio),
        fmt_ratio(b.requests.failed_ratio)
    ));
    if v.requests.truncated > 0 || b.requests.truncated > 0 {
        s = s.text(format!(
            ", answers truncated {} vs {}",
            fmt_ratio(truncated_ratio(v)),
            fmt_ratio(truncated_ratio(b))
        ));
    }
    let (vc, bc) = (&v.cost_usd, &b.cost_usd);
    if has_sessions(v) && has_sessions(b) {
        s = s.text(format!(
            ", cost per 1K sessions {} vs {} ({})",
            fmt_usd(vc.per_1k_sessions),
            fmt_usd(bc.per_1k_sessions),
            pct_change(vc.per_1k_sessions, bc.per_1k_sessions)
        ));
    }
    s.text(format!(
        ", total cost {} vs {} ({}).",
        fmt_usd(vc.total),
        fmt_usd(bc.total),
        pct_change(vc.total, bc.total)
    ))
}

fn name_list(mut s: Sentence, names: &[&str]) -> Sentence {
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            s = s.text(if i + 1 == names.len() { " and " } else { ", " });
        }
        s = s.code(*n);
    }
    s
}

/// The headline of one load group: which variant is fastest, which fails least, which is
/// cheapest, with `prefix` (e.g. "At 4 users: ") before each claim. A variant that cuts more
/// than 1% of its answers short is flagged where it is ranked.
fn group_headline(run: &Summary, members: &[usize], prefix: &str) -> Vec<Sentence> {
    let mut out = Vec::new();
    let vs: Vec<&VariantSummary> = members.iter().map(|&i| &run.variants[i]).collect();
    let with_sessions: Vec<&VariantSummary> =
        vs.iter().copied().filter(|v| has_sessions(v)).collect();
    let start = || Sentence::default().text(prefix);
    let p95 = |v: &VariantSummary| v.sessions.duration_ms.p95;
    if let Some(best) = with_sessions
        .iter()
        .min_by(|a, b| p95(a).total_cmp(&p95(b)))
    {
        let mut t = start()
            .text("Shortest p95 session: ")
            .code(&best.name)
            .text(format!(" ({}", fmt_secs(p95(best))));
        // Percentiles are over completed sessions: say so when some were lost.
        if best.requests.failed_ratio > 0.0 {
            t = t.text(format!(
                ", over completed sessions only: {} of its requests failed",
                fmt_ratio(best.requests.failed_ratio)
            ));
        }
        out.push(t.text(truncation_note(best)).text(")."));
    }
    let min_fail = vs
        .iter()
        .map(|v| v.requests.failed_ratio)
        .fold(f64::INFINITY, f64::min);
    let fewest: Vec<&str> = vs
        .iter()
        .filter(|v| v.requests.failed_ratio == min_fail)
        .map(|v| v.name.as_str())
        .collect();
    if min_fail == 0.0 {
        let s = start().text(if fewest.len() == 1 {
            "No failed request: "
        } else {
            "No failed request in "
        });
        out.push(name_list(s, &fewest).text("."));
    } else {
        let s = start().text("Fewest failed requests: ");
        out.push(name_list(s, &fewest).text(format!(" ({}).", fmt_ratio(min_fail))));
    }
    let per_1k = |v: &VariantSummary| v.cost_usd.per_1k_sessions;
    if let Some(best) = with_sessions
        .iter()
        .min_by(|a, b| per_1k(a).total_cmp(&per_1k(b)))
    {
        out.push(
            start()
                .text("Lowest cost per 1K completed sessions: ")
                .code(&best.name)
                .text(format!(
                    " ({}{}).",
                    fmt_usd(per_1k(best)),
                    truncation_note(best)
                )),
        );
    }
    let none: Vec<&str> = vs
        .iter()
        .filter(|v| !has_sessions(v))
        .map(|v| v.name.as_str())
        .collect();
    if !none.is_empty() {
        let s = start().text("No session completed in ");
        out.push(name_list(s, &none).text("."));
    }
    out
}

/// The headline: per load (only loads with two variants or more), which variant is
/// fastest, which fails least, which is cheapest.
pub fn headline(run: &Summary) -> Vec<Sentence> {
    let groups = load_groups(run);
    let multi = groups.len() > 1;
    groups
        .iter()
        .filter(|g| g.members.len() > 1)
        .flat_map(|g| {
            let prefix = if multi {
                format!("At {}: ", g.label)
            } else {
                String::new()
            };
            group_headline(run, &g.members, &prefix)
        })
        .collect()
}

/// The comparisons of one load group: each variant but the reference against it.
#[derive(Clone, Debug)]
pub struct GroupComparisons {
    /// The load in words (empty when every variant ran at the same load).
    pub load: String,
    /// The variant the others are compared with.
    pub reference: String,
    /// One sentence per other variant of the group.
    pub sentences: Vec<Sentence>,
}

/// Per load group with two variants or more, one sentence per variant against the group's
/// reference (the baseline when it ran at that load, else the first variant that did).
pub fn comparisons(run: &Summary) -> Vec<GroupComparisons> {
    let groups = load_groups(run);
    let multi = groups.len() > 1;
    groups
        .iter()
        .filter(|g| g.members.len() > 1)
        .map(|g: &LoadGroup| {
            let r = &run.variants[g.reference];
            GroupComparisons {
                load: if multi {
                    g.label.clone()
                } else {
                    String::new()
                },
                reference: r.name.clone(),
                sentences: g
                    .members
                    .iter()
                    .filter(|&&i| i != g.reference)
                    .map(|&i| comparison(&run.variants[i], r))
                    .collect(),
            }
        })
        .collect()
}

/// The heading of a group's comparisons: "Each variant against `4-users`", with " at 4 users"
/// when loads differ.
pub fn comparison_heading(g: &GroupComparisons) -> Sentence {
    let s = Sentence::default()
        .text("Each variant against ")
        .code(&g.reference);
    if g.load.is_empty() {
        s
    } else {
        s.text(format!(", at {}", g.load))
    }
}

fn secs_cell(v: &VariantSummary, ms: f64) -> String {
    if has_sessions(v) {
        fixed(ms / 1e3, 1)
    } else {
        "n/a".to_string()
    }
}

/// The key figures, one row per variant (with the load when variants differ in load, and
/// truncated answers: % of succeeded requests).
pub fn summary_table(run: &Summary) -> Table {
    let groups = load_groups(run);
    let multi = groups.len() > 1;
    let mut cols = vec![("variant", false)];
    if multi {
        cols.push(("load", false));
    }
    cols.extend([
        ("sessions ok", true),
        ("session p50 s", true),
        ("session p95 s", true),
        ("requests", true),
        ("failed %", true),
        ("truncated %", true),
        ("e2e p95 s", true),
        ("cost $", true),
        ("$ / 1K sessions", true),
    ]);
    let mut t = Table::new(&cols);
    for (i, v) in run.variants.iter().enumerate() {
        let d = &v.sessions.duration_ms;
        let mut row = vec![v.name.clone()];
        if multi {
            row.push(Column::Load.cell(run, i, &groups));
        }
        row.extend([
            format!("{}/{}", v.sessions.completed, v.sessions.started),
            secs_cell(v, d.p50),
            secs_cell(v, d.p95),
            v.requests.sent.to_string(),
            fixed(v.requests.failed_ratio * 100.0, 2),
            fixed(truncated_ratio(v) * 100.0, 2),
            fixed(v.latency_ms.e2e.p95 / 1e3, 1),
            fixed(v.cost_usd.total, 2),
            if has_sessions(v) {
                fixed(v.cost_usd.per_1k_sessions, 2)
            } else {
                "n/a".to_string()
            },
        ]);
        t.rows.push(row);
    }
    t
}

/// The SLO verdicts, one row per variant and one column per `[[slo]]`: `✓ 73 s` met,
/// `✗ 354 s` missed, `–` not checked for that variant (`None` without `[[slo]]`).
pub fn slo_table(run: &Summary) -> Option<Table> {
    if run.slo.is_empty() {
        return None;
    }
    let heads: Vec<String> = run
        .slo
        .iter()
        .map(|o| format!("{} ({})", o.name, slo_bound(o)))
        .collect();
    let mut t = Table {
        header: std::iter::once("variant".to_string())
            .chain(heads)
            .collect(),
        numeric: std::iter::once(false)
            .chain(run.slo.iter().map(|_| true))
            .collect(),
        rows: Vec::new(),
    };
    for v in &run.variants {
        let checks = slo_checks(run, &v.name);
        let mut row = vec![v.name.clone()];
        for o in &run.slo {
            row.push(match checks.iter().find(|c| c.name == o.name) {
                Some(c) => format!("{} {}", if c.pass { "✓" } else { "✗" }, c.value),
                None => "–".to_string(),
            });
        }
        t.rows.push(row);
    }
    Some(t)
}

/// Failure causes, retries and tokens, one row per variant.
pub fn detail_table(run: &Summary) -> Table {
    let mut t = Table::new(&[
        ("variant", false),
        ("failed (req)", true),
        ("429 (req)", true),
        ("408/timeout (req)", true),
        ("other (req)", true),
        ("retries", true),
        ("spilled", true),
        ("ttft p50 s", true),
        ("e2e p50 s", true),
        ("out tokens/req", true),
        ("generated/req", true),
    ]);
    for v in &run.variants {
        let r = &v.requests;
        t.rows.push(vec![
            v.name.clone(),
            r.failed.to_string(),
            r.rate_limited.to_string(),
            r.timed_out.to_string(),
            r.other_failed.to_string(),
            r.retries.to_string(),
            r.spilled.to_string(),
            fixed(v.latency_ms.ttft.p50 / 1e3, 2),
            fixed(v.latency_ms.e2e.p50 / 1e3, 1),
            fixed(v.tokens.completion_per_request, 0),
            fixed(v.tokens.generated_per_request, 0),
        ]);
    }
    t
}

/// One row per variant and deployment.
pub fn deployment_table(run: &Summary) -> Table {
    let mut t = Table::new(&[
        ("variant", false),
        ("deployment", false),
        ("kind", false),
        ("attempts", true),
        ("admitted", true),
        ("429", true),
        ("408", true),
        ("spilled in", true),
        ("mean utilization", true),
        ("cost $", true),
    ]);
    for v in &run.variants {
        for d in &v.deployments {
            t.rows.push(vec![
                v.name.clone(),
                d.name.clone(),
                d.kind.to_string(),
                d.attempts.to_string(),
                d.admitted.to_string(),
                d.rejected_429.to_string(),
                d.timed_out_408.to_string(),
                d.spilled_in.to_string(),
                format!("{}%", fixed(d.utilization_mean * 100.0, 1)),
                fixed(d.cost_usd, 2),
            ]);
        }
    }
    t
}

/// The opening paragraph: what ran, and what each variant is compared with.
pub fn intro(run: &Summary) -> Sentence {
    let mut s = Sentence::default().text(format!(
        "{} variant{} of scenario ",
        run.variants.len(),
        if run.variants.len() == 1 { "" } else { "s" }
    ));
    s = s
        .code(&run.scenario)
        .text(format!(", seed {}", run.seed))
        .text(
            ". Every variant saw the same sampled sessions (common random numbers), so \
             differences come from the strategy, not from noise.",
        );
    if run.variants.len() < 2 {
        return s;
    }
    let groups = load_groups(run);
    let base = &run.variants[run.baseline_index()].name;
    if groups.len() == 1 {
        return s
            .text(" Comparisons are against the baseline, ")
            .code(base)
            .text(".");
    }
    s = s.text(format!(
        " The variants ran at {} loads, so each is compared with a variant at its own load: ",
        groups.len()
    ));
    let refs: Vec<&LoadGroup> = groups.iter().filter(|g| g.members.len() > 1).collect();
    for (k, g) in refs.iter().enumerate() {
        if k > 0 {
            s = s.text(if k + 1 == refs.len() { " and " } else { ", " });
        }
        let r = &run.variants[g.reference].name;
        s = s.code(r);
        if r == base {
            s = s.text(" (the baseline)");
        }
        s = s.text(format!(" at {}", g.label));
    }
    if refs.is_empty() {
        s = s.text("none shares its load with another, so none is compared");
    }
    s.text(".")
}

/// The Markdown summary of a run (`summary.md`): intro, verdict, SLOs, findings, where
/// session time goes, tables.
pub fn markdown(run: &Summary) -> String {
    let mut out = format!(
        "# Spillway report: {}\n\n{}\n",
        run.scenario,
        intro(run).markdown()
    );
    out += "\n## Verdict\n\n";
    for s in verdict_sentences(run) {
        out += &format!("- {}\n", s.markdown());
    }
    if let Some(t) = slo_table(run) {
        out += "\n## SLOs\n\n";
        out += &t.markdown();
    }
    let head = headline(run);
    let cmp = comparisons(run);
    if !head.is_empty() || !cmp.is_empty() {
        out += "\n## Findings\n\n";
        for s in &head {
            out += &format!("- {}\n", s.markdown());
        }
        for g in &cmp {
            out += &format!("\n### {}\n\n", comparison_heading(g).markdown());
            for s in &g.sentences {
                out += &format!("- {}\n", s.markdown());
            }
        }
    }
    let times = super::breakdown::sentences(run);
    if !times.is_empty() {
        out += "\n## Where session time goes\n\n";
        for s in &times {
            out += &format!("- {}\n", s.markdown());
        }
    }
    out += "\n## Summary\n\n";
    out += &summary_table(run).markdown();
    out += "\n## Failures, retries and tokens\n\n";
    out += &detail_table(run).markdown();
    let deps = deployment_table(run);
    if !deps.rows.is_empty() {
        out += "\n## Deployments\n\n";
        out += &deps.markdown();
    }
    out
}
