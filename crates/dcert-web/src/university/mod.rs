//! The university's site: the departure portal for graduates (畢業生離校作業) and the registrar
//! console (教務處註冊組 and the campus offices), with the issuance worker, email delivery and the
//! client of the Ministry's records API that run beside it.

pub mod console;
pub mod demo_mail;
pub mod log_monitor;
pub mod mail;
mod portal;
pub mod registry_client;
pub mod worker;

use std::sync::Arc;

use axum::Router;
use dcert_core::pdf::FontBook;
use dcert_store::{Db, Staff, UniversityStore};
use serde::Deserialize;

pub use self::console::{Action, allowed, permits};
use self::worker::Worker;
use crate::auth;
use crate::http::client::TrustedProxies;
use crate::http::limit::RateLimiter;
use crate::http::{AppError, Ctx, SessionCookie, Site, SiteBase, common_routes, site_router};

/// The session kind of a signed-in graduate.
pub const GRADUATE: &str = "graduate";
/// The session kind of a signed-in member of the university's staff.
pub const STAFF: &str = "staff";

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
    /// The registrar's extension (教務處註冊組), shown on the contact page.
    #[serde(default = "default_registrar_extension")]
    pub registrar_extension: String,
    /// Send cookies only over HTTPS; by default, whenever `public_url` is `https://`.
    #[serde(default)]
    pub secure_cookies: Option<bool>,
    /// The reverse proxies in front of this site whose `X-Forwarded-For` is believed (addresses
    /// or CIDR blocks); none by default.
    #[serde(default)]
    pub trusted_proxies: TrustedProxies,
    /// The largest upload accepted (CSV imports, templates), in bytes.
    #[serde(default = "default_upload")]
    pub max_upload_bytes: usize,
}

impl SiteConfig {
    /// The school as a roster names it: both names and the domain of school addresses.
    pub fn school_names(&self) -> dcert_core::roster::SchoolNames {
        dcert_core::roster::SchoolNames {
            school_zh: self.school_zh.clone(),
            school_en: self.school_en.clone(),
            email_domain: self.email_domain.clone(),
        }
    }
}

fn default_phone() -> String {
    "(07)601-1000".into()
}

fn default_registrar_extension() -> String {
    "31113".into()
}

fn default_upload() -> usize {
    10 << 20
}

/// Address-confirmation links one graduate may ask for per quarter hour.
pub const ADDRESS_CHANGES_PER_QUARTER_HOUR: u32 = 5;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The university's database.
    pub store: UniversityStore,
    /// The settings.
    pub site: Arc<SiteConfig>,
    /// Sessions, cookies, trusted proxies and the sign-in limits of the portal and the console.
    pub base: Arc<SiteBase>,
    /// Address-confirmation links per graduate (the school's mail server is not a way to mail
    /// anyone at will).
    pub address_changes: Arc<RateLimiter>,
    /// How graduates sign in.
    pub graduate_auth: Arc<dyn auth::GraduateAuth>,
    /// The worker, for "issue now", resends and template previews.
    pub worker: Worker,
    /// The Ministry's public issuance log that the console watches in the institution's name;
    /// without it the console says it is not set up.
    pub log_watch: Option<Arc<LogWatch>>,
}

/// Where the console watches the Ministry's transparency log: the Ministry's site and the log's
/// key, as the pinned trust list names it.
#[derive(Clone, Debug)]
pub struct LogWatch {
    /// The Ministry's site, e.g. `https://dcert.moe.gov.tw`.
    pub registry: String,
    /// The log's origin and key.
    pub log: dcert_core::tlog::NoteVerifier,
}

impl LogWatch {
    /// The watch of the log of the Ministry's site at `registry` that `trust` names, if it names one.
    pub fn of(registry: &str, trust: &dcert_core::trust::TrustList) -> Option<LogWatch> {
        trust.log.clone().map(|log| LogWatch { registry: registry.to_owned(), log })
    }
}

impl AppState {
    /// The state of a site with `site`'s settings, graduates signing in with their passwords in
    /// `store`.
    pub fn new(store: UniversityStore, site: SiteConfig, worker: Worker) -> Self {
        let base =
            SiteBase::new(Db::clone(&store), &site.public_url, site.secure_cookies, site.trusted_proxies.clone());
        AppState {
            graduate_auth: Arc::new(auth::StorePasswords { store: store.clone() }),
            store,
            site: Arc::new(site),
            base: Arc::new(base),
            address_changes: Arc::new(RateLimiter::new(ADDRESS_CHANGES_PER_QUARTER_HOUR, 15 * 60)),
            worker,
            log_watch: None,
        }
    }

    /// The same state, its console watching the log of the Ministry's site at `registry`, whose
    /// key the trust list `trust` names (nothing changes if it names none).
    pub fn with_log_watch(mut self, registry: &str, trust: &dcert_core::trust::TrustList) -> Self {
        self.log_watch = LogWatch::of(registry, trust).map(Arc::new);
        self
    }
}

impl Site for AppState {
    const SESSION: SessionCookie =
        SessionCookie { name: "session", path: "/", device: "device", kinds: &[GRADUATE, STAFF] };

    fn base(&self) -> &SiteBase {
        &self.base
    }

    fn fonts(&self) -> Option<Arc<FontBook>> {
        Some(self.worker.issuance.fonts.clone())
    }
}

/// Who is signed in to the university's site.
pub(crate) trait Signed {
    /// The signed-in graduate's student number, or a redirect to the login page.
    fn graduate(&self) -> Result<String, AppError>;
    /// The signed-in member of staff, or a redirect to the console's login page.
    async fn staff(&self, store: &UniversityStore) -> Result<Staff, AppError>;
}

impl Signed for Ctx {
    fn graduate(&self) -> Result<String, AppError> {
        self.subject(GRADUATE).map(str::to_owned).ok_or_else(|| AppError::Redirect("/login".into()))
    }

    async fn staff(&self, store: &UniversityStore) -> Result<Staff, AppError> {
        let staff = match self.subject(STAFF).and_then(|s| s.parse::<i64>().ok()) {
            Some(id) => store.staff_by_id(id).await?,
            None => None,
        };
        staff.ok_or_else(|| AppError::Redirect("/console/login".into()))
    }
}

/// The university's site: the portal, the console and `/healthz`.
pub fn university_router(state: AppState) -> Router {
    site(state, Router::new())
}

/// The university's site with `dcert demo`'s mailbox ([`demo_mail`]), for the demo alone: a real
/// site is [`university_router`], which has no mailbox.
pub fn demo_university_router(state: AppState) -> Router {
    site(state, demo_mail::routes())
}

fn site(state: AppState, extra: Router<AppState>) -> Router {
    let limit = state.site.max_upload_bytes;
    let routes = Router::new()
        .merge(portal::routes())
        .nest("/console", console::routes(limit))
        .merge(common_routes())
        .merge(extra);
    site_router(routes, not_found, state)
}

async fn not_found() -> AppError {
    AppError::NotFound
}
