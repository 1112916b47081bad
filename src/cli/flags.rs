//! Parsers of flags shared by several commands.

/// Most worker threads `--jobs` accepts. Runs are CPU-bound and one run is single-threaded,
/// so more threads than cores only cost memory and start-up time (each thread is spawned
/// before the first run).
pub const MAX_JOBS: usize = 1024;

/// `--jobs N`: 1 to [`MAX_JOBS`], checked before any thread is spawned.
pub fn parse_jobs(text: &str) -> Result<usize, String> {
    let bad = || {
        format!(
            "must be a whole number of worker threads from 1 to {MAX_JOBS} (leave --jobs out to use every core)"
        )
    };
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_JOBS).contains(&n) => Ok(n),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_from_1_to_the_maximum() {
        assert_eq!(parse_jobs("1"), Ok(1));
        assert_eq!(parse_jobs("1024"), Ok(1024));
        for bad in ["0", "1025", "100000", "-1", "two", ""] {
            assert!(parse_jobs(bad).unwrap_err().contains("1 to 1024"), "{bad}");
        }
    }
}
