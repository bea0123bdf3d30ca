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

/// The layer's answer to query `q`: its LSN range, the result and the state.
async fn answer<R: strata_blob::BlockReader>(
    layer: &strata_delta::DeltaLayer<R>,
    q: &strata_testkit::Query,
) -> (
    strata_key::LsnRange,
    strata_delta::ValueReconstructResult,
    strata_delta::ValueReconstructState,
) {
    let range = strata_key::LsnRange::new(q.lsn_start, q.lsn_end);
    let mut state = strata_delta::ValueReconstructState::default();
    let result = layer
        .get_value_reconstruct_data(q.key, range, &mut state)
        .await
        .expect("a golden query is answered");
    (range, result, state)
}

/// Notes the largest single allocation, for the corruption sweep's bound.
#[global_allocator]
static ALLOC: strata_testkit::PeakAlloc = strata_testkit::PeakAlloc;
