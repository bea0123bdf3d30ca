//! The timeline directory as import and ingest leave it: which layers it holds (read back
//! from the file names alone), the ids its layers carry, and the `metadata` file.
//!
//! Invariants: the only durable state of an ingest is its layer files, whose names are
//! final only once complete; [`Extent::resume_lsn`] is derived from those names. `metadata`
//! is written last by the import (so an import is complete iff it exists) and after each
//! flush (temp name, fsync, rename, fsync of the directory), and rewritten from the names
//! when ingest starts, so it can never claim more or less than the layers hold.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use strata_key::{LayerName, Lsn, TenantId, TimelineId};
use strata_timeline::dir::{self, EntryClass};
use strata_timeline::{TimelineIds, TimelineMetadata};

use crate::error::Error;

/// The metadata file's name.
pub const METADATA: &str = "metadata";
/// PostgreSQL's version, as the metadata records it.
pub const PG_VERSION: u32 = 15;

/// What the layer names of a timeline directory say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extent {
    /// The lowest image-layer LSN (the import's).
    pub image_lsn: Option<Lsn>,
    /// The highest delta-layer end (exclusive).
    pub delta_end: Option<Lsn>,
    /// Number of layer files.
    pub n_layers: usize,
    /// Whether a `metadata` file exists.
    pub has_metadata: bool,
}

impl Extent {
    /// Reads the names in `dir`.
    pub fn scan(dir: &Path) -> Result<Extent, Error> {
        let mut e = Extent::default();
        for entry in dir::scan_dir(dir).map_err(|err| Error::file(dir, err))? {
            match entry.class {
                EntryClass::Layer(LayerName::Image(img)) => {
                    e.n_layers += 1;
                    e.image_lsn = Some(e.image_lsn.map_or(img.lsn, |l| l.min(img.lsn)));
                }
                EntryClass::Layer(LayerName::Delta(d)) => {
                    e.n_layers += 1;
                    let end = d.lsn_range.end;
                    e.delta_end = Some(e.delta_end.map_or(end, |l| l.max(end)));
                }
                EntryClass::Metadata => e.has_metadata = true,
                _ => {}
            }
        }
        Ok(e)
    }

    /// The storage LSN of the last record the layers hold (`delta_end - 1`), or the import
    /// LSN when no delta exists yet: ingest continues with the record starting there.
    pub fn resume_lsn(&self) -> Option<Lsn> {
        match self.delta_end {
            Some(end) => Some(Lsn(end.0 - 1)),
            None => self.image_lsn,
        }
    }
}

/// The tenant and timeline ids of `dir` (`.../tenants/<tenant>/timelines/<timeline>`), or
/// all-zero ids when the path does not name them.
pub fn timeline_ids(dir: &Path) -> (TenantId, TimelineId) {
    fn name(p: Option<&Path>) -> Option<&str> {
        p.and_then(Path::file_name).and_then(|n| n.to_str())
    }
    let timeline = name(Some(dir)).and_then(|n| n.parse::<TimelineId>().ok());
    let tenant = name(dir.parent().and_then(Path::parent))
        .and_then(|n| n.get(..32))
        .and_then(|n| n.parse::<TenantId>().ok());
    (
        tenant.unwrap_or(TenantId([0; 16])),
        timeline.unwrap_or(TimelineId([0; 16])),
    )
}

/// The ids as [`strata_timeline::Timeline::open`] checks them.
pub fn ids(dir: &Path) -> TimelineIds {
    let (tenant, timeline) = timeline_ids(dir);
    TimelineIds {
        tenant_id: Some(tenant),
        timeline_id: Some(timeline),
    }
}

/// Writes `metadata` for a root timeline at `disk_consistent_lsn`, atomically.
pub fn write_metadata(dir: &Path, disk_consistent_lsn: Lsn, initdb_lsn: Lsn) -> Result<(), Error> {
    let mut md = TimelineMetadata::root(disk_consistent_lsn, PG_VERSION);
    md.initdb_lsn = initdb_lsn;
    md.latest_gc_cutoff_lsn = initdb_lsn;
    write_atomic(dir, METADATA, &md.encode())
}

fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), Error> {
    let temp: PathBuf = dir.join(format!("{name}.___temp"));
    let result = (|| {
        let mut f = File::create(&temp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&temp, dir.join(name))?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result.map_err(|e| Error::file(dir.join(name), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_the_path_or_are_zero() {
        let t = "0123456789abcdef0123456789abcdef";
        let l = "fedcba9876543210fedcba9876543210";
        let p = PathBuf::from(format!("/x/tenants/{t}/timelines/{l}"));
        let (tenant, timeline) = timeline_ids(&p);
        assert_eq!(
            (tenant.to_string(), timeline.to_string()),
            (t.into(), l.into())
        );
        assert_eq!(timeline_ids(Path::new("/tmp/tl")).0, TenantId([0; 16]));
    }

    #[test]
    fn extent_reads_names_and_metadata_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let k0 = "000000000000000000000000000000000000";
        let k1 = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF";
        for name in [
            format!("{k0}-{k1}__0000000001500718"),
            format!("{k0}-{k1}__0000000001500719-0000000001600001"),
            format!("{k0}-{k1}__0000000001600001-0000000001700001"),
            format!("{k0}-XXX__0000000001700001-0000000001800001.abcdefgh.___temp"),
        ] {
            fs::write(dir.path().join(name), b"x").unwrap();
        }
        let e = Extent::scan(dir.path()).unwrap();
        assert_eq!(e.image_lsn, Some(Lsn(0x150_0718)));
        assert_eq!(e.resume_lsn(), Some(Lsn(0x170_0000)));
        assert_eq!((e.n_layers, e.has_metadata), (3, false));
        write_metadata(dir.path(), Lsn(0x170_0000), Lsn(0x150_0718)).unwrap();
        let md = TimelineMetadata::decode(&fs::read(dir.path().join(METADATA)).unwrap()).unwrap();
        assert_eq!(md.disk_consistent_lsn, Lsn(0x170_0000));
        assert!(Extent::scan(dir.path()).unwrap().has_metadata);
    }
}
