//! The CMS SignedData inside a PAdES signature (ETSI.CAdES.detached): building it over a
//! document digest, and checking it.

use std::borrow::Cow;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence};
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

/// What checking a CMS signature found; the signer is borrowed when it is a certificate the
/// caller already knows (from the trust list), parsed otherwise.
#[derive(Debug, Clone, PartialEq)]
pub enum CmsCheck<'t> {
    /// The structure is not a CMS SignedData of dcert's profile.
    Malformed(String),
    /// The signed digest is not the digest of the signed bytes: the file was modified.
    DigestMismatch {
        /// The signer's certificate.
        signer: Cow<'t, ParsedCert>,
    },
    /// The digest matches but the signature does not verify under the signer's key.
    BadSignature {
        /// The signer's certificate.
        signer: Cow<'t, ParsedCert>,
    },
    /// The signature is valid for the signer's certificate.
    Valid {
        /// The signer's certificate.
        signer: Cow<'t, ParsedCert>,
    },
}

/// A strict reader of DER: definite, minimal lengths only.
struct DerReader<'a> {
    bytes: &'a [u8],
}

impl<'a> DerReader<'a> {
    /// The next element: its tag, its value and its whole encoding.
    fn next(&mut self) -> Option<(u8, &'a [u8], &'a [u8])> {
        let [tag, first, ..] = *self.bytes else { return None };
        let (len, header): (usize, usize) = match first {
            0..=0x7f => (usize::from(first), 2),
            0x81 => match usize::from(*self.bytes.get(2)?) {
                l if l >= 0x80 => (l, 3),
                _ => return None,
            },
            0x82 => match usize::from(*self.bytes.get(2)?) << 8 | usize::from(*self.bytes.get(3)?) {
                l if l >= 0x100 => (l, 4),
                _ => return None,
            },
            // Longer lengths, indefinite lengths and non-minimal forms are not DER of this size.
            _ => return None,
        };
        let end = header.checked_add(len)?;
        let whole = self.bytes.get(..end)?;
        self.bytes = &self.bytes[end..];
        Some((tag, &whole[header..], whole))
    }

    /// The value of the next element, which must have `tag`.
    fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (t, value, _) = self.next()?;
        (t == tag).then_some(value)
    }

    /// The whole encoding of the next element, which must have `tag`.
    fn expect_whole(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (t, _, whole) = self.next()?;
        (t == tag).then_some(whole)
    }

    /// The value of the one element `bytes` hold, which must have `tag`.
    fn only(bytes: &'a [u8], tag: u8) -> Option<&'a [u8]> {
        let mut reader = DerReader { bytes };
        let value = reader.expect(tag)?;
        reader.done()?;
        Some(value)
    }

    /// The next element, which must be exactly `encoding`.
    fn exact(&mut self, encoding: &[u8]) -> Option<()> {
        let (_, _, whole) = self.next()?;
        (whole == encoding).then_some(())
    }

    fn done(&self) -> Option<()> {
        self.bytes.is_empty().then_some(())
    }
}

/// The parts of a signature in dcert's profile, borrowed from its bytes.
struct Parts<'a> {
    certificate: &'a [u8],
    signer_id: &'a [u8],
    signed_attrs: &'a [u8],
    message_digest: &'a [u8],
    certificate_hash: &'a [u8],
    signature: &'a [u8],
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const CONTEXT_0: u8 = 0xa0;
const OCTET_STRING: u8 = 0x04;

/// Reads a signature of exactly the profile [`sign`] writes. Every byte is either compared with
/// the one encoding the profile allows or returned to be checked (the certificate, the signer
/// identifier, the signed attributes and the signature value), so that no second encoding of a
/// signature can exist.
fn parts(der: &[u8]) -> Option<Parts<'_>> {
    const SIGNED_DATA_OID: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
    const VERSION_1: &[u8] = &[0x02, 0x01, 0x01];
    const SHA256_ALG: &[u8] = &[0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
    const DIGEST_ALGS: &[u8] =
        &[0x31, 0x0d, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
    const DETACHED_DATA: &[u8] = &[0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
    const ECDSA_SHA256: &[u8] = &[0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
    const CONTENT_TYPE_DATA: &[u8] = &[
        0x30, 0x18, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03, 0x31, 0x0b, 0x06, 0x09, 0x2a,
        0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01,
    ];
    const MESSAGE_DIGEST_PREFIX: &[u8] =
        &[0x30, 0x2f, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04, 0x31, 0x22, 0x04, 0x20];
    const SIGNING_CERTIFICATE_PREFIX: &[u8] = &[
        0x30, 0x37, 0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x2f, 0x31, 0x28, 0x30,
        0x26, 0x30, 0x24, 0x30, 0x22, 0x04, 0x20,
    ];

    let mut ci = DerReader { bytes: DerReader::only(der, SEQUENCE)? };
    ci.exact(SIGNED_DATA_OID)?;
    let explicit = ci.expect(CONTEXT_0)?;
    ci.done()?;
    let signed_data = DerReader::only(explicit, SEQUENCE)?;

    let mut sd = DerReader { bytes: signed_data };
    sd.exact(VERSION_1)?;
    sd.exact(DIGEST_ALGS)?;
    sd.exact(DETACHED_DATA)?;
    let certificates = sd.expect(CONTEXT_0)?;
    let signer_infos = sd.expect(SET)?;
    sd.done()?;

    let mut certs = DerReader { bytes: certificates };
    let certificate = certs.expect_whole(SEQUENCE)?;
    certs.done()?;

    let mut si = DerReader { bytes: DerReader::only(signer_infos, SEQUENCE)? };
    si.exact(VERSION_1)?;
    let signer_id = si.expect_whole(SEQUENCE)?;
    si.exact(SHA256_ALG)?;
    let (tag, attrs, signed_attrs) = si.next()?;
    (tag == CONTEXT_0).then_some(())?;
    si.exact(ECDSA_SHA256)?;
    let signature = si.expect(OCTET_STRING)?;
    si.done()?;

    // The signed attributes, in their DER (SET OF) order.
    let mut a = DerReader { bytes: attrs };
    a.exact(CONTENT_TYPE_DATA)?;
    let (_, _, digest_attr) = a.next()?;
    let message_digest = digest_attr.strip_prefix(MESSAGE_DIGEST_PREFIX).filter(|d| d.len() == 32)?;
    let (_, _, cert_attr) = a.next()?;
    let certificate_hash = cert_attr.strip_prefix(SIGNING_CERTIFICATE_PREFIX).filter(|d| d.len() == 32)?;
    a.done()?;

    Some(Parts { certificate, signer_id, signed_attrs, message_digest, certificate_hash, signature })
}

/// Checks a CMS signature whose DER starts `contents` (zero padding may follow) against
/// `digest`, the SHA-256 of the signed byte ranges. `known` returns the caller's parsed copy of
/// a certificate it knows by its exact bytes; any other certificate is parsed here.
pub fn check<'t>(
    contents: &[u8],
    digest: &Sha256Digest,
    known: impl FnOnce(&[u8]) -> Option<&'t ParsedCert>,
) -> CmsCheck<'t> {
    let malformed = |what: &str| CmsCheck::Malformed(what.to_owned());
    let used = match (DerReader { bytes: contents }).next() {
        Some((_, _, whole)) => whole.len(),
        None => return malformed("not a DER structure"),
    };
    if contents[used..].iter().any(|&b| b != 0) {
        return malformed("data after the CMS structure");
    }
    let Some(parts) = parts(&contents[..used]) else {
        return malformed("not a CMS SignedData of the certificate profile");
    };
    let signer: Cow<'t, ParsedCert> = match known(parts.certificate) {
        Some(cert) => Cow::Borrowed(cert),
        None => match ParsedCert::from_der(parts.certificate) {
            Ok(cert) if cert.der == parts.certificate => Cow::Owned(cert),
            Ok(_) => return malformed("the signer's certificate is not in canonical DER"),
            Err(e) => return CmsCheck::Malformed(e.to_string()),
        },
    };
    if parts.signer_id != signer.issuer_and_serial() {
        return malformed("the signer identifier does not name the included certificate");
    }
    // The signing certificate attribute binds the signature to this certificate.
    if parts.certificate_hash != Sha256Digest::of(parts.certificate).as_bytes() {
        return malformed("the signing-certificate attribute names another certificate");
    }
    // The signature covers the attributes as a SET OF, not in their [0] IMPLICIT form.
    let mut to_verify = parts.signed_attrs.to_vec();
    to_verify[0] = SET;
    if !signer.key.verify_der(&to_verify, parts.signature) {
        return CmsCheck::BadSignature { signer };
    }
    if parts.message_digest != digest.as_bytes() {
        return CmsCheck::DigestMismatch { signer };
    }
    CmsCheck::Valid { signer }
}
