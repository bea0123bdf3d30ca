//! Main-data parsers for the records ingest treats specially (WAL.md 2.10, 4.6), PostgreSQL 15
//! stock layouts.
//!
//! Each parser takes the record's `xl_info` and main data and returns a plain struct, or a
//! message saying which length check failed. No parser reads past its input.

use strata_wal::RelFileNode;

/// A parse failure: what was short or out of range.
pub type ParseError = String;

/// A little-endian cursor over main data.
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Cursor<'a> {
        Cursor {
            bytes,
            pos: 0,
            what,
        }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(format!(
                "{}: main data of {} bytes too short (need {} at {})",
                self.what,
                self.bytes.len(),
                n,
                self.pos
            ));
        };
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, ParseError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, ParseError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_le_bytes(a))
    }

    /// An `int` count, checked to leave `elem` bytes per element.
    fn count(&mut self, elem: usize) -> Result<usize, ParseError> {
        let n = self.u32()? as i32;
        let left = self.bytes.len() - self.pos;
        if n < 0 || (n as usize).saturating_mul(elem) > left {
            return Err(format!("{}: bad count {n}", self.what));
        }
        Ok(n as usize)
    }

    fn rnode(&mut self) -> Result<RelFileNode, ParseError> {
        Ok(RelFileNode {
            spc: self.u32()?,
            db: self.u32()?,
            rel: self.u32()?,
        })
    }

    pub(crate) fn skip(&mut self, n: usize) -> Result<(), ParseError> {
        self.take(n).map(|_| ())
    }
}

/// `XLOG_XACT_HAS_INFO`.
const XACT_HAS_INFO: u8 = 0x80;
const XINFO_HAS_DBINFO: u32 = 1 << 0;
const XINFO_HAS_SUBXACTS: u32 = 1 << 1;
const XINFO_HAS_RELFILENODES: u32 = 1 << 2;
const XINFO_HAS_INVALS: u32 = 1 << 3;
const XINFO_HAS_TWOPHASE: u32 = 1 << 4;
const XINFO_HAS_DROPPED_STATS: u32 = 1 << 8;

/// The parts of a commit or abort record ingest uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XactRecord {
    /// `xact_time` (µs since 2000-01-01).
    pub xact_time: i64,
    /// Subtransactions, in record order.
    pub subxacts: Vec<u32>,
    /// Relations to drop.
    pub rels: Vec<RelFileNode>,
    /// The prepared transaction's xid, for `*_PREPARED`.
    pub twophase_xid: Option<u32>,
}

/// Parses `xl_xact_commit` (`is_commit`) or `xl_xact_abort` and what follows (WAL.md 2.10).
pub fn parse_xact(info: u8, data: &[u8], is_commit: bool) -> Result<XactRecord, ParseError> {
    let mut c = Cursor::new(data, "xact record");
    let xact_time = c.i64()?;
    let xinfo = if info & XACT_HAS_INFO != 0 {
        c.u32()?
    } else {
        0
    };
    if xinfo & XINFO_HAS_DBINFO != 0 {
        c.skip(8)?;
    }
    let mut subxacts = Vec::new();
    if xinfo & XINFO_HAS_SUBXACTS != 0 {
        let n = c.count(4)?;
        subxacts.reserve(n);
        for _ in 0..n {
            subxacts.push(c.u32()?);
        }
    }
    let mut rels = Vec::new();
    if xinfo & XINFO_HAS_RELFILENODES != 0 {
        let n = c.count(12)?;
        rels.reserve(n);
        for _ in 0..n {
            rels.push(c.rnode()?);
        }
    }
    if xinfo & XINFO_HAS_DROPPED_STATS != 0 {
        let n = c.count(12)?;
        c.skip(n * 12)?;
    }
    if is_commit && xinfo & XINFO_HAS_INVALS != 0 {
        let n = c.count(16)?;
        c.skip(n * 16)?;
    }
    let twophase_xid = if xinfo & XINFO_HAS_TWOPHASE != 0 {
        Some(c.u32()?)
    } else {
        None
    };
    Ok(XactRecord {
        xact_time,
        subxacts,
        rels,
        twophase_xid,
    })
}

/// `xl_smgr_create`: the relation and fork created.
pub fn parse_smgr_create(data: &[u8]) -> Result<(RelFileNode, u8), ParseError> {
    let mut c = Cursor::new(data, "smgr create");
    let rnode = c.rnode()?;
    let fork = c.u32()?;
    let fork = u8::try_from(fork)
        .ok()
        .filter(|&f| f <= 3)
        .ok_or_else(|| format!("smgr create: bad fork {fork}"))?;
    Ok((rnode, fork))
}

/// `xl_smgr_truncate`: `(blkno, relation, flags)`.
pub fn parse_smgr_truncate(data: &[u8]) -> Result<(u32, RelFileNode, u32), ParseError> {
    let mut c = Cursor::new(data, "smgr truncate");
    let blkno = c.u32()?;
    let rnode = c.rnode()?;
    let flags = c.u32()?;
    Ok((blkno, rnode, flags))
}

/// An `int` page number (CLOG ZEROPAGE, MultiXact ZERO_*_PAGE).
pub fn parse_pageno(data: &[u8]) -> Result<u32, ParseError> {
    Cursor::new(data, "zero page").u32()
}

/// `xl_multixact_create`: `(mid, moff, members as (xid, status))`.
pub type MultiXactCreate = (u32, u32, Vec<(u32, u32)>);

/// Parses `xl_multixact_create`.
pub fn parse_multixact_create(data: &[u8]) -> Result<MultiXactCreate, ParseError> {
    let mut c = Cursor::new(data, "multixact create");
    let mid = c.u32()?;
    let moff = c.u32()?;
    let n = c.count(8)?;
    let mut members = Vec::with_capacity(n);
    for _ in 0..n {
        members.push((c.u32()?, c.u32()?));
    }
    Ok((mid, moff, members))
}

/// `xl_relmap_update`: `(dbid, tsid, file bytes)`.
pub fn parse_relmap_update(data: &[u8]) -> Result<(u32, u32, &[u8]), ParseError> {
    let mut c = Cursor::new(data, "relmap update");
    let db = c.u32()?;
    let ts = c.u32()?;
    let n = c.u32()? as i32;
    let n = usize::try_from(n).map_err(|_| format!("relmap update: bad length {n}"))?;
    Ok((db, ts, c.take(n)?))
}

/// `xl_running_xacts.oldestRunningXid` (offset 16).
pub fn parse_running_xacts_oldest(data: &[u8]) -> Result<u32, ParseError> {
    let mut c = Cursor::new(data, "running xacts");
    c.skip(16)?;
    c.u32()
}

/// Database DROP (15): `(db_id, tablespace ids)`.
pub fn parse_db_drop(data: &[u8]) -> Result<(u32, Vec<u32>), ParseError> {
    let mut c = Cursor::new(data, "database drop");
    let db = c.u32()?;
    let n = c.count(4)?;
    let mut ts = Vec::with_capacity(n);
    for _ in 0..n {
        ts.push(c.u32()?);
    }
    Ok((db, ts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_with_every_part_in_order() {
        let mut d = Vec::new();
        d.extend_from_slice(&77i64.to_le_bytes());
        let xinfo = XINFO_HAS_DBINFO
            | XINFO_HAS_SUBXACTS
            | XINFO_HAS_RELFILENODES
            | XINFO_HAS_DROPPED_STATS
            | XINFO_HAS_INVALS
            | XINFO_HAS_TWOPHASE;
        d.extend_from_slice(&xinfo.to_le_bytes());
        d.extend_from_slice(&[1, 0, 0, 0, 2, 0, 0, 0]); // dbinfo
        d.extend_from_slice(&2i32.to_le_bytes());
        d.extend_from_slice(&10u32.to_le_bytes());
        d.extend_from_slice(&11u32.to_le_bytes());
        d.extend_from_slice(&1i32.to_le_bytes());
        for v in [1663u32, 5, 16384] {
            d.extend_from_slice(&v.to_le_bytes());
        }
        d.extend_from_slice(&1i32.to_le_bytes());
        d.extend_from_slice(&[9; 12]); // a dropped stat
        d.extend_from_slice(&1i32.to_le_bytes());
        d.extend_from_slice(&[8; 16]); // an invalidation
        d.extend_from_slice(&99u32.to_le_bytes());
        let r = parse_xact(0x80, &d, true).unwrap();
        assert_eq!(r.xact_time, 77);
        assert_eq!(r.subxacts, vec![10, 11]);
        assert_eq!(
            r.rels,
            vec![RelFileNode {
                spc: 1663,
                db: 5,
                rel: 16384
            }]
        );
        assert_eq!(r.twophase_xid, Some(99));
        // An abort has no invalidations: the same bytes read the 16 bytes as the xid.
        let r = parse_xact(0x80, &d, false).unwrap();
        assert_eq!(r.twophase_xid, Some(1));
        for cut in 0..d.len() {
            assert!(parse_xact(0x80, &d[..cut], true).is_err(), "cut {cut}");
        }
        assert_eq!(
            parse_xact(0x00, &5i64.to_le_bytes(), true)
                .unwrap()
                .subxacts,
            vec![]
        );
    }

    #[test]
    fn counts_are_checked_against_the_bytes() {
        let mut d = 0i64.to_le_bytes().to_vec();
        d.extend_from_slice(&XINFO_HAS_SUBXACTS.to_le_bytes());
        d.extend_from_slice(&i32::MAX.to_le_bytes());
        assert!(parse_xact(0x80, &d, true).is_err());
        assert!(parse_multixact_create(&[0; 11]).is_err());
        assert!(parse_relmap_update(&[0xff; 12]).is_err());
        assert!(parse_smgr_create(&[0; 16]).is_ok());
        assert!(parse_smgr_create(&[0; 15]).is_err());
    }
}
