//! The issuance worker: issues every due certificate of a confirmed graduate, submits the
//! issuance records to the Ministry's registry, and sends the queued emails.
//!
//! Crash safety comes from the store: rendering and signing happen outside any transaction, and
//! the file, the closed order, the registry submission and the emails are stored in one. An order
//! already fulfilled (by another worker, or before a crash) is skipped, so a restarted batch never
//! issues a second certificate for the same language and version. The registry and the SMTP
//! server are reached from outboxes, after the commit, and retried until they accept.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use dcert_core::issue::Issuance;
use dcert_core::model::{Certificate, CredentialType, Language, Subject, Term};
use dcert_core::pdf::Template;
use dcert_core::records::{RecordEvent, RecordPayload};
use dcert_core::time::Timestamp;
use dcert_store::{
    CertificateInfo, Graduate, IssuedFile, MinistryStore, NewEmail, Order, RegistryRecord, StoreError, UniversityStore,
};
use tokio::task::JoinSet;

use super::mail::{self, Mailer};
use crate::http::AppError;
use crate::http::outbound::OutboundError;

/// The revocation of an issued degree certificate, as the registry is told it.
pub fn revocation_record(institution: &str, certificate: &CertificateInfo, reason: &str, at: i64) -> RecordPayload {
    RecordPayload {
        institution: institution.to_owned(),
        event: RecordEvent::Revoked,
        sha256: certificate.sha256.clone(),
        number: certificate.number.clone(),
        language: certificate.language,
        version: certificate.version,
        previous_sha256: None,
        credential_type: CredentialType::Degree,
        credential_sha256: None,
        reason: Some(reason.to_owned()),
        at,
    }
}

/// Why a record did not reach the registry; it stays queued and is tried again later.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The registry could not be reached or did not answer.
    #[error(transparent)]
    Outbound(#[from] OutboundError),
    /// The registry answered with an error.
    #[error("the registry refused the record ({status}, {code}): {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The registry's error code.
        code: String,
        /// The registry's words.
        message: String,
    },
    /// The registry's database (a registry run by this program).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The queued record no longer reads as one.
    #[error("unreadable payload: {0}")]
    Unreadable(#[from] dcert_core::records::PayloadError),
    /// No randomness for a request's nonce.
    #[error("no randomness for a nonce: {0}")]
    Randomness(String),
    /// A value that cannot travel in a header (the institution's id).
    #[error("{0} cannot be sent as a header")]
    Header(&'static str),
}

/// A future returned by a [`Registry`].
pub type RegistryFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SubmitError>> + Send + 'a>>;

/// The Ministry's registry as the university sees it: it accepts issuance records and status
/// changes. Submitting the same record twice must be harmless.
pub trait Registry: Send + Sync {
    /// Submits one record.
    fn submit<'a>(&'a self, payload: &'a RecordPayload) -> RegistryFuture<'a>;
}

/// A registry kept in a store (the Ministry's database), for a deployment where the Ministry's
/// registry runs in the same program (the demo) or until the signed HTTP API is used.
#[derive(Clone, Debug)]
pub struct StoreRegistry {
    /// The Ministry's store.
    pub store: MinistryStore,
}

impl Registry for StoreRegistry {
    fn submit<'a>(&'a self, p: &'a RecordPayload) -> RegistryFuture<'a> {
        Box::pin(async move {
            let record = |event: &str, sha256: &str, version: u32, reason: Option<String>| {
                RegistryRecord::of(p, event, sha256, version, reason, p.at)
            };
            match p.event {
                RecordEvent::Issued => {
                    self.store.append_registry_record(&record("issued", &p.sha256, p.version, None)).await?;
                    if let Some(previous) = &p.previous_sha256 {
                        let superseded = record("superseded", previous, p.version.saturating_sub(1), None);
                        self.store.append_registry_record(&superseded).await?;
                    }
                }
                RecordEvent::Revoked => {
                    self.store
                        .append_registry_record(&record("revoked", &p.sha256, p.version, p.reason.clone()))
                        .await?;
                }
            }
            Ok(())
        })
    }
}

/// The eligibility policy, kept in the store's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The first term whose graduates receive digital certificates (110-1).
    pub first_term: Term,
    /// Whether earlier graduates (alumni) may receive them too.
    pub alumni_open: bool,
}

impl Policy {
    /// The setting that holds the first term.
    pub const FIRST_TERM: &'static str = "policy.first_term";
    /// The setting that opens the alumni application.
    pub const ALUMNI_OPEN: &'static str = "policy.alumni_open";

    /// Reads the policy; defaults: from 110-1, alumni closed.
    pub async fn load(store: &UniversityStore) -> Result<Policy, StoreError> {
        let first_term =
            store.setting(Self::FIRST_TERM).await?.and_then(|t| t.parse().ok()).unwrap_or(Term { year: 110, term: 1 });
        let alumni_open = store.setting(Self::ALUMNI_OPEN).await?.as_deref() == Some("true");
        Ok(Policy { first_term, alumni_open })
    }

    /// Whether a graduate of `term` may receive a digital certificate.
    pub fn eligible(&self, term: Term) -> bool {
        self.alumni_open || term >= self.first_term
    }
}

/// What one round of issuance did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IssueRound {
    /// Certificates issued and stored.
    pub issued: usize,
    /// Orders that another worker fulfilled first.
    pub skipped: usize,
    /// Orders that failed (the error is kept on the order).
    pub failed: usize,
}

/// The worker.
#[derive(Clone)]
pub struct Worker {
    /// The university's store.
    pub store: UniversityStore,
    /// Keys and fonts.
    pub issuance: Arc<Issuance>,
    /// The Ministry's registry.
    pub registry: Arc<dyn Registry>,
    /// The SMTP server, if configured; without one, emails wait in the outbox.
    pub mailer: Option<Arc<Mailer>>,
    /// The Ministry's verification site, named in the emails.
    pub verify_site: String,
    /// How many certificates are rendered at once.
    pub parallelism: usize,
}

/// The certificate number of a graduate's record: institution, term and student number.
pub fn certificate_number(institution: &str, graduate: &Graduate) -> String {
    let clean: String =
        graduate.record.student_number.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    format!("{}-{}-{}", institution.to_ascii_uppercase(), graduate.term(), clean)
}

/// Why an order could not be turned into a certificate to render; it is marked failed with this.
#[derive(Debug, thiserror::Error)]
enum JobError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A reissue whose previous version is not stored.
    #[error("the previous version is missing")]
    NoPreviousVersion,
    /// The previous version's stored hash does not parse.
    #[error("the previous version's hash is corrupt")]
    CorruptPreviousHash,
}

/// What became of one order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Done {
    /// Its file is stored.
    Issued,
    /// Another worker fulfilled it first.
    Skipped,
    /// It failed; the error is kept on the order.
    Failed,
}

/// Files stored in one transaction at the most: a store holds the database's write lock, and its
/// files' memory, only so long.
const STORE_BATCH: usize = 32;

/// What became of one order once rendered: a file to store, or a failure kept on the order.
enum Rendered {
    File(Box<Job>, dcert_core::issue::IssuedFile),
    Failed,
}

/// Everything needed to render one order, gathered before the blocking work.
struct Job {
    order: Order,
    graduate: Graduate,
    certificate: Certificate,
    template: Template,
}

impl Worker {
    /// The template of a language: the institution's own, or the built-in design.
    pub async fn template(&self, language: Language) -> Result<Template, StoreError> {
        if let Some(json) = self.store.template(language).await?
            && let Ok(t) = Template::parse(&json)
        {
            return Ok(t);
        }
        Ok(Template::default_for(CredentialType::Degree, language))
    }

    async fn job(&self, order: Order, graduate: Graduate, templates: &[(Language, Template)]) -> Result<Job, JobError> {
        let previous_version_sha256 = if order.version > 1 {
            let latest = self.store.latest_certificate(graduate.id, order.language).await?;
            let latest = latest.ok_or(JobError::NoPreviousVersion)?;
            Some(latest.sha256.parse().map_err(|_| JobError::CorruptPreviousHash)?)
        } else {
            None
        };
        let certificate = Certificate {
            number: certificate_number(&self.issuance.kit.issuer.id, &graduate),
            language: order.language,
            version: order.version,
            previous_version_sha256,
            subject: Subject::Degree(graduate.record.clone()),
        };
        let template = match templates.iter().find(|(l, _)| *l == order.language) {
            Some((_, t)) => t.clone(),
            None => self.template(order.language).await?,
        };
        Ok(Job { order, graduate, certificate, template })
    }

    /// Renders a certificate for a preview (not stored, not registered).
    pub async fn render_preview(
        &self,
        certificate: Certificate,
        template: Template,
        now: Timestamp,
    ) -> Result<Vec<u8>, AppError> {
        let issuance = self.issuance.clone();
        tokio::task::spawn_blocking(move || {
            dcert_core::issue::issue(&certificate, &issuance.kit, &template, &issuance.fonts, now)
                .map(|f| f.bytes)
                .map_err(|e| AppError::internal("rendering a template preview", e))
        })
        .await
        .map_err(|e| AppError::internal("rendering a template preview", e))?
    }

    /// Issues up to `limit` due certificates, `parallelism` at a time; `progress` is called after
    /// each store and each failure.
    pub async fn issue_due(
        &self,
        now: Timestamp,
        limit: i64,
        progress: &(dyn Fn(IssueRound) + Sync),
    ) -> Result<IssueRound, StoreError> {
        let policy = Policy::load(&self.store).await?;
        let orders = self.store.issuable(policy.first_term, policy.alumni_open, limit).await?;
        let mut round = IssueRound::default();
        // The designs are read once a round, not once a certificate.
        let mut templates = Vec::new();
        for language in [Language::Zh, Language::En] {
            templates.push((language, self.template(language).await?));
        }
        let templates = Arc::new(templates);
        // Each order is its own task, rendering at most `parallelism` at once (the CPU-bound
        // part). What the renderers have finished (up to STORE_BATCH files) is stored together,
        // in one transaction, by a store running beside them: the renderers do not wait for it.
        let renderers = Arc::new(tokio::sync::Semaphore::new(self.parallelism.max(1)));
        let in_flight = 4 * self.parallelism.max(1) + 4;
        let mut running: JoinSet<Result<Rendered, StoreError>> = JoinSet::new();
        // At most one store at a time; a JoinSet, so that stopping this round stops it too.
        let mut storing: JoinSet<Result<Vec<Done>, StoreError>> = JoinSet::new();
        let mut ready = Vec::new();
        let mut orders = orders.into_iter();
        loop {
            while running.len() < in_flight {
                let Some((order, graduate)) = orders.next() else { break };
                let (worker, templates, renderers) = (self.clone(), templates.clone(), renderers.clone());
                running.spawn(async move { worker.render_one(order, graduate, &templates, &renderers, now).await });
            }
            if storing.is_empty() && !ready.is_empty() {
                let files: Vec<_> = ready.drain(..ready.len().min(STORE_BATCH)).collect();
                let worker = self.clone();
                storing.spawn(async move { worker.store_files(&files, now).await });
            }
            tokio::select! {
                Some(done) = running.join_next(), if !running.is_empty() => {
                    match done.map_err(|e| StoreError::Conflict(format!("an issuing task failed: {e}")))?? {
                        Rendered::File(job, file) => ready.push((job, file)),
                        Rendered::Failed => {
                            round.failed += 1;
                            progress(round);
                        }
                    }
                }
                Some(stored) = storing.join_next(), if !storing.is_empty() => {
                    let stored = stored.map_err(|e| StoreError::Conflict(format!("a storing task failed: {e}")))??;
                    for done in stored {
                        match done {
                            Done::Issued => round.issued += 1,
                            Done::Skipped => round.skipped += 1,
                            Done::Failed => round.failed += 1,
                        }
                    }
                    progress(round);
                }
                else => break,
            }
        }
        Ok(round)
    }

    /// Loads what is left to load of one order and renders it; a failure is kept on the order.
    async fn render_one(
        &self,
        order: Order,
        graduate: Graduate,
        templates: &[(Language, Template)],
        renderers: &tokio::sync::Semaphore,
        now: Timestamp,
    ) -> Result<Rendered, StoreError> {
        let order_id = order.id;
        let job = match self.job(order, graduate, templates).await {
            Ok(job) => job,
            Err(e) => {
                self.store.order_failed(order_id, &e.to_string()).await?;
                return Ok(Rendered::Failed);
            }
        };
        let permit = renderers.acquire().await.map_err(|e| StoreError::Conflict(e.to_string()))?;
        let issuance = self.issuance.clone();
        let (job, file) = tokio::task::spawn_blocking(move || {
            let file = dcert_core::issue::issue(&job.certificate, &issuance.kit, &job.template, &issuance.fonts, now);
            (job, file)
        })
        .await
        .map_err(|e| StoreError::Conflict(format!("a rendering task failed: {e}")))?;
        drop(permit);
        match file {
            Ok(file) => Ok(Rendered::File(Box::new(job), file)),
            Err(e) => {
                tracing::warn!(order = job.order.id, error = %e, "a certificate could not be issued");
                self.store.order_failed(job.order.id, &e.to_string()).await?;
                Ok(Rendered::Failed)
            }
        }
    }

    /// Stores rendered files in one transaction; for each, whether it was stored, already
    /// fulfilled by another worker, or refused. When the transaction fails, each file is stored
    /// alone, so that one file the store refuses (kept as the order's error) does not hold back
    /// the others; a database that fails for each is the round's error.
    async fn store_files(
        &self,
        files: &[(Box<Job>, dcert_core::issue::IssuedFile)],
        now: Timestamp,
    ) -> Result<Vec<Done>, StoreError> {
        if files.is_empty() {
            return Ok(Vec::new());
        }
        let kit = &self.issuance.kit;
        let hashes: Vec<(String, Option<String>)> = files
            .iter()
            .map(|(job, file)| {
                (file.sha256.to_string(), job.certificate.previous_version_sha256.map(|d| d.to_string()))
            })
            .collect();
        let issued: Vec<IssuedFile> = files
            .iter()
            .zip(&hashes)
            .map(|((job, file), (sha256, previous))| {
                let payload = RecordPayload {
                    institution: kit.issuer.id.clone(),
                    event: RecordEvent::Issued,
                    sha256: sha256.clone(),
                    number: job.certificate.number.clone(),
                    language: job.order.language,
                    version: job.order.version,
                    previous_sha256: previous.clone(),
                    credential_type: CredentialType::Degree,
                    credential_sha256: Some(file.credential_sha256.to_string()),
                    reason: None,
                    at: now.unix(),
                };
                IssuedFile {
                    order_id: job.order.id,
                    number: &job.certificate.number,
                    file: &file.bytes,
                    sha256,
                    previous_sha256: previous.as_deref(),
                    registry_payload: String::from_utf8(payload.to_json()).unwrap_or_default(),
                    emails: self.certificate_emails(
                        &job.graduate,
                        job.order.language,
                        job.order.version,
                        &job.certificate.number,
                    ),
                    at: now.unix(),
                }
            })
            .collect();
        let done = |stored: &Option<CertificateInfo>| if stored.is_some() { Done::Issued } else { Done::Skipped };
        let batch_error = match self.store.store_issued_batch(&issued).await {
            Ok(stored) => return Ok(stored.iter().map(done).collect()),
            Err(e) if issued.len() == 1 => e,
            Err(e) => {
                tracing::warn!(files = issued.len(), error = %e, "a batch could not be stored; storing each alone");
                let mut each = Vec::new();
                for file in &issued {
                    match self.store.store_issued(file).await {
                        Ok(stored) => each.push(done(&stored)),
                        Err(e) => {
                            self.refused(file.order_id, &e).await?;
                            each.push(Done::Failed);
                        }
                    }
                }
                return Ok(each);
            }
        };
        self.refused(issued[0].order_id, &batch_error).await?;
        Ok(vec![Done::Failed])
    }

    /// Keeps why the store refused an order's file on the order; a database that cannot keep even
    /// that fails the round.
    async fn refused(&self, order_id: i64, e: &StoreError) -> Result<(), StoreError> {
        tracing::warn!(order = order_id, error = %e, "a certificate could not be stored");
        self.store.order_failed(order_id, &format!("the file could not be stored: {e}")).await
    }

    /// The emails that deliver a certificate: one to each of the graduate's addresses.
    pub fn certificate_emails(
        &self,
        graduate: &Graduate,
        language: Language,
        version: u32,
        number: &str,
    ) -> Vec<NewEmail> {
        let kit = &self.issuance.kit;
        let record = &graduate.record;
        graduate
            .addresses()
            .into_iter()
            .map(|to| {
                mail::certificate_email(
                    &kit.name_zh,
                    &kit.name_en,
                    &record.name_zh,
                    &record.name_en,
                    language,
                    version,
                    number,
                    &to,
                    &self.verify_site,
                )
            })
            .collect()
    }

    /// Submits waiting registry records; returns how many the registry accepted.
    pub async fn submit_to_registry(&self, now: i64) -> Result<usize, StoreError> {
        let mut accepted = 0;
        for s in self.store.due_registry_submissions(now, 500).await? {
            let result = match RecordPayload::parse(s.payload.as_bytes()) {
                Ok(p) => self.registry.submit(&p).await,
                Err(e) => Err(SubmitError::from(e)),
            };
            match result {
                Ok(()) => {
                    self.store.registry_submitted(s.id, now).await?;
                    accepted += 1;
                }
                Err(e) => {
                    let delay = mail::retry_delay(s.attempts).unwrap_or(6 * 3600);
                    tracing::warn!(submission = s.id, error = %e, "the registry did not accept a record");
                    self.store.registry_failed(s.id, &e.to_string(), now + delay).await?;
                }
            }
        }
        Ok(accepted)
    }

    /// One round of everything: issue, register, send.
    pub async fn tick(&self, now: Timestamp) -> Result<(), StoreError> {
        let round = self.issue_due(now, 200, &|_| {}).await?;
        if round.issued + round.failed > 0 {
            tracing::info!(issued = round.issued, failed = round.failed, "issuance round");
        }
        self.submit_to_registry(now.unix()).await?;
        if let Some(mailer) = &self.mailer {
            let sent = mail::deliver_due(&self.store, mailer, now.unix(), 200).await?;
            if sent.sent + sent.failed + sent.retried > 0 {
                tracing::info!(sent = sent.sent, retried = sent.retried, failed = sent.failed, "email round");
            }
        }
        Ok(())
    }

    /// Runs rounds every `every` until `stop` turns true.
    pub async fn run(self, every: std::time::Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.tick(crate::http::now()).await {
                tracing::error!(error = %e, "worker round failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
        }
    }
}
