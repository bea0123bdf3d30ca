//! Resource manager names and record type names, as `pg_waldump` prints them (`rmgrlist.h`
//! and each rmgr's `rm_identify`, WAL.md 2.2, 2.3).
//!
//! Invariant: a name is returned only where PostgreSQL's identify function returns one;
//! everything else is `None`, which `pg_waldump` prints as `UNKNOWN (%x)`. Checked against real
//! `pg_waldump` output for XLOG, Transaction, Storage, CLOG, Database, Standby, Heap, Heap2,
//! Btree and RelMap by the oracle test; the others follow PostgreSQL 15's sources.

use std::borrow::Cow;

use crate::format::{PgVersion, XLR_RMGR_INFO_MASK};

/// Builtin resource manager names by id (PostgreSQL 14 to 16).
pub const RMGR_NAMES: [&str; 22] = [
    "XLOG",
    "Transaction",
    "Storage",
    "CLOG",
    "Database",
    "Tablespace",
    "MultiXact",
    "RelMap",
    "Standby",
    "Heap2",
    "Heap",
    "Btree",
    "Hash",
    "Gin",
    "Gist",
    "Sequence",
    "SPGist",
    "BRIN",
    "CommitTs",
    "ReplicationOrigin",
    "Generic",
    "LogicalMessage",
];

/// Ids of the resource managers this crate's callers most often name.
pub mod ids {
    /// XLOG.
    pub const XLOG: u8 = 0;
    /// Transaction.
    pub const XACT: u8 = 1;
    /// Storage (smgr).
    pub const SMGR: u8 = 2;
    /// CLOG.
    pub const CLOG: u8 = 3;
    /// Database.
    pub const DBASE: u8 = 4;
    /// RelMap.
    pub const RELMAP: u8 = 7;
    /// Standby.
    pub const STANDBY: u8 = 8;
    /// Heap2.
    pub const HEAP2: u8 = 9;
    /// Heap.
    pub const HEAP: u8 = 10;
    /// Btree.
    pub const BTREE: u8 = 11;
}

/// The name `pg_waldump` prints for `rmid`: the builtin name, `custom###` for 128..=255.
pub fn rmgr_name(rmid: u8) -> Cow<'static, str> {
    match RMGR_NAMES.get(usize::from(rmid)) {
        Some(name) => Cow::Borrowed(name),
        None if rmid >= 128 => Cow::Owned(format!("custom{rmid:03}")),
        None => Cow::Owned(format!("invalid{rmid}")),
    }
}

/// The record type name (`rm_identify(xl_info)`) of a record of `rmid`.
pub fn record_type_name(version: PgVersion, rmid: u8, info: u8) -> Option<&'static str> {
    let op = info & XLR_RMGR_INFO_MASK;
    let by = |table: &[(u8, &'static str)], key: u8| {
        table.iter().find(|(k, _)| *k == key).map(|(_, name)| *name)
    };
    match rmid {
        0 => by(XLOG, op),
        1 => by(XACT, info & 0x70),
        2 => by(&[(0x10, "CREATE"), (0x20, "TRUNCATE")], op),
        3 => by(&[(0x00, "ZEROPAGE"), (0x10, "TRUNCATE")], op),
        4 => match version {
            PgVersion::V14 => by(&[(0x00, "CREATE"), (0x10, "DROP")], op),
            PgVersion::V15 | PgVersion::V16 => by(
                &[
                    (0x00, "CREATE_FILE_COPY"),
                    (0x10, "CREATE_WAL_LOG"),
                    (0x20, "DROP"),
                ],
                op,
            ),
        },
        5 => by(&[(0x00, "CREATE"), (0x10, "DROP")], op),
        6 => by(MULTIXACT, op),
        7 => by(&[(0x00, "UPDATE")], op),
        8 => by(
            &[
                (0x00, "LOCK"),
                (0x10, "RUNNING_XACTS"),
                (0x20, "INVALIDATIONS"),
            ],
            op,
        ),
        9 => by(HEAP2, op),
        10 => by(HEAP, op),
        11 => by(BTREE, op),
        12 => by(HASH, op),
        13 => by(GIN, op),
        14 => by(GIST, op),
        15 => by(&[(0x00, "LOG")], op),
        16 => by(SPGIST, op),
        17 => by(BRIN, op),
        18 => by(&[(0x00, "ZEROPAGE"), (0x10, "TRUNCATE")], op),
        19 => by(&[(0x00, "SET"), (0x10, "DROP")], op),
        20 => Some("Generic"),
        21 => by(&[(0x00, "MESSAGE")], op),
        _ => None,
    }
}

const XLOG: &[(u8, &str)] = &[
    (0x00, "CHECKPOINT_SHUTDOWN"),
    (0x10, "CHECKPOINT_ONLINE"),
    (0x20, "NOOP"),
    (0x30, "NEXTOID"),
    (0x40, "SWITCH"),
    (0x50, "BACKUP_END"),
    (0x60, "PARAMETER_CHANGE"),
    (0x70, "RESTORE_POINT"),
    (0x80, "FPW_CHANGE"),
    (0x90, "END_OF_RECOVERY"),
    (0xA0, "FPI_FOR_HINT"),
    (0xB0, "FPI"),
    (0xD0, "OVERWRITE_CONTRECORD"),
];

const XACT: &[(u8, &str)] = &[
    (0x00, "COMMIT"),
    (0x10, "PREPARE"),
    (0x20, "ABORT"),
    (0x30, "COMMIT_PREPARED"),
    (0x40, "ABORT_PREPARED"),
    (0x50, "ASSIGNMENT"),
    (0x60, "INVALIDATION"),
];

const MULTIXACT: &[(u8, &str)] = &[
    (0x00, "ZERO_OFF_PAGE"),
    (0x10, "ZERO_MEM_PAGE"),
    (0x20, "CREATE_ID"),
    (0x30, "TRUNCATE_ID"),
];

const HEAP2: &[(u8, &str)] = &[
    (0x00, "REWRITE"),
    (0x10, "PRUNE"),
    (0x20, "VACUUM"),
    (0x30, "FREEZE_PAGE"),
    (0x40, "VISIBLE"),
    (0x50, "MULTI_INSERT"),
    (0xD0, "MULTI_INSERT+INIT"),
    (0x60, "LOCK_UPDATED"),
    (0x70, "NEW_CID"),
];

const HEAP: &[(u8, &str)] = &[
    (0x00, "INSERT"),
    (0x80, "INSERT+INIT"),
    (0x10, "DELETE"),
    (0x20, "UPDATE"),
    (0xA0, "UPDATE+INIT"),
    (0x30, "TRUNCATE"),
    (0x40, "HOT_UPDATE"),
    (0xC0, "HOT_UPDATE+INIT"),
    (0x50, "HEAP_CONFIRM"),
    (0x60, "LOCK"),
    (0x70, "INPLACE"),
];

const BTREE: &[(u8, &str)] = &[
    (0x00, "INSERT_LEAF"),
    (0x10, "INSERT_UPPER"),
    (0x20, "INSERT_META"),
    (0x30, "SPLIT_L"),
    (0x40, "SPLIT_R"),
    (0x50, "INSERT_POST"),
    (0x60, "DEDUP"),
    (0x70, "DELETE"),
    (0x80, "UNLINK_PAGE"),
    (0x90, "UNLINK_PAGE_META"),
    (0xA0, "NEWROOT"),
    (0xB0, "MARK_PAGE_HALFDEAD"),
    (0xC0, "VACUUM"),
    (0xD0, "REUSE_PAGE"),
    (0xE0, "META_CLEANUP"),
];

const HASH: &[(u8, &str)] = &[
    (0x00, "INIT_META_PAGE"),
    (0x10, "INIT_BITMAP_PAGE"),
    (0x20, "INSERT"),
    (0x30, "ADD_OVFL_PAGE"),
    (0x40, "SPLIT_ALLOCATE_PAGE"),
    (0x50, "SPLIT_PAGE"),
    (0x60, "SPLIT_COMPLETE"),
    (0x70, "MOVE_PAGE_CONTENTS"),
    (0x80, "SQUEEZE_PAGE"),
    (0x90, "DELETE"),
    (0xA0, "SPLIT_CLEANUP"),
    (0xB0, "UPDATE_META_PAGE"),
    (0xC0, "VACUUM_ONE_PAGE"),
];

const GIN: &[(u8, &str)] = &[
    (0x00, "CREATE_PTREE"),
    (0x10, "INSERT"),
    (0x20, "SPLIT"),
    (0x30, "VACUUM_PAGE"),
    (0x40, "VACUUM_DATA_LEAF_PAGE"),
    (0x50, "DELETE_PAGE"),
    (0x60, "UPDATE_META_PAGE"),
    (0x70, "INSERT_LISTPAGE"),
    (0x80, "DELETE_LISTPAGE"),
];

const GIST: &[(u8, &str)] = &[
    (0x00, "PAGE_UPDATE"),
    (0x10, "DELETE"),
    (0x20, "PAGE_REUSE"),
    (0x30, "PAGE_SPLIT"),
    (0x60, "PAGE_DELETE"),
    (0x70, "ASSIGN_LSN"),
];

const SPGIST: &[(u8, &str)] = &[
    (0x00, "ADD_LEAF"),
    (0x10, "MOVE_LEAFS"),
    (0x20, "ADD_NODE"),
    (0x30, "SPLIT_TUPLE"),
    (0x40, "PICKSPLIT"),
    (0x50, "VACUUM_LEAF"),
    (0x60, "VACUUM_ROOT"),
    (0x70, "VACUUM_REDIRECT"),
];

const BRIN: &[(u8, &str)] = &[
    (0x00, "CREATE_INDEX"),
    (0x10, "INSERT"),
    (0x90, "INSERT+INIT"),
    (0x20, "UPDATE"),
    (0xA0, "UPDATE+INIT"),
    (0x30, "SAMEPAGE_UPDATE"),
    (0x40, "REVMAP_EXTEND"),
    (0x50, "DESUMMARIZE"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_pg_waldump_prints() {
        assert_eq!(rmgr_name(0), "XLOG");
        assert_eq!(rmgr_name(21), "LogicalMessage");
        assert_eq!(rmgr_name(134), "custom134");
        let v = PgVersion::V15;
        assert_eq!(record_type_name(v, 0, 0xB0), Some("FPI"));
        assert_eq!(record_type_name(v, 0, 0x40), Some("SWITCH"));
        assert_eq!(record_type_name(v, 1, 0x80), Some("COMMIT"));
        assert_eq!(record_type_name(v, 1, 0xA0), Some("ABORT"));
        assert_eq!(record_type_name(v, 10, 0x80), Some("INSERT+INIT"));
        assert_eq!(record_type_name(v, 10, 0x90), None);
        assert_eq!(record_type_name(v, 9, 0xD0), Some("MULTI_INSERT+INIT"));
        assert_eq!(record_type_name(v, 4, 0x10), Some("CREATE_WAL_LOG"));
        assert_eq!(record_type_name(PgVersion::V14, 4, 0x10), Some("DROP"));
        assert_eq!(record_type_name(v, 2, 0x00), None);
        assert_eq!(record_type_name(v, 200, 0x00), None);
    }
}
