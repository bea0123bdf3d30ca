//! `strata bench`: the standard workload's operations (WORKLOAD.md), one figure per line as
//! `name: value unit` (or one JSON object), with the names other tools use for the same work.
//!
//! Sequence: write (timed as WORKLOAD.md says); open with a page cache holding the whole file;
//! scan cold (first pass, empty cache), scan warm (second pass); warm-up lookups, then timed warm
//! lookups, single-version gets and vectored reads; then reopen with a cache of one eighth of the
//! file's blocks for the cold lookups (after their own warm-up). "Cold" is cold for Strata's page
//! cache only: the file was just written, so the kernel's page cache usually holds it.
//!
//! Invariant: stdout carries only the figures; the parameters and the file go to stderr.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use serde_json::json;
use strata_delta::WorkloadParams;

use crate::ops::{self, LOOKUP_STREAM, Timed, WARMUP_STREAM};
use crate::progress;

/// One reported figure.
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
    json_out: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    anyhow::ensure!(params.keys > 0, "--keys must be at least 1");
    let (_tmp, dir) = bench_dir(dir)?;
    let dir = dir.as_path();
    eprintln!(
        "strata bench: K={} R={} S={} seed={} lookups={} in {}",
        params.keys,
        params.records,
        params.image_size,
        params.seed,
        lookups,
        dir.display()
    );
    let n_entries = params.n_entries();
    let bar = progress::bar(n_entries, "write");
    let (desc, write) = ops::write_workload(&params, dir, &bar)?;
    bar.finish_and_clear();

    let n_blocks = desc.file_size.div_ceil(strata_blob::PAGE_SIZE as u64);
    let warm = ops::LayerSession::open(&desc.path, n_blocks + 16).await?;

    let bar = progress::bar(n_entries, "scan cold");
    let scan_cold = ops::scan(&warm.layer, &bar).await?;
    bar.finish_and_clear();
    let bar = progress::bar(n_entries, "scan warm");
    let scan_warm = ops::scan(&warm.layer, &bar).await?;
    bar.finish_and_clear();

    let n = lookups;
    let n_warmup = n / 10;
    let lookup_warm = lookups_after_warmup(&warm, &params, n_warmup, n, "lookups warm").await?;
    let bar = progress::bar(n, "get latest");
    let get_latest = ops::get_latest(&warm.layer, &params, n, LOOKUP_STREAM, &bar).await?;
    bar.finish_and_clear();
    let bar = progress::bar(params.keys, "vectored");
    let vectored = ops::vectored_reads(&warm.layer, &params, &bar).await?;
    bar.finish_and_clear();
    drop(warm);

    let cold = ops::LayerSession::open(&desc.path, (n_blocks / 8).max(1)).await?;
    let lookup_cold = lookups_after_warmup(&cold, &params, n_warmup, n, "lookups cold").await?;
    drop(cold);
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
        fig("get_latest_per_s", get_latest.per_s(), "gets/s", 0),
        fig("scan_cold_entries_per_s", scan_cold.per_s(), "entries/s", 0),
        fig("scan_cold_mb_per_s", scan_cold.mb_per_s(), "MB/s", 1),
        fig("scan_warm_entries_per_s", scan_warm.per_s(), "entries/s", 0),
        fig("scan_warm_mb_per_s", scan_warm.mb_per_s(), "MB/s", 1),
        fig("vectored_keys_per_s", vectored.per_s(), "keys/s", 0),
        fig("vectored_mb_per_s", vectored.mb_per_s(), "MB/s", 1),
        fig("max_rss_mb", ops::max_rss_mb().unwrap_or(0.0), "MB", 1),
    ];
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

/// `n_warmup` untimed lookups from the warm-up stream, then `n` timed ones.
async fn lookups_after_warmup(
    session: &ops::LayerSession,
    params: &WorkloadParams,
    n_warmup: u64,
    n: u64,
    label: &'static str,
) -> anyhow::Result<Timed> {
    let bar = progress::bar(n_warmup + n, label);
    ops::point_lookups(&session.layer, params, n_warmup, WARMUP_STREAM, &bar).await?;
    let timed = ops::point_lookups(&session.layer, params, n, LOOKUP_STREAM, &bar).await?;
    bar.finish_and_clear();
    Ok(timed)
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
