//! Grid values: TOML lists, `A..B step S` ranges, and their cartesian product.

use serde_json::Value as Json;
use toml::Value;

use super::limits::MAX_VALUES_PER_KEY;

/// One swept key and its values.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// Dotted key path.
    pub key: String,
    /// Values, in order.
    pub values: Vec<Value>,
}

/// Values written in the scenario: a list, or a range string.
pub fn values_from_toml(v: &Value) -> Result<Vec<Value>, String> {
    match v {
        Value::Array(items) if items.len() > MAX_VALUES_PER_KEY => Err(format!(
            "the list has {} values; at most {MAX_VALUES_PER_KEY} per grid key",
            items.len()
        )),
        Value::Array(items) if !items.is_empty() => Ok(items.clone()),
        Value::Array(_) => Err("the list of values is empty".into()),
        Value::String(s) if s.contains("..") => range(s),
        _ => Err("expected a list of values (e.g. [1, 2, 4]) or a range string (\"100000..500000 step 100000\")".into()),
    }
}

/// Values from the command line: `A..B step S`, or comma-separated TOML values.
pub fn parse_values(text: &str) -> Result<Vec<Value>, String> {
    if text.contains("..") && !text.trim_start().starts_with('"') {
        return range(text);
    }
    let vals: Vec<Value> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(crate::scenario::overlay::parse_value)
        .collect();
    if vals.is_empty() {
        return Err("no values: write e.g. 1,2,4 or 100000..500000 step 100000".into());
    }
    if vals.len() > MAX_VALUES_PER_KEY {
        return Err(format!(
            "{} values; at most {MAX_VALUES_PER_KEY} per grid key",
            vals.len()
        ));
    }
    Ok(vals)
}

/// `A..B step S`, inclusive of B when it falls on a step; integers stay integers.
fn range(text: &str) -> Result<Vec<Value>, String> {
    let bad = || {
        format!(
            "'{text}' is not a range; write e.g. \"100000..500000 step 100000\" or \"0.5..2 step 0.5\""
        )
    };
    let (span, step) = text.split_once("step").ok_or_else(bad)?;
    let (a, b) = span.split_once("..").ok_or_else(bad)?;
    let (a, b, step) = (a.trim(), b.trim(), step.trim());
    if let (Ok(a), Ok(b), Ok(s)) = (
        a.replace('_', "").parse::<i64>(),
        b.replace('_', "").parse::<i64>(),
        step.replace('_', "").parse::<i64>(),
    ) {
        if s <= 0 || b < a {
            return Err(format!("range {text}: need start <= end and step > 0"));
        }
        // In 128 bits: `end - start` of two 64-bit numbers cannot overflow.
        let n = (b as i128 - a as i128) / s as i128 + 1;
        if n > MAX_VALUES_PER_KEY as i128 {
            return Err(too_many(text, &n.to_string()));
        }
        return Ok((0..n as i64).map(|k| Value::Integer(a + k * s)).collect());
    }
    let (a, b, s): (f64, f64, f64) = (
        a.parse().map_err(|_| bad())?,
        b.parse().map_err(|_| bad())?,
        step.parse().map_err(|_| bad())?,
    );
    if !(s > 0.0 && b >= a && a.is_finite() && b.is_finite()) {
        return Err(format!("range {text}: need start <= end and step > 0"));
    }
    // Counted in floating point first: (end - start) / step may be astronomically large
    // (`0..1 step 1e-300`) or infinite (`-1e308..1e308`), far past any integer.
    let count = ((b - a) / s + 1e-9).floor() + 1.0;
    if count > MAX_VALUES_PER_KEY as f64 {
        let shown = if count < 1e15 {
            format!("{count:.0}")
        } else if count.is_finite() {
            format!("about {count:.1e}")
        } else {
            "more than 10^308".into()
        };
        return Err(too_many(text, &shown));
    }
    let n = count as i64;
    // Computed from the start each time (no accumulated error), rounded to 12 digits.
    Ok((0..n)
        .map(|k| Value::Float(((a + k as f64 * s) * 1e12).round() / 1e12))
        .collect())
}

fn too_many(text: &str, count: &str) -> String {
    format!(
        "range '{text}' has {count} values, over the limit of {MAX_VALUES_PER_KEY} per grid key; use a larger step or a narrower range"
    )
}

/// All combinations, the last parameter varying fastest.
pub fn cartesian(params: &[Param]) -> Vec<Vec<Value>> {
    let mut out: Vec<Vec<Value>> = vec![Vec::new()];
    for p in params {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                p.values.iter().map(move |v| {
                    let mut x = prefix.clone();
                    x.push(v.clone());
                    x
                })
            })
            .collect();
    }
    out
}

/// A TOML value as JSON.
pub fn to_json(v: &Value) -> Json {
    serde_json::to_value(v).unwrap_or(Json::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_lists() {
        assert_eq!(parse_values("100000..500000 step 100000").unwrap().len(), 5);
        assert_eq!(
            parse_values("1..10 step 4").unwrap(),
            vec![Value::Integer(1), Value::Integer(5), Value::Integer(9)]
        );
        assert_eq!(
            parse_values("0.5..1.5 step 0.5").unwrap(),
            vec![Value::Float(0.5), Value::Float(1.0), Value::Float(1.5)]
        );
        assert_eq!(
            parse_values("1, 2,4").unwrap(),
            vec![Value::Integer(1), Value::Integer(2), Value::Integer(4)]
        );
        assert_eq!(
            parse_values("30s,60s").unwrap(),
            vec![Value::String("30s".into()), Value::String("60s".into())]
        );
        assert!(parse_values("5..1 step 1").is_err());
        assert!(parse_values("1..5 step 0").is_err());
        assert!(parse_values("1..5").is_err());
        assert!(parse_values(",").is_err());
    }

    #[test]
    fn range_lengths_that_overflow_are_errors_with_the_count() {
        // Issue 13 D10: these gave a sweep of 0 points (the count wrapped around).
        let e = parse_values("0..9223372036854775807 step 1").unwrap_err();
        assert!(
            e.contains("9223372036854775808 values") && e.contains("limit of 100000"),
            "{e}"
        );
        let e = parse_values("-9223372036854775808..9223372036854775807 step 1").unwrap_err();
        assert!(e.contains("18446744073709551616 values"), "{e}");
        let e = parse_values("0..1 step 1e-300").unwrap_err();
        assert!(e.contains("about 1.0e300 values"), "{e}");
        let e = parse_values("-1e308..1e308 step 1").unwrap_err();
        assert!(e.contains("more than 10^308 values"), "{e}");
        assert_eq!(parse_values("1..100000 step 1").unwrap().len(), 100_000);
        assert!(parse_values("1..100001 step 1").is_err());
    }

    #[test]
    fn cartesian_last_fastest() {
        let p = |k: &str, v: &[i64]| Param {
            key: k.into(),
            values: v.iter().map(|x| Value::Integer(*x)).collect(),
        };
        let c = cartesian(&[p("a", &[1, 2]), p("b", &[10, 20, 30])]);
        assert_eq!(c.len(), 6);
        assert_eq!(c[1], vec![Value::Integer(1), Value::Integer(20)]);
        assert_eq!(c[3], vec![Value::Integer(2), Value::Integer(10)]);
    }
}
