#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod base45;
pub mod bundle;
pub mod calendar;
pub mod cbor;
pub mod credential;
pub mod di;
pub mod digest;
pub mod issue;
pub mod jcs;
pub mod json;
pub mod keys;
pub mod model;
pub mod onboarding;
pub mod pdf;
pub mod photo;
pub mod receipt;
pub mod records;
pub mod roster;
pub mod seal;
pub mod status;
pub mod time;
pub mod tlog;
pub mod trust;
pub mod verify;
pub mod x509;

pub use digest::Sha256Digest;
pub use model::{Certificate, CredentialType, DegreeLevel, Language, Subject};
pub use time::{Date, Timestamp};
