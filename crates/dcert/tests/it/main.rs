//! Integration tests of the `dcert` binary: the README walk-through and the CLI's promises.

mod cli;
mod ministry;
mod process;
mod resilience;
mod serve;
