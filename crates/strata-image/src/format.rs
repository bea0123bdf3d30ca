//! On-disk constants and the pure codec of an image layer's 88-byte [`Summary`] (FORMAT.md
//! section 11): the common head of both kinds (magic `0x5A60`, version, tenant, timeline, key
//! range; `strata_layer::SummaryHead`), then one LSN and the two index pointers. The B-tree key
//! is the plain 18-byte key and its leaf value the plain blob offset. No I/O.
//!
//! Invariant: [`Summary::decode`] accepts any 88 or more bytes, like Neon (trailing bytes are
//! ignored); whether the values make sense is the reader's validation.

#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use strata_key::{KEY_SIZE, KeyRange, Lsn, LsnRange, TenantId, TimelineId};
use strata_layer::format::{LSN_SIZE, array_at, put};
use strata_layer::{
    IMAGE_SUMMARY_LEN, IndexPointers, LayerKind, LayerSummary, SUMMARY_HEAD_LEN, SummaryHead,
};

use crate::error::{CorruptionKind, Error};

pub use strata_layer::{FORMAT_VERSION, IMAGE_FILE_MAGIC, VALUE_AREA_OFFSET};

/// Size of the serialized image [`Summary`].
pub const SUMMARY_LEN: usize = IMAGE_SUMMARY_LEN;
/// Length of the image layer's B-tree keys: the plain key.
pub const IMAGE_KEY_SIZE: usize = KEY_SIZE;
/// Offset of `lsn` (u64).
pub const SUMMARY_LSN_OFFSET: usize = SUMMARY_HEAD_LEN;
/// Offset of `index_start_blk` (u32, absolute block number).
pub const SUMMARY_INDEX_START_OFFSET: usize = SUMMARY_LSN_OFFSET + LSN_SIZE;
/// Offset of `index_root_blk` (u32, relative to `index_start_blk`).
pub const SUMMARY_INDEX_ROOT_OFFSET: usize = SUMMARY_INDEX_START_OFFSET + 4;

const _: () = assert!(SUMMARY_INDEX_ROOT_OFFSET + 4 == SUMMARY_LEN);
const _: () = assert!(SUMMARY_LSN_OFFSET == 72 && SUMMARY_INDEX_START_OFFSET == 80);

/// The summary in block 0 of an image layer (FORMAT.md section 11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Summary {
    /// [`IMAGE_FILE_MAGIC`] in a valid file.
    pub magic: u16,
    /// [`FORMAT_VERSION`] in a valid file.
    pub format_version: u16,
    /// The tenant (without shard) the layer belongs to.
    pub tenant_id: TenantId,
    /// The timeline the layer belongs to.
    pub timeline_id: TimelineId,
    /// Keys covered by the layer (end exclusive).
    pub key_range: KeyRange,
    /// The one LSN of every image in the layer.
    pub lsn: Lsn,
    /// Absolute block number where the B-tree index starts.
    pub index_start_blk: u32,
    /// Block number of the B-tree root, relative to `index_start_blk`.
    pub index_root_blk: u32,
}

impl Summary {
    /// A summary with the right magic and version for the given layer description.
    pub fn new(
        tenant_id: TenantId,
        timeline_id: TimelineId,
        key_range: KeyRange,
        lsn: Lsn,
        index_start_blk: u32,
        index_root_blk: u32,
    ) -> Summary {
        Summary {
            magic: IMAGE_FILE_MAGIC,
            format_version: FORMAT_VERSION,
            tenant_id,
            timeline_id,
            key_range,
            lsn,
            index_start_blk,
            index_root_blk,
        }
    }

    /// The fields both kinds share.
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

    /// The layer's LSN range `lsn..lsn+1`; `None` for `lsn == u64::MAX`, whose range does not
    /// fit (Neon's addition would overflow).
    pub fn lsn_range(&self) -> Option<LsnRange> {
        Some(LsnRange::new(self.lsn, self.lsn.checked_add(1)?))
    }

    /// The 88-byte serialized form (bincode big-endian fixint, as Neon writes it).
    pub fn encode(&self) -> [u8; SUMMARY_LEN] {
        let mut out = [0u8; SUMMARY_LEN];
        self.head().encode_into(&mut out);
        put(&mut out, SUMMARY_LSN_OFFSET, &self.lsn.to_be_bytes());
        put(
            &mut out,
            SUMMARY_INDEX_START_OFFSET,
            &self.index_start_blk.to_be_bytes(),
        );
        put(
            &mut out,
            SUMMARY_INDEX_ROOT_OFFSET,
            &self.index_root_blk.to_be_bytes(),
        );
        out
    }

    /// Decodes the first [`SUMMARY_LEN`] bytes of `bytes` (the rest is ignored). Any such bytes
    /// decode; fewer are [`CorruptionKind::SummaryTooShort`].
    pub fn decode(bytes: &[u8]) -> Result<Summary, Error> {
        let b = bytes
            .get(..SUMMARY_LEN)
            .ok_or(CorruptionKind::SummaryTooShort { len: bytes.len() })?;
        let head =
            SummaryHead::decode(b).ok_or(CorruptionKind::SummaryTooShort { len: b.len() })?;
        Ok(Summary {
            magic: head.magic,
            format_version: head.format_version,
            tenant_id: head.tenant_id,
            timeline_id: head.timeline_id,
            key_range: head.key_range,
            lsn: Lsn(u64::from_be_bytes(array_at(b, SUMMARY_LSN_OFFSET))),
            index_start_blk: u32::from_be_bytes(array_at(b, SUMMARY_INDEX_START_OFFSET)),
            index_root_blk: u32::from_be_bytes(array_at(b, SUMMARY_INDEX_ROOT_OFFSET)),
        })
    }

    /// The kind this summary's magic names, if any.
    pub fn kind(&self) -> Option<LayerKind> {
        LayerKind::from_magic(self.magic)
    }
}

impl LayerSummary for Summary {
    const KIND: LayerKind = LayerKind::Image;

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

    /// The range `lsn..lsn+1` must fit (item 3).
    fn lsn_problem(&self) -> Option<String> {
        self.lsn_range()
            .is_none()
            .then(|| format!("layer LSN {} has no range lsn..lsn+1", self.lsn.to_hex16()))
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
mod tests {
    use strata_key::Key;

    use super::*;

    #[test]
    fn summary_layout_of_section_11() {
        let s = Summary::new(
            TenantId([0x11; 16]),
            TimelineId([0x22; 16]),
            KeyRange::new(Key::MIN, Key::MAX),
            Lsn(0x10),
            2,
            0,
        );
        let enc = s.encode();
        assert_eq!(&enc[..4], &[0x5A, 0x60, 0x00, 0x03]);
        assert_eq!(&enc[4..20], &[0x11; 16]);
        assert_eq!(&enc[36..54], &[0; 18]);
        assert_eq!(&enc[54..72], &[0xFF; 18]);
        assert_eq!(&enc[72..80], &0x10u64.to_be_bytes());
        assert_eq!(&enc[80..88], &[0, 0, 0, 2, 0, 0, 0, 0]);
        let mut block = vec![0xEE; 8192];
        block[..SUMMARY_LEN].copy_from_slice(&enc);
        assert_eq!(Summary::decode(&block).unwrap(), s);
        assert!(Summary::decode(&block[..87]).unwrap_err().is_corrupt());
        assert_eq!(s.lsn_range().unwrap().end, Lsn(0x11));
        let max = Summary { lsn: Lsn::MAX, ..s };
        assert_eq!(max.lsn_range(), None);
        assert_eq!(s.kind(), Some(LayerKind::Image));
    }
}
