//! [`gather_payloads`]: the payloads of several blobs, in file order, appended to one buffer
//! while each block is visited once through [`BlockReader::with_block`] (a point lookup's
//! values: an image and the records after it, usually two or three blocks).
//!
//! Invariants:
//! * The result equals [`BlobCursor::append_into`] of each offset in turn: the same bytes in
//!   `out`, the same errors (every header is decoded and its end checked against the limit by
//!   the same functions, before `out` grows for it).
//! * Blocks are only borrowed for the synchronous copy out of them: through a page cache a hit
//!   makes no page handle, and nothing is held between blocks.
//! * A header straddling a block boundary, a compressed blob, or offsets out of ascending order
//!   take the cursor's path for that blob, so every layout the cursor reads is read.

#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use bytes::BytesMut;

use crate::block::{BlockNo, BlockReader, PAGE_SIZE};
use crate::error::{Corruption, Error};
use crate::format::{
    BlobReadOptions, Compression, HeaderMode, check_span, decode_header, header_peek_len,
};
use crate::reader::BlobCursor;

const PAGE: u64 = PAGE_SIZE as u64;

/// Appends the payload of the blob at each of `offsets` (ascending, normally) to `out`, and
/// pushes each payload's range in `out` to `ranges` (same order). Blobs may not reach `limit`
/// nor the reader's end. On an error, `out` and `ranges` hold what was gathered before it.
pub async fn gather_payloads<R: BlockReader>(
    reader: &R,
    limit: u64,
    opts: &BlobReadOptions,
    offsets: &[u64],
    out: &mut BytesMut,
    ranges: &mut Vec<(usize, usize)>,
) -> Result<(), Error> {
    let limit = limit.min(u64::from(reader.n_blocks()) * PAGE);
    let mut gather = Gather {
        offsets,
        next: 0,
        phase: Phase::Header,
        limit,
        mode: opts.mode,
        out,
        ranges,
    };
    let Some(&first) = offsets.first() else {
        return Ok(());
    };
    let mut blkno = first / PAGE;
    loop {
        let blkno32 = u32::try_from(blkno).map_err(|_| Corruption::BlockPastEnd {
            blkno: BlockNo(u32::MAX),
            n_blocks: reader.n_blocks(),
        })?;
        let step = reader
            .with_block(BlockNo(blkno32), |page| gather.visit(blkno, page))
            .await??;
        match step {
            Step::Done => return Ok(()),
            Step::Block(next) => blkno = next,
            Step::Slow(offset) => {
                // Whatever was copied of this blob goes; the cursor reads it whole.
                let start = gather.phase_start();
                gather.out.truncate(start);
                let mut cursor = BlobCursor::new(reader, limit, *opts);
                cursor.append_into(offset, gather.out).await?;
                gather.finish_blob(start);
                match gather.offsets.get(gather.next) {
                    Some(&offset) => blkno = offset / PAGE,
                    None => return Ok(()),
                }
            }
        }
    }
}

/// Where the gathering is in the current blob.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Its header is to be decoded.
    Header,
    /// Its payload is being copied: `left` bytes from `at` on, appended to `out` from `start`.
    Copy { at: u64, left: usize, start: usize },
}

/// What a visit of one block asks for next.
enum Step {
    Done,
    /// The block with this number.
    Block(u64),
    /// The blob at this offset needs the cursor's path.
    Slow(u64),
}

struct Gather<'o> {
    offsets: &'o [u64],
    /// Index of the blob being gathered.
    next: usize,
    phase: Phase,
    limit: u64,
    mode: HeaderMode,
    out: &'o mut BytesMut,
    ranges: &'o mut Vec<(usize, usize)>,
}

impl Gather<'_> {
    /// Takes from block `blkno` (its bytes are `page`) everything the blobs need of it, in
    /// order, until a blob needs another block.
    fn visit(&mut self, blkno: u64, page: &[u8; PAGE_SIZE]) -> Result<Step, Error> {
        loop {
            let Some(&offset) = self.offsets.get(self.next) else {
                return Ok(Step::Done);
            };
            match self.phase {
                Phase::Header => {
                    if offset >= self.limit {
                        let limit = self.limit;
                        return Err(Corruption::HeaderPastEnd { offset, limit }.into());
                    }
                    let out_of_order = self
                        .next
                        .checked_sub(1)
                        .and_then(|i| self.offsets.get(i))
                        .is_some_and(|&prev| prev >= offset);
                    if out_of_order {
                        return Ok(Step::Slow(offset));
                    }
                    if offset / PAGE != blkno {
                        return Ok(Step::Block(offset / PAGE));
                    }
                    let in_block = (offset % PAGE) as usize;
                    let first = page.get(in_block).copied().unwrap_or_default();
                    let available = usize::try_from(self.limit - offset).unwrap_or(usize::MAX);
                    let want = header_peek_len(first, self.mode).min(available);
                    let Some(peek) = page.get(in_block..in_block + want) else {
                        return Ok(Step::Slow(offset));
                    };
                    let header = decode_header(peek, offset, self.limit, self.mode)?;
                    let span = check_span(header, offset, self.limit)?;
                    if span.header.compression != Compression::None {
                        return Ok(Step::Slow(offset));
                    }
                    let left = usize::try_from(span.header.stored_len).map_err(|_| {
                        Corruption::BlobPastEnd {
                            offset,
                            len: span.header.stored_len,
                            limit: self.limit,
                        }
                    })?;
                    self.out.reserve(left);
                    let start = self.out.len();
                    let at = span.payload_offset();
                    self.phase = Phase::Copy { at, left, start };
                }
                Phase::Copy { left: 0, start, .. } => self.finish_blob(start),
                Phase::Copy { at, left, start } => {
                    if at / PAGE != blkno {
                        return Ok(Step::Block(at / PAGE));
                    }
                    let in_block = (at % PAGE) as usize;
                    let n = left.min(PAGE_SIZE - in_block);
                    self.out
                        .extend_from_slice(page.get(in_block..in_block + n).unwrap_or_default());
                    let (at, left) = (at + n as u64, left - n);
                    self.phase = Phase::Copy { at, left, start };
                }
            }
        }
    }

    /// Where the current blob's payload starts in `out` (its end, before it is copied).
    fn phase_start(&self) -> usize {
        match self.phase {
            Phase::Header => self.out.len(),
            Phase::Copy { start, .. } => start,
        }
    }

    /// Records the current blob's payload as `out[start..]` and moves to the next blob.
    fn finish_blob(&mut self, start: usize) {
        self.ranges.push((start, self.out.len()));
        self.next += 1;
        self.phase = Phase::Header;
    }
}
