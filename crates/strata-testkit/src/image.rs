//! The golden image-layer cases (`../shared/golden-image`, format: its README): where they are,
//! their manifests ([`ImageManifest`]) and their queries (the `Q` lines parse with
//! [`parse_queries`](crate::parse_queries), like the delta cases').

use anyhow::{Context, bail, ensure};
use strata_key::{Key, KeyRange, Lsn};

use crate::golden::{cases_in, golden_image_dir, read_to_string};
use crate::manifest::{Payload, parse_payload};
use crate::queries::{Query, parse_queries};

/// A parsed image-layer manifest.
#[derive(Debug, Clone)]
pub struct ImageManifest {
    /// The data seed (`# seed N`): every image is `splitmix64(seed).bytes(len)` in entry order.
    pub seed: u64,
    /// `summary.key_range`.
    pub key_range: KeyRange,
    /// `summary.lsn`.
    pub lsn: Lsn,
    /// `summary.index_start_blk`.
    pub index_start_blk: u32,
    /// `layout.btree_depth`.
    pub btree_depth: u32,
    /// `layout.file_size`.
    pub file_size: u64,
    /// One per `E` line, in index order.
    pub entries: Vec<ImageEntry>,
    /// The manifest without `#` lines: what `strata manifest` must print.
    pub text: String,
}

/// One `E` line of an image manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageEntry {
    /// The key.
    pub key: Key,
    /// The image's length.
    pub len: u64,
    /// The image, or its digest when it is over 4096 bytes.
    pub payload: Payload,
}

/// The names of every golden image case, in the order of its `INDEX` file.
pub fn image_cases() -> Vec<String> {
    cases_in(&golden_image_dir())
}

/// Path of the image case's `CASE.layer`.
pub fn image_layer_path(case: &str) -> std::path::PathBuf {
    golden_image_dir().join(format!("{case}.layer"))
}

/// The bytes of the image case's `CASE.layer`.
pub fn image_layer_bytes(case: &str) -> Vec<u8> {
    let path = image_layer_path(case);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The `Q` lines of the image case's `CASE.queries`.
pub fn load_image_queries(case: &str) -> Vec<Query> {
    let path = golden_image_dir().join(format!("{case}.queries"));
    parse_queries(&read_to_string(&path))
        .unwrap_or_else(|e| panic!("parsing {}: {e:#}", path.display()))
}

impl ImageManifest {
    /// Loads and parses the image case's `CASE.manifest`.
    ///
    /// # Panics
    /// If the file is missing or malformed.
    pub fn load(case: &str) -> ImageManifest {
        let path = golden_image_dir().join(format!("{case}.manifest"));
        ImageManifest::parse(&read_to_string(&path))
            .unwrap_or_else(|e| panic!("parsing {}: {e:#}", path.display()))
    }

    /// Parses an image manifest's text (the fields tests need; the text is kept whole).
    pub fn parse(text: &str) -> anyhow::Result<ImageManifest> {
        let (mut seed, mut key_range, mut lsn, mut start) = (None, None, None, None);
        let (mut depth, mut size, mut n) = (None, None, None);
        let mut entries = Vec::new();
        let mut kept = String::new();
        for (line_idx, line) in text.lines().enumerate() {
            let ctx = || format!("line {}: {line:?}", line_idx + 1);
            if let Some(s) = line.strip_prefix("# seed ") {
                seed = Some(s.trim().parse::<u64>().with_context(ctx)?);
            }
            if line.starts_with('#') {
                continue;
            }
            kept.push_str(line);
            kept.push('\n');
            let f: Vec<&str> = line.split(' ').collect();
            match f.as_slice() {
                ["summary.key_range", a, b] => {
                    key_range = Some(KeyRange::new(
                        a.parse().with_context(ctx)?,
                        b.parse().with_context(ctx)?,
                    ));
                }
                ["summary.lsn", l] => lsn = Some(Lsn::from_hex(l).with_context(ctx)?),
                ["summary.index_start_blk", v] => start = Some(v.parse().with_context(ctx)?),
                ["layout.btree_depth", v] => depth = Some(v.parse().with_context(ctx)?),
                ["layout.file_size", v] => size = Some(v.parse().with_context(ctx)?),
                ["entries", v] => n = Some(v.parse::<usize>().with_context(ctx)?),
                ["E", key, len, payload] => {
                    let len: u64 = len.parse().with_context(ctx)?;
                    entries.push(ImageEntry {
                        key: key.parse().with_context(ctx)?,
                        len,
                        payload: parse_payload(payload, len).with_context(ctx)?,
                    });
                }
                [tag, ..] if tag.starts_with("summary.") || tag.starts_with("layout.") => {}
                _ => bail!("unknown manifest line {}: {line:?}", line_idx + 1),
            }
        }
        let n = n.context("no `entries` line")?;
        ensure!(
            n == entries.len(),
            "`entries {n}` but {} E lines",
            entries.len()
        );
        Ok(ImageManifest {
            seed: seed.context("no `# seed` line")?,
            key_range: key_range.context("summary.key_range")?,
            lsn: lsn.context("summary.lsn")?,
            index_start_blk: start.context("summary.index_start_blk")?,
            btree_depth: depth.context("layout.btree_depth")?,
            file_size: size.context("layout.file_size")?,
            entries,
            text: kept,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_image_manifest_parses_and_matches_its_file() {
        let cases = image_cases();
        assert_eq!(cases.len(), 7, "{cases:?}");
        for case in cases {
            let m = ImageManifest::load(&case);
            let bytes = image_layer_bytes(&case);
            assert_eq!(bytes.len() as u64, m.file_size, "{case}");
            assert_eq!(&bytes[..2], &[0x5A, 0x60], "{case}");
            assert!(!m.entries.is_empty(), "{case}");
            assert!(m.text.starts_with("summary.magic 5A60\n"), "{case}");
            assert_eq!(load_image_queries(&case).len(), 200, "{case}");
        }
    }
}
