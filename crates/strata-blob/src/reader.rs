//! Blob reads over any [`BlockReader`] (FORMAT.md section 4): one blob block by block
//! ([`read_blob_into`]), or a run of blobs with one `read_blocks` call ([`read_run`]).
//!
//! Invariants:
//! * A blob may not reach the caller's `limit` nor the reader's end; a length that would is
//!   [`Corruption::BlobPastEnd`] (or [`Corruption::HeaderPastEnd`]) **before** any buffer is
//!   sized for it, so a corrupt header cannot make a reader allocate more than the file holds.
//! * Headers may straddle a block boundary; payloads may span any number of blocks.
//! * Single-blob reads go through [`BlockReader::read_block`] only, so a page cache in front
//!   sees every block.

#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use std::borrow::Cow;

use crate::block::{Block, BlockNo, BlockReader, PAGE_SIZE};
use crate::error::{Corruption, Error};
use crate::format::{
    BlobHeader, BlobReadOptions, BlobSpan, Compression, HEADER_PEEK_LEN, check_span, decode_blob,
    decode_header, decompress_into, header_peek_len,
};

const PAGE: u64 = PAGE_SIZE as u64;

/// Reads the payload of the blob at `offset` into `buf` (cleared first), decompressing it if
/// its header says so. The blob may not reach `limit` (the first offset it may not touch,
/// e.g. the end of the value area) nor the reader's end. Default [`BlobReadOptions`].
pub async fn read_blob_into<R: BlockReader>(
    reader: &R,
    offset: u64,
    limit: u64,
    buf: &mut Vec<u8>,
) -> Result<(), Error> {
    read_blob_with(reader, offset, limit, buf, &BlobReadOptions::default()).await?;
    Ok(())
}

/// [`read_blob_into`] with explicit options; also returns where the blob lies, so a caller can
/// walk blobs packed back to back ([`BlobSpan::end`]).
pub async fn read_blob_with<R: BlockReader>(
    reader: &R,
    offset: u64,
    limit: u64,
    buf: &mut Vec<u8>,
    opts: &BlobReadOptions,
) -> Result<BlobSpan, Error> {
    buf.clear();
    let limit = limit.min(u64::from(reader.n_blocks()) * PAGE);
    let mut cursor = Cursor::new(reader);
    let header = read_header(&mut cursor, offset, limit, opts).await?;
    let span = check_span(header, offset, limit)?;
    // check_span bounded stored_len by the reader's size, so these allocations are too.
    let stored_len = usize::try_from(header.stored_len).map_err(|_| Corruption::BlobPastEnd {
        offset,
        len: header.stored_len,
        limit,
    })?;
    match header.compression {
        Compression::None => {
            buf.reserve_exact(stored_len);
            cursor
                .copy_into(span.payload_offset(), stored_len, buf)
                .await?;
        }
        Compression::Zstd => {
            let mut stored = Vec::with_capacity(stored_len);
            cursor
                .copy_into(span.payload_offset(), stored_len, &mut stored)
                .await?;
            decompress_into(&stored, offset, opts.max_decompressed_len, buf)?;
        }
    }
    Ok(span)
}

/// Bytes `[start, end)` of a reader, read with one [`BlockReader::read_blocks`] call, from
/// which blobs inside the range can be decoded without further I/O.
#[derive(Debug, Clone)]
pub struct BlobRun {
    /// Whole blocks covering `[start, end)`; `data[0]` is at file offset `base`.
    data: Vec<u8>,
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
    if end < start {
        return Err(Error::OutOfRange {
            offset: end,
            start,
            end: start,
        });
    }
    let reader_end = u64::from(reader.n_blocks()) * PAGE;
    if end > reader_end {
        return Err(Corruption::BlobPastEnd {
            offset: start,
            len: end - start,
            limit: reader_end,
        }
        .into());
    }
    let first = start / PAGE;
    let base = first * PAGE;
    let data = if start == end {
        Vec::new()
    } else {
        // end <= reader_end, so the block count and the buffer are bounded by the reader.
        let len =
            usize::try_from(end.next_multiple_of(PAGE) - base).map_err(|_| Error::OutOfRange {
                offset: end,
                start,
                end: reader_end,
            })?;
        let mut data = vec![0u8; len];
        reader.read_blocks(BlockNo(first as u32), &mut data).await?;
        data
    };
    Ok(BlobRun {
        data,
        base,
        start,
        end,
        opts: *opts,
    })
}

impl BlobRun {
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
}

/// Reads blocks one at a time, keeping the last one.
struct Cursor<'r, R> {
    reader: &'r R,
    current: Option<(u64, Block)>,
}

impl<'r, R: BlockReader> Cursor<'r, R> {
    fn new(reader: &'r R) -> Cursor<'r, R> {
        Cursor {
            reader,
            current: None,
        }
    }

    /// The block holding byte `offset`, and where in it that byte is.
    async fn block_at(&mut self, offset: u64) -> Result<(Block, usize), Error> {
        let blkno = offset / PAGE;
        let in_block = (offset % PAGE) as usize;
        let block = match self.current.take() {
            Some((cur, block)) if cur == blkno => block,
            _ => {
                let blkno32 = u32::try_from(blkno).map_err(|_| Corruption::BlockPastEnd {
                    blkno: BlockNo(u32::MAX),
                    n_blocks: self.reader.n_blocks(),
                })?;
                self.reader.read_block(BlockNo(blkno32)).await?
            }
        };
        self.current = Some((blkno, block.clone()));
        Ok((block, in_block))
    }

    /// Appends the `len` bytes from `offset` on to `out`. The caller checked they exist.
    async fn copy_into(
        &mut self,
        mut offset: u64,
        mut len: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        while len > 0 {
            let (block, in_block) = self.block_at(offset).await?;
            let n = len.min(PAGE_SIZE - in_block);
            let bytes = block.get(in_block..in_block + n).unwrap_or_default();
            out.extend_from_slice(bytes);
            len -= n;
            offset += n as u64;
        }
        Ok(())
    }
}

/// Reads and decodes the header at `offset` (which may straddle two blocks).
async fn read_header<R: BlockReader>(
    cursor: &mut Cursor<'_, R>,
    offset: u64,
    limit: u64,
    opts: &BlobReadOptions,
) -> Result<BlobHeader, Error> {
    if offset >= limit {
        return Err(Corruption::HeaderPastEnd { offset, limit }.into());
    }
    let first = {
        let (block, in_block) = cursor.block_at(offset).await?;
        block.get(in_block).copied().unwrap_or_default()
    };
    let available = usize::try_from(limit - offset).unwrap_or(usize::MAX);
    let want = header_peek_len(first, opts.mode).min(available);
    let mut peek = Vec::with_capacity(HEADER_PEEK_LEN);
    cursor.copy_into(offset, want, &mut peek).await?;
    Ok(decode_header(&peek, offset, limit, opts.mode)?)
}
