//! Write-then-read property test of [`DeltaLayerWriter`] against a sorted `Vec` model, read back
//! twice: with the B-tree reader and blob reads directly (independent of this crate's reader):
//! the summary, every index entry and BlobRef, every value, the back-to-back blob layout, and
//! exact lookups of present and absent (key, LSN) pairs; and through [`DeltaLayer`]: strict
//! verification finds nothing, iteration gives the model, and history lookups match a model
//! walk.

use std::collections::BTreeMap;

use bytes::Bytes;
use proptest::prelude::*;
use strata_blob::{MemBlockReader, blob_size, read_blob_into};
use strata_btree::{DiskBtreeReader, VisitDirection};
use strata_delta::{
    BlobRef, DELTA_FILE_MAGIC, DELTA_KEY_SIZE, DeltaKey, DeltaLayer, DeltaLayerWriter,
    FORMAT_VERSION, NeonWalRecord, OpenOptions, Summary, Value, ValueReconstructResult,
    ValueReconstructState,
};
use strata_key::{Key, KeyRange, Lsn, LsnRange, TenantId, TimelineId};

fn key_strategy() -> impl Strategy<Value = Key> {
    prop_oneof![
        // One relation's blocks: many versions per key, prefix-compressed leaves.
        (0..40u32).prop_map(|b| Key {
            field1: 0,
            field2: 1663,
            field3: 16384,
            field4: 16385,
            field5: 0,
            field6: b,
        }),
        any::<[u8; 18]>().prop_map(|b| Key::from_array(&b)),
    ]
}

fn value_strategy() -> impl Strategy<Value = Value> {
    let payload = |max| proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from);
    prop_oneof![
        3 => payload(200).prop_map(Value::Image),
        1 => payload(20_000).prop_map(Value::Image),
        4 => (any::<bool>(), payload(300))
            .prop_map(|(will_init, rec)| Value::WalRecord(NeonWalRecord::Postgres { will_init, rec })),
        1 => proptest::collection::vec(any::<u32>(), 0..5)
            .prop_map(|xids| Value::WalRecord(NeonWalRecord::ClogSetAborted { xids })),
    ]
}

fn entries_strategy() -> impl Strategy<Value = Vec<(Key, Lsn, Value)>> {
    let lsn = prop_oneof![3 => 100..400u64, 1 => 100..u64::MAX - 1].prop_map(Lsn);
    proptest::collection::btree_map((key_strategy(), lsn), value_strategy(), 1..600).prop_map(
        |m: BTreeMap<(Key, Lsn), Value>| m.into_iter().map(|((k, l), v)| (k, l, v)).collect(),
    )
}

fn check(entries: &[(Key, Lsn, Value)], extra_key_end: u32) -> Result<(), TestCaseError> {
    let (first, last) = (&entries[0], &entries[entries.len() - 1]);
    let key_range = KeyRange::new(first.0, last.0.add(1 + extra_key_end));
    prop_assume!(key_range.end > last.0); // `add` wraps at Key::MAX
    let lsn_range = LsnRange::new(
        Lsn(100),
        Lsn(entries.iter().map(|e| e.1.0).max().unwrap() + 1),
    );
    let (tenant, timeline) = (TenantId([7; 16]), TimelineId([9; 16]));
    let dir = tempfile::tempdir().unwrap();
    let mut w =
        DeltaLayerWriter::new(dir.path(), tenant, timeline, key_range.start, lsn_range).unwrap();
    for (k, l, v) in entries {
        w.put_value(*k, *l, v).unwrap();
    }
    let desc = w.finish(key_range.end).unwrap();
    let file = std::fs::read(&desc.path).unwrap();
    prop_assert_eq!(file.len() as u64, desc.file_size);
    prop_assert_eq!(desc.n_entries, entries.len() as u64);
    prop_assert_eq!(file.len() % 8192, 0);

    let s = Summary::decode(&file).unwrap();
    prop_assert_eq!(s.magic, DELTA_FILE_MAGIC);
    prop_assert_eq!(s.format_version, FORMAT_VERSION);
    prop_assert_eq!((s.tenant_id, s.timeline_id), (tenant, timeline));
    prop_assert_eq!((s.key_range, s.lsn_range), (key_range, lsn_range));
    prop_assert_eq!(
        (s.index_start_blk + s.index_root_blk + 1) as usize,
        file.len() / 8192
    );
    prop_assert!(file[96..8192].iter().all(|&b| b == 0));

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let reader = MemBlockReader::from_bytes(&file);
        let tree =
            DiskBtreeReader::<_, DELTA_KEY_SIZE>::new(s.index_start_blk, s.index_root_blk, &reader);
        let mut found = Vec::new();
        tree.visit(&[0; DELTA_KEY_SIZE], VisitDirection::Forwards, |k, v| {
            found.push((DeltaKey::from_array(*k), BlobRef(v)));
            true
        })
        .await
        .unwrap();
        prop_assert_eq!(found.len(), entries.len());
        let value_end = u64::from(s.index_start_blk) * 8192;
        let mut next_offset = 8192;
        let mut buf = Vec::new();
        for ((dk, blob_ref), (k, l, v)) in found.iter().zip(entries) {
            prop_assert_eq!((dk.key(), dk.lsn()), (*k, *l));
            prop_assert_eq!(blob_ref.will_init(), v.will_init());
            prop_assert_eq!(blob_ref.pos(), next_offset);
            read_blob_into(&reader, blob_ref.pos(), value_end, &mut buf)
                .await
                .unwrap();
            prop_assert_eq!(&Value::decode(&buf).unwrap(), v);
            next_offset += blob_size(buf.len() as u64);
        }
        prop_assert_eq!(next_offset.div_ceil(8192), value_end / 8192);
        prop_assert!(
            file[next_offset as usize..value_end as usize]
                .iter()
                .all(|&b| b == 0)
        );

        // Point lookups: present pairs, and a neighbour that is absent.
        for (i, (k, l, _)) in entries.iter().enumerate().step_by(7) {
            let got = tree
                .get(DeltaKey::from_key_lsn(*k, *l).as_array())
                .await
                .unwrap();
            prop_assert_eq!(got, Some(found[i].1.raw()));
            let absent = Lsn(l.0 + 1);
            if !entries.iter().any(|e| e.0 == *k && e.1 == absent) {
                let got = tree
                    .get(DeltaKey::from_key_lsn(*k, absent).as_array())
                    .await
                    .unwrap();
                prop_assert_eq!(got, None);
            }
        }
        check_layer(&file, s, entries).await
    })
}

/// Reads the file back through [`DeltaLayer`].
async fn check_layer(
    file: &[u8],
    summary: Summary,
    entries: &[(Key, Lsn, Value)],
) -> Result<(), TestCaseError> {
    let opts = OpenOptions {
        expected_summary: Some(summary),
        file_len: Some(file.len() as u64),
        ..OpenOptions::default()
    };
    let layer = DeltaLayer::from_reader(MemBlockReader::from_bytes(file), opts)
        .await
        .unwrap();
    let findings = layer.verify().await.unwrap();
    prop_assert!(findings.is_empty(), "{:?}", findings);
    let mut iter = layer.iter();
    let mut n = 0;
    while let Some(entry) = iter.next().await {
        let entry = entry.unwrap();
        let (k, l, v) = &entries[n];
        prop_assert_eq!((entry.key, entry.lsn), (*k, *l));
        prop_assert_eq!(&entry.load_value(&layer).await.unwrap(), v);
        n += 1;
    }
    prop_assert_eq!(n, entries.len());

    // History lookups of every 5th entry's key, up to and including that entry.
    let lsn_start = summary.lsn_range.start;
    for (k, l, _) in entries.iter().step_by(5) {
        let range = LsnRange::new(lsn_start, Lsn(l.0 + 1));
        let mut state = ValueReconstructState::default();
        let res = layer
            .get_value_reconstruct_data(*k, range, &mut state)
            .await
            .unwrap();
        let mut expect = ValueReconstructState::default();
        let mut expect_res = ValueReconstructResult::Continue;
        for (_, lsn, v) in entries
            .iter()
            .rev()
            .filter(|e| e.0 == *k && range.contains(e.1))
        {
            match v {
                Value::Image(img) => {
                    expect.img = Some((*lsn, img.clone()));
                    expect_res = ValueReconstructResult::Complete;
                    break;
                }
                Value::WalRecord(rec) => {
                    expect.records.push((*lsn, rec.clone()));
                    if rec.will_init() {
                        expect_res = ValueReconstructResult::Complete;
                        break;
                    }
                }
            }
        }
        prop_assert_eq!(res, expect_res);
        prop_assert_eq!(&state, &expect);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn write_then_read_back(entries in entries_strategy(), extra in 0..3u32) {
        check(&entries, extra)?;
    }
}
