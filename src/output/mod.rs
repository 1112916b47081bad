//! Output formats. Each format lives in its own file behind [`Exporter`]; files are written
//! atomically ([`write_atomic`]): to a temporary name beside the target, then renamed. Output
//! *directories* are all or nothing ([`dir::OutDir`]): written beside the target, then put in
//! place in one step.

pub mod csv;
pub mod dir;
pub mod json;
pub mod markdown;
pub mod table;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::metrics::Summary;
use crate::words::fixed;

/// Renders a summary document in one format.
pub trait Exporter {
    /// The rendered text.
    fn render(&self, summary: &Summary) -> String;
}

/// The exporter for a `--format` name.
pub fn exporter(format: &str) -> Option<Box<dyn Exporter>> {
    match format {
        "table" => Some(Box::new(table::Table)),
        "json" => Some(Box::new(json::Json)),
        "markdown" => Some(Box::new(markdown::Markdown)),
        _ => None,
    }
}

/// A temporary path beside `path` (same directory, so the rename is atomic).
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".{}.tmp", std::process::id()));
    path.with_file_name(name)
}

/// Writes `bytes` to `path` atomically: readers see the old file or the whole new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    res.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path.display().to_string(), e)
    })
}

/// The side-by-side comparison rows of the table format.
pub(crate) fn comparison_rows(summary: &Summary) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let header = vec![
        "variant",
        "sessions ok",
        "session p50 s",
        "session p95 s",
        "requests",
        "failed %",
        "429 (req)",
        "408/timeout (req)",
        "retries",
        "spilled",
        "e2e p95 s",
        "ttft p50 s",
        "out tokens/req",
        "generated/req",
        "cost $",
        "$/1k sessions",
    ];
    let rows = summary
        .variants
        .iter()
        .map(|v| {
            vec![
                v.name.clone(),
                format!("{}/{}", v.sessions.completed, v.sessions.started),
                fixed(v.sessions.duration_ms.p50 / 1e3, 1),
                fixed(v.sessions.duration_ms.p95 / 1e3, 1),
                v.requests.sent.to_string(),
                fixed(v.requests.failed_ratio * 100.0, 2),
                v.requests.rate_limited.to_string(),
                v.requests.timed_out.to_string(),
                v.requests.retries.to_string(),
                v.requests.spilled.to_string(),
                fixed(v.latency_ms.e2e.p95 / 1e3, 1),
                fixed(v.latency_ms.ttft.p50 / 1e3, 2),
                fixed(v.tokens.completion_per_request, 0),
                fixed(v.tokens.generated_per_request, 0),
                fixed(v.cost_usd.total, 2),
                fixed(v.cost_usd.per_1k_sessions, 2),
            ]
        })
        .collect();
    (header, rows)
}
