//! The crate's errors: [`EndOfWal`] (where and why valid WAL stops, WAL.md 1.9), [`ImageError`]
//! (a block image that cannot be restored), and [`Error`], which wraps both and I/O.
//!
//! Invariant: the `Display` of an [`EndOfWal`] is, word for word, the message PostgreSQL 15's
//! reader gives for the same condition (what `pg_waldump` prints after `error in WAL record at
//! X/Y: `), so a test can compare the two strings.

use std::fmt;
use std::io;

use strata_key::Lsn;

use crate::format::{RECORD_HEADER_LEN, segment_file_name};

/// Any error of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading WAL from a file or stream failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The WAL ends here; everything before it was valid.
    #[error("end of WAL: {0}")]
    EndOfWal(#[from] EndOfWal),
    /// The segment size is not a power of two from 1 MiB to 1 GiB.
    #[error("invalid WAL segment size {0}: must be a power of two from 1 MiB to 1 GiB")]
    InvalidSegmentSize(u64),
    /// A start LSN at or above 2^63.
    #[error("start LSN {0} is out of range")]
    StartTooLarge(Lsn),
    /// A block image that a valid record carries cannot be restored.
    #[error("corrupt block image: {0}")]
    Corrupt(#[from] ImageError),
}

/// The end of valid WAL: the first place where a check of PostgreSQL's reader fails.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct EndOfWal {
    /// What failed, with the positions PostgreSQL names in its message.
    pub reason: EndReason,
    /// Where the next record was expected (the record or page the reason is about).
    pub lsn: Lsn,
    /// The start of the last record decoded before the end, if any (`pg_waldump`'s
    /// `error in WAL record at X/Y`).
    pub last_record: Option<Lsn>,
}

impl EndOfWal {
    /// The line `pg_waldump` prints on stderr for this end (without the program name).
    pub fn waldump_message(&self) -> String {
        let at = self.last_record.unwrap_or(Lsn::INVALID);
        format!("error: error in WAL record at {at}: {}", self.reason)
    }

    /// Whether this is the normal end of a cleanly written WAL: a zero-length record where the
    /// next one would start (the zero-filled tail of the current segment).
    pub fn is_zero_tail(&self) -> bool {
        matches!(self.reason, EndReason::InvalidRecordLength { got: 0, .. })
    }
}

/// Why valid WAL ends (WAL.md 1.7 to 1.9 and 2.5). Each variant's `Display` is PostgreSQL 15's
/// message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndReason {
    /// a. `xl_tot_len` below 24 (0 in a zero-filled tail).
    InvalidRecordLength {
        /// Record start.
        at: Lsn,
        /// `xl_tot_len`.
        got: u32,
    },
    /// `xl_tot_len` above what PostgreSQL would allocate for one record.
    RecordTooLong {
        /// Record start.
        at: Lsn,
        /// `xl_tot_len`.
        tot_len: u32,
    },
    /// b. An rmgr id that is neither builtin nor custom.
    InvalidRmgrId {
        /// Record start.
        at: Lsn,
        /// `xl_rmid`.
        rmid: u8,
    },
    /// c. `xl_prev` is not the previous record (or, for the first record read, not below it).
    IncorrectPrevLink {
        /// Record start.
        at: Lsn,
        /// `xl_prev`.
        prev: Lsn,
    },
    /// d. CRC-32C mismatch.
    Checksum {
        /// Record start.
        at: Lsn,
    },
    /// A record position inside a page header.
    InvalidRecordOffset {
        /// The position.
        at: Lsn,
    },
    /// A record would start where the page says a continuation is.
    ContrecordRequested {
        /// The position.
        at: Lsn,
    },
    /// g. The page after a record's first page lacks `XLP_FIRST_IS_CONTRECORD`.
    NoContrecordFlag {
        /// Record start.
        at: Lsn,
    },
    /// g. `xlp_rem_len` disagrees with what the record still needs.
    InvalidContrecordLength {
        /// Record start.
        at: Lsn,
        /// `xlp_rem_len`.
        rem_len: u32,
        /// What the record still needs.
        expected: u64,
    },
    /// e, f and other page-header checks (WAL.md 1.8).
    Page(PageError),
    /// The record's fragment headers are inconsistent (PostgreSQL's `DecodeXLogRecord`).
    InvalidRecord {
        /// The LSN PostgreSQL names in the message.
        at: Lsn,
        /// What is wrong.
        kind: RecordError,
    },
    /// The input ended (no more bytes will be fed): a missing or truncated segment.
    NoMoreInput {
        /// The first position that was needed.
        at: Lsn,
    },
}

/// A page header check that failed, with the segment file and offset PostgreSQL names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageError {
    /// What is wrong.
    pub kind: PageErrorKind,
    /// The timeline of the segment file (for its name).
    pub tli: u32,
    /// The segment number.
    pub segno: u64,
    /// The segment size (for the name).
    pub seg_size: u64,
    /// The page's offset in its segment.
    pub offset: u64,
}

/// The page-header checks of WAL.md 1.8.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PageErrorKind {
    /// e. `xlp_magic` is not the version's magic.
    InvalidMagic(u16),
    /// Unknown `xlp_info` bits, or no long header at segment offset 0.
    InvalidInfoBits(u16),
    /// `xlp_sysid` differs from the expected system identifier.
    SystemIdMismatch {
        /// In the page.
        wal: u64,
        /// Expected.
        expected: u64,
    },
    /// `xlp_seg_size` differs from the segment size.
    SegmentSizeMismatch,
    /// `xlp_xlog_blcksz` is not 8192.
    BlockSizeMismatch,
    /// f. `xlp_pageaddr` is not the page's own position.
    UnexpectedPageAddr(Lsn),
    /// The timeline went backwards.
    OutOfSequenceTimeline {
        /// `xlp_tli`.
        tli: u32,
        /// The previous page's timeline.
        after: u32,
    },
}

/// `DecodeXLogRecord`'s checks of the fragment headers (WAL.md 2.5).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordError {
    /// Block ids must increase.
    OutOfOrderBlockId(u8),
    /// `BKPBLOCK_HAS_DATA` with `data_length` 0.
    HasDataWithoutData,
    /// `data_length` without `BKPBLOCK_HAS_DATA`.
    DataWithoutHasData(u16),
    /// `BKPIMAGE_HAS_HOLE` with an empty hole or a full-size image.
    BadHole {
        /// `hole_offset`.
        offset: u16,
        /// `hole_length`.
        length: u16,
        /// `bimg_len`.
        bimg_len: u16,
    },
    /// A hole described without `BKPIMAGE_HAS_HOLE`.
    HoleWithoutFlag {
        /// `hole_offset`.
        offset: u16,
        /// `hole_length`.
        length: u16,
    },
    /// A compressed image as long as a page.
    CompressedFullPage(u16),
    /// An uncompressed hole-less image that is not a page long.
    BadImageLength(u16),
    /// `BKPBLOCK_SAME_REL` on the first block reference.
    SameRelWithoutPrevious,
    /// A fragment id that is not a block, origin, top-level xid or main-data header.
    InvalidBlockId(u8),
    /// The headers overrun the record or the payloads do not fill it exactly.
    InvalidLength,
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndReason::InvalidRecordLength { at, got } => write!(
                f,
                "invalid record length at {at}: wanted {RECORD_HEADER_LEN}, got {got}"
            ),
            EndReason::RecordTooLong { at, tot_len } => {
                write!(f, "record length {tot_len} at {at} too long")
            }
            EndReason::InvalidRmgrId { at, rmid } => {
                write!(f, "invalid resource manager ID {rmid} at {at}")
            }
            EndReason::IncorrectPrevLink { at, prev } => {
                write!(f, "record with incorrect prev-link {prev} at {at}")
            }
            EndReason::Checksum { at } => write!(
                f,
                "incorrect resource manager data checksum in record at {at}"
            ),
            EndReason::InvalidRecordOffset { at } => write!(f, "invalid record offset at {at}"),
            EndReason::ContrecordRequested { at } => write!(f, "contrecord is requested by {at}"),
            EndReason::NoContrecordFlag { at } => write!(f, "there is no contrecord flag at {at}"),
            EndReason::InvalidContrecordLength {
                at,
                rem_len,
                expected,
            } => write!(
                f,
                "invalid contrecord length {rem_len} (expected {expected}) at {at}"
            ),
            EndReason::Page(page) => fmt::Display::fmt(page, f),
            EndReason::InvalidRecord { at, kind } => match kind {
                RecordError::OutOfOrderBlockId(id) => {
                    write!(f, "out-of-order block_id {id} at {at}")
                }
                RecordError::HasDataWithoutData => {
                    write!(f, "BKPBLOCK_HAS_DATA set, but no data included at {at}")
                }
                RecordError::DataWithoutHasData(len) => write!(
                    f,
                    "BKPBLOCK_HAS_DATA not set, but data length is {len} at {at}"
                ),
                RecordError::BadHole {
                    offset,
                    length,
                    bimg_len,
                } => write!(
                    f,
                    "BKPIMAGE_HAS_HOLE set, but hole offset {offset} length {length} block image length {bimg_len} at {at}"
                ),
                RecordError::HoleWithoutFlag { offset, length } => write!(
                    f,
                    "BKPIMAGE_HAS_HOLE not set, but hole offset {offset} length {length} at {at}"
                ),
                RecordError::CompressedFullPage(len) => write!(
                    f,
                    "BKPIMAGE_COMPRESSED set, but block image length {len} at {at}"
                ),
                RecordError::BadImageLength(len) => write!(
                    f,
                    "neither BKPIMAGE_HAS_HOLE nor BKPIMAGE_COMPRESSED set, but block image length is {len} at {at}"
                ),
                RecordError::SameRelWithoutPrevious => {
                    write!(f, "BKPBLOCK_SAME_REL set but no previous rel at {at}")
                }
                RecordError::InvalidBlockId(id) => write!(f, "invalid block_id {id} at {at}"),
                RecordError::InvalidLength => write!(f, "record with invalid length at {at}"),
            },
            EndReason::NoMoreInput { at } => write!(f, "no more WAL input at {at}"),
        }
    }
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = segment_file_name(self.tli, self.segno, self.seg_size);
        let offset = self.offset;
        match &self.kind {
            PageErrorKind::InvalidMagic(m) => write!(
                f,
                "invalid magic number {m:04X} in log segment {file}, offset {offset}"
            ),
            PageErrorKind::InvalidInfoBits(i) => write!(
                f,
                "invalid info bits {i:04X} in log segment {file}, offset {offset}"
            ),
            PageErrorKind::SystemIdMismatch { wal, expected } => write!(
                f,
                "WAL file is from different database system: WAL file database system identifier is {wal}, pg_control database system identifier is {expected}"
            ),
            PageErrorKind::SegmentSizeMismatch => f.write_str(
                "WAL file is from different database system: incorrect segment size in page header",
            ),
            PageErrorKind::BlockSizeMismatch => f.write_str(
                "WAL file is from different database system: incorrect XLOG_BLCKSZ in page header",
            ),
            PageErrorKind::UnexpectedPageAddr(addr) => write!(
                f,
                "unexpected pageaddr {addr} in log segment {file}, offset {offset}"
            ),
            PageErrorKind::OutOfSequenceTimeline { tli, after } => write!(
                f,
                "out-of-sequence timeline ID {tli} (after {after}) in log segment {file}, offset {offset}"
            ),
        }
    }
}

/// Why a block image could not be restored to a page (WAL.md 2.9).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The block reference has no image.
    #[error("block reference has no image")]
    NoImage,
    /// More than one compression bit, or a method this version does not have.
    #[error("image compressed with unknown method (bimg_info {0:#04x})")]
    UnknownCompression(u8),
    /// `hole_offset + hole_length` or the image length does not fit a page.
    #[error("image hole {offset}+{length} with {bimg_len} stored bytes does not make a page")]
    BadGeometry {
        /// `hole_offset`.
        offset: u16,
        /// `hole_length`.
        length: u16,
        /// `bimg_len`.
        bimg_len: u16,
    },
    /// pglz data is corrupt or does not decompress to exactly the expected length.
    #[error("invalid pglz data: {0}")]
    Pglz(&'static str),
    /// LZ4 block data is corrupt.
    #[error("invalid lz4 data")]
    Lz4(#[source] lz4_flex::block::DecompressError),
    /// zstd frame data is corrupt.
    #[error("invalid zstd data")]
    Zstd(#[source] io::Error),
    /// Decompression gave the wrong number of bytes.
    #[error("image decompressed to {got} bytes, expected {expected}")]
    WrongLength {
        /// Bytes produced.
        got: usize,
        /// `8192 - hole_length`.
        expected: usize,
    },
}
