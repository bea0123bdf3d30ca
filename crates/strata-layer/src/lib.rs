//! What Neon's two kinds of layer file share, in one place below both layer crates
//! (`strata-delta`, `strata-image`):
//!
//! * [`format`](mod@format): the magics, the version, the value area's start, [`LayerKind`]
//!   (which reader a file needs, from block 0's magic) and the codec of the summary's common
//!   head ([`SummaryHead`]: magic, version, tenant, timeline, key range).
//! * [`check`](mod@check): the summary rules both kinds obey (file size, magic and version, a
//!   non-empty key range, index pointers inside the file), as pure functions with a typed
//!   [`SummaryProblem`].
//! * [`summary`](mod@summary): what open and verify do with a summary of either kind
//!   ([`LayerSummary`], [`OpenOptions`], [`check_on_open`], [`summary_findings`]).
//! * [`verify`](mod@verify): the vocabulary of strict verification ([`Rule`], [`Location`],
//!   [`Finding`]) and its kind-independent steps (B-tree problems to rules, padding checks,
//!   [`BlobOrder`] for blobs packed back to back).
//! * [`file`](mod@file): a layer file's life while it is written: [`PendingFile`] (temp name,
//!   removal on failure or drop, fsync + rename + directory fsync), [`IndexBuf`], [`write_tail`];
//!   [`LayerBody`], a writer's value area, index and poisoning.
//! * `testing` (test support, hidden): the shape of the whole-file fuzz oracle both kinds use.
//! * [`manifest`](mod@manifest): the golden manifest lines both kinds print alike.
//! * [`layer_error!`]: the shared part of each layer crate's error type (`Corruption`, the
//!   lifting of lower crates' `Io`, `Corrupt` and `CacheFull`).
//! * [`LayerDesc`]: what a finished layer is; [`ValueReconstructResult`]: what a layer's part of
//!   a page lookup found. [`workload`](mod@workload): [`SplitMix64`] and the
//!   workloads' fixed identities.
//!
//! Names (FORMAT.md section 10) are `strata-key`'s; blobs are `strata-blob`'s; the index is
//! `strata-btree`'s. This crate adds no format of its own.
//!
//! ```
//! use strata_key::{Key, KeyRange, TenantId, TimelineId};
//! use strata_layer::{IndexPointers, LayerKind, SummaryHead, SummaryProblem, check_summary_fields};
//!
//! let head = SummaryHead::new(
//!     LayerKind::Image,
//!     TenantId([1; 16]),
//!     TimelineId([2; 16]),
//!     KeyRange::new(Key::MIN, Key::MAX),
//! );
//! let mut block0 = [0u8; 8192];
//! head.encode_into(&mut block0);
//! assert_eq!(LayerKind::of_block0(&block0), Some(LayerKind::Image));
//!
//! let index = IndexPointers { index_start_blk: 2, index_root_blk: 0 };
//! assert_eq!(check_summary_fields(LayerKind::Image, &head, index, 3), Ok(()));
//! // The same head read as a delta layer has the wrong magic.
//! assert!(matches!(
//!     check_summary_fields(LayerKind::Delta, &head, index, 3),
//!     Err(SummaryProblem::BadMagic { magic: 0x5A60, expected: 0x5A61 })
//! ));
//! ```

mod body;
pub mod check;
mod desc;
pub mod file;
pub mod format;
mod layer_error;
pub mod manifest;
mod open;
mod reconstruct;
pub mod summary;
#[doc(hidden)]
pub mod testing;
pub mod verify;
pub mod workload;

/// The lower crates, for the code [`layer_error!`] writes in the layer crates.
#[doc(hidden)]
pub mod __private {
    pub use strata_blob;
    pub use strata_btree;
}

pub use body::{Closed, LayerBody};
pub use check::{
    IndexPointers, MIN_LAYER_BLOCKS, SummaryProblem, check_file_blocks, check_summary_fields,
    index_in_file, summary_problems,
};
pub use desc::LayerDesc;
pub use file::{CreateMode, IndexBuf, PendingFile, temp_random, write_tail};
pub use format::{
    DELTA_FILE_MAGIC, DELTA_SUMMARY_LEN, FORMAT_VERSION, IMAGE_FILE_MAGIC, IMAGE_SUMMARY_LEN,
    LayerKind, SUMMARY_HEAD_LEN, SummaryHead, VALUE_AREA_OFFSET,
};
pub use reconstruct::ValueReconstructResult;
pub use summary::{
    DEFAULT_MAX_RUN_BYTES, LayerSummary, OpenOptions, SummaryRefusal, check_on_open,
    expected_mismatch, summary_findings,
};
pub use verify::{
    BlobOrder, Finding, Findings, Location, MAX_FINDINGS, Rule, check_block0_padding,
    check_value_area_tail, node_rule, tree_finding,
};
pub use workload::{
    SplitMix64, WORKLOAD_KEYS_PER_REL, WORKLOAD_LSN_BASE, WORKLOAD_TENANT, WORKLOAD_TIMELINE,
    workload_key,
};
