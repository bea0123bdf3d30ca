//! Neon's on-disk B-tree (FORMAT.md section 6): a static, bulk-loaded B+-tree of fixed-length
//! keys (`[u8; L]`: 26 bytes in delta layers, 18 in image layers) and 40-bit values, one node
//! per 8 KiB block.
//!
//! * [`DiskBtreeBuilder`] writes the tree through any [`strata_blob::BlockWriter`],
//!   reproducing Neon's builder byte for byte (lazy prefix compression included).
//! * [`DiskBtreeReader`] reads it through any [`strata_blob::BlockReader`]: [`get`], Neon's
//!   [`visit`], an async [`BtreeIter`], and a full [`verify`]. Every structural rule of
//!   FORMAT.md section 9 items 7–13 it meets is checked; bad bytes give
//!   [`Error::Corrupt`], never a panic, a loop or an unbounded allocation.
//! * [`format`](mod@format) holds the node layout as pure functions over blocks; `testing`
//!   holds the model checks the fuzz targets and property tests share.
//!
//! This crate knows nothing of Neon's keys or LSNs: callers encode them into `[u8; L]`.
//!
//! [`get`]: DiskBtreeReader::get
//! [`visit`]: DiskBtreeReader::visit
//! [`verify`]: DiskBtreeReader::verify
//!
//! ```
//! use strata_blob::BlockBuf;
//! use strata_btree::{DiskBtreeBuilder, DiskBtreeReader, VisitDirection};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let mut builder = DiskBtreeBuilder::<_, 4>::new(BlockBuf::new());
//! for i in 0u32..1000 {
//!     builder.append(&(i * 2).to_be_bytes(), u64::from(i)).unwrap();
//! }
//! let (root, blocks) = builder.finish().unwrap();
//! let tree = DiskBtreeReader::<_, 4>::new(0, root, blocks.into_reader());
//!
//! assert_eq!(tree.get(&20u32.to_be_bytes()).await.unwrap(), Some(10));
//! assert_eq!(tree.get(&21u32.to_be_bytes()).await.unwrap(), None);
//!
//! // The three entries at or below key 21, newest first.
//! let mut seen = Vec::new();
//! tree.visit(&21u32.to_be_bytes(), VisitDirection::Backwards, |key, value| {
//!     seen.push((u32::from_be_bytes(*key), value));
//!     seen.len() < 3
//! })
//! .await
//! .unwrap();
//! assert_eq!(seen, [(20, 10), (18, 9), (16, 8)]);
//! assert_eq!(tree.verify().await.unwrap().n_entries, 1000);
//! # });
//! ```

mod error;
pub mod format;
mod leaf_run;
mod reader;
mod stream;
#[doc(hidden)]
pub mod testing;
mod writer;

pub use error::{Corruption, Error, NodeProblem};
pub use format::MAX_VALUE;
pub use reader::{BtreeIter, DiskBtreeReader, ITER_BATCH, TreeStats, VisitDirection};
pub use stream::BtreeStream;
pub use writer::DiskBtreeBuilder;

// The block traits and types this crate's API takes, so that a user needs no other import.
pub use strata_blob::{Block, BlockBuf, BlockNo, BlockReader, BlockWriter, MemBlockReader};
