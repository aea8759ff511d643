//! The outboxes: emails waiting for the SMTP relay with their delivery log, and issuance records
//! waiting for the Ministry's registry. Both are written in the transaction of what they announce
//! and sent after it, retried until accepted.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::UniversityStore;
use crate::db::{FetchWith, Tx, append_audit};
use crate::{AuditEntry, Backend, Result, StoreError};

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

/// An address the outbox holds emails for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    /// The address, as the emails name it.
    pub address: String,
    /// How many emails to it the outbox holds.
    pub messages: i64,
    /// When the newest of them was queued.
    pub latest_at: i64,
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

impl UniversityStore {
    /// Queues emails outside an issuance (a resend, an address confirmation).
    ///
    /// Emails with a certificate are queued only while it is current, checked in the same
    /// transaction (its row locked on PostgreSQL): a resend racing a reissue sends no outdated file.
    pub async fn queue_emails(
        &self,
        certificate_id: Option<i64>,
        emails: &[NewEmail],
        at: i64,
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        if let Some(id) = certificate_id {
            let lock = if self.backend == Backend::Postgres { " FOR UPDATE" } else { "" };
            let row = sqlx::query(AssertSqlSafe(format!("SELECT status FROM certificates WHERE id = $1{lock}")))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound("certificate"))?;
            let status: String = row.try_get("status")?;
            if status != "current" {
                return Err(StoreError::Conflict("the certificate is no longer current".into()));
            }
        }
        queue_all(&mut tx, certificate_id, emails, at).await?;
        append_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Emails due for an attempt.
    pub async fn due_emails(&self, now: i64, limit: i64) -> Result<Vec<OutboxMessage>> {
        sqlx::query(AssertSqlSafe(format!(
            "{OUTBOX_SELECT} WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2"
        )))
        .bind(now)
        .bind(limit)
        .fetch_all_with(&self.pool, outbox_row)
        .await
    }

    /// The outbox, newest first, optionally of one certificate.
    pub async fn emails(&self, certificate_id: Option<i64>, limit: i64) -> Result<Vec<OutboxMessage>> {
        sqlx::query(AssertSqlSafe(format!(
            "{OUTBOX_SELECT} WHERE ($1 IS NULL OR certificate_id = $1) ORDER BY id DESC LIMIT $2"
        )))
        .bind(certificate_id)
        .bind(limit)
        .fetch_all_with(&self.pool, outbox_row)
        .await
    }

    /// The addresses the outbox holds emails for, whatever became of them, the most recently
    /// written to first (`dcert demo`'s mailbox).
    pub async fn email_recipients(&self, limit: i64) -> Result<Vec<Recipient>> {
        sqlx::query(
            "SELECT to_address, COUNT(*) AS messages, MAX(created_at) AS latest FROM outbox GROUP BY to_address \
             ORDER BY latest DESC, to_address LIMIT $1",
        )
        .bind(limit)
        .fetch_all_with(&self.pool, |r| {
            Ok(Recipient {
                address: r.try_get("to_address")?,
                messages: r.try_get("messages")?,
                latest_at: r.try_get("latest")?,
            })
        })
        .await
    }

    /// The emails to `address` (exactly as queued), newest first.
    pub async fn emails_to(&self, address: &str, limit: i64) -> Result<Vec<OutboxMessage>> {
        sqlx::query(AssertSqlSafe(format!("{OUTBOX_SELECT} WHERE to_address = $1 ORDER BY id DESC LIMIT $2")))
            .bind(address)
            .bind(limit)
            .fetch_all_with(&self.pool, outbox_row)
            .await
    }

    /// A page of the outbox, newest first: of one campus's graduates (an email of no
    /// certificate belongs to no campus) and in one state (`pending`, `sent`, `failed`,
    /// `cancelled`) when asked; with how many there are in all.
    pub async fn outbox_page(&self, filter: &OutboxFilter) -> Result<(Vec<OutboxMessage>, i64)> {
        const FROM: &str = "FROM outbox m LEFT JOIN certificates c ON c.id = m.certificate_id \
             LEFT JOIN graduates g ON g.id = c.graduate_id \
             WHERE ($1 IS NULL OR g.campus = $1) AND ($2 IS NULL OR m.status = $2)";
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT m.id, m.certificate_id, m.kind, m.to_address, m.subject, m.body, m.status, m.attempts, \
             m.next_attempt_at, m.last_error, m.sent_at, m.created_at {FROM} ORDER BY m.id DESC LIMIT $3 OFFSET $4"
        )))
        .bind(filter.campus.as_deref())
        .bind(filter.status.as_deref())
        .bind(if filter.limit > 0 { filter.limit } else { 100 })
        .bind(filter.offset.max(0))
        .fetch_all_with(&self.pool, outbox_row)
        .await?;
        let total = sqlx::query(AssertSqlSafe(format!("SELECT COUNT(*) AS n {FROM}")))
            .bind(filter.campus.as_deref())
            .bind(filter.status.as_deref())
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        Ok((rows, total))
    }

    /// One email.
    pub async fn email(&self, id: i64) -> Result<Option<OutboxMessage>> {
        sqlx::query(AssertSqlSafe(format!("{OUTBOX_SELECT} WHERE id = $1")))
            .bind(id)
            .fetch_optional_with(&self.pool, outbox_row)
            .await
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
        sqlx::query("SELECT at, event, detail FROM delivery_log WHERE outbox_id = $1 ORDER BY id")
            .bind(outbox_id)
            .fetch_all_with(&self.pool, |r| {
                Ok(DeliveryEvent { at: r.try_get("at")?, event: r.try_get("event")?, detail: r.try_get("detail")? })
            })
            .await
    }

    /// Registry submissions not yet accepted, oldest first.
    pub async fn due_registry_submissions(&self, now: i64, limit: i64) -> Result<Vec<RegistrySubmission>> {
        sqlx::query(
            "SELECT id, payload, attempts FROM registry_outbox WHERE submitted_at IS NULL AND next_attempt_at <= $1 \
             ORDER BY id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all_with(&self.pool, |r| {
            Ok(RegistrySubmission {
                id: r.try_get("id")?,
                payload: r.try_get("payload")?,
                attempts: r.try_get("attempts")?,
            })
        })
        .await
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
}

/// Queues `emails` in the caller's transaction, with their "queued" entries in the delivery log:
/// two statements whatever their number.
pub(super) async fn queue_all(
    tx: &mut Tx<'_>,
    certificate_id: Option<i64>,
    emails: &[NewEmail],
    at: i64,
) -> Result<()> {
    if emails.is_empty() {
        return Ok(());
    }
    let values: Vec<String> = (0..emails.len())
        .map(|i| {
            let p = 5 * i + 2;
            format!("($1, ${p}, ${}, ${}, ${}, 'pending', 0, ${}, ${})", p + 1, p + 2, p + 3, p + 4, p + 4)
        })
        .collect();
    let sql = format!(
        "INSERT INTO outbox (certificate_id, kind, to_address, subject, body, status, attempts, next_attempt_at, \
         created_at) VALUES {} RETURNING id",
        values.join(", ")
    );
    let mut insert = sqlx::query(AssertSqlSafe(sql)).bind(certificate_id);
    for email in emails {
        insert = insert.bind(&email.kind).bind(&email.to).bind(&email.subject).bind(&email.body).bind(at);
    }
    let ids: Vec<i64> =
        insert.fetch_all(&mut **tx).await?.iter().map(|r| r.try_get("id")).collect::<std::result::Result<_, _>>()?;
    let values: Vec<String> = (0..ids.len()).map(|i| format!("(${}, $1, 'queued', '')", i + 2)).collect();
    let sql = format!("INSERT INTO delivery_log (outbox_id, at, event, detail) VALUES {}", values.join(", "));
    let mut log = sqlx::query(AssertSqlSafe(sql)).bind(at);
    for id in ids {
        log = log.bind(id);
    }
    log.execute(&mut **tx).await?;
    Ok(())
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
pub(super) async fn withdraw_unsent_emails(
    tx: &mut Tx<'_>,
    graduate_id: i64,
    language: &str,
    why: &str,
    at: i64,
) -> Result<()> {
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

pub(super) async fn queue_registry(tx: &mut Tx<'_>, payload: &str, at: i64) -> Result<()> {
    sqlx::query("INSERT INTO registry_outbox (payload, created_at, attempts, next_attempt_at) VALUES ($1, $2, 0, $2)")
        .bind(payload)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Which emails a page of the outbox shows.
#[derive(Clone, Debug, Default)]
pub struct OutboxFilter {
    /// Only emails about certificates of this campus's graduates.
    pub campus: Option<String>,
    /// Only emails in this state: `pending`, `sent`, `failed` or `cancelled`.
    pub status: Option<String>,
    /// At most this many.
    pub limit: i64,
    /// After skipping this many.
    pub offset: i64,
}

const OUTBOX_SELECT: &str = "SELECT id, certificate_id, kind, to_address, subject, body, status, attempts, \
     next_attempt_at, last_error, sent_at, created_at FROM outbox";

fn outbox_row(r: &AnyRow) -> Result<OutboxMessage> {
    Ok(OutboxMessage {
        id: r.try_get("id")?,
        certificate_id: r.try_get("certificate_id")?,
        kind: r.try_get("kind")?,
        to: r.try_get("to_address")?,
        subject: r.try_get("subject")?,
        body: r.try_get("body")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        last_error: r.try_get("last_error")?,
        sent_at: r.try_get("sent_at")?,
        created_at: r.try_get("created_at")?,
    })
}
