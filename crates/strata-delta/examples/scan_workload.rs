//! Warm full scans of a delta layer (WORKLOAD.md's `scan_warm`), for profiling the scan alone.
//!
//! `cargo run --release -p strata-delta --example scan_workload -- FILE [PASSES]`
//! opens FILE through a page cache holding the whole file, scans it once untimed (the cold
//! pass), then PASSES (default 5) more times, every value read and decoded as `strata bench`
//! does, and prints each pass's entries per second of wall time and of on-CPU time (from
//! `/proc/thread-self/schedstat`, steadier on a shared machine) and their medians. The passes run in
//! `warm_pass`, so `valgrind --tool=callgrind --toggle-collect='*warm_pass*'` counts the warm
//! scans and nothing else.

#[path = "common/timing.rs"]
mod timing;

use std::hint::black_box;
use std::time::Instant;

use strata_blob::{BlockReader, FileTable};
use strata_cache::PageCache;
use strata_delta::DeltaLayer;
use timing::{median, thread_cpu_ns};

/// One full scan: every entry, its value read and decoded; the number of entries.
async fn scan_pass<R: BlockReader>(layer: &DeltaLayer<R>) -> Result<u64, strata_delta::Error> {
    let mut iter = layer.iter();
    let mut n = 0;
    while let Some(entry) = iter.next().await {
        let entry = entry?;
        black_box(iter.load_value(&entry).await?);
        n += 1;
    }
    Ok(n)
}

/// One timed warm pass (kept out of line for callgrind's `--toggle-collect`).
#[inline(never)]
fn warm_pass<R: BlockReader>(
    rt: &tokio::runtime::Runtime,
    layer: &DeltaLayer<R>,
) -> Result<u64, strata_delta::Error> {
    rt.block_on(scan_pass(layer))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = std::path::PathBuf::from(args.next().ok_or("usage: scan_workload FILE [PASSES]")?);
    let passes: usize = args.next().map_or(Ok(5), |p| p.parse())?;
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    let n_blocks = std::fs::metadata(&path)?.len() / 8192;
    let cache = PageCache::new(usize::try_from(n_blocks)? + 64);
    let files = FileTable::new(4);
    let layer = rt.block_on(DeltaLayer::open(&path, &cache, &files))?;
    rt.block_on(scan_pass(&layer))?;
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    for _ in 0..passes {
        let (start, cpu_start) = (Instant::now(), thread_cpu_ns());
        let n = warm_pass(&rt, &layer)? as f64;
        let cpu_s = thread_cpu_ns().saturating_sub(cpu_start) as f64 / 1e9;
        wall.push(n / start.elapsed().as_secs_f64());
        cpu.push(n / cpu_s.max(1e-9));
    }
    println!(
        "median: {:.0} entries/s wall, {:.0} entries/s on-CPU ({passes} passes)",
        median(wall),
        median(cpu)
    );
    Ok(())
}
