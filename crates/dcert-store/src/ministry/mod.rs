//! The Ministry's store: the registry of issued files (append-only records and the nonces of
//! signed requests), verification statistics, the site's news and FAQ, the teacher certificates it
//! issued, and the trust registry of institutions, over the shared tables ([`Db`]: staff,
//! sessions, the audit log). The Ministry's database holds nothing of a university's.

mod content;
mod institutions;
mod registry;

pub use self::content::{ContentItem, FaqItem, NewsItem, TeacherCertificate, Verification, VerificationStats};
pub use self::institutions::{
    Institution, InstitutionCertificate, InstitutionContact, InstitutionKey, NewInstitutionCertificate,
    NewInstitutionKey, RegisteredInstitution, StoredTrustList,
};
pub use self::registry::{RegistryRecord, Submission, log_entry, log_entry_hash};
use crate::db::{Db, party_store};
use crate::schema::Part;

/// The Ministry's database.
#[derive(Clone, Debug)]
pub struct MinistryStore {
    db: Db,
}

party_store!(MinistryStore, "the Ministry's tables", &[Part::Shared, Part::Ministry]);
