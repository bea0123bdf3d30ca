//! strata-ingest's integration tests: a real PostgreSQL 15 run imported and ingested once
//! ([`fixture`]), then checked against PostgreSQL's own files and pg_waldump ([`oracle`]),
//! and the resume and error paths ([`resume`]).
//!
//! One test binary for the crate (each file below is a module), so `cargo test` links it once.

mod fixture;
mod oracle;
mod resume;
