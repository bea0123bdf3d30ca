//! Page-cache sizing (issue 11, bugs 1 and 3): a reader pins at most one slot, so the 3-level
//! `btree3` golden layer is wholly readable (open, every query, vectored, full scan with values,
//! per-entry loads, verify) through a cache of one slot that never waits, and N concurrent
//! readers run through N slots. A cache whose slots are all pinned gives one error shape,
//! `Error::CacheFull`, whichever crate met it.

use std::time::Duration;

use strata_blob::{BlockNo, BlockReader, MemBlockReader};
use strata_btree::DiskBtreeReader;
use strata_cache::{PageCache, PageCacheOptions};
use strata_delta::text::format_query_line;
use strata_delta::{
    DELTA_KEY_SIZE, DeltaLayer, Error, OpenOptions, ValueReconstructState, VectoredReconstructState,
};
use strata_key::{KeyRange, LsnRange};
use strata_testkit::{layer_bytes, load_queries};

/// A cache of `n_slots` that fails at once instead of waiting for a pinned slot.
fn strict_cache(n_slots: usize) -> PageCache {
    PageCache::with_options(PageCacheOptions {
        n_slots,
        pinned_wait: Duration::ZERO,
        ..PageCacheOptions::default()
    })
}

/// Everything a reader does with `case`, checked against the golden files.
async fn read_everything(cache: &PageCache, case: &str) {
    let bytes = layer_bytes(case);
    let layer = DeltaLayer::from_reader(
        cache.wrap(MemBlockReader::from_bytes(&bytes)),
        OpenOptions::default(),
    )
    .await
    .unwrap();
    for q in load_queries(case) {
        let (range, result, state) = crate::answer(&layer, &q).await;
        assert_eq!(format_query_line(q.key, range, result, &state), q.line);
    }
    // The same layer without a cache is the reference.
    let plain = DeltaLayer::from_reader(MemBlockReader::from_bytes(&bytes), OpenOptions::default())
        .await
        .unwrap();
    let mut expected = plain.iter();
    let mut iter = layer.iter();
    let (mut n, mut n_keys, mut last_key) = (0u64, 0, None);
    while let Some(entry) = iter.next().await {
        let entry = entry.unwrap();
        assert_eq!(entry, expected.next().await.unwrap().unwrap());
        if last_key.replace(entry.key) != Some(entry.key) {
            n_keys += 1;
        }
        // Values in between index reads (every third entry keeps the test short).
        if n % 3 == 0 {
            let value = iter.load_value(&entry).await.unwrap();
            assert_eq!(value, expected.load_value(&entry).await.unwrap());
            if n % 51 == 0 {
                assert_eq!(entry.load_value(&layer).await.unwrap(), value);
            }
        }
        n += 1;
    }
    assert!(expected.next().await.is_none());
    assert!(n > 0, "{case}");

    let summary = *layer.summary();
    let mut states = VectoredReconstructState::new();
    layer
        .get_values_reconstruct_data(&[summary.key_range], summary.lsn_range.end, &mut states)
        .await
        .unwrap();
    assert_eq!(states.len(), n_keys);
    assert_eq!(layer.verify().await.unwrap(), []);
}

#[tokio::test]
async fn btree3_reads_through_one_slot() {
    let bytes = layer_bytes("btree3");
    let plain = DeltaLayer::from_reader(MemBlockReader::from_bytes(&bytes), OpenOptions::default())
        .await
        .unwrap();
    let s = plain.summary();
    let tree = DiskBtreeReader::<_, DELTA_KEY_SIZE>::new(
        s.index_start_blk,
        s.index_root_blk,
        MemBlockReader::from_bytes(&bytes),
    );
    assert_eq!(tree.depth().await.unwrap(), 3);

    let cache = strict_cache(1);
    read_everything(&cache, "btree3").await;
    let m = cache.metrics();
    assert_eq!((m.cache_full, m.pinned_waits), (0, 0), "{m:?}");
    assert!(m.evictions > 100, "{m:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n_readers_need_n_slots() {
    const N: usize = 3;
    let cache = strict_cache(N);
    let tasks: Vec<_> = ["prefixes", "imgsizes", "pageboundary"]
        .into_iter()
        .map(|case| {
            let cache = cache.clone();
            tokio::spawn(async move { read_everything(&cache, case).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(cache.metrics().cache_full, 0);
}

#[tokio::test]
async fn cache_full_has_one_shape() {
    let bytes = layer_bytes("tiny");
    let cache = strict_cache(1);
    let layer = DeltaLayer::from_reader(
        cache.wrap(MemBlockReader::from_bytes(&bytes)),
        OpenOptions::default(),
    )
    .await
    .unwrap();
    let entries = layer.load_keys().await.unwrap();
    let q = &load_queries("tiny")[0];
    let range = LsnRange::new(q.lsn_start, q.lsn_end);

    // Another reader pins the only slot.
    let other = cache.wrap(MemBlockReader::from_bytes(&bytes));
    let pin = other.read_block(BlockNo(1)).await.unwrap();

    let full = |e: &Error| matches!(e, Error::CacheFull { n_slots: 1 });
    // Met by the B-tree (the index is read first) ...
    let mut state = ValueReconstructState::default();
    let err = layer
        .get_value_reconstruct_data(q.key, range, &mut state)
        .await
        .unwrap_err();
    assert!(full(&err), "{err:?}");
    let err = layer.iter().next().await.unwrap().unwrap_err();
    assert!(full(&err), "{err:?}");
    let mut states = VectoredReconstructState::new();
    let keyspace = [KeyRange::new(q.key, q.key.next())];
    let err = layer
        .get_values_reconstruct_data(&keyspace, q.lsn_end, &mut states)
        .await
        .unwrap_err();
    assert!(full(&err), "{err:?}");
    // ... by the blob reads ...
    let err = entries[0].load_value(&layer).await.unwrap_err();
    assert!(full(&err), "{err:?}");
    // ... and by the summary read of an open.
    let err = DeltaLayer::from_reader(
        cache.wrap(MemBlockReader::from_bytes(&bytes)),
        OpenOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(full(&err), "{err:?}");
    // The B-tree's own error has the same single shape.
    let s = layer.summary();
    let tree = DiskBtreeReader::<_, DELTA_KEY_SIZE>::new(
        s.index_start_blk,
        s.index_root_blk,
        cache.wrap(MemBlockReader::from_bytes(&bytes)),
    );
    let err = tree.get(&[0; DELTA_KEY_SIZE]).await.unwrap_err();
    assert!(
        matches!(err, strata_btree::Error::CacheFull { n_slots: 1 }),
        "{err:?}"
    );

    drop(pin);
    let result = layer
        .get_value_reconstruct_data(q.key, range, &mut state)
        .await
        .unwrap();
    assert_eq!(format_query_line(q.key, range, result, &state), q.line);
}
