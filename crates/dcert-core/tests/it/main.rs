//! Integration tests of dcert-core: one binary, one module per concern.

mod pdf;
mod support;
mod vectors;
mod verify;
