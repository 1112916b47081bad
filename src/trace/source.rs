//! Opening a trace file: plain or gzip-compressed (told by its first bytes, not its name),
//! buffered, and telling its format from its first line.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use super::row::Bad;
use super::{TraceFormat, csv_rows, json_rows};

/// Bytes read from disk at a time.
const BUF: usize = 64 << 10;

/// The file's bytes, decompressed when it is gzip.
pub fn open_stream(path: &Path) -> io::Result<Box<dyn BufRead + Send>> {
    let mut file = BufReader::with_capacity(BUF, File::open(path)?);
    let gz = file.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gz {
        Box::new(BufReader::with_capacity(BUF, MultiGzDecoder::new(file)))
    } else {
        Box::new(file)
    })
}

/// A line longer than this is refused (a trace line is a few kilobytes at most).
const MAX_LINE: usize = 64 << 20;

/// One line into `buf` (with its newline), at most 64 MiB; the bytes read (0 at the end).
pub fn read_line(r: &mut dyn BufRead, buf: &mut Vec<u8>) -> Result<usize, String> {
    loop {
        let chunk = r
            .fill_buf()
            .map_err(|e| format!("the file cannot be read here: {e}"))?;
        if chunk.is_empty() {
            return Ok(buf.len());
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        buf.extend_from_slice(&chunk[..take]);
        r.consume(take);
        if buf.len() > MAX_LINE {
            return Err("this line is longer than 64 MiB; a trace has one request per line".into());
        }
        if done {
            return Ok(buf.len());
        }
    }
}

/// The first line that is not blank (at most 1 MiB of it), and its number.
fn first_line(r: &mut dyn BufRead) -> io::Result<Option<(u64, String)>> {
    let mut line = 0;
    loop {
        let mut buf = Vec::new();
        let n = r.take(1 << 20).read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        line += 1;
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim_start_matches('\u{feff}').trim();
        if !text.is_empty() {
            return Ok(Some((line, text.to_string())));
        }
    }
}

/// The format of the trace at `path`: `given` when set (checked against the first line's
/// kind, JSON or CSV), else told from the first line. `Err(Ok(bad))` is a problem in the
/// file, `Err(Err(io))` a file that cannot be read.
pub fn detect(
    path: &Path,
    given: Option<TraceFormat>,
) -> Result<TraceFormat, Result<Bad, io::Error>> {
    let mut r = open_stream(path).map_err(Err)?;
    let Some((line, text)) = first_line(&mut *r).map_err(Err)? else {
        return Err(Ok(Bad {
            line: 1,
            column: None,
            message: "the trace is empty".into(),
        }));
    };
    let bad = |message: String| {
        Err(Ok(Bad {
            line,
            column: None,
            message,
        }))
    };
    let json = text.starts_with('{');
    let choose = "set workload.trace.format to one of azure, mooncake, burstgpt, spillway-csv, spillway-jsonl";
    if let Some(f) = given {
        return match (f.is_jsonl(), json) {
            (true, false) => bad(format!(
                "format = \"{}\" reads one JSON object per line, but this line is not one (is the file CSV?)",
                f.name()
            )),
            (false, true) => bad(format!(
                "format = \"{}\" reads CSV with a header line, but this line is a JSON object (is the file JSON lines?)",
                f.name()
            )),
            _ => Ok(f),
        };
    }
    if json {
        let keys: Vec<String> =
            match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&text) {
                Ok(m) => m.keys().cloned().collect(),
                Err(e) => {
                    return bad(format!(
                        "the first line looks like JSON but is not a JSON object ({e})"
                    ));
                }
            };
        return match json_rows::sniff(&keys) {
            Some(f) => Ok(f),
            None => bad(format!(
                "cannot tell the trace's format from its first line (a JSON object with the keys {}); {choose}",
                keys.join(", ")
            )),
        };
    }
    let names: Vec<String> = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .next()
        .and_then(Result::ok)
        .map(|r| r.iter().map(str::to_string).collect())
        .unwrap_or_default();
    match csv_rows::sniff(&names) {
        Ok(Some(f)) => Ok(f),
        Ok(None) => bad(format!(
            "cannot tell the trace's format from its header '{}'; {choose}",
            super::row::shown(&text).trim_matches('"')
        )),
        Err(fits) => bad(format!(
            "the header '{}' fits several formats ({}); {choose}",
            text,
            fits.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")
        )),
    }
}
