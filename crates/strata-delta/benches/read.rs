//! Criterion benches of the delta layer reader on the standard workload (WORKLOAD.md) with a
//! modest K (default 2000; `STRATA_BENCH_KEYS` overrides), written to a temp dir:
//!
//! * `strata-delta/get`: warm point reads of page history through a page cache holding the
//!   whole file, drawn as WORKLOAD.md's `lookup_warm` (key `k`, LSNs `0x1000000..lsn(k,j)+1`,
//!   answer Complete with the image and `j` records).
//! * `strata-delta/get/cold`: the same reads through a cache of one eighth of the file's
//!   blocks (WORKLOAD.md's `lookup_cold`).
//! * `strata-delta/get/latest`: warm single-version reads (`get_latest` of key `k` at
//!   `lsn(k,j)`, drawn as the lookups are; `strata bench`'s `get_latest_per_s`).
//! * `strata-delta/scan`: a warm full scan, every entry's value read and decoded.
//!
//! Lookups run inside one `block_on` per sample (`iter_custom`), so the runtime's entry cost
//! is not counted per operation.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use strata_blob::{FileTable, TableFile};
use strata_cache::{CachedReader, PageCache};
use strata_delta::workload::{
    SplitMix64, WORKLOAD_TENANT, WORKLOAD_TIMELINE, WorkloadParams, workload_key, workload_lsn,
};
use strata_delta::{DeltaLayer, DeltaLayerWriter, ValueReconstructResult, ValueReconstructState};
use strata_key::{Lsn, LsnRange};
use strata_testkit::time_runs;

fn params() -> WorkloadParams {
    WorkloadParams {
        keys: strata_testkit::bench_keys(2000),
        ..WorkloadParams::default()
    }
}

fn write_layer(dir: &Path, params: &WorkloadParams) -> std::path::PathBuf {
    let mut writer = DeltaLayerWriter::new(
        dir,
        WORKLOAD_TENANT,
        WORKLOAD_TIMELINE,
        params.key_range().start,
        params.lsn_range(),
    )
    .expect("writer");
    for (key, lsn, value) in params.entries() {
        writer.put_value(key, lsn, &value).expect("put_value");
    }
    writer.finish(params.key_range().end).expect("finish").path
}

/// The next `(k, j)` of WORKLOAD.md's lookup draw: key `k`, its `j`-th entry.
fn draw(params: &WorkloadParams, q: &mut SplitMix64) -> (u64, u64) {
    let k = q.below(params.keys);
    (k, q.below(params.records + 1))
}

/// One warm lookup as WORKLOAD.md draws it; checks the answer.
async fn lookup(
    layer: &DeltaLayer<CachedReader<TableFile>>,
    params: &WorkloadParams,
    q: &mut SplitMix64,
) -> usize {
    let (k, j) = draw(params, q);
    let end = Lsn(workload_lsn(params, k, j).0 + 1);
    let mut state = ValueReconstructState::default();
    let result = layer
        .get_value_reconstruct_data(
            workload_key(k),
            LsnRange::new(Lsn(0x100_0000), end),
            &mut state,
        )
        .await
        .expect("lookup");
    assert_eq!(result, ValueReconstructResult::Complete);
    assert!(state.img.is_some() && state.records.len() as u64 == j);
    state.records.len() + 1
}

/// One warm newest-version read of a key at an LSN it was written at; checks the answer.
async fn latest(
    layer: &DeltaLayer<CachedReader<TableFile>>,
    params: &WorkloadParams,
    q: &mut SplitMix64,
) -> usize {
    let (k, j) = draw(params, q);
    let lsn = workload_lsn(params, k, j);
    let (found, value) = layer
        .get_latest(workload_key(k), lsn)
        .await
        .expect("get_latest")
        .expect("an entry");
    assert!(found == lsn && value.will_init() == (j == 0));
    1
}

async fn scan(layer: &DeltaLayer<CachedReader<TableFile>>) -> u64 {
    let mut iter = layer.iter();
    let mut n = 0;
    while let Some(entry) = iter.next().await {
        let entry = entry.expect("entry");
        black_box(iter.load_value(&entry).await.expect("value"));
        n += 1;
    }
    n
}

fn benches(c: &mut Criterion) {
    let params = params();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_layer(dir.path(), &params);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let n_blocks = std::fs::metadata(&path).expect("stat").len() / 8192;
    let cache = PageCache::new(n_blocks as usize + 64);
    let files = FileTable::new(16);
    let layer = rt
        .block_on(DeltaLayer::open(&path, &cache, &files))
        .expect("open");
    // Warm the cache: one full scan reads every block.
    assert_eq!(rt.block_on(scan(&layer)), params.n_entries());

    let mut group = c.benchmark_group("strata-delta/get");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(5));
    let mut q = SplitMix64::new(params.seed ^ 0x4C4F_4F4B_5550_0000);
    group.bench_function("warm", |b| {
        b.iter_custom(|iters| {
            rt.block_on(time_runs(iters, async || {
                lookup(&layer, &params, &mut q).await
            }))
        })
    });

    group.bench_function("latest", |b| {
        b.iter_custom(|iters| {
            rt.block_on(time_runs(iters, async || {
                latest(&layer, &params, &mut q).await
            }))
        })
    });

    // Cold: WORKLOAD.md's `lookup_cold`, a cache of one eighth of the file's blocks.
    let small_cache = PageCache::new((n_blocks / 8).max(1) as usize);
    let cold_layer = rt
        .block_on(DeltaLayer::open(&path, &small_cache, &files))
        .expect("open");
    let mut q = SplitMix64::new(params.seed ^ 0x4C4F_4F4B_5550_0000);
    group.bench_function("cold", |b| {
        b.iter_custom(|iters| {
            rt.block_on(time_runs(iters, async || {
                lookup(&cold_layer, &params, &mut q).await
            }))
        })
    });
    group.finish();

    let mut group = c.benchmark_group("strata-delta/scan");
    group.throughput(Throughput::Elements(params.n_entries()));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("warm", |b| {
        b.iter_custom(|iters| rt.block_on(time_runs(iters, async || scan(&layer).await)))
    });
    group.finish();
}

criterion_group!(read, benches);
criterion_main!(read);
