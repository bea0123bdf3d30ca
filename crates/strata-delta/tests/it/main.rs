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
mod open_runtime;
mod robustness;
mod roundtrip;
mod scan_ahead;
mod shared;
mod stream;
mod sweep;
mod value_props;
mod verify;
mod writer;
mod writer_props;

/// Notes the largest single allocation, for the corruption sweep's bound.
#[global_allocator]
static ALLOC: strata_testkit::PeakAlloc = strata_testkit::PeakAlloc;
