//! strata-delta's integration tests: golden reads and writes, models, verify, crafted and swept damage, faults.
//!
//! One test binary for the crate (each file below is a module), so `cargo test` links it once.

mod cache_slots;
mod crafted;
mod faults;
mod faults_write;
mod golden_read;
mod golden_write;
mod kept_values;
mod robustness;
mod roundtrip;
mod sweep;
mod value_props;
mod verify;
mod writer;
mod writer_props;
