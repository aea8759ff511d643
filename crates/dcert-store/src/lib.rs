//! The databases of dcert, one per party, on SQLite (a file, the default) or PostgreSQL (a URL):
//! [`UniversityStore`] (graduates, orders, certificates, outboxes) and [`MinistryStore`] (the
//! registry of issued files, statistics, content, the trust registry), both over one connection
//! layer ([`Db`]) that also keeps the tables both parties have (staff, sessions, the audit log).
//! Two types, so that the compiler keeps each party to its own tables; each migrates only its
//! own part of the schema.
//!
//! Every query is written once, with `$1`-style parameters that both backends accept, and runs
//! through sqlx's `Any` driver. Migrations run when a store opens. Times are Unix seconds
//! (`i64`) and days are `YYYY-MM-DD` text; the caller passes `now`, the store never reads a clock.
//!
//! Writes that belong together happen in one transaction: issuing a certificate stores the file,
//! closes the order, supersedes the previous version, queues the registry submission and the two
//! emails, and appends to the audit log, or does none of it.

mod accounts;
mod db;
mod ministry;
mod schema;
mod scratch;
mod university;

pub use sqlx::Error as SqlError;

pub use crate::accounts::{AuditEntry, AuditFilter, MinistryRole, NewAccount, Role, Session, Staff, UniversityRole};
pub use crate::db::Db;
pub use crate::ministry::{
    ContentItem, FaqItem, Institution, InstitutionCertificate, InstitutionContact, InstitutionKey, MinistryStore,
    NewInstitutionCertificate, NewInstitutionKey, NewsItem, RegisteredInstitution, RegistryRecord, StoredTrustList,
    Submission, TeacherCertificate, Verification, VerificationStats, log_entry, log_entry_hash,
};
pub use crate::scratch::ScratchSchema;
pub use crate::university::{
    Campus, CampusCounts, CertificateInfo, CertificateStatus, Correction, DeliveryCounts, DeliveryEvent, Graduate,
    GraduateFilter, GraduateState, GraduateSummary, ImportSummary, IssuedFile, NewEmail, NewOrder, Order, OrderKind,
    OutboxFilter, OutboxMessage, Recipient, RegistrySubmission, UniversityStore,
};

/// The database a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file (or memory).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed a query.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The URL names neither SQLite nor PostgreSQL.
    #[error("unsupported database URL (use sqlite://PATH or postgres://...)")]
    UnsupportedUrl,
    /// The SQLite database's file could not be created or made private.
    #[error("the database file {path}: {source}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The database holds a newer schema than this program knows.
    #[error("the database schema is version {found}, newer than this program's {known}: upgrade dcert")]
    SchemaTooNew {
        /// The version found.
        found: i64,
        /// The newest version this program has.
        known: i64,
    },
    /// A stored value no longer parses (the database was edited by hand).
    #[error("stored {what} is corrupt: {detail}")]
    Corrupt {
        /// Which value.
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The row asked for does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The change conflicts with what is stored (a rule of the domain, in words for the user).
    #[error("{0}")]
    Conflict(String),
}

/// The result of a store call.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
