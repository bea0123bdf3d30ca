//! strata-btree's integration tests: the model test against `BTreeMap`, golden index bytes, corruption.
//!
//! One test binary for the crate (each file below is a module), so `cargo test` links it once.

mod corrupt;
mod golden;
mod model;
mod one_page;
