//! The library's error type. Every error that reaches the user names what is wrong and, where
//! known, the file, line, column, variant and key; the binary maps them to exit code 2.
//!
//! An error is always printed on one line: control characters that come from the input (a
//! newline in a name, a tab in a path) are shown escaped (`\n`, `\t`).

use std::borrow::Cow;
use std::fmt;

/// Where in the input a problem is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    /// File (or `<string>` for in-memory scenarios).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// The variant whose overrides were applied, when the problem is in one.
    pub variant: Option<String>,
    /// Dotted key path such as `deployment[1].tpm`.
    pub key: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", escape_control(&self.file))?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        if let Some(v) = &self.variant {
            write!(f, ": variant '{}'", escape_control(v))?;
        }
        if let Some(k) = &self.key {
            write!(f, ": key '{}'", escape_control(k))?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The scenario (or a `--set` override) is malformed or inconsistent.
    #[error("{location}: {}", escape_control(message))]
    Scenario {
        /// Where (boxed: keeps `Result<_, Error>` small on hot-ish paths).
        location: Box<Location>,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A command-line argument is malformed.
    #[error("{}", escape_control(.0))]
    Usage(String),
    /// The user interrupted the work (Ctrl-C); nothing was written.
    #[error("interrupted; nothing was written")]
    Interrupted,
    /// Reading or writing a file failed.
    #[error("{}: {source}", escape_control(path))]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// A scenario error at a key, without line information.
    pub fn at_key(
        file: &str,
        variant: Option<&str>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Error {
        Error::Scenario {
            location: Box::new(Location {
                file: file.to_string(),
                variant: variant.map(str::to_string),
                key: Some(key.into()),
                ..Default::default()
            }),
            message: message.into(),
        }
    }

    /// An I/O error on a path.
    pub fn io(path: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// `text` with its control characters escaped as Rust writes them (`\n`, `\t`, `\u{1b}`), so
/// that it prints on one line; other characters (quotes, non-ASCII letters) are kept.
pub fn escape_control(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for ch in text.chars() {
        if ch.is_control() {
            out.extend(ch.escape_debug());
        } else {
            out.push(ch);
        }
    }
    Cow::Owned(out)
}

/// Library result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// 1-based (line, column) of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(offset, |p| offset - p - 1) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let t = "a = 1\nbb = 2\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 6), (2, 1));
        assert_eq!(line_col(t, 9), (2, 4));
    }

    #[test]
    fn errors_print_on_one_line() {
        assert_eq!(escape_control("p\nx\ty\u{1b}"), "p\\nx\\ty\\u{1b}");
        assert_eq!(escape_control("gpt-4o \"ñ\""), "gpt-4o \"ñ\"");
        let e = Error::at_key(
            "a\nb.toml",
            Some("v\r"),
            "deployment.x\ty",
            "unknown pool 'p\nx'",
        );
        assert_eq!(
            e.to_string(),
            "a\\nb.toml: variant 'v\\r': key 'deployment.x\\ty': unknown pool 'p\\nx'"
        );
        assert_eq!(
            Error::Usage("no variant 'a\nb'".into()).to_string(),
            "no variant 'a\\nb'"
        );
    }

    #[test]
    fn display_names_everything_known() {
        let e = Error::Scenario {
            location: Box::new(Location {
                file: "s.toml".into(),
                line: Some(3),
                column: Some(7),
                variant: Some("v".into()),
                key: Some("client.timeout".into()),
            }),
            message: "bad".into(),
        };
        assert_eq!(
            e.to_string(),
            "s.toml:3:7: variant 'v': key 'client.timeout': bad"
        );
    }
}
