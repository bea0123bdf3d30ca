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

use strata_blob::{FileTable, TableFile};
use strata_cache::{CachedReader, PageCache};
use strata_delta::{
    DeltaLayer, OpenOptions, Summary, ValueReconstructResult, ValueReconstructState,
    VectoredReconstructState,
};
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
        if !self.desc.is_delta {
            return Err(Error::Unsupported {
                layer: self.file_name.clone(),
                what: "image layers need strata-image, not merged yet",
            });
        }
        let layer =
            DeltaLayer::open_with(&self.path, &self.cache, &self.files, OpenOptions::default())
                .await
                .map_err(|e| match e {
                    strata_delta::Error::Blob(strata_blob::Error::Io(source)) => Error::LayerIo {
                        layer: self.file_name.clone(),
                        source,
                    },
                    e => Error::from_delta(&self.file_name, e),
                })?;
        self.check_summary(layer.summary())?;
        Ok(ResidentLayer::Delta(layer))
    }

    fn check_summary(&self, s: &Summary) -> Result<(), Error> {
        let ids_ok = self.ids.tenant_id.is_none_or(|t| t == s.tenant_id)
            && self.ids.timeline_id.is_none_or(|t| t == s.timeline_id);
        if ids_ok && s.key_range == self.desc.key_range && s.lsn_range == self.desc.lsn_range {
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
                actual: show(
                    Some(s.tenant_id),
                    Some(s.timeline_id),
                    s.key_range,
                    s.lsn_range,
                ),
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
        }
    }
}

fn visit(result: ValueReconstructResult) -> VisitResult {
    match result {
        ValueReconstructResult::Complete => VisitResult::Complete,
        ValueReconstructResult::Continue => VisitResult::Continue,
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
        }
    }

    async fn get_values_reconstruct_data(
        &self,
        keys: &[(Key, Lsn)],
        hi: Lsn,
    ) -> Result<Vec<(VisitResult, ValueReconstructState)>, Error> {
        match self.load().await? {
            ResidentLayer::Delta(delta) => {
                let mut states = VectoredReconstructState::new();
                let mut keyspace = Vec::with_capacity(keys.len());
                for &(key, lo) in keys {
                    if let Some(cached) = lo.checked_sub(1) {
                        states.set_cached_lsn(key, cached);
                    }
                    keyspace.push(KeyRange::new(key, key.next()));
                }
                delta
                    .get_values_reconstruct_data(&keyspace, hi, &mut states)
                    .await
                    .map_err(|e| Error::from_delta(&self.file_name, e))?;
                let mut found = states.into_keys();
                Ok(keys
                    .iter()
                    .map(|(key, _)| match found.remove(key) {
                        Some(k) => (visit(k.result), k.state),
                        None => (VisitResult::Continue, ValueReconstructState::default()),
                    })
                    .collect())
            }
        }
    }
}
