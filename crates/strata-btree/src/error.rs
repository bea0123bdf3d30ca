//! The errors of building and reading B-trees.
//!
//! Invariant: every way the bytes of a tree can be wrong is a [`Corruption`] naming the index
//! block (relative and absolute) and the rule it breaks ([`NodeProblem`], FORMAT.md section 9
//! items 6 (node padding, `verify` only) to 13); misuse by the caller (unsorted keys, oversized values, an empty tree) has its
//! own [`Error`] variants. Like `Io` and `Corrupt`, a full page cache has one shape,
//! [`Error::CacheFull`], however deep in the block layer it was hit.

use std::fmt;
use std::io;

use strata_blob::BlockNo;

use crate::format::MAX_VALUE;

/// An error of a B-tree operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The operating system reported an I/O error.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The tree's bytes break a rule of the format: see [`Corruption`].
    #[error("corrupt B-tree: {0}")]
    Corrupt(#[from] Corruption),
    /// [`append`](crate::DiskBtreeBuilder::append) got a key not greater than the previous one.
    #[error("unsorted input: key {} is not after the previous key {}", Hex(.key), Hex(.last_key))]
    Unsorted {
        /// The rejected key.
        key: Vec<u8>,
        /// The key appended before it.
        last_key: Vec<u8>,
    },
    /// [`append`](crate::DiskBtreeBuilder::append) got a value above [`MAX_VALUE`].
    #[error("value {0:#x} is larger than the B-tree's maximum {MAX_VALUE:#x}")]
    ValueTooLarge(u64),
    /// [`finish`](crate::DiskBtreeBuilder::finish) was called without any entry (Neon panics).
    #[error("a B-tree needs at least one entry")]
    Empty,
    /// The builder's block writer failed earlier; the builder refuses further use.
    #[error("B-tree builder failed earlier and is poisoned")]
    Poisoned,
    /// Every slot of the page cache the tree is read through stayed pinned for longer than
    /// the cache's wait (see `strata-cache`'s sizing rule: one slot per concurrent reader).
    #[error("all {n_slots} page cache slots are pinned")]
    CacheFull {
        /// The cache's number of slots.
        n_slots: usize,
    },
    /// Another error of the block layer (neither I/O, corruption nor a full cache).
    #[error("block layer: {0}")]
    Block(#[source] strata_blob::Error),
}

impl From<strata_blob::Error> for Error {
    fn from(err: strata_blob::Error) -> Error {
        match err {
            strata_blob::Error::Io(e) => Error::Io(e),
            strata_blob::Error::Corrupt(c) => Error::Corrupt(Corruption::Block(c)),
            strata_blob::Error::CacheFull { n_slots } => Error::CacheFull { n_slots },
            other => Error::Block(other),
        }
    }
}

impl Error {
    /// True for [`Error::Corrupt`].
    pub fn is_corrupt(&self) -> bool {
        matches!(self, Error::Corrupt(_))
    }
}

/// What is wrong with a tree's bytes, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Corruption {
    /// The block layer found the data itself wrong (for example a block past the end).
    #[error(transparent)]
    Block(strata_blob::Corruption),
    /// The root block number points outside the index.
    #[error("root block {root} is not among the {n_index_blocks} index blocks")]
    RootOutOfRange {
        /// The root block number, relative to the index start.
        root: u32,
        /// Number of blocks from the index start to the end of the data.
        n_index_blocks: u32,
    },
    /// One node breaks a rule.
    #[error("index block {blkno} (file block {file_blkno}): {problem}")]
    Node {
        /// The node's block number relative to the index start (as downlinks store it).
        blkno: BlockNo,
        /// The node's absolute block number.
        file_blkno: BlockNo,
        /// The rule it breaks.
        problem: NodeProblem,
    },
}

/// A rule of FORMAT.md section 9 (items 6–13) that one node breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NodeProblem {
    /// `num_children` is 0 (item 7).
    #[error("node has no entries")]
    NoChildren,
    /// `prefix_len + suffix_len` is not the tree's key length (item 8).
    #[error("prefix length {prefix_len} + suffix length {suffix_len} != key length {key_len}")]
    KeyLength {
        /// The header's prefix length.
        prefix_len: u8,
        /// The header's suffix length.
        suffix_len: u8,
        /// The key length of the tree.
        key_len: usize,
    },
    /// The header claims more bytes than a block holds (item 8).
    #[error("node needs {used} bytes, more than a block holds")]
    Overflow {
        /// Bytes the header implies: `5 + prefix_len + num_children * (suffix_len + 5)`.
        used: usize,
    },
    /// Key `entry_idx` is not greater than key `entry_idx - 1` (item 9).
    #[error("key {entry_idx} is not greater than the key before it")]
    Unsorted {
        /// Index of the first key out of order.
        entry_idx: usize,
    },
    /// A scan met key `entry_idx` of this leaf after a key not smaller than it in scan order:
    /// a child's keys overlap its neighbour's (item 12).
    #[error("key {entry_idx} is out of order with the previously scanned key")]
    OutOfOrder {
        /// Index of the key in this leaf.
        entry_idx: usize,
    },
    /// An internal node's value lacks the downlink marker `0x80` (item 11).
    #[error("downlink {entry_idx} starts with {first_byte:#04x}, not 0x80")]
    BadDownlink {
        /// Index of the entry.
        entry_idx: usize,
        /// Its first value byte.
        first_byte: u8,
    },
    /// A leaf value's first byte is `>= 0x80`, above `MAX_VALUE` (item 13).
    #[error("leaf value {entry_idx} starts with {first_byte:#04x} (>= 0x80)")]
    BadLeafValue {
        /// Index of the entry.
        entry_idx: usize,
        /// Its first value byte.
        first_byte: u8,
    },
    /// A downlink points to a block not strictly below this node's own (item 11).
    #[error("downlink {entry_idx} points to block {child}, not below this node's block")]
    ChildNotBelowParent {
        /// Index of the entry.
        entry_idx: usize,
        /// The child block it names (relative).
        child: BlockNo,
    },
    /// The node's level is not its parent's level minus one (item 10).
    #[error("level {level}, expected {expected}")]
    WrongLevel {
        /// The node's level.
        level: u8,
        /// Its parent's level minus one.
        expected: u8,
    },
    /// The node's first key differs from the key of the downlink leading to it (item 12).
    #[error("first key differs from the key of downlink {entry_idx} in parent block {parent}")]
    FirstKeyMismatch {
        /// The parent's block (relative).
        parent: BlockNo,
        /// Index of the downlink in the parent.
        entry_idx: usize,
    },
    /// A byte after the node's used area is not zero (item 6, checked by `verify` only).
    #[error("non-zero padding byte at offset {offset}")]
    NonZeroPadding {
        /// Offset of the first non-zero byte within the block.
        offset: usize,
    },
}

/// Formats bytes as lowercase hex.
struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}
