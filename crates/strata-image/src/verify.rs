//! Strict verification of an image layer against every invariant of FORMAT.md section 9 that
//! applies to it (section 11): [`ImageLayer::verify`], [`verify_reader`] (for files that do not
//! even open) and [`verify_file`], reporting typed [`Finding`]s in the vocabulary both kinds
//! share (`strata_layer::verify`).
//!
//! Rules checked: 1 file size, 2 magic and version, 3 key range and `lsn..lsn+1`, 4 the
//! expected summary, 5 index pointers (strict: root last), 6 zero padding (block 0, after the
//! last blob, in nodes), 7–13 the B-tree (strictly, by `strata_btree`), 14 keys inside the key
//! range, 15 blobs inside the value area, 16 blobs packed from 8192 in key order with the index
//! right after, 17 compressed blobs decode. Rule 18 (will_init) has no image counterpart.
//!
//! Invariants: nothing here panics on any bytes; only I/O errors are errors; each blob is read
//! at most once and its length is checked against the value area before any buffer is sized;
//! at most `MAX_FINDINGS` findings are kept.

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use strata_blob::{BlobCursor, BlobRunReader, BlockReader};
use strata_btree::VisitDirection;
use strata_key::Key;
use strata_layer::summary::{VerifyLayer, corrupt_as_none, verify_file_source, verify_layer};
use strata_layer::{
    BlobOrder, Finding, Findings, Location, Rule, check_value_area_tail, tree_finding,
};

use crate::error::Error;
use crate::format::{IMAGE_KEY_SIZE, Summary};
use crate::reader::{ImageLayer, OpenOptions, read_summary};
use crate::scan::SCAN_RUN_BYTES;

impl<R: BlockReader> ImageLayer<R> {
    /// Checks every invariant listed in the module docs and lists what is broken; an empty
    /// list means a sound file. Errors are I/O errors only.
    pub async fn verify(&self) -> Result<Vec<Finding>, Error> {
        verify_layer(self).await
    }
}

/// Verifies the layer held by `reader`, even one that [`ImageLayer::from_reader`] refuses.
/// `opts.expected_summary` is checked as rule 4, `opts.file_len` as rule 1.
pub async fn verify_reader<R: BlockReader>(
    reader: R,
    path: Option<&Path>,
    opts: &OpenOptions,
) -> Result<Vec<Finding>, Error> {
    strata_layer::summary::verify_reader::<R, ImageLayer<R>>(reader, path, opts).await
}

/// Verifies the layer file at `path` (read directly, without a page cache).
pub async fn verify_file(path: &Path, opts: &OpenOptions) -> Result<Vec<Finding>, Error> {
    let (reader, opts) = verify_file_source(path, opts)?;
    verify_reader(reader, Some(path), &opts).await
}

impl<R: BlockReader> VerifyLayer<R> for ImageLayer<R> {
    type Summary = Summary;
    type Error = Error;

    async fn read_summary(reader: &R) -> Result<Option<Summary>, Error> {
        corrupt_as_none(read_summary(reader).await, Error::is_corrupt)
    }

    fn unchecked(reader: R, summary: Summary, path: Option<&Path>, opts: &OpenOptions) -> Self {
        ImageLayer::new_unchecked(reader, summary, path.map(PathBuf::from), opts)
    }

    fn parts(&self) -> (&R, &Summary, Option<u64>) {
        (self.reader(), self.summary(), self.file_len())
    }

    async fn check_body(&self, out: &mut Findings) -> Result<(), Error> {
        check_body(self, out).await
    }
}

/// Rules 6–17 on the index and the value area.
async fn check_body<R: BlockReader>(
    layer: &ImageLayer<R>,
    out: &mut Findings,
) -> Result<(), Error> {
    if let Err(e) = layer.tree().verify().await {
        return Ok(tree_finding(e, out)?);
    }
    let summary = layer.summary();
    let value_area_end = layer.value_area_end();
    let mut order = BlobOrder::new(value_area_end);
    let mut iter = layer
        .tree()
        .iter(&[0u8; IMAGE_KEY_SIZE], VisitDirection::Forwards);
    let opts = *layer.blob_opts();
    let mut runs = BlobRunReader::new(
        layer.reader(),
        value_area_end,
        opts,
        SCAN_RUN_BYTES as usize,
    );
    let mut cursor = BlobCursor::new(layer.reader(), value_area_end, opts);
    while let Some(entry) = iter.next().await {
        if out.full() {
            break;
        }
        let (raw, offset) = match entry {
            Ok(entry) => entry,
            Err(e) => return Ok(tree_finding(e, out)?),
        };
        let key = Key::from_array(&raw);
        let loc = Location::Entry {
            key,
            lsn: summary.lsn,
            offset,
        };
        if !summary.key_range.contains(&key) {
            let msg = "key outside the summary's key range";
            out.add(Rule::EntryInRanges, loc, msg);
        }
        if !order.check(offset, loc, out) {
            continue;
        }
        let read = runs.blob(offset).await.map(|(span, _)| span);
        match read {
            Ok(span) => order.read_to(span.end()),
            Err(strata_blob::Error::Corrupt(c)) => {
                let rule = match c {
                    strata_blob::Corruption::BadCompressedPayload { .. }
                    | strata_blob::Corruption::DecompressedTooLarge { .. } => Rule::ValueDecodes,
                    _ => Rule::BlobInValueArea,
                };
                if rule == Rule::ValueDecodes {
                    // The header is sound: the blob's place still counts for packing.
                    if let Ok(span) = cursor.span(offset).await {
                        order.read_to(span.end());
                    }
                }
                out.add(rule, loc, c.to_string());
            }
            Err(e) => return Err(layer.ctx(e)),
        }
    }
    if order.any() && !out.full() {
        check_value_area_tail(layer.reader(), order.last_end(), value_area_end, out).await?;
    }
    Ok(())
}
