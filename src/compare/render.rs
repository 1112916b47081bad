//! The comparison as a text table (stdout), Markdown (`compare.md`), JSON (`compare.json`)
//! and one self-contained HTML page (`compare.html`, an inline SVG chart, no script).

use std::fmt::Write;

use super::{Comparison, LatencyComparison};
use crate::words::{Table, esc};

/// Signed percentage with one decimal: `+12.3%`.
fn signed_pct(x: f64) -> String {
    format!("{:+.1}%", x * 100.0)
}

fn pct(x: f64) -> String {
    format!("{:.2}%", x * 100.0)
}

/// The latency table: one row per (latency, percentile).
fn latency_table(c: &Comparison) -> Table {
    let mut t = Table::new(&[
        ("latency", false),
        ("percentile", false),
        ("observed ms", true),
        ("simulated ms", true),
        ("error", true),
    ]);
    let mut add = |name: &str, l: &LatencyComparison| {
        if l.quantiles.is_empty() {
            t.rows.push(vec![
                format!("{name} ({} obs, {} sim)", l.observed_n, l.simulated_n),
                "-".into(),
                "-".into(),
                "-".into(),
                "no data on one side".into(),
            ]);
        }
        for q in &l.quantiles {
            t.rows.push(vec![
                format!("{name} ({} obs, {} sim)", l.observed_n, l.simulated_n),
                format!("p{}", q.p),
                format!("{:.1}", q.observed_ms),
                format!("{:.1}", q.simulated_ms),
                signed_pct(q.error),
            ]);
        }
    };
    add("ttft", &c.ttft);
    add("e2e", &c.e2e);
    t
}

/// The status table: requests by how they ended.
fn status_table(c: &Comparison) -> Table {
    let mut t = Table::new(&[
        ("status", false),
        ("observed", true),
        ("simulated", true),
        ("observed %", true),
        ("simulated %", true),
        ("difference", true),
    ]);
    for s in &c.status {
        t.rows.push(vec![
            s.status.to_string(),
            s.observed.to_string(),
            s.simulated.to_string(),
            pct(s.observed_rate),
            pct(s.simulated_rate),
            format!("{:+.2} pp", (s.simulated_rate - s.observed_rate) * 100.0),
        ]);
    }
    t
}

fn headline(c: &Comparison) -> String {
    format!(
        "{} requests replayed through scenario '{}', variant '{}' ({} finished in the simulation); largest latency percentile error {}; completed requests per minute off by {} of the observed total",
        c.requests,
        c.scenario,
        c.variant,
        c.simulated_finished,
        pct(c.max_latency_error),
        pct(c.throughput_error)
    )
}

/// The text printed on stdout.
pub fn text(c: &Comparison) -> String {
    let table = crate::calibrate::render::text_table;
    let mut o = format!("{}\n\n", headline(c));
    o += &table(&latency_table(c));
    o.push('\n');
    o += &table(&status_table(c));
    for n in &c.notes {
        let _ = writeln!(o, "note: {n}");
    }
    o
}

/// `compare.md`.
pub fn markdown(c: &Comparison) -> String {
    let mut o = format!(
        "# Spillway compare: {} / {}\n\nTelemetry: `{}`. {}.\n\n## Latency\n\n{}\n## Status\n\n{}\n## Completed requests per minute\n\n",
        c.scenario,
        c.variant,
        c.telemetry,
        headline(c),
        latency_table(c).markdown(),
        status_table(c).markdown()
    );
    let mut t = Table::new(&[("minute", true), ("observed", true), ("simulated", true)]);
    for m in &c.throughput {
        t.rows.push(vec![
            m.minute.to_string(),
            m.observed.to_string(),
            m.simulated.to_string(),
        ]);
    }
    o += &t.markdown();
    if !c.notes.is_empty() {
        o += "\n## Notes\n\n";
        for n in &c.notes {
            let _ = writeln!(o, "- {n}");
        }
    }
    o
}

/// `compare.json`.
pub fn json(c: &Comparison) -> String {
    let mut s = serde_json::to_string_pretty(c).expect("a comparison serializes");
    s.push('\n');
    s
}

/// An HTML table.
fn html_table(t: &Table) -> String {
    let mut o = String::from("<table><tr>");
    for (h, n) in t.header.iter().zip(&t.numeric) {
        let _ = write!(o, "<th{}>{}</th>", if *n { " class=n" } else { "" }, esc(h));
    }
    o += "</tr>";
    for r in &t.rows {
        o += "<tr>";
        for (c, n) in r.iter().zip(&t.numeric) {
            let _ = write!(o, "<td{}>{}</td>", if *n { " class=n" } else { "" }, esc(c));
        }
        o += "</tr>";
    }
    o + "</table>\n"
}

/// Completed requests per minute, observed and simulated, as an inline SVG line chart.
fn throughput_svg(c: &Comparison) -> String {
    let (w, h, pad) = (720.0, 260.0, 40.0);
    let n = c.throughput.len().max(2) as f64 - 1.0;
    let top = c
        .throughput
        .iter()
        .map(|m| m.observed.max(m.simulated))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let x = |i: usize| pad + (w - 2.0 * pad) * i as f64 / n;
    let y = |v: u64| h - pad - (h - 2.0 * pad) * v as f64 / top;
    let line = |get: &dyn Fn(&super::Minute) -> u64| {
        c.throughput
            .iter()
            .enumerate()
            .map(|(i, m)| format!("{:.1},{:.1}", x(i), y(get(m))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" aria-label="completed requests per minute">
<line x1="{pad}" y1="{b}" x2="{r}" y2="{b}" stroke="#888"/><line x1="{pad}" y1="{pad}" x2="{pad}" y2="{b}" stroke="#888"/>
<text x="{pad}" y="{t}" font-size="12">{top} / min</text><text x="{r}" y="{lb}" font-size="12" text-anchor="end">minute {last}</text>
<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{obs}"/>
<polyline fill="none" stroke="#d62728" stroke-width="2" stroke-dasharray="6 3" points="{sim}"/>
<text x="{lx}" y="{ly}" font-size="12" fill="#1f77b4">observed</text><text x="{lx}" y="{ly2}" font-size="12" fill="#d62728">simulated</text>
</svg>
"##,
        b = h - pad,
        r = w - pad,
        t = pad - 8.0,
        lb = h - pad + 16.0,
        last = c.throughput.len().saturating_sub(1),
        obs = line(&|m| m.observed),
        sim = line(&|m| m.simulated),
        lx = w - pad - 80.0,
        ly = pad + 4.0,
        ly2 = pad + 20.0,
    )
}

/// `compare.html`: self-contained (inline style and SVG).
pub fn html(c: &Comparison) -> String {
    let notes: String = c
        .notes
        .iter()
        .map(|n| format!("<li>{}</li>", esc(n)))
        .collect();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Spillway compare: {title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}}table{{border-collapse:collapse;margin:1rem 0}}td,th{{border:1px solid #ccc;padding:.25rem .5rem}}.n{{text-align:right}}</style>
</head><body>
<h1>Spillway compare: {title}</h1>
<p>Telemetry <code>{file}</code>. {headline}.</p>
<h2>Latency</h2>
{lat}<h2>Status</h2>
{status}<h2>Completed requests per minute</h2>
{svg}<h2>Notes</h2>
<ul>{notes}</ul>
</body></html>
"#,
        title = esc(&format!("{} / {}", c.scenario, c.variant)),
        file = esc(&c.telemetry),
        headline = esc(&headline(c)),
        lat = html_table(&latency_table(c)),
        status = html_table(&status_table(c)),
        svg = throughput_svg(c),
    )
}
