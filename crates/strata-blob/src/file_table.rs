//! [`FileTable`]: many files open logically, at most `max_open` descriptors held (the idea of
//! Neon's `VirtualFile`, without its global state: the caller creates the table and passes
//! it around).
//!
//! # Design and locking protocol
//!
//! The table has `max_open` slots. A slot holds at most one descriptor and the id of the
//! [`TableFile`] it belongs to, behind a `std::sync::RwLock`, plus a "recently used" bit.
//!
//! * A read locks the slot its file last used (a hint) for **reading**, checks that the slot
//!   still belongs to the file, and does the `pread` while holding the read guard, so the
//!   descriptor cannot be closed under it. Many reads share a slot.
//! * On a miss the reader releases every lock, then picks a victim with the CLOCK algorithm:
//!   the hand sweeps the slots, clearing "recently used" bits, and takes the first slot with
//!   a clear bit whose lock it can get for **writing** without waiting (a slot being read is
//!   in use and skipped). After two sweeps without success it waits for the write lock of the
//!   slot under the hand. Holding it, it closes the old descriptor, opens the path again and
//!   reads.
//! * A thread holds at most one slot lock at a time, so there is no lock order and no
//!   deadlock. Guards are never held across an `.await` (there is none inside).
//! * A failed open leaves the slot empty and returns the error; the next read tries again.
//! * Two tasks missing on the same file at once may both open it, in two slots; the hint
//!   keeps one of them and the other is evicted in time. Descriptors never exceed the slots.
//! * Dropping a [`TableFile`] closes its descriptor if it still holds a slot.
//!
//! Reads are inline `pread`s, for the reasons given in the [`file`](crate::FileBlockReader)
//! module.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockWriteGuard, TryLockError};

use crate::block::{Block, BlockNo, BlockReader};
use crate::error::Error;
use crate::file::{n_blocks_of_len, read_block_at, read_blocks_at, read_bytes_at};

/// A table of open files shared by its clones; see the module docs.
#[derive(Clone, Debug)]
pub struct FileTable {
    inner: Arc<TableInner>,
}

/// One file opened through a [`FileTable`]; reads reopen it when its descriptor was evicted.
#[derive(Debug)]
pub struct TableFile {
    table: FileTable,
    id: u64,
    path: PathBuf,
    n_blocks: u32,
    slot_hint: AtomicUsize,
}

/// Counters of a [`FileTable`], for tests and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileTableStats {
    /// Descriptors opened so far (first opens and reopens after eviction).
    pub n_opens: u64,
    /// Descriptors closed to make room for another file.
    pub n_evictions: u64,
    /// Descriptors held right now.
    pub n_open_now: usize,
}

#[derive(Debug)]
struct TableInner {
    slots: Box<[Slot]>,
    hand: AtomicUsize,
    next_id: AtomicU64,
    n_opens: AtomicU64,
    n_evictions: AtomicU64,
}

#[derive(Debug, Default)]
struct Slot {
    recently_used: AtomicBool,
    state: RwLock<SlotState>,
}

#[derive(Debug, Default)]
struct SlotState {
    /// Id of the owning [`TableFile`]; 0 = none (ids start at 1).
    owner: u64,
    file: Option<File>,
}

impl FileTable {
    /// A table holding at most `max_open` descriptors (at least one, whatever is asked).
    pub fn new(max_open: usize) -> FileTable {
        let slots = (0..max_open.max(1)).map(|_| Slot::default()).collect();
        FileTable {
            inner: Arc::new(TableInner {
                slots,
                hand: AtomicUsize::new(0),
                next_id: AtomicU64::new(1),
                n_opens: AtomicU64::new(0),
                n_evictions: AtomicU64::new(0),
            }),
        }
    }

    /// Opens `path` read-only. The number of blocks is fixed now, from the file's length.
    pub fn open(&self, path: impl AsRef<Path>) -> Result<TableFile, Error> {
        let mut file = TableFile {
            table: self.clone(),
            id: self.inner.next_id.fetch_add(1, Ordering::Relaxed),
            path: path.as_ref().to_path_buf(),
            n_blocks: 0,
            slot_hint: AtomicUsize::new(usize::MAX),
        };
        let len = file.with_file(|f| Ok(f.metadata()?.len()))?;
        file.n_blocks = n_blocks_of_len(len)?;
        Ok(file)
    }

    /// The maximum number of descriptors held.
    pub fn max_open(&self) -> usize {
        self.inner.slots.len()
    }

    /// Current counters.
    pub fn stats(&self) -> FileTableStats {
        let n_open_now = self
            .inner
            .slots
            .iter()
            .filter(|s| {
                s.state
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .file
                    .is_some()
            })
            .count();
        FileTableStats {
            n_opens: self.inner.n_opens.load(Ordering::Relaxed),
            n_evictions: self.inner.n_evictions.load(Ordering::Relaxed),
            n_open_now,
        }
    }

    /// Picks a slot to reuse (CLOCK) and returns it locked for writing.
    fn claim_slot(&self) -> (usize, RwLockWriteGuard<'_, SlotState>) {
        let slots = &self.inner.slots;
        let n = slots.len();
        for _ in 0..2 * n {
            let idx = self.inner.hand.fetch_add(1, Ordering::Relaxed) % n;
            let slot = &slots[idx];
            if slot.recently_used.swap(false, Ordering::Relaxed) {
                continue;
            }
            match slot.state.try_write() {
                Ok(guard) => return (idx, guard),
                Err(TryLockError::Poisoned(p)) => return (idx, p.into_inner()),
                Err(TryLockError::WouldBlock) => continue,
            }
        }
        // Every slot is being read: wait for the one under the hand. Reads are short and no
        // reader waits for another lock while holding one.
        let idx = self.inner.hand.fetch_add(1, Ordering::Relaxed) % n;
        let guard = slots[idx]
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        (idx, guard)
    }
}

impl TableFile {
    /// The path this file was opened with.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The table this file belongs to.
    pub fn table(&self) -> &FileTable {
        &self.table
    }

    /// Runs `op` on an open descriptor of this file, opening it again if it was evicted.
    fn with_file<T>(&self, op: impl FnOnce(&File) -> Result<T, Error>) -> Result<T, Error> {
        let slots = &self.table.inner.slots;
        let hint = self.slot_hint.load(Ordering::Relaxed);
        if let Some(slot) = slots.get(hint) {
            let state = slot.state.read().unwrap_or_else(PoisonError::into_inner);
            if state.owner == self.id {
                if let Some(file) = &state.file {
                    slot.recently_used.store(true, Ordering::Relaxed);
                    return op(file);
                }
            }
        }
        let (idx, mut state) = self.table.claim_slot();
        if state.file.take().is_some() {
            self.table.inner.n_evictions.fetch_add(1, Ordering::Relaxed);
        }
        state.owner = 0;
        let file = File::open(&self.path)?;
        self.table.inner.n_opens.fetch_add(1, Ordering::Relaxed);
        state.owner = self.id;
        let file = state.file.insert(file);
        slots[idx].recently_used.store(true, Ordering::Relaxed);
        self.slot_hint.store(idx, Ordering::Relaxed);
        op(file)
    }
}

impl BlockReader for TableFile {
    async fn read_block(&self, blkno: BlockNo) -> Result<Block, Error> {
        self.with_file(|f| read_block_at(f, self.n_blocks, blkno))
    }

    fn n_blocks(&self) -> u32 {
        self.n_blocks
    }

    async fn read_blocks(&self, first: BlockNo, buf: &mut [u8]) -> Result<(), Error> {
        self.with_file(|f| read_blocks_at(f, self.n_blocks, first, buf))
    }

    async fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        self.with_file(|f| read_bytes_at(f, self.n_blocks, offset, buf))
    }
}

impl Drop for TableFile {
    fn drop(&mut self) {
        let hint = self.slot_hint.load(Ordering::Relaxed);
        if let Some(slot) = self.table.inner.slots.get(hint) {
            let mut state = slot.state.write().unwrap_or_else(PoisonError::into_inner);
            if state.owner == self.id {
                state.owner = 0;
                state.file = None;
                slot.recently_used.store(false, Ordering::Relaxed);
            }
        }
    }
}
