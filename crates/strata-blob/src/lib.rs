//! Block I/O and the blob codec of Neon's layer files (FORMAT.md sections 2 and 4).
//!
//! * [`Block`], [`BlockNo`], [`PAGE_SIZE`]: the 8 KiB unit every structure is addressed in.
//! * [`BlockReader`]: async reads of whole blocks; [`MemBlockReader`] serves them from memory,
//!   [`FileBlockReader`] from one open file, and a [`FileTable`] hands out [`TableFile`]s
//!   that share a bounded number of descriptors.
//! * [`BlockWriter`]: sync, append-only block sinks; [`BlockBuf`] collects them in memory.
//! * The blob codec ([`encode_header`], [`decode_header`], [`decode_blob`], [`blob_size`]) and
//!   the [`BlobWriter`] that appends blobs to a [`WriteFile`].
//! * The blob read core every layer reader uses, async over any reader:
//!   - [`BlobCursor`] for scattered reads through a page cache: a payload inside one block is a
//!     slice of the cached page ([`Payload::Block`], no copy), one spanning blocks is copied
//!     once ([`Payload::Owned`]); it holds one block at a time.
//!   - [`BlobRunReader`] for reads in runs of blocks with one I/O each, through one reused
//!     buffer: planned runs ([`BlobRunReader::load`]) or sequential read-ahead
//!     ([`BlobRunReader::blob`]).
//!   - one-shot forms: [`read_blob_into`] for one blob, [`read_run`] for one run.
//! * Type erasure: [`DynBlockReader`] is the `dyn`-compatible form of [`BlockReader`] (boxed
//!   futures), implemented for every reader; [`SharedReader`] is a cheap-to-clone handle to
//!   any reader and a [`BlockReader`] itself, so layers opened in different ways share a type.
//! * [`StepStream`]: a `futures_core::Stream` over an async iterator's state, which the layer
//!   crates' entry iterators turn into.
//! * [`run_blocking`] / [`open_table_file`]: file-system calls off a tokio multi-thread
//!   runtime's worker threads (inline elsewhere); block reads stay inline `pread`s.
//! * [`Fs`] / [`WriteFile`]: the filesystem surface writers use, real ([`StdFs`]) or with
//!   faults injected (in tests: `testing::fault::FaultyFs`).
//!
//! Readers are async and take `&self`, and need no particular runtime (the tests use tokio);
//! writers are synchronous and single-owner.
//!
//! ```
//! use strata_blob::{BlobWriter, BlockNo, BlockReader, MemBlockReader, PAGE_SIZE, read_blob_into};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! // Blobs are appended from byte 8192 on, as in a layer file.
//! let mut writer = BlobWriter::new(Vec::new(), PAGE_SIZE as u64);
//! let small = writer.write_blob(b"hello").unwrap();
//! let big = writer.write_blob(&[7u8; 10_000]).unwrap();
//! let end = writer.size();
//! let mut bytes = writer.into_inner().unwrap();
//! bytes.resize(bytes.len().next_multiple_of(PAGE_SIZE), 0);
//!
//! let reader = MemBlockReader::from_bytes(&bytes);
//! let mut buf = Vec::new();
//! read_blob_into(&reader, small, end, &mut buf).await.unwrap();
//! assert_eq!(buf, b"hello");
//! read_blob_into(&reader, big, end, &mut buf).await.unwrap();
//! assert_eq!(buf, [7u8; 10_000]);
//! // A limit the blob would cross is an error, found before allocating.
//! assert!(read_blob_into(&reader, big, end - 1, &mut buf).await.unwrap_err().is_corrupt());
//! assert!(reader.read_block(BlockNo(3)).await.is_err());
//! # });
//! ```

mod block;
mod dyn_reader;
mod error;
mod file;
mod file_table;
mod format;
mod fs;
mod gather;
mod offload;
mod reader;
mod run;
mod slab;
mod stream;
#[doc(hidden)]
pub mod testing;
mod writer;

pub use block::{
    Block, BlockBuf, BlockNo, BlockReader, BlockWriter, MAX_RUN_PAGES, MemBlockReader, PAGE_SIZE,
    PageRun, PageRunBuilder, check_byte_range,
};
pub use dyn_reader::{BoxFuture, DynBlockReader, SharedReader};
pub use error::{Corruption, Error};
pub use file::FileBlockReader;
pub use file_table::{FileTable, FileTableStats, TableFile};
pub use format::{
    BlobHeader, BlobReadOptions, BlobSpan, COMPRESSION_BITS_MASK, COMPRESSION_BITS_NONE,
    COMPRESSION_BITS_ZSTD, Compression, HEADER_PEEK_LEN, HeaderMode, LONG_HEADER_FLAG,
    LONG_HEADER_LEN, MAX_BLOB_LEN, MAX_COMPRESSED_FORMAT_LEN, SHORT_HEADER_LEN, SHORT_HEADER_LIMIT,
    ZSTD_FRAME_MAGIC, blob_size, check_span, decode_blob, decode_header, decompress_into,
    encode_header, encode_zstd_header, header_len, header_peek_len,
};
pub use fs::{Fs, StdFs, WriteFile, write_all_at};
pub use gather::{Gathered, gather_payloads};
pub use offload::{open_table_file, run_blocking};
pub use reader::{BlobCursor, Payload, read_blob_into, read_blob_with};
pub use run::{BlobRun, BlobRunReader, SHARE_MIN_LEN, read_run, read_run_with};
pub use slab::{PAGES_PER_EXTENT, PageSlab};
pub use stream::{Step, StepStream};
pub use writer::{BlobWriter, BlobWriterOptions, DEFAULT_WRITE_BUFFER_SIZE};
