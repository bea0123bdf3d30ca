//! Block I/O and the blob codec of Neon's layer files (FORMAT.md sections 2 and 4).
//!
//! * [`Block`], [`BlockNo`], [`PAGE_SIZE`]: the 8 KiB unit every structure is addressed in.
//! * [`BlockReader`]: async reads of whole blocks; [`MemBlockReader`] serves them from memory.
//! * [`BlockWriter`]: sync, append-only block sinks; [`BlockBuf`] collects them in memory.
//!
//! ```
//! use strata_blob::{BlockBuf, BlockNo, BlockReader, BlockWriter, PAGE_SIZE};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let mut buf = BlockBuf::new();
//! let blkno = buf.write_block(&[7u8; PAGE_SIZE]).unwrap();
//! let reader = buf.into_reader();
//! assert_eq!(reader.read_block(blkno).await.unwrap()[0], 7);
//! assert!(reader.read_block(BlockNo(1)).await.is_err());
//! # });
//! ```

mod block;
mod error;

pub use block::{Block, BlockBuf, BlockNo, BlockReader, BlockWriter, MemBlockReader, PAGE_SIZE};
pub use error::{Corruption, Error};
