//! The words of a run: the opening paragraph, the headline findings, one comparison per
//! variant against the first, and the summary, detail and deployment tables, all read from
//! the typed summary document.

use super::{Sentence, Table, fixed, fmt_ratio, fmt_secs, fmt_usd, pct_change};
use crate::metrics::{Summary, VariantSummary};

/// Whether any session of `v` completed (so session percentiles and cost per session mean
/// something).
pub fn has_sessions(v: &VariantSummary) -> bool {
    v.sessions.completed > 0
}

/// The one-line comparison of `v` with the baseline `b`, e.g.
/// "`4-users-3-subscriptions`: p95 session 102 s vs 354 s (-71%), failures 0.0% vs 0.3%,
/// cost per 1K sessions $45.99 vs $46.77 (-2%), total cost $7.82 vs $2.67 (+193%)."
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

/// The headline: which variant is fastest, which fails least, which is cheapest.
pub fn headline(run: &Summary) -> Vec<Sentence> {
    let mut out = Vec::new();
    let with_sessions: Vec<&VariantSummary> =
        run.variants.iter().filter(|v| has_sessions(v)).collect();
    if run.variants.len() < 2 {
        return out;
    }
    let p95 = |v: &VariantSummary| v.sessions.duration_ms.p95;
    if let Some(best) = with_sessions
        .iter()
        .min_by(|a, b| p95(a).total_cmp(&p95(b)))
    {
        let mut t = Sentence::default()
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
        out.push(t.text(")."));
    }
    let min_fail = run
        .variants
        .iter()
        .map(|v| v.requests.failed_ratio)
        .fold(f64::INFINITY, f64::min);
    let fewest: Vec<&str> = run
        .variants
        .iter()
        .filter(|v| v.requests.failed_ratio == min_fail)
        .map(|v| v.name.as_str())
        .collect();
    if min_fail == 0.0 {
        let s = Sentence::default().text(if fewest.len() == 1 {
            "No failed request: "
        } else {
            "No failed request in "
        });
        out.push(name_list(s, &fewest).text("."));
    } else {
        let s = Sentence::default().text("Fewest failed requests: ");
        out.push(name_list(s, &fewest).text(format!(" ({}).", fmt_ratio(min_fail))));
    }
    let per_1k = |v: &VariantSummary| v.cost_usd.per_1k_sessions;
    if let Some(best) = with_sessions
        .iter()
        .min_by(|a, b| per_1k(a).total_cmp(&per_1k(b)))
    {
        out.push(
            Sentence::default()
                .text("Lowest cost per 1K completed sessions: ")
                .code(&best.name)
                .text(format!(" ({}).", fmt_usd(per_1k(best)))),
        );
    }
    let none: Vec<&str> = run
        .variants
        .iter()
        .filter(|v| !has_sessions(v))
        .map(|v| v.name.as_str())
        .collect();
    if !none.is_empty() {
        let s = Sentence::default().text("No session completed in ");
        out.push(name_list(s, &none).text("."));
    }
    out
}

/// One sentence per variant after the first, comparing it with the first.
pub fn comparisons(run: &Summary) -> Vec<Sentence> {
    match run.variants.split_first() {
        Some((base, rest)) => rest.iter().map(|v| comparison(v, base)).collect(),
        None => Vec::new(),
    }
}

fn secs_cell(v: &VariantSummary, ms: f64) -> String {
    if has_sessions(v) {
        fixed(ms / 1e3, 1)
    } else {
        "n/a".to_string()
    }
}

/// The key figures, one row per variant.
pub fn summary_table(run: &Summary) -> Table {
    let mut t = Table::new(&[
        ("variant", false),
        ("sessions ok", true),
        ("session p50 s", true),
        ("session p95 s", true),
        ("requests", true),
        ("failed %", true),
        ("e2e p95 s", true),
        ("cost $", true),
        ("$ / 1K sessions", true),
    ]);
    for v in &run.variants {
        let d = &v.sessions.duration_ms;
        t.rows.push(vec![
            v.name.clone(),
            format!("{}/{}", v.sessions.completed, v.sessions.started),
            secs_cell(v, d.p50),
            secs_cell(v, d.p95),
            v.requests.sent.to_string(),
            fixed(v.requests.failed_ratio * 100.0, 2),
            fixed(v.latency_ms.e2e.p95 / 1e3, 1),
            fixed(v.cost_usd.total, 2),
            if has_sessions(v) {
                fixed(v.cost_usd.per_1k_sessions, 2)
            } else {
                "n/a".to_string()
            },
        ]);
    }
    t
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

/// The opening paragraph.
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
    if let Some(b) = run.variants.first()
        && run.variants.len() > 1
    {
        s = s
            .text(" Comparisons are against the first variant, ")
            .code(&b.name)
            .text(".");
    }
    s
}

/// The Markdown summary of a run (`summary.md`): intro, findings, tables.
pub fn markdown(run: &Summary) -> String {
    let mut out = format!(
        "# Spillway report: {}\n\n{}\n",
        run.scenario,
        intro(run).markdown()
    );
    let head = headline(run);
    let cmp = comparisons(run);
    if !head.is_empty() || !cmp.is_empty() {
        out += "\n## Findings\n\n";
        for s in head.iter().chain(&cmp) {
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
