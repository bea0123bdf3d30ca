//! `strata bench`: the standard workload's operations (WORKLOAD.md), one figure per line as
//! `name: value unit` (or one JSON object), with the names other tools use for the same work.
//!
//! Sequence: write (timed as WORKLOAD.md says); open with a page cache holding the whole file;
//! scan cold (first pass, empty cache), scan warm (second pass); warm-up lookups, then timed warm
//! lookups, single-version gets and vectored reads; then reopen with a cache of one eighth of the
//! file's blocks for the cold lookups (after their own warm-up). "Cold" is cold for Strata's page
//! cache only: the file was just written, so the kernel's page cache usually holds it.
//!
//! Two figures are not WORKLOAD.md's own:
//! * `lookup_warm_2task_per_s`: the warm lookups again, from two tasks on two
//!   worker threads sharing the layer and its cache, each task `lookups` reads in its own random order
//!   (streams `LOOKUP + 1` and `LOOKUP + 2`), counted together over the wall time of both;
//!   `lookup_warm_scale_2task` is that over `lookup_warm_per_s` (2.0 is perfect scaling).
//! * `lookup_warm_cpu_us_per_lookup` and `lookup_warm_2task_cpu_us_per_lookup`: the on-CPU time
//!   of the lookup threads per lookup (`/proc/thread-self/schedstat`), and
//!   `lookup_warm_scale_2task_cpu`, twice the first over the second: the scaling two tasks reach
//!   when each has a core to itself. Unlike the wall-clock figures these hold on a machine whose
//!   cores other jobs share (contention between the two tasks still raises the CPU time); they
//!   are left out where schedstat is not available.
//! * `memcpy_mb_per_s`: `copy_from_slice` of as many bytes as the warm scan read, 8 KiB at a
//!   time out of a source larger than any cache of this machine, in the same run, so the warm
//!   scan can be quoted against the memory bandwidth it competes with
//!   (`scan_warm_vs_memcpy` = `memcpy_mb_per_s / scan_warm_mb_per_s`).
//!
//! Invariant: stdout carries only the figures; the parameters and the file go to stderr. The
//! names of existing figures never change (`cargo xtask bench-vs-neon` parses them).

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;
use strata_delta::workload::WorkloadParams;

use crate::ops::{self, LOOKUP_STREAM, Timed, WARMUP_STREAM};
use crate::progress;

/// One reported figure.
#[derive(Clone, Copy)]
pub(crate) struct Figure {
    name: &'static str,
    value: f64,
    unit: &'static str,
    decimals: usize,
}

/// Runs the benchmark and prints the figures.
pub async fn run(
    params: WorkloadParams,
    lookups: u64,
    dir: Option<&Path>,
    cache: ops::CacheFlags,
    json_out: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let (_tmp, dir) = start(
        params.keys,
        dir,
        format_args!(
            "strata bench: K={} R={} S={} seed={} lookups={} huge_pages={} lend_pages={}",
            params.keys,
            params.records,
            params.image_size,
            params.seed,
            lookups,
            cache.huge_pages,
            cache.lend_pages
        ),
    )?;
    let dir = dir.as_path();
    let n_entries = params.n_entries();
    let bar = progress::bar(n_entries, "write");
    let (desc, write) = ops::write_workload(&params, dir, &bar)?;
    bar.finish_and_clear();

    let n_blocks = desc.file_size.div_ceil(strata_blob::PAGE_SIZE as u64);
    let warm = ops::LayerSession::open_with(&desc.path, n_blocks + 16, cache).await?;

    let bar = progress::bar(n_entries, "scan cold");
    let scan_cold = ops::scan(&warm.layer, &bar).await?;
    bar.finish_and_clear();
    let bar = progress::bar(n_entries, "scan warm");
    let scan_warm = ops::scan(&warm.layer, &bar).await?;
    bar.finish_and_clear();

    let n = lookups;
    let n_warmup = n / 10;
    let (lookup_warm, cpu_warm) =
        lookups_after_warmup(&warm, &params, n_warmup, n, "lookups warm").await?;
    let (lookup_warm_2task, cpu_2task) = lookups_two_tasks(&warm, params, n)?;
    let bar = progress::bar(n, "get latest");
    let get_latest = ops::get_latest(&warm.layer, &params, n, LOOKUP_STREAM, &bar).await?;
    bar.finish_and_clear();
    let bar = progress::bar(params.keys, "vectored");
    let vectored = ops::vectored_reads(&warm.layer, &params, &bar).await?;
    bar.finish_and_clear();
    drop(warm);

    let cold = ops::LayerSession::open_with(&desc.path, (n_blocks / 8).max(1), cache).await?;
    let (lookup_cold, _) =
        lookups_after_warmup(&cold, &params, n_warmup, n, "lookups cold").await?;
    drop(cold);
    // Peak memory of the workload itself, before the memcpy buffers exist.
    let max_rss_mb = ops::max_rss_mb().unwrap_or(0.0);
    let memcpy = memcpy_bandwidth(scan_warm.bytes);
    eprintln!("strata bench: file {}", desc.path.display());

    let figures = [
        fig("write_entries_per_s", write.per_s(), "entries/s", 0),
        fig("write_mb_per_s", write.mb_per_s(), "MB/s", 1),
        fig("write_total_s", write.elapsed.as_secs_f64(), "s", 3),
        fig("file_size", desc.file_size as f64, "bytes", 0),
        fig("lookup_warm_per_s", lookup_warm.per_s(), "lookups/s", 0),
        fig(
            "lookup_warm_us_per_lookup",
            1e6 / lookup_warm.per_s(),
            "us",
            3,
        ),
        fig("lookup_cold_per_s", lookup_cold.per_s(), "lookups/s", 0),
        fig(
            "lookup_warm_2task_per_s",
            lookup_warm_2task.per_s(),
            "lookups/s",
            0,
        ),
        fig(
            "lookup_warm_scale_2task",
            lookup_warm_2task.per_s() / lookup_warm.per_s().max(1e-9),
            "x",
            2,
        ),
        fig("get_latest_per_s", get_latest.per_s(), "gets/s", 0),
        fig("scan_cold_entries_per_s", scan_cold.per_s(), "entries/s", 0),
        fig("scan_cold_mb_per_s", scan_cold.mb_per_s(), "MB/s", 1),
        fig("scan_warm_entries_per_s", scan_warm.per_s(), "entries/s", 0),
        fig("scan_warm_mb_per_s", scan_warm.mb_per_s(), "MB/s", 1),
        fig("memcpy_mb_per_s", memcpy.mb_per_s(), "MB/s", 1),
        fig(
            "scan_warm_vs_memcpy",
            memcpy.mb_per_s() / scan_warm.mb_per_s().max(1e-9),
            "x",
            2,
        ),
        fig("vectored_keys_per_s", vectored.per_s(), "keys/s", 0),
        fig("vectored_mb_per_s", vectored.mb_per_s(), "MB/s", 1),
        fig("max_rss_mb", max_rss_mb, "MB", 1),
    ];
    let mut figures = figures.to_vec();
    if let (Some(one), Some(two)) = (cpu_warm, cpu_2task) {
        let one = one.as_secs_f64() * 1e6 / n.max(1) as f64;
        let two = two.as_secs_f64() * 1e6 / (SCALE_TASKS * n).max(1) as f64;
        figures.extend([
            fig("lookup_warm_cpu_us_per_lookup", one, "us", 3),
            fig("lookup_warm_2task_cpu_us_per_lookup", two, "us", 3),
            fig(
                "lookup_warm_scale_2task_cpu",
                SCALE_TASKS as f64 * one / two.max(1e-9),
                "x",
                2,
            ),
        ]);
    }
    let params = json!({
        "keys": params.keys, "records": params.records,
        "image_size": params.image_size, "seed": params.seed, "lookups": lookups,
    });
    print_figures(&figures, params, json_out, out)
}

/// Prints `figures` as `name: value unit` lines, or as one JSON object with `params`.
pub(crate) fn print_figures(
    figures: &[Figure],
    params: serde_json::Value,
    json_out: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if json_out {
        let mut obj = serde_json::Map::new();
        obj.insert("params".into(), params);
        for f in figures {
            obj.insert(f.name.into(), json!(round(f.value, f.decimals)));
        }
        serde_json::to_writer_pretty(&mut *out, &obj)?;
        writeln!(out)?;
    } else {
        for f in figures {
            writeln!(out, "{}: {:.*} {}", f.name, f.decimals, f.value, f.unit)?;
        }
    }
    Ok(())
}

pub(crate) fn fig(name: &'static str, value: f64, unit: &'static str, decimals: usize) -> Figure {
    Figure {
        name,
        value,
        unit,
        decimals,
    }
}

fn round(value: f64, decimals: usize) -> f64 {
    let scale = 10f64.powi(i32::try_from(decimals).unwrap_or(0));
    (value * scale).round() / scale
}

/// `n_warmup` untimed lookups from the warm-up stream, then `n` timed ones; with the thread's
/// on-CPU time over the timed ones.
async fn lookups_after_warmup(
    session: &ops::LayerSession,
    params: &WorkloadParams,
    n_warmup: u64,
    n: u64,
    label: &'static str,
) -> anyhow::Result<(Timed, Option<Duration>)> {
    let bar = progress::bar(n_warmup + n, label);
    ops::point_lookups(&session.layer, params, n_warmup, WARMUP_STREAM, &bar).await?;
    let cpu_start = thread_cpu();
    let timed = ops::point_lookups(&session.layer, params, n, LOOKUP_STREAM, &bar).await?;
    let cpu = cpu_start
        .zip(thread_cpu())
        .map(|(a, b)| b.saturating_sub(a));
    bar.finish_and_clear();
    Ok((timed, cpu))
}

/// Worker threads (and tasks) of the scaling figure.
const SCALE_TASKS: u64 = 2;
/// Source of the memcpy figure: larger than the last-level cache of any machine we run on.
const MEMCPY_SOURCE: usize = 64 << 20;
/// Bytes per copy of the memcpy figure: one page, the unit the scan copies out of.
const MEMCPY_CHUNK: usize = strata_blob::PAGE_SIZE;

/// `n` warm lookups in each of [`SCALE_TASKS`] tasks, each on a worker thread of its own (a
/// current-thread tokio runtime per thread, started together at a barrier), every task with its
/// own stream; `n` of the result counts all tasks' lookups, `elapsed` is the wall time from the
/// first start to the last end.
///
/// Why not one multi-thread runtime: a warm lookup never suspends, so a work-stealing runtime
/// may run both tasks on one worker, one after the other, and the figure would measure the
/// scheduler instead of the cache.
///
/// Also returns the on-CPU time of the two threads over their lookups (see [`thread_cpu`]).
fn lookups_two_tasks(
    session: &ops::LayerSession,
    params: WorkloadParams,
    n: u64,
) -> anyhow::Result<(Timed, Option<Duration>)> {
    let bar = progress::bar(SCALE_TASKS * n, "lookups 2 tasks");
    let barrier = std::sync::Barrier::new(SCALE_TASKS as usize);
    let task = |t: u64| -> anyhow::Result<(Instant, Instant, Option<Duration>)> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting a worker runtime")?;
        barrier.wait();
        let cpu_start = thread_cpu();
        let start = Instant::now();
        let stream = LOOKUP_STREAM.wrapping_add(t);
        runtime.block_on(ops::point_lookups(&session.layer, &params, n, stream, &bar))?;
        let end = Instant::now();
        let cpu = cpu_start
            .zip(thread_cpu())
            .map(|(a, b)| b.saturating_sub(a));
        Ok((start, end, cpu))
    };
    let spans = std::thread::scope(|s| {
        let workers: Vec<_> = (1..=SCALE_TASKS)
            .map(|t| s.spawn(move || task(t)))
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .map_err(|_| anyhow::anyhow!("a lookup worker thread panicked"))?
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    bar.finish_and_clear();
    let first = spans.iter().map(|(start, _, _)| *start).min();
    let last = spans.iter().map(|(_, end, _)| *end).max();
    let cpu = spans
        .iter()
        .map(|(_, _, cpu)| *cpu)
        .sum::<Option<Duration>>();
    let elapsed = match (first, last) {
        (Some(first), Some(last)) => last.saturating_duration_since(first),
        _ => Duration::ZERO,
    };
    let timed = Timed {
        n: SCALE_TASKS * n,
        bytes: 0,
        elapsed,
    };
    Ok((timed, cpu))
}

/// On-CPU time of the calling thread so far (the first field of `/proc/thread-self/schedstat`,
/// in ns, as of the thread's last scheduler tick, so exact to a few ms over a whole phase);
/// `None` where the kernel does not provide it.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Copies `bytes` bytes ([`MEMCPY_CHUNK`] at a time, cycling over a [`MEMCPY_SOURCE`] buffer
/// whose pages are touched before the timer starts) and times it.
fn memcpy_bandwidth(bytes: u64) -> Timed {
    let source: Vec<u8> = (0..MEMCPY_SOURCE).map(|i| (i % 251) as u8).collect();
    let mut dest = vec![0u8; MEMCPY_CHUNK];
    let mut copied = 0u64;
    let start = Instant::now();
    while copied < bytes {
        for chunk in source.chunks_exact(MEMCPY_CHUNK) {
            dest.copy_from_slice(std::hint::black_box(chunk));
            std::hint::black_box(&mut dest);
            copied += MEMCPY_CHUNK as u64;
            if copied >= bytes {
                break;
            }
        }
    }
    Timed {
        n: copied / MEMCPY_CHUNK as u64,
        bytes: copied,
        elapsed: start.elapsed(),
    }
}

/// The start of a bench run: checks K, makes its directory ([`bench_dir`]) and says on stderr
/// what runs (`what`) and where.
pub(crate) fn start(
    keys: u64,
    dir: Option<&Path>,
    what: std::fmt::Arguments<'_>,
) -> anyhow::Result<(Option<tempfile::TempDir>, std::path::PathBuf)> {
    anyhow::ensure!(keys > 0, "--keys must be at least 1");
    let (tmp, dir) = bench_dir(dir)?;
    eprintln!("{what} in {}", dir.display());
    Ok((tmp, dir))
}

/// `dir`, or a new temp dir (removed when the returned guard drops).
pub(crate) fn bench_dir(
    dir: Option<&Path>,
) -> anyhow::Result<(Option<tempfile::TempDir>, std::path::PathBuf)> {
    match dir {
        Some(d) => Ok((None, d.to_path_buf())),
        None => {
            let tmp = tempfile_dir()?;
            let path = tmp.path().to_path_buf();
            Ok((Some(tmp), path))
        }
    }
}

fn tempfile_dir() -> anyhow::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("strata-bench-")
        .tempdir()
        .context("creating a temporary directory")
}
