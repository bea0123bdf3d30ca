//! The errors of image layer writing and reading.
//!
//! Invariants:
//! * Lower crates' errors map Io→[`Error::Io`] and Corrupt→[`Error::Corrupt`], so
//!   `matches!(e, Error::Corrupt(_))` holds for every error caused by a layer's bytes, whatever
//!   level found it; their other errors keep their own variants ([`Error::Blob`],
//!   [`Error::Btree`]); a full page cache is [`Error::CacheFull`] whichever crate met it.
//! * A [`Corruption`] says what was wrong ([`CorruptionKind`]) and, when the reader knows it,
//!   in which file ([`Corruption::file`]); [`Error::in_file`] adds the file on the way out.

use std::io;

use strata_key::{Key, KeyRange, Lsn};
use strata_layer::SummaryProblem;

/// An error of an image layer operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The operating system reported an I/O error.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The layer's bytes break a rule of the format: see [`Corruption`].
    #[error(transparent)]
    Corrupt(Corruption),
    /// Every slot of the page cache the layer is read through stayed pinned for longer than
    /// the cache's wait, whichever lower crate met it (the same shape as `strata-delta`'s).
    #[error("all {n_slots} page cache slots are pinned")]
    CacheFull {
        /// The cache's number of slots.
        n_slots: usize,
    },
    /// Another error of the blob layer (neither I/O nor corruption), e.g. an image too large
    /// for a blob.
    #[error("blob layer: {0}")]
    Blob(#[source] strata_blob::Error),
    /// Another error of the B-tree (neither I/O nor corruption).
    #[error("B-tree: {0}")]
    Btree(#[source] strata_btree::Error),
    /// A writer was given a key not strictly after the previous one.
    #[error("unsorted input: key {key} after {last}")]
    Unsorted {
        /// The key given.
        key: Key,
        /// The previous key.
        last: Key,
    },
    /// A writer was given a key outside its layer's key range (Neon: `ensure!`).
    #[error("key {key} is outside the layer's range {}..{}", .key_range.start, .key_range.end)]
    KeyOutOfRange {
        /// The key given.
        key: Key,
        /// The layer's key range.
        key_range: KeyRange,
    },
    /// A writer was asked for a layer with an empty key range.
    #[error("invalid key range {start}..{end}: a layer needs start < end")]
    InvalidKeyRange {
        /// Start of the range.
        start: Key,
        /// End of the range.
        end: Key,
    },
    /// A writer was asked for a layer at LSN `u64::MAX`, whose range `lsn..lsn+1` does not fit.
    #[error("invalid image layer LSN {}: its range lsn..lsn+1 does not fit", .lsn.to_hex16())]
    InvalidLsn {
        /// The LSN given.
        lsn: Lsn,
    },
    /// A writer was finished without any image. Neon's writer panics there (its B-tree builder
    /// asserts a node has an entry); an empty image layer cannot be written.
    #[error("an image layer needs at least one image")]
    EmptyLayer,
    /// The layer would need more than `u32::MAX` blocks; the file is removed.
    #[error("image layer of at least {size} bytes is too large for 32-bit block numbers")]
    FileTooLarge {
        /// The file's size (at least).
        size: u64,
    },
    /// The writer failed earlier (its temp file is gone) and refuses further use.
    #[error("the layer writer failed earlier and is poisoned")]
    Poisoned,
}

/// What was wrong with a layer's bytes, and where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CorruptionKind {
    /// The block layer found the data wrong (a block past the end, a blob running past its
    /// limit, a bad compressed frame, …).
    #[error(transparent)]
    Block(strata_blob::Corruption),
    /// The B-tree index breaks a rule (FORMAT.md section 9 items 7–13).
    #[error(transparent)]
    Btree(strata_btree::Corruption),
    /// A summary rule both layer kinds share (items 1, 2, 3, 5).
    #[error(transparent)]
    Summary(SummaryProblem),
    /// Fewer than the 88 bytes of a summary were given to [`Summary::decode`](crate::Summary::decode).
    #[error("summary needs 88 bytes, got {len}")]
    SummaryTooShort {
        /// Bytes given.
        len: usize,
    },
    /// The summary's LSN is `u64::MAX`: its range `lsn..lsn+1` does not fit (item 3).
    #[error("layer LSN {} has no range lsn..lsn+1", .lsn.to_hex16())]
    LsnOverflow {
        /// The LSN found.
        lsn: Lsn,
    },
    /// The summary differs from the one the caller expected (item 4; the index fields are
    /// not compared).
    #[error("summary {found:?} differs from the expected {expected:?}")]
    SummaryMismatch {
        /// The expected summary, with the file's index fields.
        expected: Box<crate::format::Summary>,
        /// The file's summary.
        found: Box<crate::format::Summary>,
    },
    /// Blob offsets do not increase in key order (item 16).
    #[error("blob offset {next_offset:#x} follows offset {offset:#x} in key order")]
    OffsetsNotIncreasing {
        /// Offset of an entry's blob.
        offset: u64,
        /// Offset of the next entry's blob, not greater.
        next_offset: u64,
    },
    /// An index entry's key lies outside the summary's key range (item 14).
    #[error("entry {key} lies outside the summary's key range")]
    KeyOutOfRange {
        /// The entry's key.
        key: Key,
    },
    /// A blob offset lies outside the value area `[8192, index_start_blk * 8192)` (item 15).
    #[error("blob offset {offset:#x} is outside the value area 0x2000..{value_area_end:#x}")]
    BlobOutsideValueArea {
        /// The blob's offset.
        offset: u64,
        /// `index_start_blk * 8192`.
        value_area_end: u64,
    },
}

strata_layer::layer_error!("image layer");

impl From<SummaryProblem> for Error {
    fn from(p: SummaryProblem) -> Error {
        Error::corrupt(CorruptionKind::Summary(p))
    }
}
