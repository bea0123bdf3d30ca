//! The open layer: values of ingested records kept in memory in arrival order until their
//! encoded size reaches a bound, then sorted by (key, LSN) and written as one L0 delta layer
//! (`Key::MIN..Key::MAX`, LSNs `start..last + 1`). Appending and sorting once costs less than
//! keeping a sorted map: (key, LSN) pairs are unique (LSNs grow from record to record and a
//! record puts a key once).
//!
//! Invariants: a flush holds whole records only (callers add a record's values at once);
//! LSN ranges of successive layers are contiguous (`start` of the next = `last + 1` of the
//! previous; records that stored no value are covered by the next layer's range); memory is
//! bounded by the configured bytes plus one record's values.

use std::path::Path;

use strata_delta::{DeltaLayerWriter, LayerDesc, Value};
use strata_key::{Key, Lsn, LsnRange, TenantId, TimelineId};

use crate::catalog::Puts;
use crate::error::Error;

/// The in-memory open layer.
#[derive(Debug)]
pub struct OpenLayer {
    values: Vec<(Key, Lsn, Value)>,
    bytes: u64,
    start: Lsn,
    last: Option<Lsn>,
}

impl OpenLayer {
    /// An empty open layer whose first LSN is `start`.
    pub fn new(start: Lsn) -> OpenLayer {
        OpenLayer {
            values: Vec::new(),
            bytes: 0,
            start,
            last: None,
        }
    }

    /// Adds one record's values, stored at `lsn` (not below any earlier record's).
    pub fn add(&mut self, lsn: Lsn, puts: Puts) {
        for (key, value) in puts.0 {
            self.bytes += (value.encoded_len() + 26) as u64;
            self.values.push((key, lsn, value));
        }
        self.last = Some(lsn);
    }

    /// Encoded bytes held (values plus their keys).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The LSN of the last record added, if any.
    pub fn last(&self) -> Option<Lsn> {
        self.last
    }

    /// Writes the held values as one delta layer in `dir` and empties the buffer; `None` if
    /// no record was added since the last flush.
    pub fn flush(
        &mut self,
        dir: &Path,
        tenant: TenantId,
        timeline: TimelineId,
    ) -> Result<Option<LayerDesc>, Error> {
        let Some(last) = self.last else {
            return Ok(None);
        };
        if self.values.is_empty() {
            // Records that stored nothing: reading them again after a restart is harmless.
            self.last = None;
            return Ok(None);
        }
        let end = Lsn(last.0 + 1);
        let range = LsnRange::new(self.start, end);
        let mut writer = DeltaLayerWriter::new(dir, tenant, timeline, Key::MIN, range)?;
        self.values
            .sort_unstable_by_key(|(key, lsn, _)| (*key, *lsn));
        for (key, lsn, value) in &self.values {
            writer.put_value(*key, *lsn, value)?;
        }
        let desc = writer.finish(Key::MAX)?;
        self.values.clear();
        self.bytes = 0;
        self.start = end;
        self.last = None;
        Ok(Some(desc))
    }
}
