//! The oracle: real PostgreSQL 15 WAL (the fixture of `pg.rs`) decoded by strata-wal and by
//! `pg_waldump`, compared record by record (WAL.md 7.3 items 1 and 2): every field of the
//! record line and every block reference, both formats, the same end of WAL, the same
//! `--stats`, and every image restored to a sane page.

use strata_key::Lsn;
use strata_wal::format::{BLCKSZ, WAL_PAGE_SIZE, XLP_FIRST_IS_CONTRECORD};
use strata_wal::waldump::{WalStats, record_text};
use strata_wal::{Compression, DecoderOptions, Record, WalDecoder, decode_all};

use crate::pg::{FIRST_RECORD, fixture, waldump};

fn decode_fixture() -> &'static (Vec<Record>, strata_wal::EndOfWal) {
    crate::pg::decoded()
}

/// `pg_waldump -b` output split into one group of lines per record.
fn bkp_groups(text: &str) -> Vec<Vec<&str>> {
    let mut groups: Vec<Vec<&str>> = Vec::new();
    for line in text.lines() {
        if line.starts_with('\t') {
            groups
                .last_mut()
                .expect("block line before any record")
                .push(line);
        } else {
            groups.push(vec![line]);
        }
    }
    groups
}

/// What differs between our default-format line and `pg_waldump`'s: `pg` must be our line
/// with the rmgr description inserted after `desc: <TYPE> `.
fn default_line_mismatch(ours: &str, pg: &str) -> Option<String> {
    fn split(s: &str) -> (usize, &str) {
        s.find(", blkref #").map_or((s.len(), ""), |i| (i, &s[i..]))
    }
    let (our_head_len, our_blocks) = split(ours);
    let (_, pg_blocks) = split(pg);
    let head = &ours[..our_head_len];
    (!pg.starts_with(head) || our_blocks != pg_blocks).then(|| format!("ours: {ours}\n  pg: {pg}"))
}

#[test]
fn every_record_and_block_matches_pg_waldump() {
    let fx = fixture();
    let (records, end) = decode_fixture();
    let pg_lines: Vec<&str> = fx.dump.lines().collect();
    let pg_groups = bkp_groups(&fx.dump_bkp);
    assert!(records.len() > 10_000, "only {} records", records.len());
    assert_eq!(records.first().map(|r| r.lsn), Some(FIRST_RECORD));

    let mut mismatches = Vec::new();
    for (idx, record) in records.iter().enumerate() {
        let Some(pg) = pg_lines.get(idx) else { break };
        if let Some(m) = default_line_mismatch(&record_text(record, false), pg) {
            mismatches.push(format!("record {idx} (default format)\n  {m}"));
        }
        let ours = record_text(record, true);
        let mut ours = ours.lines();
        let our_head = ours.next().unwrap_or_default();
        let group = &pg_groups[idx];
        if !group[0].starts_with(our_head) || !ours.eq(group[1..].iter().copied()) {
            mismatches.push(format!(
                "record {idx} (-b)\n  ours: {}\n  pg: {}",
                record_text(record, true),
                group.join("\n")
            ));
        }
        if mismatches.len() >= 5 {
            break;
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert_eq!(
        records.len(),
        pg_lines.len(),
        "record count (pg_waldump's last: {:?}; its stderr: {})",
        pg_lines.last(),
        fx.dump_err
    );
    assert_eq!(records.len(), pg_groups.len());

    // The same end of WAL, in the same words.
    assert!(end.is_zero_tail(), "{end:?}");
    assert_eq!(
        fx.dump_err.trim_end(),
        format!("pg_waldump: {}", end.waldump_message())
    );
    assert_eq!(end.last_record, records.last().map(|r| r.lsn));
}

#[test]
fn every_rmgr_and_record_type_is_named() {
    let (records, _) = decode_fixture();
    let unnamed: Vec<String> = records
        .iter()
        .filter(|r| r.type_name().is_none())
        .take(5)
        .map(|r| record_text(r, false))
        .collect();
    assert!(unnamed.is_empty(), "{unnamed:?}");
    for rmgr in [
        "XLOG",
        "Transaction",
        "Storage",
        "CLOG",
        "Database",
        "Standby",
        "Heap",
        "Heap2",
        "Btree",
    ] {
        assert!(
            records.iter().any(|r| r.rmgr_name() == rmgr),
            "no {rmgr} record in the fixture"
        );
    }
}

#[test]
fn every_image_restores_to_a_sane_page() {
    let (records, _) = decode_fixture();
    let mut by_method = std::collections::HashMap::new();
    for record in records {
        for block in &record.blocks {
            let Some(img) = &block.image else { continue };
            *by_method.entry(img.compression).or_insert(0u32) += 1;
            let page = record
                .restore_image(block)
                .unwrap_or_else(|e| panic!("{}: {e}", record_text(record, true)));
            assert_eq!(page.len(), BLCKSZ);
            let u16_at = |o: usize| u16::from_le_bytes([page[o], page[o + 1]]);
            let (lower, upper, special) = (u16_at(12), u16_at(14), u16_at(16));
            if upper == 0 {
                continue; // a new page
            }
            let what = || format!("{} block {}", record_text(record, true), block.id);
            assert!(
                24 <= lower && lower <= upper && upper <= special && usize::from(special) <= BLCKSZ,
                "page header {lower}/{upper}/{special}: {}",
                what()
            );
            assert_eq!(u16_at(18), 0x2004, "pd_pagesize_version: {}", what());
            if img.hole_length > 0 {
                assert_eq!(img.hole_offset, lower, "{}", what());
                assert_eq!(img.hole_offset + img.hole_length, upper, "{}", what());
            }
        }
    }
    // wal_compression off, pglz, lz4 and zstd all produced images: this build supports them.
    for method in [
        Compression::None,
        Compression::Pglz,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        assert!(
            by_method.get(&method).copied().unwrap_or(0) > 0,
            "no {method:?} image: {by_method:?}"
        );
    }
}

#[test]
fn stats_match_pg_waldump_stats() {
    let fx = fixture();
    let (records, _) = decode_fixture();
    let mut stats = WalStats::default();
    for r in records {
        stats.add(r);
    }
    assert_eq!(stats.table(), fx.stats);
}

/// Fed in pieces that cut headers, records and pages everywhere, the borrowing
/// `next_record_ref` (which reuses one record's buffers) lends exactly the records the owning
/// `next_record` returns for the whole WAL at once, field for field.
#[test]
fn piecewise_feeding_gives_the_same_records_and_end() {
    let fx = fixture();
    let (records, end) = decode_fixture();
    let wal = fx.wal();
    let mut decoder = WalDecoder::new(fx.start(), DecoderOptions::default()).unwrap();
    let mut got = 0;
    let mut pos = 0usize;
    let mut step = 1usize;
    let end2 = loop {
        match decoder.next_record_ref() {
            Ok(Some(r)) => {
                assert!(
                    records.get(got) == Some(r),
                    "record {got} at {} differs",
                    r.lsn
                );
                got += 1;
            }
            Ok(None) if pos < wal.len() => {
                // Sizes that cut headers, records and pages everywhere.
                step = (step * 7919 + 13) % 20011 + 1;
                let n = step.min(wal.len() - pos);
                decoder.feed(&wal[pos..pos + n]);
                pos += n;
            }
            Ok(None) => decoder.finish(),
            Err(e) => break e,
        }
    };
    assert_eq!(got, records.len());
    assert_eq!(&end2, end);
}

/// `pg_waldump -s` at a page boundary inside a continued record, and at an LSN that is not a
/// record start, against a decoder fed from that page on.
#[test]
fn starting_inside_a_record_matches_pg_waldump_s() {
    let fx = fixture();
    let wal = fx.wal();
    let base = fx.start().0;
    let page_size = WAL_PAGE_SIZE as u64;
    // The first few pages that start with a continuation, one of them a segment start.
    let cont_pages: Vec<u64> = (0..wal.len() / WAL_PAGE_SIZE)
        .map(|i| (i * WAL_PAGE_SIZE) as u64)
        .filter(|&off| {
            let info = u16::from_le_bytes([wal[off as usize + 2], wal[off as usize + 3]]);
            info & XLP_FIRST_IS_CONTRECORD != 0
        })
        .take(3)
        .collect();
    assert!(!cont_pages.is_empty());
    let dir = tempfile::tempdir().unwrap();
    crate::pg::write_segments(dir.path(), &fx.segments).unwrap();
    let wal_dir = dir.path().display().to_string();
    for off in cont_pages {
        for start in [base + off, base + off + 100] {
            let page = start - start % page_size;
            let out = waldump(&["-p", &wal_dir, "-s", &Lsn(start).to_string(), "-n", "5"]).unwrap();
            let pg = String::from_utf8(out.stdout).unwrap();
            let opts = DecoderOptions {
                skip_before: Lsn(start),
                ..DecoderOptions::default()
            };
            let mut decoder = WalDecoder::new(Lsn(page), opts).unwrap();
            decoder.feed(&wal[(page - base) as usize..]);
            decoder.finish();
            let pg_lines: Vec<&str> = pg.lines().filter(|l| l.starts_with("rmgr: ")).collect();
            assert_eq!(pg_lines.len(), 5, "{pg}");
            for (idx, pg_line) in pg_lines.into_iter().enumerate() {
                let ours = decoder.next_record().unwrap().unwrap();
                if idx == 0 && ours.lsn.0 != start {
                    // pg_waldump says where it really started.
                    let note = format!(
                        "first record is after {}, at {}, skipping over {} bytes",
                        Lsn(start),
                        ours.lsn,
                        ours.lsn.0 - start
                    );
                    assert!(pg.starts_with(&note), "{note}\n{pg}");
                }
                let ours = record_text(&ours, false);
                assert_eq!(
                    default_line_mismatch(&ours, pg_line),
                    None,
                    "-s {}",
                    Lsn(start)
                );
            }
        }
    }
}

/// A safekeeper's segment: only the bytes from a segment boundary on, where the first page
/// continues a record from the previous segment.
#[test]
fn a_stream_starting_at_a_segment_boundary_skips_the_continued_tail() {
    let fx = fixture();
    let (records, end) = decode_fixture();
    let (segno, second) = &fx.segments[1];
    let seg_start = segno * strata_wal::format::DEFAULT_SEGMENT_SIZE;
    let rest: Vec<u8> = fx.segments[1..]
        .iter()
        .flat_map(|(_, b)| b.iter().copied())
        .collect();
    assert_eq!(&rest[..second.len()], &second[..]);
    let (tail, end2) = decode_all(Lsn(seg_start), &rest, DecoderOptions::default()).unwrap();
    let first_after = records.iter().position(|r| r.lsn.0 >= seg_start).unwrap();
    assert_eq!(tail.len(), records.len() - first_after);
    assert!(
        tail.iter()
            .zip(&records[first_after..])
            .all(|(a, b)| a == b)
    );
    assert_eq!(end2.reason, end.reason);
}
