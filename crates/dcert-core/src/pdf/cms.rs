//! The CMS SignedData inside a PAdES signature (ETSI.CAdES.detached): building it over a
//! document digest, and checking it.

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode, Reader, Sequence};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier};
use x509_cert::Certificate;
use x509_cert::attr::Attribute;

use crate::digest::Sha256Digest;
use crate::keys::EcKey;
use crate::x509::{ECDSA_WITH_SHA256, ParsedCert};

const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SIGNING_CERTIFICATE_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");

/// ESSCertIDv2 with the default hash algorithm (SHA-256) and no issuerSerial.
#[derive(Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
}

/// SigningCertificateV2 (RFC 5035) with one certificate and no policies.
#[derive(Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// A signature could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the CMS signature could not be built: {0}")]
pub struct CmsBuildError(String);

fn build_err(e: impl std::fmt::Display) -> CmsBuildError {
    CmsBuildError(e.to_string())
}

fn attribute(oid: ObjectIdentifier, value: impl Encode) -> Result<Attribute, CmsBuildError> {
    let any = Any::from_der(&value.to_der().map_err(build_err)?).map_err(build_err)?;
    let mut values = SetOfVec::new();
    values.insert(any).map_err(build_err)?;
    Ok(Attribute { oid, values })
}

fn sha256_alg() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned { oid: ID_SHA256, parameters: None }
}

/// A detached CMS SignedData over `digest` (the SHA-256 of the signed byte ranges), signed by
/// `key` whose certificate is `cert_der`, the only certificate included: every byte of the
/// structure is then either signed or checked exactly by [`check`].
pub fn sign(digest: &Sha256Digest, key: &EcKey, cert_der: &[u8]) -> Result<Vec<u8>, CmsBuildError> {
    let cert = Certificate::from_der(cert_der).map_err(build_err)?;
    let mut signed_attrs = SetOfVec::new();
    signed_attrs.insert(attribute(ID_CONTENT_TYPE, ID_DATA)?).map_err(build_err)?;
    signed_attrs
        .insert(attribute(ID_MESSAGE_DIGEST, OctetString::new(digest.as_bytes().to_vec()).map_err(build_err)?)?)
        .map_err(build_err)?;
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            cert_hash: OctetString::new(Sha256Digest::of(cert_der).as_bytes().to_vec()).map_err(build_err)?,
        }],
    };
    signed_attrs.insert(attribute(ID_SIGNING_CERTIFICATE_V2, ess)?).map_err(build_err)?;
    // The signature covers the DER of the attributes as a SET OF, not the [0] IMPLICIT form.
    let to_sign = signed_attrs.to_der().map_err(build_err)?;
    let signature = key.sign_der(&to_sign);
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: cert.tbs_certificate().issuer().clone(),
            serial_number: cert.tbs_certificate().serial_number().clone(),
        }),
        digest_alg: sha256_alg(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: AlgorithmIdentifierOwned { oid: ECDSA_WITH_SHA256, parameters: None },
        signature: OctetString::new(signature).map_err(build_err)?,
        unsigned_attrs: None,
    };
    let certs = vec![CertificateChoices::Certificate(cert)];
    let mut digest_algorithms = SetOfVec::new();
    digest_algorithms.insert(sha256_alg()).map_err(build_err)?;
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms,
        encap_content_info: EncapsulatedContentInfo { econtent_type: ID_DATA, econtent: None },
        certificates: Some(CertificateSet::try_from(certs).map_err(build_err)?),
        crls: None,
        signer_infos: SignerInfos::try_from(vec![signer_info]).map_err(build_err)?,
    };
    let content_info =
        ContentInfo { content_type: ID_SIGNED_DATA, content: Any::encode_from(&signed_data).map_err(build_err)? };
    content_info.to_der().map_err(build_err)
}

/// What checking a CMS signature found.
#[derive(Debug, Clone, PartialEq)]
pub enum CmsCheck {
    /// The structure is not a CMS SignedData of the expected profile.
    Malformed(String),
    /// The signed digest is not the digest of the signed bytes: the file was modified.
    DigestMismatch {
        /// The signer's certificate.
        signer: Box<ParsedCert>,
    },
    /// The digest matches but the signature does not verify under the signer's key.
    BadSignature {
        /// The signer's certificate.
        signer: Box<ParsedCert>,
    },
    /// The signature is valid for the signer's certificate.
    Valid {
        /// The signer's certificate.
        signer: Box<ParsedCert>,
    },
}

fn single_value(attrs: &SetOfVec<Attribute>, oid: ObjectIdentifier) -> Option<&Any> {
    let attr = attrs.iter().find(|a| a.oid == oid)?;
    if attr.values.len() != 1 || attrs.iter().filter(|a| a.oid == oid).count() != 1 {
        return None;
    }
    attr.values.iter().next()
}

/// Checks a CMS signature whose DER starts `contents` (trailing zero padding allowed) against
/// `digest`, the SHA-256 of the signed byte ranges.
pub fn check(contents: &[u8], digest: &Sha256Digest) -> CmsCheck {
    let malformed = |what: &str| CmsCheck::Malformed(what.to_owned());
    let mut reader = match der::SliceReader::new(contents) {
        Ok(r) => r,
        Err(_) => return malformed("empty signature"),
    };
    let content_info = match ContentInfo::decode(&mut reader) {
        Ok(ci) => ci,
        Err(e) => return CmsCheck::Malformed(format!("not a CMS structure: {e}")),
    };
    let consumed = usize::try_from(reader.position()).unwrap_or(usize::MAX);
    if contents.get(consumed..).is_none_or(|rest| rest.iter().any(|&b| b != 0)) {
        return malformed("data after the CMS structure");
    }

    if content_info.content_type != ID_SIGNED_DATA {
        return malformed("not a SignedData");
    }
    let Ok(signed_data) = content_info.content.decode_as::<SignedData>() else {
        return malformed("not a SignedData");
    };
    // Only the canonical encoding is accepted: decoding normalises some things (the order of a
    // SET OF, a DEFAULT value written out), and a second encoding of the same signature would
    // let the file's bytes change while the signature still verifies.
    if signed_data.to_der().ok() != content_info.content.to_der().ok() {
        return malformed("the signature is not in canonical DER");
    }
    // Every field outside the signed attributes is checked exactly, so that no byte of the
    // signature can change without the check failing.
    if signed_data.version != CmsVersion::V1 {
        return malformed("the SignedData version is not 1");
    }
    if signed_data.digest_algorithms.len() != 1 || signed_data.digest_algorithms.iter().next() != Some(&sha256_alg()) {
        return malformed("the digest algorithms are not exactly SHA-256");
    }
    if signed_data.encap_content_info.econtent.is_some() || signed_data.encap_content_info.econtent_type != ID_DATA {
        return malformed("not a detached signature");
    }
    if signed_data.crls.is_some() {
        return malformed("revocation data is not expected in the signature");
    }
    let signers: Vec<&SignerInfo> = signed_data.signer_infos.0.iter().collect();
    let [signer_info] = signers.as_slice() else {
        return malformed("not exactly one signer");
    };
    let certs: Vec<&Certificate> = signed_data
        .certificates
        .as_ref()
        .map(|set| {
            set.0
                .iter()
                .filter_map(|c| match c {
                    CertificateChoices::Certificate(cert) => Some(cert),
                    CertificateChoices::Other(_) => None,
                })
                .collect()
        })
        .unwrap_or_default();
    // The signer's certificate is chosen by its identifier, never by its position; version 1
    // names it by issuer and serial number only.
    let SignerIdentifier::IssuerAndSerialNumber(isn) = &signer_info.sid else {
        return malformed("the signer is not named by issuer and serial number");
    };
    let cert = certs.iter().find(|c| {
        c.tbs_certificate().issuer() == &isn.issuer && c.tbs_certificate().serial_number() == &isn.serial_number
    });
    let Some(cert) = cert else {
        return malformed("the signer's certificate is not included");
    };
    if certs.len() != 1 || signed_data.certificates.as_ref().is_some_and(|set| set.0.len() != 1) {
        return malformed("the signature carries certificates besides the signer's");
    }
    if signer_info.version != CmsVersion::V1 || signer_info.unsigned_attrs.is_some() {
        return malformed("the signer info is not of the expected profile");
    }
    let Ok(cert_der) = cert.to_der() else {
        return malformed("the signer's certificate cannot be encoded");
    };
    let signer = match ParsedCert::from_parts((*cert).clone(), cert_der) {
        Ok(p) => Box::new(p),
        Err(e) => return CmsCheck::Malformed(e.to_string()),
    };
    if signer_info.digest_alg != sha256_alg() {
        return malformed("the digest algorithm is not SHA-256");
    }
    if signer_info.signature_algorithm.oid != ECDSA_WITH_SHA256 || signer_info.signature_algorithm.parameters.is_some()
    {
        return malformed("the signature algorithm is not ECDSA with SHA-256");
    }
    let Some(attrs) = &signer_info.signed_attrs else {
        return malformed("no signed attributes");
    };
    let content_type = single_value(attrs, ID_CONTENT_TYPE).and_then(|v| v.decode_as::<ObjectIdentifier>().ok());
    if content_type != Some(ID_DATA) {
        return malformed("the content-type attribute is missing or wrong");
    }
    let Some(signed_digest) = single_value(attrs, ID_MESSAGE_DIGEST).and_then(|v| v.decode_as::<OctetString>().ok())
    else {
        return malformed("the message-digest attribute is missing");
    };
    // The signing certificate attribute binds the signature to this certificate.
    let ess_ok = single_value(attrs, ID_SIGNING_CERTIFICATE_V2)
        .and_then(|v| v.decode_as::<SigningCertificateV2>().ok())
        .and_then(|ess| ess.certs.into_iter().next())
        .is_some_and(|id| id.cert_hash.as_bytes() == Sha256Digest::of(&signer.der).as_bytes());
    if !ess_ok {
        return malformed("the signing-certificate attribute is missing or names another certificate");
    }
    let Ok(to_verify) = attrs.to_der() else {
        return malformed("the signed attributes cannot be encoded");
    };
    if !signer.key.verify_der(&to_verify, signer_info.signature.as_bytes()) {
        return CmsCheck::BadSignature { signer };
    }
    if signed_digest.as_bytes() != digest.as_bytes() {
        return CmsCheck::DigestMismatch { signer };
    }
    CmsCheck::Valid { signer }
}
