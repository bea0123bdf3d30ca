//! On-disk constants and pure codecs of PostgreSQL WAL (`../shared/WAL.md` sections 1 and 2):
//! page headers (short and long), the 24-byte record header, block-reference and image-header
//! bits, per-version magic numbers, CRC-32C, and segment arithmetic.
//!
//! Invariants: no I/O; every parser takes a slice and returns `None` when it is too short, so no
//! function here indexes past its input or panics on any byte string.

#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use strata_key::Lsn;

/// WAL page size (`XLOG_BLCKSZ`).
pub const WAL_PAGE_SIZE: usize = 8192;
/// Data page size (`BLCKSZ`): what a restored image holds.
pub const BLCKSZ: usize = 8192;
/// The default WAL segment size, 16 MiB (and what Neon hard-codes).
pub const DEFAULT_SEGMENT_SIZE: u64 = 16 * 1024 * 1024;
/// `MAXALIGN` on the platforms PostgreSQL WAL comes from.
pub const MAXALIGN: u64 = 8;

/// Short page header length on disk (`SizeOfXLogShortPHD`, 20 bytes padded to 24).
pub const SHORT_PAGE_HEADER_LEN: usize = 24;
/// Long page header length (`SizeOfXLogLongPHD`): first page of every segment.
pub const LONG_PAGE_HEADER_LEN: usize = 40;
/// Record header length (`SizeOfXLogRecord`).
pub const RECORD_HEADER_LEN: usize = 24;
/// Offset of `xl_crc` in the record header; the CRC covers the header bytes before it.
pub const RECORD_CRC_OFFSET: usize = 20;

/// `xlp_info`: the page starts with the continuation of an earlier record.
pub const XLP_FIRST_IS_CONTRECORD: u16 = 0x0001;
/// `xlp_info`: the page has a long header.
pub const XLP_LONG_HEADER: u16 = 0x0002;
/// `xlp_info`: no online backup forced page writes (informational).
pub const XLP_BKP_REMOVABLE: u16 = 0x0004;
/// `xlp_info`: the page replaces a continuation lost in a crash.
pub const XLP_FIRST_IS_OVERWRITE_CONTRECORD: u16 = 0x0008;
/// Every valid `xlp_info` bit.
pub const XLP_ALL_FLAGS: u16 = 0x000F;

/// The generic low nibble of `xl_info`.
pub const XLR_INFO_MASK: u8 = 0x0F;
/// The rmgr-specific high nibble of `xl_info`.
pub const XLR_RMGR_INFO_MASK: u8 = 0xF0;

/// Largest block reference id.
pub const XLR_MAX_BLOCK_ID: u8 = 32;
/// Fragment id: top-level xid of a subtransaction.
pub const XLR_BLOCK_ID_TOPLEVEL_XID: u8 = 252;
/// Fragment id: replication origin.
pub const XLR_BLOCK_ID_ORIGIN: u8 = 253;
/// Fragment id: main data, u32 length.
pub const XLR_BLOCK_ID_DATA_LONG: u8 = 254;
/// Fragment id: main data, u8 length.
pub const XLR_BLOCK_ID_DATA_SHORT: u8 = 255;

/// `fork_flags`: the fork number.
pub const BKPBLOCK_FORK_MASK: u8 = 0x0F;
/// `fork_flags`: a full-page image follows.
pub const BKPBLOCK_HAS_IMAGE: u8 = 0x10;
/// `fork_flags`: rmgr data for the block follows.
pub const BKPBLOCK_HAS_DATA: u8 = 0x20;
/// `fork_flags`: redo re-initialises the page.
pub const BKPBLOCK_WILL_INIT: u8 = 0x40;
/// `fork_flags`: the relation is the previous block's.
pub const BKPBLOCK_SAME_REL: u8 = 0x80;

/// `bimg_info`: the image has a hole (all versions).
pub const BKPIMAGE_HAS_HOLE: u8 = 0x01;

/// `rmid` of XLOG, whose `SWITCH` record ends a segment early.
pub const RM_XLOG_ID: u8 = 0;
/// `xl_info & 0xF0` of XLOG SWITCH.
pub const XLOG_SWITCH: u8 = 0x40;

/// Largest allocation PostgreSQL makes for one record (`MaxAllocSize`); longer is corrupt.
pub const MAX_RECORD_LEN: u32 = 0x3FFF_FFFF;

const _: () = assert!(SHORT_PAGE_HEADER_LEN + RECORD_HEADER_LEN <= WAL_PAGE_SIZE);
const _: () = assert!(LONG_PAGE_HEADER_LEN % MAXALIGN as usize == 0);

/// A PostgreSQL major version, told apart by the page magic (WAL.md 1.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PgVersion {
    /// PostgreSQL 14, magic `0xD10D`.
    V14,
    /// PostgreSQL 15, magic `0xD110`.
    V15,
    /// PostgreSQL 16, magic `0xD113`.
    V16,
}

impl PgVersion {
    /// The `xlp_magic` of this version.
    pub const fn magic(self) -> u16 {
        match self {
            PgVersion::V14 => 0xD10D,
            PgVersion::V15 => 0xD110,
            PgVersion::V16 => 0xD113,
        }
    }

    /// The version whose magic is `magic`.
    pub const fn from_magic(magic: u16) -> Option<PgVersion> {
        match magic {
            0xD10D => Some(PgVersion::V14),
            0xD110 => Some(PgVersion::V15),
            0xD113 => Some(PgVersion::V16),
            _ => None,
        }
    }

    /// The `bimg_info` bit meaning "restore this image at redo".
    pub const fn bkpimage_apply(self) -> u8 {
        match self {
            PgVersion::V14 => 0x04,
            PgVersion::V15 | PgVersion::V16 => 0x02,
        }
    }

    /// The compression method `bimg_info` names (WAL.md 2.7).
    pub const fn compression(self, bimg_info: u8) -> Compression {
        match self {
            PgVersion::V14 => {
                if bimg_info & 0x02 != 0 {
                    Compression::Pglz
                } else {
                    Compression::None
                }
            }
            PgVersion::V15 | PgVersion::V16 => match bimg_info & 0x1C {
                0 => Compression::None,
                0x04 => Compression::Pglz,
                0x08 => Compression::Lz4,
                0x10 => Compression::Zstd,
                _ => Compression::Unknown,
            },
        }
    }

    /// Largest builtin resource manager id (custom ids 128..=255 exist from 15 on).
    pub const fn is_valid_rmid(self, rmid: u8) -> bool {
        match self {
            PgVersion::V14 => rmid <= 21,
            PgVersion::V15 | PgVersion::V16 => rmid <= 21 || rmid >= 128,
        }
    }
}

/// How a block image is compressed (`bimg_info`, WAL.md 2.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Stored as is.
    None,
    /// PostgreSQL's own LZ (`wal_compression = pglz`).
    Pglz,
    /// An LZ4 block.
    Lz4,
    /// A zstd frame.
    Zstd,
    /// More than one method bit: PostgreSQL cannot restore it either.
    Unknown,
}

impl Compression {
    /// The name `pg_waldump -b` prints after `method: `.
    pub const fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Pglz => "pglz",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
            Compression::Unknown => "unknown",
        }
    }
}

/// A WAL page header (`XLogPageHeaderData`, plus the long form's fields when present).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageHeader {
    /// `xlp_magic`.
    pub magic: u16,
    /// `xlp_info`.
    pub info: u16,
    /// `xlp_tli`.
    pub tli: u32,
    /// `xlp_pageaddr`.
    pub pageaddr: Lsn,
    /// `xlp_rem_len`.
    pub rem_len: u32,
    /// `(xlp_sysid, xlp_seg_size, xlp_xlog_blcksz)` of a long header.
    pub long: Option<LongPageHeader>,
}

/// The fields only the long page header has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LongPageHeader {
    /// `xlp_sysid`: the database system identifier.
    pub sysid: u64,
    /// `xlp_seg_size`.
    pub seg_size: u32,
    /// `xlp_xlog_blcksz`.
    pub xlog_blcksz: u32,
}

impl PageHeader {
    /// Parses the header at the start of `page`; `None` if `page` is shorter than the header
    /// its `xlp_info` announces.
    pub fn parse(page: &[u8]) -> Option<PageHeader> {
        let info = le_u16(page, 2)?;
        let long = if info & XLP_LONG_HEADER != 0 {
            Some(LongPageHeader {
                sysid: le_u64(page, 24)?,
                seg_size: le_u32(page, 32)?,
                xlog_blcksz: le_u32(page, 36)?,
            })
        } else {
            None
        };
        // 20..24 is padding, but it is part of the header on disk.
        page.get(..SHORT_PAGE_HEADER_LEN)?;
        Some(PageHeader {
            magic: le_u16(page, 0)?,
            info,
            tli: le_u32(page, 4)?,
            pageaddr: Lsn(le_u64(page, 8)?),
            rem_len: le_u32(page, 16)?,
            long,
        })
    }

    /// The header's size on disk: 40 with `XLP_LONG_HEADER`, else 24.
    pub fn header_len(&self) -> usize {
        header_len(self.info)
    }

    /// Whether `xlp_info` has `flag`.
    pub fn has(&self, flag: u16) -> bool {
        self.info & flag != 0
    }
}

/// The header size a page with this `xlp_info` has.
pub const fn header_len(info: u16) -> usize {
    if info & XLP_LONG_HEADER != 0 {
        LONG_PAGE_HEADER_LEN
    } else {
        SHORT_PAGE_HEADER_LEN
    }
}

/// The 24-byte record header (`XLogRecord`, WAL.md 2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    /// `xl_tot_len`: the whole record, this header included.
    pub tot_len: u32,
    /// `xl_xid`.
    pub xid: u32,
    /// `xl_prev`: start of the previous record.
    pub prev: Lsn,
    /// `xl_info`.
    pub info: u8,
    /// `xl_rmid`.
    pub rmid: u8,
    /// `xl_crc`.
    pub crc: u32,
}

impl RecordHeader {
    /// Parses the first 24 bytes of `bytes`; `None` if shorter.
    pub fn parse(bytes: &[u8]) -> Option<RecordHeader> {
        bytes.get(..RECORD_HEADER_LEN)?;
        Some(RecordHeader {
            tot_len: le_u32(bytes, 0)?,
            xid: le_u32(bytes, 4)?,
            prev: Lsn(le_u64(bytes, 8)?),
            info: *bytes.get(16)?,
            rmid: *bytes.get(17)?,
            crc: le_u32(bytes, 20)?,
        })
    }

    /// Whether this is XLOG SWITCH, after which the rest of the segment is unused.
    pub fn is_switch(&self) -> bool {
        self.rmid == RM_XLOG_ID && self.info & XLR_RMGR_INFO_MASK == XLOG_SWITCH
    }
}

/// CRC-32C of a reassembled record as PostgreSQL computes it: the bytes after the header, then
/// the header up to `xl_crc` (WAL.md 2.4). `None` if `record` is shorter than a header.
pub fn record_crc(record: &[u8]) -> Option<u32> {
    let head = record.get(..RECORD_CRC_OFFSET)?;
    let body = record.get(RECORD_HEADER_LEN..)?;
    Some(crc32c::crc32c_append(crc32c::crc32c(body), head))
}

/// `x` rounded up to a multiple of 8, saturating at the largest aligned value.
pub const fn maxalign(x: u64) -> u64 {
    match x.checked_add(MAXALIGN - 1) {
        Some(v) => v & !(MAXALIGN - 1),
        None => !(MAXALIGN - 1),
    }
}

/// The segment number holding `lsn`.
pub const fn segno(lsn: Lsn, seg_size: u64) -> u64 {
    lsn.0 / seg_size
}

/// The file name of segment `segno` on timeline `tli` (24 upper-case hex digits, WAL.md 1.1).
pub fn segment_file_name(tli: u32, segno: u64, seg_size: u64) -> String {
    let per_log = segments_per_log(seg_size);
    format!("{tli:08X}{:08X}{:08X}", segno / per_log, segno % per_log)
}

/// `(timeline, segno)` of a segment file name (optionally ending in `.partial`).
pub fn parse_segment_file_name(name: &str, seg_size: u64) -> Option<(u32, u64)> {
    let name = name.strip_suffix(".partial").unwrap_or(name);
    if name.len() != 24 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let tli = u32::from_str_radix(name.get(..8)?, 16).ok()?;
    let log = u64::from_str_radix(name.get(8..16)?, 16).ok()?;
    let seg = u64::from_str_radix(name.get(16..24)?, 16).ok()?;
    let per_log = segments_per_log(seg_size);
    if seg >= per_log {
        return None;
    }
    Some((tli, log.checked_mul(per_log)?.checked_add(seg)?))
}

/// Whether `seg_size` is a segment size PostgreSQL allows: a power of two, 1 MiB to 1 GiB.
pub const fn is_valid_segment_size(seg_size: u64) -> bool {
    seg_size.is_power_of_two() && seg_size >= 1 << 20 && seg_size <= 1 << 30
}

fn segments_per_log(seg_size: u64) -> u64 {
    (1u64 << 32) / seg_size.max(1)
}

/// Little-endian u16 at `off`, if in bounds.
pub fn le_u16(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(off..off.checked_add(2)?)?.try_into().ok()?,
    ))
}

/// Little-endian u32 at `off`, if in bounds.
pub fn le_u32(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(off..off.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// Little-endian u64 at `off`, if in bounds.
pub fn le_u64(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(off..off.checked_add(8)?)?.try_into().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use super::*;

    /// WAL.md 8.1: the first 0x50 bytes of segment 1 of the reference cluster.
    const SEG1_START: [u8; 0x50] = [
        0x10, 0xd1, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd7, 0xfe, 0xa1, 0xe4, 0x9b, 0x89,
        0x0e, 0x6b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x20, 0x00, 0x00, 0x72, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x74, 0xaf, 0x41, 0xaf, 0xff, 0x58, 0x28, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x01, 0x00,
    ];

    #[test]
    fn long_page_header_of_worked_example() {
        let h = PageHeader::parse(&SEG1_START).unwrap();
        assert_eq!(h.magic, 0xD110);
        assert_eq!(PgVersion::from_magic(h.magic), Some(PgVersion::V15));
        assert_eq!(h.info, XLP_LONG_HEADER);
        assert_eq!(h.tli, 1);
        assert_eq!(h.pageaddr, Lsn(0x0100_0000));
        assert_eq!(h.rem_len, 0);
        assert_eq!(h.header_len(), LONG_PAGE_HEADER_LEN);
        let long = h.long.unwrap();
        assert_eq!(long.sysid, 7714254514380996311);
        assert_eq!(long.seg_size, 16 * 1024 * 1024);
        assert_eq!(long.xlog_blcksz, 8192);
        assert_eq!(PageHeader::parse(&SEG1_START[..39]), None);
    }

    #[test]
    fn record_header_of_worked_example() {
        let r = RecordHeader::parse(&SEG1_START[0x28..]).unwrap();
        assert_eq!(r.tot_len, 114);
        assert_eq!(r.xid, 0);
        assert_eq!(r.prev, Lsn(0));
        assert_eq!((r.info, r.rmid), (0, 0));
        assert_eq!(r.crc, 0xAF41_AF74);
        assert!(!r.is_switch());
        assert_eq!(RecordHeader::parse(&SEG1_START[..23]), None);
    }

    #[test]
    fn crc32c_check_value_and_order() {
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
        // Body first, then the header's first 20 bytes.
        let mut rec = vec![0u8; 24];
        rec.extend_from_slice(b"body");
        rec[0] = 28;
        let expected = crc32c::crc32c_append(crc32c::crc32c(b"body"), &rec[..20]);
        assert_eq!(record_crc(&rec), Some(expected));
        assert_ne!(record_crc(&rec), Some(crc32c::crc32c(&rec)));
        assert_eq!(record_crc(&rec[..10]), None);
    }

    #[test]
    fn segment_names_round_trip() {
        let seg = DEFAULT_SEGMENT_SIZE;
        assert_eq!(segno(Lsn(0x1188_DBB8), seg), 0x11);
        assert_eq!(segment_file_name(1, 0x11, seg), "000000010000000000000011");
        assert_eq!(segment_file_name(1, 0x1FF, seg), "0000000100000001000000FF");
        assert_eq!(
            parse_segment_file_name("0000000100000001000000FF", seg),
            Some((1, 0x1FF))
        );
        assert_eq!(
            parse_segment_file_name("000000020000000000000003.partial", seg),
            Some((2, 3))
        );
        assert_eq!(
            parse_segment_file_name("000000010000000000000100", seg),
            None
        );
        assert_eq!(
            parse_segment_file_name("00000001000000000000001", seg),
            None
        );
        assert_eq!(
            parse_segment_file_name("0000000100000000000000G1", seg),
            None
        );
        assert!(is_valid_segment_size(seg) && !is_valid_segment_size(3 << 20));
    }

    #[test]
    fn versions_and_image_bits() {
        for v in [PgVersion::V14, PgVersion::V15, PgVersion::V16] {
            assert_eq!(PgVersion::from_magic(v.magic()), Some(v));
        }
        assert_eq!(PgVersion::from_magic(0xD116), None);
        assert_eq!(PgVersion::V15.compression(0x03), Compression::None);
        assert_eq!(PgVersion::V15.compression(0x07), Compression::Pglz);
        assert_eq!(PgVersion::V15.compression(0x0B), Compression::Lz4);
        assert_eq!(PgVersion::V16.compression(0x12), Compression::Zstd);
        assert_eq!(PgVersion::V15.compression(0x0C), Compression::Unknown);
        assert_eq!(PgVersion::V14.compression(0x02), Compression::Pglz);
        assert_eq!(PgVersion::V14.compression(0x05), Compression::None);
        assert_eq!(PgVersion::V14.bkpimage_apply(), 0x04);
        assert!(PgVersion::V15.is_valid_rmid(130) && !PgVersion::V14.is_valid_rmid(130));
        assert!(!PgVersion::V15.is_valid_rmid(22));
        assert_eq!(maxalign(0x9A), 0xA0);
        assert_eq!(maxalign(0xA0), 0xA0);
        assert_eq!(maxalign(u64::MAX), !7);
    }
}
