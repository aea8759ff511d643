//! The certificate file: a PDF/A-3 page rendered from a template, the credential attached as
//! `credential.json`, a QR seal on the page, and a PAdES signature over the whole file.

pub mod cms;
pub mod fonts;
pub mod hostile;
pub mod lazy;
pub mod pades;
pub mod read;
pub mod render;
pub mod template;

pub use fonts::{Face, FontBook};
pub use pades::PdfSigner;
pub use read::Limits;
pub use render::QR_EC_LEVEL;
pub use template::Template;
