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
//! * Entries are checked ahead, up to a B-tree batch at a time and with no I/O, by the same
//!   checks: at the first entry that fails one (or the batch's end) checking ahead stops, and
//!   the general path makes that entry again and reports its problem, so errors and their
//!   order are the same as one entry at a time. The key range is checked at a batch's two
//!   ends when both lie in it (the keys between them ascend), the value area at the first and
//!   the last entry made (their blob offsets ascend in between).
//! * Values are read only when asked for. [`DeltaEntryIter::load_value`] reads the value area
//!   sequentially in large runs (one `read_blocks` per run), the pattern of a full scan, and a
//!   large payload's value (a page image) shares the run buffer instead of being copied
//!   (strata-blob's `BlobRunReader::blob_shared`; the decoder checks every length first);
//!   [`DeltaEntry::load_value`] reads one blob through the layer's reader. The iterator's
//!   `load_value` decodes a blob its run buffer holds, if its value is an image or a Postgres
//!   record, without entering a future; anything else takes the general path (which reads,
//!   decodes or reports it).
//! * [`DeltaEntryIter::next`] and [`DeltaEntryIter::load_value`] give a small future
//!   (`FastStep`) that, on its first poll, takes the checked-ahead entry or the buffered value
//!   synchronously, and only otherwise makes the general path's future (boxed, about once per
//!   B-tree batch or run). Like an `async fn`'s, it does nothing before it is polled: one
//!   dropped unpolled takes no entry.

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use strata_blob::{BlobRunReader, BlockReader};
use strata_btree::{BtreeIter, VisitDirection};
use strata_key::{Key, Lsn};

use crate::error::Error;
use crate::format::{BlobRef, DELTA_KEY_SIZE, split_delta_key};
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

/// Entries [`DeltaEntryIter`] checks ahead at most: its B-tree iterator's batch (larger than
/// a point lookup's, [`strata_btree::ITER_BATCH`]: a scan's per-batch costs spread over more
/// entries).
const READY: usize = 128;

impl DeltaEntry {
    /// A placeholder (never returned).
    const EMPTY: DeltaEntry = DeltaEntry {
        key: Key::MIN,
        lsn: Lsn(0),
        blob_ref: BlobRef(0),
        size: 0,
    };

    /// The entry of B-tree key `raw` and `blob_ref`, taking `size` bytes.
    #[inline]
    fn new(raw: &[u8; DELTA_KEY_SIZE], blob_ref: BlobRef, size: u64) -> DeltaEntry {
        let (key, lsn) = split_delta_key(raw);
        DeltaEntry {
            key: Key::from_array(key),
            lsn,
            blob_ref,
            size,
        }
    }

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
    tree: BtreeIter<'a, R, DELTA_KEY_SIZE, READY>,
    /// The entry read ahead (its size is known once the one after it is read).
    pending: Option<([u8; DELTA_KEY_SIZE], u64)>,
    /// Entries checked ahead ([`fill_ready`](Self::fill_ready)), returned before `pending`:
    /// `ready[ready_pos..ready_len]`.
    ready: [DeltaEntry; READY],
    ready_pos: usize,
    ready_len: usize,
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
                .iter_batched(&[0u8; DELTA_KEY_SIZE], VisitDirection::Forwards),
            pending: None,
            ready: [DeltaEntry::EMPTY; READY],
            ready_pos: 0,
            ready_len: 0,
            started: false,
            failed: false,
            run: layer.run_reader(SCAN_RUN_BYTES),
            guard: layer.guard(),
            ranges: RawRangeCheck::new(layer.summary()),
            value_area_end: layer.value_area_end(),
        }
    }

    /// The next entry, `None` at the end (or after an error).
    #[expect(
        clippy::should_implement_trait,
        reason = "an async iterator's `next` (the future it gives is awaited)"
    )]
    pub fn next(&mut self) -> impl Future<Output = Option<Result<DeltaEntry, Error>>> + '_ {
        // Usually the entry was checked ahead, with those after it: no future is entered.
        FastStep::new(
            self,
            |iter| iter.next_ready().map(|entry| Some(Ok(entry))),
            Self::next_slow,
        )
    }

    /// The next entry checked ahead, checking the next ones first when none is left; `None`
    /// when [`next_slow`](Self::next_slow) must run.
    #[inline]
    fn next_ready(&mut self) -> Option<DeltaEntry> {
        if self.ready_pos >= self.ready_len && !self.fill_ready() {
            return None;
        }
        let entry = *self.ready.get(self.ready_pos)?;
        self.ready_pos += 1;
        Some(entry)
    }

    /// Checks ahead the entries whose sizes the tree iterator's batch gives (the entry read
    /// ahead and those after it but the last), with no I/O and no await, into `ready`; false
    /// when none passes. The checks are [`entry`](Self::entry)'s; at the first entry that
    /// fails one, or the end of the batch, it stops with that entry read ahead, and
    /// [`next_slow`](Self::next_slow) then makes it (or reports its problem). The key range
    /// is checked at the batch's two ends when both lie in it: the keys ascend in between (the
    /// B-tree iterator checks their order); the value area at the first and the last entry
    /// made, whose blob offsets ascend in between (each is checked to be below the next).
    fn fill_ready(&mut self) -> bool {
        let Some(first) = self.pending else {
            return false;
        };
        let next = self.tree.buffered();
        let next = next.get(..READY).unwrap_or(next);
        let ends_checked = next.last().is_some_and(|last| {
            self.ranges.keys_in_range(&first.0, &last.0)
                && self.guard.in_value_area(BlobRef(first.1).pos())
        });
        let (guard, ranges) = (self.guard, &self.ranges);
        let mut made = None;
        if ends_checked {
            let (n, cur) = make_ready::<true>(&first, next, &mut self.ready, guard, ranges);
            // The offsets made ascend from the first's: all lie in the value area when the
            // last one made does. Otherwise the careful loop finds where to stop.
            let last_in_area = n
                .checked_sub(1)
                .and_then(|i| self.ready.get(i))
                .is_none_or(|e| guard.in_value_area(e.blob_ref.pos()));
            if last_in_area {
                made = Some((n, cur));
            }
        }
        let (n, cur) = match made {
            Some(made) => made,
            None => make_ready::<false>(&first, next, &mut self.ready, guard, ranges),
        };
        self.tree.skip_buffered(n);
        self.pending = Some(cur);
        self.ready_pos = 0;
        self.ready_len = n;
        n > 0
    }

    /// The general [`next`](Self::next): starts the walk, and reads the tree where its
    /// iterator's batch runs out.
    async fn next_slow(&mut self) -> Option<Result<DeltaEntry, Error>> {
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
        if let Err(e) = self.guard.check_in_value_area(blob_ref.pos()) {
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
        Some(self.entry(&raw, blob_ref, next_pos))
    }

    /// The entry of B-tree key `raw` and `blob_ref`, whose blob runs to `next_pos` (the next
    /// entry's blob or the index), after the checks: its blob starts in the value area
    /// (item 15), before `next_pos` (item 16: the size is positive), and its key and LSN lie
    /// in the summary's ranges (item 14). A failed check ends the iteration.
    fn entry(
        &mut self,
        raw: &[u8; DELTA_KEY_SIZE],
        blob_ref: BlobRef,
        next_pos: u64,
    ) -> Result<DeltaEntry, Error> {
        let pos = blob_ref.pos();
        let checked = self
            .guard
            .check_in_value_area(pos)
            .and_then(|()| check_increasing(pos, next_pos))
            .and_then(|()| self.ranges.check(raw));
        if let Err(e) = checked {
            return Err(self.fail(e));
        }
        Ok(DeltaEntry::new(raw, blob_ref, next_pos - pos))
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
    pub fn load_value(&mut self, entry: &DeltaEntry) -> impl Future<Output = Result<Value, Error>> {
        // Usually the blob is in the run buffer and its value an image or a Postgres record:
        // no future is entered.
        FastStep::new(
            self,
            move |iter| iter.value_buffered(entry).map(Ok),
            move |iter| iter.load_value_slow(entry),
        )
    }

    /// The general [`load_value`](Self::load_value): reads, decodes or reports the value.
    async fn load_value_slow(&mut self, entry: &DeltaEntry) -> Result<Value, Error> {
        let pos = entry.blob_ref.pos();
        match self.run.blob_shared(pos).await {
            Ok((_, payload)) => match decode_checked_bytes(payload, entry.blob_ref) {
                Ok(value) => Ok(value),
                Err(e) => Err(self.layer.ctx(e)),
            },
            Err(e) => Err(self.layer.ctx(e)),
        }
    }

    /// [`load_value`](Self::load_value)'s value when the run buffer holds the whole blob and
    /// it is an image or a Postgres record that passes the checks (no I/O, no await); `None`
    /// otherwise, and `load_value` then reads, decodes or reports it in full.
    #[inline]
    fn value_buffered(&mut self, entry: &DeltaEntry) -> Option<Value> {
        let payload = self.run.blob_shared_buffered(entry.blob_ref.pos())?;
        Value::decode_common(payload, entry.blob_ref.will_init())
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

/// [`DeltaEntryIter::fill_ready`]'s loop: makes `first` and then the entries of `next`
/// but the last (each sized by the one after it) into `ready` while they pass the checks; the
/// number made and the entry read ahead after them. `ENDS_CHECKED`: the key range was checked
/// at the batch's ends and the first entry's offset lies in the value area, so only the LSN
/// range and the ascending blob offsets are checked per entry (the caller then checks the
/// last one made in the value area).
#[inline(always)]
fn make_ready<const ENDS_CHECKED: bool>(
    first: &([u8; DELTA_KEY_SIZE], u64),
    next: &[([u8; DELTA_KEY_SIZE], u64)],
    ready: &mut [DeltaEntry],
    guard: EntryGuard<'_>,
    ranges: &RawRangeCheck,
) -> (usize, ([u8; DELTA_KEY_SIZE], u64)) {
    let mut n = 0;
    // The entry being made: the one read ahead, then each of the batch's in turn.
    let mut cur = first;
    for (after, slot) in next.iter().zip(ready) {
        let (blob_ref, next_pos) = (BlobRef(cur.1), BlobRef(after.1).pos());
        let pos = blob_ref.pos();
        let ok = pos < next_pos
            && ranges.lsn_in_range(&cur.0)
            && (ENDS_CHECKED || (guard.in_value_area(pos) && ranges.key_in_range(&cur.0)));
        if !ok {
            break;
        }
        *slot = DeltaEntry::new(&cur.0, blob_ref, next_pos - pos);
        cur = after;
        n += 1;
    }
    (n, *cur)
}

/// A future that first tries a synchronous step (`fast`, on its first poll) and only when that
/// gives nothing makes and polls the general future (`slow`, boxed: it is rare, and inline it
/// would make every call's future as large as the general path's state). Nothing happens
/// before the first poll, as with an `async fn`, so a future dropped unpolled takes nothing.
enum FastStep<'i, I, Fast, Slow, Fut> {
    Start(&'i mut I, Fast, Slow),
    Slow(Pin<Box<Fut>>),
    Done,
}

impl<'i, I, Fast, Slow, Fut> FastStep<'i, I, Fast, Slow, Fut>
where
    Fast: FnOnce(&mut I) -> Option<Fut::Output>,
    Slow: FnOnce(&'i mut I) -> Fut,
    Fut: Future,
{
    #[inline]
    fn new(iter: &'i mut I, fast: Fast, slow: Slow) -> Self {
        FastStep::Start(iter, fast, slow)
    }
}

impl<'i, I, Fast, Slow, Fut> Future for FastStep<'i, I, Fast, Slow, Fut>
where
    Fast: FnOnce(&mut I) -> Option<Fut::Output> + Unpin,
    Slow: FnOnce(&'i mut I) -> Fut + Unpin,
    Fut: Future,
{
    type Output = Fut::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Fut::Output> {
        let this = self.get_mut();
        if let FastStep::Slow(fut) = this {
            return fut.as_mut().poll(cx);
        }
        let FastStep::Start(iter, fast, slow) = std::mem::replace(this, FastStep::Done) else {
            // Polled after it completed.
            return Poll::Pending;
        };
        if let Some(out) = fast(iter) {
            return Poll::Ready(out);
        }
        let mut fut = Box::pin(slow(iter));
        let polled = fut.as_mut().poll(cx);
        if polled.is_pending() {
            *this = FastStep::Slow(fut);
        }
        polled
    }
}
