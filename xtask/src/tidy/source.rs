//! The per-file checks of tidy, over the `.rs` files of `crates/`, `xtask/`, `benches/` and
//! `fuzz/fuzz_targets/`:
//!
//! * header: the first non-empty line starts with `//!` (fuzz targets too: `#![no_main]` goes
//!   after the doc, which Rust allows, so there is no exception);
//! * size: at most [`MAX_CODE_LINES`] lines of code (comments and blank lines do not count)
//!   before the first `#[cfg(test)]` module; files under `tests/` and files named `tests.rs`
//!   are test code and exempt;
//! * layout: no `mod.rs` and no `util.rs` (STYLE.md, Files and names);
//! * bans everywhere: `#[should_panic]`, `#[ignore]`, and `#[allow(..)]` / `#![allow(..)]`
//!   (write `#[expect(lint, reason = "..")]`);
//! * bans in library crates (every `crates/*` but `strata-cli` and `strata-testkit`), in
//!   `src/` before the test module, `build.rs` excepted: `println!`, `eprintln!`, `print!`,
//!   `eprint!`, `dbg!`.
//!
//! Invariant: patterns are matched on code only ([`super::code::code_lines`]), never inside
//! comments or string literals, so documentation may mention what it bans.

use std::path::{Component, Path};

use super::code::code_lines;

/// Cap on lines of non-test code per file, comments and blank lines not counted (STYLE.md: "under ~600 lines of non-test code").
pub const MAX_CODE_LINES: usize = 600;

/// Crates under `crates/` that may print: the CLI and the test-support crate.
pub const PRINTING_CRATES: &[&str] = &["strata-cli", "strata-testkit"];

const PRINT_MACROS: &[&str] = &["println!", "eprintln!", "print!", "eprint!", "dbg!"];

/// One problem in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// 1-based line, or 0 for the file as a whole.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Every finding for the file at `rel_path` (relative to the repository root, `/`-separated
/// components) with contents `src`.
pub fn check_file(rel_path: &Path, src: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut file_finding = |message: String| findings.push(Finding { line: 0, message });

    let first = src.lines().map(str::trim).find(|line| !line.is_empty());
    if !first.is_some_and(|line| line.starts_with("//!")) {
        file_finding("must start with a `//!` doc saying what it holds and its invariants".into());
    }
    let file_name = rel_path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if matches!(file_name, "mod.rs" | "util.rs") {
        file_finding(format!(
            "no `{file_name}`: use `foo.rs` + `foo/` and name modules by topic"
        ));
    }

    let code = code_lines(src);
    let test_start = test_module_start(&code);
    let is_test_file = in_dir(rel_path, "tests") || file_name == "tests.rs";
    if !is_test_file {
        let n_code = code
            .get(..test_start)
            .unwrap_or(&code)
            .iter()
            .filter(|l| !l.trim().is_empty());
        let n_code = n_code.count();
        if n_code > MAX_CODE_LINES {
            file_finding(format!(
                "{n_code} lines of non-test code, over the cap of {MAX_CODE_LINES}: split the file"
            ));
        }
    }

    let library = library_source(rel_path);
    for (line_idx, line) in code.iter().enumerate() {
        let mut finding = |message: String| {
            findings.push(Finding {
                line: line_idx + 1,
                message,
            })
        };
        for attr in banned_attributes(line) {
            finding(attr);
        }
        if library && line_idx < test_start {
            for mac in PRINT_MACROS.iter().filter(|mac| contains_macro(line, mac)) {
                finding(format!(
                    "`{mac}` in a library crate: only strata-cli prints"
                ));
            }
        }
    }
    findings
}

/// Whether `rel_path` is library source where printing is banned.
fn library_source(rel_path: &Path) -> bool {
    let parts: Vec<&str> = rel_path
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => part.to_str(),
            _ => None,
        })
        .collect();
    match parts.as_slice() {
        ["crates", krate, "src", ..] => !PRINTING_CRATES.contains(krate),
        _ => false,
    }
}

fn in_dir(rel_path: &Path, dir: &str) -> bool {
    rel_path
        .parent()
        .is_some_and(|parent| parent.components().any(|c| c.as_os_str() == dir))
}

/// Index of the line holding the `#[cfg(test)]` that opens the first test module (`mod x {`
/// or `mod x;` after it, other attributes allowed between), or `code.len()` if there is none.
pub(super) fn test_module_start(code: &[String]) -> usize {
    for (line_idx, line) in code.iter().enumerate() {
        if line.trim() != "#[cfg(test)]" {
            continue;
        }
        let item = code
            .get(line_idx + 1..)
            .unwrap_or_default()
            .iter()
            .map(|l| l.trim())
            .find(|l| !l.is_empty() && !l.starts_with("#["));
        let is_mod = item.is_some_and(|item| {
            let item = item
                .strip_prefix("pub(crate) ")
                .or(item.strip_prefix("pub "))
                .unwrap_or(item);
            item.starts_with("mod ")
        });
        if is_mod {
            return line_idx;
        }
    }
    code.len()
}

/// Messages for the banned attributes on one line of code.
fn banned_attributes(line: &str) -> Vec<String> {
    let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    let mut found = Vec::new();
    if compact.contains("#[should_panic") {
        found.push("`#[should_panic]` is banned: assert on the returned error instead".to_owned());
    }
    if ["#[ignore]", "#[ignore="]
        .iter()
        .any(|pat| compact.contains(pat))
    {
        found.push("`#[ignore]` is banned: every test runs".to_owned());
    }
    let bare_allow = ["#[allow(", "#![allow(", "#[cfg_attr("].iter().any(|pat| {
        compact.match_indices(pat).any(|(at, _)| {
            *pat != "#[cfg_attr("
                || compact
                    .get(at..)
                    .is_some_and(|rest| rest.contains(",allow("))
        })
    });
    if bare_allow {
        found.push("bare `allow` is banned: use `#[expect(lint, reason = \"..\")]`".to_owned());
    }
    found
}

/// Whether `line` invokes macro `mac` (e.g. `print!`) as a whole word (`eprint!` is not
/// `print!`).
fn contains_macro(line: &str, mac: &str) -> bool {
    line.match_indices(mac).any(|(at, _)| {
        let before = line.get(..at).and_then(|s| s.chars().next_back());
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(path: &str, src: &str) -> Vec<String> {
        check_file(Path::new(path), src)
            .into_iter()
            .map(|f| f.message)
            .collect()
    }

    #[test]
    fn a_clean_file_passes() {
        let src = "//! Doc.\n\nfn f() {}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() { println!(); }\n}\n";
        assert_eq!(
            check_file(Path::new("crates/strata-key/src/lib.rs"), src),
            []
        );
    }

    #[test]
    fn the_header_must_be_first() {
        assert_eq!(
            messages("crates/strata-key/src/a.rs", "\n  //! Doc.\nfn f() {}\n"),
            [""; 0]
        );
        let found = messages("fuzz/fuzz_targets/blob_read.rs", "#![no_main]\n//! Doc.\n");
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("`//!`"));
        assert_eq!(messages("xtask/src/x.rs", "// plain comment\n").len(), 1);
        assert_eq!(messages("xtask/src/x.rs", "").len(), 1);
    }

    #[test]
    fn mod_rs_and_util_rs_are_reported() {
        assert_eq!(
            messages("crates/strata-blob/src/util.rs", "//! x\n").len(),
            1
        );
        assert_eq!(
            messages("crates/strata-blob/src/file/mod.rs", "//! x\n").len(),
            1
        );
    }

    #[test]
    fn size_counts_code_lines_before_the_test_module() {
        let body = "fn f() {}\n\n// comment\n".repeat(MAX_CODE_LINES);
        let ok = format!(
            "//! x\n{body}#[cfg(test)]\nmod tests {{\n{}}}\n",
            "fn g() {}\n".repeat(900)
        );
        assert_eq!(messages("crates/strata-key/src/a.rs", &ok), [""; 0]);
        let too_long = format!("//! x\n{body}fn h() {{}}\n");
        let found = messages("crates/strata-key/src/a.rs", &too_long);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("601 lines of non-test code"),
            "{found:?}"
        );
        assert_eq!(
            messages("crates/strata-key/tests/big.rs", &too_long),
            [""; 0]
        );
    }

    #[test]
    fn cfg_test_on_an_item_does_not_end_the_code() {
        let code: Vec<String> = [
            "#[cfg(test)]",
            "fn helper() {}",
            "#[cfg(test)]",
            "#[path = \"t.rs\"]",
            "pub mod t;",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        assert_eq!(test_module_start(&code), 2);
    }

    #[test]
    fn banned_attributes_are_reported_everywhere() {
        let src = "//! x\n#[test]\n#[should_panic(expected = \"x\")]\nfn a() {}\n#[test] #[ignore = \"slow\"]\nfn b() {}\n#![allow(dead_code)]\n#[ allow(unused) ]\n#[cfg_attr(test, allow(unused))]\n";
        let found = check_file(Path::new("crates/strata-cli/tests/cli.rs"), src);
        let lines: Vec<usize> = found.iter().map(|f| f.line).collect();
        assert_eq!(lines, [3, 5, 7, 8, 9], "{found:?}");
    }

    #[test]
    fn allowed_look_alikes_pass() {
        let src = "//! `#[allow(x)]` and #[ignore] are banned.\n#[expect(dead_code, reason = \"x\")]\n#[ignore_me]\nfn f() { let s = \"#[should_panic]\"; }\n";
        assert_eq!(messages("crates/strata-key/src/a.rs", src), [""; 0]);
    }

    #[test]
    fn printing_is_banned_in_library_code_only() {
        let src = "//! x\nfn f() { println!(\"a\"); std::eprint!(\"b\"); }\nfn g() { dbg!(1); }\n";
        assert_eq!(messages("crates/strata-blob/src/a.rs", src).len(), 3);
        assert_eq!(messages("crates/strata-cli/src/main.rs", src), [""; 0]);
        assert_eq!(messages("crates/strata-testkit/src/lib.rs", src), [""; 0]);
        assert_eq!(messages("crates/strata-blob/tests/a.rs", src), [""; 0]);
        assert_eq!(messages("crates/strata-blob/benches/a.rs", src), [""; 0]);
        assert_eq!(messages("crates/strata-blob/build.rs", src), [""; 0]);
        assert_eq!(messages("xtask/src/main.rs", src), [""; 0]);
    }

    #[test]
    fn print_macros_match_whole_words() {
        assert!(contains_macro("eprint!(x)", "eprint!"));
        assert!(!contains_macro("eprint!(x)", "print!"));
        assert!(!contains_macro("my_print!(x)", "print!"));
        assert!(contains_macro("std::print!(x)", "print!"));
        assert!(!contains_macro("format!(\"x\")", "print!"));
    }
}
