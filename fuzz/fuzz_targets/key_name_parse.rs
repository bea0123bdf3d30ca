//! Fuzz target `key_name_parse`: arbitrary bytes (as UTF-8, or lossily converted) into every text
//! parser of `strata-key`: keys, LSNs, tenant and timeline ids, generations, layer file names and
//! temp names. The oracle is `strata_key::testing::check_bytes`, which the crate's property tests
//! run too: a parser returns a typed error or a value whose text form parses back to itself.

#![no_main]

use libfuzzer_sys::fuzz_target;

/// Aborts on any allocation above `strata_fuzz::MAX_ALLOC` (see `fuzz/src/lib.rs`).
#[global_allocator]
static ALLOC: strata_fuzz::CappedAlloc = strata_fuzz::CappedAlloc;

fuzz_target!(|data: &[u8]| {
    strata_key::testing::check_bytes(data);
});
