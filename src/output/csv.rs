//! CSV outputs: the per-variant time series and the streamed per-request records.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::engine::{RequestRecord, RequestSink};
use crate::error::{Error, Result};
use crate::metrics::SeriesRow;
use crate::runner::FinishingSink;
use crate::scenario::Scenario;

/// A file name made safe from a variant name.
pub fn file_stem(variant: &str) -> String {
    variant
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Checks that no two variants get the same file names ([`file_stem`]): `"a b"` and `"a_b"`
/// would both write `timeseries-a_b.csv`. Names that differ only in case collide too, since
/// they would on macOS and Windows file systems. The error names the scenario `file` and both
/// variants.
pub fn check_stems<'a>(file: &str, variants: impl IntoIterator<Item = &'a str>) -> Result<()> {
    let mut seen: std::collections::BTreeMap<String, &str> = std::collections::BTreeMap::new();
    for v in variants {
        let stem = file_stem(v);
        if let Some(first) = seen.insert(stem.to_lowercase(), v) {
            return Err(Error::Usage(format!(
                "{file}: variants '{first}' and '{v}' would write the same files (timeseries-{}.csv): \
                 file names keep letters, digits, '-', '_' and '.', other characters become '_', \
                 and case is ignored; rename one of them",
                file_stem(first)
            )));
        }
    }
    Ok(())
}

/// Renders the time series of one variant: one row per interval.
pub fn timeseries(sc: &Scenario, rows: &[SeriesRow]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = [
        "t_s",
        "arrivals",
        "completions",
        "failures",
        "rejected_429",
        "timed_out_408",
        "in_flight",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for d in &sc.deployments {
        header.push(format!("{}_tokens_per_min", d.name));
        header.push(format!("{}_utilization", d.name));
    }
    let csv_err = |e: csv::Error| Error::Usage(format!("writing time series: {e}"));
    w.write_record(&header).map_err(csv_err)?;
    for r in rows {
        let mut rec = vec![
            format!("{}", r.t.as_secs_f64()),
            r.arrivals.to_string(),
            r.completions.to_string(),
            r.failures.to_string(),
            r.rejected_429.to_string(),
            r.timed_out_408.to_string(),
            r.in_flight.to_string(),
        ];
        for (tpm, util) in &r.deployments {
            rec.push(format!("{tpm:.1}"));
            rec.push(format!("{util:.4}"));
        }
        w.write_record(&rec).map_err(csv_err)?;
    }
    w.into_inner()
        .map_err(|e| Error::Usage(format!("writing time series: {e}")))
}

/// Streams per-request records to `requests-<variant>.csv` as the run goes: written to a
/// temporary file and renamed into place when the run finishes.
pub struct RequestCsv {
    path: PathBuf,
    tmp: PathBuf,
    writer: csv::Writer<BufWriter<File>>,
    classes: Vec<String>,
    deployments: Vec<String>,
    error: Option<csv::Error>,
}

impl RequestCsv {
    /// Opens the temporary file for `sc`'s variant in `dir`.
    pub fn create(dir: &Path, sc: &Scenario) -> Result<RequestCsv> {
        let path = dir.join(format!("requests-{}.csv", file_stem(&sc.variant)));
        let tmp = super::temp_path(&path);
        let file = File::create(&tmp).map_err(|e| Error::io(tmp.display().to_string(), e))?;
        let mut writer = csv::Writer::from_writer(BufWriter::new(file));
        writer
            .write_record([
                "session",
                "step",
                "class",
                "start_s",
                "end_s",
                "outcome",
                "status",
                "attempts",
                "prompt_tokens",
                "completion_tokens",
                "wanted_tokens",
                "ttft_s",
                "e2e_s",
                "deployment",
                "spilled",
            ])
            .map_err(|e| Error::Usage(format!("{}: {e}", tmp.display())))?;
        Ok(RequestCsv {
            path,
            tmp,
            writer,
            classes: sc.workload.classes.iter().map(|c| c.name.clone()).collect(),
            deployments: sc.deployments.iter().map(|d| d.name.clone()).collect(),
            error: None,
        })
    }
}

impl RequestSink for RequestCsv {
    fn record(&mut self, r: &RequestRecord) {
        if self.error.is_some() {
            return;
        }
        let res = self.writer.write_record([
            r.session.to_string(),
            r.step.to_string(),
            self.classes[r.class].clone(),
            format!("{}", r.start.as_secs_f64()),
            format!("{}", r.end.as_secs_f64()),
            r.outcome.as_str().to_string(),
            r.status.to_string(),
            r.attempts.to_string(),
            r.prompt_tokens.to_string(),
            r.completion_tokens.to_string(),
            r.wanted_tokens.to_string(),
            r.ttft
                .map(|t| format!("{}", t.as_secs_f64()))
                .unwrap_or_default(),
            format!("{}", (r.end - r.start).as_secs_f64()),
            r.deployment
                .map(|d| self.deployments[d].clone())
                .unwrap_or_default(),
            r.spilled.to_string(),
        ]);
        if let Err(e) = res {
            self.error = Some(e);
        }
    }
}

impl Drop for RequestCsv {
    /// A sink dropped before [`FinishingSink::finish`] (a failed or interrupted run) removes
    /// its temporary file; after a finish there is none left to remove.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

impl FinishingSink for RequestCsv {
    fn as_sink(&mut self) -> &mut dyn RequestSink {
        self
    }
    fn finish(mut self: Box<Self>) -> Result<()> {
        let path = self.path.display().to_string();
        let fail = |msg: String| Error::Usage(format!("{path}: cannot write: {msg}"));
        // (Dropping `self` on an early return removes the temporary file.)
        if let Some(e) = self.error.take() {
            return Err(fail(e.to_string()));
        }
        self.writer
            .flush()
            .map_err(|e| fail(super::dir::io_words(&e)))?;
        self.writer
            .get_ref()
            .get_ref()
            .sync_all()
            .map_err(|e| fail(super::dir::io_words(&e)))?;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| fail(super::dir::io_words(&e)))?;
        super::dir::step("requests CSV");
        Ok(())
    }
}
