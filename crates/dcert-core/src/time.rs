//! Calendar dates, UTC timestamps and the Minguo (中華民國) calendar used on Taiwanese certificates.
//!
//! The core never reads the clock: every function that needs "now" takes a [`Timestamp`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A calendar date in the proleptic Gregorian calendar.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

/// A date or timestamp could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// The text is not of the form the field requires.
    #[error("expected {expected}, found {found:?}")]
    Syntax {
        /// The form that was expected, e.g. `YYYY-MM-DD`.
        expected: &'static str,
        /// The text that was found (cut to 40 characters).
        found: String,
    },
    /// The numbers do not name a real day or time.
    #[error("{0:?} is not a real date or time")]
    OutOfRange(String),
}

impl TimeError {
    /// The text that could not be read (cut to 40 characters when it is not of the form).
    pub fn found(&self) -> &str {
        match self {
            TimeError::Syntax { found, .. } | TimeError::OutOfRange(found) => found,
        }
    }
}

fn syntax(expected: &'static str, found: &str) -> TimeError {
    TimeError::Syntax { expected, found: found.chars().take(40).collect() }
}

impl Date {
    /// A date, if `month` and `day` exist in `year`.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Self> {
        if !(1..=9999).contains(&year) || !(1..=12).contains(&month) {
            return None;
        }
        if day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Self { year, month, day })
    }

    /// The year of the common era.
    pub fn year(self) -> i32 {
        self.year
    }

    /// The month, 1 to 12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, 1 to 31.
    pub fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(self) -> i64 {
        days_from_civil(self.year, self.month, self.day)
    }

    /// The date `days` after 1970-01-01.
    pub fn from_days_since_epoch(days: i64) -> Self {
        let (year, month, day) = civil_from_days(days);
        Self { year, month, day }
    }

    /// The day of the week, 0 = Monday … 6 = Sunday.
    pub fn weekday(self) -> u8 {
        // 1970-01-01 was a Thursday (3).
        (self.days_since_epoch() + 3).rem_euclid(7) as u8
    }

    /// The date `n` days later (or earlier, for negative `n`).
    pub fn add_days(self, n: i64) -> Self {
        Self::from_days_since_epoch(self.days_since_epoch() + n)
    }

    /// Midnight UTC at the start of this date.
    pub fn start(self) -> Timestamp {
        Timestamp(self.days_since_epoch() * 86_400)
    }

    /// The year of the Republic of China (民國), 1912 being year 1.
    pub fn minguo_year(self) -> i32 {
        self.year - 1911
    }

    /// The date as printed on a Chinese certificate: `中華民國一一四年六月三十日`.
    pub fn to_minguo_zh(self) -> String {
        format!(
            "中華民國{}年{}月{}日",
            minguo_year_numeral(self.minguo_year()),
            chinese_number(u32::from(self.month)),
            chinese_number(u32::from(self.day))
        )
    }

    /// The date in the short Minguo form used in forms: `114/06/30`.
    pub fn to_minguo_short(self) -> String {
        format!("{}/{:02}/{:02}", self.minguo_year(), self.month, self.day)
    }

    /// The date as printed on an English certificate: `June 30, 2025`.
    pub fn to_english(self) -> String {
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        format!("{} {}, {}", MONTHS[usize::from(self.month - 1)], self.day, self.year)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({self})")
    }
}

impl FromStr for Date {
    type Err = TimeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const FORM: &str = "a date YYYY-MM-DD";
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(syntax(FORM, s));
        }
        let year = digits(&b[0..4]).ok_or_else(|| syntax(FORM, s))?;
        let month = digits(&b[5..7]).ok_or_else(|| syntax(FORM, s))?;
        let day = digits(&b[8..10]).ok_or_else(|| syntax(FORM, s))?;
        Date::new(year as i32, month as u8, day as u8).ok_or_else(|| TimeError::OutOfRange(s.to_owned()))
    }
}

/// A moment in time: whole seconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Seconds since the Unix epoch.
    pub fn unix(self) -> i64 {
        self.0
    }

    /// The UTC calendar date of this moment.
    pub fn date(self) -> Date {
        Date::from_days_since_epoch(self.0.div_euclid(86_400))
    }

    /// The calendar date in Taiwan (UTC+8), which is the date printed on certificates.
    pub fn taiwan_date(self) -> Date {
        Timestamp(self.0 + 8 * 3600).date()
    }

    /// `(hour, minute, second)` in UTC.
    pub fn hms(self) -> (u8, u8, u8) {
        let s = self.0.rem_euclid(86_400);
        ((s / 3600) as u8, (s / 60 % 60) as u8, (s % 60) as u8)
    }

    /// This moment plus `seconds`.
    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds))
    }
}

impl Timestamp {
    /// Reads a PDF date (`D:YYYYMMDDHHmmSS` followed by `Z` or `±HH'mm'`, or nothing for UTC),
    /// as in a signature's `/M`. Dates without the time of day are refused.
    pub fn from_pdf_date(text: &[u8]) -> Option<Timestamp> {
        let t = text.strip_prefix(b"D:").unwrap_or(text);
        if t.len() < 14 || !t[..14].iter().all(u8::is_ascii_digit) {
            return None;
        }
        let iso = format!(
            "{}-{}-{}T{}:{}:{}",
            std::str::from_utf8(&t[0..4]).ok()?,
            std::str::from_utf8(&t[4..6]).ok()?,
            std::str::from_utf8(&t[6..8]).ok()?,
            std::str::from_utf8(&t[8..10]).ok()?,
            std::str::from_utf8(&t[10..12]).ok()?,
            std::str::from_utf8(&t[12..14]).ok()?
        );
        let offset = match &t[14..] {
            [] | [b'Z'] | [b'Z', ..] => "Z".to_owned(),
            [sign @ (b'+' | b'-'), h1, h2, rest @ ..] => {
                let minutes = match rest {
                    [b'\'', m1, m2, ..] | [m1, m2, ..] if m1.is_ascii_digit() && m2.is_ascii_digit() => [*m1, *m2],
                    _ => [b'0', b'0'],
                };
                format!("{}{}{}:{}{}", *sign as char, *h1 as char, *h2 as char, minutes[0] as char, minutes[1] as char)
            }
            _ => return None,
        };
        format!("{iso}{offset}").parse().ok()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (h, m, s) = self.hms();
        write!(f, "{}T{h:02}:{m:02}:{s:02}Z", self.date())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl FromStr for Timestamp {
    type Err = TimeError;

    /// Reads an RFC 3339 date-time: `2025-06-30T08:00:00Z`, with optional fractional seconds
    /// (dropped) and a `Z` or `±HH:MM` offset.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const FORM: &str = "a date-time YYYY-MM-DDTHH:MM:SSZ";
        let b = s.as_bytes();
        if b.len() < 20 || !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
            return Err(syntax(FORM, s));
        }
        let date: Date = s[..10].parse()?;
        let hour = digits(&b[11..13]).ok_or_else(|| syntax(FORM, s))?;
        let minute = digits(&b[14..16]).ok_or_else(|| syntax(FORM, s))?;
        let second = digits(&b[17..19]).ok_or_else(|| syntax(FORM, s))?;
        if hour > 23 || minute > 59 || second > 60 {
            return Err(TimeError::OutOfRange(s.to_owned()));
        }
        let mut rest = &b[19..];
        if rest.first() == Some(&b'.') {
            let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return Err(syntax(FORM, s));
            }
            rest = &rest[1 + n..];
        }
        let offset = match rest {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let oh = digits(&[*h1, *h2]).ok_or_else(|| syntax(FORM, s))?;
                let om = digits(&[*m1, *m2]).ok_or_else(|| syntax(FORM, s))?;
                if oh > 23 || om > 59 {
                    return Err(TimeError::OutOfRange(s.to_owned()));
                }
                let minutes = i64::from(oh * 60 + om);
                if *sign == b'+' { minutes } else { -minutes }
            }
            _ => return Err(syntax(FORM, s)),
        };
        let seconds = date.days_since_epoch() * 86_400
            + i64::from(hour) * 3600
            + i64::from(minute) * 60
            + i64::from(second.min(59))
            - offset * 60;
        Ok(Timestamp(seconds))
    }
}

macro_rules! serde_via_str {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

serde_via_str!(Date);
serde_via_str!(Timestamp);

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's algorithms for the proleptic Gregorian calendar.
fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    (year, month, day)
}

const NUMERALS: [char; 10] = ['〇', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

/// A number below 100 in Chinese numerals as used for months and days: 六, 十, 十一, 二十, 三十一.
pub fn chinese_number(n: u32) -> String {
    debug_assert!(n < 100);
    let (tens, ones) = (n / 10, n % 10);
    let mut s = String::new();
    match tens {
        0 => {}
        1 => s.push('十'),
        t => {
            s.push(NUMERALS[t as usize]);
            s.push('十');
        }
    }
    if ones != 0 || n == 0 {
        s.push(NUMERALS[ones as usize]);
    }
    s
}

/// A Minguo year: digit by digit from 100 on (一一四, 一一〇), positional below (八十九).
fn minguo_year_numeral(year: i32) -> String {
    if year >= 100 {
        year.to_string().bytes().map(|d| NUMERALS[usize::from(d - b'0')]).collect()
    } else if year >= 1 {
        chinese_number(year as u32)
    } else {
        // Before 1912 a Minguo date does not exist; fall back to the Gregorian year.
        format!("前{}", year.unsigned_abs() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn minguo_dates_read_as_on_a_taiwanese_diploma() {
        let check = |iso: &str, expected: &str| assert_eq!(date(iso).to_minguo_zh(), expected, "{iso}");
        check("2025-06-30", "中華民國一一四年六月三十日");
        check("2021-01-10", "中華民國一一〇年一月十日");
        check("2000-01-02", "中華民國八十九年一月二日");
        check("1922-12-21", "中華民國十一年十二月二十一日");
        check("1912-01-01", "中華民國一年一月一日");
        assert_eq!(date("2025-06-30").to_minguo_short(), "114/06/30");
    }

    #[test]
    fn english_dates_spell_the_month() {
        assert_eq!(date("2025-06-30").to_english(), "June 30, 2025");
    }

    #[test]
    fn dates_reject_days_that_do_not_exist() {
        assert!("2025-02-29".parse::<Date>().is_err());
        assert!("2024-02-29".parse::<Date>().is_ok());
        assert!("2025-13-01".parse::<Date>().is_err());
        assert!("2025-1-01".parse::<Date>().is_err());
        assert!("２０２５-01-01".parse::<Date>().is_err());
    }

    #[test]
    fn day_arithmetic_round_trips_through_the_epoch() {
        for days in [-800_000, -1, 0, 1, 19_000, 20_000, 2_000_000] {
            assert_eq!(Date::from_days_since_epoch(days).days_since_epoch(), days);
        }
        assert_eq!(date("1970-01-01").weekday(), 3);
        assert_eq!(date("2025-06-30").weekday(), 0, "a Monday");
        assert_eq!(date("2025-02-28").add_days(1), date("2025-03-01"));
    }

    #[test]
    fn timestamps_read_rfc3339_with_offsets() {
        let check = |s: &str, expected: &str| assert_eq!(s.parse::<Timestamp>().unwrap().to_string(), expected, "{s}");
        check("2025-06-30T08:00:00Z", "2025-06-30T08:00:00Z");
        check("2025-06-30T08:00:00.123456Z", "2025-06-30T08:00:00Z");
        check("2025-06-30T08:00:00+08:00", "2025-06-30T00:00:00Z");
        check("2025-06-30T20:00:00-05:00", "2025-07-01T01:00:00Z");
        assert!("2025-06-30 08:00:00Z".parse::<Timestamp>().is_err());
        assert!("2025-06-30T08:00:00".parse::<Timestamp>().is_err());
        assert!("2025-06-30T25:00:00Z".parse::<Timestamp>().is_err());
    }

    #[test]
    fn pdf_dates_read_with_and_without_offsets() {
        let check = |pdf: &str, expected: Option<&str>| {
            assert_eq!(Timestamp::from_pdf_date(pdf.as_bytes()).map(|t| t.to_string()).as_deref(), expected, "{pdf}")
        };
        check("D:20250701020000Z", Some("2025-07-01T02:00:00Z"));
        check("D:20250701100000+08'00'", Some("2025-07-01T02:00:00Z"));
        check("D:20250701100000+08'00", Some("2025-07-01T02:00:00Z"));
        check("20250701020000", Some("2025-07-01T02:00:00Z"));
        check("D:20250701", None);
        check("D:2025070102000x", None);
        check("D:20251301020000Z", None);
    }

    #[test]
    fn taiwan_date_is_utc_plus_eight() {
        let t: Timestamp = "2025-06-29T17:00:00Z".parse().unwrap();
        assert_eq!(t.date(), date("2025-06-29"));
        assert_eq!(t.taiwan_date(), date("2025-06-30"));
    }
}
