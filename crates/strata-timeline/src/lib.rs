//! A Neon timeline: a directory of delta and image layer files that answers "the page of key
//! K at LSN L" (`../shared/TIMELINE.md`).
//!
//! * [`dir`]: classifying directory entries by name (TIMELINE.md 1.2).
//! * [`LayerMap`]: Neon's `search` / `range_search` over layer descriptors (2).
//! * [`reconstruct`](mod@reconstruct): the traversal across layers and ancestors (3) over any
//!   [`ReadLayer`] (on-disk [`TimelineLayer`]s, in-memory [`MemLayer`]s).
//! * [`Redo`] and [`NeonRedo`]: turning the collected history into a page (4); Postgres
//!   records go to a caller's [`PostgresRedo`], or come back as [`Error::NeedsPostgres`]
//!   with the history.
//! * [`Timeline`]: a directory opened through a caller's `FileTable` and `PageCache`, with
//!   `get_page`, `get_pages`, and the atomic `add_layer` / `replace_layers` that ingest and
//!   compaction call.
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> anyhow::Result<()> {
//! use bytes::Bytes;
//! use strata_blob::FileTable;
//! use strata_cache::PageCache;
//! use strata_delta::workload::{WORKLOAD_TENANT, WORKLOAD_TIMELINE};
//! use strata_delta::{DeltaLayerWriter, NeonWalRecord, Value};
//! use strata_key::{Key, Lsn, LsnRange};
//! use strata_timeline::{Timeline, TimelineIds, TimelineOptions};
//!
//! let dir = tempfile::tempdir()?;
//! // A visibility-map page: an image at 0x10, then a record clearing heap block 5's bits.
//! let key = Key { field5: 2, ..Key::MIN };
//! let mut writer = DeltaLayerWriter::new(
//!     dir.path(), WORKLOAD_TENANT, WORKLOAD_TIMELINE, Key::MIN,
//!     LsnRange::new(Lsn(0x10), Lsn(0x30)),
//! )?;
//! writer.put_value(key, Lsn(0x10), &Value::Image(Bytes::from(vec![0xFF; 8192])))?;
//! let clear = NeonWalRecord::ClearVisibilityMapFlags {
//!     new_heap_blkno: Some(5), old_heap_blkno: None, flags: 0x03,
//! };
//! writer.put_value(key, Lsn(0x20), &Value::WalRecord(clear))?;
//! writer.finish(Key::MAX)?;
//!
//! let ids = TimelineIds { tenant_id: Some(WORKLOAD_TENANT), timeline_id: Some(WORKLOAD_TIMELINE) };
//! let opts = TimelineOptions { ids: Some(ids), ..TimelineOptions::default() };
//! let timeline = Timeline::open(dir.path(), &FileTable::new(16), &PageCache::new(64), opts)?;
//! let before = timeline.get_page(key, Lsn(0x1F)).await?;
//! let after = timeline.get_page(key, Lsn(0x20)).await?;
//! assert_eq!((before[25], after[25]), (0xFF, 0xF3));
//! # Ok(())
//! # }
//! ```

pub mod dir;
#[doc(hidden)]
pub mod testing;

mod aux_file;
mod coverage;
mod desc;
mod error;
mod history;
mod layer;
mod layer_map;
mod mem_layer;
mod metadata;
pub mod reconstruct;
mod redo;
mod timeline;
mod verify;
pub mod workload;

pub use aux_file::{decode_aux_dir, encode_aux_dir};
pub use desc::LayerDesc;
pub use dir::{DirEntry, EntryClass, classify_entry};
pub use error::{Corruption, CorruptionKind, Error, RedoError};
pub use history::{PageHistory, Visit, VisitResult};
pub use layer::{ResidentLayer, TimelineIds, TimelineLayer};
pub use layer_map::{LayerMap, RangeSearchResult, SearchResult};
pub use mem_layer::MemLayer;
pub use metadata::{METADATA_LEN, TimelineMetadata};
pub use reconstruct::{Level, ReadLayer, Traversal, materialize, reconstruct, reconstruct_many};
pub use redo::{AUX_FILES_KEY, NeonRedo, PostgresRedo, Redo, apply_neon, member_position};
pub use timeline::{
    MAX_ANCESTOR_DEPTH, PageRead, Problem, ProblemKind, Timeline, TimelineMap, TimelineOptions,
};
pub use verify::{Finding, check_layer_shapes};
