//! `dcert ministry request|onboard|install|rotate|revoke-key|publish|list`: the trust registry
//! (發證單位) in the Ministry's database, and the institution's side of joining it.
//!
//! An institution makes its keys itself (`request`) and sends the Ministry only the signed
//! request; the Ministry records it and certifies the signing key from its root (`onboard`,
//! `rotate`), and the institution installs the certificate (`install`). `publish` signs the
//! trust list from the registry, keeps it in the database and writes it for offline use.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use dcert_core::Timestamp;
use dcert_core::model::{CredentialType, DegreeLevel};
use dcert_core::trust::{Accreditation, KeyEntry};
use dcert_store::{AuditEntry, MinistryStore};
use dcert_web::ministry::trust_registry::{
    self as registry, InstitutionDetails, MAX_REQUEST_BYTES, OnboardingRequest, RequestError, RotationRequest,
};

use crate::commands::{parse_level, parse_type};
use crate::keystore::{self, IssuerDir, IssuerProfile, RootDir};
use crate::now;

/// The name of the request file `request` writes into the new directory.
pub const REQUEST_FILE: &str = "registry-request.json";

#[derive(clap::Subcommand)]
pub enum RegistryCommand {
    /// (Institution) Make new keys in a new directory and write the signed request to send to
    /// the Ministry: to join the registry, or with --rotate-from to replace the keys of a
    /// directory already registered (signed with that directory's credential key too). The
    /// private keys never leave their directories.
    Request(RequestArgs),
    /// (Ministry) Record an institution from its request and certify its signing key with the
    /// root; writes the certificate (PEM) to send back.
    Onboard(CertifyArgs),
    /// (Institution) Install the certificate the Ministry sent into the directory made by
    /// request; the directory then issues (dcert issue --issuer DIR).
    Install {
        /// The directory made by request.
        #[arg(long)]
        issuer: PathBuf,
        /// The certificate (PEM).
        certificate: PathBuf,
    },
    /// (Ministry) Add an institution's new keys from its rotation request, which must be signed
    /// with a credential key the institution holds now (registered, valid now, not revoked): a
    /// new credential key ends the old one's window now (what it signed before stays valid); a
    /// new signing key is certified. Writes the new certificate (PEM) to send back. A lost or
    /// compromised key cannot sign a rotation: revoke it (revoke-key) and onboard the
    /// institution again from a new request.
    Rotate(CertifyArgs),
    /// (Ministry) Revoke an institution's credential key or signing certificate from a time on
    /// (a compromise): files that claim a later signing time fail verification.
    RevokeKey {
        /// The Ministry's database.
        #[arg(long)]
        database: String,
        /// The institution's id.
        #[arg(long)]
        institution: String,
        /// A credential key (z6Mk…) or the SHA-256 of a signing certificate, as list shows
        /// them; repeat to revoke several (after a compromise, usually both).
        #[arg(long = "key", required = true)]
        keys: Vec<String>,
        /// From when (RFC 3339): the earliest moment the key may have been in other hands.
        #[arg(long)]
        from: Timestamp,
        /// Why, as verifiers will show it.
        #[arg(long)]
        reason: String,
    },
    /// (Ministry) Sign the trust list of the registry as it is now, keep it in the database
    /// (the site serves the latest) and write it for offline verification (verify --trust).
    Publish {
        /// The Ministry's database.
        #[arg(long)]
        database: String,
        /// The root directory (its trust list signer signs).
        #[arg(long)]
        root: PathBuf,
        /// The registry's base URL; default the root's (root.json).
        #[arg(long)]
        registry: Option<String>,
        /// Also write the list to this file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// (Ministry) List the registry's institutions, keys and certificates.
    List {
        /// The Ministry's database.
        #[arg(long)]
        database: String,
    },
}

/// What onboarding and a rotation read: the registry, the root, the request and the validity.
#[derive(clap::Args)]
pub struct CertifyArgs {
    /// The Ministry's database (sqlite://PATH or postgres://...).
    #[arg(long)]
    database: String,
    /// The root directory (from keys init-root).
    #[arg(long)]
    root: PathBuf,
    /// Where to write the certificate; default <id>.cert.pem beside the request.
    #[arg(long)]
    out: Option<PathBuf>,
    /// End of the new keys' validity (RFC 3339); default five years on, at most the root's end.
    #[arg(long)]
    valid_until: Option<Timestamp>,
    /// The request file (onboarding or rotation).
    request: PathBuf,
}

impl CertifyArgs {
    /// The request read with `parse`, the root, the registry and the end of validity from `now`.
    async fn open<R>(
        &self,
        parse: impl Fn(&[u8]) -> Result<R, RequestError>,
        now: Timestamp,
    ) -> Result<(R, RootDir, MinistryStore, Timestamp)> {
        let request = &self.request;
        let parsed = parse(&read_request(request)?).with_context(|| format!("{}", request.display()))?;
        let root = RootDir::open(&self.root)?;
        let store = open(&self.database).await?;
        let until = validity_end(self.valid_until, &root, now);
        Ok((parsed, root, store, until))
    }
}

#[derive(clap::Args)]
pub struct RequestArgs {
    /// The new directory for the keys and the request.
    #[arg(long)]
    out: PathBuf,
    /// Replace the keys of this registered directory: the request names its institution and is
    /// signed with its credential key too, which must still be valid and not revoked. A lost or
    /// compromised key cannot do this: the Ministry revokes it (dcert ministry revoke-key) and
    /// the institution is onboarded again from a new request (without --rotate-from).
    #[arg(long, conflicts_with_all = ["id", "name_zh", "name_en", "address", "registry", "types", "levels"])]
    rotate_from: Option<PathBuf>,
    /// The registry id asked for: 2 to 32 lowercase letters, digits or '-'.
    #[arg(long, required_unless_present = "rotate_from")]
    id: Option<String>,
    /// The name in Traditional Chinese, exactly as certificates name the school.
    #[arg(long, required_unless_present = "rotate_from")]
    name_zh: Option<String>,
    /// The name in English, exactly as certificates name the school.
    #[arg(long, required_unless_present = "rotate_from")]
    name_en: Option<String>,
    /// The postal address.
    #[arg(long, required_unless_present = "rotate_from")]
    address: Option<String>,
    /// The Ministry registry's base URL, e.g. https://dcert.moe.gov.tw.
    #[arg(long, required_unless_present = "rotate_from")]
    registry: Option<String>,
    /// Credential types asked for.
    #[arg(long, value_delimiter = ',', default_value = "degree", value_parser = parse_type)]
    types: Vec<CredentialType>,
    /// Degree levels asked for; default every level when degrees are asked for.
    #[arg(long, value_delimiter = ',', value_parser = parse_level)]
    levels: Option<Vec<DegreeLevel>>,
}

/// Runs one command.
pub fn run(command: RegistryCommand) -> Result<()> {
    run_at(command, now())
}

/// Runs one command as if the time were `now`.
pub fn run_at(command: RegistryCommand, now: Timestamp) -> Result<()> {
    match command {
        RegistryCommand::Request(args) => request(args, now),
        RegistryCommand::Install { issuer, certificate } => {
            let pem = std::fs::read_to_string(&certificate)
                .with_context(|| format!("cannot read {}", certificate.display()))?;
            let dir = IssuerDir::install_certificate(&issuer, &pem)?;
            let key = &dir.profile.credential_key;
            println!("Installed the certificate of {} in {}", dir.profile.id, issuer.display());
            println!("  keys valid  {} to {}", key.valid_from, key.valid_until);
            println!("It issues once the Ministry publishes a trust list that names these keys.");
            Ok(())
        }
        other => block_on(ministry(other, now)),
    }
}

fn block_on(future: impl Future<Output = Result<()>>) -> Result<()> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(future)
}

/// Why a directory's credential key cannot sign a rotation at `now`, as far as the directory
/// knows (the registry decides).
fn not_current(key: &KeyEntry, now: Timestamp) -> Option<String> {
    if let Some(from) = key.revoked_from {
        return Some(format!("it is revoked from {from}"));
    }
    if now < key.valid_from || now >= key.valid_until {
        return Some(format!("it is valid from {} to {}, not now", key.valid_from, key.valid_until));
    }
    None
}

fn request(args: RequestArgs, now: Timestamp) -> Result<()> {
    let out = &args.out;
    if let Some(old_dir) = &args.rotate_from {
        let old = IssuerDir::open(old_dir)?;
        if let Some(why) = not_current(&old.profile.credential_key, now) {
            bail!(
                "the credential key of {} cannot sign a rotation: {why}. A lost or compromised key is replaced \
                 by revoking it (dcert ministry revoke-key, by the Ministry) and a new onboarding request \
                 (dcert ministry request without --rotate-from)",
                old_dir.display()
            );
        }
        // The key the institution holds now proves the request; read before any new key is made.
        let current = old.kit().with_context(|| format!("the credential key of {}", old_dir.display()))?;
        let (credential_key, signing_key) = IssuerDir::create_pending(out, &old.profile)?;
        let request =
            RotationRequest::sign(&old.profile.id, &current.credential_key, Some(&credential_key), Some(&signing_key))?;
        keystore::write_new(&out.join(REQUEST_FILE), &request.to_json(), 0o644)?;
        println!("Made new keys for {} in {}", old.profile.id, out.display());
    } else {
        let types = args.types;
        let levels = args.levels.unwrap_or_else(|| {
            if types.contains(&CredentialType::Degree) {
                vec![DegreeLevel::Associate, DegreeLevel::Bachelor, DegreeLevel::Master, DegreeLevel::Doctor]
            } else {
                Vec::new()
            }
        });
        let (Some(id), Some(name_zh), Some(name_en), Some(address), Some(registry_url)) =
            (args.id, args.name_zh, args.name_en, args.address, args.registry)
        else {
            bail!("--id, --name-zh, --name-en, --address and --registry are needed");
        };
        let details = InstitutionDetails { name_zh, name_en, address, credential_types: types, degree_levels: levels };
        // Refuse here what the Ministry would refuse, before any key is made.
        if !dcert_core::credential::is_valid_issuer_id(&id) {
            bail!(registry::RequestError::InvalidId(id));
        }
        details.validate()?;
        let profile = IssuerProfile {
            id: id.clone(),
            name_zh: details.name_zh.clone(),
            name_en: details.name_en.clone(),
            registry: registry_url.trim_end_matches('/').to_owned(),
            accreditation: Accreditation {
                credential_types: details.credential_types.clone(),
                degree_levels: details.degree_levels.clone(),
            },
            credential_key: KeyEntry::new(String::new(), Timestamp(0), Timestamp(0)),
        };
        let (credential_key, signing_key) = IssuerDir::create_pending(out, &profile)?;
        let request = OnboardingRequest::sign(&id, &details, &credential_key, &signing_key)?;
        keystore::write_new(&out.join(REQUEST_FILE), &request.to_json(), 0o644)?;
        println!("Made the keys of {id} in {}", out.display());
    }
    println!("  private keys  {}", keystore::key_protection());
    println!("  request       {}", out.join(REQUEST_FILE).display());
    println!("Send the request to the Ministry; install the certificate it sends back with");
    println!("  dcert ministry install --issuer {} CERT.pem", out.display());
    Ok(())
}

fn read_request(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() > MAX_REQUEST_BYTES {
        bail!("{} is larger than a request can be ({MAX_REQUEST_BYTES} bytes)", path.display());
    }
    Ok(bytes)
}

/// Where a certificate for `id` goes: `out`, or `<id>.cert.pem` beside the request. It must not
/// exist yet, checked before anything is recorded.
fn certificate_path(out: Option<PathBuf>, request: &Path, id: &str) -> Result<PathBuf> {
    let path = out.unwrap_or_else(|| request.with_file_name(format!("{id}.cert.pem")));
    if path.exists() {
        bail!("{} already exists; choose another --out", path.display());
    }
    Ok(path)
}

/// The end of new keys' validity: as asked, or five years on but not after the root.
fn validity_end(asked: Option<Timestamp>, root: &RootDir, now: Timestamp) -> Timestamp {
    asked.unwrap_or_else(|| now.plus_seconds(5 * 365 * 86_400).min(root.cert.validity().1))
}

/// The audit entry of the operator's command `action` on `target`, written with the change.
fn by_operator(action: &str, target: &str, detail: impl Into<String>, now: Timestamp) -> AuditEntry {
    AuditEntry::local(now.unix(), "cli", "operator", action, target, detail)
}

async fn open(database: &str) -> Result<MinistryStore> {
    MinistryStore::open(database).await.context("cannot open the Ministry's database")
}

async fn ministry(command: RegistryCommand, now: Timestamp) -> Result<()> {
    match command {
        RegistryCommand::Onboard(args) => {
            let (parsed, root, store, until) = args.open(OnboardingRequest::parse, now).await?;
            let path = certificate_path(args.out, &args.request, &parsed.id)?;
            let audit =
                |_: &_| by_operator("onboard_institution", &parsed.id, "credential key and signing certificate", now);
            let cert = registry::onboard(&store, &root.ca_key()?, &root.cert, &parsed, (now, until), audit).await?;
            keystore::write_new(&path, cert.to_pem().as_bytes(), 0o644)?;
            println!("Recorded institution {} ({})", parsed.id, parsed.name_en);
            println!("  keys valid   {now} to {until}");
            println!("  certificate  {}", path.display());
            println!("Send the certificate to the institution, and publish the trust list.");
        }
        RegistryCommand::Rotate(args) => {
            let (parsed, root, store, until) = args.open(RotationRequest::parse, now).await?;
            let path = match parsed.signing_key.is_some() {
                true => Some(certificate_path(args.out, &args.request, &parsed.id)?),
                false => None,
            };
            let added = |rotated: &registry::Rotated| match (&rotated.credential_key, &rotated.certificate) {
                (Some(_), Some(_)) => "credential key and signing certificate",
                (Some(_), None) => "credential key",
                _ => "signing certificate",
            };
            let audit = |rotated: &_| by_operator("rotate_keys", &parsed.id, added(rotated), now);
            let rotated =
                registry::rotate_key(&store, &root.ca_key()?, &root.cert, &parsed, (now, until), audit).await?;
            let detail = added(&rotated);
            println!("Added a new {detail} to {}, valid {now} to {until}", parsed.id);
            if rotated.credential_key.is_some() {
                println!("  the previous credential key is valid until {now}");
            }
            if let (Some(cert), Some(path)) = (rotated.certificate, path) {
                keystore::write_new(&path, cert.to_pem().as_bytes(), 0o644)?;
                println!("  certificate  {}", path.display());
            }
            println!("Publish the trust list.");
        }
        RegistryCommand::RevokeKey { database, institution, keys, from, reason } => {
            let store = open(&database).await?;
            for key in &keys {
                let what = |revoked| match revoked {
                    registry::Revoked::CredentialKey => "credential key",
                    registry::Revoked::SigningCertificate => "signing certificate",
                };
                let audit =
                    |revoked| by_operator("revoke_key", &institution, format!("{} from {from}", what(revoked)), now);
                let revoked = registry::revoke_key(&store, &institution, key, (from, reason.trim()), audit)
                    .await
                    .with_context(|| format!("revoking {key}"))?;
                let what = what(revoked);
                println!("Revoked the {what} {key} of {institution} from {from}");
            }
            println!("Publish the trust list.");
        }
        RegistryCommand::Publish { database, root, registry: url, out } => {
            let root = RootDir::open(&root)?;
            let store = open(&database).await?;
            let url = url.unwrap_or_else(|| root.info.registry.clone());
            // Numbered after the latest list kept: what a node served from a file before the
            // first publication is not known here.
            let signer = root.signer_key()?;
            let log = dcert_core::trust::LogDescriptor::of(&url, &root.log_key()?);
            let signing = registry::ListSigning {
                signer: &signer,
                root_cert: &root.cert,
                signer_cert: &root.signer_cert,
                status_cert: Some(&root.status_cert),
                log: Some(&log),
                registry_url: &url,
            };
            let audit = |content: &dcert_core::trust::TrustListContent| {
                by_operator("publish_trust_list", "trust_list", format!("sequence {}", content.sequence), now)
            };
            let bytes = registry::publish(&store, signing, None, now, audit).await?;
            let list = dcert_core::trust::TrustList::verify(&bytes, Some(root.cert.fingerprint()))?;
            let sequence = list.content.sequence;
            if let Some(out) = &out {
                keystore::replace_file(out, &bytes)?;
                println!("Wrote {}", out.display());
            }
            println!("Published trust list {sequence} with {} institution(s)", list.issuers.len());
            println!("  root fingerprint  {}", root.cert.fingerprint());
        }
        RegistryCommand::List { database } => {
            let store = open(&database).await?;
            print!("{}", listing(&store.trust_registry().await?, now));
            match store.latest_trust_list().await? {
                Some(l) => println!("latest trust list: {} issued {}", l.sequence, Timestamp(l.issued_at)),
                None => println!("no trust list published yet"),
            }
        }
        RegistryCommand::Request(_) | RegistryCommand::Install { .. } => unreachable!("handled by run_at"),
    }
    Ok(())
}

/// The registry in words, one institution after the other.
fn listing(registry: &[dcert_store::RegisteredInstitution], now: Timestamp) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for r in registry {
        let i = &r.institution;
        let types: Vec<&str> = i.accreditation.credential_types.iter().map(|t| t.code()).collect();
        let levels: Vec<&str> = i.accreditation.degree_levels.iter().map(|l| l.code()).collect();
        let _ = writeln!(out, "{}  {} / {}", i.id, i.name_zh, i.name_en);
        let _ = writeln!(out, "  address        {}", i.address);
        let _ = writeln!(out, "  accredited     {} ({})", types.join(", "), levels.join(", "));
        let state = |from: i64, until: i64, revoked: Option<i64>| match revoked {
            Some(r) => format!("revoked from {}", Timestamp(r)),
            None if now.unix() < from => "not yet valid".to_owned(),
            None if now.unix() > until => "ended".to_owned(),
            None => "current".to_owned(),
        };
        for k in &r.keys {
            let _ = writeln!(
                out,
                "  credential key {}  {} to {}  {}",
                k.public_key_multibase,
                Timestamp(k.valid_from),
                Timestamp(k.valid_until),
                state(k.valid_from, k.valid_until, k.revoked_from)
            );
        }
        for c in &r.certificates {
            let _ = writeln!(
                out,
                "  certificate    {}  {} to {}  {}",
                c.sha256,
                Timestamp(c.not_before),
                Timestamp(c.not_after),
                state(c.not_before, c.not_after, c.revoked_from)
            );
        }
    }
    if registry.is_empty() {
        out.push_str("no institution is registered\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use dcert_core::model::{Certificate, Language, Subject};
    use dcert_core::pdf::{Limits, Template};
    use dcert_core::status::Offline;
    use dcert_core::trust::TrustList;
    use dcert_core::verify::{self, Outcome, Reason};

    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    struct Scratch(PathBuf);

    impl Scratch {
        fn new() -> Scratch {
            let dir = std::env::temp_dir().join(format!("dcert-registry-cli-{}", hex(&keystore::random32().unwrap())));
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn hex(bytes: &[u8]) -> String {
        bytes[..6].iter().map(|b| format!("{b:02x}")).collect()
    }

    fn request_args(out: &Path) -> RequestArgs {
        RequestArgs {
            out: out.to_owned(),
            rotate_from: None,
            id: Some("nkust".into()),
            name_zh: Some("國立高雄科技大學".into()),
            name_en: Some("National Kaohsiung University of Science and Technology".into()),
            address: Some("807618 高雄市三民區建工路415號".into()),
            registry: Some("http://localhost:8081".into()),
            types: vec![CredentialType::Degree],
            levels: None,
        }
    }

    fn issue(dir: &Path, at: &str) -> Vec<u8> {
        let kit = IssuerDir::open(dir).unwrap().kit().unwrap();
        let record: dcert_core::model::RecordFile =
            serde_json::from_str(include_str!("../../../examples/record.json")).unwrap();
        let cert: Certificate = record.into_certificate(Language::En).unwrap();
        assert!(matches!(cert.subject, Subject::Degree(_)));
        let template = Template::default_for(cert.subject.credential_type(), Language::En);
        let fonts = crate::fonts::load().unwrap();
        dcert_core::issue::issue(&cert, &kit, &template, &fonts, ts(at)).unwrap().bytes
    }

    #[test]
    fn an_institution_requests_the_ministry_onboards_rotates_revokes_and_publishes_and_files_verify_accordingly() {
        let s = Scratch::new();
        let database = format!("sqlite://{}", s.0.join("ministry.db").display());
        let root_dir = s.0.join("moe");
        let root = RootDir::create(
            &root_dir,
            "http://localhost:8081",
            "Ministry of Education",
            ts("2025-01-01T00:00:00Z"),
            20,
        )
        .unwrap();
        let nkust = s.0.join("nkust");
        run_at(RegistryCommand::Request(request_args(&nkust)), ts("2025-01-01T00:00:00Z")).unwrap();
        assert!(IssuerDir::open(&nkust).is_err(), "no certificate yet");

        // The Ministry onboards, the institution installs.
        let onboard = |request: PathBuf, at: &str| {
            run_at(
                RegistryCommand::Onboard(CertifyArgs {
                    database: database.clone(),
                    root: root_dir.clone(),
                    out: None,
                    valid_until: None,
                    request,
                }),
                ts(at),
            )
        };
        onboard(nkust.join(REQUEST_FILE), "2025-01-02T00:00:00Z").unwrap();
        let cert = nkust.join("nkust.cert.pem");
        assert!(onboard(nkust.join(REQUEST_FILE), "2025-01-02T00:00:00Z").is_err(), "the certificate file exists");
        std::fs::rename(&cert, s.0.join("nkust-1.cert.pem")).unwrap();
        let again = onboard(nkust.join(REQUEST_FILE), "2025-01-02T00:00:00Z").unwrap_err();
        assert!(again.to_string().contains("already registered"), "{again:#}");
        run_at(
            RegistryCommand::Install { issuer: nkust.clone(), certificate: s.0.join("nkust-1.cert.pem") },
            ts("2025-01-03T00:00:00Z"),
        )
        .unwrap();
        let dir = IssuerDir::open(&nkust).unwrap();
        assert_eq!(dir.profile.credential_key.valid_from, ts("2025-01-02T00:00:00Z"));
        let before = issue(&nkust, "2025-03-01T00:00:00Z");

        // A rotation to keys in a new directory.
        let nkust2 = s.0.join("nkust-2");
        let rotate = RequestArgs { rotate_from: Some(nkust.clone()), ..request_args(&nkust2) };
        let rotate = RequestArgs { id: None, name_zh: None, name_en: None, address: None, registry: None, ..rotate };
        run_at(RegistryCommand::Request(rotate), ts("2025-06-01T00:00:00Z")).unwrap();
        run_at(
            RegistryCommand::Rotate(CertifyArgs {
                database: database.clone(),
                root: root_dir.clone(),
                out: Some(s.0.join("nkust-2.cert.pem")),
                valid_until: Some(ts("2030-01-01T00:00:00Z")),
                request: nkust2.join(REQUEST_FILE),
            }),
            ts("2025-06-01T00:00:00Z"),
        )
        .unwrap();
        run_at(
            RegistryCommand::Install { issuer: nkust2.clone(), certificate: s.0.join("nkust-2.cert.pem") },
            ts("2025-06-02T00:00:00Z"),
        )
        .unwrap();
        let old_after = issue(&nkust, "2025-07-01T00:00:00Z");
        let new_after = issue(&nkust2, "2025-07-01T00:00:00Z");
        let new_late = issue(&nkust2, "2025-10-01T00:00:00Z");

        // The new key is compromised from September on.
        let new_key = IssuerDir::open(&nkust2).unwrap().profile.credential_key.public_key_multibase;
        run_at(
            RegistryCommand::RevokeKey {
                database: database.clone(),
                institution: "nkust".into(),
                keys: vec![new_key],
                from: ts("2025-09-01T00:00:00Z"),
                reason: "key compromise".into(),
            },
            ts("2025-09-02T00:00:00Z"),
        )
        .unwrap();
        run_at(RegistryCommand::List { database: database.clone() }, ts("2025-09-02T00:00:00Z")).unwrap();

        let trust_path = s.0.join("trust.json");
        let publish = |at: &str| {
            run_at(
                RegistryCommand::Publish {
                    database: database.clone(),
                    root: root_dir.clone(),
                    registry: None,
                    out: Some(trust_path.clone()),
                },
                ts(at),
            )
            .unwrap();
            TrustList::verify(&std::fs::read(&trust_path).unwrap(), Some(root.cert.fingerprint())).unwrap()
        };
        publish("2025-09-03T00:00:00Z");
        let trust = publish("2025-11-01T00:00:00Z");
        assert_eq!(trust.content.sequence, 2);
        let verdict = |file: &[u8]| {
            let report = verify::verify(file, &trust, &Offline, ts("2025-12-01T00:00:00Z"), &Limits::default());
            (report.outcome, report.reason)
        };
        assert_eq!(verdict(&before), (Outcome::Success, None));
        assert_eq!(verdict(&old_after), (Outcome::Failure, Some(Reason::KeyNotValid)));
        assert_eq!(verdict(&new_after), (Outcome::Success, None));
        assert_eq!(verdict(&new_late), (Outcome::Failure, Some(Reason::KeyRevoked)));

        let store = block_on_store(&database);
        assert!(listing(&store, ts("2025-12-01T00:00:00Z")).contains("revoked from 2025-09-01T00:00:00Z"));

        // A rotation signed with a key the registry no longer holds as current is refused, and
        // says what to do instead: the first key was retired by the rotation, the second revoked.
        for (from, name) in [(&nkust, "nkust-3"), (&nkust2, "nkust-4")] {
            let dir = s.0.join(name);
            let args = RequestArgs { rotate_from: Some(from.clone()), ..request_args(&dir) };
            let args = RequestArgs { id: None, name_zh: None, name_en: None, address: None, registry: None, ..args };
            run_at(RegistryCommand::Request(args), ts("2025-11-02T00:00:00Z")).unwrap();
            let refused = run_at(
                RegistryCommand::Rotate(CertifyArgs {
                    database: database.clone(),
                    root: root_dir.clone(),
                    out: Some(s.0.join(format!("{name}.cert.pem"))),
                    valid_until: None,
                    request: dir.join(REQUEST_FILE),
                }),
                ts("2025-11-02T00:00:00Z"),
            )
            .unwrap_err();
            assert!(format!("{refused:#}").contains("revoke-key"), "{refused:#}");
            assert!(!s.0.join(format!("{name}.cert.pem")).exists());
        }
        assert_eq!(block_on_store(&database), store, "nothing rotated");
        // A directory that knows its key is revoked makes no request at all.
        IssuerDir::open(&nkust2).unwrap().revoke(ts("2025-09-01T00:00:00Z"), "key compromise").unwrap();
        let args = RequestArgs { rotate_from: Some(nkust2.clone()), ..request_args(&s.0.join("nkust-5")) };
        let args = RequestArgs { id: None, name_zh: None, name_en: None, address: None, registry: None, ..args };
        let refused = run_at(RegistryCommand::Request(args), ts("2025-11-02T00:00:00Z")).unwrap_err();
        assert!(refused.to_string().contains("revoke-key"), "{refused:#}");
        assert!(!s.0.join("nkust-5").exists());

        // The lists of a registry stay under one root: another root publishes nothing.
        let other = s.0.join("other-moe");
        RootDir::create(&other, "http://localhost:8081", "Ministry of Education", ts("2025-01-01T00:00:00Z"), 20)
            .unwrap();
        let refused = run_at(
            RegistryCommand::Publish {
                database: database.clone(),
                root: other,
                registry: None,
                out: Some(s.0.join("other.json")),
            },
            ts("2025-11-03T00:00:00Z"),
        )
        .unwrap_err();
        assert!(refused.to_string().contains("another root"), "{refused:#}");
        assert!(!s.0.join("other.json").exists());
        assert_eq!(publish("2025-11-04T00:00:00Z").content.sequence, 3, "the same root still publishes");
    }

    #[test]
    fn a_request_the_ministry_would_refuse_makes_no_keys() {
        let s = Scratch::new();
        let out = s.0.join("bad");
        let args = RequestArgs { id: Some("NKUST".into()), ..request_args(&out) };
        assert!(run_at(RegistryCommand::Request(args), ts("2025-01-01T00:00:00Z")).is_err());
        let args = RequestArgs {
            types: vec![CredentialType::Teacher],
            levels: Some(vec![DegreeLevel::Bachelor]),
            ..request_args(&out)
        };
        assert!(run_at(RegistryCommand::Request(args), ts("2025-01-01T00:00:00Z")).is_err());
        assert!(!out.exists());
    }

    fn block_on_store(database: &str) -> Vec<dcert_store::RegisteredInstitution> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async { MinistryStore::open(database).await.unwrap().trust_registry().await.unwrap() })
    }
}
