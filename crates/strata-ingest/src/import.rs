//! [`import_datadir`]: a cleanly shut-down PostgreSQL data directory → image layers at its
//! checkpoint LSN (WAL.md 6.3).
//!
//! Procedure: parse and check `global/pg_control`; walk PGDATA (not `pg_wal`), classifying
//! each file ([`classify`]): relation segments give one image per block and the fork's size,
//! SLRU segments one image per page and the segment's size, relmaps and two-phase files their
//! bytes, pg_control the control-file and checkpoint keys; then every directory value
//! ([`Catalog::all_values`]). The keys are split into image layers of about
//! [`ImportOptions::image_layer_target`] bytes (key ranges tile from the first key to just
//! past the last), written with [`ImageLayerWriter`]; `metadata` is written last, so an
//! import is complete iff `metadata` exists.
//!
//! Memory: one small index entry per page (the pages themselves are read from their files
//! while the layer is written).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use strata_image::ImageLayerWriter;
use strata_key::{Key, KeyRange, Lsn};

use crate::catalog::{Catalog, Puts};
use crate::control::ControlFile;
use crate::datadir::{PgFile, RELSEG_BLOCKS, SLRU_PAGES_PER_SEGMENT, classify};
use crate::error::Error;
use crate::layout::{self, Extent};

const BLCKSZ: u64 = 8192;

/// Knobs of [`import_datadir`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportOptions {
    /// Start a new image layer once the current one holds this many bytes of values
    /// (Neon's compaction target size, 128 MiB, by default).
    pub image_layer_target: u64,
}

impl Default for ImportOptions {
    fn default() -> ImportOptions {
        ImportOptions {
            image_layer_target: 128 << 20,
        }
    }
}

/// What an import did (also its progress: layers and bytes so far of the total).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// The LSN of the images.
    pub lsn: Lsn,
    /// Image layer file names written so far.
    pub layers: Vec<String>,
    /// Values (keys) written so far.
    pub values: u64,
    /// Value bytes written so far.
    pub bytes: u64,
    /// Value bytes to write in all.
    pub total_bytes: u64,
    /// Relation forks imported.
    pub rel_forks: usize,
    /// Relation pages imported.
    pub rel_pages: u64,
    /// SLRU pages imported.
    pub slru_pages: u64,
}

/// Where a value's bytes are.
#[derive(Debug)]
enum Source {
    Mem(Bytes),
    /// A page of file `files[.0]` at byte offset `.1`.
    Page(usize, u64),
}

impl Source {
    fn len(&self) -> u64 {
        match self {
            Source::Mem(b) => b.len() as u64,
            Source::Page(..) => BLCKSZ,
        }
    }
}

/// Imports the stopped cluster in `pgdata` into `timeline_dir` (created if missing; must hold
/// no layer or metadata). `progress` is called after each layer.
pub fn import_datadir(
    pgdata: &Path,
    timeline_dir: &Path,
    opts: ImportOptions,
    progress: &mut dyn FnMut(&ImportSummary),
) -> Result<ImportSummary, Error> {
    let control_path = pgdata.join("global/pg_control");
    let control_bytes = fs::read(&control_path).map_err(|e| Error::file(&control_path, e))?;
    let control = ControlFile::parse(&control_bytes)?;
    control.check_shut_down()?;
    let lsn = control.import_lsn();

    fs::create_dir_all(timeline_dir).map_err(|e| Error::file(timeline_dir, e))?;
    let extent = Extent::scan(timeline_dir)?;
    if extent.n_layers > 0 || extent.has_metadata {
        return Err(Error::NotEmpty(timeline_dir.to_path_buf()));
    }

    let mut cat = Catalog::new(control.checkpoint_copy.clone());
    let mut puts = Puts::default();
    let mut entries: BTreeMap<Key, Source> = BTreeMap::new();
    let mut files: Vec<PathBuf> = Vec::new();
    let mut summary = ImportSummary {
        lsn,
        ..ImportSummary::default()
    };
    let mut stack = vec![PathBuf::new()];
    while let Some(rel_dir) = stack.pop() {
        let abs = pgdata.join(&rel_dir);
        let mut names = Vec::new();
        for entry in fs::read_dir(&abs).map_err(|e| Error::file(&abs, e))? {
            let entry = entry.map_err(|e| Error::file(&abs, e))?;
            names.push((
                entry.file_name(),
                entry.file_type().map_err(|e| Error::file(&abs, e))?,
            ));
        }
        for (name, ftype) in names {
            let rel_path = rel_dir.join(&name);
            let text = rel_path.to_string_lossy().into_owned();
            if ftype.is_dir() {
                if text != "pg_wal" {
                    stack.push(rel_path);
                }
                continue;
            }
            let path = pgdata.join(&rel_path);
            match classify(&text) {
                PgFile::Control => {
                    entries.insert(
                        Key::CONTROLFILE,
                        Source::Mem(Bytes::from(control_bytes.clone())),
                    );
                }
                PgFile::RelMap { spcnode, dbnode } => {
                    let bytes = fs::read(&path).map_err(|e| Error::file(&path, e))?;
                    cat.put_relmap(spcnode, dbnode, Bytes::from(bytes), &mut puts);
                }
                PgFile::Rel { rel, segno } => {
                    let n = pages(&path, u64::from(RELSEG_BLOCKS), &text)?;
                    let first = segno.checked_mul(RELSEG_BLOCKS).ok_or_else(|| {
                        Error::corrupt(format!("{text}: segment number too large"))
                    })?;
                    files.push(path);
                    for i in 0..n {
                        entries.insert(
                            Key::rel_block(rel, first + i),
                            Source::Page(files.len() - 1, u64::from(i) * BLCKSZ),
                        );
                    }
                    let size = cat.rel_size(rel).unwrap_or(0).max(first + n);
                    cat.create_rel(rel, size, &mut puts);
                    summary.rel_pages += u64::from(n);
                }
                PgFile::Slru { kind, segno } => {
                    let n = pages(&path, u64::from(SLRU_PAGES_PER_SEGMENT), &text)?;
                    files.push(path);
                    for i in 0..n {
                        entries.insert(
                            Key::slru_block(kind, segno, i),
                            Source::Page(files.len() - 1, u64::from(i) * BLCKSZ),
                        );
                    }
                    cat.create_slru_segment(kind, segno, n, &mut puts);
                    summary.slru_pages += u64::from(n);
                }
                PgFile::TwoPhase { xid } => {
                    let bytes = fs::read(&path).map_err(|e| Error::file(&path, e))?;
                    cat.set_twophase(xid, true);
                    puts.image(Key::twophase_file(xid), bytes);
                }
                PgFile::Skipped(_) => {}
                PgFile::Unsupported(reason) => {
                    return Err(Error::Unsupported { path: text, reason });
                }
            }
        }
    }
    summary.rel_forks = cat.rel_sizes.len();
    cat.all_values(&mut puts);
    for (key, value) in puts.0 {
        if let strata_delta::Value::Image(bytes) = value {
            entries.insert(key, Source::Mem(bytes));
        }
    }
    summary.total_bytes = entries.values().map(Source::len).sum();

    let (tenant, timeline) = layout::timeline_ids(timeline_dir);
    let mut open: Option<(usize, File)> = None;
    for range in split(&entries, opts.image_layer_target) {
        let mut writer = ImageLayerWriter::new(timeline_dir, tenant, timeline, range, lsn)?;
        for (key, src) in entries.range(range.start..range.end) {
            match src {
                Source::Mem(b) => writer.put_image(*key, b)?,
                Source::Page(idx, off) => {
                    if open.as_ref().is_none_or(|(i, _)| i != idx) {
                        let f =
                            File::open(&files[*idx]).map_err(|e| Error::file(&files[*idx], e))?;
                        open = Some((*idx, f));
                    }
                    let mut page = [0u8; BLCKSZ as usize];
                    if let Some((_, f)) = &open {
                        f.read_exact_at(&mut page, *off)
                            .map_err(|e| Error::file(&files[*idx], e))?;
                    }
                    writer.put_image(*key, &page)?;
                }
            }
            summary.values += 1;
            summary.bytes += src.len();
        }
        let desc = writer.finish()?;
        summary.layers.push(desc.file_name.clone());
        progress(&summary);
    }
    layout::write_metadata(timeline_dir, lsn, lsn)?;
    Ok(summary)
}

/// Pages in the file at `path`: its length must be a multiple of 8192 and at most `max`
/// pages.
fn pages(path: &Path, max: u64, text: &str) -> Result<u32, Error> {
    let len = fs::metadata(path).map_err(|e| Error::file(path, e))?.len();
    if len % BLCKSZ != 0 || len / BLCKSZ > max {
        return Err(Error::corrupt(format!(
            "{text}: {len} bytes is not a whole number of pages up to {max}"
        )));
    }
    Ok((len / BLCKSZ) as u32)
}

/// Key ranges of about `target` bytes each, tiling from the first key to just past the last.
fn split(entries: &BTreeMap<Key, Source>, target: u64) -> Vec<KeyRange> {
    let mut starts = Vec::new();
    let mut acc = 0u64;
    for (key, src) in entries {
        if starts.is_empty() || acc >= target.max(1) {
            starts.push(*key);
            acc = 0;
        }
        acc += src.len();
    }
    let Some(last) = entries.keys().next_back() else {
        return Vec::new();
    };
    let mut ranges: Vec<KeyRange> = starts
        .windows(2)
        .map(|w| KeyRange::new(w[0], w[1]))
        .collect();
    if let Some(&s) = starts.last() {
        ranges.push(KeyRange::new(s, last.next()));
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_tiles_the_keys() {
        let entries: BTreeMap<Key, Source> = (0..10u32)
            .map(|i| (Key::MIN.add(i * 3), Source::Page(0, 0)))
            .collect();
        let ranges = split(&entries, 3 * BLCKSZ);
        assert_eq!(ranges.len(), 4);
        assert_eq!(ranges[0].start, Key::MIN);
        for w in ranges.windows(2) {
            assert_eq!(w[0].end, w[1].start);
        }
        assert_eq!(ranges[3].end, Key::MIN.add(27).next());
        for k in entries.keys() {
            assert_eq!(ranges.iter().filter(|r| r.contains(k)).count(), 1);
        }
        assert!(split(&BTreeMap::new(), 1).is_empty());
    }
}
