//! [`BlockReader::lend_pages`] through the cache: pages a scan admitted together are lent as one
//! run of memory (counted as hits), a run with a missing or non-adjacent page is not (and
//! counts nothing), and a lent run keeps its bytes after its pages leave the cache.

use strata_blob::{BlockNo, BlockReader, MemBlockReader, PAGE_SIZE};
use strata_cache::{PageCache, PageCacheOptions};

/// `n` blocks whose bytes name their block and position.
fn file(n: usize) -> Vec<u8> {
    (0..n * PAGE_SIZE)
        .map(|i| ((i / PAGE_SIZE) as u8).wrapping_mul(29) ^ (i as u8).wrapping_mul(7))
        .collect()
}

fn cache(lend_pages: bool, huge_pages: bool) -> PageCache {
    PageCache::with_options(PageCacheOptions {
        n_slots: 64,
        lend_pages,
        huge_pages,
        ..PageCacheOptions::default()
    })
}

#[tokio::test]
async fn pages_a_scan_admitted_are_lent_as_one_run() {
    let bytes = file(8);
    let cache = cache(true, true);
    let reader = cache.wrap(MemBlockReader::from_bytes(&bytes));
    assert!(
        reader.lend_pages(BlockNo(2), 2).is_none(),
        "nothing cached yet"
    );
    assert_eq!(cache.metrics().hits, 0, "a run not lent counts no hit");
    // A scan's run admits all eight pages, in consecutive slab pages.
    let mut buf = vec![0u8; 8 * PAGE_SIZE];
    reader.read_blocks(BlockNo(0), &mut buf).await.unwrap();
    assert_eq!(cache.metrics().admitted, 8);
    let run = reader
        .lend_pages(BlockNo(2), 3)
        .expect("three admitted pages");
    assert_eq!(&run[..], &bytes[2 * PAGE_SIZE..5 * PAGE_SIZE]);
    assert_eq!(cache.metrics().hits, 3, "each lent page is a hit");
    // A slice across a page boundary is no copy: it points into the run.
    let straddling = run.share(PAGE_SIZE - 10..PAGE_SIZE + 10).unwrap();
    assert_eq!(
        &straddling[..],
        &bytes[3 * PAGE_SIZE - 10..3 * PAGE_SIZE + 10]
    );
    assert!(run.as_ptr_range().contains(&straddling.as_ptr()));
    // The lent bytes outlive the file's pages in the cache.
    cache.drop_file(reader.file_id());
    assert_eq!(cache.metrics().resident, 0);
    assert_eq!(
        &straddling[..],
        &bytes[3 * PAGE_SIZE - 10..3 * PAGE_SIZE + 10]
    );
    drop(run);
    assert_eq!(
        &straddling[..],
        &bytes[3 * PAGE_SIZE - 10..3 * PAGE_SIZE + 10]
    );
    // Refilled pages may lie anywhere: bytes stay right whatever is lent.
    for blkno in [5, 1, 2] {
        reader.read_block(BlockNo(blkno)).await.unwrap();
    }
    let hits = cache.metrics().hits;
    assert!(
        reader.lend_pages(BlockNo(0), 2).is_none(),
        "block 0 is missing"
    );
    assert_eq!(
        cache.metrics().hits,
        hits,
        "the hit on the way is taken back"
    );
    if let Some(run) = reader.lend_pages(BlockNo(1), 2) {
        assert_eq!(&run[..], &bytes[PAGE_SIZE..3 * PAGE_SIZE]);
        assert_eq!(cache.metrics().hits, hits + 2);
    } else {
        assert_eq!(cache.metrics().hits, hits, "not adjacent: no hit counted");
    }
    // One page is always lendable; past the file's end nothing is.
    assert_eq!(
        &reader.lend_pages(BlockNo(5), 1).unwrap()[..],
        &bytes[5 * PAGE_SIZE..6 * PAGE_SIZE]
    );
    reader.read_block(BlockNo(7)).await.unwrap(); // the run's first page is a hit
    let hits = cache.metrics().hits;
    assert!(reader.lend_pages(BlockNo(7), 2).is_none());
    assert!(reader.lend_pages(BlockNo(8), 1).is_none());
    assert_eq!(
        cache.metrics().hits,
        hits,
        "a run past the end counts no hit"
    );
    assert!(reader.lend_pages(BlockNo(0), 0).is_none());
}

/// A point read that misses consecutive pages of a cache with free slots fills them one after
/// the other into consecutive slab pages: lendable too, without a scan.
#[tokio::test]
async fn pages_one_read_filled_in_order_are_lent() {
    let bytes = file(6);
    let cache = cache(true, true);
    let reader = cache.wrap(MemBlockReader::from_bytes(&bytes));
    let mut buf = vec![0u8; 10_000];
    let at = 2 * PAGE_SIZE as u64 + 3000;
    reader.read_at(at, &mut buf).await.unwrap();
    assert_eq!(&buf[..], &bytes[at as usize..at as usize + buf.len()]);
    assert_eq!(cache.metrics().misses, 2);
    let run = reader.lend_pages(BlockNo(2), 2).expect("filled in order");
    assert_eq!(&run[..], &bytes[2 * PAGE_SIZE..4 * PAGE_SIZE]);
}

#[tokio::test]
async fn lending_follows_the_options() {
    let bytes = file(4);
    let mut buf = vec![0u8; 4 * PAGE_SIZE];
    let off = cache(false, true);
    let reader = off.wrap(MemBlockReader::from_bytes(&bytes));
    reader.read_blocks(BlockNo(0), &mut buf).await.unwrap();
    assert!(reader.lend_pages(BlockNo(0), 1).is_none(), "lending off");
    assert_eq!(off.metrics().hits, 0);
    // Without huge pages every page is its own allocation, whose handle would pin it: none
    // is lent.
    let heap = cache(true, false);
    let reader = heap.wrap(MemBlockReader::from_bytes(&bytes));
    reader.read_blocks(BlockNo(0), &mut buf).await.unwrap();
    assert!(reader.lend_pages(BlockNo(1), 1).is_none());
    assert!(reader.lend_pages(BlockNo(1), 2).is_none());
    assert_eq!(heap.metrics().hits, 0);
}

/// A lent run does not pin its pages: a cache whose every page is lent still evicts them for
/// new reads (no `CacheFull`), and the lent bytes stay as they were, in memory the cache does
/// not reuse while they are held.
#[tokio::test]
async fn lent_pages_do_not_pin_their_slots() {
    let bytes = file(6);
    let cache = PageCache::with_options(PageCacheOptions {
        n_slots: 2,
        pinned_wait: std::time::Duration::ZERO,
        ..PageCacheOptions::default()
    });
    let reader = cache.wrap(MemBlockReader::from_bytes(&bytes));
    let mut buf = vec![0u8; PAGE_SIZE];
    reader
        .read_at(PAGE_SIZE as u64 / 2, &mut buf)
        .await
        .unwrap();
    let run = reader.lend_pages(BlockNo(0), 2).expect("filled in order");
    let image = run.share(100..PAGE_SIZE + 100).unwrap();
    drop(run);
    for blkno in 2..6 {
        let block = reader.read_block(BlockNo(blkno)).await.unwrap();
        assert_eq!(
            &block[..],
            &bytes[blkno as usize * PAGE_SIZE..][..PAGE_SIZE]
        );
    }
    let m = cache.metrics();
    assert_eq!((m.cache_full, m.evictions, m.resident), (0, 4, 2));
    assert_eq!(
        &image[..],
        &bytes[100..PAGE_SIZE + 100],
        "lent bytes never change"
    );
    // A block a reader holds still pins its slot.
    let held = reader.read_block(BlockNo(4)).await.unwrap();
    let other = reader.read_block(BlockNo(5)).await.unwrap();
    let err = reader.read_block(BlockNo(0)).await.unwrap_err();
    assert!(matches!(err, strata_blob::Error::CacheFull { .. }), "{err}");
    drop((held, other));
    assert_eq!(&image[..], &bytes[100..PAGE_SIZE + 100]);
}
