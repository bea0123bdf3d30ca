//! Scattered blob reads over any [`BlockReader`] (FORMAT.md section 4): the [`BlobCursor`],
//! which reads block by block through the reader (normally a page cache) and keeps the last
//! block, and the one-shot [`read_blob_into`] / [`read_blob_with`] built on it.
//!
//! Invariants:
//! * A blob may not reach the cursor's `limit` nor the reader's end; a length that would is
//!   [`Corruption::BlobPastEnd`] (or [`Corruption::HeaderPastEnd`]) **before** any buffer is
//!   sized for it, so a corrupt header cannot make a reader allocate more than the file holds.
//! * Headers may straddle a block boundary; payloads may span any number of blocks.
//! * Reads go through [`BlockReader::read_block`] only, so a page cache in front sees every
//!   block; the cursor releases its block before it reads another, so it pins at most one
//!   cache slot.
//! * A payload inside one block is handed out as a slice of that block ([`Payload::Block`]);
//!   one spanning blocks, or stored compressed, is copied (or decompressed) once into a buffer
//!   the caller may keep ([`Payload::Owned`]).

#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use bytes::BytesMut;

use crate::block::{Block, BlockNo, BlockReader, PAGE_SIZE};
use crate::error::{Corruption, Error};
use crate::format::{
    BlobReadOptions, BlobSpan, Compression, HEADER_PEEK_LEN, check_span, decode_header,
    decompress_into, header_peek_len,
};

const PAGE: u64 = PAGE_SIZE as u64;

/// The payload of one blob, as [`BlobCursor::payload`] found it.
#[derive(Debug)]
pub enum Payload<'a> {
    /// Stored uncompressed inside one block: a slice of that block (of the cached page when
    /// the cursor reads through a page cache). No copy was made.
    Block(&'a [u8]),
    /// Spanning blocks, or stored compressed: gathered (or decompressed) into a buffer of its
    /// own, the only copy made, which the caller may keep.
    Owned(Vec<u8>),
}

impl Payload<'_> {
    /// The payload bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Payload::Block(bytes) => bytes,
            Payload::Owned(bytes) => bytes,
        }
    }
}

/// Scattered blob reads block by block through a [`BlockReader`], keeping the last block, so
/// that neighbouring blobs cost one block read (one page-cache lookup).
#[derive(Debug)]
pub struct BlobCursor<'r, R> {
    reader: &'r R,
    /// First offset a blob may not reach, at most the reader's end.
    limit: u64,
    opts: BlobReadOptions,
    current: Option<(u64, Block)>,
}

impl<'r, R: BlockReader> BlobCursor<'r, R> {
    /// A cursor over `reader` for blobs that end before `limit` (e.g. the end of a value area;
    /// the reader's end if that comes first).
    pub fn new(reader: &'r R, limit: u64, opts: BlobReadOptions) -> BlobCursor<'r, R> {
        BlobCursor {
            reader,
            limit: limit.min(u64::from(reader.n_blocks()) * PAGE),
            opts,
            current: None,
        }
    }

    /// The first offset a blob may not reach.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Where the blob at `offset` lies: its header decoded and its end checked against the
    /// limit. Reads only the header's block(s).
    pub async fn span(&mut self, offset: u64) -> Result<BlobSpan, Error> {
        let (limit, mode) = (self.limit, self.opts.mode);
        if offset >= limit {
            return Err(Corruption::HeaderPastEnd { offset, limit }.into());
        }
        let in_block = (offset % PAGE) as usize;
        let block = self.block(offset / PAGE).await?;
        let first = block.get(in_block).copied().unwrap_or_default();
        let available = usize::try_from(limit - offset).unwrap_or(usize::MAX);
        let want = header_peek_len(first, mode).min(available);
        let header = match block.get(in_block..in_block + want) {
            Some(peek) => decode_header(peek, offset, limit, mode)?,
            None => {
                // The header straddles a block boundary.
                let mut peek = [0u8; HEADER_PEEK_LEN];
                let peek = peek.get_mut(..want).unwrap_or_default();
                self.copy_to(offset, peek).await?;
                decode_header(peek, offset, limit, mode)?
            }
        };
        Ok(check_span(header, offset, limit)?)
    }

    /// The payload of the blob at `offset`: borrowed from the block holding it when it lies
    /// in one block uncompressed, otherwise copied or decompressed once (see [`Payload`]).
    pub async fn payload(&mut self, offset: u64) -> Result<(BlobSpan, Payload<'_>), Error> {
        let span = self.span(offset).await?;
        let start = span.payload_offset();
        let len = self.stored_len(&span)?;
        let in_block = (start % PAGE) as usize;
        let one_block = in_block + len <= PAGE_SIZE;
        match span.header.compression {
            Compression::None if one_block => {
                let block = self.block(start / PAGE).await?;
                let bytes = block.get(in_block..in_block + len).unwrap_or_default();
                Ok((span, Payload::Block(bytes)))
            }
            Compression::None => {
                let mut buf = Vec::with_capacity(len);
                self.extend(start, len, &mut buf).await?;
                Ok((span, Payload::Owned(buf)))
            }
            Compression::Zstd => {
                let mut buf = Vec::new();
                self.decompress(&span, len, &mut buf).await?;
                Ok((span, Payload::Owned(buf)))
            }
        }
    }

    /// Reads the payload of the blob at `offset` into `buf` (cleared first, its capacity
    /// reused), decompressing it if its header says so.
    pub async fn read_into(&mut self, offset: u64, buf: &mut Vec<u8>) -> Result<BlobSpan, Error> {
        buf.clear();
        self.gather(offset, buf).await
    }

    /// Appends the payload of the blob at `offset` to `out` (nothing is cleared), decompressing
    /// it if its header says so; returns where the blob lies. Lets a caller gather several
    /// payloads into one buffer (one allocation for a lookup's values, reused once they are
    /// dropped). The blob's end is checked against the limit before `out` grows.
    pub async fn append_into(
        &mut self,
        offset: u64,
        out: &mut BytesMut,
    ) -> Result<BlobSpan, Error> {
        self.gather(offset, out).await
    }

    /// [`append_into`](Self::append_into) for any buffer.
    async fn gather(&mut self, offset: u64, out: &mut impl ExtendSlice) -> Result<BlobSpan, Error> {
        let span = self.span(offset).await?;
        let len = self.stored_len(&span)?;
        match span.header.compression {
            Compression::None => {
                out.reserve_more(len);
                self.extend(span.payload_offset(), len, out).await?;
            }
            Compression::Zstd => {
                let mut buf = Vec::new();
                self.decompress(&span, len, &mut buf).await?;
                out.extend_slice(&buf);
            }
        }
        Ok(span)
    }

    /// The stored length as a `usize` (check_span bounded it by the limit, inside the reader).
    fn stored_len(&self, span: &BlobSpan) -> Result<usize, Error> {
        usize::try_from(span.header.stored_len).map_err(|_| {
            Corruption::BlobPastEnd {
                offset: span.offset,
                len: span.header.stored_len,
                limit: self.limit,
            }
            .into()
        })
    }

    /// Decompresses the `len` stored bytes of `span` into `out`.
    async fn decompress(
        &mut self,
        span: &BlobSpan,
        len: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let start = span.payload_offset();
        let in_block = (start % PAGE) as usize;
        let max = self.opts.max_decompressed_len;
        if in_block + len <= PAGE_SIZE {
            let block = self.block(start / PAGE).await?;
            let stored = block.get(in_block..in_block + len).unwrap_or_default();
            return Ok(decompress_into(stored, span.offset, max, out)?);
        }
        let mut stored = Vec::with_capacity(len);
        self.extend(start, len, &mut stored).await?;
        Ok(decompress_into(&stored, span.offset, max, out)?)
    }

    /// The block `blkno`, read unless it is the current one. The current block is released
    /// first, so the cursor never holds two.
    async fn block(&mut self, blkno: u64) -> Result<&Block, Error> {
        let hit = match self.current.take() {
            Some((cur, block)) if cur == blkno => Some(block),
            // Dropped here, before the read below.
            _ => None,
        };
        let block = match hit {
            Some(block) => block,
            None => {
                let blkno32 = u32::try_from(blkno).map_err(|_| Corruption::BlockPastEnd {
                    blkno: BlockNo(u32::MAX),
                    n_blocks: self.reader.n_blocks(),
                })?;
                self.reader.read_block(BlockNo(blkno32)).await?
            }
        };
        Ok(&self.current.insert((blkno, block)).1)
    }

    /// Fills `out` with the bytes from `offset` on (the caller checked they exist).
    async fn copy_to(&mut self, mut offset: u64, mut out: &mut [u8]) -> Result<(), Error> {
        while !out.is_empty() {
            let in_block = (offset % PAGE) as usize;
            let block = self.block(offset / PAGE).await?;
            let n = out.len().min(PAGE_SIZE - in_block);
            let (dst, rest) = out.split_at_mut(n);
            dst.copy_from_slice(block.get(in_block..in_block + n).unwrap_or_default());
            out = rest;
            offset += n as u64;
        }
        Ok(())
    }

    /// Appends the `len` bytes from `offset` on to `out` (the caller checked they exist).
    async fn extend(
        &mut self,
        mut offset: u64,
        mut len: usize,
        out: &mut impl ExtendSlice,
    ) -> Result<(), Error> {
        while len > 0 {
            let in_block = (offset % PAGE) as usize;
            let block = self.block(offset / PAGE).await?;
            let n = len.min(PAGE_SIZE - in_block);
            out.extend_slice(block.get(in_block..in_block + n).unwrap_or_default());
            len -= n;
            offset += n as u64;
        }
        Ok(())
    }
}

/// The buffers payloads are gathered into.
trait ExtendSlice: Send {
    fn reserve_more(&mut self, additional: usize);
    fn extend_slice(&mut self, bytes: &[u8]);
}

impl ExtendSlice for Vec<u8> {
    fn reserve_more(&mut self, additional: usize) {
        self.reserve_exact(additional);
    }

    fn extend_slice(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl ExtendSlice for BytesMut {
    fn reserve_more(&mut self, additional: usize) {
        self.reserve(additional);
    }

    fn extend_slice(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

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
/// walk blobs packed back to back ([`BlobSpan::end`]). One [`BlobCursor::read_into`].
pub async fn read_blob_with<R: BlockReader>(
    reader: &R,
    offset: u64,
    limit: u64,
    buf: &mut Vec<u8>,
    opts: &BlobReadOptions,
) -> Result<BlobSpan, Error> {
    BlobCursor::new(reader, limit, *opts)
        .read_into(offset, buf)
        .await
}
