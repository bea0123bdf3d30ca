//! Crafted files, one per image-layer invariant (FORMAT.md section 11 applying section 9),
//! each asserting the exact error of the read paths that meet it (open, `get`, scan) and the
//! exact rule `verify` reports. The base file is a sound 3-entry layer written by the writer:
//! blobs at 0x2000 (1 + 10 bytes), 0x200b (4 + 200), 0x20d7 (1 + 20), the index (one leaf)
//! at block 2. The B-tree rules 10–12 need deeper trees; `strata-btree`'s own tests cover
//! them for every key length, and this file covers how they reach an image layer (7, 8, 9, 13).

use strata_blob::MemBlockReader;
use strata_btree::NodeProblem;
use strata_image::testing::poll_ready;
use strata_image::{CorruptionKind, Error, ImageLayer, OpenOptions, Summary, verify_reader};
use strata_key::{Key, KeyRange, Lsn, TenantId};
use strata_layer::{Rule, SummaryProblem};

use crate::support::write_layer;

const PAGE: usize = 8192;
const LEAF: usize = 2 * PAGE;

fn keys() -> [Key; 3] {
    let k = Key::MIN.add(0x1000);
    [k, k.add(1), k.add(2)]
}

fn images() -> [Vec<u8>; 3] {
    [vec![1; 10], vec![2; 200], vec![3; 20]]
}

fn base() -> Vec<u8> {
    let k = keys();
    let entries: Vec<(Key, Vec<u8>)> = k.iter().copied().zip(images()).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let range = KeyRange::new(k[0], k[2].next());
    let desc = write_layer(dir.path(), range, Lsn(0x40), &entries).expect("write");
    std::fs::read(desc.path).expect("read")
}

fn edit_summary(bytes: &mut [u8], f: impl FnOnce(&mut Summary)) {
    let mut s = Summary::decode(bytes).expect("summary");
    f(&mut s);
    bytes[..88].copy_from_slice(&s.encode());
}

/// (prefix_len, suffix_len) of the root leaf, and where entry `i`'s value starts.
fn leaf_value_pos(bytes: &[u8], i: usize) -> usize {
    let (n, prefix, suffix) = (3, bytes[LEAF + 3] as usize, bytes[LEAF + 4] as usize);
    LEAF + 5 + prefix + n * suffix + i * 5
}

fn set_leaf_value(bytes: &mut [u8], i: usize, value: u64) {
    let pos = leaf_value_pos(bytes, i);
    bytes[pos..pos + 5].copy_from_slice(&value.to_be_bytes()[3..]);
}

fn open(bytes: &[u8], opts: OpenOptions) -> Result<ImageLayer<MemBlockReader>, Error> {
    poll_ready(ImageLayer::from_reader(
        MemBlockReader::from_bytes(bytes),
        opts,
    ))
    .expect("ready")
}

fn rules(bytes: &[u8], opts: &OpenOptions) -> Vec<Rule> {
    let opts = OpenOptions {
        file_len: Some(bytes.len() as u64),
        ..opts.clone()
    };
    let findings = poll_ready(verify_reader(
        MemBlockReader::from_bytes(bytes),
        None,
        &opts,
    ))
    .expect("ready")
    .expect("verify reports, it does not fail");
    let mut rules: Vec<Rule> = findings.iter().map(|f| f.rule).collect();
    rules.dedup();
    rules
}

fn scan_err(layer: &ImageLayer<MemBlockReader>) -> Error {
    poll_ready(layer.scan(|_, _| true))
        .expect("ready")
        .expect_err("the scan must fail")
}

fn get(layer: &ImageLayer<MemBlockReader>, key: Key) -> Result<Option<Vec<u8>>, Error> {
    poll_ready(layer.get(key)).expect("ready")
}

fn summary_problem(e: &Error) -> Option<&SummaryProblem> {
    match e.corruption() {
        Some(CorruptionKind::Summary(p)) => Some(p),
        _ => None,
    }
}

/// Whether `e` is a blob running past its limit.
fn blob_past_end(e: &Error) -> bool {
    matches!(
        e.corruption(),
        Some(CorruptionKind::Block(
            strata_blob::Corruption::BlobPastEnd { .. }
        ))
    )
}

fn node_problem(e: &Error) -> Option<&NodeProblem> {
    match e.corruption() {
        Some(CorruptionKind::Btree(strata_btree::Corruption::Node { problem, .. })) => {
            Some(problem)
        }
        _ => None,
    }
}

const NO: OpenOptions = OpenOptions {
    expected_summary: None,
    file_len: None,
    blob: strata_blob::BlobReadOptions {
        mode: strata_blob::HeaderMode::Auto,
        max_decompressed_len: 0x7FFF_FFFF,
    },
    max_run_bytes: 128 * 1024,
};

#[test]
fn the_base_file_is_sound_and_laid_out_as_documented() {
    let b = base();
    assert_eq!(b.len(), 3 * PAGE);
    assert_eq!(rules(&b, &NO), []);
    assert_eq!(&b[0x2000..0x2002], &[10, 1]);
    assert_eq!(&b[0x200b..0x200f], &[0x80, 0, 0, 200]);
    assert_eq!(b[0x20d7], 20);
    let layer = open(&b, NO).expect("open");
    assert_eq!(
        get(&layer, keys()[1]).expect("get"),
        Some(images()[1].clone())
    );
    let pos = leaf_value_pos(&b, 1);
    assert_eq!(&b[pos..pos + 5], &[0, 0, 0, 0x20, 0x0b]);
}

#[test]
fn rule_1_file_size() {
    let b = base();
    let e = open(&b[..2 * PAGE], NO).expect_err("too short");
    assert_eq!(
        summary_problem(&e),
        Some(&SummaryProblem::FileTooShort { n_blocks: 2 })
    );
    assert_eq!(
        rules(&b[..2 * PAGE], &NO),
        [Rule::FileSize, Rule::IndexPointers]
    );
    let mut long = b.clone();
    long.extend_from_slice(&[0; 100]);
    assert!(open(&long, NO).is_ok(), "a partial last block is not read");
    assert_eq!(rules(&long, &NO), [Rule::FileSize]);
}

#[test]
fn rule_2_magic_and_version() {
    let mut b = base();
    edit_summary(&mut b, |s| s.magic = 0x5A61);
    let e = open(&b, NO).expect_err("delta magic");
    let want = SummaryProblem::BadMagic {
        magic: 0x5A61,
        expected: 0x5A60,
    };
    assert_eq!(summary_problem(&e), Some(&want));
    assert_eq!(rules(&b, &NO), [Rule::MagicVersion]);
    let mut b = base();
    edit_summary(&mut b, |s| s.format_version = 2);
    let e = open(&b, NO).expect_err("version");
    assert_eq!(
        summary_problem(&e),
        Some(&SummaryProblem::BadVersion { version: 2 })
    );
    assert_eq!(rules(&b, &NO), [Rule::MagicVersion]);
}

#[test]
fn rule_3_ranges() {
    let mut b = base();
    edit_summary(&mut b, |s| s.key_range.end = s.key_range.start);
    let e = open(&b, NO).expect_err("empty key range");
    assert!(
        matches!(
            summary_problem(&e),
            Some(SummaryProblem::EmptyKeyRange { .. })
        ),
        "{e}"
    );
    assert_eq!(rules(&b, &NO), [Rule::NonEmptyRanges, Rule::EntryInRanges]);
    let mut b = base();
    edit_summary(&mut b, |s| s.lsn = Lsn::MAX);
    let e = open(&b, NO).expect_err("LSN MAX");
    assert!(
        matches!(
            e.corruption(),
            Some(CorruptionKind::LsnOverflow { lsn: Lsn::MAX })
        ),
        "{e}"
    );
    assert_eq!(rules(&b, &NO), [Rule::NonEmptyRanges]);
}

#[test]
fn rule_4_expected_summary() {
    let b = base();
    let mut expected = Summary::decode(&b).expect("summary");
    expected.tenant_id = TenantId([9; 16]);
    let opts = OpenOptions {
        expected_summary: Some(expected),
        ..NO
    };
    let e = open(&b, opts.clone()).expect_err("mismatch");
    assert!(
        matches!(e.corruption(), Some(CorruptionKind::SummaryMismatch { .. })),
        "{e}"
    );
    assert_eq!(rules(&b, &opts), [Rule::MatchesName]);
}

#[test]
fn rule_5_index_pointers() {
    for (start, root) in [(1, 0), (2, 1), (u32::MAX, 1)] {
        let mut b = base();
        edit_summary(&mut b, |s| {
            (s.index_start_blk, s.index_root_blk) = (start, root)
        });
        let e = open(&b, NO).expect_err("index outside");
        let want = SummaryProblem::IndexOutOfFile {
            index_start_blk: start,
            index_root_blk: root,
            n_blocks: 3,
        };
        assert_eq!(summary_problem(&e), Some(&want));
        assert_eq!(rules(&b, &NO), [Rule::IndexPointers]);
    }
    let mut b = base();
    b.extend_from_slice(&[0; PAGE]);
    assert!(
        open(&b, NO).is_ok(),
        "a root before the last block still reads"
    );
    assert_eq!(rules(&b, &NO), [Rule::IndexPointers]);
}

#[test]
fn rule_6_zero_padding() {
    for pos in [100, 0x20ec + 5, LEAF + PAGE - 1] {
        let mut b = base();
        b[pos] = 0xAA;
        assert_eq!(rules(&b, &NO), [Rule::ZeroPadding], "byte {pos:#x}");
        let layer = open(&b, NO).expect("padding does not stop reads");
        assert_eq!(
            get(&layer, keys()[2]).expect("get"),
            Some(images()[2].clone())
        );
    }
}

#[test]
fn rules_7_8_9_13_btree_nodes() {
    type Case = (fn(&mut Vec<u8>), Rule, fn(&NodeProblem) -> bool);
    let cases: [Case; 4] = [
        (
            |b| b[LEAF..LEAF + 2].copy_from_slice(&[0, 0]),
            Rule::NodeHasChildren,
            |p| matches!(p, NodeProblem::NoChildren),
        ),
        (
            |b| b[LEAF + 4] -= 1,
            Rule::NodeKeyLength,
            |p| matches!(p, NodeProblem::KeyLength { .. }),
        ),
        (
            |b| {
                let (prefix, suffix) = (b[LEAF + 3] as usize, b[LEAF + 4] as usize);
                let first = LEAF + 5 + prefix;
                b.swap(first + suffix - 1, first + 2 * suffix - 1);
            },
            Rule::NodeKeysSorted,
            |p| {
                matches!(
                    p,
                    NodeProblem::Unsorted { .. } | NodeProblem::OutOfOrder { .. }
                )
            },
        ),
        (
            |b| {
                let at = leaf_value_pos(b, 0);
                b[at] = 0x80
            },
            Rule::LeafValues,
            |p| matches!(p, NodeProblem::BadLeafValue { .. }),
        ),
    ];
    for (damage, rule, problem) in cases {
        let mut b = base();
        damage(&mut b);
        assert_eq!(rules(&b, &NO), [rule]);
        let layer = open(&b, NO).expect("the summary is fine");
        let e = scan_err(&layer);
        assert!(
            problem(node_problem(&e).expect("a node problem")),
            "{rule:?}: {e}"
        );
    }
}

#[test]
fn rule_14_keys_inside_the_key_range() {
    let mut b = base();
    edit_summary(&mut b, |s| s.key_range.end = keys()[2]);
    assert_eq!(rules(&b, &NO), [Rule::EntryInRanges]);
    let layer = open(&b, NO).expect("open");
    let e = get(&layer, keys()[2]).expect_err("outside");
    assert!(
        matches!(e.corruption(), Some(CorruptionKind::KeyOutOfRange { key }) if *key == keys()[2]),
        "{e}"
    );
    let e = scan_err(&layer);
    assert!(
        matches!(e.corruption(), Some(CorruptionKind::KeyOutOfRange { .. })),
        "{e}"
    );
    assert_eq!(
        get(&layer, keys()[0]).expect("inside"),
        Some(images()[0].clone())
    );
}

#[test]
fn rule_15_blobs_inside_the_value_area() {
    let mut b = base();
    set_leaf_value(&mut b, 0, 100);
    let layer = open(&b, NO).expect("open");
    let e = get(&layer, keys()[0]).expect_err("offset 100");
    let want = |e: &Error| {
        matches!(
            e.corruption(),
            Some(CorruptionKind::BlobOutsideValueArea {
                offset: 100,
                value_area_end: 0x4000
            })
        )
    };
    assert!(want(&e), "{e}");
    assert!(want(&scan_err(&layer)));
    assert_eq!(rules(&b, &NO), [Rule::BlobInValueArea, Rule::BlobsPacked]);
    // A length running past the value area.
    let mut b = base();
    b[0x200b..0x200f].copy_from_slice(&[0x80, 0, 0x40, 0]);
    let layer = open(&b, NO).expect("open");
    let e = get(&layer, keys()[1]).expect_err("too long");
    assert!(blob_past_end(&e), "{e}");
    assert_eq!(rules(&b, &NO), [Rule::BlobInValueArea]);
}

#[test]
fn rule_16_blobs_packed_in_key_order() {
    let mut b = base();
    set_leaf_value(&mut b, 1, 0x20d7);
    set_leaf_value(&mut b, 2, 0x200b);
    let layer = open(&b, NO).expect("open");
    let e = scan_err(&layer);
    let want = CorruptionKind::OffsetsNotIncreasing {
        offset: 0x20d7,
        next_offset: 0x200b,
    };
    assert_eq!(
        format!("{:?}", e.corruption()),
        format!("{:?}", Some(&want))
    );
    assert_eq!(
        get(&layer, keys()[1]).expect("a point read is fine"),
        Some(images()[2].clone())
    );
    assert_eq!(rules(&b, &NO), [Rule::BlobsPacked]);
    // A blob overlapping the next: a scan's run bound catches it.
    let mut b = base();
    b[0x2000] = 12;
    let layer = open(&b, NO).expect("open");
    let e = scan_err(&layer);
    assert!(blob_past_end(&e), "{e}");
    assert_eq!(rules(&b, &NO), [Rule::BlobsPacked]);
}

#[test]
fn rule_17_compressed_blobs_decode() {
    let k = keys();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = strata_image::ImageLayerWriter::with_fs(
        strata_blob::StdFs,
        dir.path(),
        TenantId([1; 16]),
        strata_key::TimelineId([2; 16]),
        KeyRange::new(k[0], k[1]),
        Lsn(7),
        strata_image::ImageLayerWriterOptions {
            zstd_level: Some(3),
            ..Default::default()
        },
    )
    .expect("writer");
    w.put_image(k[0], &[5u8; 8192]).expect("put");
    let desc = w.finish().expect("finish");
    let mut b = std::fs::read(&desc.path).expect("read");
    assert_eq!(b[0x2000] & 0xF0, 0x90, "compressed header");
    assert_eq!(desc.file_size, 3 * PAGE as u64);
    let layer = open(&b, NO).expect("open");
    assert_eq!(get(&layer, k[0]).expect("get"), Some(vec![5u8; 8192]));
    assert_eq!(rules(&b, &NO), []);
    // Damage inside the frame, after its magic.
    b[0x2000 + 4 + 6] ^= 0xFF;
    b[0x2000 + 4 + 7] ^= 0xFF;
    let layer = open(&b, NO).expect("open");
    let e = get(&layer, k[0]).expect_err("bad frame");
    assert!(e.is_corrupt(), "{e}");
    assert_eq!(rules(&b, &NO), [Rule::ValueDecodes]);
}
