//! # Spillway
//!
//! A deterministic discrete-event simulator of hosted-LLM API capacity: Azure OpenAI standard
//! (pay-as-you-go) deployments admitted by rolling TPM/RPM windows drawn from quota pools,
//! provisioned (PTU) deployments admitted by a utilization leaky bucket, spillover between them,
//! the client SDK's timeouts and retries, and a router that spreads calls over deployments.
//! It answers "what happens to my users under load, and which fix helps?" in seconds.
//!
//! ## A first run
//!
//! A scenario is a TOML file (reference: `docs/scenario.md`). Load it, run its variants, and
//! read the summary:
//!
//! ```
//! use spillway::{runner, scenario};
//!
//! let text = r#"
//! [scenario]
//! name = "hello"
//! duration = "10m"
//!
//! [[pool]]
//! name = "sub-a"
//! subscription = "a"
//! region = "swedencentral"
//! model = "gpt-4o-mini"
//! tpm = 100_000
//!
//! [[deployment]]
//! name = "chat"
//! kind = "standard"
//! model = "gpt-4o-mini"
//! pool = "sub-a"
//! tpm = 100_000
//!
//! [workload]
//! arrival = "poisson"
//! rate_per_min = 40
//!
//! [[workload.class]]
//! name = "chat"
//! prompt_tokens = { dist = "normal", mean = 1500, sd = 300 }
//! completion_tokens = { dist = "lognormal", mean = 300, cv = 0.8 }
//!
//! [[variant]]
//! name = "as-is"
//!
//! [[variant]]
//! name = "cap-500"
//! set = { "workload.class.chat.max_tokens" = 500 }
//! "#;
//!
//! let set = scenario::parse(text, "hello.toml", &[], None)?;
//! let chosen = runner::select(&set, &[])?;
//! let runs = runner::run_variants(&chosen, |_| Ok(None))?;
//! let summary = runner::summary(&set, &runs);
//!
//! let as_is = &summary.variants[0];
//! let capped = &summary.variants[1];
//! // 40 calls/min x ~2,150 tokens charged (prompt + the 648-token default estimate when
//! // max_tokens is unset) is ~86K TPM: near the quota, so bursts are throttled. A cap of 500
//! // makes each call's charge smaller than that default, so no more calls are rejected.
//! assert!(as_is.requests.sent > 300);
//! assert!(capped.deployments[0].rejected_429 <= as_is.deployments[0].rejected_429);
//! // Both variants saw exactly the same sessions (common random numbers).
//! assert_eq!(as_is.requests.sent, capped.requests.sent);
//! # Ok::<(), spillway::error::Error>(())
//! ```
//!
//! ## How a run works
//!
//! - [`scenario`] turns the file into checked, typed [`scenario::Scenario`]s, one per
//!   variant (raw serde structs → one validator per table; errors name file, line, column,
//!   variant, key).
//! - [`engine`] runs one variant: it pops [`events`] in `(time, sequence)` order over integer
//!   [`time::SimTime`] and hands each to the room that owns it. The rooms, in the order data
//!   flows: [`workload`] (sessions and their calls), [`client`] (timeouts, retries),
//!   [`router`] or [`gateway`] (where an attempt goes), [`deployment`] (admission by
//!   [`deployment::RollingWindow`] or [`deployment::LeakyBucket`], serving with
//!   [`deployment::ProcessorSharing`]), and [`metrics`] (what the user saw, and the
//!   `spillway.summary/v1` document). `ARCHITECTURE.md` has the code map.
//! - [`output`] renders a summary (table, JSON, Markdown, CSV), writing files atomically.
//! - [`runner`] runs variants in parallel with rayon and collects them in file order.
//! - [`report`] reads saved outputs back into the typed documents (checked) and draws the HTML
//!   report; [`words`] holds the sentences and tables it shares with the Markdown exporter.
//!
//! ## The determinism contract
//!
//! Same scenario, same seed, same `--set` overrides ⇒ byte-identical outputs, run to run, on
//! any machine, and for any number of threads:
//!
//! - time is an integer number of microseconds; ties are broken by insertion order;
//! - every random draw comes from a named PCG-64 stream keyed by (seed, purpose, index)
//!   ([`rng`]); session *k* draws its tokens from its own stream, so every variant sees the
//!   same sessions;
//! - one run is single-threaded; parallel runs are collected by index;
//! - no hash-map iteration order reaches an output; nothing in a summary depends on wall time.
//!
//! ```
//! # use spillway::{runner, scenario, output::{Exporter, json::Json}};
//! # let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/timeouts-to-triumph.toml")).unwrap();
//! let set = scenario::parse(&text, "timeouts-to-triumph.toml", &[], None)?;
//! let chosen = runner::select(&set, &["baseline".to_string()])?;
//! let once = Json.render(&runner::summary(&set, &runner::run_variants(&chosen, |_| Ok(None))?));
//! let twice = Json.render(&runner::summary(&set, &runner::run_variants(&chosen, |_| Ok(None))?));
//! assert_eq!(once, twice);
//! # Ok::<(), spillway::error::Error>(())
//! ```

pub mod calibrate;
pub mod cli;
pub mod client;
pub mod deployment;
pub mod dist;
pub mod engine;
pub mod error;
pub mod events;
pub mod gateway;
pub mod metrics;
pub mod output;
pub mod report;
pub mod rng;
pub mod router;
pub mod runner;
pub mod scenario;
pub mod slo;
pub mod sweep;
pub mod time;
pub mod trace;
pub mod words;
pub mod workload;

#[cfg(test)]
pub(crate) mod testkit {
    //! Shared test configuration.
    use proptest::test_runner::{Config, RngSeed};

    /// Property tests run the same cases on every machine (fixed seed; `PROPTEST_RNG_SEED`
    /// does not apply) and write no regression files into the source tree.
    pub fn proptest_config(cases: u32) -> Config {
        Config {
            cases,
            rng_seed: RngSeed::Fixed(0x5350_494c_4c57_4159),
            failure_persistence: None,
            ..Config::default()
        }
    }
}
