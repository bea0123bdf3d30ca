//! The standard workload's operations (WORKLOAD.md), timed: write, point lookups, single-version
//! reads, vectored reads and full scans. `demo` and `bench` both run these.
//!
//! Invariants: every read checks its answer against what the workload wrote and fails with
//! [`CheckFailed`] otherwise, so a fast wrong reader cannot produce a figure. Only the operation
//! itself is inside a timer: data generation, progress-bar updates and answer checks of the write
//! are outside it (see [`write_workload`]).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::ProgressBar;
use strata_blob::{BlockReader, FileTable, TableFile};
use strata_cache::{CachedReader, PageCache, PageCacheOptions};
use strata_delta::workload::{SplitMix64, WORKLOAD_TENANT, WORKLOAD_TIMELINE, WorkloadParams};
use strata_delta::{
    DeltaLayer, DeltaLayerWriter, LayerDesc, ValueReconstructResult, ValueReconstructState,
};
use strata_key::{KeyRange, Lsn, LsnRange};

use crate::error::CheckFailed;

/// Operations between progress-bar updates.
const PROGRESS_STEP: u64 = 4096;
/// Entries generated per batch outside the write timer.
const WRITE_BATCH: usize = 1024;
/// Consecutive keys per vectored read.
pub const VECTORED_KEYS: u64 = 32;
/// Stream seed modifier of the timed lookups (WORKLOAD.md: "LOOKUP").
pub const LOOKUP_STREAM: u64 = 0x4C4F_4F4B_5550_0000;
/// Stream seed modifier of the warm-up lookups (WORKLOAD.md: "WARMUP").
pub const WARMUP_STREAM: u64 = 0x5741_524D_5550_0000;

/// A delta layer opened from a file through its own page cache and open-file table.
pub struct LayerSession {
    /// The page cache the layer reads through.
    pub cache: PageCache,
    /// The open-file table holding the layer's file (kept as long as the layer).
    _files: FileTable,
    /// The layer.
    pub layer: DeltaLayer<CachedReader<TableFile>>,
}

/// Fails with an I/O error (exit code 2) saying so when `path` is a directory, which the
/// library would otherwise read as an empty and so corrupt layer file. Other problems (a
/// missing file, no permission) are left to the open that follows, which reports them.
pub fn reject_directory(path: &Path) -> std::io::Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            format!("{} is a directory, not a layer file", path.display()),
        )),
        _ => Ok(()),
    }
}

/// The page cache's memory choices a benchmark compares ([`PageCacheOptions`]' fields of the
/// same names; both on by default).
#[derive(Clone, Copy, Debug)]
pub struct CacheFlags {
    /// Pages in 2 MiB huge pages.
    pub huge_pages: bool,
    /// Large values lent as slices of the cached pages, not copied.
    pub lend_pages: bool,
}

impl Default for CacheFlags {
    fn default() -> CacheFlags {
        CacheFlags {
            huge_pages: true,
            lend_pages: true,
        }
    }
}

impl LayerSession {
    /// Opens `path` with a fresh page cache of `cache_blocks` slots.
    pub async fn open(path: &Path, cache_blocks: u64) -> anyhow::Result<LayerSession> {
        LayerSession::open_with(path, cache_blocks, CacheFlags::default()).await
    }

    /// As [`LayerSession::open`], with the cache's memory choices `flags`.
    pub async fn open_with(
        path: &Path,
        cache_blocks: u64,
        flags: CacheFlags,
    ) -> anyhow::Result<LayerSession> {
        reject_directory(path)?;
        let cache = PageCache::with_options(PageCacheOptions {
            n_slots: usize::try_from(cache_blocks.max(1)).unwrap_or(usize::MAX),
            huge_pages: flags.huge_pages,
            lend_pages: flags.lend_pages,
            ..PageCacheOptions::default()
        });
        let files = FileTable::new(4);
        let layer = DeltaLayer::open(path, &cache, &files)
            .await
            .with_context(|| format!("opening {}", path.display()))?;
        tracing::debug!(
            "opened {} with a page cache of {cache_blocks} blocks: {:?}",
            path.display(),
            layer.summary()
        );
        Ok(LayerSession {
            cache,
            _files: files,
            layer,
        })
    }

    /// Fraction of block reads the page cache served so far (0 before any read).
    pub fn hit_rate(&self) -> f64 {
        let m = self.cache.metrics();
        let total = m.hits + m.misses;
        if total == 0 {
            0.0
        } else {
            m.hits as f64 / total as f64
        }
    }
}

/// What a timed operation did and how long it took.
#[derive(Debug, Clone, Copy)]
pub struct Timed {
    /// Units of work (entries, lookups, keys).
    pub n: u64,
    /// Bytes moved (file bytes written, value bytes read).
    pub bytes: u64,
    /// Time inside the timer.
    pub elapsed: Duration,
}

impl Timed {
    /// Units per second.
    pub fn per_s(&self) -> f64 {
        self.n as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// MB (10^6 bytes) per second.
    pub fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Writes the standard workload into `dir`.
///
/// Timing (WORKLOAD.md): the timer covers writer creation, every `put_value` and `finish`
/// (index, summary, fsync, rename). The values are generated in batches of [`WRITE_BATCH`]
/// entries while the timer is stopped, so generation is not timed and memory stays small.
pub fn write_workload(
    params: &WorkloadParams,
    dir: &Path,
    bar: &ProgressBar,
) -> anyhow::Result<(LayerDesc, Timed)> {
    let key_range = params.key_range();
    let mut entries = params.entries();
    let mut batch = Vec::with_capacity(WRITE_BATCH);
    let mut elapsed = Duration::ZERO;

    let start = Instant::now();
    let mut writer = DeltaLayerWriter::new(
        dir,
        WORKLOAD_TENANT,
        WORKLOAD_TIMELINE,
        key_range.start,
        params.lsn_range(),
    )
    .with_context(|| format!("creating a layer writer in {}", dir.display()))?;
    elapsed += start.elapsed();
    loop {
        batch.clear();
        batch.extend(entries.by_ref().take(WRITE_BATCH));
        if batch.is_empty() {
            break;
        }
        let start = Instant::now();
        for (key, lsn, value) in &batch {
            writer.put_value(*key, *lsn, value)?;
        }
        elapsed += start.elapsed();
        bar.inc(batch.len() as u64);
    }
    let start = Instant::now();
    let desc = writer.finish(key_range.end)?;
    elapsed += start.elapsed();
    tracing::info!(
        "wrote {} entries, {} bytes in {:.3} s (timed part) to {}",
        desc.n_entries,
        desc.file_size,
        elapsed.as_secs_f64(),
        desc.path.display()
    );
    let timed = Timed {
        n: desc.n_entries,
        bytes: desc.file_size,
        elapsed,
    };
    Ok((desc, timed))
}

/// `n` point reads of page history (WORKLOAD.md "lookup"): read i asks for key(k) over
/// `lsn(0,0) .. lsn(k,j)+1` with k, j drawn from `splitmix64(seed ^ stream)`, and must get a
/// Complete answer with the image and exactly j records.
pub async fn point_lookups<R: BlockReader>(
    layer: &DeltaLayer<R>,
    params: &WorkloadParams,
    n: u64,
    stream: u64,
    bar: &ProgressBar,
) -> anyhow::Result<Timed> {
    let mut q = SplitMix64::new(params.seed ^ stream);
    let first_lsn = strata_delta::workload::workload_lsn(params, 0, 0);
    let mut state = ValueReconstructState::default();
    let start = Instant::now();
    for i in 0..n {
        let k = q.below(params.keys);
        let j = q.below(params.records + 1);
        let key = strata_delta::workload::workload_key(k);
        let lsn = strata_delta::workload::workload_lsn(params, k, j);
        state.records.clear();
        state.img = None;
        let range = LsnRange::new(first_lsn, Lsn(lsn.0 + 1));
        let result = layer
            .get_value_reconstruct_data(key, range, &mut state)
            .await?;
        let image_lsn = state.img.as_ref().map(|(lsn, _)| *lsn);
        if !matches!(result, ValueReconstructResult::Complete)
            || image_lsn != Some(strata_delta::workload::workload_lsn(params, k, 0))
            || state.records.len() as u64 != j
        {
            return Err(CheckFailed(format!(
                "lookup of key {key} at {}: {result:?}, image {image_lsn:?}, {} records (expected Complete, an image, {j} records)",
                lsn.to_hex16(),
                state.records.len()
            ))
            .into());
        }
        if i % PROGRESS_STEP == PROGRESS_STEP - 1 {
            bar.inc(PROGRESS_STEP);
        }
    }
    let elapsed = start.elapsed();
    bar.inc(n % PROGRESS_STEP);
    Ok(Timed {
        n,
        bytes: 0,
        elapsed,
    })
}

/// `n` single-version reads: for (k, j) drawn like [`point_lookups`], the newest version of
/// key(k) at or below lsn(k, j), found with one backwards index visit and read and decoded
/// alone; it must be the entry written at lsn(k, j).
pub async fn get_latest<R: BlockReader>(
    layer: &DeltaLayer<R>,
    params: &WorkloadParams,
    n: u64,
    stream: u64,
    bar: &ProgressBar,
) -> anyhow::Result<Timed> {
    let mut q = SplitMix64::new(params.seed ^ stream);
    let start = Instant::now();
    for i in 0..n {
        let k = q.below(params.keys);
        let j = q.below(params.records + 1);
        let key = strata_delta::workload::workload_key(k);
        let lsn = strata_delta::workload::workload_lsn(params, k, j);
        let found = layer.get_latest(key, lsn).await?;
        let ok = match &found {
            Some((found_lsn, value)) => *found_lsn == lsn && (j == 0) == value.will_init(),
            None => false,
        };
        if !ok {
            return Err(CheckFailed(format!(
                "newest version of {key} at or below {}: got {:?}",
                lsn.to_hex16(),
                found.map(|(l, v)| (l.to_hex16(), v.kind_name()))
            ))
            .into());
        }
        if i % PROGRESS_STEP == PROGRESS_STEP - 1 {
            bar.inc(PROGRESS_STEP);
        }
    }
    let elapsed = start.elapsed();
    bar.inc(n % PROGRESS_STEP);
    Ok(Timed {
        n,
        bytes: 0,
        elapsed,
    })
}

/// Reads every entry in index order, loading and decoding each value (the compaction read
/// pattern, the value area read sequentially). `bytes` counts the value area read (each
/// entry's on-disk size).
pub async fn scan<R: BlockReader>(
    layer: &DeltaLayer<R>,
    bar: &ProgressBar,
) -> anyhow::Result<Timed> {
    let start = Instant::now();
    let mut n = 0u64;
    let mut bytes = 0u64;
    let mut iter = layer.iter();
    while let Some(entry) = iter.next().await {
        let entry = entry?;
        let value = iter.load_value(&entry).await?;
        if value.will_init() != entry.blob_ref.will_init() {
            return Err(CheckFailed(format!(
                "entry {} @ {}: will_init bit disagrees with the value",
                entry.key,
                entry.lsn.to_hex16()
            ))
            .into());
        }
        bytes += entry.size;
        n += 1;
        if n % PROGRESS_STEP == 0 {
            bar.inc(PROGRESS_STEP);
        }
    }
    let elapsed = start.elapsed();
    bar.inc(n % PROGRESS_STEP);
    Ok(Timed { n, bytes, elapsed })
}

/// Vectored reads of the whole key range, [`VECTORED_KEYS`] consecutive keys at a time, at the
/// end of the layer's LSN range; every key must come back Complete with its image and all R
/// records. `n` counts keys, `bytes` the image and record bytes returned.
pub async fn vectored_reads<R: BlockReader>(
    layer: &DeltaLayer<R>,
    params: &WorkloadParams,
    bar: &ProgressBar,
) -> anyhow::Result<Timed> {
    let end_lsn = layer.summary().lsn_range.end;
    let mut bytes = 0u64;
    let start = Instant::now();
    let mut k = 0u64;
    let keys = params.keys;
    while k < keys {
        let last = (k + VECTORED_KEYS).min(keys) - 1;
        let range = KeyRange::new(
            strata_delta::workload::workload_key(k),
            strata_delta::workload::workload_key(last).next(),
        );
        let mut states = strata_delta::VectoredReconstructState::new();
        layer
            .get_values_reconstruct_data(&[range], end_lsn, &mut states)
            .await?;
        for kk in k..=last {
            let key = strata_delta::workload::workload_key(kk);
            let found = states.get(&key).ok_or_else(|| {
                CheckFailed(format!("vectored read returned nothing for key {key}"))
            })?;
            let state = &found.state;
            let image_ok = state.img.as_ref().map(|(lsn, _)| *lsn)
                == Some(strata_delta::workload::workload_lsn(params, kk, 0));
            if found.result != ValueReconstructResult::Complete
                || !image_ok
                || state.records.len() as u64 != params.records
            {
                return Err(CheckFailed(format!(
                    "vectored read of key {key}: expected the image and {} records, got {} records",
                    params.records,
                    state.records.len()
                ))
                .into());
            }
            bytes += state.img.as_ref().map_or(0, |(_, b)| b.len() as u64);
            bytes += state
                .records
                .iter()
                .map(|(_, r)| record_len(r))
                .sum::<u64>();
        }
        bar.inc(last + 1 - k);
        k = last + 1;
    }
    let elapsed = start.elapsed();
    Ok(Timed {
        n: keys,
        bytes,
        elapsed,
    })
}

/// The payload length of a Postgres WAL record (0 for other kinds, which the workload never
/// writes).
fn record_len(rec: &strata_delta::NeonWalRecord) -> u64 {
    match rec {
        strata_delta::NeonWalRecord::Postgres { rec, .. } => rec.len() as u64,
        _ => 0,
    }
}

/// Peak resident memory of this process in MB (10^6 bytes), from `VmHWM` of
/// `/proc/self/status`; `None` where that is not available.
pub fn max_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0 / 1e6)
}
