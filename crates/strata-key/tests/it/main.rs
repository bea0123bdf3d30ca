//! strata-key's integration tests: keys, LSNs, ids, layer and temp names, serde, golden names.
//!
//! One test binary for the crate (each file below is a module), so `cargo test` links it once.

mod golden;
mod key;
mod lsn_id;
mod name_props;
mod names;
mod props;
mod serde;
mod temp_names;
