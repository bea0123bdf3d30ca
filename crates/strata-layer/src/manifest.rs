//! The pieces of the golden manifest format (`golden/README`, `golden-image/README`) that both
//! layer kinds print the same way: the summary's common head lines, the `layout.*` facts (with
//! the file's SHA-256 over its whole blocks, [`file_sha256`]) and an entry's payload field
//! ([`write_payload_field`]: hex up to 4096 bytes, `sha256:<hex>` above, `-` when empty).
//!
//! Invariant: output goes to any [`io::Write`]; nothing here prints.

use std::io::{self, Write};

use sha2::{Digest, Sha256};
use strata_blob::{BlockNo, BlockReader, PAGE_SIZE};

use crate::format::SummaryHead;

/// Payloads up to this length are printed in full in a manifest; longer ones as their SHA-256.
pub const MANIFEST_INLINE_PAYLOAD_LEN: usize = 4096;

/// Blocks hashed per read when computing a file's digest.
const HASH_RUN_BLOCKS: u32 = 64;

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xF)]));
    }
    s
}

/// Writes the lowercase hex of `bytes` to `out` piece by piece (no buffer of the whole text).
pub fn write_hex(bytes: &[u8], out: &mut impl Write) -> io::Result<()> {
    for chunk in bytes.chunks(2048) {
        out.write_all(hex(chunk).as_bytes())?;
    }
    Ok(())
}

/// The SHA-256 of every whole block `reader` holds, read in runs of 64 blocks.
pub async fn file_sha256<R: BlockReader>(reader: &R) -> Result<[u8; 32], strata_blob::Error> {
    let n_blocks = reader.n_blocks();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; HASH_RUN_BLOCKS as usize * PAGE_SIZE];
    let mut blkno = 0u32;
    while blkno < n_blocks {
        let n = (n_blocks - blkno).min(HASH_RUN_BLOCKS);
        let chunk = buf.get_mut(..n as usize * PAGE_SIZE).unwrap_or_default();
        reader.read_blocks(BlockNo(blkno), chunk).await?;
        hasher.update(&*chunk);
        blkno += n;
    }
    Ok(hasher.finalize().into())
}

/// The `summary.*` lines of the head both kinds share: magic, version, tenant, timeline, key
/// range.
pub fn write_head_lines(head: &SummaryHead, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "summary.magic {:04X}", head.magic)?;
    writeln!(out, "summary.format_version {}", head.format_version)?;
    writeln!(out, "summary.tenant_id {}", head.tenant_id)?;
    writeln!(out, "summary.timeline_id {}", head.timeline_id)?;
    writeln!(
        out,
        "summary.key_range {} {}",
        head.key_range.start, head.key_range.end
    )
}

/// The `summary.index_*` and `layout.*` lines.
pub fn write_layout_lines(
    index_start_blk: u32,
    index_root_blk: u32,
    btree_depth: u32,
    file_size: u64,
    sha256: &[u8; 32],
    out: &mut impl Write,
) -> io::Result<()> {
    writeln!(out, "summary.index_start_blk {index_start_blk}")?;
    writeln!(out, "summary.index_root_blk {index_root_blk}")?;
    writeln!(out, "layout.btree_depth {btree_depth}")?;
    writeln!(out, "layout.file_size {file_size}")?;
    writeln!(out, "layout.file_sha256 {}", hex(sha256))
}

/// An entry line's payload field and the newline: `-`, the hex, or `sha256:<hex>`.
pub fn write_payload_field(payload: &[u8], out: &mut impl Write) -> io::Result<()> {
    if payload.is_empty() {
        writeln!(out, "-")
    } else if payload.len() <= MANIFEST_INLINE_PAYLOAD_LEN {
        write_hex(payload, out)?;
        writeln!(out)
    } else {
        writeln!(out, "sha256:{}", hex(&Sha256::digest(payload)))
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use strata_blob::MemBlockReader;

    use super::*;

    #[test]
    fn payload_fields() {
        let mut out = Vec::new();
        write_payload_field(b"", &mut out).unwrap();
        write_payload_field(&[0xAB, 1], &mut out).unwrap();
        write_payload_field(&[0u8; 4097], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "-");
        assert_eq!(lines[1], "ab01");
        assert!(lines[2].starts_with("sha256:") && lines[2].len() == 7 + 64);
    }

    #[tokio::test]
    async fn sha_of_blocks() {
        let bytes = vec![3u8; 100 * PAGE_SIZE];
        let reader = MemBlockReader::from_bytes(&bytes);
        let got = file_sha256(&reader).await.unwrap();
        let want: [u8; 32] = Sha256::digest(&bytes).into();
        assert_eq!(got, want);
    }
}
