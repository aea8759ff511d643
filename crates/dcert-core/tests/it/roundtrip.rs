//! Property: whatever valid record is issued verifies, and the verified data is the record.

use dcert_core::model::{Certificate, DegreeLevel, Subject, Term};
use dcert_core::status::Offline;
use dcert_core::verify::Outcome;
use dcert_core::{Date, Language};
use proptest::prelude::*;

use crate::support::*;
use crate::verify::check;

fn name_zh() -> impl Strategy<Value = String> {
    // Common characters, rare ones from CJK Extension A and B, and the bopomofo-free middle dot.
    let chars =
        prop::sample::select(vec!['王', '林', '陳', '堃', '㵘', '𪚥', '𠀋', '𡘙', '喆', '珺', '·', '李', '黃', '峯']);
    prop::collection::vec(chars, 2..6).prop_map(|v| v.into_iter().collect())
}

fn name_en() -> impl Strategy<Value = String> {
    "[A-Z]{2,8}, [A-Z]{2,8}(-[A-Z]{2,6})?"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn sign_then_verify_round_trips(
        zh in name_zh(),
        en in name_en(),
        birth in 7000i64..13000,
        year in 100u16..130,
        term in 1u8..=2,
        english in any::<bool>(),
        version in 1u32..4,
        level in prop::sample::select(vec![DegreeLevel::Bachelor, DegreeLevel::Master]),
    ) {
        let w = &sample_zh().0;
        let mut record = degree(&zh);
        record.name_en = en;
        record.birth_date = Date::from_days_since_epoch(birth);
        record.graduation_term = Term { year, term };
        record.degree_level = level;
        let cert = Certificate {
            number: format!("NKUST-{year}{term}-{birth}"),
            language: if english { Language::En } else { Language::Zh },
            version,
            previous_version_sha256: (version > 1).then(|| dcert_core::Sha256Digest::of(b"previous")),
            subject: Subject::Degree(record.clone()),
        };
        let file = issue_with(&w.nkust.kit, &cert, issued_at());
        let report = check(&file.bytes, &w.trust, &Offline);
        prop_assert_eq!(report.outcome, Outcome::Success, "{:?}", report.reason);
        let data = report.credential.unwrap();
        prop_assert_eq!(data.degree.unwrap(), record);
        prop_assert_eq!(data.version, version);
        prop_assert_eq!(data.previous_version_sha256, cert.previous_version_sha256);
    }
}
