//! [`ImageLayer`]: an open image layer file (FORMAT.md sections 9 items 1–5 and 11), and its
//! point reads: [`get`](ImageLayer::get) and Neon's
//! [`get_value_reconstruct_data`](ImageLayer::get_value_reconstruct_data).
//!
//! Invariants of an open [`ImageLayer`] (checked on open):
//! * the source has at least 3 whole blocks;
//! * the expected summary, if given, matches (all fields but the index pointers);
//! * magic `0x5A60`, version 3, a non-empty key range, an LSN below `u64::MAX`, and index
//!   pointers inside the file (`strata_layer::check_summary_fields`, shared with delta layers).
//!
//! A point read checks what it relies on: the blob offset lies in the value area and the blob
//! ends inside it before any buffer is sized, so a corrupt length cannot make a reader
//! allocate more than the file holds. Point reads go block by block through the reader (the
//! page cache, normally); every error caused by the bytes is [`Error::Corrupt`], naming the
//! file when the layer was opened from a path.

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use strata_blob::{BlobReadOptions, BlockNo, BlockReader, PAGE_SIZE, TableFile};
use strata_btree::DiskBtreeReader;
use strata_cache::CachedReader;
use strata_key::{Key, Lsn, LsnRange};
use strata_layer::{SummaryRefusal, ValueReconstructResult, check_on_open};

use crate::error::{CorruptionKind, Error};
use crate::format::{IMAGE_KEY_SIZE, SUMMARY_LEN, Summary, VALUE_AREA_OFFSET};

const PAGE: u64 = PAGE_SIZE as u64;

pub use strata_layer::DEFAULT_MAX_RUN_BYTES;

/// Knobs of opening an [`ImageLayer`] (`file_len` is set by [`ImageLayer::open`]; a mismatch
/// with `expected_summary` is [`CorruptionKind::SummaryMismatch`]).
pub type OpenOptions = strata_layer::OpenOptions<Summary>;

/// An open image layer: its validated summary and its B-tree index over a [`BlockReader`].
/// All reads take `&self`; one layer serves any number of concurrent readers.
///
/// The reader type defaults to what [`ImageLayer::open`] gives (a file of a
/// [`FileTable`](strata_blob::FileTable) read through a
/// [`PageCache`](strata_cache::PageCache)), so a plain `ImageLayer` in a signature is the usual layer;
/// layers from different sources share one type as a
/// [`SharedImageLayer`](crate::SharedImageLayer) ([`ImageLayer::into_shared`]).
#[derive(Debug)]
pub struct ImageLayer<R = CachedReader<TableFile>> {
    tree: DiskBtreeReader<R, IMAGE_KEY_SIZE>,
    summary: Summary,
    path: Option<PathBuf>,
    file_len: Option<u64>,
    blob_opts: BlobReadOptions,
    max_run_bytes: u64,
}

strata_layer::layer_open!(ImageLayer);

impl<R: BlockReader> ImageLayer<R> {
    async fn open_reader(
        reader: R,
        path: Option<PathBuf>,
        opts: OpenOptions,
    ) -> Result<ImageLayer<R>, Error> {
        let checked = match read_summary(&reader).await {
            Ok(s) => {
                check_summary(&s, reader.n_blocks(), opts.expected_summary.as_ref()).map(|()| s)
            }
            Err(e) => Err(e),
        };
        match checked {
            Ok(summary) => Ok(ImageLayer::new_unchecked(reader, summary, path, &opts)),
            Err(e) => Err(e.in_file(path.as_deref())),
        }
    }

    /// A layer over `reader` with `summary` as is, without any check: for `verify`, which
    /// reports what is wrong instead of refusing. Callers check what they rely on.
    pub(crate) fn new_unchecked(
        reader: R,
        summary: Summary,
        path: Option<PathBuf>,
        opts: &OpenOptions,
    ) -> ImageLayer<R> {
        ImageLayer {
            tree: DiskBtreeReader::new(summary.index_start_blk, summary.index_root_blk, reader),
            summary,
            path,
            file_len: opts.file_len,
            blob_opts: opts.blob,
            max_run_bytes: opts.max_run_bytes,
        }
    }

    /// The layer's summary (block 0).
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// The layer's LSN.
    pub fn lsn(&self) -> Lsn {
        self.summary.lsn
    }

    /// The file the layer was opened from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The file's length in bytes, when known.
    pub fn file_len(&self) -> Option<u64> {
        self.file_len
    }

    /// The block source.
    pub fn reader(&self) -> &R {
        self.tree.reader()
    }

    /// The B-tree index (18-byte keys, plain blob offsets).
    pub fn tree(&self) -> &DiskBtreeReader<R, IMAGE_KEY_SIZE> {
        &self.tree
    }

    /// First offset after the value area: `index_start_blk * 8192`.
    pub fn value_area_end(&self) -> u64 {
        u64::from(self.summary.index_start_blk) * PAGE
    }

    pub(crate) fn blob_opts(&self) -> &BlobReadOptions {
        &self.blob_opts
    }

    pub(crate) fn max_run_bytes(&self) -> u64 {
        self.max_run_bytes
    }

    /// Adds this layer's file to a corruption error.
    pub(crate) fn ctx(&self, e: impl Into<Error>) -> Error {
        e.into().in_file(self.path.as_deref())
    }

    /// Checks an index entry against the summary: the key inside the key range, the offset
    /// inside the value area.
    pub(crate) fn check_entry(&self, key: Key, offset: u64) -> Result<(), Error> {
        if !self.summary.key_range.contains(&key) {
            return Err(CorruptionKind::KeyOutOfRange { key }.into());
        }
        let value_area_end = self.value_area_end();
        if offset < VALUE_AREA_OFFSET || offset >= value_area_end {
            return Err(CorruptionKind::BlobOutsideValueArea {
                offset,
                value_area_end,
            }
            .into());
        }
        Ok(())
    }

    /// The image stored for `key` (exact match), or `None`: `buf` receives it.
    pub async fn get_into(&self, key: Key, buf: &mut Vec<u8>) -> Result<bool, Error> {
        self.get_inner(key, buf).await.map_err(|e| self.ctx(e))
    }

    /// The image stored for `key`, or `None` if the key is absent (it does not exist at the
    /// layer's LSN).
    pub async fn get(&self, key: Key) -> Result<Option<Vec<u8>>, Error> {
        let mut buf = Vec::new();
        Ok(self.get_into(key, &mut buf).await?.then_some(buf))
    }

    async fn get_inner(&self, key: Key, buf: &mut Vec<u8>) -> Result<bool, Error> {
        let Some(offset) = self.tree.get(&key.to_array()).await? else {
            buf.clear();
            return Ok(false);
        };
        self.check_entry(key, offset)?;
        strata_blob::read_blob_with(
            self.reader(),
            offset,
            self.value_area_end(),
            buf,
            &self.blob_opts,
        )
        .await?;
        Ok(true)
    }

    /// Neon's `ImageLayerInner::get_value_reconstruct_data` for one layer: Complete with the
    /// image at the layer's LSN put into `img`, or Missing (and `img` untouched). It takes no
    /// LSN range: the layer map consults an image layer only when its LSN is in the request's
    /// range. On an error `img` is left as it was.
    pub async fn get_value_reconstruct_data(
        &self,
        key: Key,
        img: &mut Option<(Lsn, Vec<u8>)>,
    ) -> Result<ValueReconstructResult, Error> {
        let mut buf = Vec::new();
        if self.get_into(key, &mut buf).await? {
            *img = Some((self.summary.lsn, buf));
            Ok(ValueReconstructResult::Complete)
        } else {
            Ok(ValueReconstructResult::Missing)
        }
    }
}

/// The golden `Q` line (`golden-image/README`) of a lookup of `key` over `lsn_range` that gave
/// `result`, with the image's LSN when one was found:
/// `Q <key> <lsn_start> <lsn_end> <Complete|Missing> img=<lsn|-> visited=<lsn:Image|->`.
pub fn format_query_line(
    key: Key,
    lsn_range: LsnRange,
    result: ValueReconstructResult,
    img_lsn: Option<Lsn>,
) -> String {
    let mut line = format!(
        "Q {key} {} {} {} ",
        lsn_range.start.to_hex16(),
        lsn_range.end.to_hex16(),
        result.as_str()
    );
    match img_lsn {
        Some(lsn) => {
            let _ = write!(
                line,
                "img={} visited={}:Image",
                lsn.to_hex16(),
                lsn.to_hex16()
            );
        }
        None => line.push_str("img=- visited=-"),
    }
    line
}

/// Reads and decodes block 0's summary (no validation).
pub(crate) async fn read_summary<R: BlockReader>(reader: &R) -> Result<Summary, Error> {
    if reader.n_blocks() == 0 {
        return Err(strata_layer::SummaryProblem::FileTooShort { n_blocks: 0 }.into());
    }
    let block0 = reader.read_block(BlockNo(0)).await?;
    Summary::decode(block0.get(..SUMMARY_LEN).unwrap_or_default())
}

/// The checks made on open (see the module docs).
pub(crate) fn check_summary(
    summary: &Summary,
    n_blocks: u32,
    expected: Option<&Summary>,
) -> Result<(), Error> {
    check_on_open(summary, n_blocks, expected).map_err(|refusal| match refusal {
        SummaryRefusal::Problem(p) => p.into(),
        SummaryRefusal::Mismatch(expected) => CorruptionKind::SummaryMismatch {
            expected: Box::new(expected),
            found: Box::new(*summary),
        }
        .into(),
        SummaryRefusal::Lsn => CorruptionKind::LsnOverflow { lsn: summary.lsn }.into(),
    })
}
