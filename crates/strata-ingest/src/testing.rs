//! Test support, not API: hidden from the docs (`#[doc(hidden)]`), with no stability promise;
//! it may change or go in any release.
//!
//! A real PostgreSQL 15 run for tests (this crate's and strata-cli's; WAL.md 7.2): initdb, a copy of
//! the fresh directory as the import source, a server that keeps all its WAL, a workload
//! (pgbench -i, a DROP, a VACUUM truncation, wal_compression lz4 FPIs, a short pgbench run,
//! and short transactions, savepoints and rollbacks past a CLOG page boundary), then a clean
//! shutdown.
//!
//! Invariants: the server listens on a Unix socket in the work directory only, on the
//! caller's port; it is always stopped (a guard stops it on any error or panic). As root,
//! every PostgreSQL command runs as `postgres` through `runuser` and the work directory is
//! chowned to it. Nothing prints: a failed command is an error carrying its output.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where the PostgreSQL 15 binaries are: `$PG_BIN`, else Debian's path.
pub fn pg_bin() -> PathBuf {
    std::env::var_os("PG_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/postgresql/15/bin"))
}

/// The shape of the workload.
#[derive(Clone, Copy, Debug)]
pub struct PgSpec {
    /// The server's port (its socket name; no TCP).
    pub port: u16,
    /// pgbench's scale factor.
    pub scale: u32,
    /// Seconds of the pgbench run.
    pub pgbench_seconds: u32,
    /// Transactions per client (4 clients) of the xid-burning scripts.
    pub burn_transactions: u32,
}

/// A finished run: the import source and the stopped server's directory.
#[derive(Debug)]
pub struct PgRun {
    /// The work directory.
    pub work: PathBuf,
    /// The data directory right after initdb (shut down, never started).
    pub base: PathBuf,
    /// The data directory after the workload and a clean shutdown.
    pub data: PathBuf,
}

fn is_root() -> bool {
    // The effective uid of this process, read from /proc.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// A PostgreSQL tool, as `postgres` when running as root.
fn pg(tool: &str) -> Command {
    let path = pg_bin().join(tool);
    if is_root() {
        let mut c = Command::new("runuser");
        c.arg("-u").arg("postgres").arg("--").arg(path);
        c
    } else {
        Command::new(path)
    }
}

fn run(cmd: &mut Command) -> io::Result<Output> {
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "{cmd:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(out)
}

/// Stops the server when dropped, unless it was stopped cleanly.
struct Server {
    data: PathBuf,
    running: bool,
}

impl Server {
    fn stop(&mut self, mode: &str) -> io::Result<()> {
        if self.running {
            self.running = false;
            run(pg("pg_ctl")
                .arg("-D")
                .arg(&self.data)
                .args(["-m", mode, "-w", "stop"]))?;
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop("immediate");
    }
}

const SERVER_CONF: &str = "listen_addresses = ''\nwal_keep_size = '4GB'\nmax_wal_size = '8GB'\n\
checkpoint_timeout = '1h'\nfsync = off\nsynchronous_commit = off\nautovacuum = off\n";

const SETUP_SQL: &str = "create table drop_me as select g from generate_series(1, 5000) g;\n\
create table trunc_me as select g, repeat('x', 200) as pad from generate_series(1, 20000) g;\n\
delete from trunc_me where g > 50;\n\
vacuum trunc_me;\n\
drop table drop_me;\n\
checkpoint;\n";

const BURN: [(&str, &str); 3] = [
    (
        "burn_sub.sql",
        "begin;\nselect txid_current();\nsavepoint a;\ninsert into pgbench_history values (1, 1, 1, 1, now());\nrollback to savepoint a;\nsavepoint b;\ninsert into pgbench_history values (2, 2, 2, 2, now());\ncommit;\n",
    ),
    ("burn.sql", "select txid_current();\n"),
    (
        "burn_abort.sql",
        "begin;\nselect txid_current();\nrollback;\n",
    ),
];

impl PgRun {
    /// Runs PostgreSQL in `work` (an empty directory) with `spec`.
    pub fn generate(work: &Path, spec: &PgSpec) -> io::Result<PgRun> {
        let run_dir = PgRun {
            work: work.to_path_buf(),
            base: work.join("base"),
            data: work.join("data"),
        };
        let sock = work.join("sock");
        std::fs::create_dir_all(&sock)?;
        if is_root() {
            run(Command::new("chown")
                .arg("-R")
                .arg("postgres:postgres")
                .arg(work))?;
        }
        run(pg("initdb").arg("-D").arg(&run_dir.data).args([
            "-U",
            "postgres",
            "--no-instructions",
            "--no-sync",
        ]))?;
        run(Command::new("cp")
            .arg("-a")
            .arg(&run_dir.data)
            .arg(&run_dir.base))?;
        let conf = format!(
            "port = {}\nunix_socket_directories = '{}'\n{SERVER_CONF}",
            spec.port,
            sock.display()
        );
        let conf_path = run_dir.data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf_path)?;
        text.push_str(&conf);
        std::fs::write(&conf_path, text)?;
        for (name, body) in BURN {
            std::fs::write(work.join(name), body)?;
        }
        if is_root() {
            run(Command::new("chown")
                .arg("-R")
                .arg("postgres:postgres")
                .arg(work))?;
        }

        let mut server = Server {
            data: run_dir.data.clone(),
            running: false,
        };
        run(pg("pg_ctl")
            .arg("-D")
            .arg(&run_dir.data)
            .arg("-l")
            .arg(work.join("server.log"))
            .args(["-w", "start"]))?;
        server.running = true;
        let sock_s = sock.display().to_string();
        let port = spec.port.to_string();
        let conn = ["-h", sock_s.as_str(), "-p", port.as_str(), "-U", "postgres"];
        let psql = |db: &str, sql: &str| {
            run(pg("psql").args(conn).args([
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                db,
                "-c",
                sql,
            ]))
        };
        run(pg("createdb").args(conn).arg("bench"))?;
        let scale = spec.scale.to_string();
        run(pg("pgbench")
            .args(conn)
            .args(["-i", "-q", "-s", &scale, "bench"]))?;
        for stmt in SETUP_SQL.lines() {
            psql("bench", stmt)?;
        }
        psql("postgres", "alter system set wal_compression = 'lz4'")?;
        psql("postgres", "select pg_reload_conf()")?;
        let secs = spec.pgbench_seconds.to_string();
        run(pg("pgbench")
            .args(conn)
            .args(["-n", "-T", &secs, "-c", "2", "-j", "2", "bench"]))?;
        psql("postgres", "alter system set wal_compression = 'off'")?;
        psql("postgres", "select pg_reload_conf()")?;
        psql("postgres", "checkpoint")?;
        let t = spec.burn_transactions.to_string();
        let mut burn = pg("pgbench");
        burn.args(conn).args(["-n", "-c", "4", "-j", "2", "-t", &t]);
        for ((name, _), weight) in BURN.iter().zip([3, 12, 1]) {
            burn.arg("-f")
                .arg(format!("{}@{weight}", work.join(name).display()));
        }
        run(burn.arg("bench"))?;
        server.stop("fast")?;
        Ok(run_dir)
    }

    /// The `pg_wal` directory of the finished run.
    pub fn wal_dir(&self) -> PathBuf {
        self.data.join("pg_wal")
    }

    /// `pg_waldump -p pg_wal ARGS` (as `postgres` when root), its stdout; pg_waldump's
    /// end-of-WAL error exit is not a failure.
    pub fn waldump(&self, args: &[&str]) -> io::Result<String> {
        let out = pg("pg_waldump")
            .arg("-p")
            .arg(self.wal_dir())
            .args(args)
            .output()?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}
