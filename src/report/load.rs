//! Reading saved outputs back: `summary.json` into the engine's own [`Summary`],
//! `sweep.json` into the sweep's own [`SweepDoc`] (each of its runs into a
//! [`VariantSummary`]), and the `timeseries-<variant>.csv` files ([`super::series`]).
//!
//! Nothing is used before it is checked. The schema version is checked first, then the types
//! (serde, with the path of the field at fault), then ranges, indices and consistency
//! ([`super::check`]). A file is refused with one line naming the file, the line and column
//! where known, the field and what is wrong, in the words of the document (never a Rust type
//! name). No allocation is sized by a number read from a file: files are read only up to
//! [`MAX_FILE_BYTES`], and counts and indices are checked against what the file holds.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::check;
use super::series::Series;
use crate::error::{Error, Location, Result};
use crate::metrics::{SUMMARY_SCHEMA, Summary, VariantSummary};
use crate::sweep::{SWEEP_SCHEMA, SweepDoc};

/// The largest file the report reads (128 MiB): a sweep of about 50,000 runs.
pub const MAX_FILE_BYTES: u64 = 128 << 20;

/// A problem at a field of a document: `(field path, what is wrong)`.
pub type Bad = (String, String);

/// `text` on one line: control characters (a newline in a name) escaped as `\n`, `\u{1b}`.
pub fn one_line(text: &str) -> String {
    let mut o = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            o.extend(c.escape_default());
        } else {
            o.push(c);
        }
    }
    o
}

/// `e` with its message on one line ([`one_line`]).
pub fn one_line_error(e: Error) -> Error {
    match e {
        Error::Usage(m) => Error::Usage(one_line(&m)),
        Error::Io { path, source } => Error::Io {
            path: one_line(&path),
            source,
        },
        Error::Scenario { location, message } => {
            Error::Usage(one_line(&format!("{location}: {message}")))
        }
        Error::Interrupted => Error::Interrupted,
    }
}

/// The error for `path` at `field` (and line/column when known).
pub fn bad_at(path: &Path, line_col: Option<(usize, usize)>, field: &str, message: &str) -> Error {
    let loc = Location {
        file: path.display().to_string(),
        line: line_col.map(|l| l.0),
        column: line_col.map(|l| l.1),
        key: (!field.is_empty()).then(|| field.to_string()),
        ..Default::default()
    };
    Error::Usage(format!("{loc}: {message}"))
}

/// Reads a text file of at most [`MAX_FILE_BYTES`].
pub fn read_text(path: &Path) -> Result<String> {
    let io = |e| Error::io(path.display().to_string(), e);
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_FILE_BYTES {
        return Err(bad_at(
            path,
            None,
            "",
            &format!(
                "{size} bytes; the report reads files of at most {} MiB",
                MAX_FILE_BYTES >> 20
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(io)?;
    String::from_utf8(bytes).map_err(|e| {
        let (line, col) = crate::error::line_col(
            &String::from_utf8_lossy(&e.as_bytes()[..e.utf8_error().valid_up_to()]),
            usize::MAX,
        );
        bad_at(path, Some((line, col)), "", "not UTF-8 text")
    })
}

/// A serde message in the document's words: no Rust type names.
pub fn domain_words(message: &str) -> String {
    let mut m = message.to_string();
    for (from, to) in [
        ("expected u64", "expected a whole number >= 0"),
        (
            "expected u32",
            "expected a whole number from 0 to 4294967295",
        ),
        ("expected usize", "expected a whole number >= 0"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected a list"),
        ("expected a map", "expected an object"),
        ("expected a borrowed string", "expected a string"),
        ("invalid type: sequence", "invalid type: list"),
        ("invalid type: map", "invalid type: object"),
        ("floating point", "number"),
    ] {
        m = m.replace(from, to);
    }
    // "expected struct Percentiles" and the like: an object.
    while let Some(i) = m.find("expected struct ") {
        let end = m[i + 16..]
            .find(|c: char| !c.is_alphanumeric())
            .map_or(m.len(), |e| i + 16 + e);
        m.replace_range(i..end, "expected an object");
    }
    m
}

/// The error of a typed read, at the failing field's path.
fn typed_error(path: &Path, e: serde_path_to_error::Error<serde_json::Error>) -> Error {
    let field = e.path().to_string();
    let inner = e.into_inner();
    let line_col = (inner.line() > 0).then(|| (inner.line(), inner.column()));
    let text = inner.to_string();
    let text = match text.rfind(" at line ") {
        Some(i) => &text[..i],
        None => &text,
    };
    let syntax = inner.is_syntax() || inner.is_eof();
    let prefix = if syntax { "not valid JSON: " } else { "" };
    // A syntax error is about the text, not the field being read.
    let field = if field == "." || syntax { "" } else { &field };
    bad_at(
        path,
        line_col,
        field,
        &format!("{prefix}{}", domain_words(text)),
    )
}

/// Checks that `text` is a JSON object whose `schema` is `expected`.
fn check_schema(path: &Path, text: &str, expected: &str, what: &str) -> Result<()> {
    #[derive(Deserialize)]
    struct Head {
        schema: Option<Value>,
    }
    if !text.trim_start().starts_with('{') {
        return Err(bad_at(
            path,
            None,
            "",
            &format!("not {what}: expected a JSON object"),
        ));
    }
    let head: Head =
        serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(text))
            .map_err(|e| typed_error(path, e))?;
    let wrong = |m: String| Err(bad_at(path, None, "schema", &m));
    match head.schema {
        Some(Value::String(s)) if s == expected => Ok(()),
        None => wrong(format!(
            "missing: not {what} (those have \"schema\": \"{expected}\")"
        )),
        Some(other) => wrong(format!(
            "{} is not \"{expected}\", {what} as this spillway writes it",
            check::short_json(&other)
        )),
    }
}

/// Reads and checks `summary.json`.
pub fn read_summary(path: &Path) -> Result<Summary> {
    let text = read_text(path)?;
    check_schema(path, &text, SUMMARY_SCHEMA, "a spillway run summary")?;
    // The summary holds `&'static str` names, which a reader that owns its data can give.
    let mut de = serde_json::Deserializer::from_reader(text.as_bytes());
    let summary: Summary =
        serde_path_to_error::deserialize(&mut de).map_err(|e| typed_error(path, e))?;
    de.end()
        .map_err(|e| bad_at(path, Some((e.line(), e.column())), "", "not valid JSON"))?;
    check::summary(&summary).map_err(|(f, m)| bad_at(path, None, &f, &m))?;
    Ok(summary)
}

/// A checked sweep document, with every run's summary read into the typed struct.
#[derive(Clone, Debug)]
pub struct SavedSweep {
    /// The document as `spillway sweep` wrote it (each run's `summary` is the typed summary
    /// written back, so exactly what was read when it was well formed).
    pub doc: SweepDoc,
    /// `summaries[k]` is `doc.runs[k].summary`, typed.
    pub summaries: Vec<VariantSummary>,
}

/// Reads and checks `sweep.json`.
pub fn read_sweep(path: &Path) -> Result<SavedSweep> {
    let text = read_text(path)?;
    check_schema(path, &text, SWEEP_SCHEMA, "a spillway sweep")?;
    let doc: SweepDoc =
        serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(&text))
            .map_err(|e| typed_error(path, e))?;
    drop(text);
    sweep_from_doc(doc).map_err(|(f, m)| bad_at(path, None, &f, &m))
}

/// Checks a sweep document (already typed) and reads its runs' summaries.
pub fn sweep_from_doc(mut doc: SweepDoc) -> std::result::Result<SavedSweep, Bad> {
    if doc.schema != SWEEP_SCHEMA {
        return Err((
            "schema".into(),
            format!(
                "\"{}\" is not \"{SWEEP_SCHEMA}\", a spillway sweep as this spillway writes it",
                doc.schema
            ),
        ));
    }
    check::sweep(&doc)?;
    let mut summaries = Vec::with_capacity(doc.runs.len());
    for (k, r) in doc.runs.iter_mut().enumerate() {
        let field = |f: &str| {
            format!(
                "runs[{k}].summary{}{f}",
                if f.is_empty() { "" } else { "." }
            )
        };
        // Read from the owned value (the summary's names are `&'static str`), then write the
        // typed summary back in its place: one copy of each run in memory, not two.
        let v: VariantSummary = serde_path_to_error::deserialize(std::mem::take(&mut r.summary))
            .map_err(|e| {
                (
                    field(&e.path().to_string()),
                    domain_words(&e.inner().to_string()),
                )
            })?;
        check::variant(&v).map_err(|(f, m)| (field(&f), m))?;
        if v.name != r.variant {
            return Err((
                field("name"),
                format!("'{}', but the run is of variant '{}'", v.name, r.variant),
            ));
        }
        r.summary = serde_json::to_value(&v).expect("summary serializes");
        // As `spillway sweep` stores it: without the CDF points.
        if let Some(m) = r.summary.as_object_mut() {
            m.remove("distributions");
        }
        summaries.push(v);
    }
    Ok(SavedSweep { doc, summaries })
}

/// A run output directory: the summary and, per variant, its time series when present.
#[derive(Clone, Debug)]
pub struct Run {
    /// `summary.json`.
    pub summary: Summary,
    /// Same order as `summary.variants`; all `None` when the run wrote no time series.
    pub series: Vec<Option<Series>>,
}

impl Run {
    /// Reads `summary.json` and every `timeseries-<variant>.csv` in `dir`: all of them or
    /// none (a run writes one per variant).
    pub fn load(dir: &Path) -> Result<Run> {
        let summary = read_summary(&dir.join("summary.json"))?;
        let paths: Vec<_> = summary
            .variants
            .iter()
            .map(|v| {
                dir.join(format!(
                    "timeseries-{}.csv",
                    crate::output::csv::file_stem(&v.name)
                ))
            })
            .collect();
        let present: Vec<bool> = paths.iter().map(|p| p.is_file()).collect();
        if let (Some(have), Some(miss)) = (
            present.iter().position(|p| *p),
            present.iter().position(|p| !*p),
        ) {
            return Err(bad_at(
                &paths[miss],
                None,
                "",
                &format!(
                    "missing, but {} is there (a run writes one time series per variant)",
                    paths[have]
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                ),
            ));
        }
        let mut series = Vec::with_capacity(paths.len());
        let mut budget = super::series::MAX_SERIES_VALUES;
        for (v, p) in summary.variants.iter().zip(&paths) {
            series.push(if p.is_file() {
                Some(Series::load(p, v, &mut budget)?)
            } else {
                None
            });
        }
        Ok(Run { summary, series })
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::output::Exporter;

    fn results(dir: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("results")
            .join(dir)
    }

    const RUNS: [&str; 3] = [
        "foundry-parallel-load",
        "timeouts-to-triumph",
        "gateway-strategies",
    ];

    #[test]
    fn shipped_summaries_read_into_the_engines_struct_and_write_back_the_same_bytes() {
        for dir in RUNS {
            let path = results(dir).join("summary.json");
            let summary = read_summary(&path).unwrap();
            assert_eq!(summary.schema, SUMMARY_SCHEMA);
            let again = crate::output::json::Json.render_bytes(&summary);
            assert!(
                again == std::fs::read(&path).unwrap(),
                "{dir}: round trip differs"
            );
            // The Markdown exporter says the same on the summary read back.
            let md = crate::output::markdown::Markdown.render(&summary);
            let shipped = std::fs::read_to_string(results(dir).join("summary.md")).unwrap();
            assert!(md == shipped, "{dir}: summary.md differs");
        }
    }

    #[test]
    fn shipped_sweeps_read_into_the_sweeps_struct_and_write_back_the_same_bytes() {
        for dir in ["foundry-parallel-load/sweep", "timeouts-to-triumph/sweep"] {
            let path = results(dir).join("sweep.json");
            let saved = read_sweep(&path).unwrap();
            let again = crate::sweep::json_bytes(&saved.doc);
            assert!(
                again == std::fs::read(&path).unwrap(),
                "{dir}: round trip differs"
            );
            assert_eq!(saved.summaries.len(), saved.doc.runs.len());
            for (typed, r) in saved.summaries.iter().zip(&saved.doc.runs) {
                assert_eq!(typed.name, r.variant);
            }
        }
    }

    #[test]
    fn a_wrong_or_missing_schema_names_the_file_and_the_field() {
        let dir = std::env::temp_dir().join(format!("spillway-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let shipped = std::fs::read_to_string(results(RUNS[1]).join("summary.json")).unwrap();
        let path = dir.join("summary.json");
        for (text, want) in [
            (
                shipped.replace("spillway.summary/v1", "spillway.summary/v2"),
                "\"spillway.summary/v2\" is not \"spillway.summary/v1\"",
            ),
            (
                shipped.replace("\"schema\": \"spillway.summary/v1\",", ""),
                "missing",
            ),
            (shipped.replace("\"spillway.summary/v1\"", "7"), "7 is not"),
        ] {
            std::fs::write(&path, text).unwrap();
            let e = read_summary(&path).unwrap_err().to_string();
            assert!(e.starts_with(&path.display().to_string()), "{e}");
            assert!(e.contains("key 'schema'") && e.contains(want), "{e}");
        }
        let sweep = std::fs::read_to_string(results("timeouts-to-triumph/sweep/sweep.json"))
            .unwrap()
            .replace("spillway.sweep/v1", "spillway.summary/v1");
        let path = dir.join("sweep.json");
        std::fs::write(&path, sweep).unwrap();
        let e = read_sweep(&path).unwrap_err().to_string();
        assert!(e.contains("sweep.json: key 'schema'"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_type_error_names_the_field_line_and_column_in_plain_words() {
        let dir = std::env::temp_dir().join(format!("spillway-load-t-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let shipped = std::fs::read_to_string(results(RUNS[1]).join("summary.json")).unwrap();
        let path = dir.join("summary.json");
        std::fs::write(
            &path,
            shipped.replacen("\"sent\": 32962", "\"sent\": -3", 1),
        )
        .unwrap();
        let e = read_summary(&path).unwrap_err().to_string();
        assert!(
            e.contains("key 'variants[0].requests.sent'")
                && e.contains("expected a whole number >= 0")
                && !e.contains("u64"),
            "{e}"
        );
        // file:line:column
        let loc = e.split(": ").next().unwrap();
        assert_eq!(loc.matches(':').count(), 2, "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_stay_on_one_line() {
        assert_eq!(one_line("a\nb\tc\u{1b}"), "a\\nb\\tc\\u{1b}");
        let e = one_line_error(Error::Usage("x: 'two\nlines'".into()));
        assert_eq!(e.to_string(), "x: 'two\\nlines'");
    }

    #[test]
    fn serde_messages_lose_their_rust_type_names() {
        assert_eq!(
            domain_words("invalid value: integer `-1`, expected u64"),
            "invalid value: integer `-1`, expected a whole number >= 0"
        );
        assert_eq!(
            domain_words("invalid type: string \"x\", expected struct Percentiles"),
            "invalid type: string \"x\", expected an object"
        );
        assert_eq!(
            domain_words("invalid type: floating point `1.5`, expected u64"),
            "invalid type: number `1.5`, expected a whole number >= 0"
        );
    }
}
