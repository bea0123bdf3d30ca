//! `verify` on damaged files: one crafted file per invariant of FORMAT.md section 9, each
//! giving that rule's finding; and every read path over each of them (through
//! `testing::open_scan`) gives results or corruption errors, never a panic.

use strata_blob::{MemBlockReader, PAGE_SIZE};
use strata_delta::testing::{open_scan, poll_ready};
use strata_delta::{
    BlobRef, CorruptionKind, DeltaLayer, Error, Finding, Location, OpenOptions, Rule, Summary,
    SummaryProblem, ValueReconstructState, verify_reader,
};
use strata_key::{Lsn, TenantId};
use strata_testkit::layer_bytes;

const PAGE: usize = PAGE_SIZE;

fn opts(bytes: &[u8]) -> OpenOptions {
    OpenOptions {
        file_len: Some(bytes.len() as u64),
        ..OpenOptions::default()
    }
}

fn findings_with(bytes: &[u8], opts: &OpenOptions) -> Vec<Finding> {
    let reader = MemBlockReader::from_bytes(bytes);
    poll_ready(verify_reader(reader, None, opts))
        .expect("in-memory reads complete at once")
        .expect("verify reports, it does not fail")
}

/// Asserts that `bytes` break `rule` (and that every read path copes); returns the findings.
fn assert_breaks(what: &str, bytes: &[u8], rule: Rule) -> Vec<Finding> {
    let findings = findings_with(bytes, &opts(bytes));
    assert!(
        findings.iter().any(|f| f.rule == rule),
        "{what}: expected a {rule:?} finding, got {findings:#?}"
    );
    let report = open_scan(bytes).unwrap_or_else(|m| panic!("{what}: {m}"));
    assert_eq!(report.findings, findings);
    findings
}

fn open(bytes: &[u8]) -> Result<DeltaLayer<MemBlockReader>, Error> {
    poll_ready(DeltaLayer::from_reader(
        MemBlockReader::from_bytes(bytes),
        opts(bytes),
    ))
    .expect("in-memory reads complete at once")
}

fn open_error(bytes: &[u8]) -> CorruptionKind {
    match open(bytes) {
        Err(Error::Corrupt(c)) => c.kind,
        Err(e) => panic!("not a corruption error: {e}"),
        Ok(_) => panic!("opened a damaged file"),
    }
}

/// The error of a full scan of `bytes`, which must open.
fn scan_error(bytes: &[u8]) -> CorruptionKind {
    let layer = open(bytes).expect("opens");
    poll_ready(async {
        let mut iter = layer.iter();
        while let Some(entry) = iter.next().await {
            match entry {
                Ok(entry) => {
                    if let Err(e) = iter.load_value(&entry).await {
                        return into_kind(e);
                    }
                }
                Err(e) => return into_kind(e),
            }
        }
        panic!("the scan found nothing wrong");
    })
    .expect("in-memory reads complete at once")
}

fn into_kind(e: Error) -> CorruptionKind {
    match e {
        Error::Corrupt(c) => c.kind,
        other => panic!("not a corruption error: {other}"),
    }
}

fn summary(bytes: &[u8]) -> Summary {
    Summary::decode(bytes).unwrap()
}

fn edit_summary(mut bytes: Vec<u8>, edit: impl FnOnce(&mut Summary)) -> Vec<u8> {
    let mut s = summary(&bytes);
    edit(&mut s);
    bytes[..96].copy_from_slice(&s.encode());
    bytes
}

/// Byte offset of index block `rel` (relative to the index start).
fn node_at(bytes: &[u8], rel: u32) -> usize {
    (summary(bytes).index_start_blk + rel) as usize * PAGE
}

fn root_at(bytes: &[u8]) -> usize {
    node_at(bytes, summary(bytes).index_root_blk)
}

/// Offsets of key `i` and value `i` of the node at `node`.
fn entry_at(bytes: &[u8], node: usize, i: usize) -> (usize, usize) {
    let n = u16::from_be_bytes([bytes[node], bytes[node + 1]]) as usize;
    let (prefix, suffix) = (bytes[node + 3] as usize, bytes[node + 4] as usize);
    let keys = node + 5 + prefix;
    (keys + i * suffix, keys + n * suffix + i * 5)
}

fn set_leaf_value(bytes: &mut [u8], at: usize, value: u64) {
    bytes[at..at + 5].copy_from_slice(&value.to_be_bytes()[3..]);
}

#[test]
fn summary_rules() {
    let tiny = layer_bytes("tiny");
    assert!(findings_with(&tiny, &opts(&tiny)).is_empty());

    let short = tiny[..2 * PAGE].to_vec();
    assert_breaks("two blocks", &short, Rule::FileSize);
    assert!(matches!(
        open_error(&short),
        CorruptionKind::Summary(SummaryProblem::FileTooShort { n_blocks: 2 })
    ));
    let mut ragged = tiny.clone();
    ragged.extend([0u8; 100]);
    assert_breaks("ragged length", &ragged, Rule::FileSize);

    let mut bad_magic = tiny.clone();
    bad_magic[0] = 0;
    assert_breaks("bad magic", &bad_magic, Rule::MagicVersion);
    assert!(matches!(
        open_error(&bad_magic),
        CorruptionKind::Summary(SummaryProblem::BadMagic { magic: 0x0061, .. })
    ));
    let mut bad_version = tiny.clone();
    bad_version[3] = 4;
    assert_breaks("bad version", &bad_version, Rule::MagicVersion);
    assert!(matches!(
        open_error(&bad_version),
        CorruptionKind::Summary(SummaryProblem::BadVersion { version: 4 })
    ));

    let empty_keys = edit_summary(tiny.clone(), |s| s.key_range.end = s.key_range.start);
    assert_breaks("empty key range", &empty_keys, Rule::NonEmptyRanges);
    assert!(matches!(
        open_error(&empty_keys),
        CorruptionKind::Summary(SummaryProblem::EmptyKeyRange { .. })
    ));
    let empty_lsns = edit_summary(tiny.clone(), |s| s.lsn_range.start = s.lsn_range.end);
    assert_breaks("empty LSN range", &empty_lsns, Rule::NonEmptyRanges);
    assert!(matches!(
        open_error(&empty_lsns),
        CorruptionKind::EmptyLsnRange { .. }
    ));

    // Item 4: the expected summary (from the file name and owner) differs.
    let mut expected = summary(&tiny);
    expected.tenant_id = TenantId([9; 16]);
    let with_expected = OpenOptions {
        expected_summary: Some(expected),
        ..opts(&tiny)
    };
    let findings = findings_with(&tiny, &with_expected);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].rule, Rule::MatchesName);
    let res = poll_ready(DeltaLayer::from_reader(
        MemBlockReader::from_bytes(&tiny),
        with_expected,
    ))
    .unwrap();
    assert!(matches!(
        res,
        Err(Error::Corrupt(c)) if matches!(c.kind, CorruptionKind::SummaryMismatch { .. })
    ));
    // The index fields are not compared.
    let mut expected = summary(&tiny);
    expected.index_root_blk = 77;
    let relaxed = OpenOptions {
        expected_summary: Some(expected),
        ..opts(&tiny)
    };
    assert!(findings_with(&tiny, &relaxed).is_empty());

    let index_too_low = edit_summary(tiny.clone(), |s| s.index_start_blk = 1);
    assert_breaks("index start 1", &index_too_low, Rule::IndexPointers);
    assert!(matches!(
        open_error(&index_too_low),
        CorruptionKind::Summary(SummaryProblem::IndexOutOfFile { .. })
    ));
    let root_past_end = edit_summary(tiny.clone(), |s| s.index_root_blk = 5);
    assert_breaks("root past the end", &root_past_end, Rule::IndexPointers);
    assert!(matches!(
        open_error(&root_past_end),
        CorruptionKind::Summary(SummaryProblem::IndexOutOfFile { .. })
    ));
    let huge = edit_summary(tiny.clone(), |s| s.index_root_blk = u32::MAX);
    assert_breaks("root overflowing u32", &huge, Rule::IndexPointers);
    let mut trailing_block = tiny.clone();
    trailing_block.extend([0u8; PAGE]);
    let findings = assert_breaks("root not last", &trailing_block, Rule::IndexPointers);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        open(&trailing_block).is_ok(),
        "the lenient reader accepts it"
    );
}

#[test]
fn padding_rule() {
    let tiny = layer_bytes("tiny");
    let mut block0 = tiny.clone();
    block0[200] = 1;
    let findings = assert_breaks("block 0 padding", &block0, Rule::ZeroPadding);
    assert_eq!(findings[0].location, Location::Offset(200));
    let mut after_blob = tiny.clone();
    after_blob[PAGE + 26 + 3] = 1;
    let findings = assert_breaks("value area padding", &after_blob, Rule::ZeroPadding);
    assert_eq!(findings[0].location, Location::Offset((PAGE + 29) as u64));
    let mut node = tiny.clone();
    node[root_at(&tiny) + 8000] = 1;
    let findings = assert_breaks("node padding", &node, Rule::ZeroPadding);
    assert!(matches!(
        findings[0].location,
        Location::IndexBlock {
            blkno: 0,
            file_blkno: 2
        }
    ));
}

#[test]
fn node_rules() {
    let tiny = layer_bytes("tiny");
    let root = root_at(&tiny);
    let mut no_children = tiny.clone();
    no_children[root..root + 2].fill(0);
    assert_breaks("zero children", &no_children, Rule::NodeHasChildren);
    assert!(matches!(scan_error(&no_children), CorruptionKind::Btree(_)));

    let mut key_len = tiny.clone();
    key_len[root + 4] = 25;
    assert_breaks("prefix + suffix != 26", &key_len, Rule::NodeKeyLength);
    assert!(matches!(scan_error(&key_len), CorruptionKind::Btree(_)));

    let mut overflow = tiny.clone();
    overflow[root..root + 2].copy_from_slice(&300u16.to_be_bytes());
    assert_breaks("node overflowing its block", &overflow, Rule::NodeKeyLength);

    let walonly = layer_bytes("walonly");
    let wroot = root_at(&walonly);
    assert_eq!(walonly[wroot + 3], 0, "an uncompressed single leaf");
    let (k0, _) = entry_at(&walonly, wroot, 0);
    let (k1, _) = entry_at(&walonly, wroot, 1);
    let mut unsorted = walonly.clone();
    let first: Vec<u8> = walonly[k0..k0 + 26].to_vec();
    unsorted.copy_within(k1..k1 + 26, k0);
    unsorted[k1..k1 + 26].copy_from_slice(&first);
    assert_breaks("unsorted node keys", &unsorted, Rule::NodeKeysSorted);

    let mut leaf_value = tiny.clone();
    let (_, v0) = entry_at(&tiny, root, 0);
    leaf_value[v0] = 0x80;
    assert_breaks("leaf value >= 0x80", &leaf_value, Rule::LeafValues);
    assert!(matches!(scan_error(&leaf_value), CorruptionKind::Btree(_)));
}

#[test]
fn internal_node_rules() {
    let std = layer_bytes("stdsmall");
    let root = root_at(&std);
    let root_blk = summary(&std).index_root_blk;
    assert_eq!(std[root + 2], 1, "stdsmall has a two-level tree");

    let mut levels = std.clone();
    levels[root + 2] = 2;
    assert_breaks("wrong level", &levels, Rule::NodeLevels);
    assert!(matches!(scan_error(&levels), CorruptionKind::Btree(_)));

    let (_, v0) = entry_at(&std, root, 0);
    let mut marker = std.clone();
    marker[v0] = 0x7F;
    assert_breaks("bad downlink marker", &marker, Rule::Downlinks);
    assert!(matches!(scan_error(&marker), CorruptionKind::Btree(_)));

    let mut cycle = std.clone();
    cycle[v0 + 1..v0 + 5].copy_from_slice(&root_blk.to_be_bytes());
    assert_breaks("downlink to itself", &cycle, Rule::Downlinks);
    assert!(matches!(scan_error(&cycle), CorruptionKind::Btree(_)));
    let mut past_end = std.clone();
    past_end[v0 + 1..v0 + 5].copy_from_slice(&0xFFFF_FF00u32.to_be_bytes());
    assert_breaks("downlink past the end", &past_end, Rule::Downlinks);

    let (k1, _) = entry_at(&std, root, 1);
    let suffix_len = std[root + 4] as usize;
    let mut first_key = std.clone();
    first_key[k1 + suffix_len - 1] ^= 1;
    assert_breaks(
        "internal key != child's first key",
        &first_key,
        Rule::InternalKeys,
    );
    assert!(matches!(scan_error(&first_key), CorruptionKind::Btree(_)));
}

#[test]
fn entry_and_blob_rules() {
    let tiny = layer_bytes("tiny");
    let root = root_at(&tiny);
    let (_, v0) = entry_at(&tiny, root, 0);

    let lsn_outside = edit_summary(tiny.clone(), |s| {
        s.lsn_range.start = Lsn(0x11);
        s.lsn_range.end = Lsn(0x12);
    });
    assert_breaks("LSN outside the range", &lsn_outside, Rule::EntryInRanges);
    let key_outside = edit_summary(tiny.clone(), |s| {
        s.key_range.start = s.key_range.end;
        s.key_range.end = s.key_range.end.next();
    });
    assert_breaks("key outside the range", &key_outside, Rule::EntryInRanges);

    let mut low = tiny.clone();
    set_leaf_value(&mut low, v0, BlobRef::new(100, true).raw());
    assert_breaks("blob in block 0", &low, Rule::BlobInValueArea);
    assert!(matches!(
        scan_error(&low),
        CorruptionKind::BlobOutsideValueArea { offset: 100, .. }
    ));
    let mut high = tiny.clone();
    set_leaf_value(&mut high, v0, BlobRef::new(2 * PAGE as u64, true).raw());
    assert_breaks("blob in the index", &high, Rule::BlobInValueArea);

    let mut two_gib = tiny.clone();
    two_gib[PAGE..PAGE + 4].fill(0xFF);
    assert_breaks("2 GiB blob length", &two_gib, Rule::BlobInValueArea);
    assert!(matches!(scan_error(&two_gib), CorruptionKind::Block(_)));
    let layer = open(&two_gib).unwrap();
    let key = summary(&tiny).key_range.start;
    let res = poll_ready(layer.get_value_reconstruct_data(
        key,
        summary(&tiny).lsn_range,
        &mut ValueReconstructState::default(),
    ))
    .unwrap();
    assert!(matches!(res, Err(Error::Corrupt(_))));

    let mut bad_tag = tiny.clone();
    bad_tag[PAGE + 1] = 0xFF;
    assert_breaks("payload not a Value", &bad_tag, Rule::ValueDecodes);
    assert!(matches!(scan_error(&bad_tag), CorruptionKind::Value { .. }));
    let mut trailing = tiny.clone();
    trailing[PAGE] += 1;
    assert_breaks(
        "trailing byte after the Value",
        &trailing,
        Rule::ValueDecodes,
    );

    let mut will_init = tiny.clone();
    will_init[v0 + 4] ^= 1;
    let findings = assert_breaks("will_init bit cleared", &will_init, Rule::WillInitMatches);
    assert_eq!(findings.len(), 1, "{findings:?}");

    let walonly = layer_bytes("walonly");
    let wroot = root_at(&walonly);
    let (_, w0) = entry_at(&walonly, wroot, 0);
    let (_, w1) = entry_at(&walonly, wroot, 1);
    let mut repeated = walonly.clone();
    repeated.copy_within(w0..w0 + 5, w1);
    assert_breaks("offsets not increasing", &repeated, Rule::BlobsPacked);
    assert!(matches!(
        scan_error(&repeated),
        CorruptionKind::OffsetsNotIncreasing { .. }
    ));
    let mut gap = walonly.clone();
    let pos = u64::from_be_bytes([
        0,
        0,
        0,
        gap[w1],
        gap[w1 + 1],
        gap[w1 + 2],
        gap[w1 + 3],
        gap[w1 + 4],
    ]);
    set_leaf_value(&mut gap, w1, pos + 2);
    assert_breaks("blob not where the previous ended", &gap, Rule::BlobsPacked);
}
