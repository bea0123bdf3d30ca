//! [`LayerBody`]: what a layer writer of either kind holds between `new` and `finish` — the
//! pending file, the value area's [`BlobWriter`], the index's [`DiskBtreeBuilder`] — and its
//! poisoning: after any failed call the writer gives up its file and refuses further use.
//!
//! Invariants:
//! * Once [`LayerBody::poison`] ran, or the blob writer and builder were taken for `finish`,
//!   [`LayerBody::parts`] and [`LayerBody::take`] give `None` (the writers' `Poisoned`).
//! * Dropping a body closes the value area's file handle first, then removes the pending
//!   file (unless it was committed), so an unfinished layer leaves nothing behind.

use strata_blob::{BlobWriter, BlobWriterOptions, Fs, PAGE_SIZE};
use strata_btree::DiskBtreeBuilder;

use crate::desc::LayerDesc;
use crate::file::{IndexBuf, PendingFile, write_tail};
use crate::format::VALUE_AREA_OFFSET;

/// A layer whose value area and index are complete, between [`LayerBody::close`] and
/// [`LayerBody::commit`]: the kind checks the sizes and builds its summary from it.
pub struct Closed<W> {
    /// The file handle, every blob flushed.
    pub handle: W,
    /// The B-tree root, relative to the index start.
    pub root: u32,
    /// The index blocks.
    pub index: IndexBuf,
    /// Where the index starts: the first block after the value area.
    pub index_start_blk: u64,
    /// The file's size once the index is written.
    pub file_size: u64,
    /// Number of index entries.
    pub n_entries: u64,
}

/// The value area and index of a layer being written, over the pending file; see the module
/// docs. `L` is the kind's B-tree key length.
pub struct LayerBody<F: Fs, const L: usize> {
    /// `None` once poisoned or finished. Declared before `file`, so it is dropped first.
    blobs: Option<BlobWriter<F::File>>,
    tree: Option<DiskBtreeBuilder<IndexBuf, L>>,
    poisoned: bool,
    file: PendingFile<F>,
}

impl<F: Fs, const L: usize> LayerBody<F, L> {
    /// A body whose blobs start at [`VALUE_AREA_OFFSET`] in `handle`, the file `file` created.
    pub fn new(file: PendingFile<F>, handle: F::File, opts: BlobWriterOptions) -> Self {
        LayerBody {
            blobs: Some(BlobWriter::with_options(handle, VALUE_AREA_OFFSET, opts)),
            tree: Some(DiskBtreeBuilder::new(IndexBuf::new())),
            poisoned: false,
            file,
        }
    }

    /// Bytes written so far (or buffered): the end offset of the value area.
    pub fn size(&self) -> u64 {
        self.blobs.as_ref().map_or(0, BlobWriter::size)
    }

    /// Number of entries indexed so far.
    pub fn n_entries(&self) -> u64 {
        self.tree.as_ref().map_or(0, DiskBtreeBuilder::n_entries)
    }

    /// Whether an earlier error poisoned the writer.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Whether the writer can still be used (neither poisoned nor finished).
    pub fn usable(&self) -> bool {
        !self.poisoned && self.blobs.is_some() && self.tree.is_some()
    }

    /// The blob writer and the index builder, while usable.
    pub fn parts(
        &mut self,
    ) -> Option<(&mut BlobWriter<F::File>, &mut DiskBtreeBuilder<IndexBuf, L>)> {
        Some((self.blobs.as_mut()?, self.tree.as_mut()?))
    }

    /// Takes the blob writer and the index builder out for `finish`.
    pub fn take(&mut self) -> Option<(BlobWriter<F::File>, DiskBtreeBuilder<IndexBuf, L>)> {
        Some((self.blobs.take()?, self.tree.take()?))
    }

    /// The pending file (to commit it, or to ask its path).
    pub fn file(&mut self) -> &mut PendingFile<F> {
        &mut self.file
    }

    /// The pending file's current path, while it is pending.
    pub fn path(&self) -> Option<&std::path::Path> {
        self.file.path()
    }

    /// Flushes the value area and builds the index; `Ok(None)` if the writer is poisoned or
    /// already finished.
    pub fn close<E>(&mut self) -> Result<Option<Closed<F::File>>, E>
    where
        E: From<strata_blob::Error> + From<strata_btree::Error>,
    {
        let Some((blobs, tree)) = self.take() else {
            return Ok(None);
        };
        let n_entries = tree.n_entries();
        let value_end = blobs.size();
        let handle = blobs.into_inner()?;
        let (root, index) = tree.finish()?;
        let page = PAGE_SIZE as u64;
        let index_start_blk = value_end.div_ceil(page);
        let file_size = index_start_blk * page + index.bytes().len() as u64;
        Ok(Some(Closed {
            handle,
            root,
            index,
            index_start_blk,
            file_size,
            n_entries,
        }))
    }

    /// Writes the index at `index_start_blk` and `summary` into block 0, makes the file
    /// durable under `desc.file_name` and returns `desc` with its path, size and entry count.
    pub fn commit(
        &mut self,
        closed: Closed<F::File>,
        index_start_blk: u32,
        summary: &[u8],
        mut desc: LayerDesc,
    ) -> Result<LayerDesc, strata_blob::Error> {
        let mut handle = closed.handle;
        desc.file_size = write_tail(&mut handle, index_start_blk, &closed.index, summary)?;
        desc.path = self.file.commit(handle, &desc.file_name)?;
        desc.n_entries = closed.n_entries;
        Ok(desc)
    }

    /// Marks the writer poisoned, drops the blob writer and builder and removes the file.
    pub fn poison(&mut self) {
        self.poisoned = true;
        self.blobs = None;
        self.tree = None;
        self.file.discard();
    }

    /// `res`, poisoning the writer first if it is an error.
    pub fn poison_on_err<T, E>(&mut self, res: Result<T, E>) -> Result<T, E> {
        if res.is_err() {
            self.poison();
        }
        res
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use strata_blob::StdFs;

    use super::*;
    use crate::file::CreateMode;

    fn body(dir: &std::path::Path) -> LayerBody<StdFs, 4> {
        let (file, handle) = PendingFile::create(StdFs, dir, "x.___temp", CreateMode::New).unwrap();
        LayerBody::new(file, handle, BlobWriterOptions::default())
    }

    #[test]
    fn poisoning_removes_the_file_and_refuses_use() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = body(dir.path());
        let (blobs, tree) = b.parts().unwrap();
        let offset = blobs.write_blob(b"abc").unwrap();
        tree.append(&[0, 0, 0, 1], offset).unwrap();
        assert_eq!((b.size(), b.n_entries()), (VALUE_AREA_OFFSET + 4, 1));
        assert!(b.usable() && dir.path().join("x.___temp").exists());
        let res: Result<(), &str> = b.poison_on_err(Err("failed"));
        assert!(res.is_err() && b.is_poisoned() && !b.usable());
        assert!(b.parts().is_none() && b.take().is_none());
        assert!(!dir.path().join("x.___temp").exists());
    }

    #[test]
    fn close_and_commit_write_the_layer() {
        use strata_key::{Key, KeyRange, Lsn, LsnRange, TenantId, TimelineId};

        let dir = tempfile::tempdir().unwrap();
        let mut b = body(dir.path());
        let (blobs, tree) = b.parts().unwrap();
        let offset = blobs.write_blob(b"abc").unwrap();
        tree.append(&[0, 0, 0, 1], offset).unwrap();
        let closed = b.close::<strata_btree::Error>().unwrap().unwrap();
        let page = PAGE_SIZE as u64;
        let shape = (closed.index_start_blk, closed.file_size, closed.n_entries);
        assert_eq!(shape, (2, 3 * page, 1));
        let desc = LayerDesc::new(
            crate::LayerKind::Image,
            "final".to_owned(),
            TenantId([1; 16]),
            TimelineId([2; 16]),
            KeyRange::new(Key::MIN, Key::MAX),
            LsnRange::new(Lsn(1), Lsn(2)),
        );
        let desc = b.commit(closed, 2, b"SUM", desc).unwrap();
        assert_eq!((desc.file_size, desc.n_entries), (3 * page, 1));
        assert_eq!(desc.path, dir.path().join("final"));
        let bytes = std::fs::read(&desc.path).unwrap();
        assert_eq!((bytes.len(), &bytes[..3]), (3 * PAGE_SIZE, &b"SUM"[..]));
        assert!(b.close::<strata_btree::Error>().unwrap().is_none());
        drop(b);
        assert!(desc.path.exists(), "a committed file stays");
    }

    #[test]
    fn dropping_an_unfinished_body_removes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let b = body(dir.path());
        assert!(b.path().is_some());
        drop(b);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
