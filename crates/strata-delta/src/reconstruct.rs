//! What a point lookup ([`DeltaLayer::get_value_reconstruct_data`](crate::DeltaLayer::get_value_reconstruct_data))
//! collects for one key (Neon's `ValueReconstructState`). The lookup itself is in
//! `lookup.rs`; the golden `Q` line of a result is `text::format_query_line`. The lookup's
//! outcome is strata-layer's `ValueReconstructResult` (a delta layer answers `Complete` or
//! `Continue`).
//!
//! Invariant: records are appended to the state newest first; the image replaces `img`.

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use strata_key::Lsn;

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
