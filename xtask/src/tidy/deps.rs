//! The unused-dependency check: every dependency a workspace crate's `Cargo.toml` declares is
//! named by the code that can use it.
//!
//! A crate's `.rs` files are split into three kinds of code (paths relative to its manifest):
//!
//! * library / binary code: `src/` (and `fuzz_targets/`, cargo-fuzz's binaries), up to the
//!   first `#[cfg(test)]` module of each file (files named `tests.rs` or under a `tests/`
//!   directory excepted): what `[dependencies]` serve;
//! * build code: `build.rs`: what `[build-dependencies]` serve;
//! * test code: `tests/`, `benches/`, `examples/`, the `#[cfg(test)]` modules of `src/` and the
//!   doc comments of `src/` (doctests): what `[dev-dependencies]` serve.
//!
//! A dependency is *used* by code that names its identifier (the package name, or the rename,
//! with `-` as `_`) as a path root (`foo_bar::..`, `#[foo_bar::test]`) or after `use` or
//! `extern crate`. Comments and string literals do not count (doc comments count as test code
//! only). A `[dependencies]` entry used only by test code must move to `[dev-dependencies]`.
//! Dependencies that are used without their name ever appearing (a feature switched on for
//! another crate, a linker-only crate) go in [`ALLOWED`], each with its reason.
//!
//! Invariant: [`check`] is pure (declared dependencies and code in, violations out) so its unit
//! tests show each kind of finding; [`Code::read`] only reads files.

use std::path::Path;

use anyhow::Context;

use super::code::code_lines;
use super::edges::{DepKind, Package, Violation};
use super::source::test_module_start;

/// Dependencies that are not named in code and are still needed: (crate, dependency, kind,
/// reason). Keep it short; every entry says why the name never appears.
pub const ALLOWED: &[Allowance] = &[(
    "strata-image",
    "thiserror",
    DepKind::Normal,
    "its error enums derive thiserror::Error inside strata_layer::layer_error!'s expansion",
)];

/// The code of one crate, by what its dependencies serve.
#[derive(Clone, Debug, Default)]
pub struct Code {
    /// Library and binary code (`src/` outside test modules).
    pub normal: String,
    /// `build.rs`.
    pub build: String,
    /// Tests, benches, examples, test modules and doc comments of `src/`.
    pub test: String,
}

impl Code {
    /// Reads every `.rs` file of the crate whose manifest is in `dir` (skipping `target/` and
    /// hidden directories).
    pub fn read(dir: &Path) -> anyhow::Result<Code> {
        let mut files = Vec::new();
        super::collect_rs_files(dir, &mut files)?;
        files.sort();
        let mut code = Code::default();
        for path in &files {
            let src =
                std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
            let rel = path.strip_prefix(dir).unwrap_or(path);
            code.add(rel, &src);
        }
        Ok(code)
    }

    /// Adds the file at `rel` (relative to the crate's manifest directory) with contents `src`.
    pub fn add(&mut self, rel: &Path, src: &str) {
        let top = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or_default();
        let is_test_file = rel.file_name().is_some_and(|n| n == "tests.rs")
            || rel
                .parent()
                .is_some_and(|p| p.components().any(|c| c.as_os_str() == "tests"));
        match top {
            "build.rs" => push_lines(&mut self.build, &code_lines(src)),
            "src" | "fuzz_targets" if !is_test_file => {
                let code = code_lines(src);
                let test_start = test_module_start(&code);
                let (normal, test) = code.split_at(test_start.min(code.len()));
                push_lines(&mut self.normal, normal);
                push_lines(&mut self.test, test);
                push_doc_comments(&mut self.test, src);
            }
            _ => {
                // tests/, benches/, examples/, and test files under src/: test code, doc
                // comments included.
                push_lines(&mut self.test, &code_lines(src));
                push_doc_comments(&mut self.test, src);
            }
        }
    }
}

/// Appends the text of `src`'s doc comments (`///`, `//!`), which rustdoc compiles as tests.
fn push_doc_comments(out: &mut String, src: &str) {
    for line in src.lines().map(str::trim_start) {
        if let Some(doc) = line.strip_prefix("///").or(line.strip_prefix("//!")) {
            out.push_str(doc);
            out.push('\n');
        }
    }
}

fn push_lines(out: &mut String, lines: &[String]) {
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
}

/// An allowlist entry: crate, dependency, where it is declared, and why it is never named.
pub type Allowance = (&'static str, &'static str, DepKind, &'static str);

/// Every declared dependency of `pkg` that its `code` does not use where it is declared, but
/// those in [`ALLOWED`].
pub fn check(pkg: &Package, code: &Code) -> Vec<Violation> {
    check_with(pkg, code, ALLOWED)
}

/// [`check`] with the allowlist `allowed`.
fn check_with(pkg: &Package, code: &Code, allowed: &[Allowance]) -> Vec<Violation> {
    let manifest = manifest_name(pkg);
    let mut violations = Vec::new();
    for dep in &pkg.deps {
        let allowed = allowed.iter().any(|(krate, name, kind, _)| {
            *krate == pkg.name && *name == dep.name && *kind == dep.kind
        });
        if allowed {
            continue;
        }
        let ident = dep.rename.as_deref().unwrap_or(&dep.name).replace('-', "_");
        let (used, section, serves) = match dep.kind {
            DepKind::Normal => (
                uses(&code.normal, &ident),
                "[dependencies]",
                "src/ outside #[cfg(test)] modules",
            ),
            DepKind::Build => (
                uses(&code.build, &ident),
                "[build-dependencies]",
                "build.rs",
            ),
            DepKind::Dev => (
                uses(&code.test, &ident),
                "[dev-dependencies]",
                "tests/, benches/, examples/, #[cfg(test)] modules or doc tests",
            ),
        };
        if used {
            continue;
        }
        let in_tests = dep.kind == DepKind::Normal && uses(&code.test, &ident);
        let also_dev = pkg
            .deps
            .iter()
            .any(|d| d.kind == DepKind::Dev && d.name == dep.name);
        let fix = match (in_tests, also_dev) {
            (true, true) => format!(
                ", only in test code: delete it from {section} of {manifest} (it is in \
                 [dev-dependencies] too)"
            ),
            (true, false) => format!(
                ", only in test code: move it from {section} to [dev-dependencies] of {manifest}"
            ),
            (false, _) => format!(": delete it from {section} of {manifest}"),
        };
        violations.push(Violation {
            krate: pkg.name.clone(),
            message: format!(
                "unused dependency `{}`: `{ident}` is not named in {serves}{fix}; if it is \
                 needed without being named, list it with a reason in ALLOWED \
                 (xtask/src/tidy/deps.rs)",
                dep.name
            ),
        });
    }
    violations
}

/// `pkg`'s manifest for messages: relative to the parent of xtask's directory when possible.
fn manifest_name(pkg: &Package) -> String {
    let root = crate::command::project_root();
    let path = pkg
        .manifest_path
        .strip_prefix(&root)
        .unwrap_or(&pkg.manifest_path);
    if path.as_os_str().is_empty() {
        format!("{}'s Cargo.toml", pkg.name)
    } else {
        path.display().to_string()
    }
}

/// Whether `code` names crate `ident` as a path root (`ident::`), or after `use` or
/// `extern crate`.
pub fn uses(code: &str, ident: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    code.match_indices(ident).any(|(at, _)| {
        let before = code.get(..at).unwrap_or_default();
        let after = code.get(at + ident.len()..).unwrap_or_default();
        if before.ends_with(is_ident) || after.starts_with(is_ident) {
            return false;
        }
        // `a::ident::` is a path inside `a`, not the crate; a leading `::ident` is the crate.
        if let Some(head) = before.strip_suffix("::")
            && head.ends_with(|c: char| is_ident(c) || c == '>')
        {
            return false;
        }
        let head = before.trim_end();
        let head = head.strip_suffix("::").unwrap_or(head).trim_end();
        after.trim_start().starts_with("::")
            || head.ends_with("use") && !head[..head.len() - 3].ends_with(is_ident)
            || head.ends_with("extern crate")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, deps: &[(&str, DepKind)]) -> Package {
        Package::with_deps(name, deps, "/nowhere/crates/strata-foo/Cargo.toml")
    }

    fn code(files: &[(&str, &str)]) -> Code {
        let mut code = Code::default();
        for (path, src) in files {
            code.add(Path::new(path), src);
        }
        code
    }

    #[test]
    fn path_roots_use_and_extern_crate_count() {
        assert!(uses("let x = tokio::spawn(f);", "tokio"));
        assert!(uses("#[tokio::test]\nasync fn t() {}", "tokio"));
        assert!(uses("use serde::{Deserialize, Serialize};", "serde"));
        assert!(uses("pub use strata_blob;", "strata_blob"));
        assert!(uses("use ::bytes::Bytes;", "bytes"));
        assert!(uses("extern crate zstd;", "zstd"));
        assert!(uses("let d = sha2 :: Sha256::new();", "sha2"));
    }

    #[test]
    fn look_alikes_do_not_count() {
        assert!(!uses("use serde_json::Value;", "serde"));
        assert!(!uses("let bytes = 3; bytes.len();", "bytes"));
        assert!(!uses("crate::tokio::x();", "tokio"));
        assert!(!uses("fn my_tokio() {}", "tokio"));
        assert!(!uses("let reuse = 1; let hex = reuse hex;", "hex"));
        assert!(!uses("", "hex"));
    }

    #[test]
    fn comments_and_strings_do_not_count_for_normal_dependencies() {
        let code = code(&[(
            "src/lib.rs",
            "//! Uses `tokio::spawn` (doc).\n// tracing::info!\nfn f() { let s = \"bincode::x\"; }\n",
        )]);
        assert!(!uses(&code.normal, "tokio"));
        assert!(!uses(&code.normal, "tracing"));
        assert!(!uses(&code.normal, "bincode"));
        // The doc comment is a doc test: it counts for dev-dependencies.
        assert!(uses(&code.test, "tokio"));
        assert!(!uses(&code.test, "tracing"));
    }

    #[test]
    fn files_are_sorted_into_normal_build_and_test_code() {
        let code = code(&[
            (
                "src/lib.rs",
                "//! x\nuse thiserror::Error;\n#[cfg(test)]\nmod tests {\n    use proptest::prelude::*;\n}\n",
            ),
            ("src/reader/tests.rs", "//! x\nuse tempfile::tempdir;\n"),
            ("build.rs", "//! x\nfn main() { cc::Build::new(); }\n"),
            ("tests/it/main.rs", "//! x\nuse anyhow::Result;\n"),
            ("benches/b.rs", "//! x\nuse criterion::Criterion;\n"),
            (
                "examples/e.rs",
                "//! x\nfn main() { rand::random::<u8>(); }\n",
            ),
        ]);
        assert!(uses(&code.normal, "thiserror"));
        assert!(uses(&code.build, "cc"));
        for dev in ["proptest", "tempfile", "anyhow", "criterion", "rand"] {
            assert!(uses(&code.test, dev), "{dev}");
            assert!(!uses(&code.normal, dev), "{dev}");
        }
    }

    #[test]
    fn a_used_crate_passes() {
        let krate = pkg(
            "strata-foo",
            &[
                ("thiserror", DepKind::Normal),
                ("strata-blob", DepKind::Normal),
                ("proptest", DepKind::Dev),
            ],
        );
        let code = code(&[
            (
                "src/lib.rs",
                "//! x\nuse strata_blob::Block;\n#[derive(thiserror::Error)]\nenum E {}\n",
            ),
            ("tests/it/main.rs", "//! x\nproptest::proptest! {}\n"),
        ]);
        assert_eq!(check(&krate, &code), []);
    }

    #[test]
    fn an_unused_dependency_is_reported_with_crate_and_fix() {
        let krate = pkg(
            "strata-foo",
            &[
                ("thiserror", DepKind::Normal),
                ("bytes", DepKind::Normal),
                ("tempfile", DepKind::Dev),
                ("cc", DepKind::Build),
            ],
        );
        let code = code(&[(
            "src/lib.rs",
            "//! x\n#[derive(thiserror::Error)]\nenum E {}\n",
        )]);
        let found = check(&krate, &code);
        let messages: Vec<_> = found.iter().map(|v| v.message.as_str()).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(found.iter().all(|v| v.krate == "strata-foo"));
        assert!(messages[0].starts_with("unused dependency `bytes`: `bytes` is not named in src/"));
        assert!(
            messages[0]
                .contains("delete it from [dependencies] of /nowhere/crates/strata-foo/Cargo.toml")
        );
        assert!(messages[1].starts_with("unused dependency `tempfile`: "));
        assert!(messages[1].contains("[dev-dependencies]"));
        assert!(messages[2].starts_with("unused dependency `cc`: "));
        assert!(messages[2].contains("build.rs"));
    }

    #[test]
    fn a_normal_dependency_only_tests_use_must_move() {
        let krate = pkg(
            "strata-foo",
            &[
                ("tokio", DepKind::Normal),
                ("tracing", DepKind::Normal),
                ("tracing", DepKind::Dev),
            ],
        );
        let code = code(&[
            (
                "src/lib.rs",
                "//! x\n#[cfg(test)]\nmod tests {\n    #[tokio::test]\n    async fn t() {}\n}\n",
            ),
            ("tests/t.rs", "//! x\nfn f() { tracing::info!(\"x\"); }\n"),
        ]);
        let found = check(&krate, &code);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].message.contains("`tokio`"));
        assert!(
            found[0]
                .message
                .contains("only in test code: move it from [dependencies] to [dev-dependencies]")
        );
        assert!(found[1].message.contains("`tracing`"));
        assert!(
            found[1]
                .message
                .contains("delete it from [dependencies] of /nowhere/crates/strata-foo/Cargo.toml (it is in [dev-dependencies] too)")
        );
    }

    #[test]
    fn renames_are_searched_by_their_new_name() {
        let mut krate = pkg("strata-foo", &[("serde-json", DepKind::Normal)]);
        krate.deps[0].rename = Some("json".into());
        let uses_json = code(&[("src/main.rs", "//! x\nfn main() { json::to_string(&1); }\n")]);
        assert_eq!(check(&krate, &uses_json), []);
        let uses_package_name = code(&[(
            "src/main.rs",
            "//! x\nfn main() { serde_json::to_string(&1); }\n",
        )]);
        assert_eq!(check(&krate, &uses_package_name).len(), 1);
    }

    #[test]
    fn an_allowance_covers_its_crate_dependency_and_kind_only() {
        let krate = pkg(
            "strata-foo",
            &[
                ("openssl-sys", DepKind::Normal),
                ("openssl-sys", DepKind::Dev),
            ],
        );
        let code = code(&[("src/lib.rs", "//! x\n")]);
        assert_eq!(check_with(&krate, &code, &[]).len(), 2);
        let allowed = [(
            "strata-foo",
            "openssl-sys",
            DepKind::Normal,
            "linked for its native library, never named",
        )];
        let found = check_with(&krate, &code, &allowed);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("[dev-dependencies]"));
        let other = pkg("strata-bar", &[("openssl-sys", DepKind::Normal)]);
        assert_eq!(check_with(&other, &code, &allowed).len(), 1);
    }

    #[test]
    fn allowed_entries_name_a_real_reason() {
        for (krate, dep, _, reason) in ALLOWED {
            assert!(krate.starts_with("strata-") || *krate == "xtask", "{krate}");
            assert!(!dep.is_empty());
            assert!(reason.len() > 10, "{krate} -> {dep}: say why");
        }
    }
}
