//! Helpers the image tests share: the golden cases' entries regenerated from their seeds, and
//! writing entries to a layer file.

use anyhow::{Context, Result, bail, ensure};
use strata_image::ImageLayerWriter;
use strata_key::{Key, KeyRange, Lsn};
use strata_layer::{LayerDesc, SplitMix64, WORKLOAD_TENANT, WORKLOAD_TIMELINE};
use strata_testkit::ImageManifest;

const PAGE: usize = 8192;

/// A layer's contents in key order.
pub type Entries = Vec<(Key, Vec<u8>)>;

/// The case's (key, image) entries: every image is `splitmix64(seed).bytes(len)` in entry
/// order (`golden-image/README`), checked against the manifest's hex or digest.
pub fn golden_entries(case: &str) -> Result<(ImageManifest, Entries)> {
    let m = ImageManifest::load(case);
    let mut da = SplitMix64::new(m.seed);
    let mut out = Vec::with_capacity(m.entries.len());
    for e in &m.entries {
        let img = da.bytes(usize::try_from(e.len)?);
        ensure!(
            e.payload.matches(&img),
            "{case}: image of {} differs from the manifest",
            e.key
        );
        out.push((e.key, img));
    }
    Ok((m, out))
}

/// Writes `entries` into a fresh layer in `dir` and returns what `finish` said.
pub fn write_layer(
    dir: &std::path::Path,
    key_range: KeyRange,
    lsn: Lsn,
    entries: &[(Key, Vec<u8>)],
) -> Result<LayerDesc> {
    let mut w = ImageLayerWriter::new(dir, WORKLOAD_TENANT, WORKLOAD_TIMELINE, key_range, lsn)?;
    for (key, img) in entries {
        w.put_image(*key, img)
            .with_context(|| format!("put_image({key})"))?;
    }
    Ok(w.finish()?)
}

/// Fails naming the first differing byte.
pub fn assert_same_file(case: &str, ours: &[u8], golden: &[u8]) -> Result<()> {
    for (blkno, (a, b)) in ours.chunks(PAGE).zip(golden.chunks(PAGE)).enumerate() {
        if let Some(i) = a.iter().zip(b).position(|(x, y)| x != y) {
            let offset = blkno * PAGE + i;
            bail!("{case}: first difference at offset {offset:#x} (block {blkno})");
        }
    }
    ensure!(
        ours.len() == golden.len(),
        "{case}: sizes differ: ours {} golden {}",
        ours.len(),
        golden.len()
    );
    Ok(())
}
