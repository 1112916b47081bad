//! The default terminal format: one aligned row per variant, in the columns that answer the
//! question (variant, load, sessions ok, p95 session, failed %, truncated %, cost per 1K
//! sessions, SLOs met: [`crate::words::columns::default_columns`]), or the ones asked for.
//!
//! [`render`] can mark cells with ANSI styles (SLOs met in green, missed in red; at each
//! load, the best value of a column green and the worst red; a share of truncated answers
//! over 1% in yellow; the verdict's variant bold). The command line writes it through
//! `anstream`, which drops the styles when stdout is not a terminal or `NO_COLOR` is set.

use anstyle::{AnsiColor, Style};

use super::Exporter;
use crate::metrics::Summary;
use crate::words::columns::{Better, Column, default_columns, note};
use crate::words::compare::{LoadGroup, load_groups, slo_checks, truncates, verdicts};

/// The default columns, without styles.
pub struct Table;

impl Exporter for Table {
    fn render(&self, summary: &Summary) -> String {
        render(summary, &default_columns(summary), false)
    }
}

/// The widest line a table of the default columns should make for names of ordinary length.
pub const FIT: usize = 100;

const GOOD: Style = AnsiColor::Green.on_default();
const BAD: Style = AnsiColor::Red.on_default().bold();
const FLAG: Style = AnsiColor::Yellow.on_default().bold();
const PICK: Style = Style::new().bold();

/// The style of each cell: verdicts, best and worst at each load, truncation flags.
fn styles(run: &Summary, cols: &[Column], groups: &[LoadGroup]) -> Vec<Vec<Style>> {
    let n = run.variants.len();
    let mut out = vec![vec![Style::new(); cols.len()]; n];
    let picks: Vec<usize> = verdicts(run, groups)
        .iter()
        .filter_map(|g| g.pick)
        .collect();
    for (k, c) in cols.iter().enumerate() {
        match c {
            Column::Variant => {
                for &p in &picks {
                    out[p][k] = PICK;
                }
            }
            Column::Slo => {
                for (i, v) in run.variants.iter().enumerate() {
                    let checks = slo_checks(run, &v.name);
                    if !checks.is_empty() {
                        out[i][k] = if checks.iter().all(|c| c.pass) {
                            GOOD
                        } else {
                            BAD
                        };
                    }
                }
            }
            _ => {}
        }
        let Some(better) = c.better() else { continue };
        for g in groups.iter().filter(|g| g.members.len() > 1) {
            let vals: Vec<(usize, f64)> = g
                .members
                .iter()
                .filter_map(|&i| c.value(run, i).map(|x| (i, x)))
                .collect();
            let lo = vals.iter().map(|v| v.1).fold(f64::INFINITY, f64::min);
            let hi = vals.iter().map(|v| v.1).fold(f64::NEG_INFINITY, f64::max);
            if vals.len() < 2 || lo >= hi {
                continue;
            }
            let (best, worst) = match better {
                Better::Lower => (lo, hi),
                Better::Higher => (hi, lo),
            };
            for (i, x) in vals {
                if x == best {
                    out[i][k] = GOOD;
                } else if x == worst {
                    out[i][k] = BAD;
                }
            }
        }
        if *c == Column::Truncated {
            for (i, v) in run.variants.iter().enumerate() {
                if truncates(v) {
                    out[i][k] = FLAG;
                }
            }
        }
    }
    out
}

/// The table of `cols` (a first line naming the scenario, seed and baseline, the header, a
/// rule, one row per variant, then notes on short headers). `*` after a name marks the
/// verdict at its load (it meets every SLO at the lowest cost). With `styled`, cells carry
/// ANSI styles (see the module docs).
pub fn render(run: &Summary, cols: &[Column], styled: bool) -> String {
    let groups = load_groups(run);
    let picks: Vec<usize> = verdicts(run, &groups)
        .iter()
        .filter_map(|g| g.pick)
        .collect();
    let header: Vec<String> = cols.iter().map(|c| c.header().to_string()).collect();
    let rows: Vec<Vec<String>> = (0..run.variants.len())
        .map(|i| {
            cols.iter()
                .map(|c| {
                    let cell = c.cell(run, i, &groups);
                    if *c == Column::Variant && picks.contains(&i) {
                        format!("{cell} *")
                    } else {
                        cell
                    }
                })
                .collect()
        })
        .collect();
    let style = styles(run, cols, &groups);
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String], st: Option<&[Style]>| -> String {
        let mut parts = Vec::with_capacity(cells.len());
        for (k, c) in cells.iter().enumerate() {
            let pad = " ".repeat(widths[k].saturating_sub(c.chars().count()));
            let s = st.map(|s| s[k]).filter(|_| styled).unwrap_or_default();
            let text = format!("{s}{c}{s:#}");
            parts.push(if cols[k].numeric() {
                format!("{pad}{text}")
            } else {
                format!("{text}{pad}")
            });
        }
        parts.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = format!("scenario: {}  seed: {}", run.scenario, run.seed);
    if run.variants.len() > 1 {
        out += &format!("  baseline: {}", run.variants[run.baseline_index()].name);
    }
    out.push('\n');
    out += &line(&header, None);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out += &line(&rule, None);
    for (r, s) in rows.iter().zip(&style) {
        out += &line(r, Some(s));
    }
    let mut notes: Vec<String> = Vec::new();
    if !picks.is_empty() && cols.contains(&Column::Variant) {
        notes.push(if run.slo.is_empty() {
            "*: fewer than 1% of requests fail, at the lowest cost at its load".to_string()
        } else {
            "*: meets every SLO at the lowest cost at its load".to_string()
        });
    }
    notes.extend(note(cols).into_iter().map(str::to_string));
    out += &wrap(&notes, FIT);
    out
}

/// Notes joined by "; " into lines of at most `width` characters (a note longer than a line
/// is broken between words).
fn wrap(notes: &[String], width: usize) -> String {
    let mut out = String::new();
    let mut cur = String::new();
    for n in notes {
        if !cur.is_empty() && cur.chars().count() + 2 + n.chars().count() > width {
            out += &cur;
            out += ";\n";
            cur.clear();
        }
        if !cur.is_empty() {
            cur += "; ";
        }
        for (k, word) in n.split(' ').enumerate() {
            if k > 0 {
                if cur.chars().count() + 1 + word.chars().count() > width {
                    out += &cur;
                    out += "\n";
                    cur.clear();
                } else {
                    cur += " ";
                }
            }
            cur += word;
        }
    }
    if !cur.is_empty() {
        out += &cur;
        out += ".\n";
    }
    out
}
