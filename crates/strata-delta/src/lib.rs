//! Neon pageserver delta layers (FORMAT.md sections 3, 5, 7, 8, 9, 10): the [`Value`]s they
//! hold, their [`Summary`], the [`DeltaLayerWriter`] that writes them byte-identically with
//! Neon, and the [`DeltaLayer`] reader (point, vectored and full reads, strict verification).
//!
//! This crate is enough on its own: it re-exports the types its API takes and returns (keys,
//! LSNs and their ranges, ids, the page cache, the open-file table, the block traits), so a
//! downstream crate needs no other Strata dependency.
//!
//! ```
//! use strata_delta::{
//!     DeltaLayer, DeltaLayerWriter, FileTable, Key, KeyRange, Lsn, LsnRange, NeonWalRecord,
//!     PageCache, TenantId, TimelineId, Value, ValueReconstructResult, ValueReconstructState,
//! };
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let key = Key::from_i128(0x1234);
//! let lsns = LsnRange::new(Lsn(0x10), Lsn(0x100));
//!
//! // Write: values sorted by (key, LSN), one layer per writer (synchronous).
//! let mut writer =
//!     DeltaLayerWriter::new(dir.path(), TenantId([1; 16]), TimelineId([2; 16]), key, lsns)
//!         .unwrap();
//! writer
//!     .put_value(key, Lsn(0x10), &Value::Image(vec![7u8; 8192].into()))
//!     .unwrap();
//! let record = NeonWalRecord::Postgres { will_init: false, rec: vec![1, 2, 3].into() };
//! writer.put_value(key, Lsn(0x20), &Value::WalRecord(record)).unwrap();
//! let layer_file = writer.finish(key.next()).unwrap();
//!
//! // Open through a page cache and an open-file table, and read the page's history.
//! let (cache, files) = (PageCache::new(64), FileTable::new(16));
//! let layer = DeltaLayer::open(&layer_file.path, &cache, &files).await.unwrap();
//! let mut state = ValueReconstructState::default();
//! let result = layer
//!     .get_value_reconstruct_data(key, LsnRange::new(Lsn(0), Lsn(0x21)), &mut state)
//!     .await
//!     .unwrap();
//! assert_eq!(result, ValueReconstructResult::Complete);
//! assert_eq!(state.records.len(), 1);
//! assert_eq!(state.img.as_ref().map(|(lsn, _)| *lsn), Some(Lsn(0x10)));
//! // The newest version at or below an LSN.
//! let (lsn, _) = layer.get_latest(key, Lsn(0x15)).await.unwrap().unwrap();
//! assert_eq!(lsn, Lsn(0x10));
//! assert!(layer.verify().await.unwrap().is_empty());
//! # let _ = KeyRange::new(key, key.next());
//! # });
//! ```
//!
//! # Page cache sizing
//!
//! Every read path (open, point and vectored lookups, full scans with their values, per-entry
//! loads, `verify`) holds at most one page of the layer at a time, so a
//! [`PageCache`] needs **one slot per concurrent reader**, whatever the depth of the index: a
//! 3-level layer is wholly readable through `PageCache::new(1)`. A cache whose slots all stay
//! pinned longer than its wait gives [`Error::CacheFull`], whichever lower crate met it.

mod error;
mod format;
mod value;
mod writer;

mod guard;
mod iter;
mod layer;
mod lookup;
mod reconstruct;
mod vectored;
mod verify;

#[doc(hidden)]
pub mod testing;
#[doc(hidden)]
pub mod text;
#[doc(hidden)]
pub mod workload;

pub use error::{Corruption, CorruptionKind, Error};
pub use format::{
    BlobRef, DELTA_FILE_MAGIC, DELTA_KEY_SIZE, DeltaKey, FORMAT_VERSION, MAX_LAYER_FILE_SIZE,
    SUMMARY_LEN, Summary, VALUE_AREA_OFFSET,
};
pub use iter::{DeltaEntry, DeltaEntryIter};
pub use layer::{DEFAULT_MAX_RUN_BYTES, DeltaLayer, OpenOptions};
pub use reconstruct::ValueReconstructState;
pub use strata_layer::ValueReconstructResult;
pub use strata_layer::{Finding, Location, MAX_FINDINGS, Rule, SummaryProblem};
pub use text::rewrite_summary;
pub use value::{MultiXactMember, NeonWalRecord, Value, ValueError};
pub use vectored::{KeyReconstruct, VectoredReconstructState};
pub use verify::{verify_file, verify_reader};
pub use writer::{DeltaLayerWriter, DeltaLayerWriterOptions, LayerDesc};

// The types this crate's API takes and returns, so that depending on strata-delta alone is
// enough.
pub use strata_blob::{
    BlobReadOptions, Block, BlockNo, BlockReader, FileBlockReader, FileTable, HeaderMode,
    MemBlockReader, PAGE_SIZE, StdFs, TableFile,
};
pub use strata_btree::TreeStats;
pub use strata_cache::{CacheMetrics, CachedReader, PageCache, PageCacheOptions};
pub use strata_key::{Key, KeyRange, Lsn, LsnRange, TenantId, TimelineId};
