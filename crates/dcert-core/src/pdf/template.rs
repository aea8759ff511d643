//! Certificate templates as data: page size, background shapes, text positions and fonts, and
//! the QR code's place. A school adopts its own diploma design by writing a template file; no
//! code changes. Text holds placeholders such as `{name}` that are filled from the record.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Certificate, CredentialType, Language, Subject};

/// A template could not be read or does not fit its certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// Not JSON of the template's shape.
    #[error("the template is not valid: {0}")]
    Shape(String),
    /// A text uses a placeholder the credential type does not have.
    #[error("the template uses an unknown placeholder {{{name}}}; known: {known}")]
    UnknownPlaceholder {
        /// The placeholder.
        name: String,
        /// The known placeholders, comma-separated.
        known: String,
    },
    /// A number is out of range.
    #[error("the template's {0} is out of range")]
    OutOfRange(&'static str),
    /// The template is for another credential type or language.
    #[error(
        "the template is for {template_type} certificates in {template_language}, not {wanted_type} in {wanted_language}"
    )]
    Mismatch {
        /// The template's credential type.
        template_type: &'static str,
        /// The template's language.
        template_language: &'static str,
        /// The certificate's credential type.
        wanted_type: &'static str,
        /// The certificate's language.
        wanted_language: &'static str,
    },
}

/// An sRGB colour written `#rrggbb`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Color(pub [u8; 3]);

impl Serialize for Color {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("#{:02x}{:02x}{:02x}", self.0[0], self.0[1], self.0[2]))
    }
}

impl<'de> Deserialize<'de> for Color {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let bad = || serde::de::Error::custom(format!("{s:?} is not a colour #rrggbb"));
        let hex = s.strip_prefix('#').filter(|h| h.len() == 6).ok_or_else(bad)?;
        let bytes = crate::digest::unhex(hex).ok_or_else(bad)?;
        Ok(Color([bytes[0], bytes[1], bytes[2]]))
    }
}

/// The page size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Page {
    /// Width in millimetres.
    pub width_mm: f32,
    /// Height in millimetres.
    pub height_mm: f32,
}

/// A background shape, drawn before the text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "shape", deny_unknown_fields)]
pub enum Shape {
    /// A rectangle, stroked and/or filled.
    #[serde(rename_all = "camelCase")]
    Rect {
        /// Left edge, mm from the page's left.
        x_mm: f32,
        /// Top edge, mm from the page's top.
        y_mm: f32,
        /// Width, mm.
        width_mm: f32,
        /// Height, mm.
        height_mm: f32,
        /// Outline colour.
        #[serde(default)]
        stroke: Option<Color>,
        /// Fill colour.
        #[serde(default)]
        fill: Option<Color>,
        /// Outline width in points.
        #[serde(default = "one")]
        line_width_pt: f32,
    },
    /// A straight line.
    #[serde(rename_all = "camelCase")]
    Line {
        /// Start, mm from the left.
        x1_mm: f32,
        /// Start, mm from the top.
        y1_mm: f32,
        /// End, mm from the left.
        x2_mm: f32,
        /// End, mm from the top.
        y2_mm: f32,
        /// Colour.
        color: Color,
        /// Width in points.
        #[serde(default = "one")]
        line_width_pt: f32,
    },
}

fn one() -> f32 {
    1.0
}

fn serif() -> String {
    "serif".into()
}

/// Horizontal alignment of a text about its `x`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Align {
    /// `x` is the left end.
    #[default]
    Left,
    /// `x` is the centre.
    Center,
    /// `x` is the right end.
    Right,
}

/// One line of text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Text {
    /// The text, with placeholders such as `{name}`.
    pub text: String,
    /// Horizontal position, mm from the left (see `align`).
    pub x_mm: f32,
    /// The baseline, mm from the top.
    pub y_mm: f32,
    /// Font size in points.
    pub size_pt: f32,
    /// Alignment about `x`.
    #[serde(default)]
    pub align: Align,
    /// The font family, as the font book names it.
    #[serde(default = "serif")]
    pub font: String,
    /// The colour.
    #[serde(default)]
    pub color: Color,
    /// If the line is wider, it is scaled down to fit.
    #[serde(default)]
    pub max_width_mm: Option<f32>,
    /// Extra space between characters, in points.
    #[serde(default)]
    pub letter_spacing_pt: f32,
    /// Leave the line out when every placeholder in it is empty.
    #[serde(default)]
    pub skip_if_empty: bool,
}

/// Where the QR code goes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Qr {
    /// Left edge, mm.
    pub x_mm: f32,
    /// Top edge, mm.
    pub y_mm: f32,
    /// Side length, mm, quiet zone included.
    pub size_mm: f32,
}

/// A certificate template.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Template {
    /// A name for the design, e.g. `nkust-2025-zh`.
    pub name: String,
    /// The language it prints.
    pub language: Language,
    /// The credential type it prints.
    pub credential_type: CredentialType,
    /// The page size.
    pub page: Page,
    /// Background shapes.
    #[serde(default)]
    pub shapes: Vec<Shape>,
    /// Lines of text.
    pub texts: Vec<Text>,
    /// The QR code.
    pub qr: Qr,
}

const DEFAULTS: [(&str, &str); 4] = [
    ("degree-zh", include_str!("../../templates/degree-zh.json")),
    ("degree-en", include_str!("../../templates/degree-en.json")),
    ("teacher-zh", include_str!("../../templates/teacher-zh.json")),
    ("teacher-en", include_str!("../../templates/teacher-en.json")),
];

/// The values a template can print, for a certificate in the template's language.
pub fn placeholders(certificate: &Certificate, issuer_name: &str, verify_url: &str) -> BTreeMap<&'static str, String> {
    let zh = certificate.language == Language::Zh;
    let pick = |a: &str, b: &str| if zh { a.to_owned() } else { b.to_owned() };
    let date = |d: crate::time::Date| if zh { d.to_minguo_zh() } else { d.to_english() };
    let mut v = BTreeMap::new();
    v.insert("certificate_number", certificate.number.clone());
    v.insert("version", certificate.version.to_string());
    v.insert("issuer_name", issuer_name.to_owned());
    v.insert("verify_url", verify_url.to_owned());
    match &certificate.subject {
        Subject::Degree(d) => {
            v.insert("name", pick(&d.name_zh, &d.name_en));
            v.insert("name_zh", d.name_zh.clone());
            v.insert("name_en", d.name_en.clone());
            v.insert("birth_date", date(d.birth_date));
            v.insert("student_number", d.student_number.clone());
            v.insert("school", pick(&d.school_zh, &d.school_en));
            v.insert("college", pick(&d.college_zh, &d.college_en));
            v.insert("department", pick(&d.department_zh, &d.department_en));
            v.insert("degree", pick(&d.degree_zh, &d.degree_en));
            v.insert("term", d.graduation_term.to_string());
            v.insert("graduation_date", date(d.graduation_date));
            v.insert("diploma_number", d.diploma_number.clone());
            let programs: Vec<String> = d
                .other_programs
                .iter()
                .map(|p| {
                    if zh {
                        format!("{}：{}", p.kind.label_zh(), p.name_zh)
                    } else {
                        format!("{}: {}", p.kind.label_en(), p.name_en)
                    }
                })
                .collect();
            v.insert("other_programs", programs.join(if zh { "；" } else { "; " }));
        }
        Subject::Teacher(t) => {
            v.insert("name", pick(&t.name_zh, &t.name_en));
            v.insert("name_zh", t.name_zh.clone());
            v.insert("name_en", t.name_en.clone());
            v.insert("birth_date", date(t.birth_date));
            v.insert("kind", pick(&t.kind_zh, &t.kind_en));
            v.insert("subject", pick(&t.subject_zh, &t.subject_en));
            v.insert("teacher_certificate_number", t.teacher_certificate_number.clone());
            v.insert("issue_date", date(t.issue_date));
        }
    }
    v
}

/// The placeholder names inside `text`, in order.
fn placeholder_names(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                names.push(&after[..close]);
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    names
}

/// `text` with every `{placeholder}` replaced by its value; `None` when the line should be
/// skipped because it has placeholders and all of them are empty.
pub fn fill(text: &Text, values: &BTreeMap<&'static str, String>) -> Option<String> {
    let names = placeholder_names(&text.text);
    if text.skip_if_empty && !names.is_empty() && names.iter().all(|n| values.get(n).is_none_or(String::is_empty)) {
        return None;
    }
    let mut out = text.text.clone();
    for name in names {
        let value = values.get(name).map(String::as_str).unwrap_or("");
        out = out.replacen(&format!("{{{name}}}"), value, 1);
    }
    Some(out)
}

fn known_placeholders(t: CredentialType) -> Vec<&'static str> {
    let mut common =
        vec!["certificate_number", "version", "issuer_name", "verify_url", "name", "name_zh", "name_en", "birth_date"];
    match t {
        CredentialType::Degree => common.extend([
            "student_number",
            "school",
            "college",
            "department",
            "degree",
            "term",
            "graduation_date",
            "diploma_number",
            "other_programs",
        ]),
        CredentialType::Teacher => common.extend(["kind", "subject", "teacher_certificate_number", "issue_date"]),
    }
    common
}

impl Template {
    /// Reads and checks a template.
    pub fn parse(json: &str) -> Result<Self, TemplateError> {
        let template: Template = serde_json::from_str(json).map_err(|e| TemplateError::Shape(e.to_string()))?;
        template.check()?;
        Ok(template)
    }

    /// The built-in template for a credential type and language.
    pub fn default_for(credential_type: CredentialType, language: Language) -> Self {
        let key = format!("{}-{}", credential_type.code(), language.code());
        let json = DEFAULTS.iter().find(|(k, _)| *k == key).map(|(_, j)| *j).unwrap_or(DEFAULTS[0].1);
        // The built-in templates are checked by a unit test.
        Self::parse(json).expect("built-in template is valid")
    }

    /// Checks numbers and placeholders.
    pub fn check(&self) -> Result<(), TemplateError> {
        let mm = |v: f32, what: &'static str| {
            if v.is_finite() && (-10.0..=2000.0).contains(&v) { Ok(()) } else { Err(TemplateError::OutOfRange(what)) }
        };
        if !(50.0..=2000.0).contains(&self.page.width_mm) || !(50.0..=2000.0).contains(&self.page.height_mm) {
            return Err(TemplateError::OutOfRange("page size"));
        }
        if self.texts.len() + self.shapes.len() > 500 {
            return Err(TemplateError::OutOfRange("number of elements"));
        }
        let known = known_placeholders(self.credential_type);
        for text in &self.texts {
            mm(text.x_mm, "text position")?;
            mm(text.y_mm, "text position")?;
            if !(2.0..=200.0).contains(&text.size_pt) {
                return Err(TemplateError::OutOfRange("font size"));
            }
            if !(0.0..=100.0).contains(&text.letter_spacing_pt) {
                return Err(TemplateError::OutOfRange("letter spacing"));
            }
            if let Some(w) = text.max_width_mm {
                mm(w, "maximum width")?;
            }
            if text.text.chars().count() > 1000 {
                return Err(TemplateError::OutOfRange("text length"));
            }
            for name in placeholder_names(&text.text) {
                if !known.contains(&name) {
                    return Err(TemplateError::UnknownPlaceholder { name: name.to_owned(), known: known.join(", ") });
                }
            }
        }
        for shape in &self.shapes {
            match *shape {
                Shape::Rect { x_mm, y_mm, width_mm, height_mm, line_width_pt, .. } => {
                    for v in [x_mm, y_mm, width_mm, height_mm] {
                        mm(v, "shape position")?;
                    }
                    mm(line_width_pt, "line width")?;
                }
                Shape::Line { x1_mm, y1_mm, x2_mm, y2_mm, line_width_pt, .. } => {
                    for v in [x1_mm, y1_mm, x2_mm, y2_mm] {
                        mm(v, "shape position")?;
                    }
                    mm(line_width_pt, "line width")?;
                }
            }
        }
        mm(self.qr.x_mm, "QR position")?;
        mm(self.qr.y_mm, "QR position")?;
        if !(15.0..=200.0).contains(&self.qr.size_mm) {
            return Err(TemplateError::OutOfRange("QR size (15 to 200 mm)"));
        }
        Ok(())
    }

    /// Checks that the template prints `certificate`'s type and language.
    pub fn check_fits(&self, certificate: &Certificate) -> Result<(), TemplateError> {
        let wanted_type = certificate.subject.credential_type();
        if self.credential_type != wanted_type || self.language != certificate.language {
            return Err(TemplateError::Mismatch {
                template_type: self.credential_type.code(),
                template_language: self.language.code(),
                wanted_type: wanted_type.code(),
                wanted_language: certificate.language.code(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_templates_are_valid() {
        for (name, json) in DEFAULTS {
            let t = Template::parse(json).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(format!("{}-{}", t.credential_type.code(), t.language.code()), name);
        }
    }

    #[test]
    fn unknown_placeholders_are_refused_with_the_known_ones_listed() {
        let mut t = Template::default_for(CredentialType::Degree, Language::Zh);
        t.texts[0].text = "{nmae}".into();
        let json = serde_json::to_string(&t).unwrap();
        let err = Template::parse(&json).unwrap_err();
        assert!(matches!(err, TemplateError::UnknownPlaceholder { ref name, .. } if name == "nmae"), "{err}");
        assert!(err.to_string().contains("department"));
    }

    #[test]
    fn a_line_whose_placeholders_are_all_empty_can_be_skipped() {
        let mut values = BTreeMap::new();
        values.insert("other_programs", String::new());
        values.insert("name", "王小明".to_owned());
        let line = |text: &str, skip| Text {
            text: text.into(),
            x_mm: 0.0,
            y_mm: 0.0,
            size_pt: 10.0,
            align: Align::Left,
            font: "serif".into(),
            color: Color::default(),
            max_width_mm: None,
            letter_spacing_pt: 0.0,
            skip_if_empty: skip,
        };
        assert_eq!(fill(&line("其他：{other_programs}", true), &values), None);
        assert_eq!(fill(&line("其他：{other_programs}", false), &values).as_deref(), Some("其他："));
        assert_eq!(fill(&line("學生 {name}", true), &values).as_deref(), Some("學生 王小明"));
    }
}
