//! Markdown summary for pull requests and slides.

use super::{Exporter, comparison_rows};
use crate::metrics::Summary;

/// Markdown table plus per-deployment detail.
pub struct Markdown;

impl Exporter for Markdown {
    fn render(&self, summary: &Summary) -> String {
        let (header, rows) = comparison_rows(summary);
        let mut out = format!(
            "# Spillway: {}\n\nSeed {}. One row per variant; all variants see the same sampled sessions.\n\n",
            summary.scenario, summary.seed
        );
        out += &format!("| {} |\n", header.join(" | "));
        out += &format!(
            "|{}\n",
            header
                .iter()
                .enumerate()
                .map(|(i, _)| if i == 0 { "---|" } else { "---:|" })
                .collect::<String>()
        );
        for r in rows {
            out += &format!(
                "| {} |\n",
                r.iter()
                    .map(|c| c.replace('|', "\\|"))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
        out += "\n## Deployments\n\n| variant | deployment | kind | attempts | admitted | 429 | 408 | spilled in | mean utilization | cost $ |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
        for v in &summary.variants {
            for d in &v.deployments {
                out += &format!(
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1}% | {:.2} |\n",
                    v.name,
                    d.name,
                    d.kind,
                    d.attempts,
                    d.admitted,
                    d.rejected_429,
                    d.timed_out_408,
                    d.spilled_in,
                    d.utilization_mean * 100.0,
                    d.cost_usd
                );
            }
        }
        out
    }
}
