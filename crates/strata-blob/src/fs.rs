//! The small, synchronous filesystem surface writers use ([`Fs`], [`WriteFile`]), so tests can
//! put faults in it ([`fault`](crate::testing::fault)); [`StdFs`] is the real one.
//!
//! Invariants: [`WriteFile::write_at`] may write fewer bytes than asked (callers loop, see
//! [`write_all_at`]); nothing here retries an `fsync`.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// A file being written with positioned writes.
pub trait WriteFile: Send {
    /// Writes some prefix of `buf` at `offset` and returns its length (possibly short, never
    /// more than `buf.len()`).
    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<usize>;

    /// Makes the written data durable (`fsync`).
    fn sync_all(&mut self) -> io::Result<()>;
}

/// The filesystem operations a layer writer needs.
pub trait Fs: Send + Sync {
    /// The files this filesystem creates.
    type File: WriteFile;

    /// Creates `path` for writing, truncating it if it exists.
    fn create(&self, path: &Path) -> io::Result<Self::File>;

    /// Creates `path` for writing, failing if it exists (`O_CREAT | O_EXCL`, Neon's
    /// `create_new`).
    fn create_new(&self, path: &Path) -> io::Result<Self::File>;

    /// Renames `from` to `to`, replacing `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Removes the file `path`.
    fn remove_file(&self, path: &Path) -> io::Result<()>;

    /// Makes the entries of directory `dir` durable (`fsync` of the directory).
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// The operating system's filesystem, through `std::fs`.
#[derive(Clone, Copy, Debug, Default)]
pub struct StdFs;

impl Fs for StdFs {
    type File = File;

    fn create(&self, path: &Path) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
    }

    fn create_new(&self, path: &Path) -> io::Result<File> {
        OpenOptions::new().write(true).create_new(true).open(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
}

impl WriteFile for File {
    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<usize> {
        FileExt::write_at(self, buf, offset)
    }

    fn sync_all(&mut self) -> io::Result<()> {
        File::sync_all(self)
    }
}

/// An in-memory file: writes past the end extend it, filling any gap with zeros.
impl WriteFile for Vec<u8> {
    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<usize> {
        let start = usize::try_from(offset)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset beyond memory"))?;
        let end = start
            .checked_add(buf.len())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "offset beyond memory"))?;
        if self.len() < end {
            self.resize(end, 0);
        }
        self[start..end].copy_from_slice(buf);
        Ok(buf.len())
    }

    fn sync_all(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: WriteFile + ?Sized> WriteFile for Box<W> {
    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<usize> {
        (**self).write_at(buf, offset)
    }

    fn sync_all(&mut self) -> io::Result<()> {
        (**self).sync_all()
    }
}

/// Writes all of `buf` at `offset`, looping over short writes and retrying interrupted ones.
/// A write of zero bytes is [`io::ErrorKind::WriteZero`].
pub fn write_all_at<W: WriteFile + ?Sized>(
    file: &mut W,
    mut buf: &[u8],
    mut offset: u64,
) -> io::Result<()> {
    while !buf.is_empty() {
        match file.write_at(buf, offset) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "write_at wrote no bytes",
                ));
            }
            Ok(n) => {
                let n = n.min(buf.len());
                buf = buf.get(n..).unwrap_or_default();
                offset = offset.checked_add(n as u64).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidInput, "offset overflows u64")
                })?;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn vec_file_fills_gaps_and_overwrites() {
        let mut v: Vec<u8> = Vec::new();
        write_all_at(&mut v, b"abc", 5).unwrap();
        assert_eq!(v, b"\0\0\0\0\0abc");
        write_all_at(&mut v, b"XY", 1).unwrap();
        assert_eq!(v, b"\0XY\0\0abc");
    }

    #[test]
    fn std_fs_create_rename_remove() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        let fs = StdFs;
        let mut f = fs.create(&a).unwrap();
        write_all_at(&mut f, b"hello", 2).unwrap();
        WriteFile::sync_all(&mut f).unwrap();
        drop(f);
        // create truncates; create_new refuses an existing file
        assert!(fs.create_new(&a).is_err());
        let mut f = fs.create(&a).unwrap();
        write_all_at(&mut f, b"hi", 0).unwrap();
        drop(f);
        fs.rename(&a, &b).unwrap();
        fs.sync_dir(dir.path()).unwrap();
        assert_eq!(std::fs::read(&b).unwrap(), b"hi");
        assert!(!a.exists());
        fs.remove_file(&b).unwrap();
        assert!(!b.exists());
        assert!(fs.remove_file(&b).is_err());
    }
}
