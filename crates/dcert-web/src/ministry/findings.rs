//! What each check found, in the visitor's words: the verifier reports a code with its
//! parameters ([`Finding`]); this words it from the message catalogue (`moe.finding.<code>`),
//! with names in the page's language and dates as the page writes them (Minguo years in
//! Chinese). The technical English of a check stays in the API and the command line.

use dcert_core::verify::Finding;

use crate::http::Chrome;

/// `finding` in the page's language.
pub(crate) fn words(c: &Chrome, finding: &Finding) -> String {
    let t = c.t;
    let key = format!("moe.finding.{}", finding.code());
    let time = |at: &dcert_core::Timestamp| t.time(at.unix());
    let date = |at: &dcert_core::Timestamp| t.date(&at.taiwan_date());
    match finding {
        Finding::TooLarge { limit, .. } => t.f1(&key, limit.div_ceil(1 << 20)),
        Finding::SignerRegistered { name_zh, name_en } | Finding::IssuerAccredited { name_zh, name_en } => {
            t.f1(&key, c.pick(name_zh, name_en))
        }
        Finding::KeysValid { signed_at } => t.f1(&key, time(signed_at)),
        Finding::Current { as_of } => t.f1(&key, time(as_of)),
        Finding::Superseded { version, issued_at } => t.f(&key, &[&date(issued_at), version]),
        Finding::Revoked { revoked_at, reason } => t.f(&key, &[&date(revoked_at), reason]),
        Finding::Offline { as_of } | Finding::TrustListStale { issued: as_of } => t.f1(&key, date(as_of)),
        Finding::TrustListCurrent { sequence, issued } => t.f(&key, &[sequence, &date(issued)]),
        Finding::LogIncluded { index, size } => t.f(&key, &[&(index + 1), size]),
        Finding::LogInBundle { size } => t.f1(&key, size),
        _ => t.s(&key).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use dcert_core::verify::Finding;

    use crate::i18n::Texts;

    #[test]
    fn every_finding_is_worded_in_the_catalogue() {
        for code in Finding::CODES {
            assert!(Texts::has(&format!("moe.finding.{code}")), "moe.finding.{code}");
        }
    }
}
