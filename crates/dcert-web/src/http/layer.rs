//! The middleware every site runs: who the client is, the visitor's CSRF token cookie, error
//! pages in the visitor's language with a way back, and the security headers.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, HOST, REFERER, RETRY_AFTER, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::client::{Client, TrustedProxies};
use super::cookie;
use super::error::{ErrorText, error_page};
use super::session::Site;
use crate::auth;

/// A site's cookie and proxy settings.
#[derive(Clone, Debug, Default)]
pub struct SiteLayer {
    /// Send cookies only over HTTPS.
    pub secure_cookies: bool,
    /// The reverse proxies whose `X-Forwarded-For` is believed.
    pub proxies: TrustedProxies,
}

impl SiteLayer {
    /// The settings of a site at `public_url`: cookies are `Secure` when `secure_cookies` says
    /// so, and by default whenever the address is `https://`.
    pub fn new(public_url: &str, secure_cookies: Option<bool>, proxies: TrustedProxies) -> Self {
        let https = public_url.trim().to_ascii_lowercase().starts_with("https://");
        SiteLayer { secure_cookies: secure_cookies.unwrap_or(https), proxies }
    }

    /// `; Secure` or nothing, to end a `Set-Cookie` value with.
    pub fn secure_attribute(&self) -> &'static str {
        if self.secure_cookies { "; Secure" } else { "" }
    }
}

/// The visitor's CSRF token, put in the request by [`site_layer`].
#[derive(Clone, Debug)]
pub(crate) struct CsrfToken(pub String);

/// Puts the client and the visitor's CSRF token in the request; gives a new visitor the token's
/// cookie with the page (never with an API's JSON), and adds the security headers.
pub async fn site_layer<S: Site>(State(state): State<S>, mut request: Request, next: Next) -> Response {
    let existing = cookie(request.headers(), "csrf").filter(|t| t.len() == 43);
    let token = existing.clone().unwrap_or_else(auth::random_token);
    request.extensions_mut().insert(CsrfToken(token.clone()));
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let layer = state.layer();
    let client = Client(layer.proxies.client_group(peer, request.headers()));
    request.extensions_mut().insert(client);
    let lang = super::page_lang(request.headers());
    let back = same_site_referrer(request.headers());
    let home = if request.uri().path().starts_with("/console") { "/console" } else { "/" };
    let api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    // A form too large for its route is refused before any handler runs, in the framework's
    // plain English: a person gets a page instead (a program calling the API keeps the status).
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && content_type_is(response.headers(), "text/plain") && !api {
        let text = ErrorText {
            zh: "送出的內容太大，系統無法接收。請縮小檔案或內容後再試一次。".into(),
            en: "What was sent is too large for this page. Make the file or text smaller and try again.".into(),
        };
        response.extensions_mut().insert(text);
    }
    if let Some(text) = response.extensions_mut().remove::<ErrorText>() {
        let status = response.status();
        let retry_after = response.headers().get(RETRY_AFTER).cloned();
        response = error_page(status, &text, lang, back.as_deref(), home);
        if let Some(v) = retry_after {
            response.headers_mut().insert(RETRY_AFTER, v);
        }
    }
    let is_json = content_type_is(response.headers(), "application/json");
    let headers = response.headers_mut();
    if existing.is_none() && !is_json {
        let cookie = format!("csrf={token}; Path=/; HttpOnly; SameSite=Strict{}", layer.secure_attribute());
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            headers.append(SET_COOKIE, v);
        }
    }
    security_headers(headers);
    response
}

/// Whether a response's content type is `kind` (whatever its parameters).
fn content_type_is(headers: &HeaderMap, kind: &str) -> bool {
    headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with(kind))
}

/// The page the visitor came from, when it is on this site: the path and query of a `Referer`
/// whose host is the request's `Host` (the sites send no referrer abroad, and a link back must
/// not lead elsewhere).
fn same_site_referrer(headers: &HeaderMap) -> Option<String> {
    let referer = headers.get(REFERER)?.to_str().ok()?;
    let host = headers.get(HOST)?.to_str().ok()?;
    let rest = referer.strip_prefix("https://").or_else(|| referer.strip_prefix("http://"))?;
    let (authority, path) = rest.split_at(rest.find('/')?);
    (authority.eq_ignore_ascii_case(host) && !path.starts_with("//")).then(|| path.to_owned())
}

/// The headers every page of every site carries: a content security policy that allows only
/// this site's own scripts, styles and forms, no framing, no MIME sniffing, no referrer abroad.
pub fn security_headers(headers: &mut HeaderMap) {
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_way_back_from_an_error_is_only_ever_a_page_of_this_site() {
        let back = |referer: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(HOST, HeaderValue::from_static("school.example:8080"));
            headers.insert(REFERER, HeaderValue::from_str(referer).unwrap());
            same_site_referrer(&headers)
        };
        assert_eq!(
            back("http://school.example:8080/console/graduates?page=2").as_deref(),
            Some("/console/graduates?page=2")
        );
        assert_eq!(back("https://SCHOOL.example:8080/portal").as_deref(), Some("/portal"));
        assert_eq!(back("https://evil.example/console"), None);
        assert_eq!(back("https://school.example:8080.evil.example/x"), None);
        assert_eq!(back("http://school.example:8080//evil.example/x"), None);
        assert_eq!(back("javascript:alert(1)"), None);
        assert_eq!(back("http://school.example:8080"), None);
    }

    #[test]
    fn cookies_are_secure_by_default_exactly_when_the_site_is_served_over_https() {
        let proxies = TrustedProxies::default();
        assert!(SiteLayer::new("https://dcert.nkust.edu.tw", None, proxies.clone()).secure_cookies);
        assert!(SiteLayer::new("HTTPS://dcert.moe.gov.tw/", None, proxies.clone()).secure_cookies);
        assert!(!SiteLayer::new("http://localhost:8080", None, proxies.clone()).secure_cookies);
        assert!(!SiteLayer::new("https://dcert.nkust.edu.tw", Some(false), proxies.clone()).secure_cookies);
        assert_eq!(SiteLayer::new("http://localhost", Some(true), proxies).secure_attribute(), "; Secure");
    }
}
