//! `strata`: the command-line tool for Neon pageserver delta and image layer files (write,
//! verify, inspect, copy, benchmark); the reading commands choose the kind by block 0's magic.
//! This file holds the argument grammar and the dispatch; each command lives in its own module.
//!
//! Invariants: this crate is the only one that prints. Stdout carries only the documented output
//! of a command (scripts depend on it); logs (`-v`), progress bars and errors go to stderr. Exit
//! codes: 0 success, 1 a file is invalid or a check failed, 2 a usage or I/O problem.

mod bench;
mod demo;
mod error;
mod image;
mod image_bench;
mod ingest;
mod inspect;
mod name;
mod ops;
mod page;
mod progress;
mod timeline;
mod timeline_draw;
mod verify;
mod wal;
mod write;

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::error::{Exit, exit_code, is_broken_pipe};

/// Writes, verifies, inspects and benchmarks Neon pageserver delta and image layer files.
#[derive(Debug, Parser)]
#[command(name = "strata", version, propagate_version = true)]
#[command(
    after_help = "Example:\n  strata demo                      # write, verify and read a standard workload file\n  strata manifest LAYER_FILE       # print a layer's summary and entries"
)]
struct Cli {
    /// More logging on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write the standard workload, verify it, read it back and report.
    ///
    /// The file goes to `strata-demo` under the system temp dir ($TMPDIR, else /tmp), replacing
    /// the previous demo's file, so repeated runs keep one file; `--dir` writes elsewhere.
    #[command(after_help = "Example:\n  strata demo\n  strata demo --keys 2000 --dir /tmp/my-demo")]
    Demo(DemoArgs),
    /// Print a layer file in the golden manifest format (summary, layout and one line per entry).
    #[command(after_help = "Example:\n  strata manifest ../shared/golden/tiny.layer")]
    Manifest {
        /// The layer file (delta or image, by its magic).
        file: PathBuf,
    },
    /// Answer the `Q` lines of a queries file (first four fields) against a layer file.
    #[command(
        after_help = "Example:\n  strata query ../shared/golden/tiny.layer ../shared/golden/tiny.queries"
    )]
    Query {
        /// The layer file (delta or image, by its magic).
        file: PathBuf,
        /// A file of `Q <key> <lsn_start> <lsn_end> ...` lines; other lines are ignored.
        queries: PathBuf,
    },
    /// Rewrite a layer file entry by entry into DIR with Strata's writer; prints the new path.
    #[command(
        after_help = "Example:\n  strata copy ../shared/golden/tiny.layer /tmp/out && cmp /tmp/out/* ../shared/golden/tiny.layer"
    )]
    Copy {
        /// The layer file to read (delta or image, by its magic).
        file: PathBuf,
        /// The directory to write the copy into (must exist).
        dir: PathBuf,
    },
    /// Write the standard workload layer (WORKLOAD.md) into DIR and print its path.
    #[command(
        after_help = "Example:\n  strata workload --keys 300 /tmp/out   # the same bytes as golden/stdsmall.layer"
    )]
    Workload {
        #[command(flatten)]
        params: WorkloadArgs,
        /// The directory to write into (must exist).
        dir: PathBuf,
    },
    /// Check every invariant of FORMAT.md section 9; prints `ok FILE` or one line per finding.
    #[command(after_help = "Example:\n  strata verify layer1 layer2 && echo all valid")]
    Verify {
        /// The layer files (delta or image, by their magic).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print a layer's summary (block 0) and file facts.
    #[command(after_help = "Example:\n  strata summary --json ../shared/golden/tiny.layer")]
    Summary {
        /// The layer file (delta or image, by its magic).
        file: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print every entry of a layer in index order.
    #[command(
        after_help = "Example:\n  strata dump --values ../shared/golden/walvariants.layer | less"
    )]
    Dump {
        /// The layer file (delta or image, by its magic).
        file: PathBuf,
        /// Also print each value's serialized bytes (hex).
        #[arg(long)]
        values: bool,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the page history of KEY visible at LSN (newest first) and whether it is Complete.
    #[command(
        after_help = "Example:\n  strata get LAYER 000000067F000040000000400100000000C8 0000000001000200\n  (LSN as 1-16 hex digits or X/Y)"
    )]
    Get {
        /// The layer file (delta or image, by its magic).
        file: PathBuf,
        /// The key: 36 hex digits.
        key: String,
        /// The LSN to read at (inclusive): 1-16 hex digits, or the X/Y form.
        lsn: String,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Parse layer file names (from the arguments, or one per stdin line when none are given).
    #[command(
        after_help = "Example:\n  ls timeline_dir | strata name\n  strata name 000000000000000000000000000000000000-FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF__0000000001696070-00000000016960E9"
    )]
    Name {
        /// Layer file names (base names; a directory part is ignored).
        names: Vec<String>,
    },
    /// Run the standard workload's operations and print `name: value unit` figures (WORKLOAD.md).
    #[command(
        after_help = "Example:\n  strata bench\n  strata bench --keys 2000 --lookups 10000 --json"
    )]
    Bench(BenchArgs),
    /// Inspect a timeline directory: list, draw or verify its layers, or write a test one.
    #[command(
        after_help = "Example:\n  strata timeline workload /tmp/tl && strata timeline ls /tmp/tl\n  strata timeline draw /tmp/tl -o layers.svg"
    )]
    Timeline(timeline::TimelineArgs),
    /// Read the page of KEY at LSN from a timeline directory: layers visited, records, page.
    #[command(
        after_help = "Example:\n  strata page /tmp/tl 000000067F000040000000400100000000C8 0/1000500 --json"
    )]
    Page(page::PageArgs),
    /// Import a cleanly shut-down PostgreSQL data directory into image layers at its
    /// checkpoint LSN.
    #[command(after_help = "Example:\n  strata import /var/lib/postgresql/15/main /tmp/tl --json")]
    Import(ingest::ImportArgs),
    /// Ingest PostgreSQL WAL into L0 delta layers of a timeline an import made (resumes where
    /// its layers end).
    #[command(
        after_help = "Example:\n  strata ingest /var/lib/postgresql/15/main/pg_wal /tmp/tl --until 0/3000000"
    )]
    Ingest(ingest::IngestArgs),
    /// Decode PostgreSQL WAL segment files as pg_waldump does.
    #[command(subcommand)]
    Wal(WalCommand),
}

/// `strata wal` subcommands.
#[derive(Debug, Subcommand)]
enum WalCommand {
    /// Print every record: pg_waldump's line without the rmgr description, block references,
    /// `--stats` per rmgr or `--json`. The end of WAL goes to stderr; exit 1 if it is damage.
    #[command(
        after_help = "Example:\n  strata wal dump --start 0/1000028 -b PGDATA/pg_wal\n  strata wal dump --stats PGDATA/pg_wal/000000010000000000000001"
    )]
    Dump(WalDumpArgs),
}

/// Arguments of `strata wal dump`.
#[derive(Debug, Clone, Args)]
struct WalDumpArgs {
    /// Detailed block references, one line each (pg_waldump -b).
    #[arg(short = 'b', long)]
    bkp_details: bool,
    /// Start at this LSN (X/Y); default: the first segment's start.
    #[arg(short = 's', long)]
    start: Option<strata_key::Lsn>,
    /// Stop before reading past this LSN (X/Y).
    #[arg(short = 'e', long)]
    end: Option<strata_key::Lsn>,
    /// Print per-rmgr statistics instead of records (pg_waldump --stats).
    #[arg(short = 'z', long)]
    stats: bool,
    /// Print one JSON object per record.
    #[arg(long)]
    json: bool,
    /// Timeline of the segment files (default: the lowest present).
    #[arg(short = 't', long)]
    timeline: Option<u32>,
    /// WAL segment size in bytes.
    #[arg(long, default_value_t = strata_wal::format::DEFAULT_SEGMENT_SIZE)]
    segment_size: u64,
    /// A pg_wal directory, a data directory, or one segment file.
    path: PathBuf,
}

/// The parameters of the standard workload (WORKLOAD.md).
#[derive(Debug, Clone, Copy, Args)]
struct WorkloadArgs {
    /// Which workload: the standard delta layer, or the image layer workload.
    #[arg(long, value_enum, default_value_t = image::KindArg::Delta)]
    kind: image::KindArg,
    /// Number of keys K.
    #[arg(long, default_value_t = 20_000)]
    keys: u64,
    /// WAL records per key R.
    #[arg(long, default_value_t = 10)]
    records: u64,
    /// Image size S in bytes.
    #[arg(long, default_value_t = 8192)]
    image_size: usize,
    /// Seed of the data stream.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// Arguments of `strata demo`.
#[derive(Debug, Clone, Args)]
struct DemoArgs {
    /// Directory to write into: created if missing, must be empty if it exists (default:
    /// `strata-demo` under the system temp dir, reused by every run: the previous demo's file
    /// is replaced).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Number of keys of the standard workload (11 entries per key).
    #[arg(long, default_value_t = demo::DEFAULT_KEYS)]
    keys: u64,
}

/// Arguments of `strata bench`.
#[derive(Debug, Clone, Args)]
struct BenchArgs {
    #[command(flatten)]
    params: WorkloadArgs,
    /// Number of timed point lookups per pass (after a tenth as many warm-up reads).
    #[arg(long, default_value_t = 100_000)]
    lookups: u64,
    /// Directory for the benchmark file (default: a new temp dir, removed afterwards).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the page cache's pages in ordinary 4 KiB pages instead of 2 MiB huge pages (delta
    /// layers; for comparing the two).
    #[arg(long)]
    no_huge_pages: bool,
    /// Copy every value out of the page cache instead of lending large ones (images) as slices
    /// of the cached pages (delta layers; for comparing the two).
    #[arg(long)]
    no_lend_pages: bool,
    /// Print one JSON object instead of `name: value unit` lines.
    #[arg(long)]
    json: bool,
}

impl WorkloadArgs {
    fn image_params(self) -> strata_image::ImageWorkloadParams {
        strata_image::ImageWorkloadParams {
            keys: self.keys,
            image_size: self.image_size,
            seed: self.seed,
        }
    }

    fn params(self) -> strata_delta::workload::WorkloadParams {
        strata_delta::workload::WorkloadParams {
            keys: self.keys,
            records: self.records,
            image_size: self.image_size,
            seed: self.seed,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("strata: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let mut stdout = io::BufWriter::new(io::stdout().lock());
    let result = runtime
        .block_on(run(cli.command, &mut stdout))
        .and_then(|()| Ok(stdout.flush()?));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(Exit(code)) = e.downcast_ref::<Exit>() {
                // The command has already said what went wrong.
                return ExitCode::from(*code);
            }
            if is_broken_pipe(&e) {
                // `strata dump FILE | head`: the reader has all it wanted.
                return ExitCode::SUCCESS;
            }
            eprintln!("strata: error: {}", error::message(&e));
            ExitCode::from(exit_code(&e))
        }
    }
}

async fn run(command: Command, out: &mut impl Write) -> anyhow::Result<()> {
    use image::{KindArg, is_image};
    match command {
        Command::Demo(a) => demo::run(a.dir, a.keys, out).await,
        Command::Manifest { file } if is_image(&file) => image::manifest(&file, out).await,
        Command::Manifest { file } => inspect::manifest(&file, out).await,
        Command::Query { file, queries } if is_image(&file) => {
            image::query(&file, &queries, out).await
        }
        Command::Query { file, queries } => inspect::query(&file, &queries, out).await,
        Command::Copy { file, dir } if is_image(&file) => image::copy(&file, &dir, out).await,
        Command::Copy { file, dir } => write::copy(&file, &dir, out).await,
        Command::Workload { params, dir } if params.kind == KindArg::Image => {
            image::workload(params.image_params(), &dir, out)
        }
        Command::Workload { params, dir } => write::workload(params.params(), &dir, out),
        Command::Verify { files } => verify::run(&files, out).await,
        Command::Summary { file, json } if is_image(&file) => {
            image::summary(&file, json, out).await
        }
        Command::Summary { file, json } => inspect::summary(&file, json, out).await,
        Command::Dump { file, values, json } if is_image(&file) => {
            image::dump(&file, values, json, out).await
        }
        Command::Dump { file, values, json } => inspect::dump(&file, values, json, out).await,
        Command::Get {
            file,
            key,
            lsn,
            json,
        } if is_image(&file) => image::get(&file, &key, &lsn, json, out).await,
        Command::Get {
            file,
            key,
            lsn,
            json,
        } => inspect::get(&file, &key, &lsn, json, out).await,
        Command::Name { names } => name::run(&names, out),
        Command::Bench(a) if a.params.kind == KindArg::Image => {
            let params = a.params.image_params();
            image_bench::run(params, a.lookups, a.dir.as_deref(), a.json, out).await
        }
        Command::Bench(a) => {
            let cache = ops::CacheFlags {
                huge_pages: !a.no_huge_pages,
                lend_pages: !a.no_lend_pages,
            };
            bench::run(
                a.params.params(),
                a.lookups,
                a.dir.as_deref(),
                cache,
                a.json,
                out,
            )
            .await
        }
        Command::Timeline(a) => timeline::run(a, out).await,
        Command::Page(a) => page::run(a, out).await,
        Command::Import(a) => ingest::run_import(a, out),
        Command::Ingest(a) => ingest::run_ingest(a, out).await,
        Command::Wal(WalCommand::Dump(a)) => wal::dump(
            &wal::DumpArgs {
                path: a.path,
                start: a.start,
                end: a.end,
                bkp_details: a.bkp_details,
                stats: a.stats,
                json: a.json,
                timeline: a.timeline,
                segment_size: a.segment_size,
            },
            out,
        ),
    }
}

/// Logs to stderr: warnings by default, more with each `-v`; `RUST_LOG` overrides.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .init();
}
