//! Fuzz target `wal_image_restore`: arbitrary image headers (`bimg_info`, hole offset and
//! length, PostgreSQL version) and stored bytes into `strata_wal::restore_page`, pglz, lz4 and
//! zstd included: a page or a typed error, never a panic. Inputs whose mode byte asks for it are
//! compressed first with lz4 or zstd (as PostgreSQL writes them), and must restore to exactly
//! the bytes compressed with the hole put back.

#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_wal::format::BLCKSZ;
use strata_wal::{Compression, PgVersion, restore_page};

/// Aborts on any allocation above `strata_fuzz::MAX_ALLOC` (see `fuzz/src/lib.rs`).
#[global_allocator]
static ALLOC: strata_fuzz::CappedAlloc = strata_fuzz::CappedAlloc;

fuzz_target!(|data: &[u8]| {
    if data.len() < 6 {
        return;
    }
    let (head, raw) = data.split_at(6);
    let mode = head[0];
    let bimg_info = head[1];
    let hole_offset = u16::from_le_bytes([head[2], head[3]]);
    let hole_length = u16::from_le_bytes([head[4], head[5]]);
    let version = [PgVersion::V14, PgVersion::V15, PgVersion::V16][usize::from(mode % 3)];
    match (mode >> 2) % 4 {
        // Raw headers and bytes, any method the bits name.
        0 | 1 => {
            if let Ok(page) = restore_page(
                version.compression(bimg_info),
                bimg_info,
                hole_offset,
                hole_length,
                raw,
            ) {
                assert_eq!(page.len(), BLCKSZ);
            }
        }
        // lz4 or zstd of the page without its hole: must restore exactly.
        method => {
            let hole = usize::from(hole_length) % BLCKSZ;
            let offset = usize::from(hole_offset) % (BLCKSZ - hole + 1);
            let mut content = raw.to_vec();
            content.resize(BLCKSZ - hole, 0x5A);
            let (compression, stored) = if method == 2 {
                (Compression::Lz4, lz4_flex::block::compress(&content))
            } else {
                (
                    Compression::Zstd,
                    zstd::bulk::compress(&content, 1).expect("zstd"),
                )
            };
            let info = if hole > 0 { 0x01 } else { 0 };
            let page = restore_page(compression, info, offset as u16, hole as u16, &stored)
                .expect("a page PostgreSQL would write restores");
            assert_eq!(&page[..offset], &content[..offset]);
            assert!(page[offset..offset + hole].iter().all(|&b| b == 0));
            assert_eq!(&page[offset + hole..], &content[offset..]);
        }
    }
});
