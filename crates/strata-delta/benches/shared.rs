//! The cost of type erasure: warm point reads (`get_value_reconstruct_data` of the golden
//! `stdsmall` case's 200 queries, in turn) through the concrete reader of `DeltaLayer::open`
//! and through a `SharedReader`, group `strata-delta/shared`:
//!
//! * `concrete`: `DeltaLayer<CachedReader<TableFile>>`, the reference;
//! * `erased_above_cache`: the same layer after `into_shared()` (every block read, hit or
//!   miss, is a virtual call and a boxed future);
//! * `erased_below_cache`: `cache.wrap(SharedReader::new(file))` (hits stay concrete).
//!
//! The cache holds the whole file and is warmed first; each sample runs its lookups inside
//! one `block_on` (`iter_custom`). The three run in alternating rounds; compare each round's
//! medians as ratios to that round's `concrete`, and take the median ratio.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use strata_delta::{
    BlockReader, DeltaLayer, FileTable, LsnRange, OpenOptions, PageCache, SharedReader,
    ValueReconstructState,
};
use strata_testkit::{Query, layer_path, load_queries};

/// Runs every query once; returns the records collected (checked to be non-zero).
async fn lookups<R: BlockReader>(layer: &DeltaLayer<R>, queries: &[Query]) -> usize {
    let mut n = 0;
    for q in queries {
        let mut state = ValueReconstructState::default();
        let range = LsnRange::new(q.lsn_start, q.lsn_end);
        layer
            .get_value_reconstruct_data(q.key, range, &mut state)
            .await
            .expect("lookup");
        n += state.records.len() + usize::from(state.img.is_some());
    }
    assert!(n > 0);
    n
}

fn bench_layer<R: BlockReader>(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    name: &str,
    layer: &DeltaLayer<R>,
    queries: &[Query],
) {
    let want = rt.block_on(lookups(layer, queries));
    let mut group = c.benchmark_group("strata-delta/shared");
    group.throughput(Throughput::Elements(queries.len() as u64));
    group.measurement_time(Duration::from_secs(2));
    group.warm_up_time(Duration::from_secs(1));
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    assert_eq!(black_box(lookups(layer, queries).await), want);
                }
                start.elapsed()
            })
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let path = layer_path("stdsmall");
    let queries = load_queries("stdsmall");
    let (cache, files) = (PageCache::new(4096), FileTable::new(4));
    let open = || {
        rt.block_on(DeltaLayer::open(&path, &cache, &files))
            .expect("open")
    };
    let concrete = open();
    let above = open().into_shared();
    let below = rt
        .block_on(DeltaLayer::from_reader_at(
            cache.wrap(SharedReader::new(files.open(&path).expect("open"))),
            &path,
            OpenOptions::default(),
        ))
        .expect("open");
    // Alternating rounds (`STRATA_BENCH_ROUNDS`, default 2): criterion names round n `name_n`.
    let rounds = std::env::var("STRATA_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(2);
    for _ in 0..rounds {
        bench_layer(c, &rt, "concrete", &concrete, &queries);
        bench_layer(c, &rt, "erased_above_cache", &above, &queries);
        bench_layer(c, &rt, "erased_below_cache", &below, &queries);
    }
    if std::env::var_os("STRATA_BENCH_PAIRED").is_some() {
        paired(&rt, &concrete, &above, &below, &queries);
    }
}

/// Fine-grained alternation for a loaded machine (`STRATA_BENCH_PAIRED`): many short rounds,
/// the three variants in rotating order within each, so that load changes hit all three
/// alike; prints the median per-round ratio to `concrete` of each erased variant.
fn paired<A: BlockReader, B: BlockReader, C: BlockReader>(
    rt: &tokio::runtime::Runtime,
    concrete: &DeltaLayer<A>,
    above: &DeltaLayer<B>,
    below: &DeltaLayer<C>,
    queries: &[Query],
) {
    const ROUNDS: usize = 301;
    const REPS: usize = 5;
    let mut ratios = [Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS)];
    rt.block_on(async {
        // Warm the cache through each layer first.
        lookups(concrete, queries).await;
        lookups(above, queries).await;
        lookups(below, queries).await;
        for round in 0..ROUNDS {
            let mut t = [Duration::ZERO; 3];
            for i in 0..3 {
                let v = (round + i) % 3;
                let start = Instant::now();
                for _ in 0..REPS {
                    black_box(match v {
                        0 => lookups(concrete, queries).await,
                        1 => lookups(above, queries).await,
                        _ => lookups(below, queries).await,
                    });
                }
                t[v] = start.elapsed();
            }
            ratios[0].push(t[1].as_secs_f64() / t[0].as_secs_f64());
            ratios[1].push(t[2].as_secs_f64() / t[0].as_secs_f64());
        }
    });
    for (name, r) in ["erased_above_cache", "erased_below_cache"]
        .iter()
        .zip(&mut ratios)
    {
        r.sort_by(f64::total_cmp);
        let (q1, med, q3) = (r[ROUNDS / 4], r[ROUNDS / 2], r[3 * ROUNDS / 4]);
        eprintln!("paired {name}/concrete: median {med:.4} (quartiles {q1:.4} .. {q3:.4})");
    }
}

criterion_group!(shared, benches);
criterion_main!(shared);
