//! The life of a layer file being written, the same for both kinds (FORMAT.md sections 2, 7,
//! 10, 11): a [`PendingFile`] created under a temp name, the in-memory [`IndexBuf`] the B-tree
//! builder fills, [`write_tail`] for the index blocks and block 0, and [`PendingFile::commit`]
//! (fsync, rename to the final name, fsync of the directory).
//!
//! Invariants:
//! * A [`PendingFile`] owns its file until [`PendingFile::commit`] has made the final name
//!   durable: if anything fails before, or the value is dropped, the file is removed under
//!   whichever name it has, so the final name only ever holds complete, fsynced layers.
//! * [`CreateMode::New`] (image layers, Neon's `create_new`) fails if the temp name exists;
//!   [`CreateMode::Truncate`] (delta layers) truncates it.
//! * Nothing here retries an `fsync`.

use std::io;
use std::path::{Path, PathBuf};

use rand::Rng;
use strata_blob::{BlockNo, BlockWriter, Fs, PAGE_SIZE, WriteFile, write_all_at};
#[cfg(doc)]
use strata_key::name::TEMP_RANDOM_LEN;
use strata_key::name::TempRandom;

/// The index is written to the file in pieces of at most this many bytes.
const INDEX_WRITE_CHUNK: usize = 128 * PAGE_SIZE;

/// How the temp file is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateMode {
    /// Create or truncate (Neon's delta writer).
    Truncate,
    /// Create, failing if the name exists (Neon's image writer).
    New,
}

/// A layer file being written; see the module docs.
#[derive(Debug)]
pub struct PendingFile<F: Fs> {
    fs: F,
    dir: PathBuf,
    /// The file under its current name, while it is ours to remove on failure.
    path: Option<PathBuf>,
}

/// The random part of a temp name, freshly drawn ([`TEMP_RANDOM_LEN`] alphanumerics).
pub fn temp_random() -> TempRandom {
    TempRandom::from_random_bytes(rand::rng().random())
}

impl<F: Fs> PendingFile<F> {
    /// Creates `dir/temp_name` through `fs`.
    pub fn create(
        fs: F,
        dir: &Path,
        temp_name: &str,
        mode: CreateMode,
    ) -> io::Result<(PendingFile<F>, F::File)> {
        let path = dir.join(temp_name);
        let file = match mode {
            CreateMode::Truncate => fs.create(&path)?,
            CreateMode::New => fs.create_new(&path)?,
        };
        let pending = PendingFile {
            fs,
            dir: dir.to_path_buf(),
            path: Some(path),
        };
        Ok((pending, file))
    }

    /// The file's current path, while it is pending.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The directory the file is in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Fsyncs `file`, closes it, renames it to `final_name` and fsyncs the directory; returns
    /// the final path. On error the file is left for [`PendingFile::discard`] (or drop) to
    /// remove. A file already committed or discarded is
    /// [`strata_blob::Error::AlreadyFinished`]; the OS's errors are
    /// [`strata_blob::Error::Io`].
    pub fn commit(
        &mut self,
        mut file: F::File,
        final_name: &str,
    ) -> Result<PathBuf, strata_blob::Error> {
        let Some(temp) = self.path.clone() else {
            return Err(strata_blob::Error::AlreadyFinished);
        };
        file.sync_all()?;
        drop(file);
        let path = self.dir.join(final_name);
        self.fs.rename(&temp, &path)?;
        self.path = Some(path.clone());
        self.fs.sync_dir(&self.dir)?;
        self.path = None;
        Ok(path)
    }

    /// Removes the file now, if it is still pending. A failure to remove is ignored: the temp
    /// name marks the file as garbage for the next directory scan.
    pub fn discard(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = self.fs.remove_file(&path);
        }
    }
}

impl<F: Fs> Drop for PendingFile<F> {
    fn drop(&mut self) {
        self.discard();
    }
}

/// The index blocks, contiguous in memory, to be written in large pieces (as Neon's
/// `BlockBuf`): about 8 KiB per few hundred entries.
#[derive(Debug, Default)]
pub struct IndexBuf {
    bytes: Vec<u8>,
}

impl IndexBuf {
    /// An empty buffer.
    pub fn new() -> IndexBuf {
        IndexBuf::default()
    }

    /// The blocks written so far.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl BlockWriter for IndexBuf {
    fn write_block(&mut self, block: &[u8; PAGE_SIZE]) -> Result<BlockNo, strata_blob::Error> {
        let blkno = BlockNo::after((self.bytes.len() / PAGE_SIZE) as u64)?;
        self.bytes.extend_from_slice(block);
        Ok(blkno)
    }
}

/// Writes the index blocks at block `index_start_blk`, then block 0: `summary` followed by
/// zeros up to 8192. Returns the file's size.
pub fn write_tail<W: WriteFile + ?Sized>(
    file: &mut W,
    index_start_blk: u32,
    index: &IndexBuf,
    summary: &[u8],
) -> io::Result<u64> {
    let mut offset = BlockNo(index_start_blk).byte_offset();
    for chunk in index.bytes.chunks(INDEX_WRITE_CHUNK) {
        write_all_at(file, chunk, offset)?;
        offset += chunk.len() as u64;
    }
    let mut block0 = vec![0u8; PAGE_SIZE];
    crate::format::put(&mut block0, 0, summary);
    write_all_at(file, &block0, 0)?;
    Ok(offset)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use strata_blob::StdFs;

    use super::*;

    #[test]
    fn commit_renames_and_drop_removes() {
        let dir = tempfile::tempdir().unwrap();
        let (mut p, mut f) =
            PendingFile::create(StdFs, dir.path(), "a.___temp", CreateMode::New).unwrap();
        let mut index = IndexBuf::new();
        index.write_block(&[7u8; PAGE_SIZE]).unwrap();
        let size = write_tail(&mut f, 2, &index, b"SUM").unwrap();
        assert_eq!(size, 3 * PAGE_SIZE as u64);
        let path = p.commit(f, "final").unwrap();
        // A second commit is a typed error, and leaves the committed file alone.
        let (_, again) =
            PendingFile::create(StdFs, dir.path(), "x.___temp", CreateMode::New).unwrap();
        assert!(matches!(
            p.commit(again, "final"),
            Err(strata_blob::Error::AlreadyFinished)
        ));
        drop(p);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 3 * PAGE_SIZE);
        assert_eq!(&bytes[..4], b"SUM\0");
        assert_eq!(bytes[2 * PAGE_SIZE], 7);
        assert!(!dir.path().join("a.___temp").exists());

        // create_new refuses an existing name; a dropped pending file is removed.
        std::fs::write(dir.path().join("b.___temp"), b"x").unwrap();
        assert!(PendingFile::create(StdFs, dir.path(), "b.___temp", CreateMode::New).is_err());
        let (p, _f) =
            PendingFile::create(StdFs, dir.path(), "c.___temp", CreateMode::Truncate).unwrap();
        assert!(dir.path().join("c.___temp").exists());
        drop(p);
        assert!(!dir.path().join("c.___temp").exists());
        let random = temp_random();
        assert!(random.as_bytes().iter().all(u8::is_ascii_alphanumeric));
        assert_eq!(TempRandom::new(&random.to_string()), Ok(random));
    }
}
