//! The web side of dcert: the departure portal for graduates (畢業生離校作業), the registrar
//! console (教務處註冊組 and the campus offices), the issuance worker and email delivery.
//!
//! Only this crate knows HTTP and HTML. Pages are askama templates whose every text comes from
//! one catalogue (`i18n/messages.tsv`), zh-TW first. Handlers check the CSRF token and the role
//! before they change anything; every change is written to the audit log.

pub mod auth;
mod console;
pub mod i18n;
pub mod mail;
pub mod ministry;
mod portal;
pub mod registry_client;
pub mod serve;
pub mod worker;

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Path, Query, Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use dcert_core::time::Timestamp;
use dcert_store::{AuditEntry, Session, Staff, Store, StoreError};
use serde::Deserialize;

pub use crate::console::{Action, allowed, roster_rows};

use crate::auth::LoginLimiter;
use crate::i18n::{Lang, Texts};
use crate::worker::Worker;

/// The time now.
pub fn now() -> Timestamp {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    Timestamp(secs)
}

/// The institution and site settings the pages need.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// The institution's id in the trust list, e.g. `nkust`.
    pub institution_id: String,
    /// 國立高雄科技大學.
    pub school_zh: String,
    /// National Kaohsiung University of Science and Technology.
    pub school_en: String,
    /// The domain of the school addresses (信箱1), e.g. `nkust.edu.tw`.
    pub email_domain: String,
    /// The university site's public address, for links in emails, e.g. `https://dcert.nkust.edu.tw`.
    pub public_url: String,
    /// The Ministry's verification site, named in emails and pages.
    pub verify_site: String,
    /// The school's main telephone number, shown on the contact page.
    #[serde(default = "default_phone")]
    pub phone: String,
    /// Send cookies only over HTTPS (set when served behind TLS).
    #[serde(default)]
    pub secure_cookies: bool,
    /// The largest upload accepted (CSV imports, templates), in bytes.
    #[serde(default = "default_upload")]
    pub max_upload_bytes: usize,
}

fn default_phone() -> String {
    "(07)601-1000".into()
}

fn default_upload() -> usize {
    10 << 20
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The university's database.
    pub store: Store,
    /// The settings.
    pub site: Arc<SiteConfig>,
    /// The login rate limit.
    pub limiter: Arc<LoginLimiter>,
    /// How graduates sign in.
    pub graduate_auth: Arc<dyn auth::GraduateAuth>,
    /// The worker, for "issue now", resends and template previews.
    pub worker: Worker,
}

/// How long a session lasts without signing in again.
pub const SESSION_SECONDS: i64 = 8 * 3600;

/// The largest body of an ordinary form (sign-in, templates, news, requests): file uploads have
/// their own, larger limits on their own routes.
pub const FORM_BODY_LIMIT: usize = 1 << 20;

/// The university's site: the portal, the console and `/healthz`.
pub fn university_router(state: AppState) -> Router {
    let limit = state.site.max_upload_bytes;
    Router::new()
        .merge(portal::routes())
        .nest("/console", console::routes(limit))
        .route("/healthz", get(healthz))
        .route("/lang/{code}", get(switch_language))
        .route("/static/site.css", get(stylesheet))
        .route("/static/rare.css", get(rare_characters_css))
        .route("/static/rare.font", get(rare_characters_font))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT))
        .layer(middleware::from_fn_with_state(state.clone(), csrf_cookie))
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.setting("healthz").await {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

async fn not_found() -> AppError {
    AppError::NotFound
}

async fn stylesheet() -> Response {
    ([(CONTENT_TYPE, "text/css; charset=utf-8"), (CACHE_CONTROL, "max-age=3600")], include_str!("../static/site.css"))
        .into_response()
}

/// The rare characters of a page (CJK Extension B and beyond), which common fonts lack.
fn rare_characters(html: &str) -> Vec<char> {
    let mut chars: Vec<char> = html.chars().filter(|c| u32::from(*c) >= 0x20000).collect();
    chars.sort_unstable();
    chars.dedup();
    chars.truncate(64);
    chars
}

#[derive(Deserialize)]
struct RareQuery {
    c: String,
}

fn parse_rare(q: &str) -> Vec<char> {
    let mut chars: Vec<char> = q
        .split('-')
        .filter_map(|h| u32::from_str_radix(h, 16).ok())
        .filter(|u| *u >= 0x20000)
        .filter_map(char::from_u32)
        .take(64)
        .collect();
    chars.sort_unstable();
    chars.dedup();
    chars
}

/// The `@font-face` of a page's rare characters: the certificates' own fallback font, cut down
/// to those characters, so that a name such as 王𪚥 shows on the page as it prints on the
/// certificate (the whole fallback font is too large for browsers to load).
async fn rare_characters_css(Query(q): Query<RareQuery>) -> Response {
    let codes: Vec<String> = parse_rare(&q.c).iter().map(|c| format!("{:X}", u32::from(*c))).collect();
    let css = format!(
        "@font-face {{ font-family: \"dcert-rare\"; src: url(\"/static/rare.font?c={}\") format(\"truetype\"); }}\n",
        codes.join("-")
    );
    ([(CONTENT_TYPE, "text/css; charset=utf-8"), (CACHE_CONTROL, "public, max-age=86400")], css).into_response()
}

async fn rare_characters_font(State(state): State<AppState>, Query(q): Query<RareQuery>) -> Response {
    let chars = parse_rare(&q.c);
    let fonts = state.worker.issuance.fonts.clone();
    let font = tokio::task::spawn_blocking(move || fonts.web_subset(&chars)).await.ok().flatten();
    match font {
        Some(bytes) => ([(CONTENT_TYPE, "font/ttf"), (CACHE_CONTROL, "public, max-age=86400")], bytes).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[derive(Deserialize)]
struct Back {
    back: Option<String>,
}

/// Sets the language cookie and returns to the page (only a path on this site).
async fn switch_language(Path(code): Path<String>, Query(q): Query<Back>) -> Response {
    let lang = Lang::from_code(&code);
    // Only a path on this site: "/" then path characters (no "//", backslash, space or control
    // character, which browsers would strip or turn into another host).
    let safe = |b: &str| {
        b.starts_with('/')
            && !b.starts_with("//")
            && b.bytes().all(|c| c.is_ascii_alphanumeric() || b"/-_.~?=&%+".contains(&c))
            && !b.contains("%2F%2F")
    };
    let back = q.back.filter(|b| safe(b)).unwrap_or("/".into());
    let mut r = redirect(&back);
    let cookie = format!("lang={}; Path=/; Max-Age=31536000; SameSite=Lax", lang.code());
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(SET_COOKIE, v);
    }
    r
}

/// The visitor's CSRF token, put in the request by [`csrf_cookie`].
#[derive(Clone, Debug)]
struct CsrfToken(String);

/// Gives every visitor a CSRF token cookie, and adds the security headers to every page.
async fn csrf_cookie(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let existing = cookie(request.headers(), "csrf").filter(|t| t.len() == 43);
    let token = existing.clone().unwrap_or_else(auth::random_token);
    request.extensions_mut().insert(CsrfToken(token.clone()));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if existing.is_none() {
        let secure = if state.site.secure_cookies { "; Secure" } else { "" };
        let cookie = format!("csrf={token}; Path=/; HttpOnly; SameSite=Strict{secure}");
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            headers.append(SET_COOKIE, v);
        }
    }
    security_headers(headers);
    response
}

/// The headers every page of both sites carries: a content security policy that allows only
/// this site's own scripts, styles and forms, no framing, no MIME sniffing, no referrer abroad.
fn security_headers(headers: &mut HeaderMap) {
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
}

/// A cookie's value.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}

/// What every page knows about its request: the language, the CSRF token, the client, the session.
pub struct Ctx {
    /// The texts of the page's language.
    pub t: Texts,
    /// The CSRF token to put in forms.
    pub csrf: String,
    /// The client's address.
    pub ip: String,
    /// The path and query asked for (for the language switch).
    pub path: String,
    /// The signed-in session, if any.
    pub session: Option<Session>,
    session_hash: Option<String>,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let lang = cookie(&parts.headers, "lang").map(|c| Lang::from_code(&c)).unwrap_or_default();
        let csrf = parts.extensions.get::<CsrfToken>().map(|c| c.0.clone()).unwrap_or_default();
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "-".into());
        let path = parts.uri.path_and_query().map(|p| p.to_string()).unwrap_or_else(|| "/".into());
        let session_hash = cookie(&parts.headers, "session").map(|t| auth::token_hash(&t));
        let session = match &session_hash {
            Some(h) => state.store.session(h, now().unix()).await?,
            None => None,
        };
        // Signed in, forms carry the session's own token (issued at sign-in), not just any cookie.
        let csrf = session.as_ref().map(|s| s.csrf.clone()).unwrap_or(csrf);
        Ok(Ctx { t: Texts::new(lang), csrf, ip, path, session, session_hash })
    }
}

impl Ctx {
    /// Refuses a form whose token is not the visitor's.
    pub fn check_csrf(&self, token: &str) -> Result<(), AppError> {
        if self.csrf.is_empty() || !auth::constant_time_eq(&self.csrf, token) {
            return Err(AppError::Csrf);
        }
        Ok(())
    }

    /// The signed-in graduate's student number, or a redirect to the login page.
    pub fn graduate(&self) -> Result<String, AppError> {
        match &self.session {
            Some(s) if s.kind == "graduate" => Ok(s.subject.clone()),
            _ => Err(AppError::Redirect("/login".into())),
        }
    }

    /// The signed-in member of staff, or a redirect to the console's login page.
    pub async fn staff(&self, store: &Store) -> Result<Staff, AppError> {
        let id = match &self.session {
            Some(s) if s.kind == "staff" => s.subject.parse::<i64>().ok(),
            _ => None,
        };
        let staff = match id {
            Some(id) => store.staff_by_id(id).await?,
            None => None,
        };
        staff.ok_or_else(|| AppError::Redirect("/console/login".into()))
    }

    /// Starts a session for `subject` with a new session token and a new CSRF token, returning
    /// the cookies to set.
    pub async fn start_session(
        &self,
        state: &AppState,
        kind: &str,
        subject: &str,
    ) -> Result<Vec<HeaderValue>, AppError> {
        let token = auth::random_token();
        let csrf = auth::random_token();
        let now = now().unix();
        let session = Session {
            kind: kind.into(),
            subject: subject.into(),
            csrf: csrf.clone(),
            expires_at: now + SESSION_SECONDS,
        };
        state.store.create_session(&auth::token_hash(&token), &session, now).await?;
        let secure = if state.site.secure_cookies { "; Secure" } else { "" };
        let cookie = |text: String| HeaderValue::from_str(&text).map_err(|e| AppError::Internal(e.to_string()));
        Ok(vec![
            cookie(format!("session={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={SESSION_SECONDS}{secure}"))?,
            cookie(format!("csrf={csrf}; Path=/; HttpOnly; SameSite=Strict{secure}"))?,
        ])
    }

    /// Ends the session, returning the cookie that clears it.
    pub async fn end_session(&self, state: &AppState) -> Result<HeaderValue, AppError> {
        if let Some(h) = &self.session_hash {
            state.store.delete_session(h, now().unix()).await?;
        }
        Ok(HeaderValue::from_static("session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"))
    }

    /// An audit entry by this request.
    pub fn audit(&self, actor: &str, role: &str, action: &str, target: String, detail: String) -> AuditEntry {
        AuditEntry {
            at: now().unix(),
            actor: actor.into(),
            role: role.into(),
            action: action.into(),
            target,
            detail,
            ip: self.ip.clone(),
        }
    }
}

/// Why a request failed. User errors become 4xx pages; anything else is logged once and shown as
/// an opaque 500.
#[derive(Debug)]
pub enum AppError {
    /// 404.
    NotFound,
    /// 403: the role may not do this.
    Forbidden,
    /// 403: the form's CSRF token is missing or wrong.
    Csrf,
    /// 429: too many attempts.
    TooManyRequests,
    /// 400 with a message already in the user's language.
    BadRequest(String),
    /// Not signed in: go to this page.
    Redirect(String),
    /// Anything else (logged, not shown).
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => AppError::NotFound,
            StoreError::Conflict(m) => AppError::BadRequest(m),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(format!("template: {e}"))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    zh: &'a str,
    en: &'a str,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, zh, en): (StatusCode, &str, String) = match &self {
            AppError::NotFound => (StatusCode::NOT_FOUND, "找不到此頁面。", "This page does not exist.".into()),
            AppError::Forbidden => {
                (StatusCode::FORBIDDEN, "您的身分無權執行此操作。", "Your role may not do this.".into())
            }
            AppError::Csrf => (
                StatusCode::FORBIDDEN,
                "表單已過期或來源不明，請重新整理頁面後再試一次。",
                "The form expired or did not come from this site. Reload the page and try again.".into(),
            ),
            AppError::TooManyRequests => (
                StatusCode::TOO_MANY_REQUESTS,
                "登入失敗次數過多，請十五分鐘後再試。",
                "Too many failed sign-ins. Try again in fifteen minutes.".into(),
            ),
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.as_str(), m.clone()),
            AppError::Redirect(to) => return redirect(to),
            AppError::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "系統發生錯誤，請稍後再試。",
                    "Something went wrong. Try again later.".into(),
                )
            }
        };
        let en = if zh == en { "" } else { en.as_str() };
        let body = ErrorPage { status: status.as_u16(), zh, en }.render().unwrap_or_else(|_| zh.to_owned());
        (status, Html(body)).into_response()
    }
}

/// A 303 redirect (after a form, or to a login page).
pub fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

/// Renders a page.
pub fn page(t: impl Template) -> Result<Response, AppError> {
    let mut html = t.render()?;
    let rare = rare_characters(&html);
    if !rare.is_empty() {
        let codes: Vec<String> = rare.iter().map(|c| format!("{:X}", u32::from(*c))).collect();
        let link = format!("<link rel=\"stylesheet\" href=\"/static/rare.css?c={}\">\n</head>", codes.join("-"));
        html = html.replacen("</head>", &link, 1);
    }
    let mut r = Html(html).into_response();
    r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// A certificate file as a download: always an attachment, byte for byte.
pub fn pdf_download(name: &str, bytes: Vec<u8>) -> Response {
    let safe: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect();
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        h.insert(CONTENT_DISPOSITION, v);
    }
    r
}

/// The result of a handler.
pub type PageResult = Result<Response, AppError>;
