//! Fuzz target `blob_read`: arbitrary bytes as a layer file, an arbitrary blob offset and limit,
//! in every header mode. Reading must give a payload or a typed error, never panic or allocate
//! more than the file holds (plus a 1 MiB decompression cap); the block-by-block reader, the
//! run reader and the slice decoder must agree (`strata_blob::fuzz::blob_read` asserts that).
//! The same function runs under proptest in `crates/strata-blob/tests/fuzz_blob_read.rs`.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use strata_blob::{Error, HeaderMode, PAGE_SIZE, fuzz};

#[derive(Arbitrary, Debug)]
struct Input {
    /// Offset of the blob: small values land in the file, so most of them are near it.
    offset: u32,
    /// Distance from the offset to the limit, or `None` for no limit.
    limit_gap: Option<u32>,
    mode: u8,
    file: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let mode = match input.mode % 3 {
        0 => HeaderMode::Auto,
        1 => HeaderMode::Seed,
        _ => HeaderMode::Compressed,
    };
    let offset = u64::from(input.offset);
    let limit = input
        .limit_gap
        .map_or(u64::MAX, |gap| offset.saturating_add(u64::from(gap)));
    let whole = (input.file.len() / PAGE_SIZE * PAGE_SIZE) as u64;
    match fuzz::blob_read(&input.file, offset, limit, mode) {
        Ok((span, payload)) => {
            assert!(span.offset == offset && span.end() <= limit.min(whole));
            assert!(payload.len() as u64 <= fuzz::FUZZ_MAX_DECOMPRESSED_LEN.max(whole));
        }
        Err(e) => assert!(matches!(e, Error::Corrupt(_)), "untyped error: {e:?}"),
    }
});
