//! [`WalBuilder`]: writes syntactically valid WAL (page headers, continuation, CRC, alignment,
//! `XLOG_SWITCH`) the way PostgreSQL lays it out, for tests, examples and fuzz seeds. It is not a
//! WAL writer for a server: it knows nothing of what records mean.
//!
//! Invariant: whatever it writes, [`crate::WalDecoder`] decodes back to the same records, and
//! PostgreSQL's reader would accept it (same page headers, `xlp_rem_len`, `xl_prev`, CRC).

use strata_key::Lsn;

use crate::format::{
    DEFAULT_SEGMENT_SIZE, LONG_PAGE_HEADER_LEN, PgVersion, RECORD_CRC_OFFSET, RECORD_HEADER_LEN,
    SHORT_PAGE_HEADER_LEN, WAL_PAGE_SIZE, XLP_BKP_REMOVABLE, XLP_FIRST_IS_CONTRECORD,
    XLP_LONG_HEADER, XLR_BLOCK_ID_DATA_LONG, XLR_BLOCK_ID_DATA_SHORT, maxalign, record_crc,
};

const PAGE: u64 = WAL_PAGE_SIZE as u64;

/// Builds a WAL byte stream from its first page on; see the module docs.
#[derive(Debug, Clone)]
pub struct WalBuilder {
    start: u64,
    bytes: Vec<u8>,
    pos: u64,
    prev: Lsn,
    seg_size: u64,
    version: PgVersion,
    sysid: u64,
    tli: u32,
}

impl WalBuilder {
    /// A builder whose stream begins at page boundary `start` (rounded down to one), 16 MiB
    /// segments, PostgreSQL 15, timeline 1. The first record goes right after the page header.
    pub fn new(start: Lsn) -> WalBuilder {
        Self::with(
            start,
            DEFAULT_SEGMENT_SIZE,
            PgVersion::V15,
            7_000_000_000_000_000_001,
            1,
        )
    }

    /// A builder with every knob given.
    pub fn with(start: Lsn, seg_size: u64, version: PgVersion, sysid: u64, tli: u32) -> Self {
        let start = start.0 - start.0 % PAGE;
        WalBuilder {
            start,
            bytes: Vec::new(),
            pos: start,
            prev: Lsn::INVALID,
            seg_size,
            version,
            sysid,
            tli,
        }
    }

    /// Sets `xl_prev` of the next record (to continue another stream).
    pub fn set_prev(&mut self, prev: Lsn) {
        self.prev = prev;
    }

    /// Appends a record with this body (fragment headers then payloads, everything after the
    /// 24-byte header); returns its LSN.
    pub fn record(&mut self, rmid: u8, info: u8, xid: u32, body: &[u8]) -> Lsn {
        let tot_len = (RECORD_HEADER_LEN + body.len()) as u32;
        let mut rec = Vec::with_capacity(tot_len as usize);
        rec.extend_from_slice(&tot_len.to_le_bytes());
        rec.extend_from_slice(&xid.to_le_bytes());
        rec.extend_from_slice(&self.prev.0.to_le_bytes());
        rec.extend_from_slice(&[info, rmid, 0, 0]);
        rec.extend_from_slice(&[0; 4]);
        rec.extend_from_slice(body);
        let crc = record_crc(&rec).unwrap_or_default();
        rec[RECORD_CRC_OFFSET..RECORD_HEADER_LEN].copy_from_slice(&crc.to_le_bytes());

        self.ensure_page_started(0);
        let lsn = Lsn(self.pos);
        let mut left: &[u8] = &rec;
        loop {
            let room = (PAGE - self.pos % PAGE) as usize;
            let n = room.min(left.len());
            self.put(&left[..n]);
            left = &left[n..];
            if left.is_empty() {
                break;
            }
            self.ensure_page_started(left.len() as u32);
        }
        self.prev = lsn;
        let aligned = maxalign(self.pos);
        self.pad_to(aligned);
        lsn
    }

    /// Appends a record whose only content is `main_data`; returns its LSN.
    pub fn main_data_record(&mut self, rmid: u8, info: u8, xid: u32, main_data: &[u8]) -> Lsn {
        self.record(rmid, info, xid, &main_data_body(main_data))
    }

    /// Appends an `XLOG_SWITCH` record and zero-fills the rest of the segment (no page headers,
    /// as PostgreSQL leaves it); returns the switch record's LSN.
    pub fn switch(&mut self) -> Lsn {
        let lsn = self.record(0, 0x40, 0, &[]);
        let next = self.pos.div_ceil(self.seg_size) * self.seg_size;
        self.pad_to(next);
        lsn
    }

    /// The position the next record would start at (before any page header).
    pub fn position(&self) -> Lsn {
        Lsn(self.pos)
    }

    /// The stream's first LSN.
    pub fn start(&self) -> Lsn {
        Lsn(self.start)
    }

    /// The bytes written so far, zero-filled to the end of the current page.
    pub fn finish(mut self) -> Vec<u8> {
        let end = self.pos.div_ceil(PAGE) * PAGE;
        self.pad_to(end);
        self.bytes
    }

    /// The bytes written so far, zero-filled to the end of the current segment.
    pub fn finish_segment(mut self) -> Vec<u8> {
        let end = self.pos.div_ceil(self.seg_size) * self.seg_size;
        self.pad_to(end.max(self.pos));
        self.bytes
    }

    fn put(&mut self, b: &[u8]) {
        self.bytes.extend_from_slice(b);
        self.pos += b.len() as u64;
    }

    fn pad_to(&mut self, to: u64) {
        let n = to.saturating_sub(self.pos) as usize;
        self.bytes.resize(self.bytes.len() + n, 0);
        self.pos += n as u64;
    }

    /// At a page boundary, writes the page header; `rem_len > 0` marks a continuation.
    fn ensure_page_started(&mut self, rem_len: u32) {
        if self.pos % PAGE != 0 {
            return;
        }
        let long = self.pos % self.seg_size == 0;
        let mut info = XLP_BKP_REMOVABLE;
        if long {
            info |= XLP_LONG_HEADER;
        }
        if rem_len > 0 {
            info |= XLP_FIRST_IS_CONTRECORD;
        }
        let mut h = Vec::with_capacity(LONG_PAGE_HEADER_LEN);
        h.extend_from_slice(&self.version.magic().to_le_bytes());
        h.extend_from_slice(&info.to_le_bytes());
        h.extend_from_slice(&self.tli.to_le_bytes());
        h.extend_from_slice(&self.pos.to_le_bytes());
        h.extend_from_slice(&rem_len.to_le_bytes());
        h.extend_from_slice(&[0; 4]);
        debug_assert_eq!(h.len(), SHORT_PAGE_HEADER_LEN);
        if long {
            h.extend_from_slice(&self.sysid.to_le_bytes());
            h.extend_from_slice(&(self.seg_size as u32).to_le_bytes());
            h.extend_from_slice(&(WAL_PAGE_SIZE as u32).to_le_bytes());
        }
        self.put(&h);
    }
}

/// A record body holding only main data (short or long main-data header as PostgreSQL picks).
pub fn main_data_body(main_data: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(main_data.len() + 5);
    match u8::try_from(main_data.len()) {
        Ok(len) => body.extend_from_slice(&[XLR_BLOCK_ID_DATA_SHORT, len]),
        Err(_) => {
            body.push(XLR_BLOCK_ID_DATA_LONG);
            body.extend_from_slice(&(main_data.len() as u32).to_le_bytes());
        }
    }
    body.extend_from_slice(main_data);
    body
}
