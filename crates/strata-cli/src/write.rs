//! The writing commands: `copy` (rewrite a layer entry by entry with Strata's writer) and
//! `workload` (write the standard workload).
//!
//! Invariants: `copy` hands the writer the stored serialized values unchanged
//! (`put_value_bytes` with the stored will_init bit) and the source's summary fields, so a file
//! Neon wrote comes out byte-identical; the new file's path is the last stdout line.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use strata_delta::workload::WorkloadParams;
use strata_delta::{DeltaLayerWriter, VALUE_AREA_OFFSET};

use crate::ops::{self, LayerSession};
use crate::progress;

/// Page-cache slots for `copy` (its reads are sequential runs that go around the cache).
const COPY_CACHE_BLOCKS: u64 = 256;

/// `strata copy FILE DIR`.
pub async fn copy(file: &Path, dir: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    anyhow::ensure!(dir.is_dir(), "{} is not a directory", dir.display());
    let s = LayerSession::open(file, COPY_CACHE_BLOCKS).await?;
    let summary = *s.layer.summary();
    let mut writer = DeltaLayerWriter::new(
        dir,
        summary.tenant_id,
        summary.timeline_id,
        summary.key_range.start,
        summary.lsn_range,
    )
    .with_context(|| format!("creating a layer writer in {}", dir.display()))?;
    let bar = progress::bar(s.layer.value_area_end() - VALUE_AREA_OFFSET, "copy");
    let mut iter = s.layer.iter();
    while let Some(entry) = iter.next().await {
        let entry = entry?;
        bar.inc(entry.size);
        let bytes = iter.load_bytes(&entry).await?;
        writer
            .put_value_bytes(entry.key, entry.lsn, &bytes, entry.blob_ref.will_init())
            .with_context(|| format!("writing {} @ {}", entry.key, entry.lsn.to_hex16()))?;
    }
    let desc = writer.finish(summary.key_range.end)?;
    bar.finish_and_clear();
    tracing::info!(
        "copied {} entries ({} bytes) to {}",
        desc.n_entries,
        desc.file_size,
        desc.path.display()
    );
    writeln!(out, "{}", desc.path.display())?;
    Ok(())
}

/// `strata workload [...] DIR`: writes the standard workload and prints the file's path.
pub fn workload(params: WorkloadParams, dir: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    anyhow::ensure!(params.keys > 0, "--keys must be at least 1");
    anyhow::ensure!(dir.is_dir(), "{} is not a directory", dir.display());
    let bar = progress::bar(params.n_entries(), "write");
    let (desc, _) = ops::write_workload(&params, dir, &bar)?;
    bar.finish_and_clear();
    writeln!(out, "{}", desc.path.display())?;
    Ok(())
}
