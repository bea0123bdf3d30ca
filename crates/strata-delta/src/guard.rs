//! The per-entry checks of FORMAT.md section 9 that every read path makes (items 14–18), in one
//! place: point and vectored lookups, full scans and `verify` all call these, so a file is
//! judged the same way whichever path meets an entry.
//!
//! * item 14: [`EntryGuard::check_ranges`], the entry's key and LSN lie in the summary's ranges
//!   ([`RawRangeCheck`] makes the same check on a raw B-tree key, for scans);
//! * item 15: [`EntryGuard::check_in_value_area`], the blob offset lies in the value area;
//! * item 16: [`OffsetOrder`], blob offsets strictly increase in key order (checked along a
//!   walk in either direction, so a corrupt file cannot make one read repeat work);
//! * items 17 and 18: [`decode_checked`], the payload is exactly one `Value` and its
//!   `will_init()` equals the BlobRef's bit.
//!
//! Invariant: each check is a pure function of the entry (and the walk so far) returning the
//! exact [`CorruptionKind`]; `verify` turns the same kinds into findings.

use strata_key::{KEY_SIZE, Key, Lsn, LsnRange};

use crate::error::{CorruptionKind, Error};
use crate::format::{
    BlobRef, DELTA_KEY_SIZE, DeltaKey, Summary, VALUE_AREA_OFFSET, split_delta_key,
};
use crate::value::Value;

/// The checks of one layer's entries against its summary.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntryGuard<'a> {
    summary: &'a Summary,
    value_area_end: u64,
}

impl<'a> EntryGuard<'a> {
    pub(crate) fn new(summary: &'a Summary, value_area_end: u64) -> EntryGuard<'a> {
        EntryGuard {
            summary,
            value_area_end,
        }
    }

    /// Item 14.
    pub(crate) fn check_ranges(&self, key: Key, lsn: Lsn) -> Result<(), CorruptionKind> {
        if self.summary.key_range.contains(&key) && self.summary.lsn_range.contains(lsn) {
            Ok(())
        } else {
            Err(CorruptionKind::EntryOutOfRange { key, lsn })
        }
    }

    /// Whether item 15 holds for a blob at `offset`.
    #[inline]
    pub(crate) fn in_value_area(&self, offset: u64) -> bool {
        (VALUE_AREA_OFFSET..self.value_area_end).contains(&offset)
    }

    /// Item 15 (the blob's start; its end is checked when it is read).
    #[inline]
    pub(crate) fn check_in_value_area(&self, offset: u64) -> Result<(), CorruptionKind> {
        if self.in_value_area(offset) {
            Ok(())
        } else {
            Err(CorruptionKind::BlobOutsideValueArea {
                offset,
                value_area_end: self.value_area_end,
            })
        }
    }
}

/// Item 14 on raw 26-byte B-tree keys, with the summary's ranges taken apart once (a full scan
/// checks every entry): the key bytes are compared as one big-endian number, which orders as
/// [`Key`] does (strata-key's invariant), so no key is decoded unless it is out of range.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawRangeCheck {
    key_start: (u128, u16),
    key_end: (u128, u16),
    lsn_range: LsnRange,
}

impl RawRangeCheck {
    pub(crate) fn new(summary: &Summary) -> RawRangeCheck {
        let range = &summary.key_range;
        RawRangeCheck {
            key_start: key_number(&range.start.to_array()),
            key_end: key_number(&range.end.to_array()),
            lsn_range: summary.lsn_range,
        }
    }

    /// Item 14 for the entry whose B-tree key is `raw`; the error is
    /// [`EntryGuard::check_ranges`]'s.
    #[inline]
    pub(crate) fn check(&self, raw: &[u8; DELTA_KEY_SIZE]) -> Result<(), CorruptionKind> {
        if self.key_in_range(raw) && self.lsn_in_range(raw) {
            return Ok(());
        }
        let entry = DeltaKey::from_array(*raw);
        Err(CorruptionKind::EntryOutOfRange {
            key: entry.key(),
            lsn: entry.lsn(),
        })
    }

    /// Whether the key part of `raw` lies in the summary's key range.
    #[inline]
    pub(crate) fn key_in_range(&self, raw: &[u8; DELTA_KEY_SIZE]) -> bool {
        let key = raw_key_number(raw);
        !below(key, self.key_start) && below(key, self.key_end)
    }

    /// Whether every key from the key part of `first` to that of `last` (B-tree keys in
    /// ascending order) lies in the summary's key range: true when both ends do.
    #[inline]
    pub(crate) fn keys_in_range(
        &self,
        first: &[u8; DELTA_KEY_SIZE],
        last: &[u8; DELTA_KEY_SIZE],
    ) -> bool {
        !below(raw_key_number(first), self.key_start) && below(raw_key_number(last), self.key_end)
    }

    /// Whether the LSN part of `raw` lies in the summary's LSN range.
    #[inline]
    pub(crate) fn lsn_in_range(&self, raw: &[u8; DELTA_KEY_SIZE]) -> bool {
        self.lsn_range.contains(split_delta_key(raw).1)
    }
}

/// `a < b` for key numbers (branch-free: the first parts decide unless they are equal).
#[inline]
fn below(a: (u128, u16), b: (u128, u16)) -> bool {
    a.0 < b.0 || (a.0 == b.0 && a.1 < b.1)
}

/// The key number ([`key_number`]) of the key part of a raw B-tree key.
#[inline]
fn raw_key_number(raw: &[u8; DELTA_KEY_SIZE]) -> (u128, u16) {
    key_number(split_delta_key(raw).0)
}

/// The 18 bytes of a key as a number of the same order: the first 16 and the last 2 bytes,
/// big-endian.
#[inline]
fn key_number(key: &[u8; KEY_SIZE]) -> (u128, u16) {
    let (head, tail) = key
        .split_first_chunk::<16>()
        .map_or(([0; 16], [0; 2]), |(h, t)| {
            (*h, <[u8; 2]>::try_from(t).unwrap_or_default())
        });
    (u128::from_be_bytes(head), u16::from_be_bytes(tail))
}

/// Item 16 along a backwards walk: each blob offset must be below the one met before it
/// (forwards walks check each pair with [`check_increasing`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct OffsetOrder {
    backwards: bool,
    last: Option<u64>,
}

impl OffsetOrder {
    /// For a walk in descending key order.
    pub(crate) fn backwards() -> OffsetOrder {
        OffsetOrder {
            backwards: true,
            last: None,
        }
    }

    /// Records the next offset of the walk and returns the one met before it.
    pub(crate) fn next(&mut self, offset: u64) -> Result<Option<u64>, CorruptionKind> {
        let Some(last) = self.last.replace(offset) else {
            return Ok(None);
        };
        // The error names the offsets in key order: `offset` first, then the one after it.
        let (first, then) = if self.backwards {
            (offset, last)
        } else {
            (last, offset)
        };
        check_increasing(first, then)?;
        Ok(Some(last))
    }
}

/// Item 16 for one pair: the blob at `offset` and the next one in key order, at `next_offset`
/// (or the end of the value area after the last), which must come after it.
pub(crate) fn check_increasing(offset: u64, next_offset: u64) -> Result<(), CorruptionKind> {
    if offset >= next_offset {
        return Err(CorruptionKind::OffsetsNotIncreasing {
            offset,
            next_offset,
        });
    }
    Ok(())
}

/// Items 17 and 18: the payload of the blob `blob_ref` points at, decoded.
pub(crate) fn decode_checked(payload: &[u8], blob_ref: BlobRef) -> Result<Value, Error> {
    check_will_init(decode_value(payload, blob_ref.pos())?, blob_ref)
}

/// Items 17 and 18 for a payload in a shared buffer, which the value's bytes then share
/// (one match, so the value is moved out once).
pub(crate) fn decode_checked_bytes(
    payload: bytes::Bytes,
    blob_ref: BlobRef,
) -> Result<Value, Error> {
    match Value::decode_owned(payload) {
        Ok(value) if value.will_init() == blob_ref.will_init() => Ok(value),
        Ok(_) => Err(will_init_mismatch(blob_ref)),
        Err(error) => Err(value_error(blob_ref.pos(), error)),
    }
}

/// Item 17: `payload` decodes as exactly one [`Value`].
pub(crate) fn decode_value(payload: &[u8], offset: u64) -> Result<Value, Error> {
    Value::decode(payload).map_err(|error| value_error(offset, error))
}

#[cold]
fn value_error(offset: u64, error: crate::value::ValueError) -> Error {
    Error::corrupt(CorruptionKind::Value { offset, error })
}

#[cold]
fn will_init_mismatch(blob_ref: BlobRef) -> Error {
    CorruptionKind::WillInitMismatch {
        offset: blob_ref.pos(),
        bit: blob_ref.will_init(),
    }
    .into()
}

/// Item 17 for a payload in a buffer of its own, which the value's bytes then share.
pub(crate) fn decode_value_bytes(payload: bytes::Bytes, offset: u64) -> Result<Value, Error> {
    Value::decode_owned(payload).map_err(|error| value_error(offset, error))
}

/// Item 18: `value`, if its `will_init()` equals the bit of `blob_ref`.
pub(crate) fn check_will_init(value: Value, blob_ref: BlobRef) -> Result<Value, Error> {
    if value.will_init() != blob_ref.will_init() {
        return Err(will_init_mismatch(blob_ref));
    }
    Ok(value)
}
