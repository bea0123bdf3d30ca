//! [`Value`] and [`NeonWalRecord`]: what a delta layer stores per (key, LSN), and their byte
//! form (FORMAT.md section 8): bincode 1.3 with big-endian fixint encoding, as Neon's `BeSer`.
//!
//! The codec is written by hand (no serde on the hot path) and is tested against bincode with
//! the serde derives kept on the types. Invariants:
//! * `encode` gives exactly the bytes bincode gives; `decode` accepts exactly what bincode
//!   accepts (with trailing bytes rejected, as Neon's `des`) and yields the same value.
//! * Decoding never panics and never allocates more than the input's length: every length is
//!   checked against the bytes that remain before anything is reserved.
//! * [`Value::decode_bytes`] shares the input's buffer for the byte payloads (zero copy).
//! * Variant indices are the declaration order: `Value` 0 `Image`, 1 `WalRecord`;
//!   `NeonWalRecord` 0..=6 as in Neon's seed and 7 `TruncateVisibilityMap` (a later addition,
//!   which a seed-era Neon reader would reject).

#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use bytes::{Buf, Bytes};
use serde::{Deserialize, Serialize};

/// A value stored in a delta layer: a page image or a WAL record to apply on top of older
/// history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Value {
    /// A full page image (normally 8192 bytes for relation pages). Always `will_init`.
    Image(Bytes),
    /// A WAL record.
    WalRecord(NeonWalRecord),
}

/// A WAL record as Neon stores it: a raw Postgres record, or one of Neon's own records for
/// SLRU and visibility-map updates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NeonWalRecord {
    /// A raw Postgres WAL record.
    Postgres {
        /// Whether the record initializes the page (needs no older history).
        will_init: bool,
        /// The record's bytes.
        rec: Bytes,
    },
    /// Clear bits in the visibility map for the given heap blocks.
    ClearVisibilityMapFlags {
        /// The new heap block whose bits to clear, if any.
        new_heap_blkno: Option<u32>,
        /// The old heap block whose bits to clear, if any.
        old_heap_blkno: Option<u32>,
        /// The bits to clear.
        flags: u8,
    },
    /// Mark transactions committed in the CLOG.
    ClogSetCommitted {
        /// Transaction ids.
        xids: Vec<u32>,
        /// Commit timestamp (`TimestampTz`).
        timestamp: i64,
    },
    /// Mark transactions aborted in the CLOG.
    ClogSetAborted {
        /// Transaction ids.
        xids: Vec<u32>,
    },
    /// Set a multixact's offset.
    MultixactOffsetCreate {
        /// The multixact id.
        mid: u32,
        /// Its offset.
        moff: u32,
    },
    /// Set multixact members.
    MultixactMembersCreate {
        /// The first member's offset.
        moff: u32,
        /// The members.
        members: Vec<MultiXactMember>,
    },
    /// Set or delete an auxiliary file.
    AuxFile {
        /// The file's path.
        file_path: String,
        /// Its new content; `None` deletes it.
        content: Option<Bytes>,
    },
    /// Truncate the visibility map (index 7, later than Neon's seed).
    TruncateVisibilityMap {
        /// The byte at which to truncate.
        trunc_byte: u64,
        /// The bit offset within that byte.
        trunc_offs: u64,
    },
}

/// A member of a multixact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiXactMember {
    /// The transaction id.
    pub xid: u32,
    /// Its lock status (a C enum, `c_uint`).
    pub status: u32,
}

/// Why bytes are not one serialized [`Value`]. Offsets are from the start of the value's
/// bytes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// The bytes end before the value does.
    #[error("value ends early: {needed} bytes needed at byte {offset}, {available} available")]
    UnexpectedEof {
        /// Where the missing field starts.
        offset: usize,
        /// Bytes the field needs.
        needed: u64,
        /// Bytes that remain.
        available: usize,
    },
    /// An enum variant index out of range.
    #[error("unknown {what} variant {index} at byte {offset}")]
    BadVariant {
        /// `"Value"` or `"NeonWalRecord"`.
        what: &'static str,
        /// The index found.
        index: u32,
        /// Where it is.
        offset: usize,
    },
    /// A bool byte other than 0 or 1.
    #[error("invalid bool byte {byte:#04x} at byte {offset}")]
    BadBool {
        /// The byte found.
        byte: u8,
        /// Where it is.
        offset: usize,
    },
    /// An `Option` tag other than 0 or 1.
    #[error("invalid option tag {tag:#04x} at byte {offset}")]
    BadOptionTag {
        /// The tag found.
        tag: u8,
        /// Where it is.
        offset: usize,
    },
    /// A string that is not UTF-8.
    #[error("string at byte {offset} is not UTF-8")]
    BadUtf8 {
        /// Where the string's bytes start.
        offset: usize,
    },
    /// Bytes left after a complete value.
    #[error("{n_trailing} trailing bytes after the value, from byte {offset}")]
    TrailingBytes {
        /// Where the value ended.
        offset: usize,
        /// How many bytes follow it.
        n_trailing: usize,
    },
}

const VALUE_IMAGE: u32 = 0;
const VALUE_WAL_RECORD: u32 = 1;
const REC_POSTGRES: u32 = 0;
const REC_CLEAR_VM_FLAGS: u32 = 1;
const REC_CLOG_COMMITTED: u32 = 2;
const REC_CLOG_ABORTED: u32 = 3;
const REC_MULTIXACT_OFFSET: u32 = 4;
const REC_MULTIXACT_MEMBERS: u32 = 5;
const REC_AUX_FILE: u32 = 6;
const REC_TRUNCATE_VM: u32 = 7;

/// Size of an enum variant index, a `Vec`/`Bytes`/`String` length.
const TAG_LEN: usize = 4;
const LEN_LEN: usize = 8;

impl Value {
    /// Whether the value needs no older history: true for images and for Postgres records
    /// flagged `will_init`.
    pub fn will_init(&self) -> bool {
        match self {
            Value::Image(_) => true,
            Value::WalRecord(rec) => rec.will_init(),
        }
    }

    /// The kind's name as the golden manifests print it: `"Image"` or the record's variant.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Image(_) => "Image",
            Value::WalRecord(rec) => rec.kind_name(),
        }
    }

    /// The length of [`Value::encode`]'s output.
    pub fn encoded_len(&self) -> usize {
        match self {
            Value::Image(img) => TAG_LEN + LEN_LEN + img.len(),
            Value::WalRecord(rec) => TAG_LEN + rec.encoded_len(),
        }
    }

    /// The serialized bytes (bincode big-endian fixint).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        out
    }

    /// Appends the serialized bytes to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        let tail = self.encode_head_into(out);
        out.extend_from_slice(tail);
    }

    /// Appends all of the serialized bytes except a trailing bulk payload to `head`, and
    /// returns that payload: `head ‖ returned` is [`Value::encode`]'s output. The payload is
    /// the image, the Postgres record or the aux file content (empty for other values), so a
    /// writer can send it to the file without copying it into a scratch buffer first.
    pub fn encode_head_into<'a>(&'a self, head: &mut Vec<u8>) -> &'a [u8] {
        match self {
            Value::Image(img) => {
                head.extend_from_slice(&VALUE_IMAGE.to_be_bytes());
                put_len(head, img.len());
                img
            }
            Value::WalRecord(rec) => {
                head.extend_from_slice(&VALUE_WAL_RECORD.to_be_bytes());
                rec.encode_head_into(head)
            }
        }
    }

    /// Decodes exactly one value from `bytes` (trailing bytes are an error). Byte payloads
    /// are copied; see [`Value::decode_bytes`] to share them.
    pub fn decode(bytes: &[u8]) -> Result<Value, ValueError> {
        Decoder::new(bytes, None).value()
    }

    /// Decodes exactly one value from `bytes`; byte payloads are slices of `bytes` (no copy).
    pub fn decode_bytes(bytes: &Bytes) -> Result<Value, ValueError> {
        Decoder::new(bytes, Some(bytes)).value()
    }

    /// [`Value::decode_bytes`], taking `bytes`: an image's or a Postgres record's payload is
    /// `bytes` itself with the value's head cut off (no new reference to the buffer).
    pub fn decode_owned(mut bytes: Bytes) -> Result<Value, ValueError> {
        match fast_shape(&bytes) {
            Some((head, shape)) => {
                bytes.advance(head);
                Ok(shape.value(bytes))
            }
            None => Value::decode_bytes(&bytes),
        }
    }

    /// [`Value::decode_owned`] for the two shapes almost every stored value has, a
    /// well-formed image or Postgres record (the same value), if its `will_init()` is
    /// `will_init`; `None` for any other bytes, which `decode_owned` must judge.
    #[inline]
    pub(crate) fn decode_common(mut bytes: Bytes, will_init: bool) -> Option<Value> {
        let (head, shape) = fast_shape(&bytes)?;
        let shape_will_init = match shape {
            Shape::Image => true,
            Shape::Postgres { will_init } => will_init,
        };
        if shape_will_init != will_init {
            return None;
        }
        bytes.advance(head);
        Some(shape.value(bytes))
    }

    /// The `will_init` flag of serialized value bytes, reading only the variant indices (and
    /// the Postgres record's flag), not the whole value.
    pub fn will_init_from_bytes(bytes: &[u8]) -> Result<bool, ValueError> {
        let mut d = Decoder::new(bytes, None);
        match d.value_tag()? {
            VALUE_IMAGE => Ok(true),
            _ => match d.rec_tag()? {
                REC_POSTGRES => d.bool(),
                _ => Ok(false),
            },
        }
    }

    /// The kind's name ([`Value::kind_name`]) of serialized value bytes, reading only the
    /// variant indices.
    pub fn kind_name_from_bytes(bytes: &[u8]) -> Result<&'static str, ValueError> {
        let mut d = Decoder::new(bytes, None);
        match d.value_tag()? {
            VALUE_IMAGE => Ok("Image"),
            _ => Ok(rec_kind_name(d.rec_tag()?)),
        }
    }
}

impl NeonWalRecord {
    /// Whether the record needs no older history: the flag of a Postgres record, false for
    /// every other kind.
    pub fn will_init(&self) -> bool {
        match self {
            NeonWalRecord::Postgres { will_init, .. } => *will_init,
            _ => false,
        }
    }

    /// The variant's name, as the golden manifests print it.
    pub fn kind_name(&self) -> &'static str {
        rec_kind_name(self.tag())
    }

    fn tag(&self) -> u32 {
        match self {
            NeonWalRecord::Postgres { .. } => REC_POSTGRES,
            NeonWalRecord::ClearVisibilityMapFlags { .. } => REC_CLEAR_VM_FLAGS,
            NeonWalRecord::ClogSetCommitted { .. } => REC_CLOG_COMMITTED,
            NeonWalRecord::ClogSetAborted { .. } => REC_CLOG_ABORTED,
            NeonWalRecord::MultixactOffsetCreate { .. } => REC_MULTIXACT_OFFSET,
            NeonWalRecord::MultixactMembersCreate { .. } => REC_MULTIXACT_MEMBERS,
            NeonWalRecord::AuxFile { .. } => REC_AUX_FILE,
            NeonWalRecord::TruncateVisibilityMap { .. } => REC_TRUNCATE_VM,
        }
    }

    /// The serialized length, variant index included.
    fn encoded_len(&self) -> usize {
        let opt_u32 = |o: &Option<u32>| if o.is_some() { 5 } else { 1 };
        TAG_LEN
            + match self {
                NeonWalRecord::Postgres { rec, .. } => 1 + LEN_LEN + rec.len(),
                NeonWalRecord::ClearVisibilityMapFlags {
                    new_heap_blkno,
                    old_heap_blkno,
                    ..
                } => opt_u32(new_heap_blkno) + opt_u32(old_heap_blkno) + 1,
                NeonWalRecord::ClogSetCommitted { xids, .. } => LEN_LEN + 4 * xids.len() + 8,
                NeonWalRecord::ClogSetAborted { xids } => LEN_LEN + 4 * xids.len(),
                NeonWalRecord::MultixactOffsetCreate { .. } => 8,
                NeonWalRecord::MultixactMembersCreate { members, .. } => {
                    4 + LEN_LEN + 8 * members.len()
                }
                NeonWalRecord::AuxFile { file_path, content } => {
                    LEN_LEN
                        + file_path.len()
                        + content.as_ref().map_or(1, |c| 1 + LEN_LEN + c.len())
                }
                NeonWalRecord::TruncateVisibilityMap { .. } => 16,
            }
    }

    /// See [`Value::encode_head_into`].
    fn encode_head_into<'a>(&'a self, out: &mut Vec<u8>) -> &'a [u8] {
        out.extend_from_slice(&self.tag().to_be_bytes());
        match self {
            NeonWalRecord::Postgres { will_init, rec } => {
                out.push(u8::from(*will_init));
                put_len(out, rec.len());
                return rec;
            }
            NeonWalRecord::ClearVisibilityMapFlags {
                new_heap_blkno,
                old_heap_blkno,
                flags,
            } => {
                for blkno in [new_heap_blkno, old_heap_blkno] {
                    match blkno {
                        None => out.push(0),
                        Some(b) => {
                            out.push(1);
                            out.extend_from_slice(&b.to_be_bytes());
                        }
                    }
                }
                out.push(*flags);
            }
            NeonWalRecord::ClogSetCommitted { xids, timestamp } => {
                put_u32s(out, xids);
                out.extend_from_slice(&timestamp.to_be_bytes());
            }
            NeonWalRecord::ClogSetAborted { xids } => put_u32s(out, xids),
            NeonWalRecord::MultixactOffsetCreate { mid, moff } => {
                out.extend_from_slice(&mid.to_be_bytes());
                out.extend_from_slice(&moff.to_be_bytes());
            }
            NeonWalRecord::MultixactMembersCreate { moff, members } => {
                out.extend_from_slice(&moff.to_be_bytes());
                put_len(out, members.len());
                for m in members {
                    out.extend_from_slice(&m.xid.to_be_bytes());
                    out.extend_from_slice(&m.status.to_be_bytes());
                }
            }
            NeonWalRecord::AuxFile { file_path, content } => {
                put_len(out, file_path.len());
                out.extend_from_slice(file_path.as_bytes());
                match content {
                    None => out.push(0),
                    Some(c) => {
                        out.push(1);
                        put_len(out, c.len());
                        return c;
                    }
                }
            }
            NeonWalRecord::TruncateVisibilityMap {
                trunc_byte,
                trunc_offs,
            } => {
                out.extend_from_slice(&trunc_byte.to_be_bytes());
                out.extend_from_slice(&trunc_offs.to_be_bytes());
            }
        }
        &[]
    }
}

fn rec_kind_name(tag: u32) -> &'static str {
    match tag {
        REC_POSTGRES => "Postgres",
        REC_CLEAR_VM_FLAGS => "ClearVisibilityMapFlags",
        REC_CLOG_COMMITTED => "ClogSetCommitted",
        REC_CLOG_ABORTED => "ClogSetAborted",
        REC_MULTIXACT_OFFSET => "MultixactOffsetCreate",
        REC_MULTIXACT_MEMBERS => "MultixactMembersCreate",
        REC_AUX_FILE => "AuxFile",
        _ => "TruncateVisibilityMap",
    }
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&(len as u64).to_be_bytes());
}

fn put_u32s(out: &mut Vec<u8>, xs: &[u32]) {
    put_len(out, xs.len());
    for x in xs {
        out.extend_from_slice(&x.to_be_bytes());
    }
}

/// The two shapes almost every stored value has, whose byte payload runs to the end.
enum Shape {
    Image,
    Postgres { will_init: bool },
}

impl Shape {
    /// The value of this shape whose byte payload is `payload`.
    #[inline]
    fn value(self, payload: Bytes) -> Value {
        match self {
            Shape::Image => Value::Image(payload),
            Shape::Postgres { will_init } => Value::WalRecord(NeonWalRecord::Postgres {
                will_init,
                rec: payload,
            }),
        }
    }
}

/// The shape of `bytes` and the length of its head (what precedes the payload) when it is a
/// well-formed image or Postgres record whose payload is exactly the rest; `None` for anything
/// else (other records, or bytes the full decoder must judge).
#[inline]
fn fast_shape(bytes: &[u8]) -> Option<(usize, Shape)> {
    const IMAGE_HEAD: usize = TAG_LEN + LEN_LEN;
    const POSTGRES_HEAD: usize = 2 * TAG_LEN + 1 + LEN_LEN;
    let fits =
        |head: usize, len: [u8; LEN_LEN]| u64::from_be_bytes(len) == (bytes.len() - head) as u64;
    let (&[t0, t1, t2, t3], _) = bytes.split_first_chunk::<TAG_LEN>()?;
    match u32::from_be_bytes([t0, t1, t2, t3]) {
        VALUE_IMAGE => {
            let (&[_, _, _, _, l @ ..], _) = bytes.split_first_chunk::<IMAGE_HEAD>()?;
            fits(IMAGE_HEAD, l).then_some((IMAGE_HEAD, Shape::Image))
        }
        VALUE_WAL_RECORD => {
            let (&[_, _, _, _, r0, r1, r2, r3, flag, l @ ..], _) =
                bytes.split_first_chunk::<POSTGRES_HEAD>()?;
            let will_init = match flag {
                0 => false,
                1 => true,
                _ => return None,
            };
            let postgres = u32::from_be_bytes([r0, r1, r2, r3]) == REC_POSTGRES;
            (postgres && fits(POSTGRES_HEAD, l))
                .then_some((POSTGRES_HEAD, Shape::Postgres { will_init }))
        }
        _ => None,
    }
}

/// A cursor over serialized bytes; `owner`, when given, is the same bytes as a [`Bytes`] that
/// payloads are sliced from.
struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    owner: Option<&'a Bytes>,
}

impl<'a> Decoder<'a> {
    fn new(buf: &'a [u8], owner: Option<&'a Bytes>) -> Decoder<'a> {
        Decoder { buf, pos: 0, owner }
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// The next `n` bytes (checked against what remains before any use).
    fn take(&mut self, n: u64) -> Result<&'a [u8], ValueError> {
        let eof = ValueError::UnexpectedEof {
            offset: self.pos,
            needed: n,
            available: self.remaining(),
        };
        let n = usize::try_from(n).map_err(|_| eof.clone())?;
        let end = self.pos.checked_add(n).ok_or(eof.clone())?;
        let s = self.buf.get(self.pos..end).ok_or(eof)?;
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ValueError> {
        let s = self.take(N as u64)?;
        Ok(s.try_into().unwrap_or([0; N]))
    }

    fn u8(&mut self) -> Result<u8, ValueError> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, ValueError> {
        self.array().map(u32::from_be_bytes)
    }

    fn u64(&mut self) -> Result<u64, ValueError> {
        self.array().map(u64::from_be_bytes)
    }

    fn bool(&mut self) -> Result<bool, ValueError> {
        let offset = self.pos;
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            byte => Err(ValueError::BadBool { byte, offset }),
        }
    }

    fn option_tag(&mut self) -> Result<bool, ValueError> {
        let offset = self.pos;
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            tag => Err(ValueError::BadOptionTag { tag, offset }),
        }
    }

    fn value_tag(&mut self) -> Result<u32, ValueError> {
        let offset = self.pos;
        match self.u32()? {
            t @ (VALUE_IMAGE | VALUE_WAL_RECORD) => Ok(t),
            index => Err(ValueError::BadVariant {
                what: "Value",
                index,
                offset,
            }),
        }
    }

    fn rec_tag(&mut self) -> Result<u32, ValueError> {
        let offset = self.pos;
        match self.u32()? {
            t @ REC_POSTGRES..=REC_TRUNCATE_VM => Ok(t),
            index => Err(ValueError::BadVariant {
                what: "NeonWalRecord",
                index,
                offset,
            }),
        }
    }

    /// A length-prefixed byte string.
    fn bytes(&mut self) -> Result<Bytes, ValueError> {
        let len = self.u64()?;
        let start = self.pos;
        let s = self.take(len)?;
        Ok(match self.owner {
            Some(owner) => owner.slice(start..self.pos),
            None => Bytes::copy_from_slice(s),
        })
    }

    /// The element count of a `Vec` of `elem_size`-byte elements, checked against the bytes
    /// that remain.
    fn count(&mut self, elem_size: u64) -> Result<usize, ValueError> {
        let offset = self.pos;
        let n = self.u64()?;
        let eof = ValueError::UnexpectedEof {
            offset,
            needed: n.saturating_mul(elem_size).saturating_add(LEN_LEN as u64),
            available: self.remaining() + LEN_LEN,
        };
        match n.checked_mul(elem_size) {
            Some(bytes) if bytes <= self.remaining() as u64 => usize::try_from(n).map_err(|_| eof),
            _ => Err(eof),
        }
    }

    fn u32s(&mut self) -> Result<Vec<u32>, ValueError> {
        let n = self.count(4)?;
        (0..n).map(|_| self.u32()).collect()
    }

    fn opt_u32(&mut self) -> Result<Option<u32>, ValueError> {
        Ok(if self.option_tag()? {
            Some(self.u32()?)
        } else {
            None
        })
    }

    fn value(mut self) -> Result<Value, ValueError> {
        let value = match self.value_tag()? {
            VALUE_IMAGE => Value::Image(self.bytes()?),
            _ => Value::WalRecord(self.record()?),
        };
        if self.remaining() > 0 {
            return Err(ValueError::TrailingBytes {
                offset: self.pos,
                n_trailing: self.remaining(),
            });
        }
        Ok(value)
    }

    fn record(&mut self) -> Result<NeonWalRecord, ValueError> {
        Ok(match self.rec_tag()? {
            REC_POSTGRES => NeonWalRecord::Postgres {
                will_init: self.bool()?,
                rec: self.bytes()?,
            },
            REC_CLEAR_VM_FLAGS => NeonWalRecord::ClearVisibilityMapFlags {
                new_heap_blkno: self.opt_u32()?,
                old_heap_blkno: self.opt_u32()?,
                flags: self.u8()?,
            },
            REC_CLOG_COMMITTED => NeonWalRecord::ClogSetCommitted {
                xids: self.u32s()?,
                timestamp: i64::from_be_bytes(self.array()?),
            },
            REC_CLOG_ABORTED => NeonWalRecord::ClogSetAborted { xids: self.u32s()? },
            REC_MULTIXACT_OFFSET => NeonWalRecord::MultixactOffsetCreate {
                mid: self.u32()?,
                moff: self.u32()?,
            },
            REC_MULTIXACT_MEMBERS => {
                let moff = self.u32()?;
                let n = self.count(8)?;
                let members = (0..n)
                    .map(|_| {
                        Ok(MultiXactMember {
                            xid: self.u32()?,
                            status: self.u32()?,
                        })
                    })
                    .collect::<Result<_, ValueError>>()?;
                NeonWalRecord::MultixactMembersCreate { moff, members }
            }
            REC_AUX_FILE => {
                let len = self.u64()?;
                let offset = self.pos;
                let raw = self.take(len)?;
                let file_path = std::str::from_utf8(raw)
                    .map_err(|_| ValueError::BadUtf8 { offset })?
                    .to_owned();
                let content = if self.option_tag()? {
                    Some(self.bytes()?)
                } else {
                    None
                };
                NeonWalRecord::AuxFile { file_path, content }
            }
            _ => NeonWalRecord::TruncateVisibilityMap {
                trunc_byte: self.u64()?,
                trunc_offs: self.u64()?,
            },
        })
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
mod tests {
    use super::*;

    fn pg(will_init: bool, rec: &'static [u8]) -> Value {
        Value::WalRecord(NeonWalRecord::Postgres {
            will_init,
            rec: Bytes::from_static(rec),
        })
    }

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '|')
            .collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn bincode_encode(v: &Value) -> Vec<u8> {
        use bincode::Options;
        bincode::DefaultOptions::new()
            .with_big_endian()
            .with_fixint_encoding()
            .serialize(v)
            .unwrap()
    }

    /// Every worked example of FORMAT.md section 8, with its length.
    fn section8_examples() -> Vec<(Value, &'static str, usize)> {
        use NeonWalRecord as R;
        let rec = Value::WalRecord;
        vec![
            (
                Value::Image(Bytes::from_static(b"foobar")),
                "00000000 | 0000000000000006 | 666f6f626172",
                18,
            ),
            (
                pg(true, b"foobar"),
                "00000001 | 00000000 | 01 | 0000000000000006 | 666f6f626172",
                23,
            ),
            (
                rec(R::ClearVisibilityMapFlags {
                    new_heap_blkno: Some(7),
                    old_heap_blkno: None,
                    flags: 3,
                }),
                "00000001 | 00000001 | 01 00000007 | 00 | 03",
                15,
            ),
            (
                rec(R::ClogSetCommitted {
                    xids: vec![0x1000, 0x1001],
                    timestamp: 0x00029A0BC1D2E3F4,
                }),
                "00000001 | 00000002 | 0000000000000002 00001000 00001001 | 00029a0bc1d2e3f4",
                32,
            ),
            (
                rec(R::ClogSetAborted { xids: vec![0x2A] }),
                "00000001 | 00000003 | 0000000000000001 0000002a",
                20,
            ),
            (
                rec(R::MultixactOffsetCreate { mid: 5, moff: 9 }),
                "00000001 | 00000004 | 00000005 | 00000009",
                16,
            ),
            (
                rec(R::MultixactMembersCreate {
                    moff: 9,
                    members: vec![MultiXactMember {
                        xid: 0x300,
                        status: 1,
                    }],
                }),
                "00000001 | 00000005 | 00000009 | 0000000000000001 00000300 00000001",
                28,
            ),
            (
                rec(R::AuxFile {
                    file_path: "pg_logical/a".into(),
                    content: Some(Bytes::from_static(b"xy")),
                }),
                "00000001 | 00000006 | 000000000000000c 70675f6c6f676963616c2f61 | 01 0000000000000002 7879",
                39,
            ),
            (
                rec(R::AuxFile {
                    file_path: "x".into(),
                    content: None,
                }),
                "00000001 | 00000006 | 0000000000000001 78 | 00",
                18,
            ),
            (
                rec(R::TruncateVisibilityMap {
                    trunc_byte: 0x0102,
                    trunc_offs: 3,
                }),
                "00000001 | 00000007 | 0000000000000102 | 0000000000000003",
                24,
            ),
        ]
    }

    #[test]
    fn worked_examples_of_section_8() {
        for (value, hex, len) in section8_examples() {
            let expect = unhex(hex);
            assert_eq!(expect.len(), len, "{value:?}");
            assert_eq!(value.encode(), expect, "{value:?}");
            assert_eq!(value.encoded_len(), len);
            assert_eq!(
                bincode_encode(&value),
                expect,
                "bincode disagrees on {value:?}"
            );
            assert_eq!(Value::decode(&expect).unwrap(), value);
            assert_eq!(
                Value::decode_bytes(&Bytes::from(expect.clone())).unwrap(),
                value
            );
            assert_eq!(
                Value::will_init_from_bytes(&expect).unwrap(),
                value.will_init()
            );
            assert_eq!(
                Value::kind_name_from_bytes(&expect).unwrap(),
                value.kind_name()
            );
        }
    }

    #[test]
    fn image_blob_header_example() {
        // A typical 8 KiB image: length 8204 = 4 + 8 + 8192.
        let v = Value::Image(Bytes::from(vec![0xAB; 8192]));
        let enc = v.encode();
        assert_eq!(enc.len(), 8204);
        assert_eq!(&enc[..12], &unhex("00000000 0000000000002000")[..]);
    }

    #[test]
    fn will_init_and_kind_names() {
        assert!(Value::Image(Bytes::new()).will_init());
        assert!(pg(true, b"").will_init());
        assert!(!pg(false, b"").will_init());
        let names: Vec<_> = section8_examples()
            .iter()
            .map(|(v, _, _)| v.kind_name())
            .collect();
        assert_eq!(
            names,
            [
                "Image",
                "Postgres",
                "ClearVisibilityMapFlags",
                "ClogSetCommitted",
                "ClogSetAborted",
                "MultixactOffsetCreate",
                "MultixactMembersCreate",
                "AuxFile",
                "AuxFile",
                "TruncateVisibilityMap"
            ]
        );
        for (v, _, _) in section8_examples().into_iter().skip(2) {
            assert!(!v.will_init());
        }
    }

    #[test]
    fn decode_errors_are_typed() {
        let err = |hex: &str| Value::decode(&unhex(hex)).unwrap_err();
        assert!(matches!(
            err(""),
            ValueError::UnexpectedEof { offset: 0, .. }
        ));
        assert!(matches!(
            err("00000002"),
            ValueError::BadVariant {
                what: "Value",
                index: 2,
                offset: 0
            }
        ));
        assert!(matches!(
            err("00000001 00000008"),
            ValueError::BadVariant {
                what: "NeonWalRecord",
                index: 8,
                offset: 4
            }
        ));
        assert!(matches!(
            err("00000001 00000000 02 0000000000000000"),
            ValueError::BadBool { byte: 2, offset: 8 }
        ));
        assert!(matches!(
            err("00000001 00000001 02"),
            ValueError::BadOptionTag { tag: 2, offset: 8 }
        ));
        assert!(matches!(
            err("00000001 00000006 0000000000000001 ff 00"),
            ValueError::BadUtf8 { offset: 16 }
        ));
        assert!(matches!(
            err("00000000 0000000000000001 aa bb"),
            ValueError::TrailingBytes {
                offset: 13,
                n_trailing: 1
            }
        ));
        // Huge lengths fail before allocating.
        assert!(matches!(
            err("00000000 ffffffffffffffff"),
            ValueError::UnexpectedEof { offset: 12, .. }
        ));
        assert!(matches!(
            err("00000001 00000003 4000000000000001 00000001"),
            ValueError::UnexpectedEof { offset: 8, .. }
        ));
        assert!(matches!(
            err("00000001 00000005 00000000 2000000000000000"),
            ValueError::UnexpectedEof { .. }
        ));
        // The flag-only readers check what they read.
        assert!(Value::will_init_from_bytes(&unhex("000000")).is_err());
        assert!(Value::will_init_from_bytes(&unhex("00000001 00000000 05")).is_err());
        assert!(Value::will_init_from_bytes(&unhex("00000001 00000009")).is_err());
        assert!(Value::will_init_from_bytes(&unhex("00000001 00000000")).is_err());
        assert!(!Value::will_init_from_bytes(&unhex("00000001 00000004")).unwrap());
        assert!(Value::will_init_from_bytes(&unhex("00000000")).unwrap());
        assert!(Value::kind_name_from_bytes(&unhex("00000003")).is_err());
    }

    #[test]
    fn decode_bytes_shares_the_buffer() {
        let enc = Bytes::from(pg(false, b"0123456789").encode());
        let Value::WalRecord(NeonWalRecord::Postgres { rec, .. }) =
            Value::decode_bytes(&enc).unwrap()
        else {
            panic!("wrong variant");
        };
        assert_eq!(rec, &b"0123456789"[..]);
        let inside = enc.as_ptr_range();
        assert!(inside.contains(&rec.as_ptr()), "payload was copied");
        // The owned decoder shares too, for the shapes it cuts and for the others.
        for value in [
            pg(true, b"0123456789"),
            Value::Image(Bytes::from_static(b"page")),
            Value::WalRecord(NeonWalRecord::AuxFile {
                file_path: "a".into(),
                content: Some(Bytes::from_static(b"xy")),
            }),
        ] {
            let enc = Bytes::from(value.encode());
            let inside = enc.as_ptr_range();
            let got = Value::decode_owned(enc.clone()).unwrap();
            assert_eq!(got, value);
            let payload = match &got {
                Value::Image(b) => b,
                Value::WalRecord(NeonWalRecord::Postgres { rec, .. }) => rec,
                Value::WalRecord(NeonWalRecord::AuxFile { content, .. }) => {
                    content.as_ref().unwrap()
                }
                other => panic!("unexpected {other:?}"),
            };
            assert!(inside.contains(&payload.as_ptr()), "payload was copied");
        }
    }
}
