//! Strict verification of a delta layer against every invariant of FORMAT.md section 9 (items
//! 1–18): [`DeltaLayer::verify`], [`verify_reader`] (for files that do not even open) and
//! [`verify_file`], reporting a list of typed [`Finding`]s.
//!
//! Invariants:
//! * Nothing here panics on any bytes. Only I/O errors of the source are returned as errors;
//!   everything wrong with the bytes is a finding.
//! * Time and memory are bounded by the file: the B-tree walk checks levels, child < parent
//!   and key order (so it is finite and visits each node once), blob lengths are checked
//!   against the value area before any buffer is sized, each blob is decoded at most once
//!   (entries whose offset does not increase are reported, not read), and at most
//!   [`MAX_FINDINGS`] findings are collected.
//! * The B-tree checks stop at the first broken node (what lies below it cannot be trusted);
//!   the summary and entry checks report every problem they see.

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use std::fmt;
use std::path::{Path, PathBuf};

use strata_blob::{BlockNo, BlockReader, FileBlockReader, PAGE_SIZE};
use strata_btree::{NodeProblem, VisitDirection};
use strata_key::{Key, Lsn};

use crate::error::{CorruptionKind, Error};
use crate::format::{
    DELTA_FILE_MAGIC, DELTA_KEY_SIZE, FORMAT_VERSION, SUMMARY_LEN, Summary, VALUE_AREA_OFFSET,
};
use crate::reader::{
    DeltaLayer, OpenOptions, SCAN_RUN_BYTES, index_in_file, read_summary, split_delta_key,
};
use crate::value::Value;

const PAGE: u64 = PAGE_SIZE as u64;

/// The most findings one verification collects; it stops looking after that many.
pub const MAX_FINDINGS: usize = 1000;

/// An invariant of FORMAT.md section 9 (the item number is [`Rule::item`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Rule {
    /// 1: the file is at least 3 blocks long and a whole number of blocks.
    FileSize,
    /// 2: magic `0x5A61` and format version 3.
    MagicVersion,
    /// 3: non-empty key and LSN ranges.
    NonEmptyRanges,
    /// 4: the summary matches what the file name and owner imply (the expected summary).
    MatchesName,
    /// 5: `2 <= index_start_blk`, the root inside the file, and (strict) the root is the last
    /// block.
    IndexPointers,
    /// 6: zero bytes after the summary, after the last blob, and after each node's used area.
    ZeroPadding,
    /// 7: every node has at least one entry.
    NodeHasChildren,
    /// 8: `prefix_len + suffix_len == 26`, and the node fits its block.
    NodeKeyLength,
    /// 9: keys strictly increasing inside each node.
    NodeKeysSorted,
    /// 10: each child one level below its parent, leaves at level 0.
    NodeLevels,
    /// 11: downlinks start with `0x80` and point below their parent.
    Downlinks,
    /// 12: an internal key equals its child's first key; children do not overlap.
    InternalKeys,
    /// 13: leaf values start with a byte `< 0x80`.
    LeafValues,
    /// 14: each entry's key and LSN lie in the summary's ranges.
    EntryInRanges,
    /// 15: each blob lies in the value area `[8192, index_start_blk * 8192)`.
    BlobInValueArea,
    /// 16: (strict) blobs packed back to back from 8192 in key order, the index right after.
    BlobsPacked,
    /// 17: each payload is exactly one serialized `Value`.
    ValueDecodes,
    /// 18: the BlobRef will_init bit equals the value's `will_init()`.
    WillInitMatches,
}

impl Rule {
    /// The item number in FORMAT.md section 9.
    pub fn item(self) -> u8 {
        match self {
            Rule::FileSize => 1,
            Rule::MagicVersion => 2,
            Rule::NonEmptyRanges => 3,
            Rule::MatchesName => 4,
            Rule::IndexPointers => 5,
            Rule::ZeroPadding => 6,
            Rule::NodeHasChildren => 7,
            Rule::NodeKeyLength => 8,
            Rule::NodeKeysSorted => 9,
            Rule::NodeLevels => 10,
            Rule::Downlinks => 11,
            Rule::InternalKeys => 12,
            Rule::LeafValues => 13,
            Rule::EntryInRanges => 14,
            Rule::BlobInValueArea => 15,
            Rule::BlobsPacked => 16,
            Rule::ValueDecodes => 17,
            Rule::WillInitMatches => 18,
        }
    }
}

/// Where a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// The file as a whole.
    File,
    /// The summary in block 0.
    Summary,
    /// A byte offset in the file.
    Offset(u64),
    /// An index node.
    IndexBlock {
        /// Block number relative to `index_start_blk`.
        blkno: u32,
        /// Absolute block number.
        file_blkno: u32,
    },
    /// An index entry and its blob.
    Entry {
        /// The entry's key.
        key: Key,
        /// The entry's LSN.
        lsn: Lsn,
        /// Its blob's offset.
        offset: u64,
    },
}

/// One broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The invariant.
    pub rule: Rule,
    /// Where.
    pub location: Location,
    /// What exactly.
    pub message: String,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File => write!(f, "file"),
            Location::Summary => write!(f, "summary"),
            Location::Offset(o) => write!(f, "offset {o:#x}"),
            Location::IndexBlock { blkno, file_blkno } => {
                write!(f, "index block {blkno} (file block {file_blkno})")
            }
            Location::Entry { key, lsn, offset } => {
                write!(f, "entry {key}@{} (blob {offset:#x})", lsn.to_hex16())
            }
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rule {} ({:?}) at {}: {}",
            self.rule.item(),
            self.rule,
            self.location,
            self.message
        )
    }
}

/// Collected findings, capped at [`MAX_FINDINGS`].
struct Findings(Vec<Finding>);

impl Findings {
    fn add(&mut self, rule: Rule, location: Location, message: impl Into<String>) {
        if self.0.len() < MAX_FINDINGS {
            self.0.push(Finding {
                rule,
                location,
                message: message.into(),
            });
        }
    }

    fn full(&self) -> bool {
        self.0.len() >= MAX_FINDINGS
    }
}

impl<R: BlockReader> DeltaLayer<R> {
    /// Checks every invariant of FORMAT.md section 9 (including the strict ones Neon-written
    /// files meet) and lists what is broken; an empty list means a sound file. Errors are
    /// I/O errors only.
    pub async fn verify(&self) -> Result<Vec<Finding>, Error> {
        let mut out = Findings(Vec::new());
        let n_blocks = self.reader().n_blocks();
        check_summary_rules(self.summary(), n_blocks, self.file_len(), None, &mut out);
        check_block0(self.reader(), &mut out).await?;
        check_body(self, &mut out).await?;
        Ok(out.0)
    }
}

/// Verifies the layer held by `reader`, even one that [`DeltaLayer::from_reader`] refuses.
/// `opts.expected_summary` is checked as item 4, `opts.file_len` as item 1.
pub async fn verify_reader<R: BlockReader>(
    reader: R,
    path: Option<&Path>,
    opts: &OpenOptions,
) -> Result<Vec<Finding>, Error> {
    let mut out = Findings(Vec::new());
    let n_blocks = reader.n_blocks();
    let summary = match read_summary(&reader).await {
        Ok(summary) => summary,
        Err(Error::Corrupt(_)) => {
            let msg = format!("{n_blocks} whole blocks: no summary");
            out.add(Rule::FileSize, Location::File, msg);
            return Ok(out.0);
        }
        Err(e) => return Err(e.in_file(path)),
    };
    let expected = opts.expected_summary.as_ref();
    check_summary_rules(&summary, n_blocks, opts.file_len, expected, &mut out);
    check_block0(&reader, &mut out).await?;
    if n_blocks < 3 || !index_in_file(&summary, n_blocks) {
        return Ok(out.0);
    }
    let layer = DeltaLayer::new_unchecked(reader, summary, path.map(PathBuf::from), opts);
    check_body(&layer, &mut out).await?;
    Ok(out.0)
}

/// Verifies the layer file at `path` (read directly, without a page cache).
pub async fn verify_file(path: &Path, opts: &OpenOptions) -> Result<Vec<Finding>, Error> {
    let reader = FileBlockReader::open(path)?;
    let mut opts = opts.clone();
    opts.file_len = Some(std::fs::metadata(path)?.len());
    verify_reader(reader, Some(path), &opts).await
}

/// Items 1–5 on the summary.
fn check_summary_rules(
    s: &Summary,
    n_blocks: u32,
    file_len: Option<u64>,
    expected: Option<&Summary>,
    out: &mut Findings,
) {
    match file_len {
        Some(len) if len % PAGE != 0 || len < 3 * PAGE => {
            let msg = format!("file length {len} is not a multiple of 8192 of at least 24576");
            out.add(Rule::FileSize, Location::File, msg);
        }
        _ if n_blocks < 3 => {
            let msg = format!("{n_blocks} whole blocks, a delta layer has at least 3");
            out.add(Rule::FileSize, Location::File, msg);
        }
        _ => {}
    }
    if s.magic != DELTA_FILE_MAGIC {
        let msg = format!("magic {:#06x}, expected {DELTA_FILE_MAGIC:#06x}", s.magic);
        out.add(Rule::MagicVersion, Location::Summary, msg);
    }
    if s.format_version != FORMAT_VERSION {
        let msg = format!(
            "format version {}, expected {FORMAT_VERSION}",
            s.format_version
        );
        out.add(Rule::MagicVersion, Location::Summary, msg);
    }
    if s.key_range.is_empty() {
        let msg = format!("empty key range {}..{}", s.key_range.start, s.key_range.end);
        out.add(Rule::NonEmptyRanges, Location::Summary, msg);
    }
    if s.lsn_range.is_empty() {
        let msg = format!(
            "empty LSN range {}..{}",
            s.lsn_range.start.to_hex16(),
            s.lsn_range.end.to_hex16()
        );
        out.add(Rule::NonEmptyRanges, Location::Summary, msg);
    }
    if let Some(expected) = expected {
        let mut expected = *expected;
        expected.index_start_blk = s.index_start_blk;
        expected.index_root_blk = s.index_root_blk;
        if expected != *s {
            let msg = format!("summary {s:?} differs from the expected {expected:?}");
            out.add(Rule::MatchesName, Location::Summary, msg);
        }
    }
    if !index_in_file(s, n_blocks) {
        let msg = format!(
            "index start block {} + root {} not inside the file's {n_blocks} blocks (or start < 2)",
            s.index_start_blk, s.index_root_blk
        );
        out.add(Rule::IndexPointers, Location::Summary, msg);
    } else if u64::from(s.index_start_blk) + u64::from(s.index_root_blk) + 1 != u64::from(n_blocks)
    {
        let msg = format!(
            "root at file block {} is not the last of the {n_blocks} blocks",
            u64::from(s.index_start_blk) + u64::from(s.index_root_blk)
        );
        out.add(Rule::IndexPointers, Location::Summary, msg);
    }
}

/// Item 6 for block 0: zeros after the summary.
async fn check_block0<R: BlockReader>(reader: &R, out: &mut Findings) -> Result<(), Error> {
    if reader.n_blocks() == 0 {
        return Ok(());
    }
    let block = match reader.read_block(BlockNo(0)).await {
        Ok(block) => block,
        Err(strata_blob::Error::Io(e)) => return Err(e.into()),
        Err(_) => return Ok(()),
    };
    let tail = block.get(SUMMARY_LEN..).unwrap_or_default();
    if let Some(pos) = tail.iter().position(|&b| b != 0) {
        let offset = (SUMMARY_LEN + pos) as u64;
        out.add(
            Rule::ZeroPadding,
            Location::Offset(offset),
            "non-zero byte after the summary",
        );
    }
    Ok(())
}

/// The rule a B-tree node problem breaks.
fn node_rule(problem: &NodeProblem) -> Rule {
    match problem {
        NodeProblem::NoChildren => Rule::NodeHasChildren,
        NodeProblem::KeyLength { .. } | NodeProblem::Overflow { .. } => Rule::NodeKeyLength,
        NodeProblem::Unsorted { .. } => Rule::NodeKeysSorted,
        NodeProblem::OutOfOrder { .. } | NodeProblem::FirstKeyMismatch { .. } => Rule::InternalKeys,
        NodeProblem::WrongLevel { .. } => Rule::NodeLevels,
        NodeProblem::BadLeafValue { .. } => Rule::LeafValues,
        NodeProblem::NonZeroPadding { .. } => Rule::ZeroPadding,
        NodeProblem::BadDownlink { .. } | NodeProblem::ChildNotBelowParent { .. } => {
            Rule::Downlinks
        }
        _ => Rule::Downlinks,
    }
}

/// Turns a B-tree error into a finding; I/O errors are returned.
fn tree_finding(err: strata_btree::Error, out: &mut Findings) -> Result<(), Error> {
    match err {
        strata_btree::Error::Corrupt(c) => {
            let (rule, location) = match &c {
                strata_btree::Corruption::Node {
                    blkno,
                    file_blkno,
                    problem,
                } => (
                    node_rule(problem),
                    Location::IndexBlock {
                        blkno: blkno.0,
                        file_blkno: file_blkno.0,
                    },
                ),
                strata_btree::Corruption::RootOutOfRange { .. } => {
                    (Rule::IndexPointers, Location::Summary)
                }
                _ => (Rule::Downlinks, Location::File),
            };
            out.add(rule, location, c.to_string());
            Ok(())
        }
        other => Err(other.into()),
    }
}

/// Items 6–18 on the index and the value area.
async fn check_body<R: BlockReader>(
    layer: &DeltaLayer<R>,
    out: &mut Findings,
) -> Result<(), Error> {
    // Items 6–13: the whole tree, strictly; stop at the first broken node.
    if let Err(e) = layer.tree().verify().await {
        return tree_finding(e, out);
    }
    let summary = layer.summary();
    let value_area_end = layer.value_area_end();
    let mut run = layer.run_reader(SCAN_RUN_BYTES);
    let mut iter = layer
        .tree()
        .iter(&[0u8; DELTA_KEY_SIZE], VisitDirection::Forwards);
    let mut prev_pos: Option<u64> = None;
    // Where the previous blob ended, when it could be read.
    let mut prev_end: Option<u64> = None;
    let mut last_end = VALUE_AREA_OFFSET;
    while let Some(entry) = iter.next().await {
        if out.full() {
            break;
        }
        let (raw, blob_ref) = match entry {
            Ok(entry) => entry,
            Err(e) => return tree_finding(e, out),
        };
        let (key, lsn) = split_delta_key(&raw);
        let pos = blob_ref >> 1;
        let will_init = blob_ref & 1 == 1;
        let loc = Location::Entry {
            key,
            lsn,
            offset: pos,
        };
        if !summary.key_range.contains(&key) {
            out.add(
                Rule::EntryInRanges,
                loc,
                "key outside the summary's key range",
            );
        }
        if !summary.lsn_range.contains(lsn) {
            out.add(
                Rule::EntryInRanges,
                loc,
                "LSN outside the summary's LSN range",
            );
        }
        if pos < VALUE_AREA_OFFSET || pos >= value_area_end {
            let msg = format!("blob offset outside the value area 0x2000..{value_area_end:#x}");
            out.add(Rule::BlobInValueArea, loc, msg);
            prev_end = None;
            continue;
        }
        match (prev_pos, prev_end) {
            (None, _) if pos != VALUE_AREA_OFFSET => {
                out.add(
                    Rule::BlobsPacked,
                    loc,
                    "the first blob does not start at 0x2000",
                );
            }
            (Some(prev), _) if pos <= prev => {
                let msg = format!("offset does not increase after {prev:#x}");
                out.add(Rule::BlobsPacked, loc, msg);
                // Already read (or skipped): reading it again could repeat the work without
                // bound.
                continue;
            }
            (Some(_), Some(end)) if pos != end => {
                let msg = format!("blob does not start where the previous one ended ({end:#x})");
                out.add(Rule::BlobsPacked, loc, msg);
            }
            _ => {}
        }
        prev_pos = Some(pos);
        prev_end = None;
        let (span, payload) = match run.blob(pos).await.map_err(Error::from) {
            Ok(blob) => blob,
            Err(Error::Corrupt(c)) => {
                let rule = match &c.kind {
                    CorruptionKind::Block(
                        strata_blob::Corruption::BadCompressedPayload { .. }
                        | strata_blob::Corruption::DecompressedTooLarge { .. }
                        | strata_blob::Corruption::UnknownCompression { .. },
                    ) => Rule::ValueDecodes,
                    _ => Rule::BlobInValueArea,
                };
                out.add(rule, loc, c.kind.to_string());
                continue;
            }
            Err(e) => return Err(e.in_file(layer.path())),
        };
        prev_end = Some(span.end());
        last_end = last_end.max(span.end());
        match Value::decode(&payload) {
            Ok(value) if value.will_init() != will_init => {
                let msg = format!(
                    "BlobRef will_init bit {} but the {} value's will_init() is {}",
                    u8::from(will_init),
                    value.kind_name(),
                    value.will_init()
                );
                out.add(Rule::WillInitMatches, loc, msg);
            }
            Ok(_) => {}
            Err(e) => out.add(Rule::ValueDecodes, loc, e.to_string()),
        }
    }
    if prev_pos.is_some() && !out.full() {
        check_value_area_end(layer, last_end, out).await?;
    }
    Ok(())
}

/// Items 6 and 16 after the last blob: the index starts at the next block boundary, and the
/// bytes before it are zero.
async fn check_value_area_end<R: BlockReader>(
    layer: &DeltaLayer<R>,
    last_end: u64,
    out: &mut Findings,
) -> Result<(), Error> {
    let value_area_end = layer.value_area_end();
    if last_end.next_multiple_of(PAGE) != value_area_end {
        let msg =
            format!("the blobs end at {last_end:#x} but the index starts at {value_area_end:#x}");
        out.add(Rule::BlobsPacked, Location::Offset(last_end), msg);
    }
    let mut offset = last_end;
    while offset < value_area_end {
        let Ok(blkno) = u32::try_from(offset / PAGE) else {
            break;
        };
        let block = match layer.reader().read_block(BlockNo(blkno)).await {
            Ok(block) => block,
            Err(strata_blob::Error::Io(e)) => return Err(e.into()),
            Err(_) => break,
        };
        let from = (offset % PAGE) as usize;
        let tail = block.get(from..).unwrap_or_default();
        if let Some(pos) = tail.iter().position(|&b| b != 0) {
            let at = offset + pos as u64;
            out.add(
                Rule::ZeroPadding,
                Location::Offset(at),
                "non-zero byte after the last blob",
            );
            break;
        }
        offset = (offset / PAGE + 1) * PAGE;
    }
    Ok(())
}
