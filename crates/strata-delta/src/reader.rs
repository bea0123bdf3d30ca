//! [`DeltaLayer`]: an open delta layer file (FORMAT.md sections 3, 9 items 1–5, 12), and the two
//! blob readers the read paths share: [`BlobCursor`] for scattered reads through the page cache
//! (point lookups) and [`RunReader`] for sequential reads in large runs (full scans, verify).
//!
//! Invariants of an open [`DeltaLayer`] (checked by [`DeltaLayer::from_reader`]):
//! * the source has at least 3 whole blocks;
//! * magic `0x5A61`, format version 3, non-empty key and LSN ranges;
//! * `2 <= index_start_blk` and `index_start_blk + index_root_blk < n_blocks`, so the value
//!   area `[8192, index_start_blk * 8192)` and the root lie inside the file.
//!
//! Every error caused by the bytes is [`Error::Corrupt`], naming the file when the layer was
//! opened from a path. Blob reads never size a buffer before checking that the blob lies inside
//! the value area, so a corrupt length cannot make a reader allocate more than the file holds.

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use strata_blob::{
    BlobReadOptions, BlobSpan, Block, BlockNo, BlockReader, Compression, FileTable,
    HEADER_PEEK_LEN, PAGE_SIZE, TableFile, check_span, decode_blob, decode_header, header_peek_len,
    read_blob_with,
};
use strata_btree::DiskBtreeReader;
use strata_cache::{CachedReader, PageCache};
use strata_key::{KEY_SIZE, Key, Lsn};

use crate::error::{CorruptionKind, Error};
use crate::format::{
    DELTA_FILE_MAGIC, DELTA_KEY_SIZE, FORMAT_VERSION, SUMMARY_LEN, Summary, VALUE_AREA_OFFSET,
};
use crate::value::Value;

const PAGE: u64 = PAGE_SIZE as u64;

/// Bytes a [`RunReader`] reads at once during full scans (unless a single blob needs more).
pub(crate) const SCAN_RUN_BYTES: usize = 256 * 1024;

/// Default for [`OpenOptions::max_run_bytes`]: Neon's default `max_vectored_read_bytes`.
pub const DEFAULT_MAX_RUN_BYTES: u64 = 128 * 1024;

/// Knobs of [`DeltaLayer::from_reader`] and [`DeltaLayer::open_with`].
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// The summary the caller expects (Neon's production path builds it from the file name and
    /// the owning timeline). Every field but `index_start_blk` / `index_root_blk` must match,
    /// or opening fails with [`CorruptionKind::SummaryMismatch`].
    pub expected_summary: Option<Summary>,
    /// The file's length in bytes, when the caller knows it (set by [`DeltaLayer::open`]).
    /// Only [`DeltaLayer::verify`] uses it, to check that it is a multiple of 8192.
    pub file_len: Option<u64>,
    /// How blob headers are read (default: seed and newer compressed headers, see
    /// [`strata_blob::HeaderMode::Auto`]).
    pub blob: BlobReadOptions,
    /// Largest run of adjacent blobs a vectored read fetches with one I/O (a single larger
    /// blob is read alone).
    pub max_run_bytes: u64,
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions {
            expected_summary: None,
            file_len: None,
            blob: BlobReadOptions::default(),
            max_run_bytes: DEFAULT_MAX_RUN_BYTES,
        }
    }
}

/// An open delta layer: its validated summary and its B-tree index over a [`BlockReader`].
///
/// All reads take `&self`; the layer holds no mutable state, so one layer serves any number of
/// concurrent readers.
#[derive(Debug)]
pub struct DeltaLayer<R> {
    tree: DiskBtreeReader<R, DELTA_KEY_SIZE>,
    summary: Summary,
    path: Option<PathBuf>,
    file_len: Option<u64>,
    blob_opts: BlobReadOptions,
    max_run_bytes: u64,
}

impl DeltaLayer<CachedReader<TableFile>> {
    /// Opens the layer file at `path` through the open-file table `files`, reading its blocks
    /// through `cache`, with default [`OpenOptions`].
    pub async fn open(
        path: &Path,
        cache: &PageCache,
        files: &FileTable,
    ) -> Result<DeltaLayer<CachedReader<TableFile>>, Error> {
        DeltaLayer::open_with(path, cache, files, OpenOptions::default()).await
    }

    /// [`DeltaLayer::open`] with explicit options (`file_len` is taken from the file).
    pub async fn open_with(
        path: &Path,
        cache: &PageCache,
        files: &FileTable,
        mut opts: OpenOptions,
    ) -> Result<DeltaLayer<CachedReader<TableFile>>, Error> {
        let file = files.open(path)?;
        opts.file_len = Some(std::fs::metadata(path)?.len());
        let reader = cache.wrap(file);
        DeltaLayer::open_reader(reader, Some(path.to_path_buf()), opts).await
    }
}

impl<R: BlockReader> DeltaLayer<R> {
    /// Opens the layer held by `reader` (any block source: a file, the page cache, memory).
    pub async fn from_reader(reader: R, opts: OpenOptions) -> Result<DeltaLayer<R>, Error> {
        DeltaLayer::open_reader(reader, None, opts).await
    }

    /// Opens the layer held by `reader`, naming `path` in errors.
    pub async fn from_reader_at(
        reader: R,
        path: &Path,
        opts: OpenOptions,
    ) -> Result<DeltaLayer<R>, Error> {
        DeltaLayer::open_reader(reader, Some(path.to_path_buf()), opts).await
    }

    async fn open_reader(
        reader: R,
        path: Option<PathBuf>,
        opts: OpenOptions,
    ) -> Result<DeltaLayer<R>, Error> {
        let summary = match read_summary(&reader).await {
            Ok(s) => s,
            Err(e) => return Err(e.in_file(path.as_deref())),
        };
        if let Err(e) = check_summary(&summary, reader.n_blocks(), opts.expected_summary.as_ref()) {
            return Err(e.in_file(path.as_deref()));
        }
        Ok(DeltaLayer::new_unchecked(reader, summary, path, &opts))
    }

    /// A layer over `reader` with `summary` as is, without any check: for `verify`, which
    /// reports what is wrong instead of refusing. Callers check what they rely on.
    pub(crate) fn new_unchecked(
        reader: R,
        summary: Summary,
        path: Option<PathBuf>,
        opts: &OpenOptions,
    ) -> DeltaLayer<R> {
        DeltaLayer {
            tree: DiskBtreeReader::new(summary.index_start_blk, summary.index_root_blk, reader),
            summary,
            path,
            file_len: opts.file_len,
            blob_opts: opts.blob,
            max_run_bytes: opts.max_run_bytes,
        }
    }

    /// The layer's summary (block 0).
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// The file the layer was opened from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The file name the layer was opened from, if any.
    pub fn name(&self) -> Option<&str> {
        self.path.as_deref()?.file_name()?.to_str()
    }

    /// The file's length in bytes, when known.
    pub fn file_len(&self) -> Option<u64> {
        self.file_len
    }

    /// The block source.
    pub fn reader(&self) -> &R {
        self.tree.reader()
    }

    /// The B-tree index.
    pub fn tree(&self) -> &DiskBtreeReader<R, DELTA_KEY_SIZE> {
        &self.tree
    }

    /// First offset after the value area: `index_start_blk * 8192`.
    pub fn value_area_end(&self) -> u64 {
        u64::from(self.summary.index_start_blk) * PAGE
    }

    pub(crate) fn blob_opts(&self) -> &BlobReadOptions {
        &self.blob_opts
    }

    pub(crate) fn max_run_bytes(&self) -> u64 {
        self.max_run_bytes
    }

    /// Adds this layer's file to a corruption error.
    pub(crate) fn ctx(&self, e: impl Into<Error>) -> Error {
        e.into().in_file(self.path.as_deref())
    }

    /// Checks that a blob offset lies in the value area.
    pub(crate) fn check_blob_offset(&self, offset: u64) -> Result<(), Error> {
        let value_area_end = self.value_area_end();
        if offset < VALUE_AREA_OFFSET || offset >= value_area_end {
            return Err(Error::corrupt(CorruptionKind::BlobOutsideValueArea {
                offset,
                value_area_end,
            }));
        }
        Ok(())
    }

    /// A cursor for scattered blob reads through this layer's reader.
    pub(crate) fn blob_cursor(&self) -> BlobCursor<'_, R> {
        BlobCursor::new(self.reader(), self.value_area_end(), self.blob_opts)
    }

    /// A reader for sequential blob reads in runs of `run_bytes`.
    pub(crate) fn run_reader(&self, run_bytes: usize) -> RunReader<'_, R> {
        RunReader::new(
            self.reader(),
            self.value_area_end(),
            self.blob_opts,
            run_bytes,
        )
    }
}

/// Reads and decodes block 0's summary (no validation).
pub(crate) async fn read_summary<R: BlockReader>(reader: &R) -> Result<Summary, Error> {
    let n_blocks = reader.n_blocks();
    if n_blocks == 0 {
        return Err(CorruptionKind::FileTooShort { n_blocks }.into());
    }
    let block0 = reader.read_block(BlockNo(0)).await?;
    let bytes = block0.get(..SUMMARY_LEN).unwrap_or_default();
    Summary::decode(bytes)
}

/// The checks of FORMAT.md section 9 items 1–5 made on open (see the module docs).
pub(crate) fn check_summary(
    summary: &Summary,
    n_blocks: u32,
    expected: Option<&Summary>,
) -> Result<(), Error> {
    if n_blocks < 3 {
        return Err(CorruptionKind::FileTooShort { n_blocks }.into());
    }
    if let Some(expected) = expected {
        let mut expected = *expected;
        expected.index_start_blk = summary.index_start_blk;
        expected.index_root_blk = summary.index_root_blk;
        if expected != *summary {
            return Err(CorruptionKind::SummaryMismatch {
                expected: Box::new(expected),
                found: Box::new(*summary),
            }
            .into());
        }
    }
    if summary.magic != DELTA_FILE_MAGIC {
        return Err(CorruptionKind::BadMagic {
            magic: summary.magic,
        }
        .into());
    }
    if summary.format_version != FORMAT_VERSION {
        return Err(CorruptionKind::BadVersion {
            version: summary.format_version,
        }
        .into());
    }
    let kr = &summary.key_range;
    if kr.start >= kr.end {
        return Err(CorruptionKind::EmptyKeyRange {
            start: kr.start,
            end: kr.end,
        }
        .into());
    }
    let lr = &summary.lsn_range;
    if lr.start >= lr.end {
        return Err(CorruptionKind::EmptyLsnRange {
            start: lr.start,
            end: lr.end,
        }
        .into());
    }
    if !index_in_file(summary, n_blocks) {
        return Err(CorruptionKind::IndexOutOfFile {
            index_start_blk: summary.index_start_blk,
            index_root_blk: summary.index_root_blk,
            n_blocks,
        }
        .into());
    }
    Ok(())
}

/// Item 5: `2 <= index_start_blk` and `index_start_blk + index_root_blk < n_blocks`.
pub(crate) fn index_in_file(summary: &Summary, n_blocks: u32) -> bool {
    summary.index_start_blk >= 2
        && summary
            .index_start_blk
            .checked_add(summary.index_root_blk)
            .is_some_and(|root| root < n_blocks)
}

/// The 26-byte B-tree key of `(key, lsn)` (FORMAT.md section 5.2).
pub(crate) fn delta_key(key: Key, lsn: Lsn) -> [u8; DELTA_KEY_SIZE] {
    let mut out = [0u8; DELTA_KEY_SIZE];
    let (k, l) = out.split_at_mut(KEY_SIZE);
    if let Ok(k) = <&mut [u8; KEY_SIZE]>::try_from(k) {
        key.write_to(k);
    }
    l.copy_from_slice(&lsn.to_be_bytes());
    out
}

/// The key and LSN of a 26-byte B-tree key.
pub(crate) fn split_delta_key(raw: &[u8; DELTA_KEY_SIZE]) -> (Key, Lsn) {
    let (k, l) = raw.split_at(KEY_SIZE);
    let key = <&[u8; KEY_SIZE]>::try_from(k).map_or(Key::MIN, Key::from_array);
    let lsn = <[u8; 8]>::try_from(l).map_or(Lsn(0), |b| Lsn(u64::from_be_bytes(b)));
    (key, lsn)
}

/// Decodes a blob payload as a [`Value`], mapping a decode error to corruption at `offset`.
pub(crate) fn decode_value(payload: &[u8], offset: u64) -> Result<Value, Error> {
    Value::decode(payload).map_err(|error| Error::corrupt(CorruptionKind::Value { offset, error }))
}

/// Decodes a blob payload held in `payload`, sharing its buffer (see [`decode_value`]).
pub(crate) fn decode_value_bytes(payload: Bytes, offset: u64) -> Result<Value, Error> {
    Value::decode_bytes(&payload)
        .map_err(|error| Error::corrupt(CorruptionKind::Value { offset, error }))
}

/// Scattered blob reads block by block through a [`BlockReader`] (normally the page cache),
/// keeping the last block so that neighbouring blobs cost one lookup.
///
/// Payloads inside one block are decoded in place; a payload spanning blocks is gathered
/// into one buffer that the decoded value then shares (no second copy of a page image).
pub(crate) struct BlobCursor<'a, R> {
    reader: &'a R,
    /// First offset a blob may not reach (the end of the value area, inside the file).
    limit: u64,
    opts: BlobReadOptions,
    current: Option<(u64, Block)>,
}

impl<'a, R: BlockReader> BlobCursor<'a, R> {
    pub(crate) fn new(reader: &'a R, limit: u64, opts: BlobReadOptions) -> BlobCursor<'a, R> {
        let limit = limit.min(u64::from(reader.n_blocks()) * PAGE);
        BlobCursor {
            reader,
            limit,
            opts,
            current: None,
        }
    }

    /// The block `blkno`, read unless it is the current one.
    async fn block(&mut self, blkno: u64) -> Result<&Block, Error> {
        let hit = matches!(&self.current, Some((cur, _)) if *cur == blkno);
        if !hit {
            // Released before the next block is read: one cache slot per reader.
            self.current = None;
            let blkno32 =
                u32::try_from(blkno).map_err(|_| strata_blob::Corruption::BlockPastEnd {
                    blkno: BlockNo(u32::MAX),
                    n_blocks: self.reader.n_blocks(),
                })?;
            let block = self.reader.read_block(BlockNo(blkno32)).await?;
            self.current = Some((blkno, block));
        }
        match &self.current {
            Some((_, block)) => Ok(block),
            None => Err(Error::Io(std::io::Error::other(
                "block cursor lost its block",
            ))),
        }
    }

    /// Copies the bytes `[offset, offset + out.len())` into `out` (the caller checked that
    /// they lie before the limit).
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

    /// Appends the bytes `[offset, offset + len)` to `out` (checked by the caller as above).
    async fn extend(
        &mut self,
        mut offset: u64,
        mut len: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        while len > 0 {
            let in_block = (offset % PAGE) as usize;
            let block = self.block(offset / PAGE).await?;
            let n = len.min(PAGE_SIZE - in_block);
            out.extend_from_slice(block.get(in_block..in_block + n).unwrap_or_default());
            len -= n;
            offset += n as u64;
        }
        Ok(())
    }

    /// Where the blob at `offset` lies: its header decoded and its end checked against the
    /// limit.
    pub(crate) async fn span(&mut self, offset: u64) -> Result<BlobSpan, Error> {
        let (limit, mode) = (self.limit, self.opts.mode);
        if offset >= limit {
            return Err(strata_blob::Corruption::HeaderPastEnd { offset, limit }.into());
        }
        let in_block = (offset % PAGE) as usize;
        let block = self.block(offset / PAGE).await?;
        let first = block.get(in_block).copied().unwrap_or_default();
        let available = usize::try_from(limit - offset).unwrap_or(usize::MAX);
        let want = header_peek_len(first, mode).min(available);
        let header = if in_block + want <= PAGE_SIZE {
            let peek = block.get(in_block..in_block + want).unwrap_or_default();
            decode_header(peek, offset, limit, mode)?
        } else {
            // The header straddles a block boundary.
            let mut peek = [0u8; HEADER_PEEK_LEN];
            let peek = peek.get_mut(..want).unwrap_or_default();
            self.copy_to(offset, peek).await?;
            decode_header(peek, offset, limit, mode)?
        };
        Ok(check_span(header, offset, limit)?)
    }

    /// Reads and decodes the value stored at `offset`.
    pub(crate) async fn read_value(&mut self, offset: u64) -> Result<Value, Error> {
        let span = self.span(offset).await?;
        let payload_offset = span.payload_offset();
        // check_span bounded the length by the limit, itself inside the file.
        let len = usize::try_from(span.header.stored_len).map_err(|_| {
            strata_blob::Corruption::BlobPastEnd {
                offset,
                len: span.header.stored_len,
                limit: self.limit,
            }
        })?;
        if span.header.compression != Compression::None {
            let mut buf = Vec::new();
            read_blob_with(self.reader, offset, self.limit, &mut buf, &self.opts).await?;
            return decode_value_bytes(Bytes::from(buf), offset);
        }
        let in_block = (payload_offset % PAGE) as usize;
        if in_block + len <= PAGE_SIZE {
            let block = self.block(payload_offset / PAGE).await?;
            let payload = block.get(in_block..in_block + len).unwrap_or_default();
            return decode_value(payload, offset);
        }
        // The payload spans blocks: gather it into one buffer, which the decoded value's
        // byte payload (a page image, usually) then shares.
        let mut buf = Vec::with_capacity(len);
        self.extend(payload_offset, len, &mut buf).await?;
        decode_value_bytes(Bytes::from(buf), offset)
    }

    /// Appends the payload of the blob at `offset` to `out` (cleared first).
    pub(crate) async fn read_bytes(&mut self, offset: u64, out: &mut Vec<u8>) -> Result<(), Error> {
        read_blob_with(self.reader, offset, self.limit, out, &self.opts).await?;
        Ok(())
    }
}

/// Sequential blob reads: the value area is read in runs of whole blocks with one
/// [`BlockReader::read_blocks`] call each, into a buffer reused from run to run.
pub(crate) struct RunReader<'a, R> {
    reader: &'a R,
    limit: u64,
    opts: BlobReadOptions,
    run_bytes: usize,
    /// Whole blocks; `data[0]` is at file offset `base`.
    data: Vec<u8>,
    base: u64,
}

impl<'a, R: BlockReader> RunReader<'a, R> {
    pub(crate) fn new(
        reader: &'a R,
        limit: u64,
        opts: BlobReadOptions,
        run_bytes: usize,
    ) -> RunReader<'a, R> {
        let limit = limit.min(u64::from(reader.n_blocks()) * PAGE);
        RunReader {
            reader,
            limit,
            opts,
            run_bytes: run_bytes.max(PAGE_SIZE),
            data: Vec::new(),
            base: 0,
        }
    }

    /// Makes the buffer cover `[start, end)` (`start < end <= limit`), reading from the block
    /// of `start` on, at least `run_bytes` when the value area has them.
    async fn ensure(&mut self, start: u64, end: u64) -> Result<(), Error> {
        let have_end = self.base + self.data.len() as u64;
        if start >= self.base && end <= have_end {
            return Ok(());
        }
        let first = start / PAGE;
        let base = first * PAGE;
        let limit_end = self.limit.next_multiple_of(PAGE);
        let want_end = end
            .max(base.saturating_add(self.run_bytes as u64))
            .next_multiple_of(PAGE)
            .min(limit_end)
            .max(end.next_multiple_of(PAGE));
        let len =
            usize::try_from(want_end - base).map_err(|_| strata_blob::Corruption::BlobPastEnd {
                offset: start,
                len: end - start,
                limit: self.limit,
            })?;
        let blkno = u32::try_from(first).map_err(|_| strata_blob::Corruption::BlockPastEnd {
            blkno: BlockNo(u32::MAX),
            n_blocks: self.reader.n_blocks(),
        })?;
        self.data.clear();
        self.data.resize(len, 0);
        self.base = base;
        if let Err(e) = self
            .reader
            .read_blocks(BlockNo(blkno), &mut self.data)
            .await
        {
            self.data.clear();
            return Err(e.into());
        }
        Ok(())
    }

    /// The span and payload of the blob at `offset` (which must lie before the limit).
    pub(crate) async fn blob(&mut self, offset: u64) -> Result<(BlobSpan, Cow<'_, [u8]>), Error> {
        let limit = self.limit;
        if offset >= limit {
            return Err(strata_blob::Corruption::HeaderPastEnd { offset, limit }.into());
        }
        let peek_end = offset.saturating_add(HEADER_PEEK_LEN as u64).min(limit);
        self.ensure(offset, peek_end).await?;
        let rel = (offset - self.base) as usize;
        let peek = self.data.get(rel..).unwrap_or_default();
        let peek = peek.get(..HEADER_PEEK_LEN).unwrap_or(peek);
        let peek_len = usize::try_from(peek_end - offset)
            .unwrap_or(0)
            .min(peek.len());
        let header = decode_header(
            peek.get(..peek_len).unwrap_or_default(),
            offset,
            limit,
            self.opts.mode,
        )?;
        let span = check_span(header, offset, limit)?;
        self.ensure(offset, span.end().max(peek_end)).await?;
        Ok(decode_blob(
            &self.data, self.base, offset, limit, &self.opts,
        )?)
    }
}
