//! Renders a certificate page from a template into a PDF/A-3u file with `credential.json`
//! attached as an associated file and the QR seal drawn as vectors.

use krilla::color::rgb;
use krilla::configure::{Archival, ConfigurationBuilder};
use krilla::embed::{AssociationKind, EmbeddedFile, MimeType};
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::{DateTime, Metadata};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{GlyphId, KrillaGlyph};
use krilla::{Document, SerializeSettings};

use super::fonts::{FontBook, MissingGlyph};
use super::template::{self, Align, Color, Shape, Template};
use crate::model::Certificate;
use crate::time::Timestamp;

/// The name of the embedded credential.
pub const CREDENTIAL_FILE_NAME: &str = "credential.json";

const PT_PER_MM: f32 = 72.0 / 25.4;

/// The page could not be rendered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RenderError {
    /// The template names a font family the font book does not have.
    #[error("the template uses font family {0:?}, which is not loaded")]
    UnknownFont(String),
    /// A character cannot be drawn by any font.
    #[error("{0}")]
    MissingGlyph(#[from] MissingGlyph),
    /// The QR code's text is too long for a QR code.
    #[error("the QR code's content is too long ({0} bytes)")]
    QrTooLong(usize),
    /// The template does not fit the certificate.
    #[error(transparent)]
    Template(#[from] template::TemplateError),
    /// The PDF writer refused the document (e.g. a PDF/A rule).
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
}

/// What the page shows besides the record.
#[derive(Clone, Debug)]
pub struct PageInput<'a> {
    /// The certificate.
    pub certificate: &'a Certificate,
    /// The issuer's name in the certificate's language, from the registry.
    pub issuer_name: &'a str,
    /// The verification address printed in the QR code.
    pub verify_url: &'a str,
    /// The QR code's full text (address and seal).
    pub qr_text: &'a str,
    /// The `credential.json` bytes to attach.
    pub credential_json: &'a [u8],
    /// The issue time, written into the metadata.
    pub issued_at: Timestamp,
}

fn rgb(c: Color) -> rgb::Color {
    rgb::Color::new(c.0[0], c.0[1], c.0[2])
}

fn fill(c: Color) -> Fill {
    Fill { paint: rgb(c).into(), opacity: NormalizedF32::ONE, rule: Default::default() }
}

fn date_time(t: Timestamp) -> DateTime {
    let d = t.date();
    let (h, m, s) = t.hms();
    DateTime::new(d.year() as u16)
        .month(d.month())
        .day(d.day())
        .hour(h)
        .minute(m)
        .second(s)
        .utc_offset_hour(0)
        .utc_offset_minute(0)
}

/// Renders the certificate page and returns the unsigned PDF/A-3u bytes.
pub fn render(template: &Template, fonts: &FontBook, input: &PageInput<'_>) -> Result<Vec<u8>, RenderError> {
    template.check_fits(input.certificate)?;
    let values = template::placeholders(input.certificate, input.issuer_name, input.verify_url);
    let language = input.certificate.language;
    let title = format!(
        "{} {}",
        match (input.certificate.subject.credential_type(), language) {
            (crate::CredentialType::Degree, crate::Language::Zh) => "數位學位證書",
            (crate::CredentialType::Degree, crate::Language::En) => "Digital Degree Certificate",
            (crate::CredentialType::Teacher, crate::Language::Zh) => "電子教師證書",
            (crate::CredentialType::Teacher, crate::Language::En) => "Digital Teacher Certificate",
        },
        input.certificate.number
    );
    let lines = template.texts.iter().filter_map(|t| Some((t.clone(), template::fill(t, &values)?))).collect();
    render_sheet(
        fonts,
        &Sheet {
            title,
            language,
            author: input.issuer_name,
            created: input.issued_at,
            page: template.page.clone(),
            shapes: &template.shapes,
            lines,
            qr: Some((&template.qr, input.qr_text)),
            attachment: Attachment {
                name: CREDENTIAL_FILE_NAME,
                description: "W3C Verifiable Credential (dcert format 1)",
                data: input.credential_json,
            },
        },
    )
}

/// A file attached to a one-page document.
pub struct Attachment<'a> {
    /// Its file name.
    pub name: &'a str,
    /// What it is.
    pub description: &'a str,
    /// Its bytes (JSON).
    pub data: &'a [u8],
}

/// A one-page PDF/A-3u document: shapes, lines of text placed as a template places them, a QR
/// code, and one JSON file attached as its data.
pub struct Sheet<'a> {
    /// The document's title.
    pub title: String,
    /// Its language.
    pub language: crate::Language,
    /// Who made it.
    pub author: &'a str,
    /// When.
    pub created: Timestamp,
    /// The page size.
    pub page: template::Page,
    /// Background shapes.
    pub shapes: &'a [Shape],
    /// Each line: where and how, and its text.
    pub lines: Vec<(template::Text, String)>,
    /// The QR code and its text, if any.
    pub qr: Option<(&'a template::Qr, &'a str)>,
    /// The attached file.
    pub attachment: Attachment<'a>,
}

/// Renders `sheet` and returns the unsigned PDF/A-3u bytes.
pub fn render_sheet(fonts: &FontBook, sheet: &Sheet<'_>) -> Result<Vec<u8>, RenderError> {
    let configuration = ConfigurationBuilder::new()
        .with_archival_validator(Archival::A3_U)
        .finish()
        .map_err(|e| RenderError::Pdf(format!("{e:?}")))?;
    let settings = SerializeSettings { configuration, ..SerializeSettings::default() };
    let mut document = Document::new_with(settings);
    document.set_metadata(
        Metadata::new()
            .title(sheet.title.clone())
            .language(sheet.language.bcp47().to_owned())
            .creator("dcert".to_owned())
            .producer(format!("dcert {}", env!("CARGO_PKG_VERSION")))
            .authors(vec![sheet.author.to_owned()])
            .creation_date(date_time(sheet.created)),
    );
    let width = sheet.page.width_mm * PT_PER_MM;
    let height = sheet.page.height_mm * PT_PER_MM;
    let settings = PageSettings::from_wh(width, height).ok_or(RenderError::Pdf("empty page".into()))?;
    {
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        draw_shapes(&mut surface, sheet.shapes);
        for (text, line) in &sheet.lines {
            draw_text(&mut surface, fonts, text, line)?;
        }
        if let Some((qr, text)) = sheet.qr {
            draw_qr(&mut surface, qr, text)?;
        }
        surface.finish();
        page.finish();
    }
    let embedded = EmbeddedFile {
        path: sheet.attachment.name.to_owned(),
        mime_type: MimeType::new("application/json"),
        description: Some(sheet.attachment.description.to_owned()),
        association_kind: AssociationKind::Data,
        data: sheet.attachment.data.to_vec().into(),
        modification_date: Some(date_time(sheet.created)),
        // Uncompressed: it is small, and a verifier reads it without inflating.
        compress: Some(false),
        location: None,
    };
    document.embed_file(embedded).ok_or_else(|| RenderError::Pdf("the attachment could not be attached".into()))?;
    document.finish().map_err(|e| RenderError::Pdf(format!("{e:?}")))
}

fn draw_shapes(surface: &mut Surface<'_>, shapes: &[Shape]) {
    for shape in shapes {
        let mut pb = PathBuilder::new();
        let (stroke, fill_color, line_width) = match *shape {
            Shape::Rect { x_mm, y_mm, width_mm, height_mm, stroke, fill, line_width_pt } => {
                if let Some(rect) =
                    Rect::from_xywh(x_mm * PT_PER_MM, y_mm * PT_PER_MM, width_mm * PT_PER_MM, height_mm * PT_PER_MM)
                {
                    pb.push_rect(rect);
                }
                (stroke, fill, line_width_pt)
            }
            Shape::Line { x1_mm, y1_mm, x2_mm, y2_mm, color, line_width_pt } => {
                pb.move_to(x1_mm * PT_PER_MM, y1_mm * PT_PER_MM);
                pb.line_to(x2_mm * PT_PER_MM, y2_mm * PT_PER_MM);
                (Some(color), None, line_width_pt)
            }
        };
        let Some(path) = pb.finish() else { continue };
        surface.set_fill(fill_color.map(fill));
        surface.set_stroke(stroke.map(|c| Stroke { paint: rgb(c).into(), width: line_width, ..Stroke::default() }));
        surface.draw_path(&path);
    }
    surface.set_stroke(None);
}

fn draw_text(
    surface: &mut Surface<'_>,
    fonts: &FontBook,
    text: &template::Text,
    line: &str,
) -> Result<(), RenderError> {
    let face = fonts.family(&text.font).ok_or_else(|| RenderError::UnknownFont(text.font.clone()))?;
    let runs = fonts.runs(face, line)?;
    let laid: Vec<_> = runs.iter().map(|run| (run, run.face.layout(&run.text))).collect();
    let count: usize = laid.iter().map(|(_, glyphs)| glyphs.len()).sum();
    let spacing = text.letter_spacing_pt * count.saturating_sub(1) as f32;
    let em: f32 = laid.iter().flat_map(|(_, glyphs)| glyphs).map(|g| g.advance).sum();
    let mut size = text.size_pt;
    if let Some(max) = text.max_width_mm {
        let max = max * PT_PER_MM;
        if em * size + spacing > max && em > 0.0 {
            // Shrink the glyphs, not the spacing, to fit.
            size = ((max - spacing) / em).max(size * 0.25);
        }
    }
    let width = em * size + spacing;
    let anchor = text.x_mm * PT_PER_MM;
    let mut x = match text.align {
        Align::Left => anchor,
        Align::Center => anchor - width / 2.0,
        Align::Right => anchor - width,
    };
    let y = text.y_mm * PT_PER_MM;
    surface.set_fill(Some(fill(text.color)));
    let mut placed = 0;
    for (run, glyphs) in laid {
        let glyphs: Vec<KrillaGlyph> = glyphs
            .into_iter()
            .map(|g| {
                placed += 1;
                // Letter spacing goes after every glyph but the line's last, in em of this size.
                let extra = if placed < count { text.letter_spacing_pt / size } else { 0.0 };
                KrillaGlyph::new(GlyphId::new(g.glyph), g.advance + extra, 0.0, 0.0, 0.0, g.range, None)
            })
            .collect();
        let run_width: f32 = glyphs.iter().map(|g| g.x_advance * size).sum();
        surface.draw_glyphs(Point::from_xy(x, y), &glyphs, run.face.krilla.clone(), &run.text, size, false);
        x += run_width;
    }
    Ok(())
}

/// The QR code's error correction: M, which restores 15 % of the code's words (a crease or a
/// stain on a printed page). Q (25 %) would take the seal from 61 to 73 modules a side, and what
/// a phone's photo sent through a chat app loses is sharpness, which larger modules withstand.
pub const QR_EC_LEVEL: qrcode::EcLevel = qrcode::EcLevel::M;

fn draw_qr(surface: &mut Surface<'_>, qr: &template::Qr, text: &str) -> Result<(), RenderError> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), QR_EC_LEVEL)
        .map_err(|_| RenderError::QrTooLong(text.len()))?;
    let n = code.width();
    let quiet = 4;
    let module = qr.size_mm * PT_PER_MM / (n + 2 * quiet) as f32;
    let left = qr.x_mm * PT_PER_MM + quiet as f32 * module;
    let top = qr.y_mm * PT_PER_MM + quiet as f32 * module;
    let colors = code.to_colors();
    let mut pb = PathBuilder::new();
    for y in 0..n {
        // One rectangle per horizontal run of dark modules keeps the path short.
        let mut x = 0;
        while x < n {
            if colors[y * n + x] == qrcode::Color::Dark {
                let start = x;
                while x < n && colors[y * n + x] == qrcode::Color::Dark {
                    x += 1;
                }
                if let Some(rect) = Rect::from_xywh(
                    left + start as f32 * module,
                    top + y as f32 * module,
                    (x - start) as f32 * module,
                    module,
                ) {
                    pb.push_rect(rect);
                }
            } else {
                x += 1;
            }
        }
    }
    if let Some(path) = pb.finish() {
        surface.set_fill(Some(fill(Color([0, 0, 0]))));
        surface.draw_path(&path);
    }
    Ok(())
}
