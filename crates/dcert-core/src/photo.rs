//! A printed certificate's QR code, read from a photo, a scan or a screenshot (PNG or JPEG):
//! the picture is decoded within fixed bounds, turned grey, and searched for QR codes at a few
//! sizes (a phone's photo is large and a chat app's copy small and soft; the search works best
//! when a module is a few pixels wide).

use std::io::Cursor;

/// The widest or tallest picture read, in pixels.
pub const MAX_SIDE: u32 = 10_000;
/// The most pixels a picture read may have: 40 million (a phone's photo has 12 to 48).
pub const MAX_PIXELS: u64 = 40_000_000;
/// The most memory decoding a picture may take.
pub const MAX_DECODE_BYTES: u64 = 128 * 1024 * 1024;
/// The longest side the search starts at: a phone's 12-megapixel photo is scaled to it first.
const SEARCH_SIDE: u32 = 1600;

/// Why a picture was not read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    /// Not a PNG or JPEG file, or a damaged one.
    #[error("not a PNG or JPEG picture, or a damaged one")]
    Unreadable,
    /// Wider or taller than [`MAX_SIDE`], more than [`MAX_PIXELS`], or larger in memory than
    /// [`MAX_DECODE_BYTES`].
    #[error("the picture is larger than {MAX_PIXELS} pixels or {MAX_SIDE} pixels a side")]
    TooLarge,
}

/// The texts of the QR codes found in the picture `bytes`: searched at up to three sizes, from
/// 1,600 pixels down, until one yields a code, asking `go_on` before each (the caller's time
/// budget); empty if none was found.
pub fn read_qr_codes(bytes: &[u8], go_on: impl Fn() -> bool) -> Result<Vec<String>, PhotoError> {
    let reader =
        || image::ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|_| PhotoError::Unreadable);
    // The header first: its size is refused before any pixel is decoded.
    let (width, height) = reader()?.into_dimensions().map_err(|_| PhotoError::Unreadable)?;
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(PhotoError::TooLarge);
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    let mut reader = reader()?;
    reader.limits(limits);
    let picture = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => PhotoError::TooLarge,
        _ => PhotoError::Unreadable,
    })?;
    let grey = picture.into_luma8();
    let side = grey.width().max(grey.height());
    let mut sizes = vec![side.min(SEARCH_SIDE)];
    for smaller in [1000, 700] {
        if smaller < sizes[sizes.len() - 1] * 9 / 10 {
            sizes.push(smaller);
        }
    }
    for target in sizes {
        if !go_on() {
            break;
        }
        let scaled = if target == side {
            std::borrow::Cow::Borrowed(&grey)
        } else {
            let (w, h) = (grey.width() * target / side, grey.height() * target / side);
            std::borrow::Cow::Owned(image::imageops::resize(
                &grey,
                w.max(1),
                h.max(1),
                image::imageops::FilterType::Triangle,
            ))
        };
        // The reader is not ours: a panic on a strange picture is "no code", not a crash.
        let found = std::panic::catch_unwind(|| search(&scaled)).unwrap_or_default();
        if !found.is_empty() {
            return Ok(found);
        }
    }
    Ok(Vec::new())
}

/// The QR code the ZXing reader (rxing: a hybrid binarizer, which follows a photo's uneven
/// light, and its finder) decodes in `grey`, if any.
fn search(grey: &image::GrayImage) -> Vec<String> {
    let mut hints = rxing::DecodeHints { TryHarder: Some(true), ..Default::default() };
    let decoded = rxing::helpers::detect_in_luma_slice_with_hints(
        grey.as_raw(),
        grey.width(),
        grey.height(),
        Some(rxing::BarcodeFormat::QR_CODE),
        &mut hints,
    );
    decoded.map(|r| vec![r.getText().to_owned()]).unwrap_or_default()
}
