//! The words of a sweep report: the opening paragraph, findings (SLOs, the cheapest
//! combination meeting them, the Pareto frontier, each variant's range), the table of every
//! point, the SLO table, and the Markdown summary.

use super::model::{Metric, SloView, Stat, Sweep, value_text};
use crate::report::charts::pareto;
use crate::words::compare::TRUNCATION_FLAG;
use crate::words::{Sentence, Table, esc, fixed, fmt_ratio, fmt_secs, fmt_usd};

/// The opening paragraph.
pub fn intro(s: &Sweep) -> Sentence {
    let mut t = Sentence::default()
        .text("Sweep of scenario ")
        .code(&s.scenario);
    t = t.text(format!(", seed {}", s.seed));
    t = t.text(format!(
        ": {} point{} over ",
        s.points.len(),
        if s.points.len() == 1 { "" } else { "s" }
    ));
    if s.params.is_empty() {
        t = t.text("no parameter");
    }
    for (i, p) in s.params.iter().enumerate() {
        if i > 0 {
            t = t.text(", ");
        }
        t = t.code(p);
    }
    t = t.text(format!(
        ", {} variant{}, {} replication{} each ({} runs).",
        s.variants.len(),
        if s.variants.len() == 1 { "" } else { "s" },
        s.replications,
        if s.replications == 1 { "" } else { "s" },
        s.runs.len()
    ));
    if s.replications > 1 {
        t = t.text(
            " Figures are means over replications; ± is a 95% confidence interval (Student t).",
        );
    }
    t
}

/// Findings: SLOs, the cheapest point meeting them, the frontier, each variant's range.
pub fn findings(s: &Sweep) -> Vec<Sentence> {
    let mut out: Vec<Sentence> = s.slos.iter().map(|o| slo_finding(s, o)).collect();
    out.extend(frontier(s));
    // Each variant's range over the grid.
    if s.points.len() > 1 {
        out.extend(s.variants.iter().map(|v| range(s, v)));
    }
    out
}

/// How often an SLO is met, and where it is missed first.
fn slo_finding(s: &Sweep, o: &SloView) -> Sentence {
    let total = o.results.len();
    let pass = o.results.iter().filter(|r| r.pass).count();
    let mut t = Sentence::default()
        .text("SLO ")
        .code(&o.name)
        .text(" (")
        .code(&o.metric)
        .text(format!(" {}", o.bound_text()));
    for (i, v) in o.variants.iter().enumerate() {
        t = t.text(if i == 0 { ", variant " } else { ", " }).code(v);
    }
    t = t.text(format!("): met in {pass} of {total} results"));
    let firsts: Vec<String> = o
        .results
        .iter()
        .filter(|r| !r.pass)
        .take(3)
        .map(|r| {
            if s.variants.len() > 1 {
                format!("{} at {}", r.variant, s.point_label(r.point))
            } else {
                s.point_label(r.point)
            }
        })
        .collect();
    if !firsts.is_empty() {
        t = t.text(format!(
            "; missed {} {}{}",
            if s.variants.len() > 1 { "by" } else { "at" },
            firsts.join("; "),
            if total - pass > firsts.len() {
                format!(" and {} more", total - pass - firsts.len())
            } else {
                String::new()
            }
        ));
    }
    t.text(".")
}

/// Whether (point, variant) meets every SLO that has a result for it (`None`: no SLO
/// checked it).
pub fn meets_all(s: &Sweep, point: usize, variant: &str) -> Option<bool> {
    let rs: Vec<bool> = s
        .slos
        .iter()
        .filter_map(|o| o.result(point, variant).map(|r| r.1))
        .collect();
    (!rs.is_empty()).then(|| rs.iter().all(|x| *x))
}

/// Answers cut short by `max_tokens`, % of succeeded requests (mean over replications).
pub fn truncated_pct(s: &Sweep, point: usize, variant: &str) -> Option<f64> {
    s.stat(&Metric::truncated_pct(), point, variant)
        .map(|x| x.mean)
}

/// Whether (point, variant) cuts more than 1% of its answers short.
pub fn truncates(s: &Sweep, point: usize, variant: &str) -> bool {
    truncated_pct(s, point, variant).is_some_and(|t| t > TRUNCATION_FLAG * 100.0)
}

/// The (point, variant) cells of load level `level` with a cost and a p95 session:
/// `(p95 s, cost per 1K, point, variant)`.
pub fn cells_at(s: &Sweep, level: usize) -> Vec<(f64, f64, usize, &str)> {
    let (p95, cost) = (Metric::session_p95(), Metric::cost_per_1k());
    let mut out = Vec::new();
    for p in &s.points {
        for v in &s.variants {
            if s.level(p.index, v) != level {
                continue;
            }
            if let (Some(a), Some(b)) = (s.stat(&p95, p.index, v), s.stat(&cost, p.index, v)) {
                out.push((a.mean, b.mean, p.index, v.as_str()));
            }
        }
    }
    out
}

/// Per load level, the cheapest (point, variant) meeting every SLO that checked it (`None`
/// at a level where none does); empty without SLOs.
pub fn picks(s: &Sweep) -> Vec<(usize, Option<(usize, &str)>)> {
    if s.slos.is_empty() {
        return Vec::new();
    }
    (0..s.levels.len())
        .map(|l| {
            let best = cells_at(s, l)
                .into_iter()
                .filter(|c| meets_all(s, c.2, c.3) == Some(true))
                .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.total_cmp(&b.0)));
            (l, best.map(|c| (c.2, c.3)))
        })
        .collect()
}

/// "`v` at users=4, copies=3" (the variant only when the sweep has several).
fn cell_name(s: &Sweep, mut t: Sentence, point: usize, variant: &str) -> Sentence {
    if s.variants.len() > 1 {
        t = t.code(variant).text(" at ");
    }
    t.text(s.point_label(point))
}

/// The verdict: per load level, the cheapest combination meeting every SLO (with its p95
/// session, failures and truncation).
pub fn verdict(s: &Sweep) -> Vec<Sentence> {
    let multi = s.levels.len() > 1;
    picks(s)
        .into_iter()
        .map(|(l, pick)| {
            let mut t = Sentence::default();
            if multi {
                t = t.text(format!("At {}: ", s.levels[l]));
            }
            let Some((p, v)) = pick else {
                return t.text(if multi {
                    "no combination meets every SLO."
                } else {
                    "No combination meets every SLO."
                });
            };
            t = t.text(if multi {
                "cheapest meeting every SLO: "
            } else {
                "Cheapest combination meeting every SLO: "
            });
            t = cell_name(s, t, p, v);
            let stat = |m: &Metric| s.stat(m, p, v).map(|x| x.mean);
            t = t.text(format!(
                " ({} per 1K sessions",
                stat(&Metric::cost_per_1k())
                    .map(fmt_usd)
                    .unwrap_or_default()
            ));
            if let Some(q) = stat(&Metric::session_p95()) {
                t = t.text(format!(", p95 session {}", fmt_secs(q * 1e3)));
            }
            if let Some(f) = stat(&Metric::failed_pct()) {
                t = t.text(format!(", {} failed", fmt_ratio(f / 100.0)));
            }
            if truncates(s, p, v) {
                let tr = truncated_pct(s, p, v).unwrap_or(0.0);
                t = t.text(format!(
                    "; it cuts {} of its answers short at max_tokens",
                    fmt_ratio(tr / 100.0)
                ));
                let alt = cells_at(s, l)
                    .into_iter()
                    .filter(|c| meets_all(s, c.2, c.3) == Some(true) && !truncates(s, c.2, c.3))
                    .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.total_cmp(&b.0)));
                if let Some((a95, acost, ap, av)) = alt {
                    t = t.text(", so weigh it against the cheapest that does not: ");
                    t = cell_name(s, t, ap, av);
                    t = t.text(format!(
                        " ({} per 1K sessions, p95 session {})",
                        fmt_usd(acost),
                        fmt_secs(a95 * 1e3)
                    ));
                }
            }
            t.text(").")
        })
        .collect()
}

/// The Pareto frontier of cost per 1K sessions against p95 session at each load level (its
/// first six points).
fn frontier(s: &Sweep) -> Vec<Sentence> {
    let multi = s.levels.len() > 1;
    let mut out = Vec::new();
    for l in 0..s.levels.len() {
        let pts = cells_at(s, l);
        let front = pareto(&pts.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>());
        if front.is_empty() || pts.len() <= 1 {
            continue;
        }
        let mut t = Sentence::default().text(format!(
            "Pareto frontier{} ({} of {} combinations): ",
            if multi {
                format!(" at {}", s.levels[l])
            } else {
                String::new()
            },
            front.len(),
            pts.len()
        ));
        for (k, &i) in front.iter().take(6).enumerate() {
            let (a, b, p, v) = pts[i];
            if k > 0 {
                t = t.text("; ");
            }
            t = cell_name(s, t, p, v);
            t = t.text(format!(" (p95 {}, {}", fmt_secs(a * 1e3), fmt_usd(b)));
            if truncates(s, p, v) {
                let tr = truncated_pct(s, p, v).unwrap_or(0.0);
                t = t.text(format!(", cuts {} of answers", fmt_ratio(tr / 100.0)));
            }
            t = t.text(")");
        }
        if front.len() > 6 {
            t = t.text(format!("; and {} more", front.len() - 6));
        }
        out.push(t.text("."));
    }
    out
}

/// A variant's p95 session and failures over the grid.
fn range(s: &Sweep, v: &str) -> Sentence {
    let (p95, fail) = (Metric::session_p95(), Metric::failed_pct());
    let q: Vec<(usize, f64)> = s
        .points
        .iter()
        .filter_map(|p| s.stat(&p95, p.index, v).map(|x| (p.index, x.mean)))
        .collect();
    let f: Vec<(usize, f64)> = s
        .points
        .iter()
        .filter_map(|p| s.stat(&fail, p.index, v).map(|x| (p.index, x.mean)))
        .collect();
    let lo = q.iter().min_by(|a, b| a.1.total_cmp(&b.1));
    let hi = q.iter().max_by(|a, b| a.1.total_cmp(&b.1));
    let fmax = f.iter().max_by(|a, b| a.1.total_cmp(&b.1));
    let mut t = Sentence::default().code(v).text(": ");
    match (lo, hi) {
        (Some(lo), Some(hi)) => {
            t = t.text(format!(
                "p95 session from {} ({}) to {} ({})",
                fmt_secs(lo.1 * 1e3),
                s.point_label(lo.0),
                fmt_secs(hi.1 * 1e3),
                s.point_label(hi.0)
            ))
        }
        _ => t = t.text("no session completed at any point"),
    }
    if let Some(fm) = fmax {
        if fm.1 > 0.0 {
            t = t.text(format!(
                "; failures up to {} ({})",
                fmt_ratio(fm.1 / 100.0),
                s.point_label(fm.0)
            ));
        } else {
            t = t.text("; no failed request at any point");
        }
    }
    t.text(".")
}

fn with_ci(st: Option<Stat>, digits: usize) -> String {
    match st {
        None => "n/a".into(),
        Some(st) if st.n > 1 => format!("{} ± {}", fixed(st.mean, digits), fixed(st.ci95, digits)),
        Some(st) => fixed(st.mean, digits),
    }
}

/// One row per (point, variant).
pub fn table(s: &Sweep) -> Table {
    let mut header: Vec<String> = vec!["point".into()];
    header.extend(s.params.iter().cloned());
    header.extend(
        [
            "variant",
            "sessions ok",
            "session p95 s",
            "failed %",
            "truncated %",
            "$ / 1K sessions",
            "cost $",
        ]
        .map(String::from),
    );
    let mut numeric = vec![true];
    numeric.extend(s.params.iter().map(|_| true));
    numeric.extend([false, true, true, true, true, true, true]);
    let mut t = Table {
        header,
        numeric,
        rows: Vec::new(),
    };
    let ok = Metric::new("", "", "sessions.completed", 1.0, "", false);
    let total = Metric::new("", "", "cost_usd.total", 1.0, "", false);
    for p in &s.points {
        for v in &s.variants {
            if s.runs_of(p.index, v).is_empty() {
                continue;
            }
            let mut row = vec![p.index.to_string()];
            row.extend(p.values.iter().map(value_text));
            row.push(v.clone());
            row.push(with_ci(s.stat(&ok, p.index, v), 0));
            row.push(with_ci(s.stat(&Metric::session_p95(), p.index, v), 1));
            row.push(with_ci(s.stat(&Metric::failed_pct(), p.index, v), 2));
            row.push(with_ci(s.stat(&Metric::truncated_pct(), p.index, v), 2));
            row.push(with_ci(s.stat(&Metric::cost_per_1k(), p.index, v), 2));
            row.push(with_ci(s.stat(&total, p.index, v), 2));
            t.rows.push(row);
        }
    }
    t
}

/// SLO results: one row per (point, variant), one column per SLO; with, per cell, whether
/// it passed (`None`: not an SLO cell or not checked).
pub fn slo_table(s: &Sweep) -> (Table, Vec<Vec<Option<bool>>>) {
    let mut header: Vec<String> = vec!["point".into()];
    header.extend(s.params.iter().cloned());
    header.push("variant".into());
    header.extend(s.slos.iter().map(|o| o.name.clone()));
    let mut numeric = vec![true];
    numeric.extend(s.params.iter().map(|_| true));
    numeric.push(false);
    numeric.extend(s.slos.iter().map(|_| true));
    let mut t = Table {
        header,
        numeric,
        rows: Vec::new(),
    };
    let mut marks = Vec::new();
    for p in &s.points {
        for v in &s.variants {
            let res: Vec<Option<(Option<f64>, bool)>> =
                s.slos.iter().map(|o| o.result(p.index, v)).collect();
            if res.iter().all(Option::is_none) {
                continue;
            }
            let mut row = vec![p.index.to_string()];
            row.extend(p.values.iter().map(value_text));
            row.push(v.clone());
            let mut m = vec![None; row.len()];
            for (o, r) in s.slos.iter().zip(&res) {
                let metric = Metric::from_expr(&o.metric);
                match r {
                    None => {
                        row.push("–".into());
                        m.push(None);
                    }
                    Some((val, pass)) => {
                        let shown = val
                            .map(|x| metric.show(x * metric.scale))
                            .unwrap_or_default();
                        row.push(
                            format!("{} {shown}", if *pass { "✓" } else { "✗" })
                                .trim()
                                .to_string(),
                        );
                        m.push(Some(*pass));
                    }
                }
            }
            t.rows.push(row);
            marks.push(m);
        }
    }
    (t, marks)
}

/// The SLO table as HTML, cells coloured by pass or fail.
pub fn slo_table_html(t: &Table, marks: &[Vec<Option<bool>>]) -> String {
    let mut o = String::from("<div class=\"scroll\"><table>\n<thead><tr>");
    for (h, n) in t.header.iter().zip(&t.numeric) {
        o += &format!(
            "<th{}>{}</th>",
            if *n { " class=\"n\"" } else { "" },
            esc(h)
        );
    }
    o += "</tr></thead>\n<tbody>\n";
    for (r, m) in t.rows.iter().zip(marks) {
        o += "<tr>";
        for (k, c) in r.iter().enumerate() {
            let mut cls: Vec<&str> = Vec::new();
            if t.numeric[k] {
                cls.push("n");
            }
            match m.get(k).copied().flatten() {
                Some(true) => cls.push("pass"),
                Some(false) => cls.push("fail"),
                None => {}
            }
            let attr = if cls.is_empty() {
                String::new()
            } else {
                format!(" class=\"{}\"", cls.join(" "))
            };
            o += &format!("<td{attr}>{}</td>", esc(c));
        }
        o += "</tr>\n";
    }
    o += "</tbody></table></div>\n";
    o
}

/// The Markdown summary of a sweep.
pub fn markdown(s: &Sweep) -> String {
    let mut out = format!(
        "# Spillway sweep report: {}\n\n{}\n",
        s.scenario,
        intro(s).markdown()
    );
    let v = verdict(s);
    if !v.is_empty() {
        out += "\n## Verdict\n\n";
        for x in &v {
            out += &format!("- {}\n", x.markdown());
        }
    }
    let f = findings(s);
    if !f.is_empty() {
        out += "\n## Findings\n\n";
        for x in &f {
            out += &format!("- {}\n", x.markdown());
        }
    }
    if !s.slos.is_empty() {
        out += "\n## SLOs\n\n";
        out += &slo_table(s).0.markdown();
    }
    out += "\n## Every point\n\n";
    out += &table(s).markdown();
    out
}
