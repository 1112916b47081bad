//! The JSON-lines formats: Mooncake's trace and Spillway's own JSONL. One JSON object per
//! line, read with serde_json straight into a reused [`Row`] (no tree is built; Mooncake's
//! `hash_ids` go into a reused list).

use std::borrow::Cow;
use std::fmt;
use std::io::BufRead;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::TraceFormat;
use super::clock::ClockKind;
use super::row::{self, Bad, Num, Row};
use super::state::SessionKey;

/// Spillway's JSONL fields, as documented in `docs/traces.md`.
pub const SPILLWAY_FIELDS: &[&str] = &[
    "timestamp",
    "session",
    "step",
    "model",
    "prompt",
    "completion",
    "max_tokens",
    "streaming",
    "class",
    "cached_prompt",
    "duration_ms",
    "failed",
];

/// A JSONL trace being read.
pub struct JsonRows {
    r: Box<dyn BufRead + Send>,
    buf: Vec<u8>,
    line: u64,
    format: TraceFormat,
}

impl JsonRows {
    /// Starts reading a `format` trace.
    pub fn new(r: Box<dyn BufRead + Send>, format: TraceFormat) -> JsonRows {
        JsonRows {
            r,
            buf: Vec::new(),
            line: 0,
            format,
        }
    }

    /// Reads the next object into `row`, skipping blank lines; `false` at the end.
    pub fn next(&mut self, row: &mut Row) -> Result<bool, Bad> {
        loop {
            self.buf.clear();
            let n =
                super::source::read_line(&mut *self.r, &mut self.buf).map_err(|message| Bad {
                    line: self.line + 1,
                    column: None,
                    message,
                })?;
            if n == 0 {
                return Ok(false);
            }
            self.line += 1;
            let text = self.buf.trim_ascii();
            if text.is_empty() {
                continue;
            }
            row.reset(self.line);
            let line = self.line;
            parse(text, self.format, row).map_err(|(column, message)| Bad {
                line,
                column,
                message,
            })?;
            return Ok(true);
        }
    }
}

/// Bit flags of the fields a line had.
const HAS_T: u8 = 1;
const HAS_PROMPT: u8 = 2;
const HAS_COMPLETION: u8 = 4;
const HAS_IDS: u8 = 8;

/// Parses one line; `Err((column, message))`.
fn parse(text: &[u8], format: TraceFormat, row: &mut Row) -> Result<(), (Option<usize>, String)> {
    let mut de = serde_json::Deserializer::from_slice(text);
    let mut seen = 0u8;
    let seed = RowSeed {
        row: &mut *row,
        format,
        seen: &mut seen,
    };
    seed.deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(json_bad)?;
    let (need, names): (&[(u8, &str)], &str) = match format {
        TraceFormat::Mooncake => (
            &[
                (HAS_T, "timestamp"),
                (HAS_PROMPT, "input_length"),
                (HAS_COMPLETION, "output_length"),
                (HAS_IDS, "hash_ids"),
            ],
            "a Mooncake line has timestamp (milliseconds), input_length, output_length and hash_ids",
        ),
        _ => (
            &[
                (HAS_T, "timestamp"),
                (HAS_PROMPT, "prompt"),
                (HAS_COMPLETION, "completion"),
            ],
            "a Spillway JSONL line has at least timestamp, prompt and completion",
        ),
    };
    if let Some((_, name)) = need.iter().find(|(bit, _)| seen & bit == 0) {
        return Err((None, format!("field '{name}' is missing; {names}")));
    }
    if let Some(c) = row.cached
        && c > row.prompt
    {
        return Err((
            None,
            format!(
                "field 'cached_prompt' ({c}) is more than the line's prompt tokens ({}); it counts the part of the prompt a cache held",
                row.prompt
            ),
        ));
    }
    Ok(())
}

/// serde_json's error at its column, in words.
fn json_bad(e: serde_json::Error) -> (Option<usize>, String) {
    let column = (e.line() > 0).then(|| e.column().max(1));
    let full = e.to_string();
    let message = match full.rfind(" at line ") {
        Some(i) => full[..i].to_string(),
        None => full,
    };
    let message = match e.classify() {
        serde_json::error::Category::Data => message,
        _ => format!("not valid JSON: {message}; each line must be one JSON object"),
    };
    (column, message)
}

/// Deserializes one line's object into the row.
struct RowSeed<'r> {
    row: &'r mut Row,
    format: TraceFormat,
    seen: &'r mut u8,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object (one request per line)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key()? {
            if self.format == TraceFormat::Mooncake && key == "hash_ids" {
                map.next_value_seed(Ids(&mut self.row.ids))?;
                self.row.has_ids = true;
                *self.seen |= HAS_IDS;
                continue;
            }
            let v: Scalar = map.next_value()?;
            let bit = match self.format {
                TraceFormat::Mooncake => mooncake(&key, v, self.row),
                _ => spillway(&key, v, self.row),
            }
            .map_err(de::Error::custom)?;
            *self.seen |= bit;
        }
        Ok(())
    }
}

/// One Mooncake field; the flag it sets. Other fields are read past.
fn mooncake(key: &str, v: Scalar, row: &mut Row) -> Result<u8, String> {
    match key {
        "timestamp" => {
            row.t = match v {
                Scalar::Num(n) => n.micros(1_000),
                _ => None,
            }
            .ok_or_else(|| {
                format!("field 'timestamp' must be a number of milliseconds, e.g. 27482; got {v}")
            })?;
            row.clock = Some(ClockKind::Number);
            Ok(HAS_T)
        }
        "input_length" => {
            row.prompt = row::tokens_num(key, v.num(key)?)?;
            Ok(HAS_PROMPT)
        }
        "output_length" => {
            row.completion = row::tokens_num(key, v.num(key)?)?;
            Ok(HAS_COMPLETION)
        }
        _ => Ok(0),
    }
}

/// One Spillway JSONL field; the flag it sets.
fn spillway(key: &str, v: Scalar, row: &mut Row) -> Result<u8, String> {
    if let Scalar::Null = v {
        return match key {
            "timestamp" | "prompt" | "completion" => {
                Err(format!("field '{key}' must have a value; got null"))
            }
            _ if SPILLWAY_FIELDS.contains(&key) => Ok(0),
            _ => Err(unknown(key)),
        };
    }
    match key {
        "timestamp" => {
            let (t, kind) = match &v {
                Scalar::Num(n) => (n.micros(1_000_000), ClockKind::Number),
                Scalar::Str(s) => match row::seconds_or_datetime(key, s) {
                    Ok((t, k)) => (Some(t), k),
                    Err(m) => return Err(m),
                },
                _ => (None, ClockKind::Number),
            };
            row.t = t.ok_or_else(|| {
                format!(
                    "field 'timestamp' must be a number of seconds or a date-time in quotes; got {v}"
                )
            })?;
            row.clock = Some(kind);
            return Ok(HAS_T);
        }
        "prompt" => {
            row.prompt = row::tokens_num(key, v.num(key)?)?;
            return Ok(HAS_PROMPT);
        }
        "completion" => {
            row.completion = row::tokens_num(key, v.num(key)?)?;
            return Ok(HAS_COMPLETION);
        }
        "session" => match v {
            Scalar::Num(Num::U(n)) => row.session = Some(SessionKey::Number(n)),
            Scalar::Str(s) if !s.is_empty() => row.session = Some(SessionKey::from_text(&s)),
            Scalar::Str(_) => {}
            _ => {
                return Err(format!(
                    "field 'session' must be a whole number or a text id; got {v}"
                ));
            }
        },
        "step" => {
            row.step = Some(match v {
                Scalar::Num(Num::U(n)) => u32::try_from(n).ok(),
                _ => None,
            }
            .ok_or_else(|| {
                format!(
                    "field 'step' must be a whole number (the step's place in its session, from 0); got {v}"
                )
            })?);
        }
        "model" => row.set_model(v.text(key)?),
        "class" => row.set_class(v.text(key)?),
        "max_tokens" => {
            row.max_tokens = Some(row::max_tokens(key, row::tokens_num(key, v.num(key)?)?)?)
        }
        "cached_prompt" => row.cached = Some(row::tokens_num(key, v.num(key)?)?),
        "streaming" => row.streaming = Some(v.boolean(key)?),
        "failed" => row.failed = v.boolean(key)?,
        "duration_ms" => {
            row.elapsed = Some(
                v.num(key)?
                    .micros(1_000)
                    .filter(|&us| us >= 0)
                    .ok_or_else(|| format!("field 'duration_ms' must be a number >= 0; got {v}"))?,
            )
        }
        _ => return Err(unknown(key)),
    }
    Ok(0)
}

fn unknown(key: &str) -> String {
    format!(
        "unknown field '{key}'; Spillway's JSONL has the fields {}",
        SPILLWAY_FIELDS.join(", ")
    )
}

/// A key, borrowed from the line when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// A field's value: anything but a list or an object.
enum Scalar<'de> {
    Null,
    Bool(bool),
    Num(Num),
    Str(Cow<'de, str>),
}

impl fmt::Display for Scalar<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Null => f.write_str("null"),
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Num(n) => write!(f, "{n}"),
            Scalar::Str(s) => f.write_str(&row::shown(s)),
        }
    }
}

impl Scalar<'_> {
    fn num(&self, key: &str) -> Result<Num, String> {
        match self {
            Scalar::Num(n) => Ok(*n),
            _ => Err(format!("field '{key}' must be a number; got {self}")),
        }
    }
    fn text(&self, key: &str) -> Result<&str, String> {
        match self {
            Scalar::Str(s) => Ok(s),
            _ => Err(format!(
                "field '{key}' must be a text in quotes; got {self}"
            )),
        }
    }
    fn boolean(&self, key: &str) -> Result<bool, String> {
        match self {
            Scalar::Bool(b) => Ok(*b),
            _ => Err(format!("field '{key}' must be true or false; got {self}")),
        }
    }
}

impl<'de> de::Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, a text in quotes, true, false or null")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Null)
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Bool(b))
            }
            fn visit_u64<E: de::Error>(self, u: u64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Num(Num::U(u)))
            }
            fn visit_i64<E: de::Error>(self, i: i64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Num(if i >= 0 {
                    Num::U(i as u64)
                } else {
                    Num::I(i)
                }))
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Num(Num::F(x)))
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Str(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Str(Cow::Owned(s.to_string())))
            }
        }
        d.deserialize_any(V)
    }
}

/// Mooncake's `hash_ids`, pushed into a reused list.
struct Ids<'a>(&'a mut Vec<u64>);

impl<'de> DeserializeSeed<'de> for Ids<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Ids<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("'hash_ids' to be a list of block ids (whole numbers), e.g. [0, 1, 2]")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(Id(id)) = seq.next_element()? {
            self.0.push(id);
        }
        Ok(())
    }
}

/// One block id.
struct Id(u64);

impl<'de> de::Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("each of 'hash_ids' to be a whole number >= 0 (a block id)")
            }
            fn visit_u64<E: de::Error>(self, u: u64) -> Result<Id, E> {
                Ok(Id(u))
            }
            fn visit_i64<E: de::Error>(self, i: i64) -> Result<Id, E> {
                u64::try_from(i).map(Id).map_err(|_| {
                    E::custom(format!(
                        "field 'hash_ids' must hold block ids (whole numbers >= 0); got {i}"
                    ))
                })
            }
        }
        d.deserialize_u64(V)
    }
}

/// The JSONL format a first line's keys name, when exactly one fits.
pub fn sniff(keys: &[String]) -> Option<TraceFormat> {
    let has = |k: &str| keys.iter().any(|x| x == k);
    if has("input_length") || has("hash_ids") {
        Some(TraceFormat::Mooncake)
    } else if has("prompt") || has("completion") {
        Some(TraceFormat::SpillwayJsonl)
    } else {
        None
    }
}
