//! Reads of many images: the full scan ([`ImageLayer::scan`], every (key, image) in key order),
//! key-range reads ([`ImageLayer::scan_range`]) and vectored reads over several key ranges
//! ([`ImageLayer::get_vectored`]), all with coalesced blob runs.
//!
//! How: the index is walked forwards (Neon's vectored read: from each range's start while the
//! key is below the range's end); each entry's blob ends, at the latest, where the next entry's
//! blob starts (or at the end of the value area), so adjacent blobs are grouped into runs of at
//! most `max_run_bytes` (a single larger blob alone) and each run is fetched with one
//! `read_blocks` call of a [`BlobRunReader`] (one buffer reused from run to run; it goes around
//! the page cache).
//!
//! Invariants:
//! * Every entry is checked before its blob is read: key inside the summary's key range
//!   ([`CorruptionKind::KeyOutOfRange`]), offset inside the value area and strictly above the
//!   previous entry's ([`CorruptionKind::OffsetsNotIncreasing`]). So a run never exceeds the
//!   value area, each blob is read once, and a blob running into the next one's start is an
//!   error (`strata_blob::Corruption::BlobPastEnd`).
//! * Memory is one run (plus its entries), whatever the layer's size.

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use strata_blob::{BlobRunReader, BlockReader, PAGE_SIZE};
use strata_btree::VisitDirection;
use strata_key::{Key, KeyRange};

use crate::error::{CorruptionKind, Error};
use crate::format::IMAGE_KEY_SIZE;
use crate::reader::ImageLayer;

/// Bytes a full scan reads at once (unless a single blob needs more).
pub const SCAN_RUN_BYTES: u64 = 256 * 1024;

/// An index entry: a key and the offset of its image's blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImageEntry {
    /// The key.
    pub key: Key,
    /// File offset of the blob's header.
    pub offset: u64,
}

/// Groups entries into runs of adjacent blobs and reads them; see the module docs.
struct RunPlanner<'a, R, F> {
    layer: &'a ImageLayer<R>,
    /// Reads each run into one buffer reused from run to run.
    runs: BlobRunReader<'a, R>,
    max_run: u64,
    /// Entries of the current run, in key order, each with the offset its blob must end by.
    group: Vec<(ImageEntry, u64)>,
    group_end: u64,
    /// The last entry seen, whose blob's end is not known yet.
    last: Option<ImageEntry>,
    f: F,
    n_read: u64,
    stopped: bool,
}

impl<'a, R: BlockReader, F: FnMut(ImageEntry, &[u8]) -> bool> RunPlanner<'a, R, F> {
    fn new(layer: &'a ImageLayer<R>, max_run: u64, f: F) -> Self {
        let limit = layer.value_area_end();
        let opts = *layer.blob_opts();
        RunPlanner {
            layer,
            runs: BlobRunReader::new(layer.reader(), limit, opts, PAGE_SIZE),
            max_run,
            group: Vec::new(),
            group_end: 0,
            last: None,
            f,
            n_read: 0,
            stopped: false,
        }
    }

    /// The next entry in key order.
    async fn push(&mut self, key: Key, offset: u64) -> Result<(), Error> {
        self.layer.check_entry(key, offset)?;
        if let Some(prev) = self.last {
            if offset <= prev.offset {
                return Err(CorruptionKind::OffsetsNotIncreasing {
                    offset: prev.offset,
                    next_offset: offset,
                }
                .into());
            }
            self.add(prev, offset).await?;
        }
        self.last = Some(ImageEntry { key, offset });
        Ok(())
    }

    /// No entry after the last one pushed; its blob ends by `bound` (an offset checked to lie
    /// above it, or the end of the value area).
    async fn finish(&mut self, bound: u64) -> Result<(), Error> {
        if let Some(last) = self.last.take() {
            let bound = bound.min(self.layer.value_area_end());
            self.add(last, bound).await?;
        }
        self.flush().await
    }

    /// Adds an entry whose blob ends by `end`.
    async fn add(&mut self, entry: ImageEntry, end: u64) -> Result<(), Error> {
        if let Some((first, _)) = self.group.first() {
            if end.saturating_sub(first.offset) > self.max_run {
                self.flush().await?;
            }
        }
        self.group.push((entry, end));
        self.group_end = end;
        Ok(())
    }

    /// Reads the current run and hands each image to the callback.
    async fn flush(&mut self) -> Result<(), Error> {
        let Some(start) = self.group.first().map(|(e, _)| e.offset) else {
            return Ok(());
        };
        let run = self.runs.load(start, self.group_end).await?;
        for &(entry, end) in &self.group {
            if self.stopped {
                break;
            }
            let (span, image) = run.blob_span_at(entry.offset)?;
            if span.end() > end {
                return Err(strata_blob::Corruption::BlobPastEnd {
                    offset: entry.offset,
                    len: span.header.stored_len,
                    limit: end,
                }
                .into());
            }
            self.n_read += 1;
            if !(self.f)(entry, &image) {
                self.stopped = true;
            }
        }
        self.group.clear();
        Ok(())
    }
}

impl<R: BlockReader> ImageLayer<R> {
    /// Calls `f(entry, image)` for every image in key order until it returns `false`; returns
    /// how many images were handed over.
    pub async fn scan<F: FnMut(ImageEntry, &[u8]) -> bool>(&self, f: F) -> Result<u64, Error> {
        self.scan_ranges(
            &[KeyRange::new(Key::MIN, Key::MAX)],
            SCAN_RUN_BYTES,
            true,
            f,
        )
        .await
    }

    /// Calls `f(entry, image)` for every image with a key in `range`, in key order, until it
    /// returns `false`; returns how many images were handed over.
    pub async fn scan_range<F: FnMut(ImageEntry, &[u8]) -> bool>(
        &self,
        range: KeyRange,
        f: F,
    ) -> Result<u64, Error> {
        self.scan_ranges(&[range], self.max_run_bytes(), false, f)
            .await
    }

    /// Neon's vectored get over one layer: every (key, image) with a key in one of `ranges`
    /// (each walked forwards from its start while the key is below its end), in the order of
    /// the ranges, blobs read in coalesced runs of at most `max_run_bytes`.
    pub async fn get_vectored(&self, ranges: &[KeyRange]) -> Result<Vec<(Key, Vec<u8>)>, Error> {
        let mut out = Vec::new();
        self.get_vectored_with(ranges, |entry, image| {
            out.push((entry.key, image.to_vec()));
            true
        })
        .await?;
        Ok(out)
    }

    /// [`ImageLayer::get_vectored`] handing each (entry, image) to `f` (until it returns
    /// `false`) instead of collecting them; returns how many were handed over.
    pub async fn get_vectored_with<F: FnMut(ImageEntry, &[u8]) -> bool>(
        &self,
        ranges: &[KeyRange],
        f: F,
    ) -> Result<u64, Error> {
        self.scan_ranges(ranges, self.max_run_bytes(), false, f)
            .await
    }

    /// The walk of every range; `to_end` includes `Key::MAX` itself (a full scan).
    async fn scan_ranges<F: FnMut(ImageEntry, &[u8]) -> bool>(
        &self,
        ranges: &[KeyRange],
        max_run: u64,
        to_end: bool,
        f: F,
    ) -> Result<u64, Error> {
        let mut planner = RunPlanner::new(self, max_run, f);
        for range in ranges {
            if planner.stopped {
                break;
            }
            let res = self.walk(range, to_end, &mut planner).await;
            res.map_err(|e| self.ctx(e))?;
        }
        Ok(planner.n_read)
    }

    async fn walk<F: FnMut(ImageEntry, &[u8]) -> bool>(
        &self,
        range: &KeyRange,
        to_end: bool,
        planner: &mut RunPlanner<'_, R, F>,
    ) -> Result<(), Error> {
        let mut iter = self
            .tree()
            .iter(&range.start.to_array(), VisitDirection::Forwards);
        let mut bound = self.value_area_end();
        while let Some(entry) = iter.next().await {
            let (raw, offset): ([u8; IMAGE_KEY_SIZE], u64) = entry?;
            let key = Key::from_array(&raw);
            if key < range.start {
                // Neon asserts here (a corrupt internal key sent the descent too far left).
                return Err(CorruptionKind::KeyOutOfRange { key }.into());
            }
            if !to_end && key >= range.end {
                // The first entry past the range bounds the last blob in it.
                if let Some(prev) = planner.last {
                    if offset <= prev.offset {
                        return Err(CorruptionKind::OffsetsNotIncreasing {
                            offset: prev.offset,
                            next_offset: offset,
                        }
                        .into());
                    }
                }
                bound = offset;
                break;
            }
            planner.push(key, offset).await?;
            if planner.stopped {
                break;
            }
        }
        planner.finish(bound).await
    }
}
