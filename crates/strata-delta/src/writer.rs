//! [`DeltaLayerWriter`]: writes a delta layer file byte-identical with Neon's writer
//! (FORMAT.md sections 2, 7 and 10), synchronously.
//!
//! Procedure: create `<dir>/<temp name>`; append each value as a blob from offset 8192 (through
//! [`BlobWriter`], which buffers into large aligned writes) and its
//! `DeltaKey → BlobRef` to an in-memory B-tree builder; at [`finish`](DeltaLayerWriter::finish)
//! write the index blocks from `ceil(end of blobs / 8192)`, then block 0 (the summary and
//! zeros), fsync the file, rename it to its final name and fsync the directory.
//!
//! Invariants:
//! * The file exists under its temp name from `new` until `finish` renames it; the final name
//!   holds only complete, fsynced layers.
//! * Any error poisons the writer (later calls are [`Error::Poisoned`]) and removes the file,
//!   under whichever name it has; dropping an unfinished writer removes it too. An fsync is
//!   never retried.
//! * Caller mistakes are typed errors where Neon asserts or trusts its callers: an empty LSN
//!   range, an LSN outside `lsn_range` (Neon checks only the start; we also reject LSNs
//!   `>= lsn_range.end`, which would make the summary lie), a key below `key_start` or not
//!   below `key_end`, unsorted (key, LSN), an empty layer, a value too large for a blob, and
//!   a file above the size limit (found as soon as it is certain, not only at `finish`).
//! * No per-value allocation: a value's small head (variant indices, lengths) is encoded into a
//!   reused buffer and its bulk payload is passed to the blob writer without a copy.
//! * The B-tree index is built in memory (as Neon's `BlockBuf`): about 8 KiB per ~260–540
//!   entries.

use std::path::Path;

use strata_blob::{BlobWriterOptions, DEFAULT_WRITE_BUFFER_SIZE, Fs, PAGE_SIZE, StdFs};
use strata_key::name::{DeltaLayerName, TempLayerName};
use strata_key::{Key, KeyRange, Lsn, LsnRange, TenantId, TimelineId};
pub use strata_layer::LayerDesc;
use strata_layer::{CreateMode, LayerBody, LayerKind, PendingFile, temp_random};

use crate::error::Error;
use crate::format::{BlobRef, DELTA_KEY_SIZE, DeltaKey, MAX_LAYER_FILE_SIZE, Summary};
use crate::value::Value;

/// Knobs of a [`DeltaLayerWriter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeltaLayerWriterOptions {
    /// A layer larger than this fails with [`Error::FileTooLarge`] and its file is removed.
    /// Default [`MAX_LAYER_FILE_SIZE`] (Neon's limit); lower it to test the error path.
    pub max_file_size: u64,
    /// Size of the value area's write buffer (each write covers this many bytes).
    pub write_buffer_size: usize,
}

/// Writes one delta layer; see the module docs. `F` is the filesystem ([`StdFs`], or a
/// [`strata_blob::testing::fault::FaultyFs`] in tests).
///
/// # From async code (tokio)
///
/// The writer is synchronous: every call may write and `finish` fsyncs. From a runtime, run
/// one **whole layer** on one `spawn_blocking` (create, put every value, finish), never one
/// `spawn_blocking` per value:
///
/// ```
/// use strata_delta::{DeltaLayerWriter, Key, Lsn, LsnRange, TenantId, TimelineId, Value};
///
/// # tokio::runtime::Builder::new_multi_thread().build().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().to_path_buf();
/// let key = Key::from_i128(7);
/// let values: Vec<(Key, Lsn, Value)> =
///     (1..=3).map(|i| (key, Lsn(i * 16), Value::Image(vec![i as u8; 8192].into()))).collect();
/// let desc = tokio::task::spawn_blocking(move || {
///     let lsns = LsnRange::new(Lsn(16), Lsn(64));
///     let mut w = DeltaLayerWriter::new(&path, TenantId([1; 16]), TimelineId([2; 16]), key, lsns)?;
///     for (key, lsn, value) in &values {
///         w.put_value(*key, *lsn, value)?;
///     }
///     w.finish(key.next())
/// })
/// .await
/// .unwrap()
/// .unwrap();
/// assert!(desc.path.exists());
/// # });
/// ```
pub struct DeltaLayerWriter<F: Fs = StdFs> {
    /// The pending file, the value area and the index (and whether poisoned).
    body: LayerBody<F, DELTA_KEY_SIZE>,
    tenant_id: TenantId,
    timeline_id: TimelineId,
    key_start: Key,
    lsn_range: LsnRange,
    opts: DeltaLayerWriterOptions,
    last: Option<DeltaKey>,
    /// Reused buffer for values' heads.
    head: Vec<u8>,
}

impl Default for DeltaLayerWriterOptions {
    fn default() -> DeltaLayerWriterOptions {
        DeltaLayerWriterOptions {
            max_file_size: MAX_LAYER_FILE_SIZE,
            write_buffer_size: DEFAULT_WRITE_BUFFER_SIZE,
        }
    }
}

impl DeltaLayerWriter<StdFs> {
    /// Starts a layer in `dir` (which must exist) for keys from `key_start` and LSNs in
    /// `lsn_range`, with default options. Fails on an empty `lsn_range`.
    pub fn new(
        dir: &Path,
        tenant_id: TenantId,
        timeline_id: TimelineId,
        key_start: Key,
        lsn_range: LsnRange,
    ) -> Result<DeltaLayerWriter<StdFs>, Error> {
        DeltaLayerWriter::with_fs(
            StdFs,
            dir,
            tenant_id,
            timeline_id,
            key_start,
            lsn_range,
            DeltaLayerWriterOptions::default(),
        )
    }
}

impl<F: Fs> DeltaLayerWriter<F> {
    /// [`DeltaLayerWriter::new`] through the filesystem `fs`, with options.
    pub fn with_fs(
        fs: F,
        dir: &Path,
        tenant_id: TenantId,
        timeline_id: TimelineId,
        key_start: Key,
        lsn_range: LsnRange,
        opts: DeltaLayerWriterOptions,
    ) -> Result<DeltaLayerWriter<F>, Error> {
        if lsn_range.is_empty() {
            return Err(Error::InvalidLsnRange {
                start: lsn_range.start,
                end: lsn_range.end,
            });
        }
        let temp_name = TempLayerName::Delta {
            key_start,
            lsn_range,
            random: temp_random(),
        }
        .to_string();
        let (pending, file) = PendingFile::create(fs, dir, &temp_name, CreateMode::Truncate)?;
        let blob_opts = BlobWriterOptions {
            buffer_size: opts.write_buffer_size,
            ..BlobWriterOptions::default()
        };
        Ok(DeltaLayerWriter {
            body: LayerBody::new(pending, file, blob_opts),
            tenant_id,
            timeline_id,
            key_start,
            lsn_range,
            opts,
            last: None,
            head: Vec::with_capacity(64),
        })
    }

    /// Appends `value` for `key` at `lsn`. (key, LSN) pairs must be strictly increasing, the
    /// key at least `key_start` and the LSN inside `lsn_range`.
    pub fn put_value(&mut self, key: Key, lsn: Lsn, value: &Value) -> Result<(), Error> {
        self.check_usable()?;
        let res = self.put_inner(key, lsn, value);
        self.poison_on_err(res)
    }

    /// Appends an already serialized value. `will_init` must be the value's flag (it is
    /// checked against the bytes' variant indices; the rest of the bytes is not decoded).
    pub fn put_value_bytes(
        &mut self,
        key: Key,
        lsn: Lsn,
        bytes: &[u8],
        will_init: bool,
    ) -> Result<(), Error> {
        self.check_usable()?;
        let res = match Value::will_init_from_bytes(bytes) {
            Err(error) => Err(Error::InvalidValue { key, lsn, error }),
            Ok(flag) if flag != will_init => Err(Error::WillInitMismatch {
                key,
                lsn,
                given: will_init,
            }),
            Ok(_) => self.append(key, lsn, &[bytes], will_init),
        };
        self.poison_on_err(res)
    }

    /// Bytes written so far (or buffered): the end offset of the value area.
    pub fn size(&self) -> u64 {
        self.body.size()
    }

    /// Number of entries appended so far.
    pub fn n_entries(&self) -> u64 {
        self.body.n_entries()
    }

    /// Whether an earlier error poisoned the writer.
    pub fn is_poisoned(&self) -> bool {
        self.body.is_poisoned()
    }

    /// Writes the index and the summary with key range `key_start..key_end`, makes the file
    /// durable and gives it its final name. `key_end` must be above every key written.
    pub fn finish(mut self, key_end: Key) -> Result<LayerDesc, Error> {
        self.check_usable()?;
        let res = self.finish_inner(key_end);
        self.poison_on_err(res)
    }

    fn check_usable(&self) -> Result<(), Error> {
        if !self.body.usable() {
            return Err(Error::Poisoned);
        }
        Ok(())
    }

    fn put_inner(&mut self, key: Key, lsn: Lsn, value: &Value) -> Result<(), Error> {
        let mut head = std::mem::take(&mut self.head);
        head.clear();
        let tail = value.encode_head_into(&mut head);
        let res = self.append(key, lsn, &[&head, tail], value.will_init());
        self.head = head;
        res
    }

    /// Checks the entry, writes its blob (the concatenation of `parts`) and indexes it.
    fn append(
        &mut self,
        key: Key,
        lsn: Lsn,
        parts: &[&[u8]],
        will_init: bool,
    ) -> Result<(), Error> {
        if !self.lsn_range.contains(lsn) {
            return Err(Error::LsnOutOfRange {
                lsn,
                lsn_range: self.lsn_range,
            });
        }
        if key < self.key_start {
            return Err(Error::KeyOutOfRange {
                key,
                start: self.key_start,
                end: Key::MAX,
            });
        }
        let dk = DeltaKey::from_key_lsn(key, lsn);
        if let Some(last) = self.last {
            if dk <= last {
                return Err(Error::Unsorted {
                    key,
                    lsn,
                    last_key: last.key(),
                    last_lsn: last.lsn(),
                });
            }
        }
        let Some((blobs, tree)) = self.body.parts() else {
            return Err(Error::Poisoned);
        };
        let offset = blobs.write_blob_parts(parts)?;
        tree.append(dk.as_array(), BlobRef::new(offset, will_init).raw())?;
        self.last = Some(dk);
        // The file will hold at least the padded value area and one index block.
        let min_size = blobs.size().next_multiple_of(PAGE_SIZE as u64) + PAGE_SIZE as u64;
        if min_size > self.opts.max_file_size {
            return Err(Error::FileTooLarge {
                size: min_size,
                limit: self.opts.max_file_size,
            });
        }
        Ok(())
    }

    fn finish_inner(&mut self, key_end: Key) -> Result<LayerDesc, Error> {
        let Some(last) = self.last else {
            return Err(Error::EmptyLayer);
        };
        if last.key() >= key_end {
            return Err(Error::KeyOutOfRange {
                key: last.key(),
                start: self.key_start,
                end: key_end,
            });
        }
        let Some(closed) = self.body.close::<Error>()? else {
            return Err(Error::Poisoned);
        };
        let file_size = closed.file_size;
        let too_large = Error::FileTooLarge {
            size: file_size,
            limit: self.opts.max_file_size,
        };
        if file_size > self.opts.max_file_size {
            return Err(too_large);
        }
        let index_start_blk = u32::try_from(closed.index_start_blk).map_err(|_| too_large)?;
        let key_range = KeyRange::new(self.key_start, key_end);
        let summary = Summary::new(
            self.tenant_id,
            self.timeline_id,
            key_range,
            self.lsn_range,
            index_start_blk,
            closed.root,
        );
        let desc = LayerDesc::new(
            LayerKind::Delta,
            final_file_name(key_range, self.lsn_range),
            self.tenant_id,
            self.timeline_id,
            key_range,
            self.lsn_range,
        );
        Ok(self
            .body
            .commit(closed, index_start_blk, &summary.encode(), desc)?)
    }

    fn poison_on_err<T>(&mut self, res: Result<T, Error>) -> Result<T, Error> {
        self.body.poison_on_err(res)
    }
}

impl<F: Fs> std::fmt::Debug for DeltaLayerWriter<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeltaLayerWriter")
            .field("file", &self.body.path())
            .field("key_start", &self.key_start)
            .field("lsn_range", &self.lsn_range)
            .field("n_entries", &self.n_entries())
            .field("size", &self.size())
            .field("poisoned", &self.body.is_poisoned())
            .finish()
    }
}

/// `{key_start}-{key_end}__{lsn_start:016X}-{lsn_end:016X}` (FORMAT.md section 10).
fn final_file_name(key_range: KeyRange, lsn_range: LsnRange) -> String {
    DeltaLayerName::new(key_range, lsn_range).to_string()
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn names_of_section_10() {
        let start: Key = "000000000000000000000000000000000000".parse().unwrap();
        let lsns = LsnRange::new(Lsn(0x1696070), Lsn(0x16960E9));
        assert_eq!(
            final_file_name(KeyRange::new(start, Key::MAX), lsns),
            "000000000000000000000000000000000000-FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF__\
             0000000001696070-00000000016960E9"
        );
        assert_eq!(
            TempLayerName::Delta {
                key_start: start,
                lsn_range: lsns,
                random: strata_key::name::TempRandom::new("aB3dE5gH").unwrap(),
            }
            .to_string(),
            "000000000000000000000000000000000000-XXX__0000000001696070-00000000016960E9.\
             aB3dE5gH.___temp"
        );
    }
}
