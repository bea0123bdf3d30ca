//! Fuzz target `wal_decode`: arbitrary bytes as WAL (a segment from its first page) into
//! `strata_wal::WalDecoder`, fed in pieces. It must return records or a typed end of WAL, never
//! panic, hang or allocate beyond the input. Half the inputs instead describe valid WAL built
//! with `WalBuilder` (record sizes and rmgrs from the input) and then damaged at input-chosen
//! offsets, so the fuzzer reaches continuation and switch handling without seeds; undamaged
//! built WAL must decode back to exactly what was written.

#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_key::Lsn;
use strata_wal::{DecoderOptions, EndReason, WalBuilder, WalDecoder};

/// Aborts on any allocation above `strata_fuzz::MAX_ALLOC` (see `fuzz/src/lib.rs`).
#[global_allocator]
static ALLOC: strata_fuzz::CappedAlloc = strata_fuzz::CappedAlloc;

const START: Lsn = Lsn(0x0100_0000);
/// Built WAL stops growing past this many bytes.
const MAX_BUILT: u64 = 128 << 10;
/// 1 MiB segments keep an `XLOG_SWITCH`'s zero fill small.
const SEG_SIZE: u64 = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let chunk = 1 + usize::from(mode >> 2) * 97;
    if mode & 1 == 0 {
        // Raw bytes; a stream from a page boundary or from a record boundary.
        let start = if mode & 2 == 0 {
            START
        } else {
            Lsn(START.0 + 40)
        };
        decode(start, rest, chunk);
        return;
    }
    // Built WAL: pairs (rmgr byte, size byte) until a 0xFF, then (offset u16, xor) flips.
    let mut wal = WalBuilder::with(START, SEG_SIZE, strata_wal::PgVersion::V15, 1, 1);
    let mut written = Vec::new();
    let mut pos = 0;
    while let Some(pair) = rest.get(pos..pos + 2) {
        pos += 2;
        // 0xFF ends the records; a few pages are plenty (and keep the runs fast).
        if pair[0] == 0xFF || wal.position().0 - START.0 > MAX_BUILT {
            break;
        }
        let len = usize::from(pair[1]) * 61;
        if pair[0] == 0xFE {
            written.push(wal.switch());
        } else {
            written.push(wal.main_data_record(pair[0] % 22, 0, 1, &vec![pair[1]; len]));
        }
    }
    let mut bytes = wal.finish();
    let mut flipped = false;
    for flip in rest.get(pos..).unwrap_or_default().chunks_exact(3) {
        let off = usize::from(u16::from_le_bytes([flip[0], flip[1]])) * 16;
        if let Some(b) = bytes.get_mut(off) {
            *b ^= flip[2] | 1;
            flipped = true;
        }
    }
    // Larger pieces here: a switch's megabyte of zeros fed a byte at a time is just slow.
    let got = decode(START, &bytes, chunk.max(509));
    if !flipped {
        assert_eq!(got, written);
    }
});

/// Decodes `bytes` fed `chunk` bytes at a time; returns the record LSNs.
fn decode(start: Lsn, bytes: &[u8], chunk: usize) -> Vec<Lsn> {
    let opts = DecoderOptions {
        segment_size: SEG_SIZE,
        ..DecoderOptions::default()
    };
    let mut decoder = WalDecoder::new(start, opts).expect("valid options");
    let mut pieces = bytes.chunks(chunk);
    let mut lsns = Vec::new();
    loop {
        match decoder.next_record() {
            Ok(Some(r)) => {
                assert!(r.lsn >= start && r.next > r.lsn && r.end <= r.next);
                assert_eq!(r.bytes().len(), r.header.tot_len as usize);
                assert!(r.rec_len() <= r.header.tot_len);
                for b in &r.blocks {
                    let _ = r.block_data(b);
                    let _ = r.restore_image(b);
                }
                let _ = strata_wal::waldump::record_text(&r, true);
                lsns.push(r.lsn);
            }
            Ok(None) => match pieces.next() {
                Some(p) => decoder.feed(p),
                None => decoder.finish(),
            },
            Err(end) => {
                assert!(!end.to_string().is_empty());
                if let EndReason::NoMoreInput { at } = end.reason {
                    assert!(at >= start);
                }
                return lsns;
            }
        }
    }
}
