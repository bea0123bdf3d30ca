//! Byte identity with Neon's B-tree builder, and reads of Neon's trees: for every golden case,
//! the tree built from the manifest's entries must equal the file's index region block for
//! block (with the same root), and the reader must verify the file's tree and answer full
//! scans, gets and bounded visits both ways as the manifest's entry list says.

use std::collections::BTreeMap;

use strata_blob::{BlockBuf, MemBlockReader, PAGE_SIZE};
use strata_btree::testing::{self, Probe};
use strata_btree::{DiskBtreeBuilder, DiskBtreeReader, VisitDirection};
use strata_testkit::{Manifest, golden_cases, layer_bytes};

const DELTA_KEY_LEN: usize = 26;

/// The manifest's entries as B-tree entries: `Key ‖ LSN (BE)` -> `(blob offset << 1) | will_init`.
fn tree_entries(manifest: &Manifest) -> Vec<([u8; DELTA_KEY_LEN], u64)> {
    manifest
        .entries
        .iter()
        .zip(manifest.blob_offsets())
        .map(|(e, offset)| {
            let mut key = [0u8; DELTA_KEY_LEN];
            key[..18].copy_from_slice(&e.key.to_array());
            key[18..].copy_from_slice(&e.lsn.0.to_be_bytes());
            (key, (offset << 1) | u64::from(e.will_init))
        })
        .collect()
}

fn build(entries: &[([u8; DELTA_KEY_LEN], u64)]) -> (u32, BlockBuf) {
    let mut builder = DiskBtreeBuilder::<_, DELTA_KEY_LEN>::new(BlockBuf::new());
    for (key, value) in entries {
        builder.append(key, *value).unwrap();
    }
    assert_eq!(builder.n_entries(), entries.len() as u64);
    builder.finish().unwrap()
}

#[test]
fn golden_cases_are_all_present() {
    let cases = golden_cases();
    for expected in ["tiny", "btree3", "prefixes", "stdsmall", "pageboundary"] {
        assert!(
            cases.iter().any(|c| c == expected),
            "missing golden case {expected}"
        );
    }
}

#[test]
fn builder_reproduces_golden_index_blocks() {
    for case in golden_cases() {
        let manifest = Manifest::load(&case);
        let bytes = layer_bytes(&case);
        let entries = tree_entries(&manifest);
        let (root, buf) = build(&entries);
        assert_eq!(root, manifest.summary.index_root_blk, "{case}: root block");

        let index = &bytes[manifest.summary.index_start_blk as usize * PAGE_SIZE..];
        assert_eq!(index.len() % PAGE_SIZE, 0, "{case}: index region");
        assert_eq!(
            buf.n_blocks() as usize,
            index.len() / PAGE_SIZE,
            "{case}: index blocks"
        );
        for (blkno, (ours, theirs)) in buf.blocks().iter().zip(index.chunks(PAGE_SIZE)).enumerate()
        {
            if ours[..] != *theirs {
                let off = ours.iter().zip(theirs).position(|(a, b)| a != b).unwrap();
                panic!(
                    "{case}: index block {blkno} differs at byte {off}: header ours {:02x?} \
                     Neon's {:02x?}",
                    &ours[..5],
                    &theirs[..5]
                );
            }
        }
    }
}

#[test]
fn reader_reads_golden_trees() {
    for case in golden_cases() {
        let manifest = Manifest::load(&case);
        let entries = tree_entries(&manifest);
        let model: BTreeMap<_, _> = entries.iter().copied().collect();
        assert_eq!(
            model.len(),
            entries.len(),
            "{case}: manifest keys are distinct"
        );

        let tree = DiskBtreeReader::<_, DELTA_KEY_LEN>::new(
            manifest.summary.index_start_blk,
            manifest.summary.index_root_blk,
            MemBlockReader::from_bytes(&layer_bytes(&case)),
        );
        let stats = testing::poll_ready(tree.verify()).unwrap().unwrap();
        assert_eq!(stats.depth, manifest.btree_depth, "{case}: depth");
        assert_eq!(stats.n_entries, entries.len() as u64, "{case}: entries");
        assert_eq!(
            stats.n_nodes,
            u64::from(tree.n_index_blocks()),
            "{case}: nodes"
        );

        // The forward scan gives the manifest's order exactly.
        let mut scanned = Vec::new();
        let mut iter = tree.iter(&[0; DELTA_KEY_LEN], VisitDirection::Forwards);
        while let Some(entry) = testing::poll_ready(iter.next()).unwrap() {
            scanned.push(entry.unwrap());
        }
        assert!(
            scanned == entries,
            "{case}: forward scan differs from the manifest"
        );

        // Gets of every key, full scans both ways, and bounded visits from around sampled
        // entries: the exact key, the LSN before it (a page-history lookup) and after it.
        let step = (entries.len() / 150).max(1);
        let mut probes = Vec::new();
        for (i, (key, _)) in entries.iter().enumerate().step_by(step) {
            let lsn = u64::from_be_bytes(key[18..].try_into().unwrap());
            for (lsn, limit) in [(lsn, 1 + i % 7), (lsn.wrapping_sub(1), 3), (lsn + 1, 40)] {
                let mut probe_key = *key;
                probe_key[18..].copy_from_slice(&lsn.to_be_bytes());
                for dir in [VisitDirection::Backwards, VisitDirection::Forwards] {
                    probes.push(Probe {
                        key: probe_key,
                        dir,
                        limit,
                    });
                }
            }
        }
        testing::check_against_model(&tree, &model, &probes)
            .unwrap_or_else(|m| panic!("{case}: {m}"));
    }
}
