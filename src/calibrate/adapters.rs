//! Readers for two public benchmark formats, as real examples of telemetry:
//!
//! - **LatencyLab** (`prompt.csv`, ScaleVoice/LatencyLab): one row per timestamp, and per
//!   endpoint a group of columns `"<endpoint> <field>"` with `success`, `input_characters`,
//!   `output_characters`, `first_token_time_seconds`, `first_sentence_time_seconds`,
//!   `total_request_time_seconds` and `chunks_time_seconds`. Every endpoint of a row was
//!   called at the row's timestamp, streamed. Sizes are **characters**: they are turned into
//!   tokens at `chars_per_token` (about 4 for English text). A request with `success` False
//!   hit the tool's client timeout: it counts as a timeout without a duration.
//! - **llmperf** (`raw_data/individual/*.json`, ray-project/llmperf-leaderboard): a JSON array
//!   of requests per file, each with `error_code` (null when it succeeded), `ttft_s`,
//!   `end_to_end_latency_s`, `number_input_tokens`, `number_output_tokens` (and derived
//!   figures that are not needed). The model is the file's name. There are no timestamps.

use std::path::Path;

use serde::Deserialize;

use super::telemetry::{
    Cell, Format, MAX_SECONDS, Outcome, Request, Telemetry, csv_error, field_column, located,
    row_position, timestamp_seconds, utf8,
};
use crate::error::{Error, Result, line_col};

/// LatencyLab's fields per endpoint; the first five are read.
const LATENCYLAB_FIELDS: [&str; 7] = [
    "success",
    "input_characters",
    "output_characters",
    "first_token_time_seconds",
    "total_request_time_seconds",
    "first_sentence_time_seconds",
    "chunks_time_seconds",
];

/// Characters per token assumed for LatencyLab's sizes unless told otherwise.
pub const DEFAULT_CHARS_PER_TOKEN: f64 = 4.0;

/// One endpoint's columns: index of each field in the row.
struct Endpoint {
    name: String,
    at: [usize; 5],
}

/// Reads LatencyLab's `prompt.csv`, sizes converted at `chars_per_token`.
pub fn read_latencylab(file: &str, text: &str, chars_per_token: f64) -> Result<Telemetry> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = rdr.records();
    let header = match records.next() {
        Some(r) => r.map_err(|e| csv_error(file, &e))?,
        None => return Err(located(file, 1, 1, "the file is empty; expected LatencyLab's header (timestamp, then \"<endpoint> success\", ...)".into())),
    };
    let endpoints = latencylab_header(file, text, &header)?;
    let mut requests = Vec::new();
    let mut failed = 0usize;
    for rec in records {
        let rec = rec.map_err(|e| csv_error(file, &e))?;
        let Some((line, line_start)) = row_position(file, &rec, header.len())? else {
            continue;
        };
        let cell = |i: usize| Cell {
            file,
            text,
            line_start,
            line,
            index: i,
            name: &header[i],
            value: rec[i].trim(),
        };
        let ts = cell(0);
        let start = timestamp_seconds(ts.value).ok_or_else(|| {
            ts.err(format!(
                "'{}' is not a timestamp; expected e.g. 2024-04-12 10:32:28.690452",
                ts.value
            ))
        })?;
        for ep in &endpoints {
            let r = latencylab_request(&cell, ep, line, start, chars_per_token)?;
            failed += (r.outcome != Outcome::Ok) as usize;
            requests.push(r);
        }
    }
    Ok(Telemetry {
        file: file.to_string(),
        format: Format::Latencylab,
        requests,
        assumptions: vec![
            format!(
                "sizes are characters, turned into tokens at {chars_per_token} characters per token (English text; LatencyLab's streamed chunks carry about 4.7-5 characters each)"
            ),
            "every endpoint of a row was called at the row's timestamp, streamed".to_string(),
            format!(
                "success = False ({failed} request(s)) means the tool's 30 s client timeout fired: counted as timeouts without a duration"
            ),
        ],
    })
}

fn latencylab_header(file: &str, text: &str, header: &csv::StringRecord) -> Result<Vec<Endpoint>> {
    if header
        .get(0)
        .map(|h| h.trim().trim_start_matches('\u{feff}'))
        != Some("timestamp")
    {
        return Err(located(
            file,
            1,
            1,
            "the first column must be 'timestamp' (LatencyLab's prompt.csv)".into(),
        ));
    }
    let mut endpoints: Vec<(String, [usize; 7])> = Vec::new();
    for (i, h) in header.iter().enumerate().skip(1) {
        let col = field_column(text, 0, i);
        let Some((name, field)) = h.trim().rsplit_once(' ') else {
            return Err(located(
                file,
                1,
                col,
                format!(
                    "column '{h}' is not \"<endpoint> <field>\"; LatencyLab's columns are like \"Azure_gpt-4-1106-preview success\""
                ),
            ));
        };
        let Some(k) = LATENCYLAB_FIELDS.iter().position(|f| *f == field) else {
            return Err(located(
                file,
                1,
                col,
                format!(
                    "column '{h}': unknown field '{field}'; expected one of {}",
                    LATENCYLAB_FIELDS.join(", ")
                ),
            ));
        };
        let e = match endpoints.iter().position(|e| e.0 == name) {
            Some(e) => e,
            None => {
                endpoints.push((name.to_string(), [usize::MAX; 7]));
                endpoints.len() - 1
            }
        };
        if endpoints[e].1[k] != usize::MAX {
            return Err(located(file, 1, col, format!("column '{h}' appears twice")));
        }
        endpoints[e].1[k] = i;
    }
    if endpoints.is_empty() {
        return Err(located(
            file,
            1,
            1,
            "no endpoint columns after 'timestamp'".into(),
        ));
    }
    endpoints
        .into_iter()
        .map(|(name, at)| {
            if let Some(k) = (0..5).find(|&k| at[k] == usize::MAX) {
                return Err(located(
                    file,
                    1,
                    1,
                    format!(
                        "endpoint '{name}' lacks the column '{name} {}'",
                        LATENCYLAB_FIELDS[k]
                    ),
                ));
            }
            Ok(Endpoint {
                name,
                at: [at[0], at[1], at[2], at[3], at[4]],
            })
        })
        .collect()
}

fn latencylab_request<'a>(
    cell: &dyn Fn(usize) -> Cell<'a>,
    ep: &Endpoint,
    line: usize,
    start: f64,
    chars_per_token: f64,
) -> Result<Request> {
    let ok = match cell(ep.at[0]).value {
        "True" | "true" => true,
        "False" | "false" => false,
        v => return Err(cell(ep.at[0]).err(format!("'{v}' is not True or False"))),
    };
    let chars = |i: usize| -> Result<u32> {
        let c = cell(i);
        let n = c
            .tokens()?
            .ok_or_else(|| c.err("is empty; expected a number of characters"))?;
        Ok((n as f64 / chars_per_token).round() as u32)
    };
    let secs = |i: usize| -> Result<f64> {
        let c = cell(i);
        c.duration("seconds", 1.0)?
            .ok_or_else(|| c.err("is empty; expected seconds"))
    };
    let prompt_tokens = chars(ep.at[1])?;
    let mut r = Request {
        line,
        start_s: Some(start),
        model: ep.name.clone(),
        deployment: ep.name.clone(),
        prompt_tokens,
        completion_tokens: 0,
        ttft_s: None,
        e2e_s: None,
        status: Some(0),
        outcome: Outcome::Timeout,
        retry_after_s: None,
        streaming: true,
    };
    if !ok {
        return Ok(r);
    }
    let (ttft, total) = (secs(ep.at[3])?, secs(ep.at[4])?);
    if ttft > total + 1e-9 {
        return Err(cell(ep.at[3]).err(format!(
            "first token at {ttft} s is after the end of the request ({total} s)"
        )));
    }
    r.completion_tokens = chars(ep.at[2])?;
    r.ttft_s = Some(ttft);
    r.e2e_s = Some(total);
    r.status = Some(200);
    r.outcome = Outcome::Ok;
    Ok(r)
}

/// One llmperf request as written (other keys are ignored).
#[derive(Deserialize)]
struct LlmperfRaw {
    error_code: Option<i64>,
    #[serde(default)]
    ttft_s: f64,
    #[serde(default)]
    end_to_end_latency_s: f64,
    #[serde(default)]
    number_input_tokens: u64,
    #[serde(default)]
    number_output_tokens: u64,
}

/// Reads llmperf's per-request JSON: one file, or every `*.json` file of a directory (in
/// name order). The model of each request is its file's name without `.json`.
pub fn read_llmperf(path: &Path) -> Result<Telemetry> {
    let shown = path.display().to_string();
    let files: Vec<std::path::PathBuf> = if path.is_dir() {
        let mut v: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| Error::io(&shown, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
            .collect();
        v.sort();
        if v.is_empty() {
            return Err(Error::Usage(format!(
                "{shown}: no *.json files here; give llmperf's raw_data/individual directory or one of its files"
            )));
        }
        v
    } else {
        vec![path.to_path_buf()]
    };
    let mut requests = Vec::new();
    let mut flagged = 0usize;
    for f in &files {
        let name = f.display().to_string();
        let bytes = std::fs::read(f).map_err(|e| Error::io(&name, e))?;
        let text = utf8(&name, bytes)?;
        let model = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        flagged += read_llmperf_file(&name, &text, &model, &mut requests)?;
    }
    Ok(Telemetry {
        file: shown,
        format: Format::Llmperf,
        requests,
        assumptions: vec![
            "the model is the file's name (provider_size)".to_string(),
            "error_code null = success; -100 (llmperf's own check: output shorter than asked, {flagged} request(s)) is counted as a success: the service answered"
                .replace("{flagged}", &flagged.to_string()),
            "error_code 429 = rate limited; other HTTP codes as they are; other negative codes = client-side failures (other errors)".to_string(),
            "no per-request timestamps: concurrency cannot be reconstructed (the runs kept a fixed number of requests in flight)".to_string(),
            "every request was streamed".to_string(),
        ],
    })
}

/// Reads one llmperf file's array, object by object so that every problem has a line and
/// column; returns how many requests llmperf flagged with -100.
fn read_llmperf_file(file: &str, text: &str, model: &str, out: &mut Vec<Request>) -> Result<usize> {
    let at = |off: usize, msg: String| {
        let (l, c) = line_col(text, off);
        located(file, l, c, msg)
    };
    let skip_ws = |mut i: usize| {
        while i < text.len() && text.as_bytes()[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let mut i = skip_ws(0);
    if text[i..].starts_with('\u{feff}') {
        i = skip_ws(i + 3);
    }
    if !text[i..].starts_with('[') {
        return Err(at(
            i,
            "expected a JSON array of requests (llmperf's individual_responses file)".into(),
        ));
    }
    i = skip_ws(i + 1);
    let mut flagged = 0;
    if text[i..].starts_with(']') {
        return Ok(0);
    }
    loop {
        let start = i;
        let mut de = serde_json::Deserializer::from_str(&text[i..]).into_iter::<LlmperfRaw>();
        let raw = match de.next() {
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                let (l0, c0) = line_col(text, start);
                let (l, c) = (
                    l0 + e.line() - 1,
                    if e.line() == 1 {
                        c0 + e.column() - 1
                    } else {
                        e.column()
                    },
                );
                return Err(located(
                    file,
                    l,
                    c,
                    format!("not an llmperf request: {}", strip_position(&e)),
                ));
            }
            None => return Err(at(start, "expected a request object".into())),
        };
        i = skip_ws(start + de.byte_offset());
        let (line, _) = line_col(text, start);
        let key_at = |key: &str| {
            text[start..i]
                .find(&format!("\"{key}\""))
                .map_or(start, |k| start + k)
        };
        flagged += (raw.error_code == Some(-100)) as usize;
        out.push(
            llmperf_request(&raw, model, line)
                .map_err(|(key, msg)| at(key_at(key), format!("key '{key}': {msg}")))?,
        );
        match text.as_bytes().get(i) {
            Some(b',') => i = skip_ws(i + 1),
            Some(b']') => break,
            _ => return Err(at(i, "expected ',' or ']' after a request".into())),
        }
    }
    Ok(flagged)
}

fn strip_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(k) => s[..k].to_string(),
        None => s,
    }
}

fn llmperf_request(
    raw: &LlmperfRaw,
    model: &str,
    line: usize,
) -> std::result::Result<Request, (&'static str, String)> {
    let (status, outcome) = match raw.error_code {
        None | Some(-100) => (Some(200), Outcome::Ok),
        Some(c) if (100..=599).contains(&c) => (Some(c as u16), Outcome::of_status(c as u16)),
        Some(_) => (None, Outcome::OtherError),
    };
    let tokens = |key: &'static str, v: u64| {
        if v > super::telemetry::MAX_TOKENS {
            Err((
                key,
                format!("{v} tokens is more than {}", super::telemetry::MAX_TOKENS),
            ))
        } else {
            Ok(v as u32)
        }
    };
    let secs = |key: &'static str, v: f64| {
        if v.is_finite() && (0.0..=MAX_SECONDS).contains(&v) {
            Ok(v)
        } else {
            Err((
                key,
                format!("{v} is not a duration in seconds (expected 0 to a week)"),
            ))
        }
    };
    let ttft = secs("ttft_s", raw.ttft_s)?;
    let e2e = secs("end_to_end_latency_s", raw.end_to_end_latency_s)?;
    let ok = outcome == Outcome::Ok;
    if ok && ttft > e2e + 1e-9 {
        return Err((
            "ttft_s",
            format!("first token at {ttft} s is after the end of the request ({e2e} s)"),
        ));
    }
    if ok && e2e <= 0.0 {
        return Err((
            "end_to_end_latency_s",
            "a successful request must last more than 0 s".into(),
        ));
    }
    Ok(Request {
        line,
        start_s: None,
        model: model.to_string(),
        deployment: model.to_string(),
        prompt_tokens: tokens("number_input_tokens", raw.number_input_tokens)?,
        completion_tokens: if ok {
            tokens("number_output_tokens", raw.number_output_tokens)?
        } else {
            0
        },
        ttft_s: ok.then_some(ttft),
        e2e_s: ok.then_some(e2e),
        status,
        outcome,
        retry_after_s: None,
        streaming: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LL_HEAD: &str = "timestamp,A success,A input_characters,A output_characters,A first_token_time_seconds,A first_sentence_time_seconds,A total_request_time_seconds,A chunks_time_seconds,B success,B input_characters,B output_characters,B first_token_time_seconds,B first_sentence_time_seconds,B total_request_time_seconds,B chunks_time_seconds\n";

    #[test]
    fn latencylab_rows_become_one_request_per_endpoint() {
        let text = format!(
            "{LL_HEAD}2024-04-12 10:32:28.690452,True,250,595,0.4,0.47,1.75,\"[0.01, 0.02]\",False,250,0,0.0,0.0,0.0,[]\n\
             2024-04-12 10:33:32.321344,True,500,1078,0.45,0.5,2.8,\"[0.03]\",True,500,924,1.1,1.2,4.5,[]\n"
        );
        let t = read_latencylab("p.csv", &text, 4.0).unwrap();
        assert_eq!(t.requests.len(), 4);
        let a = &t.requests[0];
        assert_eq!(
            (a.model.as_str(), a.prompt_tokens, a.completion_tokens),
            ("A", 63, 149)
        );
        assert_eq!(
            (a.ttft_s, a.e2e_s, a.outcome),
            (Some(0.4), Some(1.75), Outcome::Ok)
        );
        let b = &t.requests[1];
        assert_eq!(
            (b.model.as_str(), b.outcome, b.e2e_s),
            ("B", Outcome::Timeout, None)
        );
        assert!((t.requests[2].start_s.unwrap() - a.start_s.unwrap() - 63.630892).abs() < 1e-5);
    }

    #[test]
    fn latencylab_errors_are_located() {
        let text = format!(
            "{LL_HEAD}2024-04-12 10:32:28,Maybe,250,595,0.4,0.47,1.75,[],False,250,0,0,0,0,[]\n"
        );
        let e = read_latencylab("p.csv", &text, 4.0)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "p.csv:2:21: column 'A success': 'Maybe' is not True or False"
        );
        let text = format!(
            "{LL_HEAD}2024-04-12 10:32:28,True,250,595,2.5,0.47,1.75,[],False,250,0,0,0,0,[]\n"
        );
        let e = read_latencylab("p.csv", &text, 4.0)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("p.csv:2:34: column 'A first_token_time_seconds': first token at 2.5 s"),
            "{e}"
        );
        let e = read_latencylab("p.csv", "timestamp,A succes\n", 4.0)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("p.csv:1:11: column 'A succes': unknown field 'succes'"),
            "{e}"
        );
    }

    #[test]
    fn llmperf_objects_map_statuses_and_locate_errors() {
        let text = r#"[
  {"error_code": null, "ttft_s": 0.5, "end_to_end_latency_s": 1.5, "number_input_tokens": 550, "number_output_tokens": 150, "inter_token_latency_s": 0.01},
  {"error_code": 429, "ttft_s": 0, "end_to_end_latency_s": 0, "number_input_tokens": 550, "number_output_tokens": 1},
  {"error_code": -100, "ttft_s": 0.8, "end_to_end_latency_s": 1.7, "number_input_tokens": 550, "number_output_tokens": 39, "GEN_TEXT": "x"},
  {"error_code": -1, "ttft_s": 0, "end_to_end_latency_s": 0, "number_input_tokens": 550, "number_output_tokens": 1}
]"#;
        let mut out = Vec::new();
        assert_eq!(
            read_llmperf_file("x.json", text, "p_7b", &mut out).unwrap(),
            1
        );
        let o: Vec<Outcome> = out.iter().map(|r| r.outcome).collect();
        assert_eq!(
            o,
            [
                Outcome::Ok,
                Outcome::RateLimited,
                Outcome::Ok,
                Outcome::OtherError
            ]
        );
        assert_eq!(
            (out[0].line, out[0].completion_tokens, out[0].e2e_s),
            (2, 150, Some(1.5))
        );
        assert_eq!(out[1].e2e_s, None);
        let bad = "[\n {\"error_code\": null, \"ttft_s\": 2.0, \"end_to_end_latency_s\": 1.0,\n  \"number_input_tokens\": 5, \"number_output_tokens\": 5}]";
        let e = read_llmperf_file("x.json", bad, "m", &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("x.json:2:23: key 'ttft_s': first token at 2 s"),
            "{e}"
        );
        let bad = "[\n {\"error_code\": null, \"ttft_s\": \"fast\"}]";
        let e = read_llmperf_file("x.json", bad, "m", &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.json:2:"), "{e}");
        assert!(e.contains("not an llmperf request"), "{e}");
        let e = read_llmperf_file("x.json", "{}", "m", &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.json:1:1: expected a JSON array"), "{e}");
    }
}
