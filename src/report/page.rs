//! The page of a run report. The first screen answers: the verdict (which strategy meets the
//! SLOs at the lowest cost, at each load), the cost-against-speed chart and a compact table
//! with SLOs, failures and truncation; the rest follows: the variants, the SLO verdicts,
//! the findings and comparisons at equal load, where session time goes, and the charts and
//! tables of every figure.

use super::charts;
use super::html;
use super::kit;
use super::load::Run;
use crate::error::Result;
use crate::metrics::Summary;
use crate::words::compare::{
    GroupVerdict, LoadGroup, has_sessions, load_groups, slo_checks, truncated_ratio, truncates,
    verdict_sentences, verdicts,
};
use crate::words::{Sentence, esc, fixed, fmt_secs, fmt_usd, run as run_words};

/// The short line under the title: how many variants, the seed, the loads, the baseline.
fn lede(s: &Summary, groups: &[LoadGroup]) -> Sentence {
    let mut t = Sentence::default()
        .text(format!(
            "{} variant{} of ",
            s.variants.len(),
            if s.variants.len() == 1 { "" } else { "s" }
        ))
        .code(&s.scenario)
        .text(format!(", seed {}", s.seed));
    if groups.len() > 1 {
        let labels: Vec<&str> = groups.iter().map(|g| g.label.as_str()).collect();
        t = t.text(format!(
            ", at {} loads ({})",
            groups.len(),
            labels.join(", ")
        ));
    }
    if s.variants.len() > 1 {
        t = t
            .text(". Baseline: ")
            .code(&s.variants[s.baseline_index()].name);
    }
    t.text(".")
}

/// The compact table of the first screen: per variant (grouped by load), SLOs met, p95
/// session, failed and truncated shares, cost per 1K sessions; the verdict tagged.
fn answer_table(s: &Summary, groups: &[LoadGroup], gv: &[GroupVerdict]) -> String {
    let has_slo = !s.slo.is_empty();
    let mut cols = vec![("variant", false)];
    if has_slo {
        cols.push(("SLOs", true));
    }
    cols.extend([
        ("p95 session", true),
        ("failed", true),
        ("truncated", true),
        ("per 1K sessions", true),
    ]);
    let mut o = String::from("<table id=\"answer-table\" class=\"compact\">\n<thead><tr>");
    for (h, n) in &cols {
        o += &format!(
            "<th{}>{}</th>",
            if *n { " class=\"n\"" } else { "" },
            esc(h)
        );
    }
    o += "</tr></thead>\n<tbody>\n";
    let base = s.baseline_index();
    for (g, grp) in groups.iter().enumerate() {
        if groups.len() > 1 {
            o += &format!(
                "<tr class=\"load\"><th colspan=\"{}\">{}</th></tr>\n",
                cols.len(),
                esc(&grp.label)
            );
        }
        for &i in &grp.members {
            let v = &s.variants[i];
            let pick = gv[g].pick == Some(i);
            o += if pick { "<tr class=\"pick\">" } else { "<tr>" };
            let mut name = format!("{}{}", html::swatch(kit::vstyle(i)), esc(&v.name));
            if pick {
                name += "<span class=\"tag\">verdict</span>";
            }
            if i == base && s.variants.len() > 1 {
                name += "<span class=\"tag base\">baseline</span>";
            }
            o += &format!("<td>{name}</td>");
            if has_slo {
                let c = slo_checks(s, &v.name);
                let met = c.iter().filter(|c| c.pass).count();
                o += &match (c.is_empty(), met == c.len()) {
                    (true, _) => "<td class=\"n\">–</td>".to_string(),
                    (false, true) => format!("<td class=\"n pass\">✓ {met}/{}</td>", c.len()),
                    (false, false) => format!("<td class=\"n fail\">✗ {met}/{}</td>", c.len()),
                };
            }
            let secs = if has_sessions(v) {
                fmt_secs(v.sessions.duration_ms.p95)
            } else {
                "n/a".into()
            };
            let failed_cls = if !has_slo && v.requests.failed_ratio >= 0.01 {
                "n flag"
            } else {
                "n"
            };
            let trunc_cls = if truncates(v) { "n flag" } else { "n" };
            let per_1k = if has_sessions(v) {
                fmt_usd(v.cost_usd.per_1k_sessions)
            } else {
                "n/a".into()
            };
            o += &format!(
                "<td class=\"n\">{secs}</td><td class=\"{failed_cls}\">{}%</td><td class=\"{trunc_cls}\">{}%</td><td class=\"n\">{per_1k}</td></tr>\n",
                fixed(v.requests.failed_ratio * 100.0, 2),
                fixed(truncated_ratio(v) * 100.0, 2),
            );
        }
    }
    o += "</tbody></table>\n";
    o
}

/// The SLO table (one row per variant, one column per SLO), cells coloured pass or fail.
fn slo_section(s: &Summary) -> String {
    let Some(t) = run_words::slo_table(s) else {
        return String::new();
    };
    let mut o = String::from(
        "<section id=\"slo\">\n<h2>SLOs</h2>\n<p>The scenario's <code>[[slo]]</code> entries on \
         every variant: ✓ met, ✗ missed, – not checked for that variant; values in the \
         SLO's unit.</p>\n<div class=\"scroll\"><table>\n<thead><tr>",
    );
    for (h, n) in t.header.iter().zip(&t.numeric) {
        o += &format!(
            "<th{}>{}</th>",
            if *n { " class=\"n\"" } else { "" },
            esc(h)
        );
    }
    o += "</tr></thead>\n<tbody>\n";
    for (r, row) in t.rows.iter().enumerate() {
        o += "<tr>";
        for (k, c) in row.iter().enumerate() {
            let cls = match (k, c.chars().next()) {
                (0, _) => {
                    o += &format!("<td>{}{}</td>", html::swatch(kit::vstyle(r)), esc(c));
                    continue;
                }
                (_, Some('✓')) => "n pass",
                (_, Some('✗')) => "n fail",
                _ => "n",
            };
            o += &format!("<td class=\"{cls}\">{}</td>", esc(c));
        }
        o += "</tr>\n";
    }
    o += "</tbody></table></div>\n</section>\n";
    o
}

/// The first screen: the verdict and the compact table beside the cost-against-speed chart.
fn answer(run: &Run, groups: &[LoadGroup]) -> Result<String> {
    let s = &run.summary;
    let gv = verdicts(s, groups);
    let mut o = String::from("<section id=\"answer\" class=\"answer\">\n<div>\n");
    o += "<div id=\"verdict\">\n<h2>Verdict</h2>\n";
    o += &html::bullets(&verdict_sentences(s), "verdict");
    o += "</div>\n";
    o += &answer_table(s, groups, &gv);
    o += "</div>\n";
    o += &html::figure(&charts::cost_vs_p95(run)?);
    o += "</section>\n";
    Ok(o)
}

/// Renders a loaded run as the HTML document.
pub fn render_run(run: &Run) -> Result<String> {
    let s = &run.summary;
    let groups = load_groups(s);
    let breakdown = charts::time_breakdown(run)?;
    let has_series = run.series.iter().any(Option::is_some);
    let mut nav = vec![("answer", "Verdict")];
    if !s.slo.is_empty() {
        nav.push(("slo", "SLOs"));
    }
    nav.extend([("findings", "Findings")]);
    if breakdown.is_some() {
        nav.push(("where-time-goes", "Session time"));
    }
    nav.extend([
        ("summary", "Summary"),
        ("session-durations", "Sessions"),
        ("latency-cdf", "Latency"),
        ("failures", "Failures"),
    ]);
    if has_series {
        nav.push(("over-time", "Over time"));
    }
    nav.push(("details", "Details"));
    let mut body = format!(
        "<header>\n<h1>Spillway report: {}</h1>\n<p class=\"lede\">{}</p>\n{}</header>\n",
        esc(&s.scenario),
        lede(s, &groups).html(),
        html::nav(&nav)
    );
    body += &answer(run, &groups)?;

    body += "<section id=\"variants\">\n<h2>Variants</h2>\n<ul class=\"key\">\n";
    for (i, v) in s.variants.iter().enumerate() {
        body += &format!(
            "<li>{}<code>{}</code>{}</li>\n",
            html::swatch(kit::vstyle(i)),
            esc(&v.name),
            v.description
                .as_deref()
                .map(|d| format!(": {}", esc(d)))
                .unwrap_or_default()
        );
    }
    body += "</ul>\n</section>\n";
    body += &slo_section(s);

    body += "<section id=\"findings\">\n<h2>Findings</h2>\n";
    body += &format!("<p>{}</p>\n", run_words::intro(s).html());
    body += &html::bullets(&run_words::headline(s), "findings");
    for g in run_words::comparisons(s) {
        body += &format!("<h3>{}</h3>\n", run_words::comparison_heading(&g).html());
        body += &html::bullets(&g.sentences, "findings");
    }
    body += "</section>\n";
    if let Some(f) = &breakdown {
        body += "<section id=\"where-time-goes\">\n<h2>Where session time goes</h2>\n";
        body += &html::figure(f);
        body += &html::bullets(&crate::words::breakdown::sentences(s), "findings");
        body += "</section>\n";
    }
    body += &rest(run, has_series)?;
    Ok(html::document(
        &format!("Spillway report: {}", s.scenario),
        &body,
    ))
}

/// Everything after the findings: summary table, sessions, latency, failures, time series,
/// details.
fn rest(run: &Run, has_series: bool) -> Result<String> {
    let s = &run.summary;
    let swatch_of = |name: &str| {
        s.variants
            .iter()
            .position(|v| v.name == name)
            .map(|i| html::swatch(kit::vstyle(i)))
    };
    let section = |id: &str, title: &str, inner: String| {
        format!("<section id=\"{id}-section\">\n<h2>{title}</h2>\n{inner}</section>\n")
    };
    let mut body = format!(
        "<section id=\"summary\">\n<h2>Summary</h2>\n{}</section>\n",
        html::table(&run_words::summary_table(s), &swatch_of)
    );
    body += &section(
        "sessions",
        "Sessions",
        html::figure(&charts::session_boxes(run)?),
    );
    body += &section(
        "latency",
        "Request latency",
        html::figure(&charts::latency_cdf(run)?),
    );
    body += &section("fail", "Failures", html::figure(&charts::failures(run)?));
    if has_series {
        let scales = charts::TsScales::of(run);
        let mut inner = format!("<p>{}</p>\n", charts::TIMESERIES_CAPTION);
        for i in 0..s.variants.len() {
            if let Some(f) = charts::timeseries(run, i, &scales)? {
                inner += &html::figure(&f);
            }
        }
        body += &format!("<section id=\"over-time\">\n<h2>Over time</h2>\n{inner}</section>\n");
    }
    body += "<section id=\"details\">\n<h2>Details</h2>\n<h3>Failures, retries and tokens</h3>\n";
    body += &html::table(&run_words::detail_table(s), &swatch_of);
    let deps = run_words::deployment_table(s);
    if !deps.rows.is_empty() {
        body += "<h3>Deployments</h3>\n";
        body += &html::table(&deps, &swatch_of);
    }
    body += "</section>\n";
    body += "<footer>Made by <code>spillway report</code> from <code>summary.json</code> and \
             <code>timeseries-*.csv</code>. Percentiles come from HDR histograms (3 significant \
             digits). Costs are list prices as configured in the scenario.</footer>\n";
    Ok(body)
}
