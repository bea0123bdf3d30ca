//! [`ingest_wal`]: WAL from where a timeline's layers end → L0 delta layers, each added to
//! the open [`Timeline`] as soon as it is complete (WAL.md 4).
//!
//! Procedure: read the layer names (the resume point is the last stored LSN, or the import
//! LSN), rewrite `metadata` to match them, open the timeline (removing leftover temp files),
//! read pg_control and the [`Catalog`] back from it at the resume point, then decode WAL from
//! that LSN, map every record ([`crate::walingest`]) into the [`OpenLayer`], and flush a layer
//! whenever the buffered values reach [`IngestOptions::checkpoint_distance`], at the end, and
//! before stopping at [`IngestOptions::until`].
//!
//! Durability: killed at any point, the directory holds complete layers only (writers use
//! temp names) and a restart resumes after the last record they hold: records are read again
//! from exactly there, so none is stored twice or lost.

use std::path::Path;
use std::time::Instant;

use strata_blob::FileTable;
use strata_cache::PageCache;
use strata_key::{Key, Lsn, TenantId, TimelineId};
use strata_timeline::{Timeline, TimelineOptions};
use strata_wal::{DecoderOptions, EndOfWal, WalDecoder};

use crate::buffer::OpenLayer;
use crate::catalog::{Catalog, Puts};
use crate::control::ControlFile;
use crate::error::Error;
use crate::layout::{self, Extent};
use crate::walingest::ingest_record;
use crate::walsource::WalSource;

/// Neon's default checkpoint distance: the open layer is flushed at this many bytes.
pub const DEFAULT_CHECKPOINT_DISTANCE: u64 = 256 << 20;

/// Knobs of [`ingest_wal`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IngestOptions {
    /// Flush the open layer when its values reach this many bytes.
    pub checkpoint_distance: u64,
    /// Ingest only records stored at or below this LSN.
    pub until: Option<Lsn>,
    /// Bytes of WAL read at a time.
    pub read_chunk: usize,
}

impl Default for IngestOptions {
    fn default() -> IngestOptions {
        IngestOptions {
            checkpoint_distance: DEFAULT_CHECKPOINT_DISTANCE,
            until: None,
            read_chunk: 1 << 20,
        }
    }
}

/// Where an ingest is, for progress reports and the final summary.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IngestProgress {
    /// The storage LSN it resumed from.
    pub start_lsn: Lsn,
    /// The storage LSN of the last record ingested.
    pub lsn: Lsn,
    /// Records ingested by this run.
    pub records: u64,
    /// WAL bytes covered by this run (`lsn - start_lsn`).
    pub wal_bytes: u64,
    /// Delta layers written by this run.
    pub layers: u64,
    /// Bytes of the layers written.
    pub layer_bytes: u64,
    /// Seconds since the run started.
    pub seconds: f64,
    /// Why it stopped (set in the summary): PostgreSQL's end-of-WAL wording or "until".
    pub stop: Option<String>,
}

/// Prepares `dir` (which an import made) for ingest and opens it: the metadata is rewritten
/// to match the layer names and leftover temp files are removed. The timeline answers reads
/// while [`ingest_wal`] adds layers to it.
pub fn open_for_ingest(dir: &Path) -> Result<Timeline, Error> {
    let extent = Extent::scan(dir)?;
    let (Some(import_lsn), Some(resume), true) =
        (extent.image_lsn, extent.resume_lsn(), extent.has_metadata)
    else {
        return Err(Error::NoImport(dir.to_path_buf()));
    };
    layout::write_metadata(dir, resume, import_lsn)?;
    open_timeline(dir)
}

/// Ingests the WAL in `wal_dir` into `timeline` (from [`open_for_ingest`]), from the end of
/// its layers; `progress` is called after each chunk of WAL and each layer. Returns the
/// final progress, with [`IngestProgress::stop`] set.
pub async fn ingest_wal(
    wal_dir: &Path,
    timeline: &Timeline,
    opts: IngestOptions,
    progress: &mut dyn FnMut(&IngestProgress),
) -> Result<IngestProgress, Error> {
    let timeline_dir = timeline.dir();
    let extent = Extent::scan(timeline_dir)?;
    let (Some(import_lsn), Some(resume)) = (extent.image_lsn, extent.resume_lsn()) else {
        return Err(Error::NoImport(timeline_dir.to_path_buf()));
    };
    let control = ControlFile::parse(&timeline.get_page(Key::CONTROLFILE, resume).await?)?;
    let mut cat = Catalog::load(timeline, resume).await?;
    let (tenant, timeline_id) = layout::timeline_ids(timeline_dir);

    let seg_size = u64::from(control.wal_segment_size);
    let decoder_opts = DecoderOptions {
        segment_size: seg_size,
        system_id: Some(control.system_identifier),
        timeline: cat.checkpoint.timeline,
        ..DecoderOptions::default()
    };
    let mut decoder = WalDecoder::new(resume, decoder_opts)?;
    let mut source = WalSource::new(
        wal_dir,
        cat.checkpoint.timeline,
        seg_size,
        resume,
        opts.read_chunk,
    );
    let mut flush = Flusher {
        open: OpenLayer::new(Lsn(resume.0 + 1)),
        timeline,
        import_lsn,
        ids: (tenant, timeline_id),
        started: Instant::now(),
        p: IngestProgress {
            start_lsn: resume,
            lsn: resume,
            ..IngestProgress::default()
        },
    };
    let stop = loop {
        let record = match decoder.next_record_ref() {
            Ok(Some(r)) => r,
            Ok(None) => {
                match source.next_chunk()? {
                    Some(chunk) => decoder.feed(&chunk),
                    None => decoder.finish(),
                }
                flush.report(progress);
                continue;
            }
            Err(end) => break end_text(&end),
        };
        if opts.until.is_some_and(|u| record.next > u) {
            break "until".to_owned();
        }
        let mut puts = Puts::default();
        ingest_record(&mut cat, record, &mut puts)?;
        flush.open.add(record.next, puts);
        flush.p.records += 1;
        flush.p.lsn = record.next;
        flush.p.wal_bytes = record.next.0 - resume.0;
        if flush.open.bytes() >= opts.checkpoint_distance {
            flush.flush()?;
            flush.report(progress);
        }
    };
    flush.p.stop = Some(stop);
    flush.flush()?;
    flush.report(progress);
    Ok(flush.p)
}

fn end_text(end: &EndOfWal) -> String {
    end.reason.to_string()
}

/// The open layer and where its flushes go.
struct Flusher<'a> {
    open: OpenLayer,
    timeline: &'a Timeline,
    import_lsn: Lsn,
    ids: (TenantId, TimelineId),
    started: Instant,
    p: IngestProgress,
}

impl Flusher<'_> {
    /// Writes the open layer, adds it to the timeline and moves `metadata` to its end.
    fn flush(&mut self) -> Result<(), Error> {
        let last = self.open.last();
        let dir = self.timeline.dir();
        if let Some(desc) = self.open.flush(dir, self.ids.0, self.ids.1)? {
            self.timeline.add_layer(&desc.file_name)?;
            self.p.layers += 1;
            self.p.layer_bytes += desc.file_size;
            if let Some(last) = last {
                layout::write_metadata(dir, last, self.import_lsn)?;
            }
        }
        Ok(())
    }

    /// Calls `progress` with the time spent so far.
    fn report(&mut self, progress: &mut dyn FnMut(&IngestProgress)) {
        self.p.seconds = self.started.elapsed().as_secs_f64();
        progress(&self.p);
    }
}

/// Opens the timeline in `dir` as ingest and import leave it (ids from the path or zero,
/// leftovers removed, PostgreSQL 15), with 64 open files and a 1024-page cache.
pub fn open_timeline(dir: &Path) -> Result<Timeline, Error> {
    open_timeline_with(dir, &FileTable::new(64), &PageCache::new(1024))
}

/// [`open_timeline`] over the caller's file table and page cache (a benchmark's cold or
/// whole-data-set cache).
pub fn open_timeline_with(
    dir: &Path,
    files: &FileTable,
    cache: &PageCache,
) -> Result<Timeline, Error> {
    let opts = TimelineOptions {
        remove_leftovers: true,
        ids: Some(layout::ids(dir)),
        pg_version: layout::PG_VERSION,
        ..TimelineOptions::default()
    };
    Ok(Timeline::open(dir, files, cache, opts)?)
}
