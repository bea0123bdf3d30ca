//! Full-page image restore (WAL.md 2.9): decompress (pglz, lz4 block, zstd frame) to exactly
//! `8192 - hole_length` bytes, then put the zeroed hole back.
//!
//! Invariants: the output is always one 8192-byte page, allocated once; a decompressor never
//! writes past it and must produce exactly the expected length (PostgreSQL's `check_complete`
//! for pglz; stricter than PostgreSQL for lz4, which only asks for a positive result). No input
//! makes this panic.

#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use crate::error::ImageError;
use crate::format::{BKPIMAGE_HAS_HOLE, BLCKSZ, Compression, PgVersion};
use crate::record::BlockImage;

/// Restores the page of `img` from its stored bytes `raw` (`bimg_len` of them).
pub fn restore_image(
    img: &BlockImage,
    raw: &[u8],
    version: PgVersion,
) -> Result<Box<[u8; BLCKSZ]>, ImageError> {
    restore_page(
        version.compression(img.bimg_info),
        img.bimg_info,
        img.hole_offset,
        img.hole_length,
        raw,
    )
}

/// The page an image with these header fields and stored bytes describes; the building block
/// of [`Record::restore_image`](crate::Record::restore_image), usable on headers that did not come from a decoded record (fuzzing).
pub fn restore_page(
    compression: Compression,
    bimg_info: u8,
    hole_offset: u16,
    hole_length: u16,
    raw: &[u8],
) -> Result<Box<[u8; BLCKSZ]>, ImageError> {
    let (hole_offset, hole_length) = if bimg_info & BKPIMAGE_HAS_HOLE != 0 {
        (usize::from(hole_offset), usize::from(hole_length))
    } else {
        (0, 0)
    };
    let geometry = || ImageError::BadGeometry {
        offset: hole_offset as u16,
        length: hole_length as u16,
        bimg_len: raw.len().min(usize::from(u16::MAX)) as u16,
    };
    let rawsize = BLCKSZ.checked_sub(hole_length).ok_or_else(geometry)?;
    if hole_offset > rawsize {
        return Err(geometry());
    }
    let mut page = Box::new([0u8; BLCKSZ]);
    {
        // Decompress (or copy) into the page's first `rawsize` bytes, then open the hole.
        let dst = page.get_mut(..rawsize).ok_or_else(geometry)?;
        let got = match compression {
            Compression::None => {
                if raw.len() != rawsize {
                    return Err(geometry());
                }
                dst.copy_from_slice(raw);
                rawsize
            }
            Compression::Pglz => pglz_decompress(raw, dst)?,
            Compression::Lz4 => {
                lz4_flex::block::decompress_into(raw, dst).map_err(ImageError::Lz4)?
            }
            Compression::Zstd => {
                zstd::bulk::decompress_to_buffer(raw, dst).map_err(ImageError::Zstd)?
            }
            Compression::Unknown => return Err(ImageError::UnknownCompression(bimg_info)),
        };
        if got != rawsize {
            return Err(ImageError::WrongLength {
                got,
                expected: rawsize,
            });
        }
    }
    if hole_length > 0 {
        // [0, off) stays; [off, rawsize) moves to [off + hole, 8192); the hole is zeroed.
        page.copy_within(hole_offset..rawsize, hole_offset + hole_length);
        page.get_mut(hole_offset..hole_offset + hole_length)
            .ok_or_else(geometry)?
            .fill(0);
    }
    Ok(page)
}

/// PostgreSQL's pglz decompression of `src` into `dst` (WAL.md 2.9), with `check_complete`:
/// all of `src` must be consumed and `dst` filled exactly. Returns the bytes produced.
pub fn pglz_decompress(src: &[u8], dst: &mut [u8]) -> Result<usize, ImageError> {
    let mut sp = 0usize;
    let mut dp = 0usize;
    let dst_len = dst.len();
    let byte = |i: usize| src.get(i).copied();
    while sp < src.len() && dp < dst_len {
        let mut ctrl = byte(sp).ok_or(ImageError::Pglz("truncated control byte"))?;
        sp += 1;
        let mut ctrlc = 0;
        while ctrlc < 8 && sp < src.len() && dp < dst_len {
            if ctrl & 1 != 0 {
                let (b0, b1) = match (byte(sp), byte(sp + 1)) {
                    (Some(b0), Some(b1)) => (b0, b1),
                    _ => return Err(ImageError::Pglz("truncated match tag")),
                };
                let mut len = usize::from(b0 & 0x0F) + 3;
                let off = (usize::from(b0 & 0xF0) << 4) | usize::from(b1);
                sp += 2;
                if len == 18 {
                    len += usize::from(byte(sp).ok_or(ImageError::Pglz("truncated match length"))?);
                    sp += 1;
                }
                if off == 0 || off > dp {
                    return Err(ImageError::Pglz("match offset outside the output"));
                }
                let len = len.min(dst_len - dp);
                // Byte by byte: an overlapping match repeats the last `off` bytes.
                for i in dp..dp + len {
                    let b = *dst
                        .get(i - off)
                        .ok_or(ImageError::Pglz("match out of bounds"))?;
                    *dst.get_mut(i)
                        .ok_or(ImageError::Pglz("match out of bounds"))? = b;
                }
                dp += len;
            } else {
                let b = byte(sp).ok_or(ImageError::Pglz("truncated literal"))?;
                *dst.get_mut(dp)
                    .ok_or(ImageError::Pglz("literal out of bounds"))? = b;
                sp += 1;
                dp += 1;
            }
            ctrl >>= 1;
            ctrlc += 1;
        }
    }
    if dp != dst_len || sp != src.len() {
        return Err(ImageError::Pglz("input and output lengths do not match"));
    }
    Ok(dp)
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use super::*;

    #[test]
    fn pglz_literals_and_overlapping_matches() {
        // ctrl 0b0000_0010: literal 'a', then a match of len 3+2=5 at offset 1 -> "aaaaaa".
        let src = [0x02, b'a', 0x02, 0x01];
        let mut dst = [0u8; 6];
        assert_eq!(pglz_decompress(&src, &mut dst).unwrap(), 6);
        assert_eq!(&dst, b"aaaaaa");
        // Long match: len nibble 15 -> 18 + extra byte.
        let src = [0x02, b'x', 0x0F, 0x01, 0x02];
        let mut dst = [0u8; 21];
        assert_eq!(pglz_decompress(&src, &mut dst).unwrap(), 21);
        assert!(dst.iter().all(|&b| b == b'x'));
    }

    #[test]
    fn pglz_rejects_bad_offsets_and_incomplete_output() {
        let mut dst = [0u8; 6];
        // Match before any output.
        assert!(pglz_decompress(&[0x01, 0x02, 0x01], &mut dst).is_err());
        // Offset 0.
        assert!(pglz_decompress(&[0x02, b'a', 0x02, 0x00], &mut dst).is_err());
        // Too little output.
        assert!(pglz_decompress(&[0x00, b'a'], &mut dst).is_err());
        // Input left over once the output is full.
        let mut one = [0u8; 1];
        assert!(pglz_decompress(&[0x00, b'a', b'b'], &mut one).is_err());
        // Truncated tag.
        assert!(pglz_decompress(&[0x02, b'a', 0x0F], &mut dst).is_err());
    }

    #[test]
    fn restore_puts_the_hole_back() {
        let mut raw = vec![1u8; 72];
        raw.extend_from_slice(&[2u8; 16]);
        let page = restore_page(Compression::None, 0x03, 72, 8104, &raw).unwrap();
        assert!(page[..72].iter().all(|&b| b == 1));
        assert!(page[72..8176].iter().all(|&b| b == 0));
        assert!(page[8176..].iter().all(|&b| b == 2));
        // Wrong stored length for the geometry.
        assert!(restore_page(Compression::None, 0x03, 72, 8104, &raw[1..]).is_err());
        // Hole beyond the page.
        assert!(restore_page(Compression::None, 0x03, 8000, 8104, &raw).is_err());
        assert!(matches!(
            restore_page(Compression::Unknown, 0x0C, 0, 0, &raw),
            Err(ImageError::UnknownCompression(0x0C))
        ));
    }

    #[test]
    fn restore_lz4_and_zstd_pages() {
        let mut page = [0u8; BLCKSZ];
        for (i, b) in page.iter_mut().enumerate() {
            *b = (i % 251) as u8;
        }
        let raw = lz4_flex::block::compress(&page[..8000]);
        let restored = restore_page(Compression::Lz4, 0x09, 8000, 192, &raw).unwrap();
        assert_eq!(&restored[..8000], &page[..8000]);
        assert!(restored[8000..].iter().all(|&b| b == 0));
        let raw = zstd::bulk::compress(&page, 3).unwrap();
        let restored = restore_page(Compression::Zstd, 0x12, 0, 0, &raw).unwrap();
        assert_eq!(&restored[..], &page[..]);
        // Short output is an error, not a partial page.
        let raw = zstd::bulk::compress(&page[..100], 3).unwrap();
        assert!(restore_page(Compression::Zstd, 0x12, 0, 0, &raw).is_err());
    }
}
