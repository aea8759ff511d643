#![doc = include_str!("../README.md")]

mod bench;
mod bench_hostile;
mod bench_issue;
mod config;
mod demo;
mod fonts;
mod keystore;
mod online;
mod registry_cli;
mod report;
mod server;
mod verifier;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use dcert_core::model::{CredentialType, DegreeLevel, Language, RecordFile};
use dcert_core::pdf::{Limits, Template};
use dcert_core::trust::{Accreditation, KeyEntry, TrustList, TrustListContent};
use dcert_core::{Sha256Digest, Timestamp, issue};

use crate::keystore::{IssuerDir, IssuerProfile, RootDir};

/// Exit status: every file verified successfully, or the command succeeded.
const EXIT_SUCCESS: u8 = 0;
/// Exit status: at least one file failed verification.
const EXIT_FAILURE: u8 = 1;
/// Exit status: bad arguments or input the command could not use (unreadable trust list, …).
const EXIT_USAGE: u8 = 2;
/// Exit status: no file failed, but at least one is superseded by a newer version.
const EXIT_WARNING: u8 = 3;

#[derive(Parser)]
#[command(
    name = "dcert",
    version,
    about = "Issue and verify digital degree certificates (數位學位證書).",
    long_about = "Issue and verify digital degree certificates (數位學位證書).\n\n\
        A certificate is a signed PDF/A-3 file: the diploma page, a W3C Verifiable Credential \
        attached as credential.json, a QR code with a signed seal, and a PAdES signature over \
        every byte. The Ministry's trust list says which institutions and keys to trust.\n\n\
        A first walk-through:\n  \
        dcert keys init-root --registry http://localhost:8081 --out moe\n  \
        dcert trust pin ROOT-FINGERPRINT   (as init-root prints; verifiers trust only a pinned root)\n  \
        dcert keys new-issuer --root moe --id nkust --name-zh 國立高雄科技大學 \\\n      \
        --name-en \"National Kaohsiung University of Science and Technology\" --out nkust\n  \
        dcert trust export --root moe --issuer nkust --out trust.json\n  \
        dcert issue --issuer nkust --record examples/record.json --lang zh --out cert-zh.pdf\n  \
        dcert verify --trust trust.json cert-zh.pdf",
    after_help = "Exit status of verify: 0 every file succeeded, 1 a file failed (without a pinned root, \
        every file fails), 3 a file is superseded \
        (warning, none failed), 2 usage or input errors (a file that cannot be read, a trust list \
        that does not verify).\n\
        Private keys are written with mode 0600, encrypted when DCERT_KEY_PASSPHRASE is set."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the Ministry root and institutions' keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Build the signed trust list that verifiers use.
    #[command(subcommand)]
    Trust(TrustCommand),
    /// Issue one certificate file from a record.
    Issue(IssueArgs),
    /// Verify certificate files (PDF or credential.json) against a trust list offline, or
    /// through the Ministry's registry.
    Verify(verifier::VerifyArgs),
    /// Show, or check, certificate templates.
    #[command(subcommand)]
    Template(TemplateCommand),
    /// Show where the certificate fonts are found.
    Fonts,
    /// Set up a Ministry root, a university and the Ministry as issuers, and issue and verify
    /// sample certificates in a data directory.
    Demo {
        /// Where the demo keeps its keys, databases, accounts and samples.
        #[arg(long, default_value = "dcert-demo")]
        data_dir: PathBuf,
        /// The university's port; the Ministry is served on the next one.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Set up and write the samples, then exit without serving.
        #[arg(long)]
        no_serve: bool,
    },
    /// Serve the university's portal and console, the worker, and optionally the Ministry's
    /// trust list and registry, with settings from a file and DCERT_<SECTION>__<KEY> variables.
    Serve {
        /// The settings file (see examples/dcert.toml).
        #[arg(long)]
        config: PathBuf,
    },
    /// The Ministry of Education's side: its site, and the registry of issuing institutions
    /// (onboarding, key rotation and revocation, publishing the signed trust list).
    #[command(subcommand)]
    Ministry(MinistryCommand),
    /// Import data into the university's database.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Manage console accounts.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// Manage graduates' sign-in.
    #[command(subcommand)]
    Graduates(GraduatesCommand),
    /// Measure throughput.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create the Ministry root: a CA for PDF signing certificates and a trust list signer.
    InitRoot {
        /// The directory to create the root in.
        #[arg(long)]
        out: PathBuf,
        /// The registry's base URL, where the Ministry will publish issuers and the verification
        /// site; issuer URLs in every certificate are <registry>/issuers/<id>. The demo uses
        /// http://localhost:8081.
        #[arg(long)]
        registry: String,
        /// The Ministry's name in English, written into the certificates.
        #[arg(long, default_value = "Ministry of Education, R.O.C. (Taiwan)")]
        name_en: String,
        /// How many years the root is valid.
        #[arg(long, default_value_t = 20)]
        years: i64,
    },
    /// Create an institution: a credential key, a PDF signing key and its certificate from the root.
    /// For a key rotation, create a new directory with the same --id, retire the old one, and
    /// export the trust list with both: certificates signed with the old keys stay valid.
    NewIssuer(NewIssuerArgs),
    /// End an institution directory's credential key at a time (after a rotation).
    Retire {
        /// The institution directory.
        #[arg(long)]
        issuer: PathBuf,
        /// When the key stops being valid (RFC 3339); default now.
        #[arg(long)]
        at: Option<Timestamp>,
    },
    /// Revoke an institution directory's keys from a time on (after a compromise): certificates
    /// that claim a later signing time fail verification.
    Revoke {
        /// The institution directory.
        #[arg(long)]
        issuer: PathBuf,
        /// From when (RFC 3339): the earliest moment the keys may have been in other hands.
        #[arg(long)]
        from: Timestamp,
        /// Why, as verifiers will show it.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Args)]
struct NewIssuerArgs {
    /// The root directory (from init-root) whose CA certifies the institution.
    #[arg(long)]
    root: PathBuf,
    /// The institution's registry id: 2 to 32 lowercase letters, digits or '-'.
    #[arg(long)]
    id: String,
    /// The name in Traditional Chinese, e.g. 國立高雄科技大學.
    #[arg(long)]
    name_zh: String,
    /// The name in English.
    #[arg(long)]
    name_en: String,
    /// The directory to create.
    #[arg(long)]
    out: PathBuf,
    /// Credential types it may issue.
    #[arg(long, value_delimiter = ',', default_value = "degree", value_parser = parse_type)]
    types: Vec<CredentialType>,
    /// Degree levels it may issue.
    #[arg(long, value_delimiter = ',', default_value = "associate,bachelor,master,doctor", value_parser = parse_level)]
    levels: Vec<DegreeLevel>,
    /// Start of the keys' validity (RFC 3339); default now.
    #[arg(long)]
    valid_from: Option<Timestamp>,
    /// End of the keys' validity (RFC 3339); default five years on.
    #[arg(long)]
    valid_until: Option<Timestamp>,
}

#[derive(Subcommand)]
enum TrustCommand {
    /// Write the signed trust list of the given institutions.
    Export {
        /// The root directory.
        #[arg(long)]
        root: PathBuf,
        /// An institution directory; repeat for each.
        #[arg(long = "issuer", required = true)]
        issuers: Vec<PathBuf>,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
        /// The list's sequence number; default the current Unix time.
        #[arg(long)]
        sequence: Option<u64>,
        /// Days until the next list is due.
        #[arg(long, default_value_t = 30)]
        next_update_days: i64,
    },
    /// Pin the Ministry root that `dcert verify` trusts, in the verifier's state file.
    Pin {
        /// The root's SHA-256 fingerprint (hex), as the Ministry publishes it.
        fingerprint: Sha256Digest,
        /// The verifier's state file; default $XDG_CONFIG_HOME/dcert/verifier.toml or
        /// ~/.config/dcert/verifier.toml.
        #[arg(long, env = "DCERT_VERIFIER_STATE")]
        state: Option<PathBuf>,
    },
}

#[derive(Args)]
struct IssueArgs {
    /// The institution directory (from keys new-issuer).
    #[arg(long)]
    issuer: PathBuf,
    /// The record, JSON (see examples/record.json).
    #[arg(long)]
    record: PathBuf,
    /// The language of the certificate: zh (Traditional Chinese; zh-TW and zh-Hant are accepted
    /// too) or en.
    #[arg(long, value_parser = parse_language)]
    lang: Language,
    /// The PDF file to write.
    #[arg(long)]
    out: PathBuf,
    /// A template file; default the built-in design for the record's type and language.
    #[arg(long)]
    template: Option<PathBuf>,
    /// The issue time (RFC 3339); default now.
    #[arg(long)]
    at: Option<Timestamp>,
}

#[derive(Subcommand)]
enum TemplateCommand {
    /// Print a built-in template, as a starting point for an institution's own design.
    Default {
        /// degree or teacher.
        #[arg(long = "type", value_parser = parse_type, default_value = "degree")]
        credential_type: CredentialType,
        /// zh or en.
        #[arg(long, value_parser = parse_language)]
        lang: Language,
    },
    /// Check a template file.
    Check {
        /// The template file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum MinistryCommand {
    /// Serve the Ministry's site alone: verification pages, the JSON API, the signed
    /// issuance-records API and the trust list, with settings from a file (see
    /// examples/ministry.toml) and DCERT_<SECTION>__<KEY> variables.
    Serve {
        /// The settings file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Add a Ministry console account; the password is read from standard input (one line).
    StaffAdd {
        /// The Ministry's settings file.
        #[arg(long)]
        config: PathBuf,
        /// The login name.
        #[arg(long)]
        username: String,
        /// The name shown in the console and the audit log.
        #[arg(long)]
        name: String,
        /// ministry_admin (everything) or ministry_editor (news and FAQ).
        #[arg(long)]
        role: String,
    },
    #[command(flatten)]
    Registry(registry_cli::RegistryCommand),
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Import graduates from the student information system's CSV (UTF-8; see the console's
    /// import page for the columns). All rows or none.
    Graduates {
        /// The settings file.
        #[arg(long)]
        config: PathBuf,
        /// Accept only rows of this campus (e.g. 建工).
        #[arg(long)]
        campus: Option<String>,
        /// The CSV file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum GraduatesCommand {
    /// Set the portal passwords of graduates, read from standard input as CSV lines
    /// `student_number,password` (one graduate or a whole class; a header line is skipped).
    SetPassword {
        /// The settings file.
        #[arg(long)]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Add a console account; the password is read from standard input (one line).
    Add {
        /// The settings file.
        #[arg(long)]
        config: PathBuf,
        /// The login name.
        #[arg(long)]
        username: String,
        /// The name shown in the console and the audit log.
        #[arg(long)]
        name: String,
        /// registrar, campus_office or admin.
        #[arg(long)]
        role: String,
        /// The campus of a campus office.
        #[arg(long)]
        campus: Option<String>,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Verify each crafted hostile file (arrays of a million empty arrays, endless strings, …) and
    /// a genuine certificate, each in a process of its own: peak memory and time, and their
    /// ratios to the genuine certificate's.
    Hostile {
        /// The trust list.
        #[arg(long)]
        trust: PathBuf,
        #[command(flatten)]
        pin: verifier::PinArgs,
        /// The size of each crafted file, in bytes (default: just under the 10 MiB limit).
        #[arg(long)]
        size: Option<usize>,
        /// The dcert binary to measure (default: this one), e.g. an older build.
        #[arg(long)]
        dcert: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// A genuine certificate, the baseline.
        file: PathBuf,
    },
    /// Write the crafted hostile files into a directory (what bench hostile measures).
    #[command(hide = true)]
    HostileShapes {
        /// The size of each file, in bytes.
        #[arg(long)]
        size: usize,
        /// The directory.
        dir: PathBuf,
    },
    /// Issue and verify on one thread, with the floor (SHA-256 + Ed25519 verify) in the same run.
    Core {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Spend the time on one measurement only (issue, verify or floor), e.g. to profile it.
        #[arg(long, value_parser = ["issue", "verify", "floor"])]
        only: Option<String>,
    },
    /// Verify one file in process, over and over, on one thread and on every core: the
    /// baseline that scripts/load-test compares the HTTP API with.
    Verify {
        /// The trust list.
        #[arg(long)]
        trust: PathBuf,
        #[command(flatten)]
        pin: verifier::PinArgs,
        /// Seconds per measurement.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The certificate file.
        file: PathBuf,
    },
    /// Issue a whole graduating class through the production path (import, confirmation,
    /// collection orders, the worker, the registry) on a fresh database, time each phase, check
    /// every graduate got exactly one certificate, and compare with rendering in memory.
    Issue {
        /// Graduates in the class.
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        /// A PostgreSQL server (postgres://...): the bench works in a new schema and drops it.
        /// Default: a new SQLite file in a temporary directory.
        #[arg(long)]
        database: Option<String>,
        /// Certificates rendered at once; default the available cores.
        #[arg(long)]
        parallelism: Option<usize>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn parse_language(s: &str) -> Result<Language, String> {
    s.parse().map_err(|e: dcert_core::model::ModelError| e.to_string())
}

fn parse_type(s: &str) -> Result<CredentialType, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| format!("{s:?} is not degree or teacher"))
}

fn parse_level(s: &str) -> Result<DegreeLevel, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| format!("{s:?} is not associate, bachelor, master or doctor"))
}

pub(crate) fn now() -> Timestamp {
    let secs =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    Timestamp(secs)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn run(command: Command) -> Result<u8> {
    match command {
        Command::Keys(KeysCommand::InitRoot { out, registry, name_en, years }) => {
            let root = RootDir::create(&out, &registry, &name_en, now(), years)?;
            println!("Created the Ministry root in {}", out.display());
            println!("  registry          {}", root.info.registry);
            println!("  root fingerprint  {}", root.info.root_fingerprint);
            println!("  private keys      {}", keystore::key_protection());
            println!("Verifiers pin this root: dcert trust pin {}", root.info.root_fingerprint);
            Ok(EXIT_SUCCESS)
        }
        Command::Keys(KeysCommand::NewIssuer(args)) => {
            let root = RootDir::open(&args.root)?;
            let from = args.valid_from.unwrap_or_else(now);
            let until = args.valid_until.unwrap_or(from.plus_seconds(5 * 365 * 86_400));
            if until <= from {
                bail!("--valid-until must be after --valid-from");
            }
            let profile = IssuerProfile {
                id: args.id,
                name_zh: args.name_zh,
                name_en: args.name_en,
                registry: root.info.registry.clone(),
                accreditation: Accreditation { credential_types: args.types, degree_levels: args.levels },
                credential_key: KeyEntry {
                    public_key_multibase: String::new(),
                    valid_from: from,
                    valid_until: until,
                    revoked_from: None,
                    revocation_reason: None,
                },
            };
            let issuer = IssuerDir::create(&args.out, &root, profile, from, until)?;
            println!("Created institution {} in {}", issuer.profile.id, args.out.display());
            println!("  private keys    {}", keystore::key_protection());
            println!("  credential key  {}", issuer.profile.credential_key.public_key_multibase);
            println!("  valid           {from} to {until}");
            Ok(EXIT_SUCCESS)
        }
        Command::Keys(KeysCommand::Retire { issuer, at }) => {
            let mut dir = IssuerDir::open(&issuer)?;
            dir.retire(at.unwrap_or_else(now))?;
            println!(
                "The credential key of {} in {} is valid until {}; export the trust list again.",
                dir.profile.id,
                issuer.display(),
                dir.profile.credential_key.valid_until
            );
            Ok(EXIT_SUCCESS)
        }
        Command::Keys(KeysCommand::Revoke { issuer, from, reason }) => {
            if reason.trim().is_empty() {
                bail!("--reason must say why the keys are revoked");
            }
            let mut dir = IssuerDir::open(&issuer)?;
            dir.revoke(from, reason.trim())?;
            println!(
                "The keys of {} in {} are revoked from {}; export the trust list again.",
                dir.profile.id,
                issuer.display(),
                dir.profile.credential_key.revoked_from.map(|t| t.to_string()).unwrap_or_default()
            );
            Ok(EXIT_SUCCESS)
        }
        Command::Trust(TrustCommand::Pin { fingerprint, state }) => verifier::pin(fingerprint, state),
        Command::Trust(TrustCommand::Export { root, issuers, out, sequence, next_update_days }) => {
            let root = RootDir::open(&root)?;
            let mut entries = Vec::new();
            for dir in &issuers {
                let issuer = IssuerDir::open(dir)?;
                if issuer.profile.registry != root.info.registry {
                    bail!(
                        "{} belongs to registry {}, not {}",
                        dir.display(),
                        issuer.profile.registry,
                        root.info.registry
                    );
                }
                entries.push(issuer.trust_entry());
            }
            let entries = keystore::merge_entries(entries);
            let issued = now();
            let content = TrustListContent {
                kind: "DcertTrustList".into(),
                format: dcert_core::trust::FORMAT_VERSION,
                registry: root.info.registry.clone(),
                sequence: sequence.unwrap_or(issued.unix() as u64),
                issued,
                next_update: Some(issued.plus_seconds(next_update_days * 86_400)),
                root_certificate: dcert_core::trust::Der(root.cert.der.clone()),
                signer_certificate: dcert_core::trust::Der(root.signer_cert.der.clone()),
                status_signer_certificate: Some(dcert_core::trust::Der(root.status_cert.der.clone())),
                issuers: entries,
                proof: None,
            };
            let json = TrustList::sign(&content, &root.signer_key()?)?;
            let bytes = serde_json::to_vec_pretty(&json)?;
            // Check what was written verifies before anyone relies on it.
            TrustList::verify(&bytes, Some(root.cert.fingerprint())).context("the new trust list does not verify")?;
            keystore::replace_file(&out, &bytes)?;
            println!(
                "Wrote {} with {} institution(s), sequence {}",
                out.display(),
                content.issuers.len(),
                content.sequence
            );
            println!("  root fingerprint  {}", root.cert.fingerprint());
            Ok(EXIT_SUCCESS)
        }
        Command::Issue(args) => {
            let issuer = IssuerDir::open(&args.issuer)?;
            let text = std::fs::read_to_string(&args.record)
                .with_context(|| format!("cannot read the record {}", args.record.display()))?;
            let record: RecordFile = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a valid record", args.record.display()))?;
            let certificate =
                record.into_certificate(args.lang).with_context(|| format!("{}", args.record.display()))?;
            let template = match &args.template {
                Some(path) => Template::parse(
                    &std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?,
                )
                .with_context(|| format!("template {}", path.display()))?,
                None => Template::default_for(certificate.subject.credential_type(), args.lang),
            };
            // Refuse what verification would refuse: a file nobody can verify helps no one.
            if let Some(why) = issuer.trust_entry().refusal(&certificate) {
                bail!("{} cannot issue this certificate: {why}", issuer.profile.id);
            }
            let fonts = fonts::load()?;
            let kit = issuer.kit()?;
            let file = issue::issue(&certificate, &kit, &template, &fonts, args.at.unwrap_or_else(now))?;
            // An issued certificate is never overwritten: the holder's copy must stay the original.
            keystore::write_new(&args.out, &file.bytes, 0o644)?;
            println!(
                "Wrote {} ({} bytes): certificate {} · {} · version {}",
                args.out.display(),
                file.bytes.len(),
                certificate.number,
                certificate.language,
                certificate.version
            );
            println!("  sha256  {}", file.sha256);
            Ok(EXIT_SUCCESS)
        }
        Command::Verify(args) => verifier::run(args),
        Command::Template(TemplateCommand::Default { credential_type, lang }) => {
            println!("{}", serde_json::to_string_pretty(&Template::default_for(credential_type, lang))?);
            Ok(EXIT_SUCCESS)
        }
        Command::Template(TemplateCommand::Check { file }) => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let template = Template::parse(&text).with_context(|| format!("{}", file.display()))?;
            let fonts = fonts::load()?;
            for text in &template.texts {
                if fonts.family(&text.font).is_none() {
                    bail!(
                        "the template uses font family {:?}; available: {}",
                        text.font,
                        fonts.family_names().collect::<Vec<_>>().join(", ")
                    );
                }
            }
            println!(
                "{}: a valid {} template in {}",
                file.display(),
                template.credential_type.code(),
                template.language
            );
            Ok(EXIT_SUCCESS)
        }
        Command::Demo { data_dir, port, no_serve } => {
            server::init_logging();
            demo::run(&demo::Options { data_dir, port, no_serve }, now())?;
            Ok(EXIT_SUCCESS)
        }
        Command::Serve { config } => {
            server::init_logging();
            let config = config::load(&config)?;
            tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(serve(config))?;
            Ok(EXIT_SUCCESS)
        }
        Command::Ministry(MinistryCommand::Serve { config }) => {
            server::init_logging();
            let config: config::MinistryFile = config::load_as(&config)?;
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(server::serve_ministry(config))?;
            Ok(EXIT_SUCCESS)
        }
        Command::Ministry(MinistryCommand::StaffAdd { config, username, name, role }) => {
            let config: config::MinistryFile = config::load_as(&config)?;
            let role: dcert_store::Role = role
                .parse()
                .ok()
                .filter(|r| matches!(r, dcert_store::Role::MinistryAdmin | dcert_store::Role::MinistryEditor))
                .ok_or_else(|| anyhow::anyhow!("the role is ministry_admin or ministry_editor"))?;
            let hash = dcert_web::auth::hash_password(&read_new_password()?);
            tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
                let store = server::open_store(&config.database.url, "Ministry").await?;
                store.create_staff(&username, &name, &hash, role, None, now().unix()).await?;
                anyhow::Ok(())
            })?;
            println!("added {username} ({})", role.code());
            Ok(EXIT_SUCCESS)
        }
        Command::Ministry(MinistryCommand::Registry(command)) => {
            registry_cli::run(command)?;
            Ok(EXIT_SUCCESS)
        }
        Command::Import(ImportCommand::Graduates { config, campus, file }) => {
            let config = config::load(&config)?;
            let bytes = verifier::read_bounded(&file, 64 << 20)?;
            tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
                let store = server::open_store(&config.database.url, "university").await?;
                server::prepare(&store, &config.campuses).await?;
                let all: Vec<String> = store.campuses().await?.into_iter().map(|c| c.code).collect();
                if let Some(c) = &campus
                    && !all.contains(c)
                {
                    anyhow::bail!("unknown campus {c}; the campuses are {}", all.join(", "));
                }
                let allowed: Vec<&str> =
                    all.iter().map(String::as_str).filter(|c| campus.as_deref().is_none_or(|x| x == *c)).collect();
                let rows = match dcert_web::university::roster_rows(&bytes, &config.site, &allowed) {
                    Ok(rows) => rows,
                    Err(errors) => {
                        for e in &errors {
                            eprintln!("{}: {e}", file.display());
                        }
                        anyhow::bail!("{} problem(s); nothing was imported", errors.len());
                    }
                };
                let s = store.import_graduates(&rows, now().unix()).await?;
                store
                    .audit(&dcert_store::AuditEntry {
                        at: now().unix(),
                        actor: "cli".into(),
                        role: "operator".into(),
                        action: "import_graduates".into(),
                        target: "graduates".into(),
                        detail: format!("inserted {} updated {} unchanged {}", s.inserted, s.updated, s.unchanged),
                        ip: "-".into(),
                    })
                    .await?;
                println!(
                    "imported {} rows: {} new, {} updated, {} unchanged",
                    rows.len(),
                    s.inserted,
                    s.updated,
                    s.unchanged
                );
                anyhow::Ok(())
            })?;
            Ok(EXIT_SUCCESS)
        }
        Command::Graduates(GraduatesCommand::SetPassword { config }) => {
            let config = config::load(&config)?;
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).context("cannot read standard input")?;
            let mut pairs = Vec::new();
            for (i, line) in text.lines().enumerate() {
                let line = line.trim_start_matches('\u{feff}').trim();
                if line.is_empty() || line.eq_ignore_ascii_case("student_number,password") {
                    continue;
                }
                let Some((number, password)) = line.split_once(',') else {
                    bail!("line {}: expected student_number,password", i + 1);
                };
                if password.chars().count() < 8 {
                    bail!("line {}: the password must have at least 8 characters", i + 1);
                }
                pairs.push((number.trim().to_uppercase(), password.to_owned()));
            }
            tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
                let store = server::open_store(&config.database.url, "university").await?;
                for (number, _) in &pairs {
                    if store.graduate_terms(number).await?.is_empty() {
                        bail!("{number} is not an imported graduate; import the class first");
                    }
                }
                for (number, password) in &pairs {
                    store
                        .set_graduate_password(number, &dcert_web::auth::hash_password(password), now().unix())
                        .await?;
                }
                anyhow::Ok(())
            })?;
            println!("set {} password(s)", pairs.len());
            Ok(EXIT_SUCCESS)
        }
        Command::Staff(StaffCommand::Add { config, username, name, role, campus }) => {
            let config = config::load(&config)?;
            let role: dcert_store::Role = role
                .parse()
                .ok()
                .filter(|r| {
                    matches!(
                        r,
                        dcert_store::Role::Registrar | dcert_store::Role::CampusOffice | dcert_store::Role::Admin
                    )
                })
                .ok_or_else(|| anyhow::anyhow!("the role is registrar, campus_office or admin"))?;
            let hash = dcert_web::auth::hash_password(&read_new_password()?);
            tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
                let store = server::open_store(&config.database.url, "university").await?;
                server::prepare(&store, &config.campuses).await?;
                store.create_staff(&username, &name, &hash, role, campus.as_deref(), now().unix()).await?;
                anyhow::Ok(())
            })?;
            println!("added {username} ({})", role.code());
            Ok(EXIT_SUCCESS)
        }
        Command::Fonts => {
            for found in fonts::locate_all()? {
                println!("{}\n  {} (face {})", found.role, found.path.display(), found.index);
            }
            Ok(EXIT_SUCCESS)
        }
        Command::Bench(BenchCommand::Hostile { trust, pin, size, dcert, json, file }) => {
            let pin = pin.required("bench hostile")?;
            let options = bench_hostile::Options {
                trust: &trust,
                root_fingerprint: pin.to_string(),
                genuine: &file,
                size: size.unwrap_or(Limits::default().max_file_bytes - 4096),
                dcert: match dcert {
                    Some(path) => path,
                    None => std::env::current_exe().context("cannot find this program")?,
                },
            };
            let figures = bench_hostile::run(&options)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&figures)?);
            } else {
                print!("{}", bench_hostile::text(&figures));
            }
            Ok(EXIT_SUCCESS)
        }
        Command::Bench(BenchCommand::HostileShapes { size, dir }) => {
            bench_hostile::write_shapes(&dir, size)?;
            Ok(EXIT_SUCCESS)
        }
        Command::Bench(BenchCommand::Core { seconds, json, only }) => {
            let figures = bench::run(seconds, only.as_deref())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&figures)?);
            } else {
                print!("{}", bench::text(&figures));
            }
            Ok(EXIT_SUCCESS)
        }
        Command::Bench(BenchCommand::Verify { trust, pin, seconds, json, file }) => {
            let trust_bytes =
                std::fs::read(&trust).with_context(|| format!("cannot read the trust list {}", trust.display()))?;
            let pin = pin.required("bench verify")?;
            let trust = TrustList::verify(&trust_bytes, Some(pin)).context("the trust list is not usable")?;
            let bytes = verifier::read_bounded(&file, Limits::default().max_file_bytes)?;
            let figures = bench::verify_file(&bytes, &trust, seconds)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&figures)?);
            } else {
                println!(
                    "verify {} ({} bytes) in process, status offline\n  one thread   {:>9.1}/s\n  {} threads    {:>9.1}/s",
                    file.display(),
                    bytes.len(),
                    figures.one_thread.per_second,
                    figures.threads,
                    figures.all_threads.per_second
                );
            }
            Ok(EXIT_SUCCESS)
        }
        Command::Bench(BenchCommand::Issue { count, database, parallelism, json }) => {
            let figures = bench_issue::run(&bench_issue::Options { count, database, parallelism }, now())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&figures)?);
            } else {
                print!("{}", bench_issue::text(&figures));
            }
            Ok(if figures.verified { EXIT_SUCCESS } else { EXIT_FAILURE })
        }
    }
}

async fn serve(config: config::Config) -> Result<()> {
    let store = server::open_store(&config.database.url, "university").await?;
    server::prepare(&store, &config.campuses).await?;
    let (target, ministry) = match (&config.registry.url, &config.registry.database_url) {
        (Some(url), _) => (server::RegistryTarget::Http(url.clone()), None),
        (None, Some(db)) => {
            let ministry = server::open_store(db, "Ministry registry").await?;
            (server::RegistryTarget::Store(ministry.clone()), Some(ministry))
        }
        (None, None) => bail!("[registry] needs url or database_url"),
    };
    let ministry = match (ministry, &config.server.ministry_listen) {
        (Some(db), Some(_)) => {
            let trust_list = std::fs::read(&config.keys.trust_list)
                .with_context(|| format!("cannot read the trust list {}", config.keys.trust_list.display()))?;
            let site = dcert_web::ministry::MinistryConfig::new(&config.site.verify_site);
            Some(server::ministry_state(db, trust_list, site).await?)
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
    )?;
    let listen = config.server.listen.clone();
    let services = server::Services { worker, site: config.site, ministry };
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

/// Reads a new password (one line) from standard input: at least 10 characters.
fn read_new_password() -> Result<String> {
    let mut password = String::new();
    std::io::stdin().read_line(&mut password).context("cannot read the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    if password.chars().count() < 10 {
        anyhow::bail!("the password must have at least 10 characters");
    }
    Ok(password)
}
