//! The university's store: graduates and their accounts, orders, certificates, the email and
//! registry outboxes, the calendar, templates and settings, over the shared tables
//! ([`Db`]: staff, sessions, the audit log). A university's database holds nothing of the
//! Ministry's.

mod graduates;
mod issuance;
mod outbox;

pub use self::graduates::{
    Campus, Correction, Graduate, GraduateFilter, GraduateState, GraduateSummary, ImportSummary,
};
pub use self::issuance::{
    CampusCounts, CertificateInfo, CertificateStatus, DeliveryCounts, IssuedFile, NewOrder, Order, OrderKind,
};
pub use self::outbox::{DeliveryEvent, NewEmail, OutboxFilter, OutboxMessage, Recipient, RegistrySubmission};
use crate::db::{Db, party_store};
use crate::schema::Part;

/// The university's database.
#[derive(Clone, Debug)]
pub struct UniversityStore {
    db: Db,
}

party_store!(UniversityStore, "the university's tables", &[Part::Shared, Part::University]);
