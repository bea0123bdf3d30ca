//! `cargo xtask`: the project's chores (CI, tidy, fuzz, bench), written in Rust so they run
//! wherever cargo does. `.cargo/config.toml` aliases `cargo xtask` to this binary.
//!
//! Invariants: xtask depends on no Strata crate (it must build even when they do not), it runs
//! every command from the repository root with the child's output shown as it comes (never
//! captured; `bench-vs-neon` alone captures the benchmarks' stdout, which it parses), and it
//! prints the one command it runs before running it, so nothing is hidden.

mod bench_vs_neon;
mod ci;
mod command;
mod fuzz;
mod tidy;

use std::process::ExitCode;

use anyhow::{Context, bail};

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  ci [--no-fuzz]        fmt --check, clippy -D warnings, tests, docs -D warnings, tidy, benches
                        compile, then the fuzz smoke step: every target for 20 s, or for
                        STRATA_FUZZ_SMOKE_SECS (0 skips it); --no-fuzz always skips it
  tidy                  crate edges against STYLE.md and ARCHITECTURE.md's graph, unused
                        dependencies, paths in docs/format.md, `//!` headers, file-size cap,
                        banned attributes and printing in library crates
  fuzz [TARGET..] [--secs N] [--list]
                        run fuzz targets of fuzz/ (all when none is named) for N seconds each
                        (default 30); installs cargo-fuzz if missing; --list prints the targets
  bench [ARGS..]        cargo bench --workspace --benches, ARGS passed to criterion (e.g. a
                        filter, --save-baseline NAME)
  bench-vs-neon [--runs N] [--keys K] [--json-out FILE] [--dir DIR] [--baseline FILE]
                        opt-in, not in ci: builds strata in release and runs `strata bench`,
                        ../shared/tools/neonref bench and ../shared/tools/peerbench alternately
                        N times (default 5, K = 20000); prints medians and ratios, writes JSON
                        (default target/bench-vs-neon.json); needs a quiet machine";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> anyhow::Result<()> {
    let Some((cmd, rest)) = args.split_first() else {
        println!("{USAGE}");
        bail!("no command given");
    };
    match cmd.as_str() {
        "ci" => {
            let no_fuzz = match rest {
                [] => false,
                [flag] if flag == "--no-fuzz" => true,
                _ => bail!("`ci` takes only --no-fuzz, got {rest:?}\n\n{USAGE}"),
            };
            ci::run(no_fuzz)
        }
        "tidy" => {
            if !rest.is_empty() {
                bail!("`tidy` takes no arguments, got {rest:?}");
            }
            tidy::run(&command::project_root())
        }
        "fuzz" => fuzz::run(&parse_fuzz_args(rest)?),
        "bench" => command::run(
            command::cargo()
                .args(["bench", "--workspace", "--benches", "--"])
                .args(rest),
        ),
        "bench-vs-neon" => bench_vs_neon::run(&bench_vs_neon::parse_args(rest)?),
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command `{other}`\n\n{USAGE}"),
    }
}

fn parse_fuzz_args(args: &[String]) -> anyhow::Result<fuzz::Args> {
    let mut out = fuzz::Args {
        list: false,
        secs: fuzz::DEFAULT_SECS,
        targets: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--list" => out.list = true,
            "--secs" => {
                let value = args.next().context("--secs needs a number of seconds")?;
                out.secs = value.parse().with_context(|| format!("--secs {value:?}"))?;
            }
            flag if flag.starts_with('-') => bail!("unknown fuzz option `{flag}`\n\n{USAGE}"),
            target => out.targets.push(target.to_owned()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn fuzz_args_parse_targets_secs_and_list() {
        let args =
            parse_fuzz_args(&strings(&["blob_read", "--secs", "5", "value_decode"])).unwrap();
        assert_eq!(args.targets, ["blob_read", "value_decode"]);
        assert_eq!(args.secs, 5);
        assert!(!args.list);

        let args = parse_fuzz_args(&strings(&["--list"])).unwrap();
        assert!(args.list);
        assert_eq!(args.secs, fuzz::DEFAULT_SECS);
        assert!(args.targets.is_empty());
    }

    #[test]
    fn fuzz_args_reject_bad_input() {
        assert!(parse_fuzz_args(&strings(&["--secs"])).is_err());
        assert!(parse_fuzz_args(&strings(&["--secs", "soon"])).is_err());
        assert!(parse_fuzz_args(&strings(&["--sanitize"])).is_err());
    }

    #[test]
    fn unknown_commands_and_flags_are_errors() {
        assert!(run(strings(&["frobnicate"])).is_err());
        assert!(run(strings(&["ci", "--fast"])).is_err());
        assert!(run(strings(&["tidy", "extra"])).is_err());
        assert!(run(Vec::new()).is_err());
    }
}
