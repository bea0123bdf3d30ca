//! Robustness of every read path (`testing::open_scan`, the fuzz target's logic) on arbitrary
//! and damaged bytes: random files, golden files with random byte edits, and a small sample of
//! truncated and bit-flipped golden files. Each run must end with results or corruption
//! errors: no panic, no hang, no self-contradiction (a file `verify` finds clean reads
//! without errors).

use proptest::prelude::*;
use strata_blob::PAGE_SIZE;
use strata_delta::testing::open_scan;
use strata_testkit::layer_bytes;

const SMALL_CASES: [&str; 4] = ["tiny", "walonly", "walvariants", "extremes"];

#[test]
fn golden_files_read_clean() {
    for case in SMALL_CASES {
        let report = open_scan(&layer_bytes(case)).unwrap();
        assert!(
            report.opened && report.findings.is_empty(),
            "{case}: {report:?}"
        );
        assert_eq!(report.n_errors, 0, "{case}");
        assert!(report.n_entries > 0);
    }
}

/// Truncations at block boundaries and inside blocks.
#[test]
fn truncated_golden_files() {
    for case in SMALL_CASES {
        let bytes = layer_bytes(case);
        for cut in [
            0,
            1,
            95,
            96,
            8191,
            8192,
            8193,
            16384,
            20000,
            bytes.len() - 8192,
            bytes.len() - 1,
        ] {
            let report = open_scan(&bytes[..cut.min(bytes.len())])
                .unwrap_or_else(|m| panic!("{case} cut at {cut}: {m}"));
            assert!(
                !report.findings.is_empty(),
                "{case} cut at {cut} verified clean"
            );
        }
    }
}

/// Single bit flips at a sample of positions: the summary, the value area, every node header.
#[test]
fn bit_flipped_golden_files() {
    for case in SMALL_CASES {
        let bytes = layer_bytes(case);
        let n_blocks = bytes.len() / PAGE_SIZE;
        let mut positions: Vec<usize> = (0..96).collect();
        positions.extend((PAGE_SIZE..bytes.len()).step_by(61));
        for blk in 2..n_blocks {
            positions.extend(blk * PAGE_SIZE..blk * PAGE_SIZE + 40);
        }
        for (i, pos) in positions.into_iter().enumerate() {
            let mut damaged = bytes.clone();
            damaged[pos] ^= 1 << (i % 8);
            open_scan(&damaged).unwrap_or_else(|m| panic!("{case} bit {i} at {pos}: {m}"));
        }
    }
}

/// A golden file with `edits` random byte overwrites, optionally truncated.
fn damaged() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(&SMALL_CASES[..]),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        prop::option::weighted(0.2, any::<prop::sample::Index>()),
    )
        .prop_map(|(case, edits, cut)| {
            let mut bytes = layer_bytes(case);
            for (at, byte) in edits {
                let pos = at.index(bytes.len());
                bytes[pos] = byte;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len()));
            }
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..4 * PAGE_SIZE)) {
        open_scan(&bytes).map_err(|m| TestCaseError::fail(m.0))?;
    }

    /// Random bytes behind a valid summary, so the reader gets past the open checks.
    #[test]
    fn arbitrary_body(
        body in prop::collection::vec(any::<u8>(), 2 * PAGE_SIZE..5 * PAGE_SIZE),
        root in 0u32..3,
    ) {
        let tiny = layer_bytes("tiny");
        let mut summary = strata_delta::Summary::decode(&tiny).unwrap();
        summary.index_root_blk = root;
        let mut bytes = vec![0u8; PAGE_SIZE];
        bytes[..96].copy_from_slice(&summary.encode());
        bytes.extend(body);
        open_scan(&bytes).map_err(|m| TestCaseError::fail(m.0))?;
    }

    #[test]
    fn damaged_golden_files(bytes in damaged()) {
        open_scan(&bytes).map_err(|m| TestCaseError::fail(m.0))?;
    }
}
