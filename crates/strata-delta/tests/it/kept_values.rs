//! Values that share buffers (a point lookup's arena or the cache's lent pages, a scan's run
//! buffer) stay as they were
//! while later reads reuse or replace those buffers: every answer is kept until the end and
//! only then compared with the golden lines and with a plain, uncached reader's values.

use std::sync::Arc;

use strata_blob::{BlockNo, BlockReader, MemBlockReader, PAGE_SIZE, SHARE_MIN_LEN};
use strata_cache::{PageCache, PageCacheOptions};
use strata_delta::text::format_query_line;
use strata_delta::{DeltaLayer, OpenOptions};
use strata_testkit::{layer_bytes, load_queries};

use crate::answer;

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
            let (range, result, state) = answer(&layer, &q).await;
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

/// Through a cache a scan has filled, a lookup's large values (images) are slices of the cached
/// pages, lent without a copy; the answers are the golden ones, with lending on and off, and
/// stay so after the cache and the layer are gone.
#[tokio::test]
async fn lent_values_are_cached_pages_and_outlive_the_cache() {
    for case in ["stdsmall", "imgsizes"] {
        let bytes = layer_bytes(case);
        let n_blocks = bytes.len() / PAGE_SIZE;
        let mut answers = Vec::new();
        for lend_pages in [true, false] {
            let cache = PageCache::with_options(PageCacheOptions {
                n_slots: n_blocks + 16,
                lend_pages,
                ..PageCacheOptions::default()
            });
            let reader = Arc::new(cache.wrap(MemBlockReader::from_bytes(&bytes)));
            let layer = DeltaLayer::from_reader(Arc::clone(&reader), OpenOptions::default())
                .await
                .unwrap();
            let mut iter = layer.iter();
            while let Some(entry) = iter.next().await {
                iter.load_value(&entry.unwrap()).await.unwrap();
            }
            let mut pages = Vec::new();
            for blkno in 0..reader.n_blocks() {
                pages.push(reader.read_block(BlockNo(blkno)).await.unwrap());
            }
            let in_a_page = |b: &[u8]| pages.iter().any(|p| p.as_ptr_range().contains(&b.as_ptr()));
            let mut lent = 0;
            for q in load_queries(case) {
                let (range, result, state) = answer(&layer, &q).await;
                if let Some((_, img)) = &state.img {
                    if in_a_page(img) {
                        assert!(lend_pages, "{case}: lent with lending off");
                        assert!(img.len() >= SHARE_MIN_LEN, "{case}: a small image lent");
                        lent += 1;
                    }
                }
                answers.push((q, range, result, state));
            }
            assert_eq!(lent > 0, lend_pages, "{case}: {lent} images lent");
            drop((pages, layer, reader, cache));
        }
        for (q, range, result, state) in &answers {
            assert_eq!(
                format_query_line(q.key, *range, *result, state),
                q.line,
                "{case}"
            );
        }
    }
}
