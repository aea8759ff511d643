//! The reader of untrusted PDFs: strict, lazy and bounded. It follows the cross-reference
//! tables and streams from the end of the file (object streams included), or, when they are
//! missing or wrong, rebuilds the table from the `N G obj` headers in one linear scan; then it
//! parses only the objects asked for.
//!
//! Every step is charged to one [`Budget`] for the whole read: each parsed object (number, name,
//! string, reference, array element, dictionary entry) and each lookup costs a token, and every
//! byte scanned or materialised (whitespace, comments, digits, strings, names, stream contents,
//! decompressed data) costs a byte, however often the same bytes are read again. So memory and
//! time are bounded by the budget and the file's size, whatever the file's shape: an array of a
//! million empty arrays costs what the budget allows, not a million allocations.
//!
//! Every loop advances through the input, nesting is capped, and the number of
//! cross-reference sections and entries is bounded.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use lopdf::{Dictionary, Object, ObjectId, Stream, StringFormat};

/// Why the reader gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiveUp(pub &'static str);

type Result<T> = std::result::Result<T, GiveUp>;

const MAX_DEPTH: usize = 32;
const MAX_SECTIONS: usize = 16;
/// The widest field of a cross-reference stream entry, in bytes.
const MAX_FIELD_WIDTH: usize = 8;

/// The work one read may do: tokens parsed and bytes scanned or materialised, shared by
/// everything the read parses, however often it parses the same object again.
#[derive(Debug)]
pub struct Budget {
    tokens: Cell<usize>,
    max_tokens: usize,
    bytes: Cell<usize>,
    max_bytes: usize,
}

impl Budget {
    /// A budget of `max_tokens` parsed objects and lookups, and `max_bytes` bytes.
    pub fn new(max_tokens: usize, max_bytes: usize) -> Self {
        Self { tokens: Cell::new(0), max_tokens, bytes: Cell::new(0), max_bytes }
    }

    /// Charges `n` tokens; an error once the budget is spent (bytes scanned where no error
    /// could be returned, such as whitespace, are refused here too).
    fn tokens(&self, n: usize) -> Result<()> {
        self.tokens.set(self.tokens.get().saturating_add(n));
        self.exhausted().map_or(Ok(()), Err)
    }

    /// Charges bytes scanned without failing; the next charge fails if they were too many.
    fn scanned(&self, n: usize) {
        self.bytes.set(self.bytes.get().saturating_add(n));
    }

    /// Charges `n` bytes; an error once the budget is spent.
    fn bytes(&self, n: usize) -> Result<()> {
        self.scanned(n);
        self.exhausted().map_or(Ok(()), Err)
    }

    /// Uses up the budget: the read stops at its next step.
    fn spend_all(&self) {
        self.bytes.set(usize::MAX);
    }

    /// The bytes still allowed.
    fn bytes_left(&self) -> usize {
        self.max_bytes.saturating_sub(self.bytes.get())
    }

    /// Why the read must stop, once the budget is spent.
    pub fn exhausted(&self) -> Option<GiveUp> {
        if self.tokens.get() > self.max_tokens {
            Some(GiveUp("the file holds more objects than a certificate can"))
        } else if self.bytes.get() > self.max_bytes {
            Some(GiveUp("the file holds more data than a certificate can"))
        } else {
            None
        }
    }

    /// Tokens parsed so far.
    pub fn tokens_used(&self) -> usize {
        self.tokens.get()
    }
}

fn is_white(c: u8) -> bool {
    matches!(c, b'\0' | b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

fn is_delimiter(c: u8) -> bool {
    matches!(c, b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%')
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    budget: &'a Budget,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8], pos: usize, budget: &'a Budget) -> Self {
        Self { bytes, pos, budget }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_white(&mut self) {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if is_white(c) {
                self.pos += 1;
            } else if c == b'%' {
                let rest = &self.bytes[self.pos..];
                let len = memchr::memchr2(b'\r', b'\n', rest).unwrap_or(rest.len());
                self.pos += len;
            } else {
                break;
            }
        }
        // Whitespace and comments cost what they span: the same run read again is charged again.
        self.budget.scanned(self.pos - start);
    }

    fn starts_with(&self, s: &[u8]) -> bool {
        self.bytes.get(self.pos..).is_some_and(|rest| rest.starts_with(s))
    }

    fn keyword(&mut self, word: &[u8]) -> Result<()> {
        self.skip_white();
        if !self.starts_with(word) {
            return Err(GiveUp("expected keyword"));
        }
        let after = self.bytes.get(self.pos + word.len()).copied();
        if after.is_some_and(|c| !is_white(c) && !is_delimiter(c)) {
            return Err(GiveUp("expected keyword"));
        }
        self.pos += word.len();
        Ok(())
    }

    fn unsigned(&mut self) -> Result<u64> {
        self.skip_white();
        let start = self.pos;
        let mut n: u64 = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            n = n.checked_mul(10).and_then(|n| n.checked_add(u64::from(c - b'0'))).ok_or(GiveUp("number too large"))?;
            self.pos += 1;
            // Leading zeros never overflow: a number is at most 24 digits here.
            if self.pos - start > 24 {
                return Err(GiveUp("number too long"));
            }
        }
        self.budget.scanned(self.pos - start);
        if self.pos == start {
            return Err(GiveUp("expected a number"));
        }
        Ok(n)
    }

    /// `N G obj`, checked against `id`.
    fn object_header(&mut self, id: ObjectId) -> Result<()> {
        if self.unsigned()? != u64::from(id.0) || self.unsigned()? != u64::from(id.1) {
            return Err(GiveUp("the table points at another object"));
        }
        self.keyword(b"obj")
    }

    fn object(&mut self, depth: usize) -> Result<Object> {
        if depth > MAX_DEPTH {
            return Err(GiveUp("nested too deeply"));
        }
        self.budget.tokens(1)?;
        self.skip_white();
        let c = self.peek().ok_or(GiveUp("unexpected end"))?;
        match c {
            b'/' => {
                self.pos += 1;
                Ok(Object::Name(self.name()?))
            }
            b'(' => self.literal_string(),
            b'<' if self.starts_with(b"<<") => {
                self.pos += 2;
                Ok(Object::Dictionary(self.dictionary(depth, None)?))
            }
            b'<' => self.hex_string(),
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_white();
                    match self.peek() {
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Object::Array(items));
                        }
                        Some(_) => items.push(self.object(depth + 1)?),
                        None => return Err(GiveUp("unterminated array")),
                    }
                }
            }
            b'0'..=b'9' | b'+' | b'-' | b'.' => self.number_or_reference(),
            _ if self.keyword(b"true").is_ok() => Ok(Object::Boolean(true)),
            _ if self.keyword(b"false").is_ok() => Ok(Object::Boolean(false)),
            _ if self.keyword(b"null").is_ok() => Ok(Object::Null),
            _ => Err(GiveUp("unexpected token")),
        }
    }

    /// Checks the syntax of one object and moves past it without building it.
    fn skip_object(&mut self, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(GiveUp("nested too deeply"));
        }
        self.skip_white();
        match self.peek().ok_or(GiveUp("unexpected end"))? {
            b'<' if !self.starts_with(b"<<") => {
                self.budget.tokens(1)?;
                // A value that is not used need not be decoded.
                self.hex_digits().map(drop)
            }
            // Other values are small: build and drop them.
            _ => self.object(depth).map(drop),
        }
    }

    /// A dictionary, its `<<` included (after whitespace); with `keep`, as [`Cursor::dictionary`].
    fn open_dictionary(&mut self, keep: Option<&[&[u8]]>, not_one: &'static str) -> Result<Dictionary> {
        self.skip_white();
        if !self.starts_with(b"<<") {
            return Err(GiveUp(not_one));
        }
        self.pos += 2;
        self.dictionary(0, keep)
    }

    /// A dictionary after its `<<`; with `keep`, only the entries named there are built and the
    /// others are checked and skipped.
    fn dictionary(&mut self, depth: usize, keep: Option<&[&[u8]]>) -> Result<Dictionary> {
        let mut dict = Dictionary::new();
        loop {
            self.skip_white();
            if self.starts_with(b">>") {
                self.pos += 2;
                return Ok(dict);
            }
            if self.peek() != Some(b'/') {
                return Err(GiveUp("expected a name key"));
            }
            self.budget.tokens(1)?;
            self.pos += 1;
            let key = self.name()?;
            if keep.is_none_or(|keep| keep.contains(&key.as_slice())) {
                let value = self.object(depth + 1)?;
                dict.set(key, value);
            } else {
                self.skip_object(depth + 1)?;
            }
        }
    }

    fn name(&mut self) -> Result<Vec<u8>> {
        let start = self.pos;
        let rest = &self.bytes[start..];
        let len = rest.iter().position(|&c| is_white(c) || is_delimiter(c)).unwrap_or(rest.len());
        self.budget.bytes(len)?;
        let raw = &rest[..len];
        self.pos += len;
        if !raw.contains(&b'#') {
            return Ok(raw.to_vec());
        }
        let mut out = Vec::with_capacity(len);
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'#' {
                let hex = raw.get(i + 1..i + 3).ok_or(GiveUp("bad name escape"))?;
                let v = crate::digest::hex_value(hex[0])
                    .zip(crate::digest::hex_value(hex[1]))
                    .ok_or(GiveUp("bad name escape"))?;
                out.push(v.0 << 4 | v.1);
                i += 3;
            } else {
                out.push(raw[i]);
                i += 1;
            }
        }
        Ok(out)
    }

    fn literal_string(&mut self) -> Result<Object> {
        self.pos += 1;
        let mut out = Vec::new();
        let mut nesting = 0usize;
        let start = self.pos;
        let result = loop {
            let Some(c) = self.peek() else { break Err(GiveUp("unterminated string")) };
            self.pos += 1;
            match c {
                b'(' => {
                    nesting += 1;
                    out.push(c);
                }
                b')' if nesting == 0 => break Ok(Object::String(std::mem::take(&mut out), StringFormat::Literal)),
                b')' => {
                    nesting -= 1;
                    out.push(c);
                }
                b'\\' => {
                    let Some(e) = self.peek() else { break Err(GiveUp("unterminated string")) };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push(v as u8);
                        }
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        other => out.push(other),
                    }
                }
                other => out.push(other),
            }
        };
        self.budget.bytes(self.pos - start)?;
        result
    }

    /// The digits of a hex string after its `<`, up to its `>` (which is passed): the scan
    /// stops at the first byte that cannot be in a hex string, so it never runs past it.
    fn hex_digits(&mut self) -> Result<&'a [u8]> {
        self.pos += 1;
        let rest = &self.bytes[self.pos..];
        let end = rest.iter().position(|&c| !c.is_ascii_hexdigit() && !is_white(c)).unwrap_or(rest.len());
        self.budget.bytes(end)?;
        if rest.get(end) != Some(&b'>') {
            return Err(GiveUp("unterminated hex string"));
        }
        self.pos += end + 1;
        Ok(&rest[..end])
    }

    fn hex_string(&mut self) -> Result<Object> {
        let digits = self.hex_digits()?;
        // The common case, an even run of digits without spaces, decodes in one pass.
        if let Some(out) = crate::digest::unhex_bytes(digits) {
            return Ok(Object::String(out, StringFormat::Hexadecimal));
        }
        let mut out = Vec::with_capacity(digits.len() / 2 + 1);
        let mut high: Option<u8> = None;
        for &c in digits {
            if is_white(c) {
                continue;
            }
            let v = crate::digest::hex_value(c).ok_or(GiveUp("bad hex string"))?;
            match high.take() {
                Some(h) => out.push(h << 4 | v),
                None => high = Some(v),
            }
        }
        if let Some(h) = high {
            out.push(h << 4);
        }
        Ok(Object::String(out, StringFormat::Hexadecimal))
    }

    fn number_or_reference(&mut self) -> Result<Object> {
        let start = self.pos;
        if matches!(self.peek(), Some(b'+' | b'-')) {
            self.pos += 1;
        }
        let mut dot = false;
        while let Some(c) = self.peek() {
            match c {
                b'0'..=b'9' => self.pos += 1,
                b'.' if !dot => {
                    dot = true;
                    self.pos += 1;
                }
                _ => break,
            }
            if self.pos - start > 64 {
                return Err(GiveUp("bad number"));
            }
        }
        let text = std::str::from_utf8(&self.bytes[start..self.pos]).map_err(|_| GiveUp("bad number"))?;
        if dot {
            return text.parse::<f32>().map(Object::Real).map_err(|_| GiveUp("bad number"));
        }
        let n: i64 = text.parse().map_err(|_| GiveUp("bad number"))?;
        // `n g R` is a reference.
        let save = self.pos;
        if n >= 0
            && let Ok(generation) = self.unsigned()
            && self.keyword(b"R").is_ok()
        {
            let id = u32::try_from(n).map_err(|_| GiveUp("bad reference"))?;
            let generation = u16::try_from(generation).map_err(|_| GiveUp("bad reference"))?;
            return Ok(Object::Reference((id, generation)));
        }
        self.pos = save;
        Ok(Object::Integer(n))
    }

    /// After a stream's dictionary: the `stream` keyword and its end of line, then `length`
    /// bytes and `endstream`. Returns the content's range.
    fn stream_body(&mut self, length: i64) -> Result<std::ops::Range<usize>> {
        match self.peek() {
            Some(b'\r') if self.bytes.get(self.pos + 1) == Some(&b'\n') => self.pos += 2,
            Some(b'\n') => self.pos += 1,
            _ => return Err(GiveUp("bad stream start")),
        }
        let length = usize::try_from(length).map_err(|_| GiveUp("bad stream length"))?;
        let start = self.pos;
        let end = start.checked_add(length).ok_or(GiveUp("bad stream length"))?;
        if end > self.bytes.len() {
            return Err(GiveUp("stream runs past the end"));
        }
        self.pos = end;
        self.keyword(b"endstream")?;
        Ok(start..end)
    }
}

/// Where an object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Location {
    /// At this offset of the file.
    Offset(usize),
    /// The `index`th object of the object stream `stream`.
    Compressed { stream: u32, index: usize },
    /// Free or unknown.
    Free,
}

/// An object stream, decompressed once.
struct ObjectStream {
    data: Vec<u8>,
    /// Object number and offset (from `/First`) of each object.
    entries: Vec<(u32, usize)>,
}

/// A PDF whose cross-reference data has been read.
pub struct LazyPdf<'a> {
    bytes: &'a [u8],
    budget: &'a Budget,
    max_objects: usize,
    table: BTreeMap<u32, Location>,
    /// The newest trailer (or cross-reference stream dictionary).
    pub trailer: Dictionary,
    /// Guards `/Length` resolution against references that loop.
    resolving: Cell<usize>,
    object_streams: RefCell<BTreeMap<u32, Rc<ObjectStream>>>,
}

impl<'a> LazyPdf<'a> {
    /// Reads the cross-reference tables and streams; `max_objects` bounds the entries.
    pub fn open(bytes: &'a [u8], max_objects: usize, budget: &'a Budget) -> Result<Self> {
        let tail_start = bytes.len().saturating_sub(1024);
        let tail = &bytes[tail_start..];
        let at = memchr::memmem::rfind(tail, b"startxref").ok_or(GiveUp("no startxref"))?;
        let mut cursor = Cursor::new(bytes, tail_start + at + 9, budget);
        let mut section = usize::try_from(cursor.unsigned()?).map_err(|_| GiveUp("bad startxref"))?;
        let mut pdf = Self::empty(bytes, max_objects, budget);
        let mut trailer: Option<Dictionary> = None;
        let mut seen = Vec::new();
        loop {
            if seen.contains(&section) || seen.len() >= MAX_SECTIONS {
                return Err(GiveUp("cross-reference sections loop or are too many"));
            }
            seen.push(section);
            let dict = pdf.section(section)?;
            let prev = match dict.get(b"Prev") {
                Ok(Object::Integer(p)) => Some(usize::try_from(*p).map_err(|_| GiveUp("bad Prev"))?),
                Ok(_) => return Err(GiveUp("bad Prev")),
                Err(_) => None,
            };
            if trailer.is_none() {
                trailer = Some(dict);
            }
            match prev {
                Some(p) => section = p,
                None => break,
            }
        }
        pdf.trailer = trailer.ok_or(GiveUp("no trailer"))?;
        Ok(pdf)
    }

    /// Rebuilds the table from the `N G obj` headers in the file (the last one of a number
    /// wins) and takes the last trailer with a `/Root`: how a damaged or truncated file is read.
    pub fn reconstruct(bytes: &'a [u8], max_objects: usize, budget: &'a Budget) -> Result<Self> {
        let mut pdf = Self::empty(bytes, max_objects, budget);
        for at in memchr::memmem::find_iter(bytes, b"obj") {
            if bytes.get(at + 3).is_some_and(|&c| !is_white(c) && !is_delimiter(c)) {
                continue;
            }
            let Some((id, start)) = header_before(bytes, at) else { continue };
            pdf.table.insert(id, Location::Offset(start));
            if pdf.table.len() > max_objects {
                return Err(GiveUp("too many objects"));
            }
        }
        let mut trailer = None;
        for at in memchr::memmem::rfind_iter(bytes, b"trailer") {
            // Each candidate costs a token: a file of "trailer" words ends the search early.
            if budget.tokens(1).is_err() {
                break;
            }
            if let Ok(dict) = Cursor::new(bytes, at + 7, budget).open_dictionary(None, "bad trailer")
                && dict.has(b"Root")
            {
                trailer = Some(dict);
                break;
            }
        }
        pdf.trailer = trailer.ok_or(GiveUp("no trailer"))?;
        Ok(pdf)
    }

    fn empty(bytes: &'a [u8], max_objects: usize, budget: &'a Budget) -> Self {
        Self {
            bytes,
            budget,
            max_objects,
            table: BTreeMap::new(),
            trailer: Dictionary::new(),
            resolving: Cell::new(0),
            object_streams: RefCell::new(BTreeMap::new()),
        }
    }

    /// Reads the cross-reference section at `offset` (a table or a stream) into the table, where
    /// newer sections (read first) win; returns its trailer dictionary.
    fn section(&mut self, offset: usize) -> Result<Dictionary> {
        let mut c = Cursor::new(self.bytes, offset, self.budget);
        if c.keyword(b"xref").is_err() {
            return self.xref_stream(offset);
        }
        let mut entries = Vec::new();
        loop {
            c.skip_white();
            if c.starts_with(b"trailer") {
                break;
            }
            let first = u32::try_from(c.unsigned()?).map_err(|_| GiveUp("bad xref"))?;
            let count = usize::try_from(c.unsigned()?).map_err(|_| GiveUp("bad xref"))?;
            // Free entries count too: a table of nothing but free entries is still work.
            self.reserve(entries.len().saturating_add(count))?;
            for i in 0..count {
                let offset = usize::try_from(c.unsigned()?).map_err(|_| GiveUp("bad xref"))?;
                let _generation = c.unsigned()?;
                c.skip_white();
                let kind = c.peek().ok_or(GiveUp("bad xref"))?;
                c.pos += 1;
                let id =
                    first.checked_add(u32::try_from(i).map_err(|_| GiveUp("bad xref"))?).ok_or(GiveUp("bad xref"))?;
                let location = match kind {
                    b'n' => Location::Offset(offset),
                    b'f' => Location::Free,
                    _ => return Err(GiveUp("bad xref entry")),
                };
                entries.push((id, location));
            }
        }
        c.keyword(b"trailer")?;
        let dict = c.open_dictionary(None, "bad trailer")?;
        // A hybrid file: the stream holds the entries the table marks free; it comes first.
        if let Ok(stream_at) = dict.get(b"XRefStm") {
            let stream_at = match stream_at {
                Object::Integer(p) => usize::try_from(*p).map_err(|_| GiveUp("bad XRefStm"))?,
                _ => return Err(GiveUp("bad XRefStm")),
            };
            self.xref_stream(stream_at)?;
        }
        for (id, location) in entries {
            self.table.entry(id).or_insert(location);
        }
        Ok(dict)
    }

    /// Refuses a table that would exceed `max_objects` entries with `more` added.
    fn reserve(&self, more: usize) -> Result<()> {
        if more > self.max_objects || self.table.len().saturating_add(more) > self.max_objects {
            return Err(GiveUp("too many objects"));
        }
        Ok(())
    }

    /// A cross-reference stream at `offset`: its entries go into the table; returns its dictionary.
    fn xref_stream(&mut self, offset: usize) -> Result<Dictionary> {
        let mut c = Cursor::new(self.bytes, offset, self.budget);
        c.unsigned()?;
        c.unsigned()?;
        c.keyword(b"obj")?;
        let dict = c.open_dictionary(None, "not a cross-reference stream")?;
        if dict.get(b"Type").ok() != Some(&Object::Name(b"XRef".to_vec())) {
            return Err(GiveUp("not a cross-reference stream"));
        }
        // The entries of a cross-reference stream's dictionary are direct.
        let length = match dict.get(b"Length") {
            Ok(Object::Integer(n)) => *n,
            _ => return Err(GiveUp("bad stream length")),
        };
        c.keyword(b"stream")?;
        let range = c.stream_body(length)?;
        let data = self.decompress(dict.clone(), range)?;
        let widths: Vec<usize> = match dict.get(b"W") {
            Ok(Object::Array(w)) if w.len() == 3 => w
                .iter()
                .map(|o| match o {
                    Object::Integer(n) => usize::try_from(*n).ok().filter(|n| *n <= MAX_FIELD_WIDTH),
                    _ => None,
                })
                .collect::<Option<_>>()
                .ok_or(GiveUp("bad /W"))?,
            _ => return Err(GiveUp("bad /W")),
        };
        let row = widths.iter().sum::<usize>();
        if row == 0 {
            return Err(GiveUp("bad /W"));
        }
        let size = match dict.get(b"Size") {
            Ok(Object::Integer(n)) => u32::try_from(*n).map_err(|_| GiveUp("bad /Size"))?,
            _ => return Err(GiveUp("bad /Size")),
        };
        let index: Vec<(u32, usize)> = match dict.get(b"Index") {
            Ok(Object::Array(items)) if items.len() % 2 == 0 => items
                .chunks(2)
                .map(|pair| match pair {
                    [Object::Integer(first), Object::Integer(count)] => {
                        Some((u32::try_from(*first).ok()?, usize::try_from(*count).ok()?))
                    }
                    _ => None,
                })
                .collect::<Option<_>>()
                .ok_or(GiveUp("bad /Index"))?,
            Err(_) => vec![(0, size as usize)],
            _ => return Err(GiveUp("bad /Index")),
        };
        let total =
            index.iter().try_fold(0usize, |sum, (_, count)| sum.checked_add(*count)).ok_or(GiveUp("bad /Index"))?;
        self.reserve(total)?;
        if total.checked_mul(row).is_none_or(|need| need > data.len()) {
            return Err(GiveUp("the cross-reference stream is too short"));
        }
        let field = |bytes: &[u8]| bytes.iter().fold(0u64, |v, &b| v << 8 | u64::from(b));
        let mut rows = data.chunks_exact(row);
        for (first, count) in index {
            for i in 0..count {
                let Some(entry) = rows.next() else { return Err(GiveUp("the cross-reference stream is too short")) };
                let (a, rest) = entry.split_at(widths[0]);
                let (b, c) = rest.split_at(widths[1]);
                // A missing type field means type 1.
                let kind = if widths[0] == 0 { 1 } else { field(a) };
                let location = match kind {
                    0 => Location::Free,
                    1 => Location::Offset(usize::try_from(field(b)).map_err(|_| GiveUp("bad xref"))?),
                    2 => Location::Compressed {
                        stream: u32::try_from(field(b)).map_err(|_| GiveUp("bad xref"))?,
                        index: usize::try_from(field(c)).map_err(|_| GiveUp("bad xref"))?,
                    },
                    // Reserved types are free objects.
                    _ => Location::Free,
                };
                let id = u32::try_from(i).ok().and_then(|i| first.checked_add(i)).ok_or(GiveUp("bad xref"))?;
                self.table.entry(id).or_insert(location);
            }
        }
        Ok(dict)
    }

    /// The decoded content of a stream with this dictionary and these bytes, charged to the
    /// budget and never more than it allows.
    fn decompress(&self, dict: Dictionary, range: std::ops::Range<usize>) -> Result<Vec<u8>> {
        decode_structure_stream(&Stream::new(dict, self.bytes[range].to_vec()), self.budget)
    }

    /// The object `id`, parsed now.
    pub fn get(&self, id: ObjectId) -> Result<Object> {
        self.parse(id, None)
    }

    /// The dictionary `id` with only the entries named in `keep` (not a stream).
    pub fn get_subset(&self, id: ObjectId, keep: &[&[u8]]) -> Result<Dictionary> {
        match self.parse(id, Some(keep))? {
            Object::Dictionary(d) => Ok(d),
            _ => Err(GiveUp("not a dictionary")),
        }
    }

    fn parse(&self, id: ObjectId, keep: Option<&[&[u8]]>) -> Result<Object> {
        // Every lookup costs, even one that fails at once.
        self.budget.tokens(1)?;
        if self.resolving.get() > 4 {
            return Err(GiveUp("references loop"));
        }
        self.resolving.set(self.resolving.get() + 1);
        let result = match self.table.get(&id.0).copied().unwrap_or(Location::Free) {
            Location::Offset(offset) => self.parse_at(id, offset, keep),
            Location::Compressed { stream, index } if id.1 == 0 => self.parse_compressed(id.0, stream, index, keep),
            _ => Err(GiveUp("object not in the table")),
        };
        self.resolving.set(self.resolving.get() - 1);
        result
    }

    fn parse_at(&self, id: ObjectId, offset: usize, keep: Option<&[&[u8]]>) -> Result<Object> {
        let mut c = Cursor::new(self.bytes, offset, self.budget);
        c.object_header(id)?;
        let object = match keep {
            Some(keep) => Object::Dictionary(c.open_dictionary(Some(keep), "not a dictionary")?),
            None => c.object(0)?,
        };
        c.skip_white();
        let Object::Dictionary(dict) = object else {
            return Ok(object);
        };
        if c.keyword(b"stream").is_err() {
            return Ok(Object::Dictionary(dict));
        }
        if keep.is_some() {
            return Err(GiveUp("not a dictionary"));
        }
        let length = match dict.get(b"Length") {
            Ok(Object::Integer(n)) => *n,
            Ok(Object::Reference(r)) => match self.get(*r)? {
                Object::Integer(n) => n,
                _ => return Err(GiveUp("bad stream length")),
            },
            _ => return Err(GiveUp("bad stream length")),
        };
        let range = c.stream_body(length)?;
        self.budget.bytes(range.len())?;
        let start = range.start;
        let mut stream = Stream::new(dict, self.bytes[range].to_vec());
        stream.start_position = Some(start);
        Ok(Object::Stream(stream))
    }

    fn parse_compressed(&self, id: u32, stream: u32, index: usize, keep: Option<&[&[u8]]>) -> Result<Object> {
        let objects = self.object_stream(stream)?;
        let &(number, offset) = objects.entries.get(index).ok_or(GiveUp("bad object stream index"))?;
        if number != id {
            return Err(GiveUp("the table points at another object"));
        }
        let mut c = Cursor::new(&objects.data, offset, self.budget);
        match keep {
            Some(keep) => Ok(Object::Dictionary(c.open_dictionary(Some(keep), "not a dictionary")?)),
            None => c.object(0),
        }
    }

    /// The object stream `number`, decompressed and its header read once.
    fn object_stream(&self, number: u32) -> Result<Rc<ObjectStream>> {
        if let Some(found) = self.object_streams.borrow().get(&number) {
            return Ok(Rc::clone(found));
        }
        let Location::Offset(offset) = self.table.get(&number).copied().unwrap_or(Location::Free) else {
            return Err(GiveUp("object stream not in the table"));
        };
        let Object::Stream(stream) = self.parse_at((number, 0), offset, None)? else {
            return Err(GiveUp("not an object stream"));
        };
        if stream.dict.get(b"Type").ok() != Some(&Object::Name(b"ObjStm".to_vec())) {
            return Err(GiveUp("not an object stream"));
        }
        let count = match stream.dict.get(b"N") {
            Ok(Object::Integer(n)) => usize::try_from(*n).map_err(|_| GiveUp("bad /N"))?,
            _ => return Err(GiveUp("bad /N")),
        };
        let first = match stream.dict.get(b"First") {
            Ok(Object::Integer(n)) => usize::try_from(*n).map_err(|_| GiveUp("bad /First"))?,
            _ => return Err(GiveUp("bad /First")),
        };
        self.reserve(count)?;
        let data = decode_structure_stream(&stream, self.budget)?;
        let mut c = Cursor::new(&data, 0, self.budget);
        let mut entries = Vec::with_capacity(count.min(data.len() / 4));
        for _ in 0..count {
            self.budget.tokens(2)?;
            let id = u32::try_from(c.unsigned()?).map_err(|_| GiveUp("bad object stream"))?;
            let at = usize::try_from(c.unsigned()?).ok().and_then(|o| o.checked_add(first));
            entries.push((id, at.filter(|at| *at <= data.len()).ok_or(GiveUp("bad object stream"))?));
        }
        let objects = Rc::new(ObjectStream { data, entries });
        self.object_streams.borrow_mut().insert(number, Rc::clone(&objects));
        Ok(objects)
    }
}

/// The content of a cross-reference or object stream: stored as is or with one `/FlateDecode`
/// (what PDF writers make), charged to the budget. Anything else, or a stream that does not
/// decode within the budget, spends the whole budget: decoding work is never done twice, and
/// chains of filters cannot multiply it.
fn decode_structure_stream(stream: &Stream, budget: &Budget) -> Result<Vec<u8>> {
    let refuse = |why: &'static str| {
        budget.spend_all();
        GiveUp(why)
    };
    match stream.dict.get(b"Filter") {
        Err(_) => {}
        Ok(Object::Name(name)) if name == b"FlateDecode" => {}
        Ok(Object::Array(filters)) if matches!(filters.as_slice(), [Object::Name(n)] if n == b"FlateDecode") => {}
        Ok(_) => return Err(refuse("a cross-reference or object stream with filters other than FlateDecode")),
    }
    let data = stream
        .decompressed_content_with_limit(budget.bytes_left())
        .map_err(|_| refuse("a stream cannot be decompressed within the limits"))?;
    budget.bytes(data.len())?;
    Ok(data)
}

/// The object number and the start of an `N G obj` header whose `obj` is at `at`.
fn header_before(bytes: &[u8], at: usize) -> Option<(u32, usize)> {
    let mut i = at;
    let number = |i: &mut usize| -> Option<(u64, usize)> {
        while *i > 0 && is_white(bytes[*i - 1]) {
            *i -= 1;
        }
        let end = *i;
        while *i > 0 && bytes[*i - 1].is_ascii_digit() && end - *i < 10 {
            *i -= 1;
        }
        if *i == end {
            return None;
        }
        let digits = std::str::from_utf8(&bytes[*i..end]).ok()?;
        Some((digits.parse().ok()?, *i))
    };
    if i == 0 || !is_white(bytes[i - 1]) {
        return None;
    }
    let (generation, _) = number(&mut i)?;
    let (id, start) = number(&mut i)?;
    if start > 0 && !is_white(bytes[start - 1]) && !is_delimiter(bytes[start - 1]) {
        return None;
    }
    (generation <= u64::from(u16::MAX)).then_some(())?;
    Some((u32::try_from(id).ok()?, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Object> {
        let budget = Budget::new(1000, 1000);
        Cursor::new(text.as_bytes(), 0, &budget).object(0)
    }

    #[test]
    fn parses_the_objects_of_a_pdf() {
        assert_eq!(parse("42").unwrap(), Object::Integer(42));
        assert_eq!(parse("-3.5").unwrap(), Object::Real(-3.5));
        assert_eq!(parse("12 0 R").unwrap(), Object::Reference((12, 0)));
        assert_eq!(parse("/A#20B").unwrap(), Object::Name(b"A B".to_vec()));
        assert_eq!(
            parse("(a\\(b\\)c\\101 (d))").unwrap(),
            Object::String(b"a(b)cA (d)".to_vec(), StringFormat::Literal)
        );
        assert_eq!(parse("<4142 4>").unwrap(), Object::String(b"AB@".to_vec(), StringFormat::Hexadecimal));
        let dict = parse("<< /Type /Sig /ByteRange [0 1 2 3] /V 5 0 R % comment\n /N null >>").unwrap();
        let Object::Dictionary(d) = dict else { panic!() };
        assert_eq!(d.get(b"V").unwrap(), &Object::Reference((5, 0)));
        assert_eq!(d.get(b"N").unwrap(), &Object::Null);
        assert!(parse(&"[".repeat(100)).is_err());
        assert!(parse("(unterminated").is_err());
        assert!(parse("<< /A >>").is_err());
    }

    #[test]
    fn every_element_of_an_array_is_charged_to_the_budget() {
        let budget = Budget::new(1000, 1000);
        let text = format!("[{}]", "[]".repeat(2000));
        let mut c = Cursor::new(text.as_bytes(), 0, &budget);
        assert_eq!(c.object(0), Err(GiveUp("the file holds more objects than a certificate can")));
        assert!(budget.tokens_used() <= 1001);
    }

    #[test]
    fn strings_and_names_are_charged_by_their_bytes() {
        let budget = Budget::new(1000, 100);
        let text = format!("[({}) /{}]", "a".repeat(60), "b".repeat(60));
        assert!(Cursor::new(text.as_bytes(), 0, &budget).object(0).is_err());
    }

    #[test]
    fn an_object_header_is_found_behind_its_keyword() {
        let bytes = b"%PDF\n12 0 obj\n<<>>\nendobj\n";
        let at = memchr::memmem::find(bytes, b" obj").unwrap() + 1;
        assert_eq!(header_before(bytes, at), Some((12, 5)));
        assert_eq!(header_before(b"x12 0 obj", 6), None);
    }
}
