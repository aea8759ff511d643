//! Integration tests of dcert-core: one binary, one module per concern.

mod pdf;
mod robustness;
mod roundtrip;
mod support;
mod tamper;
mod tools;
mod vectors;
mod verify;
