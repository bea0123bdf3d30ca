//! Test support, not API: hidden from the docs (`#[doc(hidden)]`), with no stability promise;
//! it may change or go in any release.
//!
//! The entry point of the `image_open_scan` fuzz target (`fuzz/fuzz_targets/`), kept here so
//! that `cargo test` runs the same logic (the corruption sweep and property tests in
//! `tests/it/`).
//!
//! [`open_scan`] takes arbitrary bytes as a whole image layer file and runs every read path
//! over them: strict verification, open, a full scan, point reads and reconstruct lookups,
//! vectored reads, the dump and the manifest. Bad bytes must give [`Error::Corrupt`] (never a
//! panic, a hang, or an allocation beyond the input's size); a [`Mismatch`] means the reader
//! contradicted itself:
//! * an error that is not `Corrupt` (in-memory reads have no I/O errors);
//! * a file that does not open, or fails a read, although `verify` found nothing wrong;
//! * on such a clean file, a point read or a vectored read that differs from the scan.

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use strata_blob::MemBlockReader;
use strata_key::{Key, KeyRange};
use strata_layer::ValueReconstructResult;
pub use strata_layer::testing::{Mismatch, OpenScanReport, poll_ready};
use strata_layer::testing::{check_read, fuzz_open_options, run_once};

use crate::dump::write_manifest;
use crate::error::Error;
use crate::reader::{ImageLayer, OpenOptions};
use crate::verify::verify_reader;

/// Most scanned images [`open_scan`] keeps to compare point reads with.
const MAX_PROBED_KEYS: usize = 8;

/// Runs every read path over `data` as a whole image layer file; see the module docs.
pub fn open_scan(data: &[u8]) -> Result<OpenScanReport, Mismatch> {
    run_once(open_scan_async(data))
}

fn check<T>(
    res: Result<T, Error>,
    what: &str,
    report: &mut OpenScanReport,
) -> Result<Option<T>, Mismatch> {
    check_read(res, Error::is_corrupt, what, report)
}

async fn open_scan_async(data: &[u8]) -> Result<OpenScanReport, Mismatch> {
    let reader = MemBlockReader::from_bytes(data);
    let opts: OpenOptions = fuzz_open_options(data.len());
    let findings = verify_reader(reader.clone(), None, &opts)
        .await
        .map_err(|e| Mismatch(format!("verify failed instead of reporting: {e}")))?;
    let mut report = OpenScanReport {
        findings,
        ..OpenScanReport::default()
    };
    let clean = report.findings.is_empty();
    let layer = match ImageLayer::from_reader(reader, opts).await {
        Ok(layer) => layer,
        Err(Error::Corrupt(_)) if !clean => return Ok(report),
        Err(e) => {
            return Err(Mismatch(format!(
                "open failed ({e}) but verify found nothing"
            )));
        }
    };
    report.opened = true;

    // Full scan; remember a few images to compare with point reads.
    let mut seen: Vec<(Key, Vec<u8>)> = Vec::new();
    let res = layer
        .scan(|entry, image| {
            if seen.len() < MAX_PROBED_KEYS {
                seen.push((entry.key, image.to_vec()));
            }
            true
        })
        .await;
    report.n_entries = check(res, "scan", &mut report)?.unwrap_or(0);

    let s = *layer.summary();
    let mut probes: Vec<Key> = seen.iter().map(|(k, _)| *k).collect();
    probes.extend([s.key_range.start, s.key_range.start.next(), Key::MAX]);
    for &key in &probes {
        let Some(got) = check(layer.get(key).await, "get", &mut report)? else {
            continue;
        };
        let mut img = None;
        let res = layer.get_value_reconstruct_data(key, &mut img).await;
        let Some(result) = check(res, "reconstruct", &mut report)? else {
            continue;
        };
        let expected = seen.iter().find(|(k, _)| *k == key).map(|(_, v)| v);
        let consistent = match (&got, result, &img) {
            (Some(g), ValueReconstructResult::Complete, Some((lsn, i))) => {
                g == i && *lsn == s.lsn && expected.is_none_or(|e| e == g)
            }
            (None, ValueReconstructResult::Missing, None) => expected.is_none(),
            _ => false,
        };
        if clean && !consistent {
            return Err(Mismatch(format!(
                "point reads of {key} disagree with the scan"
            )));
        }
    }

    // Vectored over the whole key range, and over a small one.
    let mut i = 0usize;
    let mut prefix_same = true;
    let res = layer
        .get_vectored_with(&[s.key_range], |entry, image| {
            if let Some((k, v)) = seen.get(i) {
                prefix_same &= *k == entry.key && v.as_slice() == image;
            }
            i += 1;
            true
        })
        .await;
    if let Some(n) = check(res, "vectored", &mut report)? {
        if clean && (n != report.n_entries || !prefix_same) {
            return Err(Mismatch("the vectored read differs from the scan".into()));
        }
    }
    let small = KeyRange::new(s.key_range.start, s.key_range.start.add(2));
    check(layer.get_vectored(&[small]).await, "vectored", &mut report)?;

    let dump = layer.dump(&mut std::io::sink(), true).await;
    check(dump, "dump", &mut report)?;
    let manifest = write_manifest(&layer, &mut std::io::sink()).await;
    check(manifest, "manifest", &mut report)?;
    check(layer.verify().await, "layer verify", &mut report)?;

    if clean && report.n_errors > 0 {
        return Err(Mismatch(format!(
            "{} reads failed on a file verify found clean",
            report.n_errors
        )));
    }
    Ok(report)
}
