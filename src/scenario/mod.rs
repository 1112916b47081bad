//! Scenarios: the TOML format as written ([`raw`]), overrides ([`overlay`]) and the checked,
//! typed [`Scenario`] the engine runs.
//!
//! Loading follows the raw → checked pattern: the file is parsed into a TOML tree, each
//! `[[variant]]`'s overrides and the command line's `--set` pairs are applied to a copy of it,
//! the copy is deserialized into [`raw::RawScenario`] (unknown keys are errors), and
//! [`validate`] checks units, ranges and cross-references and resolves defaults. Every error
//! names the file, the line and column where known, the variant, and the key.
//!
//! The full key reference, with defaults and their sources, is `docs/scenario.md`.

//!
//! The code mirrors the file's tables and `docs/scenario.md`'s sections:
//!
//! - [`raw`]: the serde types, as written;
//! - `variants`: a variant's section replacements and `set` pairs, `--set`, and `copies`;
//! - `validate`: one checker per table (`[scenario]`, `[models]`, `[[pool]]`,
//!   `[[deployment]]`, `[client]`, `[router]`, `[gateway]`, `[[fault]]`, `[workload]`), each
//!   in its own file, called in that order by `validate::validate`;
//! - [`types`]: the checked [`Scenario`] and its parts;
//! - [`models`]: the built-in model catalogue.
//!
//! `[sweep]` and `[[slo]]` are read once from the file as written (see [`parse`]) and checked by
//! [`crate::sweep`] and [`crate::slo`].

pub mod models;
pub mod overlay;
pub mod raw;
pub mod types;
mod validate;
mod variants;

#[cfg(test)]
mod testutil;

use std::collections::BTreeMap;

use toml::{Table, Value};

use crate::error::{Error, Location, Result, line_col};
use raw::*;
use variants::build_variant;

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
        match src.variants.get(index) {
            Some((name, vt)) => {
                build_variant(&src.base, Some((name, vt)), &src.file, &overrides, src.seed)
            }
            None => build_variant(&src.base, None, &src.file, &overrides, src.seed),
        }
    }
}

/// Loads and checks a scenario file. `sets` are `--set KEY=VALUE` pairs applied to every
/// variant after its own overrides; `seed` replaces `[scenario] seed`.
pub fn load(path: &str, sets: &[(String, String)], seed: Option<u64>) -> Result<ScenarioSet> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse(&text, path, sets, seed)
}

/// Parses and checks scenario text; `file` is used in error messages.
pub fn parse(
    text: &str,
    file: &str,
    sets: &[(String, String)],
    seed: Option<u64>,
) -> Result<ScenarioSet> {
    let toml_err = |e: toml::de::Error| {
        let (line, column) = e
            .span()
            .map(|s| line_col(text, s.start))
            .map_or((None, None), |(l, c)| (Some(l), Some(c)));
        Error::Scenario {
            location: Box::new(Location {
                file: file.to_string(),
                line,
                column,
                ..Default::default()
            }),
            message: e.message().to_string(),
        }
    };
    // Parse twice: as a tree (for overrides) and as the typed base document, so that unknown
    // keys and type errors in the file itself are reported with line and column.
    let mut base: Table = toml::from_str(text).map_err(toml_err)?;
    let base_raw: RawScenario = toml::from_str(text).map_err(toml_err)?;
    let overrides: Vec<Override> = sets
        .iter()
        .map(|(k, v)| Override {
            origin: "--set".into(),
            key: k.clone(),
            value: overlay::parse_value(v),
        })
        .collect();

    let variants = match base.remove("variant") {
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
    let mut out = Vec::new();
    let mut named = Vec::new();
    let mut seen = BTreeMap::new();
    if variants.is_empty() {
        out.push(build_variant(&base, None, file, &overrides, seed)?);
    }
    for (i, v) in variants.iter().enumerate() {
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
        if seen.insert(name.clone(), i).is_some() {
            return Err(Error::at_key(
                file,
                Some(&name),
                format!("variant[{i}].name"),
                "duplicate variant name",
            ));
        }
        out.push(build_variant(
            &base,
            Some((&name, vt)),
            file,
            &overrides,
            seed,
        )?);
        named.push((name, vt.clone()));
    }
    if let Some(v) = out.iter().find(|v| v.seed != out[0].seed) {
        return Err(Error::at_key(
            file,
            Some(&v.variant),
            "scenario.seed",
            "the seed is shared by all variants (common random numbers); set it in [scenario] or with --seed",
        ));
    }
    let first = &out[0];
    Ok(ScenarioSet {
        name: first.name.clone(),
        seed: first.seed,
        sweep: base_raw.sweep,
        slo: base_raw.slo,
        variants: out,
        source: Source {
            file: file.to_string(),
            base,
            variants: named,
            overrides,
            seed,
        },
    })
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
