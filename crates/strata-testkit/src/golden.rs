//! Locating the golden files: one place resolves `../shared/golden`.

use std::path::{Path, PathBuf};

/// The directory of golden files: `$STRATA_GOLDEN_DIR`, or `../shared/golden` next to the
/// repository root.
///
/// # Panics
/// If the directory does not exist, with a message saying where it was looked for.
pub fn golden_dir() -> PathBuf {
    resolve_dir("STRATA_GOLDEN_DIR", "golden")
}

/// The directory of golden image-layer files: `$STRATA_GOLDEN_IMAGE_DIR`, or
/// `../shared/golden-image` next to the repository root.
///
/// # Panics
/// If the directory does not exist, with a message saying where it was looked for.
pub fn golden_image_dir() -> PathBuf {
    resolve_dir("STRATA_GOLDEN_IMAGE_DIR", "golden-image")
}

/// `$env`, or `../shared/<name>`; it must hold an `INDEX` file.
fn resolve_dir(env: &str, name: &str) -> PathBuf {
    let dir = match std::env::var_os(env) {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared")
            .join(name),
    };
    let index = dir.join("INDEX");
    assert!(
        index.is_file(),
        "golden files not found: expected {} (the repository's sibling `shared/{name}`, or set {env})",
        index.display()
    );
    dir.canonicalize().unwrap_or(dir)
}

/// The case names listed in `dir/INDEX`, in order.
pub(crate) fn cases_in(dir: &Path) -> Vec<String> {
    let path = dir.join("INDEX");
    let text = read_to_string(&path);
    let cases: Vec<String> = text
        .lines()
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    assert!(!cases.is_empty(), "{} lists no cases", path.display());
    cases
}

/// The names of every golden case, in the order of the `INDEX` file.
pub fn golden_cases() -> Vec<String> {
    cases_in(&golden_dir())
}

/// Path of `CASE.layer`.
pub fn layer_path(case: &str) -> PathBuf {
    golden_dir().join(format!("{case}.layer"))
}

/// The bytes of `CASE.layer`.
pub fn layer_bytes(case: &str) -> Vec<u8> {
    let path = layer_path(case);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

pub(crate) fn read_to_string(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_all_cases() {
        let cases = golden_cases();
        assert!(cases.iter().any(|c| c == "tiny"), "{cases:?}");
        assert!(cases.iter().any(|c| c == "btree3"), "{cases:?}");
        for c in &cases {
            assert!(layer_path(c).is_file(), "{c}");
        }
    }
}
