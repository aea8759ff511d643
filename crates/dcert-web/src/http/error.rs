//! [`AppError`]: why a request failed, as the person who sent it is told.
//!
//! User errors become 4xx pages in both languages with a message a person understands; anything
//! else is an [`Internal`] error, logged once at the boundary with its whole cause chain and
//! shown as an opaque 500 (nothing of its text reaches the page).

use std::borrow::Cow;
use std::error::Error;
use std::fmt;

use askama::Template;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use dcert_store::StoreError;

use super::redirect;
use crate::i18n::{Lang, Texts};

/// Why a request failed.
#[derive(Debug)]
pub enum AppError {
    /// 404.
    NotFound,
    /// 403: the role may not do this.
    Forbidden,
    /// 403: the form's CSRF token is missing or wrong.
    Csrf,
    /// 400: a form whose fields do not read (missing, or not of the expected kind).
    BadForm,
    /// 429: too many attempts of one kind; try again after `retry_after` seconds.
    TooMany {
        /// What was tried too often.
        limit: Limit,
        /// Seconds until the next attempt is allowed.
        retry_after: u64,
    },
    /// 400 with a message already in the user's language.
    BadRequest(String),
    /// Not signed in: go to this page.
    Redirect(String),
    /// Anything else (logged with its causes, not shown).
    Internal(Internal),
}

/// What a 429 refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// Signing in: too many failures for the account or from the client.
    SignIn,
    /// A graduate asking for address-confirmation links.
    AddressChange,
}

/// An error that is not the user's: what was being done, and the error that stopped it.
#[derive(Debug)]
pub struct Internal {
    context: Cow<'static, str>,
    source: Option<Box<dyn Error + Send + Sync>>,
}

impl Internal {
    /// The cause chain, outermost first: "context: cause: cause's cause".
    fn chain(&self) -> String {
        let mut text = self.context.to_string();
        let mut next: Option<&(dyn Error + 'static)> = self.source.as_deref().map(|e| e as _);
        while let Some(e) = next {
            text.push_str(": ");
            text.push_str(&e.to_string());
            next = e.source();
        }
        text
    }
}

impl fmt::Display for Internal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.chain())
    }
}

impl AppError {
    /// An internal error: `context` says what was being done when `source` stopped it.
    pub fn internal(context: impl Into<Cow<'static, str>>, source: impl Error + Send + Sync + 'static) -> Self {
        AppError::Internal(Internal { context: context.into(), source: Some(Box::new(source)) })
    }

    /// An internal error with no underlying error: a state the code does not expect.
    pub fn unexpected(context: impl Into<Cow<'static, str>>) -> Self {
        AppError::Internal(Internal { context: context.into(), source: None })
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => AppError::NotFound,
            StoreError::Conflict(m) => AppError::BadRequest(m),
            other => AppError::internal("the database", other),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::internal("a page template", e)
    }
}

/// What an error page says, in both languages: [`site_layer`](super::layer::site_layer) words
/// the page in the visitor's language, with a way back to where they came from.
#[derive(Clone, Debug)]
pub(crate) struct ErrorText {
    pub zh: String,
    pub en: String,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    lang: &'static str,
    status: u16,
    title: &'a str,
    message: &'a str,
    code: String,
    back: Option<&'a str>,
    back_label: &'a str,
    home: &'a str,
    home_label: &'a str,
}

/// The page for an error of `status` saying `text`, in `lang`; `back` is the page the visitor
/// came from on this site, `home` the start of the part of the site they are in.
pub(crate) fn error_page(status: StatusCode, text: &ErrorText, lang: Lang, back: Option<&str>, home: &str) -> Response {
    let t = Texts::new(lang);
    let title = match status {
        StatusCode::NOT_FOUND => "error.title.not_found",
        StatusCode::FORBIDDEN => "error.title.forbidden",
        StatusCode::TOO_MANY_REQUESTS => "error.title.too_many",
        StatusCode::PAYLOAD_TOO_LARGE => "error.title.too_large",
        s if s.is_server_error() => "error.title.internal",
        _ => "error.title.bad_request",
    };
    let message = if lang == Lang::En && !text.en.is_empty() { &text.en } else { &text.zh };
    let home_label = if home.starts_with("/console") { "error.console_home" } else { "error.home" };
    let body = ErrorPage {
        lang: lang.html(),
        status: status.as_u16(),
        title: t.s(title),
        message,
        code: t.f1("error.code", status.as_u16()),
        back,
        back_label: t.s("error.back"),
        home,
        home_label: t.s(home_label),
    }
    .render()
    .unwrap_or_else(|_| message.clone());
    (status, Html(body)).into_response()
}

/// Minutes, rounded up, for a person to read.
fn minutes(seconds: u64) -> u64 {
    seconds.div_ceil(60).max(1)
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, zh, en): (StatusCode, String, String) = match &self {
            AppError::NotFound => (StatusCode::NOT_FOUND, "找不到此頁面。".into(), "This page does not exist.".into()),
            AppError::Forbidden => {
                (StatusCode::FORBIDDEN, "您的身分無權執行此操作。".into(), "Your role may not do this.".into())
            }
            AppError::Csrf => (
                StatusCode::FORBIDDEN,
                "表單已過期或來源不明，請重新整理頁面後再試一次。".into(),
                "The form expired or did not come from this site. Reload the page and try again.".into(),
            ),
            AppError::BadForm => (
                StatusCode::BAD_REQUEST,
                "表單內容不完整或格式不符，請回到上一頁重新填寫。".into(),
                "The form was incomplete or not as expected. Go back and fill it in again.".into(),
            ),
            AppError::TooMany { limit: Limit::SignIn, retry_after } => {
                let m = minutes(*retry_after);
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("登入失敗次數過多，請 {m} 分鐘後再試；在曾成功登入的裝置上可立即登入。"),
                    format!(
                        "Too many failed sign-ins. Try again in {m} minute(s), or sign in from a device you \
                         have signed in with before."
                    ),
                )
            }
            AppError::TooMany { limit: Limit::AddressChange, retry_after } => {
                let m = minutes(*retry_after);
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("地址變更申請次數過多，請 {m} 分鐘後再試。"),
                    format!("Too many address changes asked for. Try again in {m} minute(s)."),
                )
            }
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone(), m.clone()),
            AppError::Redirect(to) => return redirect(to),
            AppError::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "系統發生錯誤，請稍後再試。".into(),
                    "Something went wrong. Try again later.".into(),
                )
            }
        };
        // Worded in the visitor's language by the site's middleware, which knows it and where
        // they came from; without it (a handler called alone), in Chinese.
        let text = ErrorText { zh, en };
        let mut response = error_page(status, &text, Lang::Zh, None, "/");
        response.extensions_mut().insert(text);
        if let AppError::TooMany { retry_after, .. } = self {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn an_internal_error_keeps_its_whole_cause_chain_for_the_log() {
        let e = AppError::internal("issuing a teacher certificate", Outer(std::io::Error::other("disk full")));
        let AppError::Internal(inner) = e else { panic!("internal") };
        assert_eq!(inner.to_string(), "issuing a teacher certificate: outer: disk full");
    }

    #[test]
    fn too_many_attempts_say_when_to_come_back_in_minutes_and_in_the_header() {
        let r = AppError::TooMany { limit: Limit::SignIn, retry_after: 61 }.into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[RETRY_AFTER], "61");
        assert_eq!(minutes(61), 2);
        assert_eq!(minutes(0), 1);
    }
}
