//! The crate-edge check: which workspace crate may depend on which Strata crate, as STYLE.md's
//! "Edges" table says, checked against `cargo metadata --no-deps`.
//!
//! The table ([`RULES`]) lists every workspace crate. Normal and build dependencies must be in
//! the crate's row; dev-dependencies may also name `strata-testkit` (any `strata-*` crate's
//! tests may use it). `strata-testkit` is a dev-dependency-only helper, so only
//! `strata-benches` (which may use anything) takes it as a normal dependency. A workspace crate
//! missing from the table, or a dependency on a `strata-*` crate nobody knows, is reported too:
//! a new crate or edge is a design change, made on purpose by editing STYLE.md and this table.
//!
//! Invariant: [`check`] is pure (metadata in, violations out) so its unit tests can prove that
//! a forbidden edge is reported.

use std::fmt;
use std::path::PathBuf;

use anyhow::Context;

/// What a crate may depend on.
#[derive(Clone, Copy, Debug)]
pub enum Allowed {
    /// Exactly these Strata crates.
    Only(&'static [&'static str]),
    /// Any known Strata crate except the dev-only `strata-testkit`.
    AnyButTestkit,
    /// Any known Strata crate.
    Any,
}

/// STYLE.md's edge table: every workspace crate and the Strata crates it may depend on.
pub const RULES: &[(&str, Allowed)] = &[
    ("strata-key", Allowed::Only(&[])),
    ("strata-blob", Allowed::Only(&[])),
    ("strata-btree", Allowed::Only(&["strata-blob"])),
    ("strata-cache", Allowed::Only(&["strata-blob"])),
    (
        "strata-layer",
        Allowed::Only(&["strata-key", "strata-blob", "strata-btree"]),
    ),
    (
        "strata-delta",
        Allowed::Only(&[
            "strata-key",
            "strata-blob",
            "strata-btree",
            "strata-cache",
            "strata-layer",
        ]),
    ),
    (
        "strata-image",
        Allowed::Only(&[
            "strata-key",
            "strata-blob",
            "strata-btree",
            "strata-cache",
            "strata-layer",
        ]),
    ),
    (
        "strata-timeline",
        Allowed::Only(&[
            "strata-key",
            "strata-blob",
            "strata-cache",
            "strata-delta",
            "strata-image",
        ]),
    ),
    (
        "strata-ingest",
        Allowed::Only(&[
            "strata-key",
            "strata-blob",
            "strata-cache",
            "strata-delta",
            "strata-image",
            "strata-timeline",
            "strata-wal",
        ]),
    ),
    ("strata-wal", Allowed::Only(&["strata-key"])),
    ("strata-cli", Allowed::AnyButTestkit),
    ("strata-testkit", Allowed::Only(&["strata-key"])),
    ("strata-benches", Allowed::Any),
    ("xtask", Allowed::Only(&[])),
];

const TESTKIT: &str = "strata-testkit";

/// The kind of a dependency, as `cargo metadata` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DepKind {
    /// `[dependencies]`.
    Normal,
    /// `[build-dependencies]`.
    Build,
    /// `[dev-dependencies]`.
    Dev,
}

/// A dependency of a workspace crate.
#[derive(Clone, Debug)]
pub struct Dep {
    /// The package name (not a rename).
    pub name: String,
    /// Where it is declared.
    pub kind: DepKind,
    /// The name the crate's code uses for it, when `Cargo.toml` renames it (`foo = { package =
    /// "bar" }`).
    pub rename: Option<String>,
}

/// A workspace crate and its dependencies.
#[derive(Clone, Debug)]
pub struct Package {
    /// Package name.
    pub name: String,
    /// Every dependency, internal or not.
    pub deps: Vec<Dep>,
    /// Its `Cargo.toml`, as `cargo metadata` gives it (absolute).
    pub manifest_path: PathBuf,
}

impl Package {
    /// A package named `name` with `deps` (none renamed) and manifest `manifest_path`, for the
    /// unit tests of the checks.
    #[cfg(test)]
    pub fn with_deps(name: &str, deps: &[(&str, DepKind)], manifest_path: &str) -> Package {
        Package {
            name: name.to_owned(),
            deps: deps
                .iter()
                .map(|(n, kind)| Dep {
                    name: (*n).to_owned(),
                    kind: *kind,
                    rename: None,
                })
                .collect(),
            manifest_path: manifest_path.into(),
        }
    }
}

/// One edge (or crate) the table does not allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The crate at fault.
    pub krate: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cargo.toml of {}: {}", self.krate, self.message)
    }
}

/// The workspace crates of `cargo metadata --format-version 1 --no-deps` output.
pub fn parse_metadata(json: &str) -> anyhow::Result<Vec<Package>> {
    let meta: serde_json::Value = serde_json::from_str(json).context("cargo metadata output")?;
    let packages = meta["packages"]
        .as_array()
        .context("cargo metadata: no `packages` array")?;
    packages
        .iter()
        .map(|pkg| {
            let name = pkg["name"]
                .as_str()
                .context("cargo metadata: package without a name")?;
            let deps = pkg["dependencies"]
                .as_array()
                .with_context(|| format!("cargo metadata: {name} has no `dependencies`"))?
                .iter()
                .map(|dep| {
                    let dep_name = dep["name"]
                        .as_str()
                        .with_context(|| format!("cargo metadata: unnamed dependency of {name}"))?;
                    let kind = match dep["kind"].as_str() {
                        None => DepKind::Normal,
                        Some("build") => DepKind::Build,
                        Some("dev") => DepKind::Dev,
                        Some(other) => anyhow::bail!("cargo metadata: dependency kind {other:?}"),
                    };
                    Ok(Dep {
                        name: dep_name.to_owned(),
                        kind,
                        rename: dep["rename"].as_str().map(str::to_owned),
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok(Package {
                name: name.to_owned(),
                deps,
                manifest_path: pkg["manifest_path"].as_str().unwrap_or_default().into(),
            })
        })
        .collect()
}

/// Every crate or edge of `packages` that [`RULES`] does not allow, in input order.
pub fn check(packages: &[Package]) -> Vec<Violation> {
    let mut violations = Vec::new();
    for pkg in packages {
        let violation = |message: String| Violation {
            krate: pkg.name.clone(),
            message,
        };
        let Some(allowed) = rule(&pkg.name) else {
            violations.push(violation(format!(
                "`{}` is not in the edge table of STYLE.md / xtask/src/tidy/edges.rs",
                pkg.name
            )));
            continue;
        };
        for dep in &pkg.deps {
            if !is_internal(&dep.name) {
                continue;
            }
            if rule(&dep.name).is_none() {
                violations.push(violation(format!(
                    "depends on `{}`, a Strata crate not in the edge table",
                    dep.name
                )));
            } else if !permits(&pkg.name, allowed, dep) {
                violations.push(violation(format!(
                    "{} `{}` -> `{}` is not an allowed edge (STYLE.md, Workspace: Edges)",
                    match dep.kind {
                        DepKind::Normal => "dependency",
                        DepKind::Build => "build-dependency",
                        DepKind::Dev => "dev-dependency",
                    },
                    pkg.name,
                    dep.name
                )));
            }
        }
    }
    violations
}

fn rule(name: &str) -> Option<Allowed> {
    RULES
        .iter()
        .find(|(krate, _)| *krate == name)
        .map(|(_, allowed)| *allowed)
}

fn is_internal(name: &str) -> bool {
    name.starts_with("strata-") || rule(name).is_some()
}

fn permits(krate: &str, allowed: Allowed, dep: &Dep) -> bool {
    if dep.name == krate {
        return false;
    }
    let in_row = match allowed {
        Allowed::Only(names) => names.contains(&dep.name.as_str()),
        Allowed::AnyButTestkit => dep.name != TESTKIT && dep.name != "xtask",
        Allowed::Any => dep.name != "xtask",
    };
    in_row || (dep.kind == DepKind::Dev && dep.name == TESTKIT && krate.starts_with("strata-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, deps: &[(&str, DepKind)]) -> Package {
        Package::with_deps(name, deps, "")
    }

    /// The workspace as STYLE.md draws it: no violations.
    fn allowed_workspace() -> Vec<Package> {
        use DepKind::*;
        vec![
            pkg("strata-key", &[("serde", Normal), ("strata-testkit", Dev)]),
            pkg("strata-blob", &[("thiserror", Normal), ("proptest", Dev)]),
            pkg(
                "strata-btree",
                &[("strata-blob", Normal), ("strata-testkit", Dev)],
            ),
            pkg("strata-cache", &[("strata-blob", Normal)]),
            pkg(
                "strata-delta",
                &[
                    ("strata-key", Normal),
                    ("strata-blob", Normal),
                    ("strata-btree", Normal),
                    ("strata-cache", Normal),
                    ("strata-testkit", Dev),
                ],
            ),
            pkg(
                "strata-cli",
                &[("strata-delta", Normal), ("strata-testkit", Dev)],
            ),
            pkg(
                "strata-testkit",
                &[("strata-key", Normal), ("sha2", Normal)],
            ),
            pkg(
                "strata-benches",
                &[("strata-delta", Normal), ("strata-testkit", Normal)],
            ),
            pkg("xtask", &[("anyhow", Normal), ("serde_json", Normal)]),
        ]
    }

    #[test]
    fn the_style_md_graph_passes() {
        assert_eq!(check(&allowed_workspace()), []);
    }

    #[test]
    fn a_forbidden_edge_is_reported() {
        let mut workspace = allowed_workspace();
        let btree = workspace
            .iter_mut()
            .find(|p| p.name == "strata-btree")
            .unwrap();
        btree.deps.push(Dep {
            name: "strata-key".into(),
            kind: DepKind::Normal,
            rename: None,
        });
        let violations = check(&workspace);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].krate, "strata-btree");
        assert!(
            violations[0]
                .message
                .contains("`strata-btree` -> `strata-key`")
        );
    }

    #[test]
    fn build_and_dev_edges_are_checked_too() {
        let workspace = [
            pkg("strata-cache", &[("strata-key", DepKind::Build)]),
            // Dev-dependencies get strata-testkit only, not arbitrary crates.
            pkg("strata-blob", &[("strata-delta", DepKind::Dev)]),
            pkg("xtask", &[("strata-testkit", DepKind::Dev)]),
        ];
        let crates: Vec<_> = check(&workspace).into_iter().map(|v| v.krate).collect();
        assert_eq!(crates, ["strata-cache", "strata-blob", "xtask"]);
    }

    #[test]
    fn testkit_is_dev_only_outside_benches() {
        let workspace = [pkg("strata-cli", &[("strata-testkit", DepKind::Normal)])];
        assert_eq!(check(&workspace).len(), 1);
        let workspace = [pkg("strata-testkit", &[("strata-blob", DepKind::Normal)])];
        assert_eq!(check(&workspace).len(), 1);
    }

    #[test]
    fn unknown_crates_are_reported() {
        let workspace = [
            pkg("strata-unknown", &[]),
            pkg(
                "strata-cli",
                &[
                    ("strata-unknown", DepKind::Normal),
                    ("xtask", DepKind::Normal),
                ],
            ),
        ];
        let messages: Vec<_> = check(&workspace).into_iter().map(|v| v.message).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(messages[0].contains("not in the edge table"));
        assert!(messages[1].contains("`strata-unknown`, a Strata crate not in the edge table"));
        assert!(messages[2].contains("`strata-cli` -> `xtask`"));
    }

    #[test]
    fn metadata_json_is_parsed_with_kinds() {
        let json = r#"{"packages": [{"name": "strata-btree", "dependencies": [
            {"name": "strata-blob", "kind": null, "rename": null},
            {"name": "strata-key", "kind": "dev", "rename": "key"},
            {"name": "cc", "kind": "build"}]}], "workspace_members": []}"#;
        let packages = parse_metadata(json).unwrap();
        assert_eq!(packages.len(), 1);
        let kinds: Vec<_> = packages[0]
            .deps
            .iter()
            .map(|d| (d.name.as_str(), d.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("strata-blob", DepKind::Normal),
                ("strata-key", DepKind::Dev),
                ("cc", DepKind::Build)
            ]
        );
        // A dev edge to a lower crate the table does not list for btree is still reported.
        assert_eq!(check(&packages).len(), 1);
        assert!(parse_metadata("{}").is_err());
        assert!(parse_metadata(r#"{"packages": [{"name": "x"}]}"#).is_err());
    }
}
