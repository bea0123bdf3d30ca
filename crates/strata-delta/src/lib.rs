//! Neon pageserver delta layers (FORMAT.md sections 3, 5, 7, 8, 9, 10): the [`Value`]s they
//! hold, their [`Summary`], the [`DeltaLayerWriter`] that writes them byte-identically with
//! Neon, and the [`DeltaLayer`] reader (point, vectored and full reads, strict verification).

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
