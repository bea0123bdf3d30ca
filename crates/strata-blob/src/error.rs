//! The errors of block I/O and blob decoding.
//!
//! Invariant: conditions found in the bytes are [`Error::Corrupt`] with a [`Corruption`] naming
//! the offset or block; caller misuse has its own variants; only the OS's errors are
//! [`Error::Io`].

use std::io;

use crate::block::BlockNo;

/// An error of block I/O or blob encoding/decoding.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The operating system reported an I/O error.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The bytes read do not form what they should: see [`Corruption`].
    #[error("corrupt data: {0}")]
    Corrupt(#[from] Corruption),
    /// A blob longer than the format allows (`0x7FFF_FFFF` bytes) was given to a writer.
    #[error("blob of {0} bytes is too large for the format")]
    BlobTooLarge(u64),
    /// A writer failed earlier and refuses further use.
    #[error("writer failed earlier and is poisoned")]
    Poisoned,
    /// A caller asked for an offset outside the bytes it holds (for example a blob offset
    /// outside a [`BlobRun`](crate::BlobRun), or a run that ends before it starts).
    #[error("offset {offset} is outside the range {start}..{end}")]
    OutOfRange {
        /// The offset asked for.
        offset: u64,
        /// First offset of the range.
        start: u64,
        /// First offset after the range.
        end: u64,
    },
    /// More blocks than a block number can address (`u32::MAX`): a file, or a buffer of
    /// written blocks, that large is beyond the format.
    #[error("{n_blocks} blocks are more than the format addresses (u32::MAX)")]
    TooManyBlocks {
        /// The number of blocks asked for.
        n_blocks: u64,
    },
    /// A file being written was used after it was committed or discarded.
    #[error("the file was already committed or discarded")]
    AlreadyFinished,
    /// The async runtime shut down before a file-system call handed to its blocking pool
    /// could run (see [`run_blocking`](crate::run_blocking)).
    #[error("the runtime shut down before a blocking file-system call ran")]
    Shutdown,
    /// Every slot of a page cache stayed held (pinned by readers, or reserved by fills in
    /// flight) for longer than the cache's wait, so a missing block could not be loaded.
    #[error("all {n_slots} page cache slots are pinned")]
    CacheFull {
        /// The cache's number of slots.
        n_slots: usize,
    },
}

/// What was wrong with the bytes, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Corruption {
    /// A block past the end of the source (or a partial last block) was asked for.
    #[error("block {blkno} is past the end of the data ({n_blocks} whole blocks)")]
    BlockPastEnd {
        /// The block asked for.
        blkno: BlockNo,
        /// The number of whole blocks the source has.
        n_blocks: u32,
    },
    /// A blob header or payload runs past the end of the data or the caller's limit.
    #[error("blob at offset {offset}: {len} bytes run past the limit {limit}")]
    BlobPastEnd {
        /// Offset of the blob's first header byte.
        offset: u64,
        /// Length the header claims.
        len: u64,
        /// The first offset the blob may not reach.
        limit: u64,
    },
    /// A blob header itself does not fit before the end of the data or the caller's limit.
    #[error("blob at offset {offset}: header runs past the limit {limit}")]
    HeaderPastEnd {
        /// Offset of the blob's first header byte.
        offset: u64,
        /// The first offset the blob may not reach.
        limit: u64,
    },
    /// A blob header with compression bits this reader does not know.
    #[error("blob at offset {offset}: unknown compression bits {bits:#04x}")]
    UnknownCompression {
        /// Offset of the blob's first header byte.
        offset: u64,
        /// The top nibble of the first header byte.
        bits: u8,
    },
    /// A compressed payload that does not decompress.
    #[error("blob at offset {offset}: compressed payload does not decode")]
    BadCompressedPayload {
        /// Offset of the blob's first header byte.
        offset: u64,
    },
    /// A compressed payload that decompresses to more than the reader accepts.
    #[error("blob at offset {offset}: decompresses to more than {limit} bytes")]
    DecompressedTooLarge {
        /// Offset of the blob's first header byte.
        offset: u64,
        /// The largest decompressed length accepted.
        limit: u64,
    },
}

impl Error {
    /// True for [`Error::Corrupt`].
    pub fn is_corrupt(&self) -> bool {
        matches!(self, Error::Corrupt(_))
    }
}
