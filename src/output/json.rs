//! The `spillway.summary/v1` JSON document.

use super::Exporter;
use crate::metrics::Summary;

/// Pretty-printed JSON with a trailing newline.
pub struct Json;

impl Exporter for Json {
    fn render(&self, summary: &Summary) -> String {
        let mut s = serde_json::to_string_pretty(summary).expect("summary serializes");
        s.push('\n');
        s
    }
}

impl Json {
    /// The rendered document as bytes.
    pub fn render_bytes(&self, summary: &Summary) -> Vec<u8> {
        self.render(summary).into_bytes()
    }
}

/// Reading the JSON documents back (`#[serde(deserialize_with = ...)]` helpers for the few
/// fields serde cannot read on its own): names the document holds as `&'static str` are read
/// as one of the names the simulator writes, and numbers written as `null` (not finite) read
/// as NaN.
pub mod de {
    use serde::de::{Deserialize, Deserializer, Error, Unexpected};

    /// `value` as the entry of `names` it equals; an error listing them otherwise.
    fn one_of<'de, D: Deserializer<'de>>(
        d: D,
        names: &[&'static str],
    ) -> Result<&'static str, D::Error> {
        let text = String::deserialize(d)?;
        names.iter().find(|n| **n == text).copied().ok_or_else(|| {
            D::Error::invalid_value(Unexpected::Str(&text), &names.join(" or ").as_str())
        })
    }

    /// The summary's `schema`: exactly [`crate::metrics::SUMMARY_SCHEMA`].
    pub fn summary_schema<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
        one_of(d, &[crate::metrics::SUMMARY_SCHEMA])
    }

    /// A deployment's `kind`: `standard` or `provisioned` (as `Deployment::kind_name` writes).
    pub fn deployment_kind<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
        one_of(d, &["standard", "provisioned"])
    }

    /// A gateway's `policy`: one of the routing policies' names.
    pub fn gateway_policy<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
        let names = crate::gateway::Policy::ALL.map(|(n, _)| n);
        one_of(d, &names)
    }

    /// A number that may have been written as `null` (serde_json writes NaN so): NaN then.
    pub fn number_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}
