//! Write-then-read against a model: random entry sets are written with `DeltaLayerWriter` and
//! read back through the production path (file table + a small page cache). Full iteration
//! must equal the sorted `Vec` model; point lookups must equal a straightforward model of
//! Neon's history walk; vectored lookups must equal per-key lookups (and the model); the file
//! must verify clean and its manifest must list the model's entries.

use std::collections::BTreeMap;

use bytes::Bytes;
use proptest::prelude::*;
use strata_blob::FileTable;
use strata_cache::PageCache;
use strata_delta::{
    DeltaLayer, DeltaLayerWriter, NeonWalRecord, Value, ValueReconstructResult,
    ValueReconstructState, VectoredReconstructState, write_manifest,
};
use strata_key::{Key, KeyRange, Lsn, LsnRange, TenantId, TimelineId};

type Model = BTreeMap<(Key, Lsn), Value>;

fn key_strategy() -> impl Strategy<Value = Key> {
    // A small key space: several versions per key, relation boundaries, prefix compression.
    (0u8..2, 0u32..3, 0u32..60).prop_map(|(field1, field4, field6)| Key {
        field1,
        field2: 1663,
        field3: 16384,
        field4: 16385 + field4,
        field5: 0,
        field6,
    })
}

fn bytes_strategy(max: usize) -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn value_strategy() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => bytes_strategy(200).prop_map(Value::Image),
        1 => (8100usize..8300).prop_map(|n| Value::Image(Bytes::from(vec![0xA5; n]))),
        6 => (any::<bool>(), bytes_strategy(300)).prop_map(|(will_init, rec)| {
            Value::WalRecord(NeonWalRecord::Postgres { will_init, rec })
        }),
        1 => (any::<Option<u32>>(), any::<Option<u32>>(), any::<u8>()).prop_map(|(n, o, flags)| {
            Value::WalRecord(NeonWalRecord::ClearVisibilityMapFlags {
                new_heap_blkno: n,
                old_heap_blkno: o,
                flags,
            })
        }),
        1 => prop::collection::vec(any::<u32>(), 0..20).prop_map(|xids| {
            Value::WalRecord(NeonWalRecord::ClogSetAborted { xids })
        }),
        1 => ("[a-z/]{0,20}", prop::option::of(bytes_strategy(50))).prop_map(|(file_path, content)| {
            Value::WalRecord(NeonWalRecord::AuxFile { file_path, content })
        }),
    ]
}

fn model_strategy() -> impl Strategy<Value = Model> {
    let entry = || (key_strategy(), 0x100u64..0x400, value_strategy());
    prop_oneof![
        4 => prop::collection::vec(entry(), 1..60),
        1 => prop::collection::vec(entry(), 300..1200),
    ]
    .prop_map(|entries| {
        entries
            .into_iter()
            .map(|(key, lsn, value)| ((key, Lsn(lsn)), value))
            .collect()
    })
}

/// A lookup: a key (index into the model's keys, or a neighbour) and an LSN range.
fn query_strategy() -> impl Strategy<Value = (prop::sample::Index, u8, u64, u64)> {
    (
        any::<prop::sample::Index>(),
        0u8..4,
        0u64..0x420,
        0u64..0x420,
    )
}

/// The model of Neon's walk: the key's versions in `range`, newest first, up to and
/// including an image or a will_init record.
fn model_lookup(
    model: &Model,
    key: Key,
    range: LsnRange,
) -> (ValueReconstructResult, ValueReconstructState) {
    let mut state = ValueReconstructState::default();
    if range.start >= range.end {
        return (ValueReconstructResult::Continue, state);
    }
    for ((_, lsn), value) in model.range((key, range.start)..(key, range.end)).rev() {
        match value {
            Value::Image(img) => {
                state.img = Some((*lsn, img.clone()));
                return (ValueReconstructResult::Complete, state);
            }
            Value::WalRecord(rec) => {
                state.records.push((*lsn, rec.clone()));
                if rec.will_init() {
                    return (ValueReconstructResult::Complete, state);
                }
            }
        }
    }
    (ValueReconstructResult::Continue, state)
}

fn write(dir: &std::path::Path, model: &Model) -> std::path::PathBuf {
    let first = model.keys().next().unwrap().0;
    let last = model.keys().next_back().unwrap().0;
    let lsn_min = model.keys().map(|(_, l)| *l).min().unwrap();
    let lsn_max = model.keys().map(|(_, l)| *l).max().unwrap();
    let mut writer = DeltaLayerWriter::new(
        dir,
        TenantId([1; 16]),
        TimelineId([2; 16]),
        first,
        LsnRange::new(lsn_min, Lsn(lsn_max.0 + 1)),
    )
    .unwrap();
    for ((key, lsn), value) in model {
        writer.put_value(*key, *lsn, value).unwrap();
    }
    writer.finish(last.next()).unwrap().path
}

fn check(
    model: Model,
    queries: Vec<(prop::sample::Index, u8, u64, u64)>,
) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), &model);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let cache = PageCache::new(16);
        let files = FileTable::new(2);
        let layer = DeltaLayer::open(&path, &cache, &files).await.unwrap();
        prop_assert!(layer.verify().await.unwrap().is_empty());

        // Full iteration equals the model, values included.
        let mut iter = layer.iter();
        let mut expected = model.iter();
        while let Some(entry) = iter.next().await {
            let entry = entry.unwrap();
            let ((key, lsn), value) = expected.next().expect("more entries than the model");
            prop_assert_eq!((entry.key, entry.lsn), (*key, *lsn));
            prop_assert_eq!(entry.blob_ref.will_init(), value.will_init());
            prop_assert_eq!(&iter.load_value(&entry).await.unwrap(), value);
            prop_assert_eq!(&entry.load_value(&layer).await.unwrap(), value);
        }
        prop_assert!(expected.next().is_none(), "fewer entries than the model");
        let sizes: u64 = layer
            .load_keys()
            .await
            .unwrap()
            .iter()
            .map(|e| e.size)
            .sum();
        prop_assert_eq!(sizes, layer.value_area_end() - 8192);

        let mut manifest = Vec::new();
        write_manifest(&layer, &mut manifest).await.unwrap();
        let manifest = String::from_utf8(manifest).unwrap();
        let entries_line = format!("\nentries {}\n", model.len());
        prop_assert!(manifest.contains(&entries_line), "{}", entries_line);

        // Point lookups equal the model.
        let keys: Vec<Key> = model.keys().map(|(k, _)| *k).collect();
        for (idx, shift, a, b) in &queries {
            let key = keys[idx.index(keys.len())].add(u32::from(*shift % 2));
            let range = LsnRange::new(Lsn(*a), Lsn(*b));
            let mut state = ValueReconstructState::default();
            let result = layer
                .get_value_reconstruct_data(key, range, &mut state)
                .await
                .unwrap();
            prop_assert_eq!(
                (result, state),
                model_lookup(&model, key, range),
                "{} {:?}",
                key,
                range
            );
        }

        // Vectored lookups equal per-key lookups, with and without cached LSNs.
        for (idx, shift, a, _) in queries.iter().take(6) {
            let start = keys[idx.index(keys.len())];
            let range = KeyRange::new(start, start.add(u32::from(*shift) * 7 + 1));
            // A second range overlapping or following the first (merged by the reader).
            let other = KeyRange::new(start.add(3), start.add(12));
            let union = KeyRange::new(range.start, range.end.max(other.end));
            let end_lsn = Lsn(*a);
            let mut states = VectoredReconstructState::new();
            let cached = keys.get(idx.index(keys.len()) + 1).copied();
            if let Some(k) = cached {
                states.set_cached_lsn(k, Lsn(0x200));
            }
            layer
                .get_values_reconstruct_data(&[other, range], end_lsn, &mut states)
                .await
                .unwrap();
            let mut key = union.start;
            while key < union.end {
                if !range.contains(&key) && !other.contains(&key) {
                    prop_assert!(states.get(&key).is_none());
                    key = key.next();
                    continue;
                }
                let floor = states.cached_lsn(&key).map_or(Lsn(0), |c| Lsn(c.0 + 1));
                let lsn_range = LsnRange::new(floor, end_lsn);
                let mut state = ValueReconstructState::default();
                let result = layer
                    .get_value_reconstruct_data(key, lsn_range, &mut state)
                    .await
                    .unwrap();
                let (want_result, want_state) = model_lookup(&model, key, lsn_range);
                prop_assert_eq!((result, &state), (want_result, &want_state));
                match states.get(&key) {
                    Some(got) => prop_assert_eq!((got.result, &got.state), (result, &state)),
                    None => prop_assert!(state == ValueReconstructState::default()),
                }
                key = key.next();
            }
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn write_then_read(model in model_strategy(), queries in prop::collection::vec(query_strategy(), 1..40)) {
        check(model, queries)?;
    }
}
