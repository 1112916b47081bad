//! Per-request telemetry: the common record every reader produces, and Spillway's own CSV
//! format (documented in `docs/calibration.md`).
//!
//! Every problem in a file is reported as `FILE:LINE:COLUMN: column 'NAME': what is wrong;
//! what is allowed`, where COLUMN counts characters from 1 at the start of the field.

use std::collections::BTreeSet;

use crate::error::{Error, Location, Result};

/// How a request ended, as the status mix counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// A 2xx answer.
    Ok,
    /// HTTP 429.
    RateLimited,
    /// HTTP 408, 504, or no answer at all (status 0: the client timed out).
    Timeout,
    /// Another 5xx.
    ServerError,
    /// Anything else (another 4xx, or a client-side failure without a status).
    OtherError,
}

impl Outcome {
    /// The outcome of an HTTP status (`0` = no answer: a client timeout).
    pub fn of_status(status: u16) -> Outcome {
        match status {
            200..=299 => Outcome::Ok,
            429 => Outcome::RateLimited,
            0 | 408 | 504 => Outcome::Timeout,
            500..=599 => Outcome::ServerError,
            _ => Outcome::OtherError,
        }
    }
}

/// One request as the calibration sees it, whatever file it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// Line (CSV) or line of the object's start (JSON) in the source, for messages.
    pub line: usize,
    /// Start time in seconds on the file's own clock (only differences matter); `None` when
    /// the source has no timestamps.
    pub start_s: Option<f64>,
    /// Model name: what a `[models."NAME"]` block is written for.
    pub model: String,
    /// Deployment (concurrency is counted per model and deployment).
    pub deployment: String,
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Completion tokens delivered.
    pub completion_tokens: u32,
    /// Time to first token, seconds (streamed answers only).
    pub ttft_s: Option<f64>,
    /// End-to-end duration, seconds (`None` when the source has none, e.g. a timeout).
    pub e2e_s: Option<f64>,
    /// HTTP status, when the source has one (`0` = no answer).
    pub status: Option<u16>,
    /// How it ended.
    pub outcome: Outcome,
    /// Retry-After sent with a 429, seconds.
    pub retry_after_s: Option<f64>,
    /// Whether the answer was streamed.
    pub streaming: bool,
}

/// Which reader a file needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Spillway's telemetry CSV (`docs/calibration.md`).
    Spillway,
    /// LatencyLab's `prompt.csv`: one row per timestamp, one column group per endpoint.
    Latencylab,
    /// llmperf's `individual/*.json` (one file, or a directory of them).
    Llmperf,
}

impl Format {
    /// The name used on the command line and in outputs.
    pub fn name(self) -> &'static str {
        match self {
            Format::Spillway => "spillway",
            Format::Latencylab => "latencylab",
            Format::Llmperf => "llmperf",
        }
    }
}

/// A telemetry file read into requests.
#[derive(Clone, Debug)]
pub struct Telemetry {
    /// The path as given.
    pub file: String,
    /// The reader used.
    pub format: Format,
    /// Requests in file order.
    pub requests: Vec<Request>,
    /// What the reader assumed (unit conversions, status mappings), for the outputs.
    pub assumptions: Vec<String>,
}

/// The columns of Spillway's telemetry CSV, in the documented order.
pub const COLUMNS: [&str; 10] = [
    "timestamp",
    "model",
    "deployment",
    "prompt_tokens",
    "completion_tokens",
    "ttft_ms",
    "duration_ms",
    "status",
    "retry_after_ms",
    "streaming",
];
/// Columns a Spillway telemetry CSV must have.
pub const REQUIRED: [&str; 6] = [
    "timestamp",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "duration_ms",
    "status",
];
/// The largest token count accepted in a row.
pub const MAX_TOKENS: u64 = 100_000_000;
/// The longest duration accepted, in seconds (a week).
pub const MAX_SECONDS: f64 = 7.0 * 24.0 * 3600.0;

/// A located problem in a text file: `file:line:column: message`.
pub fn located(file: &str, line: usize, column: usize, message: String) -> Error {
    Error::Scenario {
        location: Box::new(Location {
            file: file.to_string(),
            line: Some(line),
            column: Some(column),
            ..Default::default()
        }),
        message,
    }
}

/// Reads `text` as UTF-8, naming the line and column of the first bad byte.
pub fn utf8(file: &str, bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let ok = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(&e.as_bytes()[..ok]).into_owned();
        let (line, col) = crate::error::line_col(&text, ok);
        located(
            file,
            line,
            col,
            format!("byte {ok} is not UTF-8 text; save the file as UTF-8"),
        )
    })
}

/// 1-based character column where field `index` starts on the CSV line that begins at byte
/// `line_start` of `text` (quotes respected).
pub fn field_column(text: &str, line_start: usize, index: usize) -> usize {
    let line = &text[line_start.min(text.len())..];
    let (mut field, mut quoted, mut col) = (0, false, 1);
    for ch in line.chars() {
        if field == index {
            return col;
        }
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => field += 1,
            '\n' | '\r' if !quoted => break,
            _ => {}
        }
        col += 1;
    }
    col
}

/// A CSV cell being read: where it is, for messages.
pub struct Cell<'a> {
    /// The file.
    pub file: &'a str,
    /// The whole text (to find the column).
    pub text: &'a str,
    /// Byte where the record's line starts.
    pub line_start: usize,
    /// 1-based line.
    pub line: usize,
    /// Field index.
    pub index: usize,
    /// The column's name.
    pub name: &'a str,
    /// The cell's text, trimmed.
    pub value: &'a str,
}

impl Cell<'_> {
    /// An error at this cell.
    pub fn err(&self, what: impl std::fmt::Display) -> Error {
        located(
            self.file,
            self.line,
            field_column(self.text, self.line_start, self.index),
            format!("column '{}': {what}", self.name),
        )
    }

    /// A number `>= 0` (finite), or `None` when empty.
    pub fn non_negative(&self, unit: &str) -> Result<Option<f64>> {
        if self.value.is_empty() {
            return Ok(None);
        }
        match self.value.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
            _ => Err(self.err(format!(
                "'{}' is not a number of {unit}; expected a number >= 0, or nothing",
                self.value
            ))),
        }
    }

    /// A duration in the given unit (`scale` = seconds per unit), at most a week.
    pub fn duration(&self, unit: &str, scale: f64) -> Result<Option<f64>> {
        let v = self.non_negative(unit)?;
        match v {
            Some(x) if x * scale > MAX_SECONDS => Err(self.err(format!(
                "{} {unit} is longer than a week; expected a request's duration",
                self.value
            ))),
            _ => Ok(v.map(|x| x * scale)),
        }
    }

    /// A whole number of tokens, or `None` when empty.
    pub fn tokens(&self) -> Result<Option<u32>> {
        if self.value.is_empty() {
            return Ok(None);
        }
        match self.value.parse::<u64>() {
            Ok(v) if v <= MAX_TOKENS => Ok(Some(v as u32)),
            _ => Err(self.err(format!(
                "'{}' is not a token count; expected a whole number from 0 to {MAX_TOKENS}",
                self.value
            ))),
        }
    }
}

/// Seconds since 1970 of an RFC 3339 UTC timestamp (`2024-04-12T10:32:28.690Z`, with `T`
/// or a space, the `Z` optional, up to 9 decimals), or of a plain number of seconds.
pub fn timestamp_seconds(value: &str) -> Option<f64> {
    if let Ok(v) = value.parse::<f64>() {
        return v.is_finite().then_some(v);
    }
    let t = humantime::parse_rfc3339_weak(value).ok()?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(d.as_secs() as f64 + d.subsec_nanos() as f64 * 1e-9)
}

/// Reads Spillway's telemetry CSV.
pub fn read_spillway(file: &str, text: &str) -> Result<Telemetry> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = rdr.records();
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(csv_error(file, &e)),
        None => return Err(located(
            file,
            1,
            1,
            "the file is empty; expected a header line naming the columns (timestamp, model, ...)"
                .into(),
        )),
    };
    let mut at = [usize::MAX; COLUMNS.len()];
    for (i, name) in header.iter().enumerate() {
        let name = name.trim().trim_start_matches('\u{feff}');
        let col = field_column(text, 0, i);
        match COLUMNS.iter().position(|c| *c == name) {
            Some(k) if at[k] != usize::MAX => {
                return Err(located(
                    file,
                    1,
                    col,
                    format!("column '{name}' appears twice"),
                ));
            }
            Some(k) => at[k] = i,
            None => {
                return Err(located(
                    file,
                    1,
                    col,
                    format!(
                        "unknown column '{name}'; the columns are {} (see docs/calibration.md)",
                        COLUMNS.join(", ")
                    ),
                ));
            }
        }
    }
    let missing: Vec<&str> = REQUIRED
        .iter()
        .filter(|c| at[COLUMNS.iter().position(|x| x == *c).unwrap()] == usize::MAX)
        .copied()
        .collect();
    if !missing.is_empty() {
        return Err(located(
            file,
            1,
            1,
            format!("the header lacks the column(s) {}", missing.join(", ")),
        ));
    }
    let mut requests = Vec::new();
    let mut ignored_ttft = 0usize;
    for rec in records {
        let rec = rec.map_err(|e| csv_error(file, &e))?;
        let Some((line, line_start)) = row_position(file, &rec, header.len())? else {
            continue;
        };
        let cell = |k: usize| Cell {
            file,
            text,
            line_start,
            line,
            index: at[k],
            name: COLUMNS[k],
            value: if at[k] == usize::MAX {
                ""
            } else {
                rec[at[k]].trim()
            },
        };
        let (r, ignored) = spillway_row(&cell, line)?;
        ignored_ttft += ignored as usize;
        requests.push(r);
    }
    let mut assumptions = vec![
        "status 0 = no answer (the client timed out); 408, 504 and 0 count as timeouts".to_string(),
    ];
    if ignored_ttft > 0 {
        assumptions.push(format!(
            "{ignored_ttft} non-streamed row(s) gave ttft_ms: ignored (a non-streamed answer arrives whole)"
        ));
    }
    Ok(Telemetry {
        file: file.to_string(),
        format: Format::Spillway,
        requests,
        assumptions,
    })
}

/// One data row of Spillway's CSV; also says whether a `ttft_ms` was ignored.
fn spillway_row<'a>(cell: &dyn Fn(usize) -> Cell<'a>, line: usize) -> Result<(Request, bool)> {
    let ts = cell(0);
    let start_s = timestamp_seconds(ts.value).ok_or_else(|| {
        ts.err(format!(
            "'{}' is not a timestamp; expected RFC 3339 UTC like 2024-04-12T10:32:28.690Z, or seconds",
            ts.value
        ))
    })?;
    let model = cell(1);
    if model.value.is_empty() {
        return Err(model.err("is empty; every row names its model"));
    }
    let st = cell(7);
    let status = match st.value.parse::<u16>() {
        Ok(s) if s == 0 || (100..=599).contains(&s) => s,
        _ => {
            return Err(st.err(format!(
                "'{}' is not a status; expected an HTTP status from 100 to 599, or 0 for no answer (a client timeout)",
                st.value
            )));
        }
    };
    let outcome = Outcome::of_status(status);
    let ok = outcome == Outcome::Ok;
    let streaming = match cell(9).value.to_ascii_lowercase().as_str() {
        "" | "false" => false,
        "true" => true,
        v => return Err(cell(9).err(format!("'{v}' is not true or false"))),
    };
    let need = |k: usize, v: Option<u32>| -> Result<u32> {
        match v {
            Some(v) => Ok(v),
            None if !ok => Ok(0),
            None => Err(cell(k).err("is empty; a successful request needs its token counts")),
        }
    };
    let prompt_tokens = need(3, cell(3).tokens()?)?;
    let completion_tokens = need(4, cell(4).tokens()?)?;
    let e2e_s = cell(6).duration("milliseconds", 1e-3)?;
    if ok && e2e_s.is_none() {
        return Err(cell(6).err("is empty; a successful request needs its duration"));
    }
    let ttft_raw = cell(5).duration("milliseconds", 1e-3)?;
    let ttft_s = if streaming { ttft_raw } else { None };
    if let (Some(t), Some(e)) = (ttft_s, e2e_s)
        && t > e + 1e-9
    {
        return Err(cell(5).err(format!(
            "time to first token {} ms is after the end of the request ({} ms)",
            cell(5).value,
            cell(6).value
        )));
    }
    Ok((
        Request {
            line,
            start_s: Some(start_s),
            model: model.value.to_string(),
            deployment: cell(2).value.to_string(),
            prompt_tokens,
            completion_tokens,
            ttft_s,
            e2e_s,
            status: Some(status),
            outcome,
            retry_after_s: cell(8).duration("milliseconds", 1e-3)?,
            streaming,
        },
        !streaming && ttft_raw.is_some(),
    ))
}

/// A CSV syntax error with its line.
pub fn csv_error(file: &str, e: &csv::Error) -> Error {
    let line = e.position().map_or(1, |p| p.line() as usize);
    let what = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields, but the header names {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_string(),
        _ => format!("not a CSV line ({e})"),
    };
    located(file, line, 1, what)
}

/// A data row's line and byte offset, or `None` for a blank line; an error when its field
/// count differs from the header's.
pub fn row_position(
    file: &str,
    rec: &csv::StringRecord,
    header_len: usize,
) -> Result<Option<(usize, usize)>> {
    let pos = rec.position().expect("csv records carry their position");
    let (line, line_start) = (pos.line() as usize, pos.byte() as usize);
    if rec.len() == 1 && rec[0].trim().is_empty() {
        return Ok(None);
    }
    if rec.len() != header_len {
        return Err(located(
            file,
            line,
            1,
            format!("{} fields, but the header names {header_len}", rec.len()),
        ));
    }
    Ok(Some((line, line_start)))
}

/// The model names in `requests`, sorted.
pub fn model_names(requests: &[Request]) -> Vec<String> {
    let set: BTreeSet<&str> = requests.iter().map(|r| r.model.as_str()).collect();
    set.into_iter().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "timestamp,model,deployment,prompt_tokens,completion_tokens,ttft_ms,duration_ms,status,retry_after_ms,streaming\n";

    #[test]
    fn reads_rows_and_maps_statuses() {
        let text = format!(
            "{HEAD}2024-04-12T10:00:00Z,gpt-4o,d1,1000,200,450,2450,200,,true\n\
             2024-04-12T10:00:01.5Z,gpt-4o,d1,1000,,,,429,2000,false\n\
             1712916002,gpt-4o,,10,0,,30000,0,,\n"
        );
        let t = read_spillway("t.csv", &text).unwrap();
        assert_eq!(t.requests.len(), 3);
        let r = &t.requests[0];
        assert_eq!((r.prompt_tokens, r.completion_tokens), (1000, 200));
        assert_eq!(r.ttft_s, Some(0.45));
        assert!(r.streaming && r.outcome == Outcome::Ok);
        assert_eq!(t.requests[1].outcome, Outcome::RateLimited);
        assert_eq!(t.requests[1].retry_after_s, Some(2.0));
        assert!(
            (t.requests[1].start_s.unwrap() - t.requests[0].start_s.unwrap() - 1.5).abs() < 1e-6
        );
        assert_eq!(t.requests[2].outcome, Outcome::Timeout);
        assert_eq!(t.requests[2].line, 4);
    }

    #[test]
    fn errors_name_line_column_and_what_is_allowed() {
        let bad = |row: &str| {
            read_spillway("t.csv", &format!("{HEAD}{row}\n"))
                .unwrap_err()
                .to_string()
        };
        let e = bad("2024-04-12T10:00:00Z,m,d,100,20,abc,900,200,,true");
        assert_eq!(
            e,
            "t.csv:2:33: column 'ttft_ms': 'abc' is not a number of milliseconds; expected a number >= 0, or nothing"
        );
        assert!(bad("yesterday,m,d,1,1,,5,200,,").starts_with("t.csv:2:1: column 'timestamp'"));
        assert!(bad("1,m,d,1,1,,5,700,,").contains("column 'status': '700' is not a status"));
        assert!(bad("1,m,d,1,1,9,5,200,,true").contains("after the end of the request"));
        assert!(bad("1,m,d,1,1,,,200,,").contains("needs its duration"));
        assert!(bad("1,m,d,-4,1,,5,200,,").contains("column 'prompt_tokens'"));
        assert!(bad("1,m,d,1,1,,5,200,,maybe").contains("'maybe' is not true or false"));
        assert!(bad("1,m,d,1,1,,5,200").starts_with("t.csv:2:1: 8 fields"));
        let e = read_spillway("t.csv", "timestamp,model,tokens\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.csv:1:17: unknown column 'tokens'"), "{e}");
        let e = read_spillway("t.csv", "timestamp,model\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("lacks the column(s) prompt_tokens"), "{e}");
    }

    #[test]
    fn quoted_fields_keep_columns_right() {
        let text = "a,\"b,c\",d\n";
        assert_eq!(field_column(text, 0, 0), 1);
        assert_eq!(field_column(text, 0, 1), 3);
        assert_eq!(field_column(text, 0, 2), 9);
    }

    #[test]
    fn non_utf8_is_located() {
        let e = utf8("t.csv", b"ab\ncd\xffe".to_vec())
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "t.csv:2:3: byte 5 is not UTF-8 text; save the file as UTF-8"
        );
    }
}
