//! The `spillway.summary/v1` JSON document.

use super::Exporter;
use crate::metrics::Summary;

/// Pretty-printed JSON with a trailing newline.
pub struct Json;

impl Exporter for Json {
    fn render(&self, summary: &Summary) -> String {
        let mut s = serde_json::to_string_pretty(summary).expect("summary serializes");
        s.push('\n');
        s
    }
}

impl Json {
    /// The rendered document as bytes.
    pub fn render_bytes(&self, summary: &Summary) -> Vec<u8> {
        self.render(summary).into_bytes()
    }
}
