//! Values that share buffers (a point lookup's arena, a scan's run buffer) stay as they were
//! while later reads reuse or replace those buffers: every answer is kept until the end and
//! only then compared with the golden lines and with a plain, uncached reader's values.

use strata_blob::MemBlockReader;
use strata_cache::PageCache;
use strata_delta::text::format_query_line;
use strata_delta::{DeltaLayer, OpenOptions, ValueReconstructState};
use strata_key::LsnRange;
use strata_testkit::{layer_bytes, load_queries};

#[tokio::test]
async fn kept_values_survive_later_reads() {
    for case in ["imgsizes", "btree3", "stdsmall"] {
        let bytes = layer_bytes(case);
        let cache = PageCache::new(64);
        let layer = DeltaLayer::from_reader(
            cache.wrap(MemBlockReader::from_bytes(&bytes)),
            OpenOptions::default(),
        )
        .await
        .unwrap();
        let mut kept = Vec::new();
        for q in load_queries(case) {
            let range = LsnRange::new(q.lsn_start, q.lsn_end);
            let mut state = ValueReconstructState::default();
            let result = layer
                .get_value_reconstruct_data(q.key, range, &mut state)
                .await
                .unwrap();
            kept.push((q, range, result, state));
        }
        let mut values = Vec::new();
        let mut iter = layer.iter();
        while let Some(entry) = iter.next().await {
            let entry = entry.unwrap();
            values.push((entry, iter.load_value(&entry).await.unwrap()));
        }
        // Only now, after every later read, compare.
        assert!(!kept.is_empty() && !values.is_empty(), "{case}");
        for (q, range, result, state) in &kept {
            assert_eq!(
                format_query_line(q.key, *range, *result, state),
                q.line,
                "{case}"
            );
        }
        let plain =
            DeltaLayer::from_reader(MemBlockReader::from_bytes(&bytes), OpenOptions::default())
                .await
                .unwrap();
        for (entry, value) in &values {
            assert_eq!(*value, entry.load_value(&plain).await.unwrap(), "{case}");
        }
    }
}
