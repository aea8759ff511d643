//! The settings of `dcert serve`: a TOML file, with any value overridden by an environment
//! variable `DCERT_<SECTION>__<KEY>` (e.g. `DCERT_DATABASE__URL`, `DCERT_SMTP__PASSWORD`).
//! `docs/operators.md` lists every setting; `examples/dcert.toml` is a complete example.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use dcert_web::university::SiteConfig;
use dcert_web::university::mail::SmtpConfig;
use serde::Deserialize;

/// Everything `dcert serve` needs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where to listen.
    pub server: ServerConfig,
    /// The university's database.
    pub database: DatabaseConfig,
    /// The institution and the site.
    pub site: SiteConfig,
    /// The institution's keys.
    pub keys: KeysConfig,
    /// The Ministry's registry.
    pub registry: RegistryConfig,
    /// The SMTP relay; without it, emails wait in the console's outbox.
    pub smtp: Option<SmtpConfig>,
    /// The background worker.
    #[serde(default)]
    pub worker: WorkerConfig,
    /// The campuses and their offices (NKUST's five when not given).
    #[serde(default = "crate::server::nkust_campuses")]
    pub campuses: Vec<crate::server::CampusConfig>,
}

impl Config {
    /// The Ministry's site: the registry's address records go to, else the verification site.
    pub fn ministry_site(&self) -> String {
        self.registry.url.clone().unwrap_or_else(|| self.site.verify_site.clone())
    }
}

/// Where to listen.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// The university site's address, e.g. `127.0.0.1:8080`.
    pub listen: String,
    /// The Ministry's site, when this program serves it too (the demo, a test bed).
    pub ministry_listen: Option<String>,
    /// Connection caps and timeouts, for each listener (`[server.connections]`).
    #[serde(default)]
    pub connections: dcert_web::serve::ConnectionLimits,
}

/// The database.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite:///path/university.db` or `postgres://user@host/db`.
    pub url: String,
}

/// The institution's keys, as `dcert keys new-issuer` wrote them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
    /// The issuer directory.
    pub issuer_dir: PathBuf,
    /// The signed trust list (served by the Ministry's site when this program runs it).
    pub trust_list: PathBuf,
    /// The transparency log's key (the root directory's `log.key.pem`), needed when this
    /// program runs the Ministry's site and the trust list names a log.
    pub log_key: Option<PathBuf>,
}

/// The Ministry's registry: its signed records API (`url`), or its database when this program
/// runs the Ministry's site too (`database_url`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// The Ministry's site, e.g. `https://dcert.moe.gov.tw`: records are submitted to its
    /// signed API.
    pub url: Option<String>,
    /// The registry's database, for a registry run by this program.
    pub database_url: Option<String>,
}

/// Everything `dcert ministry serve` needs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinistryFile {
    /// Where to listen.
    pub server: MinistryServer,
    /// The Ministry's database: registry, statistics, news, FAQ, console accounts.
    pub database: DatabaseConfig,
    /// The public site's address and limits.
    pub site: dcert_web::ministry::MinistryConfig,
    /// The trust list to publish.
    pub trust: TrustConfig,
    /// The Ministry as an issuer of teacher certificates (電子教師證書), from its console.
    pub issuer: Option<IssuerConfig>,
}

/// The Ministry's own issuer directory.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// As written by `dcert keys new-issuer --types teacher` or `dcert ministry install`.
    pub dir: PathBuf,
}

/// Where the Ministry's site listens.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinistryServer {
    /// E.g. `127.0.0.1:8081`.
    pub listen: String,
    /// Serve the console on this address instead (an internal one), and not on `listen`.
    pub console_listen: Option<String>,
    /// Connection caps and timeouts, for each listener (`[server.connections]`).
    #[serde(default)]
    pub connections: dcert_web::serve::ConnectionLimits,
}

/// The trust list the Ministry publishes: the latest one in the database (`dcert ministry
/// publish`), or until there is one, a file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustConfig {
    /// A signed trust list file (as `dcert trust export` writes it), served while the database
    /// has none.
    pub list: Option<PathBuf>,
    /// The Ministry root's directory (`dcert keys init-root`): with it the console onboards
    /// institutions and publishes the list.
    pub root_dir: Option<PathBuf>,
    /// The status signer's private key (`status-signer.key.pem` of the root directory, which
    /// the trust list names): the site signs its status answers with it, so that verifiers
    /// elsewhere can believe them. Default: the root directory's, when `root_dir` is given.
    pub status_key: Option<PathBuf>,
    /// The transparency log's private key (`log.key.pem` of the root directory, which the
    /// trust list names): the site keeps the log and signs its checkpoints with it. Default: the
    /// root directory's, when `root_dir` is given.
    pub log_key: Option<PathBuf>,
    /// Seconds between looks for a list published by another node or the CLI (default 60).
    #[serde(default = "default_refresh")]
    pub refresh_seconds: u64,
}

fn default_refresh() -> u64 {
    60
}

/// The background worker.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerConfig {
    /// Seconds between rounds.
    #[serde(default = "default_interval")]
    pub interval_seconds: u64,
    /// Certificates rendered at once (default: the number of cores).
    #[serde(default)]
    pub parallelism: Option<usize>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig { interval_seconds: default_interval(), parallelism: None }
    }
}

fn default_interval() -> u64 {
    30
}

/// Reads the file and applies the environment's overrides.
pub fn load(path: &Path) -> Result<Config> {
    let config: Config = load_as(path)?;
    match (&config.registry.url, &config.registry.database_url) {
        (Some(_), Some(_)) => bail!("in {}: [registry] takes url or database_url, not both", path.display()),
        (None, None) => bail!("in {}: [registry] needs url (the Ministry's site) or database_url", path.display()),
        _ => {}
    }
    if let Some(url) = &config.registry.url {
        dcert_web::http::outbound::check_address(url)
            .with_context(|| format!("in {}: [registry] url", path.display()))?;
    }
    if config.server.ministry_listen.is_some() && config.registry.database_url.is_none() {
        bail!("in {}: serving the Ministry's site (ministry_listen) needs [registry] database_url", path.display());
    }
    Ok(config)
}

/// Reads settings of any shape from a file, with the environment's overrides.
pub fn load_as<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&text, std::env::vars()).with_context(|| format!("in {}", path.display()))
}

/// Parses settings from TOML text and `DCERT_<SECTION>__<KEY>` variables.
pub fn parse<T: serde::de::DeserializeOwned>(
    text: &str,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<T> {
    let mut table: toml::Table = toml::from_str(text).context("not valid TOML")?;
    for (name, value) in vars {
        let Some(rest) = name.strip_prefix("DCERT_") else { continue };
        let Some((section, key)) = rest.split_once("__") else { continue };
        let (section, key) = (section.to_lowercase(), key.to_lowercase());
        let entry = table.entry(section.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let Some(section_table) = entry.as_table_mut() else { bail!("[{section}] is not a section") };
        let value = if let Ok(n) = value.parse::<i64>() {
            toml::Value::Integer(n)
        } else if let Ok(b) = value.parse::<bool>() {
            toml::Value::Boolean(b)
        } else {
            toml::Value::String(value)
        };
        section_table.insert(key, value);
    }
    toml::Value::Table(table).try_into().context("the settings are incomplete or wrong")
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../../examples/dcert.toml");
    const MINISTRY: &str = include_str!("../../../examples/ministry.toml");

    #[test]
    fn the_example_ministry_configuration_parses() {
        let c: MinistryFile = parse(MINISTRY, Vec::new()).unwrap();
        assert_eq!(c.site.max_upload_bytes, 10 << 20);
        let c: MinistryFile =
            parse(MINISTRY, vec![("DCERT_SITE__VERIFICATIONS_PER_MINUTE".to_owned(), "0".to_owned())]).unwrap();
        assert_eq!(c.site.verifications_per_minute, 0);
    }

    #[test]
    fn trusted_proxies_are_a_list_in_the_file_and_comma_separated_in_the_environment() {
        let c: Config =
            parse(EXAMPLE, vec![("DCERT_SITE__TRUSTED_PROXIES".to_owned(), "10.0.0.1, 192.168.0.0/16".to_owned())])
                .unwrap();
        let proxies = &c.site.trusted_proxies;
        assert!(proxies.contains("10.0.0.1".parse().unwrap()) && proxies.contains("192.168.7.7".parse().unwrap()));
        assert!(!proxies.contains("10.0.0.2".parse().unwrap()));
        let text = MINISTRY
            .replace("# trusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]", "trusted_proxies = [\"10.0.0.0/8\"]");
        let m: MinistryFile = parse(&text, Vec::new()).unwrap();
        assert!(m.site.trusted_proxies.contains("10.9.9.9".parse().unwrap()));
        let bad = parse::<Config>(EXAMPLE, vec![("DCERT_SITE__TRUSTED_PROXIES".to_owned(), "proxy.local".to_owned())]);
        assert!(format!("{:#}", bad.unwrap_err()).contains("proxy.local"));
    }

    #[test]
    fn the_example_configuration_parses() {
        let c: Config = parse(EXAMPLE, Vec::new()).unwrap();
        assert_eq!(c.site.institution_id, "nkust");
        assert!(c.smtp.is_none());
    }

    #[test]
    fn environment_variables_override_the_file() {
        let vars = vec![
            ("DCERT_DATABASE__URL".to_owned(), "postgres://dcert@db/dcert".to_owned()),
            ("DCERT_SMTP__HOST".to_owned(), "127.0.0.1".to_owned()),
            ("DCERT_SMTP__PORT".to_owned(), "2525".to_owned()),
            ("DCERT_SMTP__FROM".to_owned(), "registrar@nkust.edu.tw".to_owned()),
            ("DCERT_WORKER__INTERVAL_SECONDS".to_owned(), "5".to_owned()),
            ("OTHER".to_owned(), "x".to_owned()),
        ];
        let c: Config = parse(EXAMPLE, vars).unwrap();
        assert_eq!(c.database.url, "postgres://dcert@db/dcert");
        let smtp = c.smtp.unwrap();
        assert_eq!((smtp.host.as_str(), smtp.port), ("127.0.0.1", 2525));
        assert_eq!(c.worker.interval_seconds, 5);
    }

    #[test]
    fn an_unknown_setting_is_an_error_that_names_it() {
        let err = parse::<Config>(&format!("{EXAMPLE}\n[extra]\nx = 1\n"), Vec::new()).unwrap_err();
        assert!(format!("{err:#}").contains("extra"), "{err:#}");
    }
}
