//! Neon's directory values (WAL.md 4.7), serialised as Neon's `BeSer` does: bincode,
//! big-endian, fixed-width integers, a u64 length before each map or set.
//!
//! * [`DbDir`] at `DBDIR_KEY`: `HashMap<(spcnode, dbnode), bool>` (does the relmap exist).
//! * [`RelDir`] at `rel_dir(spc, db)`: `HashSet<(relnode, forknum)>`.
//! * [`SegDir`] at `slru_dir(kind)` (`HashSet<u32>` of segment numbers) and at
//!   `TWOPHASE_DIR` (`HashSet<u32>` of xids): the same encoding.
//!
//! Neon's hash containers serialise in arbitrary order; these write sorted order, which
//! Neon's decoder accepts. Invariant: `decode(encode(x)) == x`, and decode rejects short or
//! trailing bytes and lengths the input cannot hold.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::Error;

/// The database directory: `(spcnode, dbnode) → relmap file exists`.
pub type DbDir = BTreeMap<(u32, u32), bool>;
/// A relation directory: `(relnode, forknum)` of every fork of one database.
pub type RelDir = BTreeSet<(u32, u8)>;
/// A set of u32: SLRU segment numbers, or two-phase xids.
pub type SegDir = BTreeSet<u32>;

struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let (head, rest) = self
            .bytes
            .split_first_chunk::<N>()
            .ok_or_else(|| Error::corrupt(format!("{}: truncated", self.what)))?;
        self.bytes = rest;
        Ok(*head)
    }

    fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.take()?))
    }

    /// A container length, checked against the bytes left (`elem` bytes per element).
    fn len(&mut self, elem: usize) -> Result<usize, Error> {
        let n = u64::from_be_bytes(self.take()?);
        if n > (self.bytes.len() / elem) as u64 {
            return Err(Error::corrupt(format!(
                "{}: length {n} too large",
                self.what
            )));
        }
        Ok(n as usize)
    }

    fn end(self) -> Result<(), Error> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(Error::corrupt(format!("{}: trailing bytes", self.what)))
        }
    }
}

/// Encodes a [`DbDir`].
pub fn encode_db_dir(dir: &DbDir) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + dir.len() * 9);
    out.extend_from_slice(&(dir.len() as u64).to_be_bytes());
    for (&(spc, db), &relmap) in dir {
        out.extend_from_slice(&spc.to_be_bytes());
        out.extend_from_slice(&db.to_be_bytes());
        out.push(u8::from(relmap));
    }
    out
}

/// Decodes a [`DbDir`].
pub fn decode_db_dir(bytes: &[u8]) -> Result<DbDir, Error> {
    let mut r = Reader {
        bytes,
        what: "DbDirectory",
    };
    let n = r.len(9)?;
    let mut dir = DbDir::new();
    for _ in 0..n {
        let key = (r.u32()?, r.u32()?);
        let [b] = r.take::<1>()?;
        let relmap = match b {
            0 => false,
            1 => true,
            _ => return Err(Error::corrupt("DbDirectory: bad bool")),
        };
        dir.insert(key, relmap);
    }
    r.end()?;
    Ok(dir)
}

/// Encodes a [`RelDir`].
pub fn encode_rel_dir(dir: &RelDir) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + dir.len() * 5);
    out.extend_from_slice(&(dir.len() as u64).to_be_bytes());
    for &(rel, fork) in dir {
        out.extend_from_slice(&rel.to_be_bytes());
        out.push(fork);
    }
    out
}

/// Decodes a [`RelDir`].
pub fn decode_rel_dir(bytes: &[u8]) -> Result<RelDir, Error> {
    let mut r = Reader {
        bytes,
        what: "RelDirectory",
    };
    let n = r.len(5)?;
    let mut dir = RelDir::new();
    for _ in 0..n {
        let rel = r.u32()?;
        let [fork] = r.take::<1>()?;
        dir.insert((rel, fork));
    }
    r.end()?;
    Ok(dir)
}

/// Encodes a [`SegDir`].
pub fn encode_seg_dir(dir: &SegDir) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + dir.len() * 4);
    out.extend_from_slice(&(dir.len() as u64).to_be_bytes());
    for &s in dir {
        out.extend_from_slice(&s.to_be_bytes());
    }
    out
}

/// Decodes a [`SegDir`].
pub fn decode_seg_dir(bytes: &[u8]) -> Result<SegDir, Error> {
    let mut r = Reader {
        bytes,
        what: "segment directory",
    };
    let n = r.len(4)?;
    let mut dir = SegDir::new();
    for _ in 0..n {
        dir.insert(r.u32()?);
    }
    r.end()?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_matches_bincode_big_endian() {
        let db: DbDir = [((1663, 5), true), ((1664, 0), false)]
            .into_iter()
            .collect();
        let bytes = encode_db_dir(&db);
        assert_eq!(
            hex(&bytes),
            concat!(
                "0000000000000002",
                "0000067f",
                "00000005",
                "01",
                "00000680",
                "00000000",
                "00"
            )
        );
        assert_eq!(decode_db_dir(&bytes).unwrap(), db);
        let rels: RelDir = [(16384, 0), (16384, 2)].into_iter().collect();
        let bytes = encode_rel_dir(&rels);
        assert_eq!(
            hex(&bytes),
            concat!("0000000000000002", "00004000", "00", "00004000", "02")
        );
        assert_eq!(decode_rel_dir(&bytes).unwrap(), rels);
        let segs: SegDir = [0, 1].into_iter().collect();
        assert_eq!(decode_seg_dir(&encode_seg_dir(&segs)).unwrap(), segs);
        assert_eq!(encode_seg_dir(&SegDir::new()), vec![0; 8]);
    }

    #[test]
    fn rejects_truncation_trailing_bytes_and_huge_lengths() {
        let rels: RelDir = [(7, 1)].into_iter().collect();
        let bytes = encode_rel_dir(&rels);
        assert!(decode_rel_dir(&bytes[..bytes.len() - 1]).is_err());
        let mut long = bytes.clone();
        long.push(0);
        assert!(decode_rel_dir(&long).is_err());
        assert!(decode_seg_dir(&u64::MAX.to_be_bytes()).is_err());
        assert!(decode_db_dir(&[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 7]).is_err());
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
