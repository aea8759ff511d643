//! Keys: the Ed25519 credential keys of issuers, the P-256 keys of certificate authorities and
//! PDF signers, their public encodings (Multikey), and private key files (PKCS#8 PEM, encrypted
//! with a passphrase when one is given).
//!
//! Key generation takes a 32-byte seed from the caller: the core has no source of randomness.

use std::fmt;

use ed25519_dalek::Signer as _;

use pkcs8::der::Decode as _;
use pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use zeroize::Zeroizing;

/// The multicodec prefix of an Ed25519 public key (`0xed`, as a varint).
const ED25519_PUB: [u8; 2] = [0xed, 0x01];
/// The multicodec prefix of an Ed25519 private key (`0x1300`, as a varint).
const ED25519_PRIV: [u8; 2] = [0x80, 0x26];
/// The multicodec prefix of a compressed P-256 public key (`0x1200`, as a varint).
const P256_PUB: [u8; 2] = [0x80, 0x24];

/// A key could not be read or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// A Multikey value is not base58btc (`z…`) with the expected multicodec prefix and length.
    #[error("not a Multikey {expected} key")]
    Multikey {
        /// The kind of key that was expected.
        expected: &'static str,
    },
    /// The bytes are not a valid key of the expected kind.
    #[error("not a valid {0} key")]
    Invalid(&'static str),
    /// A PEM private key file could not be read.
    #[error("the private key file is not readable: {0}")]
    Pem(String),
    /// The private key file is encrypted and no passphrase was given.
    #[error("the private key file is encrypted: set DCERT_KEY_PASSPHRASE to its passphrase")]
    PassphraseRequired,
    /// The passphrase does not open the private key file.
    #[error("the passphrase does not open the private key file")]
    WrongPassphrase,
}

/// Decodes a multibase base58btc string (`z…`).
pub fn decode_base58btc(s: &str) -> Option<Vec<u8>> {
    let rest = s.strip_prefix('z')?;
    if rest.len() > 200 {
        return None;
    }
    bs58::decode(rest).into_vec().ok()
}

/// Encodes bytes as multibase base58btc (`z…`).
pub fn encode_base58btc(bytes: &[u8]) -> String {
    format!("z{}", bs58::encode(bytes).into_string())
}

/// An issuer's Ed25519 key for signing credentials (Data Integrity proofs and QR seals).
#[derive(Clone)]
pub struct CredentialKey(ed25519_dalek::SigningKey);

/// The public half of a [`CredentialKey`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CredentialPublicKey(ed25519_dalek::VerifyingKey);

impl CredentialKey {
    /// The key whose secret is `seed`.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// The public key.
    pub fn public(&self) -> CredentialPublicKey {
        CredentialPublicKey(self.0.verifying_key())
    }

    /// An Ed25519 signature over `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }

    /// The key from a Multikey private value (`z3u2…`), as the W3C test vectors give it.
    pub fn from_multikey(s: &str) -> Result<Self, KeyError> {
        let bad = KeyError::Multikey { expected: "Ed25519 private" };
        let bytes = decode_base58btc(s).ok_or(bad.clone())?;
        let seed: [u8; 32] = bytes.strip_prefix(&ED25519_PRIV[..]).and_then(|b| b.try_into().ok()).ok_or(bad)?;
        Ok(Self::from_seed(&seed))
    }

    /// The same Ed25519 key, for signing a log's checkpoints (the Ministry's log key is kept
    /// in a file like a credential key).
    pub fn to_log_key(&self) -> crate::tlog::LogKey {
        self.0.clone()
    }

    /// The key as an unencrypted PKCS#8 DER document.
    pub fn to_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        // Encoding a well-formed Ed25519 key as PKCS#8 cannot fail.
        let doc = self.0.to_pkcs8_der().expect("Ed25519 PKCS#8 encoding");
        Zeroizing::new(doc.as_bytes().to_vec())
    }

    /// The key from an unencrypted PKCS#8 DER document.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        ed25519_dalek::SigningKey::from_pkcs8_der(der).map(Self).map_err(|_| KeyError::Invalid("Ed25519"))
    }
}

impl fmt::Debug for CredentialKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CredentialKey({})", self.public())
    }
}

impl CredentialPublicKey {
    /// The key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        ed25519_dalek::VerifyingKey::from_bytes(bytes).map(Self).map_err(|_| KeyError::Invalid("Ed25519 public"))
    }

    /// The 32 bytes of the key.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The key as a Multikey value: `z6Mk…`.
    pub fn to_multikey(&self) -> String {
        let mut bytes = ED25519_PUB.to_vec();
        bytes.extend_from_slice(self.0.as_bytes());
        encode_base58btc(&bytes)
    }

    /// The key from a Multikey value (`z6Mk…`).
    pub fn from_multikey(s: &str) -> Result<Self, KeyError> {
        let bad = KeyError::Multikey { expected: "Ed25519 public" };
        let bytes = decode_base58btc(s).ok_or(bad.clone())?;
        let raw: [u8; 32] = bytes.strip_prefix(&ED25519_PUB[..]).and_then(|b| b.try_into().ok()).ok_or(bad)?;
        Self::from_bytes(&raw)
    }

    /// Whether `signature` is this key's strict Ed25519 signature over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = <[u8; 64]>::try_from(signature) else {
            return false;
        };
        let sig = ed25519_dalek::Signature::from_bytes(&sig);
        self.0.verify_strict(message, &sig).is_ok()
    }
}

impl fmt::Display for CredentialPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_multikey())
    }
}

impl fmt::Debug for CredentialPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CredentialPublicKey({self})")
    }
}

/// A P-256 ECDSA key: the Ministry root's certificate authority, the trust list signer, and each
/// institution's PDF signing key.
#[derive(Clone)]
pub struct EcKey(p256::ecdsa::SigningKey);

/// The public half of an [`EcKey`]: the point, validated on the curve, and its uncompressed
/// SEC1 form, which signature verification (ring's P-256, several times faster than the
/// portable arithmetic used for signing) takes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EcPublicKey {
    key: p256::ecdsa::VerifyingKey,
    sec1: [u8; 65],
}

impl EcPublicKey {
    fn new(key: p256::ecdsa::VerifyingKey) -> Self {
        let mut sec1 = [0u8; 65];
        sec1.copy_from_slice(key.to_sec1_point(false).as_bytes());
        Self { key, sec1 }
    }

    fn verify_with(
        &self,
        algorithm: &'static ring::signature::EcdsaVerificationAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> bool {
        ring::signature::UnparsedPublicKey::new(algorithm, &self.sec1[..]).verify(message, signature).is_ok()
    }
}

impl EcKey {
    /// The key derived from `seed`; `None` in the negligible case that the seed is not a valid scalar.
    pub fn from_seed(seed: &[u8; 32]) -> Option<Self> {
        p256::ecdsa::SigningKey::from_slice(seed).ok().map(Self)
    }

    /// The public key.
    pub fn public(&self) -> EcPublicKey {
        EcPublicKey::new(*self.0.verifying_key())
    }

    /// A deterministic (RFC 6979) ECDSA P-256 SHA-256 signature over `message`, as DER, with
    /// `s` in the lower half of the group order (the only form verification accepts).
    pub fn sign_der(&self, message: &[u8]) -> Vec<u8> {
        let sig: p256::ecdsa::Signature = self.0.sign(message);
        sig.normalize_s().to_der().as_bytes().to_vec()
    }

    /// The same signature as 64 bytes `r || s` (IEEE P1363), as Data Integrity proofs use.
    pub fn sign_raw(&self, message: &[u8]) -> [u8; 64] {
        let sig: p256::ecdsa::Signature = self.0.sign(message);
        let sig = sig.normalize_s();
        let mut out = [0u8; 64];
        out.copy_from_slice(&sig.to_bytes());
        out
    }

    /// The key as an unencrypted PKCS#8 DER document.
    pub fn to_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        // Encoding a valid P-256 key as PKCS#8 cannot fail.
        let doc = self.0.to_pkcs8_der().expect("P-256 PKCS#8 encoding");
        Zeroizing::new(doc.as_bytes().to_vec())
    }

    /// The key from an unencrypted PKCS#8 DER document.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        p256::ecdsa::SigningKey::from_pkcs8_der(der).map(Self).map_err(|_| KeyError::Invalid("P-256"))
    }
}

impl fmt::Debug for EcKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EcKey({})", self.public().to_multikey())
    }
}

impl EcPublicKey {
    /// The key from SEC1 bytes (compressed or not).
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, KeyError> {
        p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes).map(Self::new).map_err(|_| KeyError::Invalid("P-256 public"))
    }

    /// The uncompressed SEC1 bytes.
    pub fn to_sec1(&self) -> Vec<u8> {
        self.sec1.to_vec()
    }

    /// The key as a Multikey value (`zDn…`), compressed.
    pub fn to_multikey(&self) -> String {
        let mut bytes = P256_PUB.to_vec();
        bytes.extend_from_slice(self.key.to_sec1_point(true).as_bytes());
        encode_base58btc(&bytes)
    }

    /// Whether `signature` (DER) is a valid ECDSA P-256 SHA-256 signature over `message`, with a
    /// low `s`: ECDSA signatures are malleable (`s` and `n - s` both verify), and a signature
    /// with two valid encodings would let a signed file change without its signature failing.
    pub fn verify_der(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = p256::ecdsa::Signature::from_der(signature) else { return false };
        is_low_s(&sig) && self.verify_with(&ring::signature::ECDSA_P256_SHA256_ASN1, message, signature)
    }

    /// Whether `signature` (64 bytes `r || s`, low `s`) is a valid signature over `message`.
    pub fn verify_raw(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = p256::ecdsa::Signature::from_slice(signature) else { return false };
        is_low_s(&sig) && self.verify_with(&ring::signature::ECDSA_P256_SHA256_FIXED, message, signature)
    }

    pub(crate) fn inner(&self) -> &p256::ecdsa::VerifyingKey {
        &self.key
    }
}

impl fmt::Debug for EcPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EcPublicKey({})", self.to_multikey())
    }
}

/// Whether the signature's `s` is at most half the group order.
fn is_low_s(sig: &p256::ecdsa::Signature) -> bool {
    sig.normalize_s() == *sig
}

/// Random inputs for encrypting a private key file: the caller draws them from the system.
#[derive(Clone)]
pub struct PemEncryption {
    /// The scrypt salt.
    pub salt: [u8; 16],
    /// The AES-256-CBC initialisation vector.
    pub iv: [u8; 16],
}

/// A PKCS#8 private key as PEM: `ENCRYPTED PRIVATE KEY` (scrypt + AES-256-CBC, readable by
/// OpenSSL) when a passphrase is given, `PRIVATE KEY` otherwise.
pub fn private_key_pem(
    pkcs8_der: &[u8],
    passphrase: Option<(&str, &PemEncryption)>,
) -> Result<Zeroizing<String>, KeyError> {
    let pem_err = |e: &dyn fmt::Display| KeyError::Pem(e.to_string());
    let info = pkcs8::PrivateKeyInfoRef::from_der(pkcs8_der).map_err(|e| pem_err(&e))?;
    let doc = match passphrase {
        None => pkcs8::SecretDocument::try_from(info).map_err(|e| pem_err(&e))?,
        Some((passphrase, enc)) => {
            // scrypt with N = 2^15, r = 8, p = 1: about 0.1 s and 32 MiB to open, as OpenSSL uses.
            let scrypt = pkcs8::pkcs5::scrypt::Params::new(15, 8, 1).map_err(|e| pem_err(&e))?;
            let params = pkcs8::pkcs5::pbes2::Parameters::generate_scrypt_aes256cbc(scrypt, &enc.salt, enc.iv)
                .map_err(|e| pem_err(&e))?;
            info.encrypt_with_params(params, passphrase.as_bytes()).map_err(|e| pem_err(&e))?
        }
    };
    let label = if passphrase.is_some() { "ENCRYPTED PRIVATE KEY" } else { "PRIVATE KEY" };
    doc.to_pem(label, pkcs8::LineEnding::LF).map_err(|e| pem_err(&e))
}

/// The PKCS#8 DER inside a PEM private key file, decrypted with `passphrase` if it is encrypted.
pub fn private_key_from_pem(pem: &str, passphrase: Option<&str>) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let (label, doc) = pkcs8::SecretDocument::from_pem(pem).map_err(|e| KeyError::Pem(e.to_string()))?;
    match label {
        "PRIVATE KEY" => Ok(Zeroizing::new(doc.as_bytes().to_vec())),
        "ENCRYPTED PRIVATE KEY" => {
            let passphrase = passphrase.ok_or(KeyError::PassphraseRequired)?;
            let info = pkcs8::EncryptedPrivateKeyInfoRef::from_der(doc.as_bytes())
                .map_err(|e| KeyError::Pem(e.to_string()))?;
            let plain = info.decrypt(passphrase.as_bytes()).map_err(|_| KeyError::WrongPassphrase)?;
            Ok(Zeroizing::new(plain.as_bytes().to_vec()))
        }
        other => Err(KeyError::Pem(format!("unexpected PEM label {other:?}"))),
    }
}

/// Whether a PEM private key file is encrypted.
pub fn is_encrypted_pem(pem: &str) -> bool {
    pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multikey_round_trips_the_w3c_test_key() {
        let key = CredentialKey::from_multikey("z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq").unwrap();
        assert_eq!(key.public().to_multikey(), "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2");
        let again = CredentialPublicKey::from_multikey(&key.public().to_multikey()).unwrap();
        assert_eq!(again, key.public());
        assert!(CredentialPublicKey::from_multikey("6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2").is_err());
        assert!(CredentialPublicKey::from_multikey("z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq").is_err());
    }

    #[test]
    fn signatures_verify_only_for_their_message_and_key() {
        let key = CredentialKey::from_seed(&[7; 32]);
        let sig = key.sign(b"message");
        assert!(key.public().verify(b"message", &sig));
        assert!(!key.public().verify(b"messagE", &sig));
        assert!(!CredentialKey::from_seed(&[8; 32]).public().verify(b"message", &sig));
        let ec = EcKey::from_seed(&[9; 32]).unwrap();
        let der = ec.sign_der(b"message");
        assert!(ec.public().verify_der(b"message", &der));
        assert!(!ec.public().verify_der(b"other", &der));
        let raw = ec.sign_raw(b"message");
        assert!(ec.public().verify_raw(b"message", &raw));
    }

    #[test]
    fn private_keys_survive_encrypted_pem_and_refuse_a_wrong_passphrase() {
        let key = EcKey::from_seed(&[3; 32]).unwrap();
        let enc = PemEncryption { salt: [1; 16], iv: [2; 16] };
        let pem = private_key_pem(&key.to_pkcs8_der(), Some(("correct horse", &enc))).unwrap();
        assert!(is_encrypted_pem(&pem));
        let der = private_key_from_pem(&pem, Some("correct horse")).unwrap();
        assert_eq!(EcKey::from_pkcs8_der(&der).unwrap().public(), key.public());
        assert_eq!(private_key_from_pem(&pem, Some("wrong")).unwrap_err(), KeyError::WrongPassphrase);
        assert_eq!(private_key_from_pem(&pem, None).unwrap_err(), KeyError::PassphraseRequired);

        let plain = private_key_pem(&key.to_pkcs8_der(), None).unwrap();
        assert!(!is_encrypted_pem(&plain));
        assert!(plain.starts_with("-----BEGIN PRIVATE KEY-----"));
        let der = private_key_from_pem(&plain, None).unwrap();
        assert_eq!(EcKey::from_pkcs8_der(&der).unwrap().public(), key.public());
    }
}
