//! Warm point lookups of a delta layer (WORKLOAD.md's `lookup_warm`), with the page cache's
//! pages lent and copied alternately, for profiling and A/B of the lookup path alone.
//!
//! `cargo run --release -p strata-delta --example lookup_workload -- FILE [LOOKUPS] [PASSES]
//! [lent|copied]`
//! opens FILE (the standard workload, `strata workload DIR`, with its default parameters)
//! twice, each through a page cache holding the whole file and warmed by one scan: once with
//! [`PageCacheOptions::lend_pages`] on, once off. Then it runs PASSES (default 5) rounds of
//! LOOKUPS (default 100 000) page-history lookups on each, alternating, and prints each round's
//! on-CPU nanoseconds per lookup (from `/proc/thread-self/schedstat`, steadier than wall time on
//! a shared machine) and the medians; a last argument keeps one of the two (for a profile of it
//! alone). The lookups run in `warm_lookups`, so
//! `valgrind --tool=callgrind --toggle-collect='*warm_lookups*'` counts them and nothing else.

#[path = "common/timing.rs"]
mod timing;

use std::hint::black_box;

use strata_blob::{BlockReader, FileTable};
use strata_cache::{PageCache, PageCacheOptions};
use strata_delta::workload::{SplitMix64, WorkloadParams, workload_key, workload_lsn};
use strata_delta::{DeltaLayer, ValueReconstructState};
use strata_key::{Lsn, LsnRange};
use timing::{median, thread_cpu_ns};

/// `n` page-history lookups drawn as `strata bench` draws them (key k, j records below the
/// image); the number of records returned.
async fn lookups<R: BlockReader>(
    layer: &DeltaLayer<R>,
    params: &WorkloadParams,
    n: u64,
    seed: u64,
) -> Result<u64, strata_delta::Error> {
    let mut q = SplitMix64::new(seed);
    let first_lsn = workload_lsn(params, 0, 0);
    let mut state = ValueReconstructState::default();
    let mut records = 0;
    for _ in 0..n {
        let k = q.below(params.keys);
        let j = q.below(params.records + 1);
        state.records.clear();
        state.img = None;
        let lsn = workload_lsn(params, k, j);
        let range = LsnRange::new(first_lsn, Lsn(lsn.0 + 1));
        black_box(
            layer
                .get_value_reconstruct_data(workload_key(k), range, &mut state)
                .await?,
        );
        records += state.records.len() as u64;
    }
    Ok(records)
}

/// One round of lookups (kept out of line for callgrind's `--toggle-collect`).
#[inline(never)]
fn warm_lookups<R: BlockReader>(
    rt: &tokio::runtime::Runtime,
    layer: &DeltaLayer<R>,
    params: &WorkloadParams,
    n: u64,
    seed: u64,
) -> Result<u64, strata_delta::Error> {
    rt.block_on(lookups(layer, params, n, seed))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: lookup_workload FILE [LOOKUPS] [PASSES] [lent|copied]";
    let mut args = std::env::args().skip(1);
    let path = std::path::PathBuf::from(args.next().ok_or(usage)?);
    let n: u64 = args.next().map_or(Ok(100_000), |p| p.parse())?;
    let passes: usize = args.next().map_or(Ok(5), |p| p.parse())?;
    let only = args.next();
    let params = WorkloadParams::default();
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    let n_slots = usize::try_from(std::fs::metadata(&path)?.len() / 8192)? + 64;
    let files = FileTable::new(4);
    let mut layers = Vec::new();
    for (lend_pages, name) in [(true, "lent"), (false, "copied")] {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let cache = PageCache::with_options(PageCacheOptions {
            n_slots,
            lend_pages,
            ..PageCacheOptions::default()
        });
        let layer = rt.block_on(DeltaLayer::open(&path, &cache, &files))?;
        let mut iter = layer.iter();
        rt.block_on(async {
            while let Some(entry) = iter.next().await {
                black_box(iter.load_value(&entry?).await?);
            }
            Ok::<(), strata_delta::Error>(())
        })?;
        warm_lookups(&rt, &layer, &params, n / 10, 7)?;
        layers.push((name, layer));
    }
    let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); layers.len()];
    for pass in 0..passes {
        for ((name, layer), ns) in layers.iter().zip(&mut cpu) {
            let start = thread_cpu_ns();
            warm_lookups(&rt, layer, &params, n, 42 + pass as u64)?;
            let per = thread_cpu_ns().saturating_sub(start) as f64 / n as f64;
            println!("pass {pass} {name}: {per:.0} ns/lookup on-CPU");
            ns.push(per);
        }
    }
    for ((name, _), ns) in layers.iter().zip(cpu) {
        println!("median {name}: {:.0} ns/lookup on-CPU", median(ns));
    }
    Ok(())
}
