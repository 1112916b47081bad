//! The default terminal format: one aligned row per variant.

use super::{Exporter, comparison_rows};
use crate::metrics::Summary;

/// Plain aligned table.
pub struct Table;

impl Exporter for Table {
    fn render(&self, summary: &Summary) -> String {
        let (header, rows) = comparison_rows(summary);
        let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
        for r in &rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.len());
            }
        }
        let mut out = format!("scenario: {}  seed: {}\n", summary.scenario, summary.seed);
        let line = |cells: Vec<String>| -> String {
            cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if i == 0 {
                        format!("{c:<w$}", w = widths[i])
                    } else {
                        format!("{c:>w$}", w = widths[i])
                    }
                })
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
                + "\n"
        };
        out += &line(header.iter().map(|h| h.to_string()).collect());
        out += &line(widths.iter().map(|w| "-".repeat(*w)).collect());
        for r in rows {
            out += &line(r);
        }
        out
    }
}
