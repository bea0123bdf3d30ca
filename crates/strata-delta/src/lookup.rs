//! Lookups as plan, then execute: one planner ([`plan`]) walks the index for the keys asked
//! and lists the blobs to read; one executor ([`execute`]) reads and decodes them; [`apply`]
//! hands the values to the per-key states. A point lookup
//! ([`DeltaLayer::get_value_reconstruct_data`]) is a plan of one key, a vectored one
//! ([`DeltaLayer::get_values_reconstruct_data`]) a plan of key ranges, and
//! [`DeltaLayer::get_latest`] a plan of one key's newest entry.
//!
//! Invariants:
//! * The walk is Neon's (FORMAT.md sections 6.5, 6.6): backwards from the last key asked for
//!   at `end_lsn - 1`, skipping entries at or above `end_lsn`, stopping below the first key;
//!   a key's collection stops after its first will_init entry, below its floor LSN (the
//!   point lookup's range start, the vectored caller's cached LSN + 1), or after one entry
//!   when only the newest is wanted. The walk ends as soon as the first key is done.
//! * Every entry walked passes the guard's offset order (item 16), every entry planned its
//!   range check (item 14), every blob read its value-area check (15) and decode checks (17,
//!   18), so a corrupt file fails with [`Error::Corrupt`] and one lookup never reads more than
//!   the file holds.
//! * Nothing is applied before every planned blob was read: a failed lookup leaves the
//!   caller's state as it was.
//! * Plans and value buffers come from the layer's [`Scratch`] pool and go back to it. A lookup
//!   through the cache gathers its small payloads into one arena the values share, so in the
//!   steady state (the caller drops the previous values) it allocates nothing for them; a large
//!   payload (an image) held in consecutive cached pages is a slice of those pages, no copy
//!   (`strata_blob::gather_payloads`, [`PageCacheOptions::lend_pages`]).
//!
//! [`PageCacheOptions::lend_pages`]: strata_cache::PageCacheOptions::lend_pages

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

use bytes::BytesMut;

use strata_blob::{BlockReader, Gathered};
use strata_btree::VisitDirection;
use strata_key::{KEY_SIZE, Key, KeyRange, Lsn};

use crate::error::Error;
use crate::format::{BlobRef, DeltaKey};
use crate::guard::{OffsetOrder, decode_checked, decode_checked_bytes};
use crate::layer::DeltaLayer;
use crate::reconstruct::ValueReconstructState;
use crate::value::Value;
use strata_layer::ValueReconstructResult;

/// One blob to read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Planned {
    pub(crate) key: Key,
    pub(crate) lsn: Lsn,
    pub(crate) blob: BlobRef,
    /// The next entry's offset in key order, when the walk saw it: where this blob ends.
    next_pos: Option<u64>,
}

/// What a plan collects of each key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Collect {
    /// Its history: newest first down to the first will_init entry.
    History,
    /// Its newest entry only.
    Newest,
}

/// How the executor reads the planned blobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// One by one through the layer's reader (the page cache): few blobs, warm pages.
    Cache,
    /// In coalesced runs of adjacent blobs, one `read_blocks` each (many blobs).
    Runs,
}

/// Reusable buffers of a lookup.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    pub(crate) plan: Vec<Planned>,
    pub(crate) values: Vec<Option<Value>>,
    /// (offset, end, plan index), for run reads.
    blobs: Vec<(u64, u64, usize)>,
    /// Payloads of a lookup through the cache, gathered for the values to share.
    arena: BytesMut,
    /// Where each planned blob's payload is (in `arena`, or lent by the cache), in file order;
    /// emptied as the values take them, so a kept scratch holds no lent page.
    ranges: Vec<Gathered>,
    /// The planned blobs' offsets in file order (the plan reversed), for a lookup through
    /// the cache.
    offsets: Vec<u64>,
    /// The pool shard this was taken from.
    home: usize,
}

/// Buffers kept for reuse by a layer's lookups (no global state: one pool per layer). The
/// pool is split in shards chosen by the calling thread, each on its own cache lines, so
/// lookups from several threads do not pass one lock's line back and forth.
#[derive(Debug)]
pub(crate) struct ScratchPool(Box<[PoolShard]>);

/// One shard of a [`ScratchPool`], aligned to its own cache lines.
#[derive(Debug, Default)]
#[repr(align(128))]
struct PoolShard(Mutex<Vec<Scratch>>);

/// Buffers bigger than this many entries are not kept.
const MAX_KEPT_ENTRIES: usize = 4096;
/// A lookup arena larger than this is not kept (one lookup's values, normally ~10 KiB).
const MAX_KEPT_ARENA: usize = 1 << 20;
/// At most this many buffers are kept per shard (more concurrent lookups allocate their own).
const MAX_KEPT: usize = 4;
/// Shards of a pool.
const POOL_SHARDS: usize = 8;

impl Default for ScratchPool {
    fn default() -> ScratchPool {
        ScratchPool((0..POOL_SHARDS).map(|_| PoolShard::default()).collect())
    }
}

impl ScratchPool {
    /// The calling thread's shard number.
    fn home(&self) -> usize {
        let mut hasher = DefaultHasher::new();
        std::thread::current().id().hash(&mut hasher);
        (hasher.finish() % self.0.len().max(1) as u64) as usize
    }

    /// Buffers from the calling thread's shard (new ones if it keeps none).
    pub(crate) fn take(&self) -> Scratch {
        let home = self.home();
        let kept = self.0.get(home).and_then(|shard| {
            let mut pool = shard.0.lock().unwrap_or_else(|e| e.into_inner());
            pool.pop()
        });
        Scratch {
            home,
            ..kept.unwrap_or_default()
        }
    }

    /// Gives `s` back to the shard it was taken from.
    pub(crate) fn put(&self, mut s: Scratch) {
        if s.plan.capacity() > MAX_KEPT_ENTRIES {
            return;
        }
        if s.arena.capacity() > MAX_KEPT_ARENA {
            s.arena = BytesMut::new();
        }
        s.plan.clear();
        s.values.clear();
        s.blobs.clear();
        s.ranges.clear();
        s.offsets.clear();
        let Some(shard) = self.0.get(s.home) else {
            return;
        };
        let mut pool = shard.0.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < MAX_KEPT {
            pool.push(s);
        }
    }
}

/// Index entries a newest-version walk copies out of its leaf at first: it needs one (more
/// only when the key has no entry below the LSN).
const NEWEST_FIRST_BATCH: usize = 1;
/// Index entries a history walk copies out of its leaf at first (a page's image and the
/// records after it below the LSN asked for); later batches double, so a longer history costs
/// a few more batches, not a long first copy (the standard workload's histories are 1 to 11).
const HISTORY_FIRST_BATCH: usize = 4;

/// The largest key below `key`, if any.
pub(crate) fn key_before(key: Key) -> Option<Key> {
    let mut b = key.to_array();
    for byte in b.iter_mut().rev() {
        if *byte > 0 {
            *byte -= 1;
            return Some(Key::from_array(&b));
        }
        *byte = 0xFF;
    }
    None
}

/// Appends to `plan` the blobs to read for the keys `first..=last` below `end_lsn`, keys
/// descending and each key's entries newest first. `floor(key)` is the lowest LSN wanted of a
/// key, `None` if the key is not wanted at all.
pub(crate) async fn plan<R: BlockReader>(
    layer: &DeltaLayer<R>,
    first: Key,
    last: Key,
    end_lsn: Lsn,
    collect: Collect,
    floor: impl Fn(&Key) -> Option<Lsn>,
    plan: &mut Vec<Planned>,
) -> Result<(), Error> {
    let Some(last_lsn) = end_lsn.checked_sub(1) else {
        return Ok(());
    };
    if last < first {
        return Ok(());
    }
    let guard = layer.guard();
    let first_bytes = first.to_array();
    let search = DeltaKey::from_key_lsn(last, last_lsn);
    let mut iter = layer
        .tree()
        .iter(search.as_array(), VisitDirection::Backwards);
    iter.set_first_batch(match collect {
        Collect::Newest => NEWEST_FIRST_BATCH,
        Collect::History => HISTORY_FIRST_BATCH,
    });
    let mut order = OffsetOrder::backwards();
    // The key being collected and its floor (`None` once it is done).
    let mut current: Option<(Key, Option<Lsn>)> = None;
    while let Some(entry) = iter.next().await {
        let (raw, value) = entry?;
        let key_part = raw.get(..KEY_SIZE).unwrap_or_default();
        if key_part < &first_bytes[..] {
            break;
        }
        let blob = BlobRef(value);
        let next_pos = order.next(blob.pos())?;
        let entry = DeltaKey::from_array(raw);
        let lsn = entry.lsn();
        if lsn >= end_lsn {
            continue;
        }
        let key = entry.key();
        let key_floor = match &mut current {
            Some((k, f)) if *k == key => f,
            _ => &mut current.insert((key, floor(&key))).1,
        };
        let wanted = key_floor.is_some_and(|min| lsn >= min);
        if wanted {
            guard.check_ranges(key, lsn)?;
            plan.push(Planned {
                key,
                lsn,
                blob,
                next_pos,
            });
        }
        if !wanted || blob.will_init() || collect == Collect::Newest {
            *key_floor = None;
            if key == first {
                break;
            }
        }
    }
    Ok(())
}

/// Reads and decodes every planned blob into `scratch.values` (indexed like the plan).
pub(crate) async fn execute<R: BlockReader>(
    layer: &DeltaLayer<R>,
    scratch: &mut Scratch,
    via: Via,
) -> Result<(), Error> {
    let Scratch {
        plan,
        values,
        blobs,
        arena,
        ranges,
        offsets,
        ..
    } = scratch;
    values.clear();
    values.resize_with(plan.len(), || None);
    let guard = layer.guard();
    match via {
        Via::Cache => {
            // In file order (a key's plan is newest first, so its blobs lie in descending
            // offsets), nearby blobs read as one byte range (`gather_payloads`: a key's image
            // and records, one read). A large payload in pages the cache lends is a slice of
            // them (no copy); every other payload lands in one arena whose frozen bytes the
            // values then share: one copy of each, and no allocation once the previous
            // lookup's values are dropped (the arena's `reserve` reclaims its buffer).
            arena.clear();
            ranges.clear();
            offsets.clear();
            for p in plan.iter().rev() {
                guard.check_in_value_area(p.blob.pos())?;
                offsets.push(p.blob.pos());
            }
            layer.gather_payloads(offsets, arena, ranges).await?;
            let shared = arena.split().freeze();
            let in_file_order = plan.iter().rev().zip(values.iter_mut().rev());
            for ((p, slot), gathered) in in_file_order.zip(ranges.drain(..)) {
                *slot = Some(decode_checked_bytes(gathered.payload(&shared), p.blob)?);
            }
        }
        Via::Runs => {
            blobs.clear();
            {
                // Released before the runs are read: a reader pins one cache slot at most.
                let mut cursor = layer.blob_cursor();
                let value_area_end = layer.value_area_end();
                for (idx, p) in plan.iter().enumerate() {
                    let pos = p.blob.pos();
                    guard.check_in_value_area(pos)?;
                    let end = match p.next_pos {
                        Some(next) if next > pos && next <= value_area_end => next,
                        _ => cursor.span(pos).await?.end(),
                    };
                    blobs.push((pos, end, idx));
                }
            }
            blobs.sort_unstable();
            read_runs(layer, plan, blobs, values).await?;
        }
    }
    Ok(())
}

/// Groups `blobs` (sorted by offset) into runs of adjacent blobs at most `max_run_bytes` long
/// and reads each with one I/O, through one buffer.
async fn read_runs<R: BlockReader>(
    layer: &DeltaLayer<R>,
    plan: &[Planned],
    blobs: &[(u64, u64, usize)],
    values: &mut [Option<Value>],
) -> Result<(), Error> {
    let max_run = layer.max_run_bytes();
    let mut runs = layer.run_reader(0);
    let mut start_idx = 0;
    while let Some(&(run_start, first_end, _)) = blobs.get(start_idx) {
        let mut run_end = first_end;
        let mut end_idx = start_idx + 1;
        while let Some(&(pos, end, _)) = blobs.get(end_idx) {
            if pos != run_end || end.saturating_sub(run_start) > max_run {
                break;
            }
            run_end = end;
            end_idx += 1;
        }
        let run = runs.load(run_start, run_end).await?;
        for &(pos, _, idx) in blobs.get(start_idx..end_idx).unwrap_or_default() {
            let payload = run.blob_at(pos)?;
            let (Some(p), Some(slot)) = (plan.get(idx), values.get_mut(idx)) else {
                continue;
            };
            *slot = Some(decode_checked(&payload, p.blob)?);
        }
        start_idx = end_idx;
    }
    Ok(())
}

/// Applies the values of one key's planned entries (newest first) to its state: records are
/// appended, an image replaces `img`; an image or a will_init record completes the key.
pub(crate) fn apply(
    entries: &[Planned],
    values: &mut [Option<Value>],
    state: &mut ValueReconstructState,
) -> ValueReconstructResult {
    for (p, value) in entries.iter().zip(values.iter_mut()) {
        match value.take() {
            Some(Value::Image(img)) => {
                state.img = Some((p.lsn, img));
                return ValueReconstructResult::Complete;
            }
            Some(Value::WalRecord(rec)) => {
                let will_init = rec.will_init();
                state.records.push((p.lsn, rec));
                if will_init {
                    return ValueReconstructResult::Complete;
                }
            }
            None => {}
        }
    }
    ValueReconstructResult::Continue
}

/// Sorts the non-empty ranges and merges the overlapping ones.
pub(crate) fn merge_ranges(keyspace: &[KeyRange]) -> Vec<KeyRange> {
    let mut ranges: Vec<KeyRange> = keyspace
        .iter()
        .filter(|r| r.start < r.end)
        .copied()
        .collect();
    ranges.sort_unstable_by_key(|r| (r.start, r.end));
    let mut merged: Vec<KeyRange> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    /// A thread gets back the buffers it gave (from its own shard), each shard keeps at most
    /// `MAX_KEPT`, and oversized buffers are not kept.
    #[test]
    fn scratch_pool_reuses_a_threads_buffers() {
        let pool = ScratchPool::default();
        let mut s = pool.take();
        s.plan.reserve(100);
        let cap = s.plan.capacity();
        pool.put(s);
        assert_eq!(pool.take().plan.capacity(), cap);
        // Another thread's shard may differ, but it too gets its own buffers back.
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let mut s = pool.take();
                s.values.reserve(50);
                let cap = s.values.capacity();
                pool.put(s);
                assert_eq!(pool.take().values.capacity(), cap);
            });
        });
        for _ in 0..2 * MAX_KEPT {
            pool.put(Scratch::default());
        }
        let kept: usize = pool.0.iter().map(|s| s.0.lock().unwrap().len()).sum();
        assert!((MAX_KEPT..=MAX_KEPT + 1).contains(&kept), "{kept} kept");
        let mut big = pool.take();
        big.plan.reserve(MAX_KEPT_ENTRIES + 1);
        let before: usize = pool.0.iter().map(|s| s.0.lock().unwrap().len()).sum();
        pool.put(big);
        let after: usize = pool.0.iter().map(|s| s.0.lock().unwrap().len()).sum();
        assert_eq!(after, before, "an oversized plan is dropped");
    }
}
