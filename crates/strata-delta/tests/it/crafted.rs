//! Crafted damaged layers, one per case of FORMAT.md section 9 where Neon's reader panics or
//! misbehaves: each must give its *specific* typed error from the read paths (the exact
//! [`CorruptionKind`], down to the B-tree's [`NodeProblem`] and block) and the matching
//! [`Rule`] from `verify`.
//!
//! `tests/it/verify.rs` already asserts, exactly, the open errors of the summary rules (items 1–5:
//! `FileTooShort`, `BadMagic`, `BadVersion`, `EmptyKeyRange`, `EmptyLsnRange`,
//! `SummaryMismatch`, `IndexOutOfFile`), a blob offset in block 0 (`BlobOutsideValueArea`),
//! offsets not increasing in a scan (`OffsetsNotIncreasing`) and an undecodable payload
//! (`Value`), with their rules; they are not repeated. Here: the exact B-tree problem of every
//! node rule (items 7–13) on scans and point lookups, a cycle to an ancestor and a sideways
//! downlink, wrong levels both ways, a child past the end, a 2 GiB blob length, a blob inside
//! the index, keys and LSNs outside the summary's ranges (item 14), will_init disagreeing with
//! the value (item 18) and non-increasing offsets met by a point lookup.
//!
//! Items 14 and 18 fail full scans; point lookups keep Neon's lenience there (they trust the
//! index), which the tests pin down too.

use strata_blob::{BlockNo, MemBlockReader, PAGE_SIZE};
use strata_btree::format::NodeView;
use strata_btree::{Corruption, NodeProblem};
use strata_delta::testing::{open_scan, poll_ready};
use strata_delta::{
    BlobRef, CorruptionKind, DeltaLayer, Error, OpenOptions, Rule, Summary, ValueReconstructResult,
    ValueReconstructState, VectoredReconstructState, verify_reader,
};
use strata_key::{Key, KeyRange, Lsn, LsnRange};
use strata_testkit::{Manifest, layer_bytes};

fn summary(bytes: &[u8]) -> Summary {
    Summary::decode(bytes).unwrap()
}

fn opts(bytes: &[u8]) -> OpenOptions {
    OpenOptions {
        file_len: Some(bytes.len() as u64),
        ..OpenOptions::default()
    }
}

/// The rules `verify` reports for `bytes`; every read path must cope with them too.
fn rules(bytes: &[u8]) -> Vec<Rule> {
    open_scan(bytes).unwrap_or_else(|m| panic!("open_scan: {m}"));
    let reader = MemBlockReader::from_bytes(bytes);
    let findings = poll_ready(verify_reader(reader, None, &opts(bytes))).unwrap();
    findings.unwrap().into_iter().map(|f| f.rule).collect()
}

fn open(bytes: &[u8]) -> DeltaLayer<MemBlockReader> {
    let reader = MemBlockReader::from_bytes(bytes);
    poll_ready(DeltaLayer::from_reader(reader, opts(bytes)))
        .unwrap()
        .expect("opens")
}

fn kind(e: Error) -> CorruptionKind {
    match e {
        Error::Corrupt(c) => c.kind,
        other => panic!("not a corruption error: {other}"),
    }
}

/// The error that ends a full scan with values.
fn scan_err(bytes: &[u8]) -> CorruptionKind {
    let layer = open(bytes);
    poll_ready(async {
        let mut iter = layer.iter();
        while let Some(entry) = iter.next().await {
            let entry = entry.map_err(kind)?;
            iter.load_value(&entry).await.map_err(kind)?;
        }
        Ok(())
    })
    .unwrap()
    .expect_err("the scan found nothing wrong")
}

/// A point lookup of `key` over the whole LSN range.
fn get(bytes: &[u8], key: Key) -> Result<(ValueReconstructResult, ValueReconstructState), Error> {
    let layer = open(bytes);
    let mut state = ValueReconstructState::default();
    let range = summary(bytes).lsn_range;
    let res = poll_ready(layer.get_value_reconstruct_data(key, range, &mut state)).unwrap();
    res.map(|r| (r, state))
}

fn get_err(bytes: &[u8], key: Key) -> CorruptionKind {
    kind(get(bytes, key).expect_err("the lookup found nothing wrong"))
}

/// The error of a vectored lookup of the whole file (every key, every LSN).
fn vectored_err(bytes: &[u8]) -> CorruptionKind {
    let layer = open(bytes);
    let mut states = VectoredReconstructState::default();
    let keyspace = [KeyRange::new(Key::MIN, Key::MAX)];
    let res = poll_ready(layer.get_values_reconstruct_data(&keyspace, Lsn::MAX, &mut states));
    kind(
        res.unwrap()
            .expect_err("the vectored lookup found nothing wrong"),
    )
}

/// The B-tree corruption inside `kind`.
fn btree(kind: CorruptionKind) -> Corruption {
    match kind {
        CorruptionKind::Btree(c) => c,
        other => panic!("not a B-tree error: {other:?}"),
    }
}

/// Corruption of index block `rel` of `bytes` with `problem`.
fn node_err(bytes: &[u8], rel: u32, problem: NodeProblem) -> Corruption {
    let file_blkno = BlockNo(summary(bytes).index_start_blk + rel);
    let blkno = BlockNo(rel);
    Corruption::Node {
        blkno,
        file_blkno,
        problem,
    }
}

/// Byte offset of index block `rel`, and its decoded node (of the undamaged bytes).
fn node(bytes: &[u8], rel: u32) -> (usize, NodeView<'_, 26>) {
    let at = (summary(bytes).index_start_blk + rel) as usize * PAGE_SIZE;
    let block = bytes[at..at + PAGE_SIZE].try_into().unwrap();
    (at, NodeView::decode(block).unwrap())
}

fn root(bytes: &[u8]) -> u32 {
    summary(bytes).index_root_blk
}

/// Byte offset of value `i` of the node at `at`.
fn value_at(bytes: &[u8], at: usize, i: usize) -> usize {
    let n = u16::from_be_bytes([bytes[at], bytes[at + 1]]) as usize;
    at + 5 + bytes[at + 3] as usize + n * bytes[at + 4] as usize + i * 5
}

fn set_value(bytes: &mut [u8], at: usize, i: usize, value: [u8; 5]) {
    let v = value_at(bytes, at, i);
    bytes[v..v + 5].copy_from_slice(&value);
}

fn downlink(blkno: u32) -> [u8; 5] {
    strata_btree::format::encode_downlink(blkno)
}

fn first_key(case: &str) -> Key {
    Manifest::load(case).entries[0].key
}

#[test]
fn node_rules_give_the_exact_problem() {
    let tiny = layer_bytes("tiny");
    let key = first_key("tiny");
    let (at, root_node) = node(&tiny, 0);
    let prefix_len = root_node.prefix().len() as u8;
    let cases: [(&str, usize, &[u8], Rule, NodeProblem); 4] = [
        (
            "zero children",
            at,
            &[0, 0],
            Rule::NodeHasChildren,
            NodeProblem::NoChildren,
        ),
        (
            "prefix + suffix = 25",
            at + 4,
            &[25 - prefix_len],
            Rule::NodeKeyLength,
            NodeProblem::KeyLength {
                prefix_len,
                suffix_len: 25 - prefix_len,
                key_len: 26,
            },
        ),
        (
            "300 entries",
            at,
            &300u16.to_be_bytes(),
            Rule::NodeKeyLength,
            NodeProblem::Overflow {
                used: 5 + 300 * (26 + 5),
            },
        ),
        (
            "leaf value >= 0x80",
            value_at(&tiny, at, 0),
            &[0x80],
            Rule::LeafValues,
            NodeProblem::BadLeafValue {
                entry_idx: 0,
                first_byte: 0x80,
            },
        ),
    ];
    for (what, pos, patch, rule, problem) in cases {
        let mut bytes = tiny.clone();
        bytes[pos..pos + patch.len()].copy_from_slice(patch);
        assert!(rules(&bytes).contains(&rule), "{what}");
        let want = node_err(&bytes, 0, problem);
        assert_eq!(btree(scan_err(&bytes)), want, "{what}: scan");
        assert_eq!(btree(get_err(&bytes, key)), want, "{what}: get");
    }

    // Item 9: two keys of walonly's single leaf swapped.
    let walonly = layer_bytes("walonly");
    let (at, leaf) = node(&walonly, 0);
    let (p, s) = (leaf.prefix().len(), 26 - leaf.prefix().len());
    let mut unsorted = walonly.clone();
    let k = at + 5 + p;
    unsorted[k..k + 2 * s].copy_from_slice(&[leaf.suffix(1), leaf.suffix(0)].concat());
    assert_eq!(rules(&unsorted), [Rule::NodeKeysSorted]);
    // The scan's running order check meets it first (strata-btree reports OutOfOrder there).
    let want = node_err(&unsorted, 0, NodeProblem::OutOfOrder { entry_idx: 1 });
    assert_eq!(btree(scan_err(&unsorted)), want);
}

#[test]
fn downlink_rules_give_the_exact_problem() {
    let std = layer_bytes("stdsmall");
    let key = first_key("stdsmall");
    let r = root(&std);
    let (at, root_node) = node(&std, r);
    assert_eq!(root_node.level(), 1);

    // Item 11: no 0x80 marker.
    let mut marker = std.clone();
    marker[value_at(&std, at, 0)] = 0x7F;
    assert_eq!(rules(&marker), [Rule::Downlinks]);
    let problem = NodeProblem::BadDownlink {
        entry_idx: 0,
        first_byte: 0x7F,
    };
    assert_eq!(btree(scan_err(&marker)), node_err(&std, r, problem.clone()));
    assert_eq!(btree(get_err(&marker, key)), node_err(&std, r, problem));

    // Item 11: a child pointer far past the end of the file.
    let mut past_end = std.clone();
    set_value(&mut past_end, at, 0, downlink(0xFFFF_FF00));
    assert_eq!(rules(&past_end), [Rule::Downlinks]);
    let child = BlockNo(0xFFFF_FF00);
    let problem = NodeProblem::ChildNotBelowParent {
        entry_idx: 0,
        child,
    };
    assert_eq!(
        btree(scan_err(&past_end)),
        node_err(&std, r, problem.clone())
    );
    assert_eq!(btree(get_err(&past_end, key)), node_err(&std, r, problem));

    // Item 12: downlink 1 leads to child 0 (a sideways link to a valid leaf).
    let mut sideways = std.clone();
    set_value(
        &mut sideways,
        at,
        1,
        downlink(root_node.downlink(0).unwrap()),
    );
    assert_eq!(rules(&sideways), [Rule::InternalKeys]);
    let c0 = root_node.downlink(0).unwrap();
    let problem = NodeProblem::FirstKeyMismatch {
        parent: BlockNo(r),
        entry_idx: 1,
    };
    assert_eq!(btree(scan_err(&sideways)), node_err(&std, c0, problem));
}

#[test]
fn cycles_and_wrong_levels_in_a_three_level_tree() {
    let b3 = layer_bytes("btree3");
    let key = first_key("btree3");
    let r = root(&b3);
    let (root_at, root_node) = node(&b3, r);
    assert_eq!(root_node.level(), 2);
    let mid = root_node.downlink(0).unwrap();
    let (mid_at, mid_node) = node(&b3, mid);
    let leaf = mid_node.downlink(0).unwrap();
    let (leaf_at, _) = node(&b3, leaf);

    // A cycle: the first level-1 node links back to the root, its ancestor.
    let mut cycle = b3.clone();
    set_value(&mut cycle, mid_at, 0, downlink(r));
    assert_eq!(rules(&cycle), [Rule::Downlinks]);
    let problem = NodeProblem::ChildNotBelowParent {
        entry_idx: 0,
        child: BlockNo(r),
    };
    assert_eq!(btree(scan_err(&cycle)), node_err(&b3, mid, problem.clone()));
    assert_eq!(btree(get_err(&cycle, key)), node_err(&b3, mid, problem));

    // Item 10: a level-1 node claiming to be a leaf, a leaf claiming level 1, and the root one
    // level too high (its children are then one level too low; checked by the scan only).
    // (where the level byte is, its new value, the node reported, level, expected, get too)
    let cases = [
        (mid_at, 0, mid, 0, 1, true),
        (leaf_at, 1, leaf, 1, 0, true),
        (root_at, 3, mid, 1, 2, false),
    ];
    for (at, new_level, reported, level, expected, get_too) in cases {
        let mut bytes = b3.clone();
        bytes[at + 2] = new_level;
        assert_eq!(rules(&bytes), [Rule::NodeLevels]);
        let problem = NodeProblem::WrongLevel { level, expected };
        let want = node_err(&b3, reported, problem);
        assert_eq!(btree(scan_err(&bytes)), want);
        if get_too {
            assert_eq!(btree(get_err(&bytes, key)), want);
        }
    }
}

#[test]
fn blob_lengths_and_offsets() {
    let tiny = layer_bytes("tiny");
    let key = first_key("tiny");
    // A 4-byte header claiming 2 GiB - 1 bytes of payload.
    let mut two_gib = tiny.clone();
    two_gib[PAGE_SIZE..PAGE_SIZE + 4].copy_from_slice(&[0x80 | 0x7F, 0xFF, 0xFF, 0xFF]);
    assert!(rules(&two_gib).contains(&Rule::BlobInValueArea));
    let want = strata_blob::Corruption::BlobPastEnd {
        offset: 0x2000,
        len: 0x7FFF_FFFF,
        limit: 0x4000,
    };
    for got in [scan_err(&two_gib), get_err(&two_gib, key)] {
        assert!(
            matches!(&got, CorruptionKind::Block(c) if *c == want),
            "{got:?}"
        );
    }

    // A blob offset inside the index.
    let (at, _) = node(&tiny, 0);
    let mut in_index = tiny.clone();
    let raw = BlobRef::new(2 * PAGE_SIZE as u64, true).raw();
    set_value(
        &mut in_index,
        at,
        0,
        strata_btree::format::encode_leaf_value(raw).unwrap(),
    );
    assert_eq!(rules(&in_index), [Rule::BlobInValueArea]);
    for got in [scan_err(&in_index), get_err(&in_index, key)] {
        assert!(
            matches!(
                got,
                CorruptionKind::BlobOutsideValueArea {
                    offset: 0x4000,
                    value_area_end: 0x4000
                }
            ),
            "{got:?}"
        );
    }

    // Offsets not increasing within one key's history: the point lookup refuses too.
    let walonly = layer_bytes("walonly");
    let m = Manifest::load("walonly");
    assert_eq!(
        (m.entries[1].key, m.entries[2].key),
        (m.entries[0].key, m.entries[0].key)
    );
    let offsets = m.blob_offsets();
    let (at, _) = node(&walonly, 0);
    let mut repeated = walonly.clone();
    let raw = BlobRef::new(offsets[1], false).raw();
    set_value(
        &mut repeated,
        at,
        2,
        strata_btree::format::encode_leaf_value(raw).unwrap(),
    );
    assert!(rules(&repeated).contains(&Rule::BlobsPacked));
    let got = get_err(&repeated, m.entries[0].key);
    assert!(
        matches!(got, CorruptionKind::OffsetsNotIncreasing { offset, next_offset } if offset == offsets[1] && next_offset == offsets[1]),
        "{got:?}"
    );
}

#[test]
fn entries_outside_the_summary_ranges() {
    let tiny = layer_bytes("tiny");
    let m = Manifest::load("tiny");
    let (key, lsn) = (m.entries[0].key, m.entries[0].lsn);
    let edit = |f: &dyn Fn(&mut Summary)| {
        let mut s = summary(&tiny);
        f(&mut s);
        let mut bytes = tiny.clone();
        bytes[..96].copy_from_slice(&s.encode());
        bytes
    };
    let above = edit(&|s| {
        s.key_range.start = key.next();
        s.key_range.end = key.next().next();
    });
    let later = edit(&|s| s.lsn_range = LsnRange::new(Lsn(lsn.0 + 1), Lsn(lsn.0 + 9)));
    for bytes in [above, later] {
        assert_eq!(rules(&bytes), [Rule::EntryInRanges]);
        let got = scan_err(&bytes);
        assert!(
            matches!(got, CorruptionKind::EntryOutOfRange { key: k, lsn: l } if k == key && l == lsn),
            "{got:?}"
        );
    }
    // Point and vectored lookups check every entry they collect too (Neon reads them silently).
    let bytes = edit(&|s| s.lsn_range = LsnRange::new(Lsn(lsn.0 + 1), Lsn(lsn.0 + 9)));
    let layer = open(&bytes);
    let mut state = ValueReconstructState::default();
    let range = LsnRange::new(lsn, Lsn(lsn.0 + 1));
    let res = poll_ready(layer.get_value_reconstruct_data(key, range, &mut state)).unwrap();
    let got = kind(res.unwrap_err());
    assert!(
        matches!(got, CorruptionKind::EntryOutOfRange { key: k, lsn: l } if k == key && l == lsn),
        "{got:?}"
    );
    assert_eq!(
        state,
        ValueReconstructState::default(),
        "a failed lookup adds nothing"
    );
    let got = vectored_err(&bytes);
    assert!(
        matches!(got, CorruptionKind::EntryOutOfRange { lsn: l, .. } if l >= lsn),
        "{got:?}"
    );
}

/// Whether `got` is item 18 broken at `offset` with the BlobRef bit `bit`.
fn will_init_mismatch(got: &CorruptionKind, offset: u64, bit: bool) -> bool {
    matches!(got, CorruptionKind::WillInitMismatch { offset: o, bit: b } if *o == offset && *b == bit)
}

#[test]
fn will_init_bit_disagreeing_with_the_value() {
    // An image whose BlobRef says "not will_init".
    let tiny = layer_bytes("tiny");
    let (at, _) = node(&tiny, 0);
    let mut cleared = tiny.clone();
    cleared[value_at(&tiny, at, 0) + 4] ^= 1;
    assert_eq!(rules(&cleared), [Rule::WillInitMatches]);
    let got = scan_err(&cleared);
    assert!(will_init_mismatch(&got, 0x2000, false), "{got:?}");
    let layer = open(&cleared);
    let entry = poll_ready(layer.load_keys()).unwrap().unwrap()[0];
    let got = kind(poll_ready(entry.load_value(&layer)).unwrap().unwrap_err());
    assert!(will_init_mismatch(&got, 0x2000, false), "{got:?}");

    // A non-init WAL record whose BlobRef says will_init: Neon's lookup silently stops there.
    let walonly = layer_bytes("walonly");
    let m = Manifest::load("walonly");
    assert!(!m.entries[2].will_init && m.entries[0].will_init);
    let (at, _) = node(&walonly, 0);
    let mut set = walonly.clone();
    set[value_at(&walonly, at, 2) + 4] |= 1;
    assert_eq!(rules(&set), [Rule::WillInitMatches]);
    let offset = m.blob_offsets()[2];
    let got = scan_err(&set);
    assert!(will_init_mismatch(&got, offset, true), "{got:?}");
    // Lookups check the bit against the value they decode (Neon would stop there silently).
    let got = get_err(&set, m.entries[0].key);
    assert!(will_init_mismatch(&got, offset, true), "{got:?}");
    let got = vectored_err(&set);
    assert!(will_init_mismatch(&got, offset, true), "{got:?}");
    let got = get_err(&cleared, Manifest::load("tiny").entries[0].key);
    assert!(will_init_mismatch(&got, 0x2000, false), "{got:?}");
}
