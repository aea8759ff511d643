//! The tables both parties keep: staff accounts with their roles, sessions (stored as token
//! hashes), and the append-only audit log.

use std::str::FromStr;

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{Db, FetchWith, append_audit};
use crate::{Result, StoreError};

/// A member of staff's role: a university's or the Ministry's, never both. Each console's table
/// of who may do what takes its own party's role, so the compiler keeps one party's roles out of
/// the other's console.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// A role in a university's console.
    University(UniversityRole),
    /// A role in the Ministry's console.
    Ministry(MinistryRole),
}

/// The university console's roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UniversityRole {
    /// 教務處註冊組: every campus.
    Registrar,
    /// A campus office (綜合業務處): its own campus only.
    CampusOffice,
    /// The institution's administrator: keys, templates, policy, audit log.
    Admin,
}

/// The Ministry console's roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MinistryRole {
    /// The Ministry's administrator (教育部): statistics, news, FAQ, teacher certificates, the
    /// registry of institutions and the audit log.
    Admin,
    /// A Ministry editor: the verification site's news and FAQ only.
    Editor,
}

impl Role {
    /// Every role, university's first.
    pub const ALL: [Role; 5] = [
        Role::University(UniversityRole::Registrar),
        Role::University(UniversityRole::CampusOffice),
        Role::University(UniversityRole::Admin),
        Role::Ministry(MinistryRole::Admin),
        Role::Ministry(MinistryRole::Editor),
    ];

    /// The code stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            Role::University(UniversityRole::Registrar) => "registrar",
            Role::University(UniversityRole::CampusOffice) => "campus_office",
            Role::University(UniversityRole::Admin) => "admin",
            Role::Ministry(MinistryRole::Admin) => "ministry_admin",
            Role::Ministry(MinistryRole::Editor) => "ministry_editor",
        }
    }
}

impl FromStr for Role {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self> {
        Role::ALL
            .into_iter()
            .find(|r| r.code() == s)
            .ok_or_else(|| StoreError::Corrupt { what: "role", detail: s.to_owned() })
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

impl AuditEntry {
    /// What `actor` (in `role`) did at `at` from no network address: a command, the worker,
    /// start-up.
    pub fn local(
        at: i64,
        actor: &str,
        role: &str,
        action: &str,
        target: impl Into<String>,
        detail: impl Into<String>,
    ) -> AuditEntry {
        AuditEntry {
            at,
            actor: actor.into(),
            role: role.into(),
            action: action.into(),
            target: target.into(),
            detail: detail.into(),
            ip: "-".into(),
        }
    }
}

/// A filter of the audit log.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Only this actor.
    pub actor: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Only entries about this target (e.g. `certificate:12`).
    pub target: Option<String>,
    /// Only entries at or after this time.
    pub since: Option<i64>,
    /// At most this many, newest first.
    pub limit: i64,
}

/// A new console account.
#[derive(Clone, Copy, Debug)]
pub struct NewAccount<'a> {
    /// The login name.
    pub username: &'a str,
    /// The name shown in the console and the audit log.
    pub display_name: &'a str,
    /// The password's argon2id hash.
    pub password_hash: &'a str,
    /// The role.
    pub role: Role,
    /// The campus of a campus office (and of it only).
    pub campus: Option<&'a str>,
    /// When it is created.
    pub at: i64,
}

impl Db {
    /// Creates a staff account with the audit entry `audit`, in one transaction; a taken
    /// username is a conflict.
    pub async fn create_staff(&self, account: &NewAccount<'_>, audit: &AuditEntry) -> Result<i64> {
        let NewAccount { username, display_name, password_hash, role, campus, at } = *account;
        if (role == Role::University(UniversityRole::CampusOffice)) != campus.is_some() {
            return Err(StoreError::Conflict("a campus office account needs a campus, and only it".into()));
        }
        let mut tx = self.write_tx().await?;
        let taken = sqlx::query("SELECT 1 FROM staff WHERE username = $1").bind(username).fetch_optional(&mut *tx);
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
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        append_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A staff account by its username.
    pub async fn staff_by_username(&self, username: &str) -> Result<Option<Staff>> {
        sqlx::query("SELECT id, username, display_name, password_hash, role, campus FROM staff WHERE username = $1")
            .bind(username)
            .fetch_optional_with(&self.pool, staff_row)
            .await
    }

    /// A staff account by its id.
    pub async fn staff_by_id(&self, id: i64) -> Result<Option<Staff>> {
        sqlx::query("SELECT id, username, display_name, password_hash, role, campus FROM staff WHERE id = $1")
            .bind(id)
            .fetch_optional_with(&self.pool, staff_row)
            .await
    }

    /// Every staff account.
    pub async fn staff(&self) -> Result<Vec<Staff>> {
        sqlx::query("SELECT id, username, display_name, password_hash, role, campus FROM staff ORDER BY id")
            .fetch_all_with(&self.pool, staff_row)
            .await
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
        sqlx::query("SELECT kind, subject, csrf, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2")
            .bind(token_hash)
            .bind(now)
            .fetch_optional_with(&self.pool, session_row)
            .await
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

    /// Appends to the audit log.
    pub async fn audit(&self, entry: &AuditEntry) -> Result<()> {
        let mut tx = self.write_tx().await?;
        append_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Reads the audit log, newest first.
    pub async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        sqlx::query(
            "SELECT at, actor, role, action, target, detail, ip FROM audit_log WHERE ($1 IS NULL OR actor = $1) \
             AND ($2 IS NULL OR action = $2) AND ($3 IS NULL OR at >= $3) AND ($5 IS NULL OR target = $5) \
             ORDER BY id DESC LIMIT $4",
        )
        .bind(filter.actor.as_deref())
        .bind(filter.action.as_deref())
        .bind(filter.since)
        .bind(if filter.limit > 0 { filter.limit } else { 500 })
        .bind(filter.target.as_deref())
        .fetch_all_with(&self.pool, audit_row)
        .await
    }
}

fn staff_row(r: &AnyRow) -> Result<Staff> {
    Ok(Staff {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        password_hash: r.try_get("password_hash")?,
        role: r.try_get::<String, _>("role")?.parse()?,
        campus: r.try_get("campus")?,
    })
}

fn session_row(r: &AnyRow) -> Result<Session> {
    Ok(Session {
        kind: r.try_get("kind")?,
        subject: r.try_get("subject")?,
        csrf: r.try_get("csrf")?,
        expires_at: r.try_get("expires_at")?,
    })
}

fn audit_row(r: &AnyRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        at: r.try_get("at")?,
        actor: r.try_get("actor")?,
        role: r.try_get("role")?,
        action: r.try_get("action")?,
        target: r.try_get("target")?,
        detail: r.try_get("detail")?,
        ip: r.try_get("ip")?,
    })
}
