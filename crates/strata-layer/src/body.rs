//! [`LayerBody`]: what a layer writer of either kind holds between `new` and `finish` — the
//! pending file, the value area's [`BlobWriter`], the index's [`DiskBtreeBuilder`] — and its
//! poisoning: after any failed call the writer gives up its file and refuses further use.
//!
//! Invariants:
//! * Once [`LayerBody::poison`] ran, or the blob writer and builder were taken for `finish`,
//!   [`LayerBody::parts`] and [`LayerBody::take`] give `None` (the writers' `Poisoned`).
//! * Dropping a body closes the value area's file handle first, then removes the pending
//!   file (unless it was committed), so an unfinished layer leaves nothing behind.

use strata_blob::{BlobWriter, BlobWriterOptions, Fs};
use strata_btree::DiskBtreeBuilder;

use crate::file::{IndexBuf, PendingFile};
use crate::format::VALUE_AREA_OFFSET;

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
    fn dropping_an_unfinished_body_removes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let b = body(dir.path());
        assert!(b.path().is_some());
        drop(b);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
