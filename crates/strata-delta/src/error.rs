//! The errors of delta layer writing and reading.
//!
//! Invariants:
//! * Lower crates' errors map Io→[`Error::Io`] and Corrupt→[`Error::Corrupt`], so
//!   `matches!(e, Error::Corrupt(_))` holds for every error caused by a layer's bytes, whatever
//!   level found it; the same holds for [`Error::CacheFull`] (a page cache whose slots all
//!   stayed pinned, hit by the blob reads or by the B-tree); their other errors keep their own
//!   variants ([`Error::Blob`], [`Error::Btree`]).
//! * A [`Corruption`] says what was wrong ([`CorruptionKind`]) and, when the reader knows it,
//!   in which file ([`Corruption::file`]); [`Error::in_file`] adds the file on the way out.

use strata_key::{Key, Lsn, LsnRange};

use crate::value::ValueError;

strata_layer::layer_error! {
    layer: "delta layer",
    summary: crate::format::Summary,
    /// An error of a delta layer operation.
    pub enum Error {
        /// A writer was given a (key, LSN) not strictly after the previous one.
        #[error("unsorted input: {key}@{} after {last_key}@{}", .lsn.to_hex16(), .last_lsn.to_hex16())]
        Unsorted {
            /// The key given.
            key: Key,
            /// The LSN given.
            lsn: Lsn,
            /// The previous entry's key.
            last_key: Key,
            /// The previous entry's LSN.
            last_lsn: Lsn,
        },
        /// A writer was given an LSN outside its layer's LSN range.
        #[error("LSN {} is outside the layer's range {}..{}", .lsn.to_hex16(), .lsn_range.start.to_hex16(), .lsn_range.end.to_hex16())]
        LsnOutOfRange {
            /// The LSN given.
            lsn: Lsn,
            /// The layer's LSN range.
            lsn_range: LsnRange,
        },
        /// A writer was given a key outside its layer's key range (below the start key, or, at
        /// `finish`, an end key not above every key written).
        #[error("key {key} is outside the layer's range {start}..{end}")]
        KeyOutOfRange {
            /// The offending key.
            key: Key,
            /// Start of the layer's key range.
            start: Key,
            /// End of the layer's key range (`Key::MAX` while it is not known yet).
            end: Key,
        },
        /// A writer was asked for a layer with an empty LSN range (`start >= end`).
        #[error("invalid LSN range {}..{}: a layer needs start < end", .start.to_hex16(), .end.to_hex16())]
        InvalidLsnRange {
            /// Start of the range.
            start: Lsn,
            /// End of the range.
            end: Lsn,
        },
        /// A writer was finished without any entry: an empty delta layer cannot be written.
        #[error("a delta layer needs at least one entry")]
        EmptyLayer,
        /// The finished layer would be larger than the writer's limit
        /// ([`MAX_LAYER_FILE_SIZE`](crate::MAX_LAYER_FILE_SIZE) by default); the file is removed.
        #[error("layer file of {size} bytes exceeds the limit of {limit} bytes")]
        FileTooLarge {
            /// The file's size (at least; found while writing or at finish).
            size: u64,
            /// The limit.
            limit: u64,
        },
        /// Serialized value bytes given to a writer do not start like a [`Value`](crate::Value).
        #[error("invalid value bytes for {key}@{}: {error}", .lsn.to_hex16())]
        InvalidValue {
            /// The key given.
            key: Key,
            /// The LSN given.
            lsn: Lsn,
            /// What is wrong.
            #[source]
            error: ValueError,
        },
        /// Serialized value bytes given to a writer have a will_init flag other than the one
        /// given with them (the B-tree's flag must equal the value's, FORMAT.md section 5.3).
        #[error("value bytes for {key}@{} have will_init {}, but {given} was given", .lsn.to_hex16(), !.given)]
        WillInitMismatch {
            /// The key given.
            key: Key,
            /// The LSN given.
            lsn: Lsn,
            /// The flag given.
            given: bool,
        },
        /// The writer failed earlier (its temp file is gone) and refuses further use.
        #[error("the layer writer failed earlier and is poisoned")]
        Poisoned,
    }
    /// What was wrong with a layer's bytes, and where.
    pub enum CorruptionKind {
        /// Fewer than the 96 bytes of a summary were given to [`Summary::decode`](crate::Summary::decode).
        #[error("summary needs 96 bytes, got {len}")]
        SummaryTooShort {
            /// Bytes given.
            len: usize,
        },
        /// A blob's payload is not exactly one serialized [`Value`](crate::Value) (item 17).
        #[error("value at offset {offset:#x}: {error}")]
        Value {
            /// File offset of the blob.
            offset: u64,
            /// What is wrong with the bytes.
            #[source]
            error: ValueError,
        },
        /// The summary's LSN range is empty (item 3).
        #[error("empty LSN range {}..{}", .start.to_hex16(), .end.to_hex16())]
        EmptyLsnRange {
            /// Start of the range.
            start: Lsn,
            /// End of the range.
            end: Lsn,
        },
        /// An index entry's key or LSN lies outside the summary's ranges (item 14; found by full
        /// scans).
        #[error("entry {key}@{} lies outside the summary's key or LSN range", .lsn.to_hex16())]
        EntryOutOfRange {
            /// The entry's key.
            key: Key,
            /// The entry's LSN.
            lsn: Lsn,
        },
        /// A BlobRef's will_init bit differs from its value's `will_init()` (item 18; found when
        /// a full scan loads the value).
        #[error("blob at {offset:#x}: BlobRef will_init bit {bit} but the value's will_init() is {}", !.bit)]
        WillInitMismatch {
            /// File offset of the blob.
            offset: u64,
            /// The BlobRef's bit.
            bit: bool,
        },
    }
}
