//! The model catalogue: `src/scenario/catalogue.toml`, compiled into the binary.
//!
//! Each model's figures are data, each with its source (a reference in the file's `[refs]`)
//! or marked as an assumption with the reason, or marked absent (`none`) with the reason.
//! [`resolve`](super::resolve) takes a model's defaults from here; `spillway models` prints
//! the catalogue. [`Catalogue::check`] states the file's rules (a unit test runs it).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

use crate::scenario::limits::{self, Range};
use crate::time::parse_duration;

/// The catalogue's text.
pub const TEXT: &str = include_str!("../catalogue.toml");

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| {
    // The text is fixed at build time and checked by the unit tests below.
    toml::from_str(TEXT).expect("src/scenario/catalogue.toml parses (see its unit test)")
});

/// The compiled-in catalogue.
pub fn catalogue() -> &'static Catalogue {
    &CATALOGUE
}

/// A short citation of source `id` (the id itself if unknown).
pub fn ref_cite(id: &str) -> String {
    catalogue()
        .refs
        .get(id)
        .map_or_else(|| id.to_string(), |r| r.short.clone())
}

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// Sources, by the id figures cite.
    pub refs: BTreeMap<String, Ref>,
    /// Models, in listing order.
    pub model: Vec<Entry>,
}

/// A source: a document, page or data set.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ref {
    /// A short citation for one-line messages: publisher, title, date.
    pub short: String,
    /// Title (and what in it is used).
    pub title: String,
    /// Who publishes it.
    pub publisher: String,
    /// Where it is.
    pub url: String,
    /// The date or version of the copy used.
    pub version: String,
}

impl Ref {
    /// One line: title, publisher, URL, version.
    pub fn cite(&self) -> String {
        format!(
            "{} ({}), {}, {}",
            self.title, self.publisher, self.url, self.version
        )
    }
}

/// One figure: its value with a source or an assumption, or none with the reason.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure<T> {
    /// The value (absent: the model has no such figure, and `none` says why).
    pub value: Option<T>,
    /// The `[refs]` id of the source.
    pub source: Option<String>,
    /// Which row of the source, or how the value is derived from it.
    pub note: Option<String>,
    /// Why the value is assumed (no source gives it).
    pub assumption: Option<String>,
    /// Why the model has no such figure (with `source`: the source that shows it).
    pub none: Option<String>,
}

/// One model's figures.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The model name scenarios use.
    pub name: String,
    /// The model version the figures are for.
    pub version: String,
    /// Fixed part of time to first token (a duration).
    pub ttft_base: Figure<String>,
    /// Prompt tokens processed per second before the first token.
    pub prefill_tokens_per_s: Figure<f64>,
    /// Mean solo decode speed, output tokens per second.
    pub decode_tokens_per_s: Figure<f64>,
    /// Per-request decode speed variation (coefficient of variation).
    pub decode_variation_cv: Figure<f64>,
    /// Completion tokens charged at admission when a call sets no `max_tokens`.
    pub default_max_tokens_estimate: Figure<u32>,
    /// Requests per minute per 1,000 TPM of quota.
    pub rpm_per_1k_tpm: Figure<f64>,
    /// Input tokens per minute per PTU.
    pub ptu_input_tpm: Figure<f64>,
    /// PTU weight of an output token.
    pub ptu_output_ratio: Figure<f64>,
    /// Smallest Global / Data Zone provisioned deployment, PTUs.
    pub ptu_minimum: Figure<u32>,
    /// Global / Data Zone provisioned scale increment, PTUs.
    pub ptu_step: Figure<u32>,
    /// Smallest regional provisioned deployment, PTUs (shown only).
    pub ptu_regional_minimum: Figure<u32>,
    /// Regional provisioned scale increment, PTUs (shown only).
    pub ptu_regional_step: Figure<u32>,
    /// USD per 1M input tokens, Global Standard.
    pub price_input_per_1m: Figure<f64>,
    /// USD per 1M cached input tokens, Global Standard.
    pub price_cached_input_per_1m: Figure<f64>,
    /// USD per 1M output tokens, Global Standard.
    pub price_output_per_1m: Figure<f64>,
    /// USD per 1M input tokens, Global Batch (shown only).
    pub price_batch_input_per_1m: Figure<f64>,
    /// USD per 1M output tokens, Global Batch (shown only).
    pub price_batch_output_per_1m: Figure<f64>,
    /// USD per PTU-hour.
    pub ptu_price_per_hour: Figure<f64>,
    /// Context window, tokens (prompt + max_tokens beyond it gets a 400).
    pub context_window: Figure<u32>,
}

/// A figure's value, whatever its type.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A number.
    Number(f64),
    /// A whole number.
    Whole(u32),
    /// A duration as written.
    Duration(String),
}

impl Value {
    /// As TOML (what a `[models."NAME"]` table takes): `108.0`, `648`, `"300ms"`.
    pub fn toml(&self) -> String {
        match self {
            Value::Number(v) => format!("{v:?}"),
            Value::Whole(v) => v.to_string(),
            Value::Duration(s) => format!("\"{s}\""),
        }
    }
    /// As JSON.
    pub fn json(&self) -> serde_json::Value {
        match self {
            Value::Number(v) => serde_json::json!(v),
            Value::Whole(v) => serde_json::json!(v),
            Value::Duration(s) => serde_json::json!(s),
        }
    }
}

/// One figure of an entry, typed for display.
#[derive(Clone, Debug)]
pub struct View<'a> {
    /// The key (as in `[models."NAME"]` for figures a scenario can override).
    pub key: &'static str,
    /// What it counts, in words.
    pub unit: &'static str,
    /// Whether `[models."NAME"]` takes this key (batch prices and regional PTU figures are
    /// shown only).
    pub overridable: bool,
    /// Whether every model must have it.
    pub required: bool,
    /// The value, if any.
    pub value: Option<Value>,
    /// Source id.
    pub source: Option<&'a str>,
    /// Note on the source.
    pub note: Option<&'a str>,
    /// Why assumed.
    pub assumption: Option<&'a str>,
    /// Why absent.
    pub none: Option<&'a str>,
}

/// What a key holds: `(key, unit, overridable, required)`, in display order.
const SPECS: [(&str, &str, bool, bool); 19] = [
    (
        "decode_tokens_per_s",
        "output tokens per second",
        true,
        true,
    ),
    (
        "decode_variation_cv",
        "coefficient of variation",
        true,
        true,
    ),
    ("ttft_base", "fixed part of time to first token", true, true),
    (
        "prefill_tokens_per_s",
        "prompt tokens per second",
        true,
        true,
    ),
    (
        "default_max_tokens_estimate",
        "tokens charged when max_tokens is unset",
        true,
        true,
    ),
    (
        "rpm_per_1k_tpm",
        "requests per minute per 1,000 TPM",
        true,
        true,
    ),
    (
        "ptu_input_tpm",
        "input tokens per minute per PTU",
        true,
        false,
    ),
    (
        "ptu_output_ratio",
        "input tokens per output token (PTU)",
        true,
        false,
    ),
    ("ptu_minimum", "PTUs, Global and Data Zone", true, false),
    ("ptu_step", "PTUs, Global and Data Zone", true, false),
    ("ptu_regional_minimum", "PTUs, regional", false, false),
    ("ptu_regional_step", "PTUs, regional", false, false),
    ("price_input_per_1m", "USD per 1M input tokens", true, true),
    (
        "price_cached_input_per_1m",
        "USD per 1M cached input tokens",
        true,
        false,
    ),
    (
        "price_output_per_1m",
        "USD per 1M output tokens",
        true,
        true,
    ),
    (
        "price_batch_input_per_1m",
        "USD per 1M input tokens, Batch",
        false,
        false,
    ),
    (
        "price_batch_output_per_1m",
        "USD per 1M output tokens, Batch",
        false,
        false,
    ),
    ("ptu_price_per_hour", "USD per PTU-hour", true, false),
    ("context_window", "tokens, prompt + max_tokens", true, false),
];

/// The view of figure `f` under `spec`, its value made by `value`.
fn view<'a, T>(
    spec: (&'static str, &'static str, bool, bool),
    f: &'a Figure<T>,
    value: impl Fn(&T) -> Value,
) -> View<'a> {
    let (key, unit, overridable, required) = spec;
    View {
        key,
        unit,
        overridable,
        required,
        value: f.value.as_ref().map(value),
        source: f.source.as_deref(),
        note: f.note.as_deref(),
        assumption: f.assumption.as_deref(),
        none: f.none.as_deref(),
    }
}

const PTU_KEYS: [&str; 5] = [
    "ptu_input_tpm",
    "ptu_output_ratio",
    "ptu_minimum",
    "ptu_step",
    "ptu_price_per_hour",
];

impl Entry {
    /// Every figure, in display order.
    pub fn figures(&self) -> Vec<View<'_>> {
        SPECS.iter().map(|&spec| self.figure(spec)).collect()
    }

    fn figure(&self, spec: (&'static str, &'static str, bool, bool)) -> View<'_> {
        let n = |v: &f64| Value::Number(*v);
        let w = |v: &u32| Value::Whole(*v);
        match spec.0 {
            "decode_tokens_per_s" => view(spec, &self.decode_tokens_per_s, n),
            "decode_variation_cv" => view(spec, &self.decode_variation_cv, n),
            "ttft_base" => view(spec, &self.ttft_base, |v| Value::Duration(v.clone())),
            "prefill_tokens_per_s" => view(spec, &self.prefill_tokens_per_s, n),
            "default_max_tokens_estimate" => view(spec, &self.default_max_tokens_estimate, w),
            "rpm_per_1k_tpm" => view(spec, &self.rpm_per_1k_tpm, n),
            "ptu_input_tpm" => view(spec, &self.ptu_input_tpm, n),
            "ptu_output_ratio" => view(spec, &self.ptu_output_ratio, n),
            "ptu_minimum" => view(spec, &self.ptu_minimum, w),
            "ptu_step" => view(spec, &self.ptu_step, w),
            "ptu_regional_minimum" => view(spec, &self.ptu_regional_minimum, w),
            "ptu_regional_step" => view(spec, &self.ptu_regional_step, w),
            "price_input_per_1m" => view(spec, &self.price_input_per_1m, n),
            "price_cached_input_per_1m" => view(spec, &self.price_cached_input_per_1m, n),
            "price_output_per_1m" => view(spec, &self.price_output_per_1m, n),
            "price_batch_input_per_1m" => view(spec, &self.price_batch_input_per_1m, n),
            "price_batch_output_per_1m" => view(spec, &self.price_batch_output_per_1m, n),
            "ptu_price_per_hour" => view(spec, &self.ptu_price_per_hour, n),
            "context_window" => view(spec, &self.context_window, w),
            other => unreachable!("no figure '{other}' in SPECS"),
        }
    }
}

impl Catalogue {
    /// The entry for `name`.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.model.iter().find(|e| e.name == name)
    }

    /// The model names, in listing order, comma-separated.
    pub fn names(&self) -> String {
        let names: Vec<&str> = self.model.iter().map(|e| e.name.as_str()).collect();
        names.join(", ")
    }

    /// The file's rules: unique names; every figure has a value with exactly one of a known
    /// source or an assumption, or no value and the reason; the required figures have values;
    /// the PTU figures are all present or all absent; every value is within the range a
    /// scenario may give. Returns the first broken rule.
    pub fn check(&self) -> Result<(), String> {
        for (i, e) in self.model.iter().enumerate() {
            if self.model[..i].iter().any(|o| o.name == e.name) {
                return Err(format!("model '{}' is listed twice", e.name));
            }
            let figures = e.figures();
            for f in &figures {
                let at = format!("{}.{}", e.name, f.key);
                match (&f.value, f.source, f.assumption, f.none) {
                    (Some(_), Some(s), None, None) if self.refs.contains_key(s) => {}
                    (Some(_), Some(s), None, None) => {
                        return Err(format!("{at}: unknown source '{s}'"));
                    }
                    (Some(_), None, Some(a), None) if !a.trim().is_empty() => {}
                    (None, Some(s), None, Some(_)) if !self.refs.contains_key(s) => {
                        return Err(format!("{at}: unknown source '{s}'"));
                    }
                    (None, _, None, Some(why)) if !f.required && !why.trim().is_empty() => {}
                    (None, ..) if f.required => return Err(format!("{at}: a value is required")),
                    _ => {
                        return Err(format!(
                            "{at}: give a value with a source or an assumption, or none = \"why\""
                        ));
                    }
                }
                if let Some(v) = &f.value {
                    in_range(f.key, v).map_err(|m| format!("{at}: {m}"))?;
                }
            }
            let ptu = figures
                .iter()
                .filter(|f| PTU_KEYS.contains(&f.key) && f.value.is_some())
                .count();
            if ptu != 0 && ptu != PTU_KEYS.len() {
                return Err(format!(
                    "{}: the PTU figures ({}) must be all given or all none",
                    e.name,
                    PTU_KEYS.join(", ")
                ));
            }
        }
        Ok(())
    }
}

/// Whether a catalogue value is one a scenario could give.
fn in_range(key: &str, v: &Value) -> Result<(), String> {
    let range: Option<&Range> = match key {
        "decode_tokens_per_s" => Some(&limits::DECODE_TOKENS_PER_S),
        "decode_variation_cv" => Some(&limits::DECODE_VARIATION_CV),
        "prefill_tokens_per_s" => Some(&limits::PREFILL_TOKENS_PER_S),
        "rpm_per_1k_tpm" => Some(&limits::RPM_PER_1K_TPM),
        "ptu_input_tpm" => Some(&limits::PTU_INPUT_TPM),
        "ptu_output_ratio" => Some(&limits::PTU_OUTPUT_RATIO),
        "ptu_price_per_hour" => Some(&limits::PRICE_PER_PTU_HOUR),
        k if k.starts_with("price_") => Some(&limits::PRICE_PER_1M_TOKENS),
        k if k.starts_with("ptu_") => Some(&limits::PTU),
        _ => None,
    };
    match (v, range) {
        (Value::Number(x), Some(r)) => r.check(*x).map(|_| ()),
        (Value::Whole(x), Some(r)) => r.check_int(u64::from(*x)).map(|_| ()),
        (Value::Duration(s), _) => parse_duration(s).map(|_| ()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_parses_and_follows_its_rules() {
        let c = catalogue();
        c.check().unwrap();
        for name in [
            "gpt-4o",
            "gpt-4o-mini",
            "gpt-4.1",
            "gpt-4.1-mini",
            "gpt-4.1-nano",
            "o4-mini",
            "gpt-5",
            "gpt-5-mini",
            "gpt-5-nano",
        ] {
            assert!(c.get(name).is_some(), "{name} missing");
        }
        // Every figure says where it comes from: a known source or an assumption with a
        // reason, or why the model has none.
        for e in &c.model {
            for f in e.figures() {
                let said = match (&f.value, f.source, f.assumption, f.none) {
                    (Some(_), Some(s), None, None) => !c.refs[s].url.is_empty(),
                    (Some(_), None, Some(a), None) => a.len() > 10,
                    (None, _, None, Some(n)) => n.len() > 10,
                    _ => false,
                };
                assert!(said, "{}.{}", e.name, f.key);
            }
        }
        // Every source is cited by some figure, and says where and when.
        for (id, r) in &c.refs {
            assert!(
                c.model
                    .iter()
                    .any(|e| e.figures().iter().any(|f| f.source == Some(id.as_str()))),
                "source '{id}' is cited by no figure"
            );
            assert!(!r.title.is_empty() && !r.version.is_empty() && r.url.starts_with("https://"));
        }
    }

    fn broken(edit: impl Fn(&mut Catalogue)) -> String {
        let mut c: Catalogue = toml::from_str(TEXT).unwrap();
        edit(&mut c);
        c.check().unwrap_err()
    }

    #[test]
    fn check_refuses_unsourced_unknown_and_partial_figures() {
        let e = broken(|c| c.model[0].decode_tokens_per_s.source = None);
        assert!(e.contains("gpt-4o-mini.decode_tokens_per_s"), "{e}");
        let e = broken(|c| c.model[0].decode_tokens_per_s.source = Some("nope".into()));
        assert!(e.contains("unknown source 'nope'"), "{e}");
        let e = broken(|c| {
            c.model[0].price_input_per_1m.value = None;
            c.model[0].price_input_per_1m.source = None;
            c.model[0].price_input_per_1m.none = Some("no price published".into());
        });
        assert!(e.contains("price_input_per_1m: a value is required"), "{e}");
        let e = broken(|c| {
            let f = &mut c.model[0].ptu_step;
            f.value = None;
            f.source = None;
            f.none = Some("not offered as provisioned".into());
        });
        assert!(e.contains("all given or all none"), "{e}");
        let e = broken(|c| c.model[0].ptu_output_ratio.value = Some(0.0));
        assert!(e.contains("gpt-4o-mini.ptu_output_ratio"), "{e}");
        let e = broken(|c| c.model[1].name = "gpt-4o-mini".into());
        assert!(e.contains("listed twice"), "{e}");
    }
}
