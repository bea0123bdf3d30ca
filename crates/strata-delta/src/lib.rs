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
//! # Layers of different sources
//!
//! [`DeltaLayer<R>`] is generic over its block source, so the usual reads compile to direct
//! calls. The parameter defaults to the reader of [`DeltaLayer::open`] (a [`FileTable`] file
//! through a [`PageCache`]): a plain `DeltaLayer` in a signature is that layer, and code that
//! only opens files never writes a reader type. To hold layers of different sources in one
//! collection (a cached file, memory, a caller's own [`BlockReader`]), erase the reader:
//! [`DeltaLayer::into_shared`] or `DeltaLayer::from_reader(SharedReader::new(r), ..)` give a
//! [`SharedDeltaLayer`], whose reads cost a virtual call and a boxed future per block read
//! more. Decision: the default stays the concrete cached reader and erasure is opt-in: erased
//! above the cache, a warm point lookup measured about 1.03–1.08× the concrete one (the
//! crate's `shared` benchmark, paired rounds on a loaded 2-core machine); erased below it
//! (`cache.wrap(SharedReader::new(file))`), hits stay concrete and only misses pay.
//!
//! ```
//! use futures_util::TryStreamExt;
//! use strata_delta::{
//!     DeltaEntry, DeltaLayer, DeltaLayerWriter, FileTable, Key, Lsn, LsnRange, MemBlockReader,
//!     OpenOptions, PageCache, SharedDeltaLayer, SharedReader, TenantId, TimelineId, Value,
//! };
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let key = Key::from_i128(7);
//! let lsns = LsnRange::new(Lsn(0x10), Lsn(0x20));
//! let mut w = DeltaLayerWriter::new(dir.path(), TenantId([1; 16]), TimelineId([2; 16]), key, lsns)
//!     .unwrap();
//! w.put_value(key, Lsn(0x10), &Value::Image(vec![1u8; 8192].into())).unwrap();
//! let path = w.finish(key.next()).unwrap().path;
//!
//! // One collection for a cached file and the same bytes in memory.
//! let (cache, files) = (PageCache::new(8), FileTable::new(2));
//! let from_file = DeltaLayer::open(&path, &cache, &files).await.unwrap().into_shared();
//! let in_memory = SharedReader::new(MemBlockReader::from_bytes(&std::fs::read(&path).unwrap()));
//! let in_memory = DeltaLayer::from_reader(in_memory, OpenOptions::default()).await.unwrap();
//! let layers: Vec<SharedDeltaLayer> = vec![from_file, in_memory];
//! for layer in &layers {
//!     // A scan as a stream.
//!     let entries: Vec<DeltaEntry> = layer.iter().into_stream().try_collect().await.unwrap();
//!     assert_eq!((entries.len(), entries[0].lsn), (1, Lsn(0x10)));
//! }
//! # });
//! ```
//!
//! # Scans as streams
//!
//! [`DeltaEntryIter::into_stream`] and [`DeltaEntryIter::into_value_stream`] turn a scan into
//! a `futures_core::Stream` ([`DeltaEntryStream`], [`DeltaValueStream`]) for stream adapters.
//! An error is an `Err` item, and the stream ends after it.
//!
//! # Blocking
//!
//! [`DeltaLayer::open`] makes its file-system calls on tokio's blocking pool inside a
//! multi-thread runtime (inline elsewhere). Block reads are synchronous `pread`s through the
//! page cache: a miss blocks its thread for one read, so size the runtime's workers for the
//! misses in flight at once (at most one per concurrent reader). The writer is synchronous:
//! run one whole layer on one `spawn_blocking`.
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
mod stream;
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
pub use stream::{DeltaEntryStream, DeltaValueStream, ValueScan};
pub use text::rewrite_summary;
pub use value::{MultiXactMember, NeonWalRecord, Value, ValueError};
pub use vectored::{KeyReconstruct, VectoredReconstructState};
pub use verify::{verify_file, verify_reader};
pub use writer::{DeltaLayerWriter, DeltaLayerWriterOptions, LayerDesc};

/// A delta layer over a type-erased reader: one type for layers opened from a cached file
/// ([`DeltaLayer::into_shared`]), from memory or from a caller's own [`BlockReader`]
/// (`DeltaLayer::from_reader(SharedReader::new(reader), ..)`). See "Layers of different
/// sources" in the crate docs.
pub type SharedDeltaLayer = DeltaLayer<SharedReader>;

// The types this crate's API takes and returns, so that depending on strata-delta alone is
// enough.
pub use strata_blob::{
    BlobReadOptions, Block, BlockNo, BlockReader, BoxFuture, DynBlockReader, FileBlockReader,
    FileTable, HeaderMode, MemBlockReader, PAGE_SIZE, SharedReader, StdFs, StepStream, TableFile,
};
pub use strata_btree::TreeStats;
pub use strata_cache::{CacheMetrics, CachedReader, PageCache, PageCacheOptions};
pub use strata_key::{Key, KeyRange, Lsn, LsnRange, TenantId, TimelineId};
