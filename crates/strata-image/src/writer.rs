//! [`ImageLayerWriter`]: writes an image layer file byte-identical with Neon's
//! `ImageLayerWriter` (FORMAT.md sections 2, 10 and 11), synchronously.
//!
//! Procedure: create `<dir>/{final name}.{random}.___temp` with `create_new` (Neon's image
//! writer refuses an existing file; the delta writer truncates); append each image as a blob
//! from offset 8192 and its `key → offset` to an in-memory B-tree builder (L = 18, the leaf
//! value is the plain offset); at [`finish`](ImageLayerWriter::finish) write the index blocks
//! from `ceil(end of blobs / 8192)`, then block 0 (the 88-byte summary and zeros), fsync, rename
//! to `{key_start}-{key_end}__{lsn:016X}` and fsync the directory (`strata_layer::PendingFile`).
//!
//! Invariants:
//! * The key range and the LSN are fixed up front, so the final name is known from the start.
//! * Keys must be strictly increasing and inside the key range ([`Error::Unsorted`],
//!   [`Error::KeyOutOfRange`]; Neon `ensure!`s the range and its builder the order).
//! * **Empty layers:** [`finish`](ImageLayerWriter::finish) with no image is
//!   [`Error::EmptyLayer`] and leaves no file. Neon's writer panics there (its B-tree builder
//!   asserts that the root has an entry), so there is no Neon file to match.
//! * Any error poisons the writer (later calls are [`Error::Poisoned`]) and removes its file;
//!   dropping an unfinished writer removes it too. An fsync is never retried.
//! * Images are stored raw (Neon's seed format). With [`ImageLayerWriterOptions::zstd_level`]
//!   set they are zstd-compressed when that makes them smaller (Neon's newer format; such a
//!   file is not byte-identical with the seed's and every blob must fit 28 bits).

use std::path::Path;

use strata_blob::{BlobWriterOptions, DEFAULT_WRITE_BUFFER_SIZE, Fs, StdFs};
use strata_key::{ImageLayerName, Key, KeyRange, Lsn, TempLayerName, TenantId, TimelineId};
use strata_layer::{CreateMode, LayerBody, LayerDesc, LayerKind, PendingFile, temp_random};

use crate::error::Error;
use crate::format::{IMAGE_KEY_SIZE, Summary};

/// Knobs of an [`ImageLayerWriter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageLayerWriterOptions {
    /// Size of the value area's write buffer.
    pub write_buffer_size: usize,
    /// Compress images with zstd at this level when that makes them smaller (`None`, the
    /// default, writes Neon's seed format).
    #[cfg(feature = "zstd")]
    pub zstd_level: Option<i32>,
}

impl Default for ImageLayerWriterOptions {
    fn default() -> ImageLayerWriterOptions {
        ImageLayerWriterOptions {
            write_buffer_size: DEFAULT_WRITE_BUFFER_SIZE,
            #[cfg(feature = "zstd")]
            zstd_level: None,
        }
    }
}

/// Writes one image layer; see the module docs. `F` is the filesystem ([`StdFs`], or a
/// [`strata_blob::testing::fault::FaultyFs`] in tests).
pub struct ImageLayerWriter<F: Fs = StdFs> {
    /// The pending file, the value area and the index (and whether poisoned).
    body: LayerBody<F, IMAGE_KEY_SIZE>,
    tenant_id: TenantId,
    timeline_id: TimelineId,
    key_range: KeyRange,
    lsn: Lsn,
    last: Option<Key>,
}

impl ImageLayerWriter<StdFs> {
    /// Starts an image layer in `dir` (which must exist) for `key_range` at `lsn`, with
    /// default options.
    pub fn new(
        dir: &Path,
        tenant_id: TenantId,
        timeline_id: TimelineId,
        key_range: KeyRange,
        lsn: Lsn,
    ) -> Result<ImageLayerWriter<StdFs>, Error> {
        ImageLayerWriter::with_fs(
            StdFs,
            dir,
            tenant_id,
            timeline_id,
            key_range,
            lsn,
            ImageLayerWriterOptions::default(),
        )
    }
}

impl<F: Fs> ImageLayerWriter<F> {
    /// [`ImageLayerWriter::new`] through the filesystem `fs`, with options. Fails on an empty
    /// key range or `lsn == u64::MAX`.
    pub fn with_fs(
        fs: F,
        dir: &Path,
        tenant_id: TenantId,
        timeline_id: TimelineId,
        key_range: KeyRange,
        lsn: Lsn,
        opts: ImageLayerWriterOptions,
    ) -> Result<ImageLayerWriter<F>, Error> {
        if key_range.is_empty() {
            return Err(Error::InvalidKeyRange {
                start: key_range.start,
                end: key_range.end,
            });
        }
        if lsn == Lsn::MAX {
            return Err(Error::InvalidLsn { lsn });
        }
        let temp = TempLayerName::Image {
            name: ImageLayerName::new(key_range, lsn),
            random: temp_random(),
        };
        let (file, handle) = PendingFile::create(fs, dir, &temp.to_string(), CreateMode::New)?;
        let blob_opts = BlobWriterOptions {
            buffer_size: opts.write_buffer_size,
            #[cfg(feature = "zstd")]
            zstd_level: opts.zstd_level,
        };
        Ok(ImageLayerWriter {
            body: LayerBody::new(file, handle, blob_opts),
            tenant_id,
            timeline_id,
            key_range,
            lsn,
            last: None,
        })
    }

    /// Appends the page image of `key`. Keys must be strictly increasing and inside the key
    /// range.
    pub fn put_image(&mut self, key: Key, image: &[u8]) -> Result<(), Error> {
        self.check_usable()?;
        let res = self.put_inner(key, image);
        self.poison_on_err(res)
    }

    /// Bytes written so far (or buffered): the end offset of the value area.
    pub fn size(&self) -> u64 {
        self.body.size()
    }

    /// Number of images appended so far.
    pub fn n_entries(&self) -> u64 {
        self.body.n_entries()
    }

    /// Whether an earlier error poisoned the writer.
    pub fn is_poisoned(&self) -> bool {
        self.body.is_poisoned()
    }

    /// The file's current path (its temp name), while it is being written.
    pub fn temp_path(&self) -> Option<&Path> {
        self.body.path()
    }

    /// Writes the index and the summary, makes the file durable and gives it its final name.
    pub fn finish(mut self) -> Result<LayerDesc, Error> {
        self.check_usable()?;
        let res = self.finish_inner();
        self.poison_on_err(res)
    }

    fn check_usable(&self) -> Result<(), Error> {
        if !self.body.usable() {
            return Err(Error::Poisoned);
        }
        Ok(())
    }

    fn put_inner(&mut self, key: Key, image: &[u8]) -> Result<(), Error> {
        if !self.key_range.contains(&key) {
            return Err(Error::KeyOutOfRange {
                key,
                key_range: self.key_range,
            });
        }
        if let Some(last) = self.last.filter(|last| key <= *last) {
            return Err(Error::Unsorted { key, last });
        }
        let Some((blobs, tree)) = self.body.parts() else {
            return Err(Error::Poisoned);
        };
        let offset = blobs.write_blob(image)?;
        tree.append(&key.to_array(), offset)?;
        self.last = Some(key);
        Ok(())
    }

    fn finish_inner(&mut self) -> Result<LayerDesc, Error> {
        if self.last.is_none() {
            return Err(Error::EmptyLayer);
        }
        let Some(closed) = self.body.close::<Error>()? else {
            return Err(Error::Poisoned);
        };
        let size = closed.file_size;
        let index_start_blk =
            u32::try_from(closed.index_start_blk).map_err(|_| Error::FileTooLarge { size })?;
        let summary = Summary::new(
            self.tenant_id,
            self.timeline_id,
            self.key_range,
            self.lsn,
            index_start_blk,
            closed.root,
        );
        let name = ImageLayerName::new(self.key_range, self.lsn);
        let desc = LayerDesc::new(
            LayerKind::Image,
            name.to_string(),
            self.tenant_id,
            self.timeline_id,
            self.key_range,
            name.lsn_range(),
        );
        Ok(self
            .body
            .commit(closed, index_start_blk, &summary.encode(), desc)?)
    }

    fn poison_on_err<T>(&mut self, res: Result<T, Error>) -> Result<T, Error> {
        self.body.poison_on_err(res)
    }
}

impl<F: Fs> std::fmt::Debug for ImageLayerWriter<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageLayerWriter")
            .field("file", &self.body.path())
            .field("key_range", &self.key_range)
            .field("lsn", &self.lsn)
            .field("n_entries", &self.n_entries())
            .field("size", &self.size())
            .field("poisoned", &self.body.is_poisoned())
            .finish()
    }
}
