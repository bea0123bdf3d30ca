//! [`WalDecoder`]: a streaming decoder of WAL bytes into [`Record`]s, equivalent to PostgreSQL
//! 15's `XLogDecodeNextRecord` (WAL.md 1.6 to 1.9) with `XLogFindNextRecord`'s skip of a
//! continued record when the stream starts at a page boundary (`pg_waldump -s`).
//!
//! The caller feeds bytes in stream order, starting at the LSN given to [`WalDecoder::new`], in
//! pieces of any size, and pulls records with [`WalDecoder::next_record`] (owned) or
//! [`WalDecoder::next_record_ref`] (lent until the next call; the decoder reassembles every
//! record into the same byte and block buffers, so decoding allocates nothing per record):
//! `Ok(None)` asks for more bytes; an [`EndOfWal`] says where and why the valid WAL ends, and
//! is repeated by every later call. Feeding pieces (1 MiB reads) is also faster than feeding a
//! whole stream at once, which copies it into fresh memory.
//!
//! Invariants:
//! * checks happen in PostgreSQL's order, each as soon as the bytes it needs are present, so a
//!   decoder fed piecemeal ends with the same reason as one fed everything at once;
//! * nothing is allocated before the bytes that justify it have arrived: a record's buffer is
//!   sized only once all its pages are present and their headers agree on its length;
//! * bytes before the next read position are dropped as decoding moves on, so memory stays at
//!   about one record plus what the caller fed ahead;
//! * a page header is validated the first time the decoder needs that page. A stream that
//!   starts inside a segment cannot check that segment's first (long) page, which PostgreSQL
//!   would read from the file: a safekeeper's segment holds zeros there.

#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use strata_key::Lsn;

use crate::error::{EndOfWal, EndReason, Error, PageError, PageErrorKind};
use crate::format::{
    DEFAULT_SEGMENT_SIZE, LONG_PAGE_HEADER_LEN, MAX_RECORD_LEN, PageHeader, PgVersion,
    RECORD_HEADER_LEN, RecordHeader, SHORT_PAGE_HEADER_LEN, WAL_PAGE_SIZE, XLP_ALL_FLAGS,
    XLP_FIRST_IS_CONTRECORD, XLP_FIRST_IS_OVERWRITE_CONTRECORD, header_len, is_valid_segment_size,
    le_u32, maxalign, record_crc,
};
use crate::record::{Record, decode_in_place};

const PAGE: u64 = WAL_PAGE_SIZE as u64;
/// When more bytes are fed, consumed bytes are dropped from the buffer if they are all of it, or
/// at least this many and at least half of it (so a caller feeding everything at once pays no
/// copies, and one feeding pieces keeps about a record buffered).
const COMPACT_MIN: usize = 256 * 1024;
/// The pieces [`decode_all`] feeds.
const FEED_PIECE: usize = 1 << 20;
/// Starts at or above this are refused, so LSN arithmetic cannot overflow.
const MAX_START: u64 = 1 << 63;

/// Knobs of a [`WalDecoder`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecoderOptions {
    /// WAL segment size; the stream's own headers are not trusted for it (default 16 MiB).
    pub segment_size: u64,
    /// The PostgreSQL version; `None` takes it from the first page header read (15 if records
    /// must be decoded before any page header was seen).
    pub version: Option<PgVersion>,
    /// The system identifier long page headers must carry; `None` (as in `pg_waldump`) checks
    /// nothing.
    pub system_id: Option<u64>,
    /// The timeline of the segment files, used only to name them in error messages.
    pub timeline: u32,
    /// Records starting before this LSN are checked but not returned (`pg_waldump -s` inside a
    /// page).
    pub skip_before: Lsn,
}

impl Default for DecoderOptions {
    fn default() -> Self {
        DecoderOptions {
            segment_size: DEFAULT_SEGMENT_SIZE,
            version: None,
            system_id: None,
            timeline: 1,
            skip_before: Lsn::INVALID,
        }
    }
}

/// Streaming WAL decoder; see the module docs.
#[derive(Debug)]
pub struct WalDecoder {
    opts: DecoderOptions,
    version: Option<PgVersion>,
    /// Bytes from `buf_lsn` on.
    buf: Vec<u8>,
    buf_lsn: u64,
    /// Where the next record (or page header) is read.
    next: u64,
    /// Start of the previous record; `None` means random access (the first record).
    prev: Option<Lsn>,
    /// The stream began at a page boundary: skip a continuation before the first record.
    find_first: bool,
    /// Highest page validated so far and its timeline (`latestPagePtr`, `latestPageTLI`).
    latest_page: Option<(u64, u32)>,
    last_record: Option<Lsn>,
    finished: bool,
    ended: Option<EndOfWal>,
    /// The record just decoded; its byte and block buffers are reused for the next one.
    current: Record,
}

enum Step {
    /// [`WalDecoder::current`] holds the record.
    Record,
    /// Restart reading at `next` (after an overwritten continuation).
    Restart(u64),
    NeedMore(u64),
}

impl WalDecoder {
    /// A decoder for a stream whose first byte is at `start`. If `start` is a page boundary
    /// the stream may begin inside a record (its tail is skipped, like `pg_waldump -s`);
    /// otherwise `start` must be where a record begins.
    ///
    /// Fails if the segment size is not one PostgreSQL allows or `start` is at or above 2^63
    /// (so LSN arithmetic cannot overflow).
    pub fn new(start: Lsn, opts: DecoderOptions) -> Result<WalDecoder, Error> {
        if !is_valid_segment_size(opts.segment_size) {
            return Err(Error::InvalidSegmentSize(opts.segment_size));
        }
        if start.0 >= MAX_START {
            return Err(Error::StartTooLarge(start));
        }
        Ok(WalDecoder {
            version: opts.version,
            opts,
            buf: Vec::new(),
            buf_lsn: start.0,
            next: start.0,
            prev: None,
            find_first: start.0 % PAGE == 0,
            latest_page: None,
            last_record: None,
            finished: false,
            ended: None,
            current: Record::empty(),
        })
    }

    /// Appends the next bytes of the stream.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        self.compact();
        let buf_end = self.buf_lsn + self.buf.len() as u64;
        if self.next > buf_end {
            // After an XLOG_SWITCH: the rest of the segment is unused and is not even kept.
            let skip = (self.next - buf_end).min(bytes.len() as u64) as usize;
            bytes = bytes.get(skip..).unwrap_or_default();
            self.buf.clear();
            self.buf_lsn = buf_end + skip as u64;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Says no more bytes will come: a record still missing bytes ends the WAL with
    /// [`EndReason::NoMoreInput`].
    pub fn finish(&mut self) {
        self.finished = true;
    }

    /// The position the next record (or page) is read from.
    pub fn next_lsn(&self) -> Lsn {
        Lsn(self.next)
    }

    /// The PostgreSQL version in use, once known.
    pub fn version(&self) -> Option<PgVersion> {
        self.version
    }

    /// The next record, `Ok(None)` if more bytes are needed, or where the WAL ends.
    ///
    /// The record is the caller's; [`WalDecoder::next_record_ref`] lends it instead and saves
    /// its allocations.
    pub fn next_record(&mut self) -> Result<Option<Record>, EndOfWal> {
        Ok(self
            .advance()?
            .then(|| std::mem::replace(&mut self.current, Record::empty())))
    }

    /// [`WalDecoder::next_record`] without allocating: the record is lent until the next call,
    /// which decodes into the same buffers (one reassembly copy of its bytes, nothing else).
    pub fn next_record_ref(&mut self) -> Result<Option<&Record>, EndOfWal> {
        Ok(self.advance()?.then_some(&self.current))
    }

    /// Decodes the next returnable record into `current`: `Ok(false)` if more bytes are needed.
    fn advance(&mut self) -> Result<bool, EndOfWal> {
        loop {
            if let Some(end) = &self.ended {
                return Err(end.clone());
            }
            let step = if self.find_first {
                match self.find_first_record() {
                    Ok(true) => self.read_record(),
                    Ok(false) => Ok(Step::NeedMore(self.next)),
                    Err(e) => Err(e),
                }
            } else {
                self.read_record()
            };
            match step {
                Ok(Step::Record) => {
                    let lsn = self.current.lsn;
                    self.prev = Some(lsn);
                    self.last_record = Some(lsn);
                    self.next = self.current.next.0;
                    if lsn >= self.opts.skip_before {
                        return Ok(true);
                    }
                }
                Ok(Step::Restart(at)) => self.next = at,
                Ok(Step::NeedMore(at)) => {
                    if !self.finished {
                        return Ok(false);
                    }
                    self.end(EndReason::NoMoreInput { at: Lsn(at) });
                }
                Err(reason) => self.end(reason),
            }
        }
    }

    fn end(&mut self, reason: EndReason) {
        self.ended = Some(EndOfWal {
            reason,
            lsn: Lsn(self.next),
            last_record: self.last_record,
        });
    }

    fn compact(&mut self) {
        let consumed = (self.next.saturating_sub(self.buf_lsn) as usize).min(self.buf.len());
        if consumed == self.buf.len() || (consumed >= COMPACT_MIN && consumed * 2 >= self.buf.len())
        {
            self.buf.drain(..consumed);
            self.buf_lsn += consumed as u64;
        }
    }

    /// `len` buffered bytes at `lsn`, if all present.
    fn bytes(&self, lsn: u64, len: usize) -> Option<&[u8]> {
        buffered(&self.buf, self.buf_lsn, lsn, len)
    }

    /// Reads and validates the header of the page at `page` (a multiple of 8192). `Ok(None)`:
    /// not all of it is buffered yet.
    fn page_header(&mut self, page: u64) -> Result<Option<PageHeader>, EndReason> {
        let Some(short) = self.bytes(page, SHORT_PAGE_HEADER_LEN) else {
            return Ok(None);
        };
        let info = crate::format::le_u16(short, 2).unwrap_or_default();
        let Some(hdr) = self
            .bytes(page, header_len(info))
            .and_then(PageHeader::parse)
        else {
            return Ok(None);
        };
        self.validate_page(page, &hdr)?;
        Ok(Some(hdr))
    }

    /// PostgreSQL's `XLogReaderValidatePageHeader` (WAL.md 1.8).
    fn validate_page(&mut self, page: u64, hdr: &PageHeader) -> Result<(), EndReason> {
        let seg_size = self.opts.segment_size;
        let fail = |kind| {
            EndReason::Page(PageError {
                kind,
                tli: self.opts.timeline,
                segno: page / seg_size,
                seg_size,
                offset: page % seg_size,
            })
        };
        let version = match self.version {
            Some(v) => v,
            None => {
                let v = PgVersion::from_magic(hdr.magic)
                    .ok_or_else(|| fail(PageErrorKind::InvalidMagic(hdr.magic)))?;
                self.version = Some(v);
                v
            }
        };
        if hdr.magic != version.magic() {
            return Err(fail(PageErrorKind::InvalidMagic(hdr.magic)));
        }
        if hdr.info & !XLP_ALL_FLAGS != 0 {
            return Err(fail(PageErrorKind::InvalidInfoBits(hdr.info)));
        }
        if let Some(long) = &hdr.long {
            if let Some(expected) = self.opts.system_id.filter(|&id| id != long.sysid) {
                return Err(fail(PageErrorKind::SystemIdMismatch {
                    wal: long.sysid,
                    expected,
                }));
            }
            if u64::from(long.seg_size) != seg_size {
                return Err(fail(PageErrorKind::SegmentSizeMismatch));
            }
            if long.xlog_blcksz as usize != WAL_PAGE_SIZE {
                return Err(fail(PageErrorKind::BlockSizeMismatch));
            }
        } else if page % seg_size == 0 {
            return Err(fail(PageErrorKind::InvalidInfoBits(hdr.info)));
        }
        if hdr.pageaddr.0 != page {
            return Err(fail(PageErrorKind::UnexpectedPageAddr(hdr.pageaddr)));
        }
        if let Some((latest, latest_tli)) = self.latest_page {
            if page > latest && hdr.tli < latest_tli {
                return Err(fail(PageErrorKind::OutOfSequenceTimeline {
                    tli: hdr.tli,
                    after: latest_tli,
                }));
            }
        }
        if self.latest_page.is_none_or(|(latest, _)| page >= latest) {
            self.latest_page = Some((page, hdr.tli));
        }
        Ok(())
    }

    /// `XLogFindNextRecord`'s first loop: from the page at `next`, skip the tail of a record
    /// continued from an earlier page. `Ok(false)`: more bytes needed.
    fn find_first_record(&mut self) -> Result<bool, EndReason> {
        loop {
            let page = self.next - self.next % PAGE;
            let Some(hdr) = self.page_header(page)? else {
                return Ok(false);
            };
            let hl = hdr.header_len() as u64;
            if hdr.info & XLP_FIRST_IS_CONTRECORD != 0 {
                if maxalign(u64::from(hdr.rem_len)) >= PAGE - hl {
                    self.next = page + PAGE;
                    continue;
                }
                self.next = page + hl + maxalign(u64::from(hdr.rem_len));
            } else {
                self.next = page + hl;
            }
            self.find_first = false;
            return Ok(true);
        }
    }

    /// The record header checks (`ValidXLogRecordHeader`).
    fn check_header(&self, at: u64, h: &RecordHeader, version: PgVersion) -> Result<(), EndReason> {
        let at = Lsn(at);
        if (h.tot_len as usize) < RECORD_HEADER_LEN {
            return Err(EndReason::InvalidRecordLength { at, got: h.tot_len });
        }
        if !version.is_valid_rmid(h.rmid) {
            return Err(EndReason::InvalidRmgrId { at, rmid: h.rmid });
        }
        let prev_ok = match self.prev {
            None => h.prev < at,
            Some(prev) => h.prev == prev,
        };
        if !prev_ok {
            return Err(EndReason::IncorrectPrevLink { at, prev: h.prev });
        }
        Ok(())
    }

    /// One attempt at the record at `next` with the bytes buffered now.
    fn read_record(&mut self) -> Result<Step, EndReason> {
        let mut rec = self.next;
        let page = rec - rec % PAGE;
        let mut off = rec % PAGE;
        if off == 0 {
            let Some(hdr) = self.page_header(page)? else {
                return Ok(Step::NeedMore(page));
            };
            rec += hdr.header_len() as u64;
            off = hdr.header_len() as u64;
            if hdr.info & XLP_FIRST_IS_CONTRECORD != 0 {
                return Err(EndReason::ContrecordRequested { at: Lsn(rec) });
            }
        } else {
            // The page was validated when the previous record reached it, or the stream
            // started here at a record boundary; its header size follows from its position.
            let hl = if page % self.opts.segment_size == 0 {
                LONG_PAGE_HEADER_LEN
            } else {
                SHORT_PAGE_HEADER_LEN
            } as u64;
            if off < hl || rec % 8 != 0 {
                return Err(EndReason::InvalidRecordOffset { at: Lsn(rec) });
            }
        }
        let version = self.version.unwrap_or(PgVersion::V15);
        let page_left = PAGE - off;
        let head_len = page_left.min(RECORD_HEADER_LEN as u64) as usize;
        let Some(head) = self.bytes(rec, head_len) else {
            return Ok(Step::NeedMore(rec));
        };
        let tot_len = le_u32(head, 0).unwrap_or_default();
        let mut got_header = false;
        if let Some(h) = RecordHeader::parse(head) {
            self.check_header(rec, &h, version)?;
            got_header = true;
        } else if (tot_len as usize) < RECORD_HEADER_LEN {
            return Err(EndReason::InvalidRecordLength {
                at: Lsn(rec),
                got: tot_len,
            });
        }
        let tot = u64::from(tot_len);

        let (end, next) = if tot <= page_left {
            let Some(bytes) = buffered(&self.buf, self.buf_lsn, rec, tot_len as usize) else {
                return Ok(Step::NeedMore(rec));
            };
            self.current.reuse_bytes().extend_from_slice(bytes);
            (rec + tot, maxalign(rec + tot))
        } else {
            // First pass: check every continuation page and that its bytes are here.
            let mut chunks: Vec<(u64, usize)> = vec![(rec, page_left as usize)];
            let mut got = page_left;
            let mut cont_page = page;
            let mut last_data_start = rec;
            let mut last_rem = 0u64;
            while got < tot {
                cont_page += PAGE;
                let Some(hdr) = self.page_header(cont_page)? else {
                    return Ok(Step::NeedMore(cont_page));
                };
                if hdr.info & XLP_FIRST_IS_OVERWRITE_CONTRECORD != 0 {
                    return Ok(Step::Restart(cont_page));
                }
                if hdr.info & XLP_FIRST_IS_CONTRECORD == 0 {
                    return Err(EndReason::NoContrecordFlag { at: Lsn(rec) });
                }
                if hdr.rem_len == 0 || tot != u64::from(hdr.rem_len) + got {
                    return Err(EndReason::InvalidContrecordLength {
                        at: Lsn(rec),
                        rem_len: hdr.rem_len,
                        expected: tot - got,
                    });
                }
                let hl = hdr.header_len() as u64;
                let len = u64::from(hdr.rem_len).min(PAGE - hl);
                if self.bytes(cont_page + hl, len as usize).is_none() {
                    return Ok(Step::NeedMore(cont_page + hl));
                }
                chunks.push((cont_page + hl, len as usize));
                got += len;
                if !got_header {
                    let mut head = [0u8; RECORD_HEADER_LEN];
                    let mut filled = 0;
                    for &(at, n) in &chunks {
                        let part = self.bytes(at, n).unwrap_or_default();
                        let n = part.len().min(RECORD_HEADER_LEN - filled);
                        if let (Some(d), Some(s)) =
                            (head.get_mut(filled..filled + n), part.get(..n))
                        {
                            d.copy_from_slice(s);
                        }
                        filled += n;
                    }
                    if let Some(h) = RecordHeader::parse(&head).filter(|_| filled == head.len()) {
                        self.check_header(rec, &h, version)?;
                        got_header = true;
                    }
                }
                last_data_start = cont_page + hl;
                last_rem = u64::from(hdr.rem_len);
            }
            // Like PostgreSQL 15.18, trust the length for an allocation only once every page
            // agreed with it.
            if tot_len > MAX_RECORD_LEN {
                return Err(EndReason::RecordTooLong {
                    at: Lsn(rec),
                    tot_len,
                });
            }
            let bytes = self.current.reuse_bytes();
            bytes.reserve(tot_len as usize);
            for (at, n) in chunks {
                bytes.extend_from_slice(
                    buffered(&self.buf, self.buf_lsn, at, n).unwrap_or_default(),
                );
            }
            (
                last_data_start + last_rem,
                last_data_start + maxalign(last_rem),
            )
        };

        let bytes = self.current.bytes();
        let header = RecordHeader::parse(bytes);
        if header.map(|h| h.crc) != record_crc(bytes) {
            return Err(EndReason::Checksum { at: Lsn(rec) });
        }
        let next = match header {
            Some(h) if h.is_switch() => {
                let seg = self.opts.segment_size;
                next.div_ceil(seg).saturating_mul(seg)
            }
            _ => next,
        };
        let report_at = self.last_record.unwrap_or(Lsn::INVALID);
        let lsns = [Lsn(rec), Lsn(end), Lsn(next)];
        decode_in_place(&mut self.current, lsns, version, report_at)?;
        Ok(Step::Record)
    }
}

/// `len` bytes at `lsn` of `buf` (which holds the stream from `buf_lsn`), if all present.
fn buffered(buf: &[u8], buf_lsn: u64, lsn: u64, len: usize) -> Option<&[u8]> {
    let from = usize::try_from(lsn.checked_sub(buf_lsn)?).ok()?;
    buf.get(from..from.checked_add(len)?)
}

/// Decodes every record of `wal` (the bytes of the stream from `start`, for example consecutive
/// segment files), returning them with where the WAL ended. The bytes are fed 1 MiB at a time,
/// so the decoder's buffer stays small however long `wal` is.
///
/// Fails only where [`WalDecoder::new`] does.
pub fn decode_all(
    start: Lsn,
    wal: &[u8],
    opts: DecoderOptions,
) -> Result<(Vec<Record>, EndOfWal), Error> {
    let mut decoder = WalDecoder::new(start, opts)?;
    let mut pieces = wal.chunks(FEED_PIECE);
    let mut records = Vec::new();
    loop {
        match decoder.next_record() {
            Ok(Some(r)) => records.push(r),
            Err(end) => return Ok((records, end)),
            Ok(None) => match pieces.next() {
                Some(piece) => decoder.feed(piece),
                None if !decoder.finished => decoder.finish(),
                // Unreachable after `finish`, but never loop on it.
                None => {
                    let end = EndOfWal {
                        reason: EndReason::NoMoreInput {
                            at: decoder.next_lsn(),
                        },
                        lsn: decoder.next_lsn(),
                        last_record: records.last().map(|r| r.lsn),
                    };
                    return Ok((records, end));
                }
            },
        }
    }
}
