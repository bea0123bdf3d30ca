//! The PostgreSQL 15 fixture (WAL.md 7.2): a throw-away cluster in a temp dir, a pgbench run
//! with every `wal_compression` setting and checkpoints between, a clean stop, then the WAL
//! segments and `pg_waldump`'s output read into memory once per test process and the cluster
//! removed. `STRATA_WAL_ORACLE=large` makes the run bigger.
//!
//! PostgreSQL refuses to run as root, so as root every server-side command runs as `postgres`
//! through `runuser`. The server listens on a Unix socket inside the temp dir only, and a drop
//! guard runs `pg_ctl stop` whatever happens.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use anyhow::{Context, bail};
use strata_key::Lsn;
use strata_wal::format::{DEFAULT_SEGMENT_SIZE, parse_segment_file_name};
use strata_wal::{DecoderOptions, EndOfWal, Record, decode_all};

/// Where Debian's PostgreSQL 15 puts its binaries.
pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
/// The first record after initdb.
pub const FIRST_RECORD: Lsn = Lsn(0x0100_0028);
const PORT: u16 = 54391;

/// What one PostgreSQL run left behind, in memory.
pub struct Fixture {
    /// `(segno, bytes)` of every segment file, in order.
    pub segments: Vec<(u64, Vec<u8>)>,
    /// `pg_waldump -s FIRST_RECORD` stdout.
    pub dump: String,
    /// `pg_waldump -b` stdout.
    pub dump_bkp: String,
    /// `pg_waldump` stderr (its end-of-WAL line).
    pub dump_err: String,
    /// `pg_waldump --stats` stdout.
    pub stats: String,
    /// Seconds it took to make.
    pub took: f64,
}

impl Fixture {
    /// All segments concatenated (they are consecutive from segment 1).
    pub fn wal(&self) -> Vec<u8> {
        self.segments
            .iter()
            .flat_map(|(_, b)| b.iter().copied())
            .collect()
    }

    /// The LSN of the first byte of the first segment.
    pub fn start(&self) -> Lsn {
        Lsn(self.segments.first().map_or(0, |(s, _)| *s) * DEFAULT_SEGMENT_SIZE)
    }
}

/// The fixture, generated on first use; a test calling this fails (with how to install
/// PostgreSQL) when the binaries are missing.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| match generate() {
        Ok(f) => {
            eprintln!(
                "WAL fixture: {} segments, made in {:.1}s",
                f.segments.len(),
                f.took
            );
            f
        }
        Err(e) => panic!("the PostgreSQL WAL fixture could not be made: {e:#}"),
    })
}

/// Fails with instructions unless PostgreSQL 15's binaries are installed.
pub fn require_postgres() -> anyhow::Result<()> {
    for tool in [
        "initdb",
        "pg_ctl",
        "postgres",
        "pgbench",
        "psql",
        "pg_waldump",
    ] {
        let path = Path::new(PG_BIN).join(tool);
        if !path.is_file() {
            bail!(
                "{} is missing: the WAL oracle tests need PostgreSQL 15's binaries. Install them \
                 with `apt-get install -y postgresql-15` (cargo xtask ci does this when run as root)",
                path.display()
            );
        }
    }
    Ok(())
}

/// Runs `pg_waldump ARGS`, returning its output (any exit status).
pub fn waldump(args: &[&str]) -> anyhow::Result<Output> {
    Command::new(Path::new(PG_BIN).join("pg_waldump"))
        .args(args)
        .output()
        .context("running pg_waldump")
}

fn is_root() -> bool {
    // The effective uid, without unsafe code: `id -u`.
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// A command for a PostgreSQL tool, run as `postgres` when we are root.
fn pg(tool: &str) -> Command {
    let bin = Path::new(PG_BIN).join(tool);
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

fn run(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Stops the server when dropped, even if the test failed half way.
struct Server {
    data: PathBuf,
    running: bool,
}

impl Server {
    fn stop(&mut self) -> anyhow::Result<()> {
        if self.running {
            self.running = false;
            run(pg("pg_ctl")
                .arg("-D")
                .arg(&self.data)
                .args(["-m", "fast", "-w", "stop"]))?;
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn generate() -> anyhow::Result<Fixture> {
    let started = std::time::Instant::now();
    require_postgres()?;
    let large = std::env::var("STRATA_WAL_ORACLE").is_ok_and(|v| v == "large");
    let (scale, secs) = if large { ("4", "10") } else { ("1", "1") };

    let tmp = tempfile::Builder::new()
        .prefix("strata-wal-oracle")
        .tempdir()?;
    let root = tmp.path();
    let data = root.join("data");
    let sock = root.join("sock");
    std::fs::create_dir(&sock)?;
    if is_root() {
        run(Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(root))?;
    }
    run(pg("initdb")
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "--no-instructions"]))?;
    let conf = format!(
        "port = {PORT}\nlisten_addresses = ''\nunix_socket_directories = '{}'\n\
         wal_keep_size = '4GB'\nmax_wal_size = '8GB'\ncheckpoint_timeout = '1h'\n\
         fsync = off\nsynchronous_commit = off\n",
        sock.display()
    );
    let conf_path = data.join("postgresql.conf");
    let mut text = std::fs::read_to_string(&conf_path)?;
    text.push_str(&conf);
    std::fs::write(&conf_path, text)?;

    let mut server = Server {
        data: data.clone(),
        running: true,
    };
    let log = root.join("server.log");
    run(pg("pg_ctl")
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(&log)
        .args(["-w", "-t", "30", "start"]))
    .with_context(|| {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        format!("server log:\n{text}")
    })?;
    let sock_s = sock.display().to_string();
    let port = PORT.to_string();
    let conn = ["-h", sock_s.as_str(), "-p", port.as_str(), "-U", "postgres"];
    run(pg("createdb").args(conn).arg("bench"))?;
    run(pg("pgbench")
        .args(conn)
        .args(["-i", "-q", "-s", scale, "bench"]))?;
    for method in ["off", "pglz", "lz4", "zstd"] {
        run(pg("psql").args(conn).args([
            "-d",
            "postgres",
            "-q",
            "-c",
            &format!("alter system set wal_compression = '{method}'"),
            "-c",
            "select pg_reload_conf()",
        ]))?;
        run(pg("psql")
            .args(conn)
            .args(["-d", "postgres", "-q", "-c", "checkpoint"]))?;
        run(pg("pgbench")
            .args(conn)
            .args(["-n", "-T", secs, "-c", "2", "-j", "2", "bench"]))?;
    }
    run(pg("psql")
        .args(conn)
        .args(["-d", "postgres", "-q", "-c", "checkpoint"]))?;
    server.stop()?;

    let wal_dir = data.join("pg_wal");
    let mut segments = Vec::new();
    for entry in std::fs::read_dir(&wal_dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some((1, segno)) = parse_segment_file_name(&name, DEFAULT_SEGMENT_SIZE) {
            segments.push((segno, std::fs::read(entry.path())?));
        }
    }
    segments.sort_by_key(|(s, _)| *s);
    if segments.is_empty() || segments.windows(2).any(|w| w[1].0 != w[0].0 + 1) {
        bail!(
            "pg_wal segments are not consecutive: {:?}",
            segments.iter().map(|s| s.0).collect::<Vec<_>>()
        );
    }

    let wal = wal_dir.display().to_string();
    let start = FIRST_RECORD.to_string();
    let plain = waldump(&["-p", &wal, "-s", &start])?;
    let bkp = waldump(&["-p", &wal, "-s", &start, "-b"])?;
    let stats = waldump(&["-p", &wal, "-s", &start, "--stats"])?;
    for out in [&plain, &bkp, &stats] {
        if out.stdout.is_empty() {
            bail!(
                "pg_waldump printed nothing ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    Ok(Fixture {
        segments,
        dump: String::from_utf8(plain.stdout)?,
        dump_bkp: String::from_utf8(bkp.stdout)?,
        dump_err: String::from_utf8(plain.stderr)?,
        stats: String::from_utf8(stats.stdout)?,
        took: started.elapsed().as_secs_f64(),
    })
}

/// Our records of the fixture's WAL from its first segment on, and where it ended (decoded
/// once per test process).
pub fn decoded() -> &'static (Vec<Record>, EndOfWal) {
    static DECODED: OnceLock<(Vec<Record>, EndOfWal)> = OnceLock::new();
    DECODED.get_or_init(|| {
        let fx = fixture();
        let started = std::time::Instant::now();
        let decoded = decode_all(fx.start(), &fx.wal(), DecoderOptions::default())
            .expect("default options are valid");
        eprintln!(
            "WAL fixture: {} records decoded in {:.1}s",
            decoded.0.len(),
            started.elapsed().as_secs_f64()
        );
        decoded
    })
}

/// Writes `segments` as segment files of timeline 1 into `dir`.
pub fn write_segments(dir: &Path, segments: &[(u64, Vec<u8>)]) -> anyhow::Result<()> {
    for (segno, bytes) in segments {
        let name = strata_wal::format::segment_file_name(1, *segno, DEFAULT_SEGMENT_SIZE);
        std::fs::write(dir.join(name), bytes)?;
    }
    Ok(())
}
