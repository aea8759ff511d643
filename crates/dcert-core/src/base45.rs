//! Base45 (RFC 9285): the encoding that fits QR codes' alphanumeric mode; and the same
//! construction over the 41 of its characters that an address's path carries unchanged.

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// The QR alphanumeric characters an address's path holds as they are: not space or `%` (which
/// an address must percent-encode), not `/` or `.` (which a browser reads as steps of the path).
/// 41 is the least base in which three digits hold two bytes (41³ = 68,921 > 65,535), so the
/// text is exactly as long as base45's.
const URL_ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ$*+-:";

/// Encodes bytes as base45.
pub fn encode(bytes: &[u8]) -> String {
    encode_in(bytes, ALPHABET)
}

/// Decodes base45; `None` if a character is outside the alphabet or a group is out of range.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    decode_in(text, ALPHABET)
}

/// Encodes bytes as base45 does, over the 41 characters an address's path carries unchanged.
pub fn encode_url(bytes: &[u8]) -> String {
    encode_in(bytes, URL_ALPHABET)
}

/// Decodes [`encode_url`]'s text.
pub fn decode_url(text: &str) -> Option<Vec<u8>> {
    decode_in(text, URL_ALPHABET)
}

fn encode_in(bytes: &[u8], alphabet: &[u8]) -> String {
    let base = alphabet.len();
    let mut out = String::with_capacity(bytes.len() / 2 * 3 + 2);
    for chunk in bytes.chunks(2) {
        let (mut n, digits) = match *chunk {
            [a, b] => (usize::from(a) * 256 + usize::from(b), 3),
            [a] => (usize::from(a), 2),
            _ => unreachable!("chunks(2) yields one or two bytes"),
        };
        for _ in 0..digits {
            out.push(alphabet[n % base] as char);
            n /= base;
        }
    }
    out
}

fn decode_in(text: &str, alphabet: &[u8]) -> Option<Vec<u8>> {
    let base = alphabet.len();
    let values: Vec<usize> = text.bytes().map(|c| alphabet.iter().position(|&a| a == c)).collect::<Option<_>>()?;
    let mut out = Vec::with_capacity(values.len() / 3 * 2 + 1);
    for group in values.chunks(3) {
        match *group {
            [c, d, e] => {
                let n = c + d * base + e * base * base;
                if n > 0xffff {
                    return None;
                }
                out.extend_from_slice(&[(n >> 8) as u8, n as u8]);
            }
            [c, d] => {
                let n = c + d * base;
                if n > 0xff {
                    return None;
                }
                out.push(n as u8);
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_rfc_9285_examples() {
        let check = |plain: &str, encoded: &str| {
            assert_eq!(encode(plain.as_bytes()), encoded);
            assert_eq!(decode(encoded).unwrap(), plain.as_bytes());
        };
        check("AB", "BB8");
        check("Hello!!", "%69 VD92EX0");
        check("base-45", "UJCLQE7W581");
        check("ietf!", "QED8WEX0");
        assert_eq!(decode("GGW"), None, "65535 + 1 is out of range");
        assert_eq!(decode("a"), None);
        assert_eq!(decode("A"), None);
    }

    #[test]
    fn the_address_form_round_trips_every_pair_of_bytes_in_address_safe_characters() {
        for n in 0..=0xffffu32 {
            let bytes = [(n >> 8) as u8, n as u8];
            let text = encode_url(&bytes);
            assert!(text.bytes().all(|c| URL_ALPHABET.contains(&c)) && text.len() == 3, "{text}");
            assert_eq!(decode_url(&text).unwrap(), bytes);
        }
        assert_eq!(decode_url(&encode_url(b"\xff")).unwrap(), b"\xff");
        assert_eq!(URL_ALPHABET.len(), 41);
        assert_eq!(decode_url("::"), None, "40 + 40 * 41 is past a byte");
        assert_eq!(decode_url("A A"), None, "a space is not in the alphabet");
    }
}
