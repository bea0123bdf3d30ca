//! Criterion benches of page reads through a timeline (`strata-timeline/get_page`), on the
//! timeline workload (`strata_timeline::workload`: the standard workload's keys and sizes, a
//! base layer of 8 KiB images, then L0 deltas with one Postgres record per key each), K keys
//! (default 1000; `STRATA_BENCH_KEYS` overrides):
//!
//! * `timeline_warm/10` and `timeline_cold/10`: the history of a random key at the newest LSN
//!   (base image + 10 records across 11 layers), with a page cache holding every block / one
//!   eighth of them.
//! * `single_layer_warm` / `single_layer_cold`: the reference: the same entries written into
//!   ONE delta layer (`write_single_layer_workload`), each key's image + 10 records read with
//!   `DeltaLayer::get_value_reconstruct_data`.
//! * `timeline_warm/{1,10,100}`: how the cost grows with the number of delta layers.
//!
//! The timed operation is the traversal (`Timeline::get_history`): the records are Postgres
//! records, whose redo is outside this crate. Every answer is checked (image and record
//! count); reads run inside one `block_on` per sample (`iter_custom`).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use strata_blob::{FileTable, TableFile};
use strata_cache::{CachedReader, PageCache};
use strata_delta::{
    DeltaLayer, SplitMix64, ValueReconstructResult, ValueReconstructState, WORKLOAD_TENANT,
    WORKLOAD_TIMELINE,
};
use strata_key::{Lsn, LsnRange};
use strata_timeline::workload::{
    TimelineWorkload, write_single_layer_workload, write_timeline_workload,
};
use strata_timeline::{Timeline, TimelineIds, TimelineOptions};

fn keys() -> u64 {
    std::env::var("STRATA_BENCH_KEYS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(1000)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

fn dir_blocks(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").metadata().expect("metadata").len() as usize / 8192)
        .sum()
}

fn open_timeline(dir: &Path, cache_blocks: usize) -> Timeline {
    let opts = TimelineOptions {
        ids: Some(TimelineIds {
            tenant_id: Some(WORKLOAD_TENANT),
            timeline_id: Some(WORKLOAD_TIMELINE),
        }),
        ..TimelineOptions::default()
    };
    Timeline::open(
        dir,
        &FileTable::new(256),
        &PageCache::new(cache_blocks.max(16)),
        opts,
    )
    .expect("open timeline")
}

/// Reads `n` random keys' histories at the newest LSN; checks each.
async fn timeline_reads(tl: &Timeline, w: &TimelineWorkload, q: &mut SplitMix64, n: u64) {
    for _ in 0..n {
        let k = q.below(w.keys);
        let t = tl
            .get_history(w.key(k), w.last_lsn())
            .await
            .expect("get_history");
        assert!(t.history.img.is_some() && t.history.records.len() as u64 == w.n_deltas);
        black_box(t);
    }
}

fn timeline_group(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("strata-timeline/get_page");
    group.measurement_time(Duration::from_secs(3));
    group.sample_size(20);
    for n_deltas in [1u64, 10, 100] {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = if n_deltas == 100 { keys() / 4 } else { keys() };
        let w = TimelineWorkload {
            keys,
            n_deltas,
            ..TimelineWorkload::default()
        };
        write_timeline_workload(dir.path(), &w).expect("write workload");
        let blocks = dir_blocks(dir.path());
        let mut cases = vec![("timeline_warm", blocks + 64)];
        if n_deltas == 10 {
            cases.push(("timeline_cold", blocks / 8));
        }
        for (name, cache_blocks) in cases {
            let tl = open_timeline(dir.path(), cache_blocks);
            let mut q = SplitMix64::new(0x5741524D55500000);
            rt.block_on(timeline_reads(&tl, &w, &mut q, w.keys));
            let mut q = SplitMix64::new(42 ^ 0x4C4F4F4B55500000);
            group.bench_function(BenchmarkId::new(name, n_deltas), |b| {
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    rt.block_on(timeline_reads(&tl, &w, &mut q, iters));
                    start.elapsed()
                })
            });
        }
    }
    group.finish();
}

/// Reads `n` random keys' full histories from the one layer holding them all; checks each.
async fn single_reads(
    layer: &DeltaLayer<CachedReader<TableFile>>,
    w: &TimelineWorkload,
    q: &mut SplitMix64,
    n: u64,
) {
    let lsns = LsnRange::new(Lsn(1), Lsn(w.last_lsn().0 + 1));
    for _ in 0..n {
        let k = q.below(w.keys);
        let mut state = ValueReconstructState::default();
        let res = layer
            .get_value_reconstruct_data(w.key(k), lsns, &mut state)
            .await
            .expect("lookup");
        assert!(
            res == ValueReconstructResult::Complete && state.records.len() as u64 == w.n_deltas
        );
        black_box(state);
    }
}

fn single_layer_group(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("strata-timeline/get_page");
    group.measurement_time(Duration::from_secs(3));
    group.sample_size(20);
    let dir = tempfile::tempdir().expect("tempdir");
    let w = TimelineWorkload {
        keys: keys(),
        ..TimelineWorkload::default()
    };
    let path = dir
        .path()
        .join(write_single_layer_workload(dir.path(), &w).expect("write"));
    let blocks = dir_blocks(dir.path());
    for (name, cache_blocks) in [
        ("single_layer_warm", blocks + 64),
        ("single_layer_cold", blocks / 8),
    ] {
        let cache = PageCache::new(cache_blocks.max(16));
        let files = FileTable::new(16);
        let layer = rt
            .block_on(DeltaLayer::open(&path, &cache, &files))
            .expect("open");
        let mut q = SplitMix64::new(0x5741524D55500000);
        rt.block_on(single_reads(&layer, &w, &mut q, w.keys));
        let mut q = SplitMix64::new(42 ^ 0x4C4F4F4B55500000);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                rt.block_on(single_reads(&layer, &w, &mut q, iters));
                start.elapsed()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, single_layer_group, timeline_group);
criterion_main!(benches);
