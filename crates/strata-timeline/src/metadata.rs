//! The timeline `metadata` file (TIMELINE.md 1.5): 512 bytes, a CRC-32C-checked header and a
//! bincode big-endian body, as pure functions ([`TimelineMetadata::decode`] / `encode`).
//!
//! Invariants: decoding checks the length (512), `8 <= size <= 512`, the checksum over
//! `[8, size)`, the version (4, or 3 upgraded to 4 with `pg_version` 14), then decodes the body
//! with no trailing bytes; every failure is a typed error, never a panic.

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use strata_key::{Lsn, TimelineId};

use crate::error::{Corruption, CorruptionKind, Error};

/// Length of the metadata file.
pub const METADATA_LEN: usize = 512;
/// Length of the header (checksum, size, version).
pub const METADATA_HEADER_LEN: usize = 8;
/// The format version written.
pub const METADATA_FORMAT_VERSION: u16 = 4;

/// What the read path needs of a timeline's metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelineMetadata {
    /// Everything up to here is in the layer files.
    pub disk_consistent_lsn: Lsn,
    /// The start of the last record, if known.
    pub prev_record_lsn: Option<Lsn>,
    /// The parent timeline of a branch.
    pub ancestor_timeline: Option<TimelineId>,
    /// The branch point (0 for a root timeline).
    pub ancestor_lsn: Lsn,
    /// Requests below this are refused by Neon's page service.
    pub latest_gc_cutoff_lsn: Lsn,
    /// Where initdb's WAL ends.
    pub initdb_lsn: Lsn,
    /// The Postgres major version.
    pub pg_version: u32,
}

impl TimelineMetadata {
    /// A root timeline's metadata at `disk_consistent_lsn`.
    pub fn root(disk_consistent_lsn: Lsn, pg_version: u32) -> TimelineMetadata {
        TimelineMetadata {
            disk_consistent_lsn,
            prev_record_lsn: None,
            ancestor_timeline: None,
            ancestor_lsn: Lsn(0),
            latest_gc_cutoff_lsn: Lsn(0),
            initdb_lsn: Lsn(0),
            pg_version,
        }
    }

    /// Decodes the 512-byte file.
    pub fn decode(bytes: &[u8]) -> Result<TimelineMetadata, Error> {
        if bytes.len() != METADATA_LEN {
            return Err(bad(format!("{} bytes, not {METADATA_LEN}", bytes.len())));
        }
        let mut header = Reader(bytes);
        let checksum = header.u32()?;
        let size = usize::from(header.u16()?);
        let version = header.u16()?;
        if !(METADATA_HEADER_LEN..=METADATA_LEN).contains(&size) {
            return Err(bad(format!("size {size} outside 8..=512")));
        }
        let covered = bytes.get(METADATA_HEADER_LEN..size).unwrap_or_default();
        let actual = crc32c(covered);
        if actual != checksum {
            return Err(bad(format!(
                "checksum {checksum:08x}, computed {actual:08x}"
            )));
        }
        if version != 3 && version != 4 {
            return Err(bad(format!(
                "unsupported metadata format version {version}"
            )));
        }
        let mut body = Reader(covered);
        let md = TimelineMetadata {
            disk_consistent_lsn: Lsn(body.u64()?),
            prev_record_lsn: body.option(|r| r.u64().map(Lsn))?,
            ancestor_timeline: body.option(|r| r.array16().map(TimelineId))?,
            ancestor_lsn: Lsn(body.u64()?),
            latest_gc_cutoff_lsn: Lsn(body.u64()?),
            initdb_lsn: Lsn(body.u64()?),
            pg_version: if version == 3 { 14 } else { body.u32()? },
        };
        if !body.0.is_empty() {
            return Err(bad(format!("{} trailing body bytes", body.0.len())));
        }
        Ok(md)
    }

    /// Encodes the file (format version 4).
    pub fn encode(&self) -> [u8; METADATA_LEN] {
        let mut body = Vec::with_capacity(64);
        body.extend_from_slice(&self.disk_consistent_lsn.0.to_be_bytes());
        match self.prev_record_lsn {
            Some(lsn) => {
                body.push(1);
                body.extend_from_slice(&lsn.0.to_be_bytes());
            }
            None => body.push(0),
        }
        match self.ancestor_timeline {
            Some(id) => {
                body.push(1);
                body.extend_from_slice(id.as_bytes());
            }
            None => body.push(0),
        }
        body.extend_from_slice(&self.ancestor_lsn.0.to_be_bytes());
        body.extend_from_slice(&self.latest_gc_cutoff_lsn.0.to_be_bytes());
        body.extend_from_slice(&self.initdb_lsn.0.to_be_bytes());
        body.extend_from_slice(&self.pg_version.to_be_bytes());
        let mut out = [0u8; METADATA_LEN];
        let size = METADATA_HEADER_LEN + body.len();
        if let Some(dst) = out.get_mut(METADATA_HEADER_LEN..size) {
            dst.copy_from_slice(&body);
        }
        let crc = crc32c(&body);
        let mut header = Vec::with_capacity(METADATA_HEADER_LEN);
        header.extend_from_slice(&crc.to_be_bytes());
        header.extend_from_slice(&(size as u16).to_be_bytes());
        header.extend_from_slice(&METADATA_FORMAT_VERSION.to_be_bytes());
        if let Some(h) = out.get_mut(..METADATA_HEADER_LEN) {
            h.copy_from_slice(&header);
        }
        out
    }
}

fn bad(what: String) -> Error {
    Error::Corrupt(Corruption {
        layer: None,
        kind: CorruptionKind::Metadata(what),
    })
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let Some((head, rest)) = self.0.split_first_chunk::<N>() else {
            return Err(bad("body ends early".into()));
        };
        self.0 = rest;
        Ok(*head)
    }
    fn u16(&mut self) -> Result<u16, Error> {
        self.take().map(u16::from_be_bytes)
    }
    fn u32(&mut self) -> Result<u32, Error> {
        self.take().map(u32::from_be_bytes)
    }
    fn u64(&mut self) -> Result<u64, Error> {
        self.take().map(u64::from_be_bytes)
    }
    fn array16(&mut self) -> Result<[u8; 16], Error> {
        self.take()
    }
    fn option<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, Error>,
    ) -> Result<Option<T>, Error> {
        match self.take::<1>()? {
            [0] => Ok(None),
            [1] => f(self).map(Some),
            [tag] => Err(bad(format!("option tag {tag}"))),
        }
    }
}

/// CRC-32C (Castagnoli, reflected), bit by bit: the file is 512 bytes, read once.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
#[expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn worked_vector_of_section_1_5() {
        let md = TimelineMetadata {
            disk_consistent_lsn: Lsn(0x16960E8),
            prev_record_lsn: Some(Lsn(0x1696070)),
            ancestor_timeline: None,
            ancestor_lsn: Lsn(0),
            latest_gc_cutoff_lsn: Lsn(0x1696070),
            initdb_lsn: Lsn(0x1696070),
            pg_version: 14,
        };
        let bytes = md.encode();
        assert_eq!(
            &bytes[..8],
            &[0x71, 0x0B, 0x9F, 0xD2, 0x00, 0x36, 0x00, 0x04]
        );
        assert!(bytes[54..].iter().all(|b| *b == 0));
        assert_eq!(TimelineMetadata::decode(&bytes).unwrap(), md);
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn ancestor_and_damage() {
        let mut md = TimelineMetadata::root(Lsn(0x100), 16);
        md.ancestor_timeline = Some(TimelineId([7; 16]));
        md.ancestor_lsn = Lsn(0x80);
        let bytes = md.encode();
        assert_eq!(TimelineMetadata::decode(&bytes).unwrap(), md);
        for i in 0..62 {
            let mut bad = bytes;
            bad[i] ^= 0x40;
            assert!(TimelineMetadata::decode(&bad).is_err(), "flip at {i}");
        }
        assert!(TimelineMetadata::decode(&bytes[..511]).is_err());
        let mut small = bytes;
        small[4..6].copy_from_slice(&3u16.to_be_bytes());
        assert!(matches!(
            TimelineMetadata::decode(&small),
            Err(Error::Corrupt(_))
        ));
    }
}
