//! The fuzz target `blob_read`'s logic ([`strata_blob::testing::fuzz::blob_read`]) under proptest:
//! arbitrary and mutated files, offsets and limits give a payload or a typed error, never a
//! panic, and the block, run and slice readers agree (the helper asserts that).

use proptest::prelude::*;
use strata_blob::testing::fuzz;
use strata_blob::{BlobWriter, BlobWriterOptions, Error, HeaderMode, PAGE_SIZE};

fn modes() -> impl Strategy<Value = HeaderMode> {
    prop::sample::select(vec![
        HeaderMode::Auto,
        HeaderMode::Seed,
        HeaderMode::Compressed,
    ])
}

/// A file of valid blobs (some zstd-compressed) to mutate.
fn valid_file(lens: &[usize], compress: bool) -> (Vec<u8>, Vec<u64>) {
    let opts = BlobWriterOptions {
        #[cfg(feature = "zstd")]
        zstd_level: compress.then_some(1),
        ..Default::default()
    };
    let _ = compress;
    let mut w = BlobWriter::with_options(Vec::new(), PAGE_SIZE as u64, opts);
    let offsets = lens
        .iter()
        .map(|&l| w.write_blob(&vec![(l % 251) as u8; l]).unwrap())
        .collect();
    let mut bytes = w.into_inner().unwrap();
    bytes.resize(bytes.len().next_multiple_of(PAGE_SIZE), 0);
    (bytes, offsets)
}

fn check(result: Result<(strata_blob::BlobSpan, Vec<u8>), Error>, limit: u64, file_len: usize) {
    match result {
        Ok((span, payload)) => {
            assert!(span.end() <= limit.min(file_len as u64));
            assert!(payload.len() as u64 <= fuzz::FUZZ_MAX_DECOMPRESSED_LEN);
        }
        Err(e) => assert!(
            matches!(e, Error::Corrupt(_) | Error::OutOfRange { .. }),
            "{e:?}"
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(
        file in prop::collection::vec(any::<u8>(), 0..3 * PAGE_SIZE + 100),
        offset in prop_oneof![0u64..4 * PAGE_SIZE as u64, any::<u64>()],
        limit in prop_oneof![0u64..4 * PAGE_SIZE as u64, Just(u64::MAX), any::<u64>()],
        mode in modes(),
    ) {
        let whole = file.len() / PAGE_SIZE * PAGE_SIZE;
        check(fuzz::blob_read(&file, offset, limit, mode), limit, whole);
    }

    #[test]
    fn mutated_valid_files(
        lens in prop::collection::vec(prop_oneof![0usize..300, 8000usize..20_000], 1..6),
        compress in any::<bool>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        pick in any::<prop::sample::Index>(),
        limit_cut in 0u64..40,
        mode in modes(),
    ) {
        let (mut bytes, offsets) = valid_file(&lens, compress);
        let area = PAGE_SIZE..bytes.len();
        for (idx, val) in &flips {
            let at = area.start + idx.index(area.len());
            bytes[at] = *val;
        }
        let offset = offsets[pick.index(offsets.len())];
        let limit = (bytes.len() as u64).saturating_sub(limit_cut);
        let len = bytes.len();
        let result = fuzz::blob_read(&bytes, offset, limit, mode);
        if flips.is_empty() && limit_cut == 0 && !(compress && mode == HeaderMode::Seed) {
            // Unmutated and unlimited: the blob reads back.
            let idx = offsets.iter().position(|&o| o == offset).unwrap();
            let (_, payload) = result.unwrap();
            prop_assert_eq!(payload, vec![(lens[idx] % 251) as u8; lens[idx]]);
        } else {
            check(result, limit, len);
        }
    }
}
