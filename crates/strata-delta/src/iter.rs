//! Full iteration over a delta layer in (key, LSN) order (FORMAT.md sections 6.6 "Full scan"
//! and 12 item 4): the [`DeltaEntryIter`] of [`DeltaLayer::iter`] and its [`DeltaEntry`]s.
//!
//! Invariants:
//! * Entries come from a forwards B-tree walk from 26 zero bytes, so they are strictly
//!   increasing in (key, LSN) (the B-tree reader checks the order).
//! * [`DeltaEntry::size`] is the next entry's blob offset minus this one's (the last runs to
//!   `index_start_blk * 8192`), Neon's on-disk size; offsets that do not increase, or lie
//!   outside the value area, end the iteration with [`Error::Corrupt`] instead of wrapping.
//! * Every entry passes the same guard as the lookups (`guard.rs`, FORMAT.md section 9 items
//!   14–18): its key and LSN lie in the summary's ranges, and a loaded value decodes and its
//!   `will_init()` equals its BlobRef bit; otherwise the scan fails with [`Error::Corrupt`].
//! * Values are read only when asked for. [`DeltaEntryIter::load_value`] reads the value area
//!   sequentially in large runs (one `read_blocks` per run), the pattern of a full scan, and a
//!   large payload's value (a page image) shares the run buffer instead of being copied
//!   (strata-blob's `BlobRunReader::blob_shared`; the decoder checks every length first);
//!   [`DeltaEntry::load_value`] reads one blob through the layer's reader.

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use std::borrow::Cow;

use strata_blob::{BlobRunReader, BlockReader};
use strata_btree::{BtreeIter, VisitDirection};
use strata_key::{Key, Lsn};

use crate::error::Error;
use crate::format::{BlobRef, DELTA_KEY_SIZE, DeltaKey};
use crate::guard::{
    EntryGuard, RawRangeCheck, check_increasing, check_will_init, decode_checked_bytes,
};
use crate::layer::{DeltaLayer, SCAN_RUN_BYTES, read_value};
use crate::value::Value;

/// One index entry of a delta layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeltaEntry {
    /// The page key.
    pub key: Key,
    /// The LSN of this version.
    pub lsn: Lsn,
    /// Where the value is, and its will_init bit.
    pub blob_ref: BlobRef,
    /// Bytes the value takes on disk (blob header, payload, and any padding before the next
    /// blob or the index): Neon's `load_keys` size.
    pub size: u64,
}

impl DeltaEntry {
    /// Reads and decodes this entry's value through `layer`'s reader.
    pub async fn load_value<R: BlockReader>(&self, layer: &DeltaLayer<R>) -> Result<Value, Error> {
        let pos = self.blob_ref.pos();
        let res = async {
            layer.guard().check_in_value_area(pos)?;
            let value = read_value(&mut layer.blob_cursor(), pos).await?;
            check_will_init(value, self.blob_ref)
        };
        res.await.map_err(|e| layer.ctx(e))
    }

    /// Reads this entry's serialized value (the blob payload) into `buf`, cleared first.
    pub async fn load_bytes<R: BlockReader>(
        &self,
        layer: &DeltaLayer<R>,
        buf: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let pos = self.blob_ref.pos();
        let res = async {
            layer.guard().check_in_value_area(pos)?;
            layer.blob_cursor().read_into(pos, buf).await?;
            Ok::<(), Error>(())
        };
        res.await.map_err(|e| layer.ctx(e))
    }
}

/// An async iterator over a layer's entries in (key, LSN) order, from [`DeltaLayer::iter`].
/// After an error it is finished.
pub struct DeltaEntryIter<'a, R> {
    layer: &'a DeltaLayer<R>,
    tree: BtreeIter<'a, R, DELTA_KEY_SIZE>,
    /// The entry read ahead (its size is known once the one after it is read).
    pending: Option<([u8; DELTA_KEY_SIZE], u64)>,
    started: bool,
    failed: bool,
    run: BlobRunReader<'a, R>,
    /// The per-entry checks, set up once.
    guard: EntryGuard<'a>,
    ranges: RawRangeCheck,
    value_area_end: u64,
}

impl<'a, R: BlockReader> DeltaEntryIter<'a, R> {
    pub(crate) fn new(layer: &'a DeltaLayer<R>) -> DeltaEntryIter<'a, R> {
        DeltaEntryIter {
            layer,
            tree: layer
                .tree()
                .iter(&[0u8; DELTA_KEY_SIZE], VisitDirection::Forwards),
            pending: None,
            started: false,
            failed: false,
            run: layer.run_reader(SCAN_RUN_BYTES),
            guard: layer.guard(),
            ranges: RawRangeCheck::new(layer.summary()),
            value_area_end: layer.value_area_end(),
        }
    }

    /// The next entry, `None` at the end (or after an error).
    ///
    /// Written as one function (no inner `async fn` whose output is moved out again): the
    /// entry and the tree's results pass through as few levels as possible.
    pub async fn next(&mut self) -> Option<Result<DeltaEntry, Error>> {
        if self.failed {
            return None;
        }
        if !self.started {
            self.started = true;
            match self.tree.next().await {
                Some(Ok(first)) => self.pending = Some(first),
                Some(Err(e)) => return Some(Err(self.fail(e))),
                None => {}
            }
        }
        let (raw, value) = self.pending.take()?;
        let blob_ref = BlobRef(value);
        let pos = blob_ref.pos();
        if let Err(e) = self.guard.check_in_value_area(pos) {
            return Some(Err(self.fail(e)));
        }
        let next_pos = match self.tree.next().await {
            Some(Ok(next)) => {
                self.pending = Some(next);
                BlobRef(next.1).pos()
            }
            Some(Err(e)) => return Some(Err(self.fail(e))),
            None => self.value_area_end,
        };
        // The entry's size runs to the next blob (or the index): it must be positive.
        if let Err(e) = check_increasing(pos, next_pos).and_then(|()| self.ranges.check(&raw)) {
            return Some(Err(self.fail(e)));
        }
        let entry = DeltaKey::from_array(raw);
        Some(Ok(DeltaEntry {
            key: entry.key(),
            lsn: entry.lsn(),
            blob_ref,
            size: next_pos - pos,
        }))
    }

    /// Ends the iteration with `e` (in this layer's file).
    #[cold]
    fn fail(&mut self, e: impl Into<Error>) -> Error {
        self.failed = true;
        self.pending = None;
        self.layer.ctx(e)
    }

    /// Reads and decodes the value of `entry` (normally the one just returned) through the
    /// iterator's sequential run buffer: a full scan reads the value area once, in large runs.
    /// A large value's bytes share that buffer (a kept value keeps its run's buffer alive; the
    /// iterator then reads the next run into a new one).
    pub async fn load_value(&mut self, entry: &DeltaEntry) -> Result<Value, Error> {
        let pos = entry.blob_ref.pos();
        match self.run.blob_shared(pos).await {
            Ok((_, payload)) => match decode_checked_bytes(payload, entry.blob_ref) {
                Ok(value) => Ok(value),
                Err(e) => Err(self.layer.ctx(e)),
            },
            Err(e) => Err(self.layer.ctx(e)),
        }
    }

    /// The serialized value (blob payload) of `entry`, read like
    /// [`load_value`](Self::load_value); borrowed from the run buffer unless it was stored
    /// compressed.
    pub async fn load_bytes(&mut self, entry: &DeltaEntry) -> Result<Cow<'_, [u8]>, Error> {
        let pos = entry.blob_ref.pos();
        let layer = self.layer;
        match self.run.blob(pos).await {
            Ok((_, payload)) => Ok(payload),
            Err(e) => Err(layer.ctx(e)),
        }
    }
}
