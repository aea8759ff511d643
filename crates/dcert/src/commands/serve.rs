//! `dcert serve` (a university's sites and worker) and `dcert demo` (everything, on this
//! machine, with sample data).

use std::path::PathBuf;

use anyhow::{Context, Result};

use super::{EXIT_SUCCESS, UsageExt, wrong};
use crate::{config, demo, now, server};

/// `dcert demo`.
pub fn demo(data_dir: PathBuf, port: u16, no_serve: bool) -> Result<u8> {
    server::init_logging();
    demo::run(&demo::Options { data_dir, port, no_serve }, now())?;
    Ok(EXIT_SUCCESS)
}

/// `dcert serve`.
pub fn serve(config: PathBuf) -> Result<u8> {
    server::init_logging();
    let config = config::load(&config).usage()?;
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(serve_university(config))?;
    Ok(EXIT_SUCCESS)
}

async fn serve_university(config: config::Config) -> Result<()> {
    let store = server::open_university(&config.database.url).await?;
    server::prepare(&store, &config.campuses).await?;
    let (target, ministry) = match (&config.registry.url, &config.registry.database_url) {
        (Some(url), _) => (server::RegistryTarget::Http(url.clone()), None),
        (None, Some(db)) => {
            let ministry = server::open_ministry(db).await?;
            (server::RegistryTarget::Store(ministry.clone()), Some(ministry))
        }
        (None, None) => return Err(wrong("[registry] needs url or database_url")),
    };
    let ministry = match (ministry, &config.server.ministry_listen) {
        (Some(db), Some(_)) => {
            let trust_list = std::fs::read(&config.keys.trust_list)
                .with_context(|| format!("cannot read the trust list {}", config.keys.trust_list.display()))
                .usage()?;
            let site = dcert_web::ministry::MinistryConfig::new(&config.site.verify_site);
            // A trust list that does not verify is the settings' fault (ministry_state says so).
            let state = server::ministry_state(db, trust_list, site).await?;
            Some(server::with_log(state, config.keys.log_key.as_deref(), "[keys] log_key")?)
        }
        _ => None,
    };
    let worker = server::worker(
        store,
        target,
        &config.keys.issuer_dir,
        config.smtp.as_ref(),
        &config.site.verify_site,
        config.worker.parallelism,
    )
    // The issuer directory, its keys' passphrase, the SMTP settings and the fonts: all given.
    .usage()?;
    let listen = config.server.listen.clone();
    // The console watches the log the institution's trust list names, at the Ministry's site.
    let registry = config.ministry_site();
    let log_watch = std::fs::read(&config.keys.trust_list)
        .ok()
        .and_then(|bytes| dcert_core::trust::TrustList::verify(&bytes, None).ok())
        .and_then(|list| dcert_web::university::LogWatch::of(&registry, &list));
    let services = server::Services { worker, site: config.site, ministry, demo_mailbox: false, log_watch };
    let interval = std::time::Duration::from_secs(config.worker.interval_seconds.max(1));
    server::run(
        services,
        &listen,
        config.server.ministry_listen.as_deref(),
        interval,
        config.server.connections,
        || {
            tracing::info!(listen = %listen, "serving");
        },
    )
    .await
}
