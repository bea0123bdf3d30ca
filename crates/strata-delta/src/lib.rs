//! Neon pageserver delta layers (FORMAT.md sections 3, 5, 7, 8, 9, 10): the [`Value`]s they
//! hold, their [`Summary`], the [`DeltaLayerWriter`] that writes them byte-identically with
//! Neon, and the [`DeltaLayer`] reader (point, vectored and full reads, strict verification).
//!
//! # Page cache sizing
//!
//! Every read path (open, point and vectored lookups, full scans with their values, per-entry
//! loads, `verify`) holds at most one page of the layer at a time, so a
//! [`PageCache`](strata_cache::PageCache) needs **one slot per concurrent reader**, whatever the
//! depth of the index: a 3-level layer is wholly readable through `PageCache::new(1)`. A cache
//! whose slots all stay pinned longer than its wait gives [`Error::CacheFull`], whichever
//! lower crate met it.

mod error;
mod format;
mod value;
mod workload;
mod writer;

mod dump;
pub mod fuzzing;
mod iter;
mod reader;
mod reconstruct;
mod vectored;
mod verify;

pub use error::{Corruption, CorruptionKind, Error};
pub use format::*;
pub use value::*;
pub use workload::*;
pub use writer::*;

pub use dump::*;
pub use iter::*;
pub use reader::*;
pub use reconstruct::*;
pub use vectored::*;
pub use verify::*;
