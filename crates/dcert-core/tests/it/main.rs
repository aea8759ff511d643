//! Integration tests of dcert-core: one binary, one module per concern.

mod architecture;
mod bundle;
mod cms_encodings;
mod pdf;
mod receipt;
mod robustness;
mod roundtrip;
mod status;
mod support;
mod tamper;
mod tlog;
mod tools;
mod trust;
mod vectors;
mod verify;
