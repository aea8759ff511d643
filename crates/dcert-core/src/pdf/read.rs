//! Reads untrusted PDF bytes, within limits, for what verification needs: the signature
//! dictionaries and the embedded `credential.json`. Nothing read here is trusted until the
//! signature check has covered it.

use lopdf::{Dictionary, Document, LoadOptions, Object};

use super::render::CREDENTIAL_FILE_NAME;
use crate::credential::MAX_CREDENTIAL_BYTES;

/// Bounds on the work spent on one untrusted file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest file accepted, in bytes.
    pub max_file_bytes: usize,
    /// The most any one stream may decompress to while the file is read.
    pub max_decompressed_bytes: usize,
    /// The most indirect objects a file may have.
    pub max_objects: usize,
    /// The deepest name tree or field tree followed.
    pub max_depth: usize,
    /// The most nodes visited in a name tree or field tree.
    pub max_nodes: usize,
}

impl Default for Limits {
    /// 10 MiB files, 4 MiB per stream, 100,000 objects, trees 16 deep and 4,096 nodes.
    fn default() -> Self {
        Self {
            max_file_bytes: 10 << 20,
            max_decompressed_bytes: 4 << 20,
            max_objects: 100_000,
            max_depth: 16,
            max_nodes: 4096,
        }
    }
}

/// The bytes are not a readable PDF.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdfError {
    /// Larger than the limit.
    #[error("the file is larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// No PDF header.
    #[error("the file is not a PDF")]
    NotPdf,
    /// A PDF that cannot be parsed, or that exceeds a bound while parsed.
    #[error("the PDF cannot be read: {0}")]
    Malformed(String),
    /// An encrypted PDF.
    #[error("the PDF is encrypted")]
    Encrypted,
}

/// A signature dictionary as found in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundSignature {
    /// The four numbers of `/ByteRange`, if they are four non-negative integers.
    pub byte_range: Option<[usize; 4]>,
    /// `/SubFilter`.
    pub sub_filter: Vec<u8>,
}

/// What a PDF holds that verification needs.
#[derive(Debug, Clone, Default)]
pub struct PdfContents {
    /// Every signature dictionary reachable from the form fields.
    pub signatures: Vec<FoundSignature>,
    /// The embedded `credential.json`, if any.
    pub credential: Option<Vec<u8>>,
    /// Why the credential could not be read, if it is present but unreadable.
    pub credential_problem: Option<String>,
}

/// Whether `bytes` look like a PDF: the header `%PDF-` within the first 1024 bytes.
pub fn looks_like_pdf(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    head.windows(5).any(|w| w == b"%PDF-")
}

/// Reads the signatures and the credential of an untrusted PDF.
pub fn read(bytes: &[u8], limits: &Limits) -> Result<PdfContents, PdfError> {
    if bytes.len() > limits.max_file_bytes {
        return Err(PdfError::TooLarge {
            limit: limits.max_file_bytes,
        });
    }
    if !looks_like_pdf(bytes) {
        return Err(PdfError::NotPdf);
    }
    let options = LoadOptions {
        max_decompressed_size: Some(limits.max_decompressed_bytes),
        ..LoadOptions::default()
    };
    let doc = Document::load_mem_with_options(bytes, options)
        .map_err(|e| PdfError::Malformed(e.to_string()))?;
    if doc.objects.len() > limits.max_objects {
        return Err(PdfError::Malformed(format!(
            "more than {} objects",
            limits.max_objects
        )));
    }
    if doc.is_encrypted() || doc.trailer.has(b"Encrypt") {
        return Err(PdfError::Encrypted);
    }
    let catalog = doc
        .catalog()
        .map_err(|e| PdfError::Malformed(format!("no catalog: {e}")))?;
    let mut walker = Walker {
        doc: &doc,
        limits,
        nodes: 0,
    };
    let mut contents = PdfContents::default();
    walker.signatures(catalog, &mut contents.signatures);
    match walker.credential(catalog) {
        Ok(c) => contents.credential = c,
        Err(problem) => contents.credential_problem = Some(problem),
    }
    Ok(contents)
}

struct Walker<'a> {
    doc: &'a Document,
    limits: &'a Limits,
    nodes: usize,
}

impl<'a> Walker<'a> {
    fn deref(&self, object: &'a Object) -> Option<&'a Object> {
        match object {
            Object::Reference(id) => self.doc.get_object(*id).ok(),
            other => Some(other),
        }
    }

    fn dict(&self, object: &'a Object) -> Option<&'a Dictionary> {
        match self.deref(object)? {
            Object::Dictionary(d) => Some(d),
            Object::Stream(s) => Some(&s.dict),
            _ => None,
        }
    }

    fn array(&self, object: &'a Object) -> Option<&'a [Object]> {
        match self.deref(object)? {
            Object::Array(a) => Some(a),
            _ => None,
        }
    }

    fn get(&self, dict: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
        dict.get(key).ok().and_then(|o| self.deref(o))
    }

    fn visit(&mut self) -> bool {
        self.nodes += 1;
        self.nodes <= self.limits.max_nodes
    }

    fn signatures(&mut self, catalog: &'a Dictionary, out: &mut Vec<FoundSignature>) {
        let Some(fields) = self
            .get(catalog, b"AcroForm")
            .and_then(|f| self.dict(f))
            .and_then(|form| form.get(b"Fields").ok())
            .and_then(|f| self.array(f))
        else {
            return;
        };
        for field in fields {
            self.field(field, 0, out);
        }
    }

    fn field(&mut self, field: &'a Object, depth: usize, out: &mut Vec<FoundSignature>) {
        if depth > self.limits.max_depth || !self.visit() {
            return;
        }
        let Some(dict) = self.dict(field) else { return };
        if let Some(kids) = dict.get(b"Kids").ok().and_then(|k| self.array(k)) {
            for kid in kids {
                self.field(kid, depth + 1, out);
            }
        }
        let is_sig = matches!(self.get(dict, b"FT"), Some(Object::Name(n)) if n == b"Sig");
        if !is_sig {
            return;
        }
        let Some(sig) = dict.get(b"V").ok().and_then(|v| self.dict(v)) else {
            return;
        };
        let byte_range = self
            .get(sig, b"ByteRange")
            .and_then(|r| self.array(r))
            .and_then(|items| {
                let numbers: Vec<usize> = items
                    .iter()
                    .map(|o| match self.deref(o) {
                        Some(Object::Integer(n)) => usize::try_from(*n).ok(),
                        _ => None,
                    })
                    .collect::<Option<_>>()?;
                <[usize; 4]>::try_from(numbers).ok()
            });
        let sub_filter = match self.get(sig, b"SubFilter") {
            Some(Object::Name(n)) => n.clone(),
            _ => Vec::new(),
        };
        out.push(FoundSignature {
            byte_range,
            sub_filter,
        });
    }

    fn credential(&mut self, catalog: &'a Dictionary) -> Result<Option<Vec<u8>>, String> {
        let Some(tree) = self
            .get(catalog, b"Names")
            .and_then(|n| self.dict(n))
            .and_then(|names| names.get(b"EmbeddedFiles").ok())
            .and_then(|t| self.dict(t))
        else {
            return Ok(None);
        };
        let Some(spec) = self.find_name(tree, CREDENTIAL_FILE_NAME.as_bytes(), 0) else {
            return Ok(None);
        };
        let stream = self
            .dict(spec)
            .and_then(|s| s.get(b"EF").ok())
            .and_then(|ef| self.dict(ef))
            .and_then(|ef| ef.get(b"F").or_else(|_| ef.get(b"UF")).ok())
            .and_then(|f| self.deref(f));
        let Some(Object::Stream(stream)) = stream else {
            return Err("the attachment has no file stream".into());
        };
        stream
            .decompressed_content_with_limit(MAX_CREDENTIAL_BYTES + 1)
            .map(Some)
            .map_err(|e| format!("the attachment cannot be decompressed: {e}"))
    }

    /// Looks `name` up in a name tree, following `/Kids` to a bounded depth.
    fn find_name(&mut self, node: &'a Dictionary, name: &[u8], depth: usize) -> Option<&'a Object> {
        if depth > self.limits.max_depth || !self.visit() {
            return None;
        }
        if let Some(names) = node.get(b"Names").ok().and_then(|n| self.array(n)) {
            for pair in names.chunks(2) {
                if let [key, value] = pair
                    && matches!(self.deref(key), Some(Object::String(k, _)) if k == name)
                {
                    return Some(value);
                }
            }
        }
        let kids = node.get(b"Kids").ok().and_then(|k| self.array(k))?;
        for kid in kids {
            if let Some(kid) = self.dict(kid)
                && let Some(found) = self.find_name(kid, name, depth + 1)
            {
                return Some(found);
            }
            if self.nodes > self.limits.max_nodes {
                return None;
            }
        }
        None
    }
}
