//! Damaged copies of the fixture's first segment (flipped header, length and payload bytes,
//! truncation, zeroed tails, a wrong `xl_prev`, a page from another segment, bad page headers,
//! inconsistent block headers with a valid CRC, random flips): strata-wal must stop where
//! `pg_waldump` stops, after the same last record, with the same message (WAL.md 1.9) — and
//! never panic.

use strata_key::Lsn;
use strata_wal::format::{DEFAULT_SEGMENT_SIZE, WAL_PAGE_SIZE, record_crc};
use strata_wal::{DecoderOptions, EndOfWal, EndReason, Record, decode_all};

use crate::pg::{FIRST_RECORD, decoded, fixture, waldump, write_segments};

const PAGE: u64 = WAL_PAGE_SIZE as u64;

/// Segment 1 of the fixture and its first LSN.
fn segment1() -> (u64, Vec<u8>) {
    let (segno, bytes) = &fixture().segments[0];
    (segno * DEFAULT_SEGMENT_SIZE, bytes.clone())
}

/// Records of segment 1 at least 1 MiB in (plenty of good records before the damage).
fn candidates() -> impl Iterator<Item = &'static Record> {
    let base = fixture().start().0;
    decoded()
        .0
        .iter()
        .filter(move |r| r.lsn.0 >= base + (1 << 20) && r.next.0 < base + DEFAULT_SEGMENT_SIZE)
}

/// The first candidate record continued onto the next page.
fn spanning() -> &'static Record {
    candidates()
        .find(|r| r.lsn.0 / PAGE != (r.end.0 - 1) / PAGE && r.lsn.0 % PAGE < PAGE - 64)
        .expect("a record spanning pages")
}

/// The first candidate within one page that has a block with data and no image.
fn with_block_data() -> &'static Record {
    candidates()
        .find(|r| {
            r.lsn.0 / PAGE == (r.end.0 - 1) / PAGE
                && r.blocks
                    .first()
                    .is_some_and(|b| b.data_len() > 0 && b.image.is_none())
        })
        .expect("a one-page record with block data")
}

/// Runs both decoders over `seg` (as segment 1 alone) and checks they end alike; returns ours.
fn check(case: &str, seg: Vec<u8>) -> EndOfWal {
    check_with(case, seg.clone(), seg)
}

/// `pg_waldump` over file `file`, strata-wal over the bytes `ours`: they must end alike.
fn check_with(case: &str, file: Vec<u8>, ours: Vec<u8>) -> EndOfWal {
    let seg = ours;
    let base = fixture().start().0;
    let dir = tempfile::tempdir().unwrap();
    write_segments(dir.path(), &[(base / DEFAULT_SEGMENT_SIZE, file)]).unwrap();
    let out = waldump(&[
        "-p",
        &dir.path().display().to_string(),
        "-s",
        &FIRST_RECORD.to_string(),
    ])
    .unwrap();
    let pg_stdout = String::from_utf8_lossy(&out.stdout);
    let pg_err = String::from_utf8_lossy(&out.stderr);
    let pg_last = pg_stdout
        .lines()
        .rfind(|l| l.starts_with("rmgr: "))
        .and_then(|l| l.split("lsn: ").nth(1))
        .and_then(|l| l.split(',').next())
        .map(str::to_owned);
    let pg_count = pg_stdout
        .lines()
        .filter(|l| l.starts_with("rmgr: "))
        .count();

    let (records, end) = decode_all(Lsn(base), &seg, DecoderOptions::default()).unwrap();
    let our_last = records
        .last()
        .map(|r| strata_wal::waldump::lsn_padded(r.lsn));
    assert_eq!(
        records.len(),
        pg_count,
        "{case}: record count; pg: {pg_err}"
    );
    assert_eq!(our_last, pg_last, "{case}: last record");
    match &end.reason {
        EndReason::NoMoreInput { .. } => assert!(
            pg_err.contains("could not read") || pg_err.contains("could not find file"),
            "{case}: we ran out of input, pg_waldump said {pg_err}"
        ),
        _ => assert_eq!(
            pg_err.trim_end(),
            format!("pg_waldump: {}", end.waldump_message()),
            "{case}"
        ),
    }
    end
}

fn flip(seg: &mut [u8], lsn: u64, xor: u8) {
    let base = fixture().start().0;
    seg[(lsn - base) as usize] ^= xor;
}

/// A copy of `seg` with the byte at `lsn` flipped.
fn flipped(seg: &[u8], lsn: u64, xor: u8) -> Vec<u8> {
    let mut s = seg.to_vec();
    flip(&mut s, lsn, xor);
    s
}

/// Rewrites the CRC of the one-page record at `lsn` after an edit.
fn fix_crc(seg: &mut [u8], r: &Record) {
    let off = (r.lsn.0 - fixture().start().0) as usize;
    let rec = &mut seg[off..off + r.header.tot_len as usize];
    let crc = record_crc(rec).unwrap();
    rec[20..24].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn the_undamaged_segment_ends_like_pg_waldump() {
    let (_, seg) = segment1();
    check("undamaged", seg);
}

#[test]
fn record_header_damage() {
    let (_, seg) = segment1();
    let r = spanning();
    let at = r.lsn.0;
    let cases: [(&str, u64, u8); 5] = [
        ("xl_tot_len low byte", at, 0x01),
        ("xl_tot_len high byte", at + 3, 0x80),
        ("xl_rmid", at + 17, 0x40),
        ("xl_prev", at + 8, 0x08),
        ("xl_crc", at + 21, 0x10),
    ];
    for (case, lsn, xor) in cases {
        let end = check(case, flipped(&seg, lsn, xor));
        assert_eq!(end.last_record, Some(r.header.prev), "{case}");
    }
    let mut s = seg.clone();
    flip(&mut s, at + 17, 0x40);
    assert!(matches!(
        check("rmid", s).reason,
        EndReason::InvalidRmgrId { .. }
    ));
    let mut s = seg;
    flip(&mut s, at + 8, 0x08);
    assert!(matches!(
        check("prev", s).reason,
        EndReason::IncorrectPrevLink { .. }
    ));
}

#[test]
fn payload_damage_is_a_checksum_error() {
    let (_, seg) = segment1();
    for r in [spanning(), with_block_data()] {
        let mut s = seg.clone();
        flip(&mut s, r.end.0 - 1, 0x20);
        let end = check("last payload byte", s);
        assert!(
            matches!(end.reason, EndReason::Checksum { at } if at == r.lsn),
            "{end:?}"
        );
    }
}

#[test]
fn continuation_page_damage() {
    let (_, seg) = segment1();
    let r = spanning();
    let page = (r.lsn.0 / PAGE + 1) * PAGE;
    let cases: [(&str, u64, u8); 6] = [
        ("magic", page, 0xFF),
        ("info: contrecord flag cleared", page + 2, 0x01),
        ("info: unknown bit", page + 2, 0x10),
        ("pageaddr", page + 10, 0x01),
        ("rem_len", page + 16, 0x04),
        ("timeline going back", page + 4, 0x01),
    ];
    for (case, lsn, xor) in cases {
        check(case, flipped(&seg, lsn, xor));
    }
    // A zeroed continuation page, and one from the next segment at the same offset.
    let base = fixture().start().0;
    let off = (page - base) as usize;
    let mut s = seg.clone();
    s[off..off + WAL_PAGE_SIZE].fill(0);
    check("zeroed page", s);
    let other = &fixture().segments[1].1;
    let mut s = seg;
    s[off..off + WAL_PAGE_SIZE].copy_from_slice(&other[off..off + WAL_PAGE_SIZE]);
    let end = check("page from the next segment", s);
    assert!(end.to_string().contains("unexpected pageaddr"), "{end}");
}

#[test]
fn truncated_and_zeroed_tails() {
    let (_, seg) = segment1();
    let base = fixture().start().0;
    let r = spanning();
    // Zeroed from a record start: the normal clean end.
    let mut s = seg.clone();
    s[(r.lsn.0 - base) as usize..].fill(0);
    let end = check("zeroed tail", s);
    assert!(end.is_zero_tail() && end.lsn == r.lsn, "{end:?}");
    // Zeroed from inside a record.
    let mut s = seg.clone();
    s[(r.end.0 - base - 5) as usize..].fill(0);
    check("zeroed inside a record", s);
    // Truncated files: pg_waldump reads whole pages only, so it stops at the first record
    // touching the partial page, as we do when given the whole pages; given the partial page
    // too, a stream decoder returns every record that is complete.
    for cut in [r.lsn.0 + 3, r.end.0 - 1, (r.lsn.0 / PAGE + 1) * PAGE + 10] {
        let s = seg[..(cut - base) as usize].to_vec();
        let (partial, _) = decode_all(Lsn(base), &s, DecoderOptions::default()).unwrap();
        let whole_pages = s[..s.len() - s.len() % WAL_PAGE_SIZE].to_vec();
        let end = check_with(&format!("truncated at {}", Lsn(cut)), s, whole_pages);
        assert!(
            matches!(end.reason, EndReason::NoMoreInput { .. }),
            "{end:?}"
        );
        let (whole, _) = decode_all(
            Lsn(base),
            &seg[..(cut - base) as usize - (cut - base) as usize % WAL_PAGE_SIZE],
            DecoderOptions::default(),
        )
        .unwrap();
        assert!(partial.len() >= whole.len());
        assert!(partial.iter().all(|p| p.end.0 <= cut));
    }
}

#[test]
fn inconsistent_block_headers_with_a_valid_crc() {
    let (_, seg) = segment1();
    let r = with_block_data();
    let base = fixture().start().0;
    let id_at = r.lsn.0 + 24;
    // Clear BKPBLOCK_HAS_DATA while data_length stays: DecodeXLogRecord's check.
    let mut s = seg.clone();
    s[(id_at + 1 - base) as usize] &= !0x20;
    fix_crc(&mut s, r);
    let end = check("HAS_DATA cleared", s);
    assert!(
        matches!(end.reason, EndReason::InvalidRecord { .. }),
        "{end:?}"
    );
    // An unknown fragment id.
    let mut s = seg.clone();
    s[(id_at - base) as usize] = 40;
    fix_crc(&mut s, r);
    check("invalid block id", s);
    // A total length one short: the payloads no longer fit.
    let mut s = seg;
    let off = (r.lsn.0 - base) as usize;
    let tot = r.header.tot_len - 1;
    s[off..off + 4].copy_from_slice(&tot.to_le_bytes());
    let rec = &mut s[off..off + tot as usize];
    let crc = record_crc(rec).unwrap();
    rec[20..24].copy_from_slice(&crc.to_le_bytes());
    check("short record", s);
}

/// Random single-byte flips in the first megabytes of the segment: the same end as
/// pg_waldump every time.
#[test]
fn random_flips_end_like_pg_waldump() {
    let (_, seg) = segment1();
    let base = fixture().start().0;
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for case in 0..24 {
        let off = 8192 + next() % (2 << 20);
        let xor = (next() % 255 + 1) as u8;
        let mut s = seg.clone();
        flip(&mut s, base + off, xor);
        check(&format!("flip {xor:#04x} at offset {off}"), s);
        let _ = case;
    }
}
