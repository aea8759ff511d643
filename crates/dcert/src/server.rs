//! `dcert serve`: the university's site and worker, and the Ministry's site when this program
//! runs it too; `dcert ministry serve`: the Ministry's site alone.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use dcert_core::calendar;
use dcert_core::issue::Issuance;
use dcert_store::{Campus, MinistryStore, UniversityStore};
use dcert_web::ministry::{MinistryConfig, MinistryState, ministry_router};
use dcert_web::serve::ConnectionLimits;
use dcert_web::university::mail::{Mailer, SmtpConfig};
use dcert_web::university::registry_client::HttpRegistry;
use dcert_web::university::worker::{Registry, StoreRegistry, Worker};
use dcert_web::university::{AppState, SiteConfig, demo_university_router, university_router};
use serde::Deserialize;

use crate::commands::{UsageExt, wrong};
use crate::fonts;
use crate::keystore::IssuerDir;

/// A campus and its office, from the configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampusConfig {
    /// The code the import files use, e.g. 建工.
    pub code: String,
    /// 建工校區.
    pub name_zh: String,
    /// Jiangong Campus.
    pub name_en: String,
    /// 綜合業務處.
    pub office_zh: String,
    /// Office of General Affairs.
    pub office_en: String,
    /// The telephone extensions, as printed.
    pub extensions: String,
}

/// The five campuses of NKUST and the registrar, with the extensions the guide lists.
pub fn nkust_campuses() -> Vec<CampusConfig> {
    let office = |code: &str, zh: &str, en: &str, ext: &str| CampusConfig {
        code: code.into(),
        name_zh: zh.into(),
        name_en: en.into(),
        office_zh: "綜合業務處".into(),
        office_en: "Office of General Affairs".into(),
        extensions: ext.into(),
    };
    vec![
        office("建工", "建工校區", "Jiangong Campus", "51103、51105、51108、51110-51113"),
        office("第一", "第一校區", "First Campus", "53103-53107"),
        office("楠梓", "楠梓校區", "Nanzi Campus", "52103-52104、52108"),
        office("燕巢", "燕巢校區", "Yanchao Campus", "18502-18503"),
        office("旗津", "旗津校區", "Qijin Campus", "25022-25023"),
    ]
}

/// Opens a university's database.
pub async fn open_university(url: &str) -> Result<UniversityStore> {
    UniversityStore::open(url).await.context("cannot open the university's database")
}

/// Opens the Ministry's database.
pub async fn open_ministry(url: &str) -> Result<MinistryStore> {
    MinistryStore::open(url).await.context("cannot open the Ministry's database")
}

/// Fills what a new database needs: the campuses and, if empty, Taiwan's office calendar.
pub async fn prepare(store: &UniversityStore, campuses: &[CampusConfig]) -> Result<()> {
    for (i, c) in campuses.iter().enumerate() {
        store
            .upsert_campus(&Campus {
                code: c.code.clone(),
                position: i as i64,
                name_zh: c.name_zh.clone(),
                name_en: c.name_en.clone(),
                office_zh: c.office_zh.clone(),
                office_en: c.office_en.clone(),
                extensions: c.extensions.clone(),
            })
            .await?;
    }
    if store.calendar().await?.is_empty() {
        let entry = dcert_store::AuditEntry::local(
            crate::now().unix(),
            "system",
            "system",
            "calendar_import",
            "calendar",
            "Taiwan's office calendar, bundled",
        );
        store.upsert_calendar(&calendar::taiwan_official(), &entry).await?;
    }
    Ok(())
}

/// Where the worker submits issuance records.
#[derive(Clone, Debug)]
pub enum RegistryTarget {
    /// The Ministry's signed records API at this address (production).
    Http(String),
    /// The Ministry's registry database, written directly (a registry run by this program).
    Store(MinistryStore),
}

/// Builds the worker.
pub fn worker(
    store: UniversityStore,
    registry: RegistryTarget,
    issuer_dir: &std::path::Path,
    smtp: Option<&SmtpConfig>,
    verify_site: &str,
    parallelism: Option<usize>,
) -> Result<Worker> {
    let kit = IssuerDir::open(issuer_dir)?.kit()?;
    let fonts = fonts::load()?;
    let mailer = smtp.map(Mailer::new).transpose().context("the SMTP settings are wrong")?.map(Arc::new);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    Ok(Worker {
        store,
        registry: match registry {
            RegistryTarget::Http(url) => Arc::new(HttpRegistry::new(&url, &kit)) as Arc<dyn Registry>,
            RegistryTarget::Store(store) => Arc::new(StoreRegistry { store }),
        },
        issuance: Arc::new(Issuance { kit, fonts: Arc::new(fonts) }),
        mailer,
        verify_site: verify_site.to_owned(),
        parallelism: parallelism.unwrap_or(cores),
    })
}

/// What runs: the sites and the worker.
pub struct Services {
    /// The worker (it holds the university's store).
    pub worker: Worker,
    /// The site settings.
    pub site: SiteConfig,
    /// The Ministry's site, when this program serves it too.
    pub ministry: Option<MinistryState>,
    /// Whether the university's site has the demonstration mailbox (`dcert demo` alone; never
    /// a real site).
    pub demo_mailbox: bool,
    /// The Ministry's log the console watches, when the trust list names one.
    pub log_watch: Option<dcert_web::university::LogWatch>,
}

/// The Ministry's site over its database and trust list, with the guide's questions written on
/// the first start.
pub async fn ministry_state(
    store: MinistryStore,
    trust_list: Vec<u8>,
    config: MinistryConfig,
) -> Result<MinistryState> {
    // The database failing is a runtime failure; a trust list that does not verify is the
    // settings' fault (exit status 2).
    dcert_web::ministry::prepare(&store).await.context("cannot prepare the Ministry's database")?;
    MinistryState::new(store, trust_list, config).usage()
}

/// The Ministry's site keeping the transparency log its trust list names, with the key in the
/// file `key` (the setting `setting` names it). A list that names a log needs the key: without
/// it no status could be proven, and every verification would fail.
pub fn with_log(state: MinistryState, key: Option<&std::path::Path>, setting: &str) -> Result<MinistryState> {
    match (key, state.trust().list.log.is_some()) {
        (Some(path), true) => {
            let key = crate::keystore::read_log_key(path).usage()?;
            state
                .with_log_key(key)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("{}: publish a trust list that names this log key", path.display()))
                .usage()
        }
        (None, true) => Err(wrong(format!(
            "the trust list names a transparency log, and {setting} names no key for it: set it to the root \
             directory's {}",
            crate::keystore::LOG_KEY_FILE
        ))),
        (Some(path), false) => {
            // Kept from now on; verifiers check its proofs once a published list names it.
            tracing::warn!(
                key = %path.display(),
                "the trust list names no transparency log yet: publish a new list (dcert ministry publish)"
            );
            let key = crate::keystore::read_log_key(path).usage()?;
            state.with_log_key(key).map_err(anyhow::Error::msg).usage()
        }
        (None, false) => Ok(state),
    }
}

/// Serves `router` on `listener` within `limits` until `stop` changes.
fn spawn_site(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    limits: ConnectionLimits,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(dcert_web::serve::serve(listener, router, limits, async move {
        let _ = stop.changed().await;
    }))
}

/// Serves the Ministry's site alone until Ctrl-C: everything on `listen`, or the console on
/// `console_listen` and the rest on `listen`, each listener with its own `limits`.
pub async fn run_ministry(
    state: MinistryState,
    listen: &str,
    console_listen: Option<&str>,
    limits: ConnectionLimits,
    on_ready: impl FnOnce(),
) -> Result<()> {
    use dcert_web::ministry::{Part, ministry_router_for};
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let serve =
        |listener, part| spawn_site(listener, ministry_router_for(state.clone(), part), limits, stop_rx.clone());
    let public = bind(listen, "Ministry site").await?;
    let sites = match console_listen {
        Some(address) => {
            let console = bind(address, "Ministry console").await?;
            vec![serve(public, Part::Public), serve(console, Part::Console)]
        }
        None => vec![serve(public, Part::Everything)],
    };
    on_ready();
    tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
    eprintln!("stopping…");
    let _ = stop_tx.send(true);
    for site in sites {
        site.await.context("the Ministry site stopped")?;
    }
    Ok(())
}

async fn bind(address: &str, what: &str) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} for the {what} (is another program using the port?)"))
}

/// Binds the ports, then serves until Ctrl-C, running the worker every `interval`.
pub async fn run(
    services: Services,
    listen: &str,
    ministry_listen: Option<&str>,
    interval: Duration,
    limits: ConnectionLimits,
    on_ready: impl FnOnce(),
) -> Result<()> {
    let university = bind(listen, "university site").await?;
    let ministry = match ministry_listen {
        Some(address) => Some(bind(address, "Ministry site").await?),
        None => None,
    };
    let mut state = AppState::new(services.worker.store.clone(), services.site, services.worker.clone());
    state.log_watch = services.log_watch.map(Arc::new);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(services.worker.clone().run(interval, stop_rx.clone()));
    // Each site has its own connection caps: one site's overload leaves the other answering.
    let router = if services.demo_mailbox { demo_university_router(state) } else { university_router(state) };
    let uni = spawn_site(university, router, limits, stop_rx.clone());
    let moe = match (ministry, services.ministry) {
        (Some(listener), Some(state)) => Some(spawn_site(listener, ministry_router(state), limits, stop_rx.clone())),
        (Some(_), None) => anyhow::bail!("the Ministry's site needs the registry database ([registry] database_url)"),
        _ => None,
    };
    on_ready();
    tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
    eprintln!("stopping…");
    let _ = stop_tx.send(true);
    uni.await.context("the university site stopped")?;
    if let Some(m) = moe {
        m.await.context("the Ministry site stopped")?;
    }
    let _ = worker.await;
    Ok(())
}

/// Logs to stderr; `RUST_LOG` chooses the level (info by default).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// `dcert ministry serve`: the Ministry's site over its database, serving the latest published
/// trust list (or the configured file until one is published), with the Ministry's issuer kit
/// for teacher certificates when configured; other nodes' publications are picked up.
pub async fn serve_ministry(config: crate::config::MinistryFile) -> Result<()> {
    use dcert_web::ministry::trust_registry;
    let store = open_ministry(&config.database.url).await?;
    let trust_list = match (trust_registry::latest(&store).await?, &config.trust.list) {
        (Some(published), _) => published,
        (None, Some(path)) => {
            std::fs::read(path).with_context(|| format!("cannot read the trust list {}", path.display())).usage()?
        }
        (None, None) => {
            return Err(wrong(
                "the registry has published no trust list yet and [trust] list names none: run dcert ministry publish",
            ));
        }
    };
    // What follows reads the settings' files: a failure is the settings' fault (exit status 2).
    let mut state = ministry_state(store, trust_list, config.site).await?;
    match fonts::load() {
        Ok(fonts) => state = state.with_fonts(Arc::new(fonts)),
        Err(e) => tracing::warn!(error = %e, "no certificate fonts: rare characters show as boxes on result pages"),
    }
    if let Some(root_dir) = &config.trust.root_dir {
        state = state.with_registry_keys(registry_keys(root_dir).usage()?);
    }
    // A root directory made before status answers were signed got its status signer when
    // registry_keys opened it.
    let status_key = config
        .trust
        .status_key
        .clone()
        .or_else(|| config.trust.root_dir.as_ref().map(|dir| dir.join("status-signer.key.pem")));
    match status_key {
        Some(path) => {
            let key = crate::keystore::read_ec_key(&path).usage()?;
            state = state
                .with_status_signer(key)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("{}: publish a trust list that names this status signer", path.display()))
                .usage()?;
        }
        None => tracing::warn!(
            "no status signer ([trust] status_key): status answers go unsigned, and verifiers elsewhere cannot use them"
        ),
    }
    let log_key = config
        .trust
        .log_key
        .clone()
        .or_else(|| config.trust.root_dir.as_ref().map(|dir| dir.join(crate::keystore::LOG_KEY_FILE)));
    state = with_log(state, log_key.as_deref(), "[trust] log_key")?;
    // The tree is read from the store now, not by the first visitor's verification.
    if let Some(log) = state.log.clone() {
        let store = state.store.clone();
        tokio::spawn(async move {
            match log.checkpoint(&store).await {
                Ok(_) => tracing::info!("the transparency log is loaded"),
                Err(e) => tracing::error!(error = %e, "the transparency log could not be loaded"),
            }
        });
    }
    if let Some(issuer) = &config.issuer {
        let kit = IssuerDir::open(&issuer.dir).and_then(|d| d.kit()).usage()?;
        state = state.with_issuance(Issuance { kit, fonts: Arc::new(fonts::load()?) });
    }
    let refresher = state.clone();
    let every = Duration::from_secs(config.trust.refresh_seconds.max(1));
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            match trust_registry::refresh(&refresher).await {
                Ok(true) => tracing::info!("serving a newly published trust list"),
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "the published trust list could not be loaded"),
            }
        }
    });
    let listen = config.server.listen.clone();
    let console = config.server.console_listen.clone();
    run_ministry(state, &listen, console.as_deref(), config.server.connections, || {
        tracing::info!(listen = %listen, console = console.as_deref().unwrap_or("(with the site)"), "serving the Ministry's site")
    })
    .await
}

/// The Ministry root's keys from its directory, for the console's onboarding and publishing.
pub fn registry_keys(root_dir: &std::path::Path) -> Result<dcert_web::ministry::RegistryKeys> {
    let root = crate::keystore::RootDir::open(root_dir)?;
    let keys = dcert_web::ministry::RegistryKeys {
        ca: root.ca_key()?,
        root_cert: root.cert.clone(),
        signer: root.signer_key()?,
        signer_cert: root.signer_cert.clone(),
        registry_url: root.info.registry.clone(),
        status_cert: Some(root.status_cert.clone()),
        log: Some(root.log_descriptor()?),
    };
    keys.check().with_context(|| format!("the root directory {}", root_dir.display()))?;
    Ok(keys)
}
