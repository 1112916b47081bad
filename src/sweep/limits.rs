//! The sizes a sweep may have: checked before anything is allocated for it, so a typo in a
//! grid is an error in milliseconds instead of an out-of-memory abort minutes later.
//!
//! | what | limit | lift it with |
//! |---|---:|---|
//! | values of one grid key | [`MAX_VALUES_PER_KEY`] | split the key's range over several sweeps |
//! | runs = points x variants x replications | [`DEFAULT_MAX_RUNS`] | `--max-runs N` on `sweep` / `validate` |
//!
//! Why these numbers: a finished run is kept (its variant summary, about 16 KB in memory) until
//! `sweep.json` is written, and every point x variant holds its checked scenario (about 7 KB),
//! so a sweep at the default limit peaks near 2 GB (measured: see docs/sweeps.md). The limit
//! is on the whole sweep, shards included: `merge` holds every run of every shard.

use super::Param;
use crate::error::{Error, Result};

/// Most values one grid key may take (a list or a range).
pub const MAX_VALUES_PER_KEY: usize = 100_000;

/// Default most runs (points x variants x replications) of one sweep.
pub const DEFAULT_MAX_RUNS: usize = 100_000;

/// Refuses a sweep with more than `max_runs` runs, saying the factors, the limit and how to
/// lift it. Computed in 128 bits: no product can overflow.
pub fn check_size(
    file: &str,
    params: &[Param],
    variants: usize,
    replications: u32,
    max_runs: usize,
) -> Result<()> {
    let points: u128 = params.iter().map(|p| p.values.len() as u128).product();
    let runs = points * variants as u128 * replications as u128;
    if runs <= max_runs as u128 {
        return Ok(());
    }
    let grid = params
        .iter()
        .map(|p| format!("{} values of {}", p.values.len(), p.key))
        .collect::<Vec<_>>()
        .join(" x ");
    Err(Error::Usage(format!(
        "{file}: the sweep has {points} point(s) ({grid}) x {variants} variant(s) x {replications} replication(s) = {runs} runs, over the limit of {max_runs} runs; narrow the grid or the replications, or lift the limit with --max-runs N (a sweep holds every run's results in memory until it writes sweep.json, about 16 KB per run)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: usize) -> Param {
        Param {
            key: format!("k{n}"),
            values: vec![toml::Value::Integer(0); n],
        }
    }

    #[test]
    fn products_are_checked_without_overflow() {
        assert!(check_size("f", &[p(10), p(10)], 2, 5, 1000).is_ok());
        let e = check_size("f", &[p(10), p(10)], 2, 5, 999)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("100 point(s)") && e.contains("= 1000 runs") && e.contains("--max-runs"),
            "{e}"
        );
        // u32::MAX replications x a big grid does not wrap around to something small.
        let e = check_size("f", &[p(100_000), p(100_000)], 64, u32::MAX, usize::MAX)
            .unwrap_err()
            .to_string();
        assert!(e.contains("= 2748779068800000000000 runs"), "{e}");
    }
}
