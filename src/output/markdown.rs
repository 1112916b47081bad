//! Markdown summary for pull requests and slides: the report's words and tables
//! ([`crate::words::run_markdown`]).

use super::Exporter;
use crate::metrics::Summary;

/// Comparison sentences, the side-by-side table and per-deployment detail.
pub struct Markdown;

impl Exporter for Markdown {
    fn render(&self, summary: &Summary) -> String {
        // The same words and tables as the HTML report's, for pull requests and slides.
        crate::words::run_markdown(summary)
    }
}
