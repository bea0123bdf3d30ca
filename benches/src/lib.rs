//! Whole-workload benchmarks of Strata (`benches/workload.rs`, groups `workload/<op>`): the
//! standard workload of WORKLOAD.md at a small size, written, point-read and scanned through the
//! public APIs of `strata-delta`. This library holds the pieces the benchmarks share.
//!
//! Invariant: every read checks its answer against what the workload wrote, so a benchmark of a
//! wrong reader fails instead of reporting a figure.

use std::path::Path;

use anyhow::{Context, ensure};
use strata_blob::BlockReader;
use strata_delta::workload::{SplitMix64, WORKLOAD_TENANT, WORKLOAD_TIMELINE, WorkloadParams};
use strata_delta::{
    DeltaLayer, DeltaLayerWriter, LayerDesc, Value, ValueReconstructResult, ValueReconstructState,
};
use strata_key::{Key, Lsn, LsnRange};

/// Stream seed modifier of the timed lookups (WORKLOAD.md).
pub const LOOKUP_STREAM: u64 = 0x4C4F_4F4B_5550_0000;

/// The benchmark size: the standard workload with 1000 keys (11 000 entries, about 10 MB).
pub fn small_params() -> WorkloadParams {
    WorkloadParams {
        keys: 1000,
        ..WorkloadParams::default()
    }
}

/// One entry of the workload, generated ahead of a timed write.
pub type Entry = (Key, Lsn, Value);

/// Every entry of the workload, in write order (held in memory: for benchmark sizes only).
pub fn generate(params: &WorkloadParams) -> Vec<Entry> {
    params.entries().collect()
}

/// Writes pre-generated `entries` of the workload `params` into `dir` (an existing file of the
/// same name is replaced, as Neon's writer does).
pub fn write(params: &WorkloadParams, entries: &[Entry], dir: &Path) -> anyhow::Result<LayerDesc> {
    let key_range = params.key_range();
    let mut writer = DeltaLayerWriter::new(
        dir,
        WORKLOAD_TENANT,
        WORKLOAD_TIMELINE,
        key_range.start,
        params.lsn_range(),
    )?;
    for (key, lsn, value) in entries {
        writer.put_value(*key, *lsn, value)?;
    }
    Ok(writer.finish(key_range.end)?)
}

/// A point read of page history and the number of WAL records its answer must hold.
#[derive(Debug, Clone, Copy)]
pub struct Lookup {
    /// The key read.
    pub key: Key,
    /// The LSN range read: the layer's start to just past the wanted version.
    pub lsn_range: LsnRange,
    /// The image's LSN.
    pub image_lsn: Lsn,
    /// The number of records expected with the image.
    pub n_records: usize,
}

/// The first `n` lookups of the workload's lookup stream (WORKLOAD.md): key(k) over
/// `lsn(0,0) .. lsn(k,j)+1`, expecting the image and j records.
pub fn lookups(params: &WorkloadParams, n: usize) -> Vec<Lookup> {
    let mut q = SplitMix64::new(params.seed ^ LOOKUP_STREAM);
    let first = strata_delta::workload::workload_lsn(params, 0, 0);
    (0..n)
        .map(|_| {
            let k = q.below(params.keys);
            let j = q.below(params.records + 1);
            let end = strata_delta::workload::workload_lsn(params, k, j);
            Lookup {
                key: strata_delta::workload::workload_key(k),
                lsn_range: LsnRange::new(first, Lsn(end.0 + 1)),
                image_lsn: strata_delta::workload::workload_lsn(params, k, 0),
                n_records: j as usize,
            }
        })
        .collect()
}

/// Runs one lookup and checks its answer.
pub async fn lookup<R: BlockReader>(layer: &DeltaLayer<R>, l: &Lookup) -> anyhow::Result<()> {
    let mut state = ValueReconstructState::default();
    let result = layer
        .get_value_reconstruct_data(l.key, l.lsn_range, &mut state)
        .await?;
    ensure!(
        matches!(result, ValueReconstructResult::Complete)
            && state.img.as_ref().map(|(lsn, _)| *lsn) == Some(l.image_lsn)
            && state.records.len() == l.n_records,
        "wrong answer for {l:?}: {result:?} with {} records",
        state.records.len()
    );
    Ok(())
}

/// Reads and decodes every value in index order; returns the bytes of the serialized values.
pub async fn scan<R: BlockReader>(layer: &DeltaLayer<R>) -> anyhow::Result<u64> {
    let mut iter = layer.iter();
    let mut buf = Vec::new();
    let mut bytes = 0;
    while let Some(entry) = iter.next().await {
        let entry = entry?;
        buf.clear();
        entry.load_bytes(layer, &mut buf).await?;
        Value::decode(&buf).context("decoding a value")?;
        bytes += buf.len() as u64;
    }
    Ok(bytes)
}
