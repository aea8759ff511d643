//! The public pages: 證書驗證 (the three steps of the guide: choose, upload status, result),
//! 關於, 最新消息, 常見問題, 發證單位, in Traditional Chinese and English. The form works without
//! JavaScript; `verify.js` adds dropping a file on the box and the upload status before 進行驗證.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::StatusCode;

use axum::response::{IntoResponse, Response};
use axum::routing::get;
use dcert_core::model::{CredentialType, DegreeLevel, Language};
use dcert_core::time::Timestamp;
use dcert_core::verify::{CheckName, CheckResult, Finding, Outcome, Reason, Report};
use dcert_store::{FaqItem, NewsItem};

use super::MinistryState;
use super::api::{self, Refusal};
use crate::auth;
use crate::http::{AppError, Chrome, common_routes, javascript, now, page};
use crate::i18n::Texts;

/// The public pages; the verification form takes bodies up to `upload_limit` bytes.
pub(crate) fn routes(upload_limit: usize) -> Router<MinistryState> {
    Router::new()
        .route("/", get(verify_page))
        .route("/verify", get(verify_page).post(verify_form).layer(DefaultBodyLimit::max(upload_limit)))
        .route("/about", get(about))
        .route("/developers", get(developers))
        .route("/news", get(news))
        .route("/faq", get(faq))
        .route("/issuers", get(issuers))
        .route("/issuers/{id}", get(issuer))
        .route("/v/{issuer}/{number}/{language}/{version}", get(scanned))
        .route("/seal", get(seal_check))
        .route("/S/{seal}", get(compact_seal))
        .route("/scan", get(scan_page))
        .route("/static/verify.js", get(|| async { javascript(include_str!("../../static/verify.js")) }))
        .route("/static/seal.js", get(|| async { javascript(include_str!("../../static/seal.js")) }))
        .route("/static/scan.js", get(|| async { javascript(include_str!("../../static/scan.js")) }))
        .merge(common_routes())
}

fn render(status: StatusCode, t: impl Template) -> Response {
    match page(t) {
        Ok(mut r) => {
            *r.status_mut() = status;
            r
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Template)]
#[template(path = "ministry/verify.html")]
struct VerifyPage {
    c: Chrome,
    max_mb: usize,
    max_bytes: usize,
    error: Option<String>,
}

async fn verify_page(c: Chrome, State(state): State<MinistryState>) -> Response {
    let max_bytes = state.config.max_upload_bytes;
    render(
        StatusCode::OK,
        VerifyPage { c: c.at("verify").back_to("/"), max_mb: max_bytes >> 20, max_bytes, error: None },
    )
}

#[derive(Template)]
#[template(path = "ministry/scan.html")]
struct ScanPage {
    c: Chrome,
    max_mb: usize,
}

/// `/scan`: a photo of a printed certificate's QR code, taken with the phone's camera (the
/// file field opens it) or picked from the photos; posted to `/verify`, which reads the code in
/// Rust. No script and no service elsewhere.
async fn scan_page(c: Chrome, State(state): State<MinistryState>) -> Response {
    render(StatusCode::OK, ScanPage { c: c.at("verify"), max_mb: state.config.max_upload_bytes >> 20 })
}

fn refused(c: Chrome, state: &MinistryState, refusal: &Refusal) -> Response {
    let (zh, en) = refusal.texts();
    let message = c.pick(&zh, &en).to_owned();
    let max_bytes = state.config.max_upload_bytes;
    refusal.with_retry_after(render(
        refusal.status(),
        VerifyPage { c: c.at("verify").back_to("/"), max_mb: max_bytes >> 20, max_bytes, error: Some(message) },
    ))
}

/// One line of the certified data.
pub(crate) struct Row {
    pub label: &'static str,
    pub value: String,
    pub id: &'static str,
}

/// Whom to ask about an institution's certificates, in the page's language.
pub(crate) struct ContactView {
    pub office: String,
    pub phone: String,
    /// An `https://` address (the console accepts nothing else), or empty.
    pub website: String,
}

impl ContactView {
    fn of(c: &Chrome, k: dcert_store::InstitutionContact) -> Self {
        let office = if k.office_en.is_empty() { &k.office_zh } else { c.pick(&k.office_zh, &k.office_en) };
        let website = if k.website.starts_with("https://") { k.website.clone() } else { String::new() };
        ContactView { office: office.to_owned(), phone: k.phone, website }
    }
}

/// One check as the result page shows it.
pub(crate) struct CheckRow {
    pub name: &'static str,
    pub result: &'static str,
    pub class: &'static str,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "ministry/result.html")]
struct ResultPage {
    c: Chrome,
    outcome: &'static str,
    /// How the outcome looks: its outcome, or `unverifiable` for a file that is no certificate.
    style: &'static str,
    title: &'static str,
    lead: &'static str,
    reason: Option<&'static str>,
    advice: &'static str,
    /// The heading over the certificate's data.
    certified: &'static str,
    newer: Option<String>,
    embedded_note: Option<&'static str>,
    /// The signed receipt offered to keep.
    receipt: Option<ReceiptOffer>,
    /// The issuing institution's contact, on warning and failure pages.
    contact: Option<ContactView>,
    issuer: Option<String>,
    rows: Vec<Row>,
    checks: Vec<CheckRow>,
    facts: Vec<Row>,
}

async fn verify_form(c: Chrome, State(state): State<MinistryState>, request: Request) -> Response {
    if let Err(r) = api::check_rate(&state, &request) {
        return refused(c, &state, &r);
    }
    let upload = match api::read_upload(&state, request).await {
        Ok(u) => u,
        Err(r) => return refused(c, &state, &r),
    };
    // The form carries the visitor's token; a form posted from elsewhere is refused.
    if c.csrf.is_empty() || !upload.csrf.as_deref().is_some_and(|t| auth::constant_time_eq(&c.csrf, t)) {
        return refused(c, &state, &Refusal::Csrf);
    }
    // A photo, a scan or a screenshot: its QR code's seal, if one can be read.
    if dcert_core::verify::looks_like_picture(&upload.bytes) {
        match api::read_picture(&state, upload.bytes.clone()).await {
            Ok(Some(seal)) => return seal_page(c.back_to("/"), &state, Some(seal), true).await,
            Ok(None) => {}
            Err(r) => return refused(c, &state, &r),
        }
    }
    let bytes = upload.bytes.clone();
    match api::run_verification(&state, upload.bytes, "page").await {
        // A verification receipt kept from an earlier visit: whether the Ministry signed it.
        Ok(report)
            if report.reason == Some(Reason::NotACertificate) && dcert_core::receipt::looks_like_receipt(&bytes) =>
        {
            super::receipt::receipt_check(c.at("verify").back_to("/"), &state, &bytes)
        }
        Ok(report) => {
            let mut page = result_page(c.at("verify").back_to("/"), &report, upload.name);
            // Whom to ask, when there is something to ask the institution about.
            if let Some(issuer) = report.issuer.as_ref().filter(|_| report.outcome != Outcome::Success) {
                page.contact = contact_of(&page.c, &state, &issuer.id).await;
            }
            // A receipt to keep, for a file that was a certificate.
            if report.credential.is_some()
                && let Some(receipt) = api::receipt_of(&state, &report).await
            {
                use base64ct::Encoding as _;
                let json = serde_json::to_vec_pretty(&receipt).unwrap_or_default();
                let href = format!("data:application/json;base64,{}", base64ct::Base64::encode_string(&json));
                let short = report.file_sha256.map(|h| h.to_string()[..8].to_owned()).unwrap_or_default();
                page.receipt = Some(ReceiptOffer {
                    href,
                    name: format!("dcert-receipt-{short}.json"),
                    json: String::from_utf8(json).unwrap_or_default(),
                    pdf: state.fonts.is_some(),
                });
            }
            render(StatusCode::OK, page)
        }
        Err(r) => refused(c, &state, &r),
    }
}

/// A signed receipt on the result page.
struct ReceiptOffer {
    /// The JSON as a `data:` address to download.
    href: String,
    /// Its file name.
    name: String,
    /// The JSON, which the PDF form posts back.
    json: String,
    /// Whether the site can draw it as a PDF (it has the certificate fonts).
    pdf: bool,
}

fn result_page(c: Chrome, report: &Report, file_name: Option<String>) -> ResultPage {
    let t = c.t;
    let teacher = report.credential.as_ref().is_some_and(|c| c.credential_type == CredentialType::Teacher);
    // A file that is not a certificate at all was not verified: it is not called uncertified
    // (an employer would read that as a forged degree).
    let unverifiable = matches!(report.reason, Some(Reason::NotACertificate | Reason::TooLarge));
    let (outcome, style, title, lead) = match report.outcome {
        // A teacher certificate is the Ministry's own: no institution certified it.
        Outcome::Success if teacher => ("success", "success", "moe.result.success", "moe.result.success.lead.teacher"),
        Outcome::Success => ("success", "success", "moe.result.success", "moe.result.success.lead"),
        Outcome::Warning => ("warning", "warning", "moe.result.warning", "moe.result.warning.lead"),
        Outcome::Failure if unverifiable => {
            ("failure", "unverifiable", "moe.result.unverifiable", "moe.result.unverifiable.lead")
        }
        Outcome::Failure => ("failure", "failure", "moe.result.failure", "moe.result.failure.lead"),
    };
    let reason_code = report.reason.map(|r| api::json_code(&r));
    // A revoked or modified file is said to be so, not "not certified by any institution".
    let lead = match reason_code.as_deref().map(|code| format!("{lead}.{code}")) {
        Some(key) if outcome == "failure" && Texts::has(&key) => t.s(&key),
        _ => t.s(lead),
    };
    let reason = reason_code.as_deref().map(|code| t.s(&format!("moe.reason.{code}")));
    let picture = report.check(CheckName::FileFormat).is_some_and(|c| c.finding == Finding::Picture);
    let advice = match reason_code.as_deref() {
        _ if picture => t.s("moe.advice.picture"),
        Some(code) => t.s(&format!("moe.advice.{code}")),
        None => t.s("moe.advice.success"),
    };
    let newer = report.newer_version.as_ref().map(|n| {
        let date = t.date(&n.issued_at.taiwan_date());
        t.f("moe.result.warning.newer", &[&date, &n.version])
    });
    let embedded_note = if report.embedded_credential_authentic == Some(true) {
        Some(t.s("moe.embedded_authentic"))
    } else if report.input == dcert_core::verify::InputKind::Credential && outcome != "failure" {
        // The data alone: authentic, but not the diploma page an employer may expect to see.
        Some(t.s("moe.bare_credential"))
    } else {
        None
    };
    let issuer = report.issuer.as_ref().map(|i| c.pick(&i.name_zh, &i.name_en).to_owned());
    let mut rows = Vec::new();
    if let Some(cred) = &report.credential {
        let mut row = |label: &'static str, id: &'static str, value: String| {
            rows.push(Row { label: t.s(label), value, id });
        };
        let kind = match cred.credential_type {
            CredentialType::Degree => "moe.type.degree",
            CredentialType::Teacher => "moe.type.teacher",
        };
        row("moe.field.type", "type", t.s(kind).to_owned());
        row("moe.field.number", "number", cred.certificate_number.clone());
        let language = match cred.language {
            Language::Zh => "moe.lang.zh",
            Language::En => "moe.lang.en",
        };
        row("moe.field.language", "language", t.s(language).to_owned());
        row("moe.field.version", "version", cred.version.to_string());
        row("moe.field.issued_at", "issued-at", t.time(cred.issued_at.unix()));
        if let Some(d) = &cred.degree {
            row("moe.field.name", "name", c.pick(&d.name_zh, &d.name_en).to_owned());
            row("moe.field.birth", "birth", t.date(&d.birth_date));
            row("moe.field.student_number", "student-number", d.student_number.clone());
            row("moe.field.school", "school", c.pick(&d.school_zh, &d.school_en).to_owned());
            row("moe.field.college", "college", c.pick(&d.college_zh, &d.college_en).to_owned());
            row("moe.field.department", "department", c.pick(&d.department_zh, &d.department_en).to_owned());
            row("moe.field.degree", "degree", c.pick(&d.degree_zh, &d.degree_en).to_owned());
            row("moe.field.graduation", "graduation", t.date(&d.graduation_date));
            row("moe.field.diploma_number", "diploma-number", d.diploma_number.clone());
        }
        if let Some(te) = &cred.teacher {
            row("moe.field.name", "name", c.pick(&te.name_zh, &te.name_en).to_owned());
            row("moe.field.birth", "birth", t.date(&te.birth_date));
            row("moe.field.teacher_kind", "teacher-kind", c.pick(&te.kind_zh, &te.kind_en).to_owned());
            row("moe.field.subject", "subject", c.pick(&te.subject_zh, &te.subject_en).to_owned());
            row("moe.field.teacher_number", "teacher-number", te.teacher_certificate_number.clone());
            row("moe.field.teacher_issue_date", "teacher-issue-date", t.date(&te.issue_date));
        }
    }
    let checks = report
        .checks
        .iter()
        .map(|check| {
            let (result, class) = match check.result {
                // A newer version is a warning, not a failure of the file.
                CheckResult::Fail if check.name == CheckName::RegistryStatus && report.outcome == Outcome::Warning => {
                    ("moe.check.warning", "unknown")
                }
                CheckResult::Pass => ("moe.check.pass", "pass"),
                CheckResult::Fail => ("moe.check.fail", "fail"),
                CheckResult::Unknown => ("moe.check.unknown", "unknown"),
            };
            CheckRow {
                name: t.s(&format!("moe.check.{}", api::json_code(&check.name))),
                result: t.s(result),
                class,
                detail: super::findings::words(&c, &check.finding),
            }
        })
        .collect();
    let mut facts = Vec::new();
    if let Some(name) = file_name.filter(|n| !n.is_empty()) {
        facts.push(Row { label: t.s("moe.field.file"), value: name, id: "file" });
    }
    if let Some(sha) = report.file_sha256 {
        facts.push(Row { label: t.s("moe.field.sha256"), value: sha.to_string(), id: "sha256" });
    }
    facts.push(Row {
        label: t.s("moe.field.verified_at"),
        value: t.time(report.verified_at.unix()),
        id: "verified-at",
    });
    if let Some(as_of) = report.status_as_of {
        facts.push(Row { label: t.s("moe.field.status_as_of"), value: t.time(as_of.unix()), id: "status-as-of" });
    }
    let list = &report.trust_list;
    facts.push(Row {
        label: t.s("moe.field.trust_list"),
        value: t.f("moe.trust_list.value", &[&list.sequence, &t.time(list.issued.unix())]),
        id: "trust-list",
    });
    let certified = if report.embedded_credential_authentic.is_some() {
        "moe.certified.unconfirmed"
    } else if report.reason == Some(Reason::Revoked) {
        "moe.certified.revoked"
    } else {
        "moe.certified"
    };
    ResultPage {
        c,
        outcome,
        style,
        title: t.s(title),
        lead,
        reason,
        advice,
        certified: t.s(certified),
        contact: None,
        newer,
        embedded_note,
        receipt: None,
        issuer,
        rows,
        checks,
        facts,
    }
}

#[derive(Template)]
#[template(path = "ministry/about.html")]
struct AboutPage {
    c: Chrome,
}

async fn about(c: Chrome) -> Response {
    render(StatusCode::OK, AboutPage { c: c.at("about") })
}

#[derive(Template)]
#[template(path = "ministry/developers.html")]
struct DevelopersPage {
    c: Chrome,
    public_url: String,
    /// The Ministry root's SHA-256 fingerprint, which verifiers pin.
    root_fingerprint: String,
}

/// `/developers`: the API and the command line, for those who verify by program or offline.
async fn developers(c: Chrome, State(state): State<MinistryState>) -> Response {
    let root_fingerprint = state.trust().list.root.fingerprint().to_string();
    let public_url = state.config.public_url.clone();
    render(StatusCode::OK, DevelopersPage { c: c.at("developers"), public_url, root_fingerprint })
}

#[derive(Template)]
#[template(path = "ministry/news.html")]
struct NewsPage {
    c: Chrome,
    items: Vec<NewsItem>,
}

async fn news(c: Chrome, State(state): State<MinistryState>) -> Response {
    match state.store.news(50).await {
        Ok(items) => render(StatusCode::OK, NewsPage { c: c.at("news"), items }),
        Err(e) => AppError::from(e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "ministry/faq.html")]
struct FaqPage {
    c: Chrome,
    items: Vec<FaqItem>,
}

async fn faq(c: Chrome, State(state): State<MinistryState>) -> Response {
    match state.store.faq().await {
        Ok(items) => render(StatusCode::OK, FaqPage { c: c.at("faq"), items }),
        Err(e) => AppError::from(e).into_response(),
    }
}

/// An institution as the list shows it.
pub(crate) struct IssuerRow {
    pub id: String,
    pub name: String,
    pub other_name: String,
    pub kinds: String,
    pub keys: Vec<KeyRow>,
}

/// A key of an institution.
pub(crate) struct KeyRow {
    pub key: String,
    pub window: String,
    pub state: String,
    pub class: &'static str,
}

fn issuer_rows(c: &Chrome, state: &MinistryState, only: Option<&str>) -> Vec<IssuerRow> {
    let t = c.t;
    let now = now();
    let trust = state.trust();
    trust
        .list
        .content
        .issuers
        .iter()
        .filter(|i| only.is_none_or(|id| id == i.id))
        .map(|i| {
            let keys = i
                .credential_keys
                .iter()
                .map(|k| {
                    let (state, class) = key_state(t, k.valid_from, k.valid_until, k.revoked_from, now);
                    let short: String = k.public_key_multibase.chars().take(16).collect();
                    KeyRow {
                        key: format!("{short}…"),
                        window: format!(
                            "{} – {}",
                            t.short_date(&k.valid_from.taiwan_date()),
                            t.short_date(&k.valid_until.taiwan_date())
                        ),
                        state,
                        class,
                    }
                })
                .collect();
            IssuerRow {
                id: i.id.clone(),
                name: c.pick(&i.name_zh, &i.name_en).to_owned(),
                other_name: c.pick(&i.name_en, &i.name_zh).to_owned(),
                kinds: accreditation_words(t, &i.accreditation.credential_types, &i.accreditation.degree_levels),
                keys,
            }
        })
        .collect()
}

/// What an institution may issue, in words: the credential types, and a degree's levels.
pub(crate) fn accreditation_words(t: Texts, types: &[CredentialType], levels: &[DegreeLevel]) -> String {
    let kinds: Vec<String> = types
        .iter()
        .map(|ty| match ty {
            CredentialType::Degree => {
                let levels: Vec<&str> = levels.iter().map(|l| level_words(t, *l)).collect();
                format!("{} ({})", t.s("moe.type.degree"), levels.join(t.s("moe.list.sep")))
            }
            CredentialType::Teacher => t.s("moe.type.teacher").to_owned(),
        })
        .collect();
    kinds.join(t.s("moe.list.sep"))
}

fn level_words(t: Texts, l: DegreeLevel) -> &'static str {
    t.s(match l {
        DegreeLevel::Associate => "moe.level.associate",
        DegreeLevel::Bachelor => "moe.level.bachelor",
        DegreeLevel::Master => "moe.level.master",
        DegreeLevel::Doctor => "moe.level.doctor",
    })
}

fn key_state(
    t: Texts,
    from: Timestamp,
    until: Timestamp,
    revoked: Option<Timestamp>,
    now: Timestamp,
) -> (String, &'static str) {
    match revoked {
        Some(r) => (t.f1("moe.key.revoked", t.short_date(&r.taiwan_date())), "fail"),
        None if now < from => (t.s("moe.key.future").to_owned(), "unknown"),
        None if now > until => (t.s("moe.key.retired").to_owned(), "unknown"),
        None => (t.s("moe.key.valid").to_owned(), "pass"),
    }
}

fn list_line(c: &Chrome, state: &MinistryState) -> String {
    let trust = state.trust();
    let issued = c.t.time(trust.list.content.issued.unix());
    c.t.f("moe.issuers.list", &[&trust.list.content.sequence, &issued])
}

#[derive(Template)]
#[template(path = "ministry/issuers.html")]
struct IssuersPage {
    c: Chrome,
    issuers: Vec<IssuerRow>,
    list_line: String,
    /// On one institution's page, whom to ask there.
    contact: Option<ContactView>,
}

async fn issuers(c: Chrome, State(state): State<MinistryState>) -> Response {
    let rows = issuer_rows(&c, &state, None);
    let list_line = list_line(&c, &state);
    render(StatusCode::OK, IssuersPage { c: c.at("issuers"), issuers: rows, list_line, contact: None })
}

/// `/issuers/{id}`: the address every certificate names as its issuer.
async fn issuer(c: Chrome, State(state): State<MinistryState>, Path(id): Path<String>) -> Response {
    let rows = issuer_rows(&c, &state, Some(&id));
    if rows.is_empty() {
        return not_found(c).await;
    }
    let list_line = list_line(&c, &state);
    let contact = contact_of(&c, &state, &id).await;
    render(StatusCode::OK, IssuersPage { c: c.at("issuers"), issuers: rows, list_line, contact })
}

/// Whom to ask at institution `id`, if the Ministry recorded it (a database that fails here
/// costs the page its contact, not the page).
async fn contact_of(c: &Chrome, state: &MinistryState, id: &str) -> Option<ContactView> {
    match state.store.institution_contact(id).await {
        Ok(contact) => contact.map(|k| ContactView::of(c, k)),
        Err(e) => {
            tracing::warn!(error = %e, "an institution's contact could not be read");
            None
        }
    }
}

#[derive(Template)]
#[template(path = "ministry/not_found.html")]
struct NotFoundPage {
    c: Chrome,
}

pub(crate) async fn not_found(c: Chrome) -> Response {
    render(StatusCode::NOT_FOUND, NotFoundPage { c })
}

#[derive(Template)]
#[template(path = "ministry/scanned.html")]
struct ScannedPage {
    c: Chrome,
}

/// `/v/{issuer}/{number}/{language}/{version}`: where a certificate's QR code leads. The seal is
/// in the address's fragment, which browsers keep to themselves: `seal.js` sends it to `/seal`;
/// without JavaScript the page asks for the file instead.
async fn scanned(c: Chrome) -> Response {
    render(StatusCode::OK, ScannedPage { c: c.at("verify").back_to("/") })
}

#[derive(serde::Deserialize)]
struct SealQuery {
    s: Option<String>,
}

#[derive(Template)]
#[template(path = "ministry/seal.html")]
struct SealPage {
    c: Chrome,
    /// Read from a photo, a scan or a screenshot.
    photo: bool,
    /// The issuing institution's contact, on warning and failure pages.
    contact: Option<ContactView>,
    outcome: &'static str,
    title: &'static str,
    lead: String,
    reason: Option<String>,
    rows: Vec<Row>,
}

/// `/seal?s=DC1:…`: checks a QR code's seal against the trust list and the registry's status of
/// that certificate version. It proves what the printed page says, not that a file is intact.
async fn seal_check(c: Chrome, State(state): State<MinistryState>, request: Request) -> Response {
    if let Err(r) = api::check_rate(&state, &request) {
        return refused(c, &state, &r);
    }
    // The seal itself, as seal.js sends it (it decodes the address's fragment first): its base45
    // may hold "%20" or "%25", which must not be decoded a second time.
    let text = axum::extract::Query::<SealQuery>::try_from_uri(request.uri())
        .ok()
        .and_then(|q| q.0.s)
        .and_then(|s| s.find(dcert_core::seal::PREFIX).map(|start| s[start..].to_owned()));
    seal_page(c.back_to("/"), &state, text, false).await
}

/// `/S/{seal}`: where a compact QR code leads ([`dcert_core::seal::qr_text`]): the seal is in
/// the address itself, so the page needs no script.
async fn compact_seal(
    c: Chrome,
    State(state): State<MinistryState>,
    axum::extract::Path(seal): axum::extract::Path<String>,
    request: Request,
) -> Response {
    if let Err(r) = api::check_rate(&state, &request) {
        return refused(c, &state, &r);
    }
    let text = dcert_core::seal::seal_from_qr_text(&format!("{}{seal}", dcert_core::seal::QR_PATH));
    seal_page(c, &state, text, false).await
}

/// The page of a QR code's seal `text` (none when the address or picture held none): checked
/// against the trust list, with the registry's status of the certificate it names and the
/// sealed data to compare with the paper; `photo` when it was read from a picture.
async fn seal_page(c: Chrome, state: &MinistryState, text: Option<String>, photo: bool) -> Response {
    let t = c.t;
    let trust = state.trust();
    let Some(text) = text else {
        return render(
            StatusCode::BAD_REQUEST,
            SealPage {
                c: c.at("verify"),
                photo,
                contact: None,
                outcome: "failure",
                title: t.s("moe.result.failure"),
                lead: t.s("moe.seal.missing").to_owned(),
                reason: None,
                rows: Vec::new(),
            },
        );
    };
    let sealed = match dcert_core::seal::verify(&text, &trust.list) {
        Ok(v) => v,
        Err(e) => {
            return render(
                StatusCode::OK,
                SealPage {
                    c: c.at("verify"),
                    photo,
                    contact: None,
                    outcome: "failure",
                    title: t.s("moe.result.failure"),
                    lead: t.s("moe.seal.invalid").to_owned(),
                    reason: Some(t.s(seal_error_key(&e)).to_owned()),
                    rows: Vec::new(),
                },
            );
        }
    };
    let d = &sealed.data;
    let query = dcert_core::status::StatusQuery {
        issuer_id: d.issuer_id.clone(),
        number: d.number.clone(),
        language: d.language,
        version: d.version,
        file_sha256: None,
    };
    let status = state.store_status();
    let answer = tokio::task::spawn_blocking(move || {
        use dcert_core::status::StatusSource;
        status.status(&query)
    })
    .await
    .unwrap_or(dcert_core::status::StatusAnswer::Unavailable { reason: "the status query stopped".into() });
    use dcert_core::status::StatusAnswer as A;
    let (outcome, title, lead, reason) = match &answer {
        A::Current { .. } => ("success", "moe.result.success", t.s("moe.seal.success").to_owned(), None),
        A::Superseded { latest_version, superseded_at, .. } => (
            "warning",
            "moe.result.warning",
            t.s("moe.result.warning.lead").to_owned(),
            Some(t.f("moe.result.warning.newer", &[&t.date(&superseded_at.taiwan_date()), latest_version])),
        ),
        A::Revoked { .. } => (
            "failure",
            "moe.result.failure",
            t.s("moe.result.failure.lead.revoked").to_owned(),
            Some(t.s("moe.reason.revoked").to_owned()),
        ),
        A::NotRegistered { .. } => ("failure", "moe.result.failure", t.s("moe.seal.not_registered").to_owned(), None),
        A::Unavailable { .. } | A::Offline => {
            ("warning", "moe.result.warning", t.s("moe.seal.status_unknown").to_owned(), None)
        }
    };
    let kind = match d.credential_type {
        CredentialType::Degree => "moe.type.degree",
        CredentialType::Teacher => "moe.type.teacher",
    };
    let row = |label: &'static str, id: &'static str, value: String| Row { label: t.s(label), value, id };
    let rows = vec![
        row("moe.field.issuer", "issuer", c.pick(&sealed.issuer_name_zh, &sealed.issuer_name_en).to_owned()),
        row("moe.field.type", "type", t.s(kind).to_owned()),
        row("moe.field.number", "number", d.number.clone()),
        row("moe.field.version", "version", d.version.to_string()),
        // As the paper prints it: the certificate's own language, whatever the page's.
        row("moe.field.name", "name", if d.language == Language::Zh { d.name_zh.clone() } else { d.name_en.clone() }),
        row("moe.field.birth", "birth", t.date(&d.birth_date)),
        row("moe.seal.title", "title", d.title.clone()),
        row("moe.seal.field", "field", d.field.clone()),
        row("moe.seal.date", "date", t.date(&d.date)),
        row("moe.field.diploma_number", "printed-number", d.printed_number.clone()),
        row("moe.field.issued_at", "issued-at", t.time(d.issued_at.unix())),
    ];
    let c = c.at("verify");
    // Whom to ask, when there is something to ask the institution about.
    let contact = if outcome == "success" { None } else { contact_of(&c, state, &d.issuer_id).await };
    render(StatusCode::OK, SealPage { c, photo, contact, outcome, title: t.s(title), lead, reason, rows })
}

/// The catalogue key that words why a seal was not believed.
fn seal_error_key(e: &dcert_core::seal::SealError) -> &'static str {
    use dcert_core::seal::SealError as E;
    match e {
        E::Malformed(_) => "moe.seal.error.malformed",
        E::UnknownKey => "moe.seal.error.unknown_key",
        E::BadSignature => "moe.seal.error.bad_signature",
        E::IssuerMismatch { .. } => "moe.seal.error.issuer_mismatch",
        E::KeyNotValid(_) => "moe.seal.error.key_not_valid",
    }
}

#[cfg(test)]
mod tests {
    use dcert_core::verify::{CheckName, Reason};

    use super::api::json_code;
    use crate::i18n::Texts;

    #[test]
    fn every_reason_and_check_has_words_and_advice_in_the_catalogue() {
        for r in Reason::ALL {
            let code = json_code(&r);
            assert!(Texts::has(&format!("moe.reason.{code}")), "moe.reason.{code}");
            assert!(Texts::has(&format!("moe.advice.{code}")), "moe.advice.{code}");
        }
        for c in CheckName::ALL {
            let code = json_code(&c);
            assert!(Texts::has(&format!("moe.check.{code}")), "moe.check.{code}");
        }
    }
}
