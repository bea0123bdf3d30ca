//! `CASE.manifest`: a golden file's summary, layout facts and entries.

use anyhow::{Context, bail, ensure};
use strata_key::{Key, KeyRange, Lsn, LsnRange, TenantId, TimelineId};

use crate::golden::{golden_dir, read_to_string};

/// A parsed manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The `summary.*` lines.
    pub summary: ManifestSummary,
    /// `layout.btree_depth`.
    pub btree_depth: u32,
    /// `layout.file_size`.
    pub file_size: u64,
    /// `layout.file_sha256`.
    pub file_sha256: [u8; 32],
    /// One per `E` line, in index order.
    pub entries: Vec<ManifestEntry>,
    /// The manifest without `#` lines: what `strata manifest` must print.
    pub text: String,
}

/// The summary fields of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestSummary {
    /// `summary.magic`.
    pub magic: u16,
    /// `summary.format_version`.
    pub format_version: u16,
    /// `summary.tenant_id`.
    pub tenant_id: TenantId,
    /// `summary.timeline_id`.
    pub timeline_id: TimelineId,
    /// `summary.key_range`.
    pub key_range: KeyRange,
    /// `summary.lsn_range`.
    pub lsn_range: LsnRange,
    /// `summary.index_start_blk`.
    pub index_start_blk: u32,
    /// `summary.index_root_blk`.
    pub index_root_blk: u32,
}

/// One `E` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    /// The entry's key.
    pub key: Key,
    /// The entry's LSN.
    pub lsn: Lsn,
    /// The will_init bit of its BlobRef.
    pub will_init: bool,
    /// The value's kind (`Image`, `Postgres`, …).
    pub kind: String,
    /// Length of the serialized value (the blob payload).
    pub len: u64,
    /// The serialized value, or its digest when it is over 4096 bytes.
    pub payload: Payload,
}

/// A serialized value as a manifest gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// The bytes themselves (values of at most 4096 bytes).
    Bytes(Vec<u8>),
    /// The SHA-256 of the bytes (longer values).
    Sha256([u8; 32]),
}

impl Payload {
    /// True if `bytes` is this payload.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        match self {
            Payload::Bytes(b) => b == bytes,
            Payload::Sha256(d) => *d == crate::sha256(bytes),
        }
    }

    /// The bytes, when the manifest holds them.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Payload::Bytes(b) => Some(b),
            Payload::Sha256(_) => None,
        }
    }
}

impl Manifest {
    /// Loads and parses `CASE.manifest` from the golden directory.
    ///
    /// # Panics
    /// If the file is missing or malformed.
    pub fn load(case: &str) -> Manifest {
        let path = golden_dir().join(format!("{case}.manifest"));
        Manifest::parse(&read_to_string(&path))
            .unwrap_or_else(|e| panic!("parsing {}: {e:#}", path.display()))
    }

    /// Parses a manifest's text.
    pub fn parse(text: &str) -> anyhow::Result<Manifest> {
        let mut s = Partial::default();
        let mut entries = Vec::new();
        let mut expected_entries = None;
        let mut kept = String::new();
        for (line_idx, line) in text.lines().enumerate() {
            if line.starts_with('#') {
                continue;
            }
            kept.push_str(line);
            kept.push('\n');
            let ctx = || format!("line {}: {line:?}", line_idx + 1);
            let mut f = line.split(' ');
            let tag = f.next().unwrap_or_default();
            let rest: Vec<&str> = f.collect();
            let one = || -> anyhow::Result<&str> {
                ensure!(rest.len() == 1, "expected one value");
                Ok(rest[0])
            };
            let two = || -> anyhow::Result<(&str, &str)> {
                ensure!(rest.len() == 2, "expected two values");
                Ok((rest[0], rest[1]))
            };
            match tag {
                "summary.magic" => {
                    s.magic = Some(u16::from_str_radix(one()?, 16).with_context(ctx)?)
                }
                "summary.format_version" => {
                    s.format_version = Some(one()?.parse().with_context(ctx)?)
                }
                "summary.tenant_id" => s.tenant_id = Some(one()?.parse().with_context(ctx)?),
                "summary.timeline_id" => s.timeline_id = Some(one()?.parse().with_context(ctx)?),
                "summary.key_range" => {
                    let (a, b) = two()?;
                    s.key_range = Some(KeyRange::new(
                        a.parse().with_context(ctx)?,
                        b.parse().with_context(ctx)?,
                    ));
                }
                "summary.lsn_range" => {
                    let (a, b) = two()?;
                    s.lsn_range = Some(LsnRange::new(
                        Lsn::from_hex(a).with_context(ctx)?,
                        Lsn::from_hex(b).with_context(ctx)?,
                    ));
                }
                "summary.index_start_blk" => {
                    s.index_start_blk = Some(one()?.parse().with_context(ctx)?)
                }
                "summary.index_root_blk" => {
                    s.index_root_blk = Some(one()?.parse().with_context(ctx)?)
                }
                "layout.btree_depth" => s.btree_depth = Some(one()?.parse().with_context(ctx)?),
                "layout.file_size" => s.file_size = Some(one()?.parse().with_context(ctx)?),
                "layout.file_sha256" => s.file_sha256 = Some(hex32(one()?).with_context(ctx)?),
                "entries" => expected_entries = Some(one()?.parse::<usize>().with_context(ctx)?),
                "E" => entries.push(parse_entry(&rest).with_context(ctx)?),
                _ => bail!("unknown manifest line {}: {line:?}", line_idx + 1),
            }
        }
        let n = expected_entries.context("no `entries` line")?;
        ensure!(
            n == entries.len(),
            "`entries {n}` but {} E lines",
            entries.len()
        );
        Ok(Manifest {
            summary: ManifestSummary {
                magic: s.magic.context("summary.magic")?,
                format_version: s.format_version.context("summary.format_version")?,
                tenant_id: s.tenant_id.context("summary.tenant_id")?,
                timeline_id: s.timeline_id.context("summary.timeline_id")?,
                key_range: s.key_range.context("summary.key_range")?,
                lsn_range: s.lsn_range.context("summary.lsn_range")?,
                index_start_blk: s.index_start_blk.context("summary.index_start_blk")?,
                index_root_blk: s.index_root_blk.context("summary.index_root_blk")?,
            },
            btree_depth: s.btree_depth.context("layout.btree_depth")?,
            file_size: s.file_size.context("layout.file_size")?,
            file_sha256: s.file_sha256.context("layout.file_sha256")?,
            entries,
            text: kept,
        })
    }

    /// Offsets of the entries' blobs, laid back to back from offset 8192 as Neon's writer does
    /// (1-byte header below 128 bytes of payload, else 4 bytes).
    pub fn blob_offsets(&self) -> Vec<u64> {
        let mut off = 8192u64;
        self.entries
            .iter()
            .map(|e| {
                let here = off;
                off += e.len + if e.len < 128 { 1 } else { 4 };
                here
            })
            .collect()
    }
}

#[derive(Default)]
struct Partial {
    magic: Option<u16>,
    format_version: Option<u16>,
    tenant_id: Option<TenantId>,
    timeline_id: Option<TimelineId>,
    key_range: Option<KeyRange>,
    lsn_range: Option<LsnRange>,
    index_start_blk: Option<u32>,
    index_root_blk: Option<u32>,
    btree_depth: Option<u32>,
    file_size: Option<u64>,
    file_sha256: Option<[u8; 32]>,
}

fn parse_entry(f: &[&str]) -> anyhow::Result<ManifestEntry> {
    let [key, lsn, will_init, kind, len, payload] = f else {
        bail!("expected 6 fields after E");
    };
    let len: u64 = len.parse()?;
    let payload = parse_payload(payload, len)?;
    Ok(ManifestEntry {
        key: key.parse()?,
        lsn: Lsn::from_hex(lsn)?,
        will_init: match *will_init {
            "0" => false,
            "1" => true,
            other => bail!("will_init {other:?}"),
        },
        kind: (*kind).to_owned(),
        len,
        payload,
    })
}

/// A manifest's payload field (`-`, hex, or `sha256:<hex>`) of a `len`-byte payload.
pub(crate) fn parse_payload(field: &str, len: u64) -> anyhow::Result<Payload> {
    let payload = if let Some(digest) = field.strip_prefix("sha256:") {
        Payload::Sha256(hex32(digest)?)
    } else if field == "-" {
        Payload::Bytes(Vec::new())
    } else {
        Payload::Bytes(hex::decode(field)?)
    };
    if let Payload::Bytes(b) = &payload {
        ensure!(
            b.len() as u64 == len,
            "payload has {} bytes, len says {len}",
            b.len()
        );
    }
    Ok(payload)
}

fn hex32(s: &str) -> anyhow::Result<[u8; 32]> {
    let v = hex::decode(s)?;
    v.try_into()
        .map_err(|_| anyhow::anyhow!("expected 32 bytes of hex"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_manifest_parses_and_matches_its_file() {
        for case in crate::golden_cases() {
            let m = Manifest::load(&case);
            let bytes = crate::layer_bytes(&case);
            assert_eq!(bytes.len() as u64, m.file_size, "{case}");
            assert_eq!(crate::sha256(&bytes), m.file_sha256, "{case}");
            assert_eq!(m.summary.magic, 0x5A61, "{case}");
            let offsets = m.blob_offsets();
            assert_eq!(offsets.len(), m.entries.len());
            // The last blob ends inside the block before the index.
            let last = m.entries.last().expect("non-empty");
            let end = offsets.last().copied().unwrap_or(8192)
                + last.len
                + if last.len < 128 { 1 } else { 4 };
            assert_eq!(
                end.div_ceil(8192),
                u64::from(m.summary.index_start_blk),
                "{case}"
            );
        }
    }

    #[test]
    fn tiny_has_its_one_entry() {
        let m = Manifest::load("tiny");
        assert_eq!(m.entries.len(), 1);
        assert_eq!(m.entries[0].kind, "Image");
        assert!(m.text.starts_with("summary.magic 5A61\n"), "{}", m.text);
    }
}
