//! A Neon timeline: a directory of delta and image layer files that answers "the page of key
//! K at LSN L" (`../shared/TIMELINE.md`).
//!
//! * [`dir`]: classifying directory entries by name (TIMELINE.md 1.2).
//! * [`LayerMap`]: Neon's `search` / `range_search` over layer descriptors (2).
//! * [`reconstruct`]: the traversal across layers and ancestors (3) over any [`ReadLayer`].
//! * [`Redo`] and [`NeonRedo`]: turning the collected history into a page (4).
//! * [`Timeline`]: a directory opened through a caller's `FileTable` and `PageCache`.

pub mod dir;

mod coverage;
mod desc;
mod error;
mod history;
mod layer_map;

pub use desc::LayerDesc;
pub use dir::{DirEntry, EntryClass, classify_entry};
pub use error::{Corruption, CorruptionKind, Error, RedoError};
pub use history::{PageHistory, Visit, VisitResult};
pub use layer_map::{LayerMap, RangeSearchResult, SearchResult};
