//! What ingest must know between records (WAL.md 4.7): which databases, relation forks and
//! SLRU segments exist, their sizes, the two-phase xids and the latest `CheckPoint`.
//!
//! Every change also becomes values for the record being ingested ([`Puts`]): a size key
//! image (4 bytes, u32 little-endian), zero images for the blocks an extension skips, and at
//! the end of the record ([`Catalog::finish_record`]) the re-serialised directories that
//! changed and the checkpoint if it was modified. The same state is written whole by the
//! import ([`Catalog::all_values`]) and read back from a timeline when ingest resumes
//! ([`Catalog::load`]), so nothing of it lives outside the layers.
//!
//! Invariant: `rel_sizes` has an entry exactly for the forks listed in `rel_dirs`, and
//! `slru_sizes` exactly for the segments listed in `slru_dirs`.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use strata_delta::Value;
use strata_key::{Key, Lsn, RelTag, SlruKind};
use strata_timeline::Timeline;

use crate::control::CheckPoint;
use crate::dirs::{self, DbDir, RelDir, SegDir};
use crate::error::Error;

/// An all-zero 8192-byte page.
pub(crate) static ZERO_PAGE: [u8; 8192] = [0; 8192];

/// The SLRUs in key order.
pub(crate) const SLRUS: [SlruKind; 3] = [
    SlruKind::Clog,
    SlruKind::MultiXactMembers,
    SlruKind::MultiXactOffsets,
];

/// The values one record (or the import) produces, by key; a second put replaces the first
/// (WAL.md 4.2).
#[derive(Debug, Default)]
pub struct Puts(pub BTreeMap<Key, Value>);

impl Puts {
    /// Puts an image.
    pub fn image(&mut self, key: Key, bytes: impl Into<Bytes>) {
        self.0.insert(key, Value::Image(bytes.into()));
    }

    /// Puts a value.
    pub fn value(&mut self, key: Key, value: Value) {
        self.0.insert(key, value);
    }

    fn zero_page(&mut self, key: Key) {
        self.image(key, Bytes::from_static(&ZERO_PAGE));
    }
}

fn size_bytes(n: u32) -> Bytes {
    Bytes::copy_from_slice(&n.to_le_bytes())
}

/// The ingest state; see the module docs.
#[derive(Clone, Debug)]
pub struct Catalog {
    /// Databases and whether their relmap exists.
    pub db_dir: DbDir,
    /// Relation forks per `(spcnode, dbnode)`.
    pub rel_dirs: BTreeMap<(u32, u32), RelDir>,
    /// Size in blocks of every fork.
    pub rel_sizes: BTreeMap<RelTag, u32>,
    /// Segments of each SLRU.
    pub slru_dirs: BTreeMap<SlruKind, SegDir>,
    /// Size in pages of every SLRU segment.
    pub slru_sizes: BTreeMap<(SlruKind, u32), u32>,
    /// Prepared transactions.
    pub twophase: SegDir,
    /// The latest checkpoint.
    pub checkpoint: CheckPoint,
    dirty_db: bool,
    dirty_rel: BTreeSet<(u32, u32)>,
    dirty_slru: BTreeSet<SlruKind>,
    dirty_twophase: bool,
    checkpoint_modified: bool,
}

impl Catalog {
    /// An empty catalog (Neon's `init_empty`: empty directories) with `checkpoint`.
    pub fn new(checkpoint: CheckPoint) -> Catalog {
        Catalog {
            db_dir: DbDir::new(),
            rel_dirs: BTreeMap::new(),
            rel_sizes: BTreeMap::new(),
            slru_dirs: SLRUS.iter().map(|&k| (k, SegDir::new())).collect(),
            slru_sizes: BTreeMap::new(),
            twophase: SegDir::new(),
            checkpoint,
            dirty_db: false,
            dirty_rel: BTreeSet::new(),
            dirty_slru: BTreeSet::new(),
            dirty_twophase: false,
            checkpoint_modified: false,
        }
    }

    /// The size of `rel`, `None` if the fork does not exist.
    pub fn rel_size(&self, rel: RelTag) -> Option<u32> {
        self.rel_sizes.get(&rel).copied()
    }

    fn ensure_db(&mut self, spc: u32, db: u32) {
        if let std::collections::btree_map::Entry::Vacant(e) = self.db_dir.entry((spc, db)) {
            e.insert(false);
            self.dirty_db = true;
        }
        if let std::collections::btree_map::Entry::Vacant(e) = self.rel_dirs.entry((spc, db)) {
            e.insert(RelDir::new());
            self.dirty_rel.insert((spc, db));
        }
    }

    /// Creates `rel` with `nblocks` blocks (or resets an existing fork's size).
    pub fn create_rel(&mut self, rel: RelTag, nblocks: u32, puts: &mut Puts) {
        self.ensure_db(rel.spcnode, rel.dbnode);
        let dir = self.rel_dirs.entry((rel.spcnode, rel.dbnode)).or_default();
        if dir.insert((rel.relnode, rel.forknum)) {
            self.dirty_rel.insert((rel.spcnode, rel.dbnode));
        }
        self.set_rel_size(rel, nblocks, puts);
    }

    /// Sets the size of an existing or new fork.
    pub fn set_rel_size(&mut self, rel: RelTag, nblocks: u32, puts: &mut Puts) {
        self.rel_sizes.insert(rel, nblocks);
        puts.image(Key::rel_size(rel), size_bytes(nblocks));
    }

    /// Neon's `handle_rel_extend`: creates the fork if unknown, and if `blkno` is at or past
    /// its end, grows it to `blkno + 1` with zero images for the skipped blocks.
    pub fn extend_rel(&mut self, rel: RelTag, blkno: u32, puts: &mut Puts) {
        let old = match self.rel_size(rel) {
            Some(n) => n,
            None => {
                self.create_rel(rel, 0, puts);
                0
            }
        };
        if blkno >= old {
            for gap in old..blkno {
                puts.zero_page(Key::rel_block(rel, gap));
            }
            self.set_rel_size(rel, blkno.saturating_add(1), puts);
        }
    }

    /// Forgets `rel` (a drop). Its keys stay in older layers; a delta layer cannot delete.
    pub fn drop_rel(&mut self, rel: RelTag) {
        if self.rel_sizes.remove(&rel).is_some()
            && let Some(dir) = self.rel_dirs.get_mut(&(rel.spcnode, rel.dbnode))
            && dir.remove(&(rel.relnode, rel.forknum))
        {
            self.dirty_rel.insert((rel.spcnode, rel.dbnode));
        }
    }

    /// Forgets a whole database (Database DROP).
    pub fn drop_db(&mut self, spc: u32, db: u32) {
        self.rel_sizes
            .retain(|r, _| !(r.spcnode == spc && r.dbnode == db));
        if self.rel_dirs.remove(&(spc, db)).is_some() {
            self.dirty_rel.remove(&(spc, db));
        }
        if self.db_dir.remove(&(spc, db)).is_some() {
            self.dirty_db = true;
        }
    }

    /// Stores a relation map file (`put_relmap_file`).
    pub fn put_relmap(&mut self, spc: u32, db: u32, bytes: Bytes, puts: &mut Puts) {
        self.ensure_db(spc, db);
        if self.db_dir.insert((spc, db), true) != Some(true) {
            self.dirty_db = true;
        }
        puts.image(Key::relmap_file(spc, db), bytes);
    }

    /// The size of an SLRU segment, `None` if it does not exist.
    pub fn slru_size(&self, kind: SlruKind, segno: u32) -> Option<u32> {
        self.slru_sizes.get(&(kind, segno)).copied()
    }

    /// Creates an SLRU segment of `npages` pages (import).
    pub fn create_slru_segment(
        &mut self,
        kind: SlruKind,
        segno: u32,
        npages: u32,
        puts: &mut Puts,
    ) {
        if self.slru_dirs.entry(kind).or_default().insert(segno) {
            self.dirty_slru.insert(kind);
        }
        self.slru_sizes.insert((kind, segno), npages);
        puts.image(Key::slru_segment_size(kind, segno), size_bytes(npages));
    }

    /// Neon's `handle_slru_extend`: creates the segment if absent; if `rpageno` is at or past
    /// its end, grows it to `rpageno + 1` with zero images for the skipped pages.
    pub fn extend_slru(&mut self, kind: SlruKind, segno: u32, rpageno: u32, puts: &mut Puts) {
        let old = match self.slru_size(kind, segno) {
            Some(n) => n,
            None => {
                self.create_slru_segment(kind, segno, 0, puts);
                0
            }
        };
        if rpageno >= old {
            for gap in old..rpageno {
                puts.zero_page(Key::slru_block(kind, segno, gap));
            }
            self.slru_sizes.insert((kind, segno), rpageno + 1);
            puts.image(Key::slru_segment_size(kind, segno), size_bytes(rpageno + 1));
        }
    }

    /// Adds or removes a prepared transaction.
    pub fn set_twophase(&mut self, xid: u32, present: bool) {
        let changed = if present {
            self.twophase.insert(xid)
        } else {
            self.twophase.remove(&xid)
        };
        self.dirty_twophase |= changed;
    }

    /// Marks the checkpoint as changed (it is stored at the end of the record).
    pub fn checkpoint_modified(&mut self) {
        self.checkpoint_modified = true;
    }

    /// Puts the directories that changed and the checkpoint if it was modified.
    pub fn finish_record(&mut self, puts: &mut Puts) {
        if std::mem::take(&mut self.dirty_db) {
            puts.image(Key::DBDIR, dirs::encode_db_dir(&self.db_dir));
        }
        for (spc, db) in std::mem::take(&mut self.dirty_rel) {
            if let Some(dir) = self.rel_dirs.get(&(spc, db)) {
                puts.image(Key::rel_dir(spc, db), dirs::encode_rel_dir(dir));
            }
        }
        for kind in std::mem::take(&mut self.dirty_slru) {
            if let Some(dir) = self.slru_dirs.get(&kind) {
                puts.image(Key::slru_dir(kind), dirs::encode_seg_dir(dir));
            }
        }
        if std::mem::take(&mut self.dirty_twophase) {
            puts.image(Key::TWOPHASE_DIR, dirs::encode_seg_dir(&self.twophase));
        }
        if std::mem::take(&mut self.checkpoint_modified) {
            puts.image(
                Key::CHECKPOINT,
                Bytes::copy_from_slice(&self.checkpoint.encode()),
            );
        }
    }

    /// Every directory, size and checkpoint value of the catalog (what an import stores
    /// besides the pages themselves).
    pub fn all_values(&mut self, puts: &mut Puts) {
        self.dirty_db = true;
        self.dirty_rel = self.rel_dirs.keys().copied().collect();
        self.dirty_slru = SLRUS.into_iter().collect();
        self.dirty_twophase = true;
        self.checkpoint_modified = true;
        for (&rel, &n) in &self.rel_sizes {
            puts.image(Key::rel_size(rel), size_bytes(n));
        }
        for (&(kind, segno), &n) in &self.slru_sizes {
            puts.image(Key::slru_segment_size(kind, segno), size_bytes(n));
        }
        self.finish_record(puts);
    }

    /// Reads the catalog back from `timeline` as of `lsn` (every directory, then every size
    /// it lists, then the checkpoint).
    pub async fn load(timeline: &Timeline, lsn: Lsn) -> Result<Catalog, Error> {
        let read = |key: Key| async move { timeline.get_page(key, lsn).await };
        let checkpoint = CheckPoint::parse(&read(Key::CHECKPOINT).await?)?;
        let mut cat = Catalog::new(checkpoint);
        cat.db_dir = dirs::decode_db_dir(&read(Key::DBDIR).await?)?;
        for &(spc, db) in cat.db_dir.keys() {
            let dir = dirs::decode_rel_dir(&read(Key::rel_dir(spc, db)).await?)?;
            for &(relnode, forknum) in &dir {
                let rel = RelTag {
                    spcnode: spc,
                    dbnode: db,
                    relnode,
                    forknum,
                };
                let n = read_u32(&read(Key::rel_size(rel)).await?)?;
                cat.rel_sizes.insert(rel, n);
            }
            cat.rel_dirs.insert((spc, db), dir);
        }
        for kind in SLRUS {
            let dir = dirs::decode_seg_dir(&read(Key::slru_dir(kind)).await?)?;
            for &segno in &dir {
                let n = read_u32(&read(Key::slru_segment_size(kind, segno)).await?)?;
                cat.slru_sizes.insert((kind, segno), n);
            }
            cat.slru_dirs.insert(kind, dir);
        }
        cat.twophase = dirs::decode_seg_dir(&read(Key::TWOPHASE_DIR).await?)?;
        Ok(cat)
    }
}

/// A 4-byte little-endian size value.
pub fn read_u32(bytes: &[u8]) -> Result<u32, Error> {
    let b: [u8; 4] = bytes
        .try_into()
        .map_err(|_| Error::corrupt(format!("size value of {} bytes, not 4", bytes.len())))?;
    Ok(u32::from_le_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_key::{DEFAULTTABLESPACE_OID, MAIN_FORKNUM};

    fn rel(relnode: u32) -> RelTag {
        RelTag {
            spcnode: DEFAULTTABLESPACE_OID,
            dbnode: 5,
            relnode,
            forknum: MAIN_FORKNUM,
        }
    }

    #[test]
    fn extend_creates_fills_gaps_and_reserialises_the_directory_once() {
        let mut cat = Catalog::new(CheckPoint::parse(&[0; 88]).unwrap());
        let mut puts = Puts::default();
        cat.extend_rel(rel(1), 2, &mut puts);
        cat.extend_rel(rel(1), 1, &mut puts);
        cat.finish_record(&mut puts);
        assert_eq!(cat.rel_size(rel(1)), Some(3));
        let zero = Value::Image(Bytes::from_static(&ZERO_PAGE));
        assert_eq!(puts.0[&Key::rel_block(rel(1), 0)], zero);
        assert_eq!(puts.0[&Key::rel_block(rel(1), 1)], zero);
        assert!(!puts.0.contains_key(&Key::rel_block(rel(1), 2)));
        assert_eq!(puts.0[&Key::rel_size(rel(1))], Value::Image(size_bytes(3)));
        let Value::Image(dir) = &puts.0[&Key::rel_dir(DEFAULTTABLESPACE_OID, 5)] else {
            panic!("not an image")
        };
        assert_eq!(
            dirs::decode_rel_dir(dir).unwrap(),
            [(1, 0)].into_iter().collect()
        );
        assert!(puts.0.contains_key(&Key::DBDIR));
        let mut next = Puts::default();
        cat.finish_record(&mut next);
        assert!(next.0.is_empty());
        cat.drop_rel(rel(1));
        cat.finish_record(&mut next);
        assert_eq!(cat.rel_size(rel(1)), None);
        assert!(next.0.contains_key(&Key::rel_dir(DEFAULTTABLESPACE_OID, 5)));
    }

    #[test]
    fn slru_extend_counts_pages() {
        let mut cat = Catalog::new(CheckPoint::parse(&[0; 88]).unwrap());
        let mut puts = Puts::default();
        cat.extend_slru(SlruKind::Clog, 1, 1, &mut puts);
        assert_eq!(cat.slru_size(SlruKind::Clog, 1), Some(2));
        assert!(puts.0.contains_key(&Key::slru_block(SlruKind::Clog, 1, 0)));
        cat.finish_record(&mut puts);
        assert!(puts.0.contains_key(&Key::slru_dir(SlruKind::Clog)));
    }
}
