//! The HTML document: one file, inline CSS and SVG, no script, nothing fetched.

use super::charts::Figure;
use super::kit::{VStyle, hex};
use crate::words::{Sentence, Table, esc};

/// Inline style sheet: readable on a laptop, printable.
const CSS: &str = r#"
:root { color-scheme: light; }
body { margin: 0; background: #fff; color: #222;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 14px 28px 56px; }
h1 { font-size: 25px; margin: 4px 0 2px; }
header .lede { margin: 2px 0; }
h2 { font-size: 20px; margin: 40px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #ddd; }
h3 { font-size: 16px; margin: 24px 0 6px; }
p, li { max-width: 80ch; }
.lede { color: #444; }
nav { font-size: 14px; color: #555; margin: 4px 0 0; }
nav a { color: #1a4f8a; margin-right: 12px; white-space: nowrap; }
figure { margin: 14px 0 30px; break-inside: avoid; page-break-inside: avoid; }
svg.chart { display: block; width: 100%; height: auto; border: 1px solid #e4e4e4; border-radius: 4px; }
svg.chart text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
figcaption { font-size: 13.5px; color: #555; margin-top: 6px; max-width: 90ch; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13.5px; font-variant-numeric: tabular-nums; margin: 6px 0 10px; }
th, td { padding: 4px 7px; border-bottom: 1px solid #e6e6e6; text-align: left; white-space: nowrap; vertical-align: top; }
thead th { border-bottom: 2px solid #bbb; font-weight: 600; white-space: normal; vertical-align: bottom; }
td.n, th.n { text-align: right; }
td.pass { background: #e3f1e6; }
td.fail { background: #fbe3e3; font-weight: 600; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em;
  background: #f2f2f2; padding: 0 3px; border-radius: 3px; }
ul.key { list-style: none; padding: 0; columns: 2 420px; }
ul.key li { margin: 2px 0; break-inside: avoid; }
.sw { display: inline-block; width: 26px; height: 0; margin-right: 8px; vertical-align: middle;
  border-top-width: 4px; }
.findings li { margin: 4px 0; }
.answer { display: grid; grid-template-columns: minmax(0, 11fr) minmax(0, 9fr); gap: 12px 22px;
  align-items: start; margin-top: 12px; }
.answer figure { margin: 0; }
.answer figcaption { font-size: 12.5px; }
#verdict { background: #f3f8f4; border-left: 4px solid #117733; padding: 2px 14px 4px; margin-bottom: 10px;
  font-size: 14px; line-height: 1.45; }
#verdict h2 { font-size: 17px; margin: 6px 0 2px; padding: 0; border: none; }
ul.verdict { margin: 2px 0 4px; padding-left: 18px; }
ul.verdict li { margin: 3px 0; max-width: none; }
table.compact { font-size: 12.5px; margin: 0; line-height: 1.35; }
table.compact td, table.compact th { padding: 2px 5px; }
table.compact td { white-space: nowrap; }
table.compact tr.load th { text-align: left; background: #f2f2f2; font-weight: 600; padding: 1px 6px; }
tr.pick td { font-weight: 600; }
.tag { font-size: 11px; font-weight: 600; border-radius: 3px; padding: 0 4px; margin-left: 6px;
  background: #117733; color: #fff; vertical-align: 1px; }
.tag.base { background: #777; }
td.flag { background: #fdf0d5; font-weight: 600; }
@media (max-width: 900px) { .answer { grid-template-columns: minmax(0, 1fr); } }
footer { margin-top: 40px; font-size: 13px; color: #666; }
@media print {
  body { font-size: 12px; }
  main { max-width: none; padding: 0; }
  nav { display: none; }
  h2 { break-after: avoid; page-break-after: avoid; }
  svg.chart { border: none; }
}
"#;

/// Wraps a body into the complete document.
pub fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"spillway report\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        esc(title)
    )
}

/// A colour swatch for a variant, as drawn in the charts.
pub fn swatch(s: VStyle) -> String {
    format!(
        "<span class=\"sw\" style=\"border-top-style: {}; border-top-color: {}\"></span>",
        s.dash.css(),
        hex(s.color)
    )
}

/// A table; `first_col_swatch` gives the swatch for a row's first cell, if any.
pub fn table(t: &Table, first_col_swatch: &dyn Fn(&str) -> Option<String>) -> String {
    let mut o = String::from("<div class=\"scroll\"><table>\n<thead><tr>");
    for (h, n) in t.header.iter().zip(&t.numeric) {
        o += &format!(
            "<th{}>{}</th>",
            if *n { " class=\"n\"" } else { "" },
            esc(h)
        );
    }
    o += "</tr></thead>\n<tbody>\n";
    for r in &t.rows {
        o += "<tr>";
        for (k, (c, n)) in r.iter().zip(&t.numeric).enumerate() {
            let sw = if k == 0 {
                first_col_swatch(c).unwrap_or_default()
            } else {
                String::new()
            };
            o += &format!(
                "<td{}>{sw}{}</td>",
                if *n { " class=\"n\"" } else { "" },
                esc(c)
            );
        }
        o += "</tr>\n";
    }
    o += "</tbody></table></div>\n";
    o
}

/// A figure with its caption.
pub fn figure(f: &Figure) -> String {
    let mut o = format!("<figure id=\"{}\">\n{}\n", esc(&f.id), f.svg);
    if !f.caption.is_empty() {
        o += &format!("<figcaption>{}</figcaption>\n", f.caption);
    }
    o += "</figure>\n";
    o
}

/// A bulleted list of sentences.
pub fn bullets(items: &[Sentence], class: &str) -> String {
    if items.is_empty() {
        return String::new();
    }
    let mut o = format!("<ul class=\"{class}\">\n");
    for s in items {
        o += &format!("<li>{}</li>\n", s.html());
    }
    o += "</ul>\n";
    o
}

/// The contents line.
pub fn nav(items: &[(&str, &str)]) -> String {
    let mut o = String::from("<nav>");
    for (id, label) in items {
        o += &format!("<a href=\"#{}\">{}</a>", esc(id), esc(label));
    }
    o += "</nav>\n";
    o
}
