//! Read faults under a delta layer ([`FaultyBlockReader`]): for each read path (open, point
//! lookups, vectored lookups, full scan, per-entry loads, verify), with and without a [`PageCache`]
//! in between, every read a clean run makes is failed in turn (an I/O error, then a short read).
//! The operation (open included) returns that error; retried over the same source and cache it
//! returns exactly the clean run's result, which is checked once against the values written; the
//! cache then holds no failed or stale page (every block read through it equals the file) and its
//! metrics add up (one miss per inner block read, one fill error per failed fill, nothing in
//! flight, never over its size). Garbled reads (no error) give a result or a corruption error, and
//! a fresh wrap of the source reads correct data. Writer faults are in `tests/it/faults_write.rs`.

use std::collections::BTreeMap;
use std::sync::Arc;

use strata_blob::testing::fault::{FaultyBlockReader, InjectedReadFault, ReadFault};
use strata_blob::{BlockNo, BlockReader, FileBlockReader, PAGE_SIZE};
use strata_cache::{PageCache, PageCacheOptions};
use strata_delta::workload::{
    WORKLOAD_TENANT, WORKLOAD_TIMELINE, WorkloadParams, workload_key, workload_lsn,
};
use strata_delta::{
    DeltaEntry, DeltaLayer, DeltaLayerWriter, Error, Finding, KeyReconstruct, OpenOptions, Value,
    ValueReconstructResult, ValueReconstructState, VectoredReconstructState,
};
use strata_key::{Key, KeyRange, Lsn, LsnRange};

const PARAMS: WorkloadParams = WorkloadParams {
    keys: 60,
    records: 10,
    image_size: 3000,
    seed: 7,
};

type Source = Arc<FaultyBlockReader<FileBlockReader>>;

/// Page-cache slots: fewer than the file's blocks, so reads evict.
const CACHE_SLOTS: usize = 12;

/// The [`PARAMS`] layer on disk and its bytes.
struct Fixture {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    bytes: Vec<u8>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut w = DeltaLayerWriter::new(
        dir.path(),
        WORKLOAD_TENANT,
        WORKLOAD_TIMELINE,
        PARAMS.key_range().start,
        PARAMS.lsn_range(),
    )
    .unwrap();
    for (key, lsn, value) in PARAMS.entries() {
        w.put_value(key, lsn, &value).unwrap();
    }
    let desc = w.finish(PARAMS.key_range().end).unwrap();
    let bytes = std::fs::read(&desc.path).unwrap();
    assert!(bytes.len() / PAGE_SIZE > 2 * CACHE_SLOTS, "{}", bytes.len());
    Fixture {
        _dir: dir,
        path: desc.path,
        bytes,
    }
}

impl Fixture {
    fn source(&self) -> Source {
        Arc::new(FaultyBlockReader::new(
            FileBlockReader::open(&self.path).unwrap(),
        ))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReadOp {
    /// Point lookups ([`DeltaLayer::get_value_reconstruct_data`]).
    Get,
    /// Vectored lookups, one key with a cached LSN.
    Vectored,
    /// Full scan: [`DeltaLayer::iter`] and its run-buffered `load_value`.
    Scan,
    /// [`DeltaLayer::load_keys`] and [`DeltaEntry::load_value`] of every 4th entry.
    Entries,
    /// [`DeltaLayer::verify`].
    Verify,
}

const READ_OPS: [ReadOp; 5] = [
    ReadOp::Get,
    ReadOp::Vectored,
    ReadOp::Scan,
    ReadOp::Entries,
    ReadOp::Verify,
];

#[derive(Debug, PartialEq)]
enum Output {
    Get(Vec<(ValueReconstructResult, ValueReconstructState)>),
    Vectored(BTreeMap<Key, KeyReconstruct>),
    Scan(Vec<(DeltaEntry, Value)>),
    Entries(Vec<Value>),
    Verify(Vec<Finding>),
}

fn get_queries() -> Vec<(Key, LsnRange)> {
    let lsn = |k, j| workload_lsn(&PARAMS, k, j);
    [0, 1, 17, 30, 59]
        .into_iter()
        .flat_map(|k| {
            [
                (workload_key(k), PARAMS.lsn_range()),
                (workload_key(k), LsnRange::new(lsn(k, 3), lsn(k, 8))),
            ]
        })
        .collect()
}

/// Vectored lookup: ranges, end LSN, and the one cached (key, LSN).
fn vectored_query() -> (Vec<KeyRange>, Lsn, (Key, Lsn)) {
    let key = workload_key;
    let ranges = vec![
        KeyRange::new(key(3), key(9)),
        KeyRange::new(key(20), key(26)),
        KeyRange::new(key(57), PARAMS.key_range().end),
    ];
    let end = workload_lsn(&PARAMS, 58, 6);
    (ranges, end, (key(20), workload_lsn(&PARAMS, 20, 4)))
}

/// Opens the layer over `reader` and runs `op`.
async fn run_op<R: BlockReader>(reader: &R, op: ReadOp) -> Result<Output, Error> {
    let layer = DeltaLayer::from_reader(reader, OpenOptions::default()).await?;
    Ok(match op {
        ReadOp::Get => {
            let mut out = Vec::new();
            for (key, range) in get_queries() {
                let mut state = ValueReconstructState::default();
                let res = layer
                    .get_value_reconstruct_data(key, range, &mut state)
                    .await?;
                out.push((res, state));
            }
            Output::Get(out)
        }
        ReadOp::Vectored => {
            let (ranges, end, (key, lsn)) = vectored_query();
            let mut states = VectoredReconstructState::new();
            states.set_cached_lsn(key, lsn);
            layer
                .get_values_reconstruct_data(&ranges, end, &mut states)
                .await?;
            Output::Vectored(states.into_keys())
        }
        ReadOp::Scan => {
            let mut out = Vec::new();
            let mut iter = layer.iter();
            while let Some(entry) = iter.next().await {
                let entry = entry?;
                out.push((entry, iter.load_value(&entry).await?));
            }
            Output::Scan(out)
        }
        ReadOp::Entries => {
            let mut out = Vec::new();
            for entry in layer.load_keys().await?.iter().step_by(4) {
                out.push(entry.load_value(&layer).await?);
            }
            Output::Entries(out)
        }
        ReadOp::Verify => Output::Verify(layer.verify().await?),
    })
}

/// The history of `key` in `range` as written: newest first, up to the first image.
fn model_get(key: Key, range: LsnRange) -> (ValueReconstructResult, ValueReconstructState) {
    let mut state = ValueReconstructState::default();
    let mut versions: Vec<(Lsn, Value)> = PARAMS
        .entries()
        .filter(|(k, lsn, _)| *k == key && range.contains(*lsn))
        .map(|(_, lsn, v)| (lsn, v))
        .collect();
    versions.reverse();
    for (lsn, value) in versions {
        match value {
            Value::Image(img) => {
                state.img = Some((lsn, img));
                return (ValueReconstructResult::Complete, state);
            }
            Value::WalRecord(rec) => state.records.push((lsn, rec)),
        }
    }
    (ValueReconstructResult::Continue, state)
}

/// Checks a clean run's output against the values written (not against another read).
fn check_against_model(out: &Output) {
    let written: Vec<(Key, Lsn, Value)> = PARAMS.entries().collect();
    match out {
        Output::Get(got) => {
            let expect: Vec<_> = get_queries()
                .into_iter()
                .map(|(k, r)| model_get(k, r))
                .collect();
            assert!(*got == expect, "get");
            assert!(
                got.iter()
                    .any(|(r, _)| *r == ValueReconstructResult::Continue)
            );
        }
        Output::Vectored(got) => {
            let (ranges, end, (cached_key, cached_lsn)) = vectored_query();
            let mut expect = BTreeMap::new();
            for (key, ..) in written
                .iter()
                .filter(|(k, ..)| ranges.iter().any(|r| r.contains(k)))
            {
                let start = if *key == cached_key {
                    Lsn(cached_lsn.0 + 1)
                } else {
                    Lsn(0)
                };
                let (result, state) = model_get(*key, LsnRange::new(start, end));
                if state.img.is_some() || !state.records.is_empty() {
                    expect.insert(*key, KeyReconstruct { result, state });
                }
            }
            assert_eq!(expect.len(), 6 + 6 + 2);
            assert!(*got == expect, "vectored");
        }
        Output::Scan(got) => {
            let got: Vec<_> = got.iter().map(|(e, v)| (e.key, e.lsn, v.clone())).collect();
            assert!(got == written, "scan");
        }
        Output::Entries(got) => {
            let expect: Vec<_> = written.iter().step_by(4).map(|(.., v)| v.clone()).collect();
            assert!(*got == expect, "entries");
        }
        Output::Verify(findings) => assert_eq!(findings, &Vec::<Finding>::new()),
    }
}

/// Every block read through `reader` equals the file's: no failed fill left a page behind,
/// and no page is stale.
async fn assert_no_stale_page<R: BlockReader>(reader: &R, fx: &Fixture) {
    let n_blocks = reader.n_blocks();
    assert_eq!(n_blocks as usize, fx.bytes.len() / PAGE_SIZE);
    for (b, expect) in (0..n_blocks).zip(fx.bytes.chunks_exact(PAGE_SIZE)) {
        let block = reader.read_block(BlockNo(b)).await.unwrap();
        assert!(block[..] == *expect, "block {b}");
    }
}

/// The cache's books balance with what the source saw.
fn assert_metrics(cache: &PageCache, src: &Source, fill_errors: u64) {
    let m = cache.metrics();
    assert_eq!(m.fills_in_flight, 0, "{m:?}");
    assert_eq!(m.cache_full, 0, "{m:?}");
    assert!(m.resident <= CACHE_SLOTS as u64, "{m:?}");
    assert_eq!(m.fill_errors, fill_errors, "{m:?}");
    assert_eq!(
        m.misses,
        src.count_single_block(),
        "one inner read per miss (a `read_block`, or a one-block `read_blocks` into an evicted page's buffer): {m:?}"
    );
}

/// Runs `op` over a fresh source (through a fresh cache when `cached`) with `fault` planned
/// for read `nth`, or none; checks the error, retries, and checks the result and the cache.
async fn faulty_run(
    fx: &Fixture,
    op: ReadOp,
    cached: bool,
    plan: Option<(u64, ReadFault)>,
    expect: Option<&Output>,
) -> (Output, u64) {
    let src = fx.source();
    if let Some((nth, fault)) = plan {
        src.inject(nth, fault);
    }
    let cache = PageCache::with_options(PageCacheOptions {
        n_slots: CACHE_SLOTS,
        ..Default::default()
    });
    let cached_reader = cache.wrap(Arc::clone(&src));
    let run = async || {
        if cached {
            run_op(&cached_reader, op).await
        } else {
            run_op(&src, op).await
        }
    };
    let mut fill_errors = 0;
    if let Some((nth, fault)) = plan {
        let err = run().await.expect_err("an injected read fault is an error");
        let Error::Io(io) = &err else {
            panic!("{op:?} read #{nth}: {err:?}")
        };
        let injected = InjectedReadFault::of(io).unwrap_or_else(|| panic!("{op:?} #{nth}: {io:?}"));
        assert_eq!((injected.nth, injected.fault), (nth, fault));
        let kind = if fault == ReadFault::ShortRead {
            std::io::ErrorKind::UnexpectedEof
        } else {
            std::io::ErrorKind::Other
        };
        assert_eq!(io.kind(), kind);
        if cached {
            fill_errors = u64::from(injected.n_blocks == 1);
            assert_metrics(&cache, &src, fill_errors);
        }
    }
    let reads_before = src.count();
    let out = run()
        .await
        .unwrap_or_else(|e| panic!("{op:?} retry after {plan:?}: {e:?}"));
    let n_reads = src.count() - reads_before;
    if let Some(expect) = expect {
        assert!(
            out == *expect,
            "{op:?} cached={cached} retry after {plan:?}"
        );
    }
    if cached {
        assert_metrics(&cache, &src, fill_errors);
        assert_no_stale_page(&cached_reader, fx).await;
        assert_metrics(&cache, &src, fill_errors);
    } else {
        assert_no_stale_page(&src, fx).await;
    }
    assert_eq!(src.n_fired(), u64::from(plan.is_some()));
    (out, n_reads)
}

/// Sweeps every read of a clean `op` with an I/O error and a short read, with and without the
/// page cache; returns the number of faulty runs.
async fn sweep(op: ReadOp) -> u64 {
    let fx = fixture();
    let mut n_runs = 0;
    for cached in [false, true] {
        let (clean, n_reads) = faulty_run(&fx, op, cached, None, None).await;
        check_against_model(&clean);
        assert!(n_reads >= 2, "{op:?}: {n_reads} reads");
        for nth in 0..n_reads {
            for fault in [ReadFault::Fail, ReadFault::ShortRead] {
                let (_, n) = faulty_run(&fx, op, cached, Some((nth, fault)), Some(&clean)).await;
                if !cached {
                    // Without a cache the retry makes exactly the clean run's reads.
                    assert_eq!(n, n_reads, "{op:?} read #{nth}");
                }
                n_runs += 1;
            }
        }
    }
    n_runs
}

#[tokio::test]
async fn read_faults_in_point_lookups() {
    assert!(sweep(ReadOp::Get).await > 40);
}

#[tokio::test]
async fn read_faults_in_vectored_lookups() {
    assert!(sweep(ReadOp::Vectored).await > 10);
}

#[tokio::test]
async fn read_faults_in_full_scans() {
    assert!(sweep(ReadOp::Scan).await > 10);
}

#[tokio::test]
async fn read_faults_in_entry_loads() {
    assert!(sweep(ReadOp::Entries).await > 40);
}

#[tokio::test]
async fn read_faults_in_verify() {
    assert!(sweep(ReadOp::Verify).await > 10);
}

/// A read that succeeds with garbled bytes (no error to see): every operation returns a result
/// or a corruption error, never an I/O error or a panic. The cache cannot tell a garbled page
/// from a good one (the format has no checksums), so it serves it until the file's pages are
/// dropped; a fresh wrap of the same source then reads correct data.
#[tokio::test]
async fn garbled_reads_are_corrupt_or_wrong_until_dropped() {
    let fx = fixture();
    let mut n_detected = 0;
    let mut n_runs = 0;
    for op in READ_OPS {
        let (clean, n_reads) = faulty_run(&fx, op, true, None, None).await;
        for nth in 0..n_reads {
            let src = fx.source();
            src.inject(nth, ReadFault::Garble);
            let cache = PageCache::new(CACHE_SLOTS);
            let reader = cache.wrap(Arc::clone(&src));
            match run_op(&reader, op).await {
                Ok(out) => n_detected += u64::from(out != clean),
                Err(Error::Corrupt(_)) => n_detected += 1,
                Err(e) => panic!("{op:?} garbled read #{nth}: {e:?}"),
            }
            assert_eq!(src.n_fired(), 1);
            drop(reader);
            assert_eq!(cache.metrics().resident, 0);
            let reader = cache.wrap(Arc::clone(&src));
            assert!(run_op(&reader, op).await.unwrap() == clean, "{op:?} #{nth}");
            assert_no_stale_page(&reader, &fx).await;
            n_runs += 1;
        }
    }
    // Nearly every garbled block changes a result or is caught.
    assert!(n_detected * 10 >= n_runs * 9, "{n_detected} of {n_runs}");
}

/// A full scan that keeps its iterator across a failed value read: retrying `load_value` on the
/// same iterator returns the right value (the run buffer keeps nothing of a failed or short
/// read), and the scan goes on to return every value written.
#[tokio::test]
async fn scan_retries_a_failed_value_read_in_place() {
    let fx = fixture();
    let written: Vec<(Key, Lsn, Value)> = PARAMS.entries().collect();
    let (_, n_reads) = faulty_run(&fx, ReadOp::Scan, false, None, None).await;
    let mut n_in_place = 0;
    for nth in 1..n_reads {
        for fault in [ReadFault::Fail, ReadFault::ShortRead] {
            let src = fx.source();
            src.inject(nth, fault);
            let layer = DeltaLayer::from_reader(&src, OpenOptions::default())
                .await
                .unwrap();
            let mut iter = layer.iter();
            let mut got = Vec::new();
            let mut index_failed = false;
            while let Some(entry) = iter.next().await {
                let Ok(entry) = entry else {
                    index_failed = true;
                    assert!(iter.next().await.is_none(), "finished after an error");
                    break;
                };
                let value = match iter.load_value(&entry).await {
                    Ok(value) => value,
                    Err(Error::Io(io)) if InjectedReadFault::of(&io).is_some() => {
                        n_in_place += 1;
                        iter.load_value(&entry).await.unwrap()
                    }
                    Err(e) => panic!("read #{nth} {fault:?}: {e:?}"),
                };
                got.push((entry.key, entry.lsn, value));
            }
            assert_eq!(src.n_fired(), 1);
            if !index_failed {
                assert!(got == written, "read #{nth} {fault:?}");
            }
        }
    }
    assert!(n_in_place >= 2, "{n_in_place}");
}

/// A point lookup that fails part-way (after some of the key's records were read) leaves the
/// caller's state as it was, so a retry with the same state collects each record once.
/// Regression: records read before the failure stayed in the state and a retry duplicated them.
#[tokio::test]
async fn failed_point_lookup_leaves_the_state_unchanged() {
    let fx = fixture();
    let (key, range) = (workload_key(30), PARAMS.lsn_range());
    let expect = model_get(key, range);
    let lookup = async |src: &Source, state: &mut ValueReconstructState| {
        let layer = DeltaLayer::from_reader(src, OpenOptions::default()).await?;
        layer.get_value_reconstruct_data(key, range, state).await
    };
    let src = fx.source();
    let mut state = ValueReconstructState::default();
    assert_eq!(lookup(&src, &mut state).await.unwrap(), expect.0);
    let n_reads = src.count();
    let mut n_runs = 0;
    for nth in 0..n_reads {
        let src = fx.source();
        src.inject(nth, ReadFault::Fail);
        let mut state = ValueReconstructState::default();
        state.records.push((Lsn(1), expect.1.records[0].1.clone()));
        let before = state.clone();
        assert!(lookup(&src, &mut state).await.is_err(), "read #{nth}");
        assert_eq!(
            state, before,
            "read #{nth}: the failed lookup changed the state"
        );
        state.records.clear();
        assert_eq!(lookup(&src, &mut state).await.unwrap(), expect.0);
        assert_eq!(state, expect.1, "read #{nth}");
        n_runs += 1;
    }
    assert!(n_runs >= 3, "{n_runs}");
}
