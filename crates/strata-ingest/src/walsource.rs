//! WAL segment files of a `pg_wal` directory read in stream order from an LSN, in bounded
//! chunks (WAL.md 1.1).
//!
//! A segment is named `{timeline:08X}{segno / segs_per_id:08X}{segno % segs_per_id:08X}`. The
//! first segment is read from the start LSN's offset; a missing segment ends the stream
//! (recycled or future segments are the decoder's to reject by their page headers).
//!
//! Invariant: memory is one chunk (`chunk` bytes) whatever the WAL size.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use strata_key::Lsn;

use crate::error::Error;

/// Reads the WAL stream of one timeline from `pg_wal`-style segment files.
#[derive(Debug)]
pub struct WalSource {
    dir: PathBuf,
    timeline: u32,
    seg_size: u64,
    /// The stream position of the next byte.
    pos: u64,
    file: Option<File>,
    chunk: usize,
    ended: bool,
}

/// The file name of segment `segno`.
pub fn segment_file_name(timeline: u32, segno: u64, seg_size: u64) -> String {
    let per_id = 0x1_0000_0000 / seg_size.max(1);
    format!("{timeline:08X}{:08X}{:08X}", segno / per_id, segno % per_id)
}

impl WalSource {
    /// A source for `timeline`'s WAL in `dir` from `start`.
    pub fn new(dir: &Path, timeline: u32, seg_size: u64, start: Lsn, chunk: usize) -> WalSource {
        WalSource {
            dir: dir.to_path_buf(),
            timeline,
            seg_size,
            pos: start.0,
            file: None,
            chunk: chunk.max(8192),
            ended: false,
        }
    }

    /// The next bytes of the stream (at most one chunk, never crossing a segment end), or
    /// `None` once the next segment file does not exist.
    pub fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, Error> {
        if self.ended {
            return Ok(None);
        }
        let segno = self.pos / self.seg_size;
        let offset = self.pos % self.seg_size;
        let path = self
            .dir
            .join(segment_file_name(self.timeline, segno, self.seg_size));
        if self.file.is_none() {
            match File::open(&path) {
                Ok(mut f) => {
                    f.seek(SeekFrom::Start(offset))
                        .map_err(|e| Error::file(&path, e))?;
                    self.file = Some(f);
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    self.ended = true;
                    return Ok(None);
                }
                Err(e) => return Err(Error::file(&path, e)),
            }
        }
        let want = (self.seg_size - offset).min(self.chunk as u64) as usize;
        let mut buf = vec![0u8; want];
        let mut got = 0;
        if let Some(f) = self.file.as_mut() {
            while got < want {
                match f.read(&mut buf[got..]) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(Error::file(&path, e)),
                }
            }
        }
        buf.truncate(got);
        self.pos += got as u64;
        if got < want {
            // A short segment file: the stream ends inside it.
            self.ended = true;
        } else if self.pos % self.seg_size == 0 {
            self.file = None;
        }
        if got == 0 {
            return Ok(None);
        }
        Ok(Some(buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_reads_across_segments() {
        assert_eq!(
            segment_file_name(1, 0x11, 16 << 20),
            "000000010000000000000011"
        );
        assert_eq!(
            segment_file_name(1, 0x100, 16 << 20),
            "000000010000000100000000"
        );
        let dir = tempfile::tempdir().unwrap();
        let seg = 1 << 20;
        std::fs::write(
            dir.path().join(segment_file_name(1, 1, seg)),
            vec![1u8; seg as usize],
        )
        .unwrap();
        std::fs::write(
            dir.path().join(segment_file_name(1, 2, seg)),
            vec![2u8; 100],
        )
        .unwrap();
        let mut src = WalSource::new(dir.path(), 1, seg, Lsn(seg + seg - 10_000), 8192);
        let mut all = Vec::new();
        while let Some(c) = src.next_chunk().unwrap() {
            assert!(c.len() <= 8192);
            all.extend(c);
        }
        assert_eq!(all.len(), 10_100);
        assert_eq!((all[9_999], all[10_000]), (1, 2));
    }
}
