//! The report of a sweep (`sweep.json`, schema `spillway.sweep/v1`): metrics against the
//! swept parameter with one line per variant (95% confidence bands when there are
//! replications), cost against p95 over every point with the Pareto frontier, and SLO pass/fail.
//!
//! - [`model`]: the typed view the report draws from (points, runs, SLO results, metrics);
//! - [`charts`]: a metric against the swept parameter;
//! - [`pareto`]: cost against speed at every point;
//! - [`words`]: findings, tables and the Markdown summary.

pub mod charts;
pub mod model;
pub mod pareto;
pub mod words;

use super::html;
use super::kit::vstyle;
use crate::error::Result;
use crate::words::esc;
use charts::{Facet, XPlan, metric_chart, plan};
use model::{Metric, Sweep};
use words::{
    cells_at, findings, intro, meets_all, picks, slo_table, slo_table_html, table, truncated_pct,
    verdict,
};

pub use words::markdown;

/// At most this many combinations of the other parameters share a chart (as shades).
const MAX_SHADES: usize = 5;

/// The facets drawn (all of them, or an evenly spaced selection past [`MAX_SHADES`]) and the
/// note that says so.
fn chosen_facets(plan: &XPlan) -> (Vec<&Facet>, String) {
    // The combinations of the other parameters share each chart as shades of the variant's
    // colour; past MAX_SHADES, an evenly spaced selection of them (the table has every point).
    let n = plan.facets.len();
    if n <= MAX_SHADES {
        return (plan.facets.iter().collect(), String::new());
    }
    let mut idx: Vec<usize> = (0..MAX_SHADES)
        .map(|k| ((k * (n - 1)) as f64 / (MAX_SHADES - 1) as f64).round() as usize)
        .collect();
    idx.dedup();
    let chosen: Vec<&Facet> = idx.iter().map(|&i| &plan.facets[i]).collect();
    let note = format!(
        "<p>Charts show {} of the {n} combinations of the other parameters, evenly spaced ({}); the table below has every point.</p>\n",
        chosen.len(),
        esc(&chosen
            .iter()
            .map(|f| f.0.as_str())
            .collect::<Vec<_>>()
            .join("; "))
    );
    (chosen, note)
}

/// The compact table of the first screen: per load level, the verdict's combination and its
/// figures, and how many combinations meet every SLO.
fn answer_table(s: &Sweep) -> String {
    let multi = s.levels.len() > 1;
    let mut o = String::from("<table id=\"answer-table\" class=\"compact\">\n<thead><tr>");
    if multi {
        o += "<th>load</th>";
    }
    o += "<th>cheapest meeting every SLO</th><th class=\"n\">p95 session s</th><th class=\"n\">failed %</th><th class=\"n\">truncated %</th><th class=\"n\">$ / 1K sessions</th><th class=\"n\">meeting</th></tr></thead>\n<tbody>\n";
    for (l, pick) in picks(s) {
        let cells = cells_at(s, l);
        let meeting = cells
            .iter()
            .filter(|c| meets_all(s, c.2, c.3) == Some(true))
            .count();
        o += "<tr>";
        if multi {
            o += &format!("<td>{}</td>", esc(&s.levels[l]));
        }
        match pick {
            Some((p, v)) => {
                let name = if s.variants.len() > 1 {
                    format!("{v}: {}", s.point_label(p))
                } else {
                    s.point_label(p)
                };
                let stat = |m: &Metric, d: usize| {
                    s.stat(m, p, v)
                        .map(|x| crate::words::fixed(x.mean, d))
                        .unwrap_or_else(|| "n/a".into())
                };
                let tr = truncated_pct(s, p, v).unwrap_or(0.0);
                o += &format!(
                    "<td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"{}\">{}</td><td class=\"n\">{}</td>",
                    esc(&name),
                    stat(&Metric::session_p95(), 1),
                    stat(&Metric::failed_pct(), 2),
                    if words::truncates(s, p, v) {
                        "n flag"
                    } else {
                        "n"
                    },
                    crate::words::fixed(tr, 2),
                    stat(&Metric::cost_per_1k(), 2),
                );
            }
            None => o += "<td class=\"fail\">none</td><td></td><td></td><td></td><td></td>",
        }
        o += &format!("<td class=\"n\">{meeting} of {}</td></tr>\n", cells.len());
    }
    o += "</tbody></table>\n";
    o
}

/// The first screen: the verdict at each load and its table beside the cost-against-speed
/// chart (without SLOs: the frontier at each load).
fn answer(s: &Sweep) -> Result<String> {
    let mut o = String::from("<section id=\"answer\" class=\"answer\">\n<div>\n");
    o += "<div id=\"verdict\">\n<h2>Verdict</h2>\n";
    if s.slos.is_empty() {
        o += "<p>The scenario sets no <code>[[slo]]</code>: no combination is judged. The \
              frontier of each load, in the chart, holds the ones worth choosing between.</p>\n";
    } else {
        o += &html::bullets(&verdict(s), "verdict");
    }
    o += "</div>\n";
    if !s.slos.is_empty() {
        o += &answer_table(s);
    }
    o += "</div>\n";
    o += &html::figure(&pareto::pareto_chart(s)?);
    o += "</section>\n";
    Ok(o)
}

/// The page header, the first screen, the variants' key and the findings.
fn head(s: &Sweep) -> Result<String> {
    let mut body = format!(
        "<header>\n<h1>Spillway sweep report: {}</h1>\n<p class=\"lede\">{}</p>\n",
        esc(&s.scenario),
        intro(s).html()
    );
    let mut nav = vec![("answer", "Verdict"), ("findings", "Findings")];
    if !s.slos.is_empty() {
        nav.push(("slo", "SLOs"));
    }
    nav.extend([("metrics", "Metrics"), ("points", "Every point")]);
    body += &html::nav(&nav);
    body += "</header>\n";
    body += &answer(s)?;
    body += "<section id=\"variants\">\n<h2>Variants</h2>\n<ul class=\"key\">\n";
    for (i, name) in s.variants.iter().enumerate() {
        let desc = s
            .runs
            .iter()
            .find(|r| &r.variant == name)
            .and_then(|r| r.summary.description.as_deref())
            .map(|d| format!(": {}", esc(d)))
            .unwrap_or_default();
        body += &format!(
            "<li>{}<code>{}</code>{desc}</li>\n",
            html::swatch(vstyle(i)),
            esc(name)
        );
    }
    body += "</ul>\n";
    // A variant's description speaks of its own settings; the sweep replaces some of them.
    body += &format!(
        "<p class=\"lede\">At every point the swept values ({}) replace the variant's own settings for those keys.</p>\n",
        s.params
            .iter()
            .map(|p| format!("<code>{}</code>", esc(p)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    body += "</section>\n";
    body += "<section id=\"findings\">\n<h2>Findings</h2>\n";
    body += &html::bullets(&findings(s), "findings");
    body += "</section>\n";
    Ok(body)
}

/// Renders a checked sweep as the HTML report.
pub fn render(s: &Sweep) -> Result<String> {
    let plan = plan(s);
    let mut body = head(s)?;
    let (group, facet_note) = chosen_facets(&plan);
    if !s.slos.is_empty() {
        body += "<section id=\"slo\">\n<h2>SLOs</h2>\n";
        let (t, marks) = slo_table(s);
        body += "<p>✓ met, ✗ missed, – not checked for that variant. Values are in the units \
                 shown in the charts (milliseconds as seconds).</p>\n";
        body += &slo_table_html(&t, &marks);
        body += &facet_note;
        for (k, o) in s.slos.iter().enumerate() {
            let m = Metric::from_expr(&o.metric);
            let id = format!("slo-{k}-0");
            body += &html::figure(&metric_chart(s, &plan, &m, &group, Some(o), id)?);
        }
        body += "</section>\n";
    }
    body += "<section id=\"metrics\">\n<h2>Metrics across the grid</h2>\n";
    body += &facet_note;
    let metrics = [
        Metric::session_p95(),
        Metric::failed_pct(),
        Metric::cost_per_1k(),
    ];
    for (k, m) in metrics.iter().enumerate() {
        let id = format!("metric-{k}-0");
        body += &html::figure(&metric_chart(s, &plan, m, &group, None, id)?);
    }
    body += "</section>\n";
    let swatch_of = |_: &str| None;
    body += "<section id=\"points\">\n<h2>Every point</h2>\n";
    body += &html::table(&table(s), &swatch_of);
    body += "</section>\n";
    body += "<footer>Made by <code>spillway report</code> from <code>sweep.json</code>.</footer>\n";
    Ok(html::document(
        &format!("Spillway sweep report: {}", s.scenario),
        &body,
    ))
}
