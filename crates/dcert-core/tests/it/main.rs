//! Integration tests of dcert-core: one binary, one module per concern.

mod vectors;
