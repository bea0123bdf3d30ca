//! `pg_waldump`'s text for a record (WAL.md 3.1 to 3.3) minus the rmgr-specific description,
//! and its per-rmgr statistics (3.6). The CLI prints these; the oracle test compares them with
//! the real tool's lines.
//!
//! Invariant: for a record whose description is empty in `pg_waldump` (FPI, SWITCH, ...) the
//! line is byte for byte `pg_waldump`'s; for others it is `pg_waldump`'s line with the
//! description text after `desc: <TYPE> ` removed.

use std::fmt::Write as _;

use strata_key::Lsn;

use crate::format::{BLCKSZ, PgVersion, XLR_RMGR_INFO_MASK};
use crate::record::{BlockRef, Record};
use crate::rmgr::{RMGR_NAMES, rmgr_name};

/// Fork names as `pg_waldump` prints them.
pub const FORK_NAMES: [&str; 4] = ["main", "fsm", "vm", "init"];

/// The `%X/%08X` form of an LSN used in record lines.
pub fn lsn_padded(lsn: Lsn) -> String {
    format!("{:X}/{:08X}", lsn.0 >> 32, lsn.0 & 0xFFFF_FFFF)
}

/// The name of fork `fork` (`fork<N>` for numbers PostgreSQL does not have).
pub fn fork_name(fork: u8) -> String {
    FORK_NAMES
        .get(usize::from(fork))
        .map_or_else(|| format!("fork{fork}"), |n| (*n).to_owned())
}

/// The record's text: one line, or with `bkp_details` (`-b`) the record line followed by one
/// tab-indented line per block reference. No trailing newline.
pub fn record_text(record: &Record, bkp_details: bool) -> String {
    let h = &record.header;
    let mut s = format!(
        "rmgr: {:<11} len (rec/tot): {:>6}/{:>6}, tx: {:>10}, lsn: {}, prev {}, desc: ",
        record.rmgr_name(),
        record.rec_len(),
        h.tot_len,
        h.xid,
        lsn_padded(record.lsn),
        lsn_padded(h.prev)
    );
    match record.type_name() {
        Some(name) => {
            s.push_str(name);
            s.push(' ');
        }
        None => {
            let _ = write!(s, "UNKNOWN ({:x}) ", h.info & XLR_RMGR_INFO_MASK);
        }
    }
    for block in &record.blocks {
        if bkp_details {
            s.push_str("\n\t");
            detailed_block(&mut s, block, record.version);
        } else {
            short_block(&mut s, block);
        }
    }
    s
}

fn short_block(s: &mut String, b: &BlockRef) {
    let r = b.rel;
    let _ = write!(s, ", blkref #{}: rel {}/{}/{}", b.id, r.spc, r.db, r.rel);
    if b.fork() != 0 {
        let _ = write!(s, " fork {}", fork_name(b.fork()));
    }
    let _ = write!(s, " blk {}", b.blkno);
    if let Some(img) = &b.image {
        s.push_str(if img.apply {
            " FPW"
        } else {
            " FPW for WAL verification"
        });
    }
}

fn detailed_block(s: &mut String, b: &BlockRef, version: PgVersion) {
    let r = b.rel;
    let _ = write!(
        s,
        "blkref #{}: rel {}/{}/{} fork {} blk {}",
        b.id,
        r.spc,
        r.db,
        r.rel,
        fork_name(b.fork()),
        b.blkno
    );
    let Some(img) = &b.image else { return };
    let verification = if img.apply {
        ""
    } else {
        " for WAL verification"
    };
    let _ = write!(
        s,
        " (FPW{verification}); hole: offset: {}, length: {}",
        img.hole_offset, img.hole_length
    );
    if let Some(method) = printed_method(version, img.bimg_info) {
        // PostgreSQL computes this in int and prints it with %u.
        let saved = (BLCKSZ as i64 - i64::from(img.hole_length) - i64::from(img.bimg_len)) as u32;
        let _ = write!(s, ", compression saved: {saved}");
        if version != PgVersion::V14 {
            let _ = write!(s, ", method: {method}");
        }
    }
}

/// The method `pg_waldump` names for a compressed image (first bit that is set), `None` if
/// the image is not compressed.
fn printed_method(version: PgVersion, bimg_info: u8) -> Option<&'static str> {
    match version {
        PgVersion::V14 => (bimg_info & 0x02 != 0).then_some("pglz"),
        PgVersion::V15 | PgVersion::V16 => {
            if bimg_info & 0x1C == 0 {
                None
            } else if bimg_info & 0x04 != 0 {
                Some("pglz")
            } else if bimg_info & 0x08 != 0 {
                Some("lz4")
            } else {
                Some("zstd")
            }
        }
    }
}

/// Per-rmgr totals, as `pg_waldump --stats` counts them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RmgrStats {
    /// Records.
    pub count: u64,
    /// Sum of `rec_len`.
    pub rec_len: u64,
    /// Sum of `bimg_len` (FPI size).
    pub fpi_len: u64,
}

/// `pg_waldump --stats` counters over a run of records.
#[derive(Clone, Debug, Default)]
pub struct WalStats {
    /// Indexed by rmgr id.
    pub by_rmgr: Vec<RmgrStats>,
    /// First record counted.
    pub first: Option<Lsn>,
    /// `next` of the last record counted (PostgreSQL's `EndRecPtr`).
    pub last_end: Option<Lsn>,
}

impl WalStats {
    /// Counts `record`.
    pub fn add(&mut self, record: &Record) {
        let idx = usize::from(record.header.rmid);
        if self.by_rmgr.len() <= idx {
            self.by_rmgr.resize(idx + 1, RmgrStats::default());
        }
        if let Some(s) = self.by_rmgr.get_mut(idx) {
            s.count += 1;
            s.rec_len += u64::from(record.rec_len());
            s.fpi_len += u64::from(record.fpi_len());
        }
        self.first.get_or_insert(record.lsn);
        self.last_end = Some(record.next);
    }

    /// What `pg_waldump --stats` prints: the `WAL statistics between` line, one row per builtin
    /// rmgr (custom ones only if seen), then the total.
    pub fn table(&self) -> String {
        let total = self
            .by_rmgr
            .iter()
            .fold(RmgrStats::default(), |a, s| RmgrStats {
                count: a.count + s.count,
                rec_len: a.rec_len + s.rec_len,
                fpi_len: a.fpi_len + s.fpi_len,
            });
        let all = total.rec_len + total.fpi_len;
        let pct = |n: u64, of: u64| {
            if of == 0 {
                0.0
            } else {
                100.0 * n as f64 / of as f64
            }
        };
        let mut s = String::new();
        if let (Some(first), Some(end)) = (self.first, self.last_end) {
            let _ = writeln!(s, "WAL statistics between {first} and {end}:");
        }
        let _ = writeln!(
            s,
            "{:<27} {:>20} {:>8} {:>20} {:>8} {:>20} {:>8} {:>20} {:>8}",
            "Type", "N", "(%)", "Record size", "(%)", "FPI size", "(%)", "Combined size", "(%)"
        );
        let _ = writeln!(
            s,
            "{:<27} {:>20} {:>8} {:>20} {:>8} {:>20} {:>8} {:>20} {:>8}",
            "----", "-", "---", "-----------", "---", "--------", "---", "-------------", "---"
        );
        let default = RmgrStats::default();
        for idx in 0..self.by_rmgr.len().max(RMGR_NAMES.len()) {
            let st = self.by_rmgr.get(idx).unwrap_or(&default);
            if idx >= RMGR_NAMES.len() && st.count == 0 {
                continue;
            }
            let comb = st.rec_len + st.fpi_len;
            let _ = writeln!(
                s,
                "{:<27} {:>20} ({:>6.2}) {:>20} ({:>6.2}) {:>20} ({:>6.2}) {:>20} ({:>6.2})",
                rmgr_name(idx as u8),
                st.count,
                pct(st.count, total.count),
                st.rec_len,
                pct(st.rec_len, total.rec_len),
                st.fpi_len,
                pct(st.fpi_len, total.fpi_len),
                comb,
                pct(comb, all)
            );
        }
        let _ = writeln!(
            s,
            "{:<27} {:>20} {:>8} {:>20} {:>8} {:>20} {:>8} {:>20}",
            "", "--------", "", "--------", "", "--------", "", "--------"
        );
        let _ = writeln!(
            s,
            "{:<27} {:>20} {:>8} {:>20} [{:>5.2}%] {:>20} [{:>5.2}%] {:>20} [{:>3.0}%]",
            "Total",
            total.count,
            "",
            total.rec_len,
            pct(total.rec_len, all),
            total.fpi_len,
            pct(total.fpi_len, all),
            all,
            100.0
        );
        s
    }
}
