//! [`gather_payloads`]: the payloads of several blobs, in file order, appended to one buffer
//! with one [`BlockReader::read_at`] per group of nearby blobs (a point lookup's values: an
//! image and the records after it, about 10 KB over two or three blocks, in one read).
//!
//! Invariants:
//! * The result equals [`BlobCursor::append_into`] of each offset in turn: the same payload
//!   bytes, the same errors (every header is decoded and its end checked against the limit by
//!   the same functions, before the buffer grows to hold it).
//! * Only bytes up to a blob's checked end are read, plus [`READ_AHEAD`] after a group's last
//!   offset; a group spans blobs whose offsets ascend by at most [`GROUP_GAP`], so a lookup
//!   reads at most a few KiB it does not need, whatever offsets it is given.
//! * On an error, `out` and `ranges` hold the payloads of the groups before the failing one
//!   (and what they held before the call).

#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use bytes::BytesMut;

use crate::block::BlockReader;
use crate::error::{Corruption, Error};
use crate::format::{
    BlobReadOptions, BlobSpan, Compression, HEADER_PEEK_LEN, check_span, decode_header,
    decompress_into,
};

/// Bytes read after a group's last offset with the group, so that its last blob (normally a
/// WAL record of a few hundred bytes) needs no second read.
pub const READ_AHEAD: u64 = 512;
/// Largest step from one offset to the next inside one group: farther blobs start a new read.
pub const GROUP_GAP: u64 = 64 << 10;

/// Appends the payload of the blob at each of `offsets` (ascending, normally) to `out`, and
/// pushes each payload's range in `out` to `ranges` (same order). Blobs may not reach `limit`
/// nor the reader's end.
pub async fn gather_payloads<R: BlockReader>(
    reader: &R,
    limit: u64,
    opts: &BlobReadOptions,
    offsets: &[u64],
    out: &mut BytesMut,
    ranges: &mut Vec<(usize, usize)>,
) -> Result<(), Error> {
    let limit = limit.min(u64::from(reader.n_blocks()) * crate::PAGE_SIZE as u64);
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
        let mut span = Span {
            reader,
            limit,
            opts,
            lo: first,
            hi: first,
            base: out.len(),
            out: &mut *out,
        };
        let n_ranges = ranges.len();
        if let Err(err) = span.gather(group, ranges).await {
            let base = span.base;
            out.truncate(base);
            ranges.truncate(n_ranges);
            return Err(err);
        }
        rest = tail;
    }
    Ok(())
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
    async fn gather(
        &mut self,
        group: &[u64],
        ranges: &mut Vec<(usize, usize)>,
    ) -> Result<(), Error> {
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
                Compression::None => ranges.push((start, stop)),
                Compression::Zstd => {
                    let stored = self.out.get(start..stop).unwrap_or_default();
                    let mut buf = Vec::new();
                    let max = self.opts.max_decompressed_len;
                    decompress_into(stored, span.offset, max, &mut buf)?;
                    inflated.push((ranges.len(), buf));
                    ranges.push((0, 0));
                }
            }
        }
        for (idx, payload) in inflated {
            let start = self.out.len();
            self.out.extend_from_slice(&payload);
            if let Some(range) = ranges.get_mut(idx) {
                *range = (start, self.out.len());
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
