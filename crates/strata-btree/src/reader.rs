//! [`DiskBtreeReader`]: point lookups, Neon's `visit`, an async iterator, and a full
//! verification over a tree's blocks (FORMAT.md sections 6.5 and 9).
//!
//! Invariants:
//! * Every node is decoded through [`NodeView::decode`]; every descent checks the downlink
//!   marker, that the child block is strictly below its parent's (so descent terminates and
//!   cannot cycle), that the child's level is the parent's minus one, and that the child's
//!   first key equals the downlink's key. Depth is bounded by the root's level (at most 255).
//! * Scans check that every key they return is strictly after the previous one in scan order,
//!   so a corrupt tree ends a scan with an error after at most one pass over its leaves.
//! * For trees that pass these checks, results equal Neon's `visit` exactly.

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use strata_blob::{Block, BlockNo, BlockReader};

use crate::error::{Corruption, Error, NodeProblem};
use crate::format::{self, MAX_KEY_LEN, NodeView};

/// Direction of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VisitDirection {
    /// Ascending keys, starting at the first key `>=` the search key.
    Forwards,
    /// Descending keys, starting at the last key `<=` the search key.
    Backwards,
}

/// Reads a B-tree of `L`-byte keys whose nodes are blocks of `R`.
#[derive(Debug, Clone)]
pub struct DiskBtreeReader<R, const L: usize> {
    start_blk: u32,
    root_blk: u32,
    reader: R,
}

/// Counts from [`DiskBtreeReader::verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TreeStats {
    /// Number of levels (the root's level plus one).
    pub depth: u32,
    /// Number of nodes (blocks) in the tree.
    pub n_nodes: u64,
    /// Number of leaf entries.
    pub n_entries: u64,
}

impl<R: BlockReader, const L: usize> DiskBtreeReader<R, L> {
    /// A reader of the tree whose index blocks are at absolute block numbers
    /// `start_blk + relative`, with the root at relative block `root_blk`.
    ///
    /// The index is taken to run from `start_blk` to the end of `reader`; downlinks past it
    /// are corruption.
    pub fn new(start_blk: u32, root_blk: u32, reader: R) -> Self {
        const { assert!(L >= 1 && L <= MAX_KEY_LEN, "B-tree keys are 1 to 255 bytes") };
        DiskBtreeReader {
            start_blk,
            root_blk,
            reader,
        }
    }

    /// The underlying block reader.
    pub fn reader(&self) -> &R {
        &self.reader
    }

    /// Consumes the tree reader, giving back the block reader.
    pub fn into_reader(self) -> R {
        self.reader
    }

    /// Absolute block number of the first index block.
    pub fn start_blk(&self) -> u32 {
        self.start_blk
    }

    /// The root's block number, relative to [`start_blk`](Self::start_blk).
    pub fn root_blk(&self) -> u32 {
        self.root_blk
    }

    /// Number of blocks from the index start to the end of the reader.
    pub fn n_index_blocks(&self) -> u32 {
        self.reader.n_blocks().saturating_sub(self.start_blk)
    }

    /// Number of levels of the tree: the root's level plus one.
    pub async fn depth(&self) -> Result<u32, Error> {
        let root = self.read_root().await?;
        let node = self.decode(self.root_blk, &root)?;
        Ok(u32::from(node.level()) + 1)
    }

    /// The value stored under `key`, if any (Neon's `get`: a forwards visit that stops at once).
    pub async fn get(&self, key: &[u8; L]) -> Result<Option<u64>, Error> {
        let mut blkno = self.root_blk;
        let mut block = self.read_root().await?;
        loop {
            let node = self.decode(blkno, &block)?;
            let found = node.search(key);
            if node.is_leaf() {
                return match found {
                    Ok(entry_idx) => {
                        let value = node
                            .leaf_value(entry_idx)
                            .map_err(|p| self.corrupt(blkno, p))?;
                        Ok(Some(value))
                    }
                    Err(_) => Ok(None),
                };
            }
            let entry_idx = found.unwrap_or_else(|i| i.saturating_sub(1));
            let (child, child_block) = self.read_child(blkno, &node, entry_idx).await?;
            blkno = child;
            block = child_block;
        }
    }

    /// Neon's `visit`: calls `visitor(key, value)` for the leaf entries from `key` on, in
    /// direction `dir`, until it returns false.
    ///
    /// Returns `Ok(false)` if the visitor stopped the scan, or if a backwards scan starts
    /// before the smallest key (Neon's rule); `Ok(true)` if the scan ran to the end.
    pub async fn visit<F: FnMut(&[u8; L], u64) -> bool>(
        &self,
        key: &[u8; L],
        dir: VisitDirection,
        mut visitor: F,
    ) -> Result<bool, Error> {
        let mut iter = self.iter(key, dir);
        while let Some(entry) = iter.next().await {
            let (key, value) = entry?;
            if !visitor(&key, value) {
                return Ok(false);
            }
        }
        Ok(!iter.stopped_before_start())
    }

    /// An iterator over the leaf entries from `start` on, in direction `dir` (the entries
    /// [`visit`](Self::visit) would give).
    pub fn iter(&self, start: &[u8; L], dir: VisitDirection) -> BtreeIter<'_, R, L> {
        BtreeIter::new(self, *start, dir, false)
    }

    /// Reads the whole tree and checks every rule of FORMAT.md section 9 items 6–13 on every
    /// node (key order, value markers, zero padding, levels, downlinks, first keys).
    pub async fn verify(&self) -> Result<TreeStats, Error> {
        let mut iter = BtreeIter::new(self, [0; L], VisitDirection::Forwards, true);
        while let Some(entry) = iter.next().await {
            entry?;
        }
        Ok(iter.stats)
    }

    fn corrupt(&self, blkno: u32, problem: NodeProblem) -> Error {
        Error::Corrupt(Corruption::Node {
            blkno: BlockNo(blkno),
            file_blkno: BlockNo(self.start_blk.wrapping_add(blkno)),
            problem,
        })
    }

    fn decode<'b>(&self, blkno: u32, block: &'b Block) -> Result<NodeView<'b, L>, Error> {
        NodeView::decode(block).map_err(|p| self.corrupt(blkno, p))
    }

    async fn read_root(&self) -> Result<Block, Error> {
        let n_index_blocks = self.n_index_blocks();
        if self.root_blk >= n_index_blocks {
            return Err(Error::Corrupt(Corruption::RootOutOfRange {
                root: self.root_blk,
                n_index_blocks,
            }));
        }
        self.read_node(self.root_blk).await
    }

    async fn read_node(&self, blkno: u32) -> Result<Block, Error> {
        let file_blkno = self
            .start_blk
            .checked_add(blkno)
            .ok_or(Corruption::RootOutOfRange {
                root: blkno,
                n_index_blocks: self.n_index_blocks(),
            })?;
        Ok(self.reader.read_block(BlockNo(file_blkno)).await?)
    }

    /// Follows downlink `entry_idx` of `parent` (at `parent_blk`), checking the downlink and
    /// the child's header, level and first key.
    async fn read_child(
        &self,
        parent_blk: u32,
        parent: &NodeView<'_, L>,
        entry_idx: usize,
    ) -> Result<(u32, Block), Error> {
        let child = parent
            .downlink(entry_idx)
            .map_err(|p| self.corrupt(parent_blk, p))?;
        if child >= parent_blk {
            let problem = NodeProblem::ChildNotBelowParent {
                entry_idx,
                child: BlockNo(child),
            };
            return Err(self.corrupt(parent_blk, problem));
        }
        let downlink_key = parent.key(entry_idx);
        let block = self.read_node(child).await?;
        let node = self.decode(child, &block)?;
        let expected = parent.level().saturating_sub(1);
        if node.level() != expected {
            let problem = NodeProblem::WrongLevel {
                level: node.level(),
                expected,
            };
            return Err(self.corrupt(child, problem));
        }
        if node.cmp_key(0, &downlink_key).is_ne() {
            let problem = NodeProblem::FirstKeyMismatch {
                parent: BlockNo(parent_blk),
                entry_idx,
            };
            return Err(self.corrupt(child, problem));
        }
        Ok((child, block))
    }
}

/// An async iterator over leaf entries, from [`DiskBtreeReader::iter`].
///
/// It holds the path from the root to the current leaf as [`Block`] handles, so it keeps no
/// lock or guard across awaits. After an error it is finished.
#[derive(Debug)]
pub struct BtreeIter<'a, R, const L: usize> {
    tree: &'a DiskBtreeReader<R, L>,
    search: [u8; L],
    dir: VisitDirection,
    state: IterState,
    /// Root first; the last frame is the node whose entries are being taken.
    path: Vec<Frame>,
    /// The key returned last, to check scan order.
    last_key: Option<[u8; L]>,
    /// Check every rule on every node entered (for `verify`).
    strict: bool,
    stats: TreeStats,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IterState {
    NotStarted,
    Running,
    /// The scan ran out of entries.
    Exhausted,
    /// A backwards scan started before the smallest key.
    BeforeStart,
    /// An error was returned.
    Failed,
}

/// What [`BtreeIter::advance`] found.
enum Advance<const L: usize> {
    /// The next entry.
    Entry([u8; L], u64),
    /// The scan is over.
    End,
    /// The first descent from the root is due.
    NotStarted,
    /// Downlink `entry_idx` of the node (block number, block) is to be followed.
    Descend(u32, Block, usize),
}

#[derive(Debug)]
struct Frame {
    blkno: u32,
    block: Block,
    /// Forwards: index of the next entry to take. Backwards: that index plus one (0 = done).
    next: usize,
    /// Whether an entry was already taken from this node (for the order check between them).
    taken: bool,
}

impl<'a, R: BlockReader, const L: usize> BtreeIter<'a, R, L> {
    fn new(
        tree: &'a DiskBtreeReader<R, L>,
        search: [u8; L],
        dir: VisitDirection,
        strict: bool,
    ) -> Self {
        BtreeIter {
            tree,
            search,
            dir,
            state: IterState::NotStarted,
            path: Vec::new(),
            last_key: None,
            strict,
            stats: TreeStats::default(),
        }
    }

    /// The next entry, `None` at the end (or after an error).
    pub async fn next(&mut self) -> Option<Result<([u8; L], u64), Error>> {
        loop {
            // Usually the next entry is in the current leaf: no I/O, no await.
            let io = match self.advance() {
                Ok(Advance::Entry(key, value)) => return Some(Ok((key, value))),
                Ok(Advance::End) => return None,
                Ok(Advance::NotStarted) => self.descend_first().await,
                Ok(Advance::Descend(blkno, block, entry_idx)) => {
                    self.descend(blkno, block, entry_idx).await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = io {
                self.state = IterState::Failed;
                self.path.clear();
                return Some(Err(e));
            }
        }
    }

    /// True once a backwards scan found its start key below the smallest key: it gives no
    /// entries, and Neon's `visit` returns false for it.
    pub fn stopped_before_start(&self) -> bool {
        self.state == IterState::BeforeStart
    }

    /// Takes the next entry of the deepest node on the path, popping finished nodes. Does no
    /// I/O: a downlink to follow is returned as [`Advance::Descend`].
    fn advance(&mut self) -> Result<Advance<L>, Error> {
        match self.state {
            IterState::NotStarted => return Ok(Advance::NotStarted),
            IterState::Running => {}
            IterState::Exhausted | IterState::BeforeStart | IterState::Failed => {
                return Ok(Advance::End);
            }
        }
        let tree = self.tree;
        loop {
            let Some(frame) = self.path.last_mut() else {
                self.state = IterState::Exhausted;
                return Ok(Advance::End);
            };
            let node = tree.decode(frame.blkno, &frame.block)?;
            let entry_idx = match self.dir {
                VisitDirection::Forwards if frame.next < node.n_children() => {
                    frame.next += 1;
                    frame.next - 1
                }
                VisitDirection::Backwards if frame.next > 0 => {
                    frame.next -= 1;
                    frame.next
                }
                _ => {
                    self.path.pop();
                    continue;
                }
            };
            let blkno = frame.blkno;
            if node.is_leaf() {
                let key = node.key(entry_idx);
                let value = node
                    .leaf_value(entry_idx)
                    .map_err(|p| tree.corrupt(blkno, p))?;
                if let Some(last_key) = &self.last_key {
                    let in_order = match self.dir {
                        VisitDirection::Forwards => key > *last_key,
                        VisitDirection::Backwards => key < *last_key,
                    };
                    if !in_order {
                        return Err(tree.corrupt(blkno, NodeProblem::OutOfOrder { entry_idx }));
                    }
                }
                self.last_key = Some(key);
                self.stats.n_entries += 1;
                return Ok(Advance::Entry(key, value));
            }
            if frame.taken {
                let later = match self.dir {
                    VisitDirection::Forwards => entry_idx,
                    VisitDirection::Backwards => entry_idx + 1,
                };
                node.check_ascending_at(later)
                    .map_err(|p| tree.corrupt(blkno, p))?;
            }
            frame.taken = true;
            return Ok(Advance::Descend(blkno, frame.block.clone(), entry_idx));
        }
    }

    /// Follows downlink `entry_idx` of the node at `blkno` and enters the child at its first
    /// entry in scan order (FORMAT.md 6.5: a resumed sibling's binary search lands there).
    async fn descend(&mut self, blkno: u32, block: Block, entry_idx: usize) -> Result<(), Error> {
        let parent = self.tree.decode(blkno, &block)?;
        let (child, child_block) = self.tree.read_child(blkno, &parent, entry_idx).await?;
        self.enter(child, child_block, None)
    }

    /// The first descent: binary search from the root down to a leaf (FORMAT.md 6.5 step 3).
    async fn descend_first(&mut self) -> Result<(), Error> {
        self.state = IterState::Running;
        let tree = self.tree;
        let mut blkno = tree.root_blk;
        let mut block = tree.read_root().await?;
        loop {
            let node = tree.decode(blkno, &block)?;
            if self.strict && self.stats.depth == 0 {
                self.stats.depth = u32::from(node.level()) + 1;
            }
            let found = node.search(&self.search);
            let entry_idx = match (self.dir, found) {
                (_, Ok(i)) => i,
                (VisitDirection::Forwards, Err(i)) if node.is_leaf() => i,
                (VisitDirection::Forwards, Err(i)) => i.saturating_sub(1),
                (VisitDirection::Backwards, Err(0)) => {
                    self.state = IterState::BeforeStart;
                    self.path.clear();
                    return Ok(());
                }
                (VisitDirection::Backwards, Err(i)) => i - 1,
            };
            if node.is_leaf() {
                return self.enter(blkno, block, Some(entry_idx));
            }
            let (child, child_block) = tree.read_child(blkno, &node, entry_idx).await?;
            self.enter(blkno, block, Some(entry_idx))?;
            if let Some(frame) = self.path.last_mut() {
                frame.taken = true;
                frame.next = match self.dir {
                    VisitDirection::Forwards => entry_idx + 1,
                    VisitDirection::Backwards => entry_idx,
                };
            }
            blkno = child;
            block = child_block;
        }
    }

    /// Pushes a frame for a node, to be read from `start` (or from its first entry in scan
    /// order when `None`), checking all its entries first in strict mode.
    fn enter(&mut self, blkno: u32, block: Block, start: Option<usize>) -> Result<(), Error> {
        let node = self.tree.decode(blkno, &block)?;
        if self.strict {
            node.check_entries()
                .and_then(|()| format::check_padding(&block, node.used_len()))
                .map_err(|p| self.tree.corrupt(blkno, p))?;
            self.stats.n_nodes += 1;
        }
        let next = match (self.dir, start) {
            (VisitDirection::Forwards, Some(i)) => i,
            (VisitDirection::Forwards, None) => 0,
            (VisitDirection::Backwards, Some(i)) => i + 1,
            (VisitDirection::Backwards, None) => node.n_children(),
        };
        self.path.push(Frame {
            blkno,
            block,
            next,
            taken: false,
        });
        Ok(())
    }
}
