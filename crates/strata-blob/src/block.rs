//! Blocks: the 8 KiB unit of every layer file, and the traits that read and write them.
//!
//! Invariants:
//! * A [`Block`] always holds exactly [`PAGE_SIZE`] bytes and is immutable once shared.
//! * A [`BlockReader`] returns a whole block or an error; a block past the end (including a
//!   partial last block) is [`Corruption::BlockPastEnd`], never a short buffer.
//! * A [`BlockWriter`] numbers blocks 0, 1, 2, … in the order they are written.

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use crate::error::{Corruption, Error};
use crate::slab::{SlabPage, SlabRun};

/// Size of a block (Neon's `PAGE_SZ`).
pub const PAGE_SIZE: usize = 8192;

/// A block number within one file (or one region of a file, where a caller says so).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct BlockNo(pub u32);

impl BlockNo {
    /// Byte offset of this block's first byte.
    pub fn byte_offset(self) -> u64 {
        u64::from(self.0) * PAGE_SIZE as u64
    }
}

impl BlockNo {
    /// The number of the block after `count` blocks (block `count`, counting from 0), or
    /// [`Error::TooManyBlocks`] past `u32::MAX`: what an appending writer numbers its next
    /// block.
    pub fn after(count: u64) -> Result<BlockNo, Error> {
        u32::try_from(count)
            .map(BlockNo)
            .map_err(|_| Error::TooManyBlocks {
                n_blocks: count.saturating_add(1),
            })
    }
}

impl fmt::Display for BlockNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An immutable 8 KiB block, cheap to clone (a reference count). Its bytes are a heap
/// allocation of their own, or a page of a [`PageSlab`](crate::PageSlab) (a cache's memory).
#[derive(Clone)]
pub struct Block(pub(crate) Repr);

#[derive(Clone)]
pub(crate) enum Repr {
    Heap(Arc<[u8; PAGE_SIZE]>),
    Slab(SlabPage),
}

impl Block {
    /// A block of zeros.
    pub fn zeroed() -> Block {
        Block(Repr::Heap(Arc::new([0u8; PAGE_SIZE])))
    }

    /// A block holding a copy of `bytes`.
    pub fn from_array(bytes: &[u8; PAGE_SIZE]) -> Block {
        Block(Repr::Heap(Arc::new(*bytes)))
    }

    pub(crate) fn from_slab(page: SlabPage) -> Block {
        Block(Repr::Slab(page))
    }

    /// Mutable access while this handle is the only one; `None` once it is shared.
    pub fn get_mut(&mut self) -> Option<&mut [u8; PAGE_SIZE]> {
        match &mut self.0 {
            Repr::Heap(bytes) => Arc::get_mut(bytes),
            Repr::Slab(page) => page.get_mut(),
        }
    }

    /// Number of handles to this block's bytes (for caches deciding what they may reuse).
    pub fn handle_count(this: &Block) -> usize {
        match &this.0 {
            Repr::Heap(bytes) => Arc::strong_count(bytes),
            Repr::Slab(page) => page.handle_count(),
        }
    }

    /// [`handle_count`](Block::handle_count) less the handles [`PageRun`]s of slab pages hold:
    /// what pins a page in a cache. A run lends bytes the way a copy would give them, so a
    /// cache may evict a page only runs hold (its bytes then live on outside the cache, as
    /// long as the runs do); but it must not reuse the page's memory while any handle is left.
    pub fn pinning_count(this: &Block) -> usize {
        match &this.0 {
            Repr::Heap(bytes) => Arc::strong_count(bytes),
            Repr::Slab(page) => page.pinning_count(),
        }
    }
}

impl Deref for Block {
    type Target = [u8; PAGE_SIZE];

    fn deref(&self) -> &[u8; PAGE_SIZE] {
        match &self.0 {
            Repr::Heap(bytes) => bytes,
            Repr::Slab(page) => page.bytes(),
        }
    }
}

impl fmt::Debug for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Block").finish_non_exhaustive()
    }
}

/// Most blocks a [`PageRun`] joins: one slab extent (2 MiB), so a scan's run of 256 KiB can be
/// lent whole.
pub const MAX_RUN_PAGES: usize = crate::slab::PAGES_PER_EXTENT;

/// The bytes of consecutive blocks as one slice, without a copy: one block, or consecutive
/// pages of one [`PageSlab`](crate::PageSlab) extent (a cache's pages filled by one run are
/// such). It holds a handle to each of its pages, so they stay as they are while it lives; a
/// run of slab pages holds *lent* handles, which do not pin the pages in a cache
/// ([`Block::pinning_count`]).
///
/// ```
/// use strata_blob::{PAGE_SIZE, PageRun, PageSlab};
///
/// let slab = PageSlab::new(8);
/// let mut pages = vec![slab.take(), slab.take()];
/// pages[0].get_mut().expect("one handle").fill(1);
/// pages[1].get_mut().expect("one handle").fill(2);
/// let run = PageRun::join(&pages).expect("consecutive pages of one extent");
/// assert_eq!(run.len(), 2 * PAGE_SIZE);
/// let straddling = run.share(PAGE_SIZE - 2..PAGE_SIZE + 2).expect("inside the run");
/// assert_eq!(&straddling[..], &[1, 1, 2, 2]);
/// ```
pub struct PageRun(RunRepr);

enum RunRepr {
    One(Block),
    Slab(SlabRun),
}

impl PageRun {
    /// `blocks` (at most [`MAX_RUN_PAGES`]) as one run: `Some` for one heap block, and for slab
    /// pages that are consecutive pages of one extent, in order; `None` otherwise.
    pub fn join<'a>(blocks: impl IntoIterator<Item = &'a Block>) -> Option<PageRun> {
        let mut run = PageRunBuilder::default();
        for block in blocks {
            if !run.push(block) {
                return None;
            }
        }
        run.finish()
    }

    /// The bytes `range` of the run as [`Bytes`] that keep alive only the pages the range
    /// covers (no copy); `None` when the range is not inside the run.
    pub fn share(&self, range: std::ops::Range<usize>) -> Option<Bytes> {
        if range.start > range.end || range.end > self.len() {
            return None;
        }
        if range.is_empty() {
            return Some(Bytes::new());
        }
        let from = range.start / PAGE_SIZE;
        let to = range.end.div_ceil(PAGE_SIZE);
        let base = from * PAGE_SIZE;
        let owner = match &self.0 {
            RunRepr::One(block) => PageRun(RunRepr::One(block.clone())),
            RunRepr::Slab(run) => {
                let (from, to) = (u16::try_from(from).ok()?, u16::try_from(to).ok()?);
                PageRun(RunRepr::Slab(run.pages(from, to)?))
            }
        };
        Some(Bytes::from_owner(owner).slice(range.start - base..range.end - base))
    }
}

/// Builds a [`PageRun`] from blocks one at a time, each only borrowed (a cache's pages, each
/// under its own lock): a slab page adds a lent handle to the run, no other handle.
#[derive(Default)]
pub struct PageRunBuilder {
    run: Option<RunRepr>,
    /// Whether only slab pages are taken (lent handles, which pin nothing).
    lent_only: bool,
}

impl PageRunBuilder {
    /// A builder that takes slab pages only: what it builds holds lent handles alone, so it
    /// pins nothing in a cache ([`Block::pinning_count`]).
    pub fn lent_only() -> PageRunBuilder {
        PageRunBuilder {
            run: None,
            lent_only: true,
        }
    }

    /// Adds `block` when it continues the run ([`PageRun::join`]'s rule: the first block, or
    /// the slab page right after the run's last, up to [`MAX_RUN_PAGES`]); `false` otherwise,
    /// the run unchanged.
    pub fn push(&mut self, block: &Block) -> bool {
        match (&mut self.run, &block.0) {
            (None, Repr::Slab(page)) => {
                self.run = Some(RunRepr::Slab(SlabRun::of(page)));
                true
            }
            (None, Repr::Heap(_)) if !self.lent_only => {
                self.run = Some(RunRepr::One(block.clone()));
                true
            }
            (Some(RunRepr::Slab(run)), Repr::Slab(page)) => run.extend(page, MAX_RUN_PAGES),
            _ => false,
        }
    }

    /// The run built, `None` if no block was added.
    pub fn finish(self) -> Option<PageRun> {
        self.run.map(PageRun)
    }
}

impl fmt::Debug for PageRunBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pages = self
            .run
            .as_ref()
            .map_or(0, |run| PageRun::bytes_of(run).len() / PAGE_SIZE);
        f.debug_struct("PageRunBuilder")
            .field("pages", &pages)
            .field("lent_only", &self.lent_only)
            .finish()
    }
}

impl PageRun {
    /// The bytes of a run's representation.
    fn bytes_of(run: &RunRepr) -> &[u8] {
        match run {
            RunRepr::One(block) => &block[..],
            RunRepr::Slab(run) => run.bytes(),
        }
    }
}

impl Deref for PageRun {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        PageRun::bytes_of(&self.0)
    }
}

impl AsRef<[u8]> for PageRun {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl fmt::Debug for PageRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PageRun")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// Reads whole blocks of immutable data.
///
/// Implementations: [`MemBlockReader`] here, files and the open-file table elsewhere in this
/// crate, and the page cache in `strata-cache`, which wraps any reader.
pub trait BlockReader: Send + Sync {
    /// Reads block `blkno`.
    fn read_block(&self, blkno: BlockNo) -> impl Future<Output = Result<Block, Error>> + Send;

    /// Number of whole blocks the source holds.
    fn n_blocks(&self) -> u32;

    /// Reads `buf.len() / PAGE_SIZE` consecutive blocks starting at `first` into `buf`, in one
    /// I/O where the source allows. `buf.len()` must be a multiple of [`PAGE_SIZE`].
    fn read_blocks(
        &self,
        first: BlockNo,
        buf: &mut [u8],
    ) -> impl Future<Output = Result<(), Error>> + Send {
        async move {
            let mut blkno = first;
            for chunk in buf.chunks_mut(PAGE_SIZE) {
                let block = self.read_block(blkno).await?;
                let n = chunk.len();
                chunk.copy_from_slice(&block[..n]);
                blkno = BlockNo(blkno.0.checked_add(1).ok_or(Corruption::BlockPastEnd {
                    blkno,
                    n_blocks: self.n_blocks(),
                })?);
            }
            Ok(())
        }
    }

    /// Calls `f` with the bytes of block `blkno` and returns what it returns.
    ///
    /// The same bytes as [`read_block`](Self::read_block), for a caller that only looks at
    /// them: a source may then lend its own copy without making a handle. The page cache does
    /// so on a hit: `f` runs on the cached page under the cache's shard lock, so a hit costs
    /// no reference count (no write to the page's cache line). `f` must therefore be short
    /// and must not read through the same cache (it would wait on a lock its caller holds).
    /// The default reads the block and calls `f` on it.
    fn with_block<T, F>(
        &self,
        blkno: BlockNo,
        f: F,
    ) -> impl Future<Output = Result<T, Error>> + Send
    where
        T: Send,
        F: FnOnce(&[u8; PAGE_SIZE]) -> T + Send,
    {
        async move {
            let block = self.read_block(blkno).await?;
            Ok(f(&block))
        }
    }

    /// Reads the `buf.len()` bytes at byte `offset` into `buf`: the exact bytes of a point read
    /// that needs part of a few blocks. Every block touched must lie within
    /// [`n_blocks`](Self::n_blocks) ([`Corruption::BlockPastEnd`] otherwise, before any read).
    /// Files read the range with one `pread`; the page cache copies the pages it holds and
    /// reads the rest from its source (see strata-cache's `CachedReader`). The default copies
    /// block by block through [`with_block`](Self::with_block).
    fn read_at(
        &self,
        offset: u64,
        buf: &mut [u8],
    ) -> impl Future<Output = Result<(), Error>> + Send {
        async move {
            check_byte_range(offset, buf.len(), self.n_blocks())?;
            let mut at = offset;
            let mut rest = buf;
            while !rest.is_empty() {
                let in_block = (at % PAGE_SIZE as u64) as usize;
                let n = rest.len().min(PAGE_SIZE - in_block);
                let (dst, tail) = rest.split_at_mut(n);
                let blkno = u32::try_from(at / PAGE_SIZE as u64).unwrap_or(u32::MAX);
                self.with_block(BlockNo(blkno), |page| {
                    dst.copy_from_slice(page.get(in_block..in_block + n).unwrap_or_default());
                })
                .await?;
                rest = tail;
                at += n as u64;
            }
            Ok(())
        }
    }

    /// Appends the `len` bytes at byte `offset` to `out` (the bytes [`read_at`](Self::read_at)
    /// gives), so a caller gathering several ranges into one buffer need not zero it first. On
    /// an error `out` is as it was. The page cache copies the pages it holds straight into
    /// `out`; the default zero-extends `out` and calls `read_at`.
    fn append_at(
        &self,
        offset: u64,
        len: usize,
        out: &mut BytesMut,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        async move {
            check_byte_range(offset, len, self.n_blocks())?;
            let from = out.len();
            out.resize(from + len, 0);
            let res = self
                .read_at(offset, out.get_mut(from..).unwrap_or_default())
                .await;
            if res.is_err() {
                out.truncate(from);
            }
            res
        }
    }

    /// Blocks `first..first + n` as one [`PageRun`], lent without a copy, when this reader
    /// holds them in memory already (the page cache: pages it holds, consecutive in its
    /// memory); `None` otherwise, and always by default. It does no I/O and reports no error:
    /// on `None` a caller reads the bytes another way ([`append_at`](Self::append_at)).
    fn lend_pages(&self, first: BlockNo, n: usize) -> Option<PageRun> {
        let _ = (first, n);
        None
    }
}

/// Checks that the `len` bytes at `offset` lie within `n_blocks` whole blocks, naming the
/// first block that is missing otherwise.
pub fn check_byte_range(offset: u64, len: usize, n_blocks: u32) -> Result<(), Error> {
    let end = offset.saturating_add(len as u64);
    if end <= u64::from(n_blocks) * PAGE_SIZE as u64 {
        return Ok(());
    }
    let first_missing = (offset / PAGE_SIZE as u64).max(u64::from(n_blocks));
    Err(Error::Corrupt(Corruption::BlockPastEnd {
        blkno: BlockNo(u32::try_from(first_missing).unwrap_or(u32::MAX)),
        n_blocks,
    }))
}

/// Implements [`BlockReader`] for a pointer type by forwarding every method to the reader
/// it points to (so an overridden method keeps its fast path behind the pointer).
macro_rules! forward_block_reader {
    ($($ptr:ty),*) => {$(
        impl<R: BlockReader> BlockReader for $ptr {
            fn read_block(&self, blkno: BlockNo) -> impl Future<Output = Result<Block, Error>> + Send {
                (**self).read_block(blkno)
            }

            fn n_blocks(&self) -> u32 {
                (**self).n_blocks()
            }

            fn read_blocks(
                &self,
                first: BlockNo,
                buf: &mut [u8],
            ) -> impl Future<Output = Result<(), Error>> + Send {
                (**self).read_blocks(first, buf)
            }

            fn with_block<T, F>(
                &self,
                blkno: BlockNo,
                f: F,
            ) -> impl Future<Output = Result<T, Error>> + Send
            where
                T: Send,
                F: FnOnce(&[u8; PAGE_SIZE]) -> T + Send,
            {
                (**self).with_block(blkno, f)
            }

            fn read_at(
                &self,
                offset: u64,
                buf: &mut [u8],
            ) -> impl Future<Output = Result<(), Error>> + Send {
                (**self).read_at(offset, buf)
            }

            fn append_at(
                &self,
                offset: u64,
                len: usize,
                out: &mut BytesMut,
            ) -> impl Future<Output = Result<(), Error>> + Send {
                (**self).append_at(offset, len, out)
            }

            fn lend_pages(&self, first: BlockNo, n: usize) -> Option<PageRun> {
                (**self).lend_pages(first, n)
            }
        }
    )*};
}

forward_block_reader!(&R, Arc<R>);

/// An append-only, synchronous sink of blocks.
pub trait BlockWriter {
    /// Appends one block and returns its number.
    fn write_block(&mut self, block: &[u8; PAGE_SIZE]) -> Result<BlockNo, Error>;
}

/// Collects written blocks in memory (Neon's `BlockBuf`): the B-tree builder's usual sink.
#[derive(Debug, Default, Clone)]
pub struct BlockBuf {
    blocks: Vec<Block>,
}

impl BlockBuf {
    /// An empty buffer.
    pub fn new() -> BlockBuf {
        BlockBuf::default()
    }

    /// Number of blocks written.
    pub fn n_blocks(&self) -> u32 {
        self.blocks.len() as u32
    }

    /// The written blocks, in order.
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// Consumes the buffer, giving its blocks.
    pub fn into_blocks(self) -> Vec<Block> {
        self.blocks
    }

    /// A reader over the written blocks.
    pub fn into_reader(self) -> MemBlockReader {
        MemBlockReader::from_blocks(self.blocks)
    }
}

impl BlockWriter for BlockBuf {
    fn write_block(&mut self, block: &[u8; PAGE_SIZE]) -> Result<BlockNo, Error> {
        let blkno = BlockNo::after(self.blocks.len() as u64)?;
        self.blocks.push(Block::from_array(block));
        Ok(blkno)
    }
}

/// Serves blocks from memory: for tests, fuzzing, and data already loaded. It lends its blocks
/// ([`BlockReader::lend_pages`]) where they join as one run of memory.
#[derive(Debug, Clone, Default)]
pub struct MemBlockReader {
    blocks: Arc<[Block]>,
}

impl MemBlockReader {
    /// Blocks given one by one.
    pub fn from_blocks(blocks: Vec<Block>) -> MemBlockReader {
        MemBlockReader {
            blocks: blocks.into(),
        }
    }

    /// Splits `bytes` into blocks; a partial last block is dropped, as a file's would be
    /// unreadable.
    pub fn from_bytes(bytes: &[u8]) -> MemBlockReader {
        let blocks = bytes
            .chunks_exact(PAGE_SIZE)
            .map(|c| {
                let arr: &[u8; PAGE_SIZE] = c.try_into().expect("chunks_exact gives whole blocks");
                Block::from_array(arr)
            })
            .collect();
        MemBlockReader::from_blocks(blocks)
    }
}

impl BlockReader for MemBlockReader {
    async fn read_block(&self, blkno: BlockNo) -> Result<Block, Error> {
        self.blocks.get(blkno.0 as usize).cloned().ok_or_else(|| {
            Error::Corrupt(Corruption::BlockPastEnd {
                blkno,
                n_blocks: self.n_blocks(),
            })
        })
    }

    fn n_blocks(&self) -> u32 {
        self.blocks.len() as u32
    }

    async fn with_block<T, F>(&self, blkno: BlockNo, f: F) -> Result<T, Error>
    where
        T: Send,
        F: FnOnce(&[u8; PAGE_SIZE]) -> T + Send,
    {
        match self.blocks.get(blkno.0 as usize) {
            Some(block) => Ok(f(block)),
            None => Err(Error::Corrupt(Corruption::BlockPastEnd {
                blkno,
                n_blocks: self.n_blocks(),
            })),
        }
    }

    /// Its blocks are in memory already: lent when [`PageRun::join`] joins them (one block, or
    /// consecutive slab pages given to [`from_blocks`](MemBlockReader::from_blocks)).
    fn lend_pages(&self, first: BlockNo, n: usize) -> Option<PageRun> {
        let first = first.0 as usize;
        PageRun::join(self.blocks.get(first..first.checked_add(n)?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_numbers_stop_at_u32_max() {
        assert_eq!(BlockNo::after(0).ok(), Some(BlockNo(0)));
        assert_eq!(
            BlockNo::after(u64::from(u32::MAX)).ok(),
            Some(BlockNo(u32::MAX))
        );
        let err = BlockNo::after(u64::from(u32::MAX) + 1);
        assert!(matches!(
            err,
            Err(Error::TooManyBlocks { n_blocks }) if n_blocks == u64::from(u32::MAX) + 2
        ));
        assert!(matches!(
            BlockNo::after(u64::MAX),
            Err(Error::TooManyBlocks { n_blocks: u64::MAX })
        ));
        // BlockBuf numbers its blocks with it.
        let mut buf = BlockBuf::new();
        assert_eq!(buf.write_block(&[1; PAGE_SIZE]).ok(), Some(BlockNo(0)));
        assert_eq!(buf.write_block(&[2; PAGE_SIZE]).ok(), Some(BlockNo(1)));
    }
}
