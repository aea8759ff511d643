//! A small, strict, lazy PDF reader: it follows the classic cross-reference tables from the end
//! of the file and parses only the objects asked for. Certificate files (which dcert writes
//! itself) are read this way in a fraction of a full parse; anything it does not handle (object
//! streams, cross-reference streams, damage) makes it give up, and the caller falls back to the
//! full, lenient parser.
//!
//! Every loop advances through the input, nesting is capped, and the number of cross-reference
//! sections and entries is bounded.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};

use lopdf::{Dictionary, Object, ObjectId, Stream, StringFormat};

/// Why the lazy reader gave up (the caller then uses the full parser).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiveUp(pub &'static str);

type Result<T> = std::result::Result<T, GiveUp>;

const MAX_DEPTH: usize = 32;
const MAX_SECTIONS: usize = 16;

/// A PDF whose cross-reference tables have been read.
pub struct LazyPdf<'a> {
    bytes: &'a [u8],
    offsets: BTreeMap<u32, usize>,
    /// The newest trailer.
    pub trailer: Dictionary,
    /// Guards `/Length` resolution against references that loop.
    resolving: Cell<usize>,
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    memchr::memchr(needle, haystack)
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
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_white(&mut self) {
        while let Some(c) = self.peek() {
            if is_white(c) {
                self.pos += 1;
            } else if c == b'%' {
                while let Some(c) = self.peek() {
                    if c == b'\r' || c == b'\n' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
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
        }
        if self.pos == start {
            return Err(GiveUp("expected a number"));
        }
        Ok(n)
    }

    fn object(&mut self, depth: usize) -> Result<Object> {
        if depth > MAX_DEPTH {
            return Err(GiveUp("nested too deeply"));
        }
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
                self.pos += 1;
                // A value that is not used need not be decoded, or even checked.
                let end = memchr(b'>', &self.bytes[self.pos..]).ok_or(GiveUp("unterminated hex string"))?;
                self.pos += end + 1;
                Ok(())
            }
            // Other values are small: build and drop them.
            _ => self.object(depth).map(drop),
        }
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
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            if is_white(c) || is_delimiter(c) {
                break;
            }
            if c == b'#' {
                let hex = self.bytes.get(self.pos + 1..self.pos + 3).ok_or(GiveUp("bad name escape"))?;
                let v = crate::digest::hex_value(hex[0])
                    .zip(crate::digest::hex_value(hex[1]))
                    .ok_or(GiveUp("bad name escape"))?;
                out.push(v.0 << 4 | v.1);
                self.pos += 3;
            } else {
                out.push(c);
                self.pos += 1;
            }
        }
        Ok(out)
    }

    fn literal_string(&mut self) -> Result<Object> {
        self.pos += 1;
        let mut out = Vec::new();
        let mut nesting = 0usize;
        loop {
            let c = self.peek().ok_or(GiveUp("unterminated string"))?;
            self.pos += 1;
            match c {
                b'(' => {
                    nesting += 1;
                    out.push(c);
                }
                b')' if nesting == 0 => return Ok(Object::String(out, StringFormat::Literal)),
                b')' => {
                    nesting -= 1;
                    out.push(c);
                }
                b'\\' => {
                    let e = self.peek().ok_or(GiveUp("unterminated string"))?;
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
        }
    }

    fn hex_string(&mut self) -> Result<Object> {
        self.pos += 1;
        let end = memchr(b'>', &self.bytes[self.pos..]).ok_or(GiveUp("unterminated hex string"))?;
        let digits = &self.bytes[self.pos..self.pos + end];
        self.pos += end + 1;
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
}

impl<'a> LazyPdf<'a> {
    /// Reads the cross-reference tables; `max_objects` bounds the entries.
    pub fn open(bytes: &'a [u8], max_objects: usize) -> Result<Self> {
        let tail_start = bytes.len().saturating_sub(1024);
        let tail = &bytes[tail_start..];
        let at = tail.windows(9).rposition(|w| w == b"startxref").ok_or(GiveUp("no startxref"))?;
        let mut cursor = Cursor { bytes, pos: tail_start + at + 9 };
        let mut section = usize::try_from(cursor.unsigned()?).map_err(|_| GiveUp("bad startxref"))?;
        let mut offsets: BTreeMap<u32, usize> = BTreeMap::new();
        let mut free: BTreeSet<u32> = BTreeSet::new();
        let mut trailer: Option<Dictionary> = None;
        let mut seen = Vec::new();
        loop {
            if seen.contains(&section) || seen.len() >= MAX_SECTIONS {
                return Err(GiveUp("cross-reference sections loop or are too many"));
            }
            seen.push(section);
            let mut c = Cursor { bytes, pos: section };
            c.keyword(b"xref")?;
            loop {
                c.skip_white();
                if c.starts_with(b"trailer") {
                    break;
                }
                let first = u32::try_from(c.unsigned()?).map_err(|_| GiveUp("bad xref"))?;
                let count = usize::try_from(c.unsigned()?).map_err(|_| GiveUp("bad xref"))?;
                // Free entries count too: a table of nothing but free entries is still work.
                if count > max_objects || offsets.len() + free.len() + count > max_objects {
                    return Err(GiveUp("too many objects"));
                }
                for i in 0..count {
                    let offset = usize::try_from(c.unsigned()?).map_err(|_| GiveUp("bad xref"))?;
                    let _generation = c.unsigned()?;
                    c.skip_white();
                    let kind = c.peek().ok_or(GiveUp("bad xref"))?;
                    c.pos += 1;
                    let id = first.checked_add(i as u32).ok_or(GiveUp("bad xref"))?;
                    // Newer sections come first: an entry already known wins.
                    if offsets.contains_key(&id) || free.contains(&id) {
                        continue;
                    }
                    match kind {
                        b'n' => {
                            offsets.insert(id, offset);
                        }
                        b'f' => {
                            free.insert(id);
                        }
                        _ => return Err(GiveUp("bad xref entry")),
                    }
                }
            }
            c.keyword(b"trailer")?;
            c.skip_white();
            if !c.starts_with(b"<<") {
                return Err(GiveUp("bad trailer"));
            }
            c.pos += 2;
            let dict = c.dictionary(0, None)?;
            let prev = match dict.get(b"Prev") {
                Ok(Object::Integer(p)) => Some(usize::try_from(*p).map_err(|_| GiveUp("bad Prev"))?),
                Ok(_) => return Err(GiveUp("bad Prev")),
                Err(_) => None,
            };
            if dict.has(b"XRefStm") {
                return Err(GiveUp("hybrid cross-reference"));
            }
            if trailer.is_none() {
                trailer = Some(dict);
            }
            match prev {
                Some(p) => section = p,
                None => break,
            }
        }
        Ok(Self { bytes, offsets, trailer: trailer.ok_or(GiveUp("no trailer"))?, resolving: Cell::new(0) })
    }

    /// The object `id`, parsed now.
    pub fn get(&self, id: ObjectId) -> Result<Object> {
        let offset = *self.offsets.get(&id.0).ok_or(GiveUp("object not in the table"))?;
        if self.resolving.get() > 4 {
            return Err(GiveUp("references loop"));
        }
        self.resolving.set(self.resolving.get() + 1);
        let result = self.parse_at(id, offset);
        self.resolving.set(self.resolving.get() - 1);
        result
    }

    /// The dictionary `id` with only the entries named in `keep` (not a stream).
    pub fn get_subset(&self, id: ObjectId, keep: &[&[u8]]) -> Result<Dictionary> {
        let offset = *self.offsets.get(&id.0).ok_or(GiveUp("object not in the table"))?;
        let mut c = Cursor { bytes: self.bytes, pos: offset };
        if c.unsigned()? != u64::from(id.0) || c.unsigned()? != u64::from(id.1) {
            return Err(GiveUp("the table points at another object"));
        }
        c.keyword(b"obj")?;
        c.skip_white();
        if !c.starts_with(b"<<") {
            return Err(GiveUp("not a dictionary"));
        }
        c.pos += 2;
        let dict = c.dictionary(0, Some(keep))?;
        c.keyword(b"endobj")?;
        Ok(dict)
    }

    fn parse_at(&self, id: ObjectId, offset: usize) -> Result<Object> {
        let mut c = Cursor { bytes: self.bytes, pos: offset };
        if c.unsigned()? != u64::from(id.0) || c.unsigned()? != u64::from(id.1) {
            return Err(GiveUp("the table points at another object"));
        }
        c.keyword(b"obj")?;
        let object = c.object(0)?;
        c.skip_white();
        let Object::Dictionary(dict) = object else {
            return Ok(object);
        };
        if c.keyword(b"stream").is_err() {
            return Ok(Object::Dictionary(dict));
        }
        match c.peek() {
            Some(b'\r') if c.bytes.get(c.pos + 1) == Some(&b'\n') => c.pos += 2,
            Some(b'\n') => c.pos += 1,
            _ => return Err(GiveUp("bad stream start")),
        }
        let length = match dict.get(b"Length") {
            Ok(Object::Integer(n)) => *n,
            Ok(Object::Reference(r)) => match self.get(*r)? {
                Object::Integer(n) => n,
                _ => return Err(GiveUp("bad stream length")),
            },
            _ => return Err(GiveUp("bad stream length")),
        };
        let length = usize::try_from(length).map_err(|_| GiveUp("bad stream length"))?;
        let end = c.pos.checked_add(length).ok_or(GiveUp("bad stream length"))?;
        let content = self.bytes.get(c.pos..end).ok_or(GiveUp("stream runs past the end"))?.to_vec();
        c.pos = end;
        c.keyword(b"endstream")?;
        let mut stream = Stream::new(dict, content);
        stream.start_position = Some(end - length);
        Ok(Object::Stream(stream))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Object> {
        Cursor { bytes: text.as_bytes(), pos: 0 }.object(0)
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
}
