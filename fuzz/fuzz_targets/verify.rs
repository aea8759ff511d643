//! Fuzzes the verifier with arbitrary bytes against a real trust list. Any panic, hang or
//! unbounded allocation is a bug; every input must produce a report.
#![no_main]

use std::sync::OnceLock;

use dcert_core::pdf::Limits;
use dcert_core::status::Offline;
use dcert_core::trust::TrustList;
use dcert_core::verify::{self, Outcome};
use libfuzzer_sys::fuzz_target;

fn trust() -> &'static TrustList {
    static TRUST: OnceLock<TrustList> = OnceLock::new();
    TRUST.get_or_init(|| {
        let bytes = include_bytes!("../../crates/dcert-core/tests/fixtures/trust.json");
        // Pinned to its own root, as a verifier pins the Ministry's: unpinned, nothing succeeds.
        let root = TrustList::verify(bytes, None).expect("the committed trust list verifies").root.fingerprint();
        TrustList::verify(bytes, Some(root)).expect("the committed trust list verifies")
    })
}

fuzz_target!(|data: &[u8]| {
    let now = "2026-01-15T00:00:00Z".parse().expect("a literal time");
    let report = verify::verify(data, trust(), &Offline, now, &Limits::default());
    // Only the committed sample itself may succeed.
    if report.outcome == Outcome::Success {
        assert_eq!(data, include_bytes!("../../crates/dcert-core/tests/fixtures/sample-zh.pdf"));
    }
});
