//! Strict verification of a delta layer against every invariant of FORMAT.md section 9 (items
//! 1–18): [`DeltaLayer::verify`], [`verify_reader`] (for files that do not even open) and
//! [`verify_file`], reporting a list of typed [`Finding`]s.
//!
//! Invariants:
//! * Nothing here panics on any bytes. Only I/O errors of the source are returned as errors;
//!   everything wrong with the bytes is a finding.
//! * Time and memory are bounded by the file: the B-tree walk checks levels, child < parent
//!   and key order (so it is finite and visits each node once), blob lengths are checked
//!   against the value area before any buffer is sized, each blob is decoded at most once
//!   (entries whose offset does not increase are reported, not read), and at most
//!   [`MAX_FINDINGS`] findings are collected.
//! * The B-tree checks stop at the first broken node (what lies below it cannot be trusted);
//!   the summary and entry checks report every problem they see.

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use strata_blob::BlockReader;
use strata_btree::VisitDirection;
use strata_layer::summary::{VerifyLayer, corrupt_as_none, verify_file_source};
use strata_layer::{
    BlobOrder, Finding, Findings, Location, Rule, check_value_area_tail, tree_finding,
};

use crate::error::{CorruptionKind, Error};
use crate::format::{BlobRef, DELTA_KEY_SIZE, DeltaKey, Summary};
use crate::guard::decode_checked;
use crate::layer::{DeltaLayer, OpenOptions, SCAN_RUN_BYTES, read_summary};

/// [`DeltaLayer::verify`]: every invariant of FORMAT.md section 9 on an open layer.
pub(crate) async fn verify_layer<R: BlockReader>(
    layer: &DeltaLayer<R>,
) -> Result<Vec<Finding>, Error> {
    strata_layer::summary::verify_layer(layer).await
}

/// Verifies the layer held by `reader`, even one that [`DeltaLayer::from_reader`] refuses.
/// `opts.expected_summary` is checked as item 4, `opts.file_len` as item 1.
pub async fn verify_reader<R: BlockReader>(
    reader: R,
    path: Option<&Path>,
    opts: &OpenOptions,
) -> Result<Vec<Finding>, Error> {
    strata_layer::summary::verify_reader::<R, DeltaLayer<R>>(reader, path, opts).await
}

/// Verifies the layer file at `path` (read directly, without a page cache).
pub async fn verify_file(path: &Path, opts: &OpenOptions) -> Result<Vec<Finding>, Error> {
    let (reader, opts) = verify_file_source(path, opts)?;
    verify_reader(reader, Some(path), &opts).await
}

impl<R: BlockReader> VerifyLayer<R> for DeltaLayer<R> {
    type Summary = Summary;
    type Error = Error;

    async fn read_summary(reader: &R) -> Result<Option<Summary>, Error> {
        corrupt_as_none(read_summary(reader).await, Error::is_corrupt)
    }

    fn unchecked(reader: R, summary: Summary, path: Option<&Path>, opts: &OpenOptions) -> Self {
        DeltaLayer::new_unchecked(reader, summary, path.map(PathBuf::from), opts)
    }

    fn parts(&self) -> (&R, &Summary, Option<u64>) {
        (self.reader(), self.summary(), self.file_len())
    }

    async fn check_body(&self, out: &mut Findings) -> Result<(), Error> {
        check_body(self, out).await
    }
}

/// Items 6–18 on the index and the value area.
async fn check_body<R: BlockReader>(
    layer: &DeltaLayer<R>,
    out: &mut Findings,
) -> Result<(), Error> {
    // Items 6–13: the whole tree, strictly; stop at the first broken node.
    if let Err(e) = layer.tree().verify().await {
        return Ok(tree_finding(e, out)?);
    }
    let guard = layer.guard();
    let mut run = layer.run_reader(SCAN_RUN_BYTES);
    let mut iter = layer
        .tree()
        .iter(&[0u8; DELTA_KEY_SIZE], VisitDirection::Forwards);
    let mut order = BlobOrder::new(layer.value_area_end());
    while let Some(entry) = iter.next().await {
        if out.full() {
            break;
        }
        let (raw, blob_ref) = match entry {
            Ok(entry) => entry,
            Err(e) => return Ok(tree_finding(e, out)?),
        };
        let entry = DeltaKey::from_array(raw);
        let (key, lsn) = (entry.key(), entry.lsn());
        let blob = BlobRef(blob_ref);
        let pos = blob.pos();
        let loc = Location::Entry {
            key,
            lsn,
            offset: pos,
        };
        if let Err(kind) = guard.check_ranges(key, lsn) {
            out.add(Rule::EntryInRanges, loc, kind.to_string());
        }
        if !order.check(pos, loc, out) {
            continue;
        }
        let (span, payload) = match run.blob(pos).await.map_err(Error::from) {
            Ok(blob) => blob,
            Err(Error::Corrupt(c)) => {
                let rule = match &c.kind {
                    CorruptionKind::Block(
                        strata_blob::Corruption::BadCompressedPayload { .. }
                        | strata_blob::Corruption::DecompressedTooLarge { .. }
                        | strata_blob::Corruption::UnknownCompression { .. },
                    ) => Rule::ValueDecodes,
                    _ => Rule::BlobInValueArea,
                };
                out.add(rule, loc, c.kind.to_string());
                continue;
            }
            Err(e) => return Err(e.in_file(layer.path())),
        };
        order.read_to(span.end());
        match decode_checked(&payload, blob) {
            Ok(_) => {}
            Err(Error::Corrupt(c)) => {
                let rule = match c.kind {
                    CorruptionKind::WillInitMismatch { .. } => Rule::WillInitMatches,
                    _ => Rule::ValueDecodes,
                };
                out.add(rule, loc, c.kind.to_string());
            }
            Err(e) => return Err(e.in_file(layer.path())),
        }
    }
    if order.any() && !out.full() {
        let (last_end, end) = (order.last_end(), layer.value_area_end());
        check_value_area_tail(layer.reader(), last_end, end, out).await?;
    }
    Ok(())
}
