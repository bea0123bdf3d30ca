//! Human-readable output of an image layer: the golden manifest ([`write_manifest`], format:
//! `golden-image/README`) and [`ImageLayer::dump`].
//!
//! Invariants:
//! * Output goes to any [`io::Write`]; this library never prints.
//! * [`write_manifest`] prints exactly the golden manifest without its `#` lines (the lines
//!   both kinds share come from `strata_layer::manifest`), and holds one run of images at a
//!   time (it walks the index twice: count, then print).

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use std::io::{self, Write};

use strata_blob::{BlockReader, PAGE_SIZE};
use strata_layer::manifest::{
    file_sha256, write_head_lines, write_hex, write_layout_lines, write_payload_field,
};

use crate::error::Error;
use crate::format::Summary;
use crate::reader::ImageLayer;

impl<R: BlockReader> ImageLayer<R> {
    /// The number of index entries (a walk of the leaves).
    pub async fn count_entries(&self) -> Result<u64, Error> {
        let mut n = 0u64;
        let mut iter = self.tree().iter(
            &[0u8; strata_key::KEY_SIZE],
            strata_btree::VisitDirection::Forwards,
        );
        while let Some(entry) = iter.next().await {
            entry.map_err(|e| self.ctx(e))?;
            n += 1;
        }
        Ok(n)
    }

    /// Writes the summary, index statistics and every entry (`key offset=.. len=..`, and the
    /// image's hex if `with_images`) to `out`.
    pub async fn dump(&self, out: &mut impl Write, with_images: bool) -> Result<(), Error> {
        write_summary_lines(self.summary(), out)?;
        let stats = self.tree().verify().await.map_err(|e| self.ctx(e))?;
        writeln!(
            out,
            "index: depth {} nodes {} entries {}",
            stats.depth, stats.n_nodes, stats.n_entries
        )?;
        let mut res = Ok(());
        self.scan(|entry, image| {
            res = write!(
                out,
                "{} offset={} len={}",
                entry.key,
                entry.offset,
                image.len()
            )
            .and_then(|()| match with_images {
                true => out.write_all(b" ").and_then(|()| write_hex(image, out)),
                false => Ok(()),
            })
            .and_then(|()| writeln!(out));
            res.is_ok()
        })
        .await?;
        Ok(res?)
    }
}

/// The summary as `name: value` lines.
pub fn write_summary_lines(s: &Summary, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "magic: {:04X}", s.magic)?;
    writeln!(out, "format_version: {}", s.format_version)?;
    writeln!(out, "tenant_id: {}", s.tenant_id)?;
    writeln!(out, "timeline_id: {}", s.timeline_id)?;
    writeln!(out, "key_range: {} {}", s.key_range.start, s.key_range.end)?;
    writeln!(out, "lsn: {}", s.lsn.to_hex16())?;
    writeln!(out, "index_start_blk: {}", s.index_start_blk)?;
    writeln!(out, "index_root_blk: {}", s.index_root_blk)
}

/// Writes the layer's manifest in the golden format (`golden-image/README`), without comment
/// lines: summary, layout facts (B-tree depth, file size, SHA-256 of the whole file) and one
/// `E <key> <len> <payload>` line per entry in index order.
pub async fn write_manifest<R: BlockReader>(
    layer: &ImageLayer<R>,
    out: &mut impl Write,
) -> Result<(), Error> {
    let s = layer.summary();
    write_head_lines(&s.head(), out)?;
    writeln!(out, "summary.lsn {}", s.lsn.to_hex16())?;
    let depth = layer.tree().depth().await.map_err(|e| layer.ctx(e))?;
    let file_size = u64::from(layer.reader().n_blocks()) * PAGE_SIZE as u64;
    let sha = file_sha256(layer.reader())
        .await
        .map_err(|e| layer.ctx(e))?;
    write_layout_lines(
        s.index_start_blk,
        s.index_root_blk,
        depth,
        file_size,
        &sha,
        out,
    )?;
    writeln!(out, "entries {}", layer.count_entries().await?)?;
    let mut res = Ok(());
    layer
        .scan(|entry, image| {
            res = write!(out, "E {} {} ", entry.key, image.len())
                .and_then(|()| write_payload_field(image, out));
            res.is_ok()
        })
        .await?;
    Ok(res?)
}
