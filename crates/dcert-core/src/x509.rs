//! X.509 certificates for the PDF signatures: the Ministry's root CA, the trust list signer and
//! the institutions' signing certificates, all ECDSA P-256 with SHA-256.

use std::str::FromStr;
use std::time::Duration;

use const_oid::AssociatedOid;
use der::asn1::{BitString, GeneralizedTime, OctetString, UtcTime};
use der::{Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::time::{Time, Validity};

use crate::digest::Sha256Digest;
use crate::keys::{EcKey, EcPublicKey};
use crate::time::Timestamp;

/// ecdsa-with-SHA256.
pub const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// id-ecPublicKey.
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// prime256v1 (P-256).
const PRIME256V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// The common name of the certificate that signs trust lists.
pub const TRUST_LIST_SIGNER_CN: &str = "dcert Trust List Signer";

/// id-tsl-kp-tslSigning (ETSI TS 119 612): the extended key usage that marks the trust list
/// signer. Only a certificate with it may sign a trust list, and no institution's may have it.
pub const TRUST_LIST_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.2231.3.0");

/// The common name of the certificate that signs the registry's status answers.
pub const STATUS_SIGNER_CN: &str = "dcert Status Signer";

/// id-kp-OCSPSigning (RFC 5280): the extended key usage that marks the status signer, the key
/// the Ministry's site signs its status answers with, online. Only it may sign an answer, and
/// no other certificate of a trust list may have it.
pub const STATUS_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.9");

/// What a certificate is for; it decides the extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertRole {
    /// The Ministry root CA: basic constraints CA, key usage keyCertSign and cRLSign.
    Root,
    /// The trust list signer: digitalSignature, extended key usage [`TRUST_LIST_SIGNING`].
    TrustListSigner,
    /// An institution's PDF signing certificate: digitalSignature and nonRepudiation.
    DocumentSigner,
    /// The registry's status signer: digitalSignature, extended key usage [`STATUS_SIGNING`].
    StatusSigner,
}

/// A certificate could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// The DER is not an X.509 certificate.
    #[error("not an X.509 certificate: {0}")]
    Parse(String),
    /// The certificate's key is not an ECDSA P-256 key.
    #[error("the certificate's key is not ECDSA P-256")]
    UnsupportedKey,
    /// A name or time could not be encoded.
    #[error("the certificate could not be encoded: {0}")]
    Encode(String),
}

fn enc(e: impl std::fmt::Display) -> CertError {
    CertError::Encode(e.to_string())
}

/// What a new certificate says about its subject.
#[derive(Clone, Debug)]
pub struct CertProfile {
    /// The subject's common name.
    pub common_name: String,
    /// The subject's organisation.
    pub organization: String,
    /// Start of validity.
    pub not_before: Timestamp,
    /// End of validity.
    pub not_after: Timestamp,
    /// What the certificate is for.
    pub role: CertRole,
}

#[derive(Sequence)]
struct TbsOut {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: u8,
    serial: der::asn1::Uint,
    signature: AlgorithmIdentifierOwned,
    issuer: Name,
    validity: Validity,
    subject: Name,
    spki: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT")]
    extensions: Vec<Extension>,
}

#[derive(Sequence)]
struct CertOut {
    tbs: TbsOut,
    algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

fn escape_rdn(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=') || (i == 0 && matches!(c, '#' | ' ')) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn name(common_name: &str, organization: &str) -> Result<Name, CertError> {
    Name::from_str(&format!("CN={},O={},C=TW", escape_rdn(common_name), escape_rdn(organization))).map_err(enc)
}

fn time(t: Timestamp) -> Result<Time, CertError> {
    let secs = u64::try_from(t.unix()).map_err(|_| CertError::Encode("time before 1970".into()))?;
    let d = Duration::from_secs(secs);
    if t.date().year() < 2050 {
        UtcTime::from_unix_duration(d).map(Time::UtcTime).map_err(enc)
    } else {
        GeneralizedTime::from_unix_duration(d).map(Time::GeneralTime).map_err(enc)
    }
}

fn extension<T: Encode + AssociatedOid>(value: &T, critical: bool) -> Result<Extension, CertError> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der().map_err(enc)?).map_err(enc)?,
    })
}

/// The key identifier of a public key: the first 20 bytes of SHA-256 of its SEC1 form (RFC 7093).
pub fn key_identifier(key: &EcPublicKey) -> Vec<u8> {
    Sha256Digest::of(&key.to_sec1()).as_bytes()[..20].to_vec()
}

fn ecdsa_sha256() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned { oid: ECDSA_WITH_SHA256, parameters: None }
}

/// Issues a certificate for `subject_key` with `profile`, signed by `issuer_key`. For a
/// self-signed root, pass the same key and `issuer = None`.
pub fn issue(
    profile: &CertProfile,
    subject_key: &EcPublicKey,
    issuer: Option<&Certificate>,
    issuer_key: &EcKey,
) -> Result<Vec<u8>, CertError> {
    let subject = name(&profile.common_name, &profile.organization)?;
    let issuer_name = match issuer {
        Some(cert) => cert.tbs_certificate().subject().clone(),
        None => subject.clone(),
    };
    let spki = SubjectPublicKeyInfoOwned::from_key(subject_key.inner()).map_err(enc)?;
    // A serial number derived from what makes the certificate unique; positive, 16 bytes.
    let mut serial = Sha256Digest::of_parts(&[
        &subject_key.to_sec1(),
        &profile.not_before.unix().to_be_bytes(),
        profile.common_name.as_bytes(),
    ])
    .as_bytes()[..16]
        .to_vec();
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    let ca = profile.role == CertRole::Root;
    let key_usage = match profile.role {
        CertRole::Root => KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
        CertRole::TrustListSigner | CertRole::StatusSigner => KeyUsage(KeyUsages::DigitalSignature.into()),
        CertRole::DocumentSigner => KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation),
    };
    let mut extensions = vec![
        extension(&BasicConstraints { ca, path_len_constraint: ca.then_some(0) }, true)?,
        extension(&key_usage, true)?,
        extension(&SubjectKeyIdentifier(OctetString::new(key_identifier(subject_key)).map_err(enc)?), false)?,
        extension(
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(key_identifier(&issuer_key.public())).map_err(enc)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
            false,
        )?,
    ];
    match profile.role {
        CertRole::TrustListSigner => extensions.push(extension(&ExtendedKeyUsage(vec![TRUST_LIST_SIGNING]), false)?),
        CertRole::StatusSigner => extensions.push(extension(&ExtendedKeyUsage(vec![STATUS_SIGNING]), false)?),
        CertRole::Root | CertRole::DocumentSigner => {}
    }
    let tbs = TbsOut {
        version: 2,
        serial: der::asn1::Uint::new(&serial).map_err(enc)?,
        signature: ecdsa_sha256(),
        issuer: issuer_name,
        validity: Validity::new(time(profile.not_before)?, time(profile.not_after)?),
        subject,
        spki,
        extensions,
    };
    let tbs_der = tbs.to_der().map_err(enc)?;
    let signature = issuer_key.sign_der(&tbs_der);
    let cert = CertOut { tbs, algorithm: ecdsa_sha256(), signature: BitString::from_bytes(&signature).map_err(enc)? };
    let der = cert.to_der().map_err(enc)?;
    // Read back to be sure the result is a certificate that verifiers will parse.
    Certificate::from_der(&der).map_err(|e| CertError::Parse(e.to_string()))?;
    Ok(der)
}

/// A parsed certificate together with its DER bytes and P-256 key.
#[derive(Clone, Debug)]
pub struct ParsedCert {
    /// The certificate.
    pub cert: Certificate,
    /// Its DER encoding, as received.
    pub der: Vec<u8>,
    /// Its subject public key.
    pub key: EcPublicKey,
    /// The DER of its issuer and serial number (CMS IssuerAndSerialNumber).
    issuer_and_serial: Vec<u8>,
}

#[derive(Sequence)]
struct IssuerAndSerial {
    issuer: Name,
    serial: x509_cert::serial_number::SerialNumber,
}

impl PartialEq for ParsedCert {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl ParsedCert {
    /// Parses a DER certificate with a P-256 key.
    pub fn from_der(der: &[u8]) -> Result<Self, CertError> {
        let cert = Certificate::from_der(der).map_err(|e| CertError::Parse(e.to_string()))?;
        Self::from_parts(cert, der.to_vec())
    }

    /// A certificate already decoded, with its DER encoding.
    pub fn from_parts(cert: Certificate, der: Vec<u8>) -> Result<Self, CertError> {
        let spki = cert.tbs_certificate().subject_public_key_info();
        let curve: Option<ObjectIdentifier> = spki.algorithm.parameters.as_ref().and_then(|p| p.decode_as().ok());
        if spki.algorithm.oid != EC_PUBLIC_KEY || curve != Some(PRIME256V1) {
            return Err(CertError::UnsupportedKey);
        }
        let key = EcPublicKey::from_sec1(spki.subject_public_key.raw_bytes()).map_err(|_| CertError::UnsupportedKey)?;
        let tbs = cert.tbs_certificate();
        let issuer_and_serial = IssuerAndSerial { issuer: tbs.issuer().clone(), serial: tbs.serial_number().clone() }
            .to_der()
            .map_err(|e| CertError::Parse(e.to_string()))?;
        Ok(Self { cert, der, key, issuer_and_serial })
    }

    /// The DER of the certificate's issuer and serial number, as a CMS signer identifier.
    pub fn issuer_and_serial(&self) -> &[u8] {
        &self.issuer_and_serial
    }

    /// The SHA-256 fingerprint of the DER encoding.
    pub fn fingerprint(&self) -> Sha256Digest {
        Sha256Digest::of(&self.der)
    }

    /// Whether `issuer` signed this certificate (names chain and the signature verifies).
    pub fn is_issued_by(&self, issuer: &ParsedCert) -> bool {
        let tbs = self.cert.tbs_certificate();
        if tbs.issuer() != issuer.cert.tbs_certificate().subject()
            || self.cert.signature_algorithm() != tbs.signature()
            || self.cert.signature_algorithm().oid != ECDSA_WITH_SHA256
            || !issuer.may_sign_certificates()
        {
            return false;
        }
        let Ok(tbs_der) = tbs.to_der() else {
            return false;
        };
        match self.cert.signature().as_bytes() {
            Some(sig) => issuer.key.verify_der(&tbs_der, sig),
            None => false,
        }
    }

    /// The validity window: `(not_before, not_after)`.
    pub fn validity(&self) -> (Timestamp, Timestamp) {
        let v = self.cert.tbs_certificate().validity();
        let secs = |t: Time| Timestamp(t.to_unix_duration().as_secs() as i64);
        (secs(v.not_before), secs(v.not_after))
    }

    /// Whether `at` lies within the validity window.
    pub fn is_valid_at(&self, at: Timestamp) -> bool {
        let (from, until) = self.validity();
        from <= at && at <= until
    }

    /// The subject's common name, if it has one.
    pub fn common_name(&self) -> Option<String> {
        let cn = const_oid::db::rfc4519::CN;
        self.cert.tbs_certificate().subject().iter_rdn().flat_map(|rdn| rdn.iter()).find(|atv| atv.oid == cn).and_then(
            |atv| {
                der::asn1::Utf8StringRef::try_from(&atv.value)
                    .map(|s| s.as_str().to_owned())
                    .or_else(|_| der::asn1::PrintableStringRef::try_from(&atv.value).map(|s| s.as_str().to_owned()))
                    .ok()
            },
        )
    }

    /// Whether the certificate is a CA whose key usage allows signing certificates.
    pub fn may_sign_certificates(&self) -> bool {
        self.is_ca()
            && matches!(
                self.cert.tbs_certificate().get_extension::<KeyUsage>(),
                Ok(Some((_, usage))) if usage.key_cert_sign()
            )
    }

    /// Whether the extended key usage lists `purpose`.
    pub fn has_extended_key_usage(&self, purpose: ObjectIdentifier) -> bool {
        matches!(
            self.cert.tbs_certificate().get_extension::<ExtendedKeyUsage>(),
            Ok(Some((_, usage))) if usage.0.contains(&purpose)
        )
    }

    /// Whether the certificate is a CA (basic constraints cA = true).
    pub fn is_ca(&self) -> bool {
        matches!(
            self.cert.tbs_certificate().get_extension::<BasicConstraints>(),
            Ok(Some((_, bc))) if bc.ca
        )
    }

    /// The certificate as PEM.
    pub fn to_pem(&self) -> String {
        der_to_pem("CERTIFICATE", &self.der)
    }
}

/// PEM text for DER bytes under `label`.
pub fn der_to_pem(label: &str, der: &[u8]) -> String {
    use base64ct::Encoding;
    let b64 = base64ct::Base64::encode_string(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The DER inside the first PEM block labelled `label`.
pub fn pem_to_der(label: &str, pem: &str) -> Option<Vec<u8>> {
    use base64ct::Encoding;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let b64: String = pem[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
    base64ct::Base64::decode_vec(&b64).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_leaf_chains_to_its_root_and_not_to_another() {
        let root_key = EcKey::from_seed(&[1; 32]).unwrap();
        let profile = |cn: &str, role| CertProfile {
            common_name: cn.into(),
            organization: "Ministry of Education, R.O.C.".into(),
            not_before: ts("2025-01-01T00:00:00Z"),
            not_after: ts("2035-01-01T00:00:00Z"),
            role,
        };
        let root = ParsedCert::from_der(
            &issue(&profile("Root", CertRole::Root), &root_key.public(), None, &root_key).unwrap(),
        )
        .unwrap();
        assert!(root.is_ca());
        assert!(root.is_issued_by(&root));
        let leaf_key = EcKey::from_seed(&[2; 32]).unwrap();
        let leaf = ParsedCert::from_der(
            &issue(
                &profile("國立高雄科技大學, NKUST", CertRole::DocumentSigner),
                &leaf_key.public(),
                Some(&root.cert),
                &root_key,
            )
            .unwrap(),
        )
        .unwrap();
        assert!(!leaf.is_ca());
        assert!(leaf.is_issued_by(&root));
        assert_eq!(leaf.common_name().as_deref(), Some("國立高雄科技大學, NKUST"));
        assert_eq!(leaf.key, leaf_key.public());
        assert!(leaf.is_valid_at(ts("2030-01-01T00:00:00Z")));
        assert!(!leaf.is_valid_at(ts("2036-01-01T00:00:00Z")));

        let other_key = EcKey::from_seed(&[3; 32]).unwrap();
        let other = ParsedCert::from_der(
            &issue(&profile("Root", CertRole::Root), &other_key.public(), None, &other_key).unwrap(),
        )
        .unwrap();
        assert!(!leaf.is_issued_by(&other), "same name, different key");
        let pem = leaf.to_pem();
        assert_eq!(pem_to_der("CERTIFICATE", &pem).unwrap(), leaf.der);
    }
}
