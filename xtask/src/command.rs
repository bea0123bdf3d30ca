//! Running child processes: the repository root, a `cargo` command rooted there, and [`run`],
//! which echoes a command, lets it print straight to the terminal and turns a non-zero exit
//! into an error naming the command.
//!
//! Invariant: output is inherited, never captured, so CI logs show cargo's own lines (the
//! `test result:` summaries among them) as they happen.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The repository root: the parent of this crate's directory.
pub fn project_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// A `cargo` command (the one that launched xtask, if known) run from the repository root.
pub fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(project_root());
    cmd
}

/// Echoes `cmd` on stderr, runs it with inherited stdio and fails unless it exits with 0.
pub fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let shown = display(cmd);
    eprintln!("$ {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Whether `cmd` runs and exits with 0, its output discarded (for probing installed tools).
pub fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// `cmd` as a shell-like line: environment settings it adds, the program's file name, its args.
pub fn display(cmd: &Command) -> String {
    let mut parts: Vec<String> = cmd
        .get_envs()
        .filter_map(|(key, value)| {
            Some(format!(
                "{}={}",
                key.to_string_lossy(),
                value?.to_string_lossy()
            ))
        })
        .collect();
    let program = Path::new(cmd.get_program());
    let name = if program.ends_with("cargo") {
        OsStr::new("cargo")
    } else {
        program.as_os_str()
    };
    parts.push(name.to_string_lossy().into_owned());
    parts.extend(cmd.get_args().map(|arg| arg.to_string_lossy().into_owned()));
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_env_program_and_args() {
        let mut cmd = Command::new("/somewhere/bin/cargo");
        cmd.env("RUSTDOCFLAGS", "-D warnings")
            .args(["doc", "--workspace"]);
        assert_eq!(
            display(&cmd),
            "RUSTDOCFLAGS=-D warnings cargo doc --workspace"
        );
    }

    #[test]
    fn run_reports_failure_with_the_command() {
        let err = run(Command::new("false").arg("x")).unwrap_err();
        assert!(err.to_string().contains("`false x` failed"), "{err}");
        assert!(run(&mut Command::new("true")).is_ok());
        assert!(run(&mut Command::new("/nonexistent/xtask-test-binary")).is_err());
    }

    #[test]
    fn project_root_holds_the_workspace_manifest() {
        let manifest = std::fs::read_to_string(project_root().join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"));
    }
}
