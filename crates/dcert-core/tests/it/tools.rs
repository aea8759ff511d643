//! Standard tools read our files: Poppler's pdfsig validates the PAdES signature against the
//! Ministry root, and zbarimg decodes the QR code from a rendering, whose seal then verifies.

use std::path::Path;
use std::process::{Command, Output};

use dcert_core::Language;
use dcert_core::seal;
use dcert_testkit::TempDir;
use image::ImageEncoder as _;

use crate::support::*;

/// The Debian package that provides `program`.
fn package(program: &str) -> &'static str {
    match program {
        "pdfsig" | "pdftoppm" | "pdftotext" => "poppler-utils",
        "certutil" => "libnss3-tools",
        "zbarimg" => "zbar-tools",
        _ => panic!("no Debian package is known for {program}"),
    }
}

/// Runs `program`, which must be installed: a missing tool fails the test, never skips it.
fn run(program: &str, args: &[&str], dir: &Path) -> Output {
    Command::new(program).args(args).current_dir(dir).output().unwrap_or_else(|e| {
        panic!("{program} is needed for this test (Debian package {}; scripts/test installs it): {e}", package(program))
    })
}

#[test]
fn pdfsig_reports_a_valid_signature_from_a_trusted_certificate() {
    let (w, file) = sample_zh();
    let tmp = TempDir::new("pdfsig");
    std::fs::write(tmp.0.join("cert.pdf"), &file.bytes).unwrap();
    std::fs::write(tmp.0.join("root.pem"), w.root.cert.to_pem()).unwrap();
    std::fs::create_dir(tmp.0.join("nss")).unwrap();
    let out = run("certutil", &["-N", "-d", "sql:nss", "--empty-password"], &tmp.0);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run("certutil", &["-A", "-d", "sql:nss", "-n", "dcert-root", "-t", "CT,C,C", "-i", "root.pem"], &tmp.0);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = run("pdfsig", &["-nssdir", "sql:nss", "cert.pdf"], &tmp.0);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("Signature is Valid"), "{report}");
    assert!(report.contains("Certificate is Trusted"), "{report}");
    assert!(report.contains("Total document signed"), "{report}");
    assert!(report.contains("ETSI.CAdES.detached"), "{report}");

    // Without the root, the signature is intact but the certificate is not trusted.
    let out = run("pdfsig", &["cert.pdf"], &tmp.0);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("Signature is Valid") && !report.contains("Certificate is Trusted"), "{report}");

    // One changed byte: pdfsig sees it too.
    let mut changed = file.bytes.clone();
    let at = changed.len() / 3;
    changed[at] ^= 0x20;
    std::fs::write(tmp.0.join("changed.pdf"), &changed).unwrap();
    let out = run("pdfsig", &["-nssdir", "sql:nss", "changed.pdf"], &tmp.0);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(!report.contains("Signature is Valid"), "{report}");
}

#[test]
fn the_qr_code_scans_from_a_rendering_and_its_seal_verifies() {
    let (w, _) = sample_zh();
    let tmp = TempDir::new("qr");
    for language in [Language::Zh, Language::En] {
        let file = issue_with(&w.nkust.kit, &certificate(language), issued_at());
        std::fs::write(tmp.0.join("cert.pdf"), &file.bytes).unwrap();
        let out = run("pdftoppm", &["-r", "200", "-gray", "-png", "cert.pdf", "page"], &tmp.0);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let out = run("zbarimg", &["-q", "--raw", "page-1.png"], &tmp.0);
        assert!(out.status.success(), "zbarimg found no code: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let text = text.trim_end();
        assert!(text.starts_with("HTTPS://REGISTRY.TEST/S/"), "{text}");
        let alphanumeric = |c: char| c.is_ascii_digit() || c.is_ascii_uppercase() || " $%*+-./:".contains(c);
        assert!(text.chars().all(alphanumeric) && !text.contains(['%', ' ']), "{text}");
        let seal_text = seal::seal_from_qr_text(text).unwrap();
        assert_eq!(seal_text, file.seal);
        let verified = seal::verify(&seal_text, &w.trust).unwrap();
        assert_eq!(
            verified.issuer_name_en, "National Kaohsiung University of Science and Technology",
            "the name comes from the trust list"
        );
        assert_eq!(verified.data.name_zh, "王𪚥");
        assert_eq!(verified.data.number, "NKUST-1132-000123");
        assert_eq!(verified.data.language, language);
        assert_eq!(verified.data.issuer_id, "nkust");
    }
}

#[test]
fn a_seal_with_a_changed_character_does_not_verify() {
    let (w, file) = sample_zh();
    assert!(seal::verify(&file.seal, &w.trust).is_ok());
    let mut chars: Vec<char> = file.seal.chars().collect();
    let at = chars.len() - 20;
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    let changed: String = chars.into_iter().collect();
    assert!(seal::verify(&changed, &w.trust).is_err());
    assert!(seal::verify("DC1:", &w.trust).is_err());
    assert!(seal::verify("HC1:6BF", &w.trust).is_err());
}

#[test]
fn a_seal_that_names_another_institution_or_a_time_outside_the_key_fails() {
    use dcert_core::seal::{SealData, SealError};
    let (w, _) = sample_zh();
    let cert = certificate(Language::Zh);
    let forged = seal::sign(&SealData::of(&cert, "other-school", issued_at()), &w.nkust.kit.credential_key);
    assert!(matches!(seal::verify(&forged, &w.trust), Err(SealError::IssuerMismatch { .. })));
    let late = seal::sign(&SealData::of(&cert, "nkust", ts("2031-01-01T00:00:00Z")), &w.nkust.kit.credential_key);
    assert!(matches!(seal::verify(&late, &w.trust), Err(SealError::KeyNotValid(_))));
    let stranger = dcert_core::keys::CredentialKey::from_seed(&[99; 32]);
    let unknown = seal::sign(&SealData::of(&cert, "nkust", issued_at()), &stranger);
    assert!(matches!(seal::verify(&unknown, &w.trust), Err(SealError::UnknownKey)));
}

#[test]
fn the_page_text_extracts_with_the_rare_character_and_the_minguo_date() {
    let (_, file) = sample_zh();
    let tmp = TempDir::new("text");
    std::fs::write(tmp.0.join("cert.pdf"), &file.bytes).unwrap();
    let out = run("pdftotext", &["-layout", "cert.pdf", "-"], &tmp.0);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for expected in [
        "學生",
        "王𪚥",
        "中華民國九十一年三月十四日生",
        "電子工程系",
        "工學學士",
        "國立高雄科技大學",
        "NKUST-1132-000123",
    ] {
        assert!(text.contains(expected), "{expected:?} is not in the page text:\n{text}");
    }
}

#[test]
fn the_compact_qr_code_needs_fewer_modules_than_the_address_with_a_fragment_and_both_read() {
    use qrcode::{EcLevel, QrCode, Version};
    let (_, file) = sample_zh();
    let registry = "https://dcert.moe.gov.tw";
    let earlier =
        format!("{registry}/v/nkust/NKUST-1132-000123/zh/1#{}", file.seal.replace('%', "%25").replace(' ', "%20"));
    let compact = seal::qr_text(registry, &file.seal);
    let modules = |text: &str, level| match QrCode::with_error_correction_level(text, level).unwrap().version() {
        Version::Normal(v) => 17 + 4 * v,
        Version::Micro(_) => unreachable!("a long text"),
    };
    let (before, after) = (modules(&earlier, EcLevel::M), modules(&compact, dcert_core::pdf::QR_EC_LEVEL));
    eprintln!(
        "{} characters, {before} modules at M -> {} characters, {after} modules at the printed level; at M {}",
        earlier.len(),
        compact.len(),
        modules(&compact, EcLevel::M)
    );
    assert!(after < before, "{after} modules, {before} before");
    assert_eq!(seal::seal_from_qr_text(&compact).as_deref(), Some(file.seal.as_str()));
    assert_eq!(seal::seal_from_qr_text(&earlier).as_deref(), Some(file.seal.as_str()), "earlier codes still read");
    // A compact code whose encoding happens to hold the earlier form's prefix is still read whole.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let holding_prefix = std::iter::repeat_with(|| {
        let bytes: Vec<u8> = (0..40)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        bytes
    })
    .find(|bytes| dcert_core::base45::encode_url(bytes).contains(seal::PREFIX))
    .unwrap();
    let text = format!("HTTPS://DCERT.MOE.GOV.TW/S/{}", dcert_core::base45::encode_url(&holding_prefix));
    let expected = format!("{}{}", seal::PREFIX, dcert_core::base45::encode(&holding_prefix));
    assert_eq!(seal::seal_from_qr_text(&text), Some(expected), "{text}");
}

/// `page` as a phone's photo of the printed page comes out of a chat app: turned `degrees`,
/// blurred by a Gaussian of `sigma` pixels, scaled to `side` pixels on its long side and
/// compressed as JPEG of `quality`.
fn photo_of(page: &image::GrayImage, degrees: f32, sigma: f32, side: u32, quality: u8) -> Vec<u8> {
    let (w, h) = page.dimensions();
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    // Each pixel of the turned picture, from the page's pixels around where it came from.
    let turned = image::GrayImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        let (sx, sy) = (cos * dx + sin * dy + cx, -sin * dx + cos * dy + cy);
        let (x0, y0) = (sx.floor(), sy.floor());
        let (fx, fy) = (sx - x0, sy - y0);
        let at = |x: f32, y: f32| {
            if x < 0.0 || y < 0.0 || x >= w as f32 || y >= h as f32 {
                255.0
            } else {
                f32::from(page.get_pixel(x as u32, y as u32)[0])
            }
        };
        let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1.0, y0) * fx;
        let bottom = at(x0, y0 + 1.0) * (1.0 - fx) + at(x0 + 1.0, y0 + 1.0) * fx;
        image::Luma([(top * (1.0 - fy) + bottom * fy).round() as u8])
    });
    let blurred = if sigma > 0.0 { image::imageops::blur(&turned, sigma) } else { turned };
    let scale = side as f32 / w.max(h) as f32;
    let (sw, sh) = ((w as f32 * scale) as u32, (h as f32 * scale) as u32);
    let small = image::imageops::resize(&blurred, sw, sh, image::imageops::FilterType::Triangle);
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, quality).encode_image(&small).unwrap();
    jpeg
}

/// A QR code of `text` as a picture: `module` pixels a module, a quiet zone of four.
pub fn qr_picture(text: &str, module: u32) -> image::GrayImage {
    let code = qrcode::QrCode::with_error_correction_level(text, dcert_core::pdf::QR_EC_LEVEL).unwrap();
    let (n, colors) = (code.width() as u32, code.to_colors());
    let side = (n + 8) * module;
    image::GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = ((x / module).wrapping_sub(4), (y / module).wrapping_sub(4));
        let dark = mx < n && my < n && colors[(my * n + mx) as usize] == qrcode::Color::Dark;
        image::Luma([if dark { 0 } else { 255 }])
    })
}

#[test]
fn the_qr_code_is_read_from_blurred_turned_scaled_down_and_compressed_photos_in_rust_and_by_zbar() {
    let (w, file) = sample_zh();
    let tmp = TempDir::new("photo");
    std::fs::write(tmp.0.join("cert.pdf"), &file.bytes).unwrap();
    let out = run("pdftoppm", &["-r", "150", "-gray", "-png", "cert.pdf", "page"], &tmp.0);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(tmp.0.join("page-1.png")).unwrap();
    let page = image::load_from_memory(&png).unwrap().into_luma8();
    let read_by_zbar = |name: &str| {
        let out = run("zbarimg", &["-q", "--raw", name], &tmp.0);
        seal::seal_from_qr_text(String::from_utf8_lossy(&out.stdout).trim_end())
    };
    let read_in_rust = |jpeg: &[u8]| {
        let texts = dcert_core::photo::read_qr_codes(jpeg, || true).unwrap();
        texts.first().and_then(|t| seal::seal_from_qr_text(t))
    };
    // The whole page photographed (the rendering: 150 dpi), then as chat apps send it: 1,280 or
    // 1,600 pixels on the long side, JPEG of quality 60 to 80, turned and softened.
    for (degrees, sigma, side, quality, zbar_too) in [
        (0.0, 0.0, 1754, 90, true),
        (3.0, 1.0, 1600, 80, true),
        (-4.0, 1.2, 1600, 70, true),
        (2.0, 0.8, 1280, 75, true),
        (-2.5, 1.0, 1280, 60, true),
        // Softer still: zbar gives up; the site's reader does not.
        (5.0, 1.5, 1600, 60, false),
    ] {
        let jpeg = photo_of(&page, degrees, sigma, side, quality);
        let name = format!("photo-{degrees}-{sigma}-{side}-{quality}.jpg");
        std::fs::write(tmp.0.join(&name), &jpeg).unwrap();
        assert_eq!(read_in_rust(&jpeg).as_deref(), Some(file.seal.as_str()), "read in Rust: {name}");
        if zbar_too {
            assert_eq!(read_by_zbar(&name).as_deref(), Some(file.seal.as_str()), "read by zbar: {name}");
        }
    }
    let verified = seal::verify(&file.seal, &w.trust).unwrap();
    assert_eq!(verified.data.number, "NKUST-1132-000123");

    // A seal whose data was altered (one byte of the sealed record), printed and photographed
    // the same way: it reads, and it does not verify.
    let mut bytes = dcert_core::base45::decode(&file.seal[seal::PREFIX.len()..]).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    let altered = seal::qr_text(REGISTRY, &format!("{}{}", seal::PREFIX, dcert_core::base45::encode(&bytes)));
    let picture = qr_picture(&altered, 6);
    let jpeg = photo_of(&picture, 3.0, 1.0, 900, 70);
    std::fs::write(tmp.0.join("altered.jpg"), &jpeg).unwrap();
    for read in [read_in_rust(&jpeg), read_by_zbar("altered.jpg")] {
        let read = read.expect("the altered code reads");
        assert_ne!(read, file.seal);
        assert!(seal::verify(&read, &w.trust).is_err(), "an altered seal does not verify");
    }
    // Out of time before the search: nothing read, the caller's budget kept.
    assert_eq!(dcert_core::photo::read_qr_codes(&photo_of(&page, 0.0, 0.0, 1754, 90), || false), Ok(Vec::new()));
    // Not a picture, or too large a one: said so, nothing read.
    assert_eq!(dcert_core::photo::read_qr_codes(b"%PDF-1.7", || true), Err(dcert_core::photo::PhotoError::Unreadable));
    let mut huge = Vec::new();
    image::codecs::png::PngEncoder::new(&mut huge)
        .write_image(&[255; 20_001], 20_001, 1, image::ExtendedColorType::L8)
        .unwrap();
    assert_eq!(dcert_core::photo::read_qr_codes(&huge, || true), Err(dcert_core::photo::PhotoError::TooLarge));
}
