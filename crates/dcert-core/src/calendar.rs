//! The working-day calendar (Taiwan): when a digital certificate is due.
//!
//! A digital certificate is due [`DUE_WORKING_DAYS`] working days after the graduate collects the
//! paper diploma. Working days are Monday to Friday, except the national holidays of the government
//! office calendar (政府行政機關辦公日曆表, published each year by 行政院人事行政總處) with their
//! observed days (補假) and adjusted days off (調整放假), plus the make-up workdays (補行上班):
//! Saturdays that are workdays.
//!
//! A [`Calendar`] is plain weekdays and a list of [`DayOverride`]s, read from a small CSV file
//! (`date,kind,note`, see [`parse_calendar_csv`]). [`taiwan_official`] is the bundled file for the
//! years in [`TAIWAN_OFFICIAL_YEARS`]; an institution can load a newer one. Outside the days a
//! calendar lists, every weekday is a working day.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Bound, RangeInclusive};

use serde::{Deserialize, Serialize};

use crate::time::{Date, TimeError};

/// How many working days after the paper diploma is collected a digital certificate is due.
pub const DUE_WORKING_DAYS: u32 = 5;

/// The longest run of days without a working day that a search crosses before it gives up
/// (about ten years), so that a calendar without workdays cannot make it loop for ever.
pub const MAX_DAYS_WITHOUT_WORKDAY: i64 = 3_660;

/// The years the bundled Taiwan calendar ([`taiwan_official`]) covers.
pub const TAIWAN_OFFICIAL_YEARS: RangeInclusive<i32> = 2025..=2026;

/// The bundled Taiwan calendar file, in the format of [`parse_calendar_csv`].
pub const TAIWAN_CALENDAR_CSV: &str = include_str!("../data/taiwan-calendar.csv");

/// A day that is not what its weekday says: a holiday on a weekday, or a workday on a weekend.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DayOverride {
    /// The day.
    pub date: Date,
    /// Whether the day is a working day (補班) or not (a holiday, 放假).
    pub workday: bool,
    /// Why, in words, e.g. 春節（初一）.
    pub note: String,
}

impl DayOverride {
    /// A holiday (放假) on `date`.
    pub fn holiday(date: Date, note: impl Into<String>) -> Self {
        Self { date, workday: false, note: note.into() }
    }

    /// A make-up workday (補班) on `date`.
    pub fn workday(date: Date, note: impl Into<String>) -> Self {
        Self { date, workday: true, note: note.into() }
    }

    /// The kind as written in the CSV file: `workday` or `holiday`.
    pub fn kind(&self) -> &'static str {
        if self.workday { "workday" } else { "holiday" }
    }
}

/// Working days: Monday to Friday unless a [`DayOverride`] says otherwise.
///
/// The default calendar has no overrides.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Calendar {
    overrides: BTreeMap<Date, DayOverride>,
}

impl Calendar {
    /// A calendar with these overrides; of two for the same date, the later one wins.
    pub fn new(overrides: impl IntoIterator<Item = DayOverride>) -> Self {
        Self { overrides: overrides.into_iter().map(|o| (o.date, o)).collect() }
    }

    /// The official Taiwan calendar bundled with dcert ([`taiwan_official`]).
    pub fn taiwan() -> Self {
        Self::new(taiwan_official())
    }

    /// Whether `date` is a working day: its override if it has one, else Monday to Friday.
    pub fn is_workday(&self, date: Date) -> bool {
        match self.overrides.get(&date) {
            Some(o) => o.workday,
            None => date.weekday() < 5,
        }
    }

    /// The `n`-th working day after `start` (`start` itself never counts; `n = 0` gives `start`),
    /// or `None` if the search meets [`MAX_DAYS_WITHOUT_WORKDAY`] days in a row without a working
    /// day or runs past the year 9999.
    pub fn checked_add_working_days(&self, start: Date, n: u32) -> Option<Date> {
        self.search(start, n).ok()
    }

    /// The `n`-th working day after `start`, as [`Calendar::checked_add_working_days`], except that
    /// where that gives `None` this saturates: it returns the last date searched.
    pub fn add_working_days(&self, start: Date, n: u32) -> Date {
        match self.search(start, n) {
            Ok(date) | Err(date) => date,
        }
    }

    /// The day a digital certificate is due when its paper diploma was collected on `collected`:
    /// [`DUE_WORKING_DAYS`] working days later.
    pub fn due_date(&self, collected: Date) -> Date {
        self.add_working_days(collected, DUE_WORKING_DAYS)
    }

    /// The number of working days `d` with `start < d <= end`; 0 if `end <= start`.
    ///
    /// This is the inverse of [`Calendar::add_working_days`]: for a found date,
    /// `working_days_after(start, add_working_days(start, n)) == n`. It takes time in the number of
    /// overrides in the range, not in its length.
    pub fn working_days_after(&self, start: Date, end: Date) -> i64 {
        if end <= start {
            return 0;
        }
        // Monday to Friday first, then each override that changes its day.
        let mut count = weekdays_before(end.days_since_epoch() + 1) - weekdays_before(start.days_since_epoch() + 1);
        for o in self.overrides.range((Bound::Excluded(start), Bound::Included(end))).map(|(_, o)| o) {
            let weekday = o.date.weekday() < 5;
            count += i64::from(o.workday) - i64::from(weekday);
        }
        count
    }

    /// The overrides, in date order.
    pub fn overrides(&self) -> impl Iterator<Item = &DayOverride> {
        self.overrides.values()
    }

    /// The override for `date`, if it has one.
    pub fn override_for(&self, date: Date) -> Option<&DayOverride> {
        self.overrides.get(&date)
    }

    /// Counts forward from `start`: `Ok` with the `n`-th working day, or `Err` with the last date
    /// searched when it gave up.
    fn search(&self, start: Date, n: u32) -> Result<Date, Date> {
        let mut date = start;
        let mut remaining = n;
        let mut idle = 0;
        while remaining > 0 {
            let next = date.add_days(1);
            if next.year() > 9999 {
                return Err(date);
            }
            date = next;
            if self.is_workday(date) {
                remaining -= 1;
                idle = 0;
            } else {
                idle += 1;
                if idle >= MAX_DAYS_WITHOUT_WORKDAY {
                    return Err(date);
                }
            }
        }
        Ok(date)
    }
}

/// The number of Mondays to Fridays among the days before day `days` (counted from 1970-01-01),
/// up to a constant: the differences are exact.
fn weekdays_before(days: i64) -> i64 {
    // Shifted so that 0 is a Monday (1970-01-01 was a Thursday).
    let k = days + 3;
    5 * k.div_euclid(7) + k.rem_euclid(7).min(5)
}

/// The official Taiwan government office calendar for [`TAIWAN_OFFICIAL_YEARS`]: the national
/// holidays that fall on weekdays and the make-up workdays, parsed from [`TAIWAN_CALENDAR_CSV`].
///
/// The bundled file is checked by the tests; were it unreadable this would return no overrides.
pub fn taiwan_official() -> Vec<DayOverride> {
    parse_calendar_csv(TAIWAN_CALENDAR_CSV).unwrap_or_default()
}

/// One bad line in a calendar CSV file, as a code with its parameters ([`CalendarCsvError::code`]):
/// the console words each from its message catalogue; the English [`fmt::Display`] is the command
/// line's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarCsvError {
    /// The text has no header row.
    #[error("the calendar has no header row (date,kind,note)")]
    NoHeader,
    /// The header row lacks a required column.
    #[error("line {line}: the header has no column {column:?}")]
    MissingHeaderColumn {
        /// The line of the header.
        line: usize,
        /// The column that is missing: `date` or `kind`.
        column: &'static str,
    },
    /// The header names a column this format does not have, or one twice.
    #[error("line {line}: unexpected column {column:?} in the header (the columns are date, kind, note)")]
    UnexpectedHeaderColumn {
        /// The line of the header.
        line: usize,
        /// The column's name as written.
        column: String,
    },
    /// A row has no value for a required column.
    #[error("line {line}: missing column {column}")]
    MissingColumn {
        /// The line of the row.
        line: usize,
        /// The column that has no value: `date` or `kind`.
        column: &'static str,
    },
    /// A row has more fields than the header.
    #[error("line {line}: {found} fields, but the header has {expected}")]
    ExtraFields {
        /// The line of the row.
        line: usize,
        /// The number of fields in the row.
        found: usize,
        /// The number of columns in the header.
        expected: usize,
    },
    /// The date is not a real date of the form `YYYY-MM-DD`.
    #[error("line {line}: bad date: {problem}")]
    BadDate {
        /// The line of the row.
        line: usize,
        /// What is wrong with it; it holds the date as written.
        problem: TimeError,
    },
    /// The kind is not one this format knows.
    #[error("line {line}: unknown kind {found:?} (expected holiday, workday, 放假, 補假 or 補班)")]
    UnknownKind {
        /// The line of the row.
        line: usize,
        /// The kind as written.
        found: String,
    },
    /// The same date is listed twice.
    #[error("line {line}: {date} is listed twice (first on line {first_line})")]
    DuplicateDate {
        /// The line of the second listing.
        line: usize,
        /// The date.
        date: Date,
        /// The line of the first listing.
        first_line: usize,
    },
    /// The CSV syntax itself is broken.
    #[error("line {line}: {message}")]
    Syntax {
        /// The line where the problem was found.
        line: usize,
        /// What the CSV reader said.
        message: String,
    },
}

impl CalendarCsvError {
    /// The error's code (`unknown_kind`): the key a catalogue words it by.
    pub fn code(&self) -> &'static str {
        match self {
            CalendarCsvError::NoHeader => "no_header",
            CalendarCsvError::MissingHeaderColumn { .. } => "missing_header_column",
            CalendarCsvError::UnexpectedHeaderColumn { .. } => "unexpected_header_column",
            CalendarCsvError::MissingColumn { .. } => "missing_column",
            CalendarCsvError::ExtraFields { .. } => "extra_fields",
            CalendarCsvError::BadDate { .. } => "bad_date",
            CalendarCsvError::UnknownKind { .. } => "unknown_kind",
            CalendarCsvError::DuplicateDate { .. } => "duplicate_date",
            CalendarCsvError::Syntax { .. } => "syntax",
        }
    }

    /// Every code, in declaration order, for catalogues that must word each (a test builds every
    /// error and compares).
    pub const CODES: [&'static str; 9] = [
        "no_header",
        "missing_header_column",
        "unexpected_header_column",
        "missing_column",
        "extra_fields",
        "bad_date",
        "unknown_kind",
        "duplicate_date",
        "syntax",
    ];

    /// The 1-based line the problem is on (0 for a missing header).
    pub fn line(&self) -> usize {
        match self {
            CalendarCsvError::NoHeader => 0,
            CalendarCsvError::MissingHeaderColumn { line, .. }
            | CalendarCsvError::UnexpectedHeaderColumn { line, .. }
            | CalendarCsvError::MissingColumn { line, .. }
            | CalendarCsvError::ExtraFields { line, .. }
            | CalendarCsvError::BadDate { line, .. }
            | CalendarCsvError::UnknownKind { line, .. }
            | CalendarCsvError::DuplicateDate { line, .. }
            | CalendarCsvError::Syntax { line, .. } => *line,
        }
    }
}

/// Every bad line of a calendar CSV file, in line order (never empty).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", join_errors(.0))]
pub struct CsvErrors(pub Vec<CalendarCsvError>);

fn join_errors(errors: &[CalendarCsvError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// Reads a calendar CSV file: a header row naming the columns `date`, `kind` and `note` (in any
/// order; `note` may be left out), then one row per day.
///
/// `date` is `YYYY-MM-DD`; `kind` is `holiday` (also `放假` or `補假`) or `workday` (also `補班`).
/// A leading byte order mark is tolerated, blank lines and lines starting with `#` are skipped, and
/// fields are trimmed. Every bad line is reported, and nothing is returned if any line is bad.
pub fn parse_calendar_csv(text: &str) -> Result<Vec<DayOverride>, CsvErrors> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).comment(Some(b'#')).from_reader(text.as_bytes());
    let mut errors = Vec::new();
    let mut header: Option<CalendarColumns> = None;
    let mut seen: BTreeMap<Date, usize> = BTreeMap::new();
    let mut overrides = Vec::new();
    let mut lines = LineCounter::new(text, true);
    for result in reader.records() {
        let record = match result {
            Ok(record) => record,
            Err(e) => {
                let line = lines.line_at(e.position().map_or(u64::MAX, csv::Position::byte));
                errors.push(CalendarCsvError::Syntax { line, message: e.to_string() });
                continue;
            }
        };
        let line = lines.line_at(record.position().map_or(u64::MAX, csv::Position::byte));
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let Some(columns) = &header else {
            match CalendarColumns::read(&record, line) {
                Ok(columns) => header = Some(columns),
                Err(mut e) => {
                    errors.append(&mut e);
                    return Err(CsvErrors(errors));
                }
            }
            continue;
        };
        if record.len() > columns.count {
            errors.push(CalendarCsvError::ExtraFields { line, found: record.len(), expected: columns.count });
            continue;
        }
        let field = |i: Option<usize>| i.and_then(|i| record.get(i)).map_or("", str::trim);
        let (date, kind, note) = (field(Some(columns.date)), field(Some(columns.kind)), field(columns.note));
        let before = errors.len();
        if date.is_empty() {
            errors.push(CalendarCsvError::MissingColumn { line, column: "date" });
        }
        if kind.is_empty() {
            errors.push(CalendarCsvError::MissingColumn { line, column: "kind" });
        }
        let date = match date.parse::<Date>() {
            Ok(date) => Some(date),
            Err(e) => {
                if !date.is_empty() {
                    errors.push(CalendarCsvError::BadDate { line, problem: e });
                }
                None
            }
        };
        let workday = match kind.to_ascii_lowercase().as_str() {
            "" => None,
            "holiday" | "放假" | "補假" => Some(false),
            "workday" | "補班" => Some(true),
            _ => {
                errors.push(CalendarCsvError::UnknownKind { line, found: kind.to_owned() });
                None
            }
        };
        if let Some(date) = date {
            if let Some(&first_line) = seen.get(&date) {
                errors.push(CalendarCsvError::DuplicateDate { line, date, first_line });
            } else {
                seen.insert(date, line);
            }
        }
        if let (Some(date), Some(workday), true) = (date, workday, errors.len() == before) {
            overrides.push(DayOverride { date, workday, note: note.to_owned() });
        }
    }
    if header.is_none() {
        errors.push(CalendarCsvError::NoHeader);
    }
    if errors.is_empty() { Ok(overrides) } else { Err(CsvErrors(errors)) }
}

/// Where the columns of a calendar file are.
struct CalendarColumns {
    date: usize,
    kind: usize,
    note: Option<usize>,
    count: usize,
}

impl CalendarColumns {
    fn read(record: &csv::StringRecord, line: usize) -> Result<Self, Vec<CalendarCsvError>> {
        let (mut date, mut kind, mut note) = (None, None, None);
        let mut errors = Vec::new();
        for (i, name) in record.iter().enumerate() {
            let slot = match name.trim().to_ascii_lowercase().as_str() {
                "date" => &mut date,
                "kind" => &mut kind,
                "note" => &mut note,
                _ => {
                    errors.push(CalendarCsvError::UnexpectedHeaderColumn { line, column: name.trim().to_owned() });
                    continue;
                }
            };
            if slot.replace(i).is_some() {
                errors.push(CalendarCsvError::UnexpectedHeaderColumn { line, column: name.trim().to_owned() });
            }
        }
        for (column, found) in [("date", date), ("kind", kind)] {
            if found.is_none() {
                errors.push(CalendarCsvError::MissingHeaderColumn { line, column });
            }
        }
        match (date, kind) {
            (Some(date), Some(kind)) if errors.is_empty() => Ok(Self { date, kind, note, count: record.len() }),
            _ => Err(errors),
        }
    }
}

/// Writes overrides in the format [`parse_calendar_csv`] reads: a `date,kind,note` header, then
/// one row each, in the order given. Notes are quoted where needed; surrounding spaces in a note
/// do not survive the round trip (the reader trims fields).
pub fn to_calendar_csv<'a>(overrides: impl IntoIterator<Item = &'a DayOverride>) -> String {
    let mut out = String::from("date,kind,note\n");
    for o in overrides {
        out.push_str(&format!("{},{},{}\n", o.date, o.kind(), CsvField(&o.note)));
    }
    out
}

/// Finds the 1-based line where each record of a CSV text starts.
///
/// The csv crate's line numbers skip blank lines, and the byte offset it reports for a record is
/// where its search began: before the line break that ended the previous record and any blank (or,
/// with `comments`, comment) lines. So lines are counted here from that offset, skipping those.
pub(crate) struct LineCounter<'a> {
    text: &'a [u8],
    comments: bool,
    offset: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    /// A counter for `text`, in which lines starting with `#` are comments if `comments` is set.
    pub(crate) fn new(text: &'a str, comments: bool) -> Self {
        Self { text: text.as_bytes(), comments, offset: 0, line: 1 }
    }

    /// The line of the first record that starts at or after `offset`; offsets must not go back.
    pub(crate) fn line_at(&mut self, offset: u64) -> usize {
        let mut start = usize::try_from(offset).unwrap_or(usize::MAX).min(self.text.len()).max(self.offset);
        let at_line_start = |i: usize| i == 0 || matches!(self.text[i - 1], b'\n' | b'\r');
        while let Some(&b) = self.text.get(start) {
            match b {
                b'\r' | b'\n' => start += 1,
                b'#' if self.comments && at_line_start(start) => {
                    start = memchr::memchr(b'\n', &self.text[start..]).map_or(self.text.len(), |i| start + i + 1);
                }
                _ => break,
            }
        }
        self.line += memchr::memchr_iter(b'\n', &self.text[self.offset..start]).count();
        self.offset = start;
        self.line
    }
}

/// A CSV field, quoted if it holds a comma, a quote or a line break, or starts with `#`.
pub(crate) struct CsvField<'a>(pub(crate) &'a str);

impl fmt::Display for CsvField<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0;
        if text.contains([',', '"', '\n', '\r']) || text.starts_with('#') {
            write!(f, "\"{}\"", text.replace('"', "\"\""))
        } else {
            f.write_str(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> Date {
        s.parse().unwrap()
    }

    /// Checks that `n` working days after `start` in the Taiwan calendar is `expected`.
    fn check(start: &str, n: u32, expected: &str) {
        let calendar = Calendar::taiwan();
        let due = calendar.add_working_days(date(start), n);
        assert_eq!(due, date(expected), "{start} + {n} working days");
        assert_eq!(calendar.working_days_after(date(start), due), i64::from(n), "{start} .. {expected}");
    }

    /// Checks that `text` is refused with exactly these messages.
    fn check_bad(text: &str, expected: &[&str]) {
        let errors = parse_calendar_csv(text).unwrap_err();
        let messages: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
        assert_eq!(messages, expected, "{text:?}");
    }

    #[test]
    fn a_normal_week_runs_from_monday_to_the_next_monday() {
        check("2025-03-03", 5, "2025-03-10");
        check("2025-03-03", 1, "2025-03-04");
        check("2025-03-03", 10, "2025-03-17");
    }

    #[test]
    fn a_collection_on_a_friday_is_due_the_next_friday() {
        check("2025-03-07", 5, "2025-03-14");
        check("2025-03-07", 1, "2025-03-10");
    }

    #[test]
    fn a_collection_on_a_weekend_counts_from_the_monday() {
        check("2025-03-08", 5, "2025-03-14");
        check("2025-03-09", 1, "2025-03-10");
    }

    #[test]
    fn zero_working_days_is_the_start_itself() {
        check("2025-03-08", 0, "2025-03-08");
        check("2025-01-29", 0, "2025-01-29");
    }

    #[test]
    fn the_thursday_before_the_2025_lunar_new_year_week_is_due_after_the_holiday() {
        // Fri 01-24 is the first; 01-25 .. 02-02 is the Spring Festival break.
        check("2025-01-23", 5, "2025-02-06");
        check("2025-01-24", 1, "2025-02-03");
        assert_eq!(Calendar::taiwan().due_date(date("2025-01-23")), date("2025-02-06"));
    }

    #[test]
    fn the_lunar_new_year_week_is_not_counted() {
        let calendar = Calendar::taiwan();
        for day in ["2025-01-27", "2025-01-28", "2025-01-29", "2025-01-30", "2025-01-31"] {
            assert!(!calendar.is_workday(date(day)), "{day}");
        }
        assert_eq!(calendar.working_days_after(date("2025-01-24"), date("2025-02-02")), 0);
        // 2026: 02-14 .. 02-22, 除夕 on Monday 02-16.
        check("2026-02-12", 5, "2026-02-26");
        check("2026-02-13", 1, "2026-02-23");
    }

    #[test]
    fn the_make_up_saturday_counts_as_a_working_day() {
        let calendar = Calendar::taiwan();
        assert!(calendar.is_workday(date("2025-02-08")));
        assert!(!calendar.is_workday(date("2025-02-15")), "an ordinary Saturday");
        // Thu 02-06, Fri 02-07, Sat 02-08 (補班), Mon 02-10, Tue 02-11.
        check("2025-02-05", 5, "2025-02-11");
        check("2025-02-07", 1, "2025-02-08");
        assert_eq!(Calendar::default().add_working_days(date("2025-02-05"), 5), date("2025-02-12"));
    }

    #[test]
    fn a_holiday_on_a_weekday_is_skipped() {
        check("2025-12-24", 1, "2025-12-26");
        // Mid-Autumn Festival on Monday 10-06 and National Day on Friday 10-10.
        check("2025-10-03", 5, "2025-10-14");
        let calendar = Calendar::new([DayOverride::holiday(date("2025-03-05"), "校慶")]);
        assert!(!calendar.is_workday(date("2025-03-05")));
        assert_eq!(calendar.add_working_days(date("2025-03-03"), 5), date("2025-03-11"));
        assert_eq!(calendar.override_for(date("2025-03-05")).map(|o| o.note.as_str()), Some("校慶"));
        assert_eq!(calendar.override_for(date("2025-03-06")), None);
    }

    #[test]
    fn later_overrides_for_the_same_date_win() {
        let day = date("2025-03-05");
        let calendar = Calendar::new([DayOverride::holiday(day, "first"), DayOverride::workday(day, "second")]);
        assert!(calendar.is_workday(day));
        assert_eq!(calendar.overrides().count(), 1);
    }

    #[test]
    fn a_calendar_without_workdays_gives_up_instead_of_looping() {
        let start = date("2025-01-01");
        let calendar = Calendar::new((1..5_000).map(|i| DayOverride::holiday(start.add_days(i), "closed")));
        assert_eq!(calendar.checked_add_working_days(start, 1), None);
        assert_eq!(calendar.add_working_days(start, 1), start.add_days(MAX_DAYS_WITHOUT_WORKDAY));
        assert_eq!(calendar.checked_add_working_days(start, 0), Some(start));
        let near_the_end = date("9999-12-30");
        assert_eq!(Calendar::default().checked_add_working_days(near_the_end, 5), None);
        assert_eq!(Calendar::default().add_working_days(near_the_end, 5), date("9999-12-31"));
    }

    #[test]
    fn counting_working_days_agrees_with_walking_day_by_day() {
        let calendar = Calendar::taiwan();
        let first = date("2024-12-20");
        let walked = |start: Date, end: Date| {
            (1..=end.days_since_epoch() - start.days_since_epoch())
                .filter(|&i| calendar.is_workday(start.add_days(i)))
                .count() as i64
        };
        for offset in (0..760).step_by(3) {
            let start = first.add_days(offset);
            for length in [0, 1, 2, 6, 7, 13, 40] {
                let end = start.add_days(length);
                assert_eq!(calendar.working_days_after(start, end), walked(start, end), "{start} .. {end}");
            }
            for n in 0..=12 {
                let due = calendar.add_working_days(start, n);
                assert!(calendar.is_workday(due) || n == 0, "{start} + {n}");
                assert_eq!(calendar.working_days_after(start, due), i64::from(n), "{start} + {n}");
            }
        }
        assert_eq!(calendar.working_days_after(date("2025-03-10"), date("2025-03-03")), 0);
        assert_eq!(calendar.working_days_after(date("2025-03-10"), date("2025-03-10")), 0);
        assert_eq!(calendar.working_days_after(date("1969-12-29"), date("1970-01-05")), 5);
    }

    #[test]
    fn the_bundled_taiwan_calendar_only_lists_days_that_differ_from_their_weekday() {
        let overrides = taiwan_official();
        assert_eq!(parse_calendar_csv(TAIWAN_CALENDAR_CSV).unwrap().len(), overrides.len());
        for year in TAIWAN_OFFICIAL_YEARS {
            assert!(overrides.iter().filter(|o| o.date.year() == year).count() >= 10, "{year}");
        }
        for o in &overrides {
            assert!(TAIWAN_OFFICIAL_YEARS.contains(&o.date.year()), "{o:?}");
            assert_eq!(o.workday, o.date.weekday() >= 5, "{o:?} does not change its day");
            assert!(!o.note.is_empty(), "{o:?}");
        }
        let workdays: Vec<Date> = overrides.iter().filter(|o| o.workday).map(|o| o.date).collect();
        assert_eq!(workdays, [date("2025-02-08")]);
    }

    #[test]
    fn the_bundled_taiwan_calendar_is_noted_in_chinese_only() {
        // The console shows the notes as they are, on Chinese and English pages alike.
        for o in taiwan_official() {
            assert!(!o.note.contains("(verify)"), "{o:?}");
            let latin = |c: char| matches!(c, 'A'..='Z' | 'a'..='z' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ');
            assert!(!o.note.chars().any(latin), "{o:?} has Latin letters");
            assert!(!o.note.contains(['(', ')', ';']), "{o:?}: write full-width （） in Chinese notes");
        }
        // What the government calendars give: 118 days off in 2025 (the revised edition), 120 in 2026.
        for (year, days_off) in [(2025, 118), (2026, 120)] {
            let first = Date::new(year, 1, 1).unwrap();
            let days = if year % 4 == 0 { 366 } else { 365 };
            let off = (0..days).filter(|&i| !Calendar::taiwan().is_workday(first.add_days(i))).count();
            assert_eq!(off, days_off, "{year}");
        }
    }

    #[test]
    fn calendar_csv_round_trips() {
        let overrides = vec![
            DayOverride::holiday(date("2025-01-01"), "開國紀念日 (元旦)"),
            DayOverride::workday(date("2025-02-08"), "補班, for \"01-27\""),
            DayOverride::holiday(date("2025-03-05"), "#1 line one\nline two"),
            DayOverride::holiday(date("2025-03-06"), ""),
        ];
        let text = to_calendar_csv(&overrides);
        assert!(text.starts_with("date,kind,note\n2025-01-01,holiday,開國紀念日 (元旦)\n"), "{text}");
        assert_eq!(parse_calendar_csv(&text).unwrap(), overrides);
        let official = Calendar::taiwan();
        assert_eq!(parse_calendar_csv(&to_calendar_csv(official.overrides())).unwrap(), taiwan_official());
    }

    #[test]
    fn calendar_csv_accepts_chinese_kinds_a_bom_crlf_and_blank_lines() {
        let text = "\u{feff}kind , date\r\n\r\n補班,2025-02-08\r\n  \r\n放假 ,2025-01-27\r\n\
                    # a comment\r\nHoliday,2025-01-28\r\n";
        let expected = vec![
            DayOverride::workday(date("2025-02-08"), ""),
            DayOverride::holiday(date("2025-01-27"), ""),
            DayOverride::holiday(date("2025-01-28"), ""),
        ];
        assert_eq!(parse_calendar_csv(text).unwrap(), expected);
        assert_eq!(parse_calendar_csv("date,kind,note\n").unwrap(), []);
        check_bad(
            "date,kind\r\n# comment\r\n\r\n2025-01-01,x\r\n\"2025-01-02\",\"補班\"\r\n\n\n2025-01-03,\r\n",
            &[
                "line 4: unknown kind \"x\" (expected holiday, workday, 放假, 補假 or 補班)",
                "line 8: missing column kind",
            ],
        );
    }

    #[test]
    fn bad_calendar_rows_are_reported_with_their_line_numbers() {
        check_bad(
            "date,kind,note\n\
             2025-01-01,holiday,ok\n\
             2025-02-30,holiday,no such day\n\
             2025/03/01,holiday,slashes\n\
             2025-03-02,vacation,unknown kind\n\
             2025-03-03\n\
             \n\
             2025-03-04,,empty kind\n\
             2025-01-01,workday,twice\n\
             2025-03-05,holiday,note,extra\n",
            &[
                "line 3: bad date: \"2025-02-30\" is not a real date or time",
                "line 4: bad date: expected a date YYYY-MM-DD, found \"2025/03/01\"",
                "line 5: unknown kind \"vacation\" (expected holiday, workday, 放假, 補假 or 補班)",
                "line 6: missing column kind",
                "line 8: missing column kind",
                "line 9: 2025-01-01 is listed twice (first on line 2)",
                "line 10: 4 fields, but the header has 3",
            ],
        );
    }

    #[test]
    fn every_code_is_listed_once_in_declaration_order() {
        let mut seen = std::collections::BTreeSet::new();
        for code in CalendarCsvError::CODES {
            assert!(seen.insert(code), "{code} twice");
        }
        let all = [
            CalendarCsvError::NoHeader,
            CalendarCsvError::MissingHeaderColumn { line: 1, column: "date" },
            CalendarCsvError::UnexpectedHeaderColumn { line: 1, column: String::new() },
            CalendarCsvError::MissingColumn { line: 2, column: "kind" },
            CalendarCsvError::ExtraFields { line: 2, found: 4, expected: 3 },
            CalendarCsvError::BadDate { line: 2, problem: "x".parse::<Date>().unwrap_err() },
            CalendarCsvError::UnknownKind { line: 2, found: String::new() },
            CalendarCsvError::DuplicateDate { line: 3, date: date("2025-01-01"), first_line: 2 },
            CalendarCsvError::Syntax { line: 2, message: String::new() },
        ];
        let codes: Vec<&str> = all.iter().map(CalendarCsvError::code).collect();
        assert_eq!(codes, CalendarCsvError::CODES, "CODES lists every error, in declaration order");
    }

    #[test]
    fn a_calendar_without_a_proper_header_is_refused() {
        check_bad("", &["the calendar has no header row (date,kind,note)"]);
        check_bad("# only a comment\n\n", &["the calendar has no header row (date,kind,note)"]);
        check_bad(
            "2025-01-01,holiday,元旦\n",
            &[
                "line 1: unexpected column \"2025-01-01\" in the header (the columns are date, kind, note)",
                "line 1: unexpected column \"holiday\" in the header (the columns are date, kind, note)",
                "line 1: unexpected column \"元旦\" in the header (the columns are date, kind, note)",
                "line 1: the header has no column \"date\"",
                "line 1: the header has no column \"kind\"",
            ],
        );
        check_bad(
            "\ndate,date,kind\n",
            &["line 2: unexpected column \"date\" in the header (the columns are date, kind, note)"],
        );
        assert_eq!(parse_calendar_csv("x\n").unwrap_err().0[0].line(), 1);
    }
}
