//! The shared PostgreSQL fixture: one run (WAL.md 7.2 recipe) per test binary, imported and
//! ingested once with a small checkpoint distance so the WAL spans several L0 layers.
//! `STRATA_INGEST_BIG=1` makes the workload larger (opt-in, not for CI).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use strata_ingest::testing::{PgRun, PgSpec};
use strata_ingest::{
    ImportOptions, IngestOptions, IngestProgress, import_datadir, ingest_wal, open_for_ingest,
};
use strata_key::Lsn;

/// This binary's server port (strata-wal's oracle uses 54391).
pub const PORT: u16 = 54393;
/// The checkpoint distance of the fixture's ingest.
pub const CHECKPOINT_DISTANCE: u64 = 4 << 20;

pub struct Fixture {
    pub run: PgRun,
    /// The ingested timeline.
    pub timeline: PathBuf,
    /// The import LSN.
    pub import_lsn: Lsn,
    /// The last storage LSN ingested.
    pub final_lsn: Lsn,
    /// The ingest's report.
    pub progress: IngestProgress,
    _tmp: tempfile::TempDir,
}

pub fn spec(port: u16) -> PgSpec {
    if std::env::var_os("STRATA_INGEST_BIG").is_some() {
        PgSpec {
            port,
            scale: 20,
            pgbench_seconds: 30,
            burn_transactions: 60_000,
        }
    } else {
        PgSpec {
            port,
            scale: 1,
            pgbench_seconds: 3,
            burn_transactions: 7_000,
        }
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Imports `pgdata` into `dir` and ingests `wal` with the fixture's options.
pub fn import_and_ingest(
    pgdata: &Path,
    wal: &Path,
    dir: &Path,
    until: Option<Lsn>,
) -> anyhow::Result<IngestProgress> {
    let opts = ImportOptions {
        image_layer_target: 8 << 20,
    };
    if !dir.join("metadata").exists() {
        import_datadir(pgdata, dir, opts, &mut |_| {})?;
    }
    ingest(wal, dir, until)
}

/// Ingests (or resumes ingesting) `wal` into `dir`.
pub fn ingest(wal: &Path, dir: &Path, until: Option<Lsn>) -> anyhow::Result<IngestProgress> {
    let timeline = open_for_ingest(dir)?;
    let opts = IngestOptions {
        checkpoint_distance: CHECKPOINT_DISTANCE,
        until,
        ..IngestOptions::default()
    };
    Ok(runtime().block_on(ingest_wal(wal, &timeline, opts, &mut |_| {}))?)
}

fn generate() -> anyhow::Result<Fixture> {
    let tmp = tempfile::Builder::new()
        .prefix("strata-ingest-it")
        .tempdir()?;
    let run = PgRun::generate(&tmp.path().join("pg"), &spec(PORT))?;
    let timeline = tmp.path().join("timeline");
    let progress = import_and_ingest(&run.base, &run.wal_dir(), &timeline, None)?;
    Ok(Fixture {
        import_lsn: progress.start_lsn,
        final_lsn: progress.lsn,
        run,
        timeline,
        progress,
        _tmp: tmp,
    })
}

pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Result<Fixture, String>> = OnceLock::new();
    match F.get_or_init(|| generate().map_err(|e| format!("{e:#}"))) {
        Ok(f) => f,
        Err(e) => panic!("PostgreSQL fixture failed: {e}"),
    }
}
