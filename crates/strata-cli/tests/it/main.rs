//! The `strata` binary's integration tests: golden contracts, CLI contracts, names, the crash test.
//!
//! One test binary for the crate (each file below is a module), so `cargo test` links it once.

mod cli;
mod crash;
mod golden;
mod image;
mod ingest;
mod name;
mod strata;
mod timeline;
mod wal;
