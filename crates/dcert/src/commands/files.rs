//! The commands that work on files alone, with no database or network: `keys`, `trust`,
//! `issue`, `template` and `fonts`. Whatever stops them is in what they were given, so their
//! errors exit with status 2.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use dcert_core::model::{CredentialType, DegreeLevel, Language, RecordFile};
use dcert_core::pdf::Template;
use dcert_core::trust::{Accreditation, KeyEntry, TrustList, TrustListContent};
use dcert_core::{Sha256Digest, Timestamp, issue};

use super::{EXIT_SUCCESS, parse_language, parse_level, parse_type};
use crate::keystore::{self, IssuerDir, IssuerProfile, RootDir};
use crate::{fonts as font_files, now, verifier};

#[derive(Subcommand)]
pub enum KeysCommand {
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
pub struct NewIssuerArgs {
    /// The root directory (from init-root) whose CA certifies the institution.
    #[arg(long)]
    pub root: PathBuf,
    /// The institution's registry id: 2 to 32 lowercase letters, digits or '-'.
    #[arg(long)]
    pub id: String,
    /// The name in Traditional Chinese, e.g. 國立高雄科技大學.
    #[arg(long)]
    pub name_zh: String,
    /// The name in English.
    #[arg(long)]
    pub name_en: String,
    /// The directory to create.
    #[arg(long)]
    pub out: PathBuf,
    /// Credential types it may issue.
    #[arg(long, value_delimiter = ',', default_value = "degree", value_parser = parse_type)]
    pub types: Vec<CredentialType>,
    /// Degree levels it may issue.
    #[arg(long, value_delimiter = ',', default_value = "associate,bachelor,master,doctor", value_parser = parse_level)]
    pub levels: Vec<DegreeLevel>,
    /// Start of the keys' validity (RFC 3339); default now.
    #[arg(long)]
    pub valid_from: Option<Timestamp>,
    /// End of the keys' validity (RFC 3339); default five years on.
    #[arg(long)]
    pub valid_until: Option<Timestamp>,
}

#[derive(Subcommand)]
pub enum TrustCommand {
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
pub struct IssueArgs {
    /// The institution directory (from keys new-issuer).
    #[arg(long)]
    pub issuer: PathBuf,
    /// The record, JSON (see examples/record.json).
    #[arg(long)]
    pub record: PathBuf,
    /// The language of the certificate: zh (Traditional Chinese; zh-TW and zh-Hant are accepted
    /// too) or en.
    #[arg(long, value_parser = parse_language)]
    pub lang: Language,
    /// The PDF file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// A template file; default the built-in design for the record's type and language.
    #[arg(long)]
    pub template: Option<PathBuf>,
    /// The issue time (RFC 3339); default now.
    #[arg(long)]
    pub at: Option<Timestamp>,
}

#[derive(Subcommand)]
pub enum TemplateCommand {
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

/// `dcert keys`.
pub fn keys(command: KeysCommand) -> Result<u8> {
    match command {
        KeysCommand::InitRoot { out, registry, name_en, years } => {
            let root = RootDir::create(&out, &registry, &name_en, now(), years)?;
            println!("Created the Ministry root in {}", out.display());
            println!("  registry          {}", root.info.registry);
            println!("  root fingerprint  {}", root.info.root_fingerprint);
            println!("  private keys      {}", keystore::key_protection());
            println!("Verifiers pin this root: dcert trust pin {}", root.info.root_fingerprint);
            Ok(EXIT_SUCCESS)
        }
        KeysCommand::NewIssuer(args) => {
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
                credential_key: KeyEntry::new(String::new(), from, until),
            };
            let issuer = IssuerDir::create(&args.out, &root, profile, from, until)?;
            println!("Created institution {} in {}", issuer.profile.id, args.out.display());
            println!("  private keys    {}", keystore::key_protection());
            println!("  credential key  {}", issuer.profile.credential_key.public_key_multibase);
            println!("  valid           {from} to {until}");
            Ok(EXIT_SUCCESS)
        }
        KeysCommand::Retire { issuer, at } => {
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
        KeysCommand::Revoke { issuer, from, reason } => {
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
    }
}

/// `dcert trust`.
pub fn trust(command: TrustCommand) -> Result<u8> {
    match command {
        TrustCommand::Pin { fingerprint, state } => verifier::pin(fingerprint, state),
        TrustCommand::Export { root, issuers, out, sequence, next_update_days } => {
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
                log: Some(root.log_descriptor()?),
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
    }
}

/// `dcert issue`.
pub fn issue(args: IssueArgs) -> Result<u8> {
    let issuer = IssuerDir::open(&args.issuer)?;
    let text = std::fs::read_to_string(&args.record)
        .with_context(|| format!("cannot read the record {}", args.record.display()))?;
    let record: RecordFile =
        serde_json::from_str(&text).with_context(|| format!("{} is not a valid record", args.record.display()))?;
    let certificate = record.into_certificate(args.lang).with_context(|| format!("{}", args.record.display()))?;
    let template = match &args.template {
        Some(path) => {
            Template::parse(&std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?)
                .with_context(|| format!("template {}", path.display()))?
        }
        None => Template::default_for(certificate.subject.credential_type(), args.lang),
    };
    // Refuse what verification would refuse: a file nobody can verify helps no one.
    if let Some(why) = issuer.trust_entry().refusal(&certificate) {
        bail!("{} cannot issue this certificate: {why}", issuer.profile.id);
    }
    let fonts = font_files::load()?;
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

/// `dcert template`.
pub fn template(command: TemplateCommand) -> Result<u8> {
    match command {
        TemplateCommand::Default { credential_type, lang } => {
            println!("{}", serde_json::to_string_pretty(&Template::default_for(credential_type, lang))?);
            Ok(EXIT_SUCCESS)
        }
        TemplateCommand::Check { file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let template = Template::parse(&text).with_context(|| format!("{}", file.display()))?;
            let fonts = font_files::load()?;
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
    }
}

/// `dcert fonts`.
pub fn fonts() -> Result<u8> {
    for found in font_files::locate_all()? {
        println!("{}\n  {} (face {})", found.role, found.path.display(), found.index);
    }
    Ok(EXIT_SUCCESS)
}
