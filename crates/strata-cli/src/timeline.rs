//! `strata timeline ls | draw | verify | workload`: a timeline directory's layers listed, drawn
//! as an SVG (see `timeline_draw`), verified, or a test timeline written.
//!
//! Invariants: `ls` and `draw` open the directory tolerantly (unknown files become listed
//! problems, nothing is removed); `verify` exits 1 on any finding; errors of the library keep
//! their class: I/O exits 2, everything found in the bytes exits 1.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde_json::{Value as Json, json};
use strata_blob::FileTable;
use strata_cache::PageCache;
use strata_timeline::workload::{TimelineWorkload, write_timeline_workload};
use strata_timeline::{Timeline, TimelineOptions};

use crate::error::{EXIT_INVALID, EXIT_USAGE_OR_IO, Exit};
use crate::timeline_draw;

/// Open-file table size of the timeline commands.
const MAX_OPEN_FILES: usize = 64;
/// Page cache slots of the timeline commands (8 KiB each: 32 MiB).
const CACHE_BLOCKS: usize = 4096;

/// Arguments of `strata timeline`.
#[derive(Debug, Args)]
pub struct TimelineArgs {
    #[command(subcommand)]
    command: TimelineCommand,
}

#[derive(Debug, Subcommand)]
enum TimelineCommand {
    /// List the layers (kind, key and LSN ranges, size, name) and the problems found.
    #[command(after_help = "Example:\n  strata timeline ls TIMELINE_DIR --json")]
    Ls {
        /// The timeline directory.
        dir: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Draw the layer map as an SVG: LSN up, keys across, deltas blue, images orange.
    #[command(after_help = "Example:\n  strata timeline draw TIMELINE_DIR -o layers.svg")]
    Draw {
        /// The timeline directory.
        dir: PathBuf,
        /// Where to write the SVG.
        #[arg(short, long)]
        out: PathBuf,
    },
    /// Verify every layer, names against summaries, and the layer set's shape.
    #[command(after_help = "Example:\n  strata timeline verify TIMELINE_DIR && echo sound")]
    Verify {
        /// The timeline directory.
        dir: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write a timeline in the standard workload's shape: images, then L0 deltas.
    #[command(after_help = "Example:\n  strata timeline workload --keys 300 --deltas 10 /tmp/tl")]
    Workload {
        /// The directory to write into (created if missing).
        dir: PathBuf,
        /// Number of keys.
        #[arg(long, default_value_t = 1000)]
        keys: u64,
        /// Number of L0 deltas above the images (one record per key each).
        #[arg(long, default_value_t = 10)]
        deltas: u64,
        /// Image size in bytes.
        #[arg(long, default_value_t = 8192)]
        image_size: usize,
        /// Neon's own records (visibility-map clears, which redo can apply) instead of
        /// Postgres records.
        #[arg(long)]
        neon_records: bool,
        /// Seed of the data stream.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

/// Runs `strata timeline`.
pub async fn run(args: TimelineArgs, out: &mut impl Write) -> anyhow::Result<()> {
    match args.command {
        TimelineCommand::Ls { dir, json } => ls(&dir, json, out),
        TimelineCommand::Draw { dir, out: path } => draw(&dir, &path, out),
        TimelineCommand::Verify { dir, json } => verify(&dir, json, out).await,
        TimelineCommand::Workload {
            dir,
            keys,
            deltas,
            image_size,
            neon_records,
            seed,
        } => {
            std::fs::create_dir_all(&dir)?;
            let w = TimelineWorkload {
                keys,
                n_deltas: deltas,
                image_size,
                neon_records,
                seed,
            };
            for name in write_timeline_workload(&dir, &w).map_err(fail)? {
                writeln!(out, "{}", dir.join(name).display())?;
            }
            Ok(())
        }
    }
}

/// Opens `dir` for inspection: unknown files are reported, not fatal.
pub fn open(dir: &Path) -> anyhow::Result<Timeline> {
    let opts = TimelineOptions {
        ignore_unknown_files: true,
        ..TimelineOptions::default()
    };
    Timeline::open(
        dir,
        &FileTable::new(MAX_OPEN_FILES),
        &PageCache::new(CACHE_BLOCKS),
        opts,
    )
    .map_err(fail)
}

/// Prints a library error and turns it into its exit code (2 for I/O, 1 otherwise).
pub fn fail(e: strata_timeline::Error) -> anyhow::Error {
    eprintln!("strata: error: {e}");
    let code = match e {
        strata_timeline::Error::Io(_) | strata_timeline::Error::LayerIo { .. } => EXIT_USAGE_OR_IO,
        _ => EXIT_INVALID,
    };
    Exit(code).into()
}

fn ls(dir: &Path, json_out: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let tl = open(dir)?;
    let map = tl.layers();
    if json_out {
        let layers: Vec<Json> = map
            .layers()
            .iter()
            .map(|(d, l)| {
                json!({
                    "name": l.file_name(),
                    "kind": d.kind(),
                    "l0": d.is_l0(),
                    "key_start": d.key_range.start.to_string(),
                    "key_end": d.key_range.end.to_string(),
                    "lsn_start": d.lsn_range.start.to_string(),
                    "lsn_end": d.lsn_range.end.to_string(),
                    "size": l.file_size(),
                })
            })
            .collect();
        let problems: Vec<Json> = tl
            .problems()
            .iter()
            .map(|p| json!({ "name": p.name, "kind": p.kind.as_str() }))
            .collect();
        let metadata = tl.metadata().map(|md| {
            json!({
                "disk_consistent_lsn": md.disk_consistent_lsn.to_string(),
                "ancestor_timeline": md.ancestor_timeline.map(|t| t.to_string()),
                "ancestor_lsn": md.ancestor_lsn.to_string(),
                "pg_version": md.pg_version,
            })
        });
        let v = json!({
            "dir": dir.display().to_string(),
            "layers": layers,
            "problems": problems,
            "metadata": metadata,
        });
        serde_json::to_writer_pretty(&mut *out, &v)?;
        writeln!(out)?;
        return Ok(());
    }
    if let Some(md) = tl.metadata() {
        let ancestor = md
            .ancestor_timeline
            .map_or("none".to_owned(), |t| format!("{t}@{}", md.ancestor_lsn));
        writeln!(
            out,
            "metadata: disk_consistent_lsn {} ancestor {ancestor} pg_version {}",
            md.disk_consistent_lsn, md.pg_version
        )?;
    }
    for (d, l) in map.layers() {
        let kind = if d.is_l0() { "delta-L0" } else { d.kind() };
        writeln!(
            out,
            "{kind:<8} {}..{} {:>12}..{:<12} {:>10} {}",
            d.key_range.start,
            d.key_range.end,
            d.lsn_range.start.to_string(),
            d.lsn_range.end.to_string(),
            l.file_size(),
            l.file_name()
        )?;
    }
    for p in tl.problems() {
        writeln!(out, "problem {} {}", p.kind.as_str(), p.name)?;
    }
    writeln!(
        out,
        "{} layers, {} bytes, {} problems",
        map.len(),
        map.layers().iter().map(|(_, l)| l.file_size()).sum::<u64>(),
        tl.problems().len()
    )?;
    Ok(())
}

fn draw(dir: &Path, path: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let tl = open(dir)?;
    let map = tl.layers();
    let descs: Vec<_> = map.layers().iter().map(|(d, _)| *d).collect();
    let title = dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    std::fs::write(path, timeline_draw::svg(&descs, &title))?;
    writeln!(out, "{}", path.display())?;
    Ok(())
}

async fn verify(dir: &Path, json_out: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let tl = open(dir)?;
    let mut findings = tl.verify().await;
    findings.extend(
        tl.problems()
            .iter()
            .filter(|p| p.kind == strata_timeline::ProblemKind::Unknown)
            .map(|p| strata_timeline::Finding {
                layer: Some(p.name.clone()),
                message: "unrecognized file in the timeline directory".into(),
            }),
    );
    if json_out {
        let v = json!({
            "dir": dir.display().to_string(),
            "n_layers": tl.layers().len(),
            "findings": findings.iter().map(|f| json!({ "layer": f.layer, "message": f.message })).collect::<Vec<_>>(),
        });
        serde_json::to_writer_pretty(&mut *out, &v)?;
        writeln!(out)?;
    } else if findings.is_empty() {
        writeln!(out, "ok {} ({} layers)", dir.display(), tl.layers().len())?;
    } else {
        for f in &findings {
            writeln!(out, "{}: {f}", dir.display())?;
        }
    }
    if findings.is_empty() {
        Ok(())
    } else {
        out.flush()?;
        Err(Exit(EXIT_INVALID).into())
    }
}
