//! `strata demo`: the first command a newcomer runs. Writes the standard workload (WORKLOAD.md)
//! into a directory, verifies the file, runs point, vectored and scan reads against it and
//! prints a short table, then where the file is and what to try next.
//!
//! Where: `--dir DIR` (created if missing, refused unless empty), or by default one fixed
//! directory, [`DEFAULT_DIR_NAME`] under the system temp dir, reused by every run: the previous
//! demo's file is replaced, so repeated runs keep one file (~200 MB at the default size), not
//! one more each time, and the file stays for the "Try next" commands.
//!
//! Invariants: removes nothing it did not write (in the default directory only layer and temp
//! layer files, by name; anything else there makes the demo refuse to run); progress goes to
//! stderr; every read is checked, so the figures are of correct reads.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use strata_delta::WorkloadParams;
use strata_key::name::classify;

use crate::error::CheckFailed;
use crate::ops::{self, LOOKUP_STREAM, WARMUP_STREAM};
use crate::progress;

/// Default number of keys: the full standard workload (220 000 entries, 203 MB).
pub const DEFAULT_KEYS: u64 = 20_000;
/// Timed point lookups of the demo (after a tenth as many warm-up reads).
const DEMO_LOOKUPS: u64 = 50_000;
/// The directory under the system temp dir that every run without `--dir` reuses.
pub const DEFAULT_DIR_NAME: &str = "strata-demo";

/// Runs the demo.
pub async fn run(dir: Option<PathBuf>, keys: u64, out: &mut impl Write) -> anyhow::Result<()> {
    anyhow::ensure!(keys > 0, "--keys must be at least 1");
    let (dir, replaced) = match dir {
        Some(d) => (prepare_dir(&d)?, 0),
        None => reuse_default_dir(&std::env::temp_dir().join(DEFAULT_DIR_NAME))?,
    };
    if replaced > 0 {
        eprintln!(
            "strata demo: removed {replaced} file(s) of an earlier demo from {}; pass \
             --dir DIR to keep a run's file",
            dir.display()
        );
    }
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
        strata_delta::workload_key(0),
        strata_delta::workload_lsn(&params, 0, params.records).to_hex16()
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

/// Makes `dir` (the default demo directory) ready: creates it if missing, else removes the
/// layer and temp layer files a previous demo left there and returns how many. Refuses (and
/// removes nothing) when `dir` is not a plain directory or holds anything else.
fn reuse_default_dir(dir: &Path) -> anyhow::Result<(PathBuf, usize)> {
    let refuse = |what: String| {
        anyhow::anyhow!(
            "{} {what}, so the demo will not reuse it: remove it, or pass --dir DIR",
            dir.display()
        )
    };
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
            return Ok((dir.to_path_buf(), 0));
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
        Ok(meta) if !meta.is_dir() => return Err(refuse("is not a directory".into())),
        Ok(_) => {}
    }
    let mut ours = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let name = entry.file_name();
        let is_layer = entry.file_type().is_ok_and(|t| t.is_file())
            && name.to_str().is_some_and(|n| classify(n).is_ok());
        if !is_layer {
            return Err(refuse(format!(
                "holds {:?}, which is not a layer file a demo writes",
                name
            )));
        }
        ours.push(entry.path());
    }
    for path in &ours {
        std::fs::remove_file(path).with_context(|| format!("removing {}", path.display()))?;
    }
    Ok((dir.to_path_buf(), ours.len()))
}
