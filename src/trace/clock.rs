//! Timestamps as traces write them, read exactly into integer microseconds.
//!
//! Two kinds of clock:
//!
//! - **date-times** (`2023-11-16 18:17:03.9799600`, `2024-05-01T12:00:00Z`,
//!   `2024-05-01T14:00:00.5+02:00`): microseconds since 1970-01-01 UTC; a date-time without a
//!   zone is read as UTC. Digits beyond the microsecond are dropped (Azure's trace writes seven).
//! - **numbers** (seconds in BurstGPT and Spillway's formats, milliseconds in Mooncake's):
//!   microseconds since the clock's own zero, parsed from the decimal text without floating
//!   point.
//!
//! No floating point touches a timestamp read from text, so every platform reads the same
//! microsecond.

/// Which clock a trace's timestamps are on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockKind {
    /// Calendar date-times (microseconds since 1970-01-01 UTC).
    DateTime,
    /// Plain numbers of seconds or milliseconds from the trace's own zero.
    Number,
}

impl ClockKind {
    /// In words, for errors.
    pub fn words(self) -> &'static str {
        match self {
            ClockKind::DateTime => "date-times",
            ClockKind::Number => "numbers of seconds",
        }
    }
}

/// What a date-time must look like, for errors.
pub const DATE_TIME_WORDS: &str =
    "a date-time like \"2023-11-16 18:17:03.98\" (UTC unless it ends in Z or +HH:MM)";

/// A decimal number of units (`"12"`, `"-3.25"`, `"1700000000.123456"`) in microseconds, where
/// one unit is `unit_us` microseconds (1_000_000 for seconds, 1_000 for milliseconds). Digits
/// finer than a microsecond are dropped. `None` when it is not a plain decimal or overflows.
pub fn parse_decimal(text: &str, unit_us: i64) -> Option<i64> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut us: i64 = 0;
    for b in int.bytes() {
        us = us.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    us = us.checked_mul(unit_us)?;
    // The fraction: each digit is worth unit_us / 10^k microseconds; stop below one.
    let mut place = unit_us;
    for b in frac.bytes() {
        place /= 10;
        if place == 0 {
            break;
        }
        us = us.checked_add(i64::from(b - b'0') * place)?;
    }
    Some(if neg { -us } else { us })
}

/// Days from 1970-01-01 to the proleptic Gregorian date `y-m-d` (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// A fixed-width run of ASCII digits at `s[at..at + n]`.
fn digits(s: &[u8], at: usize, n: usize) -> Option<i64> {
    let part = s.get(at..at + n)?;
    part.iter().try_fold(0i64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
    })
}

/// `YYYY-MM-DD[T| ]HH:MM:SS[.fraction][Z|+HH:MM|-HH:MM|+HHMM]` in microseconds since
/// 1970-01-01 UTC. `None` when `text` is not such a date-time or names an impossible one.
pub fn parse_datetime(text: &str) -> Option<i64> {
    let s = text.as_bytes();
    let (y, mo, d) = (digits(s, 0, 4)?, digits(s, 5, 2)?, digits(s, 8, 2)?);
    if s[4] != b'-' || s[7] != b'-' || !matches!(s.get(10)?, b'T' | b't' | b' ') {
        return None;
    }
    let (h, mi, sec) = (digits(s, 11, 2)?, digits(s, 14, 2)?, digits(s, 17, 2)?);
    if s[13] != b':' || s[16] != b':' {
        return None;
    }
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 {
        return None;
    }
    if sec > 59 {
        return None;
    }
    let mut i = 19;
    let mut frac_us = 0i64;
    if s.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        let mut place = 100_000i64;
        while let Some(b) = s.get(i).filter(|b| b.is_ascii_digit()) {
            frac_us += i64::from(b - b'0') * place;
            place /= 10;
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset_s = match s.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == s.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(s, i + 1, 2)?;
            let om = match s.len() - (i + 3) {
                0 => 0,
                2 => digits(s, i + 3, 2)?,
                3 if s[i + 3] == b':' => digits(s, i + 4, 2)?,
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if sign == b'+' { o } else { -o }
        }
        Some(_) => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset_s;
    Some(secs * 1_000_000 + frac_us)
}

/// A timestamp that is either a date-time or a decimal number of seconds.
pub fn parse_seconds_or_datetime(text: &str) -> Option<(i64, ClockKind)> {
    if let Some(us) = parse_decimal(text, 1_000_000) {
        return Some((us, ClockKind::Number));
    }
    parse_datetime(text).map(|us| (us, ClockKind::DateTime))
}

/// A date-time in microseconds since 1970, written back as `2023-11-16 18:17:03.979960`
/// (for errors and docs).
pub fn show_datetime(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let frac = us.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // civil_from_days (H. Hinnant).
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let mut out = format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
    if frac != 0 {
        out.push_str(&format!(".{frac:06}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact_to_the_microsecond() {
        assert_eq!(parse_decimal("12", 1_000_000), Some(12_000_000));
        assert_eq!(parse_decimal("0.000001", 1_000_000), Some(1));
        assert_eq!(parse_decimal("0.0000019", 1_000_000), Some(1));
        assert_eq!(parse_decimal("-3.25", 1_000_000), Some(-3_250_000));
        assert_eq!(parse_decimal("27482", 1_000), Some(27_482_000));
        assert_eq!(parse_decimal("1.5", 1_000), Some(1_500));
        assert_eq!(parse_decimal(".5", 1_000_000), Some(500_000));
        for bad in [
            "",
            ".",
            "1e3",
            "12a",
            "--1",
            "1.2.3",
            "99999999999999999999",
        ] {
            assert_eq!(parse_decimal(bad, 1_000_000), None, "{bad}");
        }
    }

    #[test]
    fn date_times_in_every_spelling() {
        let azure = parse_datetime("2023-11-16 18:17:03.9799600").unwrap();
        assert_eq!(azure % 1_000_000, 979_960);
        assert_eq!(show_datetime(azure), "2023-11-16 18:17:03.979960");
        assert_eq!(parse_datetime("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_datetime("1970-01-01 01:00:00+01:00"), Some(0));
        assert_eq!(
            parse_datetime("1970-01-01 00:00:00-0130"),
            Some(5_400_000_000)
        );
        assert_eq!(
            parse_datetime("2024-02-29T12:00:00").unwrap()
                - parse_datetime("2024-02-28T12:00:00").unwrap(),
            86_400_000_000
        );
        assert_eq!(
            show_datetime(parse_datetime("1969-12-31 23:59:59.5").unwrap()),
            "1969-12-31 23:59:59.500000"
        );
        for bad in [
            "2023-02-29 00:00:00",
            "2023-13-01 00:00:00",
            "2023-11-16 24:00:00",
            "2023-11-16 18:17",
            "2023-11-16 18:17:03.",
            "2023-11-16 18:17:03 UTC",
            "2023-11-16T18:17:03+2",
            "16/11/2023 18:17:03",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }
}
