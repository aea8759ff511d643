//! The HTTP layer every site shares, written once: errors ([`AppError`]), who the client is
//! ([`client`]), the CSRF cookie and security headers ([`layer`]), sessions and the sign-in flow
//! ([`session`]) with its limits ([`login`]), per-key rate limits ([`limit`]), and what pages are
//! made of (rendering, redirects, downloads, the language switch, the stylesheet and the rare
//! characters' font).
//!
//! The university's sites ([`crate::university`]) and the Ministry's ([`crate::ministry`]) build
//! on it; neither reaches into the other.

pub mod audit;
mod chrome;
pub mod client;
mod error;
pub mod layer;
pub mod limit;
pub mod login;
pub mod outbound;
pub mod session;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::handler::Handler;
use axum::http::header::{
    ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use dcert_core::time::Timestamp;
use serde::Deserialize;

pub use self::chrome::{Chrome, Menu};
pub use self::error::{AppError, Internal, Limit};
pub use self::layer::{SiteLayer, site_layer};
pub use self::session::{
    Actor, Ctx, NoFields, Posted, SESSION_SECONDS, SessionCookie, SignIn, Site, SiteBase, StaffSignIn,
};
use crate::i18n::{Lang, Texts};

/// The largest body of an ordinary form (sign-in, templates, news, requests): file uploads have
/// their own, larger limits on their own routes.
pub const FORM_BODY_LIMIT: usize = 1 << 20;

/// The result of a handler.
pub type PageResult = Result<Response, AppError>;

/// The time now.
pub fn now() -> Timestamp {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    Timestamp(secs)
}

/// A cookie's value.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}

/// The language of a page: the visitor's choice (the `lang` cookie the language switch sets),
/// else the first language of the browser's `Accept-Language` the site speaks, else Traditional
/// Chinese.
pub fn page_lang(headers: &HeaderMap) -> Lang {
    if let Some(code) = cookie(headers, "lang") {
        return Lang::from_code(&code);
    }
    let accepted = headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    accepted.and_then(first_spoken).unwrap_or_default()
}

/// The most preferred language range of an `Accept-Language` value that is Chinese or English
/// (ties in the order written; a range with `q=0` is refused, not preferred). Reads the first
/// 32 ranges at most.
fn first_spoken(header: &str) -> Option<Lang> {
    let mut ranges: Vec<(f32, usize, Option<Lang>)> = header
        .split(',')
        .take(32)
        .enumerate()
        .filter_map(|(i, range)| {
            let mut parts = range.split(';');
            let tag = parts.next()?.trim();
            let q = parts.find_map(|p| p.trim().strip_prefix("q=")).map_or(Some(1.0), |q| q.trim().parse().ok())?;
            let lang = match tag.split('-').next()?.to_ascii_lowercase().as_str() {
                "zh" => Some(Lang::Zh),
                "en" => Some(Lang::En),
                _ => None,
            };
            (q > 0.0).then_some((q, i, lang))
        })
        .collect();
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranges.into_iter().find_map(|(_, _, lang)| lang)
}

/// Percent-encodes everything but unreserved characters and `/`, for a path or a query value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The path and query a request asked for, as the visitor's browser shows it: a nested router
/// (the consoles under `/console`) sees its own part only, so the original address is read.
pub(crate) fn asked_path(parts: &axum::http::request::Parts) -> String {
    let uri = parts.extensions.get::<axum::extract::OriginalUri>().map_or(&parts.uri, |o| &o.0);
    uri.path_and_query().map(|p| p.to_string()).unwrap_or_else(|| "/".into())
}

/// The language switch's address, coming back to `path`.
pub fn lang_href(t: Texts, path: &str) -> String {
    let other = match t.lang {
        Lang::Zh => "en",
        Lang::En => "zh",
    };
    format!("/lang/{other}?back={}", urlencode(path))
}

/// A form field's text, trimmed, when there is any.
pub fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Chinese or English, as the page's language.
pub fn pick<'a>(t: Texts, zh: &'a str, en: &'a str) -> &'a str {
    match t.lang {
        Lang::Zh => zh,
        Lang::En => en,
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

/// A redirect that also sets `cookies` (after signing in or out).
pub fn redirect_with(to: &str, cookies: impl IntoIterator<Item = HeaderValue>) -> Response {
    let mut r = redirect(to);
    for c in cookies {
        r.headers_mut().append(SET_COOKIE, c);
    }
    r
}

/// Renders a page; a page with rare characters links the font that shows them.
pub fn page(t: impl Template) -> PageResult {
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

/// A page with another status than 200.
pub fn with_status(status: StatusCode, result: PageResult) -> PageResult {
    let mut r = result?;
    *r.status_mut() = status;
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

/// A site's `routes` with what every site adds, bound to its `state`: `/healthz`, `not_found` for
/// any other path, the shared middleware ([`site_layer`]), and a small body limit wherever a
/// route sets no other (only upload routes take a certificate file; a large body elsewhere would
/// be memory held without an upload's reservation).
pub fn site_router<S: Site, H: Handler<T, S>, T: 'static>(routes: Router<S>, not_found: H, state: S) -> Router {
    routes
        .route("/healthz", get(healthz::<S>))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(state.clone(), site_layer::<S>))
        .with_state(state)
}

/// `200 ok` while the site's database answers, else `503`.
async fn healthz<S: Site>(State(state): State<S>) -> Response {
    match state.store().ping().await {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

/// The query of a page a change redirects to: `?done=saved` and the like, which the page words
/// as a notice.
#[derive(Deserialize)]
pub struct DoneQuery {
    /// What was done.
    pub done: Option<String>,
}

/// The routes every site serves the same way: the language switch, the stylesheet and the rare
/// characters' font.
pub fn common_routes<S: Site>() -> Router<S> {
    Router::new()
        .route("/lang/{code}", get(switch_language::<S>))
        .route("/static/site.css", get(stylesheet))
        .route("/static/rare.css", get(rare_characters_css))
        .route("/static/rare.font", get(rare_characters_font::<S>))
}

/// A script of the site's own (`static/*.js`), as the pages load it.
pub fn javascript(source: &'static str) -> Response {
    ([(CONTENT_TYPE, "text/javascript; charset=utf-8"), (CACHE_CONTROL, "max-age=3600")], source).into_response()
}

async fn stylesheet() -> Response {
    (
        [(CONTENT_TYPE, "text/css; charset=utf-8"), (CACHE_CONTROL, "max-age=3600")],
        include_str!("../../static/site.css"),
    )
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

/// The glyphs of a page's rare characters, cut from the certificates' fallback font.
async fn rare_characters_font<S: Site>(State(state): State<S>, Query(q): Query<RareQuery>) -> Response {
    let Some(fonts) = state.fonts() else { return StatusCode::NOT_FOUND.into_response() };
    let chars = parse_rare(&q.c);
    match tokio::task::spawn_blocking(move || fonts.web_subset(&chars)).await.ok().flatten() {
        Some(bytes) => ([(CONTENT_TYPE, "font/ttf"), (CACHE_CONTROL, "public, max-age=86400")], bytes).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[derive(Deserialize)]
struct Back {
    back: Option<String>,
}

/// Sets the language cookie and returns to the page (only a path on this site).
async fn switch_language<S: Site>(State(state): State<S>, Path(code): Path<String>, Query(q): Query<Back>) -> Response {
    let lang = Lang::from_code(&code);
    // Only a path on this site: "/" then path characters (no "//", backslash, space or control
    // character, which browsers would strip or turn into another host).
    let safe = |b: &str| {
        b.starts_with('/')
            && !b.starts_with("//")
            // `$ * :` for the QR code's seal pages (`/S/…`).
            && b.bytes().all(|c| c.is_ascii_alphanumeric() || b"/-_.~?=&%+$*:".contains(&c))
            && !b.contains("%2F%2F")
    };
    let back = q.back.filter(|b| safe(b)).unwrap_or("/".into());
    let secure = state.layer().secure_attribute();
    let cookie = format!("lang={}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax{secure}", lang.code());
    redirect_with(&back, HeaderValue::from_str(&cookie).ok())
}

#[cfg(test)]
mod tests {
    use axum::http::header::{ACCEPT_LANGUAGE, COOKIE};
    use axum::http::{HeaderMap, HeaderValue};

    use super::page_lang;
    use crate::i18n::Lang;

    fn check(accept_language: &str, cookie: Option<&str>, expected: Lang) {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT_LANGUAGE, HeaderValue::from_str(accept_language).unwrap());
        if let Some(c) = cookie {
            headers.insert(COOKIE, HeaderValue::from_str(c).unwrap());
        }
        assert_eq!(page_lang(&headers), expected, "{accept_language:?} {cookie:?}");
    }

    #[test]
    fn the_page_language_is_the_visitors_choice_else_the_browsers_first_spoken_else_chinese() {
        check("en-US,en;q=0.9", None, Lang::En);
        check("zh-TW,zh;q=0.9,en;q=0.8", None, Lang::Zh);
        check("ja-JP,ja;q=0.9,en;q=0.5,zh;q=0.4", None, Lang::En);
        check("en;q=0.2, zh-Hant;q=0.8", None, Lang::Zh);
        check("EN", None, Lang::En);
        check("en;q=0, fr", None, Lang::Zh);
        check("de, fr, *", None, Lang::Zh);
        check("", None, Lang::Zh);
        check("en;q=banana", None, Lang::Zh);
        check("en-US", Some("lang=zh"), Lang::Zh);
        check("zh-TW", Some("csrf=x; lang=en"), Lang::En);
    }
}
