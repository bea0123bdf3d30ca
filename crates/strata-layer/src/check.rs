//! The summary checks both layer kinds make (FORMAT.md section 9 items 1, 2, 3 for the key
//! range, and 5; section 11 applies them to image layers): the file's size, the magic and
//! version, a non-empty key range, and index pointers inside the file. Pure functions over the
//! decoded fields, returning a typed [`SummaryProblem`]; each layer crate wraps it in its own
//! corruption error and adds what is its own (the LSN fields, the expected-summary comparison).
//!
//! Invariants: [`check_summary_fields`] finds the first problem in the order a reader meets
//! them; [`summary_problems`] lists every one (the strict "root is the last block" included)
//! and is what `verify` reports, so open and verify cannot disagree on these rules.

use strata_blob::PAGE_SIZE;
use strata_key::Key;

use crate::format::{FORMAT_VERSION, LayerKind, SummaryHead};
use crate::verify::Rule;

const PAGE: u64 = PAGE_SIZE as u64;

/// Every layer file has at least a summary block, one value block and one index block.
pub const MIN_LAYER_BLOCKS: u32 = 3;

/// The index pointers of a summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IndexPointers {
    /// Absolute block number where the B-tree index starts.
    pub index_start_blk: u32,
    /// Block number of the B-tree root, relative to `index_start_blk`.
    pub index_root_blk: u32,
}

/// A summary rule a file breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SummaryProblem {
    /// The file has fewer whole blocks than any layer (item 1).
    #[error("file has {n_blocks} whole blocks, a layer has at least 3")]
    FileTooShort {
        /// Whole blocks in the file.
        n_blocks: u32,
    },
    /// The file's length is not a whole number of blocks (item 1).
    #[error("file length {len} is not a multiple of 8192")]
    FileLength {
        /// The file's length in bytes.
        len: u64,
    },
    /// The magic is not the kind's (item 2).
    #[error("bad magic {magic:#06x}, expected {expected:#06x}")]
    BadMagic {
        /// The magic found.
        magic: u16,
        /// The kind's magic.
        expected: u16,
    },
    /// The format version is not 3 (item 2).
    #[error("format version {version}, expected 3")]
    BadVersion {
        /// The version found.
        version: u16,
    },
    /// The key range is empty (item 3).
    #[error("empty key range {start}..{end}")]
    EmptyKeyRange {
        /// Start of the range.
        start: Key,
        /// End of the range.
        end: Key,
    },
    /// The index pointers lie outside the file, or the index starts before block 2 (item 5).
    #[error(
        "index start block {index_start_blk} + root {index_root_blk} is not inside the file's \
         {n_blocks} blocks (or the index starts before block 2)"
    )]
    IndexOutOfFile {
        /// `index_start_blk`.
        index_start_blk: u32,
        /// `index_root_blk`.
        index_root_blk: u32,
        /// Whole blocks in the file.
        n_blocks: u32,
    },
    /// Strict item 5: the root is not the file's last block, as it is in every file Neon writes.
    #[error("root at file block {root_blk} is not the last of the {n_blocks} blocks")]
    RootNotLast {
        /// Absolute block number of the root.
        root_blk: u64,
        /// Whole blocks in the file.
        n_blocks: u32,
    },
}

impl SummaryProblem {
    /// The verify rule the problem breaks.
    pub fn rule(&self) -> Rule {
        match self {
            SummaryProblem::FileTooShort { .. } | SummaryProblem::FileLength { .. } => {
                Rule::FileSize
            }
            SummaryProblem::BadMagic { .. } | SummaryProblem::BadVersion { .. } => {
                Rule::MagicVersion
            }
            SummaryProblem::EmptyKeyRange { .. } => Rule::NonEmptyRanges,
            SummaryProblem::IndexOutOfFile { .. } | SummaryProblem::RootNotLast { .. } => {
                Rule::IndexPointers
            }
        }
    }
}

/// Item 1 as a reader can check it: at least [`MIN_LAYER_BLOCKS`] whole blocks.
pub fn check_file_blocks(n_blocks: u32) -> Result<(), SummaryProblem> {
    if n_blocks < MIN_LAYER_BLOCKS {
        return Err(SummaryProblem::FileTooShort { n_blocks });
    }
    Ok(())
}

/// Item 5: `2 <= index_start_blk` and `index_start_blk + index_root_blk < n_blocks`, so the
/// value area `[8192, index_start_blk * 8192)` and the root lie inside the file.
pub fn index_in_file(index: IndexPointers, n_blocks: u32) -> bool {
    index.index_start_blk >= 2
        && index
            .index_start_blk
            .checked_add(index.index_root_blk)
            .is_some_and(|root| root < n_blocks)
}

/// Items 2, 3 (key range) and 5 in the order a reader meets them; the first problem found.
pub fn check_summary_fields(
    kind: LayerKind,
    head: &SummaryHead,
    index: IndexPointers,
    n_blocks: u32,
) -> Result<(), SummaryProblem> {
    if head.magic != kind.magic() {
        return Err(SummaryProblem::BadMagic {
            magic: head.magic,
            expected: kind.magic(),
        });
    }
    if head.format_version != FORMAT_VERSION {
        return Err(SummaryProblem::BadVersion {
            version: head.format_version,
        });
    }
    if head.key_range.is_empty() {
        return Err(SummaryProblem::EmptyKeyRange {
            start: head.key_range.start,
            end: head.key_range.end,
        });
    }
    if !index_in_file(index, n_blocks) {
        return Err(SummaryProblem::IndexOutOfFile {
            index_start_blk: index.index_start_blk,
            index_root_blk: index.index_root_blk,
            n_blocks,
        });
    }
    Ok(())
}

/// Every problem of items 1, 2, 3 (key range) and 5, the strict ones included; `file_len` is
/// the file's length when known.
pub fn summary_problems(
    kind: LayerKind,
    head: &SummaryHead,
    index: IndexPointers,
    n_blocks: u32,
    file_len: Option<u64>,
) -> Vec<SummaryProblem> {
    let mut out = Vec::new();
    if let Some(len) = file_len.filter(|len| len % PAGE != 0) {
        out.push(SummaryProblem::FileLength { len });
    }
    if let Err(p) = check_file_blocks(n_blocks) {
        out.push(p);
    }
    if head.magic != kind.magic() {
        out.push(SummaryProblem::BadMagic {
            magic: head.magic,
            expected: kind.magic(),
        });
    }
    if head.format_version != FORMAT_VERSION {
        out.push(SummaryProblem::BadVersion {
            version: head.format_version,
        });
    }
    if head.key_range.is_empty() {
        out.push(SummaryProblem::EmptyKeyRange {
            start: head.key_range.start,
            end: head.key_range.end,
        });
    }
    if !index_in_file(index, n_blocks) {
        out.push(SummaryProblem::IndexOutOfFile {
            index_start_blk: index.index_start_blk,
            index_root_blk: index.index_root_blk,
            n_blocks,
        });
    } else {
        let root_blk = u64::from(index.index_start_blk) + u64::from(index.index_root_blk);
        if root_blk + 1 != u64::from(n_blocks) {
            out.push(SummaryProblem::RootNotLast { root_blk, n_blocks });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use strata_key::{KeyRange, TenantId, TimelineId};

    use super::*;

    fn head(kind: LayerKind) -> SummaryHead {
        SummaryHead::new(
            kind,
            TenantId([1; 16]),
            TimelineId([2; 16]),
            KeyRange::new(Key::MIN, Key::MAX),
        )
    }

    const IDX: IndexPointers = IndexPointers {
        index_start_blk: 2,
        index_root_blk: 0,
    };

    #[test]
    fn sound_summary_passes_both() {
        let h = head(LayerKind::Image);
        assert_eq!(check_summary_fields(LayerKind::Image, &h, IDX, 3), Ok(()));
        assert_eq!(
            summary_problems(LayerKind::Image, &h, IDX, 3, Some(24576)),
            []
        );
    }

    #[test]
    fn each_problem_is_found() {
        let mut h = head(LayerKind::Delta);
        let image = LayerKind::Image;
        assert!(matches!(
            check_summary_fields(image, &h, IDX, 3),
            Err(SummaryProblem::BadMagic {
                magic: 0x5A61,
                expected: 0x5A60
            })
        ));
        h.magic = 0x5A60;
        h.format_version = 2;
        assert_eq!(
            check_summary_fields(image, &h, IDX, 3),
            Err(SummaryProblem::BadVersion { version: 2 })
        );
        h.format_version = 3;
        h.key_range = KeyRange::new(Key::MAX, Key::MAX);
        assert!(matches!(
            check_summary_fields(image, &h, IDX, 3),
            Err(SummaryProblem::EmptyKeyRange { .. })
        ));
        h.key_range = KeyRange::new(Key::MIN, Key::MAX);
        let far = IndexPointers {
            index_start_blk: u32::MAX,
            index_root_blk: 2,
        };
        assert!(matches!(
            check_summary_fields(image, &h, far, 3),
            Err(SummaryProblem::IndexOutOfFile { .. })
        ));
        let early = IndexPointers {
            index_start_blk: 1,
            index_root_blk: 0,
        };
        assert!(!index_in_file(early, 3));
        let all = summary_problems(image, &h, IDX, 4, Some(4 * 8192 + 1));
        assert_eq!(
            all,
            [
                SummaryProblem::FileLength { len: 4 * 8192 + 1 },
                SummaryProblem::RootNotLast {
                    root_blk: 2,
                    n_blocks: 4
                }
            ]
        );
        assert_eq!(all[1].rule(), Rule::IndexPointers);
        assert_eq!(
            check_file_blocks(2),
            Err(SummaryProblem::FileTooShort { n_blocks: 2 })
        );
    }
}
