//! `strata demo`: the first command a newcomer runs. Writes the standard workload (WORKLOAD.md)
//! into a fresh directory, verifies the file, runs point, vectored and scan reads against it and
//! prints a short table, then where the file is and what to try next.
//!
//! Invariants: never overwrites anything (the directory is new, or empty when given); progress
//! goes to stderr; every read is checked, so the figures are of correct reads.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use strata_delta::workload::WorkloadParams;

use crate::error::CheckFailed;
use crate::ops::{self, LOOKUP_STREAM, WARMUP_STREAM};
use crate::progress;

/// Default number of keys: the full standard workload (220 000 entries, 203 MB).
pub const DEFAULT_KEYS: u64 = 20_000;
/// Timed point lookups of the demo (after a tenth as many warm-up reads).
const DEMO_LOOKUPS: u64 = 50_000;

/// Runs the demo.
pub async fn run(dir: Option<PathBuf>, keys: u64, out: &mut impl Write) -> anyhow::Result<()> {
    anyhow::ensure!(keys > 0, "--keys must be at least 1");
    let dir = match dir {
        Some(d) => prepare_dir(&d)?,
        None => new_temp_dir()?,
    };
    let params = WorkloadParams {
        keys,
        ..WorkloadParams::default()
    };
    let n_entries = params.n_entries();
    eprintln!(
        "strata demo: writing the standard workload (K={} keys x {} entries) into {}",
        params.keys,
        params.records + 1,
        dir.display()
    );

    let bar = progress::bar(n_entries, "write");
    let (desc, write) = ops::write_workload(&params, &dir, &bar)?;
    bar.finish_and_clear();

    let n_blocks = desc.file_size.div_ceil(strata_blob::PAGE_SIZE as u64);
    let session = ops::LayerSession::open(&desc.path, n_blocks + 16).await?;

    let bar = progress::spinner("verify");
    let start = Instant::now();
    let findings = session.layer.verify().await?;
    let verify_s = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    if let Some(first) = findings.first() {
        return Err(CheckFailed(format!(
            "the file just written has {} finding(s), the first: {first}",
            findings.len()
        ))
        .into());
    }

    let n_lookups = DEMO_LOOKUPS.min(n_entries * 10);
    let bar = progress::bar(n_lookups + n_lookups / 10, "point reads");
    ops::point_lookups(&session.layer, &params, n_lookups / 10, WARMUP_STREAM, &bar).await?;
    let lookups =
        ops::point_lookups(&session.layer, &params, n_lookups, LOOKUP_STREAM, &bar).await?;
    bar.finish_and_clear();

    let bar = progress::bar(params.keys, "vectored reads");
    let vectored = ops::vectored_reads(&session.layer, &params, &bar).await?;
    bar.finish_and_clear();

    let bar = progress::bar(n_entries, "scan");
    let scan = ops::scan(&session.layer, &bar).await?;
    bar.finish_and_clear();
    let hit_rate = session.hit_rate();

    let path = desc.path.display();
    writeln!(
        out,
        "Strata demo: the standard workload (WORKLOAD.md) with K={} keys, R={} records, S={} bytes, seed {}",
        params.keys, params.records, params.image_size, params.seed
    )?;
    writeln!(out)?;
    let rows = [
        ("entries", format!("{}", desc.n_entries)),
        (
            "file",
            format!(
                "{} bytes ({:.1} MB)  {}",
                desc.file_size,
                desc.file_size as f64 / 1e6,
                desc.file_name
            ),
        ),
        (
            "write",
            format!(
                "{:.1} MB/s  ({:.0} entries/s, {:.2} s incl. fsync and rename)",
                write.mb_per_s(),
                write.per_s(),
                write.elapsed.as_secs_f64()
            ),
        ),
        (
            "verify",
            format!("ok, every FORMAT.md section 9 invariant ({verify_s:.2} s)"),
        ),
        (
            "point reads",
            format!(
                "{:.0} reads/s  ({} page-history lookups, each checked)",
                lookups.per_s(),
                lookups.n
            ),
        ),
        (
            "vectored reads",
            format!(
                "{:.0} keys/s, {:.1} MB/s  ({} keys per read)",
                vectored.per_s(),
                vectored.mb_per_s(),
                ops::VECTORED_KEYS
            ),
        ),
        (
            "scan",
            format!(
                "{:.1} MB/s  ({:.0} entries/s, every value decoded)",
                scan.mb_per_s(),
                scan.per_s()
            ),
        ),
        (
            "cache hit rate",
            format!(
                "{:.1} %  (page cache of {} blocks)",
                hit_rate * 100.0,
                n_blocks + 16
            ),
        ),
    ];
    for (name, value) in rows {
        writeln!(out, "  {name:<15} {value}")?;
    }
    writeln!(out)?;
    writeln!(out, "The file: {path}")?;
    writeln!(out, "Try next:")?;
    writeln!(out, "  strata verify {path}")?;
    writeln!(out, "  strata summary {path}")?;
    writeln!(out, "  strata dump {path} | head")?;
    writeln!(
        out,
        "  strata get {path} {} {}",
        strata_delta::workload::workload_key(0),
        strata_delta::workload::workload_lsn(&params, 0, params.records).to_hex16()
    )?;
    writeln!(out, "  strata name {}", desc.file_name)?;
    writeln!(out, "  strata bench --keys {}", params.keys)?;
    Ok(())
}

/// Uses `dir` if it is empty or missing (creating it); refuses a non-empty one.
fn prepare_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            anyhow::ensure!(
                entries.next().is_none(),
                "{} is not empty; the demo writes into a fresh directory",
                dir.display()
            );
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    }
    Ok(dir.to_path_buf())
}

/// Creates the first free `strata-demo-<n>` under the system temp dir (`create_dir` fails on an
/// existing one, so nothing is ever reused).
fn new_temp_dir() -> anyhow::Result<PathBuf> {
    let base = std::env::temp_dir();
    for n in 1..10_000u32 {
        let dir = base.join(format!("strata-demo-{n}"));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
        }
    }
    anyhow::bail!("no free strata-demo-<n> directory under {}", base.display())
}
