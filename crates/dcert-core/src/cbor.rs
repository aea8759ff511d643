//! The small subset of CBOR (RFC 8949) that COSE seals need: definite-length integers, byte and
//! text strings, arrays, maps, tags, booleans and null. The decoder is strict and bounded.

/// A CBOR data item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// An unsigned integer.
    Uint(u64),
    /// A negative integer `-1 - n`.
    Nint(u64),
    /// A byte string.
    Bytes(Vec<u8>),
    /// A UTF-8 text string.
    Text(String),
    /// An array.
    Array(Vec<Value>),
    /// A map, in the order written.
    Map(Vec<(Value, Value)>),
    /// A tagged item.
    Tag(u64, Box<Value>),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
}

/// The CBOR is malformed, uses a feature outside the subset, or exceeds a bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed CBOR: {0}")]
pub struct CborError(pub &'static str);

const MAX_DEPTH: usize = 8;
const MAX_ITEMS: u64 = 256;

impl Value {
    /// An integer value.
    pub fn int(n: i64) -> Value {
        if n >= 0 { Value::Uint(n as u64) } else { Value::Nint((-1 - n) as u64) }
    }

    /// The value as an `i64`, if it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Uint(n) => i64::try_from(n).ok(),
            Value::Nint(n) => i64::try_from(n).ok().map(|n| -1 - n),
            _ => None,
        }
    }

    /// The text, if this is a text string.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes, if this is a byte string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The canonical encoding of this value.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Value::Uint(n) => head(out, 0, *n),
            Value::Nint(n) => head(out, 1, *n),
            Value::Bytes(b) => {
                head(out, 2, b.len() as u64);
                out.extend_from_slice(b);
            }
            Value::Text(s) => {
                head(out, 3, s.len() as u64);
                out.extend_from_slice(s.as_bytes());
            }
            Value::Array(items) => {
                head(out, 4, items.len() as u64);
                for item in items {
                    item.encode_into(out);
                }
            }
            Value::Map(pairs) => {
                head(out, 5, pairs.len() as u64);
                for (k, v) in pairs {
                    k.encode_into(out);
                    v.encode_into(out);
                }
            }
            Value::Tag(tag, item) => {
                head(out, 6, *tag);
                item.encode_into(out);
            }
            Value::Bool(false) => out.push(0xf4),
            Value::Bool(true) => out.push(0xf5),
            Value::Null => out.push(0xf6),
        }
    }

    /// Decodes exactly one item filling `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<Value, CborError> {
        let mut reader = Reader { bytes, pos: 0 };
        let value = reader.item(0)?;
        if reader.pos != bytes.len() {
            return Err(CborError("trailing bytes"));
        }
        Ok(value)
    }
}

fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if n <= 0xff {
        out.extend_from_slice(&[m | 24, n as u8]);
    } else if n <= 0xffff {
        out.push(m | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= 0xffff_ffff {
        out.push(m | 26);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], CborError> {
        let end = self.pos.checked_add(n).ok_or(CborError("length overflow"))?;
        let slice = self.bytes.get(self.pos..end).ok_or(CborError("truncated"))?;
        self.pos = end;
        Ok(slice)
    }

    fn argument(&mut self, info: u8) -> Result<u64, CborError> {
        Ok(match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.take(1)?[0]),
            25 => u64::from(u16::from_be_bytes(self.take(2)?.try_into().unwrap_or_default())),
            26 => u64::from(u32::from_be_bytes(self.take(4)?.try_into().unwrap_or_default())),
            27 => u64::from_be_bytes(self.take(8)?.try_into().unwrap_or_default()),
            _ => return Err(CborError("indefinite lengths are not supported")),
        })
    }

    fn item(&mut self, depth: usize) -> Result<Value, CborError> {
        if depth > MAX_DEPTH {
            return Err(CborError("nested too deeply"));
        }
        let first = self.take(1)?[0];
        let (major, info) = (first >> 5, first & 0x1f);
        if major == 7 {
            return match info {
                20 => Ok(Value::Bool(false)),
                21 => Ok(Value::Bool(true)),
                22 => Ok(Value::Null),
                _ => Err(CborError("unsupported simple value or float")),
            };
        }
        let n = self.argument(info)?;
        match major {
            0 => Ok(Value::Uint(n)),
            1 => Ok(Value::Nint(n)),
            2 => Ok(Value::Bytes(self.take(usize::try_from(n).map_err(|_| CborError("too long"))?)?.to_vec())),
            3 => {
                let raw = self.take(usize::try_from(n).map_err(|_| CborError("too long"))?)?;
                String::from_utf8(raw.to_vec()).map(Value::Text).map_err(|_| CborError("text is not UTF-8"))
            }
            4 => {
                if n > MAX_ITEMS {
                    return Err(CborError("array too long"));
                }
                (0..n).map(|_| self.item(depth + 1)).collect::<Result<_, _>>().map(Value::Array)
            }
            5 => {
                if n > MAX_ITEMS {
                    return Err(CborError("map too long"));
                }
                (0..n)
                    .map(|_| Ok((self.item(depth + 1)?, self.item(depth + 1)?)))
                    .collect::<Result<_, _>>()
                    .map(Value::Map)
            }
            6 => Ok(Value::Tag(n, Box::new(self.item(depth + 1)?))),
            _ => Err(CborError("unknown major type")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_as_rfc8949_examples() {
        let check = |v: Value, hex: &str| assert_eq!(crate::digest::hex(&v.encode()), hex, "{v:?}");
        check(Value::Uint(0), "00");
        check(Value::Uint(23), "17");
        check(Value::Uint(24), "1818");
        check(Value::Uint(1000), "1903e8");
        check(Value::Uint(1_000_000_000_000), "1b000000e8d4a51000");
        check(Value::int(-1), "20");
        check(Value::int(-1000), "3903e7");
        check(Value::Text("IETF".into()), "6449455446");
        check(Value::Array(vec![Value::Uint(1), Value::Array(vec![Value::Uint(2)])]), "82018102");
        check(Value::Map(vec![(Value::Uint(1), Value::Bool(true))]), "a101f5");
        check(Value::Tag(18, Box::new(Value::Null)), "d2f6");
        check(Value::Bytes(vec![1, 2]), "420102");
    }

    #[test]
    fn decoding_inverts_encoding_and_refuses_malformed_input() {
        let v = Value::Tag(
            18,
            Box::new(Value::Array(vec![
                Value::Bytes(vec![0xa1, 0x01, 0x27]),
                Value::Map(vec![]),
                Value::Text("王𪚥".into()),
                Value::int(-8),
            ])),
        );
        assert_eq!(Value::decode(&v.encode()).unwrap(), v);
        for bad in [
            &b""[..],
            b"\x5f",
            b"\x9f",
            b"\x81",
            b"\x62\xff\xfe",
            b"\x00\x00",
            b"\xfb\0\0\0\0\0\0\0\0",
            b"\x5b\xff\xff\xff\xff\xff\xff\xff\xff",
        ] {
            assert!(Value::decode(bad).is_err(), "{bad:?}");
        }
        let deep = [0x81u8; 20].iter().copied().chain([0x00]).collect::<Vec<_>>();
        assert_eq!(Value::decode(&deep), Err(CborError("nested too deeply")));
    }
}
