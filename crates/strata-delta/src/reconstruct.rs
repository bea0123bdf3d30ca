//! What a point lookup ([`DeltaLayer::get_value_reconstruct_data`](crate::DeltaLayer::get_value_reconstruct_data))
//! collects for one key (Neon's `ValueReconstructState`), and the golden `Q` line of its result
//! ([`format_query_line`]). The lookup itself is in `lookup.rs`.
//!
//! Invariant: records are appended to the state newest first; the image replaces `img`.

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;

use bytes::Bytes;
use strata_key::{Key, Lsn, LsnRange};

use crate::value::NeonWalRecord;

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
