//! Test support, not API: hidden from the docs (`#[doc(hidden)]`), with no stability promise;
//! it may change or go in any release.
//!
//! The entry point of the `delta_open_scan` fuzz target (`fuzz/fuzz_targets/`), kept here so
//! that `cargo test` runs the same logic (property tests and a sweep over damaged golden files
//! in `tests/it/robustness.rs`).
//!
//! [`open_scan`] takes arbitrary bytes as a whole layer file and runs every read path over
//! them: strict verification, open, a full scan with values, point and vectored lookups (from
//! blocks lent as one run of memory, as a page cache lends its pages), the dump and the
//! manifest. Bad bytes must give [`Error::Corrupt`] (never
//! a panic, a hang, or an allocation beyond the input's size); the function reports a
//! [`Mismatch`] only when the reader contradicts itself, which is the bug the fuzzer looks
//! for:
//! * an error that is not `Corrupt` (in-memory reads have no I/O errors);
//! * a file that does not open, or fails a read, although `verify` found nothing wrong;
//! * on such a clean file, a vectored lookup that differs from the per-key lookups.

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use strata_blob::testing::lending::lending_reader;
use strata_key::{Key, KeyRange, Lsn, LsnRange};

use crate::error::Error;
use crate::layer::{DeltaLayer, OpenOptions};
use crate::reconstruct::ValueReconstructState;
use crate::text::{dump, write_manifest};
use crate::vectored::VectoredReconstructState;
use crate::verify::verify_reader;
use strata_layer::testing::{check_read, fuzz_open_options, run_once};

/// Most keys [`open_scan`] looks up.
const MAX_PROBED_KEYS: usize = 8;

pub use strata_layer::testing::{Mismatch, OpenScanReport, poll_ready};

/// Runs every read path over `data` as a whole layer file; see the module docs.
pub fn open_scan(data: &[u8]) -> Result<OpenScanReport, Mismatch> {
    run_once(open_scan_async(data))
}

fn mismatch<T>(what: impl Into<String>) -> Result<T, Mismatch> {
    Err(Mismatch(what.into()))
}

fn check<T>(
    res: Result<T, Error>,
    what: &str,
    report: &mut OpenScanReport,
) -> Result<Option<T>, Mismatch> {
    check_read(res, Error::is_corrupt, what, report)
}

async fn open_scan_async(data: &[u8]) -> Result<OpenScanReport, Mismatch> {
    let reader = lending_reader(data);
    let opts: OpenOptions = fuzz_open_options(data.len());
    let findings = match verify_reader(reader.clone(), None, &opts).await {
        Ok(findings) => findings,
        Err(e) => return mismatch(format!("verify failed instead of reporting: {e}")),
    };
    let mut report = OpenScanReport {
        findings,
        ..OpenScanReport::default()
    };
    let clean = report.findings.is_empty();
    let layer = match DeltaLayer::from_reader(reader, opts).await {
        Ok(layer) => layer,
        Err(Error::Corrupt(_)) if !clean => return Ok(report),
        Err(e) => return mismatch(format!("open failed ({e}) but verify found nothing")),
    };
    report.opened = true;

    // Full scan with values; remember a few keys to look up.
    let mut keys: Vec<Key> = Vec::new();
    let mut iter = layer.iter();
    while let Some(entry) = iter.next().await {
        let Some(entry) = check(entry, "scan", &mut report)? else {
            break;
        };
        report.n_entries += 1;
        if keys.last() != Some(&entry.key) && keys.len() < MAX_PROBED_KEYS {
            keys.push(entry.key);
        }
        check(iter.load_value(&entry).await, "scan value", &mut report)?;
    }
    drop(iter);

    // Point lookups: the whole LSN range, and the lower half of it.
    let s = *layer.summary();
    keys.push(s.key_range.start);
    let mid = Lsn(s.lsn_range.start.0 + (s.lsn_range.end.0 - s.lsn_range.start.0) / 2);
    for &key in &keys {
        for range in [s.lsn_range, LsnRange::new(s.lsn_range.start, mid)] {
            let mut state = ValueReconstructState::default();
            let res = layer
                .get_value_reconstruct_data(key, range, &mut state)
                .await;
            check(res, "lookup", &mut report)?;
        }
    }

    // Vectored over the whole key range, compared with point lookups on clean files.
    let mut states = VectoredReconstructState::new();
    let res = layer
        .get_values_reconstruct_data(&[s.key_range], s.lsn_range.end, &mut states)
        .await;
    if check(res, "vectored", &mut report)?.is_some() && clean {
        for &key in &keys {
            let mut state = ValueReconstructState::default();
            let res = layer
                .get_value_reconstruct_data(key, s.lsn_range, &mut state)
                .await;
            let Some(result) = check(res, "lookup", &mut report)? else {
                continue;
            };
            let same = match states.get(&key) {
                Some(got) => got.result == result && got.state == state,
                None => state == ValueReconstructState::default(),
            };
            if !same {
                return mismatch(format!("vectored and point lookups differ for {key}"));
            }
        }
    }
    let small = KeyRange::new(s.key_range.start, s.key_range.start.add(2));
    let res = layer
        .get_values_reconstruct_data(&[small], mid, &mut VectoredReconstructState::new())
        .await;
    check(res, "vectored", &mut report)?;

    check(
        dump(&layer, &mut std::io::sink(), true).await,
        "dump",
        &mut report,
    )?;
    check(
        write_manifest(&layer, &mut std::io::sink()).await,
        "manifest",
        &mut report,
    )?;
    check(layer.verify().await, "layer verify", &mut report)?;

    if clean && report.n_errors > 0 {
        return mismatch(format!(
            "{} reads failed on a file verify found clean",
            report.n_errors
        ));
    }
    Ok(report)
}
