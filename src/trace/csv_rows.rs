//! The CSV formats: Azure's LLM inference trace, BurstGPT, and Spillway's own CSV. Columns
//! are found by their header name (any order; case and surrounding spaces do not matter for
//! the foreign formats), rows are read one at a time into a reused record.

use std::io::BufRead;

use super::TraceFormat;
use super::clock::ClockKind;
use super::row::{self, Bad, Row};
use super::state::SessionKey;

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Col {
    /// Read past (a column the format does not use).
    Ignored,
    /// Date-times (Azure).
    TimeDate,
    /// Decimal seconds (BurstGPT).
    TimeSeconds,
    /// Decimal seconds or date-times (Spillway).
    TimeEither,
    Session,
    Step,
    Model,
    Prompt,
    Completion,
    MaxTokens,
    Streaming,
    Class,
    CachedPrompt,
    DurationMs,
    ElapsedS,
    Failed,
}

/// Spillway's CSV columns, as documented in `docs/traces.md`.
const SPILLWAY_COLUMNS: &[(&str, Col)] = &[
    ("timestamp", Col::TimeEither),
    ("session", Col::Session),
    ("step", Col::Step),
    ("model", Col::Model),
    ("prompt", Col::Prompt),
    ("completion", Col::Completion),
    ("max_tokens", Col::MaxTokens),
    ("streaming", Col::Streaming),
    ("class", Col::Class),
    ("cached_prompt", Col::CachedPrompt),
    ("duration_ms", Col::DurationMs),
    ("failed", Col::Failed),
];

/// Azure's columns (lowercase).
const AZURE_COLUMNS: &[(&str, Col)] = &[
    ("timestamp", Col::TimeDate),
    ("contexttokens", Col::Prompt),
    ("generatedtokens", Col::Completion),
];

/// BurstGPT's columns (lowercase); `Total tokens` is read past.
const BURSTGPT_COLUMNS: &[(&str, Col)] = &[
    ("timestamp", Col::TimeSeconds),
    ("session id", Col::Session),
    ("elapsed time", Col::ElapsedS),
    ("model", Col::Model),
    ("request tokens", Col::Prompt),
    ("response tokens", Col::Completion),
    ("total tokens", Col::Ignored),
    ("log type", Col::Class),
];

/// The columns every row of a format must have, as its documentation spells them.
fn required(format: TraceFormat) -> &'static [&'static str] {
    match format {
        TraceFormat::Azure => &["TIMESTAMP", "ContextTokens", "GeneratedTokens"],
        TraceFormat::BurstGpt => &["Timestamp", "Request tokens", "Response tokens"],
        _ => &["timestamp", "prompt", "completion"],
    }
}

fn table(format: TraceFormat) -> &'static [(&'static str, Col)] {
    match format {
        TraceFormat::Azure => AZURE_COLUMNS,
        TraceFormat::BurstGpt => BURSTGPT_COLUMNS,
        _ => SPILLWAY_COLUMNS,
    }
}

/// A header name as compared: trimmed, without a byte-order mark, lowercase.
fn norm(name: &str) -> String {
    name.trim_start_matches('\u{feff}')
        .trim()
        .to_ascii_lowercase()
}

/// The CSV format a header names, when exactly one fits: `Err` lists the candidates when
/// several do, `Ok(None)` when none does.
pub fn sniff(names: &[String]) -> Result<Option<TraceFormat>, Vec<TraceFormat>> {
    let has = |n: &str| names.iter().any(|x| norm(x) == n);
    let mut fits = Vec::new();
    if has("contexttokens") && has("generatedtokens") {
        fits.push(TraceFormat::Azure);
    }
    if has("request tokens") && has("response tokens") {
        fits.push(TraceFormat::BurstGpt);
    }
    if has("timestamp") && has("prompt") && has("completion") {
        fits.push(TraceFormat::SpillwayCsv);
    }
    match fits.len() {
        0 => Ok(None),
        1 => Ok(Some(fits[0])),
        _ => Err(fits),
    }
}

/// A CSV trace being read: physical lines are read one at a time (so that every error names
/// the right line, blank lines included) and split by `csv_core` (quotes, CRLF); a quoted
/// field may span lines.
pub struct CsvRows {
    r: Box<dyn BufRead + Send>,
    core: csv_core::Reader,
    buf: Vec<u8>,
    out: Vec<u8>,
    ends: Vec<usize>,
    fields: usize,
    line: u64,
    cols: Vec<Col>,
    names: Vec<String>,
    format: TraceFormat,
}

impl CsvRows {
    /// Reads the header of a `format` trace and finds its columns.
    pub fn new(r: Box<dyn BufRead + Send>, format: TraceFormat) -> Result<CsvRows, Bad> {
        let mut rows = CsvRows {
            r,
            core: csv_core::Reader::new(),
            buf: Vec::new(),
            out: vec![0; 1024],
            ends: vec![0; 32],
            fields: 0,
            line: 0,
            cols: Vec::new(),
            names: Vec::new(),
            format,
        };
        let Some(line) = rows.record()? else {
            return Err(Bad {
                line: 1,
                column: None,
                message: "the trace is empty (no header line)".into(),
            });
        };
        rows.names = (0..rows.fields)
            .map(|i| {
                String::from_utf8_lossy(rows.field(i))
                    .trim_start_matches('\u{feff}')
                    .trim()
                    .to_string()
            })
            .collect();
        rows.cols = columns(format, &rows.names, line)?;
        Ok(rows)
    }

    /// Field `i` of the last record read.
    fn field(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.out[start..self.ends[i]]
    }

    /// Reads the next record (skipping blank lines) into `out`/`ends`; its first line, or
    /// `None` at the end of the file.
    fn record(&mut self) -> Result<Option<u64>, Bad> {
        use csv_core::ReadRecordResult as R;
        let mut first = None;
        let (mut nout, mut nend) = (0, 0);
        loop {
            self.buf.clear();
            let n =
                super::source::read_line(&mut *self.r, &mut self.buf).map_err(|message| Bad {
                    line: self.line + 1,
                    column: None,
                    message,
                })?;
            if n == 0 && first.is_none() {
                return Ok(None);
            }
            if n > 0 {
                self.line += 1;
                if first.is_none() && self.buf.trim_ascii().is_empty() {
                    continue;
                }
                first.get_or_insert(self.line);
            }
            // At the end of the file, an empty input ends the last record.
            let mut input = &self.buf[..];
            loop {
                let (res, nin, o, e) =
                    self.core
                        .read_record(input, &mut self.out[nout..], &mut self.ends[nend..]);
                input = &input[nin..];
                nout += o;
                nend += e;
                match res {
                    R::InputEmpty if n > 0 => break,
                    R::InputEmpty => continue,
                    R::OutputFull => self.out.resize(self.out.len() * 2, 0),
                    R::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                    R::Record | R::End => {
                        // Field ends count from the record's start in `out`.
                        self.fields = nend;
                        return Ok(first);
                    }
                }
            }
        }
    }

    /// Reads the next row into `row`; `false` at the end of the file.
    pub fn next(&mut self, row: &mut Row) -> Result<bool, Bad> {
        let Some(line) = self.record()? else {
            return Ok(false);
        };
        if self.fields != self.cols.len() {
            return Err(Bad {
                line,
                column: None,
                message: format!(
                    "this row has {} fields but the header has {}; every row needs one value per column (an empty one is allowed where a value is optional)",
                    self.fields,
                    self.cols.len()
                ),
            });
        }
        row.reset(line);
        let mut column = 1;
        let mut cached_col = None;
        for i in 0..self.fields {
            let raw = self.field(i);
            let name = &self.names[i];
            let bad = |message: String| Bad {
                line,
                column: Some(column),
                message,
            };
            let text = std::str::from_utf8(raw)
                .map_err(|_| bad(format!("field '{name}' is not UTF-8 text")))?
                .trim();
            if self.cols[i] == Col::CachedPrompt {
                cached_col = Some(column);
            }
            apply(self.cols[i], name, text, column, row).map_err(bad)?;
            column += raw.len() + 1;
        }
        if self.format == TraceFormat::BurstGpt && row.completion == 0 {
            row.failed = true;
        }
        if let Some(c) = row.cached
            && c > row.prompt
        {
            return Err(Bad {
                line,
                column: cached_col,
                message: format!(
                    "field 'cached_prompt' ({c}) is more than the row's prompt tokens ({}); it counts the part of the prompt a cache held",
                    row.prompt
                ),
            });
        }
        Ok(true)
    }
}

/// Maps a header to columns; the format's required columns must be there, and Spillway's
/// own format allows no unknown or repeated column.
fn columns(format: TraceFormat, names: &[String], line: u64) -> Result<Vec<Col>, Bad> {
    let table = table(format);
    let strict = format == TraceFormat::SpillwayCsv;
    let mut cols = Vec::with_capacity(names.len());
    let mut column = 1;
    for name in names {
        let n = if strict { name.clone() } else { norm(name) };
        let col = table.iter().find(|(k, _)| *k == n).map(|&(_, c)| c);
        let at = |message| Bad {
            line,
            column: Some(column),
            message,
        };
        match col {
            None if strict => {
                let allowed: Vec<&str> = table.iter().map(|(k, _)| *k).collect();
                return Err(at(format!(
                    "unknown column '{name}'; Spillway's CSV has the columns {} (lowercase)",
                    allowed.join(", ")
                )));
            }
            None => cols.push(Col::Ignored),
            Some(c) => {
                if c != Col::Ignored && cols.contains(&c) {
                    return Err(at(format!("column '{name}' appears twice")));
                }
                cols.push(c);
            }
        }
        column += name.len() + 1;
    }
    let missing: Vec<&str> = required(format)
        .iter()
        .filter(|r| !names.iter().any(|n| norm(n) == r.to_ascii_lowercase()))
        .copied()
        .collect();
    if !missing.is_empty() {
        return Err(Bad {
            line,
            column: None,
            message: format!(
                "the {} format needs the columns {}; this header lacks {} (it has: {})",
                format.name(),
                required(format).join(", "),
                missing.join(", "),
                names.join(", ")
            ),
        });
    }
    Ok(cols)
}

/// Reads one field's text into the row.
fn apply(col: Col, name: &str, text: &str, column: usize, row: &mut Row) -> Result<(), String> {
    let empty = text.is_empty();
    match col {
        Col::Ignored => {}
        Col::TimeDate => {
            row.t = row::datetime(name, text)?;
            row.clock = Some(ClockKind::DateTime);
            row.t_col = column;
        }
        Col::TimeSeconds => {
            row.t = row::seconds(name, text)?;
            row.clock = Some(ClockKind::Number);
            row.t_col = column;
        }
        Col::TimeEither => {
            let (t, kind) = row::seconds_or_datetime(name, text)?;
            row.t = t;
            row.clock = Some(kind);
            row.t_col = column;
        }
        Col::Prompt => row.prompt = row::tokens(name, text)?,
        Col::Completion => row.completion = row::tokens(name, text)?,
        _ if empty => {}
        Col::Session => row.session = Some(SessionKey::from_text(text)),
        Col::Step => {
            row.step = Some(row::step(name, text)?);
            row.step_col = column;
        }
        Col::Model => row.set_model(text),
        Col::Class => row.set_class(text),
        Col::MaxTokens => {
            row.max_tokens = Some(row::max_tokens(name, row::tokens(name, text)?)?);
        }
        Col::Streaming => row.streaming = Some(row::boolean(name, text)?),
        Col::Failed => row.failed = row::boolean(name, text)?,
        Col::CachedPrompt => row.cached = Some(row::tokens(name, text)?),
        Col::DurationMs => row.elapsed = Some(row::duration(name, text, "milliseconds", 1_000)?),
        Col::ElapsedS => row.elapsed = Some(row::duration(name, text, "seconds", 1_000_000)?),
    }
    Ok(())
}
