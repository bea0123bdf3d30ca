//! `strata wal dump`: PostgreSQL WAL segment files decoded by strata-wal and printed as
//! `pg_waldump` prints them, minus the rmgr-specific description (`--bkp-details` for the
//! detailed block lines, `--stats` for per-rmgr totals, `--json` for one object per record).
//!
//! Segment files are read like `pg_waldump` reads them: from the segment holding `--start`,
//! consecutive segment numbers of one timeline, until a file is missing, a file is short (only
//! its whole pages count) or `--end` is reached.
//!
//! Invariants: stdout carries only records (or the statistics); where and why the WAL ended
//! goes to stderr. Exit code 0 when the WAL ends normally (a zero-filled tail, the last
//! available segment, or `--end`), 1 when it ends at damage (a CRC error, a bad page header, a
//! broken continuation...), 2 for usage and I/O problems.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::{Value as Json, json};
use strata_key::Lsn;
use strata_wal::format::{WAL_PAGE_SIZE, parse_segment_file_name, segment_file_name};
use strata_wal::waldump::{WalStats, fork_name, record_text};
use strata_wal::{DecoderOptions, EndOfWal, EndReason, Record, WalDecoder};

use crate::error::{EXIT_INVALID, Exit};
use crate::progress;

/// What `strata wal dump` was asked to do.
#[derive(Debug, Clone)]
pub struct DumpArgs {
    /// A `pg_wal` directory, a data directory holding one, or one segment file.
    pub path: PathBuf,
    /// First LSN (records starting before it are skipped).
    pub start: Option<Lsn>,
    /// Stop before reading past this LSN.
    pub end: Option<Lsn>,
    /// Detailed block reference lines (`pg_waldump -b`).
    pub bkp_details: bool,
    /// Print per-rmgr statistics instead of records.
    pub stats: bool,
    /// One JSON object per record.
    pub json: bool,
    /// Timeline of the segment files (default: the lowest one present).
    pub timeline: Option<u32>,
    /// WAL segment size in bytes.
    pub segment_size: u64,
}

/// The segment files to read: timeline, first segment number, directory.
struct Segments {
    dir: PathBuf,
    tli: u32,
    seg_size: u64,
    first: u64,
    /// A single file was named: read only it.
    only: bool,
}

/// `strata wal dump`.
pub fn dump(args: &DumpArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let seg_size = args.segment_size;
    let segs = locate(args)?;
    let start = args.start.unwrap_or(Lsn(segs.first * seg_size));
    let end = args
        .end
        .or(segs.only.then_some(Lsn((segs.first + 1) * seg_size)));
    let page = WAL_PAGE_SIZE as u64;
    let stream_start = Lsn(start.0 - start.0 % page);
    let opts = DecoderOptions {
        segment_size: seg_size,
        timeline: segs.tli,
        skip_before: start,
        ..DecoderOptions::default()
    };
    let mut decoder = WalDecoder::new(stream_start, opts)?;

    let first_segno = stream_start.0 / seg_size;
    let last_segno = end.map(|e| e.0.saturating_sub(1) / seg_size);
    let total: u64 = (first_segno..=last_segno.unwrap_or(u64::MAX))
        .map_while(|segno| segment_path(&segs, segno).and_then(|p| p.metadata().ok()))
        .map(|m| m.len())
        .sum();
    let bar = progress::bar(total, "wal dump");
    let mut stats = WalStats::default();
    let mut missing = None;
    let mut end_reached = false;
    let mut segno = first_segno;
    let ended = 'read: loop {
        let done_feeding = match feed_segment(&mut decoder, &segs, segno, stream_start, end)? {
            Fed::More(n) => {
                bar.inc(n);
                false
            }
            Fed::Last(n) => {
                bar.inc(n);
                true
            }
            Fed::EndReached(n) => {
                bar.inc(n);
                end_reached = true;
                true
            }
            Fed::Missing(name) => {
                missing = Some(name);
                true
            }
        };
        if done_feeding {
            decoder.finish();
        }
        loop {
            match decoder.next_record() {
                Ok(Some(record)) => {
                    if args.stats {
                        stats.add(&record);
                    } else if args.json {
                        writeln!(out, "{}", record_json(&record))?;
                    } else {
                        writeln!(out, "{}", record_text(&record, args.bkp_details))?;
                    }
                }
                Ok(None) => break,
                Err(end) => break 'read end,
            }
        }
        segno += 1;
    };
    bar.finish_and_clear();
    if args.stats {
        write!(out, "{}", stats.table())?;
    }
    report_end(&ended, end_reached, missing.as_deref(), out)
}

/// How much of one segment was fed.
enum Fed {
    /// Bytes fed; the next segment may follow.
    More(u64),
    /// Bytes fed; nothing follows (a short file or a single file).
    Last(u64),
    /// Bytes fed up to `--end`.
    EndReached(u64),
    /// The file does not exist.
    Missing(String),
}

fn feed_segment(
    decoder: &mut WalDecoder,
    segs: &Segments,
    segno: u64,
    stream_start: Lsn,
    end: Option<Lsn>,
) -> anyhow::Result<Fed> {
    let seg_size = segs.seg_size;
    let Some(path) = segment_path(segs, segno) else {
        return Ok(Fed::Missing(segment_file_name(segs.tli, segno, seg_size)));
    };
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let seg_start = segno * seg_size;
    // pg_waldump reads whole pages only: a short file ends the WAL at its last whole page.
    let usable = bytes.len() - bytes.len() % WAL_PAGE_SIZE;
    let short = (usable as u64) < seg_size;
    let from = stream_start.0.saturating_sub(seg_start) as usize;
    let mut to = usable.min(seg_size as usize);
    let mut end_reached = false;
    if let Some(end) = end {
        if end.0 <= seg_start + to as u64 {
            to = end.0.saturating_sub(seg_start) as usize;
            end_reached = true;
        }
    }
    let chunk = bytes.get(from.min(to)..to).unwrap_or_default();
    decoder.feed(chunk);
    let n = chunk.len() as u64;
    Ok(if end_reached {
        Fed::EndReached(n)
    } else if short || segs.only {
        Fed::Last(n)
    } else {
        Fed::More(n)
    })
}

fn segment_path(segs: &Segments, segno: u64) -> Option<PathBuf> {
    let name = segment_file_name(segs.tli, segno, segs.seg_size);
    [name.clone(), format!("{name}.partial")]
        .into_iter()
        .map(|n| segs.dir.join(n))
        .find(|p| p.is_file())
}

/// Where the segments are and which timeline and segment to start from.
fn locate(args: &DumpArgs) -> anyhow::Result<Segments> {
    let seg_size = args.segment_size;
    let path = &args.path;
    if path.is_file() {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .context("segment file name is not UTF-8")?;
        let (tli, segno) = parse_segment_file_name(name, seg_size)
            .with_context(|| format!("{name} is not a WAL segment file name (24 hex digits)"))?;
        let dir = path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        return Ok(Segments {
            dir,
            tli: args.timeline.unwrap_or(tli),
            seg_size,
            first: segno,
            only: args.end.is_none(),
        });
    }
    let dir = if path.join("pg_wal").is_dir() {
        path.join("pg_wal")
    } else {
        path.clone()
    };
    let mut found: Vec<(u32, u64)> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            parse_segment_file_name(&name, seg_size)
        })
        .filter(|(tli, _)| args.timeline.is_none_or(|t| t == *tli))
        .collect();
    found.sort();
    let Some(&(tli, lowest)) = found.first() else {
        bail!("no WAL segment files in {}", dir.display());
    };
    let first = args.start.map_or(lowest, |s| s.0 / seg_size);
    Ok(Segments {
        dir,
        tli,
        seg_size,
        first,
        only: false,
    })
}

/// Says on stderr where the WAL ended; damage is exit code 1.
fn report_end(
    ended: &EndOfWal,
    end_reached: bool,
    missing: Option<&str>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    out.flush()?;
    let last = ended
        .last_record
        .map_or_else(|| "none".to_owned(), |l| l.to_string());
    match &ended.reason {
        EndReason::NoMoreInput { .. } if end_reached => Ok(()),
        EndReason::NoMoreInput { at } => {
            let why = missing.map_or_else(
                || "the last segment file ends here".to_owned(),
                |m| format!("segment file {m} is missing"),
            );
            eprintln!("strata: end of the available WAL at {at} after record {last}: {why}");
            Ok(())
        }
        _ if ended.is_zero_tail() => {
            eprintln!("strata: end of WAL after record {last}: {}", ended.reason);
            Ok(())
        }
        _ => {
            eprintln!(
                "strata: WAL ends at damage after record {last}: {}",
                ended.reason
            );
            Err(Exit(EXIT_INVALID).into())
        }
    }
}

/// One record as a JSON object.
fn record_json(r: &Record) -> Json {
    let blocks: Vec<Json> = r
        .blocks
        .iter()
        .map(|b| {
            let image = b.image.as_ref().map(|i| {
                json!({
                    "bimg_len": i.bimg_len,
                    "hole_offset": i.hole_offset,
                    "hole_length": i.hole_length,
                    "bimg_info": i.bimg_info,
                    "apply": i.apply,
                    "compression": i.compression.name(),
                })
            });
            json!({
                "id": b.id,
                "spc": b.rel.spc,
                "db": b.rel.db,
                "rel": b.rel.rel,
                "fork": fork_name(b.fork()),
                "blkno": b.blkno,
                "fork_flags": b.fork_flags,
                "will_init": b.will_init(),
                "data_len": b.data_len(),
                "image": image,
            })
        })
        .collect();
    json!({
        "lsn": r.lsn.to_string(),
        "end": r.end.to_string(),
        "next": r.next.to_string(),
        "prev": r.header.prev.to_string(),
        "rmid": r.header.rmid,
        "rmgr": r.rmgr_name(),
        "info": r.header.info,
        "type": r.type_name(),
        "xid": r.header.xid,
        "tot_len": r.header.tot_len,
        "rec_len": r.rec_len(),
        "crc": r.header.crc,
        "main_data_len": r.main_data().len(),
        "origin": r.origin,
        "toplevel_xid": r.toplevel_xid,
        "blocks": blocks,
    })
}
