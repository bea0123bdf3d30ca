//! One WAL record → the values Neon's `WalIngest::ingest_record` puts (WAL.md 4.2-4.7, 5.3),
//! all at the record's storage LSN ([`Record::next`]).
//!
//! Order, as Neon: first the rmgr-specific handling (CLOG records for commits and aborts,
//! zero pages, relation creation, truncation and drops, visibility-map clears, relmap,
//! multixact, checkpoint fields), then one value per block reference (after
//! `handle_rel_extend`), then the directories that changed and the checkpoint if modified.
//! The heap flag offsets are stock PostgreSQL 15's, not Neon's v14/v15 structs (WAL.md 4.6).
//!
//! Not modelled (no value is produced): CLOG TRUNCATE, MultiXact TRUNCATE_ID, Database
//! CREATE_FILE_COPY (an error: it needs page reconstruction), logical messages (aux files).
//! Drops forget the forks and update the directories but cannot delete older keys.

use bytes::Bytes;
use strata_delta::{MultiXactMember, NeonWalRecord, Value};
use strata_key::{FSM_FORKNUM, Key, MAIN_FORKNUM, RelTag, SlruKind, VISIBILITYMAP_FORKNUM};
use strata_wal::{BlockRef, Compression, Record, RelFileNode};

use crate::catalog::{Catalog, Puts, ZERO_PAGE};
use crate::clog::xids_by_page;
use crate::control::CheckPoint;
use crate::datadir::SLRU_PAGES_PER_SEGMENT;
use crate::error::Error;
use crate::records::{self, Cursor, ParseError};

const RM_XLOG: u8 = 0;
const RM_XACT: u8 = 1;
const RM_SMGR: u8 = 2;
const RM_CLOG: u8 = 3;
const RM_DBASE: u8 = 4;
const RM_MULTIXACT: u8 = 6;
const RM_RELMAP: u8 = 7;
const RM_STANDBY: u8 = 8;
const RM_HEAP2: u8 = 9;
const RM_HEAP: u8 = 10;

/// Heap blocks per visibility-map page: `(8192 - 24) * 4`.
pub const HEAPBLOCKS_PER_PAGE: u32 = 32_672;
/// FSM slots per page.
const SLOTS_PER_FSM_PAGE: u32 = 4069;
const MULTIXACT_OFFSETS_PER_PAGE: u32 = 2048;
const MULTIXACT_MEMBERS_PER_PAGE: u32 = 1636;

fn reltag(rnode: RelFileNode, forknum: u8) -> RelTag {
    RelTag {
        spcnode: rnode.spc,
        dbnode: rnode.db,
        relnode: rnode.rel,
        forknum,
    }
}

/// Ingests `rec` into `puts` (the values of this one record), updating `cat`.
pub fn ingest_record(cat: &mut Catalog, rec: &Record, puts: &mut Puts) -> Result<(), Error> {
    let bad = |message: ParseError| Error::Record {
        lsn: rec.lsn,
        message,
    };
    let xid = rec.header.xid;
    if xid != 0 && cat.checkpoint.update_next_xid(xid) {
        cat.checkpoint_modified();
    }
    special(cat, rec, puts).map_err(bad)?;
    let bytes = Bytes::copy_from_slice(rec.bytes());
    for blk in &rec.blocks {
        let rel = reltag(blk.rel, blk.fork());
        let key = Key::rel_block(rel, blk.blkno);
        let value = block_value(rec, blk, &bytes).map_err(|e| bad(e.to_string()))?;
        cat.extend_rel(rel, blk.blkno, puts);
        puts.value(key, value);
    }
    cat.finish_record(puts);
    Ok(())
}

/// WAL.md 4.5: an applied, uncompressed XLOG FPI becomes an image (hole restored, `pd_lsn`
/// set unless the page is new); everything else the record itself.
fn block_value(
    rec: &Record,
    blk: &BlockRef,
    bytes: &Bytes,
) -> Result<Value, strata_wal::ImageError> {
    let info = rec.header.info;
    if let Some(img) = &blk.image
        && img.apply
        && rec.header.rmid == RM_XLOG
        && (info == 0xB0 || info == 0xA0)
        && img.compression == Compression::None
        && img.bimg_len != 0
    {
        let mut page = rec.restore_image(blk)?;
        if page[14..16] != [0, 0] {
            let lsn = rec.next.0;
            page[0..4].copy_from_slice(&((lsn >> 32) as u32).to_le_bytes());
            page[4..8].copy_from_slice(&(lsn as u32).to_le_bytes());
        }
        let page: Box<[u8]> = page;
        return Ok(Value::Image(Bytes::from(page)));
    }
    let apply = blk.image.as_ref().is_some_and(|i| i.apply);
    Ok(Value::WalRecord(NeonWalRecord::Postgres {
        will_init: blk.will_init() || apply,
        rec: bytes.clone(),
    }))
}

fn special(cat: &mut Catalog, rec: &Record, puts: &mut Puts) -> Result<(), ParseError> {
    let info = rec.header.info;
    let data = rec.main_data();
    match rec.header.rmid {
        RM_XLOG => xlog(cat, info & 0xF0, data),
        RM_XACT => xact(cat, rec, puts),
        RM_SMGR => smgr(cat, info & 0xF0, data, puts),
        RM_CLOG if info & 0xF0 == 0x00 => {
            zero_slru_page(cat, SlruKind::Clog, records::parse_pageno(data)?, puts);
            Ok(())
        }
        RM_DBASE => match info & 0xF0 {
            0x00 => Err("CREATE DATABASE with the FILE_COPY strategy is not supported".into()),
            0x20 => {
                let (db, spcs) = records::parse_db_drop(data)?;
                for spc in spcs {
                    cat.drop_db(spc, db);
                }
                Ok(())
            }
            _ => Ok(()),
        },
        RM_MULTIXACT => multixact(cat, info & 0xF0, data, puts),
        RM_RELMAP if info & 0xF0 == 0x00 => {
            let (db, ts, file) = records::parse_relmap_update(data)?;
            cat.put_relmap(ts, db, Bytes::copy_from_slice(file), puts);
            Ok(())
        }
        RM_STANDBY if info & 0xF0 == 0x10 => {
            cat.checkpoint.oldest_active_xid = records::parse_running_xacts_oldest(data)?;
            Ok(())
        }
        RM_HEAP | RM_HEAP2 => vm_clears(cat, rec, puts),
        _ => Ok(()),
    }
}

fn xlog(cat: &mut Catalog, op: u8, data: &[u8]) -> Result<(), ParseError> {
    match op {
        // CHECKPOINT_SHUTDOWN, CHECKPOINT_ONLINE
        0x00 | 0x10 => {
            let cp = CheckPoint::parse(data).map_err(|e| e.to_string())?;
            if (cat.checkpoint.oldest_xid.wrapping_sub(cp.oldest_xid) as i32) < 0 {
                cat.checkpoint.oldest_xid = cp.oldest_xid;
            }
            cat.checkpoint.oldest_active_xid = cp.oldest_active_xid;
            cat.checkpoint_modified();
        }
        // NEXTOID
        0x30 => {
            let oid = Cursor::new(data, "nextoid").u32()?;
            if cat.checkpoint.next_oid != oid {
                cat.checkpoint.next_oid = oid;
                cat.checkpoint_modified();
            }
        }
        _ => {}
    }
    Ok(())
}

fn xact(cat: &mut Catalog, rec: &Record, puts: &mut Puts) -> Result<(), ParseError> {
    let info = rec.header.info;
    let op = info & 0x70;
    let (commit, prepared) = match op {
        0x00 => (true, false),
        0x20 => (false, false),
        0x30 => (true, true),
        0x40 => (false, true),
        0x10 => {
            // PREPARE: the state file is the main data.
            cat.set_twophase(rec.header.xid, true);
            puts.image(
                Key::twophase_file(rec.header.xid),
                Bytes::copy_from_slice(rec.main_data()),
            );
            return Ok(());
        }
        _ => return Ok(()),
    };
    let x = records::parse_xact(info, rec.main_data(), commit)?;
    let xid = x.twophase_xid.unwrap_or(rec.header.xid);
    for (key, xids) in xids_by_page(xid, &x.subxacts) {
        let r = if commit {
            NeonWalRecord::ClogSetCommitted {
                xids,
                timestamp: x.xact_time,
            }
        } else {
            NeonWalRecord::ClogSetAborted { xids }
        };
        puts.value(key, Value::WalRecord(r));
    }
    for rnode in &x.rels {
        for fork in 0..=3 {
            cat.drop_rel(reltag(*rnode, fork));
        }
    }
    if prepared {
        cat.set_twophase(xid, false);
    }
    Ok(())
}

fn smgr(cat: &mut Catalog, op: u8, data: &[u8], puts: &mut Puts) -> Result<(), ParseError> {
    match op {
        0x10 => {
            let (rnode, fork) = records::parse_smgr_create(data)?;
            cat.create_rel(reltag(rnode, fork), 0, puts);
        }
        0x20 => {
            let (blkno, rnode, flags) = records::parse_smgr_truncate(data)?;
            let main = reltag(rnode, MAIN_FORKNUM);
            if flags & 1 != 0 && cat.rel_size(main).is_some() {
                cat.set_rel_size(main, blkno, puts);
            }
            if flags & 4 != 0 {
                let fsm = reltag(rnode, FSM_FORKNUM);
                let mut p = fsm_logical_to_physical(blkno / SLOTS_PER_FSM_PAGE);
                if blkno % SLOTS_PER_FSM_PAGE != 0 {
                    puts.image(Key::rel_block(fsm, p), Bytes::from_static(&ZERO_PAGE));
                    p += 1;
                }
                truncate_if_larger(cat, fsm, p, puts);
            }
            if flags & 2 != 0 {
                let vm = reltag(rnode, VISIBILITYMAP_FORKNUM);
                let mut p = blkno / HEAPBLOCKS_PER_PAGE;
                if blkno % HEAPBLOCKS_PER_PAGE != 0 {
                    puts.image(Key::rel_block(vm, p), Bytes::from_static(&ZERO_PAGE));
                    p += 1;
                }
                truncate_if_larger(cat, vm, p, puts);
            }
        }
        _ => {}
    }
    Ok(())
}

fn truncate_if_larger(cat: &mut Catalog, rel: RelTag, nblocks: u32, puts: &mut Puts) {
    if cat.rel_size(rel).unwrap_or(0) > nblocks {
        cat.set_rel_size(rel, nblocks, puts);
    }
}

/// PostgreSQL's `fsm_logical_to_physical` (tree depth 3 for 8 KiB pages).
pub fn fsm_logical_to_physical(addr: u32) -> u32 {
    let mut leafno = addr;
    let mut pages: u32 = 0;
    for _ in 0..3 {
        pages = pages.saturating_add(leafno.saturating_add(1));
        leafno /= SLOTS_PER_FSM_PAGE;
    }
    pages - 1
}

fn zero_slru_page(cat: &mut Catalog, kind: SlruKind, pageno: u32, puts: &mut Puts) {
    let (segno, rpageno) = (
        pageno / SLRU_PAGES_PER_SEGMENT,
        pageno % SLRU_PAGES_PER_SEGMENT,
    );
    cat.extend_slru(kind, segno, rpageno, puts);
    puts.image(
        Key::slru_block(kind, segno, rpageno),
        Bytes::from_static(&ZERO_PAGE),
    );
}

fn slru_page_key(kind: SlruKind, pageno: u32) -> Key {
    Key::slru_block(
        kind,
        pageno / SLRU_PAGES_PER_SEGMENT,
        pageno % SLRU_PAGES_PER_SEGMENT,
    )
}

fn multixact(cat: &mut Catalog, op: u8, data: &[u8], puts: &mut Puts) -> Result<(), ParseError> {
    match op {
        0x00 => zero_slru_page(
            cat,
            SlruKind::MultiXactOffsets,
            records::parse_pageno(data)?,
            puts,
        ),
        0x10 => zero_slru_page(
            cat,
            SlruKind::MultiXactMembers,
            records::parse_pageno(data)?,
            puts,
        ),
        0x20 => {
            let (mid, moff, members) = records::parse_multixact_create(data)?;
            puts.value(
                slru_page_key(SlruKind::MultiXactOffsets, mid / MULTIXACT_OFFSETS_PER_PAGE),
                Value::WalRecord(NeonWalRecord::MultixactOffsetCreate { mid, moff }),
            );
            let mut offset = moff;
            let mut i = 0;
            while i < members.len() {
                let pageoff = offset % MULTIXACT_MEMBERS_PER_PAGE;
                let n = ((MULTIXACT_MEMBERS_PER_PAGE - pageoff) as usize).min(members.len() - i);
                let chunk = members[i..i + n]
                    .iter()
                    .map(|&(xid, status)| MultiXactMember { xid, status })
                    .collect();
                puts.value(
                    slru_page_key(
                        SlruKind::MultiXactMembers,
                        offset / MULTIXACT_MEMBERS_PER_PAGE,
                    ),
                    Value::WalRecord(NeonWalRecord::MultixactMembersCreate {
                        moff: offset,
                        members: chunk,
                    }),
                );
                i += n;
                offset = offset.wrapping_add(n as u32);
            }
            let cp = &mut cat.checkpoint;
            let mut modified = false;
            if mid >= cp.next_multi {
                cp.next_multi = mid.wrapping_add(1);
                modified = true;
            }
            let end = moff.wrapping_add(members.len() as u32);
            if end > cp.next_multi_offset {
                cp.next_multi_offset = end;
                modified = true;
            }
            if let Some(max) = members.iter().map(|m| m.0).max() {
                modified |= cp.update_next_xid(max);
            }
            if modified {
                cat.checkpoint_modified();
            }
        }
        _ => {}
    }
    Ok(())
}

/// WAL.md 4.6: the heap records whose flags say a visibility-map bit was cleared without the
/// VM page being a block reference.
fn vm_clears(cat: &mut Catalog, rec: &Record, puts: &mut Puts) -> Result<(), ParseError> {
    let info = rec.header.info;
    let op = info & 0x70;
    let data = rec.main_data();
    let flags_at = |off: usize| -> Result<u8, ParseError> {
        data.get(off).copied().ok_or_else(|| {
            format!(
                "heap record: main data of {} bytes has no flags at {off}",
                data.len()
            )
        })
    };
    let first = rec.blocks.first().map(|b| b.blkno);
    let last = rec.blocks.last().map(|b| b.blkno);
    let (mut new, mut old, bits) = match (rec.header.rmid, op) {
        (RM_HEAP, 0x00) => (flags_at(2)? & 1 != 0, false, 0x03),
        (RM_HEAP, 0x10) => (flags_at(7)? & 1 != 0, false, 0x03),
        (RM_HEAP, 0x20) | (RM_HEAP, 0x40) => {
            let f = flags_at(7)?;
            (f & 2 != 0, f & 1 != 0, 0x03)
        }
        (RM_HEAP, 0x60) => (false, flags_at(7)? & 1 != 0, 0x02),
        (RM_HEAP2, 0x50) => (flags_at(0)? & 1 != 0, false, 0x03),
        (RM_HEAP2, 0x60) => (false, flags_at(7)? & 1 != 0, 0x02),
        _ => return Ok(()),
    };
    let Some(blk0) = rec.blocks.first() else {
        return if new || old {
            Err("heap record clears VM bits but has no block reference".into())
        } else {
            Ok(())
        };
    };
    let new_blk = first.filter(|_| new);
    // UPDATE's old page is the last block reference; LOCK's is block 0.
    let old_blk = if (rec.header.rmid, op) == (RM_HEAP, 0x60) || rec.header.rmid == RM_HEAP2 {
        first
    } else {
        last
    }
    .filter(|_| old);
    let vm = reltag(blk0.rel, VISIBILITYMAP_FORKNUM);
    let vm_size = cat.rel_size(vm).unwrap_or(0);
    let new_blk = new_blk.filter(|b| b / HEAPBLOCKS_PER_PAGE < vm_size);
    let old_blk = old_blk.filter(|b| b / HEAPBLOCKS_PER_PAGE < vm_size);
    new = new_blk.is_some();
    old = old_blk.is_some();
    let put = |puts: &mut Puts, vm_blk: u32, n: Option<u32>, o: Option<u32>| {
        puts.value(
            Key::rel_block(vm, vm_blk),
            Value::WalRecord(NeonWalRecord::ClearVisibilityMapFlags {
                new_heap_blkno: n,
                old_heap_blkno: o,
                flags: bits,
            }),
        );
    };
    match (new_blk, old_blk) {
        (Some(n), Some(o)) if n / HEAPBLOCKS_PER_PAGE == o / HEAPBLOCKS_PER_PAGE => {
            put(puts, n / HEAPBLOCKS_PER_PAGE, Some(n), Some(o));
        }
        _ => {
            if let (true, Some(n)) = (new, new_blk) {
                put(puts, n / HEAPBLOCKS_PER_PAGE, Some(n), None);
            }
            if let (true, Some(o)) = (old, old_blk) {
                put(puts, o / HEAPBLOCKS_PER_PAGE, None, Some(o));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fsm_addresses_match_postgres() {
        // Leaf 0 is physical block 2 (root, then first level-1 page, then the leaf).
        assert_eq!(fsm_logical_to_physical(0), 2);
        assert_eq!(fsm_logical_to_physical(1), 3);
        // Leaf 4069 sits under the second level-1 page (block 4071).
        assert_eq!(
            fsm_logical_to_physical(SLOTS_PER_FSM_PAGE),
            3 + SLOTS_PER_FSM_PAGE
        );
    }
}
