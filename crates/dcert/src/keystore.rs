//! The Ministry root and institution directories: key files (PKCS#8 PEM, mode 0600, encrypted
//! with `DCERT_KEY_PASSPHRASE` when it is set), certificates and the public profiles.
//!
//! A root directory holds `root.json`, `root-ca.cert.pem`, `root-ca.key.pem`,
//! `trust-signer.cert.pem`, `trust-signer.key.pem`, `status-signer.cert.pem`,
//! `status-signer.key.pem` (the key the Ministry's site signs status answers with, online) and
//! `log.key.pem` (Ed25519: the key that signs the transparency log's checkpoints, online, which
//! trust lists name). An institution directory holds
//! `issuer.json`, `credential.key.pem`, `signing.key.pem` and `signing.cert.pem`.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use dcert_core::Timestamp;
use dcert_core::credential::IssuerRef;
use dcert_core::issue::IssuerKit;
use dcert_core::keys::{self, CredentialKey, EcKey, PemEncryption};
use dcert_core::pdf::PdfSigner;
use dcert_core::trust::{Accreditation, CertEntry, Der, IssuerEntry, KeyEntry};
use dcert_core::x509::{self, ParsedCert};
use serde::{Deserialize, Serialize};

/// The transparency log's key file in a root directory.
pub const LOG_KEY_FILE: &str = "log.key.pem";

/// The environment variable holding the passphrase of private key files.
pub const PASSPHRASE_VAR: &str = "DCERT_KEY_PASSPHRASE";

fn passphrase() -> Option<String> {
    std::env::var(PASSPHRASE_VAR).ok().filter(|p| !p.is_empty())
}

/// How new private key files are protected, for people.
pub fn key_protection() -> &'static str {
    if passphrase().is_some() {
        "encrypted with DCERT_KEY_PASSPHRASE (mode 0600)"
    } else {
        "NOT encrypted (mode 0600): set DCERT_KEY_PASSPHRASE to encrypt them"
    }
}

/// 32 random bytes from the operating system.
pub fn random32() -> Result<[u8; 32]> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness from the system: {e}"))?;
    Ok(seed)
}

/// A fresh P-256 key.
pub fn new_ec_key() -> Result<EcKey> {
    loop {
        if let Some(key) = EcKey::from_seed(&random32()?) {
            return Ok(key);
        }
    }
}

/// Merges the entries of directories that hold keys of the same institution (after a rotation,
/// the old directory and the new one): their keys and certificates are listed together, and the
/// names and accreditation of the last directory named win.
pub fn merge_entries(entries: Vec<IssuerEntry>) -> Vec<IssuerEntry> {
    let mut merged: Vec<IssuerEntry> = Vec::new();
    for entry in entries {
        match merged.iter_mut().find(|m| m.id == entry.id) {
            Some(m) => {
                m.name_zh = entry.name_zh;
                m.name_en = entry.name_en;
                m.accreditation = entry.accreditation;
                m.credential_keys.extend(entry.credential_keys);
                m.signing_certificates.extend(entry.signing_certificates);
            }
            None => merged.push(entry),
        }
    }
    merged
}

/// Makes `path` readable and writable by its owner only (0600).
pub fn make_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot make {} private", path.display()))?;
    }
    Ok(())
}

/// Writes a new file that must not exist yet, with `mode` permissions.
pub fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => bail!(
            "{} already exists, and keys and issued certificates are never overwritten: choose another path \
             (it must not exist yet)",
            path.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
    };
    file.write_all(contents).and_then(|()| file.sync_all()).with_context(|| format!("cannot write {}", path.display()))
}

/// Replaces `path` with `contents` atomically: a new file beside it, renamed over it.
pub fn replace_file(path: &Path, contents: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".new");
    let tmp = PathBuf::from(tmp);
    let _ = fs::remove_file(&tmp);
    // The new file keeps the old one's permissions from its first byte: a private file (the
    // demo's accounts) never exists readable by others, not even for a moment.
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).map(|m| m.permissions().mode() & 0o777).unwrap_or(0o644)
    };
    #[cfg(not(unix))]
    let mode = 0o644;
    write_new(&tmp, contents, mode)?;
    fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}

/// Writes a private key file: mode 0600, encrypted when the passphrase variable is set.
fn write_private_key(path: &Path, pkcs8_der: &[u8]) -> Result<()> {
    let pass = passphrase();
    let encryption = PemEncryption {
        salt: random32()?[..16].try_into().expect("16 of 32 bytes"),
        iv: random32()?[..16].try_into().expect("16 of 32 bytes"),
    };
    let pem = keys::private_key_pem(pkcs8_der, pass.as_deref().map(|p| (p, &encryption)))?;
    write_new(path, pem.as_bytes(), 0o600)
}

/// An ECDSA P-256 private key file.
pub fn read_ec_key(path: &Path) -> Result<EcKey> {
    Ok(EcKey::from_pkcs8_der(&read_private_key(path)?)?)
}

/// An Ed25519 log key from its PKCS#8 PEM file.
pub fn read_log_key(path: &Path) -> Result<dcert_core::tlog::LogKey> {
    Ok(CredentialKey::from_pkcs8_der(&read_private_key(path)?)?.to_log_key())
}

fn read_private_key(path: &Path) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let pem = zeroize::Zeroizing::new(
        fs::read_to_string(path).with_context(|| format!("cannot read the key file {}", path.display()))?,
    );
    keys::private_key_from_pem(&pem, passphrase().as_deref()).with_context(|| format!("key file {}", path.display()))
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_new(path, text.as_bytes(), 0o644)
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid", path.display()))
}

fn read_cert(path: &Path) -> Result<ParsedCert> {
    let pem = fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let der = x509::pem_to_der("CERTIFICATE", &pem)
        .with_context(|| format!("{} is not a PEM certificate", path.display()))?;
    ParsedCert::from_der(&der).with_context(|| format!("{} is not a usable certificate", path.display()))
}

fn prepare_dir(dir: &Path, marker: &str) -> Result<()> {
    if dir.join(marker).exists() {
        bail!("{} already holds {marker}; choose a new directory (keys are never overwritten)", dir.display());
    }
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

/// `root.json`: the public description of the Ministry root.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RootInfo {
    /// The registry's base URL.
    pub registry: String,
    /// The Ministry's name in English.
    pub name_en: String,
    /// The SHA-256 fingerprint of the root certificate, to pin in verifiers.
    pub root_fingerprint: String,
}

/// A loaded root directory.
pub struct RootDir {
    pub dir: PathBuf,
    pub info: RootInfo,
    pub cert: ParsedCert,
    pub signer_cert: ParsedCert,
    pub status_cert: ParsedCert,
}

/// A new key of the Ministry's, certified by the root CA for `role`.
fn certified_key(
    ca_key: &EcKey,
    ca: &ParsedCert,
    common_name: &str,
    role: x509::CertRole,
    organization: &str,
    (not_before, not_after): (Timestamp, Timestamp),
) -> Result<(EcKey, ParsedCert)> {
    let key = new_ec_key()?;
    let der = x509::issue(
        &x509::CertProfile {
            common_name: common_name.into(),
            organization: organization.into(),
            not_before,
            not_after,
            role,
        },
        &key.public(),
        Some(&ca.cert),
        ca_key,
    )?;
    Ok((key, ParsedCert::from_der(&der)?))
}

impl RootDir {
    /// Creates a new root in `dir`.
    pub fn create(dir: &Path, registry: &str, name_en: &str, now: Timestamp, years: i64) -> Result<RootDir> {
        prepare_dir(dir, "root.json")?;
        let until = now.plus_seconds(years * 365 * 86_400);
        let ca_key = new_ec_key()?;
        let ca_der = x509::issue(
            &x509::CertProfile {
                common_name: "dcert Root CA".into(),
                organization: name_en.into(),
                not_before: now,
                not_after: until,
                role: x509::CertRole::Root,
            },
            &ca_key.public(),
            None,
            &ca_key,
        )?;
        let cert = ParsedCert::from_der(&ca_der)?;
        let window = (now, until);
        let (signer_key, signer_cert) = certified_key(
            &ca_key,
            &cert,
            x509::TRUST_LIST_SIGNER_CN,
            x509::CertRole::TrustListSigner,
            name_en,
            window,
        )?;
        write_private_key(&dir.join("root-ca.key.pem"), &ca_key.to_pkcs8_der())?;
        write_private_key(&dir.join("trust-signer.key.pem"), &signer_key.to_pkcs8_der())?;
        write_new(&dir.join("root-ca.cert.pem"), cert.to_pem().as_bytes(), 0o644)?;
        write_new(&dir.join("trust-signer.cert.pem"), signer_cert.to_pem().as_bytes(), 0o644)?;
        let status_cert = Self::new_status_signer(dir, &ca_key, &cert, name_en, window)?;
        Self::new_log_key(dir)?;
        let info = RootInfo {
            registry: registry.trim_end_matches('/').to_owned(),
            name_en: name_en.to_owned(),
            root_fingerprint: cert.fingerprint().to_string(),
        };
        write_json(&dir.join("root.json"), &info)?;
        Ok(RootDir { dir: dir.to_owned(), info, cert, signer_cert, status_cert })
    }

    /// Makes the status signer's key and certificate in `dir`.
    fn new_status_signer(
        dir: &Path,
        ca_key: &EcKey,
        ca: &ParsedCert,
        organization: &str,
        window: (Timestamp, Timestamp),
    ) -> Result<ParsedCert> {
        let (key, cert) =
            certified_key(ca_key, ca, x509::STATUS_SIGNER_CN, x509::CertRole::StatusSigner, organization, window)?;
        write_private_key(&dir.join("status-signer.key.pem"), &key.to_pkcs8_der())?;
        write_new(&dir.join("status-signer.cert.pem"), cert.to_pem().as_bytes(), 0o644)?;
        Ok(cert)
    }

    /// Makes the transparency log's key in `dir`.
    fn new_log_key(dir: &Path) -> Result<()> {
        write_private_key(&dir.join(LOG_KEY_FILE), &CredentialKey::from_seed(&random32()?).to_pkcs8_der())
    }

    /// The transparency log's private key.
    pub fn log_key(&self) -> Result<dcert_core::tlog::LogKey> {
        read_log_key(&self.dir.join(LOG_KEY_FILE))
    }

    /// The transparency log as trust lists name it: its origin and the key of its checkpoints.
    pub fn log_descriptor(&self) -> Result<dcert_core::trust::LogDescriptor> {
        Ok(dcert_core::trust::LogDescriptor::of(&self.info.registry, &self.log_key()?))
    }

    /// Loads a root directory (public parts). A root made before status answers were signed
    /// gets its status signer now, certified by its CA key; one made before the transparency
    /// log gets the log's key.
    pub fn open(dir: &Path) -> Result<RootDir> {
        let info: RootInfo =
            read_json(&dir.join("root.json")).context("not a root directory (dcert keys init-root)")?;
        let cert = read_cert(&dir.join("root-ca.cert.pem"))?;
        let signer_cert = read_cert(&dir.join("trust-signer.cert.pem"))?;
        let status_path = dir.join("status-signer.cert.pem");
        let status_cert = if status_path.exists() {
            read_cert(&status_path)?
        } else {
            let ca_key = EcKey::from_pkcs8_der(&read_private_key(&dir.join("root-ca.key.pem"))?)?;
            let window = signer_cert.validity();
            Self::new_status_signer(dir, &ca_key, &cert, &info.name_en, window)
                .context("cannot make the status signer's key")?
        };
        if !dir.join(LOG_KEY_FILE).exists() {
            Self::new_log_key(dir).context("cannot make the log's key")?;
        }
        Ok(RootDir { cert, signer_cert, status_cert, dir: dir.to_owned(), info })
    }

    /// The status signer's private key.
    pub fn status_key(&self) -> Result<EcKey> {
        read_ec_key(&self.dir.join("status-signer.key.pem"))
    }

    /// The root CA's private key.
    pub fn ca_key(&self) -> Result<EcKey> {
        Ok(EcKey::from_pkcs8_der(&read_private_key(&self.dir.join("root-ca.key.pem"))?)?)
    }

    /// The trust list signer's private key.
    pub fn signer_key(&self) -> Result<EcKey> {
        Ok(EcKey::from_pkcs8_der(&read_private_key(&self.dir.join("trust-signer.key.pem"))?)?)
    }
}

/// `issuer.json`: the public profile of an institution.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IssuerProfile {
    /// The registry id.
    pub id: String,
    /// The name in Traditional Chinese.
    pub name_zh: String,
    /// The name in English.
    pub name_en: String,
    /// The registry's base URL.
    pub registry: String,
    /// What it is accredited for.
    pub accreditation: Accreditation,
    /// Its credential key and validity window.
    pub credential_key: KeyEntry,
}

/// A loaded institution directory.
pub struct IssuerDir {
    pub dir: PathBuf,
    pub profile: IssuerProfile,
    pub signing_cert: ParsedCert,
}

impl IssuerDir {
    /// Creates an institution in `dir` with keys and a signing certificate from `root`.
    pub fn create(
        dir: &Path,
        root: &RootDir,
        profile: IssuerProfile,
        valid_from: Timestamp,
        valid_until: Timestamp,
    ) -> Result<IssuerDir> {
        if !dcert_core::credential::is_valid_issuer_id(&profile.id) {
            bail!("the id {:?} must be 2 to 32 lowercase letters, digits or '-'", profile.id);
        }
        for (field, name, max) in [("--name-zh", &profile.name_zh, 100), ("--name-en", &profile.name_en, 200)] {
            if name.trim().is_empty() || name.chars().count() > max || name.chars().any(char::is_control) {
                bail!("{field} must be 1 to {max} characters without control characters");
            }
        }
        if [x509::TRUST_LIST_SIGNER_CN, "dcert Root CA"].contains(&profile.name_en.trim()) {
            bail!("{:?} is reserved for the Ministry's own certificates", profile.name_en);
        }
        prepare_dir(dir, "issuer.json")?;
        let ca_key = root.ca_key()?;
        let credential_key = CredentialKey::from_seed(&random32()?);
        let signing_key = new_ec_key()?;
        let cert_der = x509::issue(
            &x509::CertProfile {
                common_name: profile.name_en.clone(),
                organization: profile.name_en.clone(),
                not_before: valid_from,
                not_after: valid_until,
                role: x509::CertRole::DocumentSigner,
            },
            &signing_key.public(),
            Some(&root.cert.cert),
            &ca_key,
        )?;
        let signing_cert = ParsedCert::from_der(&cert_der)?;
        let mut profile = profile;
        profile.credential_key = KeyEntry::new(credential_key.public().to_multikey(), valid_from, valid_until);
        write_private_key(&dir.join("credential.key.pem"), &credential_key.to_pkcs8_der())?;
        write_private_key(&dir.join("signing.key.pem"), &signing_key.to_pkcs8_der())?;
        write_new(&dir.join("signing.cert.pem"), signing_cert.to_pem().as_bytes(), 0o644)?;
        write_json(&dir.join("issuer.json"), &profile)?;
        Ok(IssuerDir { dir: dir.to_owned(), profile, signing_cert })
    }

    /// Loads an institution directory (public parts).
    pub fn open(dir: &Path) -> Result<IssuerDir> {
        let profile: IssuerProfile =
            read_json(&dir.join("issuer.json")).context("not an institution directory (dcert keys new-issuer)")?;
        Ok(IssuerDir { signing_cert: read_cert(&dir.join("signing.cert.pem"))?, dir: dir.to_owned(), profile })
    }

    /// The institution's entry for the trust list.
    pub fn trust_entry(&self) -> IssuerEntry {
        IssuerEntry {
            id: self.profile.id.clone(),
            name_zh: self.profile.name_zh.clone(),
            name_en: self.profile.name_en.clone(),
            accreditation: self.profile.accreditation.clone(),
            credential_keys: vec![self.profile.credential_key.clone()],
            // A compromise is assumed to take both keys of a directory: they are revoked together.
            signing_certificates: vec![CertEntry {
                certificate: Der(self.signing_cert.der.clone()),
                revoked_from: self.profile.credential_key.revoked_from,
                revocation_reason: self.profile.credential_key.revocation_reason.clone(),
            }],
        }
    }

    /// Rewrites `issuer.json` (atomically: a new file renamed over the old).
    fn save_profile(&self) -> Result<()> {
        let mut text = serde_json::to_string_pretty(&self.profile)?;
        text.push('\n');
        replace_file(&self.dir.join("issuer.json"), text.as_bytes())
    }

    /// Ends the credential key's validity at `at` (a rotation: what it signed before stays valid).
    pub fn retire(&mut self, at: Timestamp) -> Result<()> {
        let key = &mut self.profile.credential_key;
        if at < key.valid_from {
            bail!("the key is only valid from {}; it cannot be retired before", key.valid_from);
        }
        key.valid_until = key.valid_until.min(at);
        self.save_profile()
    }

    /// Revokes both keys from `from` on (a compromise: what claims a later signing time fails).
    pub fn revoke(&mut self, from: Timestamp, reason: &str) -> Result<()> {
        let key = &mut self.profile.credential_key;
        key.revoked_from = Some(key.revoked_from.map_or(from, |r| r.min(from)));
        key.revocation_reason = Some(reason.to_owned());
        self.save_profile()
    }

    /// Everything needed to issue, private keys included.
    pub fn kit(&self) -> Result<IssuerKit> {
        let credential_key = CredentialKey::from_pkcs8_der(&read_private_key(&self.dir.join("credential.key.pem"))?)?;
        if credential_key.public().to_multikey() != self.profile.credential_key.public_key_multibase {
            bail!("credential.key.pem does not match the key in issuer.json");
        }
        let signing_key = EcKey::from_pkcs8_der(&read_private_key(&self.dir.join("signing.key.pem"))?)?;
        if signing_key.public() != self.signing_cert.key {
            bail!("signing.key.pem does not match signing.cert.pem");
        }
        Ok(IssuerKit {
            issuer: IssuerRef { id: self.profile.id.clone(), registry: self.profile.registry.clone() },
            name_zh: self.profile.name_zh.clone(),
            name_en: self.profile.name_en.clone(),
            credential_key,
            pdf_signer: PdfSigner {
                key: signing_key,
                certificate: self.signing_cert.der.clone(),
                name: self.profile.name_en.clone(),
            },
        })
    }
}

/// The profile of an institution directory whose keys wait for the Ministry's certificate
/// (`dcert ministry request`); `dcert ministry install` turns it into `issuer.json`.
const PENDING_PROFILE: &str = "issuer.pending.json";

impl IssuerDir {
    /// Makes an institution's own keys in a new directory, for a request to the Ministry's trust
    /// registry: `credential.key.pem` and `signing.key.pem` (mode 0600, encrypted when the
    /// passphrase variable is set) and `issuer.pending.json` (the profile, its key window not yet
    /// known). Returns the keys, to sign the request with.
    pub fn create_pending(dir: &Path, profile: &IssuerProfile) -> Result<(CredentialKey, EcKey)> {
        if dir.join(PENDING_PROFILE).exists() {
            bail!("{} already holds keys waiting for a certificate; choose a new directory", dir.display());
        }
        prepare_dir(dir, "issuer.json")?;
        let credential_key = CredentialKey::from_seed(&random32()?);
        let signing_key = new_ec_key()?;
        let mut profile = profile.clone();
        profile.credential_key = KeyEntry::new(credential_key.public().to_multikey(), Timestamp(0), Timestamp(0));
        write_private_key(&dir.join("credential.key.pem"), &credential_key.to_pkcs8_der())?;
        write_private_key(&dir.join("signing.key.pem"), &signing_key.to_pkcs8_der())?;
        write_json(&dir.join(PENDING_PROFILE), &profile)?;
        Ok((credential_key, signing_key))
    }

    /// Installs the signing certificate the Ministry issued into a directory made by
    /// [`create_pending`](Self::create_pending): the certificate must be for the directory's
    /// signing key; the credential key is valid for the certificate's validity, as the registry
    /// records it. Writes `signing.cert.pem` and `issuer.json`, after which the directory issues.
    pub fn install_certificate(dir: &Path, certificate_pem: &str) -> Result<IssuerDir> {
        let pending_path = dir.join(PENDING_PROFILE);
        let mut profile: IssuerProfile = read_json(&pending_path)
            .context("not a directory waiting for a certificate (made by dcert ministry request)")?;
        if dir.join("issuer.json").exists() || dir.join("signing.cert.pem").exists() {
            bail!("{} already holds an installed certificate; certificates are never overwritten", dir.display());
        }
        let der = x509::pem_to_der("CERTIFICATE", certificate_pem).context("not a PEM certificate")?;
        let cert = ParsedCert::from_der(&der).context("not a usable certificate")?;
        let signing_key = EcKey::from_pkcs8_der(&read_private_key(&dir.join("signing.key.pem"))?)?;
        if cert.key != signing_key.public() {
            bail!("the certificate is not for this directory's signing key (signing.key.pem)");
        }
        if cert.is_ca() || cert.has_extended_key_usage(x509::TRUST_LIST_SIGNING) {
            bail!("the certificate is not a document signing certificate");
        }
        let credential_key = CredentialKey::from_pkcs8_der(&read_private_key(&dir.join("credential.key.pem"))?)?;
        if credential_key.public().to_multikey() != profile.credential_key.public_key_multibase {
            bail!("credential.key.pem does not match the key in {PENDING_PROFILE}");
        }
        let (from, until) = cert.validity();
        profile.credential_key.valid_from = from;
        profile.credential_key.valid_until = until;
        write_new(&dir.join("signing.cert.pem"), cert.to_pem().as_bytes(), 0o644)?;
        write_json(&dir.join("issuer.json"), &profile)?;
        fs::remove_file(&pending_path).with_context(|| format!("cannot remove {}", pending_path.display()))?;
        Ok(IssuerDir { dir: dir.to_owned(), profile, signing_cert: cert })
    }
}
