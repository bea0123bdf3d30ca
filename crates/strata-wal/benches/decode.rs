//! Decode throughput of [`WalDecoder`]: criterion over WAL written by [`WalBuilder`] (records of
//! mixed sizes, many continued across pages), and, when `STRATA_WAL_BENCH_DIR` names a `pg_wal`
//! directory of real segments, the same over those segments plus a side-by-side run against
//! `pg_waldump --quiet` and `pg_waldump --stats` on the same files (the owning `next_record`
//! and the borrowing `next_record_ref`, fed everything at once or 1 MiB at a time) (alternating, medians of
//! `STRATA_WAL_BENCH_RUNS` runs, default 7), printed as MB/s and records/s.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use strata_key::Lsn;
use strata_wal::format::{DEFAULT_SEGMENT_SIZE, parse_segment_file_name};
use strata_wal::{DecoderOptions, WalBuilder, WalDecoder};

const PG_WALDUMP: &str = "/usr/lib/postgresql/15/bin/pg_waldump";

/// About 32 MiB of records from 30 bytes to 20 KiB.
fn synthetic_wal() -> (Lsn, Vec<u8>) {
    let start = Lsn(0x0100_0000);
    let mut wal = WalBuilder::new(start);
    let mut i = 0u32;
    while wal.position().0 - start.0 < 32 << 20 {
        let len = match i % 8 {
            0 => 20_000,
            1 | 2 => 600,
            _ => 40 + (i % 97) as usize,
        };
        let data: Vec<u8> = (0..len).map(|j| (j as u32 ^ i) as u8).collect();
        wal.main_data_record(10, 0x00, i, &data);
        i += 1;
    }
    (start, wal.finish())
}

/// Decodes everything, fed in pieces of `chunk` bytes (as `strata ingest` feeds 1 MiB reads;
/// `usize::MAX` feeds it all at once), with the owning `next_record` or (`borrow`) the
/// borrowing `next_record_ref`; returns the record count.
fn decode(start: Lsn, wal: &[u8], chunk: usize, borrow: bool) -> usize {
    let mut decoder = WalDecoder::new(start, DecoderOptions::default()).expect("options");
    let mut pieces = wal.chunks(chunk.min(wal.len().max(1)));
    let mut n = 0;
    loop {
        let next = if borrow {
            decoder.next_record_ref().map(|r| r.map(|r| r.blocks.len()))
        } else {
            decoder.next_record().map(|r| r.map(|r| r.blocks.len()))
        };
        match next {
            Ok(Some(blocks)) => {
                black_box(blocks);
                n += 1;
            }
            Ok(None) => match pieces.next() {
                Some(piece) => decoder.feed(piece),
                None => decoder.finish(),
            },
            Err(_) => return n,
        }
    }
}

/// The decoder variants compared: `(name, chunk, borrow)`.
const VARIANTS: [(&str, usize, bool); 4] = [
    ("decode all", usize::MAX, false),
    ("decode_ref all", usize::MAX, true),
    ("decode 1MiB", 1 << 20, false),
    ("decode_ref 1MiB", 1 << 20, true),
];

/// `(first segment's LSN, bytes, directory)` of the segments in `STRATA_WAL_BENCH_DIR`.
fn real_wal() -> Option<(Lsn, Vec<u8>, PathBuf)> {
    let dir = PathBuf::from(std::env::var_os("STRATA_WAL_BENCH_DIR")?);
    let mut segs: Vec<(u64, PathBuf)> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().to_string_lossy().into_owned();
            let (_, segno) = parse_segment_file_name(&name, DEFAULT_SEGMENT_SIZE)?;
            Some((segno, e.path()))
        })
        .collect();
    segs.sort();
    let first = segs.first()?.0;
    let mut bytes = Vec::new();
    for (_, path) in &segs {
        bytes.extend(std::fs::read(path).ok()?);
    }
    Some((Lsn(first * DEFAULT_SEGMENT_SIZE), bytes, dir))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn pg_waldump(dir: &Path, start: Lsn, extra: &str) -> Duration {
    let t = Instant::now();
    let status = Command::new(PG_WALDUMP)
        .arg("-p")
        .arg(dir)
        .arg("-s")
        .arg(start.to_string())
        .arg(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("pg_waldump");
    let took = t.elapsed();
    // Exit 1 is its normal "end of WAL" report.
    assert!(status.code().is_some_and(|c| c <= 1), "{status}");
    took
}

/// Our decoder against pg_waldump on the same files, alternating.
fn compare_with_pg_waldump(start: Lsn, wal: &[u8], dir: &Path) {
    let runs: usize = std::env::var("STRATA_WAL_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let mut ours: Vec<Vec<Duration>> = vec![Vec::new(); VARIANTS.len()];
    let (mut quiet, mut stats) = (Vec::new(), Vec::new());
    let n_records = decode(start, wal, usize::MAX, true);
    for _ in 0..runs {
        for ((_, chunk, borrow), times) in VARIANTS.iter().zip(&mut ours) {
            let t = Instant::now();
            assert_eq!(decode(start, wal, *chunk, *borrow), n_records);
            times.push(t.elapsed());
        }
        quiet.push(pg_waldump(dir, start, "--quiet"));
        stats.push(pg_waldump(dir, start, "--stats"));
    }
    let mb = wal.len() as f64 / 1e6;
    let names = VARIANTS.iter().map(|v| format!("strata-wal {}", v.0));
    let pg = ["pg_waldump --quiet", "pg_waldump --stats"].map(String::from);
    for (name, times) in names.chain(pg).zip(ours.into_iter().chain([quiet, stats])) {
        let secs = median(times).as_secs_f64();
        eprintln!(
            "{name:<26} {:>8.1} MB/s {:>12.0} records/s (median of {runs}, {n_records} records, {mb:.1} MB)",
            mb / secs,
            n_records as f64 / secs
        );
    }
}

fn bench(c: &mut Criterion) {
    let (start, wal) = synthetic_wal();
    let mut group = c.benchmark_group("strata-wal/decode");
    group.throughput(Throughput::Bytes(wal.len() as u64));
    group.sample_size(10);
    for (name, chunk, borrow) in VARIANTS {
        group.bench_function(format!("synthetic {name}"), |b| {
            b.iter(|| decode(start, black_box(&wal), chunk, borrow))
        });
    }
    if let Some((start, wal, dir)) = real_wal() {
        group.throughput(Throughput::Bytes(wal.len() as u64));
        for (name, chunk, borrow) in VARIANTS {
            group.bench_function(format!("pg_wal {name}"), |b| {
                b.iter(|| decode(start, black_box(&wal), chunk, borrow))
            });
        }
        group.finish();
        if Path::new(PG_WALDUMP).is_file() {
            compare_with_pg_waldump(start, &wal, &dir);
        }
    } else {
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
