//! Type-erased block readers: [`DynBlockReader`], the `dyn`-compatible form of
//! [`BlockReader`], and [`SharedReader`], a cheap-to-clone handle to any reader that is itself
//! a [`BlockReader`].
//!
//! [`BlockReader`] returns `impl Future`, which makes it fast (no allocation, static
//! dispatch) but not `dyn`-compatible: a collection of readers of different types, or of
//! layers over them, cannot be written with it alone. [`DynBlockReader`] is the same three
//! operations with boxed futures, implemented for every [`BlockReader`]; a [`SharedReader`]
//! (`Arc<dyn DynBlockReader>`) turns the erased form back into a [`BlockReader`], so every
//! generic reader above (B-tree, blob cursor, layers) runs over it unchanged.
//!
//! Invariants:
//! * Erasure changes nothing but dispatch: every call is forwarded to the wrapped reader,
//!   including [`BlockReader::read_blocks`] (so a source's one-I/O multi-block read stays one
//!   I/O) and [`BlockReader::lend_pages`] (so a cache's pages are still lent), and every
//!   result, errors included, comes back unchanged.
//! * The cost is one virtual call and one boxed future per block read. Put the erasure below a
//!   page cache (`cache.wrap(SharedReader::new(file))`) and cache hits pay nothing; put it
//!   above (`SharedReader::new(cache.wrap(file))`) and every read, hit or miss, pays it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::block::{Block, BlockNo, BlockReader, PageRun};
use crate::error::Error;

/// A boxed, sendable future: what the methods of [`DynBlockReader`] return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The `dyn`-compatible form of [`BlockReader`], implemented for every [`BlockReader`].
///
/// The method names differ from [`BlockReader`]'s so that calling either trait's methods on a
/// reader is never ambiguous. Use it through [`SharedReader`].
pub trait DynBlockReader: Send + Sync {
    /// [`BlockReader::read_block`], boxed.
    fn read_block_dyn(&self, blkno: BlockNo) -> BoxFuture<'_, Result<Block, Error>>;

    /// [`BlockReader::n_blocks`].
    fn n_blocks_dyn(&self) -> u32;

    /// [`BlockReader::read_blocks`], boxed.
    fn read_blocks_dyn<'a>(
        &'a self,
        first: BlockNo,
        buf: &'a mut [u8],
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// [`BlockReader::lend_pages`].
    fn lend_pages_dyn(&self, first: BlockNo, n: usize) -> Option<PageRun>;
}

impl<R: BlockReader> DynBlockReader for R {
    fn read_block_dyn(&self, blkno: BlockNo) -> BoxFuture<'_, Result<Block, Error>> {
        Box::pin(self.read_block(blkno))
    }

    fn n_blocks_dyn(&self) -> u32 {
        self.n_blocks()
    }

    fn read_blocks_dyn<'a>(
        &'a self,
        first: BlockNo,
        buf: &'a mut [u8],
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.read_blocks(first, buf))
    }

    fn lend_pages_dyn(&self, first: BlockNo, n: usize) -> Option<PageRun> {
        self.lend_pages(first, n)
    }
}

/// Any block reader behind one type: an `Arc<dyn DynBlockReader>`, cheap to clone, and a
/// [`BlockReader`] itself. Layers over a `SharedReader` have one type whatever their source
/// (a cached file, memory, a caller's own reader), so they can share a collection.
#[derive(Clone)]
pub struct SharedReader(Arc<dyn DynBlockReader>);

impl SharedReader {
    /// Erases `reader`'s type.
    pub fn new<R: BlockReader + 'static>(reader: R) -> SharedReader {
        SharedReader(Arc::new(reader))
    }

    /// Shares an already shared erased reader.
    pub fn from_arc(reader: Arc<dyn DynBlockReader>) -> SharedReader {
        SharedReader(reader)
    }

    /// The erased reader.
    pub fn as_dyn(&self) -> &dyn DynBlockReader {
        &*self.0
    }
}

impl fmt::Debug for SharedReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedReader")
            .field("n_blocks", &self.0.n_blocks_dyn())
            .finish_non_exhaustive()
    }
}

impl BlockReader for SharedReader {
    fn read_block(&self, blkno: BlockNo) -> impl Future<Output = Result<Block, Error>> + Send {
        self.0.read_block_dyn(blkno)
    }

    fn n_blocks(&self) -> u32 {
        self.0.n_blocks_dyn()
    }

    async fn read_blocks(&self, first: BlockNo, buf: &mut [u8]) -> Result<(), Error> {
        self.0.read_blocks_dyn(first, buf).await
    }

    fn lend_pages(&self, first: BlockNo, n: usize) -> Option<PageRun> {
        self.0.lend_pages_dyn(first, n)
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::block::{MemBlockReader, PAGE_SIZE};
    use crate::error::Corruption;

    /// Counts how often each method is called, and fails reads of block 1 with `CacheFull`.
    #[derive(Default)]
    struct Counting {
        inner: MemBlockReader,
        singles: AtomicU32,
        runs: AtomicU32,
    }

    impl BlockReader for Counting {
        async fn read_block(&self, blkno: BlockNo) -> Result<Block, Error> {
            self.singles.fetch_add(1, Ordering::Relaxed);
            if blkno == BlockNo(1) {
                return Err(Error::CacheFull { n_slots: 7 });
            }
            self.inner.read_block(blkno).await
        }

        fn n_blocks(&self) -> u32 {
            self.inner.n_blocks()
        }

        async fn read_blocks(&self, first: BlockNo, buf: &mut [u8]) -> Result<(), Error> {
            self.runs.fetch_add(1, Ordering::Relaxed);
            let n = buf.len() / PAGE_SIZE;
            for (i, chunk) in buf.chunks_mut(PAGE_SIZE).enumerate().take(n) {
                let block = self.inner.read_block(BlockNo(first.0 + i as u32)).await?;
                chunk.copy_from_slice(&block[..]);
            }
            Ok(())
        }
    }

    #[tokio::test]
    async fn forwards_every_call_and_error_unchanged() {
        let bytes: Vec<u8> = (0..3 * PAGE_SIZE)
            .map(|i| (i / PAGE_SIZE + 1) as u8)
            .collect();
        let counting = Arc::new(Counting {
            inner: MemBlockReader::from_bytes(&bytes),
            ..Counting::default()
        });
        let shared = SharedReader::new(Arc::clone(&counting));
        let clone = shared.clone();
        assert_eq!(clone.n_blocks(), 3);
        assert_eq!(clone.read_block(BlockNo(2)).await.unwrap()[0], 3);
        assert!(matches!(
            clone.read_block(BlockNo(1)).await,
            Err(Error::CacheFull { n_slots: 7 })
        ));
        assert!(matches!(
            clone.read_block(BlockNo(3)).await,
            Err(Error::Corrupt(Corruption::BlockPastEnd {
                blkno: BlockNo(3),
                n_blocks: 3
            }))
        ));
        // A run is forwarded as one run, not split into single reads.
        let mut buf = vec![0u8; 2 * PAGE_SIZE];
        shared.read_blocks(BlockNo(1), &mut buf).await.unwrap();
        assert_eq!((buf[0], buf[PAGE_SIZE]), (2, 3));
        assert_eq!(counting.runs.load(Ordering::Relaxed), 1);
        assert_eq!(counting.singles.load(Ordering::Relaxed), 3);
        assert!(format!("{shared:?}").contains("n_blocks: 3"));
        assert_eq!(shared.as_dyn().n_blocks_dyn(), 3);
    }
}
