//! On-disk constants both layer kinds share (FORMAT.md sections 1–3, 11) and the pure codec of
//! the summary's common head: `magic`, `format_version`, tenant, timeline and key range sit at
//! the same offsets in a delta summary (96 bytes) and an image summary (88 bytes); only what
//! follows the key range differs (an LSN range or one LSN, then the two index pointers).
//!
//! Invariants:
//! * Field offsets are chained and checked at compile time; [`SummaryHead::decode`] accepts any
//!   [`SUMMARY_HEAD_LEN`] or more bytes (trailing bytes ignored), like Neon's `des_prefix`.
//! * [`LayerKind::of_block0`] looks only at the two magic bytes: it tells which reader to use,
//!   it does not validate anything.

#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use strata_blob::PAGE_SIZE;
use strata_key::{KEY_SIZE, Key, KeyRange, TenantId, TimelineId};

/// Magic number of a delta layer file: the bytes `5A 61` ("Za").
pub const DELTA_FILE_MAGIC: u16 = 0x5A61;
/// Magic number of an image layer file: the bytes `5A 60` ("Z`").
pub const IMAGE_FILE_MAGIC: u16 = 0x5A60;
/// The storage format version Neon writes (`STORAGE_FORMAT_VERSION`).
pub const FORMAT_VERSION: u16 = 3;
/// File offset where the value area (the first blob) starts: block 1.
pub const VALUE_AREA_OFFSET: u64 = PAGE_SIZE as u64;
/// Size of a serialized LSN.
pub const LSN_SIZE: usize = 8;
/// Size of a serialized tenant or timeline id.
pub const ID_SIZE: usize = 16;
/// Size of a serialized delta summary.
pub const DELTA_SUMMARY_LEN: usize = 96;
/// Size of a serialized image summary.
pub const IMAGE_SUMMARY_LEN: usize = 88;

/// Offset of `magic` (u16).
pub const MAGIC_OFFSET: usize = 0;
/// Offset of `format_version` (u16).
pub const VERSION_OFFSET: usize = MAGIC_OFFSET + 2;
/// Offset of `tenant_id` (16 raw bytes).
pub const TENANT_OFFSET: usize = VERSION_OFFSET + 2;
/// Offset of `timeline_id` (16 raw bytes).
pub const TIMELINE_OFFSET: usize = TENANT_OFFSET + ID_SIZE;
/// Offset of `key_range.start` (18 bytes).
pub const KEY_START_OFFSET: usize = TIMELINE_OFFSET + ID_SIZE;
/// Offset of `key_range.end` (18 bytes, exclusive).
pub const KEY_END_OFFSET: usize = KEY_START_OFFSET + KEY_SIZE;
/// Length of the head both summaries share; the kind-specific fields start here.
pub const SUMMARY_HEAD_LEN: usize = KEY_END_OFFSET + KEY_SIZE;

const _: () = assert!(SUMMARY_HEAD_LEN == 72 && KEY_START_OFFSET == 0x24);
const _: () = assert!(DELTA_SUMMARY_LEN == SUMMARY_HEAD_LEN + 2 * LSN_SIZE + 8);
const _: () = assert!(IMAGE_SUMMARY_LEN == SUMMARY_HEAD_LEN + LSN_SIZE + 8);

/// The two kinds of layer file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LayerKind {
    /// Page versions of a key range over an LSN range (magic `0x5A61`).
    Delta,
    /// One page image per key of a key range at one LSN (magic `0x5A60`).
    Image,
}

impl LayerKind {
    /// The kind's magic number.
    pub fn magic(self) -> u16 {
        match self {
            LayerKind::Delta => DELTA_FILE_MAGIC,
            LayerKind::Image => IMAGE_FILE_MAGIC,
        }
    }

    /// The kind whose magic is `magic`, if any.
    pub fn from_magic(magic: u16) -> Option<LayerKind> {
        match magic {
            DELTA_FILE_MAGIC => Some(LayerKind::Delta),
            IMAGE_FILE_MAGIC => Some(LayerKind::Image),
            _ => None,
        }
    }

    /// The kind named by the first two bytes of block 0, if they are a known magic.
    pub fn of_block0(block0: &[u8]) -> Option<LayerKind> {
        let magic = block0.get(..2)?;
        LayerKind::from_magic(u16::from_be_bytes([*magic.first()?, *magic.get(1)?]))
    }

    /// Size of this kind's serialized summary.
    pub fn summary_len(self) -> usize {
        match self {
            LayerKind::Delta => DELTA_SUMMARY_LEN,
            LayerKind::Image => IMAGE_SUMMARY_LEN,
        }
    }

    /// Length of this kind's B-tree keys (26 = key ‖ LSN, or 18 = key).
    pub fn btree_key_len(self) -> usize {
        match self {
            LayerKind::Delta => KEY_SIZE + LSN_SIZE,
            LayerKind::Image => KEY_SIZE,
        }
    }

    /// Lowercase name, `delta` or `image`.
    pub fn as_str(self) -> &'static str {
        match self {
            LayerKind::Delta => "delta",
            LayerKind::Image => "image",
        }
    }
}

impl std::fmt::Display for LayerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fields every summary starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SummaryHead {
    /// The file's magic (a [`LayerKind::magic`] in a valid file).
    pub magic: u16,
    /// [`FORMAT_VERSION`] in a valid file.
    pub format_version: u16,
    /// The tenant (without shard) the layer belongs to.
    pub tenant_id: TenantId,
    /// The timeline the layer belongs to.
    pub timeline_id: TimelineId,
    /// Keys covered by the layer (end exclusive).
    pub key_range: KeyRange,
}

impl SummaryHead {
    /// A head with `kind`'s magic and the current version.
    pub fn new(
        kind: LayerKind,
        tenant_id: TenantId,
        timeline_id: TimelineId,
        key_range: KeyRange,
    ) -> SummaryHead {
        SummaryHead {
            magic: kind.magic(),
            format_version: FORMAT_VERSION,
            tenant_id,
            timeline_id,
            key_range,
        }
    }

    /// Writes the head into the first [`SUMMARY_HEAD_LEN`] bytes of `out` (a shorter `out`
    /// gets what fits).
    pub fn encode_into(&self, out: &mut [u8]) {
        put(out, MAGIC_OFFSET, &self.magic.to_be_bytes());
        put(out, VERSION_OFFSET, &self.format_version.to_be_bytes());
        put(out, TENANT_OFFSET, self.tenant_id.as_bytes());
        put(out, TIMELINE_OFFSET, self.timeline_id.as_bytes());
        put(out, KEY_START_OFFSET, &self.key_range.start.to_array());
        put(out, KEY_END_OFFSET, &self.key_range.end.to_array());
    }

    /// Decodes the head from the start of `bytes`; `None` if fewer than [`SUMMARY_HEAD_LEN`].
    pub fn decode(bytes: &[u8]) -> Option<SummaryHead> {
        if bytes.len() < SUMMARY_HEAD_LEN {
            return None;
        }
        Some(SummaryHead {
            magic: u16::from_be_bytes(array_at(bytes, MAGIC_OFFSET)),
            format_version: u16::from_be_bytes(array_at(bytes, VERSION_OFFSET)),
            tenant_id: TenantId(array_at(bytes, TENANT_OFFSET)),
            timeline_id: TimelineId(array_at(bytes, TIMELINE_OFFSET)),
            key_range: KeyRange::new(
                Key::from_array(&array_at(bytes, KEY_START_OFFSET)),
                Key::from_array(&array_at(bytes, KEY_END_OFFSET)),
            ),
        })
    }
}

/// Copies `bytes` to `out[offset..]`, as much as fits.
pub fn put(out: &mut [u8], offset: usize, bytes: &[u8]) {
    if let Some(dst) = out.get_mut(offset..offset.saturating_add(bytes.len())) {
        dst.copy_from_slice(bytes);
    }
}

/// The `N` bytes of `b` at `offset`, or zeros if `b` is too short (callers check lengths first).
pub fn array_at<const N: usize>(b: &[u8], offset: usize) -> [u8; N] {
    b.get(offset..offset.saturating_add(N))
        .and_then(|s| s.try_into().ok())
        .unwrap_or([0; N])
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn head_roundtrip_and_kind() {
        let head = SummaryHead::new(
            LayerKind::Image,
            TenantId([0x11; 16]),
            TimelineId([0x22; 16]),
            KeyRange::new(Key::MIN, Key::MAX),
        );
        let mut block = [0xEEu8; 100];
        head.encode_into(&mut block);
        assert_eq!(&block[..4], &[0x5A, 0x60, 0, 3]);
        assert_eq!(block[SUMMARY_HEAD_LEN], 0xEE);
        assert_eq!(SummaryHead::decode(&block).unwrap(), head);
        assert_eq!(SummaryHead::decode(&block[..SUMMARY_HEAD_LEN - 1]), None);
        assert_eq!(LayerKind::of_block0(&block), Some(LayerKind::Image));
        assert_eq!(LayerKind::of_block0(&[0x5A, 0x61]), Some(LayerKind::Delta));
        assert_eq!(LayerKind::of_block0(&[0x5A]), None);
        assert_eq!(LayerKind::of_block0(&[0, 0, 0]), None);
        assert_eq!(LayerKind::Image.btree_key_len(), 18);
        assert_eq!(LayerKind::Delta.summary_len(), 96);
    }
}
