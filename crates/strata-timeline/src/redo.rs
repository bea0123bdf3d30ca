//! The redo boundary (TIMELINE.md 4.1): the [`Redo`] trait, Neon's dispatcher as [`NeonRedo`]
//! (runs of Neon records applied in Rust, runs of Postgres records handed to a caller's
//! [`PostgresRedo`] backend), and the byte effects of Neon's own records ([`apply_neon`]).
//!
//! Invariants:
//! * Records are applied oldest first; each run starts from the previous run's output, the
//!   first from the base image.
//! * Every place where Neon panics (a record for another block, a bad key kind, a page too
//!   short, an offset overflowing `u32`) is a [`RedoError`]; nothing here panics or indexes
//!   out of bounds on any input.
//! * The record's LSN is not used by the Neon records (as at the commit).

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use bytes::Bytes;
use strata_delta::NeonWalRecord;
use strata_key::{Key, Lsn};

use crate::aux_file::apply_aux_file;
use crate::error::RedoError;

/// Turns a page's history into the page.
pub trait Redo: Send + Sync {
    /// The page `key` as of `request_lsn`: `base` (if any) with `records` (oldest first,
    /// non-empty) applied. `pg_version` selects the Postgres redo binary.
    fn redo(
        &self,
        key: Key,
        request_lsn: Lsn,
        base: Option<(Lsn, Bytes)>,
        records: &[(Lsn, NeonWalRecord)],
        pg_version: u32,
    ) -> Result<Bytes, RedoError>;
}

/// Applies raw Postgres WAL records to one relation block (a `postgres --wal-redo` process,
/// TIMELINE.md 4.2, or anything else the caller has).
pub trait PostgresRedo: Send + Sync {
    /// The block `key` (a relation block key) after `records` (raw record bytes with their
    /// LSNs, oldest first) starting from `base` (exactly 8192 bytes) or from nothing.
    fn apply_postgres(
        &self,
        key: Key,
        base: Option<&[u8]>,
        records: &[(Lsn, Bytes)],
        pg_version: u32,
    ) -> Result<Bytes, RedoError>;
}

/// Neon's redo dispatcher: Neon records in Rust, Postgres records through an optional backend
/// (without one they are [`RedoError::NeedsPostgres`]).
#[derive(Clone, Default)]
pub struct NeonRedo {
    postgres: Option<Arc<dyn PostgresRedo>>,
}

impl std::fmt::Debug for NeonRedo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NeonRedo")
            .field("postgres", &self.postgres.is_some())
            .finish()
    }
}

/// Bytes of a Postgres page.
pub const BLCKSZ: usize = 8192;
/// Where the visibility-map bitmap starts (`MAXALIGN(SizeOfPageHeaderData)`).
pub const PAGE_HEADER_SIZE: usize = 24;
/// Heap blocks one visibility-map page covers.
pub const HEAPBLOCKS_PER_PAGE: u32 = ((BLCKSZ - PAGE_HEADER_SIZE) * 4) as u32;
/// Transactions per CLOG page.
pub const CLOG_XACTS_PER_PAGE: u32 = (BLCKSZ * 4) as u32;
/// SLRU pages per segment.
pub const SLRU_PAGES_PER_SEGMENT: u32 = 32;
/// Multixact offsets per page.
pub const MULTIXACT_OFFSETS_PER_PAGE: u32 = (BLCKSZ / 4) as u32;
/// Multixact member groups per page (20 bytes each).
pub const MULTIXACT_MEMBERGROUPS_PER_PAGE: u32 = (BLCKSZ / MULTIXACT_MEMBERGROUP_SIZE) as u32;
/// Multixact members per page.
pub const MULTIXACT_MEMBERS_PER_PAGE: u32 = MULTIXACT_MEMBERGROUPS_PER_PAGE * 4;
/// Bytes of a member group: 4 flag bytes, then 4 xids.
pub const MULTIXACT_MEMBERGROUP_SIZE: usize = 20;
/// The visibility-map fork number.
pub const VISIBILITYMAP_FORKNUM: u8 = 2;
/// The commit-timestamp trailer Neon keeps after a CLOG page.
pub const CLOG_TIMESTAMP_LEN: usize = 8;

const _: () = assert!(HEAPBLOCKS_PER_PAGE == 32672);
const _: () = assert!(MULTIXACT_MEMBERS_PER_PAGE == 1636);

/// The SLRU kinds of `field2` in an SLRU key.
const SLRU_CLOG: u32 = 0;
const SLRU_MEMBERS: u32 = 1;
const SLRU_OFFSETS: u32 = 2;

/// The key of the AUX files directory (`03 00000000 00000000 00000000 00 00000002`).
pub const AUX_FILES_KEY: Key = Key {
    field1: 0x03,
    field2: 0,
    field3: 0,
    field4: 0,
    field5: 0,
    field6: 2,
};

impl NeonRedo {
    /// A dispatcher without a Postgres backend.
    pub fn new() -> NeonRedo {
        NeonRedo::default()
    }

    /// A dispatcher handing Postgres records to `postgres`.
    pub fn with_postgres(postgres: Arc<dyn PostgresRedo>) -> NeonRedo {
        NeonRedo {
            postgres: Some(postgres),
        }
    }
}

impl Redo for NeonRedo {
    fn redo(
        &self,
        key: Key,
        _request_lsn: Lsn,
        base: Option<(Lsn, Bytes)>,
        records: &[(Lsn, NeonWalRecord)],
        pg_version: u32,
    ) -> Result<Bytes, RedoError> {
        if records.is_empty() {
            return Err(RedoError::NoRecords);
        }
        let mut page: Option<Bytes> = base.map(|(_, img)| img);
        let mut rest = records;
        while let Some((first, _)) = rest.split_first() {
            let is_pg = is_postgres(&first.1);
            let run_len = rest
                .iter()
                .position(|(_, r)| is_postgres(r) != is_pg)
                .unwrap_or(rest.len());
            let (run, tail) = rest.split_at(run_len);
            rest = tail;
            page = Some(if is_pg {
                self.postgres_run(key, page.as_deref(), run, pg_version)?
            } else {
                let start = page.ok_or(RedoError::NoBaseImage)?;
                let mut bytes = start.to_vec();
                for (lsn, record) in run {
                    apply_neon(key, *lsn, record, &mut bytes)?;
                }
                Bytes::from(bytes)
            });
        }
        page.ok_or(RedoError::NoRecords)
    }
}

impl NeonRedo {
    fn postgres_run(
        &self,
        key: Key,
        base: Option<&[u8]>,
        run: &[(Lsn, NeonWalRecord)],
        pg_version: u32,
    ) -> Result<Bytes, RedoError> {
        let Some(backend) = &self.postgres else {
            return Err(RedoError::NeedsPostgres {
                n_records: run.len(),
            });
        };
        if key.field1 != 0 {
            return Err(RedoError::WrongKey {
                record: "Postgres",
                key,
                expected: "a relation block",
            });
        }
        if let Some(base) = base
            && base.len() != BLCKSZ
        {
            return Err(RedoError::BasePageLength(base.len()));
        }
        let raw: Vec<(Lsn, Bytes)> = run
            .iter()
            .filter_map(|(lsn, r)| match r {
                NeonWalRecord::Postgres { rec, .. } => Some((*lsn, rec.clone())),
                _ => None,
            })
            .collect();
        backend.apply_postgres(key, base, &raw, pg_version)
    }
}

fn is_postgres(record: &NeonWalRecord) -> bool {
    matches!(record, NeonWalRecord::Postgres { .. })
}

/// Applies one of Neon's own records to `page` (TIMELINE.md 4.5). `Postgres` records are
/// [`RedoError::NeedsPostgres`]. On an error `page` may be partly changed.
pub fn apply_neon(
    key: Key,
    _lsn: Lsn,
    record: &NeonWalRecord,
    page: &mut Vec<u8>,
) -> Result<(), RedoError> {
    match record {
        NeonWalRecord::Postgres { .. } => Err(RedoError::NeedsPostgres { n_records: 1 }),
        NeonWalRecord::ClearVisibilityMapFlags {
            new_heap_blkno,
            old_heap_blkno,
            flags,
        } => {
            const WHAT: &str = "ClearVisibilityMapFlags";
            let vm_blkno = vm_block(WHAT, key)?;
            for heap_blkno in [new_heap_blkno, old_heap_blkno].into_iter().flatten() {
                let h = *heap_blkno;
                if h / HEAPBLOCKS_PER_PAGE != vm_blkno {
                    return Err(mismatch(WHAT, format!("heap block {h}"), key));
                }
                let map_byte = ((h % HEAPBLOCKS_PER_PAGE) / 4) as usize;
                let shift = (h % 4) * 2;
                let byte = byte_mut(WHAT, page, PAGE_HEADER_SIZE + map_byte)?;
                // u8 arithmetic: bits shifted past bit 7 are lost, as in Neon.
                *byte &= !(flags << shift);
            }
            Ok(())
        }
        NeonWalRecord::ClogSetCommitted { xids, timestamp } => {
            set_clog_status("ClogSetCommitted", key, xids, 0x01, page)?;
            if page.len() == BLCKSZ + CLOG_TIMESTAMP_LEN {
                page.truncate(BLCKSZ);
            }
            if page.len() == BLCKSZ {
                page.extend_from_slice(&timestamp.to_be_bytes());
            }
            Ok(())
        }
        NeonWalRecord::ClogSetAborted { xids } => {
            set_clog_status("ClogSetAborted", key, xids, 0x02, page)
        }
        NeonWalRecord::MultixactOffsetCreate { mid, moff } => {
            const WHAT: &str = "MultixactOffsetCreate";
            let (seg, blkno) = slru_block(WHAT, key, SLRU_OFFSETS, "a multixact offsets block")?;
            check_slru_page(
                WHAT,
                mid / MULTIXACT_OFFSETS_PER_PAGE,
                seg,
                blkno,
                key,
                *mid,
            )?;
            let offset = (mid % MULTIXACT_OFFSETS_PER_PAGE) as usize * 4;
            put_u32_le(WHAT, page, offset, *moff)
        }
        NeonWalRecord::MultixactMembersCreate { moff, members } => {
            const WHAT: &str = "MultixactMembersCreate";
            let (seg, blkno) = slru_block(WHAT, key, SLRU_MEMBERS, "a multixact members block")?;
            for (i, member) in members.iter().enumerate() {
                let off = u32::try_from(i)
                    .ok()
                    .and_then(|i| moff.checked_add(i))
                    .ok_or(RedoError::Overflow(WHAT))?;
                check_slru_page(WHAT, off / MULTIXACT_MEMBERS_PER_PAGE, seg, blkno, key, off)?;
                let (flags_off, shift, xid_off) = member_position(off);
                let mut flags = get_u32_le(WHAT, page, flags_off)?;
                flags &= !(0xFFu32 << shift);
                flags |= member.status.wrapping_shl(shift);
                put_u32_le(WHAT, page, flags_off, flags)?;
                put_u32_le(WHAT, page, xid_off, member.xid)?;
            }
            Ok(())
        }
        NeonWalRecord::AuxFile { file_path, content } => {
            let new = apply_aux_file(page, file_path, content.as_ref())?;
            *page = new;
            Ok(())
        }
        NeonWalRecord::TruncateVisibilityMap {
            trunc_byte,
            trunc_offs,
        } => {
            const WHAT: &str = "TruncateVisibilityMap";
            vm_block(WHAT, key)?;
            let at = usize::try_from(*trunc_byte)
                .ok()
                .and_then(|b| b.checked_add(PAGE_HEADER_SIZE))
                .ok_or(RedoError::Overflow(WHAT))?;
            if *trunc_offs >= 8 {
                return Err(RedoError::Overflow(WHAT));
            }
            let byte = byte_mut(WHAT, page, at)?;
            *byte &= (1u8 << trunc_offs) - 1;
            if let Some(tail) = page.get_mut(at + 1..) {
                tail.fill(0);
            }
            Ok(())
        }
    }
}

/// Where member offset `off` lives in its page: (flags word offset, bit shift, xid offset).
pub fn member_position(off: u32) -> (usize, u32, usize) {
    let flags_off =
        ((off / 4) % MULTIXACT_MEMBERGROUPS_PER_PAGE) as usize * MULTIXACT_MEMBERGROUP_SIZE;
    let shift = (off % 4) * 8;
    let xid_off = flags_off + 4 + (off % 4) as usize * 4;
    (flags_off, shift, xid_off)
}

fn set_clog_status(
    what: &'static str,
    key: Key,
    xids: &[u32],
    status: u8,
    page: &mut [u8],
) -> Result<(), RedoError> {
    let (seg, blkno) = slru_block(what, key, SLRU_CLOG, "a CLOG block")?;
    for &xid in xids {
        check_slru_page(what, xid / CLOG_XACTS_PER_PAGE, seg, blkno, key, xid)?;
        let byte_no = ((xid % CLOG_XACTS_PER_PAGE) / 4) as usize;
        let shift = (xid % 4) * 2;
        let byte = byte_mut(what, page, byte_no)?;
        *byte = (*byte & !(0x03 << shift)) | (status << shift);
    }
    Ok(())
}

/// The VM block number of a visibility-map fork key.
fn vm_block(what: &'static str, key: Key) -> Result<u32, RedoError> {
    if key.field1 != 0 || key.field5 != VISIBILITYMAP_FORKNUM {
        return Err(RedoError::WrongKey {
            record: what,
            key,
            expected: "a visibility map block",
        });
    }
    Ok(key.field6)
}

/// (segment, block) of an SLRU key of `kind`.
fn slru_block(
    what: &'static str,
    key: Key,
    kind: u32,
    expected: &'static str,
) -> Result<(u32, u32), RedoError> {
    if key.field1 != 0x01 || key.field2 != kind {
        return Err(RedoError::WrongKey {
            record: what,
            key,
            expected,
        });
    }
    Ok((key.field4, key.field6))
}

fn check_slru_page(
    what: &'static str,
    pageno: u32,
    seg: u32,
    blkno: u32,
    key: Key,
    item: u32,
) -> Result<(), RedoError> {
    if pageno / SLRU_PAGES_PER_SEGMENT != seg || pageno % SLRU_PAGES_PER_SEGMENT != blkno {
        return Err(mismatch(what, format!("{item} (page {pageno})"), key));
    }
    Ok(())
}

fn mismatch(record: &'static str, what: String, key: Key) -> RedoError {
    RedoError::BlockMismatch { record, what, key }
}

fn byte_mut<'a>(
    what: &'static str,
    page: &'a mut [u8],
    at: usize,
) -> Result<&'a mut u8, RedoError> {
    let len = page.len();
    page.get_mut(at).ok_or(RedoError::PageTooShort {
        record: what,
        offset: at,
        len,
    })
}

fn get_u32_le(what: &'static str, page: &[u8], at: usize) -> Result<u32, RedoError> {
    page.get(at..at + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_le_bytes)
        .ok_or(RedoError::PageTooShort {
            record: what,
            offset: at + 3,
            len: page.len(),
        })
}

fn put_u32_le(what: &'static str, page: &mut [u8], at: usize, v: u32) -> Result<(), RedoError> {
    let len = page.len();
    page.get_mut(at..at + 4)
        .ok_or(RedoError::PageTooShort {
            record: what,
            offset: at + 3,
            len,
        })?
        .copy_from_slice(&v.to_le_bytes());
    Ok(())
}

#[cfg(test)]
#[expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
#[path = "redo_tests.rs"]
mod tests;
