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
//! * Every descent (get, visit, the iterators, verify) looks at one tree page at a time, and
//!   only inside a synchronous call ([`BlockReader::with_block`]): a downlink is copied out of
//!   its parent ([`Downlink`]) before the child is read, and an iterator copies leaf entries
//!   out in batches, holding no page between calls. Through a page cache a hit makes no page
//!   handle at all, and a miss holds its one page only while it is searched.

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use strata_blob::{BlockNo, BlockReader, PAGE_SIZE};

use crate::error::{Corruption, Error, NodeProblem};
use crate::format::{self, MAX_KEY_LEN, NodeView};
use crate::leaf_run;

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
        self.check_root()?;
        let level = self
            .with_node(self.root_blk, |page| {
                self.decode(self.root_blk, page).map(|node| node.level())
            })
            .await??;
        Ok(u32::from(level) + 1)
    }

    /// The value stored under `key`, if any (Neon's `get`: a forwards visit that stops at once).
    ///
    /// Holds one tree page at a time, and only while it searches it: a parent is released
    /// before its child is read.
    pub async fn get(&self, key: &[u8; L]) -> Result<Option<u64>, Error> {
        self.check_root()?;
        let mut blkno = self.root_blk;
        let mut parent: Option<Downlink<L>> = None;
        loop {
            let step: Result<Result<Option<u64>, Downlink<L>>, Error> = self
                .with_node(blkno, |page| {
                    if let Some(downlink) = &parent {
                        self.check_child(downlink, page)?;
                    }
                    let node = self.decode(blkno, page)?;
                    let found = node.search(key);
                    if node.is_leaf() {
                        let value = match found {
                            Ok(entry_idx) => Some(
                                node.leaf_value(entry_idx)
                                    .map_err(|p| self.corrupt(blkno, p))?,
                            ),
                            Err(_) => None,
                        };
                        return Ok(Ok(value));
                    }
                    let entry_idx = found.unwrap_or_else(|i| i.saturating_sub(1));
                    Ok(Err(self.downlink(blkno, &node, entry_idx)?))
                })
                .await?;
            match step? {
                Ok(value) => return Ok(value),
                Err(downlink) => {
                    blkno = downlink.child;
                    parent = Some(downlink);
                }
            }
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

    /// [`iter`](Self::iter) taking up to `B` entries out of a leaf at once, not [`ITER_BATCH`]: a
    /// long scan spreads a batch's costs over more entries with a larger `B`.
    pub fn iter_batched<const B: usize>(
        &self,
        start: &[u8; L],
        dir: VisitDirection,
    ) -> BtreeIter<'_, R, L, B> {
        BtreeIter::new(self, *start, dir, false)
    }

    /// Reads the whole tree and checks every rule of FORMAT.md section 9 items 6–13 on every
    /// node (key order, value markers, zero padding, levels, downlinks, first keys).
    pub async fn verify(&self) -> Result<TreeStats, Error> {
        let mut iter: BtreeIter<'_, R, L> =
            BtreeIter::new(self, [0; L], VisitDirection::Forwards, true);
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

    fn decode<'b>(&self, blkno: u32, page: &'b [u8; PAGE_SIZE]) -> Result<NodeView<'b, L>, Error> {
        NodeView::decode(page).map_err(|p| self.corrupt(blkno, p))
    }

    /// The root must lie inside the index.
    fn check_root(&self) -> Result<(), Error> {
        let n_index_blocks = self.n_index_blocks();
        if self.root_blk >= n_index_blocks {
            return Err(Error::Corrupt(Corruption::RootOutOfRange {
                root: self.root_blk,
                n_index_blocks,
            }));
        }
        Ok(())
    }

    /// Calls `f` on the page of node `blkno` ([`BlockReader::with_block`]: through a page
    /// cache, a hit lends the cached page for the call and makes no handle).
    async fn with_node<T: Send>(
        &self,
        blkno: u32,
        f: impl FnOnce(&[u8; PAGE_SIZE]) -> T + Send,
    ) -> Result<T, Error> {
        let file_blkno = self
            .start_blk
            .checked_add(blkno)
            .ok_or(Corruption::RootOutOfRange {
                root: blkno,
                n_index_blocks: self.n_index_blocks(),
            })?;
        Ok(self.reader.with_block(BlockNo(file_blkno), f).await?)
    }

    /// Reads downlink `entry_idx` of `parent` (at `parent_blk`) and checks that it points
    /// strictly below the parent, so that the parent's page can be released before the child
    /// is read (and checked by [`check_child`](Self::check_child)).
    fn downlink(
        &self,
        parent_blk: u32,
        parent: &NodeView<'_, L>,
        entry_idx: usize,
    ) -> Result<Downlink<L>, Error> {
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
        Ok(Downlink {
            parent_blk,
            entry_idx,
            child,
            key: parent.key(entry_idx),
            level: parent.level().saturating_sub(1),
        })
    }

    /// Checks the child a downlink points to (its page is `page`): its header, level and
    /// first key.
    fn check_child(&self, downlink: &Downlink<L>, page: &[u8; PAGE_SIZE]) -> Result<(), Error> {
        let child = downlink.child;
        let node = self.decode(child, page)?;
        if node.level() != downlink.level {
            let problem = NodeProblem::WrongLevel {
                level: node.level(),
                expected: downlink.level,
            };
            return Err(self.corrupt(child, problem));
        }
        if node.cmp_key(0, &downlink.key).is_ne() {
            let problem = NodeProblem::FirstKeyMismatch {
                parent: BlockNo(downlink.parent_blk),
                entry_idx: downlink.entry_idx,
            };
            return Err(self.corrupt(child, problem));
        }
        Ok(())
    }
}

/// A downlink taken out of its parent's page: all a descent needs to read and check the child
/// once the parent is released.
struct Downlink<const L: usize> {
    parent_blk: u32,
    entry_idx: usize,
    child: u32,
    /// The downlink's key: the child's first key.
    key: [u8; L],
    /// The level the child must have.
    level: u8,
}

/// Most leaf entries an iterator takes out of a leaf's page at once (its `B`, unless the caller
/// of [`DiskBtreeReader::iter_batched`] chose another): each batch is twice the one before, up
/// to this (a scan's per-batch costs, the leaf's re-read and the climb, spread over many
/// entries; a short walk copies out little more than it reads). Between calls it holds no
/// page: the next batch re-reads the leaf (a cache hit, normally). The batch array lives in the
/// iterator, so every iterator zeroes `B` entries when made: a long scan wants more, a point
/// lookup fewer.
pub const ITER_BATCH: usize = 64;
/// Leaf entries of an iterator's first batch: a short walk (a page's history) copies out
/// little more than it reads.
const FIRST_BATCH: usize = 16;

/// An async iterator over leaf entries, from [`DiskBtreeReader::iter`].
///
/// It holds no tree page between calls and at most one during a call: the entries of the
/// current leaf are copied out up to `B` at a time ([`ITER_BATCH`] by default), and the internal
/// nodes above it are
/// remembered by block number and position only, read again when the scan climbs back to
/// them. Through a page cache, one iterator therefore pins at most one slot, and only while it
/// reads. After an error it is finished.
#[derive(Debug)]
pub struct BtreeIter<'a, R, const L: usize, const B: usize = ITER_BATCH> {
    tree: &'a DiskBtreeReader<R, L>,
    search: [u8; L],
    dir: VisitDirection,
    state: IterState,
    /// Internal nodes from the root down to the current leaf's parent (no pages held).
    path: Vec<Frame>,
    /// The leaf whose entries are being taken, while it has entries not yet in `batch`.
    leaf: Option<Frame>,
    /// Entries copied out of the current leaf, in scan order.
    batch: [([u8; L], u64); B],
    batch_len: usize,
    batch_pos: usize,
    /// The size of the next batch: [`FIRST_BATCH`] (or what `set_first_batch` says), then
    /// twice the one before, up to `B`.
    batch_cap: usize,
    /// A problem met while copying (at the leaf's block), reported after the entries before it.
    batch_problem: Option<(u32, NodeProblem)>,
    /// The leaf the batch was copied from.
    batch_blkno: u32,
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

/// A node on the path (or the current leaf), by block number: its page is not held.
#[derive(Debug, Clone, Copy)]
struct Frame {
    blkno: u32,
    /// Forwards: index of the next entry to take. Backwards: that index plus one (0 = done).
    next: usize,
    /// Whether an entry was already taken from this node (for the order check between them).
    taken: bool,
}

/// The entry index a cursor at `next` gives in direction `dir`, advancing it; `None` once
/// the node is used up.
fn take_index(dir: VisitDirection, next: &mut usize, n_children: usize) -> Option<usize> {
    match dir {
        VisitDirection::Forwards if *next < n_children => {
            *next += 1;
            Some(*next - 1)
        }
        VisitDirection::Backwards if *next > 0 => {
            *next -= 1;
            Some(*next)
        }
        _ => None,
    }
}

impl<'a, R: BlockReader, const L: usize, const B: usize> BtreeIter<'a, R, L, B> {
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
            leaf: None,
            batch: [([0; L], 0); B],
            batch_len: 0,
            batch_pos: 0,
            batch_cap: FIRST_BATCH.clamp(1, B.max(1)),
            batch_problem: None,
            batch_blkno: 0,
            last_key: None,
            strict,
            stats: TreeStats::default(),
        }
    }

    /// Sets how many entries the first batch takes out of the first leaf (between 1 and the
    /// later batches' size; 16 unless set), for a walk that knows how few it
    /// needs: one for a key's newest version. No effect once the walk has started.
    pub fn set_first_batch(&mut self, n: usize) {
        if self.state == IterState::NotStarted {
            self.batch_cap = n.clamp(1, B.max(1));
        }
    }

    /// The next entry, `None` at the end (or after an error).
    pub async fn next(&mut self) -> Option<Result<([u8; L], u64), Error>> {
        // Usually the next entry is in the batch: taken without entering `step`'s future.
        let taken = match self.state {
            IterState::Running => self.take_from_batch(),
            _ => Ok(None),
        };
        let stepped = match taken {
            Ok(Some(entry)) => return Some(Ok(entry)),
            Ok(None) => self.step().await,
            Err(e) => Err(e),
        };
        match stepped {
            Ok(entry) => entry.map(Ok),
            Err(e) => {
                self.state = IterState::Failed;
                self.path.clear();
                self.leaf = None;
                self.batch_len = 0;
                Some(Err(e))
            }
        }
    }

    /// The entries the iterator holds already, copied out of a leaf before and checked: the
    /// next ones [`next`](Self::next) would return, in order, without I/O (empty when `next`
    /// must read, or has a problem to report). [`skip_buffered`](Self::skip_buffered) takes
    /// them.
    #[inline]
    pub fn buffered(&self) -> &[([u8; L], u64)] {
        match self.state {
            IterState::Running => self
                .batch
                .get(self.batch_pos..self.batch_len)
                .unwrap_or_default(),
            _ => &[],
        }
    }

    /// Takes the first `n` entries of [`buffered`](Self::buffered) (all of them if it holds
    /// fewer), as `n` calls of [`next`](Self::next) would.
    #[inline]
    pub fn skip_buffered(&mut self, n: usize) {
        let n = n.min(self.buffered().len());
        self.batch_pos += n;
        self.stats.n_entries += n as u64;
    }

    /// True once a backwards scan found its start key below the smallest key: it gives no
    /// entries, and Neon's `visit` returns false for it.
    pub fn stopped_before_start(&self) -> bool {
        self.state == IterState::BeforeStart
    }

    async fn step(&mut self) -> Result<Option<([u8; L], u64)>, Error> {
        if self.state == IterState::NotStarted {
            self.descend_first().await?;
        }
        if self.state != IterState::Running {
            return Ok(None);
        }
        loop {
            // Usually the next entry is in the batch: no I/O, no await.
            if let Some(entry) = self.take_from_batch()? {
                return Ok(Some(entry));
            }
            // A climb to the next leaf (rare) is boxed, so that its future does not enlarge
            // every step's.
            if let Some(leaf) = self.leaf {
                let tree = self.tree;
                tree.with_node(leaf.blkno, |page| self.fill_batch(page))
                    .await??;
            } else if !Box::pin(self.next_leaf()).await? {
                self.state = IterState::Exhausted;
                return Ok(None);
            }
        }
    }

    /// The next entry of the batch (checked for scan order), or the problem that ended it.
    fn take_from_batch(&mut self) -> Result<Option<([u8; L], u64)>, Error> {
        // `fill_batch` checked the batch's order (against the key returned before it too).
        let next = if self.batch_pos < self.batch_len {
            self.batch.get(self.batch_pos)
        } else {
            None
        };
        let Some(&(key, value)) = next else {
            return match self.batch_problem.take() {
                Some((blkno, problem)) => Err(self.tree.corrupt(blkno, problem)),
                None => Ok(None),
            };
        };
        self.batch_pos += 1;
        self.stats.n_entries += 1;
        Ok(Some((key, value)))
    }

    /// Copies the next entries of the current leaf (whose page is `block`) into the batch,
    /// up to `batch_cap` of them or a bad value, or one out of scan order (after the last key
    /// copied before, which the batch's last key then replaces); forgets the leaf once it is
    /// used up.
    fn fill_batch(&mut self, block: &[u8; PAGE_SIZE]) -> Result<(), Error> {
        let tree = self.tree;
        self.batch_len = 0;
        self.batch_pos = 0;
        let Some(leaf) = &mut self.leaf else {
            return Ok(());
        };
        let blkno = leaf.blkno;
        self.batch_blkno = blkno;
        let node = tree.decode(blkno, block)?;
        let n_children = node.n_children();
        let forwards = self.dir == VisitDirection::Forwards;
        // The keys of one node share its prefix: it is copied once, then only suffixes.
        let mut key = node.key(0);
        let (mut last_key, mut have_last) = match self.last_key {
            Some(last) => (last, true),
            None => (key, false),
        };
        let mut problem = None;
        let cap = self.batch_cap;
        self.batch_cap = cap.saturating_mul(2).min(B);
        let batch = match self.batch.get_mut(..cap) {
            Some(batch) => batch,
            None => &mut self.batch,
        };
        let copied = match forwards {
            true => leaf_run::copy_forwards(
                &node,
                leaf.next,
                batch,
                &mut key,
                have_last.then_some(&last_key),
            ),
            false => None,
        };
        if let Some((n, found)) = copied {
            // Forwards through consecutive entries (a full scan): the same checks as below.
            self.batch_len = n;
            leaf.next += n;
            problem = found;
            if let Some(&(key, _)) = n.checked_sub(1).and_then(|i| self.batch.get(i)) {
                last_key = key;
                have_last = true;
            }
        } else {
            for slot in batch {
                let Some(entry_idx) = take_index(self.dir, &mut leaf.next, n_children) else {
                    break;
                };
                let value = match node.leaf_value(entry_idx) {
                    Ok(value) => value,
                    Err(p) => {
                        problem = Some(p);
                        break;
                    }
                };
                node.write_suffix(entry_idx, &mut key);
                let order = if have_last {
                    leaf_run::cmp_key(&key, &last_key)
                } else {
                    std::cmp::Ordering::Greater
                };
                let in_order = if forwards {
                    order.is_gt()
                } else {
                    order.is_lt() || !have_last
                };
                if !in_order {
                    problem = Some(NodeProblem::OutOfOrder { entry_idx });
                    break;
                }
                *slot = (key, value);
                last_key = key;
                have_last = true;
                self.batch_len += 1;
            }
        }
        self.last_key = have_last.then_some(last_key);
        let left = match self.dir {
            VisitDirection::Forwards => n_children.saturating_sub(leaf.next),
            VisitDirection::Backwards => leaf.next,
        };
        if let Some(problem) = problem {
            self.batch_problem = Some((blkno, problem));
            self.leaf = None;
        } else if left == 0 {
            self.leaf = None;
        }
        Ok(())
    }

    /// Climbs from the used-up leaf to the nearest internal node with entries left and
    /// descends to the next leaf in scan order, entering each child at its first entry
    /// (FORMAT.md 6.5: a resumed sibling's binary search lands there). Each node's page is
    /// released before its child's is read. `false` when no leaf is left.
    async fn next_leaf(&mut self) -> Result<bool, Error> {
        let tree = self.tree;
        loop {
            let Some(&frame) = self.path.last() else {
                return Ok(false);
            };
            let downlink = tree
                .with_node(frame.blkno, |page| {
                    let node = tree.decode(frame.blkno, page)?;
                    let mut next = frame.next;
                    let Some(entry_idx) = take_index(self.dir, &mut next, node.n_children()) else {
                        self.path.pop();
                        return Ok(None);
                    };
                    if frame.taken {
                        let later = match self.dir {
                            VisitDirection::Forwards => entry_idx,
                            VisitDirection::Backwards => entry_idx + 1,
                        };
                        node.check_ascending_at(later)
                            .map_err(|p| tree.corrupt(frame.blkno, p))?;
                    }
                    if let Some(top) = self.path.last_mut() {
                        top.next = next;
                        top.taken = true;
                    }
                    tree.downlink(frame.blkno, &node, entry_idx).map(Some)
                })
                .await??;
            let Some(downlink) = downlink else {
                continue;
            };
            let child = downlink.child;
            let is_leaf = tree
                .with_node(child, |page| {
                    tree.check_child(&downlink, page)?;
                    self.enter(child, page, None)
                })
                .await??;
            if is_leaf {
                return Ok(true);
            }
        }
    }

    /// The first descent: binary search from the root down to a leaf (FORMAT.md 6.5 step 3),
    /// releasing each node's page before reading its child's.
    async fn descend_first(&mut self) -> Result<(), Error> {
        self.state = IterState::Running;
        let tree = self.tree;
        tree.check_root()?;
        let mut blkno = tree.root_blk;
        let mut parent: Option<Downlink<L>> = None;
        loop {
            let next = tree
                .with_node(blkno, |page| {
                    self.descend_step(blkno, page, parent.as_ref())
                })
                .await??;
            let Some(downlink) = next else {
                return Ok(());
            };
            blkno = downlink.child;
            parent = Some(downlink);
        }
    }

    /// One node of the first descent (its page is `page`, reached through `parent` unless it
    /// is the root): searched, and entered; the downlink to follow next, `None` once a leaf is
    /// current (or the scan starts before the smallest key).
    fn descend_step(
        &mut self,
        blkno: u32,
        page: &[u8; PAGE_SIZE],
        parent: Option<&Downlink<L>>,
    ) -> Result<Option<Downlink<L>>, Error> {
        let tree = self.tree;
        if let Some(downlink) = parent {
            tree.check_child(downlink, page)?;
        }
        let node = tree.decode(blkno, page)?;
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
                return Ok(None);
            }
            (VisitDirection::Backwards, Err(i)) => i - 1,
        };
        if node.is_leaf() {
            self.enter(blkno, page, Some(entry_idx))?;
            return Ok(None);
        }
        let downlink = tree.downlink(blkno, &node, entry_idx)?;
        self.enter(blkno, page, Some(entry_idx))?;
        if let Some(frame) = self.path.last_mut() {
            frame.taken = true;
            frame.next = match self.dir {
                VisitDirection::Forwards => entry_idx + 1,
                VisitDirection::Backwards => entry_idx,
            };
        }
        Ok(Some(downlink))
    }

    /// Makes a node current, to be read from `start` (or from its first entry in scan order
    /// when `None`), checking all its entries first in strict mode: a leaf keeps its page, an
    /// internal node is pushed on the path by block number and its page released. True for
    /// a leaf.
    fn enter(
        &mut self,
        blkno: u32,
        block: &[u8; PAGE_SIZE],
        start: Option<usize>,
    ) -> Result<bool, Error> {
        let node = self.tree.decode(blkno, block)?;
        if self.strict {
            node.check_entries()
                .and_then(|()| format::check_padding(block, node.used_len()))
                .map_err(|p| self.tree.corrupt(blkno, p))?;
            self.stats.n_nodes += 1;
        }
        let next = match (self.dir, start) {
            (VisitDirection::Forwards, Some(i)) => i,
            (VisitDirection::Forwards, None) => 0,
            (VisitDirection::Backwards, Some(i)) => i + 1,
            (VisitDirection::Backwards, None) => node.n_children(),
        };
        if node.is_leaf() {
            self.leaf = Some(Frame {
                blkno,
                next,
                taken: false,
            });
            self.fill_batch(block)?;
            Ok(true)
        } else {
            self.path.push(Frame {
                blkno,
                next,
                taken: false,
            });
            Ok(false)
        }
    }
}
