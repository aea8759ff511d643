//! The QR seal: a compact signed copy of the certificate's record, so that a printout or a scan
//! can be checked against authentic data.
//!
//! The seal is a COSE_Sign1 (RFC 9052) signed with the issuer's Ed25519 credential key (EdDSA,
//! algorithm -8), its payload a CBOR array, the whole base45-encoded behind the prefix `DC1:`,
//! as the EU Digital COVID Certificate does with `HC1:`. The QR code carries the registry's
//! address, `/S/` and the seal's bytes in the 41 alphanumeric characters an address's path holds
//! unchanged ([`qr_text`]): the whole text in the QR code's alphanumeric mode.

use crate::base45;
use crate::cbor::Value;
use crate::digest::Sha256Digest;
use crate::keys::{CredentialKey, CredentialPublicKey};
use crate::model::{Certificate, CredentialType, Language, Subject};
use crate::time::{Date, Timestamp};
use crate::trust::TrustList;

/// The prefix of a seal, naming its version.
pub const PREFIX: &str = "DC1:";
const COSE_SIGN1_TAG: u64 = 18;
const ALG_EDDSA: i64 = -8;

/// What a seal certifies: enough of the record for a person to compare with the printed page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealData {
    /// The issuer's registry id.
    pub issuer_id: String,
    /// The certificate number.
    pub number: String,
    /// The language of the certificate file.
    pub language: Language,
    /// The version.
    pub version: u32,
    /// Degree or teacher certificate.
    pub credential_type: CredentialType,
    /// The holder's name in Chinese.
    pub name_zh: String,
    /// The holder's name in English.
    pub name_en: String,
    /// The holder's date of birth.
    pub birth_date: Date,
    /// The title (degree or teacher certificate kind), in the file's language.
    pub title: String,
    /// The department (degree) or subject (teacher), in the file's language.
    pub field: String,
    /// The graduation or issue date.
    pub date: Date,
    /// The number printed on the paper document (證書字號).
    pub printed_number: String,
    /// When the certificate was issued.
    pub issued_at: Timestamp,
}

impl SealData {
    /// The seal data of a certificate.
    pub fn of(certificate: &Certificate, issuer_id: &str, issued_at: Timestamp) -> Self {
        let zh = certificate.language == Language::Zh;
        let pick = |a: &String, b: &String| if zh { a.clone() } else { b.clone() };
        let (name_zh, name_en, birth_date, title, field, date, printed_number) = match &certificate.subject {
            Subject::Degree(d) => (
                d.name_zh.clone(),
                d.name_en.clone(),
                d.birth_date,
                pick(&d.degree_zh, &d.degree_en),
                pick(&d.department_zh, &d.department_en),
                d.graduation_date,
                d.diploma_number.clone(),
            ),
            Subject::Teacher(t) => (
                t.name_zh.clone(),
                t.name_en.clone(),
                t.birth_date,
                pick(&t.kind_zh, &t.kind_en),
                pick(&t.subject_zh, &t.subject_en),
                t.issue_date,
                t.teacher_certificate_number.clone(),
            ),
        };
        Self {
            issuer_id: issuer_id.to_owned(),
            number: certificate.number.clone(),
            language: certificate.language,
            version: certificate.version,
            credential_type: certificate.subject.credential_type(),
            name_zh,
            name_en,
            birth_date,
            title,
            field,
            date,
            printed_number,
            issued_at,
        }
    }

    fn to_cbor(&self) -> Value {
        let text = |s: &str| Value::Text(s.to_owned());
        Value::Array(vec![
            text(&self.issuer_id),
            text(&self.number),
            text(self.language.code()),
            Value::Uint(u64::from(self.version)),
            text(self.credential_type.code()),
            text(&self.name_zh),
            text(&self.name_en),
            Value::int(self.birth_date.days_since_epoch()),
            text(&self.title),
            text(&self.field),
            Value::int(self.date.days_since_epoch()),
            text(&self.printed_number),
            Value::int(self.issued_at.unix()),
        ])
    }

    fn from_cbor(value: &Value) -> Option<Self> {
        let Value::Array(items) = value else {
            return None;
        };
        let [
            issuer_id,
            number,
            language,
            version,
            credential_type,
            name_zh,
            name_en,
            birth,
            title,
            field,
            date,
            printed,
            issued,
        ] = items.as_slice()
        else {
            return None;
        };
        let text = |v: &Value| v.as_text().map(str::to_owned);
        let day = |v: &Value| {
            let days = v.as_i64()?;
            (-1_000_000..3_000_000).contains(&days).then(|| Date::from_days_since_epoch(days))
        };
        Some(Self {
            issuer_id: text(issuer_id)?,
            number: text(number)?,
            language: language.as_text()?.parse().ok()?,
            version: u32::try_from(version.as_i64()?).ok()?,
            credential_type: match credential_type.as_text()? {
                "degree" => CredentialType::Degree,
                "teacher" => CredentialType::Teacher,
                _ => return None,
            },
            name_zh: text(name_zh)?,
            name_en: text(name_en)?,
            birth_date: day(birth)?,
            title: text(title)?,
            field: text(field)?,
            date: day(date)?,
            printed_number: text(printed)?,
            issued_at: Timestamp(issued.as_i64()?),
        })
    }
}

/// The key id written into a seal: the first 8 bytes of the SHA-256 of the Ed25519 public key.
pub fn key_id(key: &CredentialPublicKey) -> [u8; 8] {
    let digest = Sha256Digest::of(&key.to_bytes());
    let mut kid = [0u8; 8];
    kid.copy_from_slice(&digest.as_bytes()[..8]);
    kid
}

fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    Value::Array(vec![
        Value::Text("Signature1".into()),
        Value::Bytes(protected.to_vec()),
        Value::Bytes(Vec::new()),
        Value::Bytes(payload.to_vec()),
    ])
    .encode()
}

/// Signs `data` and returns the seal text: `DC1:` followed by base45.
pub fn sign(data: &SealData, key: &CredentialKey) -> String {
    let protected = Value::Map(vec![
        (Value::Uint(1), Value::int(ALG_EDDSA)),
        (Value::Uint(4), Value::Bytes(key_id(&key.public()).to_vec())),
    ])
    .encode();
    let payload = data.to_cbor().encode();
    let signature = key.sign(&sig_structure(&protected, &payload));
    let cose = Value::Tag(
        COSE_SIGN1_TAG,
        Box::new(Value::Array(vec![
            Value::Bytes(protected),
            Value::Map(Vec::new()),
            Value::Bytes(payload),
            Value::Bytes(signature.to_vec()),
        ])),
    );
    format!("{PREFIX}{}", base45::encode(&cose.encode()))
}

/// The path, after the registry's address, of the page a QR code leads to; the seal follows.
pub const QR_PATH: &str = "/S/";

/// The text a QR code carries: the registry's address (its scheme and host in capitals), `/S/`,
/// and the seal's bytes in [`base45::encode_url`]. Every character is then in the QR code's
/// alphanumeric set (5.5 bits a character instead of 8) and none is percent-encoded, so the code
/// is as small as it can be, and a phone opens the address as it is.
pub fn qr_text(registry: &str, seal: &str) -> String {
    let seal_path = qr_path(seal).expect("a seal made by seal::sign");
    let registry = registry.trim_end_matches('/');
    let (scheme, rest) = registry.split_once("://").unwrap_or(("", registry));
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let scheme = if scheme.is_empty() { String::new() } else { format!("{}://", scheme.to_ascii_uppercase()) };
    format!("{scheme}{}{path}{seal_path}", host.to_ascii_uppercase())
}

/// The path of the seal's page on the registry's site: `/S/` and the seal's bytes in
/// [`base45::encode_url`]; `None` for text that is not a seal.
pub fn qr_path(seal: &str) -> Option<String> {
    let bytes = seal.strip_prefix(PREFIX).and_then(base45::decode)?;
    Some(format!("{QR_PATH}{}", base45::encode_url(&bytes)))
}

/// The seal (`DC1:` and base45) inside the text of a scanned QR code: a compact one
/// ([`qr_text`]), the earlier form (an address, `#` and the percent-encoded seal), or a bare seal.
pub fn seal_from_qr_text(text: &str) -> Option<String> {
    // `DC1:` opens a bare seal or follows the earlier form's `#`; inside a compact code it is
    // four characters of the encoding like any others (one code in about 8,600 has them).
    let earlier = if text.starts_with(PREFIX) { Some(0) } else { text.find(&format!("#{PREFIX}")).map(|i| i + 1) };
    if let Some(start) = earlier {
        return Some(text[start..].replace("%20", " ").replace("%25", "%"));
    }
    let (_, encoded) = text.rsplit_once(QR_PATH)?;
    let bytes = base45::decode_url(encoded.trim_end())?;
    Some(format!("{PREFIX}{}", base45::encode(&bytes)))
}

/// A seal could not be read or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Not `DC1:` + base45 + COSE_Sign1 + the expected payload.
    #[error("not a dcert seal: {0}")]
    Malformed(&'static str),
    /// No key with the seal's key id is known for any issuer.
    #[error("the seal's key is not known")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the seal's signature does not verify")]
    BadSignature,
    /// The seal names an institution other than the one its key belongs to.
    #[error("the seal names {named:?} but its key belongs to {owner:?}")]
    IssuerMismatch {
        /// The institution the seal names.
        named: String,
        /// The institution the key belongs to.
        owner: String,
    },
    /// The key was not valid when the seal says it was made.
    #[error("the seal's key was not valid at its issue time: {0}")]
    KeyNotValid(String),
}

/// A seal whose signature has been checked against a key of the trust list, by the institution
/// it names, in the key's validity window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSeal {
    /// The sealed data.
    pub data: SealData,
    /// The key that signed it.
    pub key: CredentialPublicKey,
    /// The institution's names as the trust list records them: show these, not anything sealed.
    pub issuer_name_zh: String,
    /// The institution's English name, from the trust list.
    pub issuer_name_en: String,
}

/// The largest seal text accepted.
pub const MAX_SEAL_CHARS: usize = 4096;

/// Reads and verifies a seal against the trust list: the key its id names must belong to the
/// institution the seal names and be valid at the seal's issue time.
pub fn verify(text: &str, trust: &TrustList) -> Result<VerifiedSeal, SealError> {
    if text.len() > MAX_SEAL_CHARS {
        return Err(SealError::Malformed("too long"));
    }
    let body = text.strip_prefix(PREFIX).ok_or(SealError::Malformed("no DC1: prefix"))?;
    let bytes = base45::decode(body).ok_or(SealError::Malformed("not base45"))?;
    let value = Value::decode(&bytes).map_err(|_| SealError::Malformed("not CBOR"))?;
    let Value::Tag(COSE_SIGN1_TAG, inner) = value else {
        return Err(SealError::Malformed("not a COSE_Sign1"));
    };
    let Value::Array(parts) = *inner else {
        return Err(SealError::Malformed("not a COSE_Sign1"));
    };
    let [Value::Bytes(protected), Value::Map(_), Value::Bytes(payload), Value::Bytes(signature)] = parts.as_slice()
    else {
        return Err(SealError::Malformed("not a COSE_Sign1"));
    };
    let header = Value::decode(protected).map_err(|_| SealError::Malformed("protected header"))?;
    let Value::Map(header) = header else {
        return Err(SealError::Malformed("protected header"));
    };
    let lookup = |label: u64| header.iter().find(|(k, _)| *k == Value::Uint(label)).map(|(_, v)| v);
    if lookup(1).and_then(Value::as_i64) != Some(ALG_EDDSA) {
        return Err(SealError::Malformed("algorithm is not EdDSA"));
    }
    let kid = lookup(4).and_then(Value::as_bytes).ok_or(SealError::Malformed("no key id"))?;
    let (issuer, key) = trust.seal_key(kid).ok_or(SealError::UnknownKey)?;
    if !key.key.verify(&sig_structure(protected, payload), signature) {
        return Err(SealError::BadSignature);
    }
    let payload = Value::decode(payload).map_err(|_| SealError::Malformed("payload"))?;
    let data = SealData::from_cbor(&payload).ok_or(SealError::Malformed("payload"))?;
    if data.issuer_id != issuer.entry.id {
        return Err(SealError::IssuerMismatch { named: data.issuer_id, owner: issuer.entry.id.clone() });
    }
    key.check_at(data.issued_at).map_err(|problem| SealError::KeyNotValid(problem.to_string()))?;
    Ok(VerifiedSeal {
        data,
        key: key.key,
        issuer_name_zh: issuer.entry.name_zh.clone(),
        issuer_name_en: issuer.entry.name_en.clone(),
    })
}
