//! Text forms of delta layers for the golden contract and the CLI (not part of the storage
//! API): the golden manifest ([`write_manifest`], format: `golden/README`), the `Q` line of a
//! lookup ([`format_query_line`]), a human-readable [`dump`], and [`rewrite_summary`], which
//! edits block 0 in place (the CLI's `rewrite-summary`).
//!
//! Invariants:
//! * Output goes to any [`io::Write`]; this library never prints.
//! * [`write_manifest`] prints exactly the golden manifest without its `#` lines, so its output
//!   can be compared byte for byte with Neon's (`layout.*` facts included).
//! * [`write_manifest`] holds one entry at a time (it walks the index twice), so its memory
//!   does not grow with the number of entries.
//! * [`rewrite_summary`] refuses a file whose magic is not a delta layer's (Neon's check) and
//!   writes only block 0's first 96 bytes, then fsyncs.

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use sha2::{Digest, Sha256};
use strata_blob::{BlockReader, PAGE_SIZE};
use strata_key::{Key, LsnRange};

use crate::error::Error;
use crate::format::{DELTA_FILE_MAGIC, SUMMARY_LEN, Summary};
use crate::guard::decode_value;
use crate::layer::DeltaLayer;
use crate::reconstruct::ValueReconstructState;
use crate::value::{NeonWalRecord, Value};
use strata_layer::{SummaryProblem, ValueReconstructResult};

/// Serialized values up to this length are printed in full in a manifest; longer ones as
/// their SHA-256.
pub const MANIFEST_INLINE_PAYLOAD_LEN: usize = 4096;

/// Writes the summary, index statistics and every entry (with a short description of its
/// decoded value if `with_values`) to `out`.
pub async fn dump<R: BlockReader>(
    layer: &DeltaLayer<R>,
    out: &mut impl Write,
    with_values: bool,
) -> Result<(), Error> {
    write_summary_lines(layer.summary(), out)?;
    let stats = layer.index_stats().await?;
    writeln!(
        out,
        "index: depth {} nodes {} entries {}",
        stats.depth, stats.n_nodes, stats.n_entries
    )?;
    let mut iter = layer.iter();
    while let Some(entry) = iter.next().await {
        let entry = entry?;
        write!(
            out,
            "{} {} will_init={} offset={} size={}",
            entry.key,
            entry.lsn.to_hex16(),
            u8::from(entry.blob_ref.will_init()),
            entry.blob_ref.pos(),
            entry.size
        )?;
        if with_values {
            let value = iter.load_value(&entry).await?;
            write!(out, " {}", describe_value(&value))?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// Writes the layer's manifest in the golden format (`golden/README`, "Manifest format"),
/// without comment lines: summary, layout facts (B-tree depth, file size, SHA-256 of the whole
/// file) and one `E` line per entry in index order.
pub async fn write_manifest<R: BlockReader>(
    layer: &DeltaLayer<R>,
    out: &mut impl Write,
) -> Result<(), Error> {
    let s = layer.summary();
    writeln!(out, "summary.magic {:04X}", s.magic)?;
    writeln!(out, "summary.format_version {}", s.format_version)?;
    writeln!(out, "summary.tenant_id {}", s.tenant_id)?;
    writeln!(out, "summary.timeline_id {}", s.timeline_id)?;
    writeln!(
        out,
        "summary.key_range {} {}",
        s.key_range.start, s.key_range.end
    )?;
    writeln!(
        out,
        "summary.lsn_range {} {}",
        s.lsn_range.start.to_hex16(),
        s.lsn_range.end.to_hex16()
    )?;
    writeln!(out, "summary.index_start_blk {}", s.index_start_blk)?;
    writeln!(out, "summary.index_root_blk {}", s.index_root_blk)?;
    let depth = layer.tree().depth().await.map_err(|e| layer.ctx(e))?;
    writeln!(out, "layout.btree_depth {depth}")?;
    let file_size = u64::from(layer.reader().n_blocks()) * PAGE_SIZE as u64;
    writeln!(out, "layout.file_size {file_size}")?;
    writeln!(
        out,
        "layout.file_sha256 {}",
        hex(&layer.file_sha256().await?)
    )?;
    // Two passes (count, then print) so that memory stays bounded whatever the entry count.
    let mut n_entries = 0u64;
    let mut iter = layer.iter();
    while let Some(entry) = iter.next().await {
        entry?;
        n_entries += 1;
    }
    writeln!(out, "entries {n_entries}")?;
    let mut iter = layer.iter();
    while let Some(entry) = iter.next().await {
        let entry = entry?;
        let pos = entry.blob_ref.pos();
        let payload = iter.load_bytes(&entry).await?;
        let value = decode_value(&payload, pos).map_err(|e| layer.ctx(e))?;
        write!(
            out,
            "E {} {} {} {} {} ",
            entry.key,
            entry.lsn.to_hex16(),
            u8::from(entry.blob_ref.will_init()),
            value.kind_name(),
            payload.len()
        )?;
        if payload.is_empty() {
            writeln!(out, "-")?;
        } else if payload.len() <= MANIFEST_INLINE_PAYLOAD_LEN {
            writeln!(out, "{}", hex(&payload))?;
        } else {
            writeln!(out, "sha256:{}", hex(&Sha256::digest(&payload)))?;
        }
    }
    Ok(())
}

/// Reads the summary of the layer file at `path`, lets `edit` change it, and writes it back in
/// place (block 0's first 96 bytes), then fsyncs. Like Neon's `rewrite_summary`, it first
/// checks the magic and refuses anything that is not a delta layer.
///
/// Page caches holding block 0 of this file keep the old bytes: open the layer again (under a
/// new cache file id) after rewriting.
pub fn rewrite_summary(path: &Path, edit: impl FnOnce(&mut Summary)) -> Result<(), Error> {
    let inner = || -> Result<(), Error> {
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)?;
        let mut buf = [0u8; SUMMARY_LEN];
        match file.read_exact(&mut buf) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(SummaryProblem::FileTooShort { n_blocks: 0 }.into());
            }
            Err(e) => return Err(e.into()),
        }
        let mut summary = Summary::decode(&buf)?;
        if summary.magic != DELTA_FILE_MAGIC {
            return Err(SummaryProblem::BadMagic {
                magic: summary.magic,
                expected: DELTA_FILE_MAGIC,
            }
            .into());
        }
        edit(&mut summary);
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&summary.encode())?;
        file.sync_all()?;
        Ok(())
    };
    inner().map_err(|e| e.in_file(Some(path)))
}

/// The summary lines of a dump.
fn write_summary_lines(s: &Summary, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "magic: {:04X}", s.magic)?;
    writeln!(out, "format_version: {}", s.format_version)?;
    writeln!(out, "tenant_id: {}", s.tenant_id)?;
    writeln!(out, "timeline_id: {}", s.timeline_id)?;
    writeln!(out, "key_range: {}..{}", s.key_range.start, s.key_range.end)?;
    writeln!(
        out,
        "lsn_range: {}..{}",
        s.lsn_range.start.to_hex16(),
        s.lsn_range.end.to_hex16()
    )?;
    writeln!(out, "index_start_blk: {}", s.index_start_blk)?;
    writeln!(out, "index_root_blk: {}", s.index_root_blk)
}

/// A one-line description of a value: kind and sizes for images and Postgres records, the
/// fields for the others.
pub fn describe_value(value: &Value) -> String {
    match value {
        Value::Image(img) => format!("Image len={}", img.len()),
        Value::WalRecord(NeonWalRecord::Postgres { will_init, rec }) => {
            format!("Postgres will_init={will_init} len={}", rec.len())
        }
        Value::WalRecord(rec) => format!("{rec:?}"),
    }
}

/// Lowercase hex.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The golden `Q` line of a lookup (format: `golden/README`, "Queries format"):
/// `Q <key> <lsn_start> <lsn_end> <Complete|Continue> img=<lsn|-> visited=<lsn:kind,...|->`,
/// where `visited` lists the state's records in order, then the image.
pub fn format_query_line(
    key: Key,
    lsn_range: LsnRange,
    result: ValueReconstructResult,
    state: &ValueReconstructState,
) -> String {
    let mut line = format!(
        "Q {key} {} {} {} img=",
        lsn_range.start.to_hex16(),
        lsn_range.end.to_hex16(),
        result.as_str()
    );
    match &state.img {
        Some((lsn, _)) => line.push_str(&lsn.to_hex16()),
        None => line.push('-'),
    }
    line.push_str(" visited=");
    let mut first = true;
    let records = state
        .records
        .iter()
        .map(|(lsn, rec)| (*lsn, rec.kind_name()));
    let image = state.img.iter().map(|(lsn, _)| (*lsn, "Image"));
    for (lsn, kind) in records.chain(image) {
        if !first {
            line.push(',');
        }
        first = false;
        let _ = write!(line, "{}:{kind}", lsn.to_hex16());
    }
    if first {
        line.push('-');
    }
    line
}
