//! [`ImageEntryIter`]: an image layer's full scan as an async iterator of (entry, image), from
//! [`ImageLayer::iter`]; [`ImageEntryIter::into_stream`] (`stream.rs`) makes it a `Stream`.
//!
//! It makes the checks of the callback scans (`scan.rs`) one entry at a time: the entry after
//! the current one is read ahead, so each entry is checked (key inside the key range, offset
//! inside the value area and strictly above the previous one) before its blob is read, and a
//! blob may not run past the next entry's start (or the end of the value area). Blobs are read
//! sequentially through one [`BlobRunReader`] buffer in runs of [`SCAN_RUN_BYTES`].
//!
//! Invariant: after an error the iterator is finished (`next` gives `None`).

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use strata_blob::{BlobRunReader, BlockReader};
use strata_btree::{BtreeIter, VisitDirection};
use strata_key::Key;

use crate::error::{CorruptionKind, Error};
use crate::format::IMAGE_KEY_SIZE;
use crate::reader::ImageLayer;
use crate::scan::{ImageEntry, SCAN_RUN_BYTES};

/// An async iterator over a layer's (entry, image) pairs in key order; see the module docs.
pub struct ImageEntryIter<'a, R> {
    layer: &'a ImageLayer<R>,
    tree: BtreeIter<'a, R, IMAGE_KEY_SIZE>,
    /// The entry read ahead (its blob's end bound is the one after it).
    pending: Option<ImageEntry>,
    started: bool,
    failed: bool,
    run: BlobRunReader<'a, R>,
}

impl<R: BlockReader> ImageLayer<R> {
    /// Iterates over every (entry, image) in key order (see [`ImageEntryIter`]).
    pub fn iter(&self) -> ImageEntryIter<'_, R> {
        let read_ahead = usize::try_from(SCAN_RUN_BYTES).unwrap_or(usize::MAX);
        ImageEntryIter {
            layer: self,
            tree: self
                .tree()
                .iter(&Key::MIN.to_array(), VisitDirection::Forwards),
            pending: None,
            started: false,
            failed: false,
            run: BlobRunReader::new(
                self.reader(),
                self.value_area_end(),
                *self.blob_opts(),
                read_ahead,
            ),
        }
    }
}

impl<'a, R: BlockReader> ImageEntryIter<'a, R> {
    /// The next entry and its image, `None` at the end (or after an error).
    pub async fn next(&mut self) -> Option<Result<(ImageEntry, Vec<u8>), Error>> {
        if self.failed {
            return None;
        }
        match self.step().await {
            Ok(item) => item.map(Ok),
            Err(e) => {
                self.failed = true;
                self.pending = None;
                Some(Err(self.layer.ctx(e)))
            }
        }
    }

    /// The next index entry, checked against the summary.
    async fn next_entry(&mut self) -> Result<Option<ImageEntry>, Error> {
        let Some((raw, offset)) = self.tree.next().await.transpose()? else {
            return Ok(None);
        };
        let key = Key::from_array(&raw);
        self.layer.check_entry(key, offset)?;
        Ok(Some(ImageEntry { key, offset }))
    }

    async fn step(&mut self) -> Result<Option<(ImageEntry, Vec<u8>)>, Error> {
        if !self.started {
            self.started = true;
            self.pending = self.next_entry().await?;
        }
        let Some(entry) = self.pending.take() else {
            return Ok(None);
        };
        let next = self.next_entry().await?;
        let bound = match next {
            Some(n) if n.offset <= entry.offset => {
                return Err(CorruptionKind::OffsetsNotIncreasing {
                    offset: entry.offset,
                    next_offset: n.offset,
                }
                .into());
            }
            Some(n) => n.offset,
            None => self.layer.value_area_end(),
        };
        self.pending = next;
        let (span, image) = self.run.blob(entry.offset).await?;
        if span.end() > bound {
            return Err(strata_blob::Corruption::BlobPastEnd {
                offset: entry.offset,
                len: span.header.stored_len,
                limit: bound,
            }
            .into());
        }
        Ok(Some((entry, image.into_owned())))
    }
}
