//! The university's store: graduates and their accounts, orders, certificates, the email and
//! registry outboxes, the calendar, templates and settings, over the shared tables
//! ([`Db`]: staff, sessions, the audit log). A university's database holds nothing of the
//! Ministry's.

mod graduates;
mod issuance;
mod outbox;

use std::ops::Deref;

pub use self::graduates::{Campus, Correction, Graduate, GraduateFilter, GraduateSummary, ImportSummary};
pub use self::issuance::{
    CampusCounts, CertificateInfo, CertificateStatus, DeliveryCounts, IssuedFile, NewOrder, Order, OrderKind,
};
pub use self::outbox::{DeliveryEvent, NewEmail, OutboxMessage, RegistrySubmission};
use crate::Result;
use crate::db::Db;
use crate::schema::Part;

/// The university's database.
#[derive(Clone, Debug)]
pub struct UniversityStore {
    db: Db,
}

impl UniversityStore {
    /// Opens the database at `url` (`sqlite://PATH`, `sqlite::memory:`, `postgres://...`) and
    /// migrates the university's tables (and the shared ones).
    pub async fn open(url: &str) -> Result<UniversityStore> {
        Ok(UniversityStore { db: Db::open(url, &[Part::Shared, Part::University]).await? })
    }
}

impl Deref for UniversityStore {
    type Target = Db;

    fn deref(&self) -> &Db {
        &self.db
    }
}
