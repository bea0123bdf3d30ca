//! The ingest benchmark on a PostgreSQL-generated timeline (`cargo bench -p strata-ingest
//! --bench ingest`; skipped with a message when PostgreSQL 15 is not installed).
//!
//! One PostgreSQL 15 run (the test fixture's workload: pgbench -i, a short pgbench run, the
//! xid-burning scripts; port 54395), then, in one session:
//! * **decode only**: the WAL read from `pg_wal` in 1 MiB chunks and decoded with
//!   `next_record_ref`, alternating with `pg_waldump --quiet` over the same LSN range;
//! * **ingest**: import (untimed) into a fresh directory, then `ingest_wal` (timed: decoding,
//!   mapping, every layer written, fsynced, renamed and added, `metadata` rewritten), giving WAL
//!   MB/s, records/s and layers;
//! * **get_page latency** on the last ingest's result: relation blocks (a deterministic random
//!   sample over every main fork; the traversal `get_page` makes, image plus records, since
//!   Strata has no PostgreSQL redo to apply heap records) and every CLOG page (the full
//!   `get_page`, Neon's CLOG redo applied). Cold = first read after opening the timeline with
//!   an empty page cache (the OS cache is warm); warm = the same reads again (CLOG pages ten
//!   times), the cache holding everything.
//!
//! Figures are medians of `STRATA_INGEST_BENCH_RUNS` runs (default 5); latencies are the
//! median and p99 of every read. Knobs: `STRATA_INGEST_BENCH_SCALE` (pgbench scale, default 1),
//! `_SECONDS` (pgbench run, 3), `_BURN` (burn transactions per client, 7000), `_CHECKPOINT_MB`
//! (16), `_SAMPLE` (relation blocks read, 2000).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use strata_blob::FileTable;
use strata_cache::PageCache;
use strata_ingest::testing::{PgRun, PgSpec, pg_bin};
use strata_ingest::{
    Catalog, ControlFile, ImportOptions, IngestOptions, WalSource, import_datadir, ingest_wal,
    open_for_ingest, open_timeline_with,
};
use strata_key::{Key, Lsn, SlruKind};
use strata_timeline::Timeline;
use strata_wal::{DecoderOptions, WalDecoder};

/// Warm passes over the (few) CLOG pages per round.
const CLOG_WARM_PASSES: usize = 10;
/// The benchmark server's port (the tests use 54391, 54393 and 54394).
const PORT: u16 = 54395;

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(format!("STRATA_INGEST_BENCH_{name}"))
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Median and p99 of `v`, in µs.
fn percentiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e6;
    (at(0.5), at(0.99))
}

/// Decodes `wal` from `start` as ingest reads it; returns the records and the end LSN.
fn decode_only(wal: &Path, start: Lsn, control: &ControlFile) -> (u64, Lsn) {
    let seg = u64::from(control.wal_segment_size);
    let tli = control.checkpoint_copy.timeline;
    let opts = DecoderOptions {
        segment_size: seg,
        system_id: Some(control.system_identifier),
        timeline: tli,
        ..DecoderOptions::default()
    };
    let mut decoder = WalDecoder::new(start, opts).expect("decoder options");
    let mut source = WalSource::new(wal, tli, seg, start, 1 << 20);
    let (mut n, mut last) = (0, start);
    loop {
        match decoder.next_record_ref() {
            Ok(Some(r)) => {
                n += 1;
                last = r.next;
            }
            Ok(None) => match source.next_chunk().expect("reading WAL") {
                Some(chunk) => decoder.feed(&chunk),
                None => decoder.finish(),
            },
            Err(_) => return (n, last),
        }
    }
}

fn pg_waldump(wal: &Path, start: Lsn, end: Lsn) -> Duration {
    let t = Instant::now();
    let status = Command::new(pg_bin().join("pg_waldump"))
        .arg("-p")
        .arg(wal)
        .args(["-s", &start.to_string(), "-e", &end.to_string(), "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("pg_waldump");
    let took = t.elapsed();
    assert!(
        status.code().is_some_and(|c| c <= 1),
        "pg_waldump: {status}"
    );
    took
}

/// `n` relation blocks spread over every main fork's blocks (a Weyl sequence with the golden
/// ratio's step, deterministic), and every CLOG page.
fn sample_keys(cat: &Catalog, n: u64) -> (Vec<Key>, Vec<Key>) {
    let forks: Vec<_> = cat
        .rel_sizes
        .iter()
        .filter(|(rel, size)| rel.forknum == 0 && **size > 0)
        .collect();
    let total: u64 = forks.iter().map(|(_, s)| u64::from(**s)).sum();
    let rel_keys = (0..n)
        .map(|i| {
            let mut at = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % total.max(1);
            for (rel, size) in &forks {
                if at < u64::from(**size) {
                    return Key::rel_block(**rel, at as u32);
                }
                at -= u64::from(**size);
            }
            unreachable!("the draw is below the total")
        })
        .collect();
    let clog = cat
        .slru_sizes
        .iter()
        .filter(|((kind, _), _)| *kind == SlruKind::Clog)
        .flat_map(|(&(kind, segno), &pages)| {
            (0..pages).map(move |p| Key::slru_block(kind, segno, p))
        })
        .collect();
    (rel_keys, clog)
}

/// One timed read per key: the traversal (`history`) or the whole `get_page`.
fn read_all(
    tl: &Timeline,
    rt: &tokio::runtime::Runtime,
    keys: &[Key],
    lsn: Lsn,
    history: bool,
    out: &mut Vec<Duration>,
) {
    for &key in keys {
        let t = Instant::now();
        if history {
            let h = rt.block_on(tl.get_history(key, lsn)).expect("get_history");
            std::hint::black_box(h.history.records.len());
        } else {
            let page = rt.block_on(tl.get_page(key, lsn)).expect("get_page");
            std::hint::black_box(page.len());
        }
        out.push(t.elapsed());
    }
}

fn main() {
    if !pg_bin().join("initdb").is_file() {
        eprintln!(
            "ingest bench skipped: no PostgreSQL 15 at {} (set PG_BIN)",
            pg_bin().display()
        );
        return;
    }
    let runs = knob("RUNS", 5).max(1) as usize;
    let spec = PgSpec {
        port: PORT,
        scale: knob("SCALE", 1) as u32,
        pgbench_seconds: knob("SECONDS", 3) as u32,
        burn_transactions: knob("BURN", 7000) as u32,
    };
    let checkpoint_mb = knob("CHECKPOINT_MB", 16).max(1);
    let tmp = tempfile::Builder::new()
        .prefix("strata-ingest-bench")
        .tempdir()
        .expect("temp dir");
    let pg = PgRun::generate(&tmp.path().join("pg"), &spec).expect("PostgreSQL run");
    let wal = pg.wal_dir();
    let control_bytes = std::fs::read(pg.base.join("global/pg_control")).expect("pg_control");
    let control = ControlFile::parse(&control_bytes).expect("pg_control");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");

    // The import LSN, where ingest starts decoding.
    let probe = tmp.path().join("probe");
    let start = import_datadir(&pg.base, &probe, ImportOptions::default(), &mut |_| {})
        .expect("import")
        .lsn;
    std::fs::remove_dir_all(&probe).expect("removing the probe import");

    // Decode only, alternating with pg_waldump over the same range.
    let (records, end) = decode_only(&wal, start, &control);
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        assert_eq!(decode_only(&wal, start, &control), (records, end));
        ours.push(t.elapsed());
        theirs.push(pg_waldump(&wal, start, end));
    }
    let mb = (end.0 - start.0) as f64 / 1e6;

    // Ingest into fresh imports.
    let (mut times, mut last) = (Vec::new(), None);
    for run in 0..runs {
        let dir = tmp.path().join(format!("tl{run}"));
        import_datadir(&pg.base, &dir, ImportOptions::default(), &mut |_| {}).expect("import");
        let timeline = open_for_ingest(&dir).expect("open");
        let opts = IngestOptions {
            checkpoint_distance: checkpoint_mb << 20,
            ..IngestOptions::default()
        };
        let p = rt
            .block_on(ingest_wal(&wal, &timeline, opts, &mut |_| {}))
            .expect("ingest");
        assert_eq!(p.records, records);
        times.push(Duration::from_secs_f64(p.seconds));
        if let Some((old, _)) = last.replace((dir, p)) {
            std::fs::remove_dir_all(old).expect("removing a run");
        }
    }
    let (dir, p) = last.expect("at least one run");

    // get_page latency on the result.
    let (files, cache) = (FileTable::new(256), PageCache::new(32_768));
    let tl = open_timeline_with(&dir, &files, &cache).expect("open result");
    let cat = rt.block_on(Catalog::load(&tl, p.lsn)).expect("catalog");
    let (rel_keys, clog_keys) = sample_keys(&cat, knob("SAMPLE", 2000));
    drop(tl);
    let (mut rel_cold, mut rel_warm) = (Vec::new(), Vec::new());
    let (mut clog_cold, mut clog_warm) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        // A fresh cache per round: the first pass is cold, the second warm.
        let (files, cache) = (FileTable::new(256), PageCache::new(32_768));
        let tl = open_timeline_with(&dir, &files, &cache).expect("open result");
        read_all(&tl, &rt, &rel_keys, p.lsn, true, &mut rel_cold);
        read_all(&tl, &rt, &rel_keys, p.lsn, true, &mut rel_warm);
        let (files, cache) = (FileTable::new(256), PageCache::new(32_768));
        let tl = open_timeline_with(&dir, &files, &cache).expect("open result");
        read_all(&tl, &rt, &clog_keys, p.lsn, false, &mut clog_cold);
        for _ in 0..CLOG_WARM_PASSES {
            read_all(&tl, &rt, &clog_keys, p.lsn, false, &mut clog_warm);
        }
    }
    let lat = [rel_cold, rel_warm, clog_cold, clog_warm];

    let (ours, theirs) = (median(ours).as_secs_f64(), median(theirs).as_secs_f64());
    let ingest = median(times).as_secs_f64();
    eprintln!(
        "WAL: {mb:.1} MB, {records} records ({start} .. {end}); medians of {runs} runs, alternating"
    );
    eprintln!(
        "decode only (strata-wal)  {:>8.1} MB/s {:>10.0} records/s  {ours:.3} s",
        mb / ours,
        records as f64 / ours
    );
    eprintln!(
        "pg_waldump --quiet        {:>8.1} MB/s {:>10.0} records/s  {theirs:.3} s  (decode/pg_waldump speed {:.2}x)",
        mb / theirs,
        records as f64 / theirs,
        theirs / ours
    );
    eprintln!(
        "ingest                    {:>8.1} MB/s {:>10.0} records/s  {ingest:.3} s, {} layers ({:.1} MB) written and fsynced at {checkpoint_mb} MiB",
        mb / ingest,
        records as f64 / ingest,
        p.layers,
        p.layer_bytes as f64 / 1e6
    );
    let names = [
        "relation block history, cold",
        "relation block history, warm",
        "CLOG get_page, cold",
        "CLOG get_page, warm",
    ];
    for (name, v) in names.iter().zip(lat) {
        let n = v.len();
        let (p50, p99) = percentiles(v);
        eprintln!("{name:<30} median {p50:>8.1} µs  p99 {p99:>8.1} µs  ({n} reads)");
    }
}
