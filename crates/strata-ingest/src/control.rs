//! `global/pg_control` and the `CheckPoint` struct of PostgreSQL 15 (WAL.md section 6.1).
//!
//! [`ControlFile::parse`] checks the length and the CRC-32C (bytes 0..288, stored LE at 288)
//! before reading any field; [`CheckPoint`] is the 88-byte struct that pg_control embeds at
//! offset 40 and checkpoint records carry as main data. [`CheckPoint::encode`] writes back the
//! bytes it was parsed from with only the modelled fields replaced, so padding bytes (which
//! PostgreSQL does not zero) survive a round trip.
//!
//! Invariant: parsing never panics and never allocates more than the input.

use strata_key::Lsn;

use crate::error::Error;

/// Bytes of `ControlFileData` covered by its CRC (everything before the `crc` field).
const CRC_OFFSET: usize = 288;
/// Smallest pg_control length that holds the CRC.
const MIN_CONTROL_LEN: usize = CRC_OFFSET + 4;
/// `DB_SHUTDOWNED`.
pub const DB_SHUTDOWNED: u32 = 1;
/// Size of the `CheckPoint` struct.
pub const CHECKPOINT_LEN: usize = 88;

/// A `CheckPoint` (88 bytes): the fields ingest reads or updates, plus the raw bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckPoint {
    /// `redo`: where replay of this checkpoint starts.
    pub redo: Lsn,
    /// `ThisTimeLineID`.
    pub timeline: u32,
    /// `nextXid` as a FullTransactionId (`epoch << 32 | xid`).
    pub next_xid: u64,
    /// `nextOid`.
    pub next_oid: u32,
    /// `nextMulti`.
    pub next_multi: u32,
    /// `nextMultiOffset`.
    pub next_multi_offset: u32,
    /// `oldestXid`.
    pub oldest_xid: u32,
    /// `oldestActiveXid`.
    pub oldest_active_xid: u32,
    raw: [u8; CHECKPOINT_LEN],
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

impl CheckPoint {
    /// Parses the 88 bytes of a `CheckPoint`.
    pub fn parse(bytes: &[u8]) -> Result<CheckPoint, Error> {
        let raw: [u8; CHECKPOINT_LEN] = bytes
            .get(..CHECKPOINT_LEN)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                Error::corrupt(format!(
                    "CheckPoint needs {CHECKPOINT_LEN} bytes, got {}",
                    bytes.len()
                ))
            })?;
        Ok(CheckPoint {
            redo: Lsn(u64_at(&raw, 0)),
            timeline: u32_at(&raw, 8),
            next_xid: u64_at(&raw, 24),
            next_oid: u32_at(&raw, 32),
            next_multi: u32_at(&raw, 36),
            next_multi_offset: u32_at(&raw, 40),
            oldest_xid: u32_at(&raw, 44),
            oldest_active_xid: u32_at(&raw, 80),
            raw,
        })
    }

    /// The 88 bytes: the parsed bytes with the modelled fields written back.
    pub fn encode(&self) -> [u8; CHECKPOINT_LEN] {
        let mut b = self.raw;
        b[0..8].copy_from_slice(&self.redo.0.to_le_bytes());
        b[8..12].copy_from_slice(&self.timeline.to_le_bytes());
        b[24..32].copy_from_slice(&self.next_xid.to_le_bytes());
        b[32..36].copy_from_slice(&self.next_oid.to_le_bytes());
        b[36..40].copy_from_slice(&self.next_multi.to_le_bytes());
        b[40..44].copy_from_slice(&self.next_multi_offset.to_le_bytes());
        b[44..48].copy_from_slice(&self.oldest_xid.to_le_bytes());
        b[80..84].copy_from_slice(&self.oldest_active_xid.to_le_bytes());
        b
    }

    /// Neon's `update_next_xid` (WAL.md 4.6): after a record of transaction `xid`, nextXid
    /// becomes `max(xid + 1, 3)` rounded up to a multiple of 1024 when that is ahead (in
    /// modulo-2^32 order, carrying the epoch on wraparound). Returns whether it changed.
    pub fn update_next_xid(&mut self, xid: u32) -> bool {
        const FIRST_NORMAL_XID: u32 = 3;
        const XID_CHECKPOINT_INTERVAL: u32 = 1024;
        let mut new_xid = xid.wrapping_add(1).max(FIRST_NORMAL_XID);
        new_xid =
            new_xid.wrapping_add(XID_CHECKPOINT_INTERVAL - 1) & !(XID_CHECKPOINT_INTERVAL - 1);
        let old_xid = self.next_xid as u32;
        let mut epoch = (self.next_xid >> 32) as u32;
        // Ahead in PostgreSQL's circular xid order.
        if (new_xid.wrapping_sub(old_xid) as i32) <= 0 {
            return false;
        }
        if new_xid < old_xid {
            epoch = epoch.wrapping_add(1);
        }
        self.next_xid = (u64::from(epoch) << 32) | u64::from(new_xid);
        true
    }
}

/// The fields of `global/pg_control` an import needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlFile {
    /// `system_identifier`.
    pub system_identifier: u64,
    /// `pg_control_version` (1300 for 15).
    pub control_version: u32,
    /// `catalog_version_no`.
    pub catalog_version: u32,
    /// `state` (1 = shut down).
    pub state: u32,
    /// `checkPoint`: start of the latest checkpoint record.
    pub checkpoint: Lsn,
    /// `checkPointCopy`.
    pub checkpoint_copy: CheckPoint,
    /// `xlog_seg_size`: the WAL segment size.
    pub wal_segment_size: u32,
    /// `blcksz`.
    pub block_size: u32,
}

impl ControlFile {
    /// Parses pg_control, checking its CRC first.
    pub fn parse(bytes: &[u8]) -> Result<ControlFile, Error> {
        if bytes.len() < MIN_CONTROL_LEN {
            return Err(Error::corrupt(format!(
                "pg_control is {} bytes, needs at least {MIN_CONTROL_LEN}",
                bytes.len()
            )));
        }
        let stored = u32_at(bytes, CRC_OFFSET);
        let computed = crc32c::crc32c(&bytes[..CRC_OFFSET]);
        if stored != computed {
            return Err(Error::ControlCrc { stored, computed });
        }
        Ok(ControlFile {
            system_identifier: u64_at(bytes, 0),
            control_version: u32_at(bytes, 8),
            catalog_version: u32_at(bytes, 12),
            state: u32_at(bytes, 16),
            checkpoint: Lsn(u64_at(bytes, 32)),
            checkpoint_copy: CheckPoint::parse(&bytes[40..40 + CHECKPOINT_LEN])?,
            block_size: u32_at(bytes, 216),
            wal_segment_size: u32_at(bytes, 228),
        })
    }

    /// The LSN an import stores its images at: `checkPoint` aligned up to 8 (WAL.md 6.3).
    pub fn import_lsn(&self) -> Lsn {
        Lsn((self.checkpoint.0 + 7) & !7)
    }

    /// Checks that the cluster was shut down cleanly and its last checkpoint is its own
    /// REDO point (what an import of a stopped cluster needs).
    pub fn check_shut_down(&self) -> Result<(), Error> {
        if self.state != DB_SHUTDOWNED {
            return Err(Error::NotShutDown { state: self.state });
        }
        if self.checkpoint_copy.redo != self.checkpoint {
            return Err(Error::RedoMismatch {
                redo: self.checkpoint_copy.redo,
                checkpoint: self.checkpoint,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pg_control image with the given state, checkpoint and redo, CRC set.
    fn control_bytes(state: u32, checkpoint: u64, redo: u64) -> Vec<u8> {
        let mut b = vec![0u8; 8192];
        b[0..8].copy_from_slice(&0x1234_5678_9abc_def0u64.to_le_bytes());
        b[8..12].copy_from_slice(&1300u32.to_le_bytes());
        b[16..20].copy_from_slice(&state.to_le_bytes());
        b[32..40].copy_from_slice(&checkpoint.to_le_bytes());
        b[40..48].copy_from_slice(&redo.to_le_bytes());
        b[64..72].copy_from_slice(&0x0000_0000_0000_02E7u64.to_le_bytes());
        b[216..220].copy_from_slice(&8192u32.to_le_bytes());
        b[228..232].copy_from_slice(&(16u32 << 20).to_le_bytes());
        let crc = crc32c::crc32c(&b[..CRC_OFFSET]);
        b[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_le_bytes());
        b
    }

    #[test]
    fn parses_a_shut_down_control_file() {
        let c = ControlFile::parse(&control_bytes(1, 0x150_0718, 0x150_0718)).unwrap();
        assert_eq!(c.checkpoint, Lsn(0x150_0718));
        assert_eq!(c.import_lsn(), Lsn(0x150_0718));
        assert_eq!(c.checkpoint_copy.next_xid, 0x2E7);
        assert_eq!(c.wal_segment_size, 16 << 20);
        c.check_shut_down().unwrap();
    }

    #[test]
    fn rejects_bad_crc_short_files_and_unclean_clusters() {
        let mut b = control_bytes(1, 0x100, 0x100);
        b[33] ^= 1;
        assert!(matches!(
            ControlFile::parse(&b),
            Err(Error::ControlCrc { .. })
        ));
        assert!(matches!(
            ControlFile::parse(&b[..100]),
            Err(Error::Corrupt(_))
        ));
        let running = ControlFile::parse(&control_bytes(6, 0x100, 0x100)).unwrap();
        assert!(matches!(
            running.check_shut_down(),
            Err(Error::NotShutDown { state: 6 })
        ));
        let online = ControlFile::parse(&control_bytes(1, 0x200, 0x100)).unwrap();
        assert!(matches!(
            online.check_shut_down(),
            Err(Error::RedoMismatch { .. })
        ));
    }

    #[test]
    fn checkpoint_round_trips_padding_and_updates_next_xid() {
        let mut raw = [0u8; CHECKPOINT_LEN];
        raw[17] = 0xfe; // padding, kept as is
        raw[24..32].copy_from_slice(&1000u64.to_le_bytes());
        let mut cp = CheckPoint::parse(&raw).unwrap();
        assert_eq!(cp.encode(), raw);
        // 10 + 1 rounds up to 1024, ahead of 1000.
        assert!(cp.update_next_xid(10));
        assert_eq!(cp.next_xid, 1024);
        assert!(!cp.update_next_xid(1023));
        assert!(!cp.update_next_xid(5));
        assert!(cp.update_next_xid(1024));
        assert_eq!(cp.next_xid, 2048);
        // Wraparound carries the epoch.
        cp.next_xid = u64::from(u32::MAX - 100);
        assert!(cp.update_next_xid(u32::MAX));
        assert_eq!(cp.next_xid, (1u64 << 32) | 1024);
        assert_eq!(cp.encode()[17], 0xfe);
    }
}
