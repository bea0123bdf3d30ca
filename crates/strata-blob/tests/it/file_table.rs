//! [`FileTable`]: more files than descriptor slots, read from many tokio tasks at once on a
//! multi-thread runtime; every byte checked, the descriptor bound kept.

use std::sync::Arc;

use strata_blob::{BlockNo, BlockReader, Corruption, Error, FileTable, PAGE_SIZE};

const N_FILES: usize = 24;
const N_BLOCKS: u32 = 5;
const MAX_OPEN: usize = 4;

/// The byte at `pos` of block `blkno` of file `file_idx`.
fn byte(file_idx: usize, blkno: u32, pos: usize) -> u8 {
    (file_idx as u8).wrapping_mul(37) ^ (blkno as u8).wrapping_mul(101) ^ (pos as u8)
}

fn contents(file_idx: usize) -> Vec<u8> {
    (0..N_BLOCKS)
        .flat_map(|b| (0..PAGE_SIZE).map(move |p| byte(file_idx, b, p)))
        .collect()
}

#[test]
fn many_files_few_descriptors_many_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<_> = (0..N_FILES)
        .map(|i| {
            let path = dir.path().join(format!("file{i}"));
            std::fs::write(&path, contents(i)).unwrap();
            path
        })
        .collect();

    let table = FileTable::new(MAX_OPEN);
    assert_eq!(table.max_open(), MAX_OPEN);
    let files: Vec<_> = paths
        .iter()
        .map(|p| Arc::new(table.open(p).unwrap()))
        .collect();
    // Opening 24 files through 4 slots evicted 20 descriptors already.
    let stats = table.stats();
    assert_eq!(stats.n_opens, N_FILES as u64);
    assert_eq!(stats.n_evictions, (N_FILES - MAX_OPEN) as u64);
    assert_eq!(stats.n_open_now, MAX_OPEN);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for task_idx in 0..16u64 {
            let files = files.clone();
            let table = table.clone();
            tasks.push(tokio::spawn(async move {
                let mut state = task_idx.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                for _ in 0..400 {
                    // xorshift64
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let file_idx = (state % N_FILES as u64) as usize;
                    let blkno = ((state >> 20) % u64::from(N_BLOCKS)) as u32;
                    let file = &files[file_idx];
                    assert_eq!(file.n_blocks(), N_BLOCKS);
                    if state & 0x100 == 0 {
                        let block = file.read_block(BlockNo(blkno)).await.unwrap();
                        for (pos, &b) in block.iter().enumerate() {
                            assert_eq!(b, byte(file_idx, blkno, pos));
                        }
                    } else {
                        let first = blkno.min(N_BLOCKS - 2);
                        let mut buf = vec![0u8; 2 * PAGE_SIZE];
                        file.read_blocks(BlockNo(first), &mut buf).await.unwrap();
                        for (i, &b) in buf.iter().enumerate() {
                            let blk = first + (i / PAGE_SIZE) as u32;
                            assert_eq!(b, byte(file_idx, blk, i % PAGE_SIZE));
                        }
                    }
                    assert!(table.stats().n_open_now <= MAX_OPEN);
                    tokio::task::yield_now().await;
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    });

    let stats = table.stats();
    assert!(stats.n_open_now <= MAX_OPEN);
    assert!(stats.n_evictions > (N_FILES - MAX_OPEN) as u64, "{stats:?}");
    assert_eq!(stats.n_opens - stats.n_evictions, stats.n_open_now as u64);

    // Dropping files closes their descriptors.
    drop(files);
    assert_eq!(table.stats().n_open_now, 0);
}

#[tokio::test]
async fn reopen_failure_is_an_io_error_and_bounds_hold() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    std::fs::write(&a, vec![1u8; 2 * PAGE_SIZE + 10]).unwrap();
    std::fs::write(&b, vec![2u8; PAGE_SIZE]).unwrap();
    let table = FileTable::new(1);
    let fa = table.open(&a).unwrap();
    assert_eq!(fa.n_blocks(), 2, "the partial last block does not count");
    assert_eq!(fa.path(), a.as_path());
    let fb = table.open(&b).unwrap(); // evicts a's descriptor
    std::fs::remove_file(&a).unwrap();
    let err = fa.read_block(BlockNo(0)).await.unwrap_err();
    assert!(matches!(err, Error::Io(_)), "{err:?}");
    assert_eq!(fb.read_block(BlockNo(0)).await.unwrap()[0], 2);
    let err = fb.read_block(BlockNo(1)).await.unwrap_err();
    assert!(matches!(
        err,
        Error::Corrupt(Corruption::BlockPastEnd {
            blkno: BlockNo(1),
            n_blocks: 1
        })
    ));
    assert!(table.open(dir.path().join("missing")).is_err());
    assert!(table.stats().n_open_now <= 1);
}
