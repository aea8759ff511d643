//! The Ministry's own content: verification statistics (a hash, an outcome and a time; never the
//! file), the verification site's news and FAQ, and the teacher certificates the Ministry issued
//! itself (the files, kept with their registry records).

use dcert_core::Sha256Digest;
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Executor, Row};

use self::sealed::Content;
use super::MinistryStore;
use super::registry::{
    Duplicate, RegistryRecord, insert_registry_record, lock_log, one_file_per_version, sequence_log,
};
use crate::db::{AnyQuery, FetchWith, append_audit};
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
        sqlx::query("SELECT at, sha256, outcome, reason, channel FROM verifications ORDER BY id DESC LIMIT $1")
            .bind(limit)
            .fetch_all_with(&self.pool, verification_row)
            .await
    }

    /// Counts of verifications from `since` (Unix seconds) on.
    pub async fn verification_stats(&self, since: i64) -> Result<VerificationStats> {
        let mut stats = VerificationStats::default();
        let rows = sqlx::query("SELECT outcome, COUNT(*) AS n FROM verifications WHERE at >= $1 GROUP BY outcome")
            .bind(since)
            .fetch_all(&self.pool)
            .await?;
        for r in &rows {
            let outcome: String = r.try_get("outcome")?;
            let n: i64 = r.try_get("n")?;
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
        stats.by_reason = sqlx::query(
            "SELECT reason, COUNT(*) AS n FROM verifications WHERE at >= $1 AND reason IS NOT NULL \
             GROUP BY reason ORDER BY n DESC, reason",
        )
        .bind(since)
        .fetch_all_with(&self.pool, |r| Ok((r.try_get("reason")?, r.try_get("n")?)))
        .await?;
        let rows = sqlx::query(
            "SELECT (at + $1) / 86400 AS day, COUNT(*) AS n FROM verifications WHERE at >= $2 GROUP BY day ORDER BY day",
        )
        .bind(TAIWAN_OFFSET)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        for r in &rows {
            let day: i64 = r.try_get("day")?;
            let date = dcert_core::time::Timestamp(day * 86400).date();
            stats.by_day.push((date.to_string(), r.try_get("n")?));
        }
        Ok(stats)
    }

    /// The news, newest first.
    pub async fn news(&self, limit: i64) -> Result<Vec<NewsItem>> {
        select::<NewsItem>("ORDER BY published_on DESC, id DESC LIMIT $1")
            .bind(limit)
            .fetch_all_with(&self.pool, NewsItem::from_row)
            .await
    }

    /// The questions, in order.
    pub async fn faq(&self) -> Result<Vec<FaqItem>> {
        select::<FaqItem>("ORDER BY position, id").fetch_all_with(&self.pool, FaqItem::from_row).await
    }

    /// Writes the first questions, only if there are none yet (a site's first start).
    pub async fn seed_faq(&self, items: &[FaqItem], at: i64) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM faq").fetch_one(&mut *tx).await?.try_get(0)?;
        if n > 0 {
            return Ok(false);
        }
        for item in items {
            insert_content(&mut *tx, item, "setup", at).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// One item of the site's content: a news item, a question.
    pub async fn content_item<C: ContentItem>(&self, id: i64) -> Result<C> {
        select::<C>("WHERE id = $1")
            .bind(id)
            .fetch_optional_with(&self.pool, C::from_row)
            .await?
            .ok_or(StoreError::NotFound(C::WHAT))
    }

    /// Adds an item of the site's content (`id` 0) or replaces one, with the audit entry `audit`
    /// makes of its id; returns its id.
    pub async fn save_content<C: ContentItem>(
        &self,
        item: &C,
        by: &str,
        at: i64,
        audit: impl FnOnce(i64) -> AuditEntry,
    ) -> Result<i64> {
        let mut tx = self.write_tx().await?;
        let id = if item.id() == 0 {
            insert_content(&mut *tx, item, by, at).await?
        } else {
            let columns = C::COLUMNS.iter().chain(&CHANGED_COLUMNS);
            let assignments: Vec<String> = columns.zip(1..).map(|(column, i)| format!("{column} = ${i}")).collect();
            let sql =
                format!("UPDATE {} SET {} WHERE id = ${}", C::TABLE, assignments.join(", "), assignments.len() + 1);
            let update = item.bind_fields(sqlx::query(AssertSqlSafe(sql))).bind(at).bind(by).bind(item.id());
            if update.execute(&mut *tx).await?.rows_affected() == 0 {
                return Err(StoreError::NotFound(C::WHAT));
            }
            item.id()
        };
        append_audit(&mut tx, &audit(id)).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Removes an item of the site's content, with the audit entry `audit`.
    pub async fn delete_content<C: ContentItem>(&self, id: i64, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let sql = format!("DELETE FROM {} WHERE id = $1", C::TABLE);
        let done = sqlx::query(AssertSqlSafe(sql)).bind(id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(C::WHAT));
        }
        append_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
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
        lock_log(&mut tx, self.backend()).await?;
        // No `ON CONFLICT` here, unlike a submission: the same file again is refused, not
        // accepted quietly, as it is kept already.
        insert_registry_record(&mut tx, record, Duplicate::Refuse).await?;
        sequence_log(&mut tx).await?;
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
        let query = match number {
            Some(number) => sqlx::query(AssertSqlSafe(format!(
                "SELECT {TEACHER_COLUMNS} FROM teacher_certificates WHERE number = $1 ORDER BY id DESC LIMIT $2"
            )))
            .bind(number),
            None => sqlx::query(AssertSqlSafe(format!(
                "SELECT {TEACHER_COLUMNS} FROM teacher_certificates ORDER BY id DESC LIMIT $1"
            ))),
        };
        query.bind(limit).fetch_all_with(&self.pool, teacher_row).await
    }

    /// One teacher certificate with the exact bytes of its file.
    pub async fn teacher_certificate_file(&self, id: i64) -> Result<(TeacherCertificate, Vec<u8>)> {
        sqlx::query(AssertSqlSafe(format!("SELECT {TEACHER_COLUMNS}, file FROM teacher_certificates WHERE id = $1")))
            .bind(id)
            .fetch_optional_with(&self.pool, |r| Ok((teacher_row(r)?, r.try_get("file")?)))
            .await?
            .ok_or(StoreError::NotFound("teacher certificate"))
    }
}

/// The columns of a teacher certificate, without its file (`file` may follow them, ninth).
const TEACHER_COLUMNS: &str = "id, institution, number, language, version, sha256, issued_at, issued_by";

fn teacher_row(r: &AnyRow) -> Result<TeacherCertificate> {
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

fn verification_row(r: &AnyRow) -> Result<Verification> {
    Ok(Verification {
        at: r.try_get("at")?,
        sha256: r.try_get("sha256")?,
        outcome: r.try_get("outcome")?,
        reason: r.try_get("reason")?,
        channel: r.try_get("channel")?,
    })
}

/// An item of the verification site's content that the store keeps: [`NewsItem`], [`FaqItem`].
pub trait ContentItem: sealed::Content + Send + Sync + Unpin {}

impl ContentItem for NewsItem {}
impl ContentItem for FaqItem {}

mod sealed {
    use super::*;

    /// An item of the verification site's content (news, questions), kept in a table of its
    /// own: an id, the item's columns, and [`CHANGED_COLUMNS`]. Written once for every kind.
    pub trait Content: Sized {
        /// The table.
        const TABLE: &'static str;
        /// The item's columns after `id`, in the order [`Content::bind_fields`] binds them.
        const COLUMNS: &'static [&'static str];
        /// What a missing item is, for [`StoreError::NotFound`].
        const WHAT: &'static str;

        /// Its id (0 before it is saved).
        fn id(&self) -> i64;

        /// Binds the item's fields as the next parameters, in the order of [`Content::COLUMNS`].
        fn bind_fields<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q>;

        /// The item of a row of `id` and [`Content::COLUMNS`].
        fn from_row(r: &AnyRow) -> Result<Self>;
    }
}

impl Content for NewsItem {
    const TABLE: &'static str = "news";
    const COLUMNS: &'static [&'static str] = &["published_on", "title_zh", "title_en", "body_zh", "body_en"];
    const WHAT: &'static str = "news item";

    fn id(&self) -> i64 {
        self.id
    }

    fn bind_fields<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query.bind(&self.published_on).bind(&self.title_zh).bind(&self.title_en).bind(&self.body_zh).bind(&self.body_en)
    }

    fn from_row(r: &AnyRow) -> Result<NewsItem> {
        Ok(NewsItem {
            id: r.try_get("id")?,
            published_on: r.try_get("published_on")?,
            title_zh: r.try_get("title_zh")?,
            title_en: r.try_get("title_en")?,
            body_zh: r.try_get("body_zh")?,
            body_en: r.try_get("body_en")?,
        })
    }
}

impl Content for FaqItem {
    const TABLE: &'static str = "faq";
    const COLUMNS: &'static [&'static str] = &["position", "question_zh", "question_en", "answer_zh", "answer_en"];
    const WHAT: &'static str = "question";

    fn id(&self) -> i64 {
        self.id
    }

    fn bind_fields<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query
            .bind(self.position)
            .bind(&self.question_zh)
            .bind(&self.question_en)
            .bind(&self.answer_zh)
            .bind(&self.answer_en)
    }

    fn from_row(r: &AnyRow) -> Result<FaqItem> {
        Ok(FaqItem {
            id: r.try_get("id")?,
            position: r.try_get("position")?,
            question_zh: r.try_get("question_zh")?,
            question_en: r.try_get("question_en")?,
            answer_zh: r.try_get("answer_zh")?,
            answer_en: r.try_get("answer_en")?,
        })
    }
}

/// When an item of the site's content last changed and who changed it, bound after its fields.
const CHANGED_COLUMNS: [&str; 2] = ["updated_at", "updated_by"];

/// `SELECT id` and the columns of `C`'s table, followed by `rest` (a filter, an order).
fn select<C: Content>(rest: &str) -> AnyQuery<'static> {
    sqlx::query(AssertSqlSafe(format!("SELECT id, {} FROM {} {rest}", C::COLUMNS.join(", "), C::TABLE)))
}

/// Adds an item of the site's content, changed by `by` at `at`; returns its id.
async fn insert_content<'c, C: Content>(
    executor: impl Executor<'c, Database = Any>,
    item: &C,
    by: &str,
    at: i64,
) -> Result<i64> {
    let columns: Vec<&str> = C::COLUMNS.iter().chain(&CHANGED_COLUMNS).copied().collect();
    let parameters: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
    let sql =
        format!("INSERT INTO {} ({}) VALUES ({}) RETURNING id", C::TABLE, columns.join(", "), parameters.join(", "));
    let row = item.bind_fields(sqlx::query(AssertSqlSafe(sql))).bind(at).bind(by).fetch_one(executor).await?;
    Ok(row.try_get(0)?)
}
