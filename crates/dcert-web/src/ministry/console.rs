//! The Ministry console (教育部 管理介面), under `/console` of the Ministry's site: sign-in for the
//! Ministry's staff, the verification statistics and registry figures, the site's news (最新消息)
//! and FAQ (常見問題), digital teacher certificates (電子教師證書), the institutions of the trust
//! registry (發證單位管理: onboarding, key rotation and revocation, their details, publishing the
//! trust list) and the audit log.
//!
//! Every handler names its [`Action`] before it reads data, and [`allowed`] is the one table of
//! who may do what: only the Ministry's roles may do anything here. A Ministry session is of its
//! own kind (`ministry`) in its own cookie, so neither console takes the other's sessions, even
//! when both sites share one database. Every change is written to the audit log.

use std::sync::Arc;

use askama::Template;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Path, Query, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use dcert_core::Sha256Digest;
use dcert_core::issue::{self, IssueError};
use dcert_core::model::{
    Certificate, CredentialType, DegreeLevel, Language, Subject, TeacherRecord, is_valid_certificate_number,
};
use dcert_core::pdf::Template as Design;
use dcert_core::pdf::render::RenderError;
use dcert_core::time::{Date, Timestamp};
use dcert_core::trust::TrustListContent;
use dcert_core::x509::{self, ParsedCert};
use dcert_store::{
    AuditEntry, AuditFilter, FaqItem, NewsItem, RegisteredInstitution, RegistryRecord, Role, Session, Staff, Store,
    StoreError,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::site::accreditation_words;
use super::trust_registry::{
    self as registry, InstitutionDetails, MAX_REQUEST_BYTES, OnboardingRequest, RegistryError, RotationRequest,
};
use super::{Client, CsrfToken, MinistryState};
use crate::auth::{self, LoginLimiter};
use crate::i18n::{Lang, Texts};
use crate::portal::urlencode;
use crate::{AppError, PageResult, SESSION_SECONDS, now, page, pdf_download, redirect};

/// What a member of the Ministry's staff may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Enter the console at all (its home page, the menu).
    Enter,
    /// See the verification statistics and the registry's figures.
    ViewStatistics,
    /// Add, change and delete the site's news and FAQ.
    EditContent,
    /// Issue a teacher certificate.
    IssueTeacher,
    /// Read the audit log.
    ViewAudit,
    /// Onboard institutions, rotate and revoke their keys, change their details and publish the
    /// trust list (發證單位管理).
    ManageInstitutions,
}

/// Whether `role` may do `action`: the Ministry's administrator everything (the trust registry
/// included), its editor the news and FAQ, a university's staff nothing.
pub fn allowed(role: Role, action: Action) -> bool {
    use Action::*;
    match role {
        Role::MinistryAdmin => true,
        Role::MinistryEditor => matches!(action, Enter | EditContent),
        Role::Registrar | Role::CampusOffice | Role::Admin => false,
    }
}

/// The session kind of the Ministry console (the university console's is `staff`).
const SESSION_KIND: &str = "ministry";
/// The session cookie, apart from the university site's (a browser shares cookies between two
/// sites on one host, whatever their ports).
const SESSION_COOKIE: &str = "moe_session";

pub(crate) fn routes() -> Router<MinistryState> {
    Router::new()
        .route("/", get(dashboard))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/news", get(content_list::<NewsItem>).post(content_save::<NewsItem>))
        .route("/news/new", get(content_form::<NewsItem>))
        .route("/news/{id}", get(content_form::<NewsItem>).post(content_save::<NewsItem>))
        .route("/news/{id}/delete", get(content_confirm::<NewsItem>).post(content_delete::<NewsItem>))
        .route("/faq", get(content_list::<FaqItem>).post(content_save::<FaqItem>))
        .route("/faq/new", get(content_form::<FaqItem>))
        .route("/faq/{id}", get(content_form::<FaqItem>).post(content_save::<FaqItem>))
        .route("/faq/{id}/delete", get(content_confirm::<FaqItem>).post(content_delete::<FaqItem>))
        .route("/teacher", get(teacher_page).post(teacher_issue))
        .route("/teacher/{id}/download", get(teacher_download))
        .route("/institutions", get(institutions))
        .route("/institutions/onboard", get(onboard_page).post(onboard_preview))
        .route("/institutions/onboard/confirm", post(onboard_confirm))
        .route("/institutions/rotate", get(rotate_page).post(rotate_preview))
        .route("/institutions/rotate/confirm", post(rotate_confirm))
        .route("/institutions/publish", post(publish_list))
        .route("/institutions/{institution}/edit", get(institution_edit).post(institution_save))
        .route("/institutions/{institution}/revoke", get(revoke_page).post(revoke_preview))
        .route("/institutions/{institution}/revoke/confirm", post(revoke_confirm))
        .route("/institutions/{institution}/certificate", get(certificate_download))
        .route("/audit", get(audit))
        .layer(Extension(Console::default()))
}

/// What the console keeps besides the state: one per router, which [`super::ministry_router`]
/// builds once.
#[derive(Clone, Default)]
struct Console {
    /// Failed sign-ins per account and per client address.
    limiter: Arc<LoginLimiter>,
    /// One teacher certificate at a time: the check that its number is free and its registry
    /// record go together.
    issuing: Arc<tokio::sync::Mutex<()>>,
    /// One change of the trust registry that needs the root keys at a time on this node (the
    /// database refuses a second list of the same sequence from another).
    registry: Arc<tokio::sync::Mutex<()>>,
}

// ----- the request: language, CSRF token, client, session -----

/// What every console page knows about its request.
struct ConsoleCtx {
    t: Texts,
    /// The CSRF token of forms: the session's own once signed in.
    csrf: String,
    ip: String,
    path: String,
    session: Option<Session>,
    session_hash: Option<String>,
}

impl FromRequestParts<MinistryState> for ConsoleCtx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &MinistryState) -> Result<Self, Self::Rejection> {
        let lang = crate::cookie(&parts.headers, "lang").map(|c| Lang::from_code(&c)).unwrap_or_default();
        let csrf = parts.extensions.get::<CsrfToken>().map(|c| c.0.clone()).unwrap_or_default();
        let ip = parts.extensions.get::<Client>().map(|c| c.0.clone()).unwrap_or_else(|| "-".into());
        let path = parts.uri.path_and_query().map(|p| p.to_string()).unwrap_or_else(|| "/console".into());
        let session_hash = crate::cookie(&parts.headers, SESSION_COOKIE).map(|t| auth::token_hash(&t));
        let session = match &session_hash {
            Some(h) => state.store.session(h, now().unix()).await?.filter(|s| s.kind == SESSION_KIND),
            None => None,
        };
        let csrf = session.as_ref().map(|s| s.csrf.clone()).unwrap_or(csrf);
        Ok(ConsoleCtx { t: Texts::new(lang), csrf, ip, path, session, session_hash })
    }
}

impl ConsoleCtx {
    /// Refuses a form whose token is not the visitor's (or, signed in, the session's).
    fn check_csrf(&self, token: &str) -> Result<(), AppError> {
        if self.csrf.is_empty() || !auth::constant_time_eq(&self.csrf, token) {
            return Err(AppError::Csrf);
        }
        Ok(())
    }

    /// The signed-in member of staff, if allowed `action`; not signed in, the login page.
    async fn require(&self, store: &Store, action: Action) -> Result<Staff, AppError> {
        let id = self.session.as_ref().and_then(|s| s.subject.parse::<i64>().ok());
        let staff = match id {
            Some(id) => store.staff_by_id(id).await?,
            None => None,
        };
        let staff = staff.ok_or_else(|| AppError::Redirect("/console/login".into()))?;
        if !allowed(staff.role, action) {
            return Err(AppError::Forbidden);
        }
        Ok(staff)
    }

    /// Starts a session with a new session token and a new CSRF token; returns the cookies.
    async fn start_session(&self, state: &MinistryState, staff: &Staff) -> Result<Vec<HeaderValue>, AppError> {
        let token = auth::random_token();
        let csrf = auth::random_token();
        let at = now().unix();
        let session = Session {
            kind: SESSION_KIND.into(),
            subject: staff.id.to_string(),
            csrf: csrf.clone(),
            expires_at: at + SESSION_SECONDS,
        };
        state.store.create_session(&auth::token_hash(&token), &session, at).await?;
        let secure = if state.config.secure_cookies { "; Secure" } else { "" };
        let cookie = |text: String| HeaderValue::from_str(&text).map_err(|e| AppError::Internal(e.to_string()));
        Ok(vec![
            cookie(format!(
                "{SESSION_COOKIE}={token}; Path=/console; HttpOnly; SameSite=Lax; Max-Age={SESSION_SECONDS}{secure}"
            ))?,
            cookie(format!("csrf={csrf}; Path=/; HttpOnly; SameSite=Strict{secure}"))?,
        ])
    }

    /// Ends the session; returns the cookie that clears it.
    async fn end_session(&self, state: &MinistryState) -> Result<HeaderValue, AppError> {
        if let Some(h) = &self.session_hash {
            state.store.delete_session(h, now().unix()).await?;
        }
        Ok(HeaderValue::from_static("moe_session=; Path=/console; HttpOnly; SameSite=Lax; Max-Age=0"))
    }

    /// An audit entry by `staff` from this request.
    fn audit(&self, staff: &Staff, action: &str, target: String, detail: String) -> AuditEntry {
        AuditEntry {
            at: now().unix(),
            actor: staff.username.clone(),
            role: staff.role.code().into(),
            action: action.into(),
            target,
            detail,
            ip: self.ip.clone(),
        }
    }

    /// The layout of a page, for `staff` (or nobody, on the login page).
    fn chrome(&self, staff: Option<&Staff>, section: &'static str) -> Chrome {
        Chrome {
            t: self.t,
            csrf: self.csrf.clone(),
            path: self.path.clone(),
            section,
            user: staff.map(|s| format!("{} ({})", s.display_name, role_label(self.t, s.role))),
            role: staff.map(|s| s.role),
        }
    }
}

/// What the console's layout needs.
pub(crate) struct Chrome {
    /// The texts of the page's language.
    pub t: Texts,
    /// The CSRF token for forms.
    pub csrf: String,
    /// The path asked for (for the language switch).
    pub path: String,
    /// The menu entry of this page.
    pub section: &'static str,
    /// The signed-in member of staff: name and role.
    pub user: Option<String>,
    /// Their role, which decides the menu.
    pub role: Option<Role>,
}

impl Chrome {
    /// Whether the menu shows the pages of `area`: `statistics`, `content`, `teacher`,
    /// `institutions`, `audit`.
    pub fn can(&self, area: &str) -> bool {
        let action = match area {
            "statistics" => Action::ViewStatistics,
            "content" => Action::EditContent,
            "teacher" => Action::IssueTeacher,
            "institutions" => Action::ManageInstitutions,
            "audit" => Action::ViewAudit,
            _ => Action::Enter,
        };
        self.role.is_some_and(|r| allowed(r, action))
    }

    /// The language switch's address, coming back to this page.
    pub fn lang_href(&self) -> String {
        let other = match self.t.lang {
            Lang::Zh => "en",
            Lang::En => "zh",
        };
        format!("/lang/{other}?back={}", urlencode(&self.path))
    }
}

fn role_label(t: Texts, role: Role) -> &'static str {
    match role {
        Role::MinistryAdmin => t.s("moe.console.role.ministry_admin"),
        Role::MinistryEditor => t.s("moe.console.role.ministry_editor"),
        Role::Registrar => t.s("role.registrar"),
        Role::CampusOffice => t.s("role.campus_office"),
        Role::Admin => t.s("role.admin"),
    }
}

/// A page with another status than 200.
fn with_status(status: StatusCode, result: PageResult) -> PageResult {
    let mut r = result?;
    *r.status_mut() = status;
    Ok(r)
}

/// Chinese or English, as the page's language.
fn pick<'a>(t: Texts, zh: &'a str, en: &'a str) -> &'a str {
    match t.lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

// ----- sign-in -----

#[derive(Template)]
#[template(path = "ministry/console/login.html")]
struct LoginPage {
    c: Chrome,
    error: Option<&'static str>,
    username: String,
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn login_page(ctx: ConsoleCtx) -> PageResult {
    page(LoginPage { c: ctx.chrome(None, "login"), error: None, username: String::new() })
}

async fn login(
    State(state): State<MinistryState>,
    Extension(console): Extension<Console>,
    ctx: ConsoleCtx,
    Form(form): Form<LoginForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let username: String = form.username.trim().chars().take(64).collect();
    let at = now().unix();
    if !console.limiter.allowed(&username, &ctx.ip, at) {
        if let Some(s) = state.store.staff_by_username(&username).await? {
            state.store.audit(&ctx.audit(&s, "login_rate_limited", format!("staff:{}", s.id), String::new())).await?;
        }
        return Err(AppError::TooManyRequests);
    }
    let staff = state.store.staff_by_username(&username).await?;
    let hash = staff.as_ref().map(|s| s.password_hash.clone());
    let password = form.password;
    // argon2 takes tens of milliseconds of CPU: off the async threads.
    let ok =
        tokio::task::spawn_blocking(move || auth::verify_password(&password, hash.as_deref())).await.unwrap_or(false);
    let staff = match staff {
        Some(s) if ok => s,
        known => {
            console.limiter.failed(&username, &ctx.ip, at);
            // Only a known account is named: a password typed into the name field stays out of the log.
            if let Some(s) = known {
                state.store.audit(&ctx.audit(&s, "login_failed", format!("staff:{}", s.id), String::new())).await?;
            }
            let error = Some(ctx.t.s("login.failed"));
            let login = LoginPage { c: ctx.chrome(None, "login"), error, username };
            return with_status(StatusCode::UNAUTHORIZED, page(login));
        }
    };
    console.limiter.succeeded(&username);
    if !allowed(staff.role, Action::Enter) {
        // A university's account in the same database: the right password, the wrong console.
        state.store.audit(&ctx.audit(&staff, "login_refused", format!("staff:{}", staff.id), String::new())).await?;
        return Err(AppError::Forbidden);
    }
    let cookies = ctx.start_session(&state, &staff).await?;
    state.store.audit(&ctx.audit(&staff, "login", format!("staff:{}", staff.id), String::new())).await?;
    let mut r = redirect("/console");
    for c in cookies {
        r.headers_mut().append(SET_COOKIE, c);
    }
    Ok(r)
}

async fn logout(State(state): State<MinistryState>, ctx: ConsoleCtx, Form(form): Form<CsrfForm>) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let cookie = ctx.end_session(&state).await?;
    let mut r = redirect("/console/login");
    r.headers_mut().append(SET_COOKIE, cookie);
    Ok(r)
}

// ----- dashboard -----

/// Days of the statistics by day.
const DAYS: i64 = 30;

/// One figure, over the last [`DAYS`] days and over all time.
struct Figure {
    id: &'static str,
    label: &'static str,
    recent: i64,
    all: i64,
}

/// A reason of warnings and failures.
struct ReasonRow {
    code: String,
    words: String,
    count: i64,
}

/// A day of the last [`DAYS`].
struct DayRow {
    day: String,
    count: i64,
}

/// A recent verification: never more than the start of the file's hash.
struct RecentRow {
    at: String,
    outcome: &'static str,
    class: String,
    reason: String,
    channel: &'static str,
    hash: String,
}

/// The registry's records, counted.
#[derive(Default)]
struct RegistryFigures {
    records: i64,
    issued: i64,
    superseded: i64,
    revoked: i64,
    degree: i64,
    teacher: i64,
}

#[derive(Template)]
#[template(path = "ministry/console/dashboard.html")]
struct DashboardPage {
    c: Chrome,
    since: String,
    figures: Vec<Figure>,
    reasons: Vec<ReasonRow>,
    days: Vec<DayRow>,
    busiest: i64,
    recent: Vec<RecentRow>,
    registry: RegistryFigures,
}

fn reason_words(t: Texts, code: &str) -> String {
    let key = format!("moe.reason.{code}");
    if Texts::has(&key) { t.s(&key).to_owned() } else { code.to_owned() }
}

/// Counts the registry's records, a page at a time.
async fn registry_figures(store: &Store) -> Result<RegistryFigures, AppError> {
    let mut f = RegistryFigures::default();
    for (event, credential_type, n) in store.registry_counts().await? {
        f.records += n;
        match event.as_str() {
            "issued" => {
                f.issued += n;
                match credential_type.as_str() {
                    "teacher" => f.teacher += n,
                    _ => f.degree += n,
                }
            }
            "superseded" => f.superseded += n,
            "revoked" => f.revoked += n,
            _ => {}
        }
    }
    Ok(f)
}

async fn dashboard(State(state): State<MinistryState>, ctx: ConsoleCtx) -> PageResult {
    let staff = ctx.require(&state.store, Action::Enter).await?;
    if !allowed(staff.role, Action::ViewStatistics) {
        return Ok(redirect("/console/news"));
    }
    let t = ctx.t;
    let today = now().taiwan_date();
    let first = today.add_days(1 - DAYS);
    // Midnight in Taiwan of the first day.
    let since = first.start().unix() - 8 * 3600;
    let recent = state.store.verification_stats(since).await?;
    let all = state.store.verification_stats(0).await?;
    let figure = |id, key, recent, all| Figure { id, label: t.s(key), recent, all };
    let figures = vec![
        figure("total", "moe.console.stats.total", recent.total, all.total),
        figure("success", "moe.result.success", recent.success, all.success),
        figure("warning", "moe.result.warning", recent.warning, all.warning),
        figure("failure", "moe.result.failure", recent.failure, all.failure),
        figure("distinct", "moe.console.stats.distinct", recent.distinct_files, all.distinct_files),
    ];
    let reasons = recent
        .by_reason
        .iter()
        .map(|(code, count)| ReasonRow { code: code.clone(), words: reason_words(t, code), count: *count })
        .collect();
    let days: Vec<DayRow> = (0..DAYS)
        .map(|i| {
            let day = first.add_days(i);
            let key = day.to_string();
            let count = recent.by_day.iter().find(|(d, _)| *d == key).map_or(0, |(_, n)| *n);
            DayRow { day: t.short_date(&day), count }
        })
        .collect();
    let busiest = days.iter().map(|d| d.count).max().unwrap_or(0).max(1);
    let recent_rows = state
        .store
        .recent_verifications(20)
        .await?
        .into_iter()
        .map(|v| RecentRow {
            at: t.time(v.at),
            outcome: match v.outcome.as_str() {
                "success" => t.s("moe.result.success"),
                "warning" => t.s("moe.result.warning"),
                _ => t.s("moe.result.failure"),
            },
            class: v.outcome.chars().filter(char::is_ascii_lowercase).collect(),
            reason: v.reason.as_deref().map(|r| reason_words(t, r)).unwrap_or_default(),
            channel: match v.channel.as_str() {
                "api" => t.s("moe.console.channel.api"),
                _ => t.s("moe.console.channel.page"),
            },
            hash: v.sha256.chars().take(12).collect(),
        })
        .collect();
    page(DashboardPage {
        c: ctx.chrome(Some(&staff), "dashboard"),
        since: t.date(&first),
        figures,
        reasons,
        days,
        busiest,
        recent: recent_rows,
        registry: registry_figures(&state.store).await?,
    })
}

// ----- form checks -----

/// The problems of a form, in the page's language.
struct Problems {
    t: Texts,
    list: Vec<String>,
}

impl Problems {
    fn new(t: Texts) -> Self {
        Problems { t, list: Vec::new() }
    }

    /// Checks a required text of at most `max` characters; `lines` allows line breaks.
    fn text(&mut self, label: &str, value: &str, max: usize, lines: bool) {
        let t = self.t;
        let label = t.s(label);
        if value.trim().is_empty() {
            self.list.push(t.f("moe.console.error.required", &[&label]));
        } else if value.chars().count() > max {
            self.list.push(t.f("moe.console.error.too_long", &[&label, &max]));
        } else if value.chars().any(|c| c.is_control() && !(lines && matches!(c, '\n' | '\r' | '\t'))) {
            self.list.push(t.f("moe.console.error.control", &[&label]));
        }
    }

    /// Checks a date `YYYY-MM-DD`.
    fn date(&mut self, label: &str, value: &str) -> Option<Date> {
        match value.trim().parse::<Date>() {
            Ok(d) if (1900..=2999).contains(&d.year()) => Some(d),
            _ => {
                let label = self.t.s(label);
                self.list.push(self.t.f("moe.console.error.date", &[&label]));
                None
            }
        }
    }

    fn push(&mut self, key: &str) {
        self.list.push(self.t.s(key).to_owned());
    }

    /// Checks the four texts of a news item or a question, labelled `labels`: its line (a title,
    /// a question) in Chinese and English, then its text (a body, an answer); returns them clean.
    fn texts(&mut self, labels: [&str; 4], values: [&String; 4]) -> [String; 4] {
        let limits = [(TITLE_CHARS, false), (TITLE_CHARS, false), (BODY_CHARS, true), (BODY_CHARS, true)];
        for ((label, value), (max, lines)) in labels.into_iter().zip(values).zip(limits) {
            self.text(label, value, max, lines);
        }
        values.map(|v| clean(v))
    }
}

/// The texts of a news item or question: at most this many characters.
const TITLE_CHARS: usize = 200;
const BODY_CHARS: usize = 5_000;

fn clean(s: &str) -> String {
    s.trim().replace("\r\n", "\n")
}

/// Where to go after a change, with its notice.
#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

fn notice(t: Texts, q: &DoneQuery) -> Option<&'static str> {
    match q.done.as_deref() {
        Some("added") => Some(t.s("moe.console.notice.added")),
        Some("saved") => Some(t.s("moe.console.notice.saved")),
        Some("deleted") => Some(t.s("moe.console.notice.deleted")),
        _ => None,
    }
}

/// The confirmation before deleting a news item or a question.
#[derive(Template)]
#[template(path = "ministry/console/confirm.html")]
struct ConfirmPage {
    c: Chrome,
    question: String,
    what: String,
    action: String,
    back: String,
}

// ----- news and FAQ -----

/// The site's news (最新消息, [`NewsItem`]) and its questions (常見問題, [`FaqItem`]): what sets
/// one apart from the other, so that one set of handlers serves both. Each kind's pages are
/// under `/console/{KIND}`: its list, `/new`, `/{id}` to change one and `/{id}/delete`.
trait Content: Sized + Send + Sync + 'static {
    /// The form of one, as typed.
    type Form: DeserializeOwned + Default + Send + Sync + 'static;
    /// Its name in paths (`/console/news`), the menu, and the audit log: the actions
    /// `news_add`, `news_edit` and `news_delete` on the target `news:{id}`.
    const KIND: &'static str;
    /// The question before deleting one.
    const DELETE_QUESTION: &'static str;
    /// The labels of its four texts, as [`Problems::texts`] checks them.
    const LABELS: [&'static str; 4];

    /// All of them, as the console lists them.
    fn all(store: &Store) -> impl Future<Output = Result<Vec<Self>, AppError>> + Send;
    /// The one with `id`; none, [`AppError::NotFound`].
    fn one(store: &Store, id: i64) -> impl Future<Output = Result<Self, AppError>> + Send;
    /// Adds it (`id` 0) or replaces it; returns its id.
    fn save(&self, store: &Store, by: &str, at: i64) -> impl Future<Output = Result<i64, AppError>> + Send;
    /// Removes the one with `id`.
    fn delete(store: &Store, id: i64) -> impl Future<Output = Result<(), AppError>> + Send;
    /// The form of a new one.
    fn blank(store: &Store) -> impl Future<Output = Result<Self::Form, AppError>> + Send;
    /// The form holding this one.
    fn form(self) -> Self::Form;
    /// The CSRF token a form came with.
    fn csrf(form: &Self::Form) -> &str;
    /// The one `form` describes, with `id`, noting in `p` what is wrong with it.
    fn parse(form: &Self::Form, p: &mut Problems, id: i64) -> Option<Self>;
    /// What the audit log notes of it besides its id.
    fn detail(&self) -> String;
    /// How the confirmation before deleting names it.
    fn describe(&self, t: Texts) -> String;
    /// The page listing `items`.
    fn list_page(c: Chrome, items: Vec<Self>, notice: Option<&'static str>) -> ContentPage;
    /// The page of `form`, sent to `action`.
    fn form_page(c: Chrome, action: String, form: Self::Form, errors: Vec<String>) -> ContentPage;
}

/// The pages of the news and the FAQ, each with its template.
#[derive(Template)]
enum ContentPage {
    #[template(path = "ministry/console/news.html")]
    NewsList { c: Chrome, items: Vec<NewsItem>, notice: Option<&'static str> },
    #[template(path = "ministry/console/news_form.html")]
    NewsEdit { c: Chrome, action: String, form: NewsForm, errors: Vec<String> },
    #[template(path = "ministry/console/faq.html")]
    FaqList { c: Chrome, items: Vec<FaqItem>, notice: Option<&'static str> },
    #[template(path = "ministry/console/faq_form.html")]
    FaqEdit { c: Chrome, action: String, form: FaqForm, errors: Vec<String> },
}

/// A news item as typed.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
struct NewsForm {
    csrf: String,
    /// The day shown, `YYYY-MM-DD`.
    published_on: String,
    title_zh: String,
    title_en: String,
    body_zh: String,
    body_en: String,
}

impl Content for NewsItem {
    type Form = NewsForm;
    const KIND: &'static str = "news";
    const DELETE_QUESTION: &'static str = "moe.console.news.delete_question";
    const LABELS: [&'static str; 4] = [
        "moe.console.news.title_zh",
        "moe.console.news.title_en",
        "moe.console.news.body_zh",
        "moe.console.news.body_en",
    ];

    async fn all(store: &Store) -> Result<Vec<Self>, AppError> {
        Ok(store.news(500).await?)
    }

    async fn one(store: &Store, id: i64) -> Result<Self, AppError> {
        Ok(store.news_item(id).await?)
    }

    async fn save(&self, store: &Store, by: &str, at: i64) -> Result<i64, AppError> {
        Ok(store.save_news(self, by, at).await?)
    }

    async fn delete(store: &Store, id: i64) -> Result<(), AppError> {
        Ok(store.delete_news(id).await?)
    }

    /// Dated today, in Taiwan.
    async fn blank(_: &Store) -> Result<NewsForm, AppError> {
        Ok(NewsForm { published_on: now().taiwan_date().to_string(), ..NewsForm::default() })
    }

    fn form(self) -> NewsForm {
        let NewsItem { id: _, published_on, title_zh, title_en, body_zh, body_en } = self;
        NewsForm { csrf: String::new(), published_on, title_zh, title_en, body_zh, body_en }
    }

    fn csrf(form: &NewsForm) -> &str {
        &form.csrf
    }

    fn parse(form: &NewsForm, p: &mut Problems, id: i64) -> Option<Self> {
        let date = p.date("moe.console.news.date", &form.published_on);
        let texts = [&form.title_zh, &form.title_en, &form.body_zh, &form.body_en];
        let [title_zh, title_en, body_zh, body_en] = p.texts(Self::LABELS, texts);
        Some(NewsItem { id, published_on: date?.to_string(), title_zh, title_en, body_zh, body_en })
    }

    /// Its day.
    fn detail(&self) -> String {
        self.published_on.clone()
    }

    fn describe(&self, t: Texts) -> String {
        format!("{} {}", self.published_on, pick(t, &self.title_zh, &self.title_en))
    }

    fn list_page(c: Chrome, items: Vec<Self>, notice: Option<&'static str>) -> ContentPage {
        ContentPage::NewsList { c, items, notice }
    }

    fn form_page(c: Chrome, action: String, form: NewsForm, errors: Vec<String>) -> ContentPage {
        ContentPage::NewsEdit { c, action, form, errors }
    }
}

/// A question as typed.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
struct FaqForm {
    csrf: String,
    /// Its place in the list, 1 to 9999.
    position: String,
    question_zh: String,
    question_en: String,
    answer_zh: String,
    answer_en: String,
}

impl Content for FaqItem {
    type Form = FaqForm;
    const KIND: &'static str = "faq";
    const DELETE_QUESTION: &'static str = "moe.console.faq.delete_question";
    const LABELS: [&'static str; 4] = [
        "moe.console.faq.question_zh",
        "moe.console.faq.question_en",
        "moe.console.faq.answer_zh",
        "moe.console.faq.answer_en",
    ];

    async fn all(store: &Store) -> Result<Vec<Self>, AppError> {
        Ok(store.faq().await?)
    }

    /// Found among all the questions (there are few).
    async fn one(store: &Store, id: i64) -> Result<Self, AppError> {
        store.faq().await?.into_iter().find(|q| q.id == id).ok_or(AppError::NotFound)
    }

    async fn save(&self, store: &Store, by: &str, at: i64) -> Result<i64, AppError> {
        Ok(store.save_faq(self, by, at).await?)
    }

    async fn delete(store: &Store, id: i64) -> Result<(), AppError> {
        Ok(store.delete_faq(id).await?)
    }

    /// Placed last.
    async fn blank(store: &Store) -> Result<FaqForm, AppError> {
        let next = store.faq().await?.iter().map(|q| q.position).max().unwrap_or(0) + 1;
        Ok(FaqForm { position: next.to_string(), ..FaqForm::default() })
    }

    fn form(self) -> FaqForm {
        let FaqItem { id: _, position, question_zh, question_en, answer_zh, answer_en } = self;
        FaqForm { csrf: String::new(), position: position.to_string(), question_zh, question_en, answer_zh, answer_en }
    }

    fn csrf(form: &FaqForm) -> &str {
        &form.csrf
    }

    fn parse(form: &FaqForm, p: &mut Problems, id: i64) -> Option<Self> {
        let position = form.position.trim().parse::<i64>().ok().filter(|n| (1..=9999).contains(n));
        if position.is_none() {
            p.push("moe.console.error.position");
        }
        let texts = [&form.question_zh, &form.question_en, &form.answer_zh, &form.answer_en];
        let [question_zh, question_en, answer_zh, answer_en] = p.texts(Self::LABELS, texts);
        Some(FaqItem { id, position: position?, question_zh, question_en, answer_zh, answer_en })
    }

    /// Its place.
    fn detail(&self) -> String {
        format!("position {}", self.position)
    }

    fn describe(&self, t: Texts) -> String {
        pick(t, &self.question_zh, &self.question_en).to_owned()
    }

    fn list_page(c: Chrome, items: Vec<Self>, notice: Option<&'static str>) -> ContentPage {
        ContentPage::FaqList { c, items, notice }
    }

    fn form_page(c: Chrome, action: String, form: FaqForm, errors: Vec<String>) -> ContentPage {
        ContentPage::FaqEdit { c, action, form, errors }
    }
}

/// The one `form` describes, with `id` (0 for a new one), or what is wrong with it.
fn checked<C: Content>(t: Texts, form: &C::Form, id: i64) -> Result<C, Vec<String>> {
    let mut p = Problems::new(t);
    match C::parse(form, &mut p, id) {
        Some(item) if p.list.is_empty() => Ok(item),
        _ => Err(p.list),
    }
}

async fn content_list<C: Content>(
    State(state): State<MinistryState>,
    ctx: ConsoleCtx,
    Query(q): Query<DoneQuery>,
) -> PageResult {
    let staff = ctx.require(&state.store, Action::EditContent).await?;
    let items = C::all(&state.store).await?;
    page(C::list_page(ctx.chrome(Some(&staff), C::KIND), items, notice(ctx.t, &q)))
}

/// The form of a new one (`id` none) or of the one with `id`; with `errors`, answered 422.
fn form_page<C: Content>(
    ctx: &ConsoleCtx,
    staff: &Staff,
    id: Option<i64>,
    form: C::Form,
    errors: Vec<String>,
) -> PageResult {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let action = match id {
        Some(id) => format!("/console/{}/{id}", C::KIND),
        None => format!("/console/{}", C::KIND),
    };
    with_status(status, page(C::form_page(ctx.chrome(Some(staff), C::KIND), action, form, errors)))
}

/// The form of a new one (at `/new`, no `id`) or of the one with `id`.
async fn content_form<C: Content>(
    State(state): State<MinistryState>,
    ctx: ConsoleCtx,
    id: Option<Path<i64>>,
) -> PageResult {
    let staff = ctx.require(&state.store, Action::EditContent).await?;
    let id = id.map(|Path(id)| id);
    let form = match id {
        Some(id) => C::one(&state.store, id).await?.form(),
        None => C::blank(&state.store).await?,
    };
    form_page::<C>(&ctx, &staff, id, form, Vec::new())
}

/// Adds a new one (posted to the list, no `id`) or replaces the one with `id`, as the form
/// says; audited as `{KIND}_add` or `{KIND}_edit`.
async fn content_save<C: Content>(
    State(state): State<MinistryState>,
    ctx: ConsoleCtx,
    id: Option<Path<i64>>,
    Form(form): Form<C::Form>,
) -> PageResult {
    ctx.check_csrf(C::csrf(&form))?;
    let staff = ctx.require(&state.store, Action::EditContent).await?;
    let id = id.map(|Path(id)| id);
    let item = match checked::<C>(ctx.t, &form, id.unwrap_or(0)) {
        Ok(item) => item,
        Err(errors) => return form_page::<C>(&ctx, &staff, id, form, errors),
    };
    let saved = item.save(&state.store, &staff.username, now().unix()).await?;
    let (change, done) = if id.is_some() { ("edit", "saved") } else { ("add", "added") };
    let kind = C::KIND;
    let entry = ctx.audit(&staff, &format!("{kind}_{change}"), format!("{kind}:{saved}"), item.detail());
    state.store.audit(&entry).await?;
    Ok(redirect(&format!("/console/{kind}?done={done}")))
}

async fn content_confirm<C: Content>(
    State(state): State<MinistryState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
) -> PageResult {
    let staff = ctx.require(&state.store, Action::EditContent).await?;
    let item = C::one(&state.store, id).await?;
    let t = ctx.t;
    page(ConfirmPage {
        c: ctx.chrome(Some(&staff), C::KIND),
        question: t.s(C::DELETE_QUESTION).to_owned(),
        what: item.describe(t),
        action: format!("/console/{}/{id}/delete", C::KIND),
        back: format!("/console/{}", C::KIND),
    })
}

/// Removes the one with `id`; audited as `{KIND}_delete`, with what is noted of it.
async fn content_delete<C: Content>(
    State(state): State<MinistryState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let staff = ctx.require(&state.store, Action::EditContent).await?;
    let item = C::one(&state.store, id).await?;
    C::delete(&state.store, id).await?;
    let kind = C::KIND;
    state.store.audit(&ctx.audit(&staff, &format!("{kind}_delete"), format!("{kind}:{id}"), item.detail())).await?;
    Ok(redirect(&format!("/console/{kind}?done=deleted")))
}

// ----- teacher certificates -----

#[derive(Clone, Default, Deserialize)]
struct TeacherForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    certificate_number: String,
    #[serde(default)]
    name_zh: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    kind_zh: String,
    #[serde(default)]
    kind_en: String,
    #[serde(default)]
    subject_zh: String,
    #[serde(default)]
    subject_en: String,
    #[serde(default)]
    teacher_certificate_number: String,
    #[serde(default)]
    issue_date: String,
}

impl TeacherForm {
    /// The language, the number asked for (if any) and the record, or what is wrong with them.
    fn parts(&self, t: Texts) -> Result<(Language, Option<String>, TeacherRecord), Vec<String>> {
        let mut p = Problems::new(t);
        let language = match self.language.as_str() {
            "zh" => Some(Language::Zh),
            "en" => Some(Language::En),
            _ => {
                p.push("moe.console.error.language");
                None
            }
        };
        let number = self.certificate_number.trim();
        if !number.is_empty() && !is_valid_certificate_number(number) {
            p.push("moe.console.error.number");
        }
        let max = dcert_core::model::MAX_FIELD_CHARS;
        for (label, value) in [
            ("moe.console.teacher.name_zh", &self.name_zh),
            ("moe.console.teacher.name_en", &self.name_en),
            ("moe.console.teacher.kind_zh", &self.kind_zh),
            ("moe.console.teacher.kind_en", &self.kind_en),
            ("moe.console.teacher.subject_zh", &self.subject_zh),
            ("moe.console.teacher.subject_en", &self.subject_en),
            ("moe.field.teacher_number", &self.teacher_certificate_number),
        ] {
            p.text(label, value, max, false);
        }
        let birth = p.date("moe.field.birth", &self.birth_date);
        let issued = p.date("moe.field.teacher_issue_date", &self.issue_date);
        let today = now().taiwan_date();
        if let (Some(b), Some(i)) = (birth, issued) {
            if b >= i {
                p.push("moe.console.error.birth_after_issue");
            }
            if i > today {
                p.push("moe.console.error.future");
            }
        }
        match (language, birth, issued) {
            (Some(language), Some(birth_date), Some(issue_date)) if p.list.is_empty() => Ok((
                language,
                (!number.is_empty()).then(|| number.to_owned()),
                TeacherRecord {
                    name_zh: self.name_zh.trim().to_owned(),
                    name_en: self.name_en.trim().to_owned(),
                    birth_date,
                    kind_zh: self.kind_zh.trim().to_owned(),
                    kind_en: self.kind_en.trim().to_owned(),
                    subject_zh: self.subject_zh.trim().to_owned(),
                    subject_en: self.subject_en.trim().to_owned(),
                    teacher_certificate_number: self.teacher_certificate_number.trim().to_owned(),
                    issue_date,
                },
            )),
            _ => Err(p.list),
        }
    }
}

#[derive(Template)]
#[template(path = "ministry/console/teacher.html")]
struct TeacherPage {
    c: Chrome,
    /// The Ministry's name as issuer, when an issuer kit is configured.
    issuer: Option<String>,
    /// Whether the published trust list accredits it for teacher certificates.
    accredited: bool,
    form: TeacherForm,
    errors: Vec<String>,
    /// The files issued, newest first (those of `search` only, when one is given).
    issued: Vec<IssuedTeacher>,
    /// The number searched for, or empty.
    search: String,
    /// How many `issued` shows, when there are more.
    more: Option<usize>,
}

/// A teacher certificate file issued, as the list shows it.
struct IssuedTeacher {
    id: i64,
    number: String,
    language: &'static str,
    version: i64,
    at: String,
    by: String,
    /// The start of its hash (never all of it, as elsewhere in the console).
    short: String,
}

/// How many issued files the teacher page lists.
const TEACHER_LIST: usize = 100;

#[derive(Deserialize)]
struct TeacherQuery {
    number: Option<String>,
}

/// The start of a file's hash, as pages and audit entries show it.
fn short_hash(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}

/// The file name of a teacher certificate's download.
fn teacher_file_name(number: &str, language: &str, version: i64) -> String {
    format!("{number}-{language}-v{version}.pdf")
}

/// Whether the published trust list names the institution `id` for teacher certificates.
fn accredited_for_teachers(state: &MinistryState, id: &str) -> bool {
    state
        .trust()
        .list
        .content
        .issuers
        .iter()
        .any(|i| i.id == id && i.accreditation.credential_types.contains(&CredentialType::Teacher))
}

async fn teacher_view(
    state: &MinistryState,
    ctx: &ConsoleCtx,
    staff: &Staff,
    form: TeacherForm,
    errors: Vec<String>,
    search: String,
) -> PageResult {
    let t = ctx.t;
    let number = (!search.is_empty()).then_some(search.as_str());
    let mut files = state.store.teacher_certificates(number, TEACHER_LIST as i64 + 1).await?;
    let more = (files.len() > TEACHER_LIST).then_some(TEACHER_LIST);
    files.truncate(TEACHER_LIST);
    let issued = files
        .into_iter()
        .map(|f| IssuedTeacher {
            id: f.id,
            language: match f.language.as_str() {
                "en" => language_words(t, Language::En),
                _ => language_words(t, Language::Zh),
            },
            version: f.version,
            at: t.time(f.issued_at),
            by: f.issued_by,
            short: short_hash(&f.sha256).to_owned(),
            number: f.number,
        })
        .collect();
    let issuance = state.issuance.as_ref();
    let status = match issuance {
        None => StatusCode::SERVICE_UNAVAILABLE,
        Some(_) if !errors.is_empty() => StatusCode::UNPROCESSABLE_ENTITY,
        Some(_) => StatusCode::OK,
    };
    let page_ = TeacherPage {
        c: ctx.chrome(Some(staff), "teacher"),
        issuer: issuance.map(|i| pick(ctx.t, &i.kit.name_zh, &i.kit.name_en).to_owned()),
        accredited: issuance.is_some_and(|i| accredited_for_teachers(state, &i.kit.issuer.id)),
        form,
        errors,
        issued,
        search,
        more,
    };
    with_status(status, page(page_))
}

async fn teacher_page(
    State(state): State<MinistryState>,
    ctx: ConsoleCtx,
    Query(q): Query<TeacherQuery>,
) -> PageResult {
    let staff = ctx.require(&state.store, Action::IssueTeacher).await?;
    let form = TeacherForm { language: "zh".into(), ..TeacherForm::default() };
    teacher_view(&state, &ctx, &staff, form, Vec::new(), non_empty(q.number.as_ref()).unwrap_or_default()).await
}

/// A new certificate number `<ISSUER>-T-<year>-<six digits>`, free in the registry.
async fn new_number(store: &Store, institution: &str, year: i32) -> Result<String, AppError> {
    for _ in 0..20 {
        let mut random = [0u8; 4];
        getrandom::fill(&mut random).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
        let n = u32::from_le_bytes(random) % 1_000_000;
        let number = format!("{}-T-{year}-{n:06}", institution.to_ascii_uppercase());
        let mut taken = false;
        for language in [Language::Zh, Language::En] {
            taken |= !store.registry_certificate(institution, &number, language.code()).await?.is_empty();
        }
        if !taken {
            return Ok(number);
        }
    }
    Err(AppError::Internal("no free teacher certificate number after 20 tries".into()))
}

async fn teacher_issue(
    State(state): State<MinistryState>,
    Extension(console): Extension<Console>,
    ctx: ConsoleCtx,
    Form(form): Form<TeacherForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let staff = ctx.require(&state.store, Action::IssueTeacher).await?;
    let t = ctx.t;
    let Some(issuance) = state.issuance.clone() else {
        return teacher_view(&state, &ctx, &staff, form, Vec::new(), String::new()).await;
    };
    let institution = issuance.kit.issuer.id.clone();
    if !accredited_for_teachers(&state, &institution) {
        let errors = vec![t.s("moe.console.teacher.not_accredited").to_owned()];
        return teacher_view(&state, &ctx, &staff, form, errors, String::new()).await;
    }
    let (language, number, record) = match form.parts(t) {
        Ok(parts) => parts,
        Err(errors) => return teacher_view(&state, &ctx, &staff, form, errors, String::new()).await,
    };
    // The number is free and its record written before another issuance looks.
    let _one_at_a_time = console.issuing.lock().await;
    let issued_at = now();
    let number = match number {
        Some(n) => n,
        None => new_number(&state.store, &institution, issued_at.taiwan_date().year()).await?,
    };
    let version = 1;
    let existing = state.store.registry_certificate(&institution, &number, language.code()).await?;
    if existing.iter().any(|r| r.version == i64::from(version)) {
        let errors = vec![t.f("moe.console.teacher.taken", &[&number, &language_words(t, language), &version])];
        return teacher_view(&state, &ctx, &staff, form, errors, String::new()).await;
    }
    let certificate = Certificate {
        number: number.clone(),
        language,
        version,
        previous_version_sha256: None,
        subject: Subject::Teacher(record),
    };
    if certificate.validate().is_err() {
        // The form's checks are those of the model; this is a backstop, and its message (which
        // may quote the record) is not logged.
        let errors = vec![t.s("moe.console.error.record").to_owned()];
        return teacher_view(&state, &ctx, &staff, form, errors, String::new()).await;
    }
    let design = Design::default_for(CredentialType::Teacher, language);
    let kit = issuance.clone();
    let rendered =
        tokio::task::spawn_blocking(move || issue::issue(&certificate, &kit.kit, &design, &kit.fonts, issued_at))
            .await
            .map_err(|_| AppError::Internal("teacher certificate issuance stopped unexpectedly".into()))?;
    let file = match rendered {
        Ok(file) => file,
        Err(IssueError::Render(RenderError::MissingGlyph(m))) => {
            let errors = vec![t.f("moe.console.teacher.missing_glyph", &[&format!("U+{:04X}", m.code)])];
            return teacher_view(&state, &ctx, &staff, form, errors, String::new()).await;
        }
        // Only the kind of failure: the error's text may quote the record.
        Err(e) => {
            let kind = match e {
                IssueError::Credential(_) => "credential",
                IssueError::Render(_) => "render",
                IssueError::Sign(_) => "sign",
            };
            return Err(AppError::Internal(format!("a teacher certificate could not be issued ({kind})")));
        }
    };
    let sha256 = file.sha256.to_string();
    let record = RegistryRecord {
        institution: institution.clone(),
        sha256: sha256.clone(),
        event: "issued".into(),
        number: number.clone(),
        language: language.code().into(),
        version: i64::from(version),
        previous_sha256: None,
        credential_type: "teacher".into(),
        reason: None,
        at: issued_at.unix(),
    };
    let detail = format!("{} v{version} sha256 {}", language.code(), short_hash(&sha256));
    let audit = ctx.audit(&staff, "teacher_issue", format!("certificate:{number}"), detail);
    // The registry record, the file and the audit entry in one transaction: a certificate
    // registered is a file kept, which its download (below, or later from the list) serves.
    let id = match state.store.store_teacher_certificate(&record, &file.bytes, &staff.username, &audit).await {
        Ok(id) => id,
        // Another node issued this number, language and version since the check above.
        Err(StoreError::Conflict(_)) => {
            let errors = vec![t.f("moe.console.teacher.taken", &[&number, &language_words(t, language), &version])];
            return teacher_view(&state, &ctx, &staff, form, errors, String::new()).await;
        }
        Err(e) => return Err(e.into()),
    };
    // The file is downloaded from where it is kept: a download that was lost is asked for again
    // (the browser's retry, or the list of issued files), never issued again.
    Ok(redirect(&format!("/console/teacher/{id}/download")))
}

/// A teacher certificate file as it was issued, byte for byte.
async fn teacher_download(State(state): State<MinistryState>, ctx: ConsoleCtx, Path(id): Path<i64>) -> PageResult {
    let staff = ctx.require(&state.store, Action::IssueTeacher).await?;
    let (info, bytes) = state.store.teacher_certificate_file(id).await?;
    let detail = format!("{} v{} sha256 {}", info.language, info.version, short_hash(&info.sha256));
    let target = format!("certificate:{}", info.number);
    state.store.audit(&ctx.audit(&staff, "teacher_download", target, detail)).await?;
    Ok(pdf_download(&teacher_file_name(&info.number, &info.language, info.version), bytes))
}

fn language_words(t: Texts, language: Language) -> &'static str {
    match language {
        Language::Zh => t.s("moe.lang.zh"),
        Language::En => t.s("moe.lang.en"),
    }
}

// ----- institutions (發證單位管理) -----

/// Taiwan's offset from UTC, in seconds.
const TAIWAN_OFFSET: i64 = 8 * 3600;

/// A moment typed into a form, in Taiwan time unless it says otherwise: `YYYY-MM-DD` (its
/// midnight), `YYYY-MM-DDTHH:MM[:SS]` (as a `datetime-local` field sends it), or RFC 3339.
fn parse_moment(text: &str) -> Option<Timestamp> {
    let s = text.trim();
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t);
    }
    match s.len() {
        10 => s.parse::<Date>().ok().map(|d| Timestamp(d.start().unix() - TAIWAN_OFFSET)),
        16 => format!("{s}:00+08:00").parse().ok(),
        19 => format!("{s}+08:00").parse().ok(),
        _ => None,
    }
}

/// `at` in Taiwan time as a `datetime-local` field shows it: `YYYY-MM-DDTHH:MM`.
fn local_moment(at: Timestamp) -> String {
    let local = Timestamp(at.unix() + TAIWAN_OFFSET);
    let (h, m, _) = local.hms();
    format!("{}T{h:02}:{m:02}", local.date())
}

/// The end of new keys' validity typed into a form: a date means the end of that day in
/// Taiwan; empty means the default (five years, not after the root).
fn parse_valid_until(t: Texts, text: &str) -> Result<Option<Timestamp>, String> {
    let s = text.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let end = match s.parse::<Date>() {
        Ok(d) => Some(Timestamp(d.add_days(1).start().unix() - TAIWAN_OFFSET)),
        Err(_) => parse_moment(s),
    };
    match end {
        Some(end) if end > now() => Ok(Some(end)),
        _ => Err(t.s("moe.console.institutions.error.valid_until").to_owned()),
    }
}

/// A key's or certificate's state at `now`: words and a class.
fn window_state(
    t: Texts,
    (from, until): (i64, i64),
    revoked: Option<i64>,
    reason: Option<&str>,
    now: Timestamp,
) -> (String, &'static str) {
    match revoked {
        Some(r) => (t.f("moe.console.institutions.state.revoked", &[&t.time(r), &reason.unwrap_or("-")]), "revoked"),
        None if now.unix() < from => (t.s("moe.key.future").to_owned(), "future"),
        None if now.unix() > until => (t.s("moe.key.retired").to_owned(), "retired"),
        None => (t.s("moe.key.valid").to_owned(), "valid"),
    }
}

/// Why a registry change was refused, in the page's language. A database failure is not the
/// admin's to read: it is a 500, logged.
fn registry_error(t: Texts, e: &RegistryError) -> Result<String, AppError> {
    use RegistryError as E;
    let key = |k: &str| format!("moe.console.institutions.error.{k}");
    Ok(match e {
        E::Shape(detail) => t.f1(&key("shape"), detail),
        E::TooLarge => t.f1(&key("too_large"), MAX_REQUEST_BYTES / 1024),
        E::InvalidId(id) => t.f1(&key("invalid_id"), id),
        E::InvalidText { field, max } => {
            let label = match *field {
                "the Chinese name" => t.s("moe.console.institutions.name_zh"),
                "the English name" => t.s("moe.console.institutions.name_en"),
                "the address" => t.s("moe.console.institutions.address"),
                "the reason" => t.s("moe.console.institutions.reason"),
                other => other,
            };
            t.f(&key("invalid_text"), &[&label, max])
        }
        E::ReservedName(name) => t.f1(&key("reserved_name"), name),
        E::Accreditation(why) => {
            let words = match *why {
                "it names no credential type" => t.s("moe.console.institutions.error.no_type"),
                "a credential type or degree level is named twice" => t.s("moe.console.institutions.error.twice"),
                "degree certificates need at least one degree level" => t.s("moe.console.institutions.error.no_level"),
                "degree levels apply to degree certificates only" => t.s("moe.console.institutions.error.level_only"),
                other => other,
            };
            t.f1(&key("accreditation"), words)
        }
        E::CredentialKey => t.s(&key("credential_key")).to_owned(),
        E::SigningKey => t.s(&key("signing_key")).to_owned(),
        E::Proof(which) if which.starts_with("signing") => t.s(&key("signing_proof")).to_owned(),
        E::Proof(_) => t.s(&key("proof")).to_owned(),
        E::NothingToRotate => t.s(&key("nothing_to_rotate")).to_owned(),
        E::CurrentKey(problem) => {
            use registry::CurrentKeyProblem as P;
            let why = match problem {
                P::Missing => pick(t, "申請檔未附目前憑證金鑰的簽章", "the request carries no proof by a current key"),
                P::BadProof => pick(t, "目前憑證金鑰的簽章驗證失敗", "the current key's proof does not verify"),
                P::NotRegistered => pick(t, "所列金鑰不是此單位的憑證金鑰", "the key named is not one of its keys"),
                P::Revoked => pick(t, "所列金鑰已經撤銷", "the key named is revoked"),
                P::NotValidNow => pick(
                    t,
                    "所列金鑰目前不在有效期間內（已被更換或尚未生效）",
                    "the key named is not valid now (replaced, or not yet valid)",
                ),
            };
            let words = pick(
                t,
                "更換金鑰申請須同時以該單位目前持有的憑證金鑰簽署（已登錄、目前有效且未撤銷）：{}。\
                 遺失或外洩的金鑰無法用於更換：請撤銷該金鑰，並請學校重新提出加入申請。",
                "A rotation request must also be signed with a credential key the institution holds now \
                 (registered, valid now, not revoked): {}. A lost or compromised key cannot sign one: revoke it, \
                 and onboard the institution again from a new request.",
            );
            words.replacen("{}", why, 1)
        }
        E::IdTaken(id) => t.f1(&key("id_taken"), id),
        E::UnknownInstitution(id) => t.f1(&key("unknown_institution"), id),
        E::KeyTaken => t.s(&key("key_taken")).to_owned(),
        E::SigningKeyTaken => t.s(&key("signing_key_taken")).to_owned(),
        E::UnknownKey { .. } => t.s(&key("unknown_key")).to_owned(),
        E::AlreadyRevoked(_) => t.s(&key("already_revoked")).to_owned(),
        E::Validity { from, root_until } => t.f(&key("validity"), &[&t.time(from.unix()), &t.time(root_until.unix())]),
        E::WrongCaKey => t.s(&key("wrong_ca_key")).to_owned(),
        E::OtherRoot { published } => pick(
            t,
            "先前發布的信任清單使用另一個根憑證（指紋 {}），未以此根憑證發布。",
            "The trust lists published so far are under another root (fingerprint {}); nothing was published.",
        )
        .replacen("{}", &published.to_string(), 1),
        E::NotNewer { published, served } => pick(
            t,
            "最近發布的信任清單（第 {} 號）並不比本站目前提供的（第 {} 號）新，本站繼續提供目前的清單。",
            "The trust list published last (sequence {}) is not newer than the one served (sequence {}); the one \
             served stays.",
        )
        .replacen("{}", &published.to_string(), 1)
        .replacen("{}", &served.to_string(), 1),
        E::Certificate(detail) => t.f1(&key("certificate"), detail),
        E::TrustList(detail) => t.f1(&key("trust_list"), detail),
        E::Conflict(detail) => t.f1(&key("conflict"), detail),
        E::Store(e) => return Err(AppError::Internal(format!("the trust registry: {e}"))),
    })
}

/// An institution's credential key as the list shows it.
struct KeyView {
    key: String,
    window: String,
    state: String,
    class: &'static str,
    revoke: Option<String>,
}

/// An institution's signing certificate as the list shows it.
struct CertView {
    sha256: String,
    short: String,
    window: String,
    state: String,
    class: &'static str,
    revoke: Option<String>,
    download: String,
}

/// An institution as the list shows it.
struct InstitutionView {
    id: String,
    name_zh: String,
    name_en: String,
    address: String,
    accreditation: String,
    since: String,
    keys: Vec<KeyView>,
    certificates: Vec<CertView>,
}

/// The trust list published last.
struct PublishedView {
    /// Its sequence and time, in words.
    line: String,
    /// Whether the registry's database holds it (else it is only the list this site serves).
    recorded: bool,
    /// The sequence this site serves, when it is another.
    served: Option<u64>,
}

#[derive(Template)]
#[template(path = "ministry/console/institutions.html")]
struct InstitutionsPage {
    c: Chrome,
    notice: Option<&'static str>,
    errors: Vec<String>,
    configured: bool,
    published: PublishedView,
    pending: bool,
    institutions: Vec<InstitutionView>,
}

fn institution_view(t: Texts, r: &RegisteredInstitution, now: Timestamp) -> InstitutionView {
    let i = &r.institution;
    let window = |from: i64, until: i64| format!("{} – {}", t.time(from), t.time(until));
    let id = urlencode(&i.id);
    InstitutionView {
        id: i.id.clone(),
        name_zh: i.name_zh.clone(),
        name_en: i.name_en.clone(),
        address: i.address.clone(),
        accreditation: accreditation_words(t, &i.accreditation.credential_types, &i.accreditation.degree_levels),
        since: t.time(i.created_at),
        keys: r
            .keys
            .iter()
            .map(|k| {
                let (state, class) =
                    window_state(t, (k.valid_from, k.valid_until), k.revoked_from, k.revocation_reason.as_deref(), now);
                KeyView {
                    key: k.public_key_multibase.clone(),
                    window: window(k.valid_from, k.valid_until),
                    state,
                    class,
                    revoke: k.revoked_from.is_none().then(|| {
                        format!("/console/institutions/{id}/revoke?key={}", urlencode(&k.public_key_multibase))
                    }),
                }
            })
            .collect(),
        certificates: r
            .certificates
            .iter()
            .map(|c| {
                let (state, class) =
                    window_state(t, (c.not_before, c.not_after), c.revoked_from, c.revocation_reason.as_deref(), now);
                CertView {
                    sha256: c.sha256.clone(),
                    short: c.sha256.chars().take(16).collect(),
                    window: window(c.not_before, c.not_after),
                    state,
                    class,
                    revoke: c
                        .revoked_from
                        .is_none()
                        .then(|| format!("/console/institutions/{id}/revoke?key={}", urlencode(&c.sha256))),
                    download: format!("/console/institutions/{id}/certificate?sha256={}", urlencode(&c.sha256)),
                }
            })
            .collect(),
    }
}

fn published_line(t: Texts, content: &TrustListContent) -> String {
    t.f("moe.console.institutions.published", &[&content.sequence, &t.time(content.issued.unix())])
}

/// The list of institutions, with `notice` or `errors` above it.
async fn institutions_view(
    state: &MinistryState,
    ctx: &ConsoleCtx,
    staff: &Staff,
    notice: Option<&'static str>,
    errors: Vec<String>,
    status: StatusCode,
) -> PageResult {
    let t = ctx.t;
    let now = now();
    let registry = state.store.trust_registry().await?;
    let served = state.trust();
    let (published, listed) = match state.store.latest_trust_list().await? {
        Some(latest) => {
            let content: TrustListContent = serde_json::from_str(&latest.json)
                .map_err(|e| AppError::Internal(format!("the latest trust list in the database is unreadable: {e}")))?;
            let view = PublishedView {
                line: published_line(t, &content),
                recorded: true,
                served: (served.list.content.sequence != content.sequence).then_some(served.list.content.sequence),
            };
            (view, content.issuers)
        }
        None => {
            let content = &served.list.content;
            let view = PublishedView { line: published_line(t, content), recorded: false, served: None };
            (view, content.issuers.clone())
        }
    };
    let pending = registry.iter().map(registry::issuer_entry).collect::<Vec<_>>() != listed;
    let page_ = InstitutionsPage {
        c: ctx.chrome(Some(staff), "institutions"),
        notice,
        errors,
        configured: state.registry_keys.is_some(),
        published,
        pending,
        institutions: registry.iter().map(|r| institution_view(t, r, now)).collect(),
    };
    with_status(status, page(page_))
}

async fn institutions(State(state): State<MinistryState>, ctx: ConsoleCtx, Query(q): Query<DoneQuery>) -> PageResult {
    let staff = ctx.require(&state.store, Action::ManageInstitutions).await?;
    let t = ctx.t;
    let notice = match q.done.as_deref() {
        Some("saved") => Some(t.s("moe.console.institutions.notice.saved")),
        Some("revoked") => Some(t.s("moe.console.institutions.notice.revoked")),
        Some("published") => Some(t.s("moe.console.institutions.notice.published")),
        _ => None,
    };
    institutions_view(&state, &ctx, &staff, notice, Vec::new(), StatusCode::OK).await
}

// ----- onboarding and rotation: request → preview → confirm -----

/// The request form: onboarding (`rotation` false) or a key rotation.
#[derive(Template)]
#[template(path = "ministry/console/institution_request.html")]
struct RequestPage {
    c: Chrome,
    rotation: bool,
    configured: bool,
    request: String,
    valid_until: String,
    errors: Vec<String>,
    max_kib: usize,
}

/// What confirming a request will record.
#[derive(Template)]
#[template(path = "ministry/console/institution_preview.html")]
struct PreviewPage {
    c: Chrome,
    rotation: bool,
    id: String,
    name_zh: String,
    name_en: String,
    address: String,
    accreditation: String,
    credential_key: Option<String>,
    signing_key: Option<String>,
    window: String,
    /// The request as compact JSON, sent again with the confirmation.
    request: String,
    valid_until: String,
}

/// The certificate issued, to hand to the institution.
struct IssuedView {
    pem: String,
    sha256: String,
    download: String,
    file_name: String,
}

#[derive(Template)]
#[template(path = "ministry/console/institution_done.html")]
struct DonePage {
    c: Chrome,
    rotation: bool,
    id: String,
    name: String,
    credential_key: Option<String>,
    certificate: Option<IssuedView>,
    window: String,
}

/// A request form as posted: pasted text or an uploaded file, and the validity asked for.
#[derive(Default, Deserialize)]
struct RequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    valid_until: String,
}

/// A request form, read from a multipart upload or an ordinary form. A request over
/// [`MAX_REQUEST_BYTES`] is read no further (`request` is then longer than the limit).
async fn read_request_form(state: &MinistryState, t: Texts, request: Request) -> Result<RequestForm, AppError> {
    let is_multipart = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let unreadable = || AppError::BadRequest(t.s("moe.console.institutions.error.unreadable").to_owned());
    if !is_multipart {
        let Form(form) = Form::<RequestForm>::from_request(request, state).await.map_err(|_| unreadable())?;
        return Ok(form);
    }
    let mut multipart = Multipart::from_request(request, state).await.map_err(|_| unreadable())?;
    let mut form = RequestForm::default();
    let mut file = Vec::new();
    while let Some(mut field) = multipart.next_field().await.map_err(|_| unreadable())? {
        let name = field.name().unwrap_or_default().to_owned();
        let cap = if matches!(name.as_str(), "request" | "file") { MAX_REQUEST_BYTES + 1 } else { 1024 };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|_| unreadable())? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() >= cap {
                bytes.truncate(cap);
                break;
            }
        }
        match name.as_str() {
            "file" => file = bytes,
            "request" => form.request = String::from_utf8_lossy(&bytes).into_owned(),
            "csrf" => form.csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "valid_until" => form.valid_until = String::from_utf8_lossy(&bytes).into_owned(),
            _ => {}
        }
    }
    if !file.is_empty() {
        // A file that is not UTF-8 is not JSON: the parser says so.
        form.request = String::from_utf8(file).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    }
    Ok(form)
}

fn request_view(
    state: &MinistryState,
    ctx: &ConsoleCtx,
    staff: &Staff,
    rotation: bool,
    form: RequestForm,
    errors: Vec<String>,
) -> PageResult {
    let configured = state.registry_keys.is_some();
    let status = match configured {
        false => StatusCode::SERVICE_UNAVAILABLE,
        true if !errors.is_empty() => StatusCode::UNPROCESSABLE_ENTITY,
        true => StatusCode::OK,
    };
    // What was pasted comes back, unless it is too long to be a request.
    let request = if form.request.len() > MAX_REQUEST_BYTES { String::new() } else { form.request };
    let page_ = RequestPage {
        c: ctx.chrome(Some(staff), "institutions"),
        rotation,
        configured,
        request,
        valid_until: form.valid_until,
        errors,
        max_kib: MAX_REQUEST_BYTES / 1024,
    };
    with_status(status, page(page_))
}

/// The request's bytes, or what is wrong with them.
fn request_bytes(t: Texts, form: &RequestForm) -> Result<Vec<u8>, String> {
    if form.request.len() > MAX_REQUEST_BYTES {
        return Err(registry_error(t, &RegistryError::TooLarge).unwrap_or_default());
    }
    let text = form.request.trim();
    if text.is_empty() {
        return Err(t.s("moe.console.institutions.error.empty").to_owned());
    }
    Ok(text.as_bytes().to_vec())
}

/// The request of a form, read with `parse`, and the end of validity asked for; or what is
/// wrong with them, in the page's language.
fn parse_form<R>(
    t: Texts,
    form: &RequestForm,
    parse: impl Fn(&[u8]) -> Result<R, RegistryError>,
) -> Result<(R, Option<Timestamp>), String> {
    let bytes = request_bytes(t, form)?;
    // Parsing never touches the database, so its errors all have words.
    let parsed = parse(&bytes).map_err(|e| registry_error(t, &e).unwrap_or_default())?;
    let until = parse_valid_until(t, &form.valid_until)?;
    Ok((parsed, until))
}

/// The validity window of keys recorded now, in words.
fn window_words(t: Texts, from: Timestamp, until: Timestamp) -> String {
    format!("{} – {}", t.time(from.unix()), t.time(until.unix()))
}

async fn onboard_page(State(state): State<MinistryState>, ctx: ConsoleCtx) -> PageResult {
    let staff = ctx.require(&state.store, Action::ManageInstitutions).await?;
    request_view(&state, &ctx, &staff, false, RequestForm::default(), Vec::new())
}

/// Checks an onboarding request as confirming it would, and records nothing.
async fn onboard_preview(State(state): State<MinistryState>, ctx: ConsoleCtx, request: Request) -> PageResult {
    let t = ctx.t;
    let form = read_request_form(&state, t, request).await?;
    ctx.check_csrf(&form.csrf)?;
    let staff = ctx.require(&state.store, Action::ManageInstitutions).await?;
    let Some(keys) = state.registry_keys.clone() else {
        return request_view(&state, &ctx, &staff, false, form, Vec::new());
    };
    let (parsed, until) = match parse_form(t, &form, OnboardingRequest::parse) {
        Ok(v) => v,
        Err(error) => return request_view(&state, &ctx, &staff, false, form, vec![error]),
    };
    let (credential, signing) = match registry::check_onboarding(&state.store, &parsed).await {
        Ok(keys) => keys,
        Err(e) => {
            let error = registry_error(t, &e)?;
            return request_view(&state, &ctx, &staff, false, form, vec![error]);
        }
    };
    let at = now();
    let until = keys.validity_end(until, at);
    let details = parsed.details();
    page(PreviewPage {
        c: ctx.chrome(Some(&staff), "institutions"),
        rotation: false,
        id: parsed.id.clone(),
        accreditation: accreditation_words(t, &details.credential_types, &details.degree_levels),
        name_zh: details.name_zh,
        name_en: details.name_en,
        address: details.address,
        credential_key: Some(credential.to_multikey()),
        signing_key: Some(registry::signing_key_fingerprint(&signing).to_string()),
        window: window_words(t, at, until),
        request: serde_json::to_string(&parsed).map_err(|e| AppError::Internal(e.to_string()))?,
        valid_until: form.valid_until,
    })
}

/// The certificate issued for `id`, as the done page offers it.
fn issued_view(id: &str, cert: &ParsedCert) -> IssuedView {
    let sha256 = Sha256Digest::of(&cert.der).to_string();
    IssuedView {
        pem: cert.to_pem(),
        download: format!("/console/institutions/{}/certificate?sha256={sha256}", urlencode(id)),
        file_name: format!("{id}.cert.pem"),
        sha256,
    }
}

async fn onboard_confirm(
    State(state): State<MinistryState>,
    Extension(console): Extension<Console>,
    ctx: ConsoleCtx,
    Form(form): Form<RequestForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let staff = ctx.require(&state.store, Action::ManageInstitutions).await?;
    let t = ctx.t;
    let Some(keys) = state.registry_keys.clone() else {
        return request_view(&state, &ctx, &staff, false, form, Vec::new());
    };
    let (parsed, until) = match parse_form(t, &form, OnboardingRequest::parse) {
        Ok(v) => v,
        Err(error) => return request_view(&state, &ctx, &staff, false, form, vec![error]),
    };
    let _one_at_a_time = console.registry.lock().await;
    let at = now();
    let until = keys.validity_end(until, at);
    let cert = match registry::onboard(&state.store, &keys.ca, &keys.root_cert, &parsed, at, until).await {
        Ok(cert) => cert,
        Err(e) => {
            let error = registry_error(t, &e)?;
            return request_view(&state, &ctx, &staff, false, form, vec![error]);
        }
    };
    let issued = issued_view(&parsed.id, &cert);
    let detail = format!("signing certificate {}, valid until {until}", &issued.sha256[..16]);
    state.store.audit(&ctx.audit(&staff, "onboard_institution", format!("institution:{}", parsed.id), detail)).await?;
    page(DonePage {
        c: ctx.chrome(Some(&staff), "institutions"),
        rotation: false,
        id: parsed.id.clone(),
        name: pick(t, &parsed.name_zh, &parsed.name_en).to_owned(),
        credential_key: Some(parsed.credential_key.clone()),
        certificate: Some(issued),
        window: window_words(t, at, until),
    })
}

async fn rotate_page(State(state): State<MinistryState>, ctx: ConsoleCtx) -> PageResult {
    let staff = ctx.require(&state.store, Action::ManageInstitutions).await?;
    request_view(&state, &ctx, &staff, true, RequestForm::default(), Vec::new())
}

/// Checks a rotation request as confirming it would, and records nothing.
async fn rotate_preview(State(state): State<MinistryState>, ctx: ConsoleCtx, request: Request) -> PageResult {
    let t = ctx.t;
    let form = read_request_form(&state, t, request).await?;
    ctx.check_csrf(&form.csrf)?;
    let staff = ctx.require(&state.store, Action::ManageInstitutions).await?;
    let Some(keys) = state.registry_keys.clone() else {
        return request_view(&state, &ctx, &staff, true, form, Vec::new());
    };
    let (parsed, until) = match parse_form(t, &form, RotationRequest::parse) {
        Ok(v) => v,
        Err(error) => return request_view(&state, &ctx, &staff, true, form, vec![error]),
    };
    let (institution, proven) = match registry::check_rotation(&state.store, &parsed).await {
        Ok(checked) => checked,
        Err(e) => {
            let error = registry_error(t, &e)?;
            return request_view(&state, &ctx, &staff, true, form, vec![error]);
        }
    };
    let at = now();
    let until = keys.validity_end(until, at);
    let a = &institution.accreditation;
    page(PreviewPage {
        c: ctx.chrome(Some(&staff), "institutions"),
        rotation: true,
        id: institution.id.clone(),
        accreditation: accreditation_words(t, &a.credential_types, &a.degree_levels),
        name_zh: institution.name_zh,
        name_en: institution.name_en,
        address: institution.address,
        credential_key: proven.credential.map(|k| k.to_multikey()),
        signing_key: proven.signing.map(|k| registry::signing_key_fingerprint(&k).to_string()),
        window: window_words(t, at, until),
        request: serde_json::to_string(&parsed).map_err(|e| AppError::Internal(e.to_string()))?,
        valid_until: form.valid_until,
    })
}

async fn rotate_confirm(
    State(state): State<MinistryState>,
    Extension(console): Extension<Console>,
    ctx: ConsoleCtx,
    Form(form): Form<RequestForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let staff = ctx.require(&state.store, Action::ManageInstitutions).await?;
    let t = ctx.t;
    let Some(keys) = state.registry_keys.clone() else {
        return request_view(&state, &ctx, &staff, true, form, Vec::new());
    };
    let (parsed, until) = match parse_form(t, &form, RotationRequest::parse) {
        Ok(v) => v,
        Err(error) => return request_view(&state, &ctx, &staff, true, form, vec![error]),
    };
    let _one_at_a_time = console.registry.lock().await;
    let at = now();
    let until = keys.validity_end(until, at);
    let rotated = match registry::rotate_key(&state.store, &keys.ca, &keys.root_cert, &parsed, at, until).await {
        Ok(r) => r,
        Err(e) => {
            let error = registry_error(t, &e)?;
            return request_view(&state, &ctx, &staff, true, form, vec![error]);
        }
    };
    let issued = rotated.certificate.as_ref().map(|c| issued_view(&parsed.id, c));
    let detail = match (&rotated.credential_key, &issued) {
        (Some(_), Some(c)) => format!("credential key and signing certificate {}", &c.sha256[..16]),
        (Some(_), None) => "credential key".to_owned(),
        (None, Some(c)) => format!("signing certificate {}", &c.sha256[..16]),
        (None, None) => "nothing".to_owned(),
    };
    state.store.audit(&ctx.audit(&staff, "rotate_keys", format!("institution:{}", parsed.id), detail)).await?;
    let institution = state.store.institution(&parsed.id).await?.ok_or(AppError::NotFound)?;
    page(DonePage {
        c: ctx.chrome(Some(&staff), "institutions"),
        rotation: true,
        id: parsed.id.clone(),
        name: pick(t, &institution.name_zh, &institution.name_en).to_owned(),
        credential_key: rotated.credential_key,
        certificate: issued,
        window: window_words(t, at, until),
    })
}

#[derive(Deserialize)]
struct CertificateQuery {
    sha256: Option<String>,
}

/// A signing certificate of an institution as PEM, to hand to it (`dcert ministry install`).
async fn certificate_download(
    State(state): State<MinistryState>,
    ctx: ConsoleCtx,
    Path(institution): Path<String>,
    Query(q): Query<CertificateQuery>,
) -> PageResult {
    ctx.require(&state.store, Action::ManageInstitutions).await?;
    let sha256 = q.sha256.unwrap_or_default().to_ascii_lowercase();
    let certificates = state.store.institution_certificates(&institution).await?;
    let found = certificates.iter().find(|c| c.sha256 == sha256).ok_or(AppError::NotFound)?;
    let pem = x509::der_to_pem("CERTIFICATE", &found.der);
    let safe: String =
        institution.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect();
    let mut r = pem.into_response();
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-pem-file"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}.cert.pem\"")) {
        h.insert(CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

// ----- publishing -----

async fn publish_list(
    State(state): State<MinistryState>,
    Extension(console): Extension<Console>,
    ctx: ConsoleCtx,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let staff = ctx.require(&state.store, Action::ManageInstitutions).await?;
    let t = ctx.t;
    let refuse = |errors: Vec<String>, status| institutions_view(&state, &ctx, &staff, None, errors, status);
    let Some(keys) = state.registry_keys.clone() else {
        let error = t.s("moe.console.institutions.not_configured").to_owned();
        return refuse(vec![error], StatusCode::SERVICE_UNAVAILABLE).await;
    };
    // A list under another root would not be served: refused before anything is kept.
    if keys.root_cert.fingerprint() != state.trust().list.root.fingerprint() {
        let error = t.s("moe.console.institutions.error.other_root").to_owned();
        return refuse(vec![error], StatusCode::CONFLICT).await;
    }
    let _one_at_a_time = console.registry.lock().await;
    let published =
        registry::publish(&state.store, keys.list_signing(), Some(state.trust().list.content.sequence), now()).await;
    let bytes = match published {
        Ok(bytes) => bytes,
        Err(e) => return refuse(vec![registry_error(t, &e)?], StatusCode::CONFLICT).await,
    };
    let content: TrustListContent =
        serde_json::from_slice(&bytes).map_err(|e| AppError::Internal(format!("the list just published: {e}")))?;
    let detail = format!("{} institution(s)", content.issuers.len());
    let target = format!("trust_list:{}", content.sequence);
    state.store.audit(&ctx.audit(&staff, "publish_trust_list", target, detail)).await?;
    if let Err(e) = registry::refresh(&state).await {
        let error = t.f1("moe.console.institutions.error.not_served", registry_error(t, &e)?);
        return refuse(vec![error], StatusCode::CONFLICT).await;
    }
    Ok(redirect("/console/institutions?done=published"))
}

// ----- an institution's details -----

#[derive(Clone, Default, Deserialize)]
struct InstitutionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name_zh: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    degree: Option<String>,
    #[serde(default)]
    teacher: Option<String>,
    #[serde(default)]
    associate: Option<String>,
    #[serde(default)]
    bachelor: Option<String>,
    #[serde(default)]
    master: Option<String>,
    #[serde(default)]
    doctor: Option<String>,
}

impl InstitutionForm {
    fn of(details: &InstitutionDetails) -> Self {
        let on = |yes: bool| yes.then(|| "on".to_owned());
        let level = |l| on(details.degree_levels.contains(&l));
        InstitutionForm {
            csrf: String::new(),
            name_zh: details.name_zh.clone(),
            name_en: details.name_en.clone(),
            address: details.address.clone(),
            degree: on(details.credential_types.contains(&CredentialType::Degree)),
            teacher: on(details.credential_types.contains(&CredentialType::Teacher)),
            associate: level(DegreeLevel::Associate),
            bachelor: level(DegreeLevel::Bachelor),
            master: level(DegreeLevel::Master),
            doctor: level(DegreeLevel::Doctor),
        }
    }

    fn details(&self) -> InstitutionDetails {
        let mut credential_types = Vec::new();
        for (field, ty) in [(&self.degree, CredentialType::Degree), (&self.teacher, CredentialType::Teacher)] {
            if field.is_some() {
                credential_types.push(ty);
            }
        }
        let mut degree_levels = Vec::new();
        for (field, level) in [
            (&self.associate, DegreeLevel::Associate),
            (&self.bachelor, DegreeLevel::Bachelor),
            (&self.master, DegreeLevel::Master),
            (&self.doctor, DegreeLevel::Doctor),
        ] {
            if field.is_some() {
                degree_levels.push(level);
            }
        }
        InstitutionDetails {
            name_zh: self.name_zh.trim().to_owned(),
            name_en: self.name_en.trim().to_owned(),
            address: self.address.trim().to_owned(),
            credential_types,
            degree_levels,
        }
    }
}

#[derive(Template)]
#[template(path = "ministry/console/institution_form.html")]
struct InstitutionFormPage {
    c: Chrome,
    id: String,
    form: InstitutionForm,
    errors: Vec<String>,
}

fn institution_form(
    ctx: &ConsoleCtx,
    staff: &Staff,
    id: String,
    form: InstitutionForm,
    errors: Vec<String>,
) -> PageResult {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    with_status(status, page(InstitutionFormPage { c: ctx.chrome(Some(staff), "institutions"), id, form, errors }))
}

async fn institution_edit(State(state): State<MinistryState>, ctx: ConsoleCtx, Path(id): Path<String>) -> PageResult {
    let staff = ctx.require(&state.store, Action::ManageInstitutions).await?;
    let institution = state.store.institution(&id).await?.ok_or(AppError::NotFound)?;
    let form = InstitutionForm::of(&registry::details_of(&institution));
    institution_form(&ctx, &staff, id, form, Vec::new())
}

async fn institution_save(
    State(state): State<MinistryState>,
    ctx: ConsoleCtx,
    Path(id): Path<String>,
    Form(form): Form<InstitutionForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let staff = ctx.require(&state.store, Action::ManageInstitutions).await?;
    let t = ctx.t;
    let before = state.store.institution(&id).await?.ok_or(AppError::NotFound)?;
    let before = registry::details_of(&before);
    let details = form.details();
    if let Err(e) = registry::update_institution(&state.store, &id, &details, now()).await {
        return match e {
            RegistryError::UnknownInstitution(_) => Err(AppError::NotFound),
            e => {
                let error = registry_error(t, &e)?;
                institution_form(&ctx, &staff, id, form, vec![error])
            }
        };
    }
    let mut changed = Vec::new();
    if (&before.name_zh, &before.name_en) != (&details.name_zh, &details.name_en) {
        changed.push("names");
    }
    if before.address != details.address {
        changed.push("address");
    }
    if before.accreditation() != details.accreditation() {
        changed.push("accreditation");
    }
    let detail = if changed.is_empty() { "no change".to_owned() } else { changed.join(", ") };
    state.store.audit(&ctx.audit(&staff, "edit_institution", format!("institution:{id}"), detail)).await?;
    Ok(redirect("/console/institutions?done=saved"))
}

// ----- revoking a key or certificate -----

#[derive(Clone, Default, Deserialize)]
struct RevokeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize)]
struct RevokeQuery {
    key: Option<String>,
}

/// The revocation asked for, checked, before it is confirmed.
struct RevokeConfirm {
    from: String,
    from_words: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "ministry/console/institution_revoke.html")]
struct RevokePage {
    c: Chrome,
    id: String,
    name: String,
    what: String,
    form: RevokeForm,
    confirm: Option<RevokeConfirm>,
    errors: Vec<String>,
}

/// What `key` names among the institution's keys and certificates, in words, and whether it is
/// revoked already; `None` if it names none.
async fn revocation_target(store: &Store, t: Texts, id: &str, key: &str) -> Result<Option<(String, bool)>, AppError> {
    let keys = store.institution_keys(id).await?;
    if let Some(k) = keys.iter().find(|k| k.public_key_multibase == key) {
        return Ok(Some((t.f1("moe.console.institutions.what_key", key), k.revoked_from.is_some())));
    }
    let certificates = store.institution_certificates(id).await?;
    let sha = key.to_ascii_lowercase();
    Ok(certificates
        .iter()
        .find(|c| c.sha256 == sha)
        .map(|c| (t.f1("moe.console.institutions.what_certificate", &sha), c.revoked_from.is_some())))
}

struct RevokeContext {
    id: String,
    name: String,
    what: String,
    revoked: bool,
}

async fn revoke_context(state: &MinistryState, t: Texts, id: &str, key: &str) -> Result<RevokeContext, AppError> {
    let institution = state.store.institution(id).await?.ok_or(AppError::NotFound)?;
    let (what, revoked) = revocation_target(&state.store, t, id, key.trim()).await?.ok_or(AppError::NotFound)?;
    Ok(RevokeContext {
        id: id.to_owned(),
        name: pick(t, &institution.name_zh, &institution.name_en).to_owned(),
        what,
        revoked,
    })
}

fn revoke_view(
    ctx: &ConsoleCtx,
    staff: &Staff,
    target: RevokeContext,
    form: RevokeForm,
    confirm: Option<RevokeConfirm>,
    errors: Vec<String>,
) -> PageResult {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page_ = RevokePage {
        c: ctx.chrome(Some(staff), "institutions"),
        id: target.id,
        name: target.name,
        what: target.what,
        form,
        confirm,
        errors,
    };
    with_status(status, page(page_))
}

/// The moment and reason of a revocation form, or what is wrong with them.
fn revocation(t: Texts, form: &RevokeForm, revoked: bool) -> Result<(Timestamp, String), Vec<String>> {
    let mut p = Problems::new(t);
    if revoked {
        p.push("moe.console.institutions.error.already_revoked");
    }
    let from = parse_moment(&form.from);
    if from.is_none() {
        let label = t.s("moe.console.institutions.from");
        p.list.push(t.f1("moe.console.institutions.error.from", label));
    }
    p.text("moe.console.institutions.reason", &form.reason, 200, false);
    match from {
        Some(from) if p.list.is_empty() => Ok((from, form.reason.trim().to_owned())),
        _ => Err(p.list),
    }
}

async fn revoke_page(
    State(state): State<MinistryState>,
    ctx: ConsoleCtx,
    Path(id): Path<String>,
    Query(q): Query<RevokeQuery>,
) -> PageResult {
    let staff = ctx.require(&state.store, Action::ManageInstitutions).await?;
    let key = q.key.unwrap_or_default();
    let target = revoke_context(&state, ctx.t, &id, &key).await?;
    let errors = if target.revoked {
        vec![ctx.t.s("moe.console.institutions.error.already_revoked").to_owned()]
    } else {
        Vec::new()
    };
    let form = RevokeForm { key, from: local_moment(now()), ..RevokeForm::default() };
    revoke_view(&ctx, &staff, target, form, None, errors)
}

/// The confirmation step: what will be revoked, from when and why.
async fn revoke_preview(
    State(state): State<MinistryState>,
    ctx: ConsoleCtx,
    Path(id): Path<String>,
    Form(form): Form<RevokeForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let staff = ctx.require(&state.store, Action::ManageInstitutions).await?;
    let t = ctx.t;
    let target = revoke_context(&state, t, &id, &form.key).await?;
    match revocation(t, &form, target.revoked) {
        Ok((from, reason)) => {
            let confirm = RevokeConfirm { from: from.to_string(), from_words: t.time(from.unix()), reason };
            revoke_view(&ctx, &staff, target, form, Some(confirm), Vec::new())
        }
        Err(errors) => revoke_view(&ctx, &staff, target, form, None, errors),
    }
}

async fn revoke_confirm(
    State(state): State<MinistryState>,
    ctx: ConsoleCtx,
    Path(id): Path<String>,
    Form(form): Form<RevokeForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let staff = ctx.require(&state.store, Action::ManageInstitutions).await?;
    let t = ctx.t;
    let target = revoke_context(&state, t, &id, &form.key).await?;
    let (from, reason) = match revocation(t, &form, target.revoked) {
        Ok(r) => r,
        Err(errors) => return revoke_view(&ctx, &staff, target, form, None, errors),
    };
    let revoked = match registry::revoke_key(&state.store, &id, form.key.trim(), from, &reason).await {
        Ok(r) => r,
        Err(e) => {
            let errors = vec![registry_error(t, &e)?];
            return revoke_view(&ctx, &staff, target, form, None, errors);
        }
    };
    let detail = match revoked {
        registry::Revoked::CredentialKey => format!("credential key from {from}"),
        registry::Revoked::SigningCertificate => {
            let sha: String = form.key.trim().to_ascii_lowercase().chars().take(16).collect();
            format!("signing certificate {sha} from {from}")
        }
    };
    state.store.audit(&ctx.audit(&staff, "revoke_key", format!("institution:{id}"), detail)).await?;
    Ok(redirect("/console/institutions?done=revoked"))
}

// ----- audit log -----

#[derive(Template)]
#[template(path = "ministry/console/audit.html")]
struct AuditPage {
    c: Chrome,
    rows: Vec<(String, AuditEntry)>,
    actor: String,
    action: String,
}

#[derive(Deserialize)]
struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
}

fn non_empty(s: Option<&String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

async fn audit(State(state): State<MinistryState>, ctx: ConsoleCtx, Query(q): Query<AuditQuery>) -> PageResult {
    let staff = ctx.require(&state.store, Action::ViewAudit).await?;
    let filter = AuditFilter {
        actor: non_empty(q.actor.as_ref()),
        action: non_empty(q.action.as_ref()),
        since: None,
        limit: 500,
    };
    let t = ctx.t;
    let rows = state.store.audit_log(&filter).await?.into_iter().map(|e| (t.time(e.at), e)).collect();
    page(AuditPage {
        c: ctx.chrome(Some(&staff), "audit"),
        rows,
        actor: q.actor.unwrap_or_default(),
        action: q.action.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_ministrys_roles_have_any_action_and_the_editor_only_news_and_faq() {
        let actions = [
            Action::Enter,
            Action::ViewStatistics,
            Action::EditContent,
            Action::IssueTeacher,
            Action::ViewAudit,
            Action::ManageInstitutions,
        ];
        for action in actions {
            assert!(allowed(Role::MinistryAdmin, action), "{action:?}");
            assert_eq!(allowed(Role::MinistryEditor, action), matches!(action, Action::Enter | Action::EditContent));
            for university in [Role::Registrar, Role::CampusOffice, Role::Admin] {
                assert!(!allowed(university, action), "{university:?} {action:?}");
            }
        }
    }

    #[test]
    fn the_university_console_refuses_the_ministrys_roles_everything() {
        use crate::Action::*;
        let actions = [
            ViewDashboard,
            ViewGraduates,
            RecordDiploma,
            Reissue,
            Revoke,
            Resend,
            Import,
            ViewCalendar,
            EditCalendar,
            Corrections,
            ViewOutbox,
            IssueNow,
            EditPolicy,
            EditTemplates,
            ViewAudit,
        ];
        for action in actions {
            for role in [Role::MinistryAdmin, Role::MinistryEditor] {
                assert!(!crate::allowed(role, action), "{role:?} {action:?}");
            }
        }
    }

    #[test]
    fn a_moment_typed_into_a_form_is_taiwan_time_unless_it_says_otherwise() {
        let at = |s: &str| parse_moment(s).map(|t| t.to_string());
        assert_eq!(at("2025-07-01").as_deref(), Some("2025-06-30T16:00:00Z"));
        assert_eq!(at(" 2025-07-01T09:30 ").as_deref(), Some("2025-07-01T01:30:00Z"));
        assert_eq!(at("2025-07-01T09:30:15").as_deref(), Some("2025-07-01T01:30:15Z"));
        assert_eq!(at("2025-07-01T09:30:15Z").as_deref(), Some("2025-07-01T09:30:15Z"));
        for bad in ["", "yesterday", "2025-02-30", "2025-07-01T25:00", "2025-07-01 09:30"] {
            assert_eq!(at(bad), None, "{bad}");
        }
        assert_eq!(local_moment(Timestamp(parse_moment("2025-07-01T09:30").unwrap().unix())), "2025-07-01T09:30");
        let t = Texts::new(Lang::En);
        assert_eq!(parse_valid_until(t, " "), Ok(None));
        let end = parse_valid_until(t, "2999-12-31").unwrap().unwrap();
        assert_eq!(end.to_string(), "2999-12-31T16:00:00Z", "the end of that day in Taiwan");
        assert!(parse_valid_until(t, "2020-01-01").is_err(), "in the past");
        assert!(parse_valid_until(t, "soon").is_err());
    }

    #[test]
    fn every_refusal_of_the_registry_is_worded_in_chinese() {
        let t = Texts::new(Lang::Zh);
        let good = InstitutionDetails {
            name_zh: "國立臺灣大學".into(),
            name_en: "National Taiwan University".into(),
            address: "10617 臺北市大安區羅斯福路四段1號".into(),
            credential_types: vec![CredentialType::Degree],
            degree_levels: vec![DegreeLevel::Bachelor],
        };
        assert!(good.validate().is_ok());
        let bad = [
            InstitutionDetails { name_zh: String::new(), ..good.clone() },
            InstitutionDetails { name_en: " National Taiwan University".into(), ..good.clone() },
            InstitutionDetails { address: "臺".repeat(301), ..good.clone() },
            InstitutionDetails { credential_types: vec![], degree_levels: vec![], ..good.clone() },
            InstitutionDetails { degree_levels: vec![DegreeLevel::Bachelor, DegreeLevel::Bachelor], ..good.clone() },
            InstitutionDetails { degree_levels: vec![], ..good.clone() },
            InstitutionDetails { credential_types: vec![CredentialType::Teacher], ..good.clone() },
        ];
        let mut errors: Vec<RegistryError> = bad.iter().map(|d| d.validate().unwrap_err()).collect();
        errors.extend([
            RegistryError::InvalidText { field: "the reason", max: 200 },
            RegistryError::Proof("credential key's proof"),
            RegistryError::Proof("signing key's proof"),
            RegistryError::TooLarge,
            RegistryError::KeyTaken,
            RegistryError::OtherRoot { published: dcert_core::Sha256Digest::of(b"root") },
            RegistryError::NotNewer { published: 3, served: 5 },
        ]);
        use registry::CurrentKeyProblem as P;
        for problem in [P::Missing, P::BadProof, P::NotRegistered, P::Revoked, P::NotValidNow] {
            errors.push(RegistryError::CurrentKey(problem));
        }
        for e in &errors {
            let words = registry_error(t, e).unwrap();
            assert!(!words.contains("the ") && !words.contains("degree"), "{e}: {words}");
        }
        assert_eq!(
            registry_error(t, &errors[0]).unwrap(),
            "名稱（中文）須為 1 到 100 個字，不含控制字元，前後不留空白。"
        );
    }

    #[test]
    fn a_form_reports_every_missing_language_and_a_bad_date() {
        let t = Texts::new(Lang::En);
        let form = NewsForm {
            published_on: "2025-02-30".into(),
            title_zh: "標題".into(),
            title_en: " ".into(),
            body_zh: "內容\r\n第二行".into(),
            body_en: String::new(),
            ..NewsForm::default()
        };
        let errors = checked::<NewsItem>(t, &form, 0).unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        let good =
            NewsForm { published_on: "2025-02-28".into(), title_en: "Title".into(), body_en: "Text".into(), ..form };
        let item = checked::<NewsItem>(t, &good, 7).unwrap();
        assert_eq!((item.id, item.body_zh.as_str()), (7, "內容\n第二行"));
    }
}
