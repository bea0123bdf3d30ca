//! On-disk constants and pure encode/decode of a delta layer's fixed structures: the 96-byte
//! [`Summary`] of block 0 (FORMAT.md section 3), the 26-byte B-tree key [`DeltaKey`]
//! (section 5.2) and the leaf value [`BlobRef`] (section 5.3). No I/O.
//!
//! Invariants:
//! * The summary starts with the head both kinds share (`strata_layer::SummaryHead`: magic,
//!   version, ids, key range); the offsets after it are chained and the last field ends
//!   exactly at [`SUMMARY_LEN`], checked at compile time.
//! * [`Summary::decode`] accepts any 96 or more bytes, like Neon (trailing bytes are ignored);
//!   whether the values make sense is the reader's validation, not this module's.
//! * A [`DeltaKey`]'s byte order is (key, LSN) order, so the B-tree sorts by key, then LSN.

#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use strata_blob::PAGE_SIZE;
use strata_key::{KEY_SIZE, Key, KeyRange, Lsn, LsnRange, TenantId, TimelineId};
use strata_layer::format::{LSN_SIZE, array_at, put};
use strata_layer::{
    DELTA_SUMMARY_LEN, IndexPointers, LayerKind, LayerSummary, SUMMARY_HEAD_LEN, SummaryHead,
};

use crate::error::{CorruptionKind, Error};

pub use strata_layer::{DELTA_FILE_MAGIC, FORMAT_VERSION, VALUE_AREA_OFFSET};

/// Size of the serialized delta [`Summary`] at the start of block 0.
pub const SUMMARY_LEN: usize = 96;
/// Size of a [`DeltaKey`]: an 18-byte key followed by an 8-byte LSN.
pub const DELTA_KEY_SIZE: usize = KEY_SIZE + LSN_SIZE;
/// Neon's delta writer fails (and deletes the file) when a finished layer is larger than this
/// many bytes (`S3_UPLOAD_LIMIT`, FORMAT.md section 1).
pub const MAX_LAYER_FILE_SIZE: u64 = 4_500_000_000;

/// Offset of `lsn_range.start` (u64), right after the head both kinds share.
const SUMMARY_LSN_START_OFFSET: usize = SUMMARY_HEAD_LEN;
/// Offset of `lsn_range.end` (u64, exclusive).
const SUMMARY_LSN_END_OFFSET: usize = SUMMARY_LSN_START_OFFSET + LSN_SIZE;
/// Offset of `index_start_blk` (u32, absolute block number).
const SUMMARY_INDEX_START_OFFSET: usize = SUMMARY_LSN_END_OFFSET + LSN_SIZE;
/// Size of `index_start_blk`.
const SUMMARY_INDEX_START_LEN: usize = 4;
/// Offset of `index_root_blk` (u32, relative to `index_start_blk`).
const SUMMARY_INDEX_ROOT_OFFSET: usize = SUMMARY_INDEX_START_OFFSET + SUMMARY_INDEX_START_LEN;
/// Size of `index_root_blk`.
const SUMMARY_INDEX_ROOT_LEN: usize = 4;

const _: () = assert!(SUMMARY_INDEX_ROOT_OFFSET + SUMMARY_INDEX_ROOT_LEN == SUMMARY_LEN);
const _: () = assert!(SUMMARY_LEN <= PAGE_SIZE);
const _: () = assert!(DELTA_KEY_SIZE == 26);
const _: () = assert!(SUMMARY_LEN == DELTA_SUMMARY_LEN && SUMMARY_INDEX_START_OFFSET == 0x58);

/// The summary in block 0 of a delta layer (FORMAT.md section 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Summary {
    /// [`DELTA_FILE_MAGIC`] in a valid file.
    pub magic: u16,
    /// [`FORMAT_VERSION`] in a valid file.
    pub format_version: u16,
    /// The tenant (without shard) the layer belongs to.
    pub tenant_id: TenantId,
    /// The timeline the layer belongs to.
    pub timeline_id: TimelineId,
    /// Keys covered by the layer (end exclusive).
    pub key_range: KeyRange,
    /// LSNs covered by the layer (end exclusive).
    pub lsn_range: LsnRange,
    /// Absolute block number where the B-tree index starts.
    pub index_start_blk: u32,
    /// Block number of the B-tree root, relative to `index_start_blk`.
    pub index_root_blk: u32,
}

/// A delta layer's B-tree key: the 18-byte key followed by the LSN, big-endian (section 5.2).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeltaKey(pub [u8; DELTA_KEY_SIZE]);

/// A delta layer's B-tree leaf value: `(blob offset << 1) | will_init` (section 5.3).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct BlobRef(pub u64);

impl Summary {
    /// A summary with the right magic and version for the given layer description.
    pub fn new(
        tenant_id: TenantId,
        timeline_id: TimelineId,
        key_range: KeyRange,
        lsn_range: LsnRange,
        index_start_blk: u32,
        index_root_blk: u32,
    ) -> Summary {
        Summary {
            magic: DELTA_FILE_MAGIC,
            format_version: FORMAT_VERSION,
            tenant_id,
            timeline_id,
            key_range,
            lsn_range,
            index_start_blk,
            index_root_blk,
        }
    }

    /// The head both layer kinds share (magic, version, ids, key range).
    pub fn head(&self) -> SummaryHead {
        SummaryHead {
            magic: self.magic,
            format_version: self.format_version,
            tenant_id: self.tenant_id,
            timeline_id: self.timeline_id,
            key_range: self.key_range,
        }
    }

    /// The index pointers.
    pub fn index(&self) -> IndexPointers {
        IndexPointers {
            index_start_blk: self.index_start_blk,
            index_root_blk: self.index_root_blk,
        }
    }

    /// The 96-byte serialized form (bincode big-endian fixint, as Neon writes it).
    pub fn encode(&self) -> [u8; SUMMARY_LEN] {
        let mut out = [0u8; SUMMARY_LEN];
        self.head().encode_into(&mut out);
        let lsns = (self.lsn_range.start.0, self.lsn_range.end.0);
        put(&mut out, SUMMARY_LSN_START_OFFSET, &lsns.0.to_be_bytes());
        put(&mut out, SUMMARY_LSN_END_OFFSET, &lsns.1.to_be_bytes());
        let index = (self.index_start_blk, self.index_root_blk);
        put(&mut out, SUMMARY_INDEX_START_OFFSET, &index.0.to_be_bytes());
        put(&mut out, SUMMARY_INDEX_ROOT_OFFSET, &index.1.to_be_bytes());
        out
    }

    /// Decodes the first [`SUMMARY_LEN`] bytes of `bytes` (the rest is ignored). Any such bytes
    /// decode; fewer are [`CorruptionKind::SummaryTooShort`].
    pub fn decode(bytes: &[u8]) -> Result<Summary, Error> {
        let too_short = CorruptionKind::SummaryTooShort { len: bytes.len() };
        let b = bytes.get(..SUMMARY_LEN).ok_or(too_short)?;
        let head =
            SummaryHead::decode(b).ok_or(CorruptionKind::SummaryTooShort { len: bytes.len() })?;
        Ok(Summary {
            magic: head.magic,
            format_version: head.format_version,
            tenant_id: head.tenant_id,
            timeline_id: head.timeline_id,
            key_range: head.key_range,
            lsn_range: LsnRange::new(
                Lsn(u64::from_be_bytes(array_at(b, SUMMARY_LSN_START_OFFSET))),
                Lsn(u64::from_be_bytes(array_at(b, SUMMARY_LSN_END_OFFSET))),
            ),
            index_start_blk: u32::from_be_bytes(array_at(b, SUMMARY_INDEX_START_OFFSET)),
            index_root_blk: u32::from_be_bytes(array_at(b, SUMMARY_INDEX_ROOT_OFFSET)),
        })
    }
}

impl LayerSummary for Summary {
    const KIND: LayerKind = LayerKind::Delta;

    fn head(&self) -> SummaryHead {
        Summary::head(self)
    }

    fn index(&self) -> IndexPointers {
        Summary::index(self)
    }

    fn with_index(self, index: IndexPointers) -> Summary {
        Summary {
            index_start_blk: index.index_start_blk,
            index_root_blk: index.index_root_blk,
            ..self
        }
    }

    /// The LSN range must not be empty (item 3).
    fn lsn_problem(&self) -> Option<String> {
        let r = &self.lsn_range;
        r.is_empty().then(|| {
            format!(
                "empty LSN range {}..{}",
                r.start.to_hex16(),
                r.end.to_hex16()
            )
        })
    }
}

impl DeltaKey {
    /// The B-tree key of `key` at `lsn`.
    pub fn from_key_lsn(key: Key, lsn: Lsn) -> DeltaKey {
        let mut b = [0u8; DELTA_KEY_SIZE];
        let (k, l) = b.split_at_mut(KEY_SIZE);
        if let Ok(k) = <&mut [u8; KEY_SIZE]>::try_from(k) {
            key.write_to(k);
        }
        l.copy_from_slice(&lsn.0.to_be_bytes());
        DeltaKey(b)
    }

    /// Wraps the 26 raw bytes.
    pub fn from_array(b: [u8; DELTA_KEY_SIZE]) -> DeltaKey {
        DeltaKey(b)
    }

    /// The key part (first 18 bytes).
    pub fn key(&self) -> Key {
        Key::from_array(split_delta_key(&self.0).0)
    }

    /// The LSN part (last 8 bytes).
    pub fn lsn(&self) -> Lsn {
        split_delta_key(&self.0).1
    }

    /// The raw bytes.
    pub fn as_array(&self) -> &[u8; DELTA_KEY_SIZE] {
        &self.0
    }
}

/// The key bytes and the LSN of a raw 26-byte B-tree key (its first 18 and last 8 bytes), for
/// callers that hold the raw bytes and need no [`DeltaKey`].
#[inline]
pub(crate) fn split_delta_key(raw: &[u8; DELTA_KEY_SIZE]) -> (&[u8; KEY_SIZE], Lsn) {
    const _: () = assert!(KEY_SIZE + LSN_SIZE == DELTA_KEY_SIZE);
    let (key, lsn) = raw
        .split_first_chunk::<KEY_SIZE>()
        .unwrap_or((&[0; KEY_SIZE], &[]));
    let lsn = lsn.first_chunk::<LSN_SIZE>().unwrap_or(&[0; LSN_SIZE]);
    (key, Lsn(u64::from_be_bytes(*lsn)))
}

impl std::fmt::Debug for DeltaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.key(), self.lsn().to_hex16())
    }
}

impl BlobRef {
    /// The reference to a blob at file offset `pos` (must be below 2^63; the B-tree accepts
    /// only values up to 2^39 − 1, so real offsets are below 2^38).
    pub fn new(pos: u64, will_init: bool) -> BlobRef {
        BlobRef((pos << 1) | u64::from(will_init))
    }

    /// The file offset of the blob's header.
    pub fn pos(self) -> u64 {
        self.0 >> 1
    }

    /// Whether the value needs no older history (its `Value::will_init`).
    pub fn will_init(self) -> bool {
        self.0 & 1 == 1
    }

    /// The raw 64-bit value stored in the B-tree leaf.
    pub fn raw(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
mod tests {
    use super::*;

    fn example() -> Summary {
        Summary::new(
            TenantId([0x11; 16]),
            TimelineId([0x22; 16]),
            KeyRange::new(
                "000000067F000032BE0000400000000020B6".parse().unwrap(),
                "000000067F000032BE0000400000000030B6".parse().unwrap(),
            ),
            LsnRange::new(Lsn(0x578C6B29), Lsn(0x57A50051)),
            5,
            2,
        )
    }

    #[test]
    fn summary_example_of_section_3() {
        let expect = concat!(
            "5a610003",
            "11111111111111111111111111111111",
            "22222222222222222222222222222222",
            "000000067f000032be0000400000000020b6",
            "000000067f000032be0000400000000030b6",
            "00000000578c6b290000000057a50051",
            "0000000500000002"
        );
        let enc = example().encode();
        let hex: String = enc.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expect);
        assert_eq!(Summary::decode(&enc).unwrap(), example());
    }

    #[test]
    fn summary_decode_ignores_trailing_and_rejects_short() {
        let mut block = vec![0xEEu8; PAGE_SIZE];
        block[..SUMMARY_LEN].copy_from_slice(&example().encode());
        assert_eq!(Summary::decode(&block).unwrap(), example());
        let err = Summary::decode(&block[..SUMMARY_LEN - 1]).unwrap_err();
        assert!(err.is_corrupt(), "{err}");
        // Garbage decodes: validation is the reader's business.
        let garbage = Summary::decode(&[0xFF; SUMMARY_LEN]).unwrap();
        assert_eq!(garbage.magic, 0xFFFF);
        assert_eq!(garbage.key_range.end, Key::MAX);
        assert_eq!(garbage.lsn_range.start, Lsn::MAX);
    }

    #[test]
    fn summary_matches_bincode() {
        use bincode::Options;
        let s = example();
        let opts = bincode::DefaultOptions::new()
            .with_big_endian()
            .with_fixint_encoding();
        let via_serde = opts
            .serialize(&(
                s.magic,
                s.format_version,
                s.tenant_id,
                s.timeline_id,
                (s.key_range.start, s.key_range.end),
                (s.lsn_range.start, s.lsn_range.end),
                s.index_start_blk,
                s.index_root_blk,
            ))
            .unwrap();
        assert_eq!(via_serde, s.encode());
    }

    #[test]
    fn delta_key_and_blob_ref() {
        let key: Key = "000000067F000032BE0000400000000020B6".parse().unwrap();
        let dk = DeltaKey::from_key_lsn(key, Lsn(0x1696070));
        assert_eq!(dk.key(), key);
        assert_eq!(dk.lsn(), Lsn(0x1696070));
        assert_eq!(&dk.as_array()[..18], &key.to_array());
        assert_eq!(&dk.as_array()[18..], &0x1696070u64.to_be_bytes());
        assert!(dk < DeltaKey::from_key_lsn(key, Lsn(0x1696071)));
        assert!(dk > DeltaKey::from_key_lsn(Key::MIN, Lsn::MAX));
        assert!(DeltaKey::from_key_lsn(key.next(), Lsn(0)) > dk);

        let r = BlobRef::new(8192, true);
        assert_eq!(r.raw(), 0x4001);
        assert_eq!((r.pos(), r.will_init()), (8192, true));
        let r = BlobRef::new(8209, false);
        assert_eq!(r.raw(), 0x4022);
        assert_eq!((r.pos(), r.will_init()), (8209, false));
    }
}
