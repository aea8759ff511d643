//! Graduates: the import from the student information system, confirmation, their portal
//! passwords, address changes, correction requests; the campuses and the settings.

use dcert_core::model::{DegreeRecord, Term};
use dcert_core::roster::RosterRow;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::UniversityStore;
use super::outbox::{NewEmail, queue_all};
use crate::db::{FetchWith, append_audit, corrupt};
use crate::{AuditEntry, NewAccount, Result, StoreError};

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

/// As the audit log notes it: `inserted 3 updated 1 unchanged 0`.
impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "inserted {} updated {} unchanged {}", self.inserted, self.updated, self.unchanged)
    }
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
    /// Only graduates in this state.
    pub state: Option<GraduateState>,
    /// Today, for the overdue state (`YYYY-MM-DD`).
    pub today: Option<String>,
    /// At most this many rows.
    pub limit: i64,
    /// After skipping this many (a later page).
    pub offset: i64,
}

/// Where a graduate stands, for filtering the console's list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraduateState {
    /// Has not confirmed the data and addresses.
    Unconfirmed,
    /// A paper diploma was collected (an order is open) but the data is not confirmed: nothing
    /// is issued until the graduate confirms.
    AwaitingConfirmation,
    /// Confirmed, with an order waiting for issuance.
    Waiting,
    /// Confirmed, with an order waiting past its due day.
    Overdue,
    /// Has at least one certificate.
    Issued,
}

impl GraduateState {
    /// Every state, in the order the console offers them.
    pub const ALL: [GraduateState; 5] = [
        GraduateState::Unconfirmed,
        GraduateState::AwaitingConfirmation,
        GraduateState::Waiting,
        GraduateState::Overdue,
        GraduateState::Issued,
    ];

    /// The state's code in addresses (`?state=unconfirmed`).
    pub fn code(self) -> &'static str {
        match self {
            GraduateState::Unconfirmed => "unconfirmed",
            GraduateState::AwaitingConfirmation => "awaiting_confirmation",
            GraduateState::Waiting => "waiting",
            GraduateState::Overdue => "overdue",
            GraduateState::Issued => "issued",
        }
    }

    /// The state of that code.
    pub fn parse(code: &str) -> Option<Self> {
        GraduateState::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// The graduates a [`GraduateFilter`] selects: `$1` campus, `$2` term, `$3` search pattern,
/// `$4` state code (each may be null), `$5` today (for `overdue`).
const GRADUATE_FILTER: &str = "FROM graduates g WHERE ($1 IS NULL OR g.campus = $1) AND ($2 IS NULL OR g.term = $2) \
     AND ($3 IS NULL OR g.student_number LIKE $3 OR g.name_zh LIKE $3) \
     AND ($4 IS NULL \
       OR ($4 = 'unconfirmed' AND g.confirmed_at IS NULL) \
       OR ($4 = 'awaiting_confirmation' AND g.confirmed_at IS NULL AND EXISTS (SELECT 1 FROM orders o \
            WHERE o.graduate_id = g.id AND o.certificate_id IS NULL AND o.cancelled_at IS NULL)) \
       OR ($4 = 'waiting' AND g.confirmed_at IS NOT NULL AND EXISTS (SELECT 1 FROM orders o \
            WHERE o.graduate_id = g.id AND o.certificate_id IS NULL AND o.cancelled_at IS NULL)) \
       OR ($4 = 'overdue' AND g.confirmed_at IS NOT NULL AND EXISTS (SELECT 1 FROM orders o \
            WHERE o.graduate_id = g.id AND o.certificate_id IS NULL AND o.cancelled_at IS NULL AND o.due_on < $5)) \
       OR ($4 = 'issued' AND EXISTS (SELECT 1 FROM certificates c WHERE c.graduate_id = g.id)))";

impl GraduateFilter {
    fn search_pattern(&self) -> Option<String> {
        self.search.as_deref().map(|s| format!("%{}%", s.replace(['%', '_'], "")))
    }
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

impl UniversityStore {
    /// Adds a console account of the university with the audit entry `audit`, refusing a campus
    /// it does not have.
    pub async fn create_staff(&self, account: &NewAccount<'_>, audit: &AuditEntry) -> Result<i64> {
        if let Some(code) = account.campus
            && !self.campuses().await?.iter().any(|c| c.code == code)
        {
            return Err(StoreError::Conflict(format!("the campus {code} does not exist")));
        }
        self.db.create_staff(account, audit).await
    }

    /// A setting's value.
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Sets settings (`(key, value)` pairs) together, with the audit entry `audit`.
    pub async fn set_settings(&self, settings: &[(&str, &str)], audit: &AuditEntry) -> Result<()> {
        let mut tx = self.write_tx().await?;
        for (key, value) in settings {
            sqlx::query(
                "INSERT INTO settings (key, value) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(*key)
            .bind(*value)
            .execute(&mut *tx)
            .await?;
        }
        append_audit(&mut tx, audit).await?;
        tx.commit().await?;
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
        sqlx::query(
            "SELECT code, position, name_zh, name_en, office_zh, office_en, extensions FROM campuses \
             ORDER BY position, code",
        )
        .fetch_all_with(&self.pool, campus_row)
        .await
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

    /// Inserts or updates graduates by (student number, term), all rows or none, with the audit
    /// entry `audit` makes of what was done, in the same transaction.
    pub async fn import_graduates(
        &self,
        rows: &[RosterRow],
        at: i64,
        audit: impl FnOnce(&ImportSummary) -> AuditEntry,
    ) -> Result<ImportSummary> {
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
            // What an import writes of a graduate, as `$1` to `$8`, whether it inserts or updates.
            let write = |sql: &'static str| {
                sqlx::query(sql)
                    .bind(&row.campus)
                    .bind(&record)
                    .bind(&row.record.name_zh)
                    .bind(&row.record.department_zh)
                    .bind(&row.school_email)
                    .bind(&row.permanent_email)
                    .bind(mid_term)
                    .bind(at)
            };
            match existing {
                None => {
                    write(
                        "INSERT INTO graduates (campus, record, name_zh, department_zh, school_email, permanent_email, \
                         mid_term, created_at, updated_at, student_number, term, confirmed_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, NULL)",
                    )
                    .bind(&row.record.student_number)
                    .bind(&term)
                    .execute(&mut *tx)
                    .await?;
                    summary.inserted += 1;
                }
                Some(old) => {
                    let id: i64 = old.try_get("id")?;
                    let old_record: String = old.try_get("record")?;
                    let old_campus: String = old.try_get("campus")?;
                    let old_school: String = old.try_get("school_email")?;
                    let old_mid: i64 = old.try_get("mid_term")?;
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
                    write(
                        "UPDATE graduates SET campus = $1, record = $2, name_zh = $3, department_zh = $4, \
                         school_email = $5, permanent_email = COALESCE(permanent_email, $6), mid_term = $7, \
                         confirmed_at = CASE WHEN record = $2 THEN confirmed_at ELSE NULL END, updated_at = $8 \
                         WHERE id = $9",
                    )
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    summary.updated += 1;
                }
            }
        }
        append_audit(&mut tx, &audit(&summary)).await?;
        tx.commit().await?;
        Ok(summary)
    }

    /// A graduate by row id.
    pub async fn graduate(&self, id: i64) -> Result<Option<Graduate>> {
        sqlx::query(AssertSqlSafe(format!("{GRADUATE_SELECT} WHERE id = $1")))
            .bind(id)
            .fetch_optional_with(&self.pool, graduate_row)
            .await
    }

    /// Every term's record of a student number, newest term first.
    pub async fn graduate_terms(&self, student_number: &str) -> Result<Vec<Graduate>> {
        sqlx::query(AssertSqlSafe(format!("{GRADUATE_SELECT} WHERE student_number = $1 ORDER BY term DESC")))
            .bind(student_number)
            .fetch_all_with(&self.pool, graduate_row)
            .await
    }

    /// Graduates by student numbers (for a list of collections), with the unknown numbers.
    pub async fn graduates_by_number(&self, numbers: &[String]) -> Result<(Vec<Graduate>, Vec<String>)> {
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for n in numbers {
            let graduate = sqlx::query(AssertSqlSafe(format!(
                "{GRADUATE_SELECT} WHERE student_number = $1 ORDER BY term DESC LIMIT 1"
            )))
            .bind(n)
            .fetch_optional_with(&self.pool, graduate_row)
            .await?;
            match graduate {
                Some(g) => found.push(g),
                None => missing.push(n.clone()),
            }
        }
        Ok((found, missing))
    }

    /// The console's list of graduates.
    pub async fn list_graduates(&self, filter: &GraduateFilter) -> Result<Vec<GraduateSummary>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT g.id, g.student_number, g.term, g.campus, g.name_zh, g.department_zh, g.confirmed_at, \
             (SELECT COUNT(*) FROM certificates c WHERE c.graduate_id = g.id) AS certificates, \
             (SELECT COUNT(*) FROM orders o WHERE o.graduate_id = g.id AND o.certificate_id IS NULL \
                AND o.cancelled_at IS NULL) AS open_orders \
             {GRADUATE_FILTER} ORDER BY g.term DESC, g.student_number LIMIT $6 OFFSET $7"
        )))
        .bind(filter.campus.as_deref())
        .bind(filter.term.as_deref())
        .bind(filter.search_pattern())
        .bind(filter.state.map(GraduateState::code))
        .bind(filter.today.as_deref())
        .bind(if filter.limit > 0 { filter.limit } else { 200 })
        .bind(filter.offset.max(0))
        .fetch_all_with(&self.pool, summary_row)
        .await
    }

    /// How many graduates `filter` selects (its limit and offset aside).
    pub async fn count_graduates(&self, filter: &GraduateFilter) -> Result<i64> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT COUNT(*) AS n {GRADUATE_FILTER}")))
            .bind(filter.campus.as_deref())
            .bind(filter.term.as_deref())
            .bind(filter.search_pattern())
            .bind(filter.state.map(GraduateState::code))
            .bind(filter.today.as_deref())
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// The graduate confirms the data and addresses, with the audit entry `audit` (none when the
    /// data was confirmed already).
    pub async fn confirm_graduate(&self, id: i64, at: i64, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("UPDATE graduates SET confirmed_at = $1 WHERE id = $2 AND confirmed_at IS NULL")
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            // Confirmed already: nothing changes, and nothing is audited.
            let exists =
                sqlx::query("SELECT id FROM graduates WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
            return if exists.is_some() { Ok(()) } else { Err(StoreError::NotFound("graduate")) };
        }
        append_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Starts a change of the permanent address: the new address waits for its link, and
    /// `email` (the link, to the new address) is queued with the audit entry `audit`, all in one
    /// transaction.
    pub async fn start_email_change(
        &self,
        (graduate_id, address): (i64, &str),
        token_hash: &str,
        email: &NewEmail,
        at: i64,
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("INSERT INTO email_changes (graduate_id, address, token_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(graduate_id)
            .bind(address)
            .bind(token_hash)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        queue_all(&mut tx, None, std::slice::from_ref(email), at).await?;
        append_audit(&mut tx, audit).await?;
        tx.commit().await?;
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
    /// `max_age` seconds at `now` and is the newest one of that graduate, with the audit entry
    /// `audit` makes of the graduate. Returns the graduate and the address.
    pub async fn confirm_email_change(
        &self,
        token_hash: &str,
        (now, max_age): (i64, i64),
        audit: impl FnOnce(i64) -> AuditEntry,
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
        let (id, graduate_id, address): (i64, i64, String) =
            (row.try_get("id")?, row.try_get("graduate_id")?, row.try_get("address")?);
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
        append_audit(&mut tx, &audit(graduate_id)).await?;
        tx.commit().await?;
        Ok(Some((graduate_id, address)))
    }

    /// A graduate asks the registrar to correct the data; `audit` makes the audit entry of the
    /// request's id, written in the same transaction.
    pub async fn add_correction(
        &self,
        graduate_id: i64,
        message: &str,
        at: i64,
        audit: impl FnOnce(i64) -> AuditEntry,
    ) -> Result<i64> {
        let mut tx = self.write_tx().await?;
        let row =
            sqlx::query("INSERT INTO corrections (graduate_id, message, created_at) VALUES ($1, $2, $3) RETURNING id")
                .bind(graduate_id)
                .bind(message)
                .bind(at)
                .fetch_one(&mut *tx)
                .await?;
        let id: i64 = row.try_get("id")?;
        append_audit(&mut tx, &audit(id)).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Correction requests, open ones first, of one campus or all.
    pub async fn corrections(&self, campus: Option<&str>) -> Result<Vec<Correction>> {
        sqlx::query(
            "SELECT c.id, c.graduate_id, g.student_number, g.campus, c.message, c.created_at, c.resolved_at \
             FROM corrections c JOIN graduates g ON g.id = c.graduate_id WHERE ($1 IS NULL OR g.campus = $1) \
             ORDER BY (c.resolved_at IS NULL) DESC, c.id DESC LIMIT 500",
        )
        .bind(campus)
        .fetch_all_with(&self.pool, correction_row)
        .await
    }

    /// The correction requests of one graduate's record that no one has marked done yet, oldest
    /// first.
    pub async fn open_corrections(&self, graduate_id: i64) -> Result<Vec<Correction>> {
        sqlx::query(
            "SELECT c.id, c.graduate_id, g.student_number, g.campus, c.message, c.created_at, c.resolved_at \
             FROM corrections c JOIN graduates g ON g.id = c.graduate_id \
             WHERE c.graduate_id = $1 AND c.resolved_at IS NULL ORDER BY c.id",
        )
        .bind(graduate_id)
        .fetch_all_with(&self.pool, correction_row)
        .await
    }

    /// Marks a correction request done by `by` at `at`, with the audit entry `audit` makes of
    /// its graduate; returns the graduate.
    pub async fn resolve_correction(
        &self,
        id: i64,
        (by, at): (&str, i64),
        audit: impl FnOnce(i64) -> AuditEntry,
    ) -> Result<i64> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "UPDATE corrections SET resolved_at = $1, resolved_by = $2 WHERE id = $3 AND resolved_at IS NULL \
             RETURNING graduate_id",
        )
        .bind(at)
        .bind(by)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let graduate_id: i64 = row.ok_or(StoreError::NotFound("open correction"))?.try_get("graduate_id")?;
        append_audit(&mut tx, &audit(graduate_id)).await?;
        tx.commit().await?;
        Ok(graduate_id)
    }
}

pub(super) const GRADUATE_SELECT: &str =
    "SELECT id, campus, record, school_email, permanent_email, mid_term, confirmed_at FROM graduates";

pub(super) fn graduate_row(r: &AnyRow) -> Result<Graduate> {
    let record: String = r.try_get("record")?;
    Ok(Graduate {
        id: r.try_get("id")?,
        campus: r.try_get("campus")?,
        record: serde_json::from_str(&record).map_err(|e| corrupt("record", e))?,
        school_email: r.try_get("school_email")?,
        permanent_email: r.try_get("permanent_email")?,
        mid_term: r.try_get::<i64, _>("mid_term")? != 0,
        confirmed_at: r.try_get("confirmed_at")?,
    })
}

fn campus_row(r: &AnyRow) -> Result<Campus> {
    Ok(Campus {
        code: r.try_get("code")?,
        position: r.try_get("position")?,
        name_zh: r.try_get("name_zh")?,
        name_en: r.try_get("name_en")?,
        office_zh: r.try_get("office_zh")?,
        office_en: r.try_get("office_en")?,
        extensions: r.try_get("extensions")?,
    })
}

fn summary_row(r: &AnyRow) -> Result<GraduateSummary> {
    Ok(GraduateSummary {
        id: r.try_get("id")?,
        student_number: r.try_get("student_number")?,
        term: r.try_get("term")?,
        campus: r.try_get("campus")?,
        name_zh: r.try_get("name_zh")?,
        department_zh: r.try_get("department_zh")?,
        confirmed: r.try_get::<Option<i64>, _>("confirmed_at")?.is_some(),
        certificates: r.try_get("certificates")?,
        open_orders: r.try_get("open_orders")?,
    })
}

fn correction_row(r: &AnyRow) -> Result<Correction> {
    Ok(Correction {
        id: r.try_get("id")?,
        graduate_id: r.try_get("graduate_id")?,
        student_number: r.try_get("student_number")?,
        campus: r.try_get("campus")?,
        message: r.try_get("message")?,
        created_at: r.try_get("created_at")?,
        resolved_at: r.try_get("resolved_at")?,
    })
}
