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
