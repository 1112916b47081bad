//! Words: number formats, generated sentences and tables, shared by the HTML report and the
//! Markdown summary (so both say exactly the same thing).

use super::data::{Run, Variant};

/// A piece of a generated sentence: plain text, or a name shown as code.
#[derive(Clone, Debug, PartialEq)]
pub enum Seg {
    Text(String),
    Code(String),
}

/// One generated sentence (or bullet).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sentence(pub Vec<Seg>);

impl Sentence {
    /// Appends plain text.
    pub fn text(mut self, t: impl Into<String>) -> Self {
        self.0.push(Seg::Text(t.into()));
        self
    }
    /// Appends a name shown as code.
    pub fn code(mut self, t: impl Into<String>) -> Self {
        self.0.push(Seg::Code(t.into()));
        self
    }
    /// Markdown: names in backticks.
    pub fn markdown(&self) -> String {
        self.0
            .iter()
            .map(|s| match s {
                Seg::Text(t) => t.clone(),
                Seg::Code(c) => format!("`{c}`"),
            })
            .collect()
    }
    /// HTML: names in `<code>`, everything escaped.
    pub fn html(&self) -> String {
        self.0
            .iter()
            .map(|s| match s {
                Seg::Text(t) => esc(t),
                Seg::Code(c) => format!("<code>{}</code>", esc(c)),
            })
            .collect()
    }
    /// Plain text (for tests and chart labels).
    pub fn plain(&self) -> String {
        self.0
            .iter()
            .map(|s| match s {
                Seg::Text(t) | Seg::Code(t) => t.as_str(),
            })
            .collect()
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// A duration given in milliseconds, in seconds with sensible precision: `354 s`, `6.5 s`,
/// `0.42 s`.
pub fn fmt_secs(ms: f64) -> String {
    format!("{} s", num_secs(ms / 1e3))
}

/// A number of seconds without the unit (same precision rules as [`fmt_secs`]).
pub fn num_secs(s: f64) -> String {
    if s.abs() >= 9.95 {
        format!("{s:.0}")
    } else if s.abs() >= 0.995 {
        format!("{s:.1}")
    } else {
        format!("{s:.2}")
    }
}

/// A failure ratio (0..1) as a percentage with one decimal; tiny non-zero ratios show as
/// `<0.1%` rather than a misleading `0.0%`.
pub fn fmt_ratio(r: f64) -> String {
    let p = r * 100.0;
    if p > 0.0 && p < 0.05 {
        "<0.1%".to_string()
    } else {
        format!("{p:.1}%")
    }
}

/// US dollars: `$2.38`, `$147.06`, `$1,234`.
pub fn fmt_usd(x: f64) -> String {
    if x.abs() >= 1000.0 {
        format!("${}", thousands(x.round() as i64))
    } else {
        format!("${x:.2}")
    }
}

/// An integer with thousands separators.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// Relative change of `new` against `base`, rounded to a whole percent with its sign:
/// `+193%`, `-71%`, `±0%`; `n/a` when the baseline is zero and the new value is not.
pub fn pct_change(new: f64, base: f64) -> String {
    if base == 0.0 {
        return if new == 0.0 {
            "±0%".to_string()
        } else {
            "n/a: baseline 0".to_string()
        };
    }
    let r = ((new / base - 1.0) * 100.0).round();
    if r == 0.0 {
        "±0%".to_string()
    } else {
        format!("{r:+.0}%")
    }
}

/// The one-line comparison of `v` with the baseline `b`, e.g.
/// "`4-users-3-subscriptions`: p95 session 102 s vs 354 s (-71%), failures 0.0% vs 0.3%,
/// cost per 1K sessions $45.99 vs $46.77 (-2%), total cost $7.82 vs $2.67 (+193%)."
pub fn comparison(v: &Variant, b: &Variant) -> Sentence {
    let mut s = Sentence::default().code(&v.name).text(": ");
    s = match (v.has_sessions(), b.has_sessions()) {
        (true, true) => s.text(format!(
            "p95 session {} vs {} ({})",
            fmt_secs(v.session_ms.p95),
            fmt_secs(b.session_ms.p95),
            pct_change(v.session_ms.p95, b.session_ms.p95)
        )),
        (true, false) => s.text(format!(
            "p95 session {} (the baseline completed no session)",
            fmt_secs(v.session_ms.p95)
        )),
        (false, _) => s.text("no session completed"),
    };
    s = s.text(format!(
        ", failures {} vs {}",
        fmt_ratio(v.failed_ratio),
        fmt_ratio(b.failed_ratio)
    ));
    if v.has_sessions() && b.has_sessions() {
        s = s.text(format!(
            ", cost per 1K sessions {} vs {} ({})",
            fmt_usd(v.cost_per_1k_sessions),
            fmt_usd(b.cost_per_1k_sessions),
            pct_change(v.cost_per_1k_sessions, b.cost_per_1k_sessions)
        ));
    }
    s.text(format!(
        ", total cost {} vs {} ({}).",
        fmt_usd(v.cost_total),
        fmt_usd(b.cost_total),
        pct_change(v.cost_total, b.cost_total)
    ))
}

fn name_list(mut s: Sentence, names: &[&str]) -> Sentence {
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            s = s.text(if i + 1 == names.len() { " and " } else { ", " });
        }
        s = s.code(*n);
    }
    s
}

/// The headline: which variant is fastest, which fails least, which is cheapest.
pub fn headline(run: &Run) -> Vec<Sentence> {
    let mut out = Vec::new();
    let with_sessions: Vec<&Variant> = run.variants.iter().filter(|v| v.has_sessions()).collect();
    if run.variants.len() < 2 {
        return out;
    }
    if let Some(best) = with_sessions
        .iter()
        .min_by(|a, b| a.session_ms.p95.total_cmp(&b.session_ms.p95))
    {
        let mut t = Sentence::default()
            .text("Shortest p95 session: ")
            .code(&best.name)
            .text(format!(" ({}", fmt_secs(best.session_ms.p95)));
        // Percentiles are over completed sessions: say so when some were lost.
        if best.failed_ratio > 0.0 {
            t = t.text(format!(
                ", over completed sessions only: {} of its requests failed",
                fmt_ratio(best.failed_ratio)
            ));
        }
        out.push(t.text(")."));
    }
    let min_fail = run
        .variants
        .iter()
        .map(|v| v.failed_ratio)
        .fold(f64::INFINITY, f64::min);
    let fewest: Vec<&str> = run
        .variants
        .iter()
        .filter(|v| v.failed_ratio == min_fail)
        .map(|v| v.name.as_str())
        .collect();
    if min_fail == 0.0 {
        let s = Sentence::default().text(if fewest.len() == 1 {
            "No failed request: "
        } else {
            "No failed request in "
        });
        out.push(name_list(s, &fewest).text("."));
    } else {
        let s = Sentence::default().text("Fewest failed requests: ");
        out.push(name_list(s, &fewest).text(format!(" ({}).", fmt_ratio(min_fail))));
    }
    if let Some(best) = with_sessions
        .iter()
        .min_by(|a, b| a.cost_per_1k_sessions.total_cmp(&b.cost_per_1k_sessions))
    {
        out.push(
            Sentence::default()
                .text("Lowest cost per 1K completed sessions: ")
                .code(&best.name)
                .text(format!(" ({}).", fmt_usd(best.cost_per_1k_sessions))),
        );
    }
    let none: Vec<&str> = run
        .variants
        .iter()
        .filter(|v| !v.has_sessions())
        .map(|v| v.name.as_str())
        .collect();
    if !none.is_empty() {
        let s = Sentence::default().text("No session completed in ");
        out.push(name_list(s, &none).text("."));
    }
    out
}

/// One sentence per variant after the first, comparing it with the first.
pub fn comparisons(run: &Run) -> Vec<Sentence> {
    match run.variants.split_first() {
        Some((base, rest)) => rest.iter().map(|v| comparison(v, base)).collect(),
        None => Vec::new(),
    }
}

/// A table of text cells; `numeric[i]` right-aligns column `i`.
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub header: Vec<String>,
    pub numeric: Vec<bool>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    fn new(cols: &[(&str, bool)]) -> Table {
        Table {
            header: cols.iter().map(|c| c.0.to_string()).collect(),
            numeric: cols.iter().map(|c| c.1).collect(),
            rows: Vec::new(),
        }
    }

    /// GitHub-flavoured Markdown.
    pub fn markdown(&self) -> String {
        let cell = |c: &str| c.replace('|', "\\|");
        let mut out = format!(
            "| {} |\n|",
            self.header
                .iter()
                .map(|h| cell(h))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        for n in &self.numeric {
            out += if *n { "---:|" } else { "---|" };
        }
        out.push('\n');
        for r in &self.rows {
            out += &format!(
                "| {} |\n",
                r.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
            );
        }
        out
    }
}

fn secs_cell(v: &Variant, ms: f64) -> String {
    if v.has_sessions() {
        format!("{:.1}", ms / 1e3)
    } else {
        "n/a".to_string()
    }
}

/// The key figures, one row per variant.
pub fn summary_table(run: &Run) -> Table {
    let mut t = Table::new(&[
        ("variant", false),
        ("sessions ok", true),
        ("session p50 s", true),
        ("session p95 s", true),
        ("requests", true),
        ("failed %", true),
        ("e2e p95 s", true),
        ("cost $", true),
        ("$ / 1K sessions", true),
    ]);
    for v in &run.variants {
        t.rows.push(vec![
            v.name.clone(),
            format!("{}/{}", v.sessions_completed, v.sessions_started),
            secs_cell(v, v.session_ms.p50),
            secs_cell(v, v.session_ms.p95),
            v.sent.to_string(),
            format!("{:.2}", v.failed_ratio * 100.0),
            format!("{:.1}", v.e2e_ms.p95 / 1e3),
            format!("{:.2}", v.cost_total),
            if v.has_sessions() {
                format!("{:.2}", v.cost_per_1k_sessions)
            } else {
                "n/a".to_string()
            },
        ]);
    }
    t
}

/// Failure causes, retries and tokens, one row per variant.
pub fn detail_table(run: &Run) -> Table {
    let mut t = Table::new(&[
        ("variant", false),
        ("failed (req)", true),
        ("429 (req)", true),
        ("408/timeout (req)", true),
        ("other (req)", true),
        ("retries", true),
        ("spilled", true),
        ("ttft p50 s", true),
        ("e2e p50 s", true),
        ("out tokens/req", true),
        ("generated/req", true),
    ]);
    for v in &run.variants {
        t.rows.push(vec![
            v.name.clone(),
            v.failed.to_string(),
            v.rate_limited.to_string(),
            v.timed_out.to_string(),
            v.other_failed.to_string(),
            v.retries.to_string(),
            v.spilled.to_string(),
            format!("{:.2}", v.ttft_ms.p50 / 1e3),
            format!("{:.1}", v.e2e_ms.p50 / 1e3),
            format!("{:.0}", v.completion_per_request),
            format!("{:.0}", v.generated_per_request),
        ]);
    }
    t
}

/// One row per variant and deployment.
pub fn deployment_table(run: &Run) -> Table {
    let mut t = Table::new(&[
        ("variant", false),
        ("deployment", false),
        ("kind", false),
        ("attempts", true),
        ("admitted", true),
        ("429", true),
        ("408", true),
        ("spilled in", true),
        ("mean utilization", true),
        ("cost $", true),
    ]);
    for v in &run.variants {
        for d in &v.deployments {
            t.rows.push(vec![
                v.name.clone(),
                d.name.clone(),
                d.kind.clone(),
                d.attempts.to_string(),
                d.admitted.to_string(),
                d.rejected_429.to_string(),
                d.timed_out_408.to_string(),
                d.spilled_in.to_string(),
                format!("{:.1}%", d.utilization_mean * 100.0),
                format!("{:.2}", d.cost_usd),
            ]);
        }
    }
    t
}

/// The opening paragraph.
pub fn intro(run: &Run) -> Sentence {
    let mut s = Sentence::default().text(format!(
        "{} variant{} of scenario ",
        run.variants.len(),
        if run.variants.len() == 1 { "" } else { "s" }
    ));
    s = s.code(&run.scenario);
    if let Some(seed) = run.seed {
        s = s.text(format!(", seed {seed}"));
    }
    s = s.text(
        ". Every variant saw the same sampled sessions (common random numbers), so differences \
         come from the strategy, not from noise.",
    );
    if let Some(b) = run.variants.first()
        && run.variants.len() > 1
    {
        s = s
            .text(" Comparisons are against the first variant, ")
            .code(&b.name)
            .text(".");
    }
    s
}

/// The Markdown summary of a run: intro, findings, tables.
pub fn run_markdown(run: &Run) -> String {
    let mut out = format!(
        "# Spillway report: {}\n\n{}\n",
        run.scenario,
        intro(run).markdown()
    );
    let head = headline(run);
    let cmp = comparisons(run);
    if !head.is_empty() || !cmp.is_empty() {
        out += "\n## Findings\n\n";
        for s in head.iter().chain(&cmp) {
            out += &format!("- {}\n", s.markdown());
        }
    }
    out += "\n## Summary\n\n";
    out += &summary_table(run).markdown();
    out += "\n## Failures, retries and tokens\n\n";
    out += &detail_table(run).markdown();
    let deps = deployment_table(run);
    if !deps.rows.is_empty() {
        out += "\n## Deployments\n\n";
        out += &deps.markdown();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(fmt_secs(102_400.0), "102 s");
        assert_eq!(fmt_secs(6_504.0), "6.5 s");
        assert_eq!(fmt_secs(420.0), "0.42 s");
        assert_eq!(fmt_ratio(0.0034), "0.3%");
        assert_eq!(fmt_ratio(0.0001), "<0.1%");
        assert_eq!(fmt_ratio(0.0), "0.0%");
        assert_eq!(pct_change(102.4, 354.4), "-71%");
        assert_eq!(pct_change(7.82, 2.67), "+193%");
        assert_eq!(pct_change(1.001, 1.0), "±0%");
        assert_eq!(pct_change(1.0, 0.0), "n/a: baseline 0");
        assert_eq!(fmt_usd(1234.4), "$1,234");
        assert_eq!(fmt_usd(2.377), "$2.38");
        assert_eq!(thousands(-1234567), "-1,234,567");
        assert_eq!(esc("a<b & 'c'"), "a&lt;b &amp; &#39;c&#39;");
    }
}
