//! Base45 (RFC 9285): the encoding that fits QR codes' alphanumeric mode.

const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// Encodes bytes as base45.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() / 2 * 3 + 2);
    for chunk in bytes.chunks(2) {
        let (mut n, digits) = match *chunk {
            [a, b] => (usize::from(a) * 256 + usize::from(b), 3),
            [a] => (usize::from(a), 2),
            _ => unreachable!("chunks(2) yields one or two bytes"),
        };
        for _ in 0..digits {
            out.push(ALPHABET[n % 45] as char);
            n /= 45;
        }
    }
    out
}

/// Decodes base45; `None` if a character is outside the alphabet or a group is out of range.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let values: Vec<usize> = text.bytes().map(|c| ALPHABET.iter().position(|&a| a == c)).collect::<Option<_>>()?;
    let mut out = Vec::with_capacity(values.len() / 3 * 2 + 1);
    for group in values.chunks(3) {
        match *group {
            [c, d, e] => {
                let n = c + d * 45 + e * 45 * 45;
                if n > 0xffff {
                    return None;
                }
                out.extend_from_slice(&[(n >> 8) as u8, n as u8]);
            }
            [c, d] => {
                let n = c + d * 45;
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
}
