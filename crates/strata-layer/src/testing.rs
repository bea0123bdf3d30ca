//! Test support, not API: hidden from the docs (`#[doc(hidden)]`), with no stability promise;
//! it may change or go in any release.
//!
//! What the whole-file fuzz targets of both layer kinds share (`delta_open_scan`,
//! `image_open_scan`): the report of one run over arbitrary bytes ([`OpenScanReport`]), the
//! decompression cap that bounds what a small input can make a reader allocate, and
//! [`fuzz_open_options`] and [`run_once`], and [`check_read`], which sorts a read's result into "fine", "corrupt (counted)" or a
//! [`Mismatch`] (a reader contradicting itself: the bug the fuzzer looks for). [`Mismatch`]
//! and [`poll_ready`] are `strata_btree::testing`'s.

use std::fmt::Display;
use std::future::Future;

use strata_blob::BlobReadOptions;

pub use strata_btree::testing::{Mismatch, poll_ready};

use crate::summary::OpenOptions;
use crate::verify::Finding;

/// Largest decompressed blob the open-scan targets accept.
pub const FUZZ_MAX_DECOMPRESSED_LEN: u64 = 1 << 20;

/// What one open-scan run saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenScanReport {
    /// What `verify` found.
    pub findings: Vec<Finding>,
    /// Whether the layer opened.
    pub opened: bool,
    /// Entries the full scan returned before it ended (or failed).
    pub n_entries: u64,
    /// Read operations that failed with a corruption error.
    pub n_errors: u64,
}

/// `Ok(Some(v))`; `Ok(None)` for an error `is_corrupt` accepts (counted in `report`); a
/// [`Mismatch`] for any other error (in-memory reads have no I/O errors).
pub fn check_read<T, E: Display>(
    res: Result<T, E>,
    is_corrupt: impl Fn(&E) -> bool,
    what: &str,
    report: &mut OpenScanReport,
) -> Result<Option<T>, Mismatch> {
    match res {
        Ok(v) => Ok(Some(v)),
        Err(e) if is_corrupt(&e) => {
            report.n_errors += 1;
            Ok(None)
        }
        Err(e) => Err(Mismatch(format!(
            "{what}: a non-corruption error from bytes: {e}"
        ))),
    }
}

/// The open options of an open-scan run over a file of `file_len` bytes: the length, and the
/// decompression cap [`FUZZ_MAX_DECOMPRESSED_LEN`].
pub fn fuzz_open_options<S>(file_len: usize) -> OpenOptions<S> {
    OpenOptions {
        file_len: Some(file_len as u64),
        blob: BlobReadOptions {
            max_decompressed_len: FUZZ_MAX_DECOMPRESSED_LEN,
            ..BlobReadOptions::default()
        },
        ..OpenOptions::default()
    }
}

/// Runs an in-memory open-scan to its end by polling it once; a run that waits is a
/// [`Mismatch`] (in-memory reads complete at once).
pub fn run_once<T>(run: impl Future<Output = Result<T, Mismatch>>) -> Result<T, Mismatch> {
    poll_ready(run).unwrap_or_else(|| {
        Err(Mismatch(
            "an in-memory read did not complete at once".into(),
        ))
    })
}
