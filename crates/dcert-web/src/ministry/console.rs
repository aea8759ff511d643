//! The Ministry console (教育部 管理介面), under `/console` of the Ministry's site: sign-in for the
//! Ministry's staff, the verification statistics and registry figures, the site's news (最新消息)
//! and FAQ (常見問題), digital teacher certificates (電子教師證書) and the audit log.
//!
//! Every handler names its [`Action`] before it reads data, and [`allowed`] is the one table of
//! who may do what: only the Ministry's roles may do anything here. A Ministry session is of its
//! own kind (`ministry`) in its own cookie, so neither console takes the other's sessions, even
//! when both sites share one database. Every change is written to the audit log.

use std::sync::Arc;

use askama::Template;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use dcert_core::issue::{self, IssueError};
use dcert_core::model::{Certificate, CredentialType, Language, Subject, TeacherRecord, is_valid_certificate_number};
use dcert_core::pdf::Template as Design;
use dcert_core::pdf::render::RenderError;
use dcert_core::time::Date;
use dcert_store::{AuditEntry, AuditFilter, FaqItem, NewsItem, RegistryRecord, Role, Session, Staff, Store};
use serde::Deserialize;

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
}

/// Whether `role` may do `action`: the Ministry's administrator everything, its editor the news
/// and FAQ, a university's staff nothing.
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
        .route("/news", get(news_list).post(news_add))
        .route("/news/new", get(news_new))
        .route("/news/{id}", get(news_edit).post(news_save))
        .route("/news/{id}/delete", get(news_confirm).post(news_delete))
        .route("/faq", get(faq_list).post(faq_add))
        .route("/faq/new", get(faq_new))
        .route("/faq/{id}", get(faq_edit).post(faq_save))
        .route("/faq/{id}/delete", get(faq_confirm).post(faq_delete))
        .route("/teacher", get(teacher_page).post(teacher_issue))
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
    /// Whether the menu shows the pages of `area`: `statistics`, `content`, `teacher`, `audit`.
    pub fn can(&self, area: &str) -> bool {
        let action = match area {
            "statistics" => Action::ViewStatistics,
            "content" => Action::EditContent,
            "teacher" => Action::IssueTeacher,
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
    const PAGE: i64 = 10_000;
    let mut f = RegistryFigures::default();
    let mut after = 0;
    loop {
        let page = store.registry_log(after, PAGE).await?;
        for (id, r) in &page {
            after = after.max(*id);
            f.records += 1;
            match r.event.as_str() {
                "issued" => f.issued += 1,
                "superseded" => f.superseded += 1,
                "revoked" => f.revoked += 1,
                _ => {}
            }
            if r.event == "issued" {
                match r.credential_type.as_str() {
                    "teacher" => f.teacher += 1,
                    _ => f.degree += 1,
                }
            }
        }
        if (page.len() as i64) < PAGE {
            return Ok(f);
        }
    }
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
    back: &'static str,
}

// ----- news -----

#[derive(Template)]
#[template(path = "ministry/console/news.html")]
struct NewsListPage {
    c: Chrome,
    items: Vec<NewsItem>,
    notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "ministry/console/news_form.html")]
struct NewsFormPage {
    c: Chrome,
    action: String,
    form: NewsForm,
    errors: Vec<String>,
}

#[derive(Clone, Default, Deserialize)]
struct NewsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    published_on: String,
    #[serde(default)]
    title_zh: String,
    #[serde(default)]
    title_en: String,
    #[serde(default)]
    body_zh: String,
    #[serde(default)]
    body_en: String,
}

impl NewsForm {
    fn of(n: &NewsItem) -> Self {
        NewsForm {
            csrf: String::new(),
            published_on: n.published_on.clone(),
            title_zh: n.title_zh.clone(),
            title_en: n.title_en.clone(),
            body_zh: n.body_zh.clone(),
            body_en: n.body_en.clone(),
        }
    }

    /// The item this form describes, or what is wrong with it.
    fn item(&self, t: Texts, id: i64) -> Result<NewsItem, Vec<String>> {
        let mut p = Problems::new(t);
        let date = p.date("moe.console.news.date", &self.published_on);
        p.text("moe.console.news.title_zh", &self.title_zh, TITLE_CHARS, false);
        p.text("moe.console.news.title_en", &self.title_en, TITLE_CHARS, false);
        p.text("moe.console.news.body_zh", &self.body_zh, BODY_CHARS, true);
        p.text("moe.console.news.body_en", &self.body_en, BODY_CHARS, true);
        match date {
            Some(d) if p.list.is_empty() => Ok(NewsItem {
                id,
                published_on: d.to_string(),
                title_zh: clean(&self.title_zh),
                title_en: clean(&self.title_en),
                body_zh: clean(&self.body_zh),
                body_en: clean(&self.body_en),
            }),
            _ => Err(p.list),
        }
    }
}

async fn news_list(State(state): State<MinistryState>, ctx: ConsoleCtx, Query(q): Query<DoneQuery>) -> PageResult {
    let staff = ctx.require(&state.store, Action::EditContent).await?;
    let items = state.store.news(500).await?;
    page(NewsListPage { c: ctx.chrome(Some(&staff), "news"), items, notice: notice(ctx.t, &q) })
}

fn news_form(ctx: &ConsoleCtx, staff: &Staff, action: String, form: NewsForm, errors: Vec<String>) -> PageResult {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    with_status(status, page(NewsFormPage { c: ctx.chrome(Some(staff), "news"), action, form, errors }))
}

async fn news_new(State(state): State<MinistryState>, ctx: ConsoleCtx) -> PageResult {
    let staff = ctx.require(&state.store, Action::EditContent).await?;
    let form = NewsForm { published_on: now().taiwan_date().to_string(), ..NewsForm::default() };
    news_form(&ctx, &staff, "/console/news".into(), form, Vec::new())
}

async fn news_add(State(state): State<MinistryState>, ctx: ConsoleCtx, Form(form): Form<NewsForm>) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let staff = ctx.require(&state.store, Action::EditContent).await?;
    let item = match form.item(ctx.t, 0) {
        Ok(item) => item,
        Err(errors) => return news_form(&ctx, &staff, "/console/news".into(), form, errors),
    };
    let id = state.store.save_news(&item, &staff.username, now().unix()).await?;
    state.store.audit(&ctx.audit(&staff, "news_add", format!("news:{id}"), item.published_on.clone())).await?;
    Ok(redirect("/console/news?done=added"))
}

async fn news_edit(State(state): State<MinistryState>, ctx: ConsoleCtx, Path(id): Path<i64>) -> PageResult {
    let staff = ctx.require(&state.store, Action::EditContent).await?;
    let item = state.store.news_item(id).await?;
    news_form(&ctx, &staff, format!("/console/news/{id}"), NewsForm::of(&item), Vec::new())
}

async fn news_save(
    State(state): State<MinistryState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Form(form): Form<NewsForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let staff = ctx.require(&state.store, Action::EditContent).await?;
    let item = match form.item(ctx.t, id) {
        Ok(item) => item,
        Err(errors) => return news_form(&ctx, &staff, format!("/console/news/{id}"), form, errors),
    };
    state.store.save_news(&item, &staff.username, now().unix()).await?;
    state.store.audit(&ctx.audit(&staff, "news_edit", format!("news:{id}"), item.published_on.clone())).await?;
    Ok(redirect("/console/news?done=saved"))
}

async fn news_confirm(State(state): State<MinistryState>, ctx: ConsoleCtx, Path(id): Path<i64>) -> PageResult {
    let staff = ctx.require(&state.store, Action::EditContent).await?;
    let item = state.store.news_item(id).await?;
    let t = ctx.t;
    page(ConfirmPage {
        c: ctx.chrome(Some(&staff), "news"),
        question: t.s("moe.console.news.delete_question").to_owned(),
        what: format!("{} {}", item.published_on, pick(t, &item.title_zh, &item.title_en)),
        action: format!("/console/news/{id}/delete"),
        back: "/console/news",
    })
}

async fn news_delete(
    State(state): State<MinistryState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let staff = ctx.require(&state.store, Action::EditContent).await?;
    let item = state.store.news_item(id).await?;
    state.store.delete_news(id).await?;
    state.store.audit(&ctx.audit(&staff, "news_delete", format!("news:{id}"), item.published_on)).await?;
    Ok(redirect("/console/news?done=deleted"))
}

// ----- FAQ -----

#[derive(Template)]
#[template(path = "ministry/console/faq.html")]
struct FaqListPage {
    c: Chrome,
    items: Vec<FaqItem>,
    notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "ministry/console/faq_form.html")]
struct FaqFormPage {
    c: Chrome,
    action: String,
    form: FaqForm,
    errors: Vec<String>,
}

#[derive(Clone, Default, Deserialize)]
struct FaqForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    position: String,
    #[serde(default)]
    question_zh: String,
    #[serde(default)]
    question_en: String,
    #[serde(default)]
    answer_zh: String,
    #[serde(default)]
    answer_en: String,
}

impl FaqForm {
    fn of(q: &FaqItem) -> Self {
        FaqForm {
            csrf: String::new(),
            position: q.position.to_string(),
            question_zh: q.question_zh.clone(),
            question_en: q.question_en.clone(),
            answer_zh: q.answer_zh.clone(),
            answer_en: q.answer_en.clone(),
        }
    }

    /// The question this form describes, or what is wrong with it.
    fn item(&self, t: Texts, id: i64) -> Result<FaqItem, Vec<String>> {
        let mut p = Problems::new(t);
        let position = self.position.trim().parse::<i64>().ok().filter(|n| (1..=9999).contains(n));
        if position.is_none() {
            p.push("moe.console.error.position");
        }
        p.text("moe.console.faq.question_zh", &self.question_zh, TITLE_CHARS, false);
        p.text("moe.console.faq.question_en", &self.question_en, TITLE_CHARS, false);
        p.text("moe.console.faq.answer_zh", &self.answer_zh, BODY_CHARS, true);
        p.text("moe.console.faq.answer_en", &self.answer_en, BODY_CHARS, true);
        match position {
            Some(position) if p.list.is_empty() => Ok(FaqItem {
                id,
                position,
                question_zh: clean(&self.question_zh),
                question_en: clean(&self.question_en),
                answer_zh: clean(&self.answer_zh),
                answer_en: clean(&self.answer_en),
            }),
            _ => Err(p.list),
        }
    }
}

async fn faq_item(store: &Store, id: i64) -> Result<FaqItem, AppError> {
    store.faq().await?.into_iter().find(|q| q.id == id).ok_or(AppError::NotFound)
}

async fn faq_list(State(state): State<MinistryState>, ctx: ConsoleCtx, Query(q): Query<DoneQuery>) -> PageResult {
    let staff = ctx.require(&state.store, Action::EditContent).await?;
    let items = state.store.faq().await?;
    page(FaqListPage { c: ctx.chrome(Some(&staff), "faq"), items, notice: notice(ctx.t, &q) })
}

fn faq_form(ctx: &ConsoleCtx, staff: &Staff, action: String, form: FaqForm, errors: Vec<String>) -> PageResult {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    with_status(status, page(FaqFormPage { c: ctx.chrome(Some(staff), "faq"), action, form, errors }))
}

async fn faq_new(State(state): State<MinistryState>, ctx: ConsoleCtx) -> PageResult {
    let staff = ctx.require(&state.store, Action::EditContent).await?;
    let next = state.store.faq().await?.iter().map(|q| q.position).max().unwrap_or(0) + 1;
    let form = FaqForm { position: next.to_string(), ..FaqForm::default() };
    faq_form(&ctx, &staff, "/console/faq".into(), form, Vec::new())
}

async fn faq_add(State(state): State<MinistryState>, ctx: ConsoleCtx, Form(form): Form<FaqForm>) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let staff = ctx.require(&state.store, Action::EditContent).await?;
    let item = match form.item(ctx.t, 0) {
        Ok(item) => item,
        Err(errors) => return faq_form(&ctx, &staff, "/console/faq".into(), form, errors),
    };
    let id = state.store.save_faq(&item, &staff.username, now().unix()).await?;
    let detail = format!("position {}", item.position);
    state.store.audit(&ctx.audit(&staff, "faq_add", format!("faq:{id}"), detail)).await?;
    Ok(redirect("/console/faq?done=added"))
}

async fn faq_edit(State(state): State<MinistryState>, ctx: ConsoleCtx, Path(id): Path<i64>) -> PageResult {
    let staff = ctx.require(&state.store, Action::EditContent).await?;
    let item = faq_item(&state.store, id).await?;
    faq_form(&ctx, &staff, format!("/console/faq/{id}"), FaqForm::of(&item), Vec::new())
}

async fn faq_save(
    State(state): State<MinistryState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Form(form): Form<FaqForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let staff = ctx.require(&state.store, Action::EditContent).await?;
    let item = match form.item(ctx.t, id) {
        Ok(item) => item,
        Err(errors) => return faq_form(&ctx, &staff, format!("/console/faq/{id}"), form, errors),
    };
    state.store.save_faq(&item, &staff.username, now().unix()).await?;
    let detail = format!("position {}", item.position);
    state.store.audit(&ctx.audit(&staff, "faq_edit", format!("faq:{id}"), detail)).await?;
    Ok(redirect("/console/faq?done=saved"))
}

async fn faq_confirm(State(state): State<MinistryState>, ctx: ConsoleCtx, Path(id): Path<i64>) -> PageResult {
    let staff = ctx.require(&state.store, Action::EditContent).await?;
    let item = faq_item(&state.store, id).await?;
    let t = ctx.t;
    page(ConfirmPage {
        c: ctx.chrome(Some(&staff), "faq"),
        question: t.s("moe.console.faq.delete_question").to_owned(),
        what: pick(t, &item.question_zh, &item.question_en).to_owned(),
        action: format!("/console/faq/{id}/delete"),
        back: "/console/faq",
    })
}

async fn faq_delete(
    State(state): State<MinistryState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    ctx.check_csrf(&form.csrf)?;
    let staff = ctx.require(&state.store, Action::EditContent).await?;
    state.store.delete_faq(id).await?;
    state.store.audit(&ctx.audit(&staff, "faq_delete", format!("faq:{id}"), String::new())).await?;
    Ok(redirect("/console/faq?done=deleted"))
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

fn teacher_view(
    state: &MinistryState,
    ctx: &ConsoleCtx,
    staff: &Staff,
    form: TeacherForm,
    errors: Vec<String>,
) -> PageResult {
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
    };
    with_status(status, page(page_))
}

async fn teacher_page(State(state): State<MinistryState>, ctx: ConsoleCtx) -> PageResult {
    let staff = ctx.require(&state.store, Action::IssueTeacher).await?;
    let form = TeacherForm { language: "zh".into(), ..TeacherForm::default() };
    teacher_view(&state, &ctx, &staff, form, Vec::new())
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
        return teacher_view(&state, &ctx, &staff, form, Vec::new());
    };
    let institution = issuance.kit.issuer.id.clone();
    if !accredited_for_teachers(&state, &institution) {
        let errors = vec![t.s("moe.console.teacher.not_accredited").to_owned()];
        return teacher_view(&state, &ctx, &staff, form, errors);
    }
    let (language, number, record) = match form.parts(t) {
        Ok(parts) => parts,
        Err(errors) => return teacher_view(&state, &ctx, &staff, form, errors),
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
        return teacher_view(&state, &ctx, &staff, form, errors);
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
        return teacher_view(&state, &ctx, &staff, form, vec![t.s("moe.console.error.record").to_owned()]);
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
            return teacher_view(&state, &ctx, &staff, form, errors);
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
    state
        .store
        .append_registry_record(&RegistryRecord {
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
        })
        .await?;
    let detail = format!("{} v{version} sha256 {}", language.code(), &sha256[..12]);
    state.store.audit(&ctx.audit(&staff, "teacher_issue", format!("certificate:{number}"), detail)).await?;
    Ok(pdf_download(&format!("{number}-{}-v{version}.pdf", language.code()), file.bytes))
}

fn language_words(t: Texts, language: Language) -> &'static str {
    match language {
        Language::Zh => t.s("moe.lang.zh"),
        Language::En => t.s("moe.lang.en"),
    }
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
        let actions =
            [Action::Enter, Action::ViewStatistics, Action::EditContent, Action::IssueTeacher, Action::ViewAudit];
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
        let errors = form.item(t, 0).unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        let good =
            NewsForm { published_on: "2025-02-28".into(), title_en: "Title".into(), body_en: "Text".into(), ..form };
        let item = good.item(t, 7).unwrap();
        assert_eq!((item.id, item.body_zh.as_str()), (7, "內容\n第二行"));
    }
}
