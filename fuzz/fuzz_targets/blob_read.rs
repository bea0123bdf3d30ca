//! Fuzz target `blob_read`: arbitrary bytes as a layer file, an arbitrary blob offset and limit,
//! in every header mode. Reading must give a payload or a typed error, never panic or allocate
//! more than the file holds (plus a 1 MiB decompression cap); the block-by-block reader, the
//! run reader and the slice decoder must agree (`strata_blob::testing::fuzz::blob_read` asserts that).
//! The same function runs under proptest in `crates/strata-blob/tests/it/fuzz_blob_read.rs`.
//!
//! Input layout: a fixed [`HEADER_LEN`]-byte [`Header`], then the file's bytes as they are.
//! The file is not an `arbitrary` `Vec<u8>`: that spends a continuation byte per element, so
//! the fuzzer would need 16 KiB of exact input for one 8 KiB block and never reaches the blob
//! decoder. `cargo xtask fuzz` seeds the corpus with golden layers behind such a header.

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use strata_blob::testing::fuzz;
use strata_blob::{Error, HeaderMode, PAGE_SIZE};

/// Aborts on any allocation above `strata_fuzz::MAX_ALLOC` (see `fuzz/src/lib.rs`).
#[global_allocator]
static ALLOC: strata_fuzz::CappedAlloc = strata_fuzz::CappedAlloc;

/// Bytes [`Header`] takes from the front of the input (all fields are fixed-size).
const HEADER_LEN: usize = 10;

#[derive(Arbitrary, Debug)]
struct Header {
    /// Offset of the blob (little-endian): small values land in the file.
    offset: u32,
    /// Distance from the offset to the limit, when `limited`.
    limit_gap: u32,
    limited: bool,
    mode: u8,
}

fuzz_target!(|data: &[u8]| {
    let (head, file) = data.split_at(data.len().min(HEADER_LEN));
    let Ok(input) = Header::arbitrary(&mut Unstructured::new(head)) else {
        return;
    };
    let mode = match input.mode % 3 {
        0 => HeaderMode::Auto,
        1 => HeaderMode::Seed,
        _ => HeaderMode::Compressed,
    };
    let offset = u64::from(input.offset);
    let limit = if input.limited {
        offset.saturating_add(u64::from(input.limit_gap))
    } else {
        u64::MAX
    };
    let whole = (file.len() / PAGE_SIZE * PAGE_SIZE) as u64;
    match fuzz::blob_read(file, offset, limit, mode) {
        Ok((span, payload)) => {
            assert!(span.offset == offset && span.end() <= limit.min(whole));
            assert!(payload.len() as u64 <= fuzz::FUZZ_MAX_DECOMPRESSED_LEN.max(whole));
        }
        Err(e) => assert!(matches!(e, Error::Corrupt(_)), "untyped error: {e:?}"),
    }
});
