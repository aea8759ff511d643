//! The trust registry (發證單位) as the Ministry runs it: onboarding an institution from the
//! request it signed with its own keys, key rotation and revocation, changes of its details, and
//! publishing the signed trust list from the registry's tables. The CLI (`dcert ministry …`) and
//! the Ministry console both call these functions; nothing here knows HTTP.
//!
//! An institution makes its keys itself and sends the Ministry only their public halves, in an
//! [`OnboardingRequest`] that proves it holds both private keys: an Ed25519 signature by its
//! credential key and an ECDSA P-256 signature by its PDF signing key, each over the canonical
//! (RFC 8785) request without the two signatures. The Ministry root then certifies the signing
//! key. The Ministry never holds an institution's private key.
//!
//! A [`RotationRequest`] is proven the same way by each new key, and besides by a credential key
//! the institution holds now (registered, valid now, not revoked): nobody but the institution can
//! replace its keys. A key that is lost or compromised cannot prove a rotation: the Ministry
//! revokes it ([`revoke_key`]) and onboards the institution again from a new request.

use dcert_core::keys::{CredentialPublicKey, EcKey, EcPublicKey};
pub use dcert_core::onboarding::{
    CurrentKeyProblem, InstitutionDetails, MAX_REQUEST_BYTES, OnboardingRequest, ProvenKeys, RequestError,
    RotationRequest, check_text, parse_signing_key, signing_key_fingerprint, signing_key_text,
};
use dcert_core::trust::{
    CertEntry, Der, FORMAT_VERSION, IssuerEntry, KeyEntry, LogDescriptor, TrustList, TrustListContent, TrustListError,
};
use dcert_core::x509::{self, CertError, CertProfile, CertRole, ParsedCert};
use dcert_core::{Sha256Digest, Timestamp};
use dcert_store::{
    AuditEntry, Institution, MinistryStore, NewInstitutionCertificate, NewInstitutionKey, RegisteredInstitution,
    StoreError, StoredTrustList,
};

use crate::ministry::{MinistryState, Published};

/// Days from a trust list's issue to its `nextUpdate`.
pub const NEXT_UPDATE_DAYS: i64 = 30;

/// The Ministry root's private keys, for a server that onboards institutions and publishes the
/// trust list itself (the Ministry console): the root CA's key and certificate, which certify
/// institutions' signing keys, and the trust list signer's. `Debug` shows public keys only
/// ([`EcKey`]'s `Debug` prints its public key).
#[derive(Clone, Debug)]
pub struct RegistryKeys {
    /// The root CA's private key.
    pub ca: EcKey,
    /// The root certificate.
    pub root_cert: ParsedCert,
    /// The trust list signer's private key.
    pub signer: EcKey,
    /// The trust list signer's certificate, issued by the root.
    pub signer_cert: ParsedCert,
    /// The registry's base URL, as trust lists name it (e.g. `https://dcert.moe.gov.tw`).
    pub registry_url: String,
    /// The status signer's certificate, issued by the root, which published lists name.
    pub status_cert: Option<ParsedCert>,
    /// The transparency log, which published lists name.
    pub log: Option<LogDescriptor>,
}

/// What signs a trust list, and the certificates the list names.
#[derive(Clone, Copy, Debug)]
pub struct ListSigning<'a> {
    /// The trust list signer's key.
    pub signer: &'a EcKey,
    /// The root certificate.
    pub root_cert: &'a ParsedCert,
    /// The trust list signer's certificate.
    pub signer_cert: &'a ParsedCert,
    /// The status signer's certificate: verifiers check the registry's answers against it.
    pub status_cert: Option<&'a ParsedCert>,
    /// The transparency log: verifiers check its checkpoints against the key it names.
    pub log: Option<&'a LogDescriptor>,
    /// The registry's base URL.
    pub registry_url: &'a str,
}

impl RegistryKeys {
    /// The keys and certificates that publish a list.
    pub fn list_signing(&self) -> ListSigning<'_> {
        ListSigning {
            signer: &self.signer,
            root_cert: &self.root_cert,
            signer_cert: &self.signer_cert,
            status_cert: self.status_cert.as_ref(),
            log: self.log.as_ref(),
            registry_url: &self.registry_url,
        }
    }

    /// Checks that the keys belong together: the CA key is the root certificate's, and the
    /// signer's certificate is its key's and issued by the root.
    pub fn check(&self) -> Result<(), RegistryError> {
        if self.ca.public() != self.root_cert.key {
            return Err(RegistryError::WrongCaKey);
        }
        if self.signer.public() != self.signer_cert.key || !self.signer_cert.is_issued_by(&self.root_cert) {
            return Err(RegistryError::Conflict(
                "the trust list signer's key or certificate does not belong to this root".into(),
            ));
        }
        if self.status_cert.as_ref().is_some_and(|c| !c.is_issued_by(&self.root_cert)) {
            return Err(RegistryError::Conflict("the status signer's certificate is not issued by this root".into()));
        }
        Ok(())
    }

    /// The end of new keys' validity: as `asked` (certifying refuses an end after the root's),
    /// or five years from `now` but not after the root.
    pub fn validity_end(&self, asked: Option<Timestamp>, now: Timestamp) -> Timestamp {
        asked.unwrap_or_else(|| now.plus_seconds(5 * 365 * 86_400).min(self.root_cert.validity().1))
    }
}

/// Why a registry change was refused. Nothing was recorded.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The request is refused by itself (see [`RequestError`]).
    #[error(transparent)]
    Request(#[from] RequestError),
    /// A rotation is not proven by a credential key the institution holds now; the reason is
    /// one of [`CurrentKeyProblem`]'s.
    #[error(
        "a rotation must also be signed with a credential key the institution holds now (registered, valid now, \
         not revoked): {0}. A lost or compromised key cannot sign one: the Ministry revokes it \
         (dcert ministry revoke-key) and onboards the institution again from a new request"
    )]
    CurrentKey(CurrentKeyProblem),
    /// The id is taken.
    #[error("the institution id {0} is already registered")]
    IdTaken(String),
    /// No such institution.
    #[error("no institution {0} is registered")]
    UnknownInstitution(String),
    /// The credential key is registered already (to this or another institution).
    #[error("this credential key is already registered; an institution makes a new key for each request")]
    KeyTaken,
    /// The signing key is certified for another institution.
    #[error("this signing key is already certified for another institution")]
    SigningKeyTaken,
    /// The institution has no such key or certificate.
    #[error("institution {institution} has no credential key or signing certificate {key}")]
    UnknownKey {
        /// The institution.
        institution: String,
        /// The key as given.
        key: String,
    },
    /// The key or certificate is revoked already.
    #[error("{0}")]
    AlreadyRevoked(String),
    /// The validity asked for does not fit.
    #[error("the keys' validity must end after {from} and no later than the root certificate ({root_until})")]
    Validity {
        /// The start of validity.
        from: Timestamp,
        /// The end of the root's validity.
        root_until: Timestamp,
    },
    /// The private key given is not the root certificate's.
    #[error("the root CA key does not match the root certificate")]
    WrongCaKey,
    /// The root is not the one of the trust lists published before: a list under another root
    /// would replace them, and the nodes serving them would not follow.
    #[error(
        "the trust lists published so far are under another root (fingerprint {published}); a list is signed \
         only with the root they are under"
    )]
    OtherRoot {
        /// The SHA-256 of the root certificate of the list published last.
        published: Sha256Digest,
    },
    /// The list published last is not newer than the one served: it is not served.
    #[error(
        "the trust list published last (sequence {published}) is not newer than the one served (sequence \
         {served}); the one served stays"
    )]
    NotNewer {
        /// The sequence of the list published last.
        published: u64,
        /// The sequence of the list served.
        served: u64,
    },
    /// The certificate could not be issued.
    #[error("the signing certificate could not be issued: {0}")]
    Certificate(#[from] CertError),
    /// The trust list could not be made or does not verify.
    #[error("the trust list could not be published: {0}")]
    TrustList(#[from] TrustListError),
    /// The registry changed meanwhile, or refused the change.
    #[error("{0}")]
    Conflict(String),
    /// The database failed.
    #[error("the registry database failed")]
    Store(#[source] StoreError),
}

impl From<StoreError> for RegistryError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => RegistryError::Conflict(m),
            other => RegistryError::Store(other),
        }
    }
}

/// A signing certificate from the Ministry root for `name_en`'s `key`, valid from `from` to `until`.
fn certify(
    ca: &EcKey,
    root_cert: &ParsedCert,
    name_en: &str,
    key: &EcPublicKey,
    from: Timestamp,
    until: Timestamp,
) -> Result<ParsedCert, RegistryError> {
    if ca.public() != root_cert.key {
        return Err(RegistryError::WrongCaKey);
    }
    let (_, root_until) = root_cert.validity();
    if until <= from || until > root_until {
        return Err(RegistryError::Validity { from, root_until });
    }
    let der = x509::issue(
        &CertProfile {
            common_name: name_en.to_owned(),
            organization: name_en.to_owned(),
            not_before: from,
            not_after: until,
            role: CertRole::DocumentSigner,
        },
        key,
        Some(&root_cert.cert),
        ca,
    )?;
    Ok(ParsedCert::from_der(&der)?)
}

fn new_certificate<'a>(cert: &'a ParsedCert, sha256: &'a str) -> NewInstitutionCertificate<'a> {
    let (from, until) = cert.validity();
    NewInstitutionCertificate { der: &cert.der, sha256, not_before: from.unix(), not_after: until.unix() }
}

/// Refuses a credential key registered anywhere, and a signing key certified for another institution.
fn check_keys_free(
    registry: &[RegisteredInstitution],
    institution: &str,
    credential: Option<&CredentialPublicKey>,
    signing: Option<&EcPublicKey>,
) -> Result<(), RegistryError> {
    for r in registry {
        if let Some(key) = credential
            && r.keys.iter().any(|k| k.public_key_multibase == key.to_multikey())
        {
            return Err(RegistryError::KeyTaken);
        }
        if let Some(key) = signing
            && r.institution.id != institution
            && r.certificates.iter().any(|c| ParsedCert::from_der(&c.der).is_ok_and(|p| p.key == *key))
        {
            return Err(RegistryError::SigningKeyTaken);
        }
    }
    Ok(())
}

/// Checks an onboarding request as [`onboard`] does (the request itself, a free id, keys not
/// registered yet) and records nothing: what a preview shows before the Ministry confirms.
pub async fn check_onboarding(
    store: &MinistryStore,
    request: &OnboardingRequest,
) -> Result<(CredentialPublicKey, EcPublicKey), RegistryError> {
    let (credential, signing) = request.check()?;
    if store.institution(&request.id).await?.is_some() {
        return Err(RegistryError::IdTaken(request.id.clone()));
    }
    check_keys_free(&store.trust_registry().await?, &request.id, Some(&credential), Some(&signing))?;
    Ok((credential, signing))
}

/// Checks a rotation request as [`rotate_key`] does now and records nothing: see
/// [`check_rotation_at`].
pub async fn check_rotation(
    store: &MinistryStore,
    request: &RotationRequest,
) -> Result<(Institution, ProvenKeys), RegistryError> {
    check_rotation_at(store, request, crate::http::now()).await
}

/// Checks a rotation request as [`rotate_key`] does at `now` (the request itself, a registered
/// institution, new keys not registered yet, and a proof by a credential key the institution
/// holds at `now`: registered to it, in its window, not revoked) and records nothing; returns
/// the institution and the keys.
pub async fn check_rotation_at(
    store: &MinistryStore,
    request: &RotationRequest,
    now: Timestamp,
) -> Result<(Institution, ProvenKeys), RegistryError> {
    let proven = request.check()?;
    let institution =
        store.institution(&request.id).await?.ok_or_else(|| RegistryError::UnknownInstitution(request.id.clone()))?;
    let registry = store.trust_registry().await?;
    check_keys_free(&registry, &request.id, proven.credential.as_ref(), proven.signing.as_ref())?;
    let current = proven.current.to_multikey();
    let key = registry
        .iter()
        .filter(|r| r.institution.id == request.id)
        .flat_map(|r| &r.keys)
        .find(|k| k.public_key_multibase == current)
        .ok_or(RegistryError::CurrentKey(CurrentKeyProblem::NotRegistered))?;
    if key.revoked_from.is_some() {
        // Revoked from any time, even a later one: a key under suspicion replaces no key.
        return Err(RegistryError::CurrentKey(CurrentKeyProblem::Revoked));
    }
    // Open at `now`, as a rotation finds the keys whose window it ends.
    if !(key.valid_from <= now.unix() && now.unix() < key.valid_until) {
        return Err(RegistryError::CurrentKey(CurrentKeyProblem::NotValidNow));
    }
    Ok((institution, proven))
}

/// Onboards an institution: checks its request, certifies its signing key from the Ministry
/// root, and records the institution, its credential key and its certificate, valid from `now`
/// to `valid_until`, with the audit entry `audit` makes of the certificate, in one transaction.
/// Returns the certificate for the institution to install.
pub async fn onboard(
    store: &MinistryStore,
    ca: &EcKey,
    root_cert: &ParsedCert,
    request: &OnboardingRequest,
    (now, valid_until): (Timestamp, Timestamp),
    audit: impl FnOnce(&ParsedCert) -> AuditEntry,
) -> Result<ParsedCert, RegistryError> {
    let (credential, signing) = check_onboarding(store, request).await?;
    let cert = certify(ca, root_cert, &request.name_en, &signing, now, valid_until)?;
    let details = request.details();
    let institution = Institution {
        id: request.id.clone(),
        name_zh: details.name_zh.clone(),
        name_en: details.name_en.clone(),
        address: details.address.clone(),
        accreditation: details.accreditation(),
        created_at: now.unix(),
        updated_at: now.unix(),
    };
    let multikey = credential.to_multikey();
    let key =
        NewInstitutionKey { public_key_multibase: &multikey, valid_from: now.unix(), valid_until: valid_until.unix() };
    let sha256 = Sha256Digest::of(&cert.der).to_string();
    let new_cert = new_certificate(&cert, &sha256);
    store.add_institution(&institution, &key, &new_cert, now.unix(), &audit(&cert)).await.map_err(|e| match e {
        StoreError::Conflict(m) if m.contains("institution id") => RegistryError::IdTaken(request.id.clone()),
        other => other.into(),
    })?;
    tracing::info!(institution = %request.id, "institution onboarded");
    Ok(cert)
}

/// What a rotation added.
#[derive(Clone, Debug)]
pub struct Rotated {
    /// The new credential key (Multikey), if one was added.
    pub credential_key: Option<String>,
    /// The new signing certificate, if one was issued, for the institution to install.
    pub certificate: Option<ParsedCert>,
}

/// Rotates an institution's keys, from a request proven by a credential key it holds at `now`
/// (see [`check_rotation_at`]): a new credential key, valid from `now` to `valid_until`, ends
/// the window of its current keys at `now` (what they signed before stays valid); a new signing
/// key is certified from `now` to `valid_until` beside the old certificates, which stay valid.
/// The audit entry `audit` makes of what is added is written in the same transaction.
pub async fn rotate_key(
    store: &MinistryStore,
    ca: &EcKey,
    root_cert: &ParsedCert,
    request: &RotationRequest,
    (now, valid_until): (Timestamp, Timestamp),
    audit: impl FnOnce(&Rotated) -> AuditEntry,
) -> Result<Rotated, RegistryError> {
    let (institution, proven) = check_rotation_at(store, request, now).await?;
    if proven.credential.is_some() && valid_until <= now {
        return Err(RegistryError::Validity { from: now, root_until: root_cert.validity().1 });
    }
    let cert = match &proven.signing {
        Some(key) => Some(certify(ca, root_cert, &institution.name_en, key, now, valid_until)?),
        None => None,
    };
    let multikey = proven.credential.as_ref().map(|k| k.to_multikey());
    let key = multikey.as_deref().map(|m| NewInstitutionKey {
        public_key_multibase: m,
        valid_from: now.unix(),
        valid_until: valid_until.unix(),
    });
    let sha256 = cert.as_ref().map(|c| Sha256Digest::of(&c.der).to_string());
    let new_cert = cert.as_ref().zip(sha256.as_deref()).map(|(c, s)| new_certificate(c, s));
    let rotated = Rotated { credential_key: multikey.clone(), certificate: cert.clone() };
    store.rotate_institution_keys(&request.id, key.as_ref(), new_cert.as_ref(), now.unix(), &audit(&rotated)).await?;
    tracing::info!(institution = %request.id, credential_key = key.is_some(), certificate = cert.is_some(), "keys rotated");
    Ok(rotated)
}

/// What a revocation revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revoked {
    /// A credential key.
    CredentialKey,
    /// A signing certificate.
    SigningCertificate,
}

/// Revokes one of an institution's keys from `from` on (a compromise): `key` is a credential key
/// (its Multikey, `z6Mk…`) or a signing certificate (the SHA-256 of its DER, hex). What claims a
/// signing time at or after `from` fails verification; what was signed before still verifies.
/// The audit entry `audit` makes of what is revoked is written in the same transaction.
pub async fn revoke_key(
    store: &MinistryStore,
    institution: &str,
    key: &str,
    (from, reason): (Timestamp, &str),
    audit: impl FnOnce(Revoked) -> AuditEntry,
) -> Result<Revoked, RegistryError> {
    check_text("the reason", reason, 200)?;
    if store.institution(institution).await?.is_none() {
        return Err(RegistryError::UnknownInstitution(institution.to_owned()));
    }
    let unknown = || RegistryError::UnknownKey { institution: institution.to_owned(), key: key.to_owned() };
    let map = |e: StoreError| match e {
        StoreError::NotFound(_) => unknown(),
        StoreError::Conflict(m) => RegistryError::AlreadyRevoked(m),
        other => RegistryError::Store(other),
    };
    let revoked = if key.starts_with('z') {
        let entry = audit(Revoked::CredentialKey);
        store.revoke_institution_key(institution, key, from.unix(), reason, &entry).await.map_err(map)?;
        Revoked::CredentialKey
    } else {
        let sha256: Sha256Digest = key.parse().map_err(|_| unknown())?;
        let entry = audit(Revoked::SigningCertificate);
        store
            .revoke_institution_certificate(institution, &sha256.to_string(), from.unix(), reason, &entry)
            .await
            .map_err(map)?;
        Revoked::SigningCertificate
    };
    tracing::info!(institution, kind = ?revoked, "key revoked");
    Ok(revoked)
}

/// Changes an institution's names, address and accreditation, with the audit entry `audit`;
/// returns it as recorded.
pub async fn update_institution(
    store: &MinistryStore,
    id: &str,
    details: &InstitutionDetails,
    now: Timestamp,
    audit: &AuditEntry,
) -> Result<Institution, RegistryError> {
    details.validate()?;
    let mut institution =
        store.institution(id).await?.ok_or_else(|| RegistryError::UnknownInstitution(id.to_owned()))?;
    institution.name_zh = details.name_zh.clone();
    institution.name_en = details.name_en.clone();
    institution.address = details.address.clone();
    institution.accreditation = details.accreditation();
    store.update_institution(&institution, now.unix(), audit).await?;
    tracing::info!(institution = id, "institution details changed");
    store.institution(id).await?.ok_or_else(|| RegistryError::UnknownInstitution(id.to_owned()))
}

/// An institution's details, for a form that changes them.
pub fn details_of(institution: &Institution) -> InstitutionDetails {
    InstitutionDetails {
        name_zh: institution.name_zh.clone(),
        name_en: institution.name_en.clone(),
        address: institution.address.clone(),
        credential_types: institution.accreditation.credential_types.clone(),
        degree_levels: institution.accreditation.degree_levels.clone(),
    }
}

/// The trust list entry of a registered institution.
pub fn issuer_entry(r: &RegisteredInstitution) -> IssuerEntry {
    let i = &r.institution;
    IssuerEntry {
        id: i.id.clone(),
        name_zh: i.name_zh.clone(),
        name_en: i.name_en.clone(),
        accreditation: i.accreditation.clone(),
        credential_keys: r
            .keys
            .iter()
            .map(|k| KeyEntry {
                public_key_multibase: k.public_key_multibase.clone(),
                valid_from: Timestamp(k.valid_from),
                valid_until: Timestamp(k.valid_until),
                revoked_from: k.revoked_from.map(Timestamp),
                revocation_reason: k.revocation_reason.clone(),
            })
            .collect(),
        signing_certificates: r
            .certificates
            .iter()
            .map(|c| CertEntry {
                certificate: Der(c.der.clone()),
                revoked_from: c.revoked_from.map(Timestamp),
                revocation_reason: c.revocation_reason.clone(),
            })
            .collect(),
    }
}

/// Builds the trust list from the registry (next update in [`NEXT_UPDATE_DAYS`] days), signs
/// it, checks that it verifies under the root, keeps it, and returns its exact bytes: what
/// `/trust.json` serves and `dcert verify --trust` reads.
///
/// Its sequence is one more than the larger of the latest list kept and `served` (the sequence
/// of a list served now that may not be kept, such as a file served until a first list is
/// published). The root must be the one of the latest list kept, if any
/// ([`RegistryError::OtherRoot`]): the trust lists of a registry stay under one root.
///
/// The audit entry `audit` makes of the list is written in the same transaction.
pub async fn publish(
    store: &MinistryStore,
    signing: ListSigning<'_>,
    served: Option<u64>,
    now: Timestamp,
    audit: impl FnOnce(&TrustListContent) -> AuditEntry,
) -> Result<Vec<u8>, RegistryError> {
    let ListSigning { signer, root_cert, signer_cert, status_cert, log, registry_url } = signing;
    let latest = store.latest_trust_list().await?;
    if let Some(latest) = &latest {
        let published = TrustList::verify(latest.json.as_bytes(), None)?.root.fingerprint();
        if published != root_cert.fingerprint() {
            return Err(RegistryError::OtherRoot { published });
        }
    }
    let previous = latest.map_or(0, |l| l.sequence);
    let previous = u64::try_from(previous).map_err(|_| RegistryError::Conflict("bad sequence".into()))?;
    let sequence = previous
        .max(served.unwrap_or(0))
        .checked_add(1)
        .and_then(|s| i64::try_from(s).ok())
        .ok_or_else(|| RegistryError::Conflict("the sequence is exhausted".into()))?;
    let issuers = store.trust_registry().await?.iter().map(issuer_entry).collect();
    let content = TrustListContent {
        kind: "DcertTrustList".into(),
        format: FORMAT_VERSION,
        registry: registry_url.trim_end_matches('/').to_owned(),
        sequence: u64::try_from(sequence).map_err(|_| RegistryError::Conflict("bad sequence".into()))?,
        issued: now,
        next_update: Some(now.plus_seconds(NEXT_UPDATE_DAYS * 86_400)),
        root_certificate: Der(root_cert.der.clone()),
        signer_certificate: Der(signer_cert.der.clone()),
        status_signer_certificate: status_cert.map(|c| Der(c.der.clone())),
        log: log.cloned(),
        issuers,
        proof: None,
    };
    let json = TrustList::sign(&content, signer)?;
    let bytes = serde_json::to_vec_pretty(&json).map_err(|e| RegistryError::Conflict(e.to_string()))?;
    // Nobody relies on a list that does not verify.
    TrustList::verify(&bytes, Some(root_cert.fingerprint()))?;
    let text = String::from_utf8(bytes).map_err(|e| RegistryError::Conflict(e.to_string()))?;
    let list = StoredTrustList { sequence, issued_at: now.unix(), json: text.clone() };
    store.append_trust_list(&list, &audit(&content)).await?;
    tracing::info!(sequence, institutions = content.issuers.len(), "trust list published");
    Ok(text.into_bytes())
}

/// The trust list published last, byte for byte.
pub async fn latest(store: &MinistryStore) -> Result<Option<Vec<u8>>, RegistryError> {
    Ok(store.latest_trust_list().await?.map(|l| l.json.into_bytes()))
}

/// Serves the trust list published last in the registry, if it differs from the one served:
/// it must verify under the same root as the one served and have a greater sequence (no
/// rollback to an older list, [`RegistryError::NotNewer`]). Returns whether it changed. Call it
/// after [`publish`], and now and then on every node that serves the Ministry's site.
pub async fn refresh(state: &MinistryState) -> Result<bool, RegistryError> {
    let Some(bytes) = latest(&state.store).await? else { return Ok(false) };
    let served = state.trust();
    if served.bytes == bytes {
        return Ok(false);
    }
    let list = TrustList::verify(&bytes, Some(served.list.root.fingerprint()))?;
    // A list naming a log this site does not keep would make every status answer unprovable.
    let kept = state.log.as_ref().map(|l| l.verifier());
    if list.log.is_some() && list.log != kept {
        return Err(RegistryError::Conflict(
            "the published list names a transparency log whose key this site does not hold ([trust] log_key)".into(),
        ));
    }
    let published = list.content.sequence;
    {
        // Compared again under the lock: another refresh may have served a list meanwhile.
        let mut slot = state.trust.write().unwrap_or_else(|p| p.into_inner());
        if slot.bytes == bytes {
            return Ok(false);
        }
        let served = slot.list.content.sequence;
        if published <= served {
            return Err(RegistryError::NotNewer { published, served });
        }
        *slot = std::sync::Arc::new(Published { bytes, list });
    }
    tracing::info!(sequence = published, "serving a new trust list");
    Ok(true)
}
