//! Neon's key space: which PostgreSQL object a [`Key`] names (WAL.md section 4.3).
//!
//! Constructors ([`Key::rel_block`], [`Key::slru_block`], ...) build the keys Neon's pageserver
//! stores values under, and [`Key::kind`] classifies any key back into a [`KeyKind`]. Both are
//! pure and total: every 18-byte key classifies (keys outside Neon's space are
//! [`KeyKind::Other`]), and no constructor can fail.
//!
//! Invariant: `Key::kind` inverts every constructor here, exactly (unit tests check each one).

use crate::key::Key;

/// A relation fork number (PostgreSQL's `ForkNumber`).
pub type ForkNum = u8;

/// The main fork: the relation's data pages.
pub const MAIN_FORKNUM: ForkNum = 0;
/// The free-space map fork.
pub const FSM_FORKNUM: ForkNum = 1;
/// The visibility map fork.
pub const VISIBILITYMAP_FORKNUM: ForkNum = 2;
/// The init fork of unlogged relations.
pub const INIT_FORKNUM: ForkNum = 3;

/// OID of the default tablespace (`base/<db>/...`).
pub const DEFAULTTABLESPACE_OID: u32 = 1663;
/// OID of the global tablespace (`global/...`, database 0).
pub const GLOBALTABLESPACE_OID: u32 = 1664;

/// `field6` of a size key: the block number no real block can have.
const SIZE_FIELD6: u32 = u32::MAX;

/// A relation fork: tablespace, database, relation file node and fork.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RelTag {
    /// Tablespace OID (`spcnode`).
    pub spcnode: u32,
    /// Database OID (`dbnode`), 0 for shared relations.
    pub dbnode: u32,
    /// Relation file node (`relnode`).
    pub relnode: u32,
    /// Fork number.
    pub forknum: ForkNum,
}

/// The SLRUs Neon stores (field2 of an SLRU key; members come before offsets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SlruKind {
    /// `pg_xact`: two status bits per transaction.
    Clog,
    /// `pg_multixact/members`.
    MultiXactMembers,
    /// `pg_multixact/offsets`.
    MultiXactOffsets,
}

/// What a key names in Neon's key space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// The database directory (`DBDIR_KEY`).
    DbDir,
    /// The relation map file of a database.
    RelMap {
        /// Tablespace OID.
        spcnode: u32,
        /// Database OID.
        dbnode: u32,
    },
    /// The relation directory of a database.
    RelDir {
        /// Tablespace OID.
        spcnode: u32,
        /// Database OID.
        dbnode: u32,
    },
    /// A block of a relation fork.
    RelBlock(RelTag, u32),
    /// The size (in blocks) of a relation fork.
    RelSize(RelTag),
    /// The directory of an SLRU.
    SlruDir(SlruKind),
    /// A page of an SLRU segment: `(kind, segno, blkno)`.
    SlruBlock(SlruKind, u32, u32),
    /// The size (in pages) of an SLRU segment.
    SlruSegmentSize(SlruKind, u32),
    /// The two-phase directory.
    TwoPhaseDir,
    /// The two-phase state file of a transaction.
    TwoPhaseFile(u32),
    /// The control file image.
    ControlFile,
    /// The checkpoint record image.
    Checkpoint,
    /// The auxiliary files map.
    AuxFiles,
    /// A key outside Neon's space as WAL.md 4.3 lists it.
    Other,
}

const fn key(field1: u8, field2: u32, field3: u32, field4: u32, field5: u8, field6: u32) -> Key {
    Key {
        field1,
        field2,
        field3,
        field4,
        field5,
        field6,
    }
}

impl SlruKind {
    /// The value of field2 in this SLRU's keys.
    pub fn field2(self) -> u32 {
        match self {
            SlruKind::Clog => 0,
            SlruKind::MultiXactMembers => 1,
            SlruKind::MultiXactOffsets => 2,
        }
    }

    /// The SLRU whose keys have this field2, if any.
    pub fn from_field2(field2: u32) -> Option<SlruKind> {
        match field2 {
            0 => Some(SlruKind::Clog),
            1 => Some(SlruKind::MultiXactMembers),
            2 => Some(SlruKind::MultiXactOffsets),
            _ => None,
        }
    }

    /// The directory under a data directory that holds this SLRU's segment files.
    pub fn pgdata_dir(self) -> &'static str {
        match self {
            SlruKind::Clog => "pg_xact",
            SlruKind::MultiXactMembers => "pg_multixact/members",
            SlruKind::MultiXactOffsets => "pg_multixact/offsets",
        }
    }
}

impl Key {
    /// `DBDIR_KEY`: the database directory.
    pub const DBDIR: Key = key(0, 0, 0, 0, 0, 0);
    /// `TWOPHASEDIR_KEY`: the two-phase directory.
    pub const TWOPHASE_DIR: Key = key(2, 0, 0, 0, 0, 0);
    /// `CONTROLFILE_KEY`: the `pg_control` image.
    pub const CONTROLFILE: Key = key(3, 0, 0, 0, 0, 0);
    /// `CHECKPOINT_KEY`: the checkpoint image.
    pub const CHECKPOINT: Key = key(3, 0, 0, 0, 0, 1);
    /// `AUX_FILES_KEY`: the auxiliary files map.
    pub const AUX_FILES: Key = key(3, 0, 0, 0, 0, 2);

    /// The key of block `blkno` of relation fork `rel` (`rel_block_to_key`).
    pub fn rel_block(rel: RelTag, blkno: u32) -> Key {
        key(0, rel.spcnode, rel.dbnode, rel.relnode, rel.forknum, blkno)
    }

    /// The key of the size of relation fork `rel` (`rel_size_to_key`).
    pub fn rel_size(rel: RelTag) -> Key {
        Key::rel_block(rel, SIZE_FIELD6)
    }

    /// The relation map file key of a database (`relmap_file_key`).
    pub fn relmap_file(spcnode: u32, dbnode: u32) -> Key {
        key(0, spcnode, dbnode, 0, 0, 0)
    }

    /// The relation directory key of a database (`rel_dir_to_key`).
    pub fn rel_dir(spcnode: u32, dbnode: u32) -> Key {
        key(0, spcnode, dbnode, 0, 0, 1)
    }

    /// The directory key of an SLRU (`slru_dir_to_key`).
    pub fn slru_dir(kind: SlruKind) -> Key {
        key(1, kind.field2(), 0, 0, 0, 0)
    }

    /// The key of page `blkno` of SLRU segment `segno` (`slru_block_to_key`).
    pub fn slru_block(kind: SlruKind, segno: u32, blkno: u32) -> Key {
        key(1, kind.field2(), 1, segno, 0, blkno)
    }

    /// The key of the size of SLRU segment `segno` (`slru_segment_size_to_key`).
    pub fn slru_segment_size(kind: SlruKind, segno: u32) -> Key {
        Key::slru_block(kind, segno, SIZE_FIELD6)
    }

    /// The two-phase state file key of transaction `xid` (`twophase_file_key`).
    pub fn twophase_file(xid: u32) -> Key {
        key(2, 0, 0, 0, 0, xid)
    }

    /// What this key names; [`KeyKind::Other`] for keys no constructor here makes.
    pub fn kind(&self) -> KeyKind {
        let k = *self;
        match k.field1 {
            0x00 => rel_kind(k),
            0x01 => slru_kind(k),
            0x02 if (k.field2, k.field3, k.field4, k.field5) == (0, 0, 0, 0) => match k.field6 {
                0 => KeyKind::TwoPhaseDir,
                xid => KeyKind::TwoPhaseFile(xid),
            },
            0x03 if (k.field2, k.field3, k.field4, k.field5) == (0, 0, 0, 0) => match k.field6 {
                0 => KeyKind::ControlFile,
                1 => KeyKind::Checkpoint,
                2 => KeyKind::AuxFiles,
                _ => KeyKind::Other,
            },
            _ => KeyKind::Other,
        }
    }
}

fn rel_kind(k: Key) -> KeyKind {
    if k.field4 != 0 {
        let rel = RelTag {
            spcnode: k.field2,
            dbnode: k.field3,
            relnode: k.field4,
            forknum: k.field5,
        };
        return match k.field6 {
            SIZE_FIELD6 => KeyKind::RelSize(rel),
            blkno => KeyKind::RelBlock(rel, blkno),
        };
    }
    match (k.field2, k.field3, k.field5, k.field6) {
        (0, 0, 0, 0) => KeyKind::DbDir,
        (spcnode, dbnode, 0, 0) => KeyKind::RelMap { spcnode, dbnode },
        (spcnode, dbnode, 0, 1) => KeyKind::RelDir { spcnode, dbnode },
        _ => KeyKind::Other,
    }
}

fn slru_kind(k: Key) -> KeyKind {
    let Some(kind) = SlruKind::from_field2(k.field2) else {
        return KeyKind::Other;
    };
    match (k.field3, k.field4, k.field5, k.field6) {
        (0, 0, 0, 0) => KeyKind::SlruDir(kind),
        (1, segno, 0, SIZE_FIELD6) => KeyKind::SlruSegmentSize(kind, segno),
        (1, segno, 0, blkno) => KeyKind::SlruBlock(kind, segno, blkno),
        _ => KeyKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REL: RelTag = RelTag {
        spcnode: DEFAULTTABLESPACE_OID,
        dbnode: 1,
        relnode: 2606,
        forknum: MAIN_FORKNUM,
    };

    #[test]
    fn wal_md_example_key() {
        // WAL.md 4.4: `blkref #0: rel 1663/1/2606 blk 2`.
        assert_eq!(
            Key::rel_block(REL, 2).to_string(),
            "000000067F0000000100000A2E0000000002"
        );
    }

    #[test]
    fn kind_inverts_every_constructor() {
        let vm = RelTag {
            forknum: VISIBILITYMAP_FORKNUM,
            ..REL
        };
        let cases = [
            (Key::DBDIR, KeyKind::DbDir),
            (
                Key::relmap_file(1663, 5),
                KeyKind::RelMap {
                    spcnode: 1663,
                    dbnode: 5,
                },
            ),
            (
                Key::rel_dir(1663, 5),
                KeyKind::RelDir {
                    spcnode: 1663,
                    dbnode: 5,
                },
            ),
            (Key::rel_block(REL, 7), KeyKind::RelBlock(REL, 7)),
            (Key::rel_block(vm, 0), KeyKind::RelBlock(vm, 0)),
            (Key::rel_size(REL), KeyKind::RelSize(REL)),
            (
                Key::slru_dir(SlruKind::Clog),
                KeyKind::SlruDir(SlruKind::Clog),
            ),
            (
                Key::slru_block(SlruKind::MultiXactOffsets, 3, 31),
                KeyKind::SlruBlock(SlruKind::MultiXactOffsets, 3, 31),
            ),
            (
                Key::slru_segment_size(SlruKind::MultiXactMembers, 2),
                KeyKind::SlruSegmentSize(SlruKind::MultiXactMembers, 2),
            ),
            (Key::TWOPHASE_DIR, KeyKind::TwoPhaseDir),
            (Key::twophase_file(900), KeyKind::TwoPhaseFile(900)),
            (Key::CONTROLFILE, KeyKind::ControlFile),
            (Key::CHECKPOINT, KeyKind::Checkpoint),
            (Key::AUX_FILES, KeyKind::AuxFiles),
        ];
        for (key, kind) in cases {
            assert_eq!(key.kind(), kind, "{key}");
        }
    }

    #[test]
    fn keys_outside_the_space_are_other() {
        for key in [Key::MAX, key(0x01, 7, 1, 0, 0, 0), key(0x03, 0, 0, 0, 0, 3)] {
            assert_eq!(key.kind(), KeyKind::Other, "{key}");
        }
        assert_eq!(key(0x01, 0, 1, 0, 1, 0).kind(), KeyKind::Other);
    }

    #[test]
    fn slru_kinds_round_trip_and_order() {
        for kind in [
            SlruKind::Clog,
            SlruKind::MultiXactMembers,
            SlruKind::MultiXactOffsets,
        ] {
            assert_eq!(SlruKind::from_field2(kind.field2()), Some(kind));
        }
        assert_eq!(SlruKind::from_field2(3), None);
        assert_eq!(SlruKind::Clog.pgdata_dir(), "pg_xact");
        assert!(
            Key::slru_dir(SlruKind::MultiXactMembers) < Key::slru_dir(SlruKind::MultiXactOffsets)
        );
    }

    #[test]
    fn size_keys_sort_after_every_block_of_their_fork() {
        assert!(Key::rel_block(REL, u32::MAX - 1) < Key::rel_size(REL));
        let fsm = RelTag {
            forknum: FSM_FORKNUM,
            ..REL
        };
        assert!(Key::rel_size(REL) < Key::rel_block(fsm, 0));
    }
}
