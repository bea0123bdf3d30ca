//! Checks that two documents still describe the tree:
//!
//! * [`check_graph`]: ARCHITECTURE.md's crate graph, a fenced block opened by
//!   ```` ```crate-graph ```` with one `crate -> dep, dep` line per crate, equals tidy's edge
//!   table ([`super::edges::RULES`]) both ways. The right-hand side is a comma-separated list
//!   of Strata crates, `(none)`, `any` or `any but strata-testkit` (the [`Allowed`] variants).
//! * [`check_paths`]: every path docs/format.md names exists. A path is an inline code span
//!   with a `/`, no spaces and no placeholder (`<`, `{`, `*`) whose last part has an extension
//!   or ends in `/` (`strata-x/..` is under `crates/`, anything else under the repository
//!   root, `../shared/..` included), or a relative link target (from `docs/`); a bare crate
//!   name (`strata-key`) must be a workspace crate. In table rows a bare file name (`iter.rs`)
//!   is reported: it cannot be checked, so rows write the path from the crate.
//!
//! Invariant: both checks are pure (text in, findings out; `exists` is the caller's), and each
//! message says what to write where.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use super::edges::Allowed;
use super::source::Finding;

/// The info string of ARCHITECTURE.md's checked crate graph block.
pub const GRAPH_FENCE: &str = "```crate-graph";

/// What a crate may depend on, comparably (the text form of [`Allowed`]).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Deps {
    Only(BTreeSet<String>),
    AnyButTestkit,
    Any,
}

impl Deps {
    fn from_rule(allowed: Allowed) -> Deps {
        match allowed {
            Allowed::Only(names) => Deps::Only(names.iter().map(|n| (*n).to_owned()).collect()),
            Allowed::AnyButTestkit => Deps::AnyButTestkit,
            Allowed::Any => Deps::Any,
        }
    }

    fn parse(rhs: &str) -> Option<Deps> {
        match rhs.trim() {
            "(none)" => Some(Deps::Only(BTreeSet::new())),
            "any" => Some(Deps::Any),
            "any but strata-testkit" => Some(Deps::AnyButTestkit),
            list => {
                let names: Vec<&str> = list.split(',').map(str::trim).collect();
                names
                    .iter()
                    .all(|n| is_crate_name(n))
                    .then(|| Deps::Only(names.iter().map(|n| (*n).to_owned()).collect()))
            }
        }
    }

    /// The right-hand side of a graph line.
    fn text(&self) -> String {
        match self {
            Deps::Only(names) if names.is_empty() => "(none)".to_owned(),
            Deps::Only(names) => names.iter().cloned().collect::<Vec<_>>().join(", "),
            Deps::AnyButTestkit => "any but strata-testkit".to_owned(),
            Deps::Any => "any".to_owned(),
        }
    }

    /// The same as an [`Allowed`] expression for the edge table.
    fn rust(&self) -> String {
        match self {
            Deps::Only(names) => {
                let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
                format!("Allowed::Only(&[{}])", quoted.join(", "))
            }
            Deps::AnyButTestkit => "Allowed::AnyButTestkit".to_owned(),
            Deps::Any => "Allowed::Any".to_owned(),
        }
    }
}

fn is_crate_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn finding(line: usize, message: String) -> Finding {
    Finding { line, message }
}

/// Findings where ARCHITECTURE.md's crate graph (`markdown`) and the edge table `rules`
/// disagree; `rules` is [`super::edges::RULES`] outside tests.
pub fn check_graph(markdown: &str, rules: &[(&str, Allowed)]) -> Vec<Finding> {
    let table = "tidy's edge table (RULES in xtask/src/tidy/edges.rs)";
    let lines: Vec<&str> = markdown.lines().collect();
    let Some(open) = lines.iter().position(|l| l.trim() == GRAPH_FENCE) else {
        return vec![finding(
            0,
            format!(
                "no {GRAPH_FENCE} block: add one under \"Bird's-eye view\" with a \
                 `crate -> dep, dep` line for each row of {table}"
            ),
        )];
    };
    let mut findings = Vec::new();
    let mut graph: Vec<(usize, String, Deps)> = Vec::new();
    let mut closed = false;
    for (idx, line) in lines.iter().enumerate().skip(open + 1) {
        let line_no = idx + 1;
        let text = line.trim();
        if text.starts_with("```") {
            closed = true;
            break;
        }
        if text.is_empty() {
            continue;
        }
        let parsed = text.split_once("->").and_then(|(name, rhs)| {
            let name = name.trim();
            Some((name, Deps::parse(rhs)?)).filter(|_| is_crate_name(name))
        });
        let Some((name, deps)) = parsed else {
            findings.push(finding(
                line_no,
                format!(
                    "`{text}` is not `crate -> dep, dep` (or `-> (none)`, `-> any`, \
                     `-> any but strata-testkit`)"
                ),
            ));
            continue;
        };
        if graph.iter().any(|(_, n, _)| n == name) {
            findings.push(finding(
                line_no,
                format!("`{name}` has a second line in the crate graph: keep one"),
            ));
            continue;
        }
        graph.push((line_no, name.to_owned(), deps));
    }
    if !closed {
        findings.push(finding(
            open + 1,
            format!("the {GRAPH_FENCE} block is not closed with ```"),
        ));
    }

    for (line_no, name, deps) in &graph {
        match rules.iter().find(|(krate, _)| krate == name) {
            None => findings.push(finding(
                *line_no,
                format!(
                    "`{name}` is in the crate graph but not in {table}: add \
                     `(\"{name}\", {}),` to RULES (and its row to STYLE.md's table), or \
                     delete this line",
                    deps.rust()
                ),
            )),
            Some((_, allowed)) => {
                let want = Deps::from_rule(*allowed);
                if want != *deps {
                    findings.push(finding(
                        *line_no,
                        format!(
                            "`{name} -> {}` disagrees with {table}, which has `{name} -> {}`: \
                             change this line or the table's row so they agree",
                            deps.text(),
                            want.text()
                        ),
                    ));
                }
            }
        }
    }
    for (krate, allowed) in rules {
        if !graph.iter().any(|(_, name, _)| name == krate) {
            findings.push(finding(
                open + 1,
                format!(
                    "the crate graph has no line for `{krate}`, which {table} has: add \
                     `{krate} -> {}` to the {GRAPH_FENCE} block",
                    Deps::from_rule(*allowed).text()
                ),
            ));
        }
    }
    findings
}

/// Findings for the paths docs/format.md (`markdown`, in directory `doc_dir` relative to the
/// root) names that do not exist; `exists` answers for a root-relative, normalized path, and
/// `crates` are the workspace's package names.
pub fn check_paths(
    markdown: &str,
    doc_dir: &Path,
    exists: &dyn Fn(&Path) -> bool,
    crates: &[&str],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (idx, line) in markdown.lines().enumerate() {
        let line_no = idx + 1;
        let in_table = line.trim_start().starts_with('|');
        for span in code_spans(line) {
            if span.starts_with("strata-") && is_crate_name(span) {
                if !crates.contains(&span) {
                    findings.push(finding(
                        line_no,
                        format!("`{span}` is not a crate of the workspace"),
                    ));
                }
                continue;
            }
            let target = match path_of_span(span) {
                Some(target) => target,
                None => {
                    if in_table && is_bare_file_name(span) {
                        findings.push(finding(
                            line_no,
                            format!(
                                "`{span}` is a bare file name: write the path from the crate \
                                 (`strata-<crate>/src/{span}`) so tidy can check it exists"
                            ),
                        ));
                    }
                    continue;
                }
            };
            if !exists(&target) {
                findings.push(finding(
                    line_no,
                    format!(
                        "`{span}` names {}, which does not exist: point the row at where the \
                         code is now (paths `strata-x/..` are under crates/)",
                        target.display()
                    ),
                ));
            }
        }
        for link in link_targets(line) {
            let target = normalize(&doc_dir.join(link));
            if !exists(&target) {
                findings.push(finding(
                    line_no,
                    format!("link target `{link}` ({}) does not exist", target.display()),
                ));
            }
        }
    }
    findings
}

/// The root-relative path a code span names, if it names one.
fn path_of_span(span: &str) -> Option<PathBuf> {
    if span
        .chars()
        .any(|c| c.is_whitespace() || "<>{}*".contains(c))
    {
        return None;
    }
    let last = span
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let looks_like_path = span.contains('/') && (span.ends_with('/') || last.contains('.'));
    if !looks_like_path {
        return None;
    }
    let path = if span.starts_with("strata-") {
        Path::new("crates").join(span)
    } else {
        PathBuf::from(span)
    };
    Some(normalize(&path))
}

fn is_bare_file_name(span: &str) -> bool {
    !span.contains('/')
        && span
            .rsplit_once('.')
            .is_some_and(|(stem, ext)| !stem.is_empty() && matches!(ext, "rs" | "toml"))
}

/// `a/b/../c` as `a/c`; leading `..` stay.
fn normalize(path: &Path) -> PathBuf {
    let mut out: Vec<Component<'_>> = Vec::new();
    for comp in path.components() {
        match comp {
            Component::CurDir => {}
            Component::ParentDir
                if out
                    .last()
                    .is_some_and(|c| matches!(c, Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out.iter().collect()
}

/// The contents of the single-backtick code spans of `line`.
fn code_spans(line: &str) -> Vec<&str> {
    let mut spans = Vec::new();
    let mut rest = line;
    while let Some((_, after_open)) = rest.split_once('`') {
        let Some((span, after_close)) = after_open.split_once('`') else {
            break;
        };
        spans.push(span);
        rest = after_close;
    }
    spans
}

/// The targets of `[text](target)` links of `line` that are relative paths (no URL, no anchor).
fn link_targets(line: &str) -> Vec<&str> {
    line.match_indices("](")
        .filter_map(|(at, _)| {
            let rest = line.get(at + 2..)?;
            let target = rest.get(..rest.find(')')?)?;
            let target = target.split('#').next().unwrap_or_default();
            (!target.is_empty() && !target.contains("://") && !target.starts_with("mailto:"))
                .then_some(target)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &[(&str, Allowed)] = &[
        ("strata-key", Allowed::Only(&[])),
        ("strata-blob", Allowed::Only(&[])),
        ("strata-btree", Allowed::Only(&["strata-blob"])),
        (
            "strata-delta",
            Allowed::Only(&["strata-key", "strata-blob", "strata-btree"]),
        ),
        ("strata-cli", Allowed::AnyButTestkit),
        ("strata-benches", Allowed::Any),
    ];

    const GRAPH: &str = "# A\n\ntext\n\n```crate-graph\nstrata-key     -> (none)\nstrata-blob    -> (none)\nstrata-btree   -> strata-blob\nstrata-delta   -> strata-btree, strata-key, strata-blob\n\nstrata-cli     -> any but strata-testkit\nstrata-benches -> any\n```\n\nmore\n";

    fn messages(findings: &[Finding]) -> Vec<(usize, String)> {
        findings
            .iter()
            .map(|f| (f.line, f.message.clone()))
            .collect()
    }

    #[test]
    fn the_graph_matching_the_table_passes() {
        assert_eq!(check_graph(GRAPH, RULES), []);
    }

    #[test]
    fn this_repository_graph_matches_the_edge_table() {
        let md = std::fs::read_to_string(crate::command::project_root().join("ARCHITECTURE.md"))
            .unwrap();
        assert_eq!(check_graph(&md, crate::tidy::edges::RULES), []);
    }

    #[test]
    fn a_differing_line_names_both_forms() {
        let md = GRAPH.replace(
            "strata-btree   -> strata-blob",
            "strata-btree   -> strata-blob, strata-key",
        );
        let found = messages(&check_graph(&md, RULES));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, 8);
        assert!(
            found[0].1.contains(
                "`strata-btree -> strata-blob, strata-key` disagrees with tidy's edge table"
            ),
            "{found:?}"
        );
        assert!(
            found[0]
                .1
                .contains("which has `strata-btree -> strata-blob`")
        );
    }

    #[test]
    fn a_crate_missing_from_the_graph_says_what_line_to_add() {
        let mut rules = RULES.to_vec();
        rules.push(("strata-wal", Allowed::Only(&["strata-key"])));
        let found = messages(&check_graph(GRAPH, &rules));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0]
                .1
                .contains("no line for `strata-wal`, which tidy's edge table"),
            "{found:?}"
        );
        assert!(
            found[0]
                .1
                .contains("add `strata-wal -> strata-key` to the ```crate-graph block")
        );
    }

    #[test]
    fn a_crate_missing_from_the_table_says_what_row_to_add() {
        let md = GRAPH.replace(
            "strata-benches -> any\n",
            "strata-benches -> any\nstrata-image -> strata-key, strata-btree\n",
        );
        let found = messages(&check_graph(&md, RULES));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, 13);
        assert!(
            found[0].1.contains(
                "add `(\"strata-image\", Allowed::Only(&[\"strata-btree\", \"strata-key\"])),` to RULES"
            ),
            "{found:?}"
        );
    }

    #[test]
    fn bad_lines_duplicates_and_a_missing_block_are_reported() {
        let md = GRAPH.replace("strata-key     -> (none)", "strata-key depends on nothing");
        let found = messages(&check_graph(&md, RULES));
        // The bad line, and strata-key then missing from the graph.
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].1.contains("is not `crate -> dep, dep`"));
        assert!(found[1].1.contains("no line for `strata-key`"));

        let md = GRAPH.replace(
            "strata-benches -> any\n",
            "strata-benches -> any\nstrata-cli -> any\n",
        );
        let found = messages(&check_graph(&md, RULES));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].1.contains("second line"));

        assert!(
            check_graph("# no graph\n", RULES)[0]
                .message
                .contains("no ```crate-graph block")
        );
        let unclosed = GRAPH.replace("```\n\nmore", "");
        assert!(
            messages(&check_graph(&unclosed, RULES))[0]
                .1
                .contains("not closed")
        );
    }

    fn exists_in(files: &'static [&'static str]) -> impl Fn(&Path) -> bool {
        move |p: &Path| files.iter().any(|f| Path::new(f) == p)
    }

    #[test]
    fn paths_named_in_format_md_must_exist() {
        let exists = exists_in(&[
            "crates/strata-blob/src/block.rs",
            "fuzz/fuzz_targets",
            "../shared/golden",
            "../shared/FORMAT.md",
        ]);
        let md = "See [`../shared/FORMAT.md`](../../shared/FORMAT.md) and [x](https://a.b/c).\n\
                  | 1 | `strata-blob/src/block.rs` (`PAGE_SIZE`), `strata-key`, `strata-benches` | `L = 18`, `X/Y` |\n\
                  | 2 | `fuzz/fuzz_targets/`, `../shared/golden/`, `crates/<c>/benches/` | |\n\
                  | 3 | `strata-delta/src/reader.rs`, `strata-image`, `iter.rs` | |\n\
                  Each crate's `format.rs` holds constants; see [gone](../missing.md).\n";
        let crates = ["strata-key", "strata-blob", "strata-benches"];
        let found = messages(&check_paths(md, Path::new("docs"), &exists, &crates));
        assert_eq!(found.len(), 4, "{found:?}");
        assert_eq!(found[0].0, 4);
        assert!(found[0].1.contains(
            "`strata-delta/src/reader.rs` names crates/strata-delta/src/reader.rs, which does not exist"
        ));
        assert!(
            found[1]
                .1
                .contains("`strata-image` is not a crate of the workspace")
        );
        assert!(found[2].1.contains("`iter.rs` is a bare file name"));
        assert_eq!(found[3].0, 5);
        assert!(
            found[3]
                .1
                .contains("link target `../missing.md` (missing.md)")
        );
    }

    #[test]
    fn this_repository_format_md_names_only_existing_paths() {
        let root = crate::command::project_root();
        let md = std::fs::read_to_string(root.join("docs/format.md")).unwrap();
        let exists = |p: &Path| root.join(p).exists();
        // The edge table names every workspace crate (tidy's edge check makes sure).
        let crates: Vec<&str> = crate::tidy::edges::RULES.iter().map(|(n, _)| *n).collect();
        assert_eq!(check_paths(&md, Path::new("docs"), &exists, &crates), []);
    }

    #[test]
    fn spans_and_links_are_found() {
        assert_eq!(code_spans("a `b` c `d e` `f"), ["b", "d e"]);
        assert_eq!(
            link_targets("[a](x.md) [b](y.md#s) [c](http://z) [d](#top)"),
            ["x.md", "y.md"]
        );
        assert_eq!(
            normalize(Path::new("docs/../../shared/F.md")),
            Path::new("../shared/F.md")
        );
    }
}
