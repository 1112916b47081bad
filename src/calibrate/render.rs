//! The written outputs of a calibration: `models.toml` (a `[models."NAME"]` block per model,
//! ready to paste, with what could not be identified and the status mix as comments),
//! `calibration.json` (`"schema": "spillway.calibration/v1"`), and the held-out error table
//! as Markdown (`calibration.md`) and aligned text.

use serde::Serialize;

use super::evaluate::{ErrorStats, Errors, Mix};
use super::fit::Params;
use super::{Calibration, ModelResult};

/// Schema name of `calibration.json`.
pub const SCHEMA: &str = "spillway.calibration/v1";

/// `x` as a TOML or JSON number with at most `digits` significant digits, always with a
/// decimal point or exponent (a float in TOML).
pub fn num(x: f64, digits: i32) -> String {
    let r = super::stats::round_sig(x, digits);
    let s = format!("{r}");
    if s.contains(['.', 'e', 'E']) || !r.is_finite() {
        s
    } else {
        format!("{s}.0")
    }
}

/// A percentage with one decimal.
pub fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn curve(c: &[[f64; 2]]) -> String {
    let pts: Vec<String> = c
        .iter()
        .map(|p| format!("[{}, {}]", p[0] as u64, num(p[1], 3)))
        .collect();
    format!("[{}]", pts.join(", "))
}

/// `text` as `# ` comment lines of at most about 100 characters.
fn comment(out: &mut String, text: &str, indent: &str) {
    let text = crate::error::escape_control(text);
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.len() + word.len() + 1 > 96 {
            out.push_str(&format!("# {indent}{line}\n"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&format!("# {indent}{line}\n"));
    }
}

/// `name` as a TOML basic string (quotes, backslashes and control characters escaped).
fn quoted(name: &str) -> String {
    let mut o = String::from("\"");
    for ch in name.chars() {
        match ch {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if c.is_control() => o.push_str(&format!("\\u{:04X}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn error_sentence(e: &Errors) -> String {
    let part = |what: &str, s: Option<ErrorStats>| match s {
        Some(s) => format!(
            "{what} median error {}, p95 {} (n = {}, KS distance {})",
            pct(s.median_ape),
            pct(s.p95_ape),
            s.n,
            num(s.ks, 2)
        ),
        None => format!("{what}: not scored"),
    };
    format!("{}; {}", part("TTFT", e.ttft), part("end-to-end", e.e2e))
}

/// The `models.toml` text.
pub fn models_toml(c: &Calibration) -> String {
    let mut o = String::new();
    comment(
        &mut o,
        &format!(
            "Spillway calibration of {} (format {}), seed {}, {} of each model's requests held out. Paste a [models.\"NAME\"] block into a scenario; keys left out keep Spillway's defaults. Telemetry has no prices: a model the catalogue (spillway models) does not know needs price_input_per_1m and price_output_per_1m (USD per 1M tokens) added to its block before a standard deployment can use it. See docs/calibration.md.",
            c.file,
            c.format.name(),
            c.options.seed,
            pct(c.options.holdout)
        ),
        "",
    );
    for a in &c.assumptions {
        comment(&mut o, &format!("Assumed: {a}."), "");
    }
    for m in &c.models {
        o.push('\n');
        o += &model_toml(m);
    }
    o
}

/// One model's block of `models.toml`: comments, the table, the status mix.
pub fn model_toml(m: &ModelResult) -> String {
    let mut o = String::new();
    model_block(&mut o, m);
    o
}

fn model_block(o: &mut String, m: &ModelResult) {
    comment(
        o,
        &format!(
            "{}: {} requests, {} for fitting, {} held out.",
            m.name, m.requests, m.train, m.test
        ),
        "",
    );
    let f = match &m.fit {
        Ok(f) => f,
        Err(why) => {
            comment(o, &format!("Not fitted: {why}."), "");
            status_block(o, &m.name, &m.mix_train, &m.mix_test);
            return;
        }
    };
    comment(
        o,
        &format!("Held out: {}.", error_sentence(&m.held_out)),
        "",
    );
    for n in &f.notes {
        comment(o, &format!("- {n}."), "");
    }
    o.push_str(&format!("[models.{}]\n", quoted(&m.name)));
    params_lines(o, &f.params);
    status_block(o, &m.name, &m.mix_train, &m.mix_test);
}

fn params_lines(o: &mut String, p: &Params) {
    o.push_str(&format!(
        "ttft_base = \"{}ms\"\n",
        (p.ttft_base_s * 1e3).round() as u64
    ));
    match p.prefill_tokens_per_s {
        Some(r) => o.push_str(&format!("prefill_tokens_per_s = {}\n", num(r, 4))),
        None => o.push_str("# prefill_tokens_per_s: not identified (see above)\n"),
    }
    match p.decode_tokens_per_s {
        Some(d) => o.push_str(&format!("decode_tokens_per_s = {}\n", num(d, 4))),
        None => o.push_str("# decode_tokens_per_s: not identified (see above); required for a model Spillway does not know\n"),
    }
    if let Some(cv) = p.decode_variation_cv {
        o.push_str(&format!("decode_variation_cv = {}\n", num(cv, 3)));
    }
    for (key, c) in [
        ("speed_curve", &p.speed_curve),
        ("ttft_curve", &p.ttft_curve),
    ] {
        match c {
            Some(c) => o.push_str(&format!("{key} = {}\n", curve(c))),
            None => o.push_str(&format!("# {key}: not identified (see above)\n")),
        }
    }
}

fn mix_words(mix: &Mix) -> String {
    let shares = [
        ("succeeded", mix.ok),
        ("429", mix.rate_limited),
        ("timeouts (408, 504, no answer)", mix.timeout),
        ("other 5xx", mix.server_error),
        ("other errors", mix.other_error),
    ];
    let seen: Vec<String> = shares
        .iter()
        .filter(|s| s.1 > 0)
        .map(|(w, n)| format!("{} {w}", pct(mix.share(*n))))
        .collect();
    if seen.is_empty() {
        "none".to_string()
    } else {
        seen.join(", ")
    }
}

fn status_block(o: &mut String, name: &str, mix: &Mix, held_out: &Mix) {
    comment(
        o,
        &format!(
            "Status mix, training split ({} requests): {}; held out ({} requests): {}.",
            mix.requests,
            mix_words(mix),
            held_out.requests,
            mix_words(held_out)
        ),
        "",
    );
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if mix.rate_limited > 0 {
        comment(
            o,
            "429s that your quota does not explain (\"high demand\") can be simulated per attempt with the block below; 429s from your own TPM/RPM limits come from the deployment's quota instead:",
            "",
        );
        o.push_str(&format!(
            "# [[fault]]\n# name = \"{stem}-capacity-429\"\n# kind = \"capacity-429\"\n# rate = {}\n",
            num(mix.share(mix.rate_limited), 3)
        ));
        if let Some(ra) = mix.retry_after_median_s {
            o.push_str(&format!(
                "# retry_after = \"{}ms\"    # the median Retry-After seen\n",
                (ra * 1e3).round() as u64
            ));
        }
    }
    if mix.server_error > 0 {
        comment(o, "Transient 5xx, per attempt:", "");
        o.push_str(&format!(
            "# [[fault]]\n# name = \"{stem}-errors\"\n# kind = \"errors\"\n# status = 500\n# rate = {}\n",
            num(mix.share(mix.server_error), 3)
        ));
    }
    if mix.timeout + held_out.timeout > 0 {
        comment(
            o,
            "Timeouts are not a fault to inject: they follow from the serving speed and your timeouts (client.timeout, completion_window).",
            "",
        );
    }
}

// ---- calibration.json ----

#[derive(Serialize)]
struct Doc<'a> {
    schema: &'static str,
    file: &'a str,
    format: &'static str,
    assumptions: &'a [String],
    holdout: f64,
    seed: u64,
    models: Vec<ModelDoc<'a>>,
}

#[derive(Serialize)]
struct ModelDoc<'a> {
    name: &'a str,
    requests: usize,
    train: usize,
    test: usize,
    fitted: bool,
    not_fitted_because: Option<&'a str>,
    params: Option<ParamsDoc>,
    evidence: Option<EvidenceDoc>,
    notes: &'a [String],
    held_out: ErrorsDoc,
    in_sample: ErrorsDoc,
    status_train: MixDoc,
    status_test: MixDoc,
}

#[derive(Serialize)]
struct ParamsDoc {
    ttft_base_ms: f64,
    prefill_tokens_per_s: Option<f64>,
    decode_tokens_per_s: Option<f64>,
    decode_variation_cv: Option<f64>,
    speed_curve: Option<Vec<[f64; 2]>>,
    ttft_curve: Option<Vec<[f64; 2]>>,
}

#[derive(Serialize)]
struct EvidenceDoc {
    streamed: bool,
    ttft_requests: usize,
    prompt_sizes: usize,
    prompt_min: u32,
    prompt_max: u32,
    ttft_slope_ms_per_1k_tokens: Option<[f64; 3]>,
    ttft_spread_cv: Option<f64>,
    decode_requests: usize,
    load_min: Option<u32>,
    load_max: Option<u32>,
    load_levels: Vec<LevelDoc>,
}

#[derive(Serialize)]
struct LevelDoc {
    from_concurrency: u32,
    requests: usize,
    speed_factor: f64,
    ttft_factor: Option<f64>,
}

#[derive(Serialize)]
struct StatDoc {
    n: usize,
    median_ape: f64,
    p95_ape: f64,
    ks: f64,
}

#[derive(Serialize)]
struct ErrorsDoc {
    ttft: Option<StatDoc>,
    e2e: Option<StatDoc>,
}

#[derive(Serialize)]
struct MixDoc {
    requests: usize,
    ok: usize,
    rate_limited: usize,
    timeout: usize,
    server_error: usize,
    other_error: usize,
    retry_after_median_ms: Option<f64>,
}

fn r(x: f64) -> f64 {
    super::stats::round_sig(x, 6)
}

fn errors_doc(e: &Errors) -> ErrorsDoc {
    let s = |s: Option<ErrorStats>| {
        s.map(|s| StatDoc {
            n: s.n,
            median_ape: s.median_ape,
            p95_ape: s.p95_ape,
            ks: s.ks,
        })
    };
    ErrorsDoc {
        ttft: s(e.ttft),
        e2e: s(e.e2e),
    }
}

fn mix_doc(m: &Mix) -> MixDoc {
    MixDoc {
        requests: m.requests,
        ok: m.ok,
        rate_limited: m.rate_limited,
        timeout: m.timeout,
        server_error: m.server_error,
        other_error: m.other_error,
        retry_after_median_ms: m.retry_after_median_s.map(|s| r(s * 1e3)),
    }
}

fn model_doc(m: &ModelResult) -> ModelDoc<'_> {
    let fit = m.fit.as_ref().ok();
    ModelDoc {
        name: &m.name,
        requests: m.requests,
        train: m.train,
        test: m.test,
        fitted: fit.is_some(),
        not_fitted_because: m.fit.as_ref().err().map(String::as_str),
        params: fit.map(|f| {
            let p = &f.params;
            ParamsDoc {
                ttft_base_ms: r(p.ttft_base_s * 1e3),
                prefill_tokens_per_s: p.prefill_tokens_per_s,
                decode_tokens_per_s: p.decode_tokens_per_s,
                decode_variation_cv: p.decode_variation_cv,
                speed_curve: p.speed_curve.clone(),
                ttft_curve: p.ttft_curve.clone(),
            }
        }),
        evidence: fit.map(|f| {
            let e = &f.evidence;
            EvidenceDoc {
                streamed: e.streamed,
                ttft_requests: e.ttft_requests,
                prompt_sizes: e.prompt_sizes,
                prompt_min: e.prompt_range.0,
                prompt_max: e.prompt_range.1,
                ttft_slope_ms_per_1k_tokens: e.slope_ms_per_1k.map(|(a, b, c)| [r(a), r(b), r(c)]),
                ttft_spread_cv: e.ttft_spread_cv,
                decode_requests: e.decode_requests,
                load_min: e.load_range.map(|l| l.0),
                load_max: e.load_range.map(|l| l.1),
                load_levels: e
                    .levels
                    .iter()
                    .map(|l| LevelDoc {
                        from_concurrency: l.0,
                        requests: l.1,
                        speed_factor: r(l.2),
                        ttft_factor: l.3.map(r),
                    })
                    .collect(),
            }
        }),
        notes: fit.map_or(&[][..], |f| &f.notes),
        held_out: errors_doc(&m.held_out),
        in_sample: errors_doc(&m.in_sample),
        status_train: mix_doc(&m.mix_train),
        status_test: mix_doc(&m.mix_test),
    }
}

/// The `calibration.json` text (pretty, ending with a newline).
pub fn json(c: &Calibration) -> String {
    let doc = Doc {
        schema: SCHEMA,
        file: &c.file,
        format: c.format.name(),
        assumptions: &c.assumptions,
        holdout: c.options.holdout,
        seed: c.options.seed,
        models: c.models.iter().map(model_doc).collect(),
    };
    let mut s = serde_json::to_string_pretty(&doc).expect("plain data serializes");
    s.push('\n');
    s
}

// ---- the error table ----

/// The held-out error table: one row per model.
pub fn error_table(c: &Calibration) -> crate::words::Table {
    let mut t = crate::words::Table::new(&[
        ("model", false),
        ("train", true),
        ("held out", true),
        ("scored", true),
        ("ttft_base", true),
        ("prefill tok/s", true),
        ("decode tok/s", true),
        ("cv", true),
        ("TTFT err p50", true),
        ("TTFT err p95", true),
        ("e2e err p50", true),
        ("e2e err p95", true),
        ("KS e2e", true),
    ]);
    let dash = || "-".to_string();
    for m in &c.models {
        let p = m.fit.as_ref().ok().map(|f| &f.params);
        let e = |s: Option<ErrorStats>, k: usize| {
            s.map_or_else(dash, |s| match k {
                0 => pct(s.median_ape),
                1 => pct(s.p95_ape),
                _ => num(s.ks, 2),
            })
        };
        t.rows.push(vec![
            m.name.clone(),
            m.train.to_string(),
            m.test.to_string(),
            m.held_out.e2e.map_or(0, |s| s.n).to_string(),
            p.map_or_else(dash, |p| format!("{} ms", (p.ttft_base_s * 1e3).round())),
            p.and_then(|p| p.prefill_tokens_per_s)
                .map_or_else(|| "n/i".into(), |x| num(x, 4)),
            p.and_then(|p| p.decode_tokens_per_s)
                .map_or_else(|| "n/i".into(), |x| num(x, 4)),
            p.and_then(|p| p.decode_variation_cv)
                .map_or_else(dash, |x| num(x, 3)),
            e(m.held_out.ttft, 0),
            e(m.held_out.ttft, 1),
            e(m.held_out.e2e, 0),
            e(m.held_out.e2e, 1),
            e(m.held_out.e2e, 2),
        ]);
    }
    t
}

/// The table as aligned text (for the terminal).
pub fn text_table(t: &crate::words::Table) -> String {
    let widths: Vec<usize> = (0..t.header.len())
        .map(|k| {
            t.rows
                .iter()
                .map(|r| r[k].chars().count())
                .chain([t.header[k].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let v: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(k, c)| {
                if t.numeric[k] {
                    format!("{c:>w$}", w = widths[k])
                } else {
                    format!("{c:<w$}", w = widths[k])
                }
            })
            .collect();
        v.join("  ").trim_end().to_string() + "\n"
    };
    let mut o = line(&t.header);
    for r in &t.rows {
        o += &line(r);
    }
    o
}

/// The `calibration.md` text: the error table and, per model, what was found.
pub fn markdown(c: &Calibration) -> String {
    let mut o = format!(
        "# Calibration of `{}`\n\nFormat `{}`, seed {}, {} of each model's requests held out. \
         Errors are on the held-out requests: absolute percentage error of the fitted model's \
         prediction for each request (median and 95th percentile), and the Kolmogorov-Smirnov \
         distance between observed and simulated end-to-end times. *train* and *held out* count \
         the requests of each split; *scored* the held-out requests that succeeded with a \
         duration (the errors are over these). `n/i` = not identified by this data. See \
         `docs/calibration.md` for how to read them.\n\n",
        c.file,
        c.format.name(),
        c.options.seed,
        pct(c.options.holdout)
    );
    o += &error_table(c).markdown();
    if !c.assumptions.is_empty() {
        o += "\nAssumed by the reader:\n\n";
        for a in &c.assumptions {
            o += &format!("- {a}.\n");
        }
    }
    for m in &c.models {
        o += &format!("\n## {}\n\n", m.name);
        match &m.fit {
            Ok(f) => {
                for n in &f.notes {
                    o += &format!("- {n}.\n");
                }
            }
            Err(why) => o += &format!("- Not fitted: {why}.\n"),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_toml_floats() {
        assert_eq!(num(98.3712, 4), "98.37");
        assert_eq!(num(6000.0, 4), "6000.0");
        assert_eq!(num(0.31249, 3), "0.312");
        assert_eq!(
            curve(&[[1.0, 1.0], [4.0, 0.8312]]),
            "[[1, 1.0], [4, 0.831]]"
        );
    }

    #[test]
    fn comments_wrap_and_names_are_quoted() {
        let mut o = String::new();
        comment(&mut o, &"word ".repeat(40), "");
        assert!(o.lines().all(|l| l.starts_with("# ") && l.len() <= 100));
        assert_eq!(quoted("gpt-4\"x"), "\"gpt-4\\\"x\"");
    }
}
