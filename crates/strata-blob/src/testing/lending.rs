//! [`lending_reader`]: an in-memory reader whose blocks are consecutive pages of one
//! [`PageSlab`], so it lends runs of them ([`BlockReader::lend_pages`](crate::BlockReader)) as a
//! page cache does, and tests of the readers above run their lent paths without a cache.
//!
//! A run that crosses an extent's end (a file of more than [`PAGES_PER_EXTENT`] blocks) is not
//! lent, which tests the fallback too.

use crate::block::MemBlockReader;
use crate::slab::{PAGES_PER_EXTENT, PageSlab};

/// The whole blocks of `bytes` (a partial last block is dropped, as
/// [`MemBlockReader::from_bytes`] does) in slab pages.
pub fn lending_reader(bytes: &[u8]) -> MemBlockReader {
    let chunks = bytes.chunks_exact(crate::PAGE_SIZE);
    let slab = PageSlab::new(chunks.len().clamp(1, PAGES_PER_EXTENT));
    let blocks = chunks
        .map(|chunk| {
            let mut page = slab.take();
            if let Some(buf) = page.get_mut() {
                buf.copy_from_slice(chunk);
            }
            page
        })
        .collect();
    MemBlockReader::from_blocks(blocks)
}
