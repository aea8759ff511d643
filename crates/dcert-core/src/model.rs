//! The certificate model: what a certificate says, independent of how it is signed or printed.
//!
//! Two credential types share one envelope ([`Certificate`]): the degree certificate (數位學位證書)
//! that universities issue and the teacher certificate (電子教師證書) that the Ministry issues.
//! These types are part of the signed file format (see `docs/format.md`): their JSON field names
//! are a compatibility promise and change only with a new format version.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::digest::Sha256Digest;
use crate::time::Date;

/// The language of one certificate file. Each certificate is issued once per language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Traditional Chinese (zh-TW).
    Zh,
    /// English.
    En,
}

impl Language {
    /// The code used in file names, URLs and JSON: `zh` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Language::Zh => "zh",
            Language::En => "en",
        }
    }

    /// The BCP 47 tag written into the PDF metadata.
    pub fn bcp47(self) -> &'static str {
        match self {
            Language::Zh => "zh-Hant-TW",
            Language::En => "en",
        }
    }
}

impl FromStr for Language {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "zh" | "zh-tw" | "zh-hant" | "zh-hant-tw" => Ok(Language::Zh),
            "en" => Ok(Language::En),
            _ => Err(ModelError::Invalid { field: "language", problem: format!("{s:?} is not zh or en") }),
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The kind of credential, which the trust registry accredits issuers for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialType {
    /// A university degree certificate (數位學位證書).
    Degree,
    /// A teacher certificate (電子教師證書), issued by the Ministry.
    Teacher,
}

impl CredentialType {
    /// The code used in JSON and in the registry.
    pub fn code(self) -> &'static str {
        match self {
            CredentialType::Degree => "degree",
            CredentialType::Teacher => "teacher",
        }
    }
}

impl FromStr for CredentialType {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "degree" => Ok(CredentialType::Degree),
            "teacher" => Ok(CredentialType::Teacher),
            _ => Err(ModelError::Invalid {
                field: "credential type",
                problem: format!("{s:?} is not degree or teacher"),
            }),
        }
    }
}

/// The level of a degree, which the trust registry accredits issuers for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DegreeLevel {
    /// 副學士 (associate).
    Associate,
    /// 學士 (bachelor).
    Bachelor,
    /// 碩士 (master).
    Master,
    /// 博士 (doctor).
    Doctor,
}

impl DegreeLevel {
    /// The code used in JSON and in the registry.
    pub fn code(self) -> &'static str {
        match self {
            DegreeLevel::Associate => "associate",
            DegreeLevel::Bachelor => "bachelor",
            DegreeLevel::Master => "master",
            DegreeLevel::Doctor => "doctor",
        }
    }
}

/// An academic year and term (學年學期), e.g. `113-2`: the second term of academic year 113.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Term {
    /// The academic year in the Minguo calendar (113 began in August 2024).
    pub year: u16,
    /// The term: 1 (autumn) or 2 (spring).
    pub term: u8,
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.year, self.term)
    }
}

impl FromStr for Term {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ModelError::Invalid {
            field: "graduationTerm",
            problem: format!("{s:?} is not an academic year and term such as 113-2"),
        };
        let (year, term) = s.split_once('-').ok_or_else(bad)?;
        let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(year) || !all_digits(term) || year.len() > 3 {
            return Err(bad());
        }
        let year: u16 = year.parse().map_err(|_| bad())?;
        let term: u8 = term.parse().map_err(|_| bad())?;
        if year == 0 || !(1..=2).contains(&term) {
            return Err(bad());
        }
        Ok(Term { year, term })
    }
}

impl Serialize for Term {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Term {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The kind of an additional programme (07 其他資訊).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ProgramKind {
    /// 雙主修.
    DoubleMajor,
    /// 輔系.
    Minor,
    /// 第二專長.
    SecondSpecialty,
}

impl ProgramKind {
    /// The Chinese label, as the departure system shows it.
    pub fn label_zh(self) -> &'static str {
        match self {
            ProgramKind::DoubleMajor => "雙主修",
            ProgramKind::Minor => "輔系",
            ProgramKind::SecondSpecialty => "第二專長",
        }
    }

    /// The English label.
    pub fn label_en(self) -> &'static str {
        match self {
            ProgramKind::DoubleMajor => "Double major",
            ProgramKind::Minor => "Minor",
            ProgramKind::SecondSpecialty => "Second specialty",
        }
    }
}

/// A double major, minor or second specialty.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OtherProgram {
    /// Which kind of programme.
    pub kind: ProgramKind,
    /// Its name in Chinese, e.g. 資訊工程系.
    pub name_zh: String,
    /// Its name in English.
    pub name_en: String,
}

/// A graduate's degree record: the fields of the departure system (01 姓名 … 07 其他資訊)
/// and the degree conferred.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DegreeRecord {
    /// 01 姓名, as on the Chinese diploma.
    pub name_zh: String,
    /// The name as on the English diploma (passport spelling).
    pub name_en: String,
    /// 02 生日.
    pub birth_date: Date,
    /// 03 學號.
    pub student_number: String,
    /// 04 畢業學校, in Chinese.
    pub school_zh: String,
    /// The school's English name.
    pub school_en: String,
    /// 05 畢業學院, in Chinese.
    pub college_zh: String,
    /// The college's English name.
    pub college_en: String,
    /// 06 畢業系所, in Chinese.
    pub department_zh: String,
    /// The department's English name.
    pub department_en: String,
    /// 07 其他資訊: double major, minor, second specialty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_programs: Vec<OtherProgram>,
    /// The level of the degree, which the issuer must be accredited for.
    pub degree_level: DegreeLevel,
    /// The degree's Chinese title, e.g. 工學學士.
    pub degree_zh: String,
    /// The degree's English title, e.g. Bachelor of Science in Engineering.
    pub degree_en: String,
    /// The term of graduation (學年學期).
    pub graduation_term: Term,
    /// The date the degree was conferred, as printed on the diploma.
    pub graduation_date: Date,
    /// The number printed on the paper diploma (證書字號).
    pub diploma_number: String,
}

/// A teacher certificate (電子教師證書) record.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TeacherRecord {
    /// The teacher's name in Chinese.
    pub name_zh: String,
    /// The teacher's name in English.
    pub name_en: String,
    /// Date of birth.
    pub birth_date: Date,
    /// The kind of certificate in Chinese, e.g. 中等學校教師證書.
    pub kind_zh: String,
    /// The kind of certificate in English, e.g. Secondary School Teacher Certificate.
    pub kind_en: String,
    /// The subject or field (任教類科), in Chinese.
    pub subject_zh: String,
    /// The subject or field, in English.
    pub subject_en: String,
    /// The number printed on the paper certificate (證書字號).
    pub teacher_certificate_number: String,
    /// The date of issue, as printed.
    pub issue_date: Date,
}

/// What a certificate certifies.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A degree.
    Degree(DegreeRecord),
    /// A teacher qualification.
    Teacher(TeacherRecord),
}

impl Subject {
    /// The credential type of this subject.
    pub fn credential_type(&self) -> CredentialType {
        match self {
            Subject::Degree(_) => CredentialType::Degree,
            Subject::Teacher(_) => CredentialType::Teacher,
        }
    }

    /// The holder's name in the given language.
    pub fn holder_name(&self, language: Language) -> &str {
        let (zh, en) = match self {
            Subject::Degree(d) => (&d.name_zh, &d.name_en),
            Subject::Teacher(t) => (&t.name_zh, &t.name_en),
        };
        match language {
            Language::Zh => zh,
            Language::En => en,
        }
    }
}

/// One certificate in one language and version: the unit that is signed, printed and registered.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Certificate {
    /// The issuer's number for this certificate; the same for both languages and all versions.
    pub number: String,
    /// The language of this file.
    pub language: Language,
    /// 1 for the first issue; each reissue (補證) adds one.
    pub version: u32,
    /// The SHA-256 of the previous version's file: the hash chain. Present exactly when `version > 1`.
    pub previous_version_sha256: Option<Sha256Digest>,
    /// What is certified.
    pub subject: Subject,
}

/// A record as an issuer writes it to be issued (`dcert issue --record FILE`), without the language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordFile {
    /// The certificate number.
    pub certificate_number: String,
    /// The version, 1 unless this is a reissue.
    #[serde(default = "one")]
    pub version: u32,
    /// The previous version's file hash, for a reissue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_version_sha256: Option<Sha256Digest>,
    /// A degree record; exactly one of `degree` and `teacher` is present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degree: Option<DegreeRecord>,
    /// A teacher record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teacher: Option<TeacherRecord>,
}

fn one() -> u32 {
    1
}

impl RecordFile {
    /// The certificate this record describes, in `language`, checked with [`Certificate::validate`].
    pub fn into_certificate(self, language: Language) -> Result<Certificate, ModelError> {
        let subject = match (self.degree, self.teacher) {
            (Some(d), None) => Subject::Degree(d),
            (None, Some(t)) => Subject::Teacher(t),
            _ => {
                return Err(ModelError::Invalid {
                    field: "degree/teacher",
                    problem: "a record holds exactly one of \"degree\" and \"teacher\"".into(),
                });
            }
        };
        let certificate = Certificate {
            number: self.certificate_number,
            language,
            version: self.version,
            previous_version_sha256: self.previous_version_sha256,
            subject,
        };
        certificate.validate()?;
        Ok(certificate)
    }
}

/// A record that cannot be issued as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// A field is missing, too long, or not of its form.
    #[error("field {field}: {problem}")]
    Invalid {
        /// The JSON name of the field.
        field: &'static str,
        /// What is wrong, in words.
        problem: String,
    },
}

/// The longest text a field may hold, in characters.
pub const MAX_FIELD_CHARS: usize = 200;

fn check_text(field: &'static str, value: &str) -> Result<(), ModelError> {
    let problem = if value.trim().is_empty() {
        Some("must not be empty".to_owned())
    } else if value.chars().count() > MAX_FIELD_CHARS {
        Some(format!("longer than {MAX_FIELD_CHARS} characters"))
    } else if value.chars().any(char::is_control) {
        Some("contains a control character".to_owned())
    } else if value != value.trim() {
        Some("has leading or trailing spaces".to_owned())
    } else {
        None
    };
    match problem {
        Some(problem) => Err(ModelError::Invalid { field, problem }),
        None => Ok(()),
    }
}

/// Whether `number` is a valid certificate number: 1 to 64 ASCII letters, digits, `-`, `_` or `.`.
pub fn is_valid_certificate_number(number: &str) -> bool {
    (1..=64).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl Certificate {
    /// Checks what the types cannot: non-empty bounded text, the number's form, and the hash chain
    /// (a previous hash exactly when `version > 1`).
    pub fn validate(&self) -> Result<(), ModelError> {
        if !is_valid_certificate_number(&self.number) {
            return Err(ModelError::Invalid {
                field: "certificateNumber",
                problem: "1 to 64 letters, digits, '-', '_' or '.'".into(),
            });
        }
        if self.version == 0 {
            return Err(ModelError::Invalid { field: "version", problem: "versions start at 1".into() });
        }
        match (self.version, self.previous_version_sha256) {
            (1, Some(_)) => {
                return Err(ModelError::Invalid {
                    field: "previousVersionSha256",
                    problem: "version 1 has no previous version".into(),
                });
            }
            (v, None) if v > 1 => {
                return Err(ModelError::Invalid {
                    field: "previousVersionSha256",
                    problem: format!("version {v} must name the SHA-256 of version {}", v - 1),
                });
            }
            _ => {}
        }
        match &self.subject {
            Subject::Degree(d) => {
                for (field, value) in [
                    ("nameZh", &d.name_zh),
                    ("nameEn", &d.name_en),
                    ("studentNumber", &d.student_number),
                    ("schoolZh", &d.school_zh),
                    ("schoolEn", &d.school_en),
                    ("collegeZh", &d.college_zh),
                    ("collegeEn", &d.college_en),
                    ("departmentZh", &d.department_zh),
                    ("departmentEn", &d.department_en),
                    ("degreeZh", &d.degree_zh),
                    ("degreeEn", &d.degree_en),
                    ("diplomaNumber", &d.diploma_number),
                ] {
                    check_text(field, value)?;
                }
                if d.other_programs.len() > 8 {
                    return Err(ModelError::Invalid { field: "otherPrograms", problem: "at most 8 programmes".into() });
                }
                for p in &d.other_programs {
                    check_text("otherPrograms.nameZh", &p.name_zh)?;
                    check_text("otherPrograms.nameEn", &p.name_en)?;
                }
            }
            Subject::Teacher(t) => {
                for (field, value) in [
                    ("nameZh", &t.name_zh),
                    ("nameEn", &t.name_en),
                    ("kindZh", &t.kind_zh),
                    ("kindEn", &t.kind_en),
                    ("subjectZh", &t.subject_zh),
                    ("subjectEn", &t.subject_en),
                    ("teacherCertificateNumber", &t.teacher_certificate_number),
                ] {
                    check_text(field, value)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_read_as_year_dash_term() {
        assert_eq!("113-2".parse::<Term>().unwrap(), Term { year: 113, term: 2 });
        assert_eq!("110-1".parse::<Term>().unwrap().to_string(), "110-1");
        for bad in ["113", "113-3", "0-1", "1130-1", "-1", "113-", "a-1", "113-1-1"] {
            assert!(bad.parse::<Term>().is_err(), "{bad}");
        }
    }

    #[test]
    fn certificate_numbers_are_short_and_plain() {
        assert!(is_valid_certificate_number("NKUST-1132-000123"));
        assert!(!is_valid_certificate_number(""));
        assert!(!is_valid_certificate_number("a b"));
        assert!(!is_valid_certificate_number("證書"));
        assert!(!is_valid_certificate_number(&"9".repeat(65)));
    }
}
