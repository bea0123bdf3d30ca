//! The vocabulary and the kind-independent steps of strict verification (FORMAT.md section 9,
//! applied to image layers by section 11): [`Rule`] (the invariants, numbered as section 9),
//! [`Location`], [`Finding`], the capped [`Findings`] list, the mapping of B-tree problems to
//! rules ([`tree_finding`]), the zero checks of block 0's tail and of the value area's tail,
//! and [`BlobOrder`], which checks that blobs are packed back to back in key order.
//!
//! Invariants:
//! * Only I/O errors are returned as errors; everything wrong with the bytes is a finding.
//! * At most [`MAX_FINDINGS`] findings are kept, so a verify's memory is bounded.
//! * [`BlobOrder::check`] tells the caller to skip a blob whose offset does not increase: it
//!   was read (or refused) already, and reading it again could repeat work without bound.

use std::fmt;
use std::io;

use strata_blob::{BlockNo, BlockReader, PAGE_SIZE};
use strata_btree::NodeProblem;
use strata_key::{Key, Lsn};

use crate::format::VALUE_AREA_OFFSET;

const PAGE: u64 = PAGE_SIZE as u64;

/// The most findings one verification collects; it stops looking after that many.
pub const MAX_FINDINGS: usize = 1000;

/// An invariant of FORMAT.md section 9 (the item number is [`Rule::item`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Rule {
    /// 1: the file is at least 3 blocks long and a whole number of blocks.
    FileSize,
    /// 2: the kind's magic and format version 3.
    MagicVersion,
    /// 3: non-empty key and LSN ranges (an image layer's LSN range is `lsn..lsn+1`).
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
    /// 8: `prefix_len + suffix_len` is the key length (26 or 18), and the node fits its block.
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
    /// 14: each entry's key (and a delta entry's LSN) lies in the summary's ranges.
    EntryInRanges,
    /// 15: each blob lies in the value area `[8192, index_start_blk * 8192)`.
    BlobInValueArea,
    /// 16: (strict) blobs packed back to back from 8192 in key order, the index right after.
    BlobsPacked,
    /// 17: each payload decodes: exactly one serialized `Value` (delta), a valid compressed
    /// frame when compressed (both kinds).
    ValueDecodes,
    /// 18: the BlobRef will_init bit equals the value's `will_init()` (delta only).
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
    /// An index entry and its blob (an image entry's LSN is the layer's).
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
#[derive(Debug, Default)]
pub struct Findings(Vec<Finding>);

impl Findings {
    /// An empty list.
    pub fn new() -> Findings {
        Findings(Vec::new())
    }

    /// Adds a finding unless the list is full.
    pub fn add(&mut self, rule: Rule, location: Location, message: impl Into<String>) {
        if self.0.len() < MAX_FINDINGS {
            self.0.push(Finding {
                rule,
                location,
                message: message.into(),
            });
        }
    }

    /// Whether [`MAX_FINDINGS`] have been collected.
    pub fn full(&self) -> bool {
        self.0.len() >= MAX_FINDINGS
    }

    /// The findings so far.
    pub fn as_slice(&self) -> &[Finding] {
        &self.0
    }

    /// The findings.
    pub fn into_vec(self) -> Vec<Finding> {
        self.0
    }
}

/// The rule a B-tree node problem breaks.
pub fn node_rule(problem: &NodeProblem) -> Rule {
    match problem {
        NodeProblem::NoChildren => Rule::NodeHasChildren,
        NodeProblem::KeyLength { .. } | NodeProblem::Overflow { .. } => Rule::NodeKeyLength,
        NodeProblem::Unsorted { .. } => Rule::NodeKeysSorted,
        NodeProblem::OutOfOrder { .. } | NodeProblem::FirstKeyMismatch { .. } => Rule::InternalKeys,
        NodeProblem::WrongLevel { .. } => Rule::NodeLevels,
        NodeProblem::BadLeafValue { .. } => Rule::LeafValues,
        NodeProblem::NonZeroPadding { .. } => Rule::ZeroPadding,
        _ => Rule::Downlinks,
    }
}

/// Turns a B-tree corruption into a finding; any other error is given back.
pub fn tree_finding(
    err: strata_btree::Error,
    out: &mut Findings,
) -> Result<(), strata_btree::Error> {
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
        other => Err(other),
    }
}

/// Item 6 for block 0: zeros after the `summary_len` bytes of the summary.
pub async fn check_block0_padding<R: BlockReader>(
    reader: &R,
    summary_len: usize,
    out: &mut Findings,
) -> io::Result<()> {
    if reader.n_blocks() == 0 {
        return Ok(());
    }
    let block = match reader.read_block(BlockNo(0)).await {
        Ok(block) => block,
        Err(strata_blob::Error::Io(e)) => return Err(e),
        Err(_) => return Ok(()),
    };
    let tail = block.get(summary_len..).unwrap_or_default();
    if let Some(pos) = tail.iter().position(|&b| b != 0) {
        let offset = (summary_len + pos) as u64;
        out.add(
            Rule::ZeroPadding,
            Location::Offset(offset),
            "non-zero byte after the summary",
        );
    }
    Ok(())
}

/// Items 6 and 16 after the last blob (which ends at `last_end`): the index starts at the next
/// block boundary, and the bytes before it are zero.
pub async fn check_value_area_tail<R: BlockReader>(
    reader: &R,
    last_end: u64,
    value_area_end: u64,
    out: &mut Findings,
) -> io::Result<()> {
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
        let block = match reader.read_block(BlockNo(blkno)).await {
            Ok(block) => block,
            Err(strata_blob::Error::Io(e)) => return Err(e),
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

/// Items 15 and 16 over the entries in key order: each blob inside the value area, the first
/// at 8192, each where the previous one ended (see the module docs).
#[derive(Debug, Clone)]
pub struct BlobOrder {
    value_area_end: u64,
    prev_pos: Option<u64>,
    prev_end: Option<u64>,
    last_end: u64,
}

impl BlobOrder {
    /// A checker for a value area ending at `value_area_end` (`index_start_blk * 8192`).
    pub fn new(value_area_end: u64) -> BlobOrder {
        BlobOrder {
            value_area_end,
            prev_pos: None,
            prev_end: None,
            last_end: VALUE_AREA_OFFSET,
        }
    }

    /// Checks the next entry's blob offset; `false` means: do not read this blob.
    pub fn check(&mut self, pos: u64, loc: Location, out: &mut Findings) -> bool {
        let value_area_end = self.value_area_end;
        if pos < VALUE_AREA_OFFSET || pos >= value_area_end {
            let msg = format!("blob offset outside the value area 0x2000..{value_area_end:#x}");
            out.add(Rule::BlobInValueArea, loc, msg);
            self.prev_end = None;
            return false;
        }
        match (self.prev_pos, self.prev_end) {
            (None, _) if pos != VALUE_AREA_OFFSET => {
                let msg = "the first blob does not start at 0x2000";
                out.add(Rule::BlobsPacked, loc, msg);
            }
            (Some(prev), _) if pos <= prev => {
                let msg = format!("offset does not increase after {prev:#x}");
                out.add(Rule::BlobsPacked, loc, msg);
                return false;
            }
            (Some(_), Some(end)) if pos != end => {
                let msg = format!("blob does not start where the previous one ended ({end:#x})");
                out.add(Rule::BlobsPacked, loc, msg);
            }
            _ => {}
        }
        self.prev_pos = Some(pos);
        self.prev_end = None;
        true
    }

    /// Records where the blob just checked ends (when it could be read).
    pub fn read_to(&mut self, end: u64) {
        self.prev_end = Some(end);
        self.last_end = self.last_end.max(end);
    }

    /// Whether any blob was accepted by [`BlobOrder::check`].
    pub fn any(&self) -> bool {
        self.prev_pos.is_some()
    }

    /// The end of the furthest blob read.
    pub fn last_end(&self) -> u64 {
        self.last_end
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use strata_blob::MemBlockReader;

    use super::*;

    fn entry(offset: u64) -> Location {
        Location::Entry {
            key: Key::MIN,
            lsn: Lsn(1),
            offset,
        }
    }

    #[test]
    fn blob_order_finds_gaps_overlaps_and_strays() {
        let mut out = Findings::new();
        let mut order = BlobOrder::new(3 * PAGE);
        assert!(order.check(0x2000, entry(0x2000), &mut out));
        order.read_to(0x2010);
        assert!(order.check(0x2010, entry(0x2010), &mut out));
        order.read_to(0x2020);
        assert!(out.as_slice().is_empty());
        assert!(order.check(0x2030, entry(0x2030), &mut out)); // a gap
        assert!(!order.check(0x2030, entry(0x2030), &mut out)); // not increasing
        assert!(!order.check(0x100, entry(0x100), &mut out)); // outside
        let rules: Vec<Rule> = out.as_slice().iter().map(|f| f.rule).collect();
        assert_eq!(
            rules,
            [Rule::BlobsPacked, Rule::BlobsPacked, Rule::BlobInValueArea]
        );
        assert_eq!(order.last_end(), 0x2020);
        assert!(order.any());
    }

    #[tokio::test]
    async fn padding_checks() {
        let mut bytes = vec![0u8; 3 * PAGE_SIZE];
        bytes[100] = 1;
        bytes[PAGE_SIZE + 50] = 2;
        let reader = MemBlockReader::from_bytes(&bytes);
        let mut out = Findings::new();
        check_block0_padding(&reader, 88, &mut out).await.unwrap();
        check_value_area_tail(&reader, 0x2000 + 10, 2 * PAGE, &mut out)
            .await
            .unwrap();
        assert_eq!(out.as_slice().len(), 2, "{:?}", out.as_slice());
        assert_eq!(out.as_slice()[0].location, Location::Offset(100));
        assert_eq!(out.as_slice()[1].location, Location::Offset(0x2000 + 50));
        let mut out = Findings::new();
        check_value_area_tail(&reader, 0x2000 + 60, 3 * PAGE, &mut out)
            .await
            .unwrap();
        assert_eq!(out.as_slice()[0].rule, Rule::BlobsPacked);
        for _ in 0..MAX_FINDINGS + 5 {
            out.add(Rule::FileSize, Location::File, "x");
        }
        assert!(out.full());
        assert_eq!(out.into_vec().len(), MAX_FINDINGS);
    }
}
