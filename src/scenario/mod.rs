//! Scenarios: the TOML format as written ([`raw`]), overrides ([`overlay`]) and the checked,
//! typed [`Scenario`] the engine runs.
//!
//! Loading follows the raw → checked pattern: the file is parsed into a TOML tree, each
//! `[[variant]]`'s overrides and the command line's `--set` pairs are applied to a copy of it,
//! the copy is deserialized into [`raw::RawScenario`] (unknown keys are errors), and the
//! validators check units, ranges, sizes and cross-references and resolve defaults. Every error
//! is one line that names the file, the line and column where known, the variant, and the key.
//!
//! The code mirrors the file's tables and `docs/scenario.md`'s sections:
//!
//! - [`raw`]: the serde types, as written;
//! - `variants`: a variant's section replacements and `set` pairs, `--set`, and `copies`;
//! - `validate`: one checker per table (`[scenario]`, `[models]`, `[[pool]]`,
//!   `[[deployment]]`, `[client]`, `[router]`, `[gateway]`, `[[fault]]`, `[workload]`), each
//!   in its own file, called in that order by `validate::validate`;
//! - [`limits`]: the size limits ([`Limits`], relaxable) and the ranges of numbers;
//! - `names`: names without control characters;
//! - `words`: type errors in the domain's words;
//! - [`types`]: the checked [`Scenario`] and its parts;
//! - [`models`]: the built-in model catalogue.
//!
//! `[sweep]` and `[[slo]]` are read once from the file as written (see [`parse`]) and checked by
//! [`crate::sweep`] and [`crate::slo`].
//!
//! The full key reference, with defaults, sources and limits, is `docs/scenario.md`.

pub mod limits;
pub mod models;
mod names;
pub mod overlay;
pub mod raw;
pub mod types;
mod validate;
mod variants;
pub(crate) mod words;

#[cfg(test)]
mod testutil;

use toml::{Table, Value};

use crate::error::{Error, Location, Result, line_col};
use raw::*;
use variants::{Build, build_variant};

pub use limits::Limits;
pub use models::ModelParams;
pub use types::*;

/// A loaded scenario file: one checked [`Scenario`] per variant, in file order.
#[derive(Clone, Debug)]
pub struct ScenarioSet {
    /// `[scenario] name`.
    pub name: String,
    /// The master seed (after `--seed`).
    pub seed: u64,
    /// The variants; a file without `[[variant]]` has one named `baseline`.
    pub variants: Vec<Scenario>,
    /// `[sweep]` as written, if any (checked by [`crate::sweep`]).
    pub sweep: Option<RawSweep>,
    /// `[[slo]]` entries as written (checked by [`crate::slo`]).
    pub slo: Vec<RawSlo>,
    /// What the variants were built from, to rebuild them with more overrides.
    source: Source,
}

/// The parsed file and the overrides that built a [`ScenarioSet`].
#[derive(Clone, Debug)]
struct Source {
    file: String,
    base: Table,
    variants: Vec<(String, Table)>,
    overrides: Vec<Override>,
    seed: Option<u64>,
    limits: Limits,
}

/// One `KEY = VALUE` override and where it came from (for error messages).
#[derive(Clone, Debug)]
pub struct Override {
    /// Where it was given, e.g. `--set` or `sweep point 3`.
    pub origin: String,
    /// Dotted key path.
    pub key: String,
    /// Value.
    pub value: Value,
}

impl ScenarioSet {
    /// The file the set was loaded from.
    pub fn file(&self) -> &str {
        &self.source.file
    }

    /// Rebuilds variant `index` (file order) with `extra` overrides applied last (after the
    /// variant's own and the command line's). Used for sweep points.
    pub fn rebuild(&self, index: usize, extra: &[Override]) -> Result<Scenario> {
        let mut overrides = self.source.overrides.clone();
        overrides.extend_from_slice(extra);
        let src = &self.source;
        let b = Build {
            base: &src.base,
            file: &src.file,
            overrides: &overrides,
            seed: src.seed,
            limits: &src.limits,
        };
        match src.variants.get(index) {
            Some((name, vt)) => build_variant(&b, Some((name, vt))),
            None => build_variant(&b, None),
        }
    }
}

/// Loads and checks a scenario file. `sets` are `--set KEY=VALUE` pairs applied to every
/// variant after its own overrides; `seed` replaces `[scenario] seed`.
pub fn load(path: &str, sets: &[(String, String)], seed: Option<u64>) -> Result<ScenarioSet> {
    load_with_limits(path, sets, seed, &Limits::default())
}

/// [`load`] with size limits other than the default ones.
pub fn load_with_limits(
    path: &str,
    sets: &[(String, String)],
    seed: Option<u64>,
    limits: &Limits,
) -> Result<ScenarioSet> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = utf8(bytes, path)?;
    parse_with_limits(&text, path, sets, seed, limits)
}

/// The file's text, or an error at the first byte that is not UTF-8.
fn utf8(bytes: Vec<u8>, file: &str) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let valid = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
        let (line, column) = line_col(valid, at);
        Error::Scenario {
            location: Box::new(Location {
                file: file.to_string(),
                line: Some(line),
                column: Some(column),
                ..Default::default()
            }),
            message: format!(
                "byte 0x{:02x} (offset {at}) is not UTF-8; save the file as UTF-8",
                bytes[at]
            ),
        }
    })
}

/// Parses and checks scenario text; `file` is used in error messages.
pub fn parse(
    text: &str,
    file: &str,
    sets: &[(String, String)],
    seed: Option<u64>,
) -> Result<ScenarioSet> {
    parse_with_limits(text, file, sets, seed, &Limits::default())
}

/// [`parse`] with size limits other than the default ones.
pub fn parse_with_limits(
    text: &str,
    file: &str,
    sets: &[(String, String)],
    seed: Option<u64>,
    limits: &Limits,
) -> Result<ScenarioSet> {
    // Parse twice: as a tree (for overrides) and as the typed base document, so that unknown
    // keys and type errors in the file itself are reported with line and column.
    let mut base: Table = toml::from_str(text).map_err(|e| toml_error(text, file, &e, None))?;
    let base_raw = typed_file(text, file)?;
    let (sweep, slo) = sweep_and_slo(base_raw, file)?;
    let overrides: Vec<Override> = sets
        .iter()
        .map(|(k, v)| Override {
            origin: "--set".into(),
            key: k.clone(),
            value: overlay::parse_value(v),
        })
        .collect();
    let tables = variant_tables(base.remove("variant"), file, limits)?;
    let b = Build {
        base: &base,
        file,
        overrides: &overrides,
        seed,
        limits,
    };
    let mut out = Vec::new();
    if tables.is_empty() {
        out.push(build_variant(&b, None)?);
    }
    let mut variants: Vec<(String, Table)> = Vec::new();
    for (i, v) in tables.into_iter().enumerate() {
        let (name, vt) = variant_entry(i, v, &variants, file)?;
        out.push(build_variant(&b, Some((&name, &vt)))?);
        variants.push((name, vt));
    }
    if let Some(v) = out.iter().find(|v| v.seed != out[0].seed) {
        return Err(Error::at_key(
            file,
            Some(&v.variant),
            "scenario.seed",
            "the seed is shared by all variants (common random numbers); set it in [scenario] or with --seed",
        ));
    }
    validate::check_baseline(&out, file)?;
    let first = &out[0];
    Ok(ScenarioSet {
        name: first.name.clone(),
        seed: first.seed,
        sweep,
        slo,
        variants: out,
        source: Source {
            file: file.to_string(),
            base,
            variants,
            overrides,
            seed,
            limits: *limits,
        },
    })
}

/// The file as written, typed. A type error names the key and says what it expects in the
/// domain's words ([`words::type_error`]); other errors keep the parser's words.
fn typed_file(text: &str, file: &str) -> Result<RawScenario> {
    let de = toml::Deserializer::parse(text).map_err(|e| toml_error(text, file, &e, None))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        toml_error(text, file, e.inner(), Some(&path))
    })
}

/// A TOML error at its line and column; a type error at `path` is rewritten and keyed.
fn toml_error(text: &str, file: &str, e: &toml::de::Error, path: Option<&str>) -> Error {
    let (line, column) = e
        .span()
        .map(|s| line_col(text, s.start))
        .map_or((None, None), |(l, c)| (Some(l), Some(c)));
    let rewritten = path.and_then(|p| Some((p, words::type_error(p, e.message())?)));
    // A type error inside a distribution table comes back in words, with the key attached.
    let (key, message) = match rewritten {
        Some((p, m)) => ((p != ".").then(|| p.to_string()), m),
        None => (None, e.message().to_string()),
    };
    Error::Scenario {
        location: Box::new(Location {
            file: file.to_string(),
            line,
            column,
            key,
            ..Default::default()
        }),
        message,
    }
}

/// `[sweep]` and `[[slo]]`, read once from the file as written (a variant cannot change them);
/// their keys are checked by [`crate::sweep`] and [`crate::slo`], their names here.
fn sweep_and_slo(raw: RawScenario, file: &str) -> Result<(Option<RawSweep>, Vec<RawSlo>)> {
    let list = raw
        .sweep
        .iter()
        .flat_map(|s| s.variants.iter().flatten())
        .map(|n| ("sweep.variants".to_string(), n))
        .chain(raw.slo.iter().enumerate().flat_map(|(i, s)| {
            let own = s.name.iter().map(move |n| (format!("slo[{i}].name"), n));
            let vs = s
                .variants
                .iter()
                .flatten()
                .map(move |n| (format!("slo[{i}].variants"), n));
            own.chain(vs)
        }));
    for (key, name) in list {
        names::check_name(name).map_err(|m| Error::at_key(file, None, key, m))?;
    }
    Ok((raw.sweep, raw.slo))
}

/// The `[[variant]]` entries as written (at most `limits.max_variants`).
fn variant_tables(v: Option<Value>, file: &str, limits: &Limits) -> Result<Vec<Value>> {
    let variants = match v {
        None => vec![],
        Some(Value::Array(v)) => v,
        Some(_) => {
            return Err(Error::at_key(
                file,
                None,
                "variant",
                "must be an array of tables ([[variant]])",
            ));
        }
    };
    if variants.len() > limits.max_variants {
        return Err(Error::at_key(
            file,
            None,
            "variant",
            format!(
                "{} variants; at most {} per scenario: split them over several files; {}",
                limits::group(variants.len() as i64),
                limits::group(limits.max_variants as i64),
                limits::SEE_LIMITS
            ),
        ));
    }
    Ok(variants)
}

/// `[[variant]]` number `i` and its name: a non-empty string without control characters, not
/// among the names `before` it.
fn variant_entry(
    i: usize,
    v: Value,
    before: &[(String, Table)],
    file: &str,
) -> Result<(String, Table)> {
    let Value::Table(vt) = v else {
        return Err(Error::at_key(
            file,
            None,
            format!("variant[{i}]"),
            "must be a table",
        ));
    };
    let name = match vt.get("name") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => {
            return Err(Error::at_key(
                file,
                None,
                format!("variant[{i}].name"),
                "every [[variant]] needs a non-empty string 'name'",
            ));
        }
    };
    names::check_name(&name)
        .map_err(|m| Error::at_key(file, None, format!("variant[{i}].name"), m))?;
    if before.iter().any(|(n, _)| *n == name) {
        return Err(Error::at_key(
            file,
            Some(&name),
            format!("variant[{i}].name"),
            "duplicate variant name",
        ));
    }
    Ok((name, vt))
}

#[cfg(test)]
mod tests {
    use super::testutil::{BASE, err};

    #[test]
    fn variants_may_not_change_the_seed() {
        let text = format!(
            "{BASE}\n[[variant]]\nname = \"a\"\n[[variant]]\nname = \"b\"\nset = {{ \"scenario.seed\" = 5 }}\n"
        );
        let e = err(&text);
        assert!(
            e.contains("variant 'b'") && e.contains("common random numbers"),
            "{e}"
        );
    }

    #[test]
    fn distribution_errors_name_the_key_and_line() {
        let e = err(&BASE.replace(
            "prompt_tokens = 100",
            "prompt_tokens = { dist = \"normal\", mean = 1, sdd = 2 }",
        ));
        assert!(
            e.contains("t.toml:22:17") && e.contains("unknown field `sdd`"),
            "{e}"
        );
        let e = err(&BASE.replace("prompt_tokens = 100", "prompt_tokens = \"lots\""));
        assert!(e.contains("expected a number or a table"), "{e}");
    }

    #[test]
    fn invalid_utf8_names_the_line_column_and_byte() {
        let e = super::utf8(b"[scenario]\nname = \"a\xffb\"\n".to_vec(), "s.toml")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "s.toml:2:10: byte 0xff (offset 20) is not UTF-8; save the file as UTF-8"
        );
    }

    #[test]
    fn variant_names_are_required_and_unique() {
        let e = err(&format!("{BASE}\n[[variant]]\ndescription = \"x\"\n"));
        assert!(
            e.contains("variant[0].name") && e.contains("non-empty"),
            "{e}"
        );
        let e = err(&format!(
            "{BASE}\n[[variant]]\nname = \"a\"\n[[variant]]\nname = \"a\"\n"
        ));
        assert!(
            e.contains("variant[1].name") && e.contains("duplicate"),
            "{e}"
        );
    }
}
