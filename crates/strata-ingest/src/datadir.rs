//! What each file of a PostgreSQL data directory is to an import (WAL.md section 6.3).
//!
//! [`classify`] maps a path relative to PGDATA to a [`PgFile`]: a relation segment, an SLRU
//! segment, the control file, a relation map, a two-phase file, something an import skips, or
//! something it cannot import. It is pure (no I/O) and total: any path gets an answer.
//!
//! Differences from Neon's `import_datadir`, made on purpose: Neon errors on
//! `global/pg_internal.init` and `base/pgsql_tmp/`, which every data directory that has run as
//! a server contains; both hold no relation data (a relcache init file and temporary files), so
//! they are [`PgFile::Skipped`] here and a cleanly shut-down cluster imports.
//!
//! Invariant: a [`PgFile::Rel`] or [`PgFile::Slru`] names exactly the keys Neon gives that file
//! (tablespace 1663 under `base/`, 1664 and database 0 under `global/`).

use strata_key::{
    DEFAULTTABLESPACE_OID, FSM_FORKNUM, GLOBALTABLESPACE_OID, INIT_FORKNUM, MAIN_FORKNUM, RelTag,
    SlruKind, VISIBILITYMAP_FORKNUM,
};

/// Blocks in one relation segment file (`RELSEG_SIZE`: 1 GiB of 8 KiB blocks).
pub const RELSEG_BLOCKS: u32 = 131_072;

/// Pages in one SLRU segment file (`SLRU_PAGES_PER_SEGMENT`).
pub const SLRU_PAGES_PER_SEGMENT: u32 = 32;

/// One file of a data directory, as an import treats it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PgFile {
    /// `global/pg_control`: the control file and the latest checkpoint.
    Control,
    /// A `pg_filenode.map`: the relation map of a database (or of the shared catalogs).
    RelMap {
        /// Tablespace OID.
        spcnode: u32,
        /// Database OID (0 for `global/`).
        dbnode: u32,
    },
    /// Segment `segno` of a relation fork: blocks `segno × RELSEG_BLOCKS ..`.
    Rel {
        /// The relation fork.
        rel: RelTag,
        /// The segment number (`.N` suffix, 0 without one).
        segno: u32,
    },
    /// Segment `segno` of an SLRU (`pg_xact/0000`, ...).
    Slru {
        /// Which SLRU.
        kind: SlruKind,
        /// The segment number (the hex file name).
        segno: u32,
    },
    /// `pg_twophase/<xid>`: the state file of a prepared transaction.
    TwoPhase {
        /// The prepared transaction's xid.
        xid: u32,
    },
    /// A file the import does not need; the reason says which rule skipped it.
    Skipped(&'static str),
    /// A file the import cannot handle; the reason says why.
    Unsupported(&'static str),
}

/// What an import does with the file at `rel_path` (relative to PGDATA, `/`-separated).
pub fn classify(rel_path: &str) -> PgFile {
    let parts: Vec<&str> = rel_path.split('/').filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        ["global", "pg_control"] => PgFile::Control,
        ["global", file] => catalog_file(file, GLOBALTABLESPACE_OID, 0),
        ["base", "pgsql_tmp", ..] => PgFile::Skipped("temporary files"),
        ["base", db, file] => match parse_oid(db) {
            Some(dbnode) => catalog_file(file, DEFAULTTABLESPACE_OID, dbnode),
            None => PgFile::Skipped("not a database directory"),
        },
        ["pg_xact", seg] => slru(SlruKind::Clog, seg),
        ["pg_multixact", "offsets", seg] => slru(SlruKind::MultiXactOffsets, seg),
        ["pg_multixact", "members", seg] => slru(SlruKind::MultiXactMembers, seg),
        ["pg_twophase", name] => match parse_hex(name, 8) {
            Some(xid) => PgFile::TwoPhase { xid },
            None => PgFile::Skipped("not a two-phase state file"),
        },
        ["pg_tblspc", ..] => PgFile::Unsupported("tablespaces other than the default"),
        ["pg_wal", ..] => PgFile::Skipped("WAL is ingested, not imported"),
        _ => PgFile::Skipped("not relation, SLRU or control data"),
    }
}

/// A file directly inside `global/` or `base/<db>/`.
fn catalog_file(file: &str, spcnode: u32, dbnode: u32) -> PgFile {
    match file {
        "pg_filenode.map" => PgFile::RelMap { spcnode, dbnode },
        "PG_VERSION" => PgFile::Skipped("version marker"),
        "pg_internal.init" => PgFile::Skipped("relcache init file, rebuilt by PostgreSQL"),
        _ => match parse_rel_file(file) {
            Some((relnode, forknum, segno)) => PgFile::Rel {
                rel: RelTag {
                    spcnode,
                    dbnode,
                    relnode,
                    forknum,
                },
                segno,
            },
            None => PgFile::Skipped("not a relation segment file"),
        },
    }
}

/// `<relnode>[_fsm|_vm|_init][.<segno>]` → (relnode, fork, segno).
fn parse_rel_file(file: &str) -> Option<(u32, u8, u32)> {
    let (stem, segno) = match file.split_once('.') {
        Some((stem, seg)) => (stem, parse_oid(seg)?),
        None => (file, 0),
    };
    let (rel, forknum) = match stem.split_once('_') {
        Some((rel, "fsm")) => (rel, FSM_FORKNUM),
        Some((rel, "vm")) => (rel, VISIBILITYMAP_FORKNUM),
        Some((rel, "init")) => (rel, INIT_FORKNUM),
        Some(_) => return None,
        None => (stem, MAIN_FORKNUM),
    };
    let relnode = parse_oid(rel)?;
    (relnode != 0).then_some((relnode, forknum, segno))
}

fn slru(kind: SlruKind, seg: &str) -> PgFile {
    match parse_hex(seg, 6) {
        Some(segno) => PgFile::Slru { kind, segno },
        None => PgFile::Skipped("not an SLRU segment file"),
    }
}

/// A decimal OID: ASCII digits only, no sign, no leading zero, fits in u32.
fn parse_oid(s: &str) -> Option<u32> {
    let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse().ok()
}

/// Upper-case hex of 4 to `max_len` digits (PostgreSQL names SLRU and two-phase files so).
fn parse_hex(s: &str, max_len: usize) -> Option<u32> {
    let ok = (4..=max_len).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b));
    if !ok {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(spcnode: u32, dbnode: u32, relnode: u32, forknum: u8, segno: u32) -> PgFile {
        PgFile::Rel {
            rel: RelTag {
                spcnode,
                dbnode,
                relnode,
                forknum,
            },
            segno,
        }
    }

    #[test]
    fn relation_files() {
        assert_eq!(classify("base/5/16384"), rel(1663, 5, 16384, 0, 0));
        assert_eq!(classify("base/5/16384.2"), rel(1663, 5, 16384, 0, 2));
        assert_eq!(classify("base/5/16384_fsm"), rel(1663, 5, 16384, 1, 0));
        assert_eq!(classify("base/5/16384_vm.1"), rel(1663, 5, 16384, 2, 1));
        assert_eq!(classify("base/5/16384_init"), rel(1663, 5, 16384, 3, 0));
        assert_eq!(classify("global/1262"), rel(1664, 0, 1262, 0, 0));
    }

    #[test]
    fn control_map_slru_twophase() {
        assert_eq!(classify("global/pg_control"), PgFile::Control);
        let map = PgFile::RelMap {
            spcnode: 1664,
            dbnode: 0,
        };
        assert_eq!(classify("global/pg_filenode.map"), map);
        let map = PgFile::RelMap {
            spcnode: 1663,
            dbnode: 1,
        };
        assert_eq!(classify("base/1/pg_filenode.map"), map);
        let clog = PgFile::Slru {
            kind: SlruKind::Clog,
            segno: 1,
        };
        assert_eq!(classify("pg_xact/0001"), clog);
        let off = PgFile::Slru {
            kind: SlruKind::MultiXactOffsets,
            segno: 0x1A,
        };
        assert_eq!(classify("pg_multixact/offsets/001A"), off);
        let mem = PgFile::Slru {
            kind: SlruKind::MultiXactMembers,
            segno: 0,
        };
        assert_eq!(classify("pg_multixact/members/0000"), mem);
        assert_eq!(
            classify("pg_twophase/000003E8"),
            PgFile::TwoPhase { xid: 1000 }
        );
    }

    #[test]
    fn skipped_and_unsupported() {
        for path in [
            "PG_VERSION",
            "postgresql.conf",
            "base/5/PG_VERSION",
            "base/5/pg_internal.init",
            "global/pg_internal.init",
            "base/pgsql_tmp/pgsql_tmp123.0",
            "pg_wal/000000010000000000000001",
            "pg_subtrans/0000",
            "base/5/16384_xyz",
            "base/5/016384",
            "base/5/16384.",
            "base/5/0",
            "base/x5/16384",
            "pg_xact/00g1",
            "pg_xact/001",
            "pg_xact/0000000",
            "base/5/99999999999",
        ] {
            assert!(
                matches!(classify(path), PgFile::Skipped(_)),
                "{path}: {:?}",
                classify(path)
            );
        }
        assert!(matches!(
            classify("pg_tblspc/16400/PG_15_202209061/5/16401"),
            PgFile::Unsupported(_)
        ));
    }
}
