//! Neon pageserver image layers (FORMAT.md section 11, with sections 4, 6 and 10): one page
//! image per key of a key range at one LSN. The [`Summary`] of block 0, the
//! [`ImageLayerWriter`] that writes files byte-identical with Neon's, and the [`ImageLayer`]
//! reader: exact-match [`get`](ImageLayer::get), Neon's
//! [`get_value_reconstruct_data`](ImageLayer::get_value_reconstruct_data) (Complete or
//! Missing), vectored and full reads in coalesced blob runs, and strict
//! [`verify`](ImageLayer::verify). What image and delta layers share (summary checks, the
//! layer descriptor, the temp-file lifecycle, verify findings) is `strata-layer`'s.
//!
//! # Layers of different sources, streams, blocking
//!
//! [`ImageLayer<R>`] is generic over its block source; the parameter defaults to the reader
//! of [`ImageLayer::open`] (a `FileTable` file through a `PageCache`), so a plain
//! `ImageLayer` in a signature is that layer. Layers of different sources (a cached file,
//! memory, a caller's own [`BlockReader`]) share one type as a [`SharedImageLayer`]
//! ([`ImageLayer::into_shared`], or `from_reader(SharedReader::new(r), ..)`), at the cost of
//! a virtual call and a boxed future per block read; the default stays the concrete reader.
//! [`ImageLayer::iter`] is the full scan as an async iterator of (entry, image), and
//! [`ImageEntryIter::into_stream`] a `futures_core::Stream` of it (an error is an `Err` item
//! and ends the stream). [`ImageLayer::open`] makes its file-system calls on tokio's blocking
//! pool inside a multi-thread runtime (inline elsewhere); block reads are synchronous `pread`s
//! through the page cache, a miss blocking its thread for one read.
//!
//! ```
//! use strata_blob::FileTable;
//! use strata_cache::PageCache;
//! use strata_image::{ImageLayer, ImageLayerWriter};
//! use strata_key::{Key, KeyRange, Lsn, TenantId, TimelineId};
//! use strata_layer::ValueReconstructResult;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let keys: Vec<Key> = (0..3).map(|i| Key::MIN.add(i * 2)).collect();
//! let range = KeyRange::new(keys[0], keys[2].next());
//! let mut w = ImageLayerWriter::new(dir.path(), TenantId([1; 16]), TimelineId([2; 16]), range, Lsn(0x10))
//!     .unwrap();
//! for (i, key) in keys.iter().enumerate() {
//!     w.put_image(*key, &vec![i as u8; 100]).unwrap();
//! }
//! // Keys must increase: a repeat is a typed error (and poisons the writer).
//! let desc = w.finish().unwrap();
//! assert_eq!(desc.file_name, format!("{}-{}__0000000000000010", range.start, range.end));
//!
//! let (cache, files) = (PageCache::new(64), FileTable::new(8));
//! let layer = ImageLayer::open(&desc.path, &cache, &files).await.unwrap();
//! assert_eq!(layer.get(keys[1]).await.unwrap(), Some(vec![1u8; 100]));
//! assert_eq!(layer.get(keys[1].next()).await.unwrap(), None);
//! let mut img = None;
//! let res = layer.get_value_reconstruct_data(keys[2], &mut img).await.unwrap();
//! assert_eq!((res, img.map(|(lsn, _)| lsn)), (ValueReconstructResult::Complete, Some(Lsn(0x10))));
//! let mut seen = Vec::new();
//! layer.scan(|entry, image| { seen.push((entry.key, image.len())); true }).await.unwrap();
//! assert_eq!(seen, [(keys[0], 100), (keys[1], 100), (keys[2], 100)]);
//! assert!(layer.verify().await.unwrap().is_empty());
//! # });
//! ```

mod dump;
mod error;
mod format;
mod iter;
mod reader;
mod scan;
mod stream;
#[doc(hidden)]
pub mod testing;
mod verify;
mod workload;
mod writer;

pub use dump::{write_manifest, write_summary_lines};
pub use error::{Corruption, CorruptionKind, Error};
pub use format::*;
pub use iter::ImageEntryIter;
pub use reader::{DEFAULT_MAX_RUN_BYTES, ImageLayer, OpenOptions, format_query_line};
pub use scan::{ImageEntry, SCAN_RUN_BYTES};
pub use stream::ImageEntryStream;
pub use verify::{verify_file, verify_reader};
pub use workload::{ImageWorkload, ImageWorkloadParams, write_image_workload};
pub use writer::{ImageLayerWriter, ImageLayerWriterOptions};

/// An image layer over a type-erased reader: one type for layers opened from a cached file
/// ([`ImageLayer::into_shared`]), from memory or from a caller's own [`BlockReader`]
/// (`ImageLayer::from_reader(SharedReader::new(reader), ..)`).
pub type SharedImageLayer = ImageLayer<SharedReader>;

// The reader types the API above takes, so that depending on strata-image alone is enough
// to open layers of any source.
pub use strata_blob::{
    BlockReader, BoxFuture, DynBlockReader, MemBlockReader, SharedReader, StepStream,
};
