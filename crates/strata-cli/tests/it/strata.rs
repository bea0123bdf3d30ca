//! Running the `strata` binary from integration tests: a command for it, its output, its
//! stdout when it must succeed, and its streams as text. A module of the one test binary
//! (`main.rs`); the test modules use it as `crate::strata`.

use std::ffi::OsStr;
use std::process::{Command, Output};

/// A command running the `strata` binary, for tests that set its environment or streams.
pub fn command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_strata"))
}

/// Runs `strata` with `args` and returns its output, whatever its exit status.
pub fn run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    command().args(args).output().expect("running strata")
}

/// Runs `strata` with `args`, asserts it succeeded, and returns its stdout.
pub fn run_ok<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = run(args);
    assert!(
        out.status.success(),
        "strata failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// The stdout of `out` as UTF-8 text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8 stdout")
}

/// The stderr of `out` as UTF-8 text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("utf-8 stderr")
}
