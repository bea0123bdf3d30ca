//! [`gather_payloads`]: the payloads of several blobs, in file order, appended to one buffer
//! with one [`BlockReader::read_at`] per group of nearby blobs (a point lookup's values: an
//! image and the records after it, about 10 KB over two or three blocks, in one read), or
//! lent without a copy where the reader holds the group's pages ([`BlockReader::lend_pages`]:
//! the page cache).
//!
//! Invariants:
//! * The result equals [`BlobCursor::append_into`] of each offset in turn: the same payload
//!   bytes, the same errors (every header is decoded and its end checked against the limit by
//!   the same functions, before the buffer grows to hold it, or before a lent page is sliced).
//! * Only bytes up to a blob's checked end are read, plus [`READ_AHEAD`] after a group's last
//!   offset; a group spans blobs whose offsets ascend by at most [`GROUP_GAP`], so a lookup
//!   reads at most a few KiB it does not need, whatever offsets it is given.
//! * A payload is lent ([`Gathered::Lent`]) only when it is stored uncompressed, is at least
//!   [`SHARE_MIN_LEN`] bytes, and lies in pages the reader lent for its group; it then keeps
//!   only the pages it covers alive (at most four times its own size), and every other payload
//!   is copied to `out`.
//! * On an error, `out` and `ranges` hold the payloads of the groups before the failing one
//!   (and what they held before the call).

#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use bytes::{Bytes, BytesMut};

use crate::block::{BlockNo, BlockReader, PAGE_SIZE, PageRun};
use crate::error::{Corruption, Error};
use crate::format::{
    BlobReadOptions, BlobSpan, Compression, HEADER_PEEK_LEN, check_span, decode_header,
    decompress_into,
};
use crate::run::SHARE_MIN_LEN;

/// Bytes read after a group's last offset with the group, so that its last blob (normally a
/// WAL record of a few hundred bytes) needs no second read.
pub const READ_AHEAD: u64 = 512;
/// Most pages a group's blobs are decoded from when lent (32 KiB): a point lookup's image and
/// records lie in two or three; a longer group is read as one span.
pub const MAX_LENT_PAGES: usize = 4;
/// Largest step from one offset to the next inside one group: farther blobs start a new read.
pub const GROUP_GAP: u64 = 64 << 10;

/// Where [`gather_payloads`] put one payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gathered {
    /// Copied to `out[start..end]`.
    Copied {
        /// Index in `out` of the payload's first byte.
        start: usize,
        /// Index in `out` after its last byte.
        end: usize,
    },
    /// Lent by the reader: a slice of its pages, no copy ([`BlockReader::lend_pages`]).
    Lent(Bytes),
}

impl Gathered {
    /// The payload, given `out` frozen (`Bytes` of what [`gather_payloads`] appended to, from
    /// its first byte): a slice of it, or the lent bytes. Empty if the range is not in `out`.
    pub fn payload(self, out: &Bytes) -> Bytes {
        match self {
            Gathered::Copied { start, end } => out
                .get(start..end)
                .map(|_| out.slice(start..end))
                .unwrap_or_default(),
            Gathered::Lent(bytes) => bytes,
        }
    }
}

/// Appends the payload of the blob at each of `offsets` (ascending, normally) to `out`, or
/// takes it lent (see the module docs), and pushes where each payload is to `ranges` (same
/// order). Blobs may not reach `limit` nor the reader's end.
pub async fn gather_payloads<R: BlockReader>(
    reader: &R,
    limit: u64,
    opts: &BlobReadOptions,
    offsets: &[u64],
    out: &mut BytesMut,
    ranges: &mut Vec<Gathered>,
) -> Result<(), Error> {
    let limit = limit.min(u64::from(reader.n_blocks()) * PAGE_SIZE as u64);
    let mut rest = offsets;
    while let Some(&first) = rest.first() {
        let mut len = 1;
        let mut prev = first;
        while let Some(&next) = rest.get(len) {
            if next <= prev || next - prev > GROUP_GAP {
                break;
            }
            prev = next;
            len += 1;
        }
        let (group, tail) = rest.split_at(len);
        let (base, n_ranges) = (out.len(), ranges.len());
        let source = Source {
            reader,
            limit,
            opts,
        };
        if let Err(err) = source.group(group, out, ranges).await {
            out.truncate(base);
            ranges.truncate(n_ranges);
            return Err(err);
        }
        rest = tail;
    }
    Ok(())
}

/// What a gather reads from: blobs of `reader` below `limit`.
struct Source<'a, R> {
    reader: &'a R,
    limit: u64,
    opts: &'a BlobReadOptions,
}

impl<R: BlockReader> Source<'_, R> {
    /// Gathers the blobs at `group` (ascending, each within [`GROUP_GAP`] of the one before):
    /// the leading ones from pages the reader lends, the rest from one span read.
    async fn group(
        &self,
        group: &[u64],
        out: &mut BytesMut,
        ranges: &mut Vec<Gathered>,
    ) -> Result<(), Error> {
        let lent = self.lent(group, out, ranges)?;
        let rest = group.get(lent..).unwrap_or_default();
        let Some(&first) = rest.first() else {
            return Ok(());
        };
        let mut span = Span {
            reader: self.reader,
            limit: self.limit,
            opts: self.opts,
            lo: first,
            hi: first,
            base: out.len(),
            out,
        };
        span.gather(rest, ranges).await
    }

    /// The leading blobs of `group` decoded from pages the reader lends, when it lends them:
    /// how many. The pages asked for hold the group's offsets up to [`READ_AHEAD`] past the
    /// last, or more where a blob's header says it ends further on (at most [`MAX_LENT_PAGES`]
    /// pages). A blob not wholly inside pages lent (or past `limit`) ends them; the span read
    /// takes it, and decodes its header again with the same result.
    fn lent(
        &self,
        group: &[u64],
        out: &mut BytesMut,
        ranges: &mut Vec<Gathered>,
    ) -> Result<usize, Error> {
        let (Some(&first), Some(&last)) = (group.first(), group.last()) else {
            return Ok(0);
        };
        let limit = self.limit;
        let want_end = last.saturating_add(READ_AHEAD).min(limit);
        let Some(mut lent) = Lent::pages(self.reader, first, want_end) else {
            return Ok(0);
        };
        let mut done = 0;
        for &offset in group {
            if offset >= limit {
                break;
            }
            // What is readable of the longest header (as the span read peeks).
            let want = (limit - offset).min(HEADER_PEEK_LEN as u64);
            let Some(peek) = lent.bytes(offset, offset + want) else {
                break;
            };
            let header = decode_header(peek, offset, limit, self.opts.mode)?;
            let span = check_span(header, offset, limit)?;
            if span.end() > lent.end() {
                match Lent::pages(self.reader, first, span.end().max(want_end)) {
                    Some(more) => lent = more,
                    None => break,
                }
            }
            let (start, stop) = (span.payload_offset(), span.end());
            let Some(stored) = lent.bytes(start, stop) else {
                break;
            };
            let mut inflated = Vec::new();
            let copied = match span.header.compression {
                Compression::None if stored.len() >= SHARE_MIN_LEN => {
                    ranges.push(Gathered::Lent(lent.share(start, stop)));
                    None
                }
                Compression::None => Some(stored),
                Compression::Zstd => {
                    let max = self.opts.max_decompressed_len;
                    decompress_into(stored, span.offset, max, &mut inflated)?;
                    Some(&inflated[..])
                }
            };
            if let Some(bytes) = copied {
                let start = out.len();
                out.extend_from_slice(bytes);
                let end = out.len();
                ranges.push(Gathered::Copied { start, end });
            }
            done += 1;
        }
        Ok(done)
    }
}

/// Pages a reader lent, from the block holding file offset `start` on.
struct Lent {
    run: PageRun,
    /// File offset of the run's first byte (a block's start).
    start: u64,
}

impl Lent {
    /// The pages holding file bytes `[from, to)`, if there are at most [`MAX_LENT_PAGES`] and
    /// the reader lends them.
    fn pages<R: BlockReader>(reader: &R, from: u64, to: u64) -> Option<Lent> {
        let page = PAGE_SIZE as u64;
        let first = from / page;
        let n = usize::try_from(to.div_ceil(page).checked_sub(first)?).ok()?;
        if n == 0 || n > MAX_LENT_PAGES {
            return None;
        }
        let run = reader.lend_pages(BlockNo(u32::try_from(first).ok()?), n)?;
        Some(Lent {
            run,
            start: first * page,
        })
    }

    /// File offset after the run's last byte.
    fn end(&self) -> u64 {
        self.start + self.run.len() as u64
    }

    /// File bytes `[from, to)` (`from >= start`), if the run holds them.
    fn bytes(&self, from: u64, to: u64) -> Option<&[u8]> {
        let at = usize::try_from(from.checked_sub(self.start)?).ok()?;
        let stop = usize::try_from(to.checked_sub(self.start)?).ok()?;
        self.run.get(at..stop)
    }

    /// File bytes `[from, to)`, which [`bytes`](Self::bytes) found in the run, lent.
    fn share(&self, from: u64, to: u64) -> Bytes {
        let range = (from - self.start) as usize..(to - self.start) as usize;
        self.run.share(range).unwrap_or_default()
    }
}

/// The bytes `[lo, hi)` of the reader, held in `out[base..]`.
struct Span<'a, R> {
    reader: &'a R,
    limit: u64,
    opts: &'a BlobReadOptions,
    lo: u64,
    hi: u64,
    base: usize,
    out: &'a mut BytesMut,
}

impl<R: BlockReader> Span<'_, R> {
    /// Gathers the blobs at `group` (ascending, the first at `lo`).
    async fn gather(&mut self, group: &[u64], ranges: &mut Vec<Gathered>) -> Result<(), Error> {
        let (Some(&first), Some(&last)) = (group.first(), group.last()) else {
            return Ok(());
        };
        if first >= self.limit {
            let limit = self.limit;
            return Err(Corruption::HeaderPastEnd {
                offset: first,
                limit,
            }
            .into());
        }
        self.ensure(last.saturating_add(READ_AHEAD).min(self.limit))
            .await?;
        // Decompressed payloads go after the span, once it has stopped growing.
        let mut inflated: Vec<(usize, Vec<u8>)> = Vec::new();
        for &offset in group {
            let span = self.span(offset).await?;
            let stored_len =
                usize::try_from(span.header.stored_len).map_err(|_| Corruption::BlobPastEnd {
                    offset,
                    len: span.header.stored_len,
                    limit: self.limit,
                })?;
            self.ensure(span.end()).await?;
            let start = self.index(span.payload_offset());
            let stop = start + stored_len;
            match span.header.compression {
                Compression::None => ranges.push(Gathered::Copied { start, end: stop }),
                Compression::Zstd => {
                    let stored = self.out.get(start..stop).unwrap_or_default();
                    let mut buf = Vec::new();
                    let max = self.opts.max_decompressed_len;
                    decompress_into(stored, span.offset, max, &mut buf)?;
                    inflated.push((ranges.len(), buf));
                    ranges.push(Gathered::Copied { start: 0, end: 0 });
                }
            }
        }
        for (idx, payload) in inflated {
            let start = self.out.len();
            self.out.extend_from_slice(&payload);
            if let Some(range) = ranges.get_mut(idx) {
                *range = Gathered::Copied {
                    start,
                    end: self.out.len(),
                };
            }
        }
        Ok(())
    }

    /// Where the blob at `offset` (inside the span, `< limit`) lies: its header decoded from
    /// the span (grown to hold it) and its end checked against the limit.
    async fn span(&mut self, offset: u64) -> Result<BlobSpan, Error> {
        let limit = self.limit;
        if offset >= limit {
            return Err(Corruption::HeaderPastEnd { offset, limit }.into());
        }
        // What is readable of the longest header (as `decode_blob` peeks).
        let want =
            usize::try_from(limit - offset).map_or(HEADER_PEEK_LEN, |n| n.min(HEADER_PEEK_LEN));
        self.ensure(offset + want as u64).await?;
        let at = self.index(offset);
        let peek = self.out.get(at..at + want).unwrap_or_default();
        let header = decode_header(peek, offset, limit, self.opts.mode)?;
        Ok(check_span(header, offset, limit)?)
    }

    /// Index in `out` of file offset `offset` (inside the span).
    fn index(&self, offset: u64) -> usize {
        self.base + usize::try_from(offset - self.lo).unwrap_or(usize::MAX)
    }

    /// Grows the span to reach `end` (at most the limit), with one read of the bytes missing.
    async fn ensure(&mut self, end: u64) -> Result<(), Error> {
        if end <= self.hi {
            return Ok(());
        }
        let grow = usize::try_from(end - self.hi).map_err(|_| Corruption::BlobPastEnd {
            offset: self.hi,
            len: end - self.hi,
            limit: self.limit,
        })?;
        self.reader.append_at(self.hi, grow, self.out).await?;
        self.hi = end;
        Ok(())
    }
}
