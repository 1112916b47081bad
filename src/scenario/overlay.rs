//! Applying overrides to the scenario's TOML tree before it is deserialized: a variant's
//! whole-section replacements, and dotted `KEY=VALUE` settings from a variant's `set` table or
//! the command line's `--set`.
//!
//! A key path is dot-separated; a segment may be quoted when it contains dots
//! (`models."gpt-4.1-mini".decode_tokens_per_s`). Inside an array of tables (`deployment`,
//! `pool`, `workload.class`) a segment picks the entry by its `name`, or by a 0-based index.

use toml::{Table, Value};

/// Splits a dotted key path into segments, honouring double quotes.
pub fn split_path(path: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    for c in path.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                was_quoted = true;
            }
            '.' if !quoted => {
                if cur.is_empty() && !was_quoted {
                    return Err(format!("key path '{path}' has an empty segment"));
                }
                out.push(std::mem::take(&mut cur));
                was_quoted = false;
            }
            _ => cur.push(c),
        }
    }
    if quoted {
        return Err(format!("key path '{path}' has an unclosed quote"));
    }
    if cur.is_empty() && !was_quoted {
        return Err(format!("key path '{path}' has an empty segment"));
    }
    out.push(cur);
    Ok(out)
}

/// `models.gpt-4.1-mini.decode_tokens_per_s` written without quotes splits the model name at
/// its dots. For such a path (under `models`, more than three segments, no quotes) returns the
/// path with the model name quoted: `models."gpt-4.1-mini".decode_tokens_per_s`.
pub fn quoted_model_path(path: &str) -> Option<String> {
    if path.contains('"') {
        return None;
    }
    let segs = split_path(path).ok()?;
    if segs.len() <= 3 || segs[0] != "models" {
        return None;
    }
    let (key, name) = segs[1..].split_last()?;
    Some(format!("models.\"{}\".{key}", name.join(".")))
}

/// Parses a command-line value as TOML (`4`, `1.5`, `true`, `"60s"`, `[1, 2]`); anything that
/// does not parse is taken as a plain string, so `--set client.timeout=30s` works unquoted.
pub fn parse_value(text: &str) -> Value {
    let doc = format!("v = {text}");
    match doc.parse::<Table>() {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| Value::String(text.to_string())),
        Err(_) => Value::String(text.to_string()),
    }
}

/// Sets `path` to `value` inside `root`, creating intermediate tables where missing.
pub fn set_path(root: &mut Table, path: &str, value: Value) -> Result<(), String> {
    let segs = split_path(path)?;
    let mut tmp = Value::Table(std::mem::take(root));
    let result = set_in(&mut tmp, &segs, value, path);
    if let Value::Table(t) = tmp {
        *root = t;
    }
    result
}

fn set_in(root: &mut Value, segs: &[String], value: Value, path: &str) -> Result<(), String> {
    let (last, init) = segs.split_last().expect("split_path never returns empty");
    let mut cur = root;
    for (i, seg) in init.iter().enumerate() {
        cur = step(cur, seg, &segs[..=i], true)?;
    }
    match cur {
        Value::Table(t) => {
            t.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(_) => {
            *step(cur, last, segs, false)? = value;
            Ok(())
        }
        _ => Err(format!(
            "cannot set '{path}': '{}' is not a table",
            init.join(".")
        )),
    }
}

fn step<'a>(
    cur: &'a mut Value,
    seg: &str,
    so_far: &[String],
    create: bool,
) -> Result<&'a mut Value, String> {
    let here = so_far.join(".");
    match cur {
        Value::Table(t) => {
            if !t.contains_key(seg) {
                if !create {
                    return Err(format!("no key '{here}'"));
                }
                t.insert(seg.to_string(), Value::Table(Table::new()));
            }
            Ok(t.get_mut(seg).expect("just checked"))
        }
        Value::Array(items) => {
            let names: Vec<String> = items
                .iter()
                .filter_map(|v| v.get("name").and_then(Value::as_str).map(str::to_string))
                .collect();
            let pos = items
                .iter()
                .position(|v| v.get("name").and_then(Value::as_str) == Some(seg))
                .or_else(|| seg.parse::<usize>().ok().filter(|&i| i < items.len()));
            match pos {
                Some(i) => Ok(&mut items[i]),
                None => Err(format!(
                    "no entry named '{seg}' at '{here}' (entries: {})",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                )),
            }
        }
        _ => Err(format!("'{here}' is not a table or array of tables")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Table {
        r#"
[client]
timeout = "600s"
[[deployment]]
name = "a"
tpm = 1000
[[deployment]]
name = "b"
tpm = 2000
[models."gpt-4.1-mini"]
decode_tokens_per_s = 100.0
"#
        .parse()
        .unwrap()
    }

    #[test]
    fn splits_quoted_segments() {
        assert_eq!(
            split_path(r#"models."gpt-4.1-mini".decode_tokens_per_s"#).unwrap(),
            vec!["models", "gpt-4.1-mini", "decode_tokens_per_s"]
        );
        assert!(split_path("a..b").is_err());
        assert!(split_path("a.\"b").is_err());
    }

    #[test]
    fn sets_by_name_index_and_creates_tables() {
        let mut d = doc();
        set_path(&mut d, "deployment.b.tpm", Value::Integer(5)).unwrap();
        set_path(&mut d, "deployment.0.tpm", Value::Integer(7)).unwrap();
        set_path(&mut d, "router.policy", Value::String("priority".into())).unwrap();
        set_path(
            &mut d,
            r#"models."gpt-4.1-mini".decode_tokens_per_s"#,
            Value::Float(50.0),
        )
        .unwrap();
        let deps = d["deployment"].as_array().unwrap();
        assert_eq!(deps[1]["tpm"].as_integer(), Some(5));
        assert_eq!(deps[0]["tpm"].as_integer(), Some(7));
        assert_eq!(d["router"]["policy"].as_str(), Some("priority"));
        assert_eq!(
            d["models"]["gpt-4.1-mini"]["decode_tokens_per_s"].as_float(),
            Some(50.0)
        );
    }

    #[test]
    fn unknown_array_entry_lists_the_names() {
        let mut d = doc();
        let e = set_path(&mut d, "deployment.zz.tpm", Value::Integer(1)).unwrap_err();
        assert!(e.contains("'zz'") && e.contains("a, b"), "{e}");
        // the document is intact after a failed set
        assert_eq!(d["deployment"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn dotted_model_names_are_noticed() {
        assert_eq!(
            quoted_model_path("models.gpt-4.1-mini.decode_tokens_per_s").as_deref(),
            Some("models.\"gpt-4.1-mini\".decode_tokens_per_s")
        );
        assert_eq!(
            quoted_model_path("models.gpt-4o-mini.decode_tokens_per_s"),
            None
        );
        assert_eq!(quoted_model_path("models.\"gpt-4.1-mini\".x"), None);
        assert_eq!(quoted_model_path("deployment.a.b.c"), None);
    }

    #[test]
    fn values_parse_as_toml_or_fall_back_to_strings() {
        assert_eq!(parse_value("4"), Value::Integer(4));
        assert_eq!(parse_value("true"), Value::Boolean(true));
        assert_eq!(parse_value("30s"), Value::String("30s".into()));
        assert_eq!(parse_value("\"60s\""), Value::String("60s".into()));
    }
}
