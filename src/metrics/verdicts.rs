//! What a summary adds to a run's numbers to compare variants: the load each ran under and
//! each `[[slo]]`'s verdict on it, and the baseline they are compared with.

use serde::{Deserialize, Serialize};

use super::round3;
use super::summary::{SUMMARY_SCHEMA, Summary, VariantSummary};
use crate::scenario::Scenario;

/// One `[[slo]]` entry of a run and its verdicts.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SloSummary {
    /// Name.
    pub name: String,
    /// Metric expression (a path into a variant's summary, or a ratio of two).
    pub metric: String,
    /// Upper bound (inclusive), in the summary's unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Lower bound (inclusive), in the summary's unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Variants it applies to (empty: all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<String>,
    /// One verdict per variant it applies to, in variant order.
    pub results: Vec<SloVerdict>,
}

/// An SLO's verdict on one variant.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SloVerdict {
    /// Variant.
    pub variant: String,
    /// Measured value in the summary's unit (`null` when the metric is not a number for the
    /// variant).
    #[serde(deserialize_with = "crate::output::json::de::number_or_null")]
    pub value: f64,
    /// Whether the bound holds.
    pub pass: bool,
}

impl Summary {
    /// The summary document of a set of variants of `set`: the scenario's baseline when it
    /// is among them, else the first; no SLO verdicts ([`Summary::with_slos`] adds them).
    pub fn new(set: &crate::scenario::ScenarioSet, variants: Vec<VariantSummary>) -> Summary {
        let wanted = set.variants.first().and_then(|v| v.baseline.as_deref());
        let baseline = wanted
            .filter(|b| variants.iter().any(|v| v.name == *b))
            .or(variants.first().map(|v| v.name.as_str()))
            .map(str::to_string);
        Summary {
            schema: SUMMARY_SCHEMA,
            scenario: set.name.clone(),
            seed: set.seed,
            baseline,
            slo: Vec::new(),
            variants,
        }
    }

    /// The summary with each SLO's verdict on every variant it applies to.
    pub fn with_slos(mut self, slos: &[crate::slo::Slo]) -> Summary {
        self.slo = slos
            .iter()
            .map(|o| SloSummary {
                name: o.name.clone(),
                metric: o.metric.clone(),
                max: o.max,
                min: o.min,
                variants: o.variants.clone(),
                results: self
                    .variants
                    .iter()
                    .filter(|v| o.applies_to(&v.name))
                    .map(|v| {
                        let value = o.measure(&crate::slo::summary_value(v)).unwrap_or(f64::NAN);
                        SloVerdict {
                            variant: v.name.clone(),
                            value,
                            pass: o.holds(value),
                        }
                    })
                    .collect(),
            })
            .collect();
        self
    }

    /// The position of the baseline variant: [`Summary::baseline`] when it names a variant,
    /// else 0 (the first).
    pub fn baseline_index(&self) -> usize {
        self.baseline
            .as_ref()
            .and_then(|b| self.variants.iter().position(|v| &v.name == b))
            .unwrap_or(0)
    }
}

/// The load a variant ran under: how sessions arrived and how many. Variants with equal
/// loads compare strategies; variants with different loads compare loads.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LoadSummary {
    /// `closed`, `poisson` or `constant`, as `[workload] arrival`.
    pub arrival: String,
    /// Closed loop: concurrent users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<u32>,
    /// Open loop at one rate: sessions per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_min: Option<f64>,
    /// Open loop at a rate that changes: `[from seconds, sessions per minute]` pieces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedule: Vec<[f64; 2]>,
    /// `[workload] sessions`: no session starts after this many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<u64>,
    /// How long sessions arrive, seconds (`[scenario] duration`).
    pub duration_s: f64,
}

impl LoadSummary {
    /// The load of a scenario.
    pub fn of(sc: &Scenario) -> LoadSummary {
        use crate::scenario::Arrivals;
        let w = &sc.workload;
        let open = |arrival: &str, schedule: &[(crate::time::SimTime, f64)]| {
            let one = (schedule.len() == 1).then(|| schedule[0].1);
            LoadSummary {
                arrival: arrival.into(),
                users: None,
                rate_per_min: one,
                schedule: if one.is_some() {
                    Vec::new()
                } else {
                    schedule
                        .iter()
                        .map(|(t, r)| [round3(t.as_secs_f64()), *r])
                        .collect()
                },
                sessions: w.max_sessions,
                duration_s: round3(sc.duration.as_secs_f64()),
            }
        };
        match &w.arrivals {
            Arrivals::Closed { users, .. } => LoadSummary {
                arrival: "closed".into(),
                users: Some(*users),
                rate_per_min: None,
                schedule: Vec::new(),
                sessions: w.max_sessions,
                duration_s: round3(sc.duration.as_secs_f64()),
            },
            Arrivals::Poisson { schedule } => open("poisson", schedule),
            Arrivals::Constant { schedule } => open("constant", schedule),
        }
    }
}
