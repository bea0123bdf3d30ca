//! Vectored lookups over key ranges: [`DeltaLayer::get_values_reconstruct_data`] with Neon's
//! semantics (FORMAT.md section 6.6), reading adjacent blobs in coalesced runs.
//!
//! Invariants:
//! * Planning is Neon's: for each key range, a backwards index walk from
//!   `DeltaKey(range.end, end_lsn - 1)` that skips entries with `LSN >= end_lsn` or
//!   `key >= range.end`, stops at `key < range.start`, and stops collecting a key after its
//!   first will_init entry or at the LSN the caller already has for it
//!   ([`VectoredReconstructState::set_cached_lsn`]).
//! * Reading: planned blobs are sorted by offset and grouped into runs of blobs that follow
//!   each other on disk (a blob's end is the next entry's offset, as Neon's planner assumes),
//!   at most [`OpenOptions::max_run_bytes`](crate::OpenOptions::max_run_bytes) long; each run
//!   is one [`strata_blob::BlobRunReader::load`] call, all through one reused buffer.
//! * Blob offsets must decrease along each walk, planned entries must lie inside the summary's
//!   ranges, and each value's `will_init()` must equal its BlobRef's bit (see `reconstruct`),
//!   or the lookup fails with [`Error::Corrupt`].
//! * Per key, the result equals [`DeltaLayer::get_value_reconstruct_data`] over
//!   `(cached LSN + 1)..end_lsn`.

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};

use strata_blob::BlockReader;
use strata_btree::VisitDirection;
use strata_key::{Key, KeyRange, Lsn};

use crate::error::{CorruptionKind, Error};
use crate::reader::{DeltaLayer, decode_value, delta_key, split_delta_key};
use crate::reconstruct::{ValueReconstructResult, ValueReconstructState};
use crate::value::Value;

/// The result for one key of a vectored lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyReconstruct {
    /// Whether the key's history is complete.
    pub result: ValueReconstructResult,
    /// What was collected (records newest first, and the image).
    pub state: ValueReconstructState,
}

impl Default for KeyReconstruct {
    fn default() -> KeyReconstruct {
        KeyReconstruct {
            result: ValueReconstructResult::Continue,
            state: ValueReconstructState::default(),
        }
    }
}

/// What vectored lookups collected, per key, and the LSNs the caller already has.
///
/// A key appears once a lookup found at least one entry for it. Keys already
/// [`Complete`](ValueReconstructResult::Complete) are not read again.
#[derive(Debug, Clone, Default)]
pub struct VectoredReconstructState {
    keys: BTreeMap<Key, KeyReconstruct>,
    cached_lsns: HashMap<Key, Lsn>,
}

impl VectoredReconstructState {
    /// An empty state.
    pub fn new() -> VectoredReconstructState {
        VectoredReconstructState::default()
    }

    /// Says the caller already has `key` materialized at `lsn`: entries at or below it are
    /// not collected.
    pub fn set_cached_lsn(&mut self, key: Key, lsn: Lsn) {
        self.cached_lsns.insert(key, lsn);
    }

    /// The cached LSN of `key`, if any.
    pub fn cached_lsn(&self, key: &Key) -> Option<Lsn> {
        self.cached_lsns.get(key).copied()
    }

    /// The result for `key`, if a lookup found anything for it.
    pub fn get(&self, key: &Key) -> Option<&KeyReconstruct> {
        self.keys.get(key)
    }

    /// Every key found so far, in key order.
    pub fn keys(&self) -> impl Iterator<Item = (&Key, &KeyReconstruct)> {
        self.keys.iter()
    }

    /// Number of keys found so far.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True if no key was found.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The per-key results.
    pub fn into_keys(self) -> BTreeMap<Key, KeyReconstruct> {
        self.keys
    }

    fn is_complete(&self, key: &Key) -> bool {
        self.keys
            .get(key)
            .is_some_and(|k| k.result == ValueReconstructResult::Complete)
    }
}

/// One blob to read.
#[derive(Debug, Clone, Copy)]
struct Planned {
    key: Key,
    lsn: Lsn,
    pos: u64,
    /// The BlobRef's will_init bit, checked against the decoded value.
    will_init: bool,
    /// The next entry's offset in key order, when the walk saw it: where this blob ends.
    next_pos: Option<u64>,
}

impl<R: BlockReader> DeltaLayer<R> {
    /// Collects, for every key in `keyspace`, its history below `end_lsn` into `states`
    /// (Neon's vectored `get_values_reconstruct_data`). Overlapping ranges are merged first.
    pub async fn get_values_reconstruct_data(
        &self,
        keyspace: &[KeyRange],
        end_lsn: Lsn,
        states: &mut VectoredReconstructState,
    ) -> Result<(), Error> {
        self.vectored(keyspace, end_lsn, states)
            .await
            .map_err(|e| self.ctx(e))
    }

    async fn vectored(
        &self,
        keyspace: &[KeyRange],
        end_lsn: Lsn,
        states: &mut VectoredReconstructState,
    ) -> Result<(), Error> {
        let Some(last_lsn) = end_lsn.checked_sub(1) else {
            return Ok(());
        };
        let mut plan = Vec::new();
        for range in merge_ranges(keyspace) {
            self.plan_range(range, end_lsn, last_lsn, states, &mut plan)
                .await?;
        }
        let values = self.read_planned(&plan).await?;
        apply(&plan, values, states);
        Ok(())
    }

    /// Walks the index for one range, appending the blobs to read to `plan` (keys descending,
    /// each key's LSNs descending).
    async fn plan_range(
        &self,
        range: KeyRange,
        end_lsn: Lsn,
        last_lsn: Lsn,
        states: &VectoredReconstructState,
        plan: &mut Vec<Planned>,
    ) -> Result<(), Error> {
        let search = delta_key(range.end, last_lsn);
        let mut iter = self.tree().iter(&search, VisitDirection::Backwards);
        let mut prev_pos = None;
        // The key being collected, and whether collecting it has stopped.
        let mut current: Option<(Key, bool)> = None;
        while let Some(entry) = iter.next().await {
            let (raw, blob_ref) = entry?;
            let pos = blob_ref >> 1;
            let next_pos = prev_pos.replace(pos);
            if let Some(next) = next_pos
                && pos >= next
            {
                return Err(CorruptionKind::OffsetsNotIncreasing {
                    offset: pos,
                    next_offset: next,
                }
                .into());
            }
            let (key, lsn) = split_delta_key(&raw);
            if key >= range.end || lsn >= end_lsn {
                continue;
            }
            if key < range.start {
                break;
            }
            let done = match &mut current {
                Some((k, done)) if *k == key => done,
                _ => &mut current.insert((key, states.is_complete(&key))).1,
            };
            if *done {
                continue;
            }
            if states.cached_lsn(&key).is_some_and(|cached| lsn <= cached) {
                *done = true;
                continue;
            }
            let summary = self.summary();
            if !summary.key_range.contains(&key) || !summary.lsn_range.contains(lsn) {
                return Err(CorruptionKind::EntryOutOfRange { key, lsn }.into());
            }
            plan.push(Planned {
                key,
                lsn,
                pos,
                will_init: blob_ref & 1 == 1,
                next_pos,
            });
            if blob_ref & 1 == 1 {
                *done = true;
            }
        }
        Ok(())
    }

    /// Reads and decodes every planned blob, in coalesced runs; the result is indexed like
    /// `plan`.
    async fn read_planned(&self, plan: &[Planned]) -> Result<Vec<Option<Value>>, Error> {
        let mut values: Vec<Option<Value>> = Vec::new();
        values.resize_with(plan.len(), || None);
        // (pos, end, plan index), by offset.
        let mut blobs = Vec::with_capacity(plan.len());
        {
            // Released before the runs are read: a reader pins one cache slot at most.
            let mut cursor = self.blob_cursor();
            let value_area_end = self.value_area_end();
            for (idx, p) in plan.iter().enumerate() {
                self.check_blob_offset(p.pos)?;
                let end = match p.next_pos {
                    Some(next) if next > p.pos && next <= value_area_end => next,
                    _ => cursor.span(p.pos).await?.end(),
                };
                blobs.push((p.pos, end, idx));
            }
        }
        blobs.sort_unstable();
        let max_run = self.max_run_bytes();
        // One buffer for every run.
        let mut runs = self.run_reader(0);
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
                let value = decode_value(&payload, pos)?;
                let bit = plan.get(idx).is_some_and(|p| p.will_init);
                if value.will_init() != bit {
                    return Err(CorruptionKind::WillInitMismatch { offset: pos, bit }.into());
                }
                if let Some(slot) = values.get_mut(idx) {
                    *slot = Some(value);
                }
            }
            start_idx = end_idx;
        }
        Ok(values)
    }
}

/// Applies the decoded values to the per-key states, newest first per key: an image or a
/// will_init record completes a key.
fn apply(plan: &[Planned], values: Vec<Option<Value>>, states: &mut VectoredReconstructState) {
    let mut current: Option<(Key, bool)> = None;
    for (p, value) in plan.iter().zip(values) {
        let entry = states.keys.entry(p.key).or_default();
        let done = match &mut current {
            Some((k, done)) if *k == p.key => done,
            _ => &mut current.insert((p.key, false)).1,
        };
        if *done {
            continue;
        }
        match value {
            Some(Value::Image(img)) => {
                entry.state.img = Some((p.lsn, img));
                *done = true;
            }
            Some(Value::WalRecord(rec)) => {
                *done = rec.will_init();
                entry.state.records.push((p.lsn, rec));
            }
            None => {}
        }
        if *done {
            entry.result = ValueReconstructResult::Complete;
        }
    }
}

/// Sorts the non-empty ranges and merges the overlapping ones.
fn merge_ranges(keyspace: &[KeyRange]) -> Vec<KeyRange> {
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
