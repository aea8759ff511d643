//! PAdES signing: an incremental update that adds an invisible signature field whose
//! `/ByteRange` covers every byte of the file except the signature itself.
//!
//! The update appends, after the original `%%EOF`: the signature dictionary, the signature
//! field (a hidden widget), new revisions of the page (with the widget in `/Annots`) and of the
//! catalog (with `/AcroForm`), a cross-reference section and a trailer with `/Prev`. The
//! `/Contents` placeholder is filled last with the CMS SignedData over the byte ranges.

use lopdf::{Dictionary, Document, Object, ObjectId};

use super::cms;
use crate::digest::Sha256Digest;
use crate::keys::EcKey;
use crate::time::Timestamp;

/// Space reserved for the CMS signature, in bytes (twice that in hex digits).
pub const SIGNATURE_CAPACITY: usize = 2048;
const BYTE_RANGE_PLACEHOLDER: &str = "[0 0000000000 0000000000 0000000000]";

/// The signer of certificate files: an institution's P-256 key and its certificate.
#[derive(Clone, Debug)]
pub struct PdfSigner {
    /// The private key.
    pub key: EcKey,
    /// The signing certificate, DER.
    pub certificate: Vec<u8>,
    /// The signer's name for the signature dictionary.
    pub name: String,
}

/// The file could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The unsigned PDF is not readable (an internal error: it came from the renderer).
    #[error("the PDF to sign is not readable: {0}")]
    Unreadable(String),
    /// The CMS could not be built.
    #[error(transparent)]
    Cms(#[from] cms::CmsBuildError),
    /// The CMS is larger than the reserved space.
    #[error("the signature needs {0} bytes, more than the {SIGNATURE_CAPACITY} reserved")]
    TooLarge(usize),
}

fn unreadable(e: impl std::fmt::Display) -> SignError {
    SignError::Unreadable(e.to_string())
}

fn write_object(out: &mut Vec<u8>, object: &Object) -> Result<(), SignError> {
    lopdf::Writer::write_object(out, object).map_err(unreadable)
}

fn pdf_string(s: &str) -> Object {
    // A PDF text string: UTF-16BE with a byte order mark, so that any name is representable.
    let mut bytes = vec![0xfe, 0xff];
    for unit in s.encode_utf16() {
        bytes.extend_from_slice(&unit.to_be_bytes());
    }
    Object::String(bytes, lopdf::StringFormat::Hexadecimal)
}

fn pdf_date(t: Timestamp) -> String {
    let d = t.date();
    let (h, m, s) = t.hms();
    format!("D:{:04}{:02}{:02}{:02}{:02}{:02}Z", d.year(), d.month(), d.day(), h, m, s)
}

/// Signs `pdf` (a complete, unsigned PDF) and returns the signed file.
pub fn sign(pdf: Vec<u8>, signer: &PdfSigner, signing_time: Timestamp) -> Result<Vec<u8>, SignError> {
    let doc = Document::load_mem(&pdf).map_err(unreadable)?;
    let root_id: ObjectId = doc.trailer.get(b"Root").and_then(Object::as_reference).map_err(unreadable)?;
    let catalog = doc.get_dictionary(root_id).map_err(unreadable)?.clone();
    let page_id = *doc.get_pages().get(&1).ok_or_else(|| unreadable("no page"))?;
    let page = doc.get_dictionary(page_id).map_err(unreadable)?.clone();
    let size = doc.trailer.get(b"Size").and_then(Object::as_i64).map_err(unreadable)?;
    let size = u32::try_from(size).map_err(unreadable)?;
    let sig_id = (size, 0);
    let field_id = (size + 1, 0);

    let mut out = pdf;
    if out.last() != Some(&b'\n') {
        out.push(b'\n');
    }
    let mut offsets: Vec<(ObjectId, usize)> = Vec::new();

    // 1. The signature dictionary, with fixed-width placeholders.
    offsets.push((sig_id, out.len()));
    out.extend_from_slice(
        format!("{} 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange ", sig_id.0)
            .as_bytes(),
    );
    let byte_range_at = out.len();
    out.extend_from_slice(BYTE_RANGE_PLACEHOLDER.as_bytes());
    out.extend_from_slice(b" /Contents ");
    let contents_at = out.len();
    out.push(b'<');
    out.resize(out.len() + 2 * SIGNATURE_CAPACITY, b'0');
    out.push(b'>');
    let contents_end = out.len();
    out.extend_from_slice(b" /M ");
    write_object(&mut out, &Object::string_literal(pdf_date(signing_time)))?;
    out.extend_from_slice(b" /Name ");
    write_object(&mut out, &pdf_string(&signer.name))?;
    out.extend_from_slice(b" >>\nendobj\n");

    // 2. The invisible signature field, a widget annotation on the first page.
    let mut field = Dictionary::new();
    field.set("Type", Object::Name(b"Annot".to_vec()));
    field.set("Subtype", Object::Name(b"Widget".to_vec()));
    field.set("FT", Object::Name(b"Sig".to_vec()));
    field.set("T", pdf_string("Signature1"));
    field.set("V", Object::Reference(sig_id));
    // Print (4) and Locked (128): PDF/A requires the Print flag on annotations.
    field.set("F", Object::Integer(132));
    field.set("Rect", Object::Array(vec![0.into(), 0.into(), 0.into(), 0.into()]));
    field.set("P", Object::Reference(page_id));
    offsets.push((field_id, out.len()));
    out.extend_from_slice(format!("{} 0 obj\n", field_id.0).as_bytes());
    write_object(&mut out, &Object::Dictionary(field))?;
    out.extend_from_slice(b"\nendobj\n");

    // 3. The page, with the field among its annotations.
    let mut page = page;
    let mut annots = match page.get(b"Annots") {
        Ok(Object::Array(a)) => a.clone(),
        _ => Vec::new(),
    };
    annots.push(Object::Reference(field_id));
    page.set("Annots", Object::Array(annots));
    offsets.push((page_id, out.len()));
    out.extend_from_slice(format!("{} {} obj\n", page_id.0, page_id.1).as_bytes());
    write_object(&mut out, &Object::Dictionary(page))?;
    out.extend_from_slice(b"\nendobj\n");

    // 4. The catalog, with the form.
    let mut catalog = catalog;
    let mut form = Dictionary::new();
    form.set("Fields", Object::Array(vec![Object::Reference(field_id)]));
    form.set("SigFlags", Object::Integer(3));
    catalog.set("AcroForm", Object::Dictionary(form));
    offsets.push((root_id, out.len()));
    out.extend_from_slice(format!("{} {} obj\n", root_id.0, root_id.1).as_bytes());
    write_object(&mut out, &Object::Dictionary(catalog))?;
    out.extend_from_slice(b"\nendobj\n");

    // 5. The cross-reference section and trailer.
    let xref_at = out.len();
    offsets.sort_by_key(|(id, _)| id.0);
    out.extend_from_slice(b"xref\n");
    let mut i = 0;
    while i < offsets.len() {
        let mut j = i;
        while j + 1 < offsets.len() && offsets[j + 1].0.0 == offsets[j].0.0 + 1 {
            j += 1;
        }
        out.extend_from_slice(format!("{} {}\n", offsets[i].0.0, j - i + 1).as_bytes());
        for (id, offset) in &offsets[i..=j] {
            out.extend_from_slice(format!("{:010} {:05} n \n", offset, id.1).as_bytes());
        }
        i = j + 1;
    }
    let mut trailer = Dictionary::new();
    trailer.set("Size", Object::Integer(i64::from(size + 2)));
    trailer.set("Root", Object::Reference(root_id));
    for key in [&b"Info"[..], b"ID"] {
        if let Ok(value) = doc.trailer.get(key) {
            trailer.set(key, value.clone());
        }
    }
    trailer.set("Prev", Object::Integer(doc.xref_start as i64));
    out.extend_from_slice(b"trailer\n");
    write_object(&mut out, &Object::Dictionary(trailer))?;
    out.extend_from_slice(format!("\nstartxref\n{xref_at}\n%%EOF\n").as_bytes());

    // 6. The byte range: everything but the <…> of /Contents.
    let range = format!("[0 {} {} {}]", contents_at, contents_end, out.len() - contents_end);
    let padded = format!("{range:<width$}", width = BYTE_RANGE_PLACEHOLDER.len());
    out[byte_range_at..byte_range_at + padded.len()].copy_from_slice(padded.as_bytes());

    // 7. The signature over the byte ranges.
    let digest = Sha256Digest::of_parts(&[&out[..contents_at], &out[contents_end..]]);
    let cms = cms::sign(&digest, &signer.key, &signer.certificate)?;
    if cms.len() > SIGNATURE_CAPACITY {
        return Err(SignError::TooLarge(cms.len()));
    }
    let hex = crate::digest::hex(&cms);
    out[contents_at + 1..contents_at + 1 + hex.len()].copy_from_slice(hex.as_bytes());
    Ok(out)
}
