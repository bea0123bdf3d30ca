//! strata-blob's integration tests: blob round trips, golden blobs, file table, faults, the fuzz oracle.
//!
//! One test binary for the crate (each file below is a module), so `cargo test` links it once.

mod faults;
mod file_table;
mod fuzz_blob_read;
mod golden;
mod roundtrip;
