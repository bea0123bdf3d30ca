//! [`BlobWriter`]: appends blobs (FORMAT.md section 4) to a [`WriteFile`], buffered.
//!
//! Invariants:
//! * [`BlobWriter::size`] is the end offset of everything accepted so far, buffered or not;
//!   blob offsets are handed out from it, so they are exactly where the bytes will land.
//! * Writes are aligned: apart from the first (which starts at `start_offset`) and the last
//!   (from [`BlobWriter::flush`]), every write covers whole `buffer_size`-aligned windows of
//!   the file. Payloads of a whole window or more skip the buffer.
//! * A length the format cannot hold is [`Error::BlobTooLarge`] before anything is buffered.
//! * Any failed write or sync poisons the writer: every later call is [`Error::Poisoned`],
//!   and nothing is retried.

use crate::block::PAGE_SIZE;
use crate::error::Error;
use crate::format::{MAX_BLOB_LEN, encode_header};
use crate::fs::{WriteFile, write_all_at};

/// Default size of the write buffer and of the aligned windows. `benches/blob.rs`
/// (`strata-blob/write/file/*`, 32 MiB of page-sized blobs to a temporary file) measured
/// 64 KiB, 256 KiB and 1 MiB within noise of each other (1.0–1.2 GiB/s on a shared 2-core
/// box, bound by the kernel's copy); 256 KiB keeps writes large at a modest memory cost.
pub const DEFAULT_WRITE_BUFFER_SIZE: usize = 256 * 1024;

/// Knobs of a [`BlobWriter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobWriterOptions {
    /// Size of the write buffer, rounded up to a multiple of [`PAGE_SIZE`].
    pub buffer_size: usize,
    /// Compress payloads with zstd at this level, keeping the compressed form when it is
    /// smaller (Neon's newer format, FORMAT.md section 4 note). `None` (the default) writes the
    /// seed format. With compression on, every blob must fit the newer format's 28-bit length.
    #[cfg(feature = "zstd")]
    pub zstd_level: Option<i32>,
}

impl Default for BlobWriterOptions {
    fn default() -> BlobWriterOptions {
        BlobWriterOptions {
            buffer_size: DEFAULT_WRITE_BUFFER_SIZE,
            #[cfg(feature = "zstd")]
            zstd_level: None,
        }
    }
}

/// Appends blobs back to back; see the module docs.
#[derive(Debug)]
pub struct BlobWriter<F: WriteFile> {
    file: F,
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    buf_offset: u64,
    window: usize,
    poisoned: bool,
    #[cfg(feature = "zstd")]
    zstd_level: Option<i32>,
    #[cfg(feature = "zstd")]
    scratch: Vec<u8>,
}

impl<F: WriteFile> BlobWriter<F> {
    /// A writer appending to `file` from `start_offset` on, with default options.
    pub fn new(file: F, start_offset: u64) -> BlobWriter<F> {
        BlobWriter::with_options(file, start_offset, BlobWriterOptions::default())
    }

    /// A writer appending to `file` from `start_offset` on.
    pub fn with_options(file: F, start_offset: u64, opts: BlobWriterOptions) -> BlobWriter<F> {
        let window = opts.buffer_size.max(1).next_multiple_of(PAGE_SIZE);
        BlobWriter {
            file,
            buf: Vec::with_capacity(window),
            buf_offset: start_offset,
            window,
            poisoned: false,
            #[cfg(feature = "zstd")]
            zstd_level: opts.zstd_level,
            #[cfg(feature = "zstd")]
            scratch: Vec::new(),
        }
    }

    /// Appends one blob and returns the offset of its header.
    pub fn write_blob(&mut self, payload: &[u8]) -> Result<u64, Error> {
        self.write_blob_parts(&[payload])
    }

    /// Appends one blob whose payload is the concatenation of `parts`; returns the offset of
    /// its header.
    pub fn write_blob_parts(&mut self, parts: &[&[u8]]) -> Result<u64, Error> {
        if self.poisoned {
            return Err(Error::Poisoned);
        }
        let len = parts
            .iter()
            .try_fold(0u64, |acc, p| acc.checked_add(p.len() as u64))
            .unwrap_or(u64::MAX);
        let offset = self.size();
        #[cfg(feature = "zstd")]
        if let Some(level) = self.zstd_level {
            self.write_maybe_compressed(parts, len, level)?;
            return Ok(offset);
        }
        if len > MAX_BLOB_LEN {
            return Err(Error::BlobTooLarge(len));
        }
        let (header, header_len) = encode_header(len)?;
        self.append(header.get(..header_len).unwrap_or_default())?;
        for part in parts {
            self.append(part)?;
        }
        Ok(offset)
    }

    /// The end offset of all blobs accepted so far (where the next one will start).
    pub fn size(&self) -> u64 {
        self.buf_offset + self.buf.len() as u64
    }

    /// Writes out the buffered bytes.
    pub fn flush(&mut self) -> Result<(), Error> {
        if self.poisoned {
            return Err(Error::Poisoned);
        }
        self.flush_buf()
    }

    /// Flushes and makes the file durable. A failure poisons the writer (fsync is never
    /// retried: after a failed fsync the kernel may have dropped the dirty pages).
    pub fn sync_all(&mut self) -> Result<(), Error> {
        self.flush()?;
        let res = self.file.sync_all();
        self.poison_on_err(res)
    }

    /// The underlying file (buffered bytes are not in it yet).
    pub fn get_ref(&self) -> &F {
        &self.file
    }

    /// Flushes and gives the file back.
    pub fn into_inner(mut self) -> Result<F, Error> {
        self.flush()?;
        Ok(self.file)
    }

    #[cfg(feature = "zstd")]
    fn write_maybe_compressed(
        &mut self,
        parts: &[&[u8]],
        len: u64,
        level: i32,
    ) -> Result<(), Error> {
        use crate::format::{MAX_COMPRESSED_FORMAT_LEN, SHORT_HEADER_LIMIT, encode_zstd_header};

        if len > MAX_COMPRESSED_FORMAT_LEN {
            return Err(Error::BlobTooLarge(len));
        }
        if len < SHORT_HEADER_LIMIT {
            // Neon never compresses a short blob: a 1-byte header, payload as is (FORMAT.md 4).
            let (header, header_len) = encode_header(len)?;
            self.append(header.get(..header_len).unwrap_or_default())?;
            for part in parts {
                self.append(part)?;
            }
            return Ok(());
        }
        let mut payload = std::mem::take(&mut self.scratch);
        payload.clear();
        for part in parts {
            payload.extend_from_slice(part);
        }
        let compressed = zstd::bulk::compress(&payload, level)?;
        let res = if compressed.len() < payload.len() {
            encode_zstd_header(compressed.len() as u64).and_then(|header| {
                self.append(&header)?;
                self.append(&compressed)
            })
        } else {
            encode_header(len).and_then(|(header, header_len)| {
                self.append(header.get(..header_len).unwrap_or_default())?;
                self.append(&payload)
            })
        };
        self.scratch = payload;
        res
    }

    /// Buffers `bytes`, writing out each aligned window as it fills; whole windows are written
    /// straight from `bytes`.
    fn append(&mut self, mut bytes: &[u8]) -> Result<(), Error> {
        let window = self.window as u64;
        while !bytes.is_empty() {
            let end = self.size();
            if self.buf.is_empty() && end % window == 0 && bytes.len() >= self.window {
                let n = bytes.len() / self.window * self.window;
                let (direct, rest) = bytes.split_at(n);
                let res = write_all_at(&mut self.file, direct, end);
                self.poison_on_err(res)?;
                self.buf_offset = end + n as u64;
                bytes = rest;
                continue;
            }
            let room = (window - end % window) as usize;
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            self.buf.extend_from_slice(now);
            bytes = rest;
            if self.size() % window == 0 {
                self.flush_buf()?;
            }
        }
        Ok(())
    }

    fn flush_buf(&mut self) -> Result<(), Error> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let res = write_all_at(&mut self.file, &self.buf, self.buf_offset);
        self.poison_on_err(res)?;
        self.buf_offset += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    fn poison_on_err<T>(&mut self, res: std::io::Result<T>) -> Result<T, Error> {
        if res.is_err() {
            self.poisoned = true;
        }
        Ok(res?)
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::fs::{Fs, StdFs};
    use crate::testing::fault::{FaultyFs, OpKind};

    /// Records the (offset, len) of every write.
    #[derive(Default)]
    struct Recorder {
        data: Vec<u8>,
        writes: Vec<(u64, usize)>,
    }

    impl WriteFile for Recorder {
        fn write_at(&mut self, buf: &[u8], offset: u64) -> std::io::Result<usize> {
            self.writes.push((offset, buf.len()));
            self.data.write_at(buf, offset)
        }
        fn sync_all(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn writes_are_aligned_windows() {
        let opts = BlobWriterOptions {
            buffer_size: 16384,
            ..Default::default()
        };
        let mut w = BlobWriter::with_options(Recorder::default(), 8192, opts);
        let mut expect = vec![0u8; 8192];
        for i in 0..200u32 {
            let payload = vec![i as u8; (i as usize * 37) % 20000];
            let off = w.write_blob(&payload).unwrap();
            assert_eq!(off, expect.len() as u64);
            let (h, hl) = encode_header(payload.len() as u64).unwrap();
            expect.extend_from_slice(&h[..hl]);
            expect.extend_from_slice(&payload);
            assert_eq!(w.size(), expect.len() as u64);
        }
        let rec = w.into_inner().unwrap();
        assert_eq!(rec.data, expect);
        let n = rec.writes.len();
        for (i, &(off, len)) in rec.writes.iter().enumerate() {
            if i > 0 {
                assert_eq!(off % 16384, 0, "write {i} at {off} is not aligned");
            }
            if i + 1 < n {
                assert_eq!((off + len as u64) % 16384, 0, "write {i} ends unaligned");
            }
        }
    }

    #[test]
    fn too_large_writes_nothing() {
        let mut w = BlobWriter::new(Vec::new(), 0);
        w.write_blob(b"x").unwrap();
        // A fake slice length is not possible, so check through parts that add up too high.
        let big = vec![0u8; 1 << 20];
        let parts: Vec<&[u8]> = std::iter::repeat_n(&big[..], 2048).collect();
        assert!(matches!(
            w.write_blob_parts(&parts),
            Err(Error::BlobTooLarge(0x8000_0000))
        ));
        assert_eq!(w.size(), 2);
        w.write_blob(b"y").unwrap();
        assert_eq!(w.into_inner().unwrap(), b"\x01x\x01y");
    }

    #[test]
    fn every_fault_poisons_or_is_absorbed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let payloads: Vec<Vec<u8>> = (0..40).map(|i| vec![i as u8; i * 3001]).collect();
        let run = |fs: &FaultyFs<StdFs>| -> Result<(), Error> {
            let mut w = BlobWriter::with_options(
                fs.create(&path)?,
                8192,
                BlobWriterOptions {
                    buffer_size: 8192,
                    ..Default::default()
                },
            );
            for p in &payloads {
                if let Err(e) = w.write_blob(p) {
                    assert!(matches!(w.write_blob(b"z"), Err(Error::Poisoned)));
                    assert!(matches!(w.flush(), Err(Error::Poisoned)));
                    return Err(e);
                }
            }
            w.sync_all()?;
            Ok(())
        };
        let clean = FaultyFs::new(StdFs);
        run(&clean).unwrap();
        let expect = std::fs::read(&path).unwrap();
        let n_writes = clean.count(OpKind::Write);
        assert!(n_writes > 10);
        for nth in 0..n_writes {
            let fs = FaultyFs::new(StdFs).fail_nth(OpKind::Write, nth);
            let err = run(&fs).unwrap_err();
            assert!(matches!(err, Error::Io(_)), "{err:?}");
            assert_eq!(fs.n_fired(), 1);
            // Short writes are absorbed: the file is exactly the clean one.
            let fs = FaultyFs::new(StdFs).short_write_nth(nth);
            run(&fs).unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), expect);
        }
        let fs = FaultyFs::new(StdFs).fail_nth(OpKind::Sync, 0);
        assert!(matches!(run(&fs), Err(Error::Io(_))));
    }
}
