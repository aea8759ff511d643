//! The JSON API (`/api/v1/…`, described at `/openapi.json`) and the verification that both the
//! API and the pages run.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Query, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use dcert_core::Sha256Digest;
use dcert_core::model::Language;
use dcert_core::pdf::Limits;
use dcert_core::status::{StatusAnswer, StatusQuery, StatusSource};
use dcert_core::verify::{self, Report};
use dcert_store::Verification;
use serde::Deserialize;
use serde_json::json;

use super::MinistryState;
use crate::http::client::Client;
use crate::serve::{ClientSlot, PerClient};

/// The JSON API; `POST /api/v1/verify` takes bodies up to `upload_limit` bytes.
pub(crate) fn routes(upload_limit: usize) -> Router<MinistryState> {
    Router::new()
        .route("/api/v1/verify", post(verify_api).layer(DefaultBodyLimit::max(upload_limit)))
        .route("/api/v1/picture", post(picture_api).layer(DefaultBodyLimit::max(upload_limit)))
        .route("/api/v1/issuers", get(issuers))
        .route("/api/v1/status", get(status))
        .route("/api/v1/status/{issuer}/{number}/{language}/{version}", get(status_by_path))
        .route("/openapi.json", get(openapi))
}

/// Why an upload could not be verified. Each has a code for the API and texts for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Over the size limit (413).
    TooLarge(usize),
    /// No bytes (400).
    Empty,
    /// A multipart form without a `file` field (400).
    NoFile,
    /// The request could not be read as a form (400).
    Malformed,
    /// The client's rate limit (429).
    TooMany(u64),
    /// The time budget ran out (503).
    TimedOut,
    /// Too many uploads in flight, in all or from this client (503).
    Busy,
    /// A page's form without the visitor's token (403).
    Csrf,
    /// Anything else (500, logged).
    Internal,
}

impl Refusal {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Refusal::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::Empty | Refusal::NoFile | Refusal::Malformed => StatusCode::BAD_REQUEST,
            Refusal::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            Refusal::TimedOut | Refusal::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::Csrf => StatusCode::FORBIDDEN,
            Refusal::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub(crate) fn code(&self) -> &'static str {
        match self {
            Refusal::TooLarge(_) => "too_large",
            Refusal::Empty => "empty",
            Refusal::NoFile => "no_file",
            Refusal::Malformed => "malformed_request",
            Refusal::TooMany(_) => "rate_limited",
            Refusal::TimedOut => "timed_out",
            Refusal::Busy => "busy",
            Refusal::Csrf => "csrf",
            Refusal::Internal => "internal",
        }
    }

    /// The text for people: (Chinese, English).
    pub(crate) fn texts(&self) -> (String, String) {
        match self {
            Refusal::TooLarge(limit) => {
                let mb = limit / (1 << 20);
                (
                    format!("檔案超過 {mb} MB，超過電子證書檔案的大小上限。請上傳學校寄送的原始 PDF 檔案。"),
                    format!(
                        "The file is larger than {mb} MB, the most a certificate file can be. Upload the original PDF the institution sent."
                    ),
                )
            }
            Refusal::Empty => (
                "上傳的檔案是空的，請重新選擇證書檔案。".into(),
                "The uploaded file is empty. Choose the certificate file again.".into(),
            ),
            Refusal::NoFile => (
                "沒有收到檔案，請選擇證書檔案後再按「進行驗證」。".into(),
                "No file was received. Choose the certificate file, then press Verify.".into(),
            ),
            Refusal::Malformed => (
                "無法讀取上傳的內容，請重新上傳。".into(),
                "The upload could not be read. Upload the file again.".into(),
            ),
            Refusal::TooMany(wait) => (
                format!("驗證次數過多，請於 {wait} 秒後再試。"),
                format!("Too many verifications. Try again in {wait} seconds."),
            ),
            Refusal::TimedOut => (
                "驗證逾時，系統忙碌中，請稍後再試。".into(),
                "The verification took too long; the service is busy. Try again later.".into(),
            ),
            Refusal::Busy => (
                "系統忙碌中，正在處理的上傳檔案太多，請於數秒後再試。".into(),
                "The service is busy with other uploads. Try again in a few seconds.".into(),
            ),
            Refusal::Csrf => (
                "表單已過期或不是從本網站送出，請重新選擇檔案後再驗證一次。".into(),
                "The form expired or did not come from this site. Choose the file again and verify.".into(),
            ),
            Refusal::Internal => ("系統發生錯誤，請稍後再試。".into(), "Something went wrong. Try again later.".into()),
        }
    }

    /// The refusal as the API answers it.
    pub(crate) fn json(&self) -> Response {
        let (zh, en) = self.texts();
        let body = json!({ "error": { "code": self.code(), "message": en, "messageZh": zh } });
        self.with_retry_after((self.status(), axum::Json(body)).into_response())
    }

    /// `response` with `Retry-After` when the refusal is about load (the client's rate, or
    /// uploads in flight).
    pub(crate) fn with_retry_after(&self, mut response: Response) -> Response {
        let wait = match self {
            Refusal::TooMany(wait) => *wait,
            Refusal::Busy => 5,
            _ => return response,
        };
        response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(wait));
        response
    }
}

/// An uploaded file and the form's other fields.
#[derive(Debug, Default)]
pub(crate) struct Upload {
    /// The file's name as the client gave it.
    pub name: Option<String>,
    /// The bytes.
    pub bytes: Bytes,
    /// The form's CSRF token, when a page posted it.
    pub csrf: Option<String>,
    /// The upload's place among those in flight, given back when the upload is dropped (after
    /// its verification).
    pub _held: Option<UploadPermit>,
}

/// The uploads being read or verified: their bytes in all, and their number per client.
#[derive(Debug)]
pub(crate) struct Uploads {
    /// One permit per KiB of upload held in memory.
    kib: Arc<tokio::sync::Semaphore>,
    per_client: Arc<PerClient>,
    max_per_client: usize,
}

/// One upload's place and the memory its bytes hold; dropping it gives both back.
#[derive(Debug)]
pub(crate) struct UploadPermit {
    held: Arc<std::sync::Mutex<Held>>,
    kib: Arc<tokio::sync::Semaphore>,
    _client: ClientSlot,
}

/// The memory an upload holds: reserved as its bytes arrive, so a slow client holds only what
/// it has sent.
#[derive(Debug, Default)]
struct Held {
    permits: Vec<tokio::sync::OwnedSemaphorePermit>,
    kib: usize,
    bytes: usize,
    refused: bool,
}

impl Uploads {
    pub(crate) fn new(max_bytes: usize, max_per_client: usize) -> Self {
        let kib = u32::try_from(max_bytes / 1024).unwrap_or(u32::MAX).max(1) as usize;
        Uploads { kib: Arc::new(tokio::sync::Semaphore::new(kib)), per_client: Arc::default(), max_per_client }
    }

    /// A place for an upload from `client`, if it has fewer than its share in flight; its
    /// bytes are reserved as they arrive ([`UploadPermit::reserving`]).
    pub(crate) fn reserve(&self, client: &str) -> Result<UploadPermit, Refusal> {
        let slot = self.per_client.take(client, self.max_per_client).ok_or(Refusal::Busy)?;
        Ok(UploadPermit { held: Arc::default(), kib: Arc::clone(&self.kib), _client: slot })
    }
}

impl UploadPermit {
    /// `body`, reserving memory for its bytes as they arrive; when none is left, the body ends
    /// in an error and [`UploadPermit::refused`] says so.
    fn reserving(&self, body: axum::body::Body) -> axum::body::Body {
        axum::body::Body::new(Reserving { inner: body, held: Arc::clone(&self.held), kib: Arc::clone(&self.kib) })
    }

    /// Whether the upload was cut off for want of memory.
    fn refused(&self) -> bool {
        self.held.lock().unwrap_or_else(|e| e.into_inner()).refused
    }
}

/// A request body that reserves a KiB permit for every KiB that arrives.
struct Reserving {
    inner: axum::body::Body,
    held: Arc<std::sync::Mutex<Held>>,
    kib: Arc<tokio::sync::Semaphore>,
}

impl http_body::Body for Reserving {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if let std::task::Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
            held.bytes += data.len();
            let needed = held.bytes.div_ceil(1024).saturating_sub(held.kib);
            if needed > 0 {
                let permit =
                    u32::try_from(needed).ok().and_then(|n| Arc::clone(&self.kib).try_acquire_many_owned(n).ok());
                match permit {
                    Some(p) => {
                        held.kib += needed;
                        held.permits.push(p);
                    }
                    None => {
                        held.refused = true;
                        return std::task::Poll::Ready(Some(Err(axum::Error::new(
                            "the uploads in flight hold all the memory allowed",
                        ))));
                    }
                }
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// What a form adds to a file: field names, boundaries, the CSRF token.
pub(crate) const FORM_OVERHEAD: usize = 64 << 10;

/// Takes one verification from the client's allowance.
pub(crate) fn check_rate(state: &MinistryState, request: &Request) -> Result<(), Refusal> {
    let client = request.extensions().get::<Client>().map(|c| c.0.clone()).unwrap_or_default();
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
    state.limiter.take(&client, now).map_err(Refusal::TooMany)
}

/// Reads an upload: a multipart form with a `file` field, or the raw body.
pub(crate) async fn read_upload(state: &MinistryState, request: Request) -> Result<Upload, Refusal> {
    let limit = state.config.max_upload_bytes;
    // A declared size over the limit is refused before a byte is read; the bytes that do
    // arrive are reserved as they come.
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit + FORM_OVERHEAD) {
        return Err(Refusal::TooLarge(limit));
    }
    let client = request.extensions().get::<Client>().map(|c| c.0.clone()).unwrap_or_default();
    let held = state.uploads.reserve(&client)?;
    let request = request.map(|body| held.reserving(body));
    let upload = read_body(state, request, limit).await.map_err(|e| if held.refused() { Refusal::Busy } else { e })?;
    if upload.bytes.len() > limit {
        return Err(Refusal::TooLarge(limit));
    }
    if upload.bytes.is_empty() {
        return Err(Refusal::Empty);
    }
    Ok(Upload { _held: Some(held), ..upload })
}

/// The upload's bytes and fields: a multipart form with a `file` field, or the raw body.
async fn read_body(state: &MinistryState, request: Request, limit: usize) -> Result<Upload, Refusal> {
    let too_large = |status: StatusCode| {
        if status == StatusCode::PAYLOAD_TOO_LARGE { Refusal::TooLarge(limit) } else { Refusal::Malformed }
    };
    let is_form = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let upload = if is_form {
        let mut form = Multipart::from_request(request, state).await.map_err(|e| too_large(e.status()))?;
        let mut upload = Upload::default();
        let mut found = false;
        while let Some(field) = form.next_field().await.map_err(|e| too_large(e.status()))? {
            match field.name() {
                Some("file") if !found => {
                    found = true;
                    upload.name = field.file_name().map(str::to_owned);
                    upload.bytes = field.bytes().await.map_err(|e| too_large(e.status()))?;
                }
                Some("csrf") => upload.csrf = Some(field.text().await.map_err(|e| too_large(e.status()))?),
                _ => {}
            }
        }
        if !found {
            return Err(Refusal::NoFile);
        }
        upload
    } else {
        let bytes = Bytes::from_request(request, state).await.map_err(|e| too_large(e.status()))?;
        Upload { bytes, ..Upload::default() }
    };
    Ok(upload)
}

/// Verifies `bytes` against the published trust list and the registry, within the time budget,
/// and counts the outcome (the file itself is dropped).
/// Runs `work` on a verification slot and a blocking thread, within the verification's time
/// budget; `work` is told when the budget ends. The slot goes with the work into its thread:
/// work past its budget keeps its slot until it really ends, so slow files cannot pile up threads.
async fn on_a_slot<T: Send + 'static>(
    state: &MinistryState,
    what: &'static str,
    work: impl FnOnce(std::time::Instant) -> T + Send + 'static,
) -> Result<T, Refusal> {
    let budget = Duration::from_millis(state.config.verify_budget_ms);
    let deadline = std::time::Instant::now() + budget;
    let run = async {
        let slot = state.slots.clone().acquire_owned().await.map_err(|_| Refusal::Internal)?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            work(deadline)
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, what, "work on a verification slot stopped unexpectedly");
            Refusal::Internal
        })
    };
    match tokio::time::timeout(budget, run).await {
        Ok(done) => done,
        Err(_) => {
            tracing::warn!(budget_ms = state.config.verify_budget_ms, what, "ran out of time");
            Err(Refusal::TimedOut)
        }
    }
}

pub(crate) async fn run_verification(state: &MinistryState, bytes: Bytes, channel: &str) -> Result<Report, Refusal> {
    let trust = state.trust();
    let limits = Limits { max_file_bytes: state.config.max_upload_bytes, ..Limits::default() };
    let status = state.store_status();
    let file = bytes.clone();
    let report =
        on_a_slot(state, "a verification", move |_| verify::verify(&file, &trust.list, &status, status.now, &limits))
            .await?;
    let sha256 = report.file_sha256.unwrap_or_else(|| Sha256Digest::of(&bytes));
    state.stats.record(Verification {
        at: report.verified_at.unix(),
        sha256: sha256.to_string(),
        outcome: json_code(&report.outcome),
        reason: report.reason.map(|r| json_code(&r)),
        channel: channel.to_owned(),
    });
    Ok(report)
}

/// The seal of the certificate QR code in the picture `bytes` (a photo, a scan, a screenshot),
/// read on a verification slot within the verification's time budget; `None` if the picture
/// holds no certificate QR code or cannot be read.
pub(crate) async fn read_picture(state: &MinistryState, bytes: Bytes) -> Result<Option<String>, Refusal> {
    on_a_slot(state, "reading a picture", move |deadline| {
        // The search stops between sizes once the budget is spent, so the slot is let go.
        let go_on = || std::time::Instant::now() < deadline;
        let texts = dcert_core::photo::read_qr_codes(&bytes, go_on).unwrap_or_default();
        texts.iter().find_map(|t| dcert_core::seal::seal_from_qr_text(t))
    })
    .await
}

/// The serde name of a unit enum value (`success`, `not_a_certificate`, …).
pub(crate) fn json_code<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// `POST /api/v1/picture`: the certificate QR code in a picture (a camera's frame, a photo, a
/// scan): `{"found": true, "path": "/S/…"}`, the page of its seal, or `{"found": false}`.
async fn picture_api(State(state): State<MinistryState>, request: Request) -> Response {
    if let Err(r) = check_rate(&state, &request) {
        return r.json();
    }
    let upload = match read_upload(&state, request).await {
        Ok(u) => u,
        Err(r) => return r.json(),
    };
    if !verify::looks_like_picture(&upload.bytes) {
        let body = json!({ "error": { "code": "not_a_picture",
            "message": "send a JPEG or PNG picture", "messageZh": "請傳送 JPEG 或 PNG 圖片" } });
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, axum::Json(body)).into_response();
    }
    match read_picture(&state, upload.bytes).await {
        Ok(seal) => {
            let path = seal.as_deref().and_then(dcert_core::seal::qr_path);
            let body = match path {
                Some(path) => json!({ "found": true, "path": path }),
                None => json!({ "found": false }),
            };
            let mut r = axum::Json(body).into_response();
            r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(r) => r.json(),
    }
}

/// `POST /api/v1/verify`: the report, exactly as `dcert verify --json` prints it.
async fn verify_api(State(state): State<MinistryState>, request: Request) -> Response {
    if let Err(r) = check_rate(&state, &request) {
        return r.json();
    }
    let upload = match read_upload(&state, request).await {
        Ok(u) => u,
        Err(r) => return r.json(),
    };
    match run_verification(&state, upload.bytes, "api").await {
        Ok(report) => {
            let mut value = serde_json::to_value(&report).unwrap_or_default();
            if let Some(name) = upload.name {
                value["file"] = serde_json::Value::String(name);
            }
            if let Some(receipt) = receipt_of(&state, &report).await {
                value["receipt"] = receipt;
            }
            let mut r = axum::Json(value).into_response();
            r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(r) => r.json(),
    }
}

/// The signed receipt of `report` (when the site holds the status signer's key): made now,
/// against the log's latest checkpoint when the site keeps the log.
pub(crate) async fn receipt_of(state: &MinistryState, report: &Report) -> Option<serde_json::Value> {
    let signer = state.status_signer.as_ref()?;
    let checkpoint = match &state.log {
        Some(log) => log.checkpoint(&state.store).await.ok(),
        None => None,
    };
    let at = crate::http::now();
    match dcert_core::receipt::sign(report, checkpoint.as_deref(), at, &signer.registry_url, &signer.key) {
        Ok(receipt) => Some(receipt),
        Err(e) => {
            tracing::error!(error = %e, "a receipt could not be signed");
            None
        }
    }
}

/// `GET /api/v1/issuers`: the registered institutions, from the published trust list.
async fn issuers(State(state): State<MinistryState>) -> Response {
    let trust = state.trust();
    let content = &trust.list.content;
    let issuers: Vec<_> = content
        .issuers
        .iter()
        .map(|i| {
            json!({
                "id": i.id,
                "url": format!("{}/issuers/{}", content.registry.trim_end_matches('/'), i.id),
                "nameZh": i.name_zh,
                "nameEn": i.name_en,
                "accreditation": i.accreditation,
                "credentialKeys": i.credential_keys,
                "signingCertificates": i.signing_certificates,
            })
        })
        .collect();
    let body = json!({
        "registry": content.registry,
        "sequence": content.sequence,
        "issued": content.issued,
        "nextUpdate": content.next_update,
        "issuers": issuers,
    });
    ([(CACHE_CONTROL, "max-age=300")], axum::Json(body)).into_response()
}

#[derive(Deserialize)]
struct StatusParams {
    issuer: String,
    number: String,
    language: String,
    version: u32,
    sha256: String,
}

/// `GET /api/v1/status`: the registry's status of one file, for verifiers that hold the trust
/// list themselves (`dcert verify --registry`). The file's hash is required, so that only
/// someone holding the file learns its status (numbers alone would tell who graduated), and
/// the queries count against the client's allowance like verifications.
async fn status(State(state): State<MinistryState>, request: Request) -> Response {
    if let Err(r) = check_rate(&state, &request) {
        return r.json();
    }
    let Ok(Query(p)) = Query::<StatusParams>::try_from_uri(request.uri()) else {
        return bad_query("give issuer, number, language (zh or en), version and sha256 (the file's)");
    };
    answer_status(&state, p).await
}

#[derive(Deserialize)]
struct FileHash {
    sha256: Option<String>,
}

/// `GET /api/v1/status/{issuer}/{number}/{language}/{version}?sha256=…`: the address a
/// credential's `credentialStatus` names.
async fn status_by_path(
    State(state): State<MinistryState>,
    axum::extract::Path((issuer, number, language, version)): axum::extract::Path<(String, String, String, u32)>,
    request: Request,
) -> Response {
    if let Err(r) = check_rate(&state, &request) {
        return r.json();
    }
    let sha256 = Query::<FileHash>::try_from_uri(request.uri()).ok().and_then(|q| q.0.sha256);
    let Some(sha256) = sha256 else {
        return bad_query("add ?sha256= with the file's SHA-256: only someone holding the file learns its status");
    };
    answer_status(&state, StatusParams { issuer, number, language, version, sha256 }).await
}

pub(super) fn bad_query(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": { "code": "bad_query", "message": message } })))
        .into_response()
}

async fn answer_status(state: &MinistryState, p: StatusParams) -> Response {
    let Ok(language) = p.language.parse::<Language>() else {
        return bad_query("language must be zh or en");
    };
    let Ok(sha256) = p.sha256.parse::<Sha256Digest>() else {
        return bad_query("sha256 must be 64 hexadecimal digits");
    };
    let query =
        StatusQuery { issuer_id: p.issuer, number: p.number, language, version: p.version, file_sha256: Some(sha256) };
    let query_for_signing = query.clone();
    let status = state.store_status();
    let (answer, inclusion) = tokio::task::spawn_blocking(move || status.status_with_inclusion(&query))
        .await
        .unwrap_or((StatusAnswer::Unavailable { reason: "the status query stopped".into() }, None));
    // Signed when the site holds the status signer's key: a verifier elsewhere believes only a
    // signed, fresh answer about the file it asked for.
    let body = match &state.status_signer {
        Some(signer) => {
            match dcert_core::status::sign_answer(
                &query_for_signing,
                &answer,
                inclusion.as_ref(),
                crate::http::now(),
                &signer.registry_url,
                &signer.key,
            ) {
                Ok(signed) => signed,
                Err(e) => {
                    tracing::error!(error = %e, "a status answer could not be signed");
                    return Refusal::Internal.json();
                }
            }
        }
        None => dcert_core::status::answer_json(&answer),
    };
    let mut r = axum::Json(body).into_response();
    r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `GET /openapi.json`.
async fn openapi() -> Response {
    ([(CONTENT_TYPE, "application/json"), (CACHE_CONTROL, "max-age=3600")], include_str!("../../static/openapi.json"))
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::{Body, Bytes};

    use super::{Refusal, Uploads};

    #[tokio::test]
    async fn uploads_hold_memory_as_their_bytes_arrive_and_are_cut_off_past_the_total() {
        let uploads = Arc::new(Uploads::new(1 << 20, 2));
        // Within the total: read whole, and the memory stays held until the upload is dropped.
        let first = uploads.reserve("192.0.2.1").unwrap();
        let bytes = axum::body::to_bytes(first.reserving(Body::from(vec![0u8; 600 << 10])), usize::MAX).await.unwrap();
        assert_eq!(bytes.len(), 600 << 10);
        assert_eq!(uploads.kib.available_permits(), 1024 - 600);
        // Past it: cut off, and said so.
        let second = uploads.reserve("192.0.2.2").unwrap();
        assert!(axum::body::to_bytes(second.reserving(Body::from(vec![0u8; 600 << 10])), usize::MAX).await.is_err());
        assert!(second.refused() && !first.refused());
        drop((first, second));
        assert_eq!(uploads.kib.available_permits(), 1024, "everything is given back");

        // A slow client holds only what it has sent.
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
        let slow = uploads.reserve("192.0.2.3").unwrap();
        let reading = tokio::spawn(axum::body::to_bytes(slow.reserving(Body::new(Chunks(rx))), usize::MAX));
        tx.send(Bytes::from(vec![0u8; 16 << 10])).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(uploads.kib.available_permits(), 1024 - 16);
        drop(tx);
        reading.await.unwrap().unwrap();

        // Two uploads in flight per client.
        let _a = uploads.reserve("192.0.2.4").unwrap();
        let _b = uploads.reserve("192.0.2.4").unwrap();
        assert_eq!(uploads.reserve("192.0.2.4").unwrap_err(), Refusal::Busy);
    }

    /// A body whose chunks arrive when a test sends them.
    struct Chunks(tokio::sync::mpsc::Receiver<Bytes>);

    impl http_body::Body for Chunks {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
            self.0.poll_recv(cx).map(|chunk| chunk.map(|b| Ok(http_body::Frame::data(b))))
        }
    }
}
