//! The errors of image layer writing and reading.
//!
//! Invariants:
//! * Lower crates' errors map Io→[`Error::Io`] and Corrupt→[`Error::Corrupt`], so
//!   `matches!(e, Error::Corrupt(_))` holds for every error caused by a layer's bytes, whatever
//!   level found it; their other errors keep their own variants ([`Error::Blob`],
//!   [`Error::Btree`]); a full page cache is [`Error::CacheFull`] whichever crate met it.
//! * A [`Corruption`] says what was wrong ([`CorruptionKind`]) and, when the reader knows it,
//!   in which file ([`Corruption::file`]); [`Error::in_file`] adds the file on the way out.

use strata_key::{Key, KeyRange, Lsn};

strata_layer::layer_error! {
    layer: "image layer",
    summary: crate::format::Summary,
    /// An error of an image layer operation.
    pub enum Error {
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
    pub enum CorruptionKind {
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
        /// An index entry's key lies outside the summary's key range (item 14).
        #[error("entry {key} lies outside the summary's key range")]
        KeyOutOfRange {
            /// The entry's key.
            key: Key,
        },
    }
}
