//! The Ministry's own content: verification statistics (a hash, an outcome and a time; never the
//! file), the verification site's news and FAQ, and the teacher certificates the Ministry issued
//! itself (the files, kept with their registry records).

use dcert_core::Sha256Digest;
use sqlx::{AssertSqlSafe, Row};

use super::MinistryStore;
use super::registry::{Duplicate, RegistryRecord, insert_registry_record, one_file_per_version};
use crate::db::append_audit;
use crate::{AuditEntry, Result, StoreError};

/// One verification, as kept for statistics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    /// When (Unix seconds).
    pub at: i64,
    /// SHA-256 of the file verified (hex).
    pub sha256: String,
    /// `success`, `warning` or `failure`.
    pub outcome: String,
    /// The reason of a warning or failure (`modified`, `revoked`, …).
    pub reason: Option<String>,
    /// `page` or `api`.
    pub channel: String,
}

/// Counts of verifications since a time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerificationStats {
    /// Every verification.
    pub total: i64,
    /// Successes.
    pub success: i64,
    /// Warnings.
    pub warning: i64,
    /// Failures.
    pub failure: i64,
    /// Different files verified.
    pub distinct_files: i64,
    /// Warnings and failures by reason, most frequent first.
    pub by_reason: Vec<(String, i64)>,
    /// Verifications per day (Taiwan time, `YYYY-MM-DD`), oldest first.
    pub by_day: Vec<(String, i64)>,
}

/// A news item of the verification site (最新消息).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewsItem {
    /// Its id (0 before it is saved).
    pub id: i64,
    /// The day shown, `YYYY-MM-DD`.
    pub published_on: String,
    /// The title in Chinese.
    pub title_zh: String,
    /// The title in English.
    pub title_en: String,
    /// The text in Chinese.
    pub body_zh: String,
    /// The text in English.
    pub body_en: String,
}

/// A question of the verification site (常見問題).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaqItem {
    /// Its id (0 before it is saved).
    pub id: i64,
    /// Its place in the list, smallest first.
    pub position: i64,
    /// The question in Chinese.
    pub question_zh: String,
    /// The question in English.
    pub question_en: String,
    /// The answer in Chinese.
    pub answer_zh: String,
    /// The answer in English.
    pub answer_en: String,
}

/// A teacher certificate the Ministry's console issued, without its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeacherCertificate {
    /// The row id.
    pub id: i64,
    /// The issuing institution's id in the trust list (the Ministry's).
    pub institution: String,
    /// The certificate number.
    pub number: String,
    /// The language of the file, `zh` or `en`.
    pub language: String,
    /// The version.
    pub version: i64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// When it was issued (Unix seconds).
    pub issued_at: i64,
    /// Who issued it: a staff username.
    pub issued_by: String,
}

/// Seconds east of UTC of Taiwan's time, for days in statistics.
const TAIWAN_OFFSET: i64 = 8 * 3600;

impl MinistryStore {
    /// Keeps a batch of verifications for statistics, in one transaction.
    pub async fn record_verifications(&self, batch: &[Verification]) -> Result<()> {
        let mut tx = self.write_tx().await?;
        for v in batch {
            sqlx::query("INSERT INTO verifications (at, sha256, outcome, reason, channel) VALUES ($1, $2, $3, $4, $5)")
                .bind(v.at)
                .bind(&v.sha256)
                .bind(&v.outcome)
                .bind(&v.reason)
                .bind(&v.channel)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The most recent verifications, newest first.
    pub async fn recent_verifications(&self, limit: i64) -> Result<Vec<Verification>> {
        let rows =
            sqlx::query("SELECT at, sha256, outcome, reason, channel FROM verifications ORDER BY id DESC LIMIT $1")
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(Verification {
                    at: r.try_get("at")?,
                    sha256: r.try_get("sha256")?,
                    outcome: r.try_get("outcome")?,
                    reason: r.try_get("reason")?,
                    channel: r.try_get("channel")?,
                })
            })
            .collect()
    }

    /// Counts of verifications from `since` (Unix seconds) on.
    pub async fn verification_stats(&self, since: i64) -> Result<VerificationStats> {
        let mut stats = VerificationStats::default();
        let rows = sqlx::query("SELECT outcome, COUNT(*) FROM verifications WHERE at >= $1 GROUP BY outcome")
            .bind(since)
            .fetch_all(&self.pool)
            .await?;
        for r in &rows {
            let outcome: String = r.try_get("outcome")?;
            let n: i64 = r.try_get(1)?;
            stats.total += n;
            match outcome.as_str() {
                "success" => stats.success = n,
                "warning" => stats.warning = n,
                _ => stats.failure += n,
            }
        }
        let row = sqlx::query("SELECT COUNT(DISTINCT sha256) FROM verifications WHERE at >= $1")
            .bind(since)
            .fetch_one(&self.pool)
            .await?;
        stats.distinct_files = row.try_get(0)?;
        let rows = sqlx::query(
            "SELECT reason, COUNT(*) AS n FROM verifications WHERE at >= $1 AND reason IS NOT NULL \
             GROUP BY reason ORDER BY n DESC, reason",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        stats.by_reason = rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect::<Result<_>>()?;
        let rows = sqlx::query(
            "SELECT (at + $1) / 86400 AS day, COUNT(*) FROM verifications WHERE at >= $2 GROUP BY day ORDER BY day",
        )
        .bind(TAIWAN_OFFSET)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        for r in &rows {
            let day: i64 = r.try_get("day")?;
            let date = dcert_core::time::Timestamp(day * 86400).date();
            stats.by_day.push((date.to_string(), r.try_get(1)?));
        }
        Ok(stats)
    }

    /// The news, newest first.
    pub async fn news(&self, limit: i64) -> Result<Vec<NewsItem>> {
        let rows = sqlx::query(
            "SELECT id, published_on, title_zh, title_en, body_zh, body_en FROM news \
             ORDER BY published_on DESC, id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(news_row).collect()
    }

    /// One news item.
    pub async fn news_item(&self, id: i64) -> Result<NewsItem> {
        let row = sqlx::query("SELECT id, published_on, title_zh, title_en, body_zh, body_en FROM news WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound("news item"))?;
        news_row(&row)
    }

    /// Adds a news item (`id` 0) or replaces one; returns its id.
    pub async fn save_news(&self, item: &NewsItem, by: &str, at: i64) -> Result<i64> {
        if item.id == 0 {
            let row = sqlx::query(
                "INSERT INTO news (published_on, title_zh, title_en, body_zh, body_en, updated_at, updated_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(&item.published_on)
            .bind(&item.title_zh)
            .bind(&item.title_en)
            .bind(&item.body_zh)
            .bind(&item.body_en)
            .bind(at)
            .bind(by)
            .fetch_one(&self.pool)
            .await?;
            return Ok(row.try_get(0)?);
        }
        let done = sqlx::query(
            "UPDATE news SET published_on = $1, title_zh = $2, title_en = $3, body_zh = $4, body_en = $5, \
             updated_at = $6, updated_by = $7 WHERE id = $8",
        )
        .bind(&item.published_on)
        .bind(&item.title_zh)
        .bind(&item.title_en)
        .bind(&item.body_zh)
        .bind(&item.body_en)
        .bind(at)
        .bind(by)
        .bind(item.id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("news item"));
        }
        Ok(item.id)
    }

    /// Removes a news item.
    pub async fn delete_news(&self, id: i64) -> Result<()> {
        let done = sqlx::query("DELETE FROM news WHERE id = $1").bind(id).execute(&self.pool).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("news item"));
        }
        Ok(())
    }

    /// The questions, in order.
    pub async fn faq(&self) -> Result<Vec<FaqItem>> {
        let rows = sqlx::query(
            "SELECT id, position, question_zh, question_en, answer_zh, answer_en FROM faq ORDER BY position, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(faq_row).collect()
    }

    /// Adds a question (`id` 0) or replaces one; returns its id.
    pub async fn save_faq(&self, item: &FaqItem, by: &str, at: i64) -> Result<i64> {
        if item.id == 0 {
            let row = sqlx::query(
                "INSERT INTO faq (position, question_zh, question_en, answer_zh, answer_en, updated_at, updated_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(item.position)
            .bind(&item.question_zh)
            .bind(&item.question_en)
            .bind(&item.answer_zh)
            .bind(&item.answer_en)
            .bind(at)
            .bind(by)
            .fetch_one(&self.pool)
            .await?;
            return Ok(row.try_get(0)?);
        }
        let done = sqlx::query(
            "UPDATE faq SET position = $1, question_zh = $2, question_en = $3, answer_zh = $4, answer_en = $5, \
             updated_at = $6, updated_by = $7 WHERE id = $8",
        )
        .bind(item.position)
        .bind(&item.question_zh)
        .bind(&item.question_en)
        .bind(&item.answer_zh)
        .bind(&item.answer_en)
        .bind(at)
        .bind(by)
        .bind(item.id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("question"));
        }
        Ok(item.id)
    }

    /// Removes a question.
    pub async fn delete_faq(&self, id: i64) -> Result<()> {
        let done = sqlx::query("DELETE FROM faq WHERE id = $1").bind(id).execute(&self.pool).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("question"));
        }
        Ok(())
    }

    /// Writes the first questions, only if there are none yet (a site's first start).
    pub async fn seed_faq(&self, items: &[FaqItem], at: i64) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM faq").fetch_one(&mut *tx).await?.try_get(0)?;
        if n > 0 {
            return Ok(false);
        }
        for item in items {
            sqlx::query(
                "INSERT INTO faq (position, question_zh, question_en, answer_zh, answer_en, updated_at, updated_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'setup')",
            )
            .bind(item.position)
            .bind(&item.question_zh)
            .bind(&item.question_en)
            .bind(&item.answer_zh)
            .bind(&item.answer_en)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Keeps a teacher certificate the Ministry issued, in one transaction: its `issued` registry
    /// record, the exact bytes of the file, and the audit entry. A file is kept if and only if it
    /// is registered. A second file for the same number, language and version (or the same file
    /// again) is a [`StoreError::Conflict`] and stores nothing. Returns the file's id.
    pub async fn store_teacher_certificate(
        &self,
        record: &RegistryRecord,
        file: &[u8],
        issued_by: &str,
        audit: &AuditEntry,
    ) -> Result<i64> {
        if record.event != "issued" || record.credential_type != "teacher" {
            return Err(StoreError::Conflict("only an issued teacher certificate is kept as a file".into()));
        }
        if Sha256Digest::of(file).to_string() != record.sha256 {
            return Err(StoreError::Conflict("the file is not the one its registry record names".into()));
        }
        let mut tx = self.write_tx().await?;
        // No `ON CONFLICT` here, unlike a submission: the same file again is refused, not
        // accepted quietly, as it is kept already.
        insert_registry_record(&mut *tx, record, Duplicate::Refuse).await?;
        let row = sqlx::query(
            "INSERT INTO teacher_certificates (institution, number, language, version, sha256, file, issued_at, \
             issued_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(&record.institution)
        .bind(&record.number)
        .bind(&record.language)
        .bind(record.version)
        .bind(&record.sha256)
        .bind(file)
        .bind(record.at)
        .bind(issued_by)
        .fetch_one(&mut *tx)
        .await
        .map_err(one_file_per_version)?;
        let id: i64 = row.try_get(0)?;
        append_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The teacher certificates issued, newest first; only those of `number`, if given.
    pub async fn teacher_certificates(&self, number: Option<&str>, limit: i64) -> Result<Vec<TeacherCertificate>> {
        let rows = match number {
            Some(number) => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {TEACHER_COLUMNS} FROM teacher_certificates WHERE number = $1 ORDER BY id DESC LIMIT $2"
                )))
                .bind(number)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {TEACHER_COLUMNS} FROM teacher_certificates ORDER BY id DESC LIMIT $1"
                )))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(teacher_row).collect()
    }

    /// One teacher certificate with the exact bytes of its file.
    pub async fn teacher_certificate_file(&self, id: i64) -> Result<(TeacherCertificate, Vec<u8>)> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {TEACHER_COLUMNS}, file FROM teacher_certificates WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound("teacher certificate"))?;
        Ok((teacher_row(&row)?, row.try_get(8)?))
    }
}

/// The columns of a teacher certificate, without its file (`file` may follow them, ninth).
const TEACHER_COLUMNS: &str = "id, institution, number, language, version, sha256, issued_at, issued_by";

fn teacher_row(r: &sqlx::any::AnyRow) -> Result<TeacherCertificate> {
    Ok(TeacherCertificate {
        id: r.try_get("id")?,
        institution: r.try_get("institution")?,
        number: r.try_get("number")?,
        language: r.try_get("language")?,
        version: r.try_get("version")?,
        sha256: r.try_get("sha256")?,
        issued_at: r.try_get("issued_at")?,
        issued_by: r.try_get("issued_by")?,
    })
}

fn news_row(r: &sqlx::any::AnyRow) -> Result<NewsItem> {
    Ok(NewsItem {
        id: r.try_get("id")?,
        published_on: r.try_get("published_on")?,
        title_zh: r.try_get("title_zh")?,
        title_en: r.try_get("title_en")?,
        body_zh: r.try_get("body_zh")?,
        body_en: r.try_get("body_en")?,
    })
}

fn faq_row(r: &sqlx::any::AnyRow) -> Result<FaqItem> {
    Ok(FaqItem {
        id: r.try_get("id")?,
        position: r.try_get("position")?,
        question_zh: r.try_get("question_zh")?,
        question_en: r.try_get("question_en")?,
        answer_zh: r.try_get("answer_zh")?,
        answer_en: r.try_get("answer_en")?,
    })
}
