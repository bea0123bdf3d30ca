//! The blob header codec and pure blob decoding over byte slices (FORMAT.md section 4; the
//! value area it lives in is section 2).
//!
//! A blob is a length header followed by the payload. The seed format (Feb 2024) has two
//! header forms: one byte `0xxxxxxx` for lengths below 128, and four bytes, big-endian,
//! `(len as u32) | 0x8000_0000` for lengths up to [`MAX_BLOB_LEN`].
//!
//! # Old and new 4-byte headers
//!
//! From mid-2024 Neon uses the top nibble of a 4-byte header as compression bits: `0x8` =
//! uncompressed, `0x9` = zstd, with a 28-bit length ([`MAX_COMPRESSED_FORMAT_LEN`]). The two
//! readings agree whenever the top nibble is `0x8`: a seed length below 2^28 has top nibble
//! `0x8` and means the same thing in both. They disagree only for seed lengths of 256 MiB or
//! more (top nibble `0x9..=0xF`), which the seed allows and the newer format cannot express.
//! [`HeaderMode`] chooses:
//!
//! * [`HeaderMode::Seed`]: every 4-byte header is a 31-bit length, never compressed. Reads every
//!   seed file exactly.
//! * [`HeaderMode::Compressed`]: Neon's newer reading. Nibble `0x8` plain, `0x9` zstd, anything
//!   else is [`Corruption::UnknownCompression`].
//! * [`HeaderMode::Auto`] (the default): nibble `0x8` is plain (both formats agree); nibble
//!   `0x9` is zstd only if the payload begins with the zstd frame magic
//!   ([`ZSTD_FRAME_MAGIC`]), otherwise a seed 31-bit length; nibbles `0xA..=0xF` are seed
//!   lengths. A seed **delta** layer payload is a bincode `Value`, whose first byte is 0 (the
//!   enum tag is a big-endian u32 below 256), so it can never begin with the magic: Auto reads
//!   every seed delta layer exactly and every newer compressed blob too (Neon writes one
//!   standard zstd frame per blob). The one file Auto would misread is a seed *image* layer
//!   holding a raw value of at least 256 MiB that itself starts with the zstd magic.
//!
//! Invariants: nothing here panics or allocates more than the bytes it is given (decompression
//! is capped by [`BlobReadOptions::max_decompressed_len`]); every offset sum is checked.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use std::borrow::Cow;

use crate::error::{Corruption, Error};

/// Largest payload the seed format can hold: a 4-byte header with its top bit masked off.
pub const MAX_BLOB_LEN: u64 = 0x7FFF_FFFF;
/// Largest stored length of the newer format, whose header top nibble is compression bits.
/// A writer that compresses keeps every blob (compressed or not) at or below it.
pub const MAX_COMPRESSED_FORMAT_LEN: u64 = 0x0FFF_FFFF;
/// Payloads shorter than this get the 1-byte header.
pub const SHORT_HEADER_LIMIT: u64 = 0x80;
/// Length of the short header.
pub const SHORT_HEADER_LEN: usize = 1;
/// Length of the long header.
pub const LONG_HEADER_LEN: usize = 4;
/// Bit 7 of the first header byte: set for the 4-byte form.
pub const LONG_HEADER_FLAG: u8 = 0x80;
/// Mask of the newer format's compression bits in the first header byte.
pub const COMPRESSION_BITS_MASK: u8 = 0xF0;
/// Compression bits of an uncompressed 4-byte header (newer format).
pub const COMPRESSION_BITS_NONE: u8 = 0x80;
/// Compression bits of a zstd-compressed blob (newer format).
pub const COMPRESSION_BITS_ZSTD: u8 = 0x90;
/// The first four bytes of every zstd frame (RFC 8878 magic number 0xFD2FB528, little-endian).
pub const ZSTD_FRAME_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];
/// Header bytes [`decode_header`] may look at: the 4-byte header and, in
/// [`HeaderMode::Auto`], the first four payload bytes.
pub const HEADER_PEEK_LEN: usize = LONG_HEADER_LEN + ZSTD_FRAME_MAGIC.len();

const _: () = assert!(MAX_BLOB_LEN == (u32::MAX >> 1) as u64);
const _: () = assert!(MAX_COMPRESSED_FORMAT_LEN == (u32::MAX >> 4) as u64);
const _: () = assert!(SHORT_HEADER_LIMIT == LONG_HEADER_FLAG as u64);

/// How to interpret a 4-byte header whose top nibble is not `0x8` (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum HeaderMode {
    /// Nibble `0x9` with a zstd frame after it is zstd, otherwise seed lengths.
    #[default]
    Auto,
    /// The Feb-2024 seed format: 31-bit lengths, never compressed.
    Seed,
    /// Neon's newer format: `0x8` plain, `0x9` zstd, 28-bit lengths, others are errors.
    Compressed,
}

/// How a blob's stored bytes are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Stored as is.
    None,
    /// One or more zstd frames.
    Zstd,
}

/// A decoded blob header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobHeader {
    /// 1 or 4.
    pub header_len: usize,
    /// Number of stored payload bytes after the header.
    pub stored_len: u64,
    /// How the stored bytes are encoded.
    pub compression: Compression,
}

/// Where a blob lies in its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobSpan {
    /// Offset of the first header byte.
    pub offset: u64,
    /// The decoded header.
    pub header: BlobHeader,
}

impl BlobSpan {
    /// Offset of the first payload byte.
    pub fn payload_offset(&self) -> u64 {
        self.offset.saturating_add(self.header.header_len as u64)
    }

    /// The first offset after the blob: where the next blob starts when packed back to back.
    pub fn end(&self) -> u64 {
        self.payload_offset().saturating_add(self.header.stored_len)
    }
}

/// Knobs of blob reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobReadOptions {
    /// How to read 4-byte headers.
    pub mode: HeaderMode,
    /// Largest decompressed payload accepted; a larger one is
    /// [`Corruption::DecompressedTooLarge`]. Bounds the memory a small compressed blob can
    /// make a reader allocate.
    pub max_decompressed_len: u64,
}

impl Default for BlobReadOptions {
    fn default() -> BlobReadOptions {
        BlobReadOptions {
            mode: HeaderMode::default(),
            max_decompressed_len: MAX_BLOB_LEN,
        }
    }
}

/// Encodes the seed header for a payload of `len` bytes: the shortest form, as Neon's writer
/// does. Returns the header bytes and how many of them are used (1 or 4).
pub fn encode_header(len: u64) -> Result<([u8; 4], usize), Error> {
    if len < SHORT_HEADER_LIMIT {
        #[expect(clippy::cast_possible_truncation, reason = "len < 128")]
        return Ok(([len as u8, 0, 0, 0], SHORT_HEADER_LEN));
    }
    let len32 = u32::try_from(len)
        .ok()
        .filter(|&l| u64::from(l) <= MAX_BLOB_LEN)
        .ok_or(Error::BlobTooLarge(len))?;
    Ok(((len32 | 0x8000_0000).to_be_bytes(), LONG_HEADER_LEN))
}

/// Encodes the newer format's 4-byte header of a zstd-compressed blob of `stored_len` bytes.
pub fn encode_zstd_header(stored_len: u64) -> Result<[u8; 4], Error> {
    let len32 = u32::try_from(stored_len)
        .ok()
        .filter(|&l| u64::from(l) <= MAX_COMPRESSED_FORMAT_LEN)
        .ok_or(Error::BlobTooLarge(stored_len))?;
    Ok((len32 | (u32::from(COMPRESSION_BITS_ZSTD) << 24)).to_be_bytes())
}

/// Bytes a blob of `len` payload bytes takes with the shortest header: header + payload.
/// (For lengths the format cannot hold, the 4-byte header is assumed.)
pub fn blob_size(len: u64) -> u64 {
    let header = if len < SHORT_HEADER_LIMIT {
        SHORT_HEADER_LEN
    } else {
        LONG_HEADER_LEN
    };
    len.saturating_add(header as u64)
}

/// The header length announced by a blob's first byte (1 or 4).
pub fn header_len(first_byte: u8) -> usize {
    if first_byte & LONG_HEADER_FLAG == 0 {
        SHORT_HEADER_LEN
    } else {
        LONG_HEADER_LEN
    }
}

/// How many bytes from the blob's start [`decode_header`] wants to see for this first byte
/// and mode (it works with fewer when the data ends, treating the missing bytes as absent).
pub fn header_peek_len(first_byte: u8, mode: HeaderMode) -> usize {
    match header_len(first_byte) {
        SHORT_HEADER_LEN => SHORT_HEADER_LEN,
        _ if mode == HeaderMode::Auto
            && first_byte & COMPRESSION_BITS_MASK == COMPRESSION_BITS_ZSTD =>
        {
            HEADER_PEEK_LEN
        }
        _ => LONG_HEADER_LEN,
    }
}

/// Decodes the header of the blob at file offset `offset` from `bytes`, which start at that
/// offset and hold what is readable there (up to [`HEADER_PEEK_LEN`] bytes are used; `limit`
/// is only reported in errors). Fewer than the header's bytes is
/// [`Corruption::HeaderPastEnd`].
pub fn decode_header(
    bytes: &[u8],
    offset: u64,
    limit: u64,
    mode: HeaderMode,
) -> Result<BlobHeader, Corruption> {
    let past_end = Corruption::HeaderPastEnd { offset, limit };
    let first = *bytes.first().ok_or(past_end.clone())?;
    if header_len(first) == SHORT_HEADER_LEN {
        return Ok(BlobHeader {
            header_len: SHORT_HEADER_LEN,
            stored_len: u64::from(first),
            compression: Compression::None,
        });
    }
    let long: [u8; 4] = bytes
        .get(..LONG_HEADER_LEN)
        .and_then(|b| b.try_into().ok())
        .ok_or(past_end)?;
    let raw = u32::from_be_bytes(long);
    let seed_len = u64::from(raw & 0x7FFF_FFFF);
    let new_len = u64::from(raw & 0x0FFF_FFFF);
    let bits = first & COMPRESSION_BITS_MASK;
    let (stored_len, compression) = match mode {
        HeaderMode::Seed => (seed_len, Compression::None),
        HeaderMode::Compressed => match bits {
            COMPRESSION_BITS_NONE => (new_len, Compression::None),
            COMPRESSION_BITS_ZSTD => (new_len, Compression::Zstd),
            _ => return Err(Corruption::UnknownCompression { offset, bits }),
        },
        HeaderMode::Auto => {
            let magic_follows = new_len >= ZSTD_FRAME_MAGIC.len() as u64
                && bytes.get(LONG_HEADER_LEN..HEADER_PEEK_LEN) == Some(&ZSTD_FRAME_MAGIC[..]);
            if bits == COMPRESSION_BITS_ZSTD && magic_follows {
                (new_len, Compression::Zstd)
            } else {
                (seed_len, Compression::None)
            }
        }
    };
    Ok(BlobHeader {
        header_len: LONG_HEADER_LEN,
        stored_len,
        compression,
    })
}

/// [`decode_header`]'s answer for the headers of a sequential scan's usual blobs, the seed
/// forms of uncompressed ones, read from the bytes at the blob's start: a 1-byte header, or in
/// [`HeaderMode::Seed`] and [`HeaderMode::Auto`] a 4-byte one whose first byte lacks the zstd
/// bits (a 31-bit length); `None` for any other bytes, which `decode_header` must judge. A fast
/// path for readers that hold the bytes already (`run.rs`), never a different answer.
#[inline]
pub(crate) fn decode_plain_header(peek: &[u8], mode: HeaderMode) -> Option<BlobHeader> {
    let (header_len, stored_len) = match *peek {
        [first, ..] if first & LONG_HEADER_FLAG == 0 => (SHORT_HEADER_LEN, u64::from(first)),
        [b0, b1, b2, b3, ..]
            if matches!(mode, HeaderMode::Seed | HeaderMode::Auto)
                && b0 & COMPRESSION_BITS_MASK != COMPRESSION_BITS_ZSTD =>
        {
            let raw = u32::from_be_bytes([b0, b1, b2, b3]);
            (LONG_HEADER_LEN, u64::from(raw & 0x7FFF_FFFF))
        }
        _ => return None,
    };
    Some(BlobHeader {
        header_len,
        stored_len,
        compression: Compression::None,
    })
}

/// Checks that the blob `header` at `offset` ends at or before `limit`, giving its span.
pub fn check_span(header: BlobHeader, offset: u64, limit: u64) -> Result<BlobSpan, Corruption> {
    let span = BlobSpan { offset, header };
    let end = offset
        .checked_add(header.header_len as u64)
        .and_then(|p| p.checked_add(header.stored_len));
    match end {
        Some(end) if end <= limit => Ok(span),
        _ => Err(Corruption::BlobPastEnd {
            offset,
            len: header.stored_len,
            limit,
        }),
    }
}

/// Decodes the blob at file offset `offset` from `data`, which holds the file's bytes from
/// offset `base` on. The blob may not reach `limit` nor the end of `data`. Returns the span
/// and the payload (borrowed unless it was decompressed).
pub fn decode_blob<'a>(
    data: &'a [u8],
    base: u64,
    offset: u64,
    limit: u64,
    opts: &BlobReadOptions,
) -> Result<(BlobSpan, Cow<'a, [u8]>), Error> {
    let data_end = base.saturating_add(data.len() as u64);
    let limit = limit.min(data_end);
    let rel = offset.checked_sub(base).ok_or(Error::OutOfRange {
        offset,
        start: base,
        end: data_end,
    })?;
    // `rel <= data.len()` whenever offset < limit; otherwise the header is past the end.
    let from = usize::try_from(rel)
        .ok()
        .filter(|_| offset < limit)
        .and_then(|r| data.get(r..))
        .ok_or(Corruption::HeaderPastEnd { offset, limit })?;
    let readable = usize::try_from(limit.saturating_sub(offset)).unwrap_or(usize::MAX);
    let peek = from.get(..readable.min(HEADER_PEEK_LEN)).unwrap_or(from);
    let header = decode_header(peek, offset, limit, opts.mode)?;
    let span = check_span(header, offset, limit)?;
    // check_span guarantees header_len + stored_len fit inside `from` (limit <= data_end).
    let stored = usize::try_from(header.stored_len)
        .ok()
        .and_then(|n| from.get(header.header_len..header.header_len.checked_add(n)?))
        .ok_or(Corruption::BlobPastEnd {
            offset,
            len: header.stored_len,
            limit,
        })?;
    let payload = match header.compression {
        Compression::None => Cow::Borrowed(stored),
        Compression::Zstd => {
            let mut out = Vec::new();
            decompress_into(stored, offset, opts.max_decompressed_len, &mut out)?;
            Cow::Owned(out)
        }
    };
    Ok((span, payload))
}

/// Decompresses the zstd `stored` bytes of the blob at `offset` into `out` (cleared first),
/// accepting at most `max_len` bytes of output.
#[cfg(feature = "zstd")]
pub fn decompress_into(
    stored: &[u8],
    offset: u64,
    max_len: u64,
    out: &mut Vec<u8>,
) -> Result<(), Corruption> {
    use std::io::Read;

    out.clear();
    let bad = Corruption::BadCompressedPayload { offset };
    let decoder = zstd::stream::read::Decoder::with_buffer(stored).map_err(|_| bad.clone())?;
    // Read one byte more than allowed to tell "exactly max_len" from "more".
    let mut limited = decoder.take(max_len.saturating_add(1));
    limited.read_to_end(out).map_err(|_| bad)?;
    if out.len() as u64 > max_len {
        out.clear();
        return Err(Corruption::DecompressedTooLarge {
            offset,
            limit: max_len,
        });
    }
    Ok(())
}

/// Without the `zstd` feature a compressed blob cannot be read: it is reported as
/// [`Corruption::UnknownCompression`].
#[cfg(not(feature = "zstd"))]
pub fn decompress_into(
    _stored: &[u8],
    offset: u64,
    _max_len: u64,
    out: &mut Vec<u8>,
) -> Result<(), Corruption> {
    out.clear();
    Err(Corruption::UnknownCompression {
        offset,
        bits: COMPRESSION_BITS_ZSTD,
    })
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn header_examples_from_format_md() {
        assert_eq!(encode_header(16).unwrap(), ([0x10, 0, 0, 0], 1));
        assert_eq!(encode_header(127).unwrap(), ([0x7F, 0, 0, 0], 1));
        assert_eq!(encode_header(128).unwrap(), ([0x80, 0, 0, 0x80], 4));
        assert_eq!(encode_header(200).unwrap(), ([0x80, 0, 0, 0xC8], 4));
        assert_eq!(encode_header(8192).unwrap(), ([0x80, 0, 0x20, 0], 4));
        assert_eq!(
            encode_header(MAX_BLOB_LEN).unwrap(),
            ([0xFF, 0xFF, 0xFF, 0xFF], 4)
        );
        assert!(matches!(
            encode_header(MAX_BLOB_LEN + 1),
            Err(Error::BlobTooLarge(0x8000_0000))
        ));
        assert!(matches!(
            encode_header(u64::MAX),
            Err(Error::BlobTooLarge(u64::MAX))
        ));
        assert_eq!(blob_size(0), 1);
        assert_eq!(blob_size(127), 128);
        assert_eq!(blob_size(128), 132);
        assert_eq!(blob_size(8192), 8196);
    }

    #[test]
    fn zstd_header() {
        assert_eq!(encode_zstd_header(5).unwrap(), [0x90, 0, 0, 5]);
        assert_eq!(
            encode_zstd_header(MAX_COMPRESSED_FORMAT_LEN).unwrap(),
            [0x9F, 0xFF, 0xFF, 0xFF]
        );
        assert!(matches!(
            encode_zstd_header(MAX_COMPRESSED_FORMAT_LEN + 1),
            Err(Error::BlobTooLarge(_))
        ));
    }

    #[test]
    fn decode_short_and_noncanonical() {
        let h = decode_header(&[0x05], 0, 1, HeaderMode::Auto).unwrap();
        assert_eq!((h.header_len, h.stored_len), (1, 5));
        // A 4-byte header for a length below 128 is accepted.
        let h = decode_header(&[0x80, 0, 0, 3], 0, 4, HeaderMode::Seed).unwrap();
        assert_eq!((h.header_len, h.stored_len), (4, 3));
        assert!(matches!(
            decode_header(&[0x80, 0, 0], 9, 12, HeaderMode::Auto),
            Err(Corruption::HeaderPastEnd {
                offset: 9,
                limit: 12
            })
        ));
        assert!(matches!(
            decode_header(&[], 9, 9, HeaderMode::Auto),
            Err(Corruption::HeaderPastEnd { .. })
        ));
    }

    #[test]
    fn modes_disagree_only_above_256_mib() {
        // Nibble 0x8: all modes agree.
        for mode in [HeaderMode::Auto, HeaderMode::Seed, HeaderMode::Compressed] {
            let h = decode_header(&[0x8F, 0xFF, 0xFF, 0xFF], 0, 0, mode).unwrap();
            assert_eq!(h.stored_len, MAX_COMPRESSED_FORMAT_LEN);
            assert_eq!(h.compression, Compression::None);
        }
        // Nibble 0x9 followed by a bincode Value (first byte 0): a seed length in Auto.
        let seed = [0x90, 0, 0, 0x10, 0, 0, 0, 1];
        let h = decode_header(&seed, 0, 0, HeaderMode::Auto).unwrap();
        assert_eq!(h.stored_len, 0x1000_0010);
        assert_eq!(h.compression, Compression::None);
        let h = decode_header(&seed, 0, 0, HeaderMode::Compressed).unwrap();
        assert_eq!((h.stored_len, h.compression), (0x10, Compression::Zstd));
        // Nibble 0x9 followed by the zstd magic: compressed in Auto, a seed length in Seed.
        let zstd = [0x90, 0, 0, 0x10, 0x28, 0xB5, 0x2F, 0xFD];
        let h = decode_header(&zstd, 0, 0, HeaderMode::Auto).unwrap();
        assert_eq!((h.stored_len, h.compression), (0x10, Compression::Zstd));
        let h = decode_header(&zstd, 0, 0, HeaderMode::Seed).unwrap();
        assert_eq!(
            (h.stored_len, h.compression),
            (0x1000_0010, Compression::None)
        );
        // Nibble 0xA..0xF: seed lengths, or an error in the newer format.
        let h = decode_header(&[0xA0, 0, 0, 0], 0, 0, HeaderMode::Auto).unwrap();
        assert_eq!(h.stored_len, 0x2000_0000);
        assert!(matches!(
            decode_header(&[0xA0, 0, 0, 0], 7, 0, HeaderMode::Compressed),
            Err(Corruption::UnknownCompression {
                offset: 7,
                bits: 0xA0
            })
        ));
    }

    #[test]
    fn decode_blob_checks_bounds() {
        let mut data = vec![3u8, b'a', b'b', b'c', 0x80, 0, 0, 200];
        data.extend([0u8; 10]);
        let opts = BlobReadOptions::default();
        let (span, p) = decode_blob(&data, 100, 100, u64::MAX, &opts).unwrap();
        assert_eq!(&*p, b"abc");
        assert_eq!(span.end(), 104);
        assert!(matches!(
            decode_blob(&data, 100, 100, 103, &opts),
            Err(Error::Corrupt(Corruption::BlobPastEnd {
                offset: 100,
                len: 3,
                limit: 103
            }))
        ));
        assert!(matches!(
            decode_blob(&data, 100, 104, u64::MAX, &opts),
            Err(Error::Corrupt(Corruption::BlobPastEnd { len: 200, .. }))
        ));
        assert!(matches!(
            decode_blob(&data, 100, 99, u64::MAX, &opts),
            Err(Error::OutOfRange { offset: 99, .. })
        ));
        assert!(matches!(
            decode_blob(&data, 100, 118, u64::MAX, &opts),
            Err(Error::Corrupt(Corruption::HeaderPastEnd { .. }))
        ));
        assert!(matches!(
            decode_blob(&data, 100, u64::MAX, u64::MAX, &opts),
            Err(Error::Corrupt(Corruption::HeaderPastEnd { .. }))
        ));
    }

    #[cfg(feature = "zstd")]
    #[test]
    fn decompression_is_capped() {
        let payload = vec![7u8; 100_000];
        let stored = zstd::bulk::compress(&payload, 3).unwrap();
        let mut out = Vec::new();
        decompress_into(&stored, 0, 100_000, &mut out).unwrap();
        assert_eq!(out, payload);
        assert!(matches!(
            decompress_into(&stored, 5, 99_999, &mut out),
            Err(Corruption::DecompressedTooLarge {
                offset: 5,
                limit: 99_999
            })
        ));
        assert!(matches!(
            decompress_into(&[0x28, 0xB5, 0x2F, 0xFD, 1, 2], 5, 10, &mut out),
            Err(Corruption::BadCompressedPayload { offset: 5 })
        ));
    }

    #[test]
    fn plain_headers_decode_as_decode_header_does() {
        let tails: [[u8; 7]; 4] = [
            [0; 7],
            [0xFF; 7],
            [
                0x12,
                0x34,
                0x56,
                ZSTD_FRAME_MAGIC[0],
                ZSTD_FRAME_MAGIC[1],
                ZSTD_FRAME_MAGIC[2],
                ZSTD_FRAME_MAGIC[3],
            ],
            [0, 0, 8, 0, 0, 0, 0],
        ];
        let mut plain = 0;
        for mode in [HeaderMode::Auto, HeaderMode::Seed, HeaderMode::Compressed] {
            for first in 0..=u8::MAX {
                for tail in &tails {
                    let mut bytes = vec![first];
                    bytes.extend_from_slice(tail);
                    for len in 0..=bytes.len() {
                        let peek = bytes.get(..len).unwrap();
                        if let Some(header) = decode_plain_header(peek, mode) {
                            assert_eq!(Ok(header), decode_header(peek, 0, 1 << 40, mode));
                            plain += 1;
                        }
                    }
                }
            }
        }
        // Every 1-byte header in every mode, 4-byte ones without the zstd bits in two modes.
        assert_eq!(plain, 3 * 128 * 4 * 8 + 2 * 112 * 4 * 5);
    }
}
