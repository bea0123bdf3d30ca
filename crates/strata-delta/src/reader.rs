//! [`DeltaLayer`]: an open delta layer file (FORMAT.md sections 3, 9 items 1–5, 12). Blobs are
//! read only through strata-blob's read core: a [`BlobCursor`] for scattered reads through the
//! page cache (lookups, per-entry loads), a [`BlobRunReader`] for runs (vectored reads, full
//! scans, verify).
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

use std::path::{Path, PathBuf};

use bytes::Bytes;
use strata_blob::{
    BlobCursor, BlobReadOptions, BlobRunReader, BlockNo, BlockReader, FileTable, PAGE_SIZE,
    Payload, TableFile,
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

    /// A cursor for scattered blob reads in the value area, through this layer's reader.
    pub(crate) fn blob_cursor(&self) -> BlobCursor<'_, R> {
        BlobCursor::new(self.reader(), self.value_area_end(), self.blob_opts)
    }

    /// A reader of value-area blobs in runs, reading ahead `read_ahead` bytes.
    pub(crate) fn run_reader(&self, read_ahead: usize) -> BlobRunReader<'_, R> {
        BlobRunReader::new(
            self.reader(),
            self.value_area_end(),
            self.blob_opts,
            read_ahead,
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

/// Reads and decodes the value stored at `offset` through `cursor`: decoded in place from the
/// (cached) block when the payload lies in one; otherwise the one copy strata-blob makes is
/// shared by the decoded value's bytes (a page image, usually), not copied again.
pub(crate) async fn read_value<R: BlockReader>(
    cursor: &mut BlobCursor<'_, R>,
    offset: u64,
) -> Result<Value, Error> {
    match cursor.payload(offset).await?.1 {
        Payload::Block(bytes) => decode_value(bytes, offset),
        Payload::Owned(buf) => decode_value_bytes(Bytes::from(buf), offset),
    }
}
