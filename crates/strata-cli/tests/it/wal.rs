//! `strata wal dump` on two segment files written with `WalBuilder` (XLOG NOOP records of many
//! sizes, an XLOG_SWITCH): its lines are the library's formatter's, and — NOOP and SWITCH
//! having empty descriptions — byte for byte `pg_waldump`'s when PostgreSQL 15 is installed
//! (the full oracle against real WAL is strata-wal's own test). Also `--json`, `--stats`,
//! `--start`/`--end`, a single file, and damage giving exit code 1.

use std::path::Path;

use crate::strata::{run, run_ok, stderr, stdout};
use strata_key::Lsn;
use strata_wal::format::{DEFAULT_SEGMENT_SIZE, segment_file_name};
use strata_wal::waldump::record_text;
use strata_wal::{DecoderOptions, WalBuilder, decode_all};

const START: Lsn = Lsn(0x0100_0000);
const PG_WALDUMP: &str = "/usr/lib/postgresql/15/bin/pg_waldump";

/// Writes the two segments into `dir`; returns the expected `-b` and default texts.
fn write_wal(dir: &Path) -> (String, String, Vec<u8>) {
    let mut wal = WalBuilder::new(START);
    for i in 0..300u32 {
        let len = [0usize, 8, 100, 3000, 9000][i as usize % 5] + i as usize;
        wal.main_data_record(0, 0x20, i, &vec![i as u8; len]);
    }
    wal.switch();
    for i in 0..50u32 {
        wal.main_data_record(0, 0x20, 1000 + i, &vec![7; 500]);
    }
    let bytes = wal.finish_segment();
    let seg = DEFAULT_SEGMENT_SIZE as usize;
    for (idx, chunk) in bytes.chunks(seg).enumerate() {
        let name = segment_file_name(1, 1 + idx as u64, DEFAULT_SEGMENT_SIZE);
        std::fs::write(dir.join(name), chunk).unwrap();
    }
    let (records, end) = decode_all(START, &bytes, DecoderOptions::default()).unwrap();
    assert!(end.is_zero_tail());
    let text = |b: bool| -> String { records.iter().map(|r| record_text(r, b) + "\n").collect() };
    (text(true), text(false), bytes)
}

#[test]
fn dump_prints_the_formatter_lines_and_matches_pg_waldump() {
    let dir = tempfile::tempdir().unwrap();
    let (bkp, plain, _) = write_wal(dir.path());
    let d = dir.path().to_str().unwrap();
    assert_eq!(run_ok(["wal", "dump", d]), plain);
    assert_eq!(run_ok(["wal", "dump", "-b", d]), bkp);
    assert_eq!(plain.lines().count(), 351);
    if Path::new(PG_WALDUMP).is_file() {
        let pg = std::process::Command::new(PG_WALDUMP)
            .args(["-p", d, "-s", "0/1000028"])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(pg.stdout).unwrap(), plain);
        let ours = stderr(&run(["wal", "dump", d]));
        let pg_err = String::from_utf8(pg.stderr).unwrap();
        let reason = &pg_err[pg_err.find("invalid record length").unwrap()..].trim_end();
        assert!(ours.contains(reason), "{ours} vs {pg_err}");
    }
}

#[test]
fn json_stats_ranges_and_single_files() {
    let dir = tempfile::tempdir().unwrap();
    let (_, plain, _) = write_wal(dir.path());
    let d = dir.path().to_str().unwrap();
    let json = run_ok(["wal", "dump", "--json", d]);
    let objs: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objs.len(), 351);
    assert_eq!(objs[0]["lsn"], "0/1000028");
    assert_eq!(objs[0]["type"], "NOOP");
    assert_eq!(objs[300]["type"], "SWITCH");
    assert_eq!(objs[301]["lsn"], "0/2000028");
    assert_eq!(objs[301]["prev"], objs[300]["lsn"]);

    let stats = run_ok(["wal", "dump", "--stats", d]);
    let total = stats.lines().find(|l| l.starts_with("Total")).unwrap();
    assert_eq!(total.split_whitespace().nth(1), Some("351"));

    // --start inside a record and --end: pg_waldump's selection rules.
    let lines: Vec<&str> = plain.lines().collect();
    let lsn_of = |l: &str| l.split("lsn: ").nth(1).unwrap()[..10].to_owned();
    let second = lsn_of(lines[1]);
    let start = format!("0/{:X}", u64::from_str_radix(&second[2..], 16).unwrap() - 4);
    let end = lsn_of(lines[5]);
    let part = run_ok(["wal", "dump", "--start", &start, "--end", &end, d]);
    assert_eq!(
        part,
        lines[1..5]
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );

    // One file: only its records.
    let file = dir
        .path()
        .join(segment_file_name(1, 2, DEFAULT_SEGMENT_SIZE));
    let second_seg = run_ok(["wal", "dump", file.to_str().unwrap()]);
    assert_eq!(second_seg.lines().count(), 50);
}

#[test]
fn damage_ends_with_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    let (_, plain, bytes) = write_wal(dir.path());
    let mut seg = bytes[..DEFAULT_SEGMENT_SIZE as usize].to_vec();
    seg[0x5000] ^= 0x55;
    std::fs::write(
        dir.path()
            .join(segment_file_name(1, 1, DEFAULT_SEGMENT_SIZE)),
        seg,
    )
    .unwrap();
    let out = run(["wal", "dump", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("WAL ends at damage"),
        "{}",
        stderr(&out)
    );
    let printed = stdout(&out);
    assert!(!printed.is_empty() && plain.starts_with(&printed));
}
