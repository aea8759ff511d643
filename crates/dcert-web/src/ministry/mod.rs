//! The Ministry of Education's site (教育部電子證書驗證系統): the public verification pages, the
//! JSON API, the issuing institutions (發證單位) from the signed trust list, the signed
//! issuance-records API that institutions submit to, and the trust list at a stable address.
//!
//! Uploaded files are verified in memory and dropped: only the file's SHA-256, the outcome and
//! the time are kept, for the statistics the Ministry's administrators see.

mod api;
mod bundle;
mod console;
mod content;
mod findings;
pub mod log;
mod receipt;
pub mod records;
mod site;
mod stats;
mod status;
pub mod trust_registry;

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use dcert_core::keys::EcKey;
use dcert_core::pdf::FontBook;
use dcert_core::trust::TrustList;
use dcert_store::{Db, MinistryStore};
use serde::Deserialize;

use crate::http::client::TrustedProxies;
use crate::http::limit::RateLimiter;
use crate::http::{SessionCookie, Site, SiteBase, common_routes, redirect, site_router};
pub use crate::ministry::content::{guide_faq, prepare};
pub use crate::ministry::stats::StatsSink;
pub use crate::ministry::status::{StoreStatus, registry_status};
pub use crate::ministry::trust_registry::RegistryKeys;

/// The signed trust list as published: its exact bytes and what they say.
#[derive(Debug)]
pub struct Published {
    /// The signed JSON, served byte for byte at `/trust.json`.
    pub bytes: Vec<u8>,
    /// The verified list.
    pub list: TrustList,
}

/// The Ministry site's settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinistryConfig {
    /// The site's public address, e.g. `https://dcert.moe.gov.tw`.
    pub public_url: String,
    /// The largest certificate file accepted, in bytes (default 10 MB).
    #[serde(default = "default_upload")]
    pub max_upload_bytes: usize,
    /// The most time one verification may take, in milliseconds (default 10 s).
    #[serde(default = "default_budget")]
    pub verify_budget_ms: u64,
    /// Verifications allowed per client address per minute, pages and API together (default 60).
    #[serde(default = "default_rate")]
    pub verifications_per_minute: u32,
    /// The reverse proxies in front of this site whose `X-Forwarded-For` is believed (addresses
    /// or CIDR blocks); none by default, and then the peer is the client.
    #[serde(default)]
    pub trusted_proxies: TrustedProxies,
    /// Send cookies only over HTTPS; by default, whenever `public_url` is `https://`.
    #[serde(default)]
    pub secure_cookies: Option<bool>,
    /// The bytes all uploads being read or verified may hold at once (default 64 MiB): past
    /// it, a new upload is answered 503 at once instead of buffered.
    #[serde(default = "default_uploads_in_flight")]
    pub max_upload_bytes_in_flight: usize,
    /// Uploads one client may have being read or verified at once (default 2; 0 for no cap,
    /// e.g. for a load test from one machine).
    #[serde(default = "default_uploads_per_client")]
    pub uploads_per_client: usize,
}

fn default_uploads_in_flight() -> usize {
    64 << 20
}

fn default_uploads_per_client() -> usize {
    2
}

fn default_upload() -> usize {
    10 << 20
}

fn default_budget() -> u64 {
    10_000
}

fn default_rate() -> u32 {
    60
}

impl MinistryConfig {
    /// The defaults for a site at `public_url`.
    pub fn new(public_url: &str) -> Self {
        MinistryConfig {
            public_url: public_url.to_owned(),
            max_upload_bytes: default_upload(),
            verify_budget_ms: default_budget(),
            verifications_per_minute: default_rate(),
            trusted_proxies: TrustedProxies::default(),
            secure_cookies: None,
            max_upload_bytes_in_flight: default_uploads_in_flight(),
            uploads_per_client: default_uploads_per_client(),
        }
    }
}

/// Why the Ministry's site cannot start with what it was given.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// The configured trust list does not verify.
    #[error("the trust list does not verify: {0}")]
    TrustList(#[from] dcert_core::trust::TrustListError),
    /// The status signer's key is not the one the trust list names.
    #[error("the status signer's key is not the one the trust list names")]
    WrongStatusSigner,
    /// The log's key is not the one the trust list names (or the list names no log).
    #[error("the log's key is not the one the trust list names")]
    WrongLogKey,
}

/// The key the site signs status answers with, and the registry's address the proofs name.
#[derive(Debug)]
pub struct StatusSigner {
    /// The status signer's private key.
    pub key: EcKey,
    /// The registry's base URL.
    pub registry_url: String,
}

/// What the Ministry's site serves.
#[derive(Clone)]
pub struct MinistryState {
    /// The Ministry's database: the registry, statistics, news and FAQ.
    pub store: MinistryStore,
    /// The signed trust list, as published now.
    pub trust: Arc<RwLock<Arc<Published>>>,
    /// The settings.
    pub config: Arc<MinistryConfig>,
    /// The per-client limit of verifications.
    pub limiter: Arc<RateLimiter>,
    /// Sessions, cookies, trusted proxies and the console's sign-in limits.
    pub base: Arc<SiteBase>,
    /// Verifications running at once (the others wait, within their time budget).
    pub slots: Arc<tokio::sync::Semaphore>,
    /// Uploads being read or verified, bounded in bytes and per client.
    pub(crate) uploads: Arc<api::Uploads>,
    /// Where verifications are counted.
    pub stats: StatsSink,
    /// The Ministry's own issuer kit and fonts, for teacher certificates (電子教師證書); without
    /// it the console says they are not configured.
    pub issuance: Option<Arc<dcert_core::issue::Issuance>>,
    /// The Ministry root's private keys, to onboard institutions and publish the trust list
    /// from the console; without them the console lists the registry but changes nothing that
    /// needs them.
    pub registry_keys: Option<Arc<RegistryKeys>>,
    /// The status signer's key, to sign the answers of `/api/v1/status`; without it they go
    /// unsigned, and verifiers elsewhere treat them as unknown.
    pub status_signer: Option<Arc<StatusSigner>>,
    /// The registry's transparency log: its checkpoints and proofs are served, and status
    /// answers carry the proof of the file's record; without it neither is.
    pub log: Option<Arc<log::Log>>,
    /// The signed offline bundle last made.
    pub bundle: Arc<bundle::BundleCache>,
    /// The certificates' fonts, to show names with rare characters (王𪚥) on result pages as
    /// the certificate prints them.
    pub fonts: Option<Arc<FontBook>>,
}

/// The session kind of the Ministry console (the university console's is `staff`).
pub const MINISTRY: &str = "ministry";

impl Site for MinistryState {
    /// The session cookie, apart from the university site's (a browser shares cookies between two
    /// sites on one host, whatever their ports).
    const SESSION: SessionCookie =
        SessionCookie { name: "moe_session", path: "/console", device: "moe_device", kinds: &[MINISTRY] };

    fn base(&self) -> &SiteBase {
        &self.base
    }

    fn fonts(&self) -> Option<Arc<FontBook>> {
        self.fonts.clone()
    }
}

impl MinistryState {
    /// A state serving `trust_list` (signed JSON) from `store`. Call it on a Tokio runtime: it
    /// starts the statistics writer there.
    ///
    /// The list's root is the one this site pins: the Ministry configures its own list (and
    /// every later list it serves must chain to the same root).
    pub fn new(store: MinistryStore, trust_list: Vec<u8>, config: MinistryConfig) -> Result<Self, SiteError> {
        let unpinned = TrustList::verify(&trust_list, None)?;
        let list = TrustList::verify(&trust_list, Some(unpinned.root.fingerprint()))?;
        let limiter = RateLimiter::new(config.verifications_per_minute, 60);
        let store_for_stats = store.clone();
        let base =
            SiteBase::new(Db::clone(&store), &config.public_url, config.secure_cookies, config.trusted_proxies.clone());
        Ok(MinistryState {
            base: Arc::new(base),
            store,
            trust: Arc::new(RwLock::new(Arc::new(Published { bytes: trust_list, list }))),
            uploads: Arc::new(api::Uploads::new(config.max_upload_bytes_in_flight, config.uploads_per_client)),
            config: Arc::new(config),
            limiter: Arc::new(limiter),
            slots: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()) * 2,
            )),
            stats: StatsSink::start(store_for_stats),
            issuance: None,
            registry_keys: None,
            status_signer: None,
            log: None,
            bundle: Arc::default(),
            fonts: None,
        })
    }

    /// The same state, signing status answers with the status signer's `key`, which must be the
    /// key of the status signer the served trust list names.
    pub fn with_status_signer(mut self, key: EcKey) -> Result<Self, SiteError> {
        let trust = self.trust();
        let named = trust.list.status_signer.as_ref().map(|c| &c.key);
        if named != Some(&key.public()) {
            return Err(SiteError::WrongStatusSigner);
        }
        let registry_url = trust.list.content.registry.clone();
        self.status_signer = Some(Arc::new(StatusSigner { key, registry_url }));
        Ok(self)
    }

    /// The same state, keeping the registry's transparency log and signing its checkpoints with
    /// `key`: the key of the log the served trust list names, or of none yet (a site upgraded
    /// to the log keeps it from the start, so that the first list naming it is served at once).
    pub fn with_log_key(mut self, key: dcert_core::tlog::LogKey) -> Result<Self, SiteError> {
        let trust = self.trust();
        let log = log::Log::new(&dcert_core::tlog::origin_for(&trust.list.content.registry), key);
        if trust.list.log.as_ref().is_some_and(|named| *named != log.verifier()) {
            return Err(SiteError::WrongLogKey);
        }
        self.log = Some(Arc::new(log));
        Ok(self)
    }

    /// The registry as the verifier's status source, answering as of now (call it on the
    /// runtime; the source is used from a blocking thread).
    pub fn store_status(&self) -> StoreStatus {
        StoreStatus {
            store: self.store.clone(),
            runtime: tokio::runtime::Handle::current(),
            now: crate::http::now(),
            log: self.log.clone(),
        }
    }

    /// The same state, issuing teacher certificates with the Ministry's `issuance`.
    pub fn with_issuance(mut self, issuance: dcert_core::issue::Issuance) -> Self {
        self.fonts = Some(issuance.fonts.clone());
        self.issuance = Some(Arc::new(issuance));
        self
    }

    /// The same state, with the certificates' fonts for rare characters on its pages.
    pub fn with_fonts(mut self, fonts: Arc<FontBook>) -> Self {
        self.fonts = Some(fonts);
        self
    }

    /// The same state, onboarding institutions and publishing the trust list with the
    /// Ministry root's `keys`.
    pub fn with_registry_keys(mut self, keys: RegistryKeys) -> Self {
        self.registry_keys = Some(Arc::new(keys));
        self
    }

    /// The trust list published now.
    pub fn trust(&self) -> Arc<Published> {
        self.trust.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The Ministry's site.
pub fn ministry_router(state: MinistryState) -> Router {
    ministry_router_for(state, Part::Everything)
}

/// Which part of the Ministry's site a listener serves: a deployment can keep the console (and
/// the root keys it uses) off the public address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The public site, the APIs and the console.
    Everything,
    /// The public site and the APIs, without the console.
    Public,
    /// The console only.
    Console,
}

/// The part `part` of the Ministry's site.
pub fn ministry_router_for(state: MinistryState, part: Part) -> Router {
    // The body limit is a little above the file limit, so that a multipart form carrying a file
    // of exactly the limit fits; the handlers check the file's own size.
    let body_limit = state.config.max_upload_bytes + api::FORM_OVERHEAD;
    let mut router = Router::new();
    if part == Part::Console {
        router = router.route("/", get(|| async { redirect("/console") })).merge(common_routes());
    } else {
        router = router
            .merge(site::routes(body_limit))
            .merge(api::routes(body_limit))
            .merge(log::routes())
            .route("/api/v1/offline-bundle", get(bundle::offline_bundle))
            .route("/receipt.pdf", post(receipt::receipt_pdf))
            // A record is a few hundred bytes: the body is refused past
            // dcert_core::records::MAX_BODY_BYTES before it is read whole.
            .route(
                "/api/v1/records",
                post(records::submit).layer(DefaultBodyLimit::max(dcert_core::records::MAX_BODY_BYTES)),
            )
            .route("/trust.json", get(trust_list));
    }
    if part != Part::Public {
        router = router.nest("/console", console::routes());
    }
    site_router(router, site::not_found, state)
}

async fn trust_list(State(state): State<MinistryState>) -> Response {
    let published = state.trust();
    ([(CONTENT_TYPE, "application/json"), (CACHE_CONTROL, "max-age=300")], published.bytes.clone()).into_response()
}
