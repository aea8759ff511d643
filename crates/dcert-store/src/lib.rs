//! The database of dcert: one schema on SQLite (a file, the default) or PostgreSQL (a URL).
//!
//! Every query is written once, with `$1`-style parameters that both backends accept, and runs
//! through sqlx's `Any` driver. Migrations run when the store opens. Times are Unix seconds
//! (`i64`) and days are `YYYY-MM-DD` text; the caller passes `now`, the store never reads a clock.
//!
//! Writes that belong together happen in one transaction: issuing a certificate stores the file,
//! closes the order, supersedes the previous version, queues the registry submission and the two
//! emails, and appends to the audit log, or does none of it.

mod ministry;
mod schema;
mod trust_registry;

use std::str::FromStr;

use dcert_core::calendar::DayOverride;
use dcert_core::model::{DegreeRecord, Language, Term};
use dcert_core::time::Date;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, AssertSqlSafe, Row};

pub use sqlx::Error as SqlError;

pub use crate::ministry::{FaqItem, NewsItem, Submission, TeacherCertificate, Verification, VerificationStats};
pub use crate::trust_registry::{
    Institution, InstitutionCertificate, InstitutionKey, NewInstitutionCertificate, NewInstitutionKey,
    RegisteredInstitution, StoredTrustList,
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

/// A connection pool and the backend it talks to.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// One of the institution's campuses and its office (綜合業務處), for the contact page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Campus {
    /// A short code used in imports and URLs, e.g. `jiangong`.
    pub code: String,
    /// The order in lists.
    pub position: i64,
    /// 建工校區.
    pub name_zh: String,
    /// Jiangong Campus.
    pub name_en: String,
    /// The office's Chinese name.
    pub office_zh: String,
    /// The office's English name.
    pub office_en: String,
    /// The telephone extensions, as printed.
    pub extensions: String,
}

/// The roles of staff: the university console's three, and the Ministry console's two.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// 教務處註冊組: every campus.
    Registrar,
    /// A campus office (綜合業務處): its own campus only.
    CampusOffice,
    /// The institution's administrator: keys, templates, policy, audit log.
    Admin,
    /// The Ministry's administrator (教育部): its console's statistics, news, FAQ, teacher
    /// certificates and audit log. Never a university console role.
    MinistryAdmin,
    /// A Ministry editor: the verification site's news and FAQ only.
    MinistryEditor,
}

impl Role {
    /// The code stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            Role::Registrar => "registrar",
            Role::CampusOffice => "campus_office",
            Role::Admin => "admin",
            Role::MinistryAdmin => "ministry_admin",
            Role::MinistryEditor => "ministry_editor",
        }
    }
}

impl FromStr for Role {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "registrar" => Ok(Role::Registrar),
            "campus_office" => Ok(Role::CampusOffice),
            "admin" => Ok(Role::Admin),
            "ministry_admin" => Ok(Role::MinistryAdmin),
            "ministry_editor" => Ok(Role::MinistryEditor),
            other => Err(StoreError::Corrupt { what: "role", detail: other.to_owned() }),
        }
    }
}

/// A member of staff who signs in to the console.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Staff {
    /// The row id.
    pub id: i64,
    /// The login name.
    pub username: String,
    /// The name shown in the console and the audit log.
    pub display_name: String,
    /// The argon2id PHC string.
    pub password_hash: String,
    /// What the account may do.
    pub role: Role,
    /// The campus of a campus office.
    pub campus: Option<String>,
}

/// A graduate's record for one term, with what the portal and the console need.
#[derive(Clone, Debug, PartialEq)]
pub struct Graduate {
    /// The row id.
    pub id: i64,
    /// The campus code.
    pub campus: String,
    /// The degree record, as the certificate will print it.
    pub record: DegreeRecord,
    /// 信箱1: `<student number>@<school domain>`.
    pub school_email: String,
    /// 信箱2: the permanent address, once confirmed by its link.
    pub permanent_email: Option<String>,
    /// Whether the graduate left in the middle of a term (110-1 mid-term graduates).
    pub mid_term: bool,
    /// When the graduate confirmed the data and addresses.
    pub confirmed_at: Option<i64>,
}

impl Graduate {
    /// The academic year and term.
    pub fn term(&self) -> Term {
        self.record.graduation_term
    }

    /// The addresses a certificate is sent to: the school's and the permanent one.
    pub fn addresses(&self) -> Vec<String> {
        let mut out = vec![self.school_email.clone()];
        if let Some(p) = &self.permanent_email
            && !p.eq_ignore_ascii_case(&self.school_email)
        {
            out.push(p.clone());
        }
        out
    }
}

/// One row of an import.
#[derive(Clone, Debug)]
pub struct ImportRow {
    /// The campus code.
    pub campus: String,
    /// The record.
    pub record: DegreeRecord,
    /// 信箱1.
    pub school_email: String,
    /// 信箱2, when the student information system has one.
    pub permanent_email: Option<String>,
    /// A mid-term graduate.
    pub mid_term: bool,
}

/// What an import changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// New graduates.
    pub inserted: usize,
    /// Graduates whose record changed (their confirmation is cleared: they confirm the new data).
    pub updated: usize,
    /// Graduates already stored with the same data.
    pub unchanged: usize,
}

/// A filter for the console's list of graduates.
#[derive(Clone, Debug, Default)]
pub struct GraduateFilter {
    /// Only this campus (a campus office always sets its own).
    pub campus: Option<String>,
    /// Only this term.
    pub term: Option<String>,
    /// A student number or a name, matched as a prefix / substring.
    pub search: Option<String>,
    /// At most this many rows.
    pub limit: i64,
}

/// A line of the console's list of graduates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraduateSummary {
    /// The row id.
    pub id: i64,
    /// 學號.
    pub student_number: String,
    /// 學年學期.
    pub term: String,
    /// The campus code.
    pub campus: String,
    /// 姓名.
    pub name_zh: String,
    /// 系所.
    pub department_zh: String,
    /// Confirmed by the graduate.
    pub confirmed: bool,
    /// Certificates issued (all languages and versions).
    pub certificates: i64,
    /// Orders waiting for issuance.
    pub open_orders: i64,
}

/// Why a certificate is being issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderKind {
    /// The paper Chinese diploma was collected (領取紙本證書).
    Collection,
    /// The paper English diploma was applied for.
    Application,
    /// 補證: a new version after a name change or a lost diploma.
    Reissue,
}

impl OrderKind {
    /// The code stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            OrderKind::Collection => "collection",
            OrderKind::Application => "application",
            OrderKind::Reissue => "reissue",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "collection" => Ok(OrderKind::Collection),
            "application" => Ok(OrderKind::Application),
            "reissue" => Ok(OrderKind::Reissue),
            other => Err(StoreError::Corrupt { what: "order kind", detail: other.to_owned() }),
        }
    }
}

/// A request to issue one certificate (one language, one version).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    /// The row id.
    pub id: i64,
    /// The graduate's row.
    pub graduate_id: i64,
    /// The certificate's language.
    pub language: Language,
    /// The version to issue (1, or the next after a reissue).
    pub version: u32,
    /// Why.
    pub kind: OrderKind,
    /// The reason of a reissue; empty otherwise.
    pub reason: String,
    /// The day the diploma was collected or the application made.
    pub requested_on: Date,
    /// The day the certificate is due: five working days later.
    pub due_on: Date,
    /// The issued certificate, once issued.
    pub certificate_id: Option<i64>,
    /// The last error of an attempt to issue.
    pub last_error: Option<String>,
    /// When it was cancelled (its certificate was revoked before it was issued).
    pub cancelled_at: Option<i64>,
}

impl Order {
    /// Whether it still waits for issuance.
    pub fn is_open(&self) -> bool {
        self.certificate_id.is_none() && self.cancelled_at.is_none()
    }
}

/// A new order.
#[derive(Clone, Debug)]
pub struct NewOrder<'a> {
    /// The graduate.
    pub graduate_id: i64,
    /// The language.
    pub language: Language,
    /// Why.
    pub kind: OrderKind,
    /// The reason of a reissue.
    pub reason: &'a str,
    /// The day of collection or application.
    pub requested_on: Date,
    /// The due day.
    pub due_on: Date,
    /// Who recorded it.
    pub actor: &'a str,
    /// When it was recorded.
    pub at: i64,
}

/// The status of an issued file, as the registry knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertificateStatus {
    /// The newest version.
    Current,
    /// A newer version was issued.
    Superseded,
    /// Revoked.
    Revoked,
}

impl CertificateStatus {
    /// The code stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            CertificateStatus::Current => "current",
            CertificateStatus::Superseded => "superseded",
            CertificateStatus::Revoked => "revoked",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "current" => Ok(CertificateStatus::Current),
            "superseded" => Ok(CertificateStatus::Superseded),
            "revoked" => Ok(CertificateStatus::Revoked),
            other => Err(StoreError::Corrupt { what: "certificate status", detail: other.to_owned() }),
        }
    }
}

/// An issued certificate, without its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateInfo {
    /// The row id.
    pub id: i64,
    /// The graduate's row.
    pub graduate_id: i64,
    /// Its language.
    pub language: Language,
    /// Its version.
    pub version: u32,
    /// The certificate number.
    pub number: String,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// SHA-256 of the previous version's file.
    pub previous_sha256: Option<String>,
    /// The file's size in bytes.
    pub size: i64,
    /// When it was issued.
    pub issued_at: i64,
    /// Current, superseded or revoked.
    pub status: CertificateStatus,
    /// The reason of a revocation or reissue.
    pub status_reason: Option<String>,
    /// Emails sent / queued / failed for this file.
    pub delivery: DeliveryCounts,
}

/// How the emails of a certificate stand.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    /// Sent.
    pub sent: i64,
    /// Waiting or retrying.
    pub pending: i64,
    /// Given up after every retry.
    pub failed: i64,
}

/// A certificate the worker has rendered and signed, to be stored with everything that goes with it.
#[derive(Clone, Debug)]
pub struct IssuedFile<'a> {
    /// The order it fulfils.
    pub order_id: i64,
    /// The certificate number.
    pub number: &'a str,
    /// The exact bytes of the file.
    pub file: &'a [u8],
    /// SHA-256 of the file, lowercase hex.
    pub sha256: &'a str,
    /// SHA-256 of the previous version, for a reissue.
    pub previous_sha256: Option<&'a str>,
    /// The registry submission (JSON) to queue.
    pub registry_payload: String,
    /// The emails to queue.
    pub emails: Vec<NewEmail>,
    /// The time of issuance.
    pub at: i64,
}

/// An email to queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEmail {
    /// What it is: `certificate` (with the file attached) or `confirm_address`.
    pub kind: String,
    /// The recipient.
    pub to: String,
    /// The subject (Chinese and English).
    pub subject: String,
    /// The plain-text body (Chinese and English).
    pub body: String,
}

/// A queued email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxMessage {
    /// The row id.
    pub id: i64,
    /// The certificate attached, if any.
    pub certificate_id: Option<i64>,
    /// The kind.
    pub kind: String,
    /// The recipient.
    pub to: String,
    /// The subject.
    pub subject: String,
    /// The body.
    pub body: String,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// When the next attempt is due.
    pub next_attempt_at: i64,
    /// The last error.
    pub last_error: Option<String>,
    /// When it was sent.
    pub sent_at: Option<i64>,
    /// When it was queued.
    pub created_at: i64,
}

/// An entry of an email's delivery log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryEvent {
    /// When.
    pub at: i64,
    /// `queued`, `sent`, `retry`, `failed`.
    pub event: String,
    /// The server's answer or the error.
    pub detail: String,
}

/// A registry submission waiting to be sent to the Ministry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrySubmission {
    /// The row id.
    pub id: i64,
    /// The JSON payload.
    pub payload: String,
    /// Attempts made.
    pub attempts: i64,
}

/// A record of the (Ministry's) registry: an issued file or a change of its status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryRecord {
    /// The institution's id in the trust list.
    pub institution: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// `issued`, `superseded` or `revoked`.
    pub event: String,
    /// The certificate number.
    pub number: String,
    /// The language of the file, `zh` or `en`.
    pub language: String,
    /// The version.
    pub version: i64,
    /// SHA-256 of the previous version.
    pub previous_sha256: Option<String>,
    /// `degree` or `teacher`.
    pub credential_type: String,
    /// The reason of a revocation.
    pub reason: Option<String>,
    /// When it was recorded.
    pub at: i64,
}

/// An entry of the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// When.
    pub at: i64,
    /// Who: a staff username, a student number, or `worker`.
    pub actor: String,
    /// Their role.
    pub role: String,
    /// What, e.g. `record_collection`.
    pub action: String,
    /// On what, e.g. `graduate:12`.
    pub target: String,
    /// Details (no personal data beyond ids).
    pub detail: String,
    /// From where (IP address).
    pub ip: String,
}

/// A filter of the audit log.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Only this actor.
    pub actor: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Only entries at or after this time.
    pub since: Option<i64>,
    /// At most this many, newest first.
    pub limit: i64,
}

/// A signed-in session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// `staff` or `graduate`.
    pub kind: String,
    /// The staff id or the student number.
    pub subject: String,
    /// The CSRF token of the session's forms.
    pub csrf: String,
    /// When it expires.
    pub expires_at: i64,
}

/// A report correction request from a graduate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Correction {
    /// The row id.
    pub id: i64,
    /// The graduate's row.
    pub graduate_id: i64,
    /// 學號.
    pub student_number: String,
    /// The campus.
    pub campus: String,
    /// What the graduate wrote.
    pub message: String,
    /// When.
    pub created_at: i64,
    /// When a member of staff marked it done.
    pub resolved_at: Option<i64>,
}

/// One campus's line of the dashboard.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CampusCounts {
    /// The campus code.
    pub campus: String,
    /// Graduates who have not confirmed their data.
    pub unconfirmed: i64,
    /// Open orders due today or later.
    pub due: i64,
    /// Open orders past their due day.
    pub overdue: i64,
    /// Certificates issued.
    pub issued: i64,
    /// Certificates whose every email was sent.
    pub delivered: i64,
    /// Certificates with an email that failed for good.
    pub failed: i64,
}

/// The path of a SQLite database URL's file, if it names one (not `:memory:`).
fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:") && !url.contains("mode=memory")).then(|| path.into())
}

/// Creates a SQLite database's file readable by its owner only (0600), or makes an existing one
/// so, with its journal files: the database holds personal data and session hashes. SQLite
/// gives the `-wal` and `-shm` files it creates later the database file's permissions.
fn private_sqlite_files(url: &str) -> Result<()> {
    let Some(path) = sqlite_path(url) else { return Ok(()) };
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let io = |path: &std::path::Path, source| StoreError::File { path: path.to_owned(), source };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(false).mode(0o600);
        options.open(&path).map_err(|e| io(&path, e))?;
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            if file.exists() {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(|e| io(&file, e))?;
            }
        }
    }
    Ok(())
}

impl Store {
    /// Opens the database at `url` (`sqlite://PATH`, `sqlite::memory:`, `postgres://...`) and migrates it.
    pub async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let options = AnyPoolOptions::new().max_connections(match backend {
            // One writer at a time is what SQLite allows anyway; a few readers beside it.
            Backend::Sqlite => 4,
            Backend::Postgres => 8,
        });
        let options = if backend == Backend::Sqlite {
            options.after_connect(|conn, _| {
                Box::pin(async move {
                    use sqlx::Executor;
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    Ok(())
                })
            })
        } else {
            options
        };
        let url = if backend == Backend::Sqlite && !url.contains("mode=") && !url.contains(":memory:") {
            if url.contains('?') { format!("{url}&mode=rwc") } else { format!("{url}?mode=rwc") }
        } else {
            url.to_owned()
        };
        if backend == Backend::Sqlite {
            private_sqlite_files(&url)?;
        }
        let pool = options.connect(&url).await?;
        let store = Store { pool, backend };
        store.migrate().await?;
        Ok(store)
    }

    /// A transaction that will write. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`): a transaction that reads first and writes later could otherwise fail with
    /// "database is locked" when another one wrote in between, whatever the busy timeout.
    async fn write_tx(&self) -> Result<Tx<'static>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs one raw SQL statement and returns the rows it changed: for maintenance by an operator.
    pub async fn execute(&self, statement: &str) -> Result<u64> {
        Ok(sqlx::query(AssertSqlSafe(statement.to_owned())).execute(&self.pool).await?.rows_affected())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn migrate(&self) -> Result<()> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations \
             (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        let applied: Option<i64> =
            sqlx::query("SELECT MAX(version) AS v FROM schema_migrations").fetch_one(&self.pool).await?.try_get(0)?;
        let applied = applied.unwrap_or(0);
        let known = schema::MIGRATIONS.last().map_or(0, |m| m.version);
        if applied > known {
            return Err(StoreError::SchemaTooNew { found: applied, known });
        }
        for migration in schema::MIGRATIONS.iter().filter(|m| m.version > applied) {
            let mut tx = self.write_tx().await?;
            let specific = match self.backend {
                Backend::Sqlite => migration.sqlite_only,
                Backend::Postgres => migration.postgres_only,
            };
            for statement in migration.statements.iter().chain(specific) {
                sqlx::query(AssertSqlSafe(schema::dialect(statement, self.backend))).execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, 0)")
                .bind(migration.version)
                .bind(migration.name)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    // ----- settings and campuses -----

    /// A setting's value.
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Sets a setting.
    pub async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Adds or updates a campus.
    pub async fn upsert_campus(&self, c: &Campus) -> Result<()> {
        sqlx::query(
            "INSERT INTO campuses (code, position, name_zh, name_en, office_zh, office_en, extensions) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (code) DO UPDATE SET position = excluded.position, \
             name_zh = excluded.name_zh, name_en = excluded.name_en, office_zh = excluded.office_zh, \
             office_en = excluded.office_en, extensions = excluded.extensions",
        )
        .bind(&c.code)
        .bind(c.position)
        .bind(&c.name_zh)
        .bind(&c.name_en)
        .bind(&c.office_zh)
        .bind(&c.office_en)
        .bind(&c.extensions)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every campus, in order.
    pub async fn campuses(&self) -> Result<Vec<Campus>> {
        let rows = sqlx::query(
            "SELECT code, position, name_zh, name_en, office_zh, office_en, extensions FROM campuses \
             ORDER BY position, code",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Campus {
                    code: r.try_get(0)?,
                    position: r.try_get(1)?,
                    name_zh: r.try_get(2)?,
                    name_en: r.try_get(3)?,
                    office_zh: r.try_get(4)?,
                    office_en: r.try_get(5)?,
                    extensions: r.try_get(6)?,
                })
            })
            .collect()
    }

    // ----- accounts and sessions -----

    /// Creates a staff account; a taken username is a conflict.
    pub async fn create_staff(
        &self,
        username: &str,
        display_name: &str,
        password_hash: &str,
        role: Role,
        campus: Option<&str>,
        at: i64,
    ) -> Result<i64> {
        if (role == Role::CampusOffice) != campus.is_some() {
            return Err(StoreError::Conflict("a campus office account needs a campus, and only it".into()));
        }
        let taken = sqlx::query("SELECT 1 FROM staff WHERE username = $1").bind(username).fetch_optional(&self.pool);
        if taken.await?.is_some() {
            return Err(StoreError::Conflict(format!("the username {username} is taken")));
        }
        let row = sqlx::query(
            "INSERT INTO staff (username, display_name, password_hash, role, campus, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(username)
        .bind(display_name)
        .bind(password_hash)
        .bind(role.code())
        .bind(campus)
        .bind(at)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// A staff account by its username.
    pub async fn staff_by_username(&self, username: &str) -> Result<Option<Staff>> {
        let row = sqlx::query(
            "SELECT id, username, display_name, password_hash, role, campus FROM staff WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(staff_row).transpose()
    }

    /// A staff account by its id.
    pub async fn staff_by_id(&self, id: i64) -> Result<Option<Staff>> {
        let row =
            sqlx::query("SELECT id, username, display_name, password_hash, role, campus FROM staff WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(staff_row).transpose()
    }

    /// Every staff account.
    pub async fn staff(&self) -> Result<Vec<Staff>> {
        let rows = sqlx::query("SELECT id, username, display_name, password_hash, role, campus FROM staff ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(staff_row).collect()
    }

    /// Sets (or replaces) a graduate's password hash.
    pub async fn set_graduate_password(&self, student_number: &str, hash: &str, at: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO graduate_accounts (student_number, password_hash, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (student_number) DO UPDATE SET password_hash = excluded.password_hash",
        )
        .bind(student_number)
        .bind(hash)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A graduate's password hash.
    pub async fn graduate_password(&self, student_number: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT password_hash FROM graduate_accounts WHERE student_number = $1")
            .bind(student_number)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Stores a session under the hash of its token.
    pub async fn create_session(&self, token_hash: &str, session: &Session, at: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, kind, subject, csrf, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(&session.kind)
        .bind(&session.subject)
        .bind(&session.csrf)
        .bind(at)
        .bind(session.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The session of a token hash, unless it has expired.
    pub async fn session(&self, token_hash: &str, now: i64) -> Result<Option<Session>> {
        let row = sqlx::query(
            "SELECT kind, subject, csrf, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(Session { kind: r.try_get(0)?, subject: r.try_get(1)?, csrf: r.try_get(2)?, expires_at: r.try_get(3)? })
        })
        .transpose()
    }

    /// Ends a session, and every expired one.
    pub async fn delete_session(&self, token_hash: &str, now: i64) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1 OR expires_at <= $2")
            .bind(token_hash)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ----- graduates -----

    /// Inserts or updates graduates by (student number, term), all rows or none.
    pub async fn import_graduates(&self, rows: &[ImportRow], at: i64) -> Result<ImportSummary> {
        let mut summary = ImportSummary::default();
        let mut tx = self.write_tx().await?;
        for row in rows {
            let record = serde_json::to_string(&row.record).map_err(|e| corrupt("record", e))?;
            let term = row.record.graduation_term.to_string();
            let existing = sqlx::query(
                "SELECT id, record, campus, school_email, permanent_email, mid_term FROM graduates \
                 WHERE student_number = $1 AND term = $2",
            )
            .bind(&row.record.student_number)
            .bind(&term)
            .fetch_optional(&mut *tx)
            .await?;
            let mid_term = i64::from(row.mid_term);
            match existing {
                None => {
                    sqlx::query(
                        "INSERT INTO graduates (student_number, term, campus, record, name_zh, department_zh, \
                         school_email, permanent_email, mid_term, confirmed_at, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10, $10)",
                    )
                    .bind(&row.record.student_number)
                    .bind(&term)
                    .bind(&row.campus)
                    .bind(&record)
                    .bind(&row.record.name_zh)
                    .bind(&row.record.department_zh)
                    .bind(&row.school_email)
                    .bind(&row.permanent_email)
                    .bind(mid_term)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    summary.inserted += 1;
                }
                Some(old) => {
                    let id: i64 = old.try_get(0)?;
                    let old_record: String = old.try_get(1)?;
                    let old_campus: String = old.try_get(2)?;
                    let old_school: String = old.try_get(3)?;
                    let old_mid: i64 = old.try_get(5)?;
                    if old_record == record
                        && old_campus == row.campus
                        && old_school == row.school_email
                        && old_mid == mid_term
                    {
                        summary.unchanged += 1;
                        continue;
                    }
                    // The permanent address belongs to the graduate once stored: an import
                    // fills it only when empty.
                    sqlx::query(
                        "UPDATE graduates SET campus = $1, record = $2, name_zh = $3, department_zh = $4, \
                         school_email = $5, permanent_email = COALESCE(permanent_email, $6), mid_term = $7, \
                         confirmed_at = CASE WHEN record = $2 THEN confirmed_at ELSE NULL END, updated_at = $8 \
                         WHERE id = $9",
                    )
                    .bind(&row.campus)
                    .bind(&record)
                    .bind(&row.record.name_zh)
                    .bind(&row.record.department_zh)
                    .bind(&row.school_email)
                    .bind(&row.permanent_email)
                    .bind(mid_term)
                    .bind(at)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    summary.updated += 1;
                }
            }
        }
        tx.commit().await?;
        Ok(summary)
    }

    /// A graduate by row id.
    pub async fn graduate(&self, id: i64) -> Result<Option<Graduate>> {
        let row = sqlx::query(AssertSqlSafe(format!("{GRADUATE_SELECT} WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(graduate_row).transpose()
    }

    /// Every term's record of a student number, newest term first.
    pub async fn graduate_terms(&self, student_number: &str) -> Result<Vec<Graduate>> {
        let rows =
            sqlx::query(AssertSqlSafe(format!("{GRADUATE_SELECT} WHERE student_number = $1 ORDER BY term DESC")))
                .bind(student_number)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(graduate_row).collect()
    }

    /// Graduates by student numbers (for a list of collections), with the unknown numbers.
    pub async fn graduates_by_number(&self, numbers: &[String]) -> Result<(Vec<Graduate>, Vec<String>)> {
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for n in numbers {
            let row = sqlx::query(AssertSqlSafe(format!(
                "{GRADUATE_SELECT} WHERE student_number = $1 ORDER BY term DESC LIMIT 1"
            )))
            .bind(n)
            .fetch_optional(&self.pool)
            .await?;
            match row {
                Some(r) => found.push(graduate_row(&r)?),
                None => missing.push(n.clone()),
            }
        }
        Ok((found, missing))
    }

    /// The console's list of graduates.
    pub async fn list_graduates(&self, filter: &GraduateFilter) -> Result<Vec<GraduateSummary>> {
        let search = filter.search.as_deref().map(|s| format!("%{}%", s.replace(['%', '_'], "")));
        let rows = sqlx::query(
            "SELECT g.id, g.student_number, g.term, g.campus, g.name_zh, g.department_zh, g.confirmed_at, \
             (SELECT COUNT(*) FROM certificates c WHERE c.graduate_id = g.id), \
             (SELECT COUNT(*) FROM orders o WHERE o.graduate_id = g.id AND o.certificate_id IS NULL \
                AND o.cancelled_at IS NULL) \
             FROM graduates g WHERE ($1 IS NULL OR g.campus = $1) AND ($2 IS NULL OR g.term = $2) \
             AND ($3 IS NULL OR g.student_number LIKE $3 OR g.name_zh LIKE $3) \
             ORDER BY g.term DESC, g.student_number LIMIT $4",
        )
        .bind(filter.campus.as_deref())
        .bind(filter.term.as_deref())
        .bind(search.as_deref())
        .bind(if filter.limit > 0 { filter.limit } else { 200 })
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(GraduateSummary {
                    id: r.try_get(0)?,
                    student_number: r.try_get(1)?,
                    term: r.try_get(2)?,
                    campus: r.try_get(3)?,
                    name_zh: r.try_get(4)?,
                    department_zh: r.try_get(5)?,
                    confirmed: r.try_get::<Option<i64>, _>(6)?.is_some(),
                    certificates: r.try_get(7)?,
                    open_orders: r.try_get(8)?,
                })
            })
            .collect()
    }

    /// The graduate confirms the data and addresses.
    pub async fn confirm_graduate(&self, id: i64, at: i64) -> Result<()> {
        let done = sqlx::query("UPDATE graduates SET confirmed_at = $1 WHERE id = $2 AND confirmed_at IS NULL")
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 && self.graduate(id).await?.is_none() {
            return Err(StoreError::NotFound("graduate"));
        }
        Ok(())
    }

    /// Starts a change of the permanent address: the new address waits for its link.
    pub async fn start_email_change(&self, graduate_id: i64, address: &str, token_hash: &str, at: i64) -> Result<()> {
        sqlx::query("INSERT INTO email_changes (graduate_id, address, token_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(graduate_id)
            .bind(address)
            .bind(token_hash)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The address waiting for confirmation, if any.
    pub async fn pending_email_change(&self, graduate_id: i64) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT address FROM email_changes WHERE graduate_id = $1 AND confirmed_at IS NULL \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(graduate_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Confirms an address change by the hash of its link's token, if the link is not older than
    /// `max_age` seconds and is the newest one of that graduate. Returns the graduate and the address.
    pub async fn confirm_email_change(
        &self,
        token_hash: &str,
        now: i64,
        max_age: i64,
    ) -> Result<Option<(i64, String)>> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "SELECT e.id, e.graduate_id, e.address FROM email_changes e WHERE e.token_hash = $1 \
             AND e.confirmed_at IS NULL AND e.created_at >= $2 \
             AND e.id = (SELECT MAX(id) FROM email_changes WHERE graduate_id = e.graduate_id)",
        )
        .bind(token_hash)
        .bind(now - max_age)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let (id, graduate_id, address): (i64, i64, String) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        sqlx::query("UPDATE email_changes SET confirmed_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE graduates SET permanent_email = $1, updated_at = $2 WHERE id = $3")
            .bind(&address)
            .bind(now)
            .bind(graduate_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some((graduate_id, address)))
    }

    /// A graduate asks the registrar to correct the data.
    pub async fn add_correction(&self, graduate_id: i64, message: &str, at: i64) -> Result<i64> {
        let row =
            sqlx::query("INSERT INTO corrections (graduate_id, message, created_at) VALUES ($1, $2, $3) RETURNING id")
                .bind(graduate_id)
                .bind(message)
                .bind(at)
                .fetch_one(&self.pool)
                .await?;
        Ok(row.try_get(0)?)
    }

    /// Correction requests, open ones first, of one campus or all.
    pub async fn corrections(&self, campus: Option<&str>) -> Result<Vec<Correction>> {
        let rows = sqlx::query(
            "SELECT c.id, c.graduate_id, g.student_number, g.campus, c.message, c.created_at, c.resolved_at \
             FROM corrections c JOIN graduates g ON g.id = c.graduate_id WHERE ($1 IS NULL OR g.campus = $1) \
             ORDER BY (c.resolved_at IS NULL) DESC, c.id DESC LIMIT 500",
        )
        .bind(campus)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Correction {
                    id: r.try_get(0)?,
                    graduate_id: r.try_get(1)?,
                    student_number: r.try_get(2)?,
                    campus: r.try_get(3)?,
                    message: r.try_get(4)?,
                    created_at: r.try_get(5)?,
                    resolved_at: r.try_get(6)?,
                })
            })
            .collect()
    }

    /// Marks a correction request done; returns its graduate.
    pub async fn resolve_correction(&self, id: i64, by: &str, at: i64) -> Result<i64> {
        let row = sqlx::query(
            "UPDATE corrections SET resolved_at = $1, resolved_by = $2 WHERE id = $3 AND resolved_at IS NULL \
             RETURNING graduate_id",
        )
        .bind(at)
        .bind(by)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let row = row.ok_or(StoreError::NotFound("open correction"))?;
        Ok(row.try_get(0)?)
    }

    // ----- calendar -----

    /// The calendar's exceptions to Monday–Friday.
    pub async fn calendar(&self) -> Result<Vec<DayOverride>> {
        let rows = sqlx::query("SELECT day, workday, note FROM calendar ORDER BY day").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let day: String = r.try_get(0)?;
                Ok(DayOverride {
                    date: day.parse().map_err(|e| corrupt("calendar day", e))?,
                    workday: r.try_get::<i64, _>(1)? != 0,
                    note: r.try_get(2)?,
                })
            })
            .collect()
    }

    /// Adds or replaces days of the calendar, all or none.
    pub async fn upsert_calendar(&self, days: &[DayOverride]) -> Result<()> {
        let mut tx = self.write_tx().await?;
        for d in days {
            sqlx::query(
                "INSERT INTO calendar (day, workday, note) VALUES ($1, $2, $3) \
                 ON CONFLICT (day) DO UPDATE SET workday = excluded.workday, note = excluded.note",
            )
            .bind(d.date.to_string())
            .bind(i64::from(d.workday))
            .bind(&d.note)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Removes a day's exception (it becomes an ordinary weekday or weekend day).
    pub async fn delete_calendar_day(&self, day: Date) -> Result<bool> {
        let done = sqlx::query("DELETE FROM calendar WHERE day = $1").bind(day.to_string()).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    // ----- orders and certificates -----

    /// Records an order. The version is the next one of that graduate and language; a first
    /// certificate already ordered is a conflict, and so is a reissue before the first is issued.
    pub async fn create_order(&self, new: &NewOrder<'_>) -> Result<Order> {
        let mut tx = self.write_tx().await?;
        let latest = sqlx::query("SELECT MAX(version) FROM orders WHERE graduate_id = $1 AND language = $2")
            .bind(new.graduate_id)
            .bind(new.language.code())
            .fetch_one(&mut *tx)
            .await?;
        let latest: Option<i64> = latest.try_get(0)?;
        let open: i64 = sqlx::query(
            "SELECT COUNT(*) FROM orders WHERE graduate_id = $1 AND language = $2 AND certificate_id IS NULL \
             AND cancelled_at IS NULL",
        )
        .bind(new.graduate_id)
        .bind(new.language.code())
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let revoked: i64 = sqlx::query(
            "SELECT COUNT(*) FROM certificates WHERE graduate_id = $1 AND language = $2 AND status = 'revoked'",
        )
        .bind(new.graduate_id)
        .bind(new.language.code())
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        if revoked > 0 {
            return Err(StoreError::Conflict("the certificate in that language was revoked".into()));
        }
        let version = match (new.kind, latest) {
            (OrderKind::Reissue, None) => {
                return Err(StoreError::Conflict("nothing to reissue: no certificate in that language yet".into()));
            }
            (OrderKind::Reissue, Some(_)) if open > 0 => {
                return Err(StoreError::Conflict(
                    "a certificate in that language is still waiting to be issued".into(),
                ));
            }
            (OrderKind::Reissue, Some(v)) => v + 1,
            (_, Some(_)) => {
                return Err(StoreError::Conflict("already recorded for that language".into()));
            }
            (_, None) => 1,
        };
        let row = sqlx::query(
            "INSERT INTO orders (graduate_id, language, version, kind, reason, requested_on, due_on, created_by, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(new.graduate_id)
        .bind(new.language.code())
        .bind(version)
        .bind(new.kind.code())
        .bind(new.reason)
        .bind(new.requested_on.to_string())
        .bind(new.due_on.to_string())
        .bind(new.actor)
        .bind(new.at)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match e {
            // Two clerks recording the same order at once: the second one is told so.
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                StoreError::Conflict("already recorded for that language".into())
            }
            other => other.into(),
        })?;
        let id: i64 = row.try_get(0)?;
        tx.commit().await?;
        self.order(id).await?.ok_or(StoreError::NotFound("order"))
    }

    /// An order by id.
    pub async fn order(&self, id: i64) -> Result<Option<Order>> {
        let row = sqlx::query(AssertSqlSafe(format!("{ORDER_SELECT} WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(order_row).transpose()
    }

    /// Every order of a graduate.
    pub async fn orders_for_graduate(&self, graduate_id: i64) -> Result<Vec<Order>> {
        let rows =
            sqlx::query(AssertSqlSafe(format!("{ORDER_SELECT} WHERE graduate_id = $1 ORDER BY language, version")))
                .bind(graduate_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(order_row).collect()
    }

    /// Open orders whose graduate has confirmed, oldest due first, with terms from `first_term`
    /// on (or every term when `alumni_open`).
    pub async fn issuable_orders(&self, first_term: Term, alumni_open: bool, limit: i64) -> Result<Vec<Order>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{ORDER_SELECT} WHERE certificate_id IS NULL AND cancelled_at IS NULL AND graduate_id IN \
             (SELECT id FROM graduates WHERE confirmed_at IS NOT NULL) ORDER BY due_on, id LIMIT $1"
        )))
        .bind(limit.saturating_mul(4).max(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let order = order_row(r)?;
            if !alumni_open {
                let g = self.graduate(order.graduate_id).await?.ok_or(StoreError::NotFound("graduate"))?;
                if g.term() < first_term {
                    continue;
                }
            }
            out.push(order);
            if out.len() as i64 >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Notes a failed attempt to issue an order.
    pub async fn order_failed(&self, order_id: i64, error: &str) -> Result<()> {
        sqlx::query("UPDATE orders SET last_error = $1 WHERE id = $2")
            .bind(error)
            .bind(order_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores an issued file with everything that goes with it, in one transaction: the
    /// certificate, the order closed, the previous version superseded, the registry submission,
    /// the emails, the audit entry. Returns `None` when the order was already fulfilled (another
    /// worker got there first), and then changes nothing.
    pub async fn store_issued(&self, issued: &IssuedFile<'_>) -> Result<Option<CertificateInfo>> {
        let mut tx = self.write_tx().await?;
        // On PostgreSQL, lock the order row: a second worker storing the same order waits here,
        // then sees it fulfilled. (SQLite's IMMEDIATE transaction already serializes writers.)
        let lock = if self.backend == Backend::Postgres { " FOR UPDATE" } else { "" };
        let order = sqlx::query(AssertSqlSafe(format!("{ORDER_SELECT} WHERE id = $1{lock}")))
            .bind(issued.order_id)
            .fetch_optional(&mut *tx)
            .await?;
        let order = order_row(&order.ok_or(StoreError::NotFound("order"))?)?;
        if !order.is_open() {
            return Ok(None);
        }
        let reason = (order.kind == OrderKind::Reissue).then_some(order.reason.as_str());
        let superseded = sqlx::query(
            "UPDATE certificates SET status = 'superseded', status_reason = $1, status_at = $2 \
             WHERE graduate_id = $3 AND language = $4 AND status = 'current'",
        )
        .bind(reason)
        .bind(issued.at)
        .bind(order.graduate_id)
        .bind(order.language.code())
        .execute(&mut *tx)
        .await?;
        if superseded.rows_affected() > 0 && order.version == 1 {
            return Err(StoreError::Conflict("a first version cannot supersede another".into()));
        }
        // The superseded version's emails not yet sent would deliver an outdated file.
        withdraw_unsent_emails(&mut tx, order.graduate_id, order.language.code(), "superseded", issued.at).await?;
        let row = sqlx::query(
            "INSERT INTO certificates (graduate_id, language, version, number, sha256, previous_sha256, file, size, \
             issued_at, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'current') RETURNING id",
        )
        .bind(order.graduate_id)
        .bind(order.language.code())
        .bind(i64::from(order.version))
        .bind(issued.number)
        .bind(issued.sha256)
        .bind(issued.previous_sha256)
        .bind(issued.file)
        .bind(issued.file.len() as i64)
        .bind(issued.at)
        .fetch_one(&mut *tx)
        .await?;
        let certificate_id: i64 = row.try_get(0)?;
        sqlx::query("UPDATE orders SET certificate_id = $1, last_error = NULL WHERE id = $2")
            .bind(certificate_id)
            .bind(order.id)
            .execute(&mut *tx)
            .await?;
        queue_registry(&mut tx, &issued.registry_payload, issued.at).await?;
        for email in &issued.emails {
            queue_email(&mut tx, Some(certificate_id), email, issued.at).await?;
        }
        append_audit(
            &mut tx,
            &AuditEntry {
                at: issued.at,
                actor: "worker".into(),
                role: "system".into(),
                action: "issue_certificate".into(),
                target: format!("graduate:{}", order.graduate_id),
                detail: format!(
                    "{} {} v{} sha256 {}",
                    issued.number,
                    order.language.code(),
                    order.version,
                    issued.sha256
                ),
                ip: "-".into(),
            },
        )
        .await?;
        tx.commit().await?;
        self.certificate(certificate_id).await
    }

    /// A certificate's information.
    pub async fn certificate(&self, id: i64) -> Result<Option<CertificateInfo>> {
        let row = sqlx::query(AssertSqlSafe(format!("{CERT_SELECT} WHERE c.id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(certificate_row).transpose()
    }

    /// Every certificate of a graduate (every language and version).
    pub async fn certificates_for_graduate(&self, graduate_id: i64) -> Result<Vec<CertificateInfo>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{CERT_SELECT} WHERE c.graduate_id = $1 ORDER BY c.language DESC, c.version DESC"
        )))
        .bind(graduate_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(certificate_row).collect()
    }

    /// The newest certificate of a graduate in a language.
    pub async fn latest_certificate(&self, graduate_id: i64, language: Language) -> Result<Option<CertificateInfo>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "{CERT_SELECT} WHERE c.graduate_id = $1 AND c.language = $2 ORDER BY c.version DESC LIMIT 1"
        )))
        .bind(graduate_id)
        .bind(language.code())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(certificate_row).transpose()
    }

    /// The exact bytes of a certificate file.
    pub async fn certificate_file(&self, id: i64) -> Result<Vec<u8>> {
        let row =
            sqlx::query("SELECT file FROM certificates WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        Ok(row.ok_or(StoreError::NotFound("certificate"))?.try_get(0)?)
    }

    /// Revokes a certificate with a reason, as the registry does: every version in that language,
    /// with the orders still open cancelled and the emails not yet sent withdrawn, and the
    /// registry's status change queued, in one transaction.
    pub async fn revoke_certificate(&self, id: i64, reason: &str, registry_payload: &str, at: i64) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query("SELECT graduate_id, language, status FROM certificates WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound("certificate"))?;
        let (graduate_id, language, status): (i64, String, String) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        if status == "revoked" {
            return Err(StoreError::Conflict("the certificate is already revoked".into()));
        }
        sqlx::query(
            "UPDATE certificates SET status = 'revoked', status_reason = $1, status_at = $2 \
             WHERE graduate_id = $3 AND language = $4 AND status <> 'revoked'",
        )
        .bind(reason)
        .bind(at)
        .bind(graduate_id)
        .bind(&language)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE orders SET cancelled_at = $1 WHERE graduate_id = $2 AND language = $3 \
             AND certificate_id IS NULL AND cancelled_at IS NULL",
        )
        .bind(at)
        .bind(graduate_id)
        .bind(&language)
        .execute(&mut *tx)
        .await?;
        withdraw_unsent_emails(&mut tx, graduate_id, &language, "revoked", at).await?;
        queue_registry(&mut tx, registry_payload, at).await?;
        tx.commit().await?;
        Ok(())
    }

    // ----- email outbox -----

    /// Queues emails outside an issuance (a resend, an address confirmation).
    ///
    /// Emails with a certificate are queued only while it is current, checked in the same
    /// transaction (its row locked on PostgreSQL): a resend racing a reissue sends no outdated file.
    pub async fn queue_emails(&self, certificate_id: Option<i64>, emails: &[NewEmail], at: i64) -> Result<()> {
        let mut tx = self.write_tx().await?;
        if let Some(id) = certificate_id {
            let lock = if self.backend == Backend::Postgres { " FOR UPDATE" } else { "" };
            let row = sqlx::query(AssertSqlSafe(format!("SELECT status FROM certificates WHERE id = $1{lock}")))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound("certificate"))?;
            let status: String = row.try_get(0)?;
            if status != "current" {
                return Err(StoreError::Conflict("the certificate is no longer current".into()));
            }
        }
        for email in emails {
            queue_email(&mut tx, certificate_id, email, at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Emails due for an attempt.
    pub async fn due_emails(&self, now: i64, limit: i64) -> Result<Vec<OutboxMessage>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{OUTBOX_SELECT} WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2"
        )))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(outbox_row).collect()
    }

    /// The outbox, newest first, optionally of one certificate.
    pub async fn emails(&self, certificate_id: Option<i64>, limit: i64) -> Result<Vec<OutboxMessage>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{OUTBOX_SELECT} WHERE ($1 IS NULL OR certificate_id = $1) ORDER BY id DESC LIMIT $2"
        )))
        .bind(certificate_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(outbox_row).collect()
    }

    /// One email.
    pub async fn email(&self, id: i64) -> Result<Option<OutboxMessage>> {
        let row = sqlx::query(AssertSqlSafe(format!("{OUTBOX_SELECT} WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(outbox_row).transpose()
    }

    /// Marks an email sent (only if it was still pending: a message is never sent twice by the
    /// store's account). Returns whether this call marked it.
    pub async fn email_sent(&self, id: i64, detail: &str, at: i64) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE outbox SET status = 'sent', sent_at = $1, attempts = attempts + 1, last_error = NULL \
             WHERE id = $2 AND status = 'pending'",
        )
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() > 0 {
            log_delivery(&mut tx, id, at, "sent", detail).await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Notes a failed attempt: the email is retried at `retry_at`, or fails for good when `None`.
    pub async fn email_attempt_failed(&self, id: i64, error: &str, retry_at: Option<i64>, at: i64) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, status = $3 \
             WHERE id = $4 AND status = 'pending'",
        )
        .bind(error)
        .bind(retry_at.unwrap_or(at))
        .bind(if retry_at.is_some() { "pending" } else { "failed" })
        .bind(id)
        .execute(&mut *tx)
        .await?;
        log_delivery(&mut tx, id, at, if retry_at.is_some() { "retry" } else { "failed" }, error).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The delivery log of an email.
    pub async fn delivery_log(&self, outbox_id: i64) -> Result<Vec<DeliveryEvent>> {
        let rows = sqlx::query("SELECT at, event, detail FROM delivery_log WHERE outbox_id = $1 ORDER BY id")
            .bind(outbox_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok(DeliveryEvent { at: r.try_get(0)?, event: r.try_get(1)?, detail: r.try_get(2)? }))
            .collect()
    }

    // ----- registry submissions -----

    /// Registry submissions not yet accepted, oldest first.
    pub async fn due_registry_submissions(&self, now: i64, limit: i64) -> Result<Vec<RegistrySubmission>> {
        let rows = sqlx::query(
            "SELECT id, payload, attempts FROM registry_outbox WHERE submitted_at IS NULL AND next_attempt_at <= $1 \
             ORDER BY id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(RegistrySubmission { id: r.try_get(0)?, payload: r.try_get(1)?, attempts: r.try_get(2)? }))
            .collect()
    }

    /// Notes that the registry accepted a submission.
    pub async fn registry_submitted(&self, id: i64, at: i64) -> Result<()> {
        sqlx::query("UPDATE registry_outbox SET submitted_at = $1, attempts = attempts + 1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Notes a failed submission, to retry at `retry_at`.
    pub async fn registry_failed(&self, id: i64, error: &str, retry_at: i64) -> Result<()> {
        sqlx::query(
            "UPDATE registry_outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 WHERE id = $3",
        )
        .bind(error)
        .bind(retry_at)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The number of submissions the registry has not accepted yet.
    pub async fn registry_backlog(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) FROM registry_outbox WHERE submitted_at IS NULL")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }

    /// Appends a record to the registry (the Ministry's side). A record already there (same file,
    /// same event) is accepted again without change: submission is idempotent.
    pub async fn append_registry_record(&self, r: &RegistryRecord) -> Result<bool> {
        Ok(ministry::insert_registry_record(&self.pool, r, ministry::Duplicate::Ignore).await? > 0)
    }

    /// Every registry record of a file, oldest first.
    pub async fn registry_records(&self, sha256: &str) -> Result<Vec<RegistryRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!("{REGISTRY_SELECT} WHERE sha256 = $1 ORDER BY id")))
            .bind(sha256)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(registry_row).collect()
    }

    /// The registry's records, oldest first, from record number `after` on (for a full copy).
    pub async fn registry_log(&self, after: i64, limit: i64) -> Result<Vec<(i64, RegistryRecord)>> {
        let rows = sqlx::query(AssertSqlSafe(format!("{REGISTRY_SELECT} WHERE id > $1 ORDER BY id LIMIT $2")))
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get(10)?, registry_row(r)?))).collect()
    }

    // ----- audit log, templates, dashboard -----

    /// Appends to the audit log.
    pub async fn audit(&self, entry: &AuditEntry) -> Result<()> {
        let mut tx = self.write_tx().await?;
        append_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Reads the audit log, newest first.
    pub async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT at, actor, role, action, target, detail, ip FROM audit_log WHERE ($1 IS NULL OR actor = $1) \
             AND ($2 IS NULL OR action = $2) AND ($3 IS NULL OR at >= $3) ORDER BY id DESC LIMIT $4",
        )
        .bind(filter.actor.as_deref())
        .bind(filter.action.as_deref())
        .bind(filter.since)
        .bind(if filter.limit > 0 { filter.limit } else { 500 })
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    at: r.try_get(0)?,
                    actor: r.try_get(1)?,
                    role: r.try_get(2)?,
                    action: r.try_get(3)?,
                    target: r.try_get(4)?,
                    detail: r.try_get(5)?,
                    ip: r.try_get(6)?,
                })
            })
            .collect()
    }

    /// The stored template design of a language, if the institution set one.
    pub async fn template(&self, language: Language) -> Result<Option<String>> {
        let row = sqlx::query("SELECT design FROM templates WHERE language = $1")
            .bind(language.code())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Stores the template design of a language.
    pub async fn set_template(&self, language: Language, design: &str, by: &str, at: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO templates (language, design, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (language) DO UPDATE SET design = excluded.design, updated_at = excluded.updated_at, \
             updated_by = excluded.updated_by",
        )
        .bind(language.code())
        .bind(design)
        .bind(at)
        .bind(by)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The dashboard: per campus, the counts of each stage, for `today`.
    pub async fn dashboard(&self, today: Date) -> Result<Vec<CampusCounts>> {
        let today = today.to_string();
        let rows = sqlx::query(
            "SELECT k.code, \
             (SELECT COUNT(*) FROM graduates g WHERE g.campus = k.code AND g.confirmed_at IS NULL), \
             (SELECT COUNT(*) FROM orders o JOIN graduates g ON g.id = o.graduate_id \
                WHERE g.campus = k.code AND g.confirmed_at IS NOT NULL AND o.certificate_id IS NULL \
                AND o.cancelled_at IS NULL AND o.due_on >= $1), \
             (SELECT COUNT(*) FROM orders o JOIN graduates g ON g.id = o.graduate_id \
                WHERE g.campus = k.code AND g.confirmed_at IS NOT NULL AND o.certificate_id IS NULL \
                AND o.cancelled_at IS NULL AND o.due_on < $1), \
             (SELECT COUNT(*) FROM certificates c JOIN graduates g ON g.id = c.graduate_id WHERE g.campus = k.code), \
             (SELECT COUNT(*) FROM certificates c JOIN graduates g ON g.id = c.graduate_id WHERE g.campus = k.code \
                AND EXISTS (SELECT 1 FROM outbox m WHERE m.certificate_id = c.id) \
                AND NOT EXISTS (SELECT 1 FROM outbox m WHERE m.certificate_id = c.id AND m.status <> 'sent')), \
             (SELECT COUNT(*) FROM certificates c JOIN graduates g ON g.id = c.graduate_id WHERE g.campus = k.code \
                AND EXISTS (SELECT 1 FROM outbox m WHERE m.certificate_id = c.id AND m.status = 'failed')) \
             FROM campuses k ORDER BY k.position, k.code",
        )
        .bind(&today)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CampusCounts {
                    campus: r.try_get(0)?,
                    unconfirmed: r.try_get(1)?,
                    due: r.try_get(2)?,
                    overdue: r.try_get(3)?,
                    issued: r.try_get(4)?,
                    delivered: r.try_get(5)?,
                    failed: r.try_get(6)?,
                })
            })
            .collect()
    }
}

type Tx<'c> = sqlx::Transaction<'c, sqlx::Any>;

async fn queue_email(tx: &mut Tx<'_>, certificate_id: Option<i64>, email: &NewEmail, at: i64) -> Result<()> {
    let row = sqlx::query(
        "INSERT INTO outbox (certificate_id, kind, to_address, subject, body, status, attempts, next_attempt_at, \
         created_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) RETURNING id",
    )
    .bind(certificate_id)
    .bind(&email.kind)
    .bind(&email.to)
    .bind(&email.subject)
    .bind(&email.body)
    .bind(at)
    .fetch_one(&mut **tx)
    .await?;
    let id: i64 = row.try_get(0)?;
    log_delivery(tx, id, at, "queued", "").await
}

async fn log_delivery(tx: &mut Tx<'_>, outbox_id: i64, at: i64, event: &str, detail: &str) -> Result<()> {
    sqlx::query("INSERT INTO delivery_log (outbox_id, at, event, detail) VALUES ($1, $2, $3, $4)")
        .bind(outbox_id)
        .bind(at)
        .bind(event)
        .bind(detail)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Withdraws the emails not yet sent of every version of a graduate's certificate in a
/// language (`why`: revoked, superseded), logging each withdrawal, inside the caller's
/// transaction.
async fn withdraw_unsent_emails(tx: &mut Tx<'_>, graduate_id: i64, language: &str, why: &str, at: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO delivery_log (outbox_id, at, event, detail) SELECT outbox.id, $1, 'cancelled', $2 \
         FROM outbox JOIN certificates ON certificates.id = outbox.certificate_id \
         WHERE outbox.status = 'pending' AND certificates.graduate_id = $3 AND certificates.language = $4",
    )
    .bind(at)
    .bind(why)
    .bind(graduate_id)
    .bind(language)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE outbox SET status = 'cancelled' WHERE status = 'pending' AND certificate_id IN \
         (SELECT id FROM certificates WHERE graduate_id = $1 AND language = $2)",
    )
    .bind(graduate_id)
    .bind(language)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn queue_registry(tx: &mut Tx<'_>, payload: &str, at: i64) -> Result<()> {
    sqlx::query("INSERT INTO registry_outbox (payload, created_at, attempts, next_attempt_at) VALUES ($1, $2, 0, $2)")
        .bind(payload)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn append_audit(tx: &mut Tx<'_>, e: &AuditEntry) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, role, action, target, detail, ip) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(e.at)
    .bind(&e.actor)
    .bind(&e.role)
    .bind(&e.action)
    .bind(&e.target)
    .bind(&e.detail)
    .bind(&e.ip)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn corrupt(what: &'static str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { what, detail: e.to_string() }
}

fn staff_row(r: &AnyRow) -> Result<Staff> {
    Ok(Staff {
        id: r.try_get(0)?,
        username: r.try_get(1)?,
        display_name: r.try_get(2)?,
        password_hash: r.try_get(3)?,
        role: r.try_get::<String, _>(4)?.parse()?,
        campus: r.try_get(5)?,
    })
}

const GRADUATE_SELECT: &str =
    "SELECT id, campus, record, school_email, permanent_email, mid_term, confirmed_at FROM graduates";

fn graduate_row(r: &AnyRow) -> Result<Graduate> {
    let record: String = r.try_get(2)?;
    Ok(Graduate {
        id: r.try_get(0)?,
        campus: r.try_get(1)?,
        record: serde_json::from_str(&record).map_err(|e| corrupt("record", e))?,
        school_email: r.try_get(3)?,
        permanent_email: r.try_get(4)?,
        mid_term: r.try_get::<i64, _>(5)? != 0,
        confirmed_at: r.try_get(6)?,
    })
}

const ORDER_SELECT: &str = "SELECT id, graduate_id, language, version, kind, reason, requested_on, due_on, \
     certificate_id, last_error, cancelled_at FROM orders";

fn parse_language(s: &str) -> Result<Language> {
    match s {
        "zh" => Ok(Language::Zh),
        "en" => Ok(Language::En),
        other => Err(corrupt("language", other)),
    }
}

fn parse_date(s: &str) -> Result<Date> {
    s.parse().map_err(|e| corrupt("date", e))
}

fn order_row(r: &AnyRow) -> Result<Order> {
    Ok(Order {
        id: r.try_get(0)?,
        graduate_id: r.try_get(1)?,
        language: parse_language(&r.try_get::<String, _>(2)?)?,
        version: u32::try_from(r.try_get::<i64, _>(3)?).map_err(|e| corrupt("version", e))?,
        kind: OrderKind::parse(&r.try_get::<String, _>(4)?)?,
        reason: r.try_get(5)?,
        requested_on: parse_date(&r.try_get::<String, _>(6)?)?,
        due_on: parse_date(&r.try_get::<String, _>(7)?)?,
        certificate_id: r.try_get(8)?,
        last_error: r.try_get(9)?,
        cancelled_at: r.try_get(10)?,
    })
}

const CERT_SELECT: &str = "SELECT c.id, c.graduate_id, c.language, c.version, c.number, c.sha256, c.previous_sha256, \
     c.size, c.issued_at, c.status, c.status_reason, \
     (SELECT COUNT(*) FROM outbox m WHERE m.certificate_id = c.id AND m.status = 'sent'), \
     (SELECT COUNT(*) FROM outbox m WHERE m.certificate_id = c.id AND m.status = 'pending'), \
     (SELECT COUNT(*) FROM outbox m WHERE m.certificate_id = c.id AND m.status = 'failed') \
     FROM certificates c";

fn certificate_row(r: &AnyRow) -> Result<CertificateInfo> {
    Ok(CertificateInfo {
        id: r.try_get(0)?,
        graduate_id: r.try_get(1)?,
        language: parse_language(&r.try_get::<String, _>(2)?)?,
        version: u32::try_from(r.try_get::<i64, _>(3)?).map_err(|e| corrupt("version", e))?,
        number: r.try_get(4)?,
        sha256: r.try_get(5)?,
        previous_sha256: r.try_get(6)?,
        size: r.try_get(7)?,
        issued_at: r.try_get(8)?,
        status: CertificateStatus::parse(&r.try_get::<String, _>(9)?)?,
        status_reason: r.try_get(10)?,
        delivery: DeliveryCounts { sent: r.try_get(11)?, pending: r.try_get(12)?, failed: r.try_get(13)? },
    })
}

const REGISTRY_SELECT: &str = "SELECT institution, sha256, event, number, language, version, previous_sha256, \
     credential_type, reason, at, id FROM registry_records";

fn registry_row(r: &AnyRow) -> Result<RegistryRecord> {
    Ok(RegistryRecord {
        institution: r.try_get(0)?,
        sha256: r.try_get(1)?,
        event: r.try_get(2)?,
        number: r.try_get(3)?,
        language: r.try_get(4)?,
        version: r.try_get(5)?,
        previous_sha256: r.try_get(6)?,
        credential_type: r.try_get(7)?,
        reason: r.try_get(8)?,
        at: r.try_get(9)?,
    })
}

const OUTBOX_SELECT: &str = "SELECT id, certificate_id, kind, to_address, subject, body, status, attempts, \
     next_attempt_at, last_error, sent_at, created_at FROM outbox";

fn outbox_row(r: &AnyRow) -> Result<OutboxMessage> {
    Ok(OutboxMessage {
        id: r.try_get(0)?,
        certificate_id: r.try_get(1)?,
        kind: r.try_get(2)?,
        to: r.try_get(3)?,
        subject: r.try_get(4)?,
        body: r.try_get(5)?,
        status: r.try_get(6)?,
        attempts: r.try_get(7)?,
        next_attempt_at: r.try_get(8)?,
        last_error: r.try_get(9)?,
        sent_at: r.try_get(10)?,
        created_at: r.try_get(11)?,
    })
}
