//! strata-cache's integration tests: hits, misses, eviction, pinned pages, failed fills,
//! concurrency, lent pages.
//!
//! One test binary for the crate (each file below is a module), so `cargo test` links it once.

mod cache;
mod lend;
