//! [`DeltaLayer`]: an open delta layer file (FORMAT.md sections 3, 9 items 1–5, 12). Blobs are
//! read only through strata-blob's read core: a [`BlobCursor`] for scattered reads through the
//! page cache (lookups, per-entry loads), a [`BlobRunReader`] for runs (vectored reads, full
//! scans, verify).
//!
//! Invariants of an open [`DeltaLayer`] (checked by [`DeltaLayer::from_reader`]):
//! * the source has at least 3 whole blocks;
//! * the expected summary, if given, matches (all fields but the index pointers);
//! * magic `0x5A61`, format version 3, a non-empty key range, `2 <= index_start_blk` and
//!   `index_start_blk + index_root_blk < n_blocks` (so the value area
//!   `[8192, index_start_blk * 8192)` and the root lie inside the file), and a non-empty LSN
//!   range (`strata_layer::check_on_open`, shared with image layers).
//!
//! Every error caused by the bytes is [`Error::Corrupt`], naming the file when the layer was
//! opened from a path. Blob reads never size a buffer before checking that the blob lies inside
//! the value area, so a corrupt length cannot make a reader allocate more than the file holds.

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use strata_blob::{
    BlobCursor, BlobReadOptions, BlobRunReader, BlockNo, BlockReader, Gathered, PAGE_SIZE, Payload,
    TableFile,
};
use strata_btree::{DiskBtreeReader, TreeStats};
use strata_cache::CachedReader;
use strata_key::{Key, KeyRange, Lsn, LsnRange};

use crate::error::{CorruptionKind, Error};
use crate::format::{DELTA_KEY_SIZE, SUMMARY_LEN, Summary};
use crate::guard::{EntryGuard, decode_value, decode_value_bytes};
use crate::iter::{DeltaEntry, DeltaEntryIter};
use crate::lookup::{self, Collect, Scratch, ScratchPool, Via};
use crate::reconstruct::ValueReconstructState;
use crate::value::Value;
use crate::vectored::VectoredReconstructState;
use crate::verify;
use strata_layer::{
    Finding, SummaryProblem, SummaryRefusal, ValueReconstructResult, check_on_open,
};

const PAGE: u64 = PAGE_SIZE as u64;

/// Bytes a [`RunReader`] reads at once during full scans (unless a single blob needs more).
pub(crate) const SCAN_RUN_BYTES: usize = 256 * 1024;

pub use strata_layer::DEFAULT_MAX_RUN_BYTES;

/// Knobs of [`DeltaLayer::from_reader`] and [`DeltaLayer::open_with`] (`file_len` is set by
/// [`DeltaLayer::open`]; a mismatch with `expected_summary` is
/// [`CorruptionKind::SummaryMismatch`]).
pub type OpenOptions = strata_layer::OpenOptions<Summary>;

/// An open delta layer: its validated summary and its B-tree index over a [`BlockReader`].
///
/// All reads take `&self`; the layer holds no mutable state, so one layer serves any number of
/// concurrent readers.
///
/// The reader type defaults to what [`DeltaLayer::open`] gives (a file of a
/// [`FileTable`](strata_blob::FileTable) read through a
/// [`PageCache`](strata_cache::PageCache)), so a plain `DeltaLayer` in a signature is the usual layer;
/// layers from different sources share one type as a
/// [`SharedDeltaLayer`](crate::SharedDeltaLayer) ([`DeltaLayer::into_shared`]).
#[derive(Debug)]
pub struct DeltaLayer<R = CachedReader<TableFile>> {
    tree: DiskBtreeReader<R, DELTA_KEY_SIZE>,
    summary: Summary,
    path: Option<PathBuf>,
    file_len: Option<u64>,
    blob_opts: BlobReadOptions,
    max_run_bytes: u64,
    /// Buffers lookups reuse (see `lookup.rs`).
    scratch: ScratchPool,
}

strata_layer::layer_open!(DeltaLayer);

impl<R: BlockReader> DeltaLayer<R> {
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
            scratch: ScratchPool::default(),
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
    pub(crate) fn reader(&self) -> &R {
        self.tree.reader()
    }

    /// The B-tree index.
    pub(crate) fn tree(&self) -> &DiskBtreeReader<R, DELTA_KEY_SIZE> {
        &self.tree
    }

    /// First offset after the value area: `index_start_blk * 8192`.
    pub fn value_area_end(&self) -> u64 {
        u64::from(self.summary.index_start_blk) * PAGE
    }

    /// Collects the history of `key` in `lsn_range` (end exclusive) into `state`: Neon's
    /// `DeltaLayerInner::get_value_reconstruct_data`. Records are appended newest first, an
    /// image replaces `state.img`; an empty range finds nothing (`Continue`). On an error
    /// `state` is left unchanged, so the caller may retry with it.
    ///
    /// A vectored lookup of one key (one planner, one executor, `lookup.rs`), reading its
    /// blobs through the layer's reader (the page cache).
    pub async fn get_value_reconstruct_data(
        &self,
        key: Key,
        lsn_range: LsnRange,
        state: &mut ValueReconstructState,
    ) -> Result<ValueReconstructResult, Error> {
        let mut scratch = self.scratch.take();
        let res = async {
            let floor = |_: &Key| Some(lsn_range.start);
            lookup::plan(
                self,
                key,
                key,
                lsn_range.end,
                Collect::History,
                floor,
                &mut scratch.plan,
            )
            .await?;
            lookup::execute(self, &mut scratch, Via::Cache).await?;
            let Scratch { plan, values, .. } = &mut scratch;
            Ok(lookup::apply(plan, values, state))
        }
        .await;
        self.scratch.put(scratch);
        res.map_err(|e: Error| self.ctx(e))
    }

    /// Collects, for every key in `keyspace`, its history below `end_lsn` into `states`
    /// (Neon's vectored `get_values_reconstruct_data`): overlapping ranges are merged, keys
    /// already complete in `states` are skipped, and entries at or below a key's cached LSN
    /// ([`VectoredReconstructState::set_cached_lsn`]) are not collected. Blobs are read in
    /// coalesced runs of at most [`OpenOptions::max_run_bytes`], one I/O each. On an error
    /// `states` is left unchanged.
    pub async fn get_values_reconstruct_data(
        &self,
        keyspace: &[KeyRange],
        end_lsn: Lsn,
        states: &mut VectoredReconstructState,
    ) -> Result<(), Error> {
        let mut scratch = self.scratch.take();
        let res = async {
            let floor = |key: &Key| match states.cached_lsn(key) {
                _ if states.is_complete(key) => None,
                Some(cached) => cached.checked_add(1),
                None => Some(Lsn(0)),
            };
            for range in lookup::merge_ranges(keyspace) {
                let Some(last) = lookup::key_before(range.end) else {
                    continue;
                };
                let plan = &mut scratch.plan;
                lookup::plan(
                    self,
                    range.start,
                    last,
                    end_lsn,
                    Collect::History,
                    floor,
                    plan,
                )
                .await?;
            }
            lookup::execute(self, &mut scratch, Via::Runs).await?;
            let Scratch { plan, values, .. } = &mut scratch;
            let mut from = 0;
            while let Some(first) = plan.get(from) {
                let key = first.key;
                let n = plan
                    .get(from..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|p| p.key == key)
                    .count();
                let (entries, vals) = (
                    plan.get(from..from + n).unwrap_or_default(),
                    values.get_mut(from..from + n).unwrap_or_default(),
                );
                let slot = states.entry(key);
                if slot.result != ValueReconstructResult::Complete {
                    slot.result = lookup::apply(entries, vals, &mut slot.state);
                }
                from += n;
            }
            Ok(())
        }
        .await;
        self.scratch.put(scratch);
        res.map_err(|e: Error| self.ctx(e))
    }

    /// The newest value of `key` at or below `lsn`, with its LSN; `None` if the layer holds
    /// no version of `key` there.
    pub async fn get_latest(&self, key: Key, lsn: Lsn) -> Result<Option<(Lsn, Value)>, Error> {
        let mut scratch = self.scratch.take();
        let res = async {
            let end = lsn.checked_add(1).unwrap_or(Lsn::MAX);
            let floor = |_: &Key| Some(Lsn(0));
            lookup::plan(
                self,
                key,
                key,
                end,
                Collect::Newest,
                floor,
                &mut scratch.plan,
            )
            .await?;
            lookup::execute(self, &mut scratch, Via::Cache).await?;
            let found = scratch.plan.first().map(|p| p.lsn);
            let value = scratch.values.first_mut().and_then(Option::take);
            Ok(found.zip(value))
        }
        .await;
        self.scratch.put(scratch);
        res.map_err(|e: Error| self.ctx(e))
    }

    /// Iterates over every entry in (key, LSN) order (FORMAT.md 6.6, full scan).
    pub fn iter(&self) -> DeltaEntryIter<'_, R> {
        DeltaEntryIter::new(self)
    }

    /// Every entry, with its size (Neon's `load_keys`, used by compaction).
    pub async fn load_keys(&self) -> Result<Vec<DeltaEntry>, Error> {
        let mut out = Vec::new();
        let mut iter = self.iter();
        while let Some(entry) = iter.next().await {
            out.push(entry?);
        }
        Ok(out)
    }

    /// The index's shape: depth, nodes and entries, every node checked (FORMAT.md 9 items
    /// 6–13).
    pub async fn index_stats(&self) -> Result<TreeStats, Error> {
        self.tree().verify().await.map_err(|e| self.ctx(e))
    }

    /// Checks every invariant of FORMAT.md section 9 (including the strict ones Neon-written
    /// files meet) and lists what is broken; an empty list means a sound file. Errors are
    /// I/O errors only.
    pub async fn verify(&self) -> Result<Vec<Finding>, Error> {
        verify::verify_layer(self).await
    }

    /// The SHA-256 of every whole block of the file.
    pub async fn file_sha256(&self) -> Result<[u8; 32], Error> {
        strata_layer::manifest::file_sha256(self.reader())
            .await
            .map_err(|e| self.ctx(e))
    }

    pub(crate) fn max_run_bytes(&self) -> u64 {
        self.max_run_bytes
    }

    /// Adds this layer's file to a corruption error.
    pub(crate) fn ctx(&self, e: impl Into<Error>) -> Error {
        e.into().in_file(self.path.as_deref())
    }

    /// The per-entry checks of FORMAT.md section 9 against this layer's summary.
    pub(crate) fn guard(&self) -> EntryGuard<'_> {
        EntryGuard::new(&self.summary, self.value_area_end())
    }

    /// A cursor for scattered blob reads in the value area, through this layer's reader.
    pub(crate) fn blob_cursor(&self) -> BlobCursor<'_, R> {
        BlobCursor::new(self.reader(), self.value_area_end(), self.blob_opts)
    }

    /// Appends the payloads of the value-area blobs at `offsets` (file order) to `out`, each
    /// block visited once, or takes the large ones lent by the reader
    /// ([`strata_blob::gather_payloads`]).
    pub(crate) async fn gather_payloads(
        &self,
        offsets: &[u64],
        out: &mut BytesMut,
        ranges: &mut Vec<Gathered>,
    ) -> Result<(), strata_blob::Error> {
        let limit = self.value_area_end();
        strata_blob::gather_payloads(self.reader(), limit, &self.blob_opts, offsets, out, ranges)
            .await
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
    if reader.n_blocks() == 0 {
        return Err(SummaryProblem::FileTooShort { n_blocks: 0 }.into());
    }
    let block0 = reader.read_block(BlockNo(0)).await?;
    Summary::decode(block0.get(..SUMMARY_LEN).unwrap_or_default())
}

/// The checks of FORMAT.md section 9 items 1–5 made on open (see the module docs).
pub(crate) fn check_summary(
    summary: &Summary,
    n_blocks: u32,
    expected: Option<&Summary>,
) -> Result<(), Error> {
    check_on_open(summary, n_blocks, expected).map_err(|refusal| match refusal {
        SummaryRefusal::Problem(p) => p.into(),
        SummaryRefusal::Mismatch(expected) => CorruptionKind::SummaryMismatch {
            expected: Box::new(expected),
            found: Box::new(*summary),
        }
        .into(),
        SummaryRefusal::Lsn => CorruptionKind::EmptyLsnRange {
            start: summary.lsn_range.start,
            end: summary.lsn_range.end,
        }
        .into(),
    })
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
