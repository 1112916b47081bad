//! Words for people: number formats, generated sentences and tables, shared by the HTML
//! report (`report`) and the Markdown exporter (`output::markdown`), so both say exactly the
//! same thing.
//!
//! This module depends only on the summary document ([`crate::metrics::Summary`]) (and on
//! [`crate::slo`] for SLO units); the report and the exporters depend on it, never the other
//! way round (and `output` never calls into `report`).
//!
//! - [`run`]: a run's intro, findings, comparisons, tables and Markdown;
//! - [`compare`]: load groups, references, SLO verdicts, the verdict, truncation flags;
//! - [`columns`]: the columns of the run table (`--columns`, `--wide`);
//! - [`breakdown`]: where session time goes.

pub mod breakdown;
pub mod columns;
pub mod compare;
pub mod run;

pub use run::markdown as run_markdown;

/// A piece of a generated sentence: plain text, or a name shown as code.
#[derive(Clone, Debug, PartialEq)]
pub enum Seg {
    /// Plain text.
    Text(String),
    /// A name (variant, key, metric) shown as code.
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

/// What a number that is not finite (an overflow, a division by zero) shows as.
pub const NA: &str = "n/a";

/// Beyond this magnitude numbers are written in scientific notation.
const HUGE: f64 = 1e15;

/// `x` in scientific notation with up to 3 decimals: `1e300`, `2.5e-7`.
pub fn sci(x: f64) -> String {
    let s = format!("{x:.3e}");
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let m = m.trim_end_matches('0').trim_end_matches('.');
    format!("{m}e{e}")
}

/// `x` with `digits` decimals (`format!("{x:.digits$}")`), in scientific notation beyond
/// 1e15, [`NA`] when not finite.
pub fn fixed(x: f64, digits: usize) -> String {
    if !x.is_finite() {
        NA.to_string()
    } else if x.abs() >= HUGE {
        sci(x)
    } else {
        format!("{x:.digits$}")
    }
}

/// A duration given in milliseconds, in seconds with sensible precision: `354 s`, `6.5 s`,
/// `0.42 s`; `n/a` when not finite.
pub fn fmt_secs(ms: f64) -> String {
    let s = num_secs(ms / 1e3);
    if s == NA { s } else { format!("{s} s") }
}

/// A number of seconds without the unit (same precision rules as [`fmt_secs`]).
pub fn num_secs(s: f64) -> String {
    if s.abs() >= 9.95 {
        fixed(s, 0)
    } else if s.abs() >= 0.995 {
        fixed(s, 1)
    } else {
        fixed(s, 2)
    }
}

/// A failure ratio (0..1) as a percentage with one decimal; tiny non-zero ratios show as
/// `<0.1%` rather than a misleading `0.0%`; `n/a` when not finite.
pub fn fmt_ratio(r: f64) -> String {
    let p = r * 100.0;
    if !p.is_finite() {
        NA.to_string()
    } else if p > 0.0 && p < 0.05 {
        "<0.1%".to_string()
    } else {
        format!("{}%", fixed(p, 1))
    }
}

/// US dollars: `$2.38`, `$147.06`, `$1,234`, `$3.1e303`; `n/a` when not finite.
pub fn fmt_usd(x: f64) -> String {
    if !x.is_finite() {
        NA.to_string()
    } else if x.abs() >= HUGE {
        format!("${}", sci(x))
    } else if x.abs() >= 1000.0 {
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
/// `+193%`, `-71%`, `±0%`; `n/a` when the baseline is zero and the new value is not, or when
/// either is not finite.
pub fn pct_change(new: f64, base: f64) -> String {
    if !new.is_finite() || !base.is_finite() {
        return NA.to_string();
    }
    if base == 0.0 {
        return if new == 0.0 {
            "±0%".to_string()
        } else {
            "n/a: baseline 0".to_string()
        };
    }
    let r = ((new / base - 1.0) * 100.0).round();
    if !r.is_finite() {
        NA.to_string()
    } else if r == 0.0 {
        "±0%".to_string()
    } else if r.abs() >= HUGE {
        format!("{}{}%", if r > 0.0 { "+" } else { "" }, sci(r))
    } else {
        format!("{r:+.0}%")
    }
}

/// A table of text cells; `numeric[i]` right-aligns column `i`.
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// Column titles.
    pub header: Vec<String>,
    /// Whether each column holds numbers (right-aligned).
    pub numeric: Vec<bool>,
    /// Rows of cells, as many as columns.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these `(header, numeric)` columns.
    pub fn new(cols: &[(&str, bool)]) -> Table {
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

    /// A division by zero or an overflow shows as n/a, never inf or NaN; huge values in
    /// scientific notation rather than 300 digits or a saturated integer.
    #[test]
    fn non_finite_and_huge_numbers() {
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            for text in [
                fmt_secs(x),
                num_secs(x),
                fmt_ratio(x),
                fmt_usd(x),
                fixed(x, 2),
                pct_change(x, 1.0),
                pct_change(1.0, x),
            ] {
                assert_eq!(text, NA);
            }
        }
        assert_eq!(pct_change(1e300, 1e-300), NA);
        assert_eq!(fmt_usd(3.14e303), "$3.14e303");
        assert_eq!(fixed(1e300, 2), "1e300");
        assert_eq!(fmt_secs(2e20), "2e17 s");
        assert_eq!(fmt_ratio(1e300), "1e302%");
    }
}
