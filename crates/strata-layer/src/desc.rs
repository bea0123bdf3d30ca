//! [`LayerDesc`]: what a finished layer is, for both kinds: what a writer's `finish` returns
//! and what a reader can tell about an open layer (kind, ids, key and LSN ranges, final name).
//!
//! Invariant: `file_name` is the canonical final name of FORMAT.md section 10 for the kind,
//! key range and LSN range it holds (an image layer's LSN range is `lsn..lsn+1`).

use std::path::PathBuf;

use strata_key::{KeyRange, LsnRange, TenantId, TimelineId};

use crate::format::LayerKind;

/// A finished layer file; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerDesc {
    /// Delta or image.
    pub kind: LayerKind,
    /// The layer file's path (in the writer's directory, under its final name).
    pub path: PathBuf,
    /// The final file name.
    pub file_name: String,
    /// The layer's tenant.
    pub tenant_id: TenantId,
    /// The layer's timeline.
    pub timeline_id: TimelineId,
    /// The layer's key range.
    pub key_range: KeyRange,
    /// The layer's LSN range (`lsn..lsn+1` for an image layer).
    pub lsn_range: LsnRange,
    /// The file's size in bytes (a multiple of 8192).
    pub file_size: u64,
    /// Number of index entries.
    pub n_entries: u64,
}

impl LayerDesc {
    /// A descriptor of the layer to be written under `file_name`; its path, size and entry
    /// count are filled in when the file is committed.
    pub fn new(
        kind: LayerKind,
        file_name: String,
        tenant_id: TenantId,
        timeline_id: TimelineId,
        key_range: KeyRange,
        lsn_range: LsnRange,
    ) -> LayerDesc {
        LayerDesc {
            kind,
            path: PathBuf::new(),
            file_name,
            tenant_id,
            timeline_id,
            key_range,
            lsn_range,
            file_size: 0,
            n_entries: 0,
        }
    }
}
