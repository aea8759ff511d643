//! The Ministry's store: the registry of issued files (append-only records and the nonces of
//! signed requests), verification statistics, the site's news and FAQ, the teacher certificates it
//! issued, and the trust registry of institutions, over the shared tables ([`Db`]: staff,
//! sessions, the audit log). The Ministry's database holds nothing of a university's.

mod content;
mod institutions;
mod registry;

use std::ops::Deref;

pub use self::content::{FaqItem, NewsItem, TeacherCertificate, Verification, VerificationStats};
pub use self::institutions::{
    Institution, InstitutionCertificate, InstitutionKey, NewInstitutionCertificate, NewInstitutionKey,
    RegisteredInstitution, StoredTrustList,
};
pub use self::registry::{RegistryRecord, Submission};
use crate::Result;
use crate::db::Db;
use crate::schema::Part;

/// The Ministry's database.
#[derive(Clone, Debug)]
pub struct MinistryStore {
    db: Db,
}

impl MinistryStore {
    /// Opens the database at `url` and migrates the Ministry's tables (and the shared ones).
    pub async fn open(url: &str) -> Result<MinistryStore> {
        Ok(MinistryStore { db: Db::open(url, &[Part::Shared, Part::Ministry]).await? })
    }
}

impl Deref for MinistryStore {
    type Target = Db;

    fn deref(&self) -> &Db {
        &self.db
    }
}
