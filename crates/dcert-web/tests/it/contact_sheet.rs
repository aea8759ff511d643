//! A contact sheet: every screenshot of a directory, a third of its size, in a grid of
//! twelve columns, in file-name order (site, page, language), as one PNG.

use std::io::Cursor;
use std::path::Path;

/// Columns of the grid.
const COLUMNS: usize = 12;
/// Each screenshot is shrunk by this factor in both directions.
const SHRINK: usize = 3;
/// Pixels between the pictures, and around them.
const GAP: usize = 8;

/// An RGB picture.
struct Picture {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

/// The picture in `path`; none if the file is gone.
fn read(path: &Path) -> Result<Option<Picture>, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| format!("{}: {e}", path.display()))?;
    let mut buffer = vec![0; reader.output_buffer_size().ok_or("a picture too large")?];
    let info = reader.next_frame(&mut buffer).map_err(|e| format!("{}: {e}", path.display()))?;
    let samples = info.color_type.samples();
    let (width, height) = (info.width as usize, info.height as usize);
    let mut rgb = Vec::with_capacity(width * height * 3);
    for pixel in buffer[..info.buffer_size()].chunks_exact(samples) {
        match samples {
            1 | 2 => rgb.extend_from_slice(&[pixel[0]; 3]),
            _ => rgb.extend_from_slice(&pixel[..3]),
        }
    }
    Ok(Some(Picture { width, height, rgb }))
}

/// `picture` shrunk by `SHRINK`, each pixel the mean of the block it covers.
fn shrink(picture: &Picture) -> Picture {
    let (width, height) = (picture.width / SHRINK, picture.height / SHRINK);
    let mut rgb = vec![0; width * height * 3];
    for y in 0..height {
        for x in 0..width {
            for c in 0..3 {
                let mut sum = 0usize;
                for dy in 0..SHRINK {
                    for dx in 0..SHRINK {
                        sum += picture.rgb[((y * SHRINK + dy) * picture.width + x * SHRINK + dx) * 3 + c] as usize;
                    }
                }
                rgb[(y * width + x) * 3 + c] = (sum / (SHRINK * SHRINK)) as u8;
            }
        }
    }
    Picture { width, height, rgb }
}

/// The contact sheet of the PNG files in `dir`, as PNG bytes.
pub fn draw(dir: &Path) -> Result<Vec<u8>, String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "png"))
        .collect();
    files.sort();
    // Another tour may be replacing its screenshots meanwhile: a file gone since the listing is
    // left out (that tour draws the sheet again when it ends).
    let mut thumbs = Vec::new();
    for file in &files {
        if let Some(picture) = read(file)? {
            thumbs.push(shrink(&picture));
        }
    }
    let cell_width = thumbs.iter().map(|t| t.width).max().unwrap_or(1);
    let cell_height = thumbs.iter().map(|t| t.height).max().unwrap_or(1);
    let columns = COLUMNS.min(thumbs.len().max(1));
    let rows = thumbs.len().div_ceil(columns).max(1);
    let width = columns * (cell_width + GAP) + GAP;
    let height = rows * (cell_height + GAP) + GAP;
    let mut sheet = vec![0x44; width * height * 3];
    for (i, thumb) in thumbs.iter().enumerate() {
        let (left, top) = (GAP + (i % columns) * (cell_width + GAP), GAP + (i / columns) * (cell_height + GAP));
        for y in 0..thumb.height {
            let from = y * thumb.width * 3;
            let to = ((top + y) * width + left) * 3;
            sheet[to..to + thumb.width * 3].copy_from_slice(&thumb.rgb[from..from + thumb.width * 3]);
        }
    }
    let mut out = Cursor::new(Vec::new());
    let mut encoder = png::Encoder::new(&mut out, width as u32, height as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(&sheet).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

#[test]
fn a_contact_sheet_holds_each_screenshot_shrunk_in_name_order() {
    let dir = dcert_testkit::TempDir::new("sheet");
    for (name, shade) in [("b.png", 200u8), ("a.png", 10u8)] {
        let mut bytes = Vec::new();
        let mut encoder = png::Encoder::new(&mut bytes, 30, 60);
        encoder.set_color(png::ColorType::Rgba);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&[shade, shade, shade, 255].repeat(30 * 60)).unwrap();
        writer.finish().unwrap();
        std::fs::write(dir.0.join(name), bytes).unwrap();
    }
    std::fs::write(dir.0.join("notes.txt"), "not a picture").unwrap();
    let sheet = draw(&dir.0).unwrap();
    let path = dir.0.join("sheet.out");
    std::fs::write(&path, sheet).unwrap();
    let picture = read(&path).unwrap().unwrap();
    assert_eq!((picture.width, picture.height), (2 * (10 + GAP) + GAP, 20 + 2 * GAP), "two 10×20 cells");
    let at = |x: usize, y: usize| picture.rgb[(y * picture.width + x) * 3];
    assert_eq!(at(GAP, GAP), 10, "a.png comes first");
    assert_eq!(at(GAP + 10 + GAP, GAP), 200, "then b.png");
    assert_eq!(at(0, 0), 0x44, "the background between them");
}
