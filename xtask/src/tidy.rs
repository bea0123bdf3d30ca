//! `cargo xtask tidy`: the house rules of STYLE.md that the compiler does not check. It only
//! reads files (and runs `cargo metadata`), prints every finding as `path:line: message`, and
//! fails if there is any.
//!
//! * [`edges`]: workspace crate edges against STYLE.md's table;
//! * [`deps`]: every declared dependency is used by the code it is declared for;
//! * [`docs`]: ARCHITECTURE.md's crate graph equals the edge table, and every path
//!   docs/format.md names exists;
//! * manifests: every workspace crate has `[lints] workspace = true`;
//! * [`source`]: `//!` headers, the file-size cap, banned attributes, printing in libraries.
//!
//! Invariant: tidy never modifies the tree; the decisions live in pure functions
//! ([`edges::check`], [`source::check_file`]) with unit tests.

mod code;
pub mod deps;
pub mod docs;
pub mod edges;
pub mod source;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::command;

/// Directories (relative to the root) whose `.rs` files [`source::check_file`] reads.
pub const SOURCE_DIRS: &[&str] = &[
    "crates",
    "xtask",
    "benches",
    "fuzz/fuzz_targets",
    "fuzz/src",
];

/// Runs every check over the repository at `root`.
pub fn run(root: &Path) -> anyhow::Result<()> {
    let mut findings: Vec<String> = Vec::new();

    let metadata = cargo_metadata(root, None)?;
    let packages = edges::parse_metadata(&metadata)?;
    findings.extend(edges::check(&packages).iter().map(ToString::to_string));
    findings.extend(check_manifests(&metadata, root)?);
    // The fuzz crate is a workspace of its own: its dependencies are checked, not its edges.
    let fuzz = if root.join(FUZZ_MANIFEST).exists() {
        edges::parse_metadata(&cargo_metadata(root, Some(FUZZ_MANIFEST))?)?
    } else {
        Vec::new()
    };
    for pkg in packages.iter().chain(&fuzz) {
        let dir = pkg.manifest_path.parent().unwrap_or(root);
        let code = deps::Code::read(dir)?;
        findings.extend(deps::check(pkg, &code).iter().map(ToString::to_string));
    }
    let crates: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    findings.extend(check_docs(root, &crates)?);

    let mut files = Vec::new();
    for dir in SOURCE_DIRS {
        collect_rs_files(&root.join(dir), &mut files)?;
    }
    files.sort();
    for path in &files {
        let src = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
        let rel = path.strip_prefix(root).unwrap_or(path);
        let shown = rel.display().to_string();
        for finding in source::check_file(rel, &src) {
            findings.push(located(&shown, &finding));
        }
    }

    for finding in &findings {
        eprintln!("tidy: {finding}");
    }
    if !findings.is_empty() {
        bail!(
            "tidy: {} finding(s) in {} crates and {} files",
            findings.len(),
            packages.len(),
            files.len()
        );
    }
    eprintln!(
        "tidy: ok ({} crates, {} files)",
        packages.len(),
        files.len()
    );
    Ok(())
}

/// The fuzz workspace's manifest, relative to the root.
const FUZZ_MANIFEST: &str = "fuzz/Cargo.toml";

/// `cargo metadata --no-deps` of the workspace at `root`, or of the one whose manifest is
/// `manifest` (relative to `root`).
fn cargo_metadata(root: &Path, manifest: Option<&str>) -> anyhow::Result<String> {
    let mut cmd = command::cargo();
    cmd.args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root);
    if let Some(manifest) = manifest {
        cmd.args(["--manifest-path", manifest]);
    }
    let shown = command::display(&cmd);
    eprintln!("$ {shown}");
    let output = cmd
        .output()
        .with_context(|| format!("could not run `{shown}`"))?;
    if !output.status.success() {
        bail!(
            "`{shown}` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8(output.stdout).context("cargo metadata printed non-UTF-8")
}

/// Findings of [`docs`] for ARCHITECTURE.md and docs/format.md, as `path:line: message`.
fn check_docs(root: &Path, crates: &[&str]) -> anyhow::Result<Vec<String>> {
    let read = |name: &str| {
        std::fs::read_to_string(root.join(name)).with_context(|| format!("reading {name}"))
    };
    let graph = docs::check_graph(&read("ARCHITECTURE.md")?, edges::RULES);
    let exists = |path: &Path| root.join(path).exists();
    let paths = docs::check_paths(&read("docs/format.md")?, Path::new("docs"), &exists, crates);
    let graph = graph.iter().map(|f| located("ARCHITECTURE.md", f));
    let paths = paths.iter().map(|f| located("docs/format.md", f));
    Ok(graph.chain(paths).collect())
}

/// `finding` as `path:line: message` (`path: message` for the file as a whole).
fn located(path: &str, finding: &source::Finding) -> String {
    match finding.line {
        0 => format!("{path}: {}", finding.message),
        line => format!("{path}:{line}: {}", finding.message),
    }
}

/// Findings for workspace crates whose `Cargo.toml` does not inherit the workspace lints.
fn check_manifests(metadata: &str, root: &Path) -> anyhow::Result<Vec<String>> {
    let meta: serde_json::Value =
        serde_json::from_str(metadata).context("cargo metadata output")?;
    let mut findings = Vec::new();
    for pkg in meta["packages"].as_array().into_iter().flatten() {
        let Some(manifest_path) = pkg["manifest_path"].as_str() else {
            continue;
        };
        let text =
            std::fs::read_to_string(manifest_path).with_context(|| manifest_path.to_owned())?;
        if !inherits_lints(&text) {
            let rel = Path::new(manifest_path)
                .strip_prefix(root)
                .unwrap_or(Path::new(manifest_path));
            findings.push(format!(
                "{}: needs `[lints]` with `workspace = true`",
                rel.display()
            ));
        }
    }
    Ok(findings)
}

/// Whether a manifest has a `[lints]` table whose first key is `workspace = true`.
fn inherits_lints(manifest: &str) -> bool {
    let mut lines = manifest
        .lines()
        .map(str::trim)
        .skip_while(|line| *line != "[lints]");
    lines.next().is_some()
        && lines.find(|line| !line.is_empty() && !line.starts_with('#')) == Some("workspace = true")
}

/// Appends every `.rs` file under `dir` (skipping `target` and hidden directories) to `out`.
pub(crate) fn collect_rs_files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("{}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if entry.file_type()?.is_dir() {
            if name != "target" && !name.starts_with('.') {
                collect_rs_files(&path, out)?;
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_must_inherit_workspace_lints() {
        assert!(inherits_lints(
            "[package]\nname = \"a\"\n\n[lints]\nworkspace = true\n"
        ));
        assert!(!inherits_lints("[package]\nname = \"a\"\n"));
        assert!(!inherits_lints(
            "[lints]\n\n[dependencies]\nworkspace = true\n"
        ));
        assert!(!inherits_lints("[lints.rust]\nunsafe_code = \"deny\"\n"));
    }

    #[test]
    fn files_are_collected_recursively_without_target() {
        let dir = std::env::temp_dir().join(format!("xtask-tidy-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src/inner")).unwrap();
        std::fs::create_dir_all(dir.join("target/debug")).unwrap();
        std::fs::write(dir.join("src/a.rs"), "").unwrap();
        std::fs::write(dir.join("src/inner/b.rs"), "").unwrap();
        std::fs::write(dir.join("src/notes.md"), "").unwrap();
        std::fs::write(dir.join("target/debug/c.rs"), "").unwrap();
        let mut files = Vec::new();
        collect_rs_files(&dir, &mut files).unwrap();
        files.sort();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(files, [dir.join("src/a.rs"), dir.join("src/inner/b.rs")]);
    }

    /// The repository's own `cargo metadata` goes through the same parser, and xtask has no
    /// Strata edge.
    #[test]
    fn this_workspace_parses_and_xtask_has_no_strata_edges() {
        let output = command::cargo()
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .output()
            .unwrap();
        assert!(output.status.success());
        let packages = edges::parse_metadata(&String::from_utf8(output.stdout).unwrap()).unwrap();
        let xtask = packages.iter().find(|p| p.name == "xtask").unwrap();
        assert!(xtask.deps.iter().all(|d| !d.name.starts_with("strata-")));
    }
}
