//! `cargo xtask ci`: every check the project gates on, in a fixed order, stopping at the first
//! failure. Each step prints its command, its duration, and a summary table at the end.
//!
//! Steps: `cargo fmt --check`; `cargo clippy --workspace --all-targets -D warnings`;
//! PostgreSQL 15 for strata-wal's oracle tests (`apt-get install -y postgresql-15`, only when
//! [`POSTGRES_BIN`] is missing, only as root; otherwise a clear error); `cargo test --workspace` (unit, integration and doc tests); `cargo doc` with
//! `RUSTDOCFLAGS=-D warnings`; tidy (in process); `cargo bench --no-run`; and the fuzz smoke
//! step: every fuzz target for [`SMOKE_FUZZ_SECS`] seconds (installing cargo-fuzz first if it
//! is missing), so a decoder that starts to panic fails the gate wherever it runs, whether or
//! not the CI service sets `CI`. `STRATA_FUZZ_SMOKE_SECS=N` changes the seconds per target (`0`
//! skips the step); `--no-fuzz` always skips it.
//!
//! Tests run under plain `cargo test`, not cargo-nextest: nextest is not on every machine, it
//! does not run doctests, and on two cores its process per test buys little.
//!
//! Invariant: nothing here decides a pass or a failure but the exit codes of the steps.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::{command, fuzz, tidy};

/// The binary whose absence makes the `postgres` step install PostgreSQL 15.
pub const POSTGRES_BIN: &str = "/usr/lib/postgresql/15/bin/postgres";

/// Seconds each fuzz target runs in the smoke step when `STRATA_FUZZ_SMOKE_SECS` is unset.
pub const SMOKE_FUZZ_SECS: u64 = 20;

type StepFn = Box<dyn FnOnce() -> anyhow::Result<()>>;

/// Runs all steps; see the module docs.
pub fn run(no_fuzz: bool) -> anyhow::Result<()> {
    let fuzz_secs = fuzz_smoke_secs(
        no_fuzz,
        std::env::var("STRATA_FUZZ_SMOKE_SECS").ok().as_deref(),
    )?;
    let mut steps: Vec<(&str, StepFn)> = vec![
        (
            "fmt",
            Box::new(|| cargo(&["fmt", "--all", "--", "--check"])),
        ),
        (
            "clippy",
            Box::new(|| {
                cargo(&[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ])
            }),
        ),
        ("postgres", Box::new(ensure_postgres)),
        (
            "test",
            Box::new(|| cargo(&["test", "--workspace", "--no-fail-fast"])),
        ),
        ("doc", Box::new(doc)),
        ("tidy", Box::new(|| tidy::run(&command::project_root()))),
        (
            "bench-build",
            Box::new(|| cargo(&["bench", "--workspace", "--no-run"])),
        ),
    ];
    match fuzz_secs {
        Some(secs) => steps.push((
            "fuzz-smoke",
            Box::new(move || {
                fuzz::run(&fuzz::Args {
                    list: false,
                    secs,
                    targets: Vec::new(),
                })
            }),
        )),
        None => {
            eprintln!("xtask ci: fuzz smoke step skipped (--no-fuzz or STRATA_FUZZ_SMOKE_SECS=0)")
        }
    }

    let n_steps = steps.len();
    let started = Instant::now();
    let mut done: Vec<(&str, Duration)> = Vec::new();
    for (step_idx, (name, step)) in steps.into_iter().enumerate() {
        eprintln!("\n==> xtask ci [{}/{n_steps}] {name}", step_idx + 1);
        let step_started = Instant::now();
        let result = step();
        let took = step_started.elapsed();
        if let Err(err) = result {
            eprint_summary(&done);
            bail!(
                "ci step `{name}` failed after {} ({} steps passed, total {}): {err:#}",
                secs(took),
                done.len(),
                secs(started.elapsed())
            );
        }
        eprintln!("<== {name} ok in {}", secs(took));
        done.push((name, took));
    }
    eprint_summary(&done);
    eprintln!(
        "xtask ci: all {n_steps} steps passed in {}",
        secs(started.elapsed())
    );
    Ok(())
}

/// Seconds per fuzz target for the smoke step, or `None` to skip it (see the module docs).
pub fn fuzz_smoke_secs(no_fuzz: bool, smoke_secs: Option<&str>) -> anyhow::Result<Option<u64>> {
    if no_fuzz {
        return Ok(None);
    }
    let secs = match smoke_secs.map(str::trim).filter(|s| !s.is_empty()) {
        Some(text) => text.parse::<u64>().with_context(|| {
            format!("STRATA_FUZZ_SMOKE_SECS={text:?} is not a number of seconds")
        })?,
        None => SMOKE_FUZZ_SECS,
    };
    Ok((secs > 0).then_some(secs))
}

/// Installs PostgreSQL 15 (Debian's `postgresql-15`) unless [`POSTGRES_BIN`] exists; the
/// strata-wal oracle tests run it and `pg_waldump`.
fn ensure_postgres() -> anyhow::Result<()> {
    if std::path::Path::new(POSTGRES_BIN).is_file() {
        eprintln!("xtask ci: {POSTGRES_BIN} present");
        return Ok(());
    }
    let uid = std::process::Command::new("id").arg("-u").output()?;
    if uid.stdout.trim_ascii() != b"0" {
        bail!(
            "{POSTGRES_BIN} is missing and this is not root: install PostgreSQL 15 \
             (`sudo apt-get install -y postgresql-15`); strata-wal's oracle tests need it"
        );
    }
    command::run(std::process::Command::new("apt-get").arg("update"))?;
    command::run(
        std::process::Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "postgresql-15"]),
    )?;
    if !std::path::Path::new(POSTGRES_BIN).is_file() {
        bail!("apt-get installed postgresql-15 but {POSTGRES_BIN} is still missing");
    }
    Ok(())
}

fn cargo(args: &[&str]) -> anyhow::Result<()> {
    command::run(command::cargo().args(args))
}

fn doc() -> anyhow::Result<()> {
    let mut flags = std::env::var("RUSTDOCFLAGS").unwrap_or_default();
    flags.push_str(if flags.is_empty() {
        "-D warnings"
    } else {
        " -D warnings"
    });
    command::run(command::cargo().env("RUSTDOCFLAGS", flags).args([
        "doc",
        "--workspace",
        "--no-deps",
    ]))
}

fn eprint_summary(done: &[(&str, Duration)]) {
    eprintln!("\nxtask ci: step durations");
    for (name, took) in done {
        eprintln!("  {name:<12} {:>9}", secs(*took));
    }
}

fn secs(took: Duration) -> String {
    format!("{:.1}s", took.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzz_smoke_runs_by_default() {
        assert_eq!(fuzz_smoke_secs(false, None).unwrap(), Some(SMOKE_FUZZ_SECS));
        assert_eq!(
            fuzz_smoke_secs(false, Some(" ")).unwrap(),
            Some(SMOKE_FUZZ_SECS)
        );
    }

    #[test]
    fn fuzz_smoke_env_overrides_and_no_fuzz_wins() {
        assert_eq!(fuzz_smoke_secs(false, Some("7")).unwrap(), Some(7));
        assert_eq!(fuzz_smoke_secs(false, Some("0")).unwrap(), None);
        assert_eq!(fuzz_smoke_secs(true, Some("7")).unwrap(), None);
        assert_eq!(fuzz_smoke_secs(true, None).unwrap(), None);
        assert!(fuzz_smoke_secs(false, Some("ten")).is_err());
    }

    #[test]
    fn durations_print_in_tenths_of_seconds() {
        assert_eq!(secs(Duration::from_millis(12_345)), "12.3s");
    }
}
