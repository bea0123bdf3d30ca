//! Fuzz target `value_decode`: arbitrary bytes into `Value::decode` (FORMAT.md section 8).
//! Decoding must give a value or a typed error, never panic or allocate beyond the input; an
//! accepted input must re-encode to exactly itself, decode the same zero-copy, and agree with
//! the flag-only readers. The same checks run under proptest (`decode_then_encode_is_identity`
//! in `crates/strata-delta/tests/it/value_props.rs`, which also compares with bincode).

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use strata_delta::Value;

/// Aborts on any allocation above `strata_fuzz::MAX_ALLOC` (see `fuzz/src/lib.rs`).
#[global_allocator]
static ALLOC: strata_fuzz::CappedAlloc = strata_fuzz::CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let decoded = Value::decode(data);
    let shared = Value::decode_bytes(&Bytes::copy_from_slice(data));
    assert_eq!(decoded.is_ok(), shared.is_ok());
    if let Ok(value) = decoded {
        assert_eq!(value.encode(), data);
        assert_eq!(value.encoded_len(), data.len());
        assert_eq!(shared.ok(), Some(value.clone()));
        assert_eq!(
            Value::will_init_from_bytes(data).ok(),
            Some(value.will_init())
        );
        assert_eq!(
            Value::kind_name_from_bytes(data).ok(),
            Some(value.kind_name())
        );
    }
});
