//! `strata import PGDATA TIMELINE_DIR` and `strata ingest PG_WAL_DIR TIMELINE_DIR`: a stopped
//! PostgreSQL cluster to image layers, then its WAL to L0 delta layers (strata-ingest).
//!
//! Invariants: progress goes to stderr (a bar on a terminal; one line per layer otherwise,
//! with WAL MB/s, records/s and layers written), the summary to stdout, one JSON object
//! with `--json`. An ingest killed at any moment resumes where its last layer ends when run
//! again.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use serde_json::json;
use strata_ingest::{
    DEFAULT_CHECKPOINT_DISTANCE, ImportOptions, IngestOptions, IngestProgress, import_datadir,
    ingest_wal, open_for_ingest,
};

use crate::inspect::parse_lsn;

/// Arguments of `strata import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The data directory of a cleanly shut-down PostgreSQL 15 cluster.
    pgdata: PathBuf,
    /// The timeline directory to create (must hold no layers).
    timeline_dir: PathBuf,
    /// Target size of one image layer, in MiB.
    #[arg(long, default_value_t = 128)]
    layer_mb: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Arguments of `strata ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// The directory holding the WAL segment files (`PGDATA/pg_wal`).
    wal_dir: PathBuf,
    /// The timeline directory an import made.
    timeline_dir: PathBuf,
    /// Ingest only records stored at or below this LSN (X/Y or hex).
    #[arg(long)]
    until: Option<String>,
    /// Flush an L0 delta layer every this many MiB of values (Neon's checkpoint distance).
    #[arg(long, default_value_t = DEFAULT_CHECKPOINT_DISTANCE >> 20)]
    checkpoint_mb: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `strata import`.
pub fn run_import(args: ImportArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let opts = ImportOptions {
        image_layer_target: args.layer_mb.max(1) << 20,
    };
    let mut report = |s: &strata_ingest::ImportSummary| {
        eprintln!(
            "import: {} layers, {:.1} of {:.1} MB",
            s.layers.len(),
            s.bytes as f64 / 1e6,
            s.total_bytes as f64 / 1e6
        );
    };
    let s = import_datadir(&args.pgdata, &args.timeline_dir, opts, &mut report)?;
    if args.json {
        let v = json!({
            "lsn": s.lsn.to_string(),
            "layers": s.layers,
            "values": s.values,
            "bytes": s.bytes,
            "rel_forks": s.rel_forks,
            "rel_pages": s.rel_pages,
            "slru_pages": s.slru_pages,
        });
        writeln!(out, "{v}")?;
    } else {
        writeln!(
            out,
            "imported at {}: {} image layers, {} values ({:.1} MB), {} relation forks, {} relation pages, {} SLRU pages",
            s.lsn,
            s.layers.len(),
            s.values,
            s.bytes as f64 / 1e6,
            s.rel_forks,
            s.rel_pages,
            s.slru_pages
        )?;
    }
    Ok(())
}

fn rates(p: &IngestProgress) -> (f64, f64) {
    let secs = p.seconds.max(1e-9);
    (p.wal_bytes as f64 / 1e6 / secs, p.records as f64 / secs)
}

/// Runs `strata ingest`.
pub async fn run_ingest(args: IngestArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let until = args.until.as_deref().map(parse_lsn).transpose()?;
    let opts = IngestOptions {
        checkpoint_distance: args.checkpoint_mb.max(1) << 20,
        until,
        ..IngestOptions::default()
    };
    let timeline = open_for_ingest(&args.timeline_dir)?;
    let mut layers = 0;
    let mut report = |p: &IngestProgress| {
        if p.layers != layers {
            layers = p.layers;
            let (mbs, rps) = rates(p);
            eprintln!(
                "ingest: at {} {:.1} MB WAL ({mbs:.1} MB/s), {} records ({rps:.0}/s), {} layers",
                p.lsn,
                p.wal_bytes as f64 / 1e6,
                p.records,
                p.layers
            );
        }
    };
    let p = ingest_wal(&args.wal_dir, &timeline, opts, &mut report).await?;
    let (mbs, rps) = rates(&p);
    if args.json {
        let v = json!({
            "start_lsn": p.start_lsn.to_string(),
            "end_lsn": p.lsn.to_string(),
            "records": p.records,
            "wal_bytes": p.wal_bytes,
            "layers": p.layers,
            "layer_bytes": p.layer_bytes,
            "seconds": p.seconds,
            "wal_mb_per_s": mbs,
            "records_per_s": rps,
            "stop": p.stop,
        });
        writeln!(out, "{v}")?;
    } else {
        writeln!(
            out,
            "ingested {} .. {}: {} records, {:.1} MB WAL in {:.2} s ({mbs:.1} MB/s, {rps:.0} records/s), {} layers ({:.1} MB); stopped: {}",
            p.start_lsn,
            p.lsn,
            p.records,
            p.wal_bytes as f64 / 1e6,
            p.seconds,
            p.layers,
            p.layer_bytes as f64 / 1e6,
            p.stop.as_deref().unwrap_or("?")
        )?;
    }
    Ok(())
}
