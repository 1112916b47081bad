//! Type errors in the domain's words. serde reports a wrong type in Rust's terms (`invalid
//! value: integer `-5`, expected u64`); [`type_error`] rewrites such a message for the key it
//! is about, saying what the key expects, in words and units, with an example:
//! `'tpm' must be a whole number of tokens per minute, e.g. 100_000; got -5 (it cannot be
//! negative)`. Keys it does not know get serde's type words translated (`u64` becomes "a whole
//! number (0 or more)"). Messages that are not type errors (unknown or missing keys) are left
//! alone.

mod keys;

use keys::{KEYS, Kind};

/// serde's words for what it expected, in the domain's words (for keys not in the table).
const EXPECTED: &[(&str, &str)] = &[
    ("u64", "a whole number (0 or more)"),
    ("u32", "a whole number from 0 to 4_294_967_295"),
    ("u16", "a whole number from 0 to 65_535"),
    ("i64", "a whole number"),
    ("f64", "a number"),
    ("f32", "a number"),
    ("a string", "a string in quotes"),
    ("a boolean", "true or false"),
    ("a sequence", "a list in brackets, e.g. [1, 2]"),
    ("a map", "a table"),
    ("an array of length 2", "a pair [a, b]"),
    ("fewer elements in array", "a pair [a, b]"),
    (
        "a number or a distribution table",
        "a number or a distribution table such as { dist = \"normal\", mean = 500, sd = 100 }",
    ),
    (
        "an HTTP status or a range like \"500-599\"",
        "an HTTP status or a range like \"500-599\"",
    ),
];

/// The largest values of serde's unsigned integer types.
const UNSIGNED_MAX: &[(&str, &str)] = &[
    ("u16", "65_535"),
    ("u32", "4_294_967_295"),
    ("u64", "18_446_744_073_709_551_615"),
];

/// Rewrites serde's type error `message` about the value at `path` (`deployment[0].tpm`) in the
/// domain's words; `None` when `message` is not a type error.
pub fn type_error(path: &str, message: &str) -> Option<String> {
    let segs: Vec<&str> = path
        .split('.')
        .map(|s| s.split('[').next().unwrap_or(s))
        .filter(|s| !s.is_empty())
        .collect();
    let key = segs.last().copied().unwrap_or("");
    let parent = if segs.len() >= 2 {
        segs[segs.len() - 2]
    } else {
        ""
    };
    let entry = KEYS
        .iter()
        .find(|e| e.0 == format!("{parent}.{key}"))
        .or_else(|| KEYS.iter().find(|e| e.0 == key));
    if let Some(&(_, Kind::Dist, what, _)) = entry
        && is_rewritten(message)
    {
        // A type error inside a distribution table, already in words (`'mean' must be a
        // number`): say what the distribution is of.
        return Some(format!("{message} ('{key}' is {what})"));
    }
    let (found, expected) = parse(message)?;
    let statuses = entry.is_some_and(|e| e.2.contains("HTTP status"));
    let got = got(&found, &expected, !statuses);
    let Some(&(_, kind, what, example)) = entry else {
        let what = EXPECTED
            .iter()
            .find(|e| e.0 == expected)
            .map_or(expected.as_str(), |e| e.1);
        return Some(if key.is_empty() {
            format!("must be {what}; got {got}")
        } else {
            format!("'{key}' must be {what}; got {got}")
        });
    };
    Some(match kind {
        Kind::Duration => {
            let hint = match found
                .strip_prefix("integer `")
                .and_then(|f| f.strip_suffix('`'))
            {
                Some(n) => format!(" (for {n} seconds write \"{n}s\")"),
                None => String::new(),
            };
            format!(
                "'{key}' is a duration{what}: write it with a unit, e.g. {example}; got {got}{hint}"
            )
        }
        Kind::Dist => {
            format!("'{key}' is {what}: expected a number or a table such as {example}; got {got}")
        }
        Kind::Other => format!("'{key}' must be {what}, e.g. {example}; got {got}"),
    })
}

/// Whether `message` is already a type error in words (from a nested table).
fn is_rewritten(message: &str) -> bool {
    message.starts_with('\'') && message.contains("' must be ")
}

/// `(found, expected)` of a serde type error, or `None` when the message is not one.
fn parse(message: &str) -> Option<(String, String)> {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let (found, expected) = rest.rsplit_once(", expected ")?;
            return Some((found.to_string(), expected.to_string()));
        }
    }
    let rest = message.strip_prefix("invalid length ")?;
    let (n, expected) = rest.split_once(", expected ")?;
    Some((format!("{n} entries"), expected.to_string()))
}

/// What was found, as written in TOML: `-5`, `"abc"`, `1.5`, `true`, `a list`, `a table`;
/// with why an integer does not fit an unsigned type when `why`.
fn got(found: &str, expected: &str, why: bool) -> String {
    let inner = |p: &str| {
        found
            .strip_prefix(p)
            .and_then(|f| f.strip_suffix('`'))
            .map(str::to_string)
    };
    if let Some(n) = inner("integer `") {
        let why = match UNSIGNED_MAX.iter().find(|u| u.0 == expected && why) {
            Some(_) if n.starts_with('-') => " (it cannot be negative)".to_string(),
            Some((_, max)) => format!(" (at most {max})"),
            None => String::new(),
        };
        return format!("{n}{why}");
    }
    if let Some(v) = inner("floating point `").or_else(|| inner("boolean `")) {
        return v;
    }
    if let Some(s) = found.strip_prefix("string ") {
        return s.to_string();
    }
    match found {
        "sequence" => "a list".into(),
        "map" => "a table".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_keys_say_what_they_hold_with_an_example() {
        assert_eq!(
            type_error("pool[0].tpm", "invalid value: integer `-5`, expected u64").unwrap(),
            "'tpm' must be a whole number of tokens per minute, e.g. 100_000; got -5 (it cannot be negative)"
        );
        assert_eq!(
            type_error(
                "workload.users",
                "invalid type: string \"abc\", expected u32"
            )
            .unwrap(),
            "'users' must be a whole number of concurrent users, e.g. 10; got \"abc\""
        );
        assert_eq!(
            type_error(
                "workload.users",
                "invalid value: integer `99999999999`, expected u32"
            )
            .unwrap(),
            "'users' must be a whole number of concurrent users, e.g. 10; got 99999999999 (at most 4_294_967_295)"
        );
        assert_eq!(
            type_error(
                "client.max_retries",
                "invalid type: floating point `1.5`, expected u32"
            )
            .unwrap(),
            "'max_retries' must be a whole number of retries, e.g. 2; got 1.5"
        );
        assert_eq!(
            type_error(
                "workload.rate_per_min",
                "invalid type: string \"5\", expected f64"
            )
            .unwrap(),
            "'rate_per_min' must be a number of sessions per minute, e.g. 30; got \"5\""
        );
        assert_eq!(
            type_error(
                "workload.class[0].streaming",
                "invalid type: string \"yes\", expected a boolean"
            )
            .unwrap(),
            "'streaming' must be true or false, e.g. true; got \"yes\""
        );
    }

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(
            type_error(
                "client.timeout",
                "invalid type: integer `30`, expected a string"
            )
            .unwrap(),
            "'timeout' is a duration: write it with a unit, e.g. \"30s\"; got 30 (for 30 seconds write \"30s\")"
        );
        assert_eq!(
            type_error(
                "deployment[0].completion_window",
                "invalid type: boolean `true`, expected a string"
            )
            .unwrap(),
            "'completion_window' is a duration (or \"none\"): write it with a unit, e.g. \"60s\"; got true"
        );
    }

    #[test]
    fn distributions_and_think_times() {
        let m = type_error(
            "workload.class[0].think_time_s",
            "invalid type: string \"5s\", expected a number or a distribution table",
        )
        .unwrap();
        assert_eq!(
            m,
            "'think_time_s' is a number of seconds (not a duration string) or a distribution: expected a number or a table such as 5 or { dist = \"exponential\", mean = 5.0 }; got \"5s\""
        );
        // Inside a distribution table: the inner key, then what the distribution is of.
        let inner = type_error("value", "invalid type: string \"5s\", expected f64").unwrap();
        assert_eq!(inner, "'value' must be a number, e.g. 500; got \"5s\"");
        assert_eq!(
            type_error("workload.class[0].think_time_s", &inner).unwrap(),
            "'value' must be a number, e.g. 500; got \"5s\" ('think_time_s' is a number of seconds (not a duration string) or a distribution)"
        );
    }

    #[test]
    fn same_named_keys_and_tables() {
        assert_eq!(
            type_error(
                "gateway.retry.count",
                "invalid type: string \"2\", expected u32"
            )
            .unwrap(),
            "'count' must be a whole number of retries, e.g. 2; got \"2\""
        );
        assert_eq!(
            type_error(
                "router.deployments",
                "invalid type: string \"a\", expected a sequence"
            )
            .unwrap(),
            "'deployments' must be a list of deployment names, e.g. [\"ptu\", \"paygo\"]; got \"a\""
        );
        assert_eq!(
            type_error("pool", "invalid type: map, expected a sequence").unwrap(),
            "'pool' must be an array of tables, e.g. [[pool]]; got a table"
        );
        assert_eq!(
            type_error(
                "scenario",
                "invalid type: integer `3`, expected struct RawMeta"
            )
            .unwrap(),
            "'scenario' must be a table, e.g. [scenario]; got 3"
        );
        assert_eq!(
            type_error(
                "deployment[0].speed_curve[0]",
                "invalid length 3, expected fewer elements in array"
            )
            .unwrap(),
            "'speed_curve' must be a list of [concurrency, factor] pairs, e.g. [[1, 1.0], [8, 0.7]]; got 3 entries"
        );
    }

    #[test]
    fn statuses_are_not_unsigned_integers() {
        assert_eq!(
            type_error(
                "client.retry_statuses[0]",
                "invalid value: integer `70000`, expected u16"
            )
            .unwrap(),
            "'retry_statuses' must be a list of HTTP statuses, e.g. [429, 503]; got 70000"
        );
    }

    #[test]
    fn unknown_keys_get_serde_words_translated() {
        assert_eq!(
            type_error("x.y", "invalid value: integer `-1`, expected u64").unwrap(),
            "'y' must be a whole number (0 or more); got -1 (it cannot be negative)"
        );
        assert_eq!(
            type_error("", "invalid type: integer `3`, expected a map").unwrap(),
            "must be a table; got 3"
        );
    }

    #[test]
    fn other_messages_are_left_alone() {
        assert_eq!(type_error("scenario", "unknown field `durashun`"), None);
        assert_eq!(type_error("workload", "missing field `arrival`"), None);
    }
}
