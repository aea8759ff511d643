//! Reads untrusted PDF bytes, within limits, for what verification needs: the signature
//! dictionaries and the embedded `credential.json`. Nothing read here is trusted until the
//! signature check has covered it.

use std::cell::Cell;
use std::collections::BTreeSet;

use lopdf::{Dictionary, Object, ObjectId};

use super::lazy::{Budget, GiveUp, LazyPdf};

use super::render::CREDENTIAL_FILE_NAME;
use crate::credential::MAX_CREDENTIAL_BYTES;

/// Bounds on the work spent on one untrusted file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest file accepted, in bytes.
    pub max_file_bytes: usize,
    /// The most bytes the read may scan or materialise beyond the file's own size: decompressed
    /// streams, and the whitespace, strings, names and stream contents it reads.
    pub max_decompressed_bytes: usize,
    /// The most indirect objects a file may have.
    pub max_objects: usize,
    /// The deepest name tree or field tree followed.
    pub max_depth: usize,
    /// The most nodes visited in a name tree or field tree.
    pub max_nodes: usize,
    /// The most objects (numbers, names, strings, references, array elements, dictionary
    /// entries) parsed and looked up while the file is read, and the most elements walked in
    /// its trees.
    pub max_elements: usize,
}

impl Default for Limits {
    /// 10 MiB files, 4 MiB of bytes beyond the file's size, 100,000 objects in a table, trees 16
    /// deep, 4,096 nodes and 20,000 parsed objects (a certificate needs about 120).
    fn default() -> Self {
        Self {
            max_file_bytes: 10 << 20,
            max_decompressed_bytes: 4 << 20,
            max_objects: 100_000,
            max_depth: 16,
            max_nodes: 4096,
            max_elements: 20_000,
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
    /// `/M`, the signing time the file states.
    pub signing_time: Option<crate::time::Timestamp>,
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
///
/// The file is read lazily (only the objects needed) through its cross-reference data; a file
/// whose cross-reference data is missing or wrong, or in which that finds no signature and
/// credential, is read again from its object headers, so that the report can still say what a
/// damaged or re-saved file holds. Both readings share one [`Budget`]: the whole read parses at
/// most [`Limits::max_elements`] objects and scans or materialises at most the file's size plus
/// [`Limits::max_decompressed_bytes`], whatever the file's shape.
pub fn read(bytes: &[u8], limits: &Limits) -> Result<PdfContents, PdfError> {
    if bytes.len() > limits.max_file_bytes {
        return Err(PdfError::TooLarge { limit: limits.max_file_bytes });
    }
    if !looks_like_pdf(bytes) {
        return Err(PdfError::NotPdf);
    }
    let budget = Budget::new(limits.max_elements, bytes.len().saturating_add(limits.max_decompressed_bytes));
    let mut first: Option<PdfContents> = None;
    let mut problem = GiveUp("no catalog");
    match LazyPdf::open(bytes, limits.max_objects, &budget) {
        Ok(pdf) => {
            if pdf.trailer.has(b"Encrypt") {
                return Err(PdfError::Encrypted);
            }
            match contents(&pdf, limits) {
                Some(c) if c.signatures.len() == 1 && c.credential.is_some() => return Ok(c),
                found => first = found,
            }
        }
        Err(e) => problem = e,
    }
    // The first reading's problem is the one to tell if this one fails too.
    if let Ok(pdf) = LazyPdf::reconstruct(bytes, limits.max_objects, &budget) {
        if pdf.trailer.has(b"Encrypt") {
            return Err(PdfError::Encrypted);
        }
        let second = contents(&pdf, limits);
        // What a reading found, in order of usefulness.
        let found = |c: &Option<PdfContents>| {
            c.as_ref().map(|c| (c.credential.is_some(), c.signatures.len() == 1, c.credential_problem.is_some()))
        };
        if found(&second) > found(&first)
            && let Some(second) = second
        {
            return Ok(second);
        }
    }
    // A file that spent the whole budget is refused for that, whatever was found before.
    if let Some(spent) = budget.exhausted() {
        return Err(PdfError::Malformed(spent.0.into()));
    }
    first.ok_or_else(|| PdfError::Malformed(problem.0.into()))
}

/// The file attached to the PDF `bytes` under `name` (at most [`MAX_CREDENTIAL_BYTES`]), read
/// within `limits` through the file's cross-reference data: `None` if there is none.
pub fn attachment(bytes: &[u8], name: &str, limits: &Limits) -> Result<Option<Vec<u8>>, PdfError> {
    if bytes.len() > limits.max_file_bytes {
        return Err(PdfError::TooLarge { limit: limits.max_file_bytes });
    }
    if !looks_like_pdf(bytes) {
        return Err(PdfError::NotPdf);
    }
    let budget = Budget::new(limits.max_elements, bytes.len().saturating_add(limits.max_decompressed_bytes));
    let pdf = LazyPdf::open(bytes, limits.max_objects, &budget).map_err(|e| PdfError::Malformed(e.0.into()))?;
    if pdf.trailer.has(b"Encrypt") {
        return Err(PdfError::Encrypted);
    }
    let mut walker = Walker { objects: &pdf, limits, nodes: 0, elements: Cell::new(0), visited: BTreeSet::new() };
    let root = pdf.trailer.get(b"Root").map_err(|_| PdfError::Malformed("no catalog".into()))?.clone();
    let catalog = walker.dict(&root).ok_or_else(|| PdfError::Malformed("no catalog".into()))?;
    walker.attachment(&catalog, name).map_err(PdfError::Malformed)
}

/// The signatures and credential found through the catalog; `None` without a catalog.
fn contents(objects: &LazyPdf<'_>, limits: &Limits) -> Option<PdfContents> {
    let mut walker = Walker { objects, limits, nodes: 0, elements: Cell::new(0), visited: BTreeSet::new() };
    let root = walker.objects.trailer.get(b"Root").ok()?.clone();
    let catalog = walker.dict(&root)?;
    let mut contents = PdfContents::default();
    walker.signatures(&catalog, &mut contents.signatures);
    match walker.attachment(&catalog, CREDENTIAL_FILE_NAME) {
        Ok(c) => contents.credential = c,
        Err(problem) => contents.credential_problem = Some(problem),
    }
    Some(contents)
}

struct Walker<'a> {
    objects: &'a LazyPdf<'a>,
    limits: &'a Limits,
    nodes: usize,
    /// Array elements and dictionary entries read so far: a budget against files whose trees
    /// point many times at one large object.
    elements: Cell<usize>,
    /// Tree nodes already entered: a node is walked once, however often it is referred to.
    visited: BTreeSet<ObjectId>,
}

impl Walker<'_> {
    fn deref(&self, object: &Object) -> Option<Object> {
        let object = match object {
            Object::Reference(id) => self.objects.get(*id).ok()?,
            other => other.clone(),
        };
        let size = match &object {
            Object::Array(a) => a.len(),
            Object::Dictionary(d) => d.len(),
            Object::Stream(s) => s.dict.len(),
            _ => 0,
        };
        self.elements.set(self.elements.get().saturating_add(size));
        (self.elements.get() <= self.limits.max_elements).then_some(object)
    }

    /// Counts a tree node and refuses one already entered.
    fn enter(&mut self, node: &Object) -> bool {
        if let Object::Reference(id) = node
            && !self.visited.insert(*id)
        {
            return false;
        }
        self.visit()
    }

    fn dict(&self, object: &Object) -> Option<Dictionary> {
        match self.deref(object)? {
            Object::Dictionary(d) => Some(d),
            Object::Stream(s) => Some(s.dict),
            _ => None,
        }
    }

    fn array(&self, object: &Object) -> Option<Vec<Object>> {
        match self.deref(object)? {
            Object::Array(a) => Some(a),
            _ => None,
        }
    }

    fn get(&self, dict: &Dictionary, key: &[u8]) -> Option<Object> {
        dict.get(key).ok().and_then(|o| self.deref(o))
    }

    fn visit(&mut self) -> bool {
        self.nodes += 1;
        self.nodes <= self.limits.max_nodes
    }

    fn signatures(&mut self, catalog: &Dictionary, out: &mut Vec<FoundSignature>) {
        let Some(fields) = self
            .get(catalog, b"AcroForm")
            .and_then(|f| self.dict(&f))
            .and_then(|form| self.get(&form, b"Fields"))
            .and_then(|f| self.array(&f))
        else {
            return;
        };
        for field in &fields {
            self.field(field, 0, out);
        }
    }

    fn field(&mut self, field: &Object, depth: usize, out: &mut Vec<FoundSignature>) {
        if depth > self.limits.max_depth || !self.enter(field) {
            return;
        }
        let Some(dict) = self.dict(field) else { return };
        if let Some(kids) = self.get(&dict, b"Kids").and_then(|k| self.array(&k)) {
            for kid in &kids {
                self.field(kid, depth + 1, out);
            }
        }
        let is_sig = matches!(self.get(&dict, b"FT"), Some(Object::Name(n)) if n == b"Sig");
        if !is_sig {
            return;
        }
        // Only three entries of the signature dictionary matter here; its /Contents is read from the
        // file's bytes by the signature check, so it is not decoded twice.
        const SIGNATURE_KEYS: [&[u8]; 3] = [b"ByteRange", b"SubFilter", b"M"];
        let sig = match dict.get(b"V") {
            Ok(Object::Reference(id)) => match self.objects.get_subset(*id, &SIGNATURE_KEYS) {
                Ok(d) => d,
                Err(_) => return,
            },
            Ok(Object::Dictionary(d)) => d.clone(),
            _ => return,
        };
        let byte_range = self.get(&sig, b"ByteRange").and_then(|r| self.array(&r)).and_then(|items| {
            let numbers: Vec<usize> = items
                .iter()
                .map(|o| match self.deref(o) {
                    Some(Object::Integer(n)) => usize::try_from(n).ok(),
                    _ => None,
                })
                .collect::<Option<_>>()?;
            <[usize; 4]>::try_from(numbers).ok()
        });
        let sub_filter = match self.get(&sig, b"SubFilter") {
            Some(Object::Name(n)) => n,
            _ => Vec::new(),
        };
        let signing_time = match self.get(&sig, b"M") {
            Some(Object::String(text, _)) => crate::time::Timestamp::from_pdf_date(&text),
            _ => None,
        };
        out.push(FoundSignature { byte_range, sub_filter, signing_time });
    }

    fn attachment(&mut self, catalog: &Dictionary, name: &str) -> Result<Option<Vec<u8>>, String> {
        let Some(tree) = self
            .get(catalog, b"Names")
            .and_then(|n| self.dict(&n))
            .and_then(|names| self.get(&names, b"EmbeddedFiles"))
            .and_then(|t| self.dict(&t))
        else {
            return Ok(None);
        };
        let Some(spec) = self.find_name(&tree, name.as_bytes(), 0) else {
            return Ok(None);
        };
        let stream = self
            .dict(&spec)
            .and_then(|s| self.get(&s, b"EF"))
            .and_then(|ef| self.dict(&ef))
            .and_then(|ef| ef.get(b"F").or_else(|_| ef.get(b"UF")).ok().cloned())
            .and_then(|f| self.deref(&f));
        let Some(Object::Stream(stream)) = stream else {
            return Err("the attachment has no file stream".into());
        };
        stream
            .decompressed_content_with_limit(MAX_CREDENTIAL_BYTES + 1)
            .map(Some)
            .map_err(|e| format!("the attachment cannot be decompressed: {e}"))
    }

    /// Looks `name` up in a name tree, following `/Kids` to a bounded depth.
    fn find_name(&mut self, node: &Dictionary, name: &[u8], depth: usize) -> Option<Object> {
        if depth > self.limits.max_depth {
            return None;
        }
        if let Some(names) = self.get(node, b"Names").and_then(|n| self.array(&n)) {
            for pair in names.chunks(2) {
                if !self.visit() {
                    return None;
                }
                if let [key, value] = pair
                    && matches!(self.deref(key), Some(Object::String(k, _)) if k == name)
                {
                    return Some(value.clone());
                }
            }
        }
        let kids = self.get(node, b"Kids").and_then(|k| self.array(&k))?;
        for kid in &kids {
            if !self.enter(kid) {
                continue;
            }
            if let Some(kid) = self.dict(kid)
                && let Some(found) = self.find_name(&kid, name, depth + 1)
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
