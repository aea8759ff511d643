//! Other encodings of the same CMS signature: each must fail, or a signed file could change
//! without its verdict changing. (From a security review; each of these once verified.)

use dcert_core::pdf::Limits;
use dcert_core::status::Offline;
use dcert_core::verify::{self, Outcome};

use crate::support::*;

#[derive(Clone, Debug)]
enum Node {
    Prim(u8, Vec<u8>),
    Cons(u8, Vec<Node>),
}

fn read_len(d: &[u8], p: &mut usize) -> usize {
    let b = d[*p];
    *p += 1;
    if b < 0x80 {
        return b as usize;
    }
    let n = (b & 0x7f) as usize;
    let mut l = 0;
    for _ in 0..n {
        l = l << 8 | d[*p] as usize;
        *p += 1;
    }
    l
}
fn parse(d: &[u8], p: &mut usize) -> Node {
    let tag = d[*p];
    *p += 1;
    let len = read_len(d, p);
    let content = &d[*p..*p + len];
    *p += len;
    if tag & 0x20 != 0 {
        let mut q = 0;
        let mut kids = vec![];
        while q < content.len() {
            kids.push(parse(content, &mut q));
        }
        Node::Cons(tag, kids)
    } else {
        Node::Prim(tag, content.to_vec())
    }
}
fn enc_len(out: &mut Vec<u8>, l: usize) {
    if l < 0x80 {
        out.push(l as u8)
    } else if l < 0x100 {
        out.extend([0x81, l as u8])
    } else {
        out.extend([0x82, (l >> 8) as u8, l as u8])
    }
}
fn ser(n: &Node) -> Vec<u8> {
    let (tag, content) = match n {
        Node::Prim(t, c) => (*t, c.clone()),
        Node::Cons(t, k) => (*t, k.iter().flat_map(ser).collect()),
    };
    let mut out = vec![tag];
    enc_len(&mut out, content.len());
    out.extend(content);
    out
}
fn kids(n: &mut Node) -> &mut Vec<Node> {
    match n {
        Node::Cons(_, k) => k,
        _ => panic!(),
    }
}

fn contents_range(bytes: &[u8]) -> (usize, usize) {
    let s = bytes.windows(11).position(|w| w == b"/Contents <").unwrap() + 11;
    let e = s + bytes[s..].iter().position(|&c| c == b'>').unwrap();
    (s, e)
}
fn unhex(h: &[u8]) -> Vec<u8> {
    h.chunks(2).map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap()).collect()
}

fn with_cms(bytes: &[u8], f: impl Fn(&mut Node)) -> Vec<u8> {
    let (s, e) = contents_range(bytes);
    let der = unhex(&bytes[s..e]);
    let mut p = 0;
    let mut root = parse(&der, &mut p);
    f(&mut root);
    let new = ser(&root);
    let hex: String = new.iter().map(|b| format!("{b:02x}")).collect();
    assert!(hex.len() <= e - s);
    let mut out = bytes.to_vec();
    out[s..e].fill(b'0');
    out[s..s + hex.len()].copy_from_slice(hex.as_bytes());
    assert_ne!(out, bytes);
    out
}
// ContentInfo -> [0] -> SignedData
fn signed_data(root: &mut Node) -> &mut Node {
    &mut kids(&mut kids(root)[1])[0]
}
fn signer_info(root: &mut Node) -> &mut Node {
    let sd = signed_data(root);
    let n = kids(sd).len();
    &mut kids(&mut kids(sd)[n - 1])[0]
}
// SignedData -> certificates [0] -> the signer's certificate
fn signer_certificate(root: &mut Node) -> &mut Node {
    &mut kids(&mut kids(signed_data(root))[3])[0]
}

fn assert_fails(name: &str, changed: &[u8]) {
    let (w, _) = sample_zh();
    let report = verify::verify(changed, &w.trust, &Offline, now(), &Limits::default());
    assert_eq!(report.outcome, Outcome::Failure, "{name}: {:?}", report.reason);
}

#[test]
fn reordered_signed_attributes_fail() {
    let (_, file) = sample_zh();
    let changed = with_cms(&file.bytes, |root| {
        let si = signer_info(root);
        kids(&mut kids(si)[3]).reverse();
    });
    assert_fails("reordered signed attributes", &changed);
}

#[test]
fn the_other_s_of_the_same_ecdsa_signature_fails() {
    const N: [u8; 32] = [
        0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xBC, 0xE6, 0xFA, 0xAD,
        0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
    ];
    let (_, file) = sample_zh();
    let changed = with_cms(&file.bytes, |root| {
        let si = signer_info(root);
        let n = kids(si).len();
        let Node::Prim(_, sig) = &mut kids(si)[n - 1] else { panic!() };
        let mut p = 0;
        let mut seq = parse(sig, &mut p);
        let Node::Prim(_, s) = &mut kids(&mut seq)[1] else { panic!() };
        let t: Vec<u8> = s.iter().skip_while(|&&b| b == 0).copied().collect();
        let mut s32 = [0u8; 32];
        s32[32 - t.len()..].copy_from_slice(&t);
        let mut r = [0u8; 32];
        let mut borrow = 0i32;
        for i in (0..32).rev() {
            let v = N[i] as i32 - s32[i] as i32 - borrow;
            borrow = (v < 0) as i32;
            r[i] = v.rem_euclid(256) as u8;
        }
        let mut v: Vec<u8> = r.iter().skip_while(|&&b| b == 0).copied().collect();
        if v[0] & 0x80 != 0 {
            v.insert(0, 0);
        }
        *s = v;
        *sig = ser(&seq);
    });
    assert_fails("s replaced by n - s", &changed);
}

#[test]
fn naming_the_signer_by_key_identifier_fails() {
    let (_, file) = sample_zh();
    let changed = with_cms(&file.bytes, |root| {
        let cert = ser(signer_certificate(root));
        let at = cert.windows(5).position(|w| w == [0x06, 0x03, 0x55, 0x1d, 0x0e]).unwrap() + 5;
        let ski = cert[at + 4..at + 24].to_vec();
        let si = signer_info(root);
        kids(si)[1] = Node::Prim(0x80, ski);
    });
    assert_fails("signer named by subject key identifier", &changed);
}

#[test]
fn a_default_value_written_out_in_the_certificate_fails() {
    let (_, file) = sample_zh();
    let changed = with_cms(&file.bytes, |root| {
        let tbs = &mut kids(signer_certificate(root))[0];
        let n = kids(tbs).len();
        let exts = &mut kids(&mut kids(tbs)[n - 1])[0];
        for ext in kids(exts) {
            let k = kids(ext);
            if matches!(&k[0], Node::Prim(6, oid) if oid == &[0x55, 0x1d, 0x0e]) {
                k.insert(1, Node::Prim(0x01, vec![0x00]));
            }
        }
    });
    assert_fails("explicit critical FALSE", &changed);
}
