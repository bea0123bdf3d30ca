//! The traversal across layers and ancestor timelines (TIMELINE.md 3.3-3.5), over any layer
//! kind that implements [`ReadLayer`], and the step from collected history to a page (3.7).
//!
//! Invariants:
//! * One `Cursor` per key runs Neon's loop: `cont` starts at `L + 1`, every read is
//!   `[max(1, floor), cont)` of the layer `search(key, cont)` returns, `cont` then drops to
//!   the read's start; the loop ends at `Complete`, at `cont == 1`, or with the errors of 3.5.
//!   The LSN ranges read are disjoint and descending, so no record is collected twice and
//!   records arrive newest first (an image nested in a delta's span is honoured: the floor
//!   stops above it, Neon issue #9012 does not happen here).
//! * The single-key ([`reconstruct`]) and vectored ([`reconstruct_many`]) forms run the same
//!   cursor; the vectored one only batches the reads, so its answer per key is the
//!   single-key answer.
//! * Vectored batching visits the pending layer with the greatest `lsn.end` first, with every
//!   key pending at it, each with its own LSN range. A key's chain of layers has strictly
//!   decreasing `lsn.end` (search picks the greatest), so no key can become pending at a
//!   layer already visited: within one timeline each layer is visited at most once per call.
//! * The layer-map snapshot of each timeline is taken once per call ([`Level`]): a reader
//!   sees one map from start to end, and the layers it holds stay open (they are `Arc`s).
//! * Requests at LSN 0 or `u64::MAX` are [`Error::InvalidLsn`]; `u64::MAX - 1` works (HEAD's
//!   behaviour; the commit fails it with "no progress").

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use strata_delta::{NeonWalRecord, ValueReconstructState};
use strata_key::{Key, Lsn, LsnRange};

use crate::error::{Error, RedoError};
use crate::history::{PageHistory, Visit, VisitResult};
use crate::layer_map::LayerMap;
use crate::redo::{AUX_FILES_KEY, Redo};

/// A layer the traversal can read: Neon's `get_value_reconstruct_data` contract (TIMELINE.md
/// 3.1, 3.2). A delta collects the key's entries in `lsn_range` newest first into `state`
/// (`Complete` at an image or a will_init record, else `Continue`); an image layer sets the
/// image when it holds the key (`Complete`) and answers `Missing` when it does not.
pub trait ReadLayer: Send + Sync {
    /// The history of `key` in `lsn_range` (end exclusive), appended to `state`.
    fn get_value_reconstruct_data(
        &self,
        key: Key,
        lsn_range: LsnRange,
        state: &mut ValueReconstructState,
    ) -> impl Future<Output = Result<VisitResult, Error>> + Send;

    /// The same for many keys at once: `reads` are `(key, lsn_range)` pairs sorted by key,
    /// without duplicate keys; the answer has one entry per read, in order. The default
    /// reads key by key; layers override it to coalesce their reads.
    fn get_values_reconstruct_data(
        &self,
        reads: &[(Key, LsnRange)],
    ) -> impl Future<Output = Result<Vec<(VisitResult, ValueReconstructState)>, Error>> + Send {
        async move {
            let mut out = Vec::with_capacity(reads.len());
            for &(key, lsn_range) in reads {
                let mut state = ValueReconstructState::default();
                let result = self
                    .get_value_reconstruct_data(key, lsn_range, &mut state)
                    .await?;
                out.push((result, state));
            }
            Ok(out)
        }
    }
}

/// One timeline of the chain a read walks: its layer map and, for a branch, the LSN it
/// branched at. `levels[0]` is the timeline asked, `levels[i + 1]` the ancestor of
/// `levels[i]`.
#[derive(Debug)]
pub struct Level<'a, L> {
    /// The layer map snapshot.
    pub map: &'a LayerMap<Arc<L>>,
    /// The branch point, if this timeline has an ancestor.
    pub ancestor_lsn: Option<Lsn>,
}

/// What a traversal collected for one key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Traversal {
    /// The image and records, oldest first.
    pub history: PageHistory,
    /// The layers visited, in order.
    pub visits: Vec<Visit>,
}

/// A planned read: layer `layer` of `levels[level]`, key history in `[lo, hi)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Read {
    level: usize,
    layer: usize,
    lo: Lsn,
    hi: Lsn,
}

/// One key's traversal state (Neon's loop variables).
#[derive(Debug)]
struct Cursor {
    key: Key,
    request_lsn: Lsn,
    cont: Lsn,
    prev: Option<Lsn>,
    result: VisitResult,
    level: usize,
    state: ValueReconstructState,
    visits: Vec<Visit>,
}

enum Step {
    Read(Read),
    Done(Result<(), Error>),
}

impl Cursor {
    fn new(key: Key, request_lsn: Lsn) -> Result<Cursor, Error> {
        if request_lsn == Lsn::INVALID {
            return Err(Error::InvalidLsn(request_lsn));
        }
        let cont = request_lsn
            .checked_add(1)
            .ok_or(Error::InvalidLsn(request_lsn))?;
        Ok(Cursor {
            key,
            request_lsn,
            cont,
            prev: None,
            result: VisitResult::Continue,
            level: 0,
            state: ValueReconstructState::default(),
            visits: Vec::new(),
        })
    }

    /// Runs the loop of 3.3 up to the next layer read, or to the end.
    fn step<L>(&mut self, levels: &[Level<'_, L>]) -> Step {
        loop {
            match self.result {
                VisitResult::Complete => return Step::Done(Ok(())),
                VisitResult::Missing => return Step::Done(Err(self.not_found())),
                VisitResult::Continue => {}
            }
            if self.cont == Lsn(1) {
                return Step::Done(Ok(()));
            }
            if self.prev.is_some_and(|prev| prev <= self.cont) {
                return Step::Done(Err(self.no_progress(levels)));
            }
            self.prev = Some(self.cont);
            let Some(level) = levels.get(self.level) else {
                return Step::Done(Err(self.not_found()));
            };
            if let Some(ancestor_lsn) = level.ancestor_lsn
                && self.key != AUX_FILES_KEY
                && Lsn(self.cont.0 - 1) <= ancestor_lsn
            {
                if levels.get(self.level + 1).is_none() {
                    return Step::Done(Err(Error::Ancestor {
                        ancestor: format!("of level {}", self.level),
                        what: format!("not opened, needed below LSN {}", self.cont),
                    }));
                }
                self.level += 1;
                self.prev = None;
                continue;
            }
            match level.map.search(self.key, self.cont) {
                Some(found) => {
                    return Step::Read(Read {
                        level: self.level,
                        layer: found.layer,
                        lo: found.lsn_floor.max(Lsn(1)),
                        hi: self.cont,
                    });
                }
                None => match level.ancestor_lsn {
                    Some(ancestor_lsn) => {
                        self.result = VisitResult::Continue;
                        self.cont = Lsn(ancestor_lsn.0.saturating_add(1));
                    }
                    None => self.result = VisitResult::Missing,
                },
            }
        }
    }

    /// Takes in what a read of `read` collected.
    fn after_read<L>(
        &mut self,
        levels: &[Level<'_, L>],
        read: Read,
        result: VisitResult,
        collected: ValueReconstructState,
    ) {
        let n_records = collected.records.len();
        let found_image = collected.img.is_some();
        self.state.records.extend(collected.records);
        if collected.img.is_some() {
            self.state.img = collected.img;
        }
        // `check_read` found the layer before the read, so it is there.
        if let Some((layer, _)) = levels.get(read.level).and_then(|l| l.map.get(read.layer)) {
            self.visits.push(Visit {
                layer: *layer,
                level: read.level,
                lo: read.lo,
                hi: read.hi,
                result,
                n_records,
                found_image,
            });
        }
        self.result = result;
        self.cont = read.lo;
    }

    fn not_found(&mut self) -> Error {
        Error::KeyNotFound {
            key: self.key,
            lsn: self.cont,
            request_lsn: self.request_lsn,
            traversal: std::mem::take(&mut self.visits),
        }
    }

    fn no_progress<L>(&mut self, levels: &[Level<'_, L>]) -> Error {
        Error::NoProgress {
            key: self.key,
            lsn: Lsn(self.cont.0.saturating_sub(1)),
            request_lsn: self.request_lsn,
            ancestor_lsn: levels
                .get(self.level)
                .and_then(|l| l.ancestor_lsn)
                .unwrap_or(Lsn(0)),
            traversal: std::mem::take(&mut self.visits),
        }
    }

    fn finish(mut self) -> Traversal {
        self.state.records.reverse();
        Traversal {
            history: PageHistory {
                img: self.state.img,
                records: self.state.records,
            },
            visits: self.visits,
        }
    }
}

/// Checks the on-disk wrapper's preconditions of TIMELINE.md 3.2 before a read.
fn check_read<'a, L>(
    levels: &'a [Level<'_, L>],
    read: Read,
    key: Key,
) -> Result<&'a Arc<L>, Error> {
    let (desc, layer) = levels
        .get(read.level)
        .and_then(|l| l.map.get(read.layer))
        .ok_or(Error::NoSuchLayer(format!("#{}", read.layer)))?;
    let ok = desc.key_range.contains(&key)
        && if desc.is_delta {
            read.lo >= desc.lsn_range.start
        } else {
            read.lo >= desc.lsn() && read.hi >= desc.lsn()
        };
    if !ok {
        return Err(Error::ReadOutOfRange {
            layer: desc.to_string(),
            key,
            lo: read.lo,
            hi: read.hi,
        });
    }
    Ok(layer)
}

/// Collects the history of `key` as of `request_lsn` across `levels` (TIMELINE.md 3.3).
pub async fn reconstruct<L: ReadLayer>(
    levels: &[Level<'_, L>],
    key: Key,
    request_lsn: Lsn,
) -> Result<Traversal, Error> {
    let mut cursor = Cursor::new(key, request_lsn)?;
    loop {
        match cursor.step(levels) {
            Step::Done(Ok(())) => return Ok(cursor.finish()),
            Step::Done(Err(e)) => return Err(e),
            Step::Read(read) => {
                let layer = check_read(levels, read, key)?;
                let mut collected = ValueReconstructState::default();
                let result = layer
                    .get_value_reconstruct_data(
                        key,
                        LsnRange::new(read.lo, read.hi),
                        &mut collected,
                    )
                    .await?;
                cursor.after_read(levels, read, result, collected);
            }
        }
    }
}

/// [`reconstruct`] for every key of `keys` (sorted, distinct), visiting each layer at most
/// once per timeline. A key's own failure (not found, no progress) is its entry; a failed layer
/// read fails the whole call.
pub async fn reconstruct_many<L: ReadLayer>(
    levels: &[Level<'_, L>],
    keys: &[Key],
    request_lsn: Lsn,
) -> Result<BTreeMap<Key, Result<Traversal, Error>>, Error> {
    let mut done = BTreeMap::new();
    let mut active: Vec<(Cursor, Option<Read>)> = Vec::new();
    for &key in keys {
        active.push((Cursor::new(key, request_lsn)?, None));
    }
    loop {
        // Advance every key without a planned read.
        let mut i = 0;
        while let Some((cursor, planned)) = active.get_mut(i) {
            if planned.is_none() {
                match cursor.step(levels) {
                    Step::Read(read) => *planned = Some(read),
                    Step::Done(res) => {
                        let (cursor, _) = active.swap_remove(i);
                        let key = cursor.key;
                        done.insert(key, res.map(|()| cursor.finish()));
                        continue;
                    }
                }
            }
            i += 1;
        }
        // The pending layer of the shallowest level with the greatest lsn.end goes first.
        let Some(next) = active.iter().filter_map(|(_, p)| *p).min_by_key(|r| {
            let end = levels
                .get(r.level)
                .and_then(|l| l.map.get(r.layer))
                .map_or(Lsn(0), |(d, _)| d.lsn_range.end);
            (
                r.level,
                std::cmp::Reverse(end),
                r.layer,
                std::cmp::Reverse(r.hi),
            )
        }) else {
            return Ok(done);
        };
        let mut batch: Vec<usize> = (0..active.len())
            .filter(|&i| {
                active
                    .get(i)
                    .and_then(|a| a.1)
                    .is_some_and(|r| r.level == next.level && r.layer == next.layer)
            })
            .collect();
        batch.sort_by_key(|&i| active.get(i).map(|a| a.0.key));
        let mut reads = Vec::with_capacity(batch.len());
        for &i in &batch {
            if let Some((cursor, Some(read))) = active.get(i) {
                check_read(levels, *read, cursor.key)?;
                reads.push((cursor.key, LsnRange::new(read.lo, read.hi)));
            }
        }
        let layer = check_read(levels, next, reads.first().map_or(Key::MIN, |k| k.0))?;
        let results = layer.get_values_reconstruct_data(&reads).await?;
        if results.len() != batch.len() {
            return Err(Error::NoSuchLayer(format!(
                "layer answered {} of {} keys",
                results.len(),
                batch.len()
            )));
        }
        for (&i, (result, collected)) in batch.iter().zip(results) {
            if let Some((cursor, planned)) = active.get_mut(i)
                && let Some(read) = planned.take()
            {
                cursor.after_read(levels, read, result, collected);
            }
        }
    }
}

/// The page from a traversal's history (TIMELINE.md 3.7): the image unchanged when there are
/// no records, else redo. Without a Postgres backend, Postgres records give
/// [`Error::NeedsPostgres`] with the history.
pub fn materialize(
    redo: &dyn Redo,
    key: Key,
    request_lsn: Lsn,
    history: &PageHistory,
    pg_version: u32,
) -> Result<Bytes, Error> {
    let Some((_, oldest)) = history.records.first() else {
        return match &history.img {
            Some((_, img)) => Ok(img.clone()),
            None => Err(Error::BaseImageMissing {
                key,
                lsn: request_lsn,
                n_records: 0,
            }),
        };
    };
    if history.img.is_none() && !oldest.will_init() {
        return Err(Error::BaseImageMissing {
            key,
            lsn: request_lsn,
            n_records: history.records.len(),
        });
    }
    redo.redo(
        key,
        request_lsn,
        history.img.clone(),
        &history.records,
        pg_version,
    )
    .map_err(|source| match source {
        RedoError::NeedsPostgres { .. } => Error::NeedsPostgres {
            key,
            lsn: request_lsn,
            history: Box::new(history.clone()),
        },
        source => Error::Redo {
            key,
            lsn: request_lsn,
            source,
        },
    })
}

/// True if `record` is one Neon applies itself (every kind but `Postgres`).
pub fn is_neon_record(record: &NeonWalRecord) -> bool {
    !matches!(record, NeonWalRecord::Postgres { .. })
}

#[cfg(test)]
#[path = "reconstruct_tests.rs"]
mod tests;
