//! Test support: writing timeline directories with `DeltaLayerWriter`, a model of the pages
//! (newest image at or below the LSN, then the later records applied with `apply_neon`), and
//! opening a timeline with the workload's ids.

use std::collections::BTreeMap;
use std::path::Path;

use bytes::Bytes;
use strata_blob::FileTable;
use strata_cache::PageCache;
use strata_delta::{DeltaLayerWriter, NeonWalRecord, Value, WORKLOAD_TENANT, WORKLOAD_TIMELINE};
use strata_image::ImageLayerWriter;
use strata_key::{Key, KeyRange, Lsn, LsnRange};
use strata_timeline::{Timeline, TimelineIds, TimelineOptions, apply_neon};

/// Every (key, LSN) → value of a timeline.
pub type Entries = BTreeMap<(Key, Lsn), Value>;

/// Bytes of the test pages (enough for the visibility-map bits the records clear).
pub const PAGE_LEN: usize = 64;

/// The visibility-map key of block `blkno` of one relation.
pub fn vm_key(blkno: u32) -> Key {
    Key {
        field1: 0,
        field2: 1663,
        field3: 5,
        field4: 16384,
        field5: 2,
        field6: blkno,
    }
}

/// A record clearing `flags` of heap block `x` (< 160) of VM page `blkno`.
pub fn clear(blkno: u32, x: u32, flags: u8) -> Value {
    Value::WalRecord(NeonWalRecord::ClearVisibilityMapFlags {
        new_heap_blkno: Some(blkno * 32672 + x),
        old_heap_blkno: None,
        flags,
    })
}

/// A page image filled with `byte`.
pub fn image(byte: u8) -> Value {
    Value::Image(Bytes::from(vec![byte; PAGE_LEN]))
}

/// Writes the entries of `entries` inside `keys` × `lsns` as one delta layer in `dir`;
/// `None` when there are none (a delta layer cannot be empty). Returns the file name.
pub fn write_delta(
    dir: &Path,
    entries: &Entries,
    keys: KeyRange,
    lsns: LsnRange,
) -> Option<String> {
    let inside: Vec<_> = entries
        .iter()
        .filter(|((k, l), _)| keys.contains(k) && lsns.contains(*l))
        .collect();
    if inside.is_empty() {
        return None;
    }
    let mut w =
        DeltaLayerWriter::new(dir, WORKLOAD_TENANT, WORKLOAD_TIMELINE, keys.start, lsns).unwrap();
    for ((k, l), v) in inside {
        w.put_value(*k, *l, v).unwrap();
    }
    Some(w.finish(keys.end).unwrap().file_name)
}

/// Writes `pages` (sorted by key, inside `keys`) as an image layer at `lsn` in `dir`; `None`
/// when there are none. Returns the file name.
pub fn write_image(dir: &Path, keys: KeyRange, lsn: Lsn, pages: &[(Key, Bytes)]) -> Option<String> {
    if pages.is_empty() {
        return None;
    }
    let mut w = ImageLayerWriter::new(dir, WORKLOAD_TENANT, WORKLOAD_TIMELINE, keys, lsn).unwrap();
    for (key, page) in pages {
        w.put_image(*key, page).unwrap();
    }
    Some(w.finish().unwrap().file_name)
}

/// The options every test opens with: the workload's ids.
pub fn options() -> TimelineOptions {
    TimelineOptions {
        ids: Some(TimelineIds {
            tenant_id: Some(WORKLOAD_TENANT),
            timeline_id: Some(WORKLOAD_TIMELINE),
        }),
        ..TimelineOptions::default()
    }
}

/// Opens `dir` with [`options`].
pub fn open(dir: &Path) -> Timeline {
    Timeline::open(dir, &FileTable::new(8), &PageCache::new(256), options()).unwrap()
}

/// The model's page of `key` at `lsn`: `None` when there is no image at or below it.
pub fn model_page(entries: &Entries, key: Key, lsn: Lsn) -> Option<Bytes> {
    let history: Vec<_> = entries.range((key, Lsn(0))..=(key, lsn)).collect();
    let base = history
        .iter()
        .rposition(|(_, v)| matches!(v, Value::Image(_)))?;
    let Value::Image(img) = history[base].1 else {
        unreachable!()
    };
    let mut page = img.to_vec();
    for ((_, l), v) in &history[base + 1..] {
        let Value::WalRecord(rec) = v else {
            unreachable!()
        };
        apply_neon(key, *l, rec, &mut page).unwrap();
    }
    Some(Bytes::from(page))
}
