//! `cargo xtask fuzz`: builds and runs the libFuzzer targets of `fuzz/` (its own workspace)
//! through cargo-fuzz, installing cargo-fuzz ([`CARGO_FUZZ_VERSION`]) when it is missing.
//!
//! The machines have only the stable toolchain, so cargo-fuzz runs with `RUSTC_BOOTSTRAP=1`
//! (it needs `-Z` flags for coverage instrumentation). The targets are built with
//! [`SANITIZER`]: see its docs for the choice. Each target runs for `--secs` seconds with
//! `-timeout=`[`INPUT_TIMEOUT_SECS`], so a hang counts as a failure; libFuzzer's default memory
//! limit (2 GiB, checked per allocation under the sanitizer) makes a huge allocation one too.
//! A crash leaves its input under `fuzz/artifacts/<target>/` and fails the command.
//!
//! Invariant: the list of targets is `fuzz/Cargo.toml`'s `[[bin]]` names; nothing else.

use std::time::Instant;

use anyhow::{Context, bail};

use crate::command;

/// Seconds per target when `--secs` is not given.
pub const DEFAULT_SECS: u64 = 30;

/// The cargo-fuzz release installed when `cargo fuzz` is missing (`--locked`).
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// The `--sanitizer` given to cargo-fuzz: AddressSanitizer, cargo-fuzz's default. It builds and
/// runs on stable with `RUSTC_BOOTSTRAP=1` (the toolchain ships its runtime). Measured here
/// with a small parser target: `none` builds about a third faster and runs about seven times
/// more inputs per second, but only a sanitizer lets libFuzzer see each allocation, so only
/// with one does a decoder that allocates gigabytes because of a length field fail
/// (`out-of-memory (malloc(..))`); without it such an input passes unnoticed unless the pages
/// are touched. Catching that is worth the speed.
pub const SANITIZER: &str = "address";

/// Per-input time limit in seconds: an input taking longer is reported as a hang.
pub const INPUT_TIMEOUT_SECS: u64 = 10;

/// What `cargo xtask fuzz` was asked to do.
#[derive(Clone, Debug)]
pub struct Args {
    /// Print the targets and stop.
    pub list: bool,
    /// Seconds per target.
    pub secs: u64,
    /// Targets to run; empty means all.
    pub targets: Vec<String>,
}

/// Lists, or builds and runs, the fuzz targets `args` names.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let fuzz_dir = command::project_root().join("fuzz");
    let manifest_path = fuzz_dir.join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("reading {}", manifest_path.display()))?;
    let declared = bin_targets(&manifest);
    let missing_source = |(_, path): &&(String, String)| !fuzz_dir.join(path).is_file();

    if args.list {
        for target in &declared {
            let note = if missing_source(&target) {
                "  (source file missing)"
            } else {
                ""
            };
            println!("{}{note}", target.0);
        }
        return Ok(());
    }

    let selected: Vec<&(String, String)> = if args.targets.is_empty() {
        declared.iter().collect()
    } else {
        args.targets
            .iter()
            .map(|name| {
                declared.iter().find(|(n, _)| n == name).with_context(|| {
                    let names: Vec<&str> = declared.iter().map(|(n, _)| n.as_str()).collect();
                    format!("no fuzz target `{name}`; fuzz/Cargo.toml declares {names:?}")
                })
            })
            .collect::<anyhow::Result<_>>()?
    };
    // cargo refuses the whole fuzz workspace if any declared target's file is missing.
    let absent: Vec<&str> = declared
        .iter()
        .filter(missing_source)
        .map(|(_, path)| path.as_str())
        .collect();
    if !absent.is_empty() {
        bail!("fuzz/Cargo.toml declares targets whose source is missing: {absent:?}");
    }
    if selected.is_empty() {
        bail!("fuzz/Cargo.toml declares no targets");
    }

    ensure_cargo_fuzz()?;
    let mut build = cargo_fuzz(&["build", "--sanitizer", SANITIZER]);
    if let [(only, _)] = selected.as_slice() {
        build.arg(only);
    }
    command::run(&mut build)?;

    let mut ran = Vec::new();
    for (target, _) in &selected {
        let started = Instant::now();
        let max_time = format!("-max_total_time={}", args.secs);
        let timeout = format!("-timeout={INPUT_TIMEOUT_SECS}");
        let mut run = cargo_fuzz(&["run", "--sanitizer", SANITIZER, target, "--"]);
        run.args([max_time.as_str(), timeout.as_str()]);
        command::run(&mut run).with_context(|| {
            format!("fuzz target `{target}` failed: the input is under fuzz/artifacts/{target}/")
        })?;
        ran.push((target, started.elapsed()));
    }
    for (target, took) in ran {
        eprintln!("fuzz: {target:<20} ok, {:.1}s", took.as_secs_f64());
    }
    Ok(())
}

/// `(name, path)` of each `[[bin]]` table of a cargo-fuzz manifest, in order; a table without
/// a `path` gets cargo's default `src/bin/<name>.rs`.
pub fn bin_targets(manifest: &str) -> Vec<(String, String)> {
    let mut targets: Vec<(String, Option<String>)> = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
            if in_bin {
                targets.push((String::new(), None));
            }
            continue;
        }
        let Some(current) = targets.last_mut().filter(|_| in_bin) else {
            continue;
        };
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"').to_owned();
        match key.trim() {
            "name" => current.0 = value,
            "path" => current.1 = Some(value),
            _ => {}
        }
    }
    targets
        .into_iter()
        .filter(|(name, _)| !name.is_empty())
        .map(|(name, path)| {
            let path = path.unwrap_or_else(|| format!("src/bin/{name}.rs"));
            (name, path)
        })
        .collect()
}

/// Installs cargo-fuzz unless `cargo fuzz` already runs.
fn ensure_cargo_fuzz() -> anyhow::Result<()> {
    if command::succeeds(command::cargo().args(["fuzz", "--version"])) {
        return Ok(());
    }
    eprintln!("fuzz: cargo-fuzz is missing; installing cargo-fuzz {CARGO_FUZZ_VERSION}");
    command::run(command::cargo().args([
        "install",
        "cargo-fuzz",
        "--locked",
        "--version",
        CARGO_FUZZ_VERSION,
    ]))
}

/// `cargo fuzz <args>` with `RUSTC_BOOTSTRAP=1`, from the repository root (cargo-fuzz finds
/// `fuzz/` there).
fn cargo_fuzz(args: &[&str]) -> std::process::Command {
    let mut cmd = command::cargo();
    cmd.env("RUSTC_BOOTSTRAP", "1").arg("fuzz").args(args);
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bin_targets_reads_names_and_paths() {
        let manifest = "[package]\nname = \"strata-fuzz\"\n\n[[bin]]\nname = \"key_name_parse\"\npath = \"fuzz_targets/key_name_parse.rs\"\ntest = false\n\n[dependencies]\nname = \"not-a-bin\"\n\n[[bin]]\nname = \"blob_read\"\n";
        assert_eq!(
            bin_targets(manifest),
            [
                (
                    "key_name_parse".to_owned(),
                    "fuzz_targets/key_name_parse.rs".to_owned()
                ),
                ("blob_read".to_owned(), "src/bin/blob_read.rs".to_owned()),
            ]
        );
        assert_eq!(bin_targets("[package]\nname = \"x\"\n"), []);
    }

    #[test]
    fn the_project_declares_the_six_targets() {
        let fuzz_dir = command::project_root().join("fuzz");
        let manifest = std::fs::read_to_string(fuzz_dir.join("Cargo.toml")).unwrap();
        let names: Vec<String> = bin_targets(&manifest).into_iter().map(|(n, _)| n).collect();
        for expected in [
            "key_name_parse",
            "blob_read",
            "btree_decode",
            "btree_roundtrip",
            "value_decode",
            "delta_open_scan",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} not in {names:?}"
            );
        }
    }
}
