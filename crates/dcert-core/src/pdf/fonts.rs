//! Fonts for rendering certificates, with fallback: a character missing from a text's font is
//! drawn with the first fallback font that has it (e.g. a CJK Extension B character in a name),
//! and a character no font has is an error, never a blank.

use std::collections::BTreeMap;
use std::sync::Arc;

use skrifa::instance::{LocationRef, Size};
use skrifa::raw::TableProvider;
use skrifa::{FontRef, MetadataProvider};

/// A font could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FontError {
    /// The bytes are not an OpenType/TrueType font (or the collection index is out of range).
    #[error("font {name:?} is not a readable OpenType font")]
    Unreadable {
        /// The name the font was loaded under.
        name: String,
    },
}

/// One loaded font face.
#[derive(Clone)]
pub struct Face {
    /// A name for messages, e.g. the file name.
    pub name: String,
    data: Arc<Vec<u8>>,
    index: u32,
    units_per_em: f32,
    pub(crate) krilla: krilla::text::Font,
}

impl std::fmt::Debug for Face {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Face({})", self.name)
    }
}

impl Face {
    /// Loads face `index` of a font file (0 unless the file is a collection).
    pub fn new(name: &str, data: Arc<Vec<u8>>, index: u32) -> Result<Self, FontError> {
        let unreadable = || FontError::Unreadable { name: name.to_owned() };
        let font = FontRef::from_index(&data, index).map_err(|_| unreadable())?;
        let units_per_em = f32::from(font.head().map_err(|_| unreadable())?.units_per_em());
        let krilla = krilla::text::Font::new(krilla::Data::from(data.clone()), index).ok_or_else(unreadable)?;
        Ok(Self { name: name.to_owned(), data, index, units_per_em, krilla })
    }

    fn font_ref(&self) -> Option<FontRef<'_>> {
        FontRef::from_index(&self.data, self.index).ok()
    }

    /// The font file's bytes (a web page can use the same face for the same rare characters).
    pub fn data(&self) -> &Arc<Vec<u8>> {
        &self.data
    }

    /// Whether the face has a glyph for `c`.
    pub fn covers(&self, c: char) -> bool {
        self.font_ref().and_then(|f| f.charmap().map(c)).is_some_and(|g| g.to_u32() != 0)
    }

    /// The glyphs of `text`, one per character (no shaping: CJK text needs none, and Latin text
    /// loses only kerning), with advances in em and each glyph's byte range in `text`.
    /// Characters the face does not have are left out; [`FontBook::runs`] never gives any.
    pub fn layout(&self, text: &str) -> Vec<LaidGlyph> {
        let Some(font) = self.font_ref() else {
            return Vec::new();
        };
        let charmap = font.charmap();
        let metrics = font.glyph_metrics(Size::unscaled(), LocationRef::default());
        text.char_indices()
            .filter_map(|(i, c)| {
                let glyph = charmap.map(c).filter(|g| g.to_u32() != 0)?;
                Some(LaidGlyph {
                    glyph: glyph.to_u32(),
                    advance: metrics.advance_width(glyph).unwrap_or(0.0) / self.units_per_em,
                    range: i..i + c.len_utf8(),
                })
            })
            .collect()
    }

    /// The advance width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        self.layout(text).iter().map(|g| g.advance * size).sum()
    }
}

/// A glyph placed by [`Face::layout`].
#[derive(Clone, Debug, PartialEq)]
pub struct LaidGlyph {
    /// The glyph id in the face.
    pub glyph: u32,
    /// The advance, in em.
    pub advance: f32,
    /// The bytes of the text the glyph stands for.
    pub range: std::ops::Range<usize>,
}

/// The fonts available to templates: named families and a fallback chain shared by all.
#[derive(Clone, Debug, Default)]
pub struct FontBook {
    families: BTreeMap<String, Face>,
    fallbacks: Vec<Face>,
}

/// A run of text drawn with one face.
#[derive(Debug)]
pub struct Run<'a> {
    /// The face.
    pub face: &'a Face,
    /// The text.
    pub text: String,
}

/// A character that no font in the book can draw.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no font has the character {character:?} (U+{code:04X}); add a fallback font that covers it")]
pub struct MissingGlyph {
    /// The character.
    pub character: char,
    /// Its code point.
    pub code: u32,
}

impl FontBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `face` as the family `family` (e.g. `serif`).
    pub fn add_family(&mut self, family: &str, face: Face) {
        self.families.insert(family.to_owned(), face);
    }

    /// Appends `face` to the fallback chain.
    pub fn add_fallback(&mut self, face: Face) {
        self.fallbacks.push(face);
    }

    /// The fallback chain, in order.
    pub fn fallbacks(&self) -> &[Face] {
        &self.fallbacks
    }

    /// A small OpenType font with only the glyphs of `chars`, taken from the first fallback face
    /// that has any of them, with a character map, for a web page to show the rare characters
    /// of a name (CJK Extension B and beyond) as the certificate prints them. `None` when no
    /// fallback face has them or the face cannot be subset.
    pub fn web_subset(&self, chars: &[char]) -> Option<Vec<u8>> {
        use skrifa::raw::{FontRef as RawFontRef, TableProvider};
        use write_fonts::FontBuilder;
        use write_fonts::tables::cmap::Cmap;
        use write_fonts::types::{GlyphId, Tag};

        let face = self.fallbacks.iter().find(|f| chars.iter().any(|c| f.covers(*c)))?;
        let font = face.font_ref()?;
        let charmap = font.charmap();
        let mut remapper = subsetter::GlyphRemapper::new();
        let mut mappings = Vec::new();
        for c in chars {
            if let Some(glyph) = charmap.map(*c) {
                let old = u16::try_from(glyph.to_u32()).ok()?;
                mappings.push((*c, GlyphId::new(u32::from(remapper.remap(old)))));
            }
        }
        let subset = subsetter::subset(&face.data, face.index, &remapper).ok()?;
        let subset_ref = RawFontRef::new(&subset).ok()?;
        let original = RawFontRef::from_index(&face.data, face.index).ok()?;
        let cmap = Cmap::from_mappings(mappings).ok()?;
        let mut builder = FontBuilder::new();
        builder.add_table(&cmap).ok()?;
        // Browsers require OS/2, which PDF subsets leave out; its values do not depend on glyph ids.
        if let Some(os2) = original.data_for_tag(Tag::new(b"OS/2")) {
            builder.add_raw(Tag::new(b"OS/2"), os2.as_bytes().to_vec());
        }
        let _ = original.head().ok()?;
        builder.copy_missing_tables(subset_ref);
        Some(builder.build())
    }

    /// The family names.
    pub fn family_names(&self) -> impl Iterator<Item = &str> {
        self.families.keys().map(String::as_str)
    }

    /// The face of a family.
    pub fn family(&self, family: &str) -> Option<&Face> {
        self.families.get(family)
    }

    /// Splits `text` into runs, each drawn by the first face in `family` + fallbacks that has
    /// its characters. Whitespace stays in the current run.
    pub fn runs<'a>(&'a self, family: &'a Face, text: &str) -> Result<Vec<Run<'a>>, MissingGlyph> {
        let mut runs: Vec<Run<'a>> = Vec::new();
        for c in text.chars() {
            // Whitespace stays in the current run when that face has it.
            let current = runs.last().map(|r| r.face).filter(|f| c.is_whitespace() && f.covers(c));
            let face = current.or_else(|| std::iter::once(family).chain(self.fallbacks.iter()).find(|f| f.covers(c)));
            let face = face.ok_or(MissingGlyph { character: c, code: u32::from(c) })?;
            match runs.last_mut() {
                Some(run) if std::ptr::eq(run.face, face) => run.text.push(c),
                _ => runs.push(Run { face, text: c.to_string() }),
            }
        }
        Ok(runs)
    }
}
