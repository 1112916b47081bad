//! One row of a trace as its format wrote it ([`Row`]), before any transform, and the
//! checks of its values in the domain's words. The CSV and JSONL readers fill a `Row` in
//! place (its buffers are reused from row to row); the reader in `mod.rs` turns it into a
//! [`super::TraceRecord`].

use super::clock::{self, ClockKind};
use super::state::SessionKey;

/// A problem at a place in the trace file: one line of the error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bad {
    /// 1-based line.
    pub line: u64,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong and what is allowed (names the field).
    pub message: String,
}

/// One row, as written.
#[derive(Clone, Debug, Default)]
pub struct Row {
    /// 1-based line of the row.
    pub line: u64,
    /// Timestamp on the trace's clock, microseconds.
    pub t: i64,
    /// Which clock the timestamp is on.
    pub clock: Option<ClockKind>,
    /// Column of the timestamp.
    pub t_col: usize,
    /// Session id, when the row has one.
    pub session: Option<SessionKey>,
    /// `step` column, when the row has one.
    pub step: Option<u32>,
    /// Column of the step.
    pub step_col: usize,
    /// Model name (valid when `has_model`).
    pub model: String,
    /// Whether the row names a model.
    pub has_model: bool,
    /// Class name (valid when `has_class`).
    pub class: String,
    /// Whether the row names a class.
    pub has_class: bool,
    /// Prompt tokens.
    pub prompt: u32,
    /// Completion tokens.
    pub completion: u32,
    /// Prompt tokens a prefix cache held, when the format says.
    pub cached: Option<u32>,
    /// Prompt block ids (Mooncake's `hash_ids`; valid when `has_ids`).
    pub ids: Vec<u64>,
    /// Whether the row has block ids.
    pub has_ids: bool,
    /// `max_tokens` sent.
    pub max_tokens: Option<u32>,
    /// Whether the call streamed.
    pub streaming: Option<bool>,
    /// Whether the trace records the request as failed.
    pub failed: bool,
    /// Recorded duration of the request, microseconds.
    pub elapsed: Option<i64>,
}

impl Row {
    /// Clears the optional parts before a new row is read into it (buffers are kept).
    pub fn reset(&mut self, line: u64) {
        self.line = line;
        self.t = 0;
        self.clock = None;
        self.t_col = 1;
        self.session = None;
        self.step = None;
        self.step_col = 1;
        self.model.clear();
        self.has_model = false;
        self.class.clear();
        self.has_class = false;
        self.prompt = 0;
        self.completion = 0;
        self.cached = None;
        self.ids.clear();
        self.has_ids = false;
        self.max_tokens = None;
        self.streaming = None;
        self.failed = false;
        self.elapsed = None;
    }

    /// Sets the model name.
    pub fn set_model(&mut self, text: &str) {
        self.model.clear();
        self.model.push_str(text);
        self.has_model = true;
    }

    /// Sets the class name.
    pub fn set_class(&mut self, text: &str) {
        self.class.clear();
        self.class.push_str(text);
        self.has_class = true;
    }
}

/// Largest token count, as written in errors.
const U32_MAX_WORDS: &str = "4_294_967_295";

/// Shows a value found in a field, shortened.
pub fn shown(text: &str) -> String {
    let mut s: String = text.chars().take(40).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    format!("{s:?}")
}

/// A whole number of tokens.
pub fn tokens(field: &str, text: &str) -> Result<u32, String> {
    text.parse::<u32>().map_err(|_| {
        format!(
            "field '{field}' must be a whole number of tokens from 0 to {U32_MAX_WORDS}; got {}",
            shown(text)
        )
    })
}

/// A whole number of tokens from a JSON number.
pub fn tokens_num(field: &str, n: Num) -> Result<u32, String> {
    match n {
        Num::U(u) => u32::try_from(u).ok(),
        _ => None,
    }
    .ok_or_else(|| {
        format!(
            "field '{field}' must be a whole number of tokens from 0 to {U32_MAX_WORDS}; got {n}"
        )
    })
}

/// `max_tokens`: a whole number >= 1.
pub fn max_tokens(field: &str, v: u32) -> Result<u32, String> {
    if v == 0 {
        return Err(format!(
            "field '{field}' must be a whole number of tokens >= 1 (leave it empty when none was sent); got 0"
        ));
    }
    Ok(v)
}

/// A step number.
pub fn step(field: &str, text: &str) -> Result<u32, String> {
    text.parse::<u32>().map_err(|_| {
        format!(
            "field '{field}' must be a whole number (the step's place in its session, from 0); got {}",
            shown(text)
        )
    })
}

/// `true` or `false` (also `1`/`0`, any case).
pub fn boolean(field: &str, text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(format!(
            "field '{field}' must be true or false; got {}",
            shown(text)
        )),
    }
}

/// A duration written as a decimal number of `unit`s (`unit_us` microseconds each), >= 0.
pub fn duration(field: &str, text: &str, unit: &str, unit_us: i64) -> Result<i64, String> {
    match clock::parse_decimal(text, unit_us) {
        Some(us) if us >= 0 => Ok(us),
        _ => Err(format!(
            "field '{field}' must be a number of {unit} >= 0, e.g. 1.25; got {}",
            shown(text)
        )),
    }
}

/// A timestamp in decimal seconds.
pub fn seconds(field: &str, text: &str) -> Result<i64, String> {
    clock::parse_decimal(text, 1_000_000).ok_or_else(|| {
        format!(
            "field '{field}' must be a number of seconds, e.g. 12.5; got {}",
            shown(text)
        )
    })
}

/// A date-time timestamp.
pub fn datetime(field: &str, text: &str) -> Result<i64, String> {
    clock::parse_datetime(text).ok_or_else(|| {
        format!(
            "field '{field}' must be {}; got {}",
            clock::DATE_TIME_WORDS,
            shown(text)
        )
    })
}

/// A timestamp in decimal seconds or a date-time.
pub fn seconds_or_datetime(field: &str, text: &str) -> Result<(i64, ClockKind), String> {
    clock::parse_seconds_or_datetime(text).ok_or_else(|| {
        format!(
            "field '{field}' must be a number of seconds (e.g. 12.5) or {}; got {}",
            clock::DATE_TIME_WORDS,
            shown(text)
        )
    })
}

/// A JSON number as serde_json hands it over.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    /// A whole number >= 0.
    U(u64),
    /// A negative whole number.
    I(i64),
    /// Any other number.
    F(f64),
}

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Num::U(u) => write!(f, "{u}"),
            Num::I(i) => write!(f, "{i}"),
            Num::F(x) => write!(f, "{x}"),
        }
    }
}

impl Num {
    /// This number of units (`unit_us` microseconds each) in microseconds, rounded to the
    /// nearest; `None` when it does not fit.
    pub fn micros(self, unit_us: i64) -> Option<i64> {
        match self {
            Num::U(u) => i64::try_from(u).ok()?.checked_mul(unit_us),
            Num::I(i) => i.checked_mul(unit_us),
            Num::F(x) => {
                let us = (x * unit_us as f64).round();
                (us.is_finite() && us.abs() < 9.0e18).then_some(us as i64)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_in_words() {
        assert_eq!(tokens("prompt", "12"), Ok(12));
        let e = tokens("ContextTokens", "-5").unwrap_err();
        assert_eq!(
            e,
            "field 'ContextTokens' must be a whole number of tokens from 0 to 4_294_967_295; got \"-5\""
        );
        assert!(
            tokens_num("input_length", Num::F(1.5))
                .unwrap_err()
                .contains("got 1.5")
        );
        assert_eq!(boolean("streaming", "TRUE"), Ok(true));
        assert!(boolean("streaming", "yes").is_err());
        assert_eq!(
            duration("duration_ms", "1.5", "milliseconds", 1_000),
            Ok(1_500)
        );
        assert!(duration("duration_ms", "-1", "milliseconds", 1_000).is_err());
        assert!(max_tokens("max_tokens", 0).unwrap_err().contains(">= 1"));
        assert_eq!(Num::F(1.0000004).micros(1_000_000), Some(1_000_000));
        assert_eq!(Num::U(27_482).micros(1_000), Some(27_482_000));
        assert_eq!(Num::F(f64::MAX).micros(1_000), None);
        assert_eq!(shown(&"x".repeat(50)).chars().count(), 43);
    }
}
