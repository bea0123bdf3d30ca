//! [`FileBlockReader`]: blocks of an immutable file, read with positioned reads (`pread`).
//!
//! Invariants:
//! * The number of blocks is fixed when the reader is made: the file's length then, divided by
//!   [`PAGE_SIZE`], rounded down. A partial last block is never returned
//!   ([`Corruption::BlockPastEnd`]).
//! * Reads take `&self` and share one descriptor; `pread` has no file position to race on.
//!
//! # Why the reads are inline, not on `spawn_blocking`
//!
//! Tokio has no asynchronous file I/O; its `fs` module hands every call to the blocking pool.
//! Layer files are immutable and hot blocks sit in the OS page cache, where an 8 KiB `pread`
//! takes about a microsecond, less than the thread hop, wake-up and copy that
//! `spawn_blocking` costs. So reads run on the calling task's thread. The price is that a
//! cold read stalls that worker thread for one disk access; servers that mind put a page
//! cache (`strata-cache`) in front, which is what Neon's seed did too. A caller that wants
//! the blocking pool can wrap its own reader.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::block::{Block, BlockNo, BlockReader, PAGE_SIZE, check_byte_range};
use crate::error::{Corruption, Error};

/// Reads the blocks of one open file.
#[derive(Debug)]
pub struct FileBlockReader {
    file: File,
    n_blocks: u32,
    path: Option<PathBuf>,
}

impl FileBlockReader {
    /// Opens `path` read-only.
    pub fn open(path: impl AsRef<Path>) -> Result<FileBlockReader, Error> {
        let path = path.as_ref();
        let file = File::open(path)?;
        let mut reader = FileBlockReader::from_file(file)?;
        reader.path = Some(path.to_path_buf());
        Ok(reader)
    }

    /// Reads the blocks of an already open file (opened for reading).
    pub fn from_file(file: File) -> Result<FileBlockReader, Error> {
        let n_blocks = n_blocks_of_len(file.metadata()?.len())?;
        Ok(FileBlockReader {
            file,
            n_blocks,
            path: None,
        })
    }

    /// The path given to [`FileBlockReader::open`], if it was opened that way.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The open file.
    pub fn file(&self) -> &File {
        &self.file
    }
}

impl BlockReader for FileBlockReader {
    async fn read_block(&self, blkno: BlockNo) -> Result<Block, Error> {
        read_block_at(&self.file, self.n_blocks, blkno)
    }

    fn n_blocks(&self) -> u32 {
        self.n_blocks
    }

    async fn read_blocks(&self, first: BlockNo, buf: &mut [u8]) -> Result<(), Error> {
        read_blocks_at(&self.file, self.n_blocks, first, buf)
    }

    async fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        read_bytes_at(&self.file, self.n_blocks, offset, buf)
    }
}

/// One `pread` of the `buf.len()` bytes at `offset`, which must lie within `n_blocks`.
pub(crate) fn read_bytes_at(
    file: &File,
    n_blocks: u32,
    offset: u64,
    buf: &mut [u8],
) -> Result<(), Error> {
    check_byte_range(offset, buf.len(), n_blocks)?;
    if !buf.is_empty() {
        file.read_exact_at(buf, offset)?;
    }
    Ok(())
}

/// Whole blocks in a file of `len` bytes.
pub(crate) fn n_blocks_of_len(len: u64) -> Result<u32, Error> {
    let n_blocks = len / PAGE_SIZE as u64;
    u32::try_from(n_blocks).map_err(|_| Error::TooManyBlocks { n_blocks })
}

/// Checks that `count` blocks from `first` lie within `n_blocks`.
pub(crate) fn check_blocks(first: BlockNo, count: u64, n_blocks: u32) -> Result<(), Error> {
    let end = u64::from(first.0).saturating_add(count);
    if end <= u64::from(n_blocks) {
        Ok(())
    } else {
        // Name the first block that is missing.
        let missing = first.0.max(n_blocks);
        Err(Error::Corrupt(Corruption::BlockPastEnd {
            blkno: BlockNo(missing),
            n_blocks,
        }))
    }
}

/// One `pread` of block `blkno` into a fresh [`Block`].
pub(crate) fn read_block_at(file: &File, n_blocks: u32, blkno: BlockNo) -> Result<Block, Error> {
    check_blocks(blkno, 1, n_blocks)?;
    let mut block = Block::zeroed();
    let bytes = block.get_mut().expect("a fresh block has one handle");
    file.read_exact_at(bytes, blkno.byte_offset())?;
    Ok(block)
}

/// One `pread` of `buf.len()` bytes from the start of block `first`. The blocks touched
/// (a partial last one counts) must lie within `n_blocks`.
pub(crate) fn read_blocks_at(
    file: &File,
    n_blocks: u32,
    first: BlockNo,
    buf: &mut [u8],
) -> Result<(), Error> {
    if buf.is_empty() {
        return Ok(());
    }
    check_blocks(first, buf.len().div_ceil(PAGE_SIZE) as u64, n_blocks)?;
    file.read_exact_at(buf, first.byte_offset())?;
    Ok(())
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn file_with(bytes: &[u8]) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), bytes).unwrap();
        f
    }

    /// `read_at` reads exact byte ranges, across blocks, as the default block-by-block copy
    /// does; a range reaching the partial last block is corrupt, before any read.
    #[tokio::test]
    async fn read_at_reads_byte_ranges_inside_whole_blocks() {
        let mut bytes: Vec<u8> = (0..3 * PAGE_SIZE).map(|i| (i % 251) as u8).collect();
        bytes.extend([9u8; 100]);
        let tmp = file_with(&bytes);
        let file = FileBlockReader::open(tmp.path()).unwrap();
        let mem = crate::MemBlockReader::from_bytes(&bytes);
        for (offset, len) in [
            (0, 0),
            (5, 10),
            (PAGE_SIZE - 3, 7),
            (100, 2 * PAGE_SIZE + 50),
        ] {
            let expected = &bytes[offset..offset + len];
            let mut buf = vec![0u8; len];
            file.read_at(offset as u64, &mut buf).await.unwrap();
            assert_eq!(&buf[..], expected);
            buf.fill(0);
            mem.read_at(offset as u64, &mut buf).await.unwrap();
            assert_eq!(&buf[..], expected);
        }
        let mut buf = [0u8; 4];
        for reader_err in [
            file.read_at(3 * PAGE_SIZE as u64 - 2, &mut buf).await,
            mem.read_at(3 * PAGE_SIZE as u64 - 2, &mut buf).await,
            file.read_at(u64::MAX - 1, &mut buf).await,
        ] {
            assert!(matches!(
                reader_err,
                Err(Error::Corrupt(Corruption::BlockPastEnd { n_blocks: 3, .. }))
            ));
        }
    }

    #[tokio::test]
    async fn reads_whole_blocks_and_rejects_partial_last() {
        let mut bytes: Vec<u8> = (0..3 * PAGE_SIZE).map(|i| (i / 7) as u8).collect();
        bytes.extend([9u8; 100]); // a partial fourth block
        let tmp = file_with(&bytes);
        let reader = FileBlockReader::open(tmp.path()).unwrap();
        assert_eq!(reader.n_blocks(), 3);
        assert_eq!(reader.path(), Some(tmp.path()));
        for blkno in 0..3u32 {
            let block = reader.read_block(BlockNo(blkno)).await.unwrap();
            let start = blkno as usize * PAGE_SIZE;
            assert_eq!(&block[..], &bytes[start..start + PAGE_SIZE]);
        }
        let err = reader.read_block(BlockNo(3)).await.unwrap_err();
        assert!(matches!(
            err,
            Error::Corrupt(Corruption::BlockPastEnd {
                blkno: BlockNo(3),
                n_blocks: 3
            })
        ));
        assert!(reader.read_block(BlockNo(u32::MAX)).await.is_err());
    }

    #[test]
    fn a_length_past_u32_max_blocks_is_too_many_blocks() {
        let max = u64::from(u32::MAX) * PAGE_SIZE as u64;
        assert_eq!(
            n_blocks_of_len(max + PAGE_SIZE as u64 - 1).ok(),
            Some(u32::MAX)
        );
        let err = n_blocks_of_len(max + PAGE_SIZE as u64);
        assert!(matches!(
            err,
            Err(Error::TooManyBlocks { n_blocks }) if n_blocks == u64::from(u32::MAX) + 1
        ));
    }

    #[tokio::test]
    async fn read_blocks_is_one_range() {
        let bytes: Vec<u8> = (0..4 * PAGE_SIZE).map(|i| (i % 251) as u8).collect();
        let tmp = file_with(&bytes);
        let reader = FileBlockReader::from_file(File::open(tmp.path()).unwrap()).unwrap();
        let mut buf = vec![0u8; 2 * PAGE_SIZE];
        reader.read_blocks(BlockNo(1), &mut buf).await.unwrap();
        assert_eq!(&buf[..], &bytes[PAGE_SIZE..3 * PAGE_SIZE]);
        let mut buf = vec![0u8; 2 * PAGE_SIZE];
        let err = reader.read_blocks(BlockNo(3), &mut buf).await.unwrap_err();
        assert!(matches!(
            err,
            Error::Corrupt(Corruption::BlockPastEnd {
                blkno: BlockNo(4),
                ..
            })
        ));
        let err = reader.read_blocks(BlockNo(9), &mut buf).await.unwrap_err();
        assert!(matches!(
            err,
            Error::Corrupt(Corruption::BlockPastEnd {
                blkno: BlockNo(9),
                ..
            })
        ));
        reader.read_blocks(BlockNo(9), &mut []).await.unwrap();
    }
}
