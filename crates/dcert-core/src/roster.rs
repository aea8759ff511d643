//! The graduate roster: the CSV file of graduates that the student information system exports and
//! the issuing office uploads.
//!
//! The file is UTF-8 text (a leading byte order mark is tolerated) with a header row; columns are
//! found by their header name, in any order, and columns this format does not know are ignored.
//! [`COLUMNS`] must all be present, [`OPTIONAL_COLUMNS`] may be. Each row becomes a [`RosterRow`]:
//! a [`DegreeRecord`] (the school's names come from [`SchoolNames`]), the campus, the school e-mail
//! address and the graduate's own one. [`parse_roster`] reports every problem in every row, with
//! its line, or returns every row.
//!
//! Problems are codes with their parameters ([`RosterError`] for the file, [`RowProblem`] for a
//! row): the console words each from its message catalogue in the reader's language; the English
//! [`fmt::Display`] is the command line's.

use std::collections::HashMap;
use std::fmt;

use crate::calendar::{CsvField, LineCounter};
use crate::model::{
    Certificate, DegreeLevel, DegreeRecord, Language, MAX_FIELD_CHARS, ModelError, OtherProgram, ProgramKind, Subject,
    Term,
};
use crate::time::{Date, TimeError};

/// The columns every roster must have.
pub const COLUMNS: &[&str] = &[
    "student_number",
    "term",
    "campus",
    "name_zh",
    "name_en",
    "birth_date",
    "college_zh",
    "college_en",
    "department_zh",
    "department_en",
    "degree_level",
    "degree_zh",
    "degree_en",
    "graduation_date",
    "diploma_number",
];

/// The columns a roster may have; an empty value means "none".
pub const OPTIONAL_COLUMNS: &[&str] = &[
    "permanent_email",
    "double_major_zh",
    "double_major_en",
    "minor_zh",
    "minor_en",
    "second_specialty_zh",
    "second_specialty_en",
    "mid_term",
];

/// The campuses of National Kaohsiung University of Science and Technology, as the student
/// information system names them: 建工, 燕巢, 第一, 楠梓 and 旗津.
pub const NKUST_CAMPUSES: &[&str] = &["建工", "燕巢", "第一", "楠梓", "旗津"];

/// The most row problems one [`RosterError::Rows`] holds; reading stops there.
pub const MAX_REPORTED_PROBLEMS: usize = 1_000;

/// The longest e-mail address accepted, in characters.
pub const MAX_EMAIL_CHARS: usize = 254;

/// The longest student number accepted, in characters.
pub const MAX_STUDENT_NUMBER_CHARS: usize = 32;

/// The school whose graduates a roster lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchoolNames {
    /// The school's Chinese name, e.g. 國立高雄科技大學.
    pub school_zh: String,
    /// The school's English name, e.g. National Kaohsiung University of Science and Technology.
    pub school_en: String,
    /// The domain of the school e-mail addresses, e.g. `nkust.edu.tw`.
    pub email_domain: String,
}

impl SchoolNames {
    /// National Kaohsiung University of Science and Technology (國立高雄科技大學, `nkust.edu.tw`).
    pub fn nkust() -> Self {
        Self {
            school_zh: "國立高雄科技大學".into(),
            school_en: "National Kaohsiung University of Science and Technology".into(),
            email_domain: "nkust.edu.tw".into(),
        }
    }
}

/// One graduate read from a roster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterRow {
    /// The line of the row in the file, the header being line 1.
    pub line: usize,
    /// The campus, one of those the caller allowed.
    pub campus: String,
    /// The degree record, checked as [`Certificate::validate`] checks it.
    pub record: DegreeRecord,
    /// The school e-mail address: the student number in lower case `@` the school's domain.
    pub school_email: String,
    /// The graduate's own e-mail address, which outlives the school one, if the file gives one.
    pub permanent_email: Option<String>,
    /// Whether the graduate finished in the middle of the academic year (the `mid_term` column).
    pub mid_term: bool,
}

/// The bounds on an uploaded roster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest file accepted, in bytes; a larger one is refused before it is read.
    pub max_bytes: usize,
    /// The most graduates one file may list.
    pub max_rows: usize,
}

impl Default for Limits {
    /// 10 MiB and 50,000 graduates.
    fn default() -> Self {
        Self { max_bytes: 10 * 1024 * 1024, max_rows: 50_000 }
    }
}

/// One problem in one row of a roster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// The line of the row, the header being line 1.
    pub line: usize,
    /// The column the problem is in, one of [`COLUMNS`] or [`OPTIONAL_COLUMNS`], if it is in one.
    pub column: Option<&'static str>,
    /// What is wrong.
    pub problem: RowProblem,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(column) => write!(f, "line {}, {column}: {}", self.line, self.problem),
            None => write!(f, "line {}: {}", self.line, self.problem),
        }
    }
}

/// What is wrong in a row, as a code with its parameters ([`RowProblem::code`]); the English
/// [`fmt::Display`] is the command line's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RowProblem {
    /// A required field is empty.
    #[error("must not be empty")]
    Empty,
    /// A field is longer than `max` characters.
    #[error("longer than {max} characters")]
    TooLong {
        /// The most characters a field may hold ([`MAX_FIELD_CHARS`]).
        max: usize,
    },
    /// A field holds a control character (a tab or line break copied from elsewhere).
    #[error("contains a control character")]
    ControlCharacter,
    /// The student number is not 1 to `max` ASCII letters, digits, `-` or `_`.
    #[error("must be 1 to {max} ASCII letters, digits, '-' or '_'")]
    BadStudentNumber {
        /// The student number as written.
        found: String,
        /// The most characters a student number may have ([`MAX_STUDENT_NUMBER_CHARS`]).
        max: usize,
    },
    /// The term is not an academic year and term such as 113-2.
    #[error("{found:?} is not an academic year and term such as 113-2")]
    BadTerm {
        /// The term as written.
        found: String,
    },
    /// The campus is not one of those allowed.
    #[error("{found:?} is not a campus; expected one of {}", .expected.join(", "))]
    UnknownCampus {
        /// The campus as written.
        found: String,
        /// The campuses allowed.
        expected: Vec<String>,
    },
    /// A date is not a real date written `YYYY-MM-DD`.
    #[error("{problem}")]
    BadDate {
        /// What is wrong with it; it holds the date as written.
        problem: TimeError,
    },
    /// The date of birth is not before the graduation date.
    #[error("{birth} is not before the graduation date {graduation}")]
    BirthNotBeforeGraduation {
        /// The date of birth.
        birth: Date,
        /// The graduation date.
        graduation: Date,
    },
    /// The degree level is not one this format knows.
    #[error("{found:?} is not a degree level; expected associate, bachelor, master or doctor")]
    BadDegreeLevel {
        /// The degree level as written.
        found: String,
    },
    /// The graduate's own e-mail address does not look like one.
    #[error("{found:?} is not an e-mail address")]
    BadEmail {
        /// The address as written.
        found: String,
    },
    /// One name of a programme (double major, minor, second specialty) is given without the
    /// other: the problem is in the empty column.
    #[error("must not be empty when {given} is given")]
    MissingPair {
        /// The column that has the other name.
        given: &'static str,
    },
    /// The `mid_term` value is not yes or no.
    #[error("{found:?} is not yes or no (1, 0, yes, no, true, false, 是, 否)")]
    BadMidTerm {
        /// The value as written.
        found: String,
    },
    /// The student is listed a second time for the same term.
    #[error("{student_number} is listed twice for term {term} (first on line {first_line})")]
    DuplicateStudent {
        /// The student number, as this row writes it.
        student_number: String,
        /// The term.
        term: Term,
        /// The line of the first listing.
        first_line: usize,
    },
    /// The diploma number is listed a second time.
    #[error("{diploma_number} is listed twice (first on line {first_line})")]
    DuplicateDiploma {
        /// The diploma number.
        diploma_number: String,
        /// The line of the first listing.
        first_line: usize,
    },
    /// The row has more fields than the header.
    #[error("{found} fields, but the header has {expected}")]
    TooManyFields {
        /// The number of fields in the row.
        found: usize,
        /// The number of columns in the header.
        expected: usize,
    },
    /// The CSV reader could not read the row.
    #[error("{message}")]
    Syntax {
        /// What the CSV reader said (technical English).
        message: String,
    },
    /// Reading stopped after `max` problems ([`MAX_REPORTED_PROBLEMS`]).
    #[error("stopped after {max} problems; fix these and upload the file again")]
    TooManyProblems {
        /// The most problems reported.
        max: usize,
    },
    /// The record breaks a rule of the certificate model that the checks above do not cover.
    #[error("{problem}")]
    Invalid {
        /// What the model said (technical English).
        problem: String,
    },
}

impl RowProblem {
    /// The problem's code (`bad_term`): the key a catalogue words it by.
    pub fn code(&self) -> &'static str {
        match self {
            RowProblem::Empty => "empty",
            RowProblem::TooLong { .. } => "too_long",
            RowProblem::ControlCharacter => "control_character",
            RowProblem::BadStudentNumber { .. } => "bad_student_number",
            RowProblem::BadTerm { .. } => "bad_term",
            RowProblem::UnknownCampus { .. } => "unknown_campus",
            RowProblem::BadDate { .. } => "bad_date",
            RowProblem::BirthNotBeforeGraduation { .. } => "birth_not_before_graduation",
            RowProblem::BadDegreeLevel { .. } => "bad_degree_level",
            RowProblem::BadEmail { .. } => "bad_email",
            RowProblem::MissingPair { .. } => "missing_pair",
            RowProblem::BadMidTerm { .. } => "bad_mid_term",
            RowProblem::DuplicateStudent { .. } => "duplicate_student",
            RowProblem::DuplicateDiploma { .. } => "duplicate_diploma",
            RowProblem::TooManyFields { .. } => "too_many_fields",
            RowProblem::Syntax { .. } => "syntax",
            RowProblem::TooManyProblems { .. } => "too_many_problems",
            RowProblem::Invalid { .. } => "invalid",
        }
    }

    /// Every code, in declaration order, for catalogues that must word each (a test builds every
    /// problem and compares).
    pub const CODES: [&'static str; 18] = [
        "empty",
        "too_long",
        "control_character",
        "bad_student_number",
        "bad_term",
        "unknown_campus",
        "bad_date",
        "birth_not_before_graduation",
        "bad_degree_level",
        "bad_email",
        "missing_pair",
        "bad_mid_term",
        "duplicate_student",
        "duplicate_diploma",
        "too_many_fields",
        "syntax",
        "too_many_problems",
        "invalid",
    ];
}

/// A roster that cannot be imported. Nothing of it is imported.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RosterError {
    /// The file is larger than [`Limits::max_bytes`].
    #[error("the file is {size} bytes, more than the limit of {max} bytes")]
    TooLarge {
        /// The size of the file.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The file is not UTF-8 text (it may be Big5: save it as "CSV UTF-8").
    #[error("line {line} is not UTF-8 text; save the file as \"CSV UTF-8\"")]
    NotUtf8 {
        /// The line of the first byte that is not UTF-8.
        line: usize,
    },
    /// The header lacks required columns.
    #[error("the header lacks the columns {}", .0.join(", "))]
    MissingColumns(Vec<String>),
    /// The header names columns more than once.
    #[error("the header names the columns {} more than once", .0.join(", "))]
    DuplicateColumns(Vec<String>),
    /// Rows have problems: every one found, in line order, at most [`MAX_REPORTED_PROBLEMS`].
    #[error("{}", rows_message(.0))]
    Rows(Vec<RowError>),
    /// The file lists more graduates than [`Limits::max_rows`].
    #[error("the file lists more than {max} graduates")]
    TooManyRows {
        /// The limit.
        max: usize,
    },
    /// The file has no header or no graduates.
    #[error("the file lists no graduates")]
    Empty,
}

impl RosterError {
    /// The error's code (`missing_columns`): the key a catalogue words it by. For [`RosterError::Rows`]
    /// (`rows`), each [`RowError`] has its own ([`RowProblem::code`]).
    pub fn code(&self) -> &'static str {
        match self {
            RosterError::TooLarge { .. } => "too_large",
            RosterError::NotUtf8 { .. } => "not_utf8",
            RosterError::MissingColumns(_) => "missing_columns",
            RosterError::DuplicateColumns(_) => "duplicate_columns",
            RosterError::Rows(_) => "rows",
            RosterError::TooManyRows { .. } => "too_many_rows",
            RosterError::Empty => "empty",
        }
    }

    /// Every code, in declaration order, for catalogues that must word each.
    pub const CODES: [&'static str; 7] =
        ["too_large", "not_utf8", "missing_columns", "duplicate_columns", "rows", "too_many_rows", "empty"];

    /// Every problem, one sentence each: each row's, or the file's one.
    pub fn problems(&self) -> Vec<String> {
        match self {
            RosterError::Rows(errors) => errors.iter().map(ToString::to_string).collect(),
            other => vec![other.to_string()],
        }
    }
}

fn rows_message(errors: &[RowError]) -> String {
    match errors {
        [] => "no problems".into(),
        [only] => format!("1 problem: {only}"),
        [first, ..] => format!("{} problems, the first: {first}", errors.len()),
    }
}

/// Reads a roster: every row checked, or every problem found.
///
/// `campuses` lists the campus names the `campus` column may hold. Fields are trimmed. Lines are
/// counted from 1, the header being line 1. Blank lines are skipped. A row may be shorter than the
/// header (the missing fields are empty) but not longer. Two rows for the same student and term, or
/// with the same diploma number, are an error on the second.
pub fn parse_roster(
    bytes: &[u8],
    school: &SchoolNames,
    campuses: &[&str],
    limits: &Limits,
) -> Result<Vec<RosterRow>, RosterError> {
    if bytes.len() > limits.max_bytes {
        return Err(RosterError::TooLarge { size: bytes.len(), max: limits.max_bytes });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| RosterError::NotUtf8 {
        line: 1 + memchr::memchr_iter(b'\n', &bytes[..e.valid_up_to()]).count(),
    })?;
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut header: Option<Header> = None;
    let mut seen_students: HashMap<(String, Term), usize> = HashMap::new();
    let mut seen_diplomas: HashMap<String, usize> = HashMap::new();
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut lines = LineCounter::new(text, false);
    for result in reader.records() {
        if errors.len() >= MAX_REPORTED_PROBLEMS {
            let line = errors.last().map_or(0, |e: &RowError| e.line);
            errors.truncate(MAX_REPORTED_PROBLEMS);
            errors.push(RowError {
                line,
                column: None,
                problem: RowProblem::TooManyProblems { max: MAX_REPORTED_PROBLEMS },
            });
            break;
        }
        let record = match result {
            Ok(record) => record,
            Err(e) => {
                let line = lines.line_at(e.position().map_or(u64::MAX, csv::Position::byte));
                errors.push(RowError { line, column: None, problem: RowProblem::Syntax { message: e.to_string() } });
                continue;
            }
        };
        let line = lines.line_at(record.position().map_or(u64::MAX, csv::Position::byte));
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let Some(columns) = &header else {
            header = Some(Header::read(&record)?);
            continue;
        };
        if rows.len() + 1 > limits.max_rows {
            return Err(RosterError::TooManyRows { max: limits.max_rows });
        }
        let mut row = RowReader { line, record: &record, columns, errors: &mut errors };
        let Some(parsed) = row.parse(school, campuses) else {
            // Count rows that failed too, so that a file of bad rows still meets the row limit.
            rows.push(None);
            continue;
        };
        let student_key = (parsed.record.student_number.to_uppercase(), parsed.record.graduation_term);
        if let Some(first) = seen_students.get(&student_key) {
            errors.push(RowError {
                line,
                column: Some("student_number"),
                problem: RowProblem::DuplicateStudent {
                    student_number: parsed.record.student_number.clone(),
                    term: parsed.record.graduation_term,
                    first_line: *first,
                },
            });
        } else {
            seen_students.insert(student_key, line);
        }
        if let Some(first) = seen_diplomas.get(&parsed.record.diploma_number) {
            errors.push(RowError {
                line,
                column: Some("diploma_number"),
                problem: RowProblem::DuplicateDiploma {
                    diploma_number: parsed.record.diploma_number.clone(),
                    first_line: *first,
                },
            });
        } else {
            seen_diplomas.insert(parsed.record.diploma_number.clone(), line);
        }
        rows.push(Some(parsed));
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        return Err(RosterError::Rows(errors));
    }
    if header.is_none() || rows.is_empty() {
        return Err(RosterError::Empty);
    }
    Ok(rows.into_iter().flatten().collect())
}

/// Where each known column is.
struct Header {
    index: HashMap<&'static str, usize>,
    count: usize,
}

impl Header {
    fn read(record: &csv::StringRecord) -> Result<Self, RosterError> {
        let mut index = HashMap::new();
        let mut duplicates = Vec::new();
        for (i, name) in record.iter().enumerate() {
            let name = name.trim().to_ascii_lowercase();
            let known = COLUMNS.iter().chain(OPTIONAL_COLUMNS).find(|c| **c == name);
            if let Some(&column) = known
                && index.insert(column, i).is_some()
                && !duplicates.iter().any(|d| d == column)
            {
                duplicates.push(column.to_owned());
            }
        }
        if !duplicates.is_empty() {
            return Err(RosterError::DuplicateColumns(duplicates));
        }
        let missing: Vec<String> =
            COLUMNS.iter().filter(|c| !index.contains_key(*c)).map(|c| (*c).to_owned()).collect();
        if !missing.is_empty() {
            return Err(RosterError::MissingColumns(missing));
        }
        Ok(Self { index, count: record.len() })
    }
}

/// Reads one row, noting each problem.
struct RowReader<'a> {
    line: usize,
    record: &'a csv::StringRecord,
    columns: &'a Header,
    errors: &'a mut Vec<RowError>,
}

impl RowReader<'_> {
    /// The trimmed value of `column`, empty if the column or the field is missing.
    fn get(&self, column: &str) -> &str {
        self.columns.index.get(column).and_then(|&i| self.record.get(i)).map_or("", str::trim)
    }

    fn problem(&mut self, column: Option<&'static str>, problem: RowProblem) {
        self.errors.push(RowError { line: self.line, column, problem });
    }

    /// A required text field: not empty, not too long, no control characters.
    fn text(&mut self, column: &'static str) -> String {
        let value = self.get(column).to_owned();
        if let Some(problem) = text_problem(&value) {
            self.problem(Some(column), problem);
        }
        value
    }

    fn date(&mut self, column: &'static str) -> Option<Date> {
        let value = self.get(column);
        if value.is_empty() {
            self.problem(Some(column), RowProblem::Empty);
            return None;
        }
        match value.parse() {
            Ok(date) => Some(date),
            Err(problem) => {
                self.problem(Some(column), RowProblem::BadDate { problem });
                None
            }
        }
    }

    /// An optional pair of Chinese and English programme names: both or neither.
    fn program(&mut self, kind: ProgramKind, zh: &'static str, en: &'static str) -> Option<OtherProgram> {
        let (name_zh, name_en) = (self.get(zh).to_owned(), self.get(en).to_owned());
        match (name_zh.is_empty(), name_en.is_empty()) {
            (true, true) => return None,
            (true, false) => self.problem(Some(zh), RowProblem::MissingPair { given: en }),
            (false, true) => self.problem(Some(en), RowProblem::MissingPair { given: zh }),
            (false, false) => {}
        }
        for (column, value) in [(zh, &name_zh), (en, &name_en)] {
            if let Some(problem) = text_problem(value).filter(|_| !value.is_empty()) {
                self.problem(Some(column), problem);
            }
        }
        Some(OtherProgram { kind, name_zh, name_en })
    }

    fn parse(&mut self, school: &SchoolNames, campuses: &[&str]) -> Option<RosterRow> {
        let before = self.errors.len();
        if self.record.len() > self.columns.count {
            self.problem(None, RowProblem::TooManyFields { found: self.record.len(), expected: self.columns.count });
            return None;
        }

        let student_number = self.text("student_number");
        if !student_number.is_empty()
            && (student_number.chars().count() > MAX_STUDENT_NUMBER_CHARS
                || !student_number.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')))
        {
            let found = student_number.clone();
            self.problem(Some("student_number"), RowProblem::BadStudentNumber { found, max: MAX_STUDENT_NUMBER_CHARS });
        }

        let term_text = self.get("term").to_owned();
        let term = match term_text.parse::<Term>() {
            Ok(term) => Some(term),
            Err(_) if term_text.is_empty() => {
                self.problem(Some("term"), RowProblem::Empty);
                None
            }
            Err(_) => {
                self.problem(Some("term"), RowProblem::BadTerm { found: term_text });
                None
            }
        };

        let campus = self.get("campus").to_owned();
        if campus.is_empty() {
            self.problem(Some("campus"), RowProblem::Empty);
        } else if !campuses.contains(&campus.as_str()) {
            let expected = campuses.iter().map(|c| (*c).to_owned()).collect();
            self.problem(Some("campus"), RowProblem::UnknownCampus { found: campus.clone(), expected });
        }

        let name_zh = self.text("name_zh");
        let name_en = self.text("name_en");
        let birth_date = self.date("birth_date");
        let college_zh = self.text("college_zh");
        let college_en = self.text("college_en");
        let department_zh = self.text("department_zh");
        let department_en = self.text("department_en");

        let level_text = self.get("degree_level").to_owned();
        let degree_level = match level_text.to_ascii_lowercase().as_str() {
            "associate" | "副學士" => Some(DegreeLevel::Associate),
            "bachelor" | "學士" => Some(DegreeLevel::Bachelor),
            "master" | "碩士" => Some(DegreeLevel::Master),
            "doctor" | "博士" => Some(DegreeLevel::Doctor),
            "" => {
                self.problem(Some("degree_level"), RowProblem::Empty);
                None
            }
            _ => {
                self.problem(Some("degree_level"), RowProblem::BadDegreeLevel { found: level_text });
                None
            }
        };

        let degree_zh = self.text("degree_zh");
        let degree_en = self.text("degree_en");
        let graduation_date = self.date("graduation_date");
        if let (Some(birth), Some(graduation)) = (birth_date, graduation_date)
            && birth >= graduation
        {
            self.problem(Some("birth_date"), RowProblem::BirthNotBeforeGraduation { birth, graduation });
        }
        let diploma_number = self.text("diploma_number");

        let permanent_email = self.get("permanent_email").to_owned();
        if !permanent_email.is_empty() && !is_plausible_email(&permanent_email) {
            self.problem(Some("permanent_email"), RowProblem::BadEmail { found: permanent_email.clone() });
        }
        let school_email = format!("{}@{}", student_number.to_ascii_lowercase(), school.email_domain);

        let other_programs: Vec<OtherProgram> = [
            self.program(ProgramKind::DoubleMajor, "double_major_zh", "double_major_en"),
            self.program(ProgramKind::Minor, "minor_zh", "minor_en"),
            self.program(ProgramKind::SecondSpecialty, "second_specialty_zh", "second_specialty_en"),
        ]
        .into_iter()
        .flatten()
        .collect();

        let mid_term_text = self.get("mid_term").to_owned();
        let mid_term = match mid_term_text.to_ascii_lowercase().as_str() {
            "" | "0" | "no" | "false" | "否" => false,
            "1" | "yes" | "true" | "是" => true,
            _ => {
                self.problem(Some("mid_term"), RowProblem::BadMidTerm { found: mid_term_text });
                false
            }
        };

        let (Some(graduation_term), Some(birth_date), Some(degree_level), Some(graduation_date)) =
            (term, birth_date, degree_level, graduation_date)
        else {
            return None;
        };
        if self.errors.len() > before {
            return None;
        }
        let record = DegreeRecord {
            name_zh,
            name_en,
            birth_date,
            student_number,
            school_zh: school.school_zh.clone(),
            school_en: school.school_en.clone(),
            college_zh,
            college_en,
            department_zh,
            department_en,
            other_programs,
            degree_level,
            degree_zh,
            degree_en,
            graduation_term,
            graduation_date,
            diploma_number,
        };
        // The checks above cover the model's; this catches any it adds later.
        if let Err(ModelError::Invalid { field, problem }) = validate_record(&record) {
            self.problem(column_of(field), RowProblem::Invalid { problem });
            return None;
        }
        Some(RosterRow {
            line: self.line,
            campus,
            record,
            school_email,
            permanent_email: (!permanent_email.is_empty()).then_some(permanent_email),
            mid_term,
        })
    }
}

/// What is wrong with a required text field, as the model would say it, if anything.
fn text_problem(value: &str) -> Option<RowProblem> {
    if value.is_empty() {
        Some(RowProblem::Empty)
    } else if value.chars().count() > MAX_FIELD_CHARS {
        Some(RowProblem::TooLong { max: MAX_FIELD_CHARS })
    } else if value.chars().any(char::is_control) {
        Some(RowProblem::ControlCharacter)
    } else {
        None
    }
}

/// Checks a record as [`Certificate::validate`] checks a certificate that holds it.
fn validate_record(record: &DegreeRecord) -> Result<(), ModelError> {
    Certificate {
        number: "roster".into(),
        language: Language::Zh,
        version: 1,
        previous_version_sha256: None,
        subject: Subject::Degree(record.clone()),
    }
    .validate()
}

/// The roster column of a model field (`nameZh` → `name_zh`), if it has one.
fn column_of(field: &str) -> Option<&'static str> {
    let snake: String = field
        .chars()
        .flat_map(|c| {
            let lower = c.to_ascii_lowercase();
            if c.is_ascii_uppercase() { vec!['_', lower] } else { vec![lower] }
        })
        .collect();
    COLUMNS.iter().chain(OPTIONAL_COLUMNS).copied().find(|c| *c == snake)
}

/// Whether `address` looks like an e-mail address: one `@`, a non-empty local part, a domain with
/// a dot inside it, no spaces or control characters, and at most [`MAX_EMAIL_CHARS`] characters.
pub fn is_plausible_email(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    address.chars().count() <= MAX_EMAIL_CHARS
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !address.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A roster template for the "download the template" link: a byte order mark (so that Excel reads
/// it as UTF-8), the header row with [`COLUMNS`] and then [`OPTIONAL_COLUMNS`], and one example
/// row, with CRLF line ends. It parses with [`parse_roster`] for [`SchoolNames::nkust`] and
/// [`NKUST_CAMPUSES`].
pub fn template_csv() -> String {
    const EXAMPLE: &[(&str, &str)] = &[
        ("student_number", "C111151101"),
        ("term", "113-2"),
        ("campus", "建工"),
        ("name_zh", "王小明"),
        ("name_en", "WANG, HSIAO-MING"),
        ("birth_date", "2002-05-17"),
        ("college_zh", "電資學院"),
        ("college_en", "College of Electrical Engineering and Computer Science"),
        ("department_zh", "資訊工程系"),
        ("department_en", "Department of Computer Science and Information Engineering"),
        ("degree_level", "bachelor"),
        ("degree_zh", "工學學士"),
        ("degree_en", "Bachelor of Science in Engineering"),
        ("graduation_date", "2025-06-30"),
        ("diploma_number", "(114)高科大學字第000123號"),
        ("permanent_email", "hsiaoming.wang@example.com"),
        ("double_major_zh", ""),
        ("double_major_en", ""),
        ("minor_zh", "電機工程系"),
        ("minor_en", "Department of Electrical Engineering"),
        ("second_specialty_zh", ""),
        ("second_specialty_en", ""),
        ("mid_term", "no"),
    ];
    let header: Vec<&str> = COLUMNS.iter().chain(OPTIONAL_COLUMNS).copied().collect();
    let example: Vec<String> = header
        .iter()
        .map(|column| {
            let value = EXAMPLE.iter().find(|(c, _)| c == column).map_or("", |(_, v)| v);
            CsvField(value).to_string()
        })
        .collect();
    format!("\u{feff}{}\r\n{}\r\n", header.join(","), example.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of `column` in a good row.
    fn good(column: &str) -> &'static str {
        match column {
            "student_number" => "C111151101",
            "term" => "113-2",
            "campus" => "建工",
            "name_zh" => "王小明",
            "name_en" => "WANG, HSIAO-MING",
            "birth_date" => "2002-05-17",
            "college_zh" => "電資學院",
            "college_en" => "College of EECS",
            "department_zh" => "資訊工程系",
            "department_en" => "Department of CSIE",
            "degree_level" => "bachelor",
            "degree_zh" => "工學學士",
            "degree_en" => "Bachelor of Science in Engineering",
            "graduation_date" => "2025-06-30",
            "diploma_number" => "D-000123",
            _ => "",
        }
    }

    /// The header with every column, required then optional.
    fn header() -> String {
        COLUMNS.iter().chain(OPTIONAL_COLUMNS).copied().collect::<Vec<_>>().join(",")
    }

    /// A good row for [`header`] with `column` set to `value`.
    fn row(column: &str, value: &str) -> String {
        let fields: Vec<String> = COLUMNS
            .iter()
            .chain(OPTIONAL_COLUMNS)
            .map(|c| CsvField(if *c == column { value } else { good(c) }).to_string())
            .collect();
        fields.join(",")
    }

    /// A good row for [`header`] with these columns changed.
    fn row_with(changes: &[(&str, &str)]) -> String {
        let fields: Vec<String> = COLUMNS
            .iter()
            .chain(OPTIONAL_COLUMNS)
            .map(|c| CsvField(changes.iter().find(|(k, _)| k == c).map_or(good(c), |(_, v)| v)).to_string())
            .collect();
        fields.join(",")
    }

    fn parse(text: &str) -> Result<Vec<RosterRow>, RosterError> {
        parse_roster(text.as_bytes(), &SchoolNames::nkust(), NKUST_CAMPUSES, &Limits::default())
    }

    /// The row problems a file is refused with, as they are displayed.
    fn problems(text: &str) -> Vec<String> {
        match parse(text) {
            Err(RosterError::Rows(errors)) => errors.iter().map(ToString::to_string).collect(),
            other => panic!("expected row problems, got {other:?}"),
        }
    }

    /// Checks that a file whose one row has `column` set to `value` is refused with `expected` alone.
    fn check(column: &str, value: &str, expected: &str) {
        assert_eq!(problems(&format!("{}\n{}\n", header(), row(column, value))), [expected], "{column} = {value:?}");
    }

    #[test]
    fn a_good_file_with_a_bom_and_crlf_reads_every_field() {
        let second = row_with(&[("student_number", "C111151102"), ("name_zh", "李美玲"), ("diploma_number", "D-2")]);
        let text = format!("\u{feff}{}\r\n{}\r\n{second}\r\n", header(), row("", ""));
        let rows = parse(&text).unwrap();
        assert_eq!(rows.len(), 2);
        let first = &rows[0];
        assert_eq!(first.line, 2);
        assert_eq!(first.campus, "建工");
        assert_eq!(first.school_email, "c111151101@nkust.edu.tw");
        assert_eq!(first.permanent_email, None);
        assert!(!first.mid_term);
        let r = &first.record;
        assert_eq!(r.name_en, "WANG, HSIAO-MING");
        assert_eq!(r.school_zh, "國立高雄科技大學");
        assert_eq!(r.school_en, "National Kaohsiung University of Science and Technology");
        assert_eq!(r.graduation_term, Term { year: 113, term: 2 });
        assert_eq!(r.birth_date.to_string(), "2002-05-17");
        assert_eq!(r.graduation_date.to_string(), "2025-06-30");
        assert_eq!(r.degree_level, DegreeLevel::Bachelor);
        assert_eq!(r.diploma_number, "D-000123");
        assert!(r.other_programs.is_empty());
        assert_eq!(rows[1].line, 3);
        assert_eq!(rows[1].record.name_zh, "李美玲");
    }

    #[test]
    fn columns_are_found_by_name_in_any_order_and_unknown_ones_are_ignored() {
        let text = "Diploma_Number , graduation_date,degree_en,degree_zh,degree_level,department_en,department_zh,\
                    college_en,college_zh,birth_date,name_en,name_zh,campus,term,student_number,remarks,mid_term,\
                    minor_zh,minor_en,permanent_email\n\
                    \n\
                    D-7 , 2025-01-31 ,Master of Science,理學碩士,master,Dept,系,College,學院,1999-12-31,LIN MEI,林美,\
                    燕巢,113-1, F1234 ,anything,是,電機系,EE,Mei.Lin@Example.com\n";
        let rows = parse(text).unwrap();
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row.line, 3, "the blank line still counts");
        assert_eq!(row.record.student_number, "F1234");
        assert_eq!(row.record.diploma_number, "D-7");
        assert_eq!(row.record.degree_level, DegreeLevel::Master);
        assert_eq!(row.record.graduation_term.to_string(), "113-1");
        assert_eq!(row.school_email, "f1234@nkust.edu.tw");
        assert_eq!(row.permanent_email.as_deref(), Some("Mei.Lin@Example.com"));
        assert!(row.mid_term);
        assert_eq!(
            row.record.other_programs,
            [OtherProgram { kind: ProgramKind::Minor, name_zh: "電機系".into(), name_en: "EE".into() }]
        );
    }

    #[test]
    fn a_chinese_name_with_an_extension_b_character_is_accepted() {
        let rows = parse(&format!("{}\n{}\n", header(), row("name_zh", "王𪚥"))).unwrap();
        assert_eq!(rows[0].record.name_zh, "王𪚥");
        assert_eq!(rows[0].record.name_zh.chars().nth(1), Some('\u{2A6A5}'));
    }

    #[test]
    fn each_kind_of_bad_field_is_reported_in_its_column() {
        check("student_number", "C 1", "line 2, student_number: must be 1 to 32 ASCII letters, digits, '-' or '_'");
        check("student_number", "", "line 2, student_number: must not be empty");
        check("term", "113-3", "line 2, term: \"113-3\" is not an academic year and term such as 113-2");
        check("term", "", "line 2, term: must not be empty");
        check(
            "campus",
            "台北",
            "line 2, campus: \"台北\" is not a campus; expected one of 建工, 燕巢, 第一, 楠梓, 旗津",
        );
        check("name_zh", " \u{3000}", "line 2, name_zh: must not be empty");
        check("name_en", &"A".repeat(201), "line 2, name_en: longer than 200 characters");
        check("college_zh", "電資\u{7}學院", "line 2, college_zh: contains a control character");
        check("birth_date", "2002/05/17", "line 2, birth_date: expected a date YYYY-MM-DD, found \"2002/05/17\"");
        check(
            "birth_date",
            "2026-01-01",
            "line 2, birth_date: 2026-01-01 is not before the graduation date 2025-06-30",
        );
        check("graduation_date", "2025-02-29", "line 2, graduation_date: \"2025-02-29\" is not a real date or time");
        check(
            "degree_level",
            "phd",
            "line 2, degree_level: \"phd\" is not a degree level; expected associate, bachelor, master or doctor",
        );
        check("diploma_number", "", "line 2, diploma_number: must not be empty");
        check("permanent_email", "a@b", "line 2, permanent_email: \"a@b\" is not an e-mail address");
        check("mid_term", "maybe", "line 2, mid_term: \"maybe\" is not yes or no (1, 0, yes, no, true, false, 是, 否)");
        check("minor_en", "EE", "line 2, minor_zh: must not be empty when minor_en is given");
    }

    #[test]
    fn the_other_accepted_spellings_are_read() {
        let text = format!(
            "{}\n{}\n",
            header(),
            row_with(&[
                ("degree_level", "博士"),
                ("mid_term", "TRUE"),
                ("double_major_zh", "電機系"),
                ("double_major_en", "EE"),
                ("second_specialty_zh", "半導體"),
                ("second_specialty_en", "Semiconductors"),
            ])
        );
        let rows = parse(&text).unwrap();
        assert_eq!(rows[0].record.degree_level, DegreeLevel::Doctor);
        assert!(rows[0].mid_term);
        let kinds: Vec<ProgramKind> = rows[0].record.other_programs.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, [ProgramKind::DoubleMajor, ProgramKind::SecondSpecialty]);
    }

    #[test]
    fn every_problem_in_every_row_is_reported_with_its_line() {
        let text = format!(
            "{}\n{}\n{}\n\n{}\n{},extra\n",
            header(),
            row("", ""),
            row_with(&[("student_number", "C2"), ("term", "114-9"), ("birth_date", "1990-13-01")]),
            row_with(&[("student_number", "c 3"), ("degree_level", ""), ("minor_zh", "電機系")]),
            row("student_number", "C4"),
        );
        assert_eq!(
            problems(&text),
            [
                "line 3, term: \"114-9\" is not an academic year and term such as 113-2",
                "line 3, birth_date: \"1990-13-01\" is not a real date or time",
                "line 5, student_number: must be 1 to 32 ASCII letters, digits, '-' or '_'",
                "line 5, degree_level: must not be empty",
                "line 5, minor_en: must not be empty when minor_zh is given",
                "line 6: 24 fields, but the header has 23",
            ]
        );
    }

    #[test]
    fn a_short_row_is_read_with_its_missing_fields_empty() {
        let problems = problems(&format!("{}\nC1,113-2,建工\n", header()));
        assert_eq!(problems.len(), 12, "{problems:#?}");
        assert_eq!(problems[0], "line 2, name_zh: must not be empty");
    }

    #[test]
    fn a_student_listed_twice_for_a_term_is_an_error_on_the_second_line() {
        let text = format!(
            "{}\n{}\n{}\n{}\n",
            header(),
            row("", ""),
            row_with(&[("student_number", "c111151101"), ("diploma_number", "D-2")]),
            row_with(&[("term", "114-1"), ("diploma_number", "D-3")]),
        );
        assert_eq!(
            problems(&text),
            ["line 3, student_number: c111151101 is listed twice for term 113-2 (first on line 2)"]
        );
        let text = format!("{}\n{}\n{}\n", header(), row("", ""), row("student_number", "C2"));
        assert_eq!(problems(&text), ["line 3, diploma_number: D-000123 is listed twice (first on line 2)"]);
    }

    #[test]
    fn missing_columns_are_listed() {
        let header = header().replace("campus,", "").replace(",diploma_number", "");
        let expected = RosterError::MissingColumns(vec!["campus".into(), "diploma_number".into()]);
        assert_eq!(parse(&format!("{header}\n")), Err(expected));
        let twice = format!("{header},Campus,campus,diploma_number\n");
        assert_eq!(parse(&twice), Err(RosterError::DuplicateColumns(vec!["campus".into()])));
        assert_eq!(parse(&twice).unwrap_err().to_string(), "the header names the columns campus more than once");
    }

    #[test]
    fn a_file_that_is_not_utf8_is_refused_with_its_line() {
        // 王 in Big5 is 0xA4 0xFD.
        let mut bytes = format!("{}\r\n{}\r\n", header(), row("", "")).into_bytes();
        bytes.extend_from_slice(b"C2,113-2,\xA4\xFD\r\n");
        let result = parse_roster(&bytes, &SchoolNames::nkust(), NKUST_CAMPUSES, &Limits::default());
        assert_eq!(result, Err(RosterError::NotUtf8 { line: 3 }));
    }

    #[test]
    fn a_file_over_the_limits_is_refused() {
        let text = format!("{}\n{}\n{}\n", header(), row("", ""), row("student_number", "C2"));
        let school = SchoolNames::nkust();
        let small = Limits { max_bytes: 100, max_rows: 10 };
        let result = parse_roster(text.as_bytes(), &school, NKUST_CAMPUSES, &small);
        assert_eq!(result, Err(RosterError::TooLarge { size: text.len(), max: 100 }));
        let one_row = Limits { max_bytes: 10_000, max_rows: 1 };
        let result = parse_roster(text.as_bytes(), &school, NKUST_CAMPUSES, &one_row);
        assert_eq!(result, Err(RosterError::TooManyRows { max: 1 }));
        assert_eq!(Limits::default(), Limits { max_bytes: 10_485_760, max_rows: 50_000 });
    }

    #[test]
    fn a_file_without_graduates_is_empty() {
        assert_eq!(parse(""), Err(RosterError::Empty));
        assert_eq!(parse("\u{feff}\r\n\r\n"), Err(RosterError::Empty));
        assert_eq!(parse(&format!("{}\n\n", header())), Err(RosterError::Empty));
    }

    #[test]
    fn problems_stop_being_collected_after_the_limit() {
        let bad = format!("{}\n", row("term", "x"));
        let text = format!("{}\n{}", header(), bad.repeat(MAX_REPORTED_PROBLEMS + 10));
        let Err(RosterError::Rows(errors)) = parse(&text) else { panic!("expected row problems") };
        assert_eq!(errors.len(), MAX_REPORTED_PROBLEMS + 1);
        assert_eq!(errors[MAX_REPORTED_PROBLEMS].problem, RowProblem::TooManyProblems { max: MAX_REPORTED_PROBLEMS });
        assert!(
            errors[MAX_REPORTED_PROBLEMS].to_string().contains("stopped after 1000 problems"),
            "{:?}",
            errors.last()
        );
    }

    #[test]
    fn the_template_parses_as_a_roster() {
        let template = template_csv();
        assert!(template.starts_with("\u{feff}student_number,term,campus,"), "{template}");
        let rows = parse(&template).unwrap();
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row.record.name_en, "WANG, HSIAO-MING");
        assert_eq!(row.record.diploma_number, "(114)高科大學字第000123號");
        assert_eq!(row.permanent_email.as_deref(), Some("hsiaoming.wang@example.com"));
        assert_eq!(row.record.other_programs.len(), 1);
        assert_eq!(row.school_email, "c111151101@nkust.edu.tw");
    }

    #[test]
    fn email_addresses_are_checked_simply() {
        let check = |address: &str, expected: bool| assert_eq!(is_plausible_email(address), expected, "{address}");
        check("a@b.tw", true);
        check("first.last+tag@mail.example.com", true);
        check("王@例子.台灣", true);
        check("a@b", false);
        check("@b.tw", false);
        check("a@.tw", false);
        check("a@b.", false);
        check("a@b@c.tw", false);
        check("a b@c.tw", false);
        check("ab.tw", false);
        check(&format!("{}@b.tw", "a".repeat(250)), false);
    }

    #[test]
    fn every_code_is_listed_once_in_declaration_order() {
        let mut seen = std::collections::BTreeSet::new();
        for code in RowProblem::CODES {
            assert!(seen.insert(code), "{code} twice");
        }
        let found = String::new;
        let all = [
            RowProblem::Empty,
            RowProblem::TooLong { max: 1 },
            RowProblem::ControlCharacter,
            RowProblem::BadStudentNumber { found: found(), max: 1 },
            RowProblem::BadTerm { found: found() },
            RowProblem::UnknownCampus { found: found(), expected: vec![] },
            RowProblem::BadDate { problem: "x".parse::<Date>().unwrap_err() },
            RowProblem::BirthNotBeforeGraduation {
                birth: Date::new(2025, 1, 1).unwrap(),
                graduation: Date::new(2000, 1, 1).unwrap(),
            },
            RowProblem::BadDegreeLevel { found: found() },
            RowProblem::BadEmail { found: found() },
            RowProblem::MissingPair { given: "minor_en" },
            RowProblem::BadMidTerm { found: found() },
            RowProblem::DuplicateStudent { student_number: found(), term: Term { year: 113, term: 2 }, first_line: 2 },
            RowProblem::DuplicateDiploma { diploma_number: found(), first_line: 2 },
            RowProblem::TooManyFields { found: 2, expected: 1 },
            RowProblem::Syntax { message: found() },
            RowProblem::TooManyProblems { max: 1 },
            RowProblem::Invalid { problem: found() },
        ];
        let codes: Vec<&str> = all.iter().map(RowProblem::code).collect();
        assert_eq!(codes, RowProblem::CODES, "CODES lists every problem, in declaration order");

        let mut seen = std::collections::BTreeSet::new();
        for code in RosterError::CODES {
            assert!(seen.insert(code), "{code} twice");
        }
        let all = [
            RosterError::TooLarge { size: 2, max: 1 },
            RosterError::NotUtf8 { line: 1 },
            RosterError::MissingColumns(vec![]),
            RosterError::DuplicateColumns(vec![]),
            RosterError::Rows(vec![]),
            RosterError::TooManyRows { max: 1 },
            RosterError::Empty,
        ];
        let codes: Vec<&str> = all.iter().map(RosterError::code).collect();
        assert_eq!(codes, RosterError::CODES, "CODES lists every error, in declaration order");
    }

    #[test]
    fn a_problem_keeps_what_the_row_says_for_the_reader() {
        let text = format!("{}\n{}\n", header(), row_with(&[("campus", "台北"), ("birth_date", "91/05/17")]));
        let Err(RosterError::Rows(errors)) = parse(&text) else { panic!("expected row problems") };
        assert_eq!(errors[0].column, Some("campus"));
        assert_eq!(
            errors[0].problem,
            RowProblem::UnknownCampus {
                found: "台北".into(),
                expected: NKUST_CAMPUSES.iter().map(|c| (*c).to_owned()).collect()
            }
        );
        assert_eq!(errors[1].column, Some("birth_date"));
        assert_eq!(errors[1].problem.code(), "bad_date");
    }

    #[test]
    fn model_fields_map_to_roster_columns() {
        assert_eq!(column_of("nameZh"), Some("name_zh"));
        assert_eq!(column_of("diplomaNumber"), Some("diploma_number"));
        assert_eq!(column_of("otherPrograms.nameZh"), None);
    }
}
