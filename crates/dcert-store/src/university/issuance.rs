//! Issuance: orders (collections, applications, reissues) with their due days, the working-day
//! calendar, the certificates and their one transaction of issuance, revocation, templates and
//! the dashboard.

use dcert_core::calendar::DayOverride;
use dcert_core::model::{Language, Term};
use dcert_core::time::Date;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::UniversityStore;
use super::graduates::{GRADUATE_SELECT, Graduate, graduate_row};
use super::outbox::{NewEmail, queue_all, queue_registry, withdraw_unsent_emails};
use crate::db::{FetchWith, Tx, append_audit, corrupt, parse_date, parse_language};
use crate::{AuditEntry, Backend, Result, StoreError};

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
    /// When it was revoked or superseded.
    pub status_at: Option<i64>,
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

/// One campus's line of the dashboard.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CampusCounts {
    /// The campus code.
    pub campus: String,
    /// Graduates who have not confirmed their data.
    pub unconfirmed: i64,
    /// Graduates with a collection recorded (an open order) who have not confirmed: nothing is
    /// issued to them until they do.
    pub awaiting_confirmation: i64,
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

impl UniversityStore {
    /// The calendar's exceptions to Monday–Friday.
    pub async fn calendar(&self) -> Result<Vec<DayOverride>> {
        let rows = sqlx::query("SELECT day, workday, note FROM calendar ORDER BY day").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let day: String = r.try_get("day")?;
                Ok(DayOverride {
                    date: day.parse().map_err(|e| corrupt("calendar day", e))?,
                    workday: r.try_get::<i64, _>("workday")? != 0,
                    note: r.try_get("note")?,
                })
            })
            .collect()
    }

    /// Adds or replaces days of the calendar, all or none, with the audit entry of the change.
    pub async fn upsert_calendar(&self, days: &[DayOverride], audit: &AuditEntry) -> Result<()> {
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
        append_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a day's exception (it becomes an ordinary weekday or weekend day).
    pub async fn delete_calendar_day(&self, day: Date, audit: &AuditEntry) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("DELETE FROM calendar WHERE day = $1").bind(day.to_string()).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        append_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records an order. The version is the next one of that graduate and language; a first
    /// certificate already ordered is a conflict, and so is a reissue before the first is issued.
    ///
    /// `audit` makes the audit entry of the order recorded, written in the same transaction.
    pub async fn create_order(&self, new: &NewOrder<'_>, audit: impl FnOnce(&Order) -> AuditEntry) -> Result<Order> {
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
        let id: i64 = row.try_get("id")?;
        let order = sqlx::query(AssertSqlSafe(format!("{ORDER_SELECT} WHERE id = $1")))
            .bind(id)
            .fetch_one_with(&mut *tx, order_row)
            .await?;
        append_audit(&mut tx, &audit(&order)).await?;
        tx.commit().await?;
        Ok(order)
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
        Ok(self.issuable(first_term, alumni_open, limit).await?.into_iter().map(|(order, _)| order).collect())
    }

    /// [`issuable_orders`](Self::issuable_orders), each with its graduate: two queries whatever
    /// the number of orders.
    pub async fn issuable(&self, first_term: Term, alumni_open: bool, limit: i64) -> Result<Vec<(Order, Graduate)>> {
        let orders = sqlx::query(AssertSqlSafe(format!(
            "{ORDER_SELECT} WHERE certificate_id IS NULL AND cancelled_at IS NULL AND graduate_id IN \
             (SELECT id FROM graduates WHERE confirmed_at IS NOT NULL) ORDER BY due_on, id LIMIT $1"
        )))
        .bind(limit.saturating_mul(4).max(limit))
        .fetch_all_with(&self.pool, order_row)
        .await?;
        let mut ids: Vec<i64> = orders.iter().map(|o| o.graduate_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut graduates = std::collections::HashMap::new();
        for chunk in ids.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let mut query = sqlx::query(AssertSqlSafe(format!("{GRADUATE_SELECT} WHERE id IN ({})", marks.join(", "))));
            for id in chunk {
                query = query.bind(*id);
            }
            for g in query.fetch_all_with(&self.pool, graduate_row).await? {
                graduates.insert(g.id, g);
            }
        }
        let mut out = Vec::new();
        for order in orders {
            let g = graduates.get(&order.graduate_id).ok_or(StoreError::NotFound("graduate"))?;
            // Confirmed when the orders were read, perhaps not by now (an import in between).
            if g.confirmed_at.is_none() || (!alumni_open && g.term() < first_term) {
                continue;
            }
            out.push((order, g.clone()));
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
        let mut stored = self.store_issued_batch(std::slice::from_ref(issued)).await?;
        Ok(stored.pop().flatten())
    }

    /// Stores several issued files as [`store_issued`](Self::store_issued) stores one, all in
    /// one transaction (one commit for all: the worker stores what its renderers finished
    /// together). All are stored or, on an error, none. The answers come in the order given.
    pub async fn store_issued_batch(&self, files: &[IssuedFile<'_>]) -> Result<Vec<Option<CertificateInfo>>> {
        let mut tx = self.write_tx().await?;
        // Orders are locked in one order (their ids), so two workers storing overlapping
        // batches wait for each other instead of deadlocking.
        let mut by_order: Vec<usize> = (0..files.len()).collect();
        by_order.sort_by_key(|&i| files[i].order_id);
        let mut stored = vec![None; files.len()];
        for i in by_order {
            stored[i] = self.store_one(&mut tx, &files[i]).await?;
        }
        tx.commit().await?;
        Ok(stored)
    }

    async fn store_one(&self, tx: &mut Tx<'_>, issued: &IssuedFile<'_>) -> Result<Option<CertificateInfo>> {
        // On PostgreSQL, lock the order row: a second worker storing the same order waits here,
        // then sees it fulfilled. (SQLite's IMMEDIATE transaction already serializes writers.)
        // An order whose graduate is no longer confirmed (an import changed the record while the
        // file was rendered) is not stored: it waits for the graduate to confirm again.
        let lock = if self.backend == Backend::Postgres { " FOR UPDATE" } else { "" };
        let order = sqlx::query(AssertSqlSafe(format!(
            "{ORDER_SELECT} WHERE id = $1 AND EXISTS \
             (SELECT 1 FROM graduates g WHERE g.id = orders.graduate_id AND g.confirmed_at IS NOT NULL){lock}"
        )))
        .bind(issued.order_id)
        .fetch_optional(&mut **tx)
        .await?;
        let Some(order) = order.as_ref().map(order_row).transpose()? else { return Ok(None) };
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
        .execute(&mut **tx)
        .await?;
        if superseded.rows_affected() > 0 && order.version == 1 {
            return Err(StoreError::Conflict("a first version cannot supersede another".into()));
        }
        if superseded.rows_affected() > 0 {
            // The superseded version's emails not yet sent would deliver an outdated file.
            withdraw_unsent_emails(tx, order.graduate_id, order.language.code(), "superseded", issued.at).await?;
        }
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
        .fetch_one(&mut **tx)
        .await?;
        let certificate_id: i64 = row.try_get(0)?;
        sqlx::query("UPDATE orders SET certificate_id = $1, last_error = NULL WHERE id = $2")
            .bind(certificate_id)
            .bind(order.id)
            .execute(&mut **tx)
            .await?;
        queue_registry(tx, &issued.registry_payload, issued.at).await?;
        queue_all(tx, Some(certificate_id), &issued.emails, issued.at).await?;
        append_audit(
            tx,
            &AuditEntry::local(
                issued.at,
                "worker",
                "system",
                "issue_certificate",
                format!("graduate:{}", order.graduate_id),
                format!("{} {} v{} sha256 {}", issued.number, order.language.code(), order.version, issued.sha256),
            ),
        )
        .await?;
        // What was just written, without reading it back.
        Ok(Some(CertificateInfo {
            id: certificate_id,
            graduate_id: order.graduate_id,
            language: order.language,
            version: order.version,
            number: issued.number.to_owned(),
            sha256: issued.sha256.to_owned(),
            previous_sha256: issued.previous_sha256.map(str::to_owned),
            size: issued.file.len() as i64,
            issued_at: issued.at,
            status: CertificateStatus::Current,
            status_reason: None,
            status_at: None,
            delivery: DeliveryCounts { sent: 0, pending: issued.emails.len() as i64, failed: 0 },
        }))
    }

    /// The bytes of every certificate file stored.
    pub async fn certificate_bytes(&self) -> Result<u64> {
        let total: i64 = sqlx::query("SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS total FROM certificates")
            .fetch_one(&self.pool)
            .await?
            .try_get("total")?;
        Ok(u64::try_from(total).unwrap_or_default())
    }

    /// Which of the file hashes `sha256s` (lowercase hex) are of certificates this store issued
    /// (what a monitor of the registry's log compares the records in the institution's name with).
    pub async fn known_files(&self, sha256s: &[&str]) -> Result<std::collections::HashSet<String>> {
        let mut known = std::collections::HashSet::new();
        for chunk in sha256s.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!("SELECT sha256 FROM certificates WHERE sha256 IN ({})", marks.join(", "));
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for sha in chunk {
                query = query.bind(*sha);
            }
            for row in query.fetch_all(&self.pool).await? {
                known.insert(row.try_get("sha256")?);
            }
        }
        Ok(known)
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
    pub async fn revoke_certificate(
        &self,
        id: i64,
        reason: &str,
        registry_payload: &str,
        at: i64,
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query("SELECT graduate_id, language, status FROM certificates WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound("certificate"))?;
        let (graduate_id, language, status): (i64, String, String) =
            (row.try_get("graduate_id")?, row.try_get("language")?, row.try_get("status")?);
        if status == "revoked" {
            return Err(StoreError::Conflict("the certificate is already revoked".into()));
        }
        // On PostgreSQL, the open orders first, in the order the worker locks them when it
        // stores a file (order, then certificates): the two wait for each other, never deadlock.
        if self.backend == Backend::Postgres {
            sqlx::query(
                "SELECT id FROM orders WHERE graduate_id = $1 AND language = $2 AND certificate_id IS NULL \
                 AND cancelled_at IS NULL ORDER BY id FOR UPDATE",
            )
            .bind(graduate_id)
            .bind(&language)
            .fetch_all(&mut *tx)
            .await?;
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
        append_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
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
    pub async fn set_template(&self, language: Language, design: &str, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO templates (language, design, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (language) DO UPDATE SET design = excluded.design, updated_at = excluded.updated_at, \
             updated_by = excluded.updated_by",
        )
        .bind(language.code())
        .bind(design)
        .bind(audit.at)
        .bind(&audit.actor)
        .execute(&mut *tx)
        .await?;
        append_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The dashboard: per campus, the counts of each stage, for `today`.
    pub async fn dashboard(&self, today: Date) -> Result<Vec<CampusCounts>> {
        let today = today.to_string();
        let rows = sqlx::query(
            "SELECT k.code AS campus, \
             (SELECT COUNT(*) FROM graduates g WHERE g.campus = k.code AND g.confirmed_at IS NULL) AS unconfirmed, \
             (SELECT COUNT(*) FROM graduates g WHERE g.campus = k.code AND g.confirmed_at IS NULL \
                AND EXISTS (SELECT 1 FROM orders o WHERE o.graduate_id = g.id AND o.certificate_id IS NULL \
                AND o.cancelled_at IS NULL)) AS awaiting_confirmation, \
             (SELECT COUNT(*) FROM orders o JOIN graduates g ON g.id = o.graduate_id \
                WHERE g.campus = k.code AND g.confirmed_at IS NOT NULL AND o.certificate_id IS NULL \
                AND o.cancelled_at IS NULL AND o.due_on >= $1) AS due, \
             (SELECT COUNT(*) FROM orders o JOIN graduates g ON g.id = o.graduate_id \
                WHERE g.campus = k.code AND g.confirmed_at IS NOT NULL AND o.certificate_id IS NULL \
                AND o.cancelled_at IS NULL AND o.due_on < $1) AS overdue, \
             (SELECT COUNT(*) FROM certificates c JOIN graduates g ON g.id = c.graduate_id WHERE g.campus = k.code) \
                AS issued, \
             (SELECT COUNT(*) FROM certificates c JOIN graduates g ON g.id = c.graduate_id WHERE g.campus = k.code \
                AND EXISTS (SELECT 1 FROM outbox m WHERE m.certificate_id = c.id) \
                AND NOT EXISTS (SELECT 1 FROM outbox m WHERE m.certificate_id = c.id AND m.status <> 'sent')) \
                AS delivered, \
             (SELECT COUNT(*) FROM certificates c JOIN graduates g ON g.id = c.graduate_id WHERE g.campus = k.code \
                AND EXISTS (SELECT 1 FROM outbox m WHERE m.certificate_id = c.id AND m.status = 'failed')) \
                AS failed \
             FROM campuses k ORDER BY k.position, k.code",
        )
        .bind(&today)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CampusCounts {
                    campus: r.try_get("campus")?,
                    unconfirmed: r.try_get("unconfirmed")?,
                    awaiting_confirmation: r.try_get("awaiting_confirmation")?,
                    due: r.try_get("due")?,
                    overdue: r.try_get("overdue")?,
                    issued: r.try_get("issued")?,
                    delivered: r.try_get("delivered")?,
                    failed: r.try_get("failed")?,
                })
            })
            .collect()
    }
}

const ORDER_SELECT: &str = "SELECT id, graduate_id, language, version, kind, reason, requested_on, due_on, \
     certificate_id, last_error, cancelled_at FROM orders";

fn order_row(r: &AnyRow) -> Result<Order> {
    Ok(Order {
        id: r.try_get("id")?,
        graduate_id: r.try_get("graduate_id")?,
        language: parse_language(&r.try_get::<String, _>("language")?)?,
        version: u32::try_from(r.try_get::<i64, _>("version")?).map_err(|e| corrupt("version", e))?,
        kind: OrderKind::parse(&r.try_get::<String, _>("kind")?)?,
        reason: r.try_get("reason")?,
        requested_on: parse_date(&r.try_get::<String, _>("requested_on")?)?,
        due_on: parse_date(&r.try_get::<String, _>("due_on")?)?,
        certificate_id: r.try_get("certificate_id")?,
        last_error: r.try_get("last_error")?,
        cancelled_at: r.try_get("cancelled_at")?,
    })
}

const CERT_SELECT: &str = "SELECT c.id, c.graduate_id, c.language, c.version, c.number, c.sha256, c.previous_sha256, \
     c.size, c.issued_at, c.status, c.status_reason, c.status_at, \
     (SELECT COUNT(*) FROM outbox m WHERE m.certificate_id = c.id AND m.status = 'sent') AS sent, \
     (SELECT COUNT(*) FROM outbox m WHERE m.certificate_id = c.id AND m.status = 'pending') AS pending, \
     (SELECT COUNT(*) FROM outbox m WHERE m.certificate_id = c.id AND m.status = 'failed') AS failed \
     FROM certificates c";

fn certificate_row(r: &AnyRow) -> Result<CertificateInfo> {
    Ok(CertificateInfo {
        id: r.try_get("id")?,
        graduate_id: r.try_get("graduate_id")?,
        language: parse_language(&r.try_get::<String, _>("language")?)?,
        version: u32::try_from(r.try_get::<i64, _>("version")?).map_err(|e| corrupt("version", e))?,
        number: r.try_get("number")?,
        sha256: r.try_get("sha256")?,
        previous_sha256: r.try_get("previous_sha256")?,
        size: r.try_get("size")?,
        issued_at: r.try_get("issued_at")?,
        status: CertificateStatus::parse(&r.try_get::<String, _>("status")?)?,
        status_reason: r.try_get("status_reason")?,
        status_at: r.try_get("status_at")?,
        delivery: DeliveryCounts {
            sent: r.try_get("sent")?,
            pending: r.try_get("pending")?,
            failed: r.try_get("failed")?,
        },
    })
}
