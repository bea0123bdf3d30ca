//! [`TimelineLayer`]: one layer file of a timeline directory, opened lazily through the
//! caller's `FileTable` and `PageCache`, its summary checked against its name and the
//! directory's ids (TIMELINE.md 1.6) on first use.
//!
//! Invariants:
//! * The file is opened at most once; concurrent first readers wait for the same open.
//! * An open that fails with an I/O error is not remembered (the next read retries, as
//!   Neon's "open layer file" errors); a summary that is undecodable or disagrees with the
//!   name is remembered, and every later read fails the same way (Neon's "layer loading
//!   failed").
//! * A reader holds the layer through an `Arc`, so a layer replaced in the map stays open
//!   until its last reader is done.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bytes::Bytes;
use strata_blob::{FileTable, TableFile};
use strata_cache::{CachedReader, PageCache};
use strata_delta::{
    DeltaLayer, ValueReconstructResult, ValueReconstructState, VectoredReconstructState,
};
use strata_image::ImageLayer;
use strata_key::{Key, KeyRange, Lsn, LsnRange, TenantId, TimelineId};
use tokio::sync::OnceCell;

use crate::desc::LayerDesc;
use crate::error::{Corruption, CorruptionKind, Error};
use crate::history::VisitResult;
use crate::reconstruct::ReadLayer;

/// The ids a timeline's layers must carry in their summaries (unknown ids are not checked).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimelineIds {
    /// The tenant, if known.
    pub tenant_id: Option<TenantId>,
    /// The timeline, if known.
    pub timeline_id: Option<TimelineId>,
}

/// An open layer file.
#[derive(Debug)]
pub enum ResidentLayer {
    /// A delta layer.
    Delta(DeltaLayer<CachedReader<TableFile>>),
    /// An image layer.
    Image(ImageLayer<CachedReader<TableFile>>),
}

/// A layer of a timeline directory.
#[derive(Debug)]
pub struct TimelineLayer {
    desc: LayerDesc,
    file_name: String,
    path: PathBuf,
    file_size: u64,
    ids: TimelineIds,
    files: FileTable,
    cache: PageCache,
    resident: OnceCell<ResidentLayer>,
    failed: Mutex<Option<Corruption>>,
}

impl TimelineLayer {
    /// A layer of `desc` stored as `dir/file_name` (`file_size` bytes), not opened yet.
    pub fn new(
        desc: LayerDesc,
        dir: &Path,
        file_name: String,
        file_size: u64,
        ids: TimelineIds,
        files: FileTable,
        cache: PageCache,
    ) -> TimelineLayer {
        TimelineLayer {
            desc,
            path: dir.join(&file_name),
            file_name,
            file_size,
            ids,
            files,
            cache,
            resident: OnceCell::new(),
            failed: Mutex::new(None),
        }
    }

    /// The descriptor.
    pub fn desc(&self) -> &LayerDesc {
        &self.desc
    }

    /// The file name (with its generation suffix, if any).
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's length when the directory was listed.
    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    /// True once the file has been opened successfully.
    pub fn is_resident(&self) -> bool {
        self.resident.initialized()
    }

    /// The open layer, opening it on first use.
    pub async fn load(&self) -> Result<&ResidentLayer, Error> {
        if let Some(failed) = self.remembered() {
            return Err(Error::Corrupt(failed));
        }
        self.resident
            .get_or_try_init(|| async {
                let res = self.open().await;
                if let Err(Error::Corrupt(c)) = &res
                    && let Ok(mut failed) = self.failed.lock()
                {
                    *failed = Some(c.clone());
                }
                res
            })
            .await
    }

    fn remembered(&self) -> Option<Corruption> {
        self.failed.lock().ok().and_then(|f| f.clone())
    }

    async fn open(&self) -> Result<ResidentLayer, Error> {
        let io = |source| Error::LayerIo {
            layer: self.file_name.clone(),
            source,
        };
        if self.desc.is_delta {
            let layer =
                DeltaLayer::open_with(&self.path, &self.cache, &self.files, Default::default())
                    .await
                    .map_err(|e| match e {
                        strata_delta::Error::Blob(strata_blob::Error::Io(source)) => io(source),
                        e => Error::from_delta(&self.file_name, e),
                    })?;
            let s = layer.summary();
            self.check_summary(s.tenant_id, s.timeline_id, s.key_range, s.lsn_range)?;
            Ok(ResidentLayer::Delta(layer))
        } else {
            let layer =
                ImageLayer::open_with(&self.path, &self.cache, &self.files, Default::default())
                    .await
                    .map_err(|e| Error::from_image(&self.file_name, e))?;
            let s = layer.summary();
            let lsns = LsnRange::new(s.lsn, Lsn(s.lsn.0.saturating_add(1)));
            self.check_summary(s.tenant_id, s.timeline_id, s.key_range, lsns)?;
            Ok(ResidentLayer::Image(layer))
        }
    }

    fn check_summary(
        &self,
        tenant_id: TenantId,
        timeline_id: TimelineId,
        key_range: KeyRange,
        lsn_range: LsnRange,
    ) -> Result<(), Error> {
        let ids_ok = self.ids.tenant_id.is_none_or(|t| t == tenant_id)
            && self.ids.timeline_id.is_none_or(|t| t == timeline_id);
        if ids_ok && key_range == self.desc.key_range && lsn_range == self.desc.lsn_range {
            return Ok(());
        }
        let show = |tenant: Option<TenantId>,
                    timeline: Option<TimelineId>,
                    keys: KeyRange,
                    lsns: LsnRange| {
            format!(
                "tenant {}, timeline {}, keys {}..{}, LSNs {}..{}",
                tenant.map_or("?".into(), |t| t.to_string()),
                timeline.map_or("?".into(), |t| t.to_string()),
                keys.start,
                keys.end,
                lsns.start,
                lsns.end
            )
        };
        Err(Error::Corrupt(Corruption {
            layer: Some(self.file_name.clone()),
            kind: CorruptionKind::SummaryMismatch {
                expected: show(
                    self.ids.tenant_id,
                    self.ids.timeline_id,
                    self.desc.key_range,
                    self.desc.lsn_range,
                ),
                actual: show(Some(tenant_id), Some(timeline_id), key_range, lsn_range),
            },
        }))
    }

    /// Verifies the whole file (every invariant of its format), listing what is broken; an
    /// empty list means a sound file.
    pub async fn verify(&self) -> Result<Vec<String>, Error> {
        match self.load().await? {
            ResidentLayer::Delta(delta) => delta
                .verify()
                .await
                .map(|findings| {
                    findings
                        .iter()
                        .map(|f| format!("{}: {}", f.location, f.message))
                        .collect()
                })
                .map_err(|e| Error::from_delta(&self.file_name, e)),
            ResidentLayer::Image(image) => image
                .verify()
                .await
                .map(|findings| {
                    findings
                        .iter()
                        .map(|f| format!("{}: {}", f.location, f.message))
                        .collect()
                })
                .map_err(|e| Error::from_image(&self.file_name, e)),
        }
    }
}

fn visit(result: ValueReconstructResult) -> VisitResult {
    match result {
        ValueReconstructResult::Complete => VisitResult::Complete,
        // A delta layer never answers Missing (an image layer's "nothing here"); either way
        // the history continues below.
        ValueReconstructResult::Continue | ValueReconstructResult::Missing => VisitResult::Continue,
    }
}

impl ReadLayer for TimelineLayer {
    async fn get_value_reconstruct_data(
        &self,
        key: Key,
        lsn_range: LsnRange,
        state: &mut ValueReconstructState,
    ) -> Result<VisitResult, Error> {
        match self.load().await? {
            ResidentLayer::Delta(delta) => delta
                .get_value_reconstruct_data(key, lsn_range, state)
                .await
                .map(visit)
                .map_err(|e| Error::from_delta(&self.file_name, e)),
            ResidentLayer::Image(image) => {
                let page = image
                    .get(key)
                    .await
                    .map_err(|e| Error::from_image(&self.file_name, e))?;
                Ok(match page {
                    Some(page) => {
                        state.img = Some((image.lsn(), Bytes::from(page)));
                        VisitResult::Complete
                    }
                    None => VisitResult::Missing,
                })
            }
        }
    }

    async fn get_values_reconstruct_data(
        &self,
        reads: &[(Key, LsnRange)],
    ) -> Result<Vec<(VisitResult, ValueReconstructState)>, Error> {
        match self.load().await? {
            ResidentLayer::Delta(delta) => {
                // strata-delta's vectored read takes one end LSN: one coalesced read per
                // distinct ceiling among the keys (one in the common case).
                let mut found = std::collections::BTreeMap::new();
                let ceilings: std::collections::BTreeSet<Lsn> =
                    reads.iter().map(|(_, r)| r.end).collect();
                for hi in ceilings {
                    let mut states = VectoredReconstructState::new();
                    let mut keyspace = Vec::new();
                    for &(key, range) in reads.iter().filter(|(_, r)| r.end == hi) {
                        if let Some(cached) = range.start.checked_sub(1) {
                            states.set_cached_lsn(key, cached);
                        }
                        keyspace.push(KeyRange::new(key, key.next()));
                    }
                    delta
                        .get_values_reconstruct_data(&keyspace, hi, &mut states)
                        .await
                        .map_err(|e| Error::from_delta(&self.file_name, e))?;
                    found.extend(states.into_keys());
                }
                Ok(reads
                    .iter()
                    .map(|(key, _)| match found.remove(key) {
                        Some(k) => (visit(k.result), k.state),
                        None => (VisitResult::Continue, ValueReconstructState::default()),
                    })
                    .collect())
            }
            ResidentLayer::Image(image) => {
                let ranges: Vec<KeyRange> = reads
                    .iter()
                    .map(|(k, _)| KeyRange::new(*k, k.next()))
                    .collect();
                let found = image
                    .get_vectored(&ranges)
                    .await
                    .map_err(|e| Error::from_image(&self.file_name, e))?;
                let mut found: std::collections::BTreeMap<Key, Vec<u8>> =
                    found.into_iter().collect();
                Ok(reads
                    .iter()
                    .map(|(key, _)| match found.remove(key) {
                        Some(page) => {
                            let state = ValueReconstructState {
                                records: Vec::new(),
                                img: Some((image.lsn(), Bytes::from(page))),
                            };
                            (VisitResult::Complete, state)
                        }
                        None => (VisitResult::Missing, ValueReconstructState::default()),
                    })
                    .collect())
            }
        }
    }
}
