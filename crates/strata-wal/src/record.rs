//! A decoded record: the 24-byte header, block references with their images and data, main
//! data, origin and top-level xid (WAL.md 2.5, 2.6), parsed exactly as PostgreSQL's
//! `DecodeXLogRecord` parses them, with the same cross-checks.
//!
//! Invariants: a [`Record`] owns the reassembled record bytes (`xl_tot_len` of them) and stores
//! payload positions as ranges that [`decode_record`] proved lie inside those bytes; payloads are
//! borrowed from it, never copied. Parsing never panics and allocates nothing beyond the bytes and
//! one entry per block reference.

#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use std::ops::Range;

use strata_key::Lsn;

use crate::error::{EndReason, ImageError, RecordError};
use crate::format::{
    BKPBLOCK_FORK_MASK, BKPBLOCK_HAS_DATA, BKPBLOCK_HAS_IMAGE, BKPBLOCK_SAME_REL,
    BKPBLOCK_WILL_INIT, BKPIMAGE_HAS_HOLE, BLCKSZ, Compression, PgVersion, RECORD_HEADER_LEN,
    RecordHeader, XLR_BLOCK_ID_DATA_LONG, XLR_BLOCK_ID_DATA_SHORT, XLR_BLOCK_ID_ORIGIN,
    XLR_BLOCK_ID_TOPLEVEL_XID, XLR_MAX_BLOCK_ID, le_u16, le_u32,
};
use crate::image;

/// A relation's physical identity: tablespace, database and relation file node
/// (`RelFileNode` in 14/15, `RelFileLocator` in 16; the same 12 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct RelFileNode {
    /// `spcNode`.
    pub spc: u32,
    /// `dbNode`.
    pub db: u32,
    /// `relNode`.
    pub rel: u32,
}

/// A full-page image carried by a block reference (WAL.md 2.7, 2.8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockImage {
    /// `bimg_len`: bytes stored in the record.
    pub bimg_len: u16,
    /// `hole_offset`.
    pub hole_offset: u16,
    /// `hole_length`: explicit when compressed, else `8192 - bimg_len` (as PostgreSQL derives
    /// it, in 16-bit arithmetic).
    pub hole_length: u16,
    /// `bimg_info`.
    pub bimg_info: u8,
    /// Whether the image is restored at redo (`BKPIMAGE_APPLY`); `false` only for
    /// `wal_consistency_checking` images.
    pub apply: bool,
    /// The compression method.
    pub compression: Compression,
    pub(crate) bytes: Range<usize>,
}

/// One block reference (`XLogRecordBlockHeader` and what follows it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockRef {
    /// Block id, 0..=32, increasing within a record.
    pub id: u8,
    /// `fork_flags` as stored.
    pub fork_flags: u8,
    /// The relation.
    pub rel: RelFileNode,
    /// The block number.
    pub blkno: u32,
    /// The image, if `BKPBLOCK_HAS_IMAGE`.
    pub image: Option<BlockImage>,
    pub(crate) data: Range<usize>,
}

impl BlockRef {
    /// The fork number (0 main, 1 fsm, 2 vm, 3 init).
    pub fn fork(&self) -> u8 {
        self.fork_flags & BKPBLOCK_FORK_MASK
    }

    /// Whether redo re-initialises the page (`BKPBLOCK_WILL_INIT`).
    pub fn will_init(&self) -> bool {
        self.fork_flags & BKPBLOCK_WILL_INIT != 0
    }

    /// Length of the block's rmgr data.
    pub fn data_len(&self) -> usize {
        self.data.len()
    }
}

/// A complete, CRC-checked WAL record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Where the record starts.
    pub lsn: Lsn,
    /// The byte after its last byte (page headers in between skipped).
    pub end: Lsn,
    /// Where the next record is read from: `MAXALIGN(end)`, or the next segment after an
    /// `XLOG_SWITCH` (PostgreSQL's `EndRecPtr`, the LSN Neon files the record under, and what
    /// redo stamps into `pd_lsn`).
    pub next: Lsn,
    /// The header.
    pub header: RecordHeader,
    /// The block references in id order.
    pub blocks: Vec<BlockRef>,
    /// The replication origin (`XLR_BLOCK_ID_ORIGIN`).
    pub origin: Option<u16>,
    /// The top-level transaction of a subtransaction (`XLR_BLOCK_ID_TOPLEVEL_XID`).
    pub toplevel_xid: Option<u32>,
    /// The version whose bit layout the images were read with.
    pub version: PgVersion,
    main_data: Range<usize>,
    bytes: Vec<u8>,
}

impl Record {
    /// The reassembled record, header included (`xl_tot_len` bytes).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The main data (the last bytes of the record).
    pub fn main_data(&self) -> &[u8] {
        self.bytes.get(self.main_data.clone()).unwrap_or_default()
    }

    /// The rmgr data of `block`.
    pub fn block_data(&self, block: &BlockRef) -> &[u8] {
        self.bytes.get(block.data.clone()).unwrap_or_default()
    }

    /// The stored (possibly compressed, hole-less) image bytes of `block`.
    pub fn image_bytes(&self, block: &BlockRef) -> &[u8] {
        block
            .image
            .as_ref()
            .and_then(|img| self.bytes.get(img.bytes.clone()))
            .unwrap_or_default()
    }

    /// The 8192-byte page of `block`'s image (WAL.md 2.9 steps 1-3; `pd_lsn` is left as
    /// stored).
    pub fn restore_image(&self, block: &BlockRef) -> Result<Box<[u8; BLCKSZ]>, ImageError> {
        let img = block.image.as_ref().ok_or(ImageError::NoImage)?;
        image::restore_image(img, self.image_bytes(block), self.version)
    }

    /// `pg_waldump`'s `rec` length: `xl_tot_len` minus the stored image bytes.
    pub fn rec_len(&self) -> u32 {
        self.header.tot_len - self.fpi_len()
    }

    /// Sum of `bimg_len` over the images (`pg_waldump --stats`' FPI size).
    pub fn fpi_len(&self) -> u32 {
        self.blocks
            .iter()
            .filter_map(|b| b.image.as_ref())
            .map(|i| u32::from(i.bimg_len))
            .sum()
    }

    /// The resource manager's name as `pg_waldump` prints it.
    pub fn rmgr_name(&self) -> std::borrow::Cow<'static, str> {
        crate::rmgr::rmgr_name(self.header.rmid)
    }

    /// The record type name (`rm_identify`), `None` where `pg_waldump` prints `UNKNOWN`.
    pub fn type_name(&self) -> Option<&'static str> {
        crate::rmgr::record_type_name(self.version, self.header.rmid, self.header.info)
    }
}

/// Parses the fragments of a reassembled, CRC-checked record (`bytes.len() == xl_tot_len`)
/// that starts at `lsn`; `next` and `end` are stored as given. `report_at` is the LSN
/// PostgreSQL names in a decoding error (see [`EndReason::InvalidRecord`]).
pub fn decode_record(
    bytes: Vec<u8>,
    lsn: Lsn,
    end: Lsn,
    next: Lsn,
    version: PgVersion,
    report_at: Lsn,
) -> Result<Record, EndReason> {
    let mut record = Record::empty();
    record.bytes = bytes;
    decode_in_place(&mut record, [lsn, end, next], version, report_at)?;
    Ok(record)
}

impl Record {
    /// A record with no bytes and no blocks: the decoder's reusable slot before its first
    /// record (allocates nothing).
    pub(crate) fn empty() -> Record {
        Record {
            lsn: Lsn::INVALID,
            end: Lsn::INVALID,
            next: Lsn::INVALID,
            header: RecordHeader {
                tot_len: 0,
                xid: 0,
                prev: Lsn::INVALID,
                info: 0,
                rmid: 0,
                crc: 0,
            },
            blocks: Vec::new(),
            origin: None,
            toplevel_xid: None,
            version: PgVersion::V15,
            main_data: 0..0,
            bytes: Vec::new(),
        }
    }

    /// The buffer the decoder reassembles the next record into (cleared, capacity kept).
    pub(crate) fn reuse_bytes(&mut self) -> &mut Vec<u8> {
        self.bytes.clear();
        &mut self.bytes
    }
}

/// [`decode_record`] on the bytes `record` already holds, reusing its block vector:
/// `[lsn, end, next]` are stored as given. On error `record` is left partly filled.
pub(crate) fn decode_in_place(
    record: &mut Record,
    [lsn, end, next]: [Lsn; 3],
    version: PgVersion,
    report_at: Lsn,
) -> Result<(), EndReason> {
    let fail = |kind| EndReason::InvalidRecord {
        at: report_at,
        kind,
    };
    let Record {
        bytes,
        blocks,
        header: header_slot,
        origin: origin_slot,
        toplevel_xid: xid_slot,
        main_data: main_slot,
        ..
    } = record;
    let bytes: &[u8] = bytes;
    blocks.clear();
    let header = RecordHeader::parse(bytes).ok_or_else(|| fail(RecordError::InvalidLength))?;
    let mut cur = Cursor {
        bytes,
        pos: RECORD_HEADER_LEN,
    };
    let remaining = bytes.len().saturating_sub(RECORD_HEADER_LEN) as u64;
    let apply_bit = version.bkpimage_apply();

    // Payload ranges are filled in once the headers are known to add up.
    let mut datatotal: u64 = 0;
    let mut main_len: u64 = 0;
    let mut origin = None;
    let mut toplevel_xid = None;
    let mut last_rel: Option<RelFileNode> = None;
    let short = || fail(RecordError::InvalidLength);

    while remaining - (cur.pos - RECORD_HEADER_LEN) as u64 > datatotal {
        let block_id = cur.u8().ok_or_else(short)?;
        match block_id {
            XLR_BLOCK_ID_DATA_SHORT => {
                main_len = u64::from(cur.u8().ok_or_else(short)?);
                datatotal += main_len;
                break;
            }
            XLR_BLOCK_ID_DATA_LONG => {
                main_len = u64::from(cur.u32().ok_or_else(short)?);
                datatotal += main_len;
                break;
            }
            XLR_BLOCK_ID_ORIGIN => origin = Some(cur.u16().ok_or_else(short)?),
            XLR_BLOCK_ID_TOPLEVEL_XID => toplevel_xid = Some(cur.u32().ok_or_else(short)?),
            id if id <= XLR_MAX_BLOCK_ID => {
                if blocks.last().is_some_and(|p| id <= p.id) {
                    return Err(fail(RecordError::OutOfOrderBlockId(id)));
                }
                let fork_flags = cur.u8().ok_or_else(short)?;
                let has_data = fork_flags & BKPBLOCK_HAS_DATA != 0;
                let data_len = cur.u16().ok_or_else(short)?;
                if has_data && data_len == 0 {
                    return Err(fail(RecordError::HasDataWithoutData));
                }
                if !has_data && data_len != 0 {
                    return Err(fail(RecordError::DataWithoutHasData(data_len)));
                }
                datatotal += u64::from(data_len);
                let mut image = None;
                if fork_flags & BKPBLOCK_HAS_IMAGE != 0 {
                    let bimg_len = cur.u16().ok_or_else(short)?;
                    let hole_offset = cur.u16().ok_or_else(short)?;
                    let bimg_info = cur.u8().ok_or_else(short)?;
                    let compressed = version.compression(bimg_info) != Compression::None;
                    let has_hole = bimg_info & BKPIMAGE_HAS_HOLE != 0;
                    let hole_length = if compressed {
                        if has_hole {
                            cur.u16().ok_or_else(short)?
                        } else {
                            0
                        }
                    } else {
                        (BLCKSZ as u16).wrapping_sub(bimg_len)
                    };
                    datatotal += u64::from(bimg_len);
                    check_image(has_hole, compressed, bimg_len, hole_offset, hole_length)
                        .map_err(fail)?;
                    image = Some(BlockImage {
                        bimg_len,
                        hole_offset,
                        hole_length,
                        bimg_info,
                        apply: bimg_info & apply_bit != 0,
                        compression: version.compression(bimg_info),
                        bytes: 0..0,
                    });
                }
                let rel = if fork_flags & BKPBLOCK_SAME_REL == 0 {
                    let rel = RelFileNode {
                        spc: cur.u32().ok_or_else(short)?,
                        db: cur.u32().ok_or_else(short)?,
                        rel: cur.u32().ok_or_else(short)?,
                    };
                    last_rel = Some(rel);
                    rel
                } else {
                    last_rel.ok_or_else(|| fail(RecordError::SameRelWithoutPrevious))?
                };
                let blkno = cur.u32().ok_or_else(short)?;
                blocks.push(BlockRef {
                    id,
                    fork_flags,
                    rel,
                    blkno,
                    image,
                    data: 0..usize::from(data_len),
                });
            }
            other => return Err(fail(RecordError::InvalidBlockId(other))),
        }
    }
    let headers_len = (cur.pos - RECORD_HEADER_LEN) as u64;
    if remaining - headers_len != datatotal {
        return Err(short());
    }

    // Payloads back to back; their total is exactly what is left, so no range overruns.
    let mut pos = cur.pos;
    let mut take = |len: usize| {
        let range = pos..pos + len;
        pos += len;
        range
    };
    for block in blocks.iter_mut() {
        if let Some(img) = &mut block.image {
            img.bytes = take(usize::from(img.bimg_len));
        }
        block.data = take(block.data.len());
    }
    *main_slot = take(main_len as usize);
    *header_slot = header;
    *origin_slot = origin;
    *xid_slot = toplevel_xid;
    record.lsn = lsn;
    record.end = end;
    record.next = next;
    record.version = version;
    Ok(())
}

/// PostgreSQL's image-header cross-checks, in its order.
fn check_image(
    has_hole: bool,
    compressed: bool,
    bimg_len: u16,
    offset: u16,
    length: u16,
) -> Result<(), RecordError> {
    let page = BLCKSZ as u16;
    if has_hole && (offset == 0 || length == 0 || bimg_len == page) {
        return Err(RecordError::BadHole {
            offset,
            length,
            bimg_len,
        });
    }
    if !has_hole && (offset != 0 || length != 0) {
        return Err(RecordError::HoleWithoutFlag { offset, length });
    }
    if compressed && bimg_len == page {
        return Err(RecordError::CompressedFullPage(bimg_len));
    }
    if !has_hole && !compressed && bimg_len != page {
        return Err(RecordError::BadImageLength(bimg_len));
    }
    Ok(())
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn u8(&mut self) -> Option<u8> {
        let v = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(v)
    }

    fn u16(&mut self) -> Option<u16> {
        let v = le_u16(self.bytes, self.pos)?;
        self.pos += 2;
        Some(v)
    }

    fn u32(&mut self) -> Option<u32> {
        let v = le_u32(self.bytes, self.pos)?;
        self.pos += 4;
        Some(v)
    }
}
