//! WAL written by `WalBuilder`: the cases the PostgreSQL fixture does not reliably produce
//! (XLOG_SWITCH, overwritten continuations, headers split across pages, other segment sizes,
//! versions 14 and 16, system id checks), property tests of round trips fed in arbitrary
//! pieces, and arbitrary bytes that must never make the decoder panic.

use proptest::prelude::*;
use strata_key::Lsn;
use strata_wal::format::{
    DEFAULT_SEGMENT_SIZE, LONG_PAGE_HEADER_LEN, RECORD_HEADER_LEN, WAL_PAGE_SIZE,
    XLP_FIRST_IS_OVERWRITE_CONTRECORD,
};
use strata_wal::{
    Compression, DecoderOptions, EndReason, PageErrorKind, PgVersion, WalBuilder, WalDecoder,
    decode_all,
};

const START: Lsn = Lsn(0x0100_0000);

fn opts() -> DecoderOptions {
    DecoderOptions::default()
}

#[test]
fn xlog_switch_jumps_to_the_next_segment() {
    let mut wal = WalBuilder::new(START);
    let a = wal.main_data_record(10, 0, 5, b"before");
    let switch = wal.switch();
    let b = wal.main_data_record(10, 0, 6, b"after");
    let bytes = wal.finish();
    assert!(bytes.len() > DEFAULT_SEGMENT_SIZE as usize);
    let (records, end) = decode_all(START, &bytes, opts()).unwrap();
    let lsns: Vec<Lsn> = records.iter().map(|r| r.lsn).collect();
    assert_eq!(lsns, [a, switch, b]);
    assert_eq!(records[1].type_name(), Some("SWITCH"));
    assert_eq!(records[1].next, Lsn(START.0 + DEFAULT_SEGMENT_SIZE));
    assert_eq!(
        b,
        Lsn(START.0 + DEFAULT_SEGMENT_SIZE + LONG_PAGE_HEADER_LEN as u64)
    );
    assert_eq!(records[2].header.prev, switch);
    assert!(end.is_zero_tail());
    // The zeros after the switch are never validated, even when fed a byte at a time there.
    let mut decoder = WalDecoder::new(START, opts()).unwrap();
    let split = (switch.0 - START.0) as usize + 100;
    decoder.feed(&bytes[..split]);
    for chunk in bytes[split..].chunks(1 << 20) {
        decoder.feed(chunk);
    }
    decoder.finish();
    let mut n = 0;
    let end = loop {
        match decoder.next_record() {
            Ok(Some(_)) => n += 1,
            Ok(None) => panic!("more bytes asked for after finish"),
            Err(end) => break end,
        }
    };
    assert_eq!(n, 3);
    assert!(end.is_zero_tail(), "{end:?}");
}

/// A main-data record of exactly `tot` bytes (`tot >= 26`).
fn record_of_len(wal: &mut WalBuilder, tot: usize) -> Lsn {
    let short_len = tot - RECORD_HEADER_LEN - 2;
    let len = if short_len <= 255 {
        short_len
    } else {
        tot - RECORD_HEADER_LEN - 5
    };
    let lsn = wal.main_data_record(10, 0, 1, &vec![0xAB; len]);
    assert_eq!(
        strata_wal::main_data_body(&vec![0; len]).len() + RECORD_HEADER_LEN,
        tot
    );
    lsn
}

#[test]
fn headers_split_across_pages_and_records_ending_on_a_boundary() {
    // Fill the first page so that the next record's header is cut after 8 bytes.
    let mut wal = WalBuilder::new(START);
    let first_room = WAL_PAGE_SIZE - LONG_PAGE_HEADER_LEN - 8;
    record_of_len(&mut wal, first_room);
    assert_eq!(
        wal.position().0 % WAL_PAGE_SIZE as u64,
        (WAL_PAGE_SIZE - 8) as u64
    );
    let split = wal.main_data_record(10, 0, 2, &[1; 300]);
    // Then one that ends exactly at the end of a page.
    let room = WAL_PAGE_SIZE as u64 - wal.position().0 % WAL_PAGE_SIZE as u64;
    let exact = record_of_len(&mut wal, room as usize);
    assert_eq!(wal.position().0 % WAL_PAGE_SIZE as u64, 0);
    let after = wal.main_data_record(10, 0, 4, b"next page");
    let bytes = wal.finish();
    let (records, end) = decode_all(START, &bytes, opts()).unwrap();
    let lsns: Vec<Lsn> = records.iter().map(|r| r.lsn).collect();
    assert_eq!(lsns.len(), 4, "{end:?}");
    assert_eq!(lsns[1..], [split, exact, after]);
    assert_eq!(records[1].main_data(), &[1; 300]);
    assert_eq!(after.0 % WAL_PAGE_SIZE as u64, 24);
    assert!(end.is_zero_tail(), "{end:?}");
}

#[test]
fn an_overwritten_continuation_is_abandoned() {
    let mut wal = WalBuilder::new(START);
    let a = wal.main_data_record(10, 0, 1, b"complete");
    let torn = wal.main_data_record(10, 0, 2, &[9; 10_000]);
    let mut bytes = wal.finish();
    // Replace the continuation page with one that starts a new record (as after a crash):
    // XLOG OVERWRITE_CONTRECORD whose prev is the last complete record.
    let page = ((torn.0 / 8192) + 1) * 8192;
    let mut over = WalBuilder::new(Lsn(page));
    over.set_prev(a);
    let o = over.main_data_record(0, 0xD0, 0, &[0; 16]);
    let mut over = over.finish();
    let info = u16::from_le_bytes([over[2], over[3]]) | XLP_FIRST_IS_OVERWRITE_CONTRECORD;
    over[2..4].copy_from_slice(&info.to_le_bytes());
    let off = (page - START.0) as usize;
    bytes.truncate(off);
    bytes.extend_from_slice(&over);
    let (records, _) = decode_all(START, &bytes, opts()).unwrap();
    let got: Vec<(Lsn, Option<&str>)> = records.iter().map(|r| (r.lsn, r.type_name())).collect();
    assert_eq!(
        got,
        [(a, Some("INSERT")), (o, Some("OVERWRITE_CONTRECORD"))]
    );
}

#[test]
fn other_segment_sizes_versions_and_system_ids() {
    for (seg, version) in [(1 << 20, PgVersion::V14), (64 << 20, PgVersion::V16)] {
        let start = Lsn(seg * 3);
        let mut wal = WalBuilder::with(start, seg, version, 42, 1);
        let mut n_written = 0;
        while wal.position().0 < start.0 + seg + 20_000 {
            wal.main_data_record(1, 0, 7, &[3; 5000]);
            n_written += 1;
        }
        let bytes = wal.finish();
        let o = DecoderOptions {
            segment_size: seg,
            ..opts()
        };
        let (records, end) = decode_all(start, &bytes, o.clone()).unwrap();
        assert_eq!(records.len(), n_written, "{end:?}");
        assert!(records.iter().all(|r| r.version == version));
        assert!(end.is_zero_tail(), "{end:?}");
        // The default 16 MiB disagrees with the long header.
        let (_, end) = decode_all(start, &bytes, opts()).unwrap();
        assert!(end.to_string().contains("incorrect segment size"), "{end}");
        // A different system id is refused at the next long header; the right one passes.
        let wrong = DecoderOptions {
            system_id: Some(41),
            ..o.clone()
        };
        let (_, end) = decode_all(start, &bytes, wrong).unwrap();
        assert!(
            matches!(&end.reason, EndReason::Page(p) if matches!(p.kind, PageErrorKind::SystemIdMismatch { wal: 42, expected: 41 })),
            "{end:?}"
        );
        let right = DecoderOptions {
            system_id: Some(42),
            ..o
        };
        assert_eq!(
            decode_all(start, &bytes, right).unwrap().0.len(),
            records.len()
        );
    }
    // A version the options fix refuses another's pages.
    let mut wal = WalBuilder::with(START, DEFAULT_SEGMENT_SIZE, PgVersion::V16, 1, 1);
    wal.main_data_record(1, 0, 7, b"16");
    let bytes = wal.finish();
    let v15 = DecoderOptions {
        version: Some(PgVersion::V15),
        ..opts()
    };
    let (_, end) = decode_all(START, &bytes, v15).unwrap();
    assert!(
        end.to_string().starts_with("invalid magic number D113"),
        "{end}"
    );
}

#[test]
fn bad_options_are_errors() {
    let bad = DecoderOptions {
        segment_size: 3 << 20,
        ..opts()
    };
    assert!(matches!(
        WalDecoder::new(START, bad),
        Err(strata_wal::Error::InvalidSegmentSize(_))
    ));
    assert!(WalDecoder::new(Lsn(u64::MAX), opts()).is_err());
}

#[test]
fn block_references_images_origin_and_toplevel_xid() {
    // Block 0 with an uncompressed holed image and data, block 2 same rel, origin, toplevel
    // xid, main data.
    let mut body = vec![0u8, 0x10 | 0x20];
    body.extend_from_slice(&3u16.to_le_bytes()); // data_length
    body.extend_from_slice(&(8192u16 - 8000).to_le_bytes()); // bimg_len
    body.extend_from_slice(&100u16.to_le_bytes()); // hole_offset
    body.push(0x03); // HAS_HOLE | APPLY
    for v in [1663u32, 5, 16384, 7] {
        body.extend_from_slice(&v.to_le_bytes()); // rel + blkno
    }
    body.extend_from_slice(&[2, 0x80 | 0x40 | 0x20 | 0x02]); // block 2: SAME_REL, WILL_INIT, vm
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&9u32.to_le_bytes());
    body.extend_from_slice(&[253, 0x34, 0x12]); // origin
    body.push(252);
    body.extend_from_slice(&777u32.to_le_bytes()); // toplevel xid
    body.extend_from_slice(&[255, 4]); // main data, 4 bytes
    let image: Vec<u8> = (0..192).map(|i| i as u8).collect();
    body.extend_from_slice(&image);
    body.extend_from_slice(b"abc");
    body.push(b'z');
    body.extend_from_slice(b"main");
    let mut wal = WalBuilder::new(START);
    let lsn = wal.record(10, 0x00, 900, &body);
    let (records, _) = decode_all(START, &wal.finish(), opts()).unwrap();
    let r = &records[0];
    assert_eq!(r.lsn, lsn);
    assert_eq!((r.origin, r.toplevel_xid), (Some(0x1234), Some(777)));
    assert_eq!(r.main_data(), b"main");
    let [b0, b2] = &r.blocks[..] else {
        panic!("{:?}", r.blocks)
    };
    assert_eq!((b0.id, b0.rel.rel, b0.blkno, b0.fork()), (0, 16384, 7, 0));
    assert_eq!(
        (b2.id, b2.rel, b2.blkno, b2.fork(), b2.will_init()),
        (2, b0.rel, 9, 2, true)
    );
    assert_eq!(r.block_data(b0), b"abc");
    assert_eq!(r.block_data(b2), b"z");
    let img = b0.image.as_ref().unwrap();
    assert_eq!(
        (img.hole_offset, img.hole_length, img.compression),
        (100, 8000, Compression::None)
    );
    assert!(img.apply);
    let page = r.restore_image(b0).unwrap();
    assert_eq!(&page[..100], &image[..100]);
    assert!(page[100..8100].iter().all(|&b| b == 0));
    assert_eq!(&page[8100..], &image[100..]);
    assert!(r.restore_image(b2).is_err());
    assert_eq!(r.rec_len(), r.header.tot_len - 192);
    let line = strata_wal::waldump::record_text(r, false);
    assert!(
        line.ends_with("desc: INSERT , blkref #0: rel 1663/5/16384 blk 7 FPW, blkref #2: rel 1663/5/16384 fork vm blk 9"),
        "{line}"
    );
    let detail = strata_wal::waldump::record_text(r, true);
    assert!(detail.ends_with("\n\tblkref #0: rel 1663/5/16384 fork main blk 7 (FPW); hole: offset: 100, length: 8000\n\tblkref #2: rel 1663/5/16384 fork vm blk 9"), "{detail}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever the record sizes and however the bytes are cut, the decoder returns (or, with
    /// `borrow`, lends) exactly what was written and ends at the zero tail.
    #[test]
    fn round_trip_in_pieces(
        sizes in proptest::collection::vec(0usize..20_000, 1..40),
        cuts in proptest::collection::vec(1usize..30_000, 1..20),
        borrow in any::<bool>(),
    ) {
        let mut wal = WalBuilder::new(START);
        let mut written = Vec::new();
        for (i, size) in sizes.iter().enumerate() {
            let data: Vec<u8> = (0..*size).map(|j| (i * 31 + j) as u8).collect();
            written.push((wal.main_data_record(1, 0, i as u32, &data), data));
        }
        let bytes = wal.finish();
        let mut decoder = WalDecoder::new(START, opts()).unwrap();
        let mut pos = 0;
        let mut cut = cuts.iter().cycle();
        let mut got = Vec::new();
        let end = loop {
            let next = if borrow {
                decoder.next_record_ref().map(|r| r.map(|r| (r.lsn, r.main_data().to_vec())))
            } else {
                decoder.next_record().map(|r| r.map(|r| (r.lsn, r.main_data().to_vec())))
            };
            match next {
                Ok(Some(r)) => got.push(r),
                Ok(None) if pos < bytes.len() => {
                    let n = (*cut.next().unwrap()).min(bytes.len() - pos);
                    decoder.feed(&bytes[pos..pos + n]);
                    pos += n;
                }
                Ok(None) => decoder.finish(),
                Err(e) => break e,
            }
        };
        prop_assert_eq!(got, written);
        let clean = end.is_zero_tail() || matches!(end.reason, EndReason::NoMoreInput { .. });
        prop_assert!(clean, "{:?}", end);
    }

    /// Arbitrary bytes after a valid first page: never a panic, always a typed end.
    #[test]
    fn arbitrary_bytes_end_with_a_reason(noise in proptest::collection::vec(any::<u8>(), 0..20_000), at in 0usize..8192) {
        let mut wal = WalBuilder::new(START);
        wal.main_data_record(1, 0, 1, &[5; 3000]);
        let mut bytes = wal.finish();
        let at = at.min(bytes.len());
        bytes.truncate(at);
        bytes.extend_from_slice(&noise);
        let (records, end) = decode_all(START, &bytes, opts()).unwrap();
        prop_assert!(records.len() <= 1 + bytes.len() / 24);
        prop_assert!(!end.to_string().is_empty());
    }
}
