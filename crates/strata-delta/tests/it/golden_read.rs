//! The reader against the golden files Neon wrote: for every case, the manifest we print and
//! the `Q` line of every query must equal Neon's output exactly (`golden/README`), through
//! the production path (file table + page cache) and through an in-memory reader.

use std::path::Path;

use strata_blob::{FileTable, MemBlockReader, TableFile};
use strata_cache::{CachedReader, PageCache};
use strata_delta::{
    DeltaLayer, OpenOptions, ValueReconstructResult, ValueReconstructState,
    VectoredReconstructState, format_query_line, write_manifest,
};
use strata_key::{KeyRange, LsnRange};
use strata_testkit::{Manifest, golden_cases, layer_bytes, layer_path, load_queries};

/// Compares two texts line by line, reporting the first difference (manifests are large).
fn assert_same_text(case: &str, got: &str, want: &str) {
    let mut got_lines = got.lines();
    let mut want_lines = want.lines();
    for line_no in 1.. {
        match (got_lines.next(), want_lines.next()) {
            (None, None) => break,
            (g, w) => assert_eq!(g, w, "{case}: first difference at line {line_no}"),
        }
    }
    assert_eq!(
        got.len(),
        want.len(),
        "{case}: same lines, different lengths"
    );
}

async fn open_file(
    path: &Path,
    cache: &PageCache,
    files: &FileTable,
) -> DeltaLayer<CachedReader<TableFile>> {
    DeltaLayer::open(path, cache, files)
        .await
        .unwrap_or_else(|e| panic!("opening {}: {e}", path.display()))
}

#[tokio::test]
async fn manifests_match_neon() {
    let cache = PageCache::new(4096);
    let files = FileTable::new(8);
    for case in golden_cases() {
        let layer = open_file(&layer_path(&case), &cache, &files).await;
        let mut out = Vec::new();
        write_manifest(&layer, &mut out).await.unwrap();
        let expected = Manifest::load(&case);
        assert_same_text(&case, &String::from_utf8(out).unwrap(), &expected.text);
        assert_eq!(layer.file_sha256().await.unwrap(), expected.file_sha256);
    }
}

#[tokio::test]
async fn queries_match_neon() {
    let cache = PageCache::new(4096);
    let files = FileTable::new(8);
    for case in golden_cases() {
        let from_file = open_file(&layer_path(&case), &cache, &files).await;
        let in_memory = MemBlockReader::from_bytes(&layer_bytes(&case));
        let in_memory = DeltaLayer::from_reader(in_memory, OpenOptions::default())
            .await
            .unwrap();
        let queries = load_queries(&case);
        assert_eq!(queries.len(), 200, "{case}");
        for q in &queries {
            let range = LsnRange::new(q.lsn_start, q.lsn_end);
            let mut state = ValueReconstructState::default();
            let result = from_file
                .get_value_reconstruct_data(q.key, range, &mut state)
                .await
                .unwrap();
            assert_eq!(
                format_query_line(q.key, range, result, &state),
                q.line,
                "{case}"
            );

            let mut state2 = ValueReconstructState::default();
            let result2 = in_memory
                .get_value_reconstruct_data(q.key, range, &mut state2)
                .await
                .unwrap();
            assert_eq!((result2, &state2), (result, &state), "{case}: {}", q.line);
        }
    }
}

/// The image and record payloads a query returns are the manifest's values.
#[tokio::test]
async fn query_values_are_the_manifest_values() {
    for case in ["walvariants", "imgsizes", "pageboundary", "extremes"] {
        let manifest = Manifest::load(case);
        let layer = DeltaLayer::from_reader(
            MemBlockReader::from_bytes(&layer_bytes(case)),
            OpenOptions::default(),
        )
        .await
        .unwrap();
        for e in &manifest.entries {
            let Some(end) = e.lsn.checked_add(1) else {
                continue;
            };
            let mut state = ValueReconstructState::default();
            let range = LsnRange::new(e.lsn, end);
            layer
                .get_value_reconstruct_data(e.key, range, &mut state)
                .await
                .unwrap();
            let value = match (&state.img, state.records.first()) {
                (Some((lsn, img)), None) => {
                    assert_eq!(*lsn, e.lsn);
                    strata_delta::Value::Image(img.clone())
                }
                (None, Some((lsn, rec))) => {
                    assert_eq!(*lsn, e.lsn);
                    strata_delta::Value::WalRecord(rec.clone())
                }
                other => panic!("{case}: one value expected, got {other:?}"),
            };
            assert!(
                e.payload.matches(&value.encode()),
                "{case}: {} {}",
                e.key,
                e.lsn
            );
        }
    }
}

/// Full iteration gives the manifest's entries, sizes from consecutive offsets, and values.
#[tokio::test]
async fn iteration_matches_manifest() {
    for case in golden_cases() {
        let manifest = Manifest::load(&case);
        let layer = DeltaLayer::from_reader(
            MemBlockReader::from_bytes(&layer_bytes(&case)),
            OpenOptions::default(),
        )
        .await
        .unwrap();
        let offsets = manifest.blob_offsets();
        let keys = layer.load_keys().await.unwrap();
        assert_eq!(keys.len(), manifest.entries.len(), "{case}");
        let mut iter = layer.iter();
        let mut entry_idx = 0;
        while let Some(entry) = iter.next().await {
            let entry = entry.unwrap();
            let want = &manifest.entries[entry_idx];
            assert_eq!(entry, keys[entry_idx]);
            assert_eq!((entry.key, entry.lsn), (want.key, want.lsn), "{case}");
            assert_eq!(entry.blob_ref.will_init(), want.will_init);
            assert_eq!(entry.blob_ref.pos(), offsets[entry_idx]);
            let next = offsets
                .get(entry_idx + 1)
                .copied()
                .unwrap_or(layer.value_area_end());
            assert_eq!(entry.size, next - offsets[entry_idx]);
            if entry_idx % 7 == 0 || manifest.entries.len() < 5000 {
                let bytes = iter.load_bytes(&entry).await.unwrap().into_owned();
                assert!(want.payload.matches(&bytes), "{case} entry {entry_idx}");
                let value = iter.load_value(&entry).await.unwrap();
                assert_eq!(value.kind_name(), want.kind);
                assert_eq!(value.encode(), bytes);
                if entry_idx % 50 == 0 {
                    assert_eq!(entry.load_value(&layer).await.unwrap(), value);
                }
            }
            entry_idx += 1;
        }
        assert_eq!(entry_idx, manifest.entries.len());
    }
}

#[tokio::test]
async fn golden_files_verify_clean() {
    for case in golden_cases() {
        let layer = DeltaLayer::from_reader(
            MemBlockReader::from_bytes(&layer_bytes(&case)),
            OpenOptions {
                file_len: Some(layer_bytes(&case).len() as u64),
                ..OpenOptions::default()
            },
        )
        .await
        .unwrap();
        let findings = layer.verify().await.unwrap();
        assert!(findings.is_empty(), "{case}: {findings:?}");
    }
}

/// Vectored lookups over the queries' keys give the per-key results.
#[tokio::test]
async fn vectored_matches_point_lookups_on_golden_files() {
    for case in golden_cases() {
        let layer = DeltaLayer::from_reader(
            MemBlockReader::from_bytes(&layer_bytes(&case)),
            OpenOptions::default(),
        )
        .await
        .unwrap();
        let lsn_start = layer.summary().lsn_range.start;
        for (q_idx, q) in load_queries(&case).iter().enumerate().take(40) {
            let Some(key_end) = q.key.checked_next() else {
                continue;
            };
            // A range around the query's key, and the whole layer every tenth query.
            let range = if q_idx % 10 == 0 {
                layer.summary().key_range
            } else {
                KeyRange::new(q.key, key_end.add(3))
            };
            let mut states = VectoredReconstructState::new();
            layer
                .get_values_reconstruct_data(&[range], q.lsn_end, &mut states)
                .await
                .unwrap();
            let mut key = range.start;
            let mut n_checked = 0;
            while key < range.end && n_checked < 50 {
                let mut state = ValueReconstructState::default();
                let result = layer
                    .get_value_reconstruct_data(
                        key,
                        LsnRange::new(lsn_start, q.lsn_end),
                        &mut state,
                    )
                    .await
                    .unwrap();
                match states.get(&key) {
                    Some(got) => {
                        assert_eq!((got.result, &got.state), (result, &state), "{case} {key}")
                    }
                    None => assert_eq!(
                        (result, state),
                        (
                            ValueReconstructResult::Continue,
                            ValueReconstructState::default()
                        ),
                        "{case} {key}"
                    ),
                }
                n_checked += 1;
                key = key.next();
            }
            for (key, _) in states.keys() {
                assert!(range.contains(key));
            }
        }
    }
}
