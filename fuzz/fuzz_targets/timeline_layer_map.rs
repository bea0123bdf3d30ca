//! Fuzz target `timeline_layer_map`: arbitrary bytes as a timeline directory listing (one name
//! per line) into the entry classifier and the layer-map construction and searches of
//! `strata-timeline`. The oracle is `strata_timeline::testing::layer_map_names`, which the
//! crate's property tests run too: classification is pure and round-trips layer names, and
//! `search` / `range_search` agree and always make progress.

#![no_main]

use libfuzzer_sys::fuzz_target;

/// Aborts on any allocation above `strata_fuzz::MAX_ALLOC` (see `fuzz/src/lib.rs`).
#[global_allocator]
static ALLOC: strata_fuzz::CappedAlloc = strata_fuzz::CappedAlloc;

fuzz_target!(|data: &[u8]| {
    strata_timeline::testing::layer_map_names(data);
});
