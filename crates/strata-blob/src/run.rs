//! Blob reads in runs (FORMAT.md section 4): bytes `[start, end)` of a reader fetched with one
//! [`BlockReader::read_blocks`] call, from which the blobs inside are decoded without further
//! I/O. [`read_run`] makes one [`BlobRun`]; a [`BlobRunReader`] reuses one buffer from run to
//! run, for planned reads ([`BlobRunReader::load`]) and for sequential scans that read ahead
//! ([`BlobRunReader::blob`]).
//!
//! Invariants:
//! * A run never reaches past its limit (the reader's end, or the caller's limit when smaller);
//!   a run or blob that would is [`Corruption::BlobPastEnd`] (or
//!   [`Corruption::HeaderPastEnd`]) before any buffer is sized for it.
//! * The buffer holds whole blocks; a failed read leaves it empty, never half filled.
//! * A run whose blocks the reader lends ([`BlockReader::lend_pages`]: a warm page cache's
//!   consecutive pages) is those pages, no copy; any other multi-block read bypasses a page
//!   cache (`strata-cache` serves a one-block `read_blocks` from its pages); either way the
//!   bytes are the file's.
//! * The buffer is a [`Bytes`]: [`BlobRunReader::blob_shared`] hands out a large payload as a
//!   slice of it (no copy, no allocation). The next run reuses the buffer if no such slice is
//!   alive any more, and reads into a new one otherwise, so a slice never sees its bytes change.
//!   A refill overwrites the blocks it reads and zeroes only growth, never the whole buffer.
//! * A small payload of `blob_shared` is copied into a chunk of at most 64 KiB
//!   shared by the small payloads after it; bytes handed out are never written again, and a
//!   kept small payload holds its chunk alive, never a run buffer.
//! * A blob the buffer already holds is decoded without any await on I/O (a sequential scan
//!   reads the buffer's blobs with no call to the reader between refills).

#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use std::borrow::Cow;
use std::ops::Range;

use bytes::{Bytes, BytesMut};

use crate::block::{BlockNo, BlockReader, PAGE_SIZE};
use crate::error::{Corruption, Error};
use crate::format::{
    BlobReadOptions, BlobSpan, Compression, HEADER_PEEK_LEN, check_span, decode_blob,
    decode_header, decode_plain_header,
};

const PAGE: u64 = PAGE_SIZE as u64;

/// Payloads at least this long are shared with the run buffer by
/// [`BlobRunReader::blob_shared`]; shorter ones are copied.
pub const SHARE_MIN_LEN: usize = PAGE_SIZE / 2;

/// Bytes `[start, end)` of a reader, read with one [`BlockReader::read_blocks`] call, from
/// which blobs inside the range can be decoded without further I/O.
#[derive(Debug, Clone)]
pub struct BlobRun {
    /// Whole blocks covering `[start, end)`; `data[0]` is at file offset `base`.
    data: Bytes,
    base: u64,
    start: u64,
    end: u64,
    opts: BlobReadOptions,
}

/// Reads bytes `[start, end)` of `reader` for decoding the blobs in them
/// ([`BlobRun::blob_at`]), with default [`BlobReadOptions`].
pub async fn read_run<R: BlockReader>(reader: &R, start: u64, end: u64) -> Result<BlobRun, Error> {
    read_run_with(reader, start, end, &BlobReadOptions::default()).await
}

/// [`read_run`] with explicit options. `end` past the reader's end is
/// [`Corruption::BlobPastEnd`]; `end < start` is [`Error::OutOfRange`].
pub async fn read_run_with<R: BlockReader>(
    reader: &R,
    start: u64,
    end: u64,
    opts: &BlobReadOptions,
) -> Result<BlobRun, Error> {
    let mut runs = BlobRunReader::new(reader, u64::MAX, *opts, 0);
    runs.load(start, end).await?;
    Ok(runs.run)
}

impl BlobRun {
    fn empty(opts: BlobReadOptions) -> BlobRun {
        BlobRun {
            data: Bytes::new(),
            base: 0,
            start: 0,
            end: 0,
            opts,
        }
    }

    /// First offset of the run.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// First offset after the run.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// The run's bytes, `[start, end)`.
    pub fn bytes(&self) -> &[u8] {
        let from = (self.start - self.base) as usize;
        let to = (self.end - self.base) as usize;
        self.data.get(from..to).unwrap_or_default()
    }

    /// The payload of the blob at `offset`, which must lie wholly inside the run
    /// (an offset before `start` is [`Error::OutOfRange`], one reaching `end`
    /// [`Corruption::BlobPastEnd`] or [`Corruption::HeaderPastEnd`]). Borrowed unless it was
    /// decompressed.
    pub fn blob_at(&self, offset: u64) -> Result<Cow<'_, [u8]>, Error> {
        Ok(self.blob_span_at(offset)?.1)
    }

    /// [`BlobRun::blob_at`], also giving where the blob lies.
    pub fn blob_span_at(&self, offset: u64) -> Result<(BlobSpan, Cow<'_, [u8]>), Error> {
        if offset < self.start {
            return Err(Error::OutOfRange {
                offset,
                start: self.start,
                end: self.end,
            });
        }
        decode_blob(&self.data, self.base, offset, self.end, &self.opts)
    }

    /// Whether `[start, end)` is inside the blocks held.
    fn covers(&self, start: u64, end: u64) -> bool {
        start >= self.base && end <= self.base + self.data.len() as u64
    }

    /// The stored bytes `stored` (buffer positions) of the blob `span`, which
    /// `BlobRunReader::locate` made the buffer cover (checked again, never trusted).
    fn stored(&self, span: &BlobSpan, stored: Range<usize>, limit: u64) -> Result<&[u8], Error> {
        self.data.get(stored).ok_or_else(|| past_end(span, limit))
    }

    /// Bytes `[start, end)` of the blocks held, if they hold them.
    fn get(&self, start: u64, end: u64) -> Option<&[u8]> {
        let from = usize::try_from(start.checked_sub(self.base)?).ok()?;
        let to = usize::try_from(end.checked_sub(self.base)?).ok()?;
        self.data.get(from..to)
    }
}

/// The error of a blob `span` running past `limit` (or past the bytes held).
fn past_end(span: &BlobSpan, limit: u64) -> Error {
    Corruption::BlobPastEnd {
        offset: span.offset,
        len: span.header.stored_len,
        limit,
    }
    .into()
}

/// Blob reads in runs through one buffer, reused from run to run (see the module docs).
#[derive(Debug)]
pub struct BlobRunReader<'r, R> {
    reader: &'r R,
    /// First offset a run may not reach, at most the reader's end.
    limit: u64,
    /// Bytes [`blob`](Self::blob) reads at once, unless a single blob needs more.
    read_ahead: usize,
    run: BlobRun,
    /// The buffer of the last run read (not lent), kept for the next read while the current
    /// run is lent pages.
    spare: Option<BytesMut>,
    /// Where [`blob_shared`](Self::blob_shared) copies small payloads.
    arena: Arena,
}

/// The chunk size of the copies [`BlobRunReader::blob_shared`] makes of small payloads.
const ARENA_CHUNK: usize = 64 << 10;
/// The bytes one copy of small blobs (a stretch) takes, unless its first payload is longer.
const STRETCH_LEN: usize = 2 << 10;

/// Small payloads copied out of the run buffer, a stretch at a time: a small payload not in
/// the last stretch starts a new one, [`STRETCH_LEN`] bytes of the buffer from it on (as far
/// as the buffer holds bytes before the limit), appended to a chunk of [`ARENA_CHUNK`] bytes
/// in one copy; it and the small payloads after it that lie wholly inside the stretch are
/// handed out as [`Bytes`] slices of it, with no allocation or copy of their own (a scan's
/// small records usually follow each other). The copy is verbatim, so a payload reads the same
/// from it as from the file. A slice handed out is never written again (the chunk only
/// appends after it); a full chunk is let go (freed when the last of its slices is) and a new
/// one started.
#[derive(Debug, Default)]
struct Arena {
    chunk: BytesMut,
    /// The last stretch copied, and the file offset of its first byte.
    stretch: Bytes,
    stretch_start: u64,
}

impl Arena {
    /// The stored bytes `stored` (buffer positions, shorter than [`SHARE_MIN_LEN`]) as a
    /// slice of a stretch; `None` if `run` does not hold them.
    #[inline]
    fn small(&mut self, run: &BlobRun, stored: Range<usize>, limit: u64) -> Option<Bytes> {
        let from = run.base.checked_add(stored.start as u64)?;
        let in_stretch = from
            .checked_sub(self.stretch_start)
            .and_then(|f| usize::try_from(f).ok())
            .and_then(|f| Some(f..f.checked_add(stored.len())?))
            .filter(|r| r.start < r.end && r.end <= self.stretch.len());
        match in_stretch {
            Some(r) => Some(self.stretch.slice(r)),
            None => self.new_stretch(run, stored, limit, from),
        }
    }

    /// [`small`](Self::small) for a payload not in the last stretch (or empty): copies a new
    /// stretch from it on, `from` being its file offset.
    #[inline(never)]
    fn new_stretch(
        &mut self,
        run: &BlobRun,
        stored: Range<usize>,
        limit: u64,
        from: u64,
    ) -> Option<Bytes> {
        let held = usize::try_from(limit.saturating_sub(run.base))
            .map_or(run.data.len(), |l| l.min(run.data.len()));
        let end = held
            .min(stored.start.saturating_add(STRETCH_LEN))
            .max(stored.end);
        let bytes = run.data.get(stored.start..end)?;
        self.stretch = self.copy(bytes);
        self.stretch_start = from;
        Some(self.stretch.slice(0..stored.len()))
    }

    /// `bytes` (shorter than [`ARENA_CHUNK`]) as a slice of the current chunk.
    fn copy(&mut self, bytes: &[u8]) -> Bytes {
        // After a split, the chunk's capacity is what is left of it. When that is too little,
        // `reserve` starts the chunk over if no slice of it is alive any more, and starts a new
        // chunk otherwise (it never writes where a live slice points).
        if self.chunk.capacity() < bytes.len() {
            self.chunk.reserve(ARENA_CHUNK.max(bytes.len()));
        }
        self.chunk.extend_from_slice(bytes);
        self.chunk.split().freeze()
    }
}

impl<'r, R: BlockReader> BlobRunReader<'r, R> {
    /// A run reader over `reader` for blobs that end before `limit` (the reader's end if that
    /// comes first); sequential reads ([`blob`](Self::blob)) fetch at least `read_ahead` bytes
    /// (rounded up to whole blocks) at a time.
    pub fn new(
        reader: &'r R,
        limit: u64,
        opts: BlobReadOptions,
        read_ahead: usize,
    ) -> BlobRunReader<'r, R> {
        BlobRunReader {
            reader,
            limit: limit.min(u64::from(reader.n_blocks()) * PAGE),
            read_ahead: read_ahead.max(PAGE_SIZE),
            run: BlobRun::empty(opts),
            spare: None,
            arena: Arena::default(),
        }
    }

    /// The first offset a run may not reach.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Reads exactly the blocks covering `[start, end)` (one [`BlockReader::read_blocks`]
    /// call, into the reused buffer) and gives the run, to decode the blobs planned inside it.
    /// `end` past the limit is [`Corruption::BlobPastEnd`]; `end < start` is
    /// [`Error::OutOfRange`].
    pub async fn load(&mut self, start: u64, end: u64) -> Result<&BlobRun, Error> {
        if end < start {
            return Err(Error::OutOfRange {
                offset: end,
                start,
                end: start,
            });
        }
        if end > self.limit {
            return Err(Corruption::BlobPastEnd {
                offset: start,
                len: end - start,
                limit: self.limit,
            }
            .into());
        }
        let base = start / PAGE * PAGE;
        if start == end {
            self.run.data = Bytes::new();
            self.run.base = base;
        } else {
            self.fill(base, end.next_multiple_of(PAGE)).await?;
        }
        self.run.start = start;
        self.run.end = end;
        Ok(&self.run)
    }

    /// The span and payload of the blob at `offset` (which must lie before the limit), read
    /// from the buffer, which is refilled from `offset`'s block on when it does not hold the
    /// whole blob: at least `read_ahead` bytes, as far as the limit allows. Borrowed from the
    /// buffer unless it was stored compressed.
    pub async fn blob(&mut self, offset: u64) -> Result<(BlobSpan, Cow<'_, [u8]>), Error> {
        let (span, stored) = self.locate(offset).await?;
        let payload = match span.header.compression {
            Compression::None => Cow::Borrowed(self.run.stored(&span, stored, self.limit)?),
            Compression::Zstd => self.decompressed(offset)?,
        };
        Ok((span, payload))
    }

    /// [`blob`](Self::blob), with the payload as [`Bytes`]: a payload of at least
    /// [`SHARE_MIN_LEN`] bytes stored uncompressed is a slice of the run buffer (no copy; it
    /// keeps that buffer alive while held, and the next run then reads into a new one), a
    /// smaller one is copied into a chunk of at most 64 KiB that the small
    /// payloads after it share (so a small value kept long holds that chunk, not a whole run),
    /// and a decompressed one keeps its own buffer.
    pub async fn blob_shared(&mut self, offset: u64) -> Result<(BlobSpan, Bytes), Error> {
        let (span, stored) = self.locate(offset).await?;
        let bytes = match span.header.compression {
            Compression::None => {
                let slice = self.run.stored(&span, stored.clone(), self.limit)?;
                if slice.len() < SHARE_MIN_LEN {
                    let small = self.arena.small(&self.run, stored, self.limit);
                    small.ok_or_else(|| past_end(&span, self.limit))?
                } else {
                    self.run.data.slice(stored)
                }
            }
            Compression::Zstd => Bytes::from(self.decompressed(offset)?.into_owned()),
        };
        Ok((span, bytes))
    }

    /// [`blob_shared`](Self::blob_shared)'s payload when the buffer holds the whole blob and
    /// it is stored uncompressed (no I/O, no await: a sequential scan's common case); `None`
    /// otherwise, also for a bad blob (`blob_shared` then reads, decompresses or reports it).
    #[inline]
    pub fn blob_shared_buffered(&mut self, offset: u64) -> Option<Bytes> {
        let (span, stored) = self.locate_buffered(offset)?;
        if span.header.compression != Compression::None {
            return None;
        }
        if stored.len() < SHARE_MIN_LEN {
            self.arena.small(&self.run, stored, self.limit)
        } else {
            Some(self.run.data.slice(stored))
        }
    }

    /// [`locate`](Self::locate) when the buffer holds the whole blob, before the limit, and
    /// the header is one of [`decode_plain_header`]'s: found with no call to the reader, and
    /// the same answer. `None` otherwise (`locate` then reads, or decodes the header in full,
    /// or reports the problem).
    #[inline]
    fn locate_buffered(&self, offset: u64) -> Option<(BlobSpan, Range<usize>)> {
        let held = self.run.data.len() as u64;
        let rel = offset.checked_sub(self.run.base)?;
        let room = self.limit.checked_sub(offset)?;
        let header = decode_plain_header(
            self.run.data.get(usize::try_from(rel).ok()?..)?,
            self.run.opts.mode,
        )?;
        // At most 4 + 2^31 bytes past `rel`, which lies in the buffer: no overflow. The header
        // is inside the blob's length, so a header read past the limit fails the `room` test.
        let len = header.header_len as u64 + header.stored_len;
        if rel + len > held || len > room {
            return None;
        }
        let from = usize::try_from(rel).ok()? + header.header_len;
        let to = usize::try_from(rel + len).ok()?;
        Some((BlobSpan { offset, header }, from..to))
    }

    /// The span of the blob at `offset` and the place of its stored bytes in the buffer,
    /// which is refilled first unless it already holds the whole blob (the common case of a
    /// scan, which then makes no further call). The refill's future is boxed: it is rare
    /// (once a run), and inline it would make every call's future as large as the reader's.
    async fn locate(&mut self, offset: u64) -> Result<(BlobSpan, Range<usize>), Error> {
        if let Some(found) = self.locate_buffered(offset) {
            return Ok(found);
        }
        let limit = self.limit;
        if offset >= limit {
            return Err(Corruption::HeaderPastEnd { offset, limit }.into());
        }
        let peek_end = offset.saturating_add(HEADER_PEEK_LEN as u64).min(limit);
        if !self.run.covers(offset, peek_end) {
            Box::pin(self.refill(offset, peek_end)).await?;
        }
        let peek = self.run.get(offset, peek_end).unwrap_or_default();
        let header = decode_header(peek, offset, limit, self.run.opts.mode)?;
        let span = check_span(header, offset, limit)?;
        let end = span.end().max(peek_end);
        if !self.run.covers(offset, end) {
            Box::pin(self.refill(offset, end)).await?;
        }
        let rel = |at: u64| {
            at.checked_sub(self.run.base)
                .and_then(|r| usize::try_from(r).ok())
        };
        match (rel(span.payload_offset()), rel(span.end())) {
            (Some(from), Some(to)) => Ok((span, from..to)),
            _ => Err(past_end(&span, limit)),
        }
    }

    /// The decompressed payload of the compressed blob at `offset`, which the buffer holds.
    fn decompressed(&self, offset: u64) -> Result<Cow<'_, [u8]>, Error> {
        let run = &self.run;
        Ok(decode_blob(&run.data, run.base, offset, self.limit, &run.opts)?.1)
    }

    /// Refills the buffer to cover `[start, end)` (`start < end <= limit`), reading from the
    /// block of `start` on, at least `read_ahead` bytes when the limit allows.
    async fn refill(&mut self, start: u64, end: u64) -> Result<(), Error> {
        let base = start / PAGE * PAGE;
        let want_end = end
            .max(base.saturating_add(self.read_ahead as u64))
            .next_multiple_of(PAGE)
            .min(self.limit.next_multiple_of(PAGE))
            .max(end.next_multiple_of(PAGE));
        self.fill(base, want_end).await?;
        self.run.start = start;
        self.run.end = want_end.min(self.limit);
        Ok(())
    }

    /// Reads the whole blocks `[base, end)` into the buffer; empty after a failure.
    async fn fill(&mut self, base: u64, end: u64) -> Result<(), Error> {
        let past_end = || Corruption::BlockPastEnd {
            blkno: BlockNo(u32::MAX),
            n_blocks: self.reader.n_blocks(),
        };
        // `end` is bounded by the reader's end, so the buffer is bounded by the reader.
        let len = usize::try_from(end - base).map_err(|_| past_end())?;
        let first = u32::try_from(base / PAGE).map_err(|_| past_end())?;
        // Reuse the buffer unless a payload handed out by `blob_shared` still holds it (or it
        // is lent pages, whose last holder gives them back).
        let reusable = std::mem::take(&mut self.run.data).try_into_mut().ok();
        let reusable = reusable.or_else(|| self.spare.take());
        // Pages the reader holds in memory already (a warm page cache) are lent, not copied.
        if let Some(lent) = self.reader.lend_pages(BlockNo(first), len / PAGE_SIZE) {
            if lent.len() == len {
                self.run.base = base;
                self.run.data = Bytes::from_owner(lent);
                self.spare = reusable;
                return Ok(());
            }
        }
        let mut data = match reusable {
            Some(data) => data,
            // A new buffer of zeroed memory from the allocator (often zero already, then not
            // written over before the read).
            None => BytesMut::zeroed(len),
        };
        if data.len() >= len {
            data.truncate(len);
        } else {
            data.resize(len, 0);
        }
        self.run.base = base;
        self.reader.read_blocks(BlockNo(first), &mut data).await?;
        self.run.data = data.freeze();
        Ok(())
    }
}
