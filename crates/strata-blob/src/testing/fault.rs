//! Fault injection. For writers, [`FaultyFs`] wraps any [`Fs`] and makes the *n*-th operation
//! of a kind fail, or a write come back short or torn; for readers, [`FaultyBlockReader`] wraps
//! any [`BlockReader`] and makes the *n*-th read fail, come back short, or return garbled
//! bytes. A test runs once to count the operations and then sweeps *n* over all of them.
//!
//! Invariants:
//! * Operations are counted per [`OpKind`] across the filesystem and every file it created,
//!   from 0, whether or not a fault fires. Clones share the counters and the plan.
//! * An injected error is an [`io::Error`] whose source is an [`InjectedFault`] naming the
//!   operation (an [`InjectedReadFault`] for reads), so tests can tell it from a real one.
//! * A fault fires once: the operation after it proceeds normally (unless planned too).
//! * A [`FaultyBlockReader`] counts every `read_block` and every `read_blocks` call as one
//!   read (the latter is one I/O); an injected read error leaves no side effect behind, so a
//!   retry of the same read returns the inner reader's bytes.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::block::{Block, BlockNo, BlockReader};
use crate::error::Error;
use crate::fs::{Fs, WriteFile};

/// A kind of filesystem operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// [`Fs::create`] and [`Fs::create_new`].
    Create,
    /// [`WriteFile::write_at`].
    Write,
    /// [`WriteFile::sync_all`].
    Sync,
    /// [`Fs::rename`].
    Rename,
    /// [`Fs::remove_file`].
    Remove,
    /// [`Fs::sync_dir`].
    SyncDir,
}

impl OpKind {
    /// Every kind, for sweeps.
    pub const ALL: [OpKind; 6] = [
        OpKind::Create,
        OpKind::Write,
        OpKind::Sync,
        OpKind::Rename,
        OpKind::Remove,
        OpKind::SyncDir,
    ];
}

/// What happens to the chosen operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// It does nothing and returns an error.
    Fail,
    /// A write writes the first half of its buffer (at least one byte) and reports that
    /// length. For other kinds it acts as [`Fault::Fail`].
    ShortWrite,
    /// A write writes the first half of its buffer and then returns an error, like a crash
    /// or a full disk in the middle of it. For other kinds it acts as [`Fault::Fail`].
    TornWrite,
}

/// The source of an injected [`io::Error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InjectedFault {
    /// The operation's kind.
    pub kind: OpKind,
    /// Its index among the operations of that kind (from 0).
    pub nth: u64,
}

impl fmt::Display for InjectedFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "injected fault in {:?} #{}", self.kind, self.nth)
    }
}

impl std::error::Error for InjectedFault {}

impl InjectedFault {
    /// The injected fault behind `err`, if it is one.
    pub fn of(err: &io::Error) -> Option<InjectedFault> {
        err.get_ref()?.downcast_ref::<InjectedFault>().copied()
    }

    fn into_io(self) -> io::Error {
        io::Error::other(self)
    }
}

/// A filesystem that fails where it is told to; see the module docs.
pub struct FaultyFs<F: Fs> {
    inner: F,
    state: Arc<FaultState>,
}

/// A file created by a [`FaultyFs`].
pub struct FaultyFile<W> {
    inner: W,
    state: Arc<FaultState>,
}

#[derive(Default)]
struct FaultState {
    counts: [AtomicU64; OpKind::ALL.len()],
    fired: AtomicU64,
    plan: Mutex<HashMap<(OpKind, u64), Fault>>,
}

impl FaultState {
    /// Counts one operation of `kind`, giving its index and the fault planned for it.
    fn next(&self, kind: OpKind) -> (u64, Option<Fault>) {
        let nth = self.counts[kind as usize].fetch_add(1, Ordering::Relaxed);
        let fault = self
            .plan
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(kind, nth));
        if fault.is_some() {
            self.fired.fetch_add(1, Ordering::Relaxed);
        }
        (nth, fault)
    }

    /// Counts one non-write operation and fails it if planned.
    fn check(&self, kind: OpKind) -> io::Result<()> {
        match self.next(kind) {
            (_, None) => Ok(()),
            (nth, Some(_)) => Err(InjectedFault { kind, nth }.into_io()),
        }
    }
}

impl<F: Fs> FaultyFs<F> {
    /// Wraps `inner` with no fault planned.
    pub fn new(inner: F) -> FaultyFs<F> {
        FaultyFs {
            inner,
            state: Arc::default(),
        }
    }

    /// Plans `fault` for the operation of `kind` with index `nth` (from 0).
    pub fn inject(&self, kind: OpKind, nth: u64, fault: Fault) {
        self.state
            .plan
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((kind, nth), fault);
    }

    /// Builder form of [`FaultyFs::inject`] with [`Fault::Fail`].
    pub fn fail_nth(self, kind: OpKind, nth: u64) -> FaultyFs<F> {
        self.inject(kind, nth, Fault::Fail);
        self
    }

    /// Builder form of [`FaultyFs::inject`] with a [`Fault::ShortWrite`] on write `nth`.
    pub fn short_write_nth(self, nth: u64) -> FaultyFs<F> {
        self.inject(OpKind::Write, nth, Fault::ShortWrite);
        self
    }

    /// Builder form of [`FaultyFs::inject`] with a [`Fault::TornWrite`] on write `nth`.
    pub fn torn_write_nth(self, nth: u64) -> FaultyFs<F> {
        self.inject(OpKind::Write, nth, Fault::TornWrite);
        self
    }

    /// Operations of `kind` so far.
    pub fn count(&self, kind: OpKind) -> u64 {
        self.state.counts[kind as usize].load(Ordering::Relaxed)
    }

    /// Faults that have fired so far.
    pub fn n_fired(&self) -> u64 {
        self.state.fired.load(Ordering::Relaxed)
    }

    /// The wrapped filesystem.
    pub fn inner(&self) -> &F {
        &self.inner
    }
}

impl<F: Fs + Clone> Clone for FaultyFs<F> {
    fn clone(&self) -> FaultyFs<F> {
        FaultyFs {
            inner: self.inner.clone(),
            state: Arc::clone(&self.state),
        }
    }
}

impl<F: Fs> fmt::Debug for FaultyFs<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultyFs")
            .field("fired", &self.n_fired())
            .finish_non_exhaustive()
    }
}

impl<F: Fs> FaultyFs<F> {
    /// A file of the inner filesystem, with this one's faults.
    fn wrap(&self, inner: F::File) -> io::Result<FaultyFile<F::File>> {
        Ok(FaultyFile {
            inner,
            state: Arc::clone(&self.state),
        })
    }
}

impl<F: Fs> Fs for FaultyFs<F> {
    type File = FaultyFile<F::File>;

    fn create(&self, path: &Path) -> io::Result<Self::File> {
        self.state.check(OpKind::Create)?;
        self.wrap(self.inner.create(path)?)
    }

    fn create_new(&self, path: &Path) -> io::Result<Self::File> {
        self.state.check(OpKind::Create)?;
        self.wrap(self.inner.create_new(path)?)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.state.check(OpKind::Rename)?;
        self.inner.rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.state.check(OpKind::Remove)?;
        self.inner.remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.state.check(OpKind::SyncDir)?;
        self.inner.sync_dir(dir)
    }
}

impl<W: WriteFile> WriteFile for FaultyFile<W> {
    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<usize> {
        let (nth, fault) = self.state.next(OpKind::Write);
        let injected = InjectedFault {
            kind: OpKind::Write,
            nth,
        };
        let half = buf.get(..buf.len().div_ceil(2)).unwrap_or(buf);
        match fault {
            None => self.inner.write_at(buf, offset),
            Some(Fault::Fail) => Err(injected.into_io()),
            Some(Fault::ShortWrite) => self.inner.write_at(half, offset),
            Some(Fault::TornWrite) => {
                crate::fs::write_all_at(&mut self.inner, half, offset)?;
                Err(injected.into_io())
            }
        }
    }

    fn sync_all(&mut self) -> io::Result<()> {
        self.state.check(OpKind::Sync)?;
        self.inner.sync_all()
    }
}

impl<W> fmt::Debug for FaultyFile<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultyFile").finish_non_exhaustive()
    }
}

/// What happens to a chosen read of a [`FaultyBlockReader`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadFault {
    /// The read returns an injected I/O error (like `EIO`) and reads nothing.
    Fail,
    /// The read comes back short, as from a file truncated under the reader: an injected
    /// error of kind [`io::ErrorKind::UnexpectedEof`]. For `read_blocks`, the first half of
    /// the buffer (rounded down to whole blocks) holds the inner reader's bytes.
    ShortRead,
    /// The read succeeds but every byte it returns is inverted (`!b`): a device returning
    /// wrong data without an error. The format has no checksums, so readers can only notice
    /// this where the bytes break a rule.
    Garble,
}

/// The source of an [`io::Error`] injected by a [`FaultyBlockReader`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InjectedReadFault {
    /// Index of the read among the reader's reads (from 0).
    pub nth: u64,
    /// First block the read asked for.
    pub blkno: BlockNo,
    /// Number of blocks it asked for: 1 for `read_block`, the buffer's blocks for
    /// `read_blocks`.
    pub n_blocks: usize,
    /// The fault ([`ReadFault::Fail`] or [`ReadFault::ShortRead`]; a garbled read is no error).
    pub fault: ReadFault,
}

impl fmt::Display for InjectedReadFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "injected {:?} in read #{} (block {})",
            self.fault, self.nth, self.blkno
        )
    }
}

impl std::error::Error for InjectedReadFault {}

impl InjectedReadFault {
    /// The injected read fault behind `err`, if it is one.
    pub fn of(err: &io::Error) -> Option<InjectedReadFault> {
        err.get_ref()?.downcast_ref::<InjectedReadFault>().copied()
    }

    fn into_error(self) -> Error {
        let kind = match self.fault {
            ReadFault::ShortRead => io::ErrorKind::UnexpectedEof,
            ReadFault::Fail | ReadFault::Garble => io::ErrorKind::Other,
        };
        Error::Io(io::Error::new(kind, self))
    }
}

/// A [`BlockReader`] that fails where it is told to; see the module docs.
///
/// Share it (as `Arc<FaultyBlockReader<R>>`, itself a [`BlockReader`]) to keep planning faults
/// and reading the counters while a layer or a page cache owns it.
///
/// ```
/// use strata_blob::testing::fault::{FaultyBlockReader, InjectedReadFault};
/// use strata_blob::{BlockNo, BlockReader, Error, MemBlockReader, PAGE_SIZE};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let reader = FaultyBlockReader::new(MemBlockReader::from_bytes(&[7u8; 2 * PAGE_SIZE]))
///     .fail_nth(1);
/// assert_eq!(reader.read_block(BlockNo(1)).await.unwrap()[0], 7);
/// let err = reader.read_block(BlockNo(1)).await.unwrap_err();
/// assert!(matches!(&err, Error::Io(e) if InjectedReadFault::of(e).unwrap().nth == 1));
/// assert_eq!(reader.read_block(BlockNo(1)).await.unwrap()[0], 7); // fires once
/// assert_eq!((reader.count(), reader.n_fired()), (3, 1));
/// # });
/// ```
pub struct FaultyBlockReader<R> {
    inner: R,
    count: AtomicU64,
    block_reads: AtomicU64,
    one_block_runs: AtomicU64,
    fired: AtomicU64,
    plan: Mutex<HashMap<u64, ReadFault>>,
}

impl<R: BlockReader> FaultyBlockReader<R> {
    /// Wraps `inner` with no fault planned.
    pub fn new(inner: R) -> FaultyBlockReader<R> {
        FaultyBlockReader {
            inner,
            count: AtomicU64::new(0),
            block_reads: AtomicU64::new(0),
            one_block_runs: AtomicU64::new(0),
            fired: AtomicU64::new(0),
            plan: Mutex::new(HashMap::new()),
        }
    }

    /// Plans `fault` for the read with index `nth` (from 0).
    pub fn inject(&self, nth: u64, fault: ReadFault) {
        self.plan
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(nth, fault);
    }

    /// Builder form of [`FaultyBlockReader::inject`] with [`ReadFault::Fail`].
    pub fn fail_nth(self, nth: u64) -> FaultyBlockReader<R> {
        self.inject(nth, ReadFault::Fail);
        self
    }

    /// Reads so far (each `read_block` and each `read_blocks` call is one).
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The `read_block` calls among [`FaultyBlockReader::count`] (the rest are `read_blocks`).
    pub fn count_read_block(&self) -> u64 {
        self.block_reads.load(Ordering::Relaxed)
    }

    /// Reads of exactly one block: the `read_block` calls and the one-block `read_blocks`
    /// calls (a page cache fills a miss with one or the other).
    pub fn count_single_block(&self) -> u64 {
        self.block_reads.load(Ordering::Relaxed) + self.one_block_runs.load(Ordering::Relaxed)
    }

    /// Faults that have fired so far.
    pub fn n_fired(&self) -> u64 {
        self.fired.load(Ordering::Relaxed)
    }

    /// The wrapped reader.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    /// Counts one read, giving its index and the fault planned for it.
    fn next(&self) -> (u64, Option<ReadFault>) {
        let nth = self.count.fetch_add(1, Ordering::Relaxed);
        let fault = self
            .plan
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&nth);
        if fault.is_some() {
            self.fired.fetch_add(1, Ordering::Relaxed);
        }
        (nth, fault)
    }
}

impl<R: BlockReader> BlockReader for FaultyBlockReader<R> {
    async fn read_block(&self, blkno: BlockNo) -> Result<Block, Error> {
        self.block_reads.fetch_add(1, Ordering::Relaxed);
        let (nth, fault) = self.next();
        let injected = InjectedReadFault {
            nth,
            blkno,
            n_blocks: 1,
            fault: fault.unwrap_or(ReadFault::Fail),
        };
        match fault {
            None => self.inner.read_block(blkno).await,
            Some(ReadFault::Fail | ReadFault::ShortRead) => Err(injected.into_error()),
            Some(ReadFault::Garble) => {
                let mut bytes = *self.inner.read_block(blkno).await?;
                bytes.iter_mut().for_each(|b| *b = !*b);
                Ok(Block::from_array(&bytes))
            }
        }
    }

    fn n_blocks(&self) -> u32 {
        self.inner.n_blocks()
    }

    async fn read_blocks(&self, first: BlockNo, buf: &mut [u8]) -> Result<(), Error> {
        if buf.len() == crate::PAGE_SIZE {
            self.one_block_runs.fetch_add(1, Ordering::Relaxed);
        }
        let (nth, fault) = self.next();
        let injected = InjectedReadFault {
            nth,
            blkno: first,
            n_blocks: buf.len().div_ceil(crate::PAGE_SIZE),
            fault: fault.unwrap_or(ReadFault::Fail),
        };
        match fault {
            None => self.inner.read_blocks(first, buf).await,
            Some(ReadFault::Fail) => Err(injected.into_error()),
            Some(ReadFault::ShortRead) => {
                let half = buf.len() / 2 / crate::PAGE_SIZE * crate::PAGE_SIZE;
                if let Some(head) = buf.get_mut(..half).filter(|h| !h.is_empty()) {
                    self.inner.read_blocks(first, head).await?;
                }
                Err(injected.into_error())
            }
            Some(ReadFault::Garble) => {
                self.inner.read_blocks(first, buf).await?;
                buf.iter_mut().for_each(|b| *b = !*b);
                Ok(())
            }
        }
    }
}

impl<R> fmt::Debug for FaultyBlockReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultyBlockReader")
            .field("reads", &self.count.load(Ordering::Relaxed))
            .field("fired", &self.fired.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::fs::{StdFs, write_all_at};

    #[test]
    fn counts_and_fires_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let fs = FaultyFs::new(StdFs)
            .fail_nth(OpKind::Write, 1)
            .short_write_nth(2);
        let mut f = fs.create(&path).unwrap();
        assert_eq!(f.write_at(b"ab", 0).unwrap(), 2);
        let err = f.write_at(b"cd", 2).unwrap_err();
        assert_eq!(
            InjectedFault::of(&err),
            Some(InjectedFault {
                kind: OpKind::Write,
                nth: 1
            })
        );
        assert_eq!(f.write_at(b"efgh", 2).unwrap(), 2); // short
        assert_eq!(f.write_at(b"ij", 4).unwrap(), 2);
        assert_eq!(fs.count(OpKind::Write), 4);
        assert_eq!(fs.count(OpKind::Create), 1);
        assert_eq!(fs.n_fired(), 2);
        drop(f);
        assert_eq!(std::fs::read(&path).unwrap(), b"abefij");
    }

    #[test]
    fn torn_write_leaves_a_prefix() {
        let fs = FaultyFs::new(StdFs).torn_write_nth(0);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut f = fs.create(&path).unwrap();
        assert!(write_all_at(&mut f, b"abcdef", 0).is_err());
        drop(f);
        assert_eq!(std::fs::read(&path).unwrap(), b"abc");
    }

    #[test]
    fn other_kinds_fail() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let fs = FaultyFs::new(StdFs);
        for kind in OpKind::ALL {
            fs.inject(kind, 0, Fault::Fail);
        }
        assert!(fs.create(&a).is_err());
        assert!(!a.exists(), "a failed create does nothing");
        let mut f = fs.create(&a).unwrap();
        assert!(f.sync_all().is_err());
        f.sync_all().unwrap();
        assert!(fs.rename(&a, &dir.path().join("b")).is_err());
        assert!(a.exists());
        assert!(fs.sync_dir(dir.path()).is_err());
        fs.sync_dir(dir.path()).unwrap();
        assert!(fs.remove_file(&a).is_err());
        fs.remove_file(&a).unwrap();
        assert_eq!(fs.n_fired(), 5);
    }

    #[tokio::test]
    async fn read_faults() {
        let bytes: Vec<u8> = (0..4 * crate::PAGE_SIZE).map(|i| (i / 7) as u8).collect();
        let r = FaultyBlockReader::new(crate::MemBlockReader::from_bytes(&bytes));
        r.inject(0, ReadFault::ShortRead);
        r.inject(1, ReadFault::Garble);
        r.inject(2, ReadFault::ShortRead);
        r.inject(3, ReadFault::Garble);
        let err = r.read_block(BlockNo(2)).await.unwrap_err();
        let Error::Io(io) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(io.kind(), io::ErrorKind::UnexpectedEof);
        let f = InjectedReadFault::of(io).unwrap();
        assert_eq!(
            (f.nth, f.blkno, f.fault),
            (0, BlockNo(2), ReadFault::ShortRead)
        );
        let garbled = r.read_block(BlockNo(2)).await.unwrap();
        assert!(
            garbled
                .iter()
                .zip(&bytes[2 * 8192..])
                .all(|(g, b)| *g == !*b)
        );
        let mut buf = vec![0u8; 3 * crate::PAGE_SIZE];
        assert!(r.read_blocks(BlockNo(1), &mut buf).await.is_err());
        assert_eq!(buf[..8192], bytes[8192..2 * 8192], "the short read's head");
        assert_eq!(buf[8192..], [0u8; 2 * 8192], "nothing after it");
        r.read_blocks(BlockNo(1), &mut buf).await.unwrap();
        assert!(buf.iter().zip(&bytes[8192..]).all(|(g, b)| *g == !*b));
        r.read_blocks(BlockNo(1), &mut buf).await.unwrap();
        assert_eq!(buf, bytes[8192..]);
        assert_eq!((r.count(), r.count_read_block(), r.n_fired()), (5, 2, 4));
    }
}
