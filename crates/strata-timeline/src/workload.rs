//! The timeline workload: a timeline directory in the standard workload's shape (WORKLOAD.md:
//! its keys, ids, image size and record sizes, its splitmix64 stream) spread over layers, so
//! that a page read crosses many of them: an image layer of page images at `0x1000000`, then
//! `n_deltas` L0 deltas, each holding one record for every key.
//!
//! Invariants: the output is a pure function of [`TimelineWorkload`]; [`expected_history`]
//! says what a read of any key at any LSN must collect, so benchmarks and tests check every
//! answer. [`write_single_layer_workload`] writes the same entries into one delta layer, the
//! reference a many-layer read is measured against.

use std::path::Path;

use bytes::Bytes;
use strata_delta::{
    DeltaLayerWriter, NeonWalRecord, SplitMix64, Value, WORKLOAD_LSN_BASE, WORKLOAD_LSN_STEP,
    WORKLOAD_TENANT, WORKLOAD_TIMELINE, workload_key,
};
use strata_image::ImageLayerWriter;
use strata_key::{Key, KeyRange, Lsn, LsnRange};

use crate::error::Error;

/// The shape of a timeline workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelineWorkload {
    /// Number of keys K (`workload_key(0..K)`).
    pub keys: u64,
    /// Number of L0 deltas above the images; each holds one record per key.
    pub n_deltas: u64,
    /// Image size S in bytes.
    pub image_size: usize,
    /// Neon's own records (ClearVisibilityMapFlags, so redo can make the pages) instead of
    /// the standard workload's Postgres records.
    pub neon_records: bool,
    /// Seed of the data stream.
    pub seed: u64,
}

impl Default for TimelineWorkload {
    /// 1 000 keys, 10 deltas, 8 KiB images, Postgres records, seed 42.
    fn default() -> TimelineWorkload {
        TimelineWorkload {
            keys: 1000,
            n_deltas: 10,
            image_size: 8192,
            neon_records: false,
            seed: 42,
        }
    }
}

impl TimelineWorkload {
    /// Key `k`: the standard workload's key, on the visibility-map fork for Neon records.
    pub fn key(&self, k: u64) -> Key {
        let key = workload_key(k);
        if self.neon_records {
            Key { field5: 2, ..key }
        } else {
            key
        }
    }

    /// The LSN of the images.
    pub fn image_lsn(&self) -> Lsn {
        Lsn(WORKLOAD_LSN_BASE)
    }

    /// The LSN of key `k`'s record in delta `d`.
    pub fn record_lsn(&self, d: u64, k: u64) -> Lsn {
        Lsn(WORKLOAD_LSN_BASE + (1 + d * self.keys + k) * WORKLOAD_LSN_STEP)
    }

    /// The LSN range of delta `d`.
    pub fn delta_lsn_range(&self, d: u64) -> LsnRange {
        let start = if d == 0 {
            WORKLOAD_LSN_BASE + 1
        } else {
            self.record_lsn(d, 0).0
        };
        LsnRange::new(Lsn(start), Lsn(self.record_lsn(d + 1, 0).0))
    }

    /// The last LSN holding data.
    pub fn last_lsn(&self) -> Lsn {
        Lsn(self.record_lsn(self.n_deltas, 0).0 - WORKLOAD_LSN_STEP)
    }
}

/// One layer of the workload: its LSN range and its entries, sorted by key then LSN.
pub type WorkloadLayer = (LsnRange, Vec<(Key, Lsn, Value)>);

/// The workload's layers, oldest first.
pub fn workload_layers(w: &TimelineWorkload) -> Vec<WorkloadLayer> {
    let mut rng = SplitMix64::new(w.seed);
    let base = w.image_lsn();
    let images = (0..w.keys)
        .map(|k| {
            (
                w.key(k),
                base,
                Value::Image(Bytes::from(rng.bytes(w.image_size))),
            )
        })
        .collect();
    let mut layers = vec![(LsnRange::new(base, Lsn(base.0 + 1)), images)];
    for d in 0..w.n_deltas {
        let records = (0..w.keys)
            .map(|k| {
                let value = Value::WalRecord(record(w, &mut rng, d, k));
                (w.key(k), w.record_lsn(d, k), value)
            })
            .collect();
        layers.push((w.delta_lsn_range(d), records));
    }
    layers
}

/// Writes the workload into `dir` (which must exist): the images as one image layer, then one
/// L0 delta per further layer of [`workload_layers`]; returns the file names, oldest first.
pub fn write_timeline_workload(dir: &Path, w: &TimelineWorkload) -> Result<Vec<String>, Error> {
    let mut layers = workload_layers(w).into_iter();
    let mut names = Vec::new();
    if let Some((_, images)) = layers.next() {
        names.push(write_images(dir, w, &images)?);
    }
    for (lsns, entries) in layers {
        names.push(write_l0(dir, lsns, &entries)?);
    }
    Ok(names)
}

fn write_images(
    dir: &Path,
    w: &TimelineWorkload,
    images: &[(Key, Lsn, Value)],
) -> Result<String, Error> {
    let map = |e: strata_image::Error| Error::from_image("(timeline workload writer)", e);
    let (Some(first), Some(last)) = (images.first(), images.last()) else {
        return Err(Error::Unsupported {
            layer: "(timeline workload writer)".into(),
            what: "a workload needs at least one key",
        });
    };
    let keys = KeyRange::new(first.0, last.0.next());
    let mut writer =
        ImageLayerWriter::new(dir, WORKLOAD_TENANT, WORKLOAD_TIMELINE, keys, w.image_lsn())
            .map_err(map)?;
    for (key, _, value) in images {
        if let Value::Image(img) = value {
            writer.put_image(*key, img).map_err(map)?;
        }
    }
    Ok(writer.finish().map_err(map)?.file_name)
}

/// Writes the same entries as [`write_timeline_workload`] into ONE delta layer (the reference
/// a many-layer read is compared with); returns its file name.
pub fn write_single_layer_workload(dir: &Path, w: &TimelineWorkload) -> Result<String, Error> {
    let mut entries: Vec<_> = workload_layers(w)
        .into_iter()
        .flat_map(|(_, e)| e)
        .collect();
    entries.sort_by_key(|(k, l, _)| (*k, *l));
    let lsns = LsnRange::new(w.image_lsn(), Lsn(w.last_lsn().0 + 1));
    write_l0(dir, lsns, &entries)
}

fn write_l0(dir: &Path, lsns: LsnRange, entries: &[(Key, Lsn, Value)]) -> Result<String, Error> {
    let map = |e: strata_delta::Error| Error::from_delta("(timeline workload writer)", e);
    let mut writer = DeltaLayerWriter::new(dir, WORKLOAD_TENANT, WORKLOAD_TIMELINE, Key::MIN, lsns)
        .map_err(map)?;
    for (key, lsn, value) in entries {
        writer.put_value(*key, *lsn, value).map_err(map)?;
    }
    Ok(writer.finish(Key::MAX).map_err(map)?.file_name)
}

fn record(w: &TimelineWorkload, rng: &mut SplitMix64, d: u64, k: u64) -> NeonWalRecord {
    if w.neon_records {
        // A heap block of this VM page (32672 heap blocks per page), a different one per delta.
        let heap_blkno = w.key(k).field6 * 32672 + (d % 32672) as u32;
        NeonWalRecord::ClearVisibilityMapFlags {
            new_heap_blkno: Some(heap_blkno),
            old_heap_blkno: None,
            flags: 0x01,
        }
    } else {
        let len = 64 + rng.below(193) as usize;
        NeonWalRecord::Postgres {
            will_init: false,
            rec: Bytes::from(rng.bytes(len)),
        }
    }
}

/// What a read of key `k` at `lsn` must collect: (image LSN, record LSNs oldest first), or
/// `None` below the images.
pub fn expected_history(w: &TimelineWorkload, k: u64, lsn: Lsn) -> Option<(Lsn, Vec<Lsn>)> {
    if lsn < w.image_lsn() {
        return None;
    }
    let records = (0..w.n_deltas)
        .map(|d| w.record_lsn(d, k))
        .filter(|l| *l <= lsn)
        .collect();
    Some((w.image_lsn(), records))
}
