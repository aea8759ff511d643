//! JSON Canonicalization Scheme (RFC 8785), over `serde_json::Value`: object members sorted by
//! their UTF-16 code units, strings escaped minimally, numbers in ECMAScript form.
//!
//! Written here rather than taken from a crate because it is on the verification hot path: it
//! writes into one buffer with no intermediate allocation per member. A test checks it against
//! an independent implementation on random documents.

use serde_json::{Map, Value};

/// The value contains a number JSON cannot carry (NaN or an infinity).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the JSON has a number that cannot be canonicalised")]
pub struct JcsError;

/// The canonical form of `value`.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, JcsError> {
    let mut out = Vec::with_capacity(1024);
    write_value(&mut out, value)?;
    Ok(out)
}

/// The canonical form of `map` without the member `skip`, and with the member `replace.0`
/// given the value `replace.1` (added if absent).
pub fn canonicalize_view(
    map: &Map<String, Value>,
    skip: &str,
    replace: Option<(&str, &Value)>,
) -> Result<Vec<u8>, JcsError> {
    let mut members: Vec<(&str, &Value)> = map
        .iter()
        .filter(|(k, _)| k.as_str() != skip)
        .map(|(k, v)| match replace {
            Some((rk, rv)) if rk == k => (k.as_str(), rv),
            _ => (k.as_str(), v),
        })
        .collect();
    if let Some((rk, rv)) = replace
        && !map.contains_key(rk)
    {
        members.push((rk, rv));
    }
    let mut out = Vec::with_capacity(1024);
    write_members(&mut out, members)?;
    Ok(out)
}

fn utf16_order(a: &str, b: &str) -> std::cmp::Ordering {
    // Byte order equals UTF-16 order unless a character at or above U+E000 meets a supplementary
    // one; compare code units only when both strings have non-ASCII bytes.
    if a.is_ascii() || b.is_ascii() { a.as_bytes().cmp(b.as_bytes()) } else { a.encode_utf16().cmp(b.encode_utf16()) }
}

fn write_members(out: &mut Vec<u8>, mut members: Vec<(&str, &Value)>) -> Result<(), JcsError> {
    members.sort_by(|a, b| utf16_order(a.0, b.0));
    out.push(b'{');
    for (i, (key, value)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(out, key);
        out.push(b':');
        write_value(out, value)?;
    }
    out.push(b'}');
    Ok(())
}

fn write_value(out: &mut Vec<u8>, value: &Value) -> Result<(), JcsError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            // ECMAScript has one number type, the double: every number is written as one.
            let f = n.as_f64().ok_or(JcsError)?;
            if !f.is_finite() {
                return Err(JcsError);
            }
            out.extend_from_slice(ryu_js::Buffer::new().format_finite(f).as_bytes());
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item)?;
            }
            out.push(b']');
        }
        Value::Object(map) => write_members(out, map.iter().map(|(k, v)| (k.as_str(), v)).collect())?,
    }
    Ok(())
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => &[],
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_rfc_8785_example() {
        let input: Value = serde_json::from_str(
            r#"{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
                "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
                "literals": [null, true, false]}"#,
        )
        .unwrap();
        let expected = r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#;
        assert_eq!(String::from_utf8(canonicalize(&input).unwrap()).unwrap(), expected);
    }

    #[test]
    fn sorts_keys_by_utf16_code_units() {
        let input: Value = serde_json::from_str(r#"{"\ud83d\ude00": 1, "\ue000": 2, "a": 3, "1": 4}"#).unwrap();
        // U+1F600 is D83D DE00 in UTF-16, which sorts before U+E000.
        assert_eq!(
            String::from_utf8(canonicalize(&input).unwrap()).unwrap(),
            "{\"1\":4,\"a\":3,\"😀\":1,\"\u{e000}\":2}"
        );
    }
}
