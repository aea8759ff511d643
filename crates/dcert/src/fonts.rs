//! Finds the fonts that certificates are rendered with, without any manual step: the fonts
//! bundled in the project's `fonts/` directory, or Debian's packages, or a directory named by
//! `DCERT_FONT_DIR`. A missing font is an error that lists every place looked at.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Result, bail};
use dcert_core::pdf::{Face, FontBook};

/// The environment variable naming a directory of fonts, looked at first.
pub const FONT_DIR_VAR: &str = "DCERT_FONT_DIR";

/// A font the renderer needs, and where it may be.
struct Wanted {
    role: &'static str,
    /// File names in a font directory.
    names: &'static [&'static str],
    /// System paths with the face index inside the file.
    system: &'static [(&'static str, u32)],
    /// The Debian package that provides it.
    package: &'static str,
}

const PRIMARY: Wanted = Wanted {
    role: "the text font (Noto Serif CJK TC)",
    names: &["NotoSerifTC-Regular.otf"],
    system: &[("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 3)],
    package: "fonts-noto-cjk",
};

const FALLBACK: Wanted = Wanted {
    role: "the fallback font for rare characters (HanaMinB, CJK Extension B and beyond)",
    names: &["HanaMinB.ttf"],
    system: &[("/usr/share/fonts/truetype/hanazono/HanaMinB.ttf", 0)],
    package: "fonts-hanazono",
};

/// The directories searched for bundled fonts, in order.
pub fn font_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os(FONT_DIR_VAR) {
        dirs.push(PathBuf::from(dir));
    }
    if let Ok(exe) = std::env::current_exe()
        && let Some(bin) = exe.parent()
    {
        dirs.push(bin.join("fonts"));
        dirs.push(bin.join("../share/dcert/fonts"));
        // target/{debug,release}/dcert inside a checkout.
        dirs.push(bin.join("../../fonts"));
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fonts"));
    dirs
}

/// Where one font was found.
pub struct Found {
    pub role: &'static str,
    pub path: PathBuf,
    pub index: u32,
}

fn locate(wanted: &Wanted) -> Result<Found> {
    let mut looked = Vec::new();
    for dir in font_dirs() {
        for name in wanted.names {
            let path = dir.join(name);
            if path.is_file() {
                return Ok(Found { role: wanted.role, path, index: 0 });
            }
            looked.push(path.display().to_string());
        }
    }
    for (path, index) in wanted.system {
        let path = PathBuf::from(path);
        if path.is_file() {
            return Ok(Found { role: wanted.role, path, index: *index });
        }
        looked.push(path.display().to_string());
    }
    bail!(
        "{} was not found. Looked at:\n  {}\nInstall Debian's {} package, or put {} in a directory named by {FONT_DIR_VAR}.",
        wanted.role,
        looked.join("\n  "),
        wanted.package,
        wanted.names.join(" or ")
    )
}

/// Where each font is, or an error naming what is missing.
pub fn locate_all() -> Result<Vec<Found>> {
    Ok(vec![locate(&PRIMARY)?, locate(&FALLBACK)?])
}

/// Loads the font book: `serif` for templates, and the fallback chain.
pub fn load() -> Result<FontBook> {
    let found = locate_all()?;
    let mut book = FontBook::new();
    for (i, f) in found.iter().enumerate() {
        let data = std::fs::read(&f.path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", f.path.display()))?;
        let name = f.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let face = Face::new(&name, Arc::new(data), f.index)?;
        if i == 0 {
            book.add_family("serif", face);
        } else {
            book.add_fallback(face);
        }
    }
    Ok(book)
}
