//! What vectored lookups ([`DeltaLayer::get_values_reconstruct_data`](crate::DeltaLayer::get_values_reconstruct_data))
//! collect: a [`KeyReconstruct`] per key, and the LSNs the caller already has. The lookup
//! itself is in `lookup.rs`; per key, its result equals a point lookup over
//! `(cached LSN + 1)..end_lsn`.

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};

use strata_key::{Key, Lsn};

use crate::reconstruct::ValueReconstructState;
use strata_layer::ValueReconstructResult;

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

    /// The result slot of `key`, made on first use.
    pub(crate) fn entry(&mut self, key: Key) -> &mut KeyReconstruct {
        self.keys.entry(key).or_default()
    }

    pub(crate) fn is_complete(&self, key: &Key) -> bool {
        self.keys
            .get(key)
            .is_some_and(|k| k.result == ValueReconstructResult::Complete)
    }
}
