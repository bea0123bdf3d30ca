//! Behaviour of the page cache through its public API: hits, misses, CLOCK eviction, pinning,
//! failed and cancelled fills, single-flight, dropped files, and a multi-thread stress run that
//! checks every byte against the source.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use strata_blob::{Block, BlockNo, BlockReader, Corruption, Error, MemBlockReader, PAGE_SIZE};
use strata_cache::{ConcurrentFillError, PageCache, PageCacheOptions};
use tokio::sync::Semaphore;

/// How a failing read fails.
#[derive(Clone, Copy, Debug)]
enum Fail {
    Corrupt,
    Io(io::ErrorKind),
    Os(i32),
}

struct State {
    file: u8,
    data: MemBlockReader,
    reads: Vec<AtomicU64>,
    started: AtomicU64,
    /// Failures to inject, one per read, in order.
    fail_next: Mutex<Vec<Fail>>,
    /// Fail every read whose sequence number (from 1) is a multiple of this (0 = never).
    fail_every: u64,
    gate: Option<Semaphore>,
}

/// A source that counts reads per block, fails on demand and can hold reads open at a gate.
#[derive(Clone)]
struct TestReader(Arc<State>);

fn block_byte(file: u8, blkno: u32, idx: usize) -> u8 {
    (u64::from(blkno).wrapping_mul(31) ^ (idx as u64).wrapping_mul(7) ^ u64::from(file) << 5) as u8
}

fn block_bytes(file: u8, blkno: u32) -> [u8; PAGE_SIZE] {
    let mut bytes = [0u8; PAGE_SIZE];
    for (idx, b) in bytes.iter_mut().enumerate() {
        *b = block_byte(file, blkno, idx);
    }
    bytes[..4].copy_from_slice(&blkno.to_le_bytes());
    bytes[4] = file;
    bytes
}

fn source(file: u8, n_blocks: u32) -> Vec<Block> {
    (0..n_blocks)
        .map(|blkno| Block::from_array(&block_bytes(file, blkno)))
        .collect()
}

impl TestReader {
    fn build(file: u8, n_blocks: u32, gated: bool, fail_every: u64) -> TestReader {
        TestReader(Arc::new(State {
            file,
            data: MemBlockReader::from_blocks(source(file, n_blocks)),
            reads: (0..n_blocks).map(|_| AtomicU64::new(0)).collect(),
            started: AtomicU64::new(0),
            fail_next: Mutex::new(Vec::new()),
            fail_every,
            gate: gated.then(|| Semaphore::new(0)),
        }))
    }

    fn new(n_blocks: u32) -> TestReader {
        TestReader::build(0, n_blocks, false, 0)
    }

    fn gated(n_blocks: u32) -> TestReader {
        TestReader::build(0, n_blocks, true, 0)
    }

    fn reads(&self, blkno: u32) -> u64 {
        self.0.reads[blkno as usize].load(Ordering::SeqCst)
    }

    fn total_reads(&self) -> u64 {
        self.0.reads.iter().map(|r| r.load(Ordering::SeqCst)).sum()
    }

    fn started(&self) -> u64 {
        self.0.started.load(Ordering::SeqCst)
    }

    fn fail_next(&self, fail: Fail) {
        self.0.fail_next.lock().unwrap().push(fail);
    }

    fn open_gate(&self, n: usize) {
        self.0.gate.as_ref().expect("gated reader").add_permits(n);
    }

    fn expected(&self, blkno: u32) -> [u8; PAGE_SIZE] {
        block_bytes(self.0.file, blkno)
    }
}

impl BlockReader for TestReader {
    async fn read_block(&self, blkno: BlockNo) -> Result<Block, Error> {
        let seq = self.0.started.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(r) = self.0.reads.get(blkno.0 as usize) {
            r.fetch_add(1, Ordering::SeqCst);
        }
        if let Some(gate) = &self.0.gate {
            gate.acquire().await.expect("gate open").forget();
        }
        let injected = {
            let mut fails = self.0.fail_next.lock().unwrap();
            if fails.is_empty() {
                None
            } else {
                Some(fails.remove(0))
            }
        };
        let injected = injected
            .or((self.0.fail_every != 0 && seq % self.0.fail_every == 0).then_some(Fail::Corrupt));
        match injected {
            None => self.0.data.read_block(blkno).await,
            Some(Fail::Corrupt) => Err(Error::Corrupt(Corruption::BlockPastEnd {
                blkno,
                n_blocks: 0,
            })),
            Some(Fail::Io(kind)) => Err(Error::Io(io::Error::new(kind, "injected failure"))),
            Some(Fail::Os(code)) => Err(Error::Io(io::Error::from_raw_os_error(code))),
        }
    }

    fn n_blocks(&self) -> u32 {
        self.0.data.n_blocks()
    }
}

/// Waits (yielding) until `cond` holds; the timeout only turns a bug's hang into a failure.
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let wait = async {
        while !cond() {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .unwrap_or_else(|_| panic!("condition never held: {what}"));
}

fn options(n_slots: usize, pinned_wait: Duration) -> PageCacheOptions {
    PageCacheOptions {
        n_slots,
        pinned_wait,
        ..PageCacheOptions::default()
    }
}

#[tokio::test]
async fn miss_then_hit_reads_source_once() {
    let src = TestReader::new(8);
    let cache = PageCache::new(4);
    let reader = cache.wrap(src.clone());
    let first = reader.read_block(BlockNo(3)).await.unwrap();
    let second = reader.read_block(BlockNo(3)).await.unwrap();
    assert_eq!(first[..], src.expected(3)[..]);
    assert!(
        std::ptr::eq(&*first, &*second),
        "a hit returns the cached page"
    );
    assert_eq!(src.reads(3), 1);
    let m = cache.metrics();
    assert_eq!((m.misses, m.hits, m.resident, m.evictions), (1, 1, 1, 0));
    assert_eq!(reader.n_blocks(), 8);
    assert_eq!(cache.n_slots(), 4);
}

#[tokio::test]
async fn clock_gives_referenced_pages_a_second_chance() {
    let src = TestReader::new(8);
    let cache = PageCache::new(2);
    let reader = cache.wrap(src.clone());
    for blkno in [0, 1, 0] {
        reader.read_block(BlockNo(blkno)).await.unwrap();
    }
    // Block 0 was hit (referenced), block 1 was not: loading 2 evicts 1.
    reader.read_block(BlockNo(2)).await.unwrap();
    assert_eq!(cache.metrics().evictions, 1);
    reader.read_block(BlockNo(0)).await.unwrap();
    assert_eq!(src.reads(0), 1, "block 0 survived");
    reader.read_block(BlockNo(1)).await.unwrap();
    assert_eq!(src.reads(1), 2, "block 1 was evicted");
    assert_eq!(cache.metrics().resident, 2);
}

#[tokio::test]
async fn pinned_page_is_never_evicted() {
    let src = TestReader::new(8);
    let cache = PageCache::new(2);
    let reader = cache.wrap(src.clone());
    let pinned = reader.read_block(BlockNo(0)).await.unwrap();
    for blkno in 1..6 {
        let block = reader.read_block(BlockNo(blkno)).await.unwrap();
        assert_eq!(block[..], src.expected(blkno)[..]);
    }
    assert_eq!(cache.metrics().evictions, 4);
    let again = reader.read_block(BlockNo(0)).await.unwrap();
    assert!(std::ptr::eq(&*pinned, &*again));
    assert_eq!(src.reads(0), 1);
}

#[tokio::test]
async fn all_slots_pinned_fails_typed_and_recovers() {
    let src = TestReader::new(8);
    let cache = PageCache::with_options(options(2, Duration::ZERO));
    let reader = cache.wrap(src.clone());
    let a = reader.read_block(BlockNo(0)).await.unwrap();
    let b = reader.read_block(BlockNo(1)).await.unwrap();
    let err = reader.read_block(BlockNo(2)).await.unwrap_err();
    assert!(matches!(err, Error::CacheFull { n_slots: 2 }), "{err:?}");
    assert_eq!(src.reads(2), 0, "no read without a slot");
    let m = cache.metrics();
    assert_eq!((m.cache_full, m.pinned_waits, m.fill_errors), (1, 1, 1));
    assert_eq!((m.resident, m.fills_in_flight), (2, 0));
    drop(a);
    let c = reader.read_block(BlockNo(2)).await.unwrap();
    assert_eq!(c[..], src.expected(2)[..]);
    assert_eq!(b[..], src.expected(1)[..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_slots_pinned_waits_until_a_pin_is_released() {
    let src = TestReader::new(8);
    let cache = PageCache::with_options(options(2, Duration::from_secs(60)));
    let reader = Arc::new(cache.wrap(src.clone()));
    let a = reader.read_block(BlockNo(0)).await.unwrap();
    let b = reader.read_block(BlockNo(1)).await.unwrap();
    let task = tokio::spawn({
        let reader = Arc::clone(&reader);
        async move { reader.read_block(BlockNo(5)).await }
    });
    until("miss is waiting for a slot", || {
        cache.metrics().pinned_waits == 1
    })
    .await;
    drop(b);
    let got = task.await.unwrap().unwrap();
    assert_eq!(got[..], src.expected(5)[..]);
    assert_eq!(cache.metrics().cache_full, 0);
    assert_eq!(a[..], src.expected(0)[..]);
}

#[tokio::test]
async fn failed_fill_leaves_nothing_and_next_read_retries() {
    for fail in [
        Fail::Corrupt,
        Fail::Io(io::ErrorKind::UnexpectedEof),
        Fail::Os(5),
    ] {
        let src = TestReader::new(8);
        let cache = PageCache::new(4);
        let reader = cache.wrap(src.clone());
        src.fail_next(fail);
        let err = reader.read_block(BlockNo(4)).await.unwrap_err();
        match fail {
            Fail::Corrupt => assert!(err.is_corrupt(), "{err:?}"),
            Fail::Io(kind) => {
                assert!(matches!(&err, Error::Io(e) if e.kind() == kind), "{err:?}")
            }
            Fail::Os(code) => {
                assert!(
                    matches!(&err, Error::Io(e) if e.raw_os_error() == Some(code)),
                    "{err:?}"
                )
            }
        }
        let m = cache.metrics();
        assert_eq!((m.resident, m.fills_in_flight, m.fill_errors), (0, 0, 1));
        let block = reader.read_block(BlockNo(4)).await.unwrap();
        assert_eq!(block[..], src.expected(4)[..]);
        assert_eq!(src.reads(4), 2);
        assert_eq!(cache.metrics().resident, 1);
    }
}

/// Starts `n` tasks reading `blkno` and waits until one is in the inner read and the rest wait
/// on its fill.
async fn start_readers(
    cache: &PageCache,
    reader: &Arc<strata_cache::CachedReader<TestReader>>,
    src: &TestReader,
    blkno: u32,
    n: u64,
) -> Vec<tokio::task::JoinHandle<Result<Block, Error>>> {
    let before = cache.metrics().waits;
    let tasks = (0..n)
        .map(|_| {
            let reader = Arc::clone(reader);
            tokio::spawn(async move { reader.read_block(BlockNo(blkno)).await })
        })
        .collect();
    until("one filler and n-1 waiters", || {
        src.started() >= 1 && cache.metrics().waits - before == n - 1
    })
    .await;
    tasks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_read_the_block_once() {
    let src = TestReader::gated(8);
    let cache = PageCache::new(4);
    let reader = Arc::new(cache.wrap(src.clone()));
    let tasks = start_readers(&cache, &reader, &src, 6, 16).await;
    assert_eq!(cache.metrics().fills_in_flight, 1);
    src.open_gate(1);
    let mut blocks = Vec::new();
    for task in tasks {
        blocks.push(task.await.unwrap().unwrap());
    }
    assert_eq!(src.reads(6), 1);
    assert_eq!(src.started(), 1);
    for block in &blocks {
        assert_eq!(block[..], src.expected(6)[..]);
        assert!(std::ptr::eq(&**block, &*blocks[0]), "all share one page");
    }
    let m = cache.metrics();
    assert_eq!(
        (m.misses, m.waits, m.fills_in_flight, m.resident),
        (1, 15, 0, 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_fill_reaches_every_waiter() {
    for fail in [Fail::Corrupt, Fail::Io(io::ErrorKind::TimedOut)] {
        let src = TestReader::gated(8);
        let cache = PageCache::new(4);
        let reader = Arc::new(cache.wrap(src.clone()));
        src.fail_next(fail);
        let tasks = start_readers(&cache, &reader, &src, 2, 8).await;
        src.open_gate(1);
        let mut n_shared = 0;
        for task in tasks {
            let err = task.await.unwrap().unwrap_err();
            match fail {
                Fail::Corrupt => assert!(
                    matches!(
                        &err,
                        Error::Corrupt(Corruption::BlockPastEnd {
                            blkno: BlockNo(2),
                            n_blocks: 0
                        })
                    ),
                    "{err:?}"
                ),
                _ => {
                    let Error::Io(e) = &err else {
                        panic!("{err:?}")
                    };
                    assert_eq!(e.kind(), io::ErrorKind::TimedOut);
                    assert!(e.to_string().contains("injected failure"), "{e}");
                    if e.get_ref()
                        .and_then(|r| r.downcast_ref::<ConcurrentFillError>())
                        .is_some()
                    {
                        n_shared += 1;
                    }
                }
            }
        }
        if matches!(fail, Fail::Io(_)) {
            assert_eq!(
                n_shared, 7,
                "the filler keeps its error, waiters get copies"
            );
        }
        assert_eq!(src.reads(2), 1, "waiters do not re-read a failed fill");
        assert_eq!(cache.metrics().resident, 0);
        src.open_gate(1);
        let block = reader.read_block(BlockNo(2)).await.unwrap();
        assert_eq!(block[..], src.expected(2)[..]);
        assert_eq!(src.reads(2), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_filler_hands_over_to_a_waiter() {
    let src = TestReader::gated(8);
    let cache = PageCache::new(4);
    let reader = Arc::new(cache.wrap(src.clone()));
    let filler = tokio::spawn({
        let reader = Arc::clone(&reader);
        async move { reader.read_block(BlockNo(1)).await }
    });
    until("filler in the inner read", || src.started() == 1).await;
    let waiter = tokio::spawn({
        let reader = Arc::clone(&reader);
        async move { reader.read_block(BlockNo(1)).await }
    });
    until("waiter joined", || cache.metrics().waits == 1).await;
    filler.abort();
    assert!(filler.await.unwrap_err().is_cancelled());
    until("waiter became the filler", || src.started() == 2).await;
    src.open_gate(1);
    let block = waiter.await.unwrap().unwrap();
    assert_eq!(block[..], src.expected(1)[..]);
    let m = cache.metrics();
    assert_eq!((m.fills_in_flight, m.resident, m.misses), (0, 1, 2));
}

#[tokio::test]
async fn drop_file_forgets_only_that_file() {
    let src_a = TestReader::new(4);
    let src_b = TestReader::build(1, 4, false, 0);
    let cache = PageCache::new(8);
    let a = cache.wrap(src_a.clone());
    let b = cache.wrap(src_b.clone());
    assert_ne!(a.file_id(), b.file_id());
    for blkno in 0..4 {
        let block_a = a.read_block(BlockNo(blkno)).await.unwrap();
        let block_b = b.read_block(BlockNo(blkno)).await.unwrap();
        assert_eq!(block_a[..], src_a.expected(blkno)[..]);
        assert_eq!(block_b[..], src_b.expected(blkno)[..]);
        assert_ne!(block_a[..], block_b[..]);
    }
    assert_eq!(cache.metrics().resident, 8);
    cache.drop_file(a.file_id());
    assert_eq!(cache.metrics().resident, 4);
    a.read_block(BlockNo(0)).await.unwrap();
    b.read_block(BlockNo(0)).await.unwrap();
    assert_eq!((src_a.reads(0), src_b.reads(0)), (2, 1));
    drop(b);
    let m = cache.metrics();
    assert_eq!((m.resident, m.evictions), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_file_during_fill_does_not_cache_the_page() {
    let src = TestReader::gated(4);
    let cache = PageCache::new(4);
    let reader = Arc::new(cache.wrap(src.clone()));
    let task = tokio::spawn({
        let reader = Arc::clone(&reader);
        async move { reader.read_block(BlockNo(3)).await }
    });
    until("fill in flight", || src.started() == 1).await;
    cache.drop_file(reader.file_id());
    assert_eq!(cache.metrics().fills_in_flight, 0);
    // Every read passes the gate: the fill in flight, the re-read of block 3, blocks 0 to 2.
    src.open_gate(5);
    let block = task.await.unwrap().unwrap();
    assert_eq!(block[..], src.expected(3)[..]);
    assert_eq!(
        cache.metrics().resident,
        0,
        "the dropped file's fill is not published"
    );
    reader.read_block(BlockNo(3)).await.unwrap();
    assert_eq!(src.reads(3), 2);
    // The slot of the unpublished fill was freed: all 4 slots are usable without eviction.
    for blkno in 0..3 {
        reader.read_block(BlockNo(blkno)).await.unwrap();
    }
    let m = cache.metrics();
    assert_eq!((m.resident, m.evictions), (4, 0));
}

#[tokio::test]
async fn past_end_is_corrupt_without_a_read() {
    let src = TestReader::new(2);
    let cache = PageCache::new(1);
    let reader = cache.wrap(src.clone());
    reader.read_block(BlockNo(0)).await.unwrap();
    let err = reader.read_block(BlockNo(2)).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Corrupt(Corruption::BlockPastEnd {
                blkno: BlockNo(2),
                n_blocks: 2
            })
        ),
        "{err:?}"
    );
    assert_eq!(src.started(), 1);
    let m = cache.metrics();
    assert_eq!(
        (m.resident, m.evictions),
        (1, 0),
        "a bad block number evicts nothing"
    );
}

#[tokio::test]
async fn read_blocks_caches_one_block_and_bypasses_runs() {
    let src = TestReader::new(8);
    let cache = PageCache::new(4);
    let reader = cache.wrap(src.clone());
    let mut one = vec![0u8; PAGE_SIZE];
    reader.read_blocks(BlockNo(5), &mut one).await.unwrap();
    assert_eq!(one[..], src.expected(5)[..]);
    reader.read_blocks(BlockNo(5), &mut one).await.unwrap();
    assert_eq!(src.reads(5), 1);
    let mut run = vec![0u8; 3 * PAGE_SIZE];
    reader.read_blocks(BlockNo(4), &mut run).await.unwrap();
    for (idx, chunk) in run.chunks(PAGE_SIZE).enumerate() {
        assert_eq!(chunk, &src.expected(4 + idx as u32)[..]);
    }
    let m = cache.metrics();
    assert_eq!(
        (m.misses, m.hits, m.resident),
        (1, 1, 1),
        "the run did not touch the cache"
    );
    assert_eq!(src.reads(5), 2);
    assert_eq!(reader.inner().n_blocks(), 8);
}

/// Checks that `run` holds the source's blocks from `first` on.
fn assert_run(src: &TestReader, first: u32, run: &[u8]) {
    for (blkno, chunk) in (first..).zip(run.chunks(PAGE_SIZE)) {
        assert_eq!(chunk, &src.expected(blkno)[..], "block {blkno}");
    }
}

#[tokio::test]
async fn runs_warm_a_cache_the_file_fits() {
    let src = TestReader::new(8);
    let cache = PageCache::new(16);
    let reader = cache.wrap(src.clone());
    // Block 0 is cached first; the run (one read of the source) admits the other seven.
    reader.read_block(BlockNo(0)).await.unwrap();
    let mut run = vec![0u8; 8 * PAGE_SIZE];
    reader.read_blocks(BlockNo(0), &mut run).await.unwrap();
    assert_run(&src, 0, &run);
    let m = cache.metrics();
    assert_eq!((m.misses, m.hits, m.admitted, m.resident), (1, 0, 7, 8));
    // Point reads are now hits: the source sees no more reads.
    for blkno in 0..8 {
        let block = reader.read_block(BlockNo(blkno)).await.unwrap();
        assert_eq!(block[..], src.expected(blkno)[..]);
    }
    assert_eq!(src.total_reads(), 9);
    let m = cache.metrics();
    assert_eq!((m.hits, m.misses, m.evictions), (8, 1, 0));
    // A run over cached pages reads the source (one I/O) and admits nothing twice.
    reader
        .read_blocks(BlockNo(2), &mut run[..3 * PAGE_SIZE])
        .await
        .unwrap();
    assert_run(&src, 2, &run[..3 * PAGE_SIZE]);
    let m = cache.metrics();
    assert_eq!((m.admitted, m.resident), (7, 8));
}

#[tokio::test]
async fn runs_never_evict_nor_fill_a_cache_too_small_for_the_file() {
    let src = TestReader::new(8);
    let cache = PageCache::new(6);
    let reader = cache.wrap(src.clone());
    let mut run = vec![0u8; 2 * PAGE_SIZE];
    // From block 0, 8 blocks remain but only 6 slots are free: nothing is admitted.
    reader.read_blocks(BlockNo(0), &mut run).await.unwrap();
    assert_eq!(cache.metrics().resident, 0);
    // From block 2, the 6 remaining blocks fit the 6 free slots: the run is admitted.
    reader.read_blocks(BlockNo(2), &mut run).await.unwrap();
    assert_run(&src, 2, &run);
    let m = cache.metrics();
    assert_eq!((m.admitted, m.resident), (2, 2));
    // From block 1, 7 blocks remain and 4 slots are free: nothing is admitted, nothing evicted.
    let mut run = vec![0u8; 3 * PAGE_SIZE];
    reader.read_blocks(BlockNo(1), &mut run).await.unwrap();
    assert_run(&src, 1, &run);
    let m = cache.metrics();
    assert_eq!((m.admitted, m.resident, m.evictions), (2, 2, 0));
    // From block 4, the 4 blocks left fit the 4 free slots: admitted.
    reader
        .read_blocks(BlockNo(4), &mut run[..2 * PAGE_SIZE])
        .await
        .unwrap();
    let m = cache.metrics();
    assert_eq!((m.admitted, m.resident, m.evictions), (4, 4, 0));
    for blkno in [2, 3, 4, 5] {
        let block = reader.read_block(BlockNo(blkno)).await.unwrap();
        assert_eq!(block[..], src.expected(blkno)[..]);
    }
    assert_eq!(cache.metrics().misses, 0, "the admitted pages are hits");
}

#[tokio::test]
async fn a_run_in_flight_when_its_file_is_dropped_admits_nothing() {
    let src = TestReader::gated(4);
    let cache = PageCache::new(8);
    let reader = Arc::new(cache.wrap(src.clone()));
    let task = tokio::spawn({
        let reader = Arc::clone(&reader);
        async move {
            let mut run = vec![0u8; 2 * PAGE_SIZE];
            reader.read_blocks(BlockNo(0), &mut run).await.map(|()| run)
        }
    });
    until("run in flight", || src.started() == 1).await;
    cache.drop_file(reader.file_id());
    src.open_gate(2);
    let run = task.await.unwrap().unwrap();
    assert_eq!(run[PAGE_SIZE..], src.expected(1)[..]);
    let m = cache.metrics();
    assert_eq!(
        (m.admitted, m.resident),
        (0, 0),
        "the dropped file gets no pages"
    );
}

#[tokio::test]
async fn an_eviction_never_touches_a_held_page() {
    let src = TestReader::new(8);
    let cache = PageCache::new(2);
    let reader = cache.wrap(src.clone());
    let held = reader.read_block(BlockNo(0)).await.unwrap();
    drop(reader.read_block(BlockNo(1)).await.unwrap());
    // Block 0 is pinned by `held`: block 2 takes block 1's slot.
    let two = reader.read_block(BlockNo(2)).await.unwrap();
    assert_eq!(two[..], src.expected(2)[..]);
    assert_eq!(
        held[..],
        src.expected(0)[..],
        "a held page is never overwritten"
    );
    let m = cache.metrics();
    assert_eq!(m.evictions, 1);
    drop(two);
    for blkno in 3..8 {
        let block = reader.read_block(BlockNo(blkno)).await.unwrap();
        assert_eq!(block[..], src.expected(blkno)[..]);
        assert_eq!(held[..], src.expected(0)[..]);
    }
    let m = cache.metrics();
    assert_eq!((m.evictions, m.resident), (6, 2));
    // A failed fill after an eviction publishes nothing; the next read retries.
    src.fail_next(Fail::Io(io::ErrorKind::UnexpectedEof));
    assert!(matches!(
        reader.read_block(BlockNo(1)).await,
        Err(Error::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof
    ));
    assert_eq!(
        reader.read_block(BlockNo(1)).await.unwrap()[..],
        src.expected(1)[..]
    );
}

#[tokio::test]
async fn default_options_and_clamped_slots() {
    let opts = PageCacheOptions::default();
    assert!(opts.n_slots >= 1 && opts.pinned_wait > Duration::ZERO);
    let cache = PageCache::new(0);
    assert_eq!(cache.n_slots(), 1);
    let src = TestReader::new(3);
    let reader = cache.wrap(src.clone());
    for blkno in [0, 1, 2, 0] {
        let block = reader.read_block(BlockNo(blkno)).await.unwrap();
        assert_eq!(block[..], src.expected(blkno)[..]);
    }
    assert_eq!(cache.metrics().evictions, 3);
}

/// A tiny deterministic generator for the stress test.
struct SplitMix(u64);

impl SplitMix {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

async fn stress(fail_every: u64) {
    const N_TASKS: u64 = 16;
    const N_READS: u64 = 1500;
    const N_BLOCKS: u32 = 300;
    const N_SLOTS: usize = 64;
    let cache = PageCache::with_options(options(N_SLOTS, Duration::from_secs(60)));
    let sources: Vec<TestReader> = (0..2)
        .map(|file| TestReader::build(file, N_BLOCKS, false, fail_every))
        .collect();
    let readers: Vec<_> = sources
        .iter()
        .map(|s| Arc::new(cache.wrap(s.clone())))
        .collect();
    let expected: Arc<Vec<Vec<[u8; PAGE_SIZE]>>> = Arc::new(
        sources
            .iter()
            .map(|s| (0..N_BLOCKS).map(|b| s.expected(b)).collect())
            .collect(),
    );
    let mut tasks = Vec::new();
    for task_idx in 0..N_TASKS {
        let readers = readers.clone();
        let expected = Arc::clone(&expected);
        tasks.push(tokio::spawn(async move {
            let mut rng = SplitMix(task_idx);
            let mut pins = std::collections::VecDeque::new();
            let mut n_errors = 0u64;
            for _ in 0..N_READS {
                let file = rng.below(2) as usize;
                // Skewed: half the reads go to the first 32 blocks.
                let blkno = if rng.below(2) == 0 {
                    rng.below(32)
                } else {
                    rng.below(u64::from(N_BLOCKS))
                } as u32;
                match readers[file].read_block(BlockNo(blkno)).await {
                    Ok(block) => {
                        assert!(
                            block[..] == expected[file][blkno as usize][..],
                            "wrong bytes"
                        );
                        pins.push_back(block);
                        if pins.len() > 2 {
                            pins.pop_front();
                        }
                    }
                    Err(err) => {
                        assert!(fail_every != 0 && err.is_corrupt(), "unexpected {err:?}");
                        n_errors += 1;
                    }
                }
                if rng.below(4) == 0 {
                    tokio::task::yield_now().await;
                }
            }
            n_errors
        }));
    }
    let mut n_errors = 0;
    for task in tasks {
        n_errors += task.await.unwrap();
    }
    let m = cache.metrics();
    let inner_reads: u64 = sources.iter().map(TestReader::total_reads).sum();
    assert_eq!(m.fills_in_flight, 0);
    assert!(m.resident <= N_SLOTS as u64);
    assert_eq!(m.cache_full, 0);
    assert_eq!(inner_reads, m.misses, "one inner read per miss");
    assert_eq!(
        m.hits + m.misses + m.waits,
        N_TASKS * N_READS,
        "each read is counted once"
    );
    assert!(m.misses <= 2 * u64::from(N_BLOCKS) + m.evictions + m.fill_errors);
    assert!(m.hits > 0 && m.evictions > 0);
    if fail_every == 0 {
        assert_eq!((n_errors, m.fill_errors), (0, 0));
    } else {
        assert!(m.fill_errors > 0 && n_errors >= m.fill_errors);
    }
    drop(readers);
    assert_eq!(cache.metrics().resident, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stress_many_tasks_more_blocks_than_slots() {
    stress(0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stress_with_failing_reads() {
    stress(37).await;
}

/// A miss that evicts a page no reader holds reads into that page's buffer (no new page is
/// allocated); the bytes are the new block's, and a failed read into it leaves nothing behind.
#[tokio::test]
async fn a_fill_reuses_the_evicted_pages_buffer() {
    let src = TestReader::new(4);
    let cache = PageCache::new(1);
    let reader = cache.wrap(src.clone());
    let first = reader.read_block(BlockNo(0)).await.unwrap();
    let buffer = first.as_ptr();
    drop(first);
    let second = reader.read_block(BlockNo(1)).await.unwrap();
    assert_eq!(
        second.as_ptr(),
        buffer,
        "the evicted page's buffer was reused"
    );
    assert_eq!(second[..], src.expected(1)[..]);
    drop(second);
    // A failed read into the recycled buffer: an error, no page, and the retry reads again.
    src.fail_next(Fail::Io(io::ErrorKind::Other));
    assert!(reader.read_block(BlockNo(2)).await.is_err());
    assert_eq!(cache.metrics().resident, 0);
    let third = reader.read_block(BlockNo(2)).await.unwrap();
    assert_eq!(third[..], src.expected(2)[..]);
    assert_eq!((src.reads(0), src.reads(1), src.reads(2)), (1, 1, 2));
    let m = cache.metrics();
    assert_eq!(
        (m.misses, m.evictions, m.fill_errors, m.resident),
        (4, 2, 1, 1)
    );
}

/// `with_block` sees the bytes `read_block` gives: a miss fills the page (one source read), a
/// hit lends the cached page without a handle (an eviction is not blocked by it), and a block
/// past the end is corrupt without a read.
#[tokio::test]
async fn with_block_lends_the_cached_page() {
    let src = TestReader::new(4);
    let cache = PageCache::new(1);
    let reader = cache.wrap(src.clone());
    let sum = |page: &[u8; PAGE_SIZE]| page.iter().map(|&b| u64::from(b)).sum::<u64>();
    let expected: u64 = src.expected(2).iter().map(|&b| u64::from(b)).sum();
    // Miss, then hit: the same bytes, one read of the source.
    assert_eq!(reader.with_block(BlockNo(2), sum).await.unwrap(), expected);
    assert_eq!(reader.with_block(BlockNo(2), sum).await.unwrap(), expected);
    let copied = reader.with_block(BlockNo(2), |p| p.to_vec()).await.unwrap();
    assert_eq!(copied[..], src.expected(2)[..]);
    assert_eq!(src.reads(2), 1);
    let m = cache.metrics();
    assert_eq!((m.misses, m.hits, m.resident), (1, 2, 1));
    // No handle outlives the call: the one slot is free to take block 3.
    let same = reader.with_block(BlockNo(3), |p| p[..] == src.expected(3)[..]);
    assert!(same.await.unwrap());
    assert_eq!(cache.metrics().evictions, 1);
    // Past the end: corrupt, and nothing is read or evicted.
    let err = reader.with_block(BlockNo(4), sum).await.unwrap_err();
    assert!(matches!(
        err,
        Error::Corrupt(Corruption::BlockPastEnd { n_blocks: 4, .. })
    ));
    assert_eq!(cache.metrics().evictions, 1);
    // A failed fill: the error, no page, and the next call reads again.
    src.fail_next(Fail::Io(io::ErrorKind::Other));
    assert!(reader.with_block(BlockNo(0), sum).await.is_err());
    assert_eq!(cache.metrics().resident, 0);
    let first: u64 = src.expected(0).iter().map(|&b| u64::from(b)).sum();
    assert_eq!(reader.with_block(BlockNo(0), sum).await.unwrap(), first);
    assert_eq!(src.reads(0), 2);
}

/// `len` bytes of `src` from byte `offset`.
fn source_bytes(src: &TestReader, offset: u64, len: usize) -> Vec<u8> {
    let page = PAGE_SIZE as u64;
    let blocks = (offset / page)..(offset + len as u64).div_ceil(page);
    let all: Vec<u8> = blocks.flat_map(|b| src.expected(b as u32)).collect();
    let from = (offset % page) as usize;
    all[from..from + len].to_vec()
}

async fn read_at<R: BlockReader>(reader: &R, offset: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0xEE; len];
    reader.read_at(offset, &mut buf).await.unwrap();
    buf
}

/// `read_at` copies the pages the cache holds and fills missed pages while slots are free; in
/// a full cache a page missed for the first time is read from the source without being cached
/// (bypassed), and cached at its second miss. The bytes are always the source's.
#[tokio::test]
async fn read_at_bypasses_a_full_cache_until_a_page_is_missed_twice() {
    let page = PAGE_SIZE as u64;
    let src = TestReader::new(8);
    let cache = PageCache::new(2);
    let reader = cache.wrap(src.clone());
    // Free slots: blocks 0 and 1 are filled by a range across them.
    let got = read_at(&reader, page - 100, 300).await;
    assert_eq!(got, source_bytes(&src, page - 100, 300));
    let m = cache.metrics();
    assert_eq!((m.misses, m.resident, m.bypassed), (2, 2, 0));
    // Full: blocks 3 and 4 come from the source, uncached; nothing is evicted.
    let got = read_at(&reader, 3 * page + 10, PAGE_SIZE + 50).await;
    assert_eq!(got, source_bytes(&src, 3 * page + 10, PAGE_SIZE + 50));
    let m = cache.metrics();
    assert_eq!((m.misses, m.bypassed, m.evictions), (2, 2, 0));
    assert_eq!((src.reads(3), src.reads(4)), (1, 1));
    // Held pages are hits; a missed page after them is read in the same call.
    let got = read_at(&reader, 0, 3 * PAGE_SIZE).await;
    assert_eq!(got, source_bytes(&src, 0, 3 * PAGE_SIZE));
    assert_eq!((src.reads(0), src.reads(1), src.reads(2)), (1, 1, 1));
    let m = cache.metrics();
    assert_eq!((m.hits, m.bypassed), (2, 3));
    // The second miss of block 3 fills it (evicting one page).
    let got = read_at(&reader, 3 * page + 5, 20).await;
    assert_eq!(got, source_bytes(&src, 3 * page + 5, 20));
    let m = cache.metrics();
    assert_eq!(
        (m.misses, m.evictions, m.bypassed, m.resident),
        (3, 1, 3, 2)
    );
    let got = read_at(&reader, 3 * page, 8).await;
    assert_eq!(got, source_bytes(&src, 3 * page, 8));
    assert_eq!(src.reads(3), 2, "block 3 is held now");
    // `append_at` gives the same bytes after what the buffer held (a held page, a bypassed one).
    let mut out = bytes::BytesMut::from(&b"kept"[..]);
    reader
        .append_at(page + 7, PAGE_SIZE, &mut out)
        .await
        .unwrap();
    assert_eq!(&out[..4], b"kept");
    assert_eq!(out[4..], source_bytes(&src, page + 7, PAGE_SIZE)[..]);
    // Past the end: corrupt, before any read, and the buffer is as it was.
    let before = src.total_reads();
    let err = reader
        .append_at(8 * page - 5, 10, &mut out)
        .await
        .unwrap_err();
    assert!(err.is_corrupt());
    assert_eq!(out.len(), 4 + PAGE_SIZE);
    let mut buf = [0u8; 10];
    let err = reader.read_at(8 * page - 5, &mut buf).await.unwrap_err();
    assert!(matches!(
        err,
        Error::Corrupt(Corruption::BlockPastEnd {
            blkno: BlockNo(8),
            n_blocks: 8
        })
    ));
    assert_eq!(src.total_reads(), before);
}

#[tokio::test]
async fn pages_live_in_the_caches_slab_and_freed_ones_are_reused() {
    let src = TestReader::new(64);
    let cache = PageCache::new(4);
    let reader = cache.wrap(src.clone());
    assert_eq!(
        cache.metrics().page_memory_bytes,
        0,
        "no page before a read"
    );
    let one_extent = (4 * PAGE_SIZE) as u64;
    for _round in 0..3 {
        for blkno in 0..64 {
            let block = reader.read_block(BlockNo(blkno)).await.unwrap();
            assert_eq!(block[..], src.expected(blkno)[..]);
        }
    }
    let m = cache.metrics();
    assert_eq!(m.evictions, 3 * 64 - 4);
    assert_eq!(
        m.page_memory_bytes, one_extent,
        "evictions refill the evicted pages"
    );
    // Pages a reader keeps after their file is dropped stay its own; new fills need new pages.
    let mut held = Vec::new();
    for blkno in 0..4 {
        held.push(reader.read_block(BlockNo(blkno)).await.unwrap());
    }
    cache.drop_file(reader.file_id());
    for blkno in 10..14 {
        let block = reader.read_block(BlockNo(blkno)).await.unwrap();
        assert_eq!(block[..], src.expected(blkno)[..]);
    }
    assert_eq!(cache.metrics().page_memory_bytes, 2 * one_extent);
    for (blkno, block) in (0..).zip(&held) {
        assert_eq!(
            block[..],
            src.expected(blkno)[..],
            "a kept page never changes"
        );
    }
    // Once dropped, those pages are reused before the slab grows.
    drop(held);
    cache.drop_file(reader.file_id());
    for blkno in 20..24 {
        let block = reader.read_block(BlockNo(blkno)).await.unwrap();
        assert_eq!(block[..], src.expected(blkno)[..]);
    }
    assert_eq!(cache.metrics().page_memory_bytes, 2 * one_extent);
}

#[tokio::test]
async fn without_huge_pages_each_page_is_its_own_allocation() {
    let src = TestReader::new(16);
    let cache = PageCache::with_options(PageCacheOptions {
        n_slots: 4,
        huge_pages: false,
        ..PageCacheOptions::default()
    });
    let reader = cache.wrap(src.clone());
    for _round in 0..2 {
        for blkno in 0..16 {
            let block = reader.read_block(BlockNo(blkno)).await.unwrap();
            assert_eq!(block[..], src.expected(blkno)[..]);
        }
    }
    let m = cache.metrics();
    assert_eq!((m.misses, m.evictions, m.resident), (32, 28, 4));
    assert_eq!(m.page_memory_bytes, 0, "no slab");
}
