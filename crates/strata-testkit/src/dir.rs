//! [`files_in`]: what a directory holds, for the tests that check a writer left nothing (or
//! only its final file) behind.

use std::path::Path;

/// The names of the entries of `dir`, sorted. Panics naming `dir` if it cannot be read (a
/// test helper: that is the clearest failure).
pub fn files_in(dir: &Path) -> Vec<String> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read_dir {dir:?}: {e}"));
    let mut names: Vec<String> = entries
        .map(|e| {
            let e = e.unwrap_or_else(|e| panic!("entry of {dir:?}: {e}"));
            e.file_name().to_string_lossy().into_owned()
        })
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_sorted_names() {
        let dir = std::env::temp_dir().join(format!("strata-testkit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("b"), b"").unwrap();
        std::fs::write(dir.join("a"), b"").unwrap();
        let names = files_in(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(names, ["a", "b"]);
    }
}
