//! What `--set` may not change.
//!
//! `[sweep]` and `[[slo]]` are read once from the file (they do not vary by variant), so a
//! `--set` on them used to be dropped without a word, whatever its value. It is refused
//! instead, pointing to the flags that do the job: `--grid`, `--replications` and `--variant`
//! shape a sweep; SLOs are the gate a CI job enforces and are edited in the scenario file,
//! where they are reviewed.

use crate::error::{Error, Result};

/// The first segment of a dotted key, without quotes (`"sweep".x` and `sweep.x` alike).
fn first_segment(key: &str) -> String {
    let key = key.trim();
    let mut out = String::new();
    let mut quoted = false;
    for c in key.chars() {
        match c {
            '"' | '\'' => quoted = !quoted,
            '.' if !quoted => break,
            c => out.push(c),
        }
    }
    out.trim().to_string()
}

/// Refuses `--set` on `[sweep]` and `[[slo]]` keys with a message naming the flag to use.
pub fn refuse_sweep_and_slo(arg: &str, key: &str) -> Result<()> {
    match first_segment(key).as_str() {
        "sweep" => Err(Error::Usage(format!(
            "--set '{arg}': [sweep] cannot be changed with --set; on `spillway sweep` use --grid KEY=VALUES (adds or replaces a grid key), --replications N or --variant NAME, or edit [sweep] in the scenario file"
        ))),
        "slo" => Err(Error::Usage(format!(
            "--set '{arg}': [[slo]] entries cannot be changed with --set; edit them in the scenario file (they are the gate `check` and `sweep --check` enforce)"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_and_slo_keys_are_refused_quoted_or_not() {
        for k in [
            "sweep.grid.\"workload.rate_per_min\"",
            "sweep.replications",
            " \"sweep\".variants",
            "sweep",
            "slo",
            "slo.0.max",
        ] {
            assert!(refuse_sweep_and_slo("x", k).is_err(), "{k}");
        }
        for k in [
            "workload.users",
            "\"sweep.x\"",
            "models.\"slo\".x",
            "sweeper.x",
        ] {
            assert!(refuse_sweep_and_slo("x", k).is_ok(), "{k}");
        }
    }
}
