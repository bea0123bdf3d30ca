//! Corrupted-node tests: one per structural rule of FORMAT.md section 9 items 6–13. Each
//! builds a valid two-level tree, breaks one rule in one block, and checks that the reader
//! names the block and the rule.

use strata_blob::{Block, BlockBuf, BlockNo, MemBlockReader, PAGE_SIZE};
use strata_btree::format::NodeView;
use strata_btree::{
    Corruption, DiskBtreeBuilder, DiskBtreeReader, Error, NodeProblem, VisitDirection,
};

const L: usize = 4;
const N: u32 = 3000;

fn key(i: u32) -> [u8; L] {
    (i * 2).to_be_bytes()
}

/// A valid tree of `N` entries (key `2i` -> value `i`): several leaves under one root.
fn tree_blocks() -> (u32, Vec<[u8; PAGE_SIZE]>) {
    let mut builder = DiskBtreeBuilder::<_, L>::new(BlockBuf::new());
    for i in 0..N {
        builder.append(&key(i), u64::from(i)).unwrap();
    }
    let (root, buf) = builder.finish().unwrap();
    let blocks = buf.blocks().iter().map(|b| **b).collect();
    (root, blocks)
}

fn reader(root: u32, blocks: &[[u8; PAGE_SIZE]]) -> DiskBtreeReader<MemBlockReader, L> {
    // Put two unrelated blocks in front, so absolute and relative numbers differ.
    let mut all = vec![Block::zeroed(), Block::zeroed()];
    all.extend(blocks.iter().map(Block::from_array));
    DiskBtreeReader::new(2, root, MemBlockReader::from_blocks(all))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// Asserts `err` is corruption of relative block `blkno` with `problem`.
fn assert_node_problem(err: Error, blkno: u32, problem: NodeProblem) {
    match err {
        Error::Corrupt(Corruption::Node {
            blkno: b,
            file_blkno,
            problem: p,
        }) => {
            assert_eq!(
                (b, file_blkno, p),
                (BlockNo(blkno), BlockNo(blkno + 2), problem)
            );
        }
        other => panic!("expected corruption of block {blkno} ({problem}), got {other:?}"),
    }
}

async fn scan_err(tree: &DiskBtreeReader<MemBlockReader, L>, dir: VisitDirection) -> Error {
    let start = match dir {
        VisitDirection::Forwards => [0; L],
        VisitDirection::Backwards => [0xff; L],
    };
    let mut iter = tree.iter(&start, dir);
    let mut n = 0;
    loop {
        match iter.next().await {
            Some(Ok(_)) => n += 1,
            Some(Err(e)) => {
                // After an error the iterator is finished.
                assert!(iter.next().await.is_none());
                return e;
            }
            None => panic!("scan of a corrupt tree ended normally after {n} entries"),
        }
    }
}

fn set_u16(block: &mut [u8; PAGE_SIZE], off: usize, v: u16) {
    block[off..off + 2].copy_from_slice(&v.to_be_bytes());
}

#[test]
fn valid_tree_reads_and_verifies() {
    let (root, blocks) = tree_blocks();
    assert!(
        blocks.len() >= 4,
        "want several leaves, got {} blocks",
        blocks.len()
    );
    let tree = reader(root, &blocks);
    rt().block_on(async {
        let stats = tree.verify().await.unwrap();
        assert_eq!((stats.depth, stats.n_entries), (2, u64::from(N)));
        assert_eq!(stats.n_nodes, blocks.len() as u64);
        assert_eq!(tree.depth().await.unwrap(), 2);
        assert_eq!(tree.get(&key(1234)).await.unwrap(), Some(1234));
        assert_eq!(tree.get(&(2469u32).to_be_bytes()).await.unwrap(), None);
    });
}

#[test]
fn zero_children() {
    let (root, mut blocks) = tree_blocks();
    set_u16(&mut blocks[root as usize], 0, 0);
    let tree = reader(root, &blocks);
    let err = rt().block_on(tree.get(&key(5))).unwrap_err();
    assert_node_problem(err, root, NodeProblem::NoChildren);
}

#[test]
fn prefix_plus_suffix_not_key_length() {
    let (root, mut blocks) = tree_blocks();
    blocks[1][4] += 1; // leaf 1's suffix_len
    let tree = reader(root, &blocks);
    let first_key1 = NodeView::<L>::decode(&tree_blocks().1[1]).unwrap().key(0);
    let err = rt().block_on(tree.get(&first_key1)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Corrupt(Corruption::Node {
                blkno: BlockNo(1),
                problem: NodeProblem::KeyLength { key_len: 4, .. },
                ..
            })
        ),
        "{err:?}"
    );
}

#[test]
fn sizes_overflowing_the_block() {
    let (root, mut blocks) = tree_blocks();
    set_u16(&mut blocks[0], 0, u16::MAX);
    let tree = reader(root, &blocks);
    let err = rt().block_on(tree.get(&key(0))).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Corrupt(Corruption::Node { blkno: BlockNo(0), problem: NodeProblem::Overflow { used }, .. })
                if used > PAGE_SIZE
        ),
        "{err:?}"
    );
}

/// Header offset of entry `i`'s suffix and the suffix length, for a node of `blocks[b]`.
fn suffix_at(block: &[u8; PAGE_SIZE], i: usize) -> (usize, usize) {
    let (p, s) = (block[3] as usize, block[4] as usize);
    (5 + p + i * s, s)
}

fn value_at(block: &[u8; PAGE_SIZE], i: usize) -> usize {
    let n = u16::from_be_bytes([block[0], block[1]]) as usize;
    let (p, s) = (block[3] as usize, block[4] as usize);
    5 + p + n * s + i * 5
}

#[test]
fn unsorted_keys_within_a_leaf() {
    let (root, mut blocks) = tree_blocks();
    // Swap leaf 0's entries 10 and 11.
    let (off10, s) = suffix_at(&blocks[0], 10);
    let (off11, _) = suffix_at(&blocks[0], 11);
    let a: Vec<u8> = blocks[0][off10..off10 + s].to_vec();
    blocks[0].copy_within(off11..off11 + s, off10);
    blocks[0][off11..off11 + s].copy_from_slice(&a);
    let tree = reader(root, &blocks);
    rt().block_on(async {
        assert_node_problem(
            tree.verify().await.unwrap_err(),
            0,
            NodeProblem::Unsorted { entry_idx: 11 },
        );
        assert_node_problem(
            scan_err(&tree, VisitDirection::Forwards).await,
            0,
            NodeProblem::OutOfOrder { entry_idx: 11 },
        );
        assert_node_problem(
            scan_err(&tree, VisitDirection::Backwards).await,
            0,
            NodeProblem::OutOfOrder { entry_idx: 10 },
        );
        // Lookups away from the damage still work.
        assert_eq!(tree.get(&key(500)).await.unwrap(), Some(500));
    });
}

#[test]
fn unsorted_keys_within_an_internal_node() {
    let (root, mut blocks) = tree_blocks();
    let r = root as usize;
    // Make the root's keys 1 and 2 equal (downlinks unchanged).
    let (off1, s) = suffix_at(&blocks[r], 1);
    let (off2, _) = suffix_at(&blocks[r], 2);
    blocks[r].copy_within(off1..off1 + s, off2);
    let tree = reader(root, &blocks);
    rt().block_on(async {
        assert_node_problem(
            tree.verify().await.unwrap_err(),
            root,
            NodeProblem::Unsorted { entry_idx: 2 },
        );
        assert_node_problem(
            scan_err(&tree, VisitDirection::Forwards).await,
            root,
            NodeProblem::Unsorted { entry_idx: 2 },
        );
    });
}

#[test]
fn downlink_without_marker() {
    let (root, mut blocks) = tree_blocks();
    let off = value_at(&blocks[root as usize], 0);
    blocks[root as usize][off] = 0x00;
    let tree = reader(root, &blocks);
    let err = rt().block_on(tree.get(&key(0))).unwrap_err();
    assert_node_problem(
        err,
        root,
        NodeProblem::BadDownlink {
            entry_idx: 0,
            first_byte: 0,
        },
    );
}

#[test]
fn child_not_below_parent() {
    let (root, mut blocks) = tree_blocks();
    for (child, ok) in [
        (root, false),
        (root + 5, false),
        (u32::MAX, false),
        (0, true),
    ] {
        let off = value_at(&blocks[root as usize], 0);
        blocks[root as usize][off + 1..off + 5].copy_from_slice(&child.to_be_bytes());
        let tree = reader(root, &blocks);
        let result = rt().block_on(tree.get(&key(0)));
        if ok {
            assert_eq!(result.unwrap(), Some(0));
        } else {
            assert_node_problem(
                result.unwrap_err(),
                root,
                NodeProblem::ChildNotBelowParent {
                    entry_idx: 0,
                    child: BlockNo(child),
                },
            );
        }
    }
}

#[test]
fn levels_must_decrease_by_one() {
    let (root, mut blocks) = tree_blocks();
    // A leaf claiming level 1.
    blocks[0][2] = 1;
    let tree = reader(root, &blocks);
    let err = rt().block_on(tree.get(&key(0))).unwrap_err();
    assert_node_problem(
        err,
        0,
        NodeProblem::WrongLevel {
            level: 1,
            expected: 0,
        },
    );

    // A root claiming level 5: its children must be level 4.
    let (root, mut blocks) = tree_blocks();
    blocks[root as usize][2] = 5;
    let tree = reader(root, &blocks);
    let err = rt().block_on(tree.get(&key(0))).unwrap_err();
    assert_node_problem(
        err,
        0,
        NodeProblem::WrongLevel {
            level: 0,
            expected: 4,
        },
    );
    assert_eq!(rt().block_on(tree.depth()).unwrap(), 6);
}

#[test]
fn self_loops_and_cycles_terminate() {
    // A single internal node at level 255 whose downlink points to itself, and a chain of
    // two nodes pointing at each other.
    let mut block = [0u8; PAGE_SIZE];
    block[..5].copy_from_slice(&[0, 1, 255, 0, 4]);
    block[5..9].copy_from_slice(&[0, 0, 0, 0]);
    block[9..14].copy_from_slice(&[0x80, 0, 0, 0, 0]);
    let tree = reader(0, &[block]);
    let err = rt().block_on(tree.get(&[0; L])).unwrap_err();
    assert_node_problem(
        err,
        0,
        NodeProblem::ChildNotBelowParent {
            entry_idx: 0,
            child: BlockNo(0),
        },
    );
    // Two nodes pointing at each other, levels consistent: block 1 (root, level 255) ->
    // block 0 (level 254) -> block 1.
    let mut lower = block;
    lower[2] = 254;
    lower[10..14].copy_from_slice(&1u32.to_be_bytes());
    let tree = reader(1, &[lower, block]);
    rt().block_on(async {
        let err = tree.get(&[0; L]).await.unwrap_err();
        assert_node_problem(
            err,
            0,
            NodeProblem::ChildNotBelowParent {
                entry_idx: 0,
                child: BlockNo(1),
            },
        );
        assert!(tree.verify().await.unwrap_err().is_corrupt());
        assert!(
            scan_err(&tree, VisitDirection::Backwards)
                .await
                .is_corrupt()
        );
    });
}

#[test]
fn child_first_key_must_equal_downlink_key() {
    let (root, mut blocks) = tree_blocks();
    // Raise leaf 1's first key by one (still below its second key, which is 2 higher).
    let (off, s) = suffix_at(&blocks[1], 0);
    blocks[1][off + s - 1] += 1;
    let tree = reader(root, &blocks);
    let first_key1 = NodeView::<L>::decode(&tree_blocks().1[1]).unwrap().key(0);
    let err = rt().block_on(tree.get(&first_key1)).unwrap_err();
    assert_node_problem(
        err,
        1,
        NodeProblem::FirstKeyMismatch {
            parent: BlockNo(root),
            entry_idx: 1,
        },
    );
}

#[test]
fn child_keys_must_stay_below_the_next_downlink_key() {
    let (root, mut blocks) = tree_blocks();
    // Raise leaf 0's last key above leaf 1's first key; leaf 0 stays sorted.
    let n0 = u16::from_be_bytes([blocks[0][0], blocks[0][1]]) as usize;
    let (off, s) = suffix_at(&blocks[0], n0 - 1);
    blocks[0][off..off + s].fill(0xff);
    let tree = reader(root, &blocks);
    rt().block_on(async {
        let err = scan_err(&tree, VisitDirection::Forwards).await;
        assert_node_problem(err, 1, NodeProblem::OutOfOrder { entry_idx: 0 });
        let err = scan_err(&tree, VisitDirection::Backwards).await;
        assert_node_problem(err, 0, NodeProblem::OutOfOrder { entry_idx: n0 - 1 });
        assert_node_problem(
            tree.verify().await.unwrap_err(),
            1,
            NodeProblem::OutOfOrder { entry_idx: 0 },
        );
    });
}

#[test]
fn leaf_value_with_high_bit() {
    let (root, mut blocks) = tree_blocks();
    let off = value_at(&blocks[0], 7);
    blocks[0][off] = 0x80;
    let tree = reader(root, &blocks);
    rt().block_on(async {
        let err = tree.get(&key(7)).await.unwrap_err();
        assert_node_problem(
            err,
            0,
            NodeProblem::BadLeafValue {
                entry_idx: 7,
                first_byte: 0x80,
            },
        );
        assert_eq!(tree.get(&key(6)).await.unwrap(), Some(6));
        let err = scan_err(&tree, VisitDirection::Forwards).await;
        assert_node_problem(
            err,
            0,
            NodeProblem::BadLeafValue {
                entry_idx: 7,
                first_byte: 0x80,
            },
        );
    });
}

#[test]
fn root_out_of_range() {
    let (root, blocks) = tree_blocks();
    let tree = reader(root + 1, &blocks);
    let err = rt().block_on(tree.get(&key(0))).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Corrupt(Corruption::RootOutOfRange { root: r, n_index_blocks }) if r == root + 1 && n_index_blocks == root + 1
        ),
        "{err:?}"
    );
    // An index start past the end of the data.
    let tree = DiskBtreeReader::<_, L>::new(u32::MAX, 0, MemBlockReader::from_blocks(vec![]));
    let err = rt().block_on(tree.get(&key(0))).unwrap_err();
    assert!(
        matches!(err, Error::Corrupt(Corruption::RootOutOfRange { .. })),
        "{err:?}"
    );
}

#[test]
fn non_zero_padding_fails_verify_only() {
    let (root, mut blocks) = tree_blocks();
    blocks[2][PAGE_SIZE - 1] = 1;
    let tree = reader(root, &blocks);
    rt().block_on(async {
        assert_node_problem(
            tree.verify().await.unwrap_err(),
            2,
            NodeProblem::NonZeroPadding {
                offset: PAGE_SIZE - 1,
            },
        );
        let mut n = 0;
        let done = tree
            .visit(&[0; L], VisitDirection::Forwards, |_, _| {
                n += 1;
                true
            })
            .await;
        assert_eq!((done.unwrap(), n), (true, N));
    });
}

#[test]
fn block_past_end_maps_to_corrupt() {
    let (root, blocks) = tree_blocks();
    // Drop the first leaf block from the reader: the index starts one block later, so every
    // relative number shifts and the root is past the end.
    let tree = DiskBtreeReader::<_, L>::new(
        0,
        root,
        MemBlockReader::from_blocks(blocks[1..].iter().map(Block::from_array).collect()),
    );
    let err = rt().block_on(tree.get(&key(0))).unwrap_err();
    assert!(err.is_corrupt(), "{err:?}");
}
