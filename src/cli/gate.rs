//! The SLO gate's report, as `check`, `sweep --check` and `merge --check` print and write it:
//! an aligned table, Markdown (a pull-request comment), JSON (`spillway.check/v1`) or JUnit
//! XML (one test case per SLO x variant, or SLO x variant x sweep point, which CI systems
//! render natively).
//!
//! Values and bounds are shown in the metric's unit (seconds for durations, % for ratios,
//! dollars for costs); JSON also carries them as numbers in the summary's own unit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use quick_xml::Writer;
use quick_xml::escape::partial_escape;
use quick_xml::events::{BytesDecl, BytesText, Event};
use serde::Serialize;
use serde_json::Value as Json;

use crate::error::{Error, Result};
use crate::output::write_atomic;
use crate::slo::Verdict;
use crate::sweep::{self, SweepDoc};

/// Formats of the SLO report.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum CheckFormat {
    /// Aligned text.
    Table,
    /// Markdown, for a pull-request comment.
    Markdown,
    /// The `spillway.check/v1` JSON document.
    Json,
    /// JUnit XML: one test case per SLO x variant (x sweep point).
    Junit,
}

impl CheckFormat {
    /// Whether the format is a machine-read document (so nothing else goes to stdout).
    pub fn is_document(self) -> bool {
        matches!(self, CheckFormat::Json | CheckFormat::Junit)
    }
}

/// Schema name of the JSON report.
pub const CHECK_SCHEMA: &str = "spillway.check/v1";

/// `--out FILE` / `--check-out FILE`: a report file whose extension names its format.
pub fn parse_report_path(text: &str) -> std::result::Result<(PathBuf, CheckFormat), String> {
    let path = PathBuf::from(text);
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let format = match ext.as_deref() {
        Some("xml") => CheckFormat::Junit,
        Some("json") => CheckFormat::Json,
        Some("md") | Some("markdown") => CheckFormat::Markdown,
        Some("txt") => CheckFormat::Table,
        _ => {
            return Err(
                "the file's extension names its format: .xml (JUnit), .json, .md (Markdown) or .txt (table)"
                    .into(),
            );
        }
    };
    Ok((path, format))
}

/// One gate's verdicts and what they were measured on.
pub struct Gate {
    /// Scenario name.
    pub scenario: String,
    /// Master seed.
    pub seed: u64,
    /// The verdicts, SLO-major.
    pub verdicts: Vec<Verdict>,
    /// Sweep points by index: label (`users=4 copies=1`) and values.
    pub points: BTreeMap<usize, (String, BTreeMap<String, Json>)>,
}

impl Gate {
    /// The gate of a finished (whole or merged) sweep.
    pub fn of_sweep(doc: &SweepDoc) -> Gate {
        let labels: BTreeMap<usize, String> = sweep::point_labels(doc).into_iter().collect();
        Gate {
            scenario: doc.scenario.clone(),
            seed: doc.seed,
            verdicts: sweep::verdicts(doc),
            points: doc
                .points
                .iter()
                .map(|p| {
                    let label = labels.get(&p.point).cloned().unwrap_or_default();
                    (p.point, (label, p.values.clone()))
                })
                .collect(),
        }
    }

    /// Whether every check holds.
    pub fn passed(&self) -> bool {
        self.verdicts.iter().all(|v| v.pass)
    }

    /// The exit code: 0 when every check holds, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.passed() { 0 } else { 1 }
    }

    fn failed(&self) -> usize {
        self.verdicts.iter().filter(|v| !v.pass).count()
    }

    fn label(&self, v: &Verdict) -> Option<String> {
        v.point.map(|p| {
            self.points
                .get(&p)
                .map(|(l, _)| l.clone())
                .unwrap_or_else(|| p.to_string())
        })
    }

    fn verdict_line(&self) -> String {
        match self.failed() {
            0 => format!("all {} SLO checks pass", self.verdicts.len()),
            n => format!("{n} of {} SLO checks FAIL", self.verdicts.len()),
        }
    }

    /// The report in `format`.
    pub fn render(&self, format: CheckFormat) -> Result<Vec<u8>> {
        Ok(match format {
            CheckFormat::Table => self.table(false).into_bytes(),
            CheckFormat::Markdown => self.table(true).into_bytes(),
            CheckFormat::Json => self.json(),
            CheckFormat::Junit => self
                .junit()
                .map_err(|e| Error::Usage(format!("writing the JUnit report: {e}")))?,
        })
    }

    fn rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        let mut header = vec!["slo", "variant"];
        let sweep = self.verdicts.iter().any(|v| v.point.is_some());
        if sweep {
            header.push("point");
        }
        header.extend(["bound", "measured", "verdict"]);
        let rows = self
            .verdicts
            .iter()
            .map(|v| {
                let mut r = vec![v.slo.clone(), v.variant.clone()];
                r.extend(self.label(v));
                r.extend([
                    v.bound_text(),
                    v.value_text(),
                    if v.pass { "pass" } else { "FAIL" }.to_string(),
                ]);
                r
            })
            .collect();
        (header, rows)
    }

    fn table(&self, markdown: bool) -> String {
        let (header, rows) = self.rows();
        if markdown {
            let mut s = String::from("## SLO checks\n\n");
            s += &format!(
                "| {} |\n|{}\n",
                header.join(" | "),
                "---|".repeat(header.len())
            );
            for r in &rows {
                let cells: Vec<String> = r
                    .iter()
                    .map(|c| match c.as_str() {
                        "FAIL" => "**FAIL**".to_string(),
                        _ => c.replace('|', "\\|"),
                    })
                    .collect();
                s += &format!("| {} |\n", cells.join(" | "));
            }
            let line = self.verdict_line();
            s += &match self.failed() {
                0 => format!("\n{line}\n"),
                _ => format!("\n**{line}**\n"),
            };
            return s;
        }
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for r in &rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: &[String]| -> String {
            let text: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            text.join("  ").trim_end().to_string() + "\n"
        };
        let mut s = line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
        s += &line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>());
        for r in &rows {
            s += &line(r);
        }
        s + &self.verdict_line() + "\n"
    }

    fn json(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Check<'a> {
            #[serde(flatten)]
            verdict: &'a Verdict,
            #[serde(skip_serializing_if = "Option::is_none")]
            point_values: Option<&'a BTreeMap<String, Json>>,
            bound_text: String,
            value_text: String,
        }
        #[derive(Serialize)]
        struct Doc<'a> {
            schema: &'static str,
            scenario: &'a str,
            seed: u64,
            passed: bool,
            checks: usize,
            failed: usize,
            results: Vec<Check<'a>>,
        }
        let doc = Doc {
            schema: CHECK_SCHEMA,
            scenario: &self.scenario,
            seed: self.seed,
            passed: self.passed(),
            checks: self.verdicts.len(),
            failed: self.failed(),
            results: self
                .verdicts
                .iter()
                .map(|v| Check {
                    verdict: v,
                    point_values: v.point.and_then(|p| self.points.get(&p)).map(|(_, m)| m),
                    bound_text: v.bound_text(),
                    value_text: v.value_text(),
                })
                .collect(),
        };
        let mut s = serde_json::to_string_pretty(&doc).expect("the check report serializes");
        s.push('\n');
        s.into_bytes()
    }

    /// JUnit XML: `<testsuites>` for the gate, one `<testsuite>` per SLO, one `<testcase>`
    /// per variant (and sweep point) with a `<failure>` carrying the measured value and the
    /// bound when it fails.
    fn junit(&self) -> std::io::Result<Vec<u8>> {
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        // SLOs in file order, each with its verdicts.
        let mut slos: Vec<(&str, Vec<&Verdict>)> = Vec::new();
        for v in &self.verdicts {
            match slos.last_mut() {
                Some((name, vs)) if *name == v.slo => vs.push(v),
                _ => slos.push((&v.slo, vec![v])),
            }
        }
        let tests = self.verdicts.len().to_string();
        let failures = self.failed().to_string();
        let title = xml_safe(&format!("spillway SLO checks: {}", self.scenario));
        w.create_element("testsuites")
            .with_attributes([
                ("name", title.as_str()),
                ("tests", &tests),
                ("failures", &failures),
                ("errors", "0"),
            ])
            .write_inner_content(|w| {
                for (name, vs) in &slos {
                    self.junit_suite(w, name, vs)?;
                }
                Ok(())
            })?;
        let mut bytes = w.into_inner();
        bytes.push(b'\n');
        Ok(bytes)
    }

    fn junit_suite(
        &self,
        w: &mut Writer<Vec<u8>>,
        name: &str,
        vs: &[&Verdict],
    ) -> std::io::Result<()> {
        let tests = vs.len().to_string();
        let failures = vs.iter().filter(|v| !v.pass).count().to_string();
        let name = xml_safe(name);
        let metric = xml_safe(&vs[0].metric);
        let bound = xml_safe(&vs[0].bound_text());
        w.create_element("testsuite")
            .with_attributes([
                ("name", name.as_str()),
                ("tests", &tests),
                ("failures", &failures),
                ("errors", "0"),
                ("skipped", "0"),
            ])
            .write_inner_content(|w| {
                w.create_element("properties").write_inner_content(|w| {
                    for (k, v) in [("metric", &metric), ("bound", &bound)] {
                        w.create_element("property")
                            .with_attributes([("name", k), ("value", v.as_str())])
                            .write_empty()?;
                    }
                    Ok(())
                })?;
                for v in vs {
                    let case = xml_safe(&match self.label(v) {
                        Some(l) => format!("{} @ {l}", v.variant),
                        None => v.variant.clone(),
                    });
                    let measured = format!("measured {}, bound {}", v.value_text(), bound);
                    let el = w
                        .create_element("testcase")
                        .with_attributes([("name", case.as_str()), ("classname", name.as_str())]);
                    if v.pass {
                        el.write_inner_content(|w| {
                            w.create_element("system-out")
                                .write_text_content(text(&measured))?;
                            Ok(())
                        })?;
                    } else {
                        let detail = format!(
                            "SLO '{name}' fails for {case}: {metric} is {} (summary value {}), bound {bound}",
                            v.value_text(),
                            v.value
                        );
                        el.write_inner_content(|w| {
                            w.create_element("failure")
                                .with_attributes([("message", measured.as_str()), ("type", "SLO")])
                                .write_text_content(text(&detail))?;
                            Ok(())
                        })?;
                    }
                }
                Ok(())
            })?;
        Ok(())
    }
}

/// Element text: `<`, `>` and `&` escaped (quotes need no escaping outside attributes).
fn text(s: &str) -> BytesText<'static> {
    BytesText::from_escaped(partial_escape(xml_safe(s)).into_owned())
}

/// Characters XML 1.0 cannot carry (control characters other than tab and newlines) become
/// U+FFFD; everything else is escaped by the writer.
fn xml_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && !matches!(c, '\t' | '\n' | '\r') {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// Prints the gate's report on stdout in `format` and writes each `files` entry (format from
/// its extension) atomically; says so on stderr unless `quiet`. Every file is rendered before
/// any is written. Returns the exit code: 0 when every check holds, 1 otherwise.
pub fn emit(
    gate: &Gate,
    format: CheckFormat,
    files: &[(PathBuf, CheckFormat)],
    quiet: bool,
) -> Result<u8> {
    let stdout_doc = gate.render(format)?;
    let rendered: Vec<(&Path, Vec<u8>)> = files
        .iter()
        .map(|(p, f)| Ok((p.as_path(), gate.render(*f)?)))
        .collect::<Result<_>>()?;
    for (path, bytes) in &rendered {
        write_atomic(path, bytes)?;
        if !quiet {
            eprintln!("spillway: wrote {}", path.display());
        }
    }
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(&stdout_doc);
    Ok(gate.exit_code())
}
