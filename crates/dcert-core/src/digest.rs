//! SHA-256 digests and the hexadecimal form they travel in.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// A SHA-256 digest, shown and serialised as 64 lowercase hexadecimal digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Digest(pub [u8; 32]);

impl Sha256Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// The digest of several pieces, as if they were one.
    pub fn of_parts(parts: &[&[u8]]) -> Self {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part);
        }
        Self(hasher.finalize().into())
    }

    /// The digest of `bytes` and the digest of `bytes` without `gap`, hashing the part before
    /// the gap once. `gap` must lie within `bytes`.
    pub fn of_whole_and_without(bytes: &[u8], gap: std::ops::Range<usize>) -> (Self, Self) {
        let mut prefix = Sha256::new();
        prefix.update(&bytes[..gap.start]);
        let mut whole = prefix.clone();
        whole.update(&bytes[gap.start..]);
        prefix.update(&bytes[gap.end..]);
        (Self(whole.finalize().into()), Self(prefix.finalize().into()))
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The first `n` hexadecimal digits, for display where space is short.
    pub fn short(&self, n: usize) -> String {
        let mut s = self.to_string();
        s.truncate(n);
        s
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({self})")
    }
}

/// The text was not 64 hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a SHA-256 digest is 64 hexadecimal digits")]
pub struct ParseDigestError;

impl FromStr for Sha256Digest {
    type Err = ParseDigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = unhex(s).ok_or(ParseDigestError)?;
        let array: [u8; 32] = bytes.try_into().map_err(|_| ParseDigestError)?;
        Ok(Self(array))
    }
}

impl Serialize for Sha256Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Sha256Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Lowercase hexadecimal of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// Bytes from hexadecimal text (either case); `None` if the text is not an even number of hex digits.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    unhex_bytes(s.as_bytes())
}

/// Bytes from hexadecimal digits (either case); `None` unless an even number of hex digits.
pub fn unhex_bytes(digits: &[u8]) -> Option<Vec<u8>> {
    decode_pairs(digits, hex_value)
}

/// Bytes from lowercase hexadecimal digits only; `None` for anything else or an odd count.
pub fn unhex_lowercase(digits: &[u8]) -> Option<Vec<u8>> {
    decode_pairs(digits, |c| if c.is_ascii_uppercase() { None } else { hex_value(c) })
}

fn decode_pairs(digits: &[u8], value: impl Fn(u8) -> Option<u8>) -> Option<Vec<u8>> {
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    let mut out = Vec::with_capacity(digits.len() / 2);
    for pair in digits.chunks_exact(2) {
        out.push(value(pair[0])? << 4 | value(pair[1])?);
    }
    Some(out)
}

/// The value of each byte as a hexadecimal digit, or 0xff.
const HEX_VALUES: [u8; 256] = {
    let mut table = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// The value of one hexadecimal digit.
pub(crate) fn hex_value(c: u8) -> Option<u8> {
    match HEX_VALUES[usize::from(c)] {
        0xff => None,
        v => Some(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_of_empty_input_is_the_known_value() {
        assert_eq!(
            Sha256Digest::of(b"").to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn digest_round_trips_through_text_and_json() {
        let d = Sha256Digest::of(b"abc");
        assert_eq!(d.to_string().parse::<Sha256Digest>().unwrap(), d);
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<Sha256Digest>(&json).unwrap(), d);
        assert!("xyz".parse::<Sha256Digest>().is_err());
        assert!("ab".parse::<Sha256Digest>().is_err());
    }

    #[test]
    fn parts_hash_like_the_whole() {
        assert_eq!(Sha256Digest::of_parts(&[b"ab", b"c"]), Sha256Digest::of(b"abc"));
    }
}
