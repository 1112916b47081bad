//! `spillway models`: the model catalogue. Without a name, one line per model (fits 100
//! columns); with a name, every figure of that model with its source, assumption or reason.
//! `--format json` prints the same as the `spillway.models/v1` document: every model (or the
//! named one) with all its figures, and the sources they cite.

use std::fmt::Write as _;
use std::io::Write as _;

use clap::{Args, ValueEnum};
use serde_json::{Value as Json, json};

use crate::error::{Error, Result};
use crate::scenario::models::catalogue::{Catalogue, Entry, Value, View, catalogue};

/// The JSON document's schema name.
pub const MODELS_SCHEMA: &str = "spillway.models/v1";

/// Width the text output is wrapped to.
const WIDTH: usize = 100;

/// `spillway models`.
#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// Print every figure of this model with its source (default: list all models).
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = ModelsFormat::Table)]
    pub format: ModelsFormat,
}

/// Output formats of `spillway models`.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ModelsFormat {
    /// Aligned text.
    Table,
    /// The `spillway.models/v1` JSON document.
    Json,
}

/// Runs `spillway models`.
pub fn models_command(a: ModelsArgs) -> Result<u8> {
    let text = render(catalogue(), a.name.as_deref(), a.format)?;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(0)
}

/// What `spillway models [NAME] --format F` prints.
pub fn render(c: &Catalogue, name: Option<&str>, format: ModelsFormat) -> Result<String> {
    let entries: Vec<&Entry> = match name {
        None => c.model.iter().collect(),
        Some(n) => vec![c.get(n).ok_or_else(|| {
            Error::Usage(format!(
                "unknown model '{n}': the catalogue has {} (a model not in it needs its figures in [models.\"{n}\"]; see docs/models.md)",
                c.names()
            ))
        })?],
    };
    Ok(match (format, name) {
        (ModelsFormat::Json, _) => json_doc(c, &entries),
        (ModelsFormat::Table, None) => table(c),
        (ModelsFormat::Table, Some(_)) => details(c, entries[0]),
    })
}

/// A figure's value by key.
fn value(e: &Entry, key: &str) -> Option<Value> {
    e.figures()
        .into_iter()
        .find(|f| f.key == key)
        .and_then(|f| f.value)
}

fn number(e: &Entry, key: &str) -> Option<f64> {
    match value(e, key)? {
        Value::Number(v) => Some(v),
        Value::Whole(v) => Some(f64::from(v)),
        Value::Duration(_) => None,
    }
}

/// A whole number with thousands separators: `37,000`.
fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.round());
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A short number: `111`, `72.4`, `0.15`.
fn short(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A price: at least two decimals, more when needed (`0.40`, `0.075`, `10.00`).
fn price(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0');
    match s.split_once('.') {
        Some((_, d)) if d.len() >= 2 => s.to_string(),
        Some((i, d)) => format!("{i}.{d:0<2}"),
        None => format!("{s}.00"),
    }
}

/// The one-line-per-model listing.
fn table(c: &Catalogue) -> String {
    let header = [
        "model", "tok/s", "TTFT", "RPM/1K", "PTU TPM", "ratio", "min/step", "in $/1M", "cached",
        "out $/1M", "PTU $/h",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    let dash = || "-".to_string();
    for e in &c.model {
        let ttft = match value(e, "ttft_base") {
            Some(Value::Duration(s)) => s,
            _ => dash(),
        };
        let min_step = match (number(e, "ptu_minimum"), number(e, "ptu_step")) {
            (Some(m), Some(s)) => format!("{}/{}", short(m), short(s)),
            _ => dash(),
        };
        rows.push(vec![
            e.name.clone(),
            number(e, "decode_tokens_per_s").map_or_else(dash, short),
            ttft,
            number(e, "rpm_per_1k_tpm").map_or_else(dash, short),
            number(e, "ptu_input_tpm").map_or_else(dash, thousands),
            number(e, "ptu_output_ratio").map_or_else(dash, short),
            min_step,
            number(e, "price_input_per_1m").map_or_else(dash, price),
            number(e, "price_cached_input_per_1m").map_or_else(dash, price),
            number(e, "price_output_per_1m").map_or_else(dash, price),
            number(e, "ptu_price_per_hour").map_or_else(dash, price),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let mut line = format!("{:<w$}", r[0], w = widths[0]);
        for (cell, w) in r.iter().zip(&widths).skip(1) {
            let _ = write!(line, "  {cell:>w$}");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&wrap(
        "tok/s: mean decode speed (output tokens per second); TTFT: fixed part of the time to \
         first token (plus prompt tokens / prefill speed); RPM/1K: requests per minute per \
         1,000 TPM of quota; PTU TPM: input tokens per minute per PTU; ratio: PTU weight of an \
         output token; min/step: smallest Global and Data Zone provisioned deployment and its \
         increment, PTUs; prices: USD, Azure OpenAI Global Standard; -: not offered. Every \
         figure with its source: spillway models NAME. Override any of them in a scenario's \
         [models.\"NAME\"] table (docs/models.md).",
        "",
    ));
    out
}

/// Every figure of one model, each with where it comes from, then the sources in full.
fn details(c: &Catalogue, e: &Entry) -> String {
    let mut out = format!("{} (version {})\n\n", e.name, e.version);
    let mut cited: Vec<&str> = Vec::new();
    for f in e.figures() {
        let head = match &f.value {
            Some(v) => format!("{} = {}", f.key, v.toml()),
            None => format!("{} = none", f.key),
        };
        let shown = if f.overridable { "" } else { "; shown only" };
        out.push_str(&format!("{head}    # {}{shown}\n", f.unit));
        out.push_str(&wrap(&explain(c, &f), "    "));
        if let Some(id) = f.source.filter(|id| !cited.contains(id)) {
            cited.push(id);
        }
    }
    out.push_str("\nSources:\n");
    for id in cited {
        let cite = c.refs.get(id).map_or_else(|| id.to_string(), |r| r.cite());
        out.push_str(&wrap(&format!("[{id}] {cite}"), "  "));
    }
    out.push('\n');
    out.push_str(&wrap(
        &format!(
            "Override a figure in a scenario: [models.\"{}\"] with the key and your value, e.g. \
             decode_tokens_per_s = 90.0 (see docs/models.md).",
            e.name
        ),
        "",
    ));
    out
}

/// Where a figure comes from, in words (the source by its short citation).
fn explain(c: &Catalogue, f: &View<'_>) -> String {
    let note = f.note.map(|n| format!(" Note: {n}.")).unwrap_or_default();
    let cite = |id: &str| {
        let short = c.refs.get(id).map_or(id, |r| r.short.as_str());
        format!("[{id}]: {short}")
    };
    match (f.source, f.assumption, f.none) {
        (Some(id), _, Some(n)) => format!("none: {n}; source {}.{note}", cite(id)),
        (Some(id), _, None) => format!("source {}.{note}", cite(id)),
        (_, Some(a), _) => format!("assumption: {a}.{note}"),
        (_, _, Some(n)) => format!("none: {n}.{note}"),
        _ => String::new(),
    }
}

/// `text` wrapped to [`WIDTH`] columns, every line starting with `indent`.
fn wrap(text: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::from(indent);
    for word in text.split_whitespace() {
        if line.len() > indent.len() && line.len() + 1 + word.len() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = String::from(indent);
        }
        if line.len() > indent.len() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if line.len() > indent.len() {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The `spillway.models/v1` document.
fn json_doc(c: &Catalogue, entries: &[&Entry]) -> String {
    let models: Vec<Json> = entries
        .iter()
        .map(|e| {
            let figures: Vec<Json> = e
                .figures()
                .iter()
                .map(|f| {
                    json!({
                        "key": f.key,
                        "unit": f.unit,
                        "overridable": f.overridable,
                        "value": f.value.as_ref().map_or(Json::Null, Value::json),
                        "source": f.source,
                        "note": f.note,
                        "assumption": f.assumption,
                        "none": f.none,
                    })
                })
                .collect();
            json!({ "name": e.name, "version": e.version, "figures": figures })
        })
        .collect();
    let mut cited: Vec<&str> = entries
        .iter()
        .flat_map(|e| e.figures().into_iter().filter_map(|f| f.source))
        .collect();
    cited.sort_unstable();
    cited.dedup();
    let refs: serde_json::Map<String, Json> = cited
        .into_iter()
        .filter_map(|id| c.refs.get(id).map(|r| (id, r)))
        .map(|(id, r)| {
            (
                id.to_string(),
                json!({
                    "short": r.short,
                    "title": r.title,
                    "publisher": r.publisher,
                    "url": r.url,
                    "version": r.version,
                }),
            )
        })
        .collect();
    let doc = json!({ "schema": MODELS_SCHEMA, "models": models, "refs": refs });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_written() {
        assert_eq!(thousands(37_000.0), "37,000");
        assert_eq!(thousands(2_500.0), "2,500");
        assert_eq!(thousands(450.0), "450");
        assert_eq!(short(111.0), "111");
        assert_eq!(short(72.4), "72.4");
        assert_eq!(price(0.4), "0.40");
        assert_eq!(price(0.075), "0.075");
        assert_eq!(price(10.0), "10.00");
        assert_eq!(price(0.005), "0.005");
    }

    #[test]
    fn the_table_fits_100_columns_and_lists_every_model() {
        let c = catalogue();
        let t = render(c, None, ModelsFormat::Table).unwrap();
        assert!(t.lines().all(|l| l.len() <= WIDTH), "{t}");
        for e in &c.model {
            assert!(
                t.lines().any(|l| l.starts_with(&format!("{} ", e.name))),
                "{t}"
            );
        }
        let mini = t.lines().find(|l| l.starts_with("gpt-4o-mini ")).unwrap();
        let cells: Vec<&str> = mini.split_whitespace().collect();
        assert_eq!(
            cells,
            [
                "gpt-4o-mini",
                "111",
                "300ms",
                "6",
                "37,000",
                "4",
                "15/5",
                "0.15",
                "0.075",
                "0.60",
                "1.00"
            ]
        );
        let nano = t.lines().find(|l| l.starts_with("gpt-5-nano ")).unwrap();
        assert_eq!(nano.matches(" -").count(), 4, "{nano}");
    }

    #[test]
    fn details_give_every_figure_with_its_source() {
        let c = catalogue();
        let t = render(c, Some("gpt-4.1-mini"), ModelsFormat::Table).unwrap();
        assert!(t.lines().all(|l| l.len() <= WIDTH), "{t}");
        assert!(t.contains("decode_tokens_per_s = 108.0"), "{t}");
        assert!(
            t.contains("source [aa-gpt-4-1-mini]: Artificial Analysis"),
            "{t}"
        );
        assert!(t.contains("ttft_base = \"300ms\""), "{t}");
        assert!(t.contains("assumption: splitting"), "{t}");
        for f in c.get("gpt-4.1-mini").unwrap().figures() {
            assert!(t.contains(&format!("{} = ", f.key)), "{} missing", f.key);
        }
        let t = render(c, Some("gpt-5-nano"), ModelsFormat::Table).unwrap();
        assert!(t.contains("ptu_input_tpm = none"), "{t}");
        assert!(
            t.contains("none: gpt-5-nano is in neither PTU table"),
            "{t}"
        );
        let e = render(c, Some("gpt-9"), ModelsFormat::Table)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown model 'gpt-9'") && e.contains("gpt-4.1-mini"),
            "{e}"
        );
    }

    #[test]
    fn json_has_every_figure_and_the_sources_it_cites() {
        let c = catalogue();
        let v: Json = serde_json::from_str(&render(c, None, ModelsFormat::Json).unwrap()).unwrap();
        assert_eq!(v["schema"], MODELS_SCHEMA);
        assert_eq!(v["models"].as_array().unwrap().len(), c.model.len());
        let mini = &v["models"][0];
        assert_eq!(mini["name"], "gpt-4o-mini");
        let decode = &mini["figures"][0];
        assert_eq!(decode["key"], "decode_tokens_per_s");
        assert_eq!(decode["value"], 111.0);
        assert_eq!(decode["source"], "seed-timeouts");
        assert!(
            v["refs"]["seed-timeouts"]["url"]
                .as_str()
                .unwrap()
                .starts_with("https://")
        );
        let one: Json =
            serde_json::from_str(&render(c, Some("o4-mini"), ModelsFormat::Json).unwrap()).unwrap();
        assert_eq!(one["models"].as_array().unwrap().len(), 1);
        assert!(
            one["refs"].get("seed-timeouts").is_none(),
            "only the cited sources"
        );
    }
}
