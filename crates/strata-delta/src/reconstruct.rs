//! Point lookups of one key's history: [`DeltaLayer::get_value_reconstruct_data`] with Neon's
//! semantics (FORMAT.md sections 6.5, 6.6 and 12), and the golden `Q` line of its result
//! ([`format_query_line`]).
//!
//! Invariants:
//! * The index walk is Neon's: backwards from `DeltaKey(key, lsn_range.end - 1)`, stopping at
//!   another key, at an LSN below `lsn_range.start`, or after an entry whose BlobRef has the
//!   will_init bit; the blobs are then read newest first and the walk ends at an image or a
//!   will_init record. An empty range (including `end == 0`) finds nothing: `Continue`.
//! * Blob offsets must decrease along the walk (they increase in key order in every valid
//!   file); otherwise the lookup fails with [`Error::Corrupt`], so one lookup never reads
//!   more than the file holds.
//! * Every entry the walk collects must lie inside the summary's key and LSN ranges, and each
//!   value's `will_init()` must equal its BlobRef's bit (FORMAT.md section 9, items 17 and 18):
//!   otherwise [`Error::Corrupt`] with `EntryOutOfRange` or `WillInitMismatch`, as a full scan
//!   reports them. Neon reads such files silently.
//! * Records are appended to the caller's state newest first; the image replaces `img`. A
//!   lookup that fails leaves the state as it was, so the caller may retry with it.

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;

use bytes::Bytes;
use strata_blob::BlockReader;
use strata_btree::VisitDirection;
use strata_key::{KEY_SIZE, Key, Lsn, LsnRange};

use crate::error::{CorruptionKind, Error};
use crate::reader::{DeltaLayer, delta_key, read_value, split_delta_key};
use crate::value::{NeonWalRecord, Value};

/// What a point lookup collected for one key: WAL records newest first, and the image (or
/// nothing) they apply to. The same shape as Neon's `ValueReconstructState`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueReconstructState {
    /// WAL records, newest first, each with its LSN.
    pub records: Vec<(Lsn, NeonWalRecord)>,
    /// The page image the records apply to, with its LSN.
    pub img: Option<(Lsn, Bytes)>,
}

/// Whether a lookup found everything it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueReconstructResult {
    /// An image or a will_init record was found: older layers are not needed.
    Complete,
    /// The history continues in older layers.
    Continue,
}

impl ValueReconstructResult {
    /// `"Complete"` or `"Continue"`, as in the golden query files.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueReconstructResult::Complete => "Complete",
            ValueReconstructResult::Continue => "Continue",
        }
    }
}

/// Entries a lookup usually collects before the first will_init one (kept on the stack).
const INLINE_ENTRIES: usize = 16;

impl<R: BlockReader> DeltaLayer<R> {
    /// Collects the history of `key` in `lsn_range` (end exclusive) into `state`: Neon's
    /// `DeltaLayerInner::get_value_reconstruct_data`. On an error `state` is left unchanged.
    pub async fn get_value_reconstruct_data(
        &self,
        key: Key,
        lsn_range: LsnRange,
        state: &mut ValueReconstructState,
    ) -> Result<ValueReconstructResult, Error> {
        let n_records = state.records.len();
        let res = self.reconstruct(key, lsn_range, state).await;
        if res.is_err() {
            // Records read before the failure would be collected again by a retry.
            state.records.truncate(n_records);
        }
        res.map_err(|e| self.ctx(e))
    }

    async fn reconstruct(
        &self,
        key: Key,
        lsn_range: LsnRange,
        state: &mut ValueReconstructState,
    ) -> Result<ValueReconstructResult, Error> {
        let Some(last) = lsn_range.end.checked_sub(1) else {
            return Ok(ValueReconstructResult::Continue);
        };
        let search = delta_key(key, last);
        let key_bytes = key.to_array();

        // Phase 1: walk the index, recording (lsn, blob offset) newest first.
        let mut inline = [(Lsn(0), 0u64, false); INLINE_ENTRIES];
        let mut n_inline = 0;
        let mut spill: Vec<(Lsn, u64, bool)> = Vec::new();
        let summary = self.summary();
        let mut last_pos = None;
        let mut iter = self.tree().iter(&search, VisitDirection::Backwards);
        while let Some(entry) = iter.next().await {
            let (raw, blob_ref) = entry?;
            if raw.get(..KEY_SIZE) != Some(&key_bytes[..]) {
                break;
            }
            let (_, lsn) = split_delta_key(&raw);
            if lsn < lsn_range.start {
                break;
            }
            if !summary.key_range.contains(&key) || !summary.lsn_range.contains(lsn) {
                return Err(CorruptionKind::EntryOutOfRange { key, lsn }.into());
            }
            let pos = blob_ref >> 1;
            // Offsets decrease along a backwards walk (FORMAT.md section 9 item 16); a file
            // breaking that could make one lookup read the same bytes over and over.
            if let Some(next_pos) = last_pos.replace(pos)
                && pos >= next_pos
            {
                return Err(CorruptionKind::OffsetsNotIncreasing {
                    offset: pos,
                    next_offset: next_pos,
                }
                .into());
            }
            let will_init = blob_ref & 1 == 1;
            match inline.get_mut(n_inline) {
                Some(slot) => {
                    *slot = (lsn, pos, will_init);
                    n_inline += 1;
                }
                None => spill.push((lsn, pos, will_init)),
            }
            if will_init {
                break;
            }
        }
        drop(iter);

        // Phase 2: read the blobs newest first.
        let mut cursor = self.blob_cursor();
        let found = inline.iter().take(n_inline).chain(spill.iter());
        for &(lsn, pos, bit) in found {
            self.check_blob_offset(pos)?;
            let value = read_value(&mut cursor, pos).await?;
            if value.will_init() != bit {
                return Err(CorruptionKind::WillInitMismatch { offset: pos, bit }.into());
            }
            match value {
                Value::Image(img) => {
                    state.img = Some((lsn, img));
                    return Ok(ValueReconstructResult::Complete);
                }
                Value::WalRecord(rec) => {
                    let will_init = rec.will_init();
                    state.records.push((lsn, rec));
                    if will_init {
                        return Ok(ValueReconstructResult::Complete);
                    }
                }
            }
        }
        Ok(ValueReconstructResult::Continue)
    }
}

/// The golden `Q` line of a lookup (format: `golden/README`, "Queries format"):
/// `Q <key> <lsn_start> <lsn_end> <Complete|Continue> img=<lsn|-> visited=<lsn:kind,...|->`,
/// where `visited` lists the state's records in order, then the image.
pub fn format_query_line(
    key: Key,
    lsn_range: LsnRange,
    result: ValueReconstructResult,
    state: &ValueReconstructState,
) -> String {
    let mut line = format!(
        "Q {key} {} {} {} img=",
        lsn_range.start.to_hex16(),
        lsn_range.end.to_hex16(),
        result.as_str()
    );
    match &state.img {
        Some((lsn, _)) => line.push_str(&lsn.to_hex16()),
        None => line.push('-'),
    }
    line.push_str(" visited=");
    let mut first = true;
    let records = state
        .records
        .iter()
        .map(|(lsn, rec)| (*lsn, rec.kind_name()));
    let image = state.img.iter().map(|(lsn, _)| (*lsn, "Image"));
    for (lsn, kind) in records.chain(image) {
        if !first {
            line.push(',');
        }
        first = false;
        let _ = write!(line, "{}:{kind}", lsn.to_hex16());
    }
    if first {
        line.push('-');
    }
    line
}
