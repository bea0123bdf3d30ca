//! [`MemLayer`]: a delta or image layer held in memory, read with exactly the semantics of
//! the on-disk kinds (TIMELINE.md 3.2). For tests, models and fuzzing of the traversal, and a
//! shape for the in-memory layers of ingest.
//!
//! Invariants: a delta answers its key's entries in `[lo, hi)` newest first, stopping after
//! an image or a will_init record; an image answers its key's bytes at its LSN whatever the
//! range, or `Missing`.

use std::collections::BTreeMap;

use bytes::Bytes;
use strata_delta::{Value, ValueReconstructState};
use strata_key::{Key, Lsn, LsnRange};

use crate::desc::LayerDesc;
use crate::error::Error;
use crate::history::VisitResult;
use crate::reconstruct::ReadLayer;

/// An in-memory layer.
#[derive(Debug, Clone)]
pub struct MemLayer {
    desc: LayerDesc,
    deltas: BTreeMap<(Key, Lsn), Value>,
    images: BTreeMap<Key, Bytes>,
}

impl MemLayer {
    /// An empty layer described by `desc`.
    pub fn new(desc: LayerDesc) -> MemLayer {
        MemLayer {
            desc,
            deltas: BTreeMap::new(),
            images: BTreeMap::new(),
        }
    }

    /// The layer's descriptor.
    pub fn desc(&self) -> &LayerDesc {
        &self.desc
    }

    /// Adds a delta entry (ignored by an image layer).
    pub fn put(&mut self, key: Key, lsn: Lsn, value: Value) {
        self.deltas.insert((key, lsn), value);
    }

    /// Adds an image layer's page (ignored by a delta layer).
    pub fn put_image(&mut self, key: Key, page: Bytes) {
        self.images.insert(key, page);
    }
}

impl ReadLayer for MemLayer {
    async fn get_value_reconstruct_data(
        &self,
        key: Key,
        lsn_range: LsnRange,
        state: &mut ValueReconstructState,
    ) -> Result<VisitResult, Error> {
        if !self.desc.is_delta {
            return Ok(match self.images.get(&key) {
                Some(page) => {
                    state.img = Some((self.desc.lsn(), page.clone()));
                    VisitResult::Complete
                }
                None => VisitResult::Missing,
            });
        }
        if lsn_range.is_empty() {
            return Ok(VisitResult::Continue);
        }
        let entries = self
            .deltas
            .range((key, lsn_range.start)..(key, lsn_range.end))
            .rev();
        for ((_, lsn), value) in entries {
            match value {
                Value::Image(img) => {
                    state.img = Some((*lsn, img.clone()));
                    return Ok(VisitResult::Complete);
                }
                Value::WalRecord(rec) => {
                    state.records.push((*lsn, rec.clone()));
                    if rec.will_init() {
                        return Ok(VisitResult::Complete);
                    }
                }
            }
        }
        Ok(VisitResult::Continue)
    }
}
