//! The full scan checks entries ahead a batch at a time: an entry out of the summary's key or
//! LSN range anywhere in a batch (its first, middle or last entry, or the first of the next)
//! must end the scan there, after exactly the entries before it, with the error the entry
//! alone gives.

use strata_blob::{MemBlockReader, PAGE_SIZE};
use strata_btree::format::{NodeView, encode_leaf_value};
use strata_delta::testing::poll_ready;
use strata_delta::{
    BlobRef, CorruptionKind, DeltaEntry, DeltaKey, DeltaLayer, Error, OpenOptions, Summary,
};
use strata_key::{Lsn, LsnRange};
use strata_testkit::layer_bytes;

/// Every entry of a full scan with its value loaded, and the error that ended it, if any.
fn scan(bytes: &[u8]) -> (Vec<DeltaEntry>, Option<CorruptionKind>) {
    let opts = OpenOptions {
        file_len: Some(bytes.len() as u64),
        ..OpenOptions::default()
    };
    poll_ready(async {
        let layer = DeltaLayer::from_reader(MemBlockReader::from_bytes(bytes), opts)
            .await
            .unwrap();
        let mut iter = layer.iter();
        let mut entries = Vec::new();
        while let Some(entry) = iter.next().await {
            let loaded = match entry {
                Ok(entry) => iter.load_value(&entry).await.map(|_| entry),
                Err(e) => Err(e),
            };
            match loaded {
                Ok(entry) => entries.push(entry),
                Err(Error::Corrupt(c)) => return (entries, Some(c.kind)),
                Err(other) => panic!("not a corruption: {other}"),
            }
        }
        (entries, None)
    })
    .unwrap()
}

/// `bytes` with its summary changed by `f`.
fn edit(bytes: &[u8], f: impl Fn(&mut Summary)) -> Vec<u8> {
    let mut s = Summary::decode(bytes).unwrap();
    f(&mut s);
    let mut out = bytes.to_vec();
    out[..96].copy_from_slice(&s.encode());
    out
}

/// That the scan of `bytes` gives `all[..first]` and then the range error of `all[first]`.
fn assert_ends_at(bytes: &[u8], all: &[DeltaEntry], first: usize, what: &str) {
    let (got, problem) = scan(bytes);
    assert_eq!(got, all[..first], "{what}");
    let out = &all[first];
    assert!(
        matches!(problem, Some(CorruptionKind::EntryOutOfRange { key, lsn }) if key == out.key && lsn == out.lsn),
        "{what}: {problem:?}"
    );
}

#[test]
fn an_entry_out_of_range_ends_the_scan_where_it_is() {
    let bytes = layer_bytes("btree3");
    let (all, problem) = scan(&bytes);
    assert!(problem.is_none(), "{problem:?}");
    assert!(all.len() > 200, "{} entries", all.len());
    let n = all.len();
    let (mut key_cuts, mut lsn_cuts) = (0, 0);
    for cut in [
        1,
        2,
        15,
        16,
        17,
        63,
        64,
        65,
        66,
        79,
        80,
        81,
        130,
        // The batches double from 16 up to 128: they end at 16, 48, 112, 240, ...
        47,
        48,
        49,
        111,
        112,
        113,
        239.min(n - 3),
        240.min(n - 3),
        241.min(n - 3),
        n - 2,
        n - 1,
    ] {
        let at = &all[cut];
        // Keys end at the entry's key: the first entry with that key is the first out.
        let first = all.iter().position(|e| e.key == at.key).unwrap();
        if first == 0 {
            continue;
        }
        let key_cut = edit(&bytes, |s| s.key_range.end = at.key);
        assert_ends_at(&key_cut, &all, first, &format!("key cut at {cut}"));
        key_cuts += 1;
        // An LSN range from just above this entry's LSN: the first entry in scan order at or
        // below it is the first out.
        let lsn_cut = edit(&bytes, |s| {
            s.lsn_range = LsnRange::new(Lsn(at.lsn.0 + 1), s.lsn_range.end);
        });
        if Summary::decode(&lsn_cut).unwrap().lsn_range.is_empty() {
            continue;
        }
        let first = all.iter().position(|e| e.lsn <= at.lsn).unwrap();
        assert_ends_at(&lsn_cut, &all, first, &format!("LSN cut at {cut}"));
        lsn_cuts += 1;
    }
    assert!(
        key_cuts >= 8 && lsn_cuts >= 8,
        "{key_cuts} key cuts, {lsn_cuts} LSN cuts"
    );
}

/// `next` and `load_value` do nothing before their future is first polled: one dropped
/// unpolled (a `select!` branch that lost) takes no entry and reads no value, and the scan
/// then gives every entry and value exactly as an undisturbed one.
#[test]
fn futures_dropped_before_their_first_poll_take_nothing() {
    let bytes = layer_bytes("btree3");
    let (all, problem) = scan(&bytes);
    assert!(problem.is_none(), "{problem:?}");
    let opts = OpenOptions {
        file_len: Some(bytes.len() as u64),
        ..OpenOptions::default()
    };
    let got = poll_ready(async {
        let layer = DeltaLayer::from_reader(MemBlockReader::from_bytes(&bytes), opts)
            .await
            .unwrap();
        let mut iter = layer.iter();
        let mut got = Vec::new();
        loop {
            drop(iter.next());
            let Some(entry) = iter.next().await else {
                break;
            };
            let entry = entry.unwrap();
            drop(iter.load_value(&entry));
            let value = iter.load_value(&entry).await.unwrap();
            assert_eq!(value, entry.load_value(&layer).await.unwrap(), "{entry:?}");
            got.push(entry);
        }
        got
    })
    .unwrap();
    assert_eq!(got, all);
}

/// Blob offsets past the value area that still ascend (two in a row, in the middle of a
/// batch, the batch's last entry in the area again) end the scan at the first of them with
/// its own error, after exactly the entries before it: checking ahead does not take the area
/// check at the batch's ends for the entries between.
#[test]
fn ascending_offsets_past_the_value_area_end_the_scan_at_the_first() {
    let bytes = layer_bytes("btree3");
    let (all, problem) = scan(&bytes);
    assert!(problem.is_none(), "{problem:?}");
    let s = Summary::decode(&bytes).unwrap();
    let end = u64::from(s.index_start_blk) * PAGE_SIZE as u64;
    // The first leaf with enough entries to damage two in the middle of a batch.
    let mut cases = 0;
    for rel in 0..s.index_root_blk - s.index_start_blk {
        let at = (s.index_start_blk + rel) as usize * PAGE_SIZE;
        let block: &[u8; PAGE_SIZE] = bytes[at..at + PAGE_SIZE].try_into().unwrap();
        let Ok(node) = NodeView::<26>::decode(block) else {
            continue;
        };
        if node.level() != 0 || node.n_children() < 40 {
            continue;
        }
        for idx in [5, 20, node.n_children() - 4] {
            let raw = DeltaKey::from_array(node.key(idx));
            let first = all
                .iter()
                .position(|e| e.key == raw.key() && e.lsn == raw.lsn())
                .unwrap();
            let mut damaged = bytes.clone();
            // Value `i` of the leaf: after the header, the prefix and the suffixes.
            let n = u16::from_be_bytes([block[0], block[1]]) as usize;
            let values = at + 5 + block[3] as usize + n * block[4] as usize;
            for (i, off) in [(idx, end + 8192), (idx + 1, end + 16384)] {
                let v = encode_leaf_value(BlobRef::new(off, false).raw()).unwrap();
                damaged[values + i * 5..values + i * 5 + 5].copy_from_slice(&v);
            }
            let (got, problem) = scan(&damaged);
            // The entry before the first damaged one now runs up to its offset.
            let mut want = all[..first].to_vec();
            let before = want.last_mut().unwrap();
            before.size = end + 8192 - before.blob_ref.pos();
            assert_eq!(got, want, "leaf {rel} entry {idx}");
            assert!(
                matches!(problem, Some(CorruptionKind::BlobOutsideValueArea { offset, value_area_end }) if offset == end + 8192 && value_area_end == end),
                "leaf {rel} entry {idx}: {problem:?}"
            );
            cases += 1;
        }
        break;
    }
    assert_eq!(cases, 3);
}
