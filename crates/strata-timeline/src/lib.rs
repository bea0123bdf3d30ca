//! A Neon timeline: a directory of delta and image layer files that answers "the page of key
//! K at LSN L" (`../shared/TIMELINE.md`).
//!
//! * [`dir`]: classifying directory entries by name (TIMELINE.md 1.2).
//! * [`LayerMap`]: Neon's `search` / `range_search` over layer descriptors (2).
//! * [`reconstruct`]: the traversal across layers and ancestors (3) over any [`ReadLayer`].
//! * [`Redo`] and [`NeonRedo`]: turning the collected history into a page (4).
//! * [`Timeline`]: a directory opened through a caller's `FileTable` and `PageCache`.

pub mod dir;

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
