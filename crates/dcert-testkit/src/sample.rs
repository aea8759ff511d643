//! The sample graduate, the bundled fonts, and certificate files issued with them.

use std::sync::{Arc, OnceLock};

use dcert_core::Timestamp;
use dcert_core::issue::{self, IssuedFile, IssuerKit};
use dcert_core::model::{Certificate, DegreeLevel, DegreeRecord, OtherProgram, ProgramKind};
use dcert_core::pdf::{Face, FontBook, Template};

/// NKUST's name in Chinese, as its graduates' records and its trust list entry give it.
pub const NKUST_ZH: &str = "國立高雄科技大學";
/// NKUST's name in English.
pub const NKUST_EN: &str = "National Kaohsiung University of Science and Technology";

/// The sample graduate of NKUST (`examples/record.json`, a bachelor with a minor) named
/// `name_zh`.
pub fn degree(name_zh: &str) -> DegreeRecord {
    DegreeRecord {
        name_zh: name_zh.into(),
        name_en: "WANG, HSIAO-MING".into(),
        birth_date: "2002-03-14".parse().unwrap(),
        student_number: "C110152301".into(),
        school_zh: NKUST_ZH.into(),
        school_en: NKUST_EN.into(),
        college_zh: "電資學院".into(),
        college_en: "College of Electrical Engineering and Computer Science".into(),
        department_zh: "電子工程系".into(),
        department_en: "Department of Electronic Engineering".into(),
        other_programs: vec![OtherProgram {
            kind: ProgramKind::Minor,
            name_zh: "資訊工程系".into(),
            name_en: "Department of Computer Science and Information Engineering".into(),
        }],
        degree_level: DegreeLevel::Bachelor,
        degree_zh: "工學學士".into(),
        degree_en: "Bachelor of Science in Engineering".into(),
        graduation_term: "113-2".parse().unwrap(),
        graduation_date: "2025-06-30".parse().unwrap(),
        diploma_number: "(114)高科大電子學字第012345號".into(),
    }
}

/// The workspace's bundled fonts (Noto Serif TC, and HanaMin for the rare characters), read
/// once per test binary.
pub fn fonts() -> &'static Arc<FontBook> {
    static FONTS: OnceLock<Arc<FontBook>> = OnceLock::new();
    FONTS.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fonts");
        let load = |name: &str| {
            let data = std::fs::read(format!("{dir}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"));
            Face::new(name, Arc::new(data), 0).unwrap()
        };
        let mut book = FontBook::new();
        book.add_family("serif", load("NotoSerifTC-Regular.otf"));
        book.add_fallback(load("HanaMinB.ttf"));
        Arc::new(book)
    })
}

/// `certificate` issued by `kit` at `at` in its default design, with the bundled fonts.
pub fn issue(kit: &IssuerKit, certificate: &Certificate, at: Timestamp) -> IssuedFile {
    let template = Template::default_for(certificate.subject.credential_type(), certificate.language);
    issue::issue(certificate, kit, &template, fonts(), at).unwrap()
}
