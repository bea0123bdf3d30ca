//! The timeline directory: classifying its entries by name (TIMELINE.md 1.2) and listing it.
//!
//! Invariants:
//! * [`classify_entry`] is a pure function of the name, tries Neon's rules in Neon's order and
//!   never panics (any string, including non-ASCII, gets a class).
//! * Layer names are parsed by `strata-key` (which also accepts the `-v1-<generation>` suffix
//!   of later Neon versions, and the remote `-<generation>` form); the class keeps the name
//!   with its suffix, the layer's identity is the name without it.
//! * Listing never deletes: leftovers are reported, and removed only by
//!   [`remove_leftovers`] when the caller asks.

use std::io;
use std::path::Path;

use strata_key::LayerName;

/// The name of the timeline's metadata file (TIMELINE.md 1.5).
pub const METADATA_FILE_NAME: &str = "metadata";

/// What a directory entry is, by its name (TIMELINE.md 1.2, first matching rule wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryClass {
    /// Rule 1: a delta or image layer name (generation suffix allowed).
    Layer(LayerName),
    /// Rule 2: `metadata`.
    Metadata,
    /// Rule 3: ends with `.old` (a layer moved aside); left alone.
    IgnoredBackup,
    /// Rule 4: extension `temp_download` (an unfinished download); Neon deletes it.
    TemporaryDownload,
    /// Rule 5: `ephemeral-<u32>` (an in-memory layer's file); Neon deletes it.
    Ephemeral,
    /// Rule 6: ends with `___temp` (an unfinished write); Neon deletes it.
    Temporary,
    /// Rule 7: anything else; Neon's load fails.
    Unknown,
}

impl EntryClass {
    /// True for the classes Neon deletes at load (rules 4-6).
    pub fn is_leftover(&self) -> bool {
        matches!(
            self,
            EntryClass::TemporaryDownload | EntryClass::Ephemeral | EntryClass::Temporary
        )
    }

    /// A short lowercase name of the class, for listings.
    pub fn as_str(&self) -> &'static str {
        match self {
            EntryClass::Layer(name) if name.is_delta() => "delta",
            EntryClass::Layer(_) => "image",
            EntryClass::Metadata => "metadata",
            EntryClass::IgnoredBackup => "backup",
            EntryClass::TemporaryDownload => "temp-download",
            EntryClass::Ephemeral => "ephemeral",
            EntryClass::Temporary => "temp",
            EntryClass::Unknown => "unknown",
        }
    }
}

/// Classifies one directory entry by name (TIMELINE.md 1.2).
pub fn classify_entry(name: &str) -> EntryClass {
    if let Ok(layer) = LayerName::parse(name) {
        return EntryClass::Layer(layer);
    }
    if name == METADATA_FILE_NAME {
        return EntryClass::Metadata;
    }
    if name.ends_with(".old") {
        return EntryClass::IgnoredBackup;
    }
    if name
        .rsplit_once('.')
        .is_some_and(|(_, ext)| ext == "temp_download")
    {
        return EntryClass::TemporaryDownload;
    }
    if name.strip_prefix("ephemeral-").is_some_and(is_decimal_u32) {
        return EntryClass::Ephemeral;
    }
    if strata_key::name::is_temp_file_name(name) {
        return EntryClass::Temporary;
    }
    EntryClass::Unknown
}

/// Rust's `u32::from_str` as Neon uses it: an optional `+`, then decimal digits that fit.
fn is_decimal_u32(s: &str) -> bool {
    s.parse::<u32>().is_ok()
}

/// One entry of a timeline directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The file name.
    pub name: String,
    /// Its class.
    pub class: EntryClass,
    /// The entry's length in bytes.
    pub size: u64,
}

/// Lists and classifies every entry of `dir`, sorted by name. Names that are not UTF-8 are
/// [`EntryClass::Unknown`] under their lossy form.
pub fn scan_dir(dir: &Path) -> io::Result<Vec<DirEntry>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let size = entry.metadata()?.len();
        let (name, class) = match entry.file_name().into_string() {
            Ok(name) => {
                let class = classify_entry(&name);
                (name, class)
            }
            Err(raw) => (raw.to_string_lossy().into_owned(), EntryClass::Unknown),
        };
        entries.push(DirEntry { name, class, size });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// Removes the leftovers (rules 4-6) among `entries` from `dir`, returning the names removed.
/// A leftover already gone is not an error.
pub fn remove_leftovers(dir: &Path, entries: &[DirEntry]) -> io::Result<Vec<String>> {
    let mut removed = Vec::new();
    for entry in entries.iter().filter(|e| e.class.is_leftover()) {
        match std::fs::remove_file(dir.join(&entry.name)) {
            Ok(()) => removed.push(entry.name.clone()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DELTA: &str = "000000000000000000000000000000000000-FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF__0000000000000010-0000000000000020";
    const IMAGE: &str = "000000000000000000000000000000000000-000000067F00000001000000000000000001__0000000000000030";

    #[test]
    fn every_rule_of_section_1_2() {
        assert!(matches!(classify_entry(DELTA), EntryClass::Layer(n) if n.is_delta()));
        assert!(matches!(classify_entry(IMAGE), EntryClass::Layer(n) if !n.is_delta()));
        assert_eq!(classify_entry("metadata"), EntryClass::Metadata);
        assert_eq!(classify_entry("metadata.___temp"), EntryClass::Temporary);
        assert_eq!(classify_entry("ephemeral-7"), EntryClass::Ephemeral);
        assert_eq!(classify_entry("ephemeral-+7"), EntryClass::Ephemeral);
        // Rule 5 only takes a u32: Neon's u64 counter can outgrow it.
        assert_eq!(classify_entry("ephemeral-4294967296"), EntryClass::Unknown);
        assert_eq!(classify_entry("ephemeral-x"), EntryClass::Unknown);
        assert_eq!(
            classify_entry("x.temp_download"),
            EntryClass::TemporaryDownload
        );
        assert_eq!(
            classify_entry(&format!("{DELTA}.temp_download")),
            EntryClass::TemporaryDownload
        );
        assert_eq!(classify_entry("x.temp_download.y"), EntryClass::Unknown);
        assert_eq!(
            classify_entry(&format!("{DELTA}.0.old")),
            EntryClass::IgnoredBackup
        );
        // Rule 3 wins over rule 4 and 6 by order.
        assert_eq!(classify_entry("a.___temp.old"), EntryClass::IgnoredBackup);
        assert_eq!(
            classify_entry(&format!("{DELTA}.abcdefgh.___temp")),
            EntryClass::Temporary
        );
        assert_eq!(classify_entry("garbage___temp"), EntryClass::Temporary);
        assert_eq!(classify_entry("hello.txt"), EntryClass::Unknown);
        assert_eq!(classify_entry(""), EntryClass::Unknown);
        assert_eq!(classify_entry("é___"), EntryClass::Unknown);
    }

    #[test]
    fn generation_suffixes() {
        let EntryClass::Layer(name) = classify_entry(&format!("{DELTA}-v1-00000001")) else {
            panic!("a -v1- delta is a layer");
        };
        assert!(name.generation().is_some());
        assert_eq!(crate::LayerDesc::from_name(&name).to_string(), DELTA);
        let EntryClass::Layer(name) = classify_entry(&format!("{IMAGE}-v1-0000000a")) else {
            panic!("a -v1- image is a layer");
        };
        assert!(!name.is_delta());
        assert_eq!(crate::LayerDesc::from_name(&name).to_string(), IMAGE);
    }

    #[test]
    fn scan_and_remove_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        for name in [DELTA, "metadata", "ephemeral-3", "x.temp_download", "junk"] {
            std::fs::write(dir.path().join(name), b"abc").unwrap();
        }
        let entries = scan_dir(dir.path()).unwrap();
        assert_eq!(entries.len(), 5);
        assert!(entries.iter().all(|e| e.size == 3));
        let classes: Vec<_> = entries.iter().map(|e| e.class.as_str()).collect();
        assert_eq!(
            classes,
            ["delta", "ephemeral", "unknown", "metadata", "temp-download"]
        );
        let removed = remove_leftovers(dir.path(), &entries).unwrap();
        assert_eq!(removed, ["ephemeral-3", "x.temp_download"]);
        assert_eq!(scan_dir(dir.path()).unwrap().len(), 3);
    }
}
