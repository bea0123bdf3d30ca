//! Criterion benchmarks of the whole standard workload at a small size (1000 keys, ~10 MB):
//! `workload/write` (writer creation to fsync + rename, values pre-generated),
//! `workload/lookup_warm` (one checked point read of page history, page cache holding the whole
//! file) and `workload/scan_warm` (every value read and decoded in index order).

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use strata_benches::{generate, lookup, lookups, scan, small_params, write};
use strata_blob::{FileTable, PAGE_SIZE};
use strata_cache::PageCache;
use strata_delta::DeltaLayer;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn workload(c: &mut Criterion) {
    let params = small_params();
    let entries = generate(&params);
    let dir = tempfile::tempdir().expect("tempdir");
    let desc = write(&params, &entries, dir.path()).expect("first write");

    let mut group = c.benchmark_group("workload/write");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(desc.file_size));
    group.bench_function("k1000", |b| {
        b.iter(|| write(&params, &entries, dir.path()).expect("write"))
    });
    group.finish();
    drop(entries);

    let rt = runtime();
    let n_blocks = usize::try_from(desc.file_size / PAGE_SIZE as u64).expect("block count");
    let cache = PageCache::new(n_blocks + 16);
    let files = FileTable::new(16);
    let layer = rt
        .block_on(DeltaLayer::open(&desc.path, &cache, &files))
        .expect("open");
    let queries = lookups(&params, 10_000);
    for q in &queries {
        rt.block_on(lookup(&layer, q)).expect("warm-up lookup");
    }

    let mut group = c.benchmark_group("workload/lookup_warm");
    group.throughput(Throughput::Elements(1));
    let mut next = 0usize;
    group.bench_function("k1000", |b| {
        b.to_async(&rt).iter_batched(
            || {
                next = (next + 1) % queries.len();
                queries[next]
            },
            |q| {
                let layer = &layer;
                async move { lookup(layer, &q).await.expect("lookup") }
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("workload/scan_warm");
    group.sample_size(10);
    let bytes = rt.block_on(scan(&layer)).expect("scan");
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("k1000", |b| {
        b.to_async(&rt)
            .iter(|| async { scan(&layer).await.expect("scan") })
    });
    group.finish();
}

criterion_group!(benches, workload);
criterion_main!(benches);
