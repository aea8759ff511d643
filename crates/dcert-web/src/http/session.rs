//! The request as every page sees it ([`Ctx`]: language, CSRF token, client, session), sessions
//! parameterised by site and kind, and the sign-in flow, written once for the portal, the
//! university console and the Ministry console.
//!
//! - A session is a random 256-bit token in an `HttpOnly`, `SameSite=Lax` cookie; the store keeps
//!   only its SHA-256, so a copy of the database does not sign anyone in. Each site has its own
//!   cookie and session kinds ([`SessionCookie`]), so neither console takes the other's sessions,
//!   even when both sites share one database.
//! - CSRF: every visitor gets a random token in a `SameSite=Strict` cookie, and every form carries
//!   it in a hidden field; signed in, forms carry the session's own token. A POST whose field
//!   differs is refused before anything changes (the double-submit pattern).
//! - Cookies are `Secure` whenever the site's public address is `https://` (or as configured).

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use dcert_core::pdf::FontBook;
use dcert_store::{AuditEntry, Db, Session, Staff};

use super::client::{Client, TrustedProxies};
use super::layer::{CsrfToken, SiteLayer};
use super::login::{Attempt, DEVICE_SECONDS, LoginThrottle};
use super::{AppError, Limit, cookie, now};
use crate::auth;
use crate::i18n::Texts;

/// How long a session lasts without signing in again.
pub const SESSION_SECONDS: i64 = 8 * 3600;

/// A site's session cookie: its name and path, the device cookie of its sign-ins, and the
/// session kinds it carries.
#[derive(Clone, Copy, Debug)]
pub struct SessionCookie {
    /// The session cookie's name.
    pub name: &'static str,
    /// Its path.
    pub path: &'static str,
    /// The device cookie's name (see [`LoginThrottle`]).
    pub device: &'static str,
    /// The session kinds this site accepts.
    pub kinds: &'static [&'static str],
}

/// What the shared layer keeps of every site: the database holding its sessions, its cookie and
/// proxy settings and its sign-in limits.
pub struct SiteBase {
    /// The database holding the site's sessions.
    pub db: Db,
    /// The site's cookie and proxy settings.
    pub layer: SiteLayer,
    /// The site's sign-in limits.
    pub throttle: LoginThrottle,
}

impl SiteBase {
    /// The shared parts of a site at `public_url` (see [`SiteLayer::new`]).
    pub fn new(db: Db, public_url: &str, secure_cookies: Option<bool>, proxies: TrustedProxies) -> Self {
        SiteBase { db, layer: SiteLayer::new(public_url, secure_cookies, proxies), throttle: LoginThrottle::default() }
    }
}

/// What the shared layer needs of a site's state.
pub trait Site: Clone + Send + Sync + 'static {
    /// The site's session cookie.
    const SESSION: SessionCookie;
    /// The site's shared parts.
    fn base(&self) -> &SiteBase;
    /// The certificates' fonts, to show rare characters on pages as certificates print them.
    fn fonts(&self) -> Option<Arc<FontBook>>;
    /// The database holding the site's sessions.
    fn store(&self) -> &Db {
        &self.base().db
    }
    /// The site's cookie and proxy settings.
    fn layer(&self) -> &SiteLayer {
        &self.base().layer
    }
    /// The site's sign-in limits.
    fn throttle(&self) -> &LoginThrottle {
        &self.base().throttle
    }
}

/// A form posted with its request's CSRF token, checked before the handler runs, so that no
/// handler that takes its form as `Posted(ctx, form)` can forget the check. A token that differs
/// is refused ([`AppError::Csrf`]) before the form is read; a form that does not read is
/// [`AppError::BadForm`]; a body over the route's limit is 413.
pub struct Posted<F>(pub Ctx, pub F);

/// A posted form with nothing but its token (a button: sign out, delete, issue now).
#[derive(serde::Deserialize)]
pub struct NoFields {}

/// The one field every posted form carries.
#[derive(serde::Deserialize)]
struct Token {
    #[serde(default)]
    csrf: String,
}

impl<S: Site, F: serde::de::DeserializeOwned + Send> FromRequest<S> for Posted<F> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let ctx = Ctx::from_request_parts(&mut parts, state).await.map_err(IntoResponse::into_response)?;
        let urlencoded = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
        let bytes =
            Bytes::from_request(Request::from_parts(parts, body), state).await.map_err(IntoResponse::into_response)?;
        let refuse = |e: AppError| e.into_response();
        let Token { csrf } = serde_urlencoded::from_bytes(&bytes).map_err(|_| refuse(AppError::Csrf))?;
        ctx.check_csrf(&csrf).map_err(refuse)?;
        if !urlencoded {
            return Err(refuse(AppError::BadForm));
        }
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|_| refuse(AppError::BadForm))?;
        Ok(Posted(ctx, form))
    }
}

/// What every page knows about its request: the language, the CSRF token, the client, the session.
pub struct Ctx {
    /// The texts of the page's language.
    pub t: Texts,
    /// The CSRF token to put in forms (the session's own once signed in).
    pub csrf: String,
    /// The client, as rate limits and the audit log count it.
    pub ip: String,
    /// The path and query asked for (for the language switch).
    pub path: String,
    /// The signed-in session, if any (of one of the site's kinds).
    pub session: Option<Session>,
    session_hash: Option<String>,
    device: Option<String>,
}

impl<S: Site> FromRequestParts<S> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let lang = super::page_lang(&parts.headers);
        let csrf = parts.extensions.get::<CsrfToken>().map(|c| c.0.clone()).unwrap_or_default();
        let ip = parts.extensions.get::<Client>().map(|c| c.0.clone()).unwrap_or_else(|| "-".into());
        let path = super::asked_path(parts);
        let session_hash = cookie(&parts.headers, S::SESSION.name).map(|t| auth::token_hash(&t));
        let session = match &session_hash {
            Some(h) => state.store().session(h, now().unix()).await?.filter(|s| S::SESSION.kinds.contains(&&*s.kind)),
            None => None,
        };
        let device = cookie(&parts.headers, S::SESSION.device);
        let csrf = session.as_ref().map(|s| s.csrf.clone()).unwrap_or(csrf);
        Ok(Ctx { t: Texts::new(lang), csrf, ip, path, session, session_hash, device })
    }
}

/// A known account signing in, as the audit log names it.
#[derive(Clone, Debug)]
pub struct Actor<'a> {
    /// The account's name.
    pub name: &'a str,
    /// Its role's code.
    pub role: &'a str,
    /// The audit target, e.g. `staff:12`.
    pub target: String,
}

/// What [`Ctx::sign_in_staff`] decided.
pub enum StaffSignIn {
    /// The right password: the account, and the device cookie to set with the session's.
    Verified {
        /// The account.
        staff: Staff,
        /// The device cookie.
        device: HeaderValue,
    },
    /// The password was wrong (or the account unknown).
    Failed,
    /// Too many failures: the refusal to return.
    Refused(AppError),
}

/// What [`Ctx::sign_in`] decided.
pub enum SignIn {
    /// The password was right: the device cookie to set with the session's.
    Verified(HeaderValue),
    /// The password was wrong (or the account unknown).
    Failed,
    /// Too many failures: the refusal to return, saying when to come back.
    Refused(AppError),
}

fn set_cookie(text: String) -> Result<HeaderValue, AppError> {
    HeaderValue::from_str(&text).map_err(|e| AppError::internal("a cookie", e))
}

impl Ctx {
    /// Refuses a form whose token is not the visitor's (or, signed in, the session's).
    pub fn check_csrf(&self, token: &str) -> Result<(), AppError> {
        if self.csrf.is_empty() || !auth::constant_time_eq(&self.csrf, token) {
            return Err(AppError::Csrf);
        }
        Ok(())
    }

    /// The subject of the signed-in session of `kind`, if any.
    pub fn subject(&self, kind: &str) -> Option<&str> {
        self.session.as_ref().filter(|s| s.kind == kind).map(|s| s.subject.as_str())
    }

    /// One sign-in attempt for `account` into a session of `kind`: the limits first (a refusal
    /// spends no password check), then `check` (which says whether the password is right), then
    /// the limits are told how it went. The caller starts the session after a
    /// [`SignIn::Verified`], with whatever else it checks first (a role, say).
    ///
    /// When the account is known, `known` names it in the audit log: failures (`login_failed`)
    /// and the first refusal of a window (`login_rate_limited`) are written there. An unknown name is
    /// never logged: it may be a password typed into the wrong field.
    pub async fn sign_in<S: Site>(
        &self,
        state: &S,
        kind: &str,
        account: &str,
        known: Option<Actor<'_>>,
        check: impl Future<Output = Result<bool, AppError>>,
    ) -> Result<SignIn, AppError> {
        let attempt = Attempt { kind, account, client: &self.ip, device: self.device.as_deref() };
        let throttle = state.throttle();
        let at = now().unix();
        let audit = |action: &'static str| async move {
            match &known {
                Some(a) => {
                    state.store().audit(&self.audit(a.name, a.role, action, a.target.clone(), String::new())).await
                }
                None => Ok(()),
            }
        };
        // The attempt counts as a failure from here on, until the password proves right: racing
        // attempts cannot all pass the limit before any of them fails.
        if let Err(retry_after) = throttle.begin(&attempt, at) {
            if throttle.first_refusal(&attempt, at) {
                audit("login_rate_limited").await?;
            }
            return Ok(SignIn::Refused(AppError::TooMany { limit: Limit::SignIn, retry_after }));
        }
        if !check.await? {
            audit("login_failed").await?;
            return Ok(SignIn::Failed);
        }
        let device = throttle.succeeded(&attempt);
        let secure = state.layer().secure_attribute();
        let cookie = set_cookie(format!(
            "{}={device}; Path=/; HttpOnly; SameSite=Strict; Max-Age={DEVICE_SECONDS}{secure}",
            S::SESSION.device
        ))?;
        Ok(SignIn::Verified(cookie))
    }

    /// One sign-in of a member of staff (either console): the account by `username`, its
    /// password checked off the async threads, through [`Ctx::sign_in`].
    pub async fn sign_in_staff<S: Site>(
        &self,
        state: &S,
        kind: &str,
        username: &str,
        password: String,
    ) -> Result<StaffSignIn, AppError> {
        let staff = state.store().staff_by_username(username).await?;
        let hash = staff.as_ref().map(|s| s.password_hash.clone());
        let known =
            staff.as_ref().map(|s| Actor { name: &s.username, role: s.role.code(), target: format!("staff:{}", s.id) });
        Ok(match self.sign_in(state, kind, username, known, auth::check_password(password, hash)).await? {
            SignIn::Verified(device) => match staff {
                Some(staff) => StaffSignIn::Verified { staff, device },
                None => return Err(AppError::unexpected("a password verified without an account")),
            },
            SignIn::Failed => StaffSignIn::Failed,
            SignIn::Refused(e) => StaffSignIn::Refused(e),
        })
    }

    /// Starts a session of `kind` for `subject` with a new session token and a new CSRF token,
    /// returning the cookies to set.
    pub async fn start_session<S: Site>(
        &self,
        state: &S,
        kind: &str,
        subject: &str,
    ) -> Result<Vec<HeaderValue>, AppError> {
        let token = auth::random_token();
        let csrf = auth::random_token();
        let at = now().unix();
        let session = Session {
            kind: kind.into(),
            subject: subject.into(),
            csrf: csrf.clone(),
            expires_at: at + SESSION_SECONDS,
        };
        state.store().create_session(&auth::token_hash(&token), &session, at).await?;
        let secure = state.layer().secure_attribute();
        let SessionCookie { name, path, .. } = S::SESSION;
        Ok(vec![
            set_cookie(format!(
                "{name}={token}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={SESSION_SECONDS}{secure}"
            ))?,
            set_cookie(format!("csrf={csrf}; Path=/; HttpOnly; SameSite=Strict{secure}"))?,
        ])
    }

    /// Ends the session, returning the cookie that clears it.
    pub async fn end_session<S: Site>(&self, state: &S) -> Result<HeaderValue, AppError> {
        if let Some(h) = &self.session_hash {
            state.store().delete_session(h, now().unix()).await?;
        }
        let SessionCookie { name, path, .. } = S::SESSION;
        set_cookie(format!("{name}=; Path={path}; HttpOnly; SameSite=Lax; Max-Age=0"))
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
