//! Type-erased image layers (`SharedImageLayer`): layers opened from a cached file, from
//! memory and from a reader defined here live in one `Vec` and answer through one code path
//! as the concrete layer does; errors pass through unchanged; `open` works from both tokio
//! runtime flavors.

use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use strata_blob::{Block, BlockNo, FileTable, PAGE_SIZE};
use strata_cache::PageCache;
use strata_image::{
    BlockReader, Error, ImageLayer, MemBlockReader, OpenOptions, SharedImageLayer, SharedReader,
};
use strata_key::Key;
use strata_testkit::{image_layer_bytes, image_layer_path, load_image_queries};

/// A caller's own block source: positioned reads of a file it opened itself, with no cache;
/// with `fail` set every read is `CacheFull`.
struct OwnFile {
    file: std::fs::File,
    n_blocks: u32,
    fail: AtomicBool,
}

impl OwnFile {
    fn open(path: &std::path::Path) -> OwnFile {
        let file = std::fs::File::open(path).unwrap();
        let n_blocks = (file.metadata().unwrap().len() / PAGE_SIZE as u64) as u32;
        OwnFile {
            file,
            n_blocks,
            fail: AtomicBool::new(false),
        }
    }
}

impl BlockReader for OwnFile {
    async fn read_block(&self, blkno: BlockNo) -> Result<Block, strata_blob::Error> {
        if self.fail.load(Ordering::Relaxed) {
            return Err(strata_blob::Error::CacheFull { n_slots: 5 });
        }
        if blkno.0 >= self.n_blocks {
            let n_blocks = self.n_blocks;
            return Err(strata_blob::Corruption::BlockPastEnd { blkno, n_blocks }.into());
        }
        let mut page = [0u8; PAGE_SIZE];
        self.file.read_exact_at(&mut page, blkno.byte_offset())?;
        Ok(Block::from_array(&page))
    }

    fn n_blocks(&self) -> u32 {
        self.n_blocks
    }
}

/// The one code path: a point read of every query key, and a count of the full scan.
async fn answers(layer: &SharedImageLayer, keys: &[Key]) -> (Vec<Option<Vec<u8>>>, u64) {
    let mut got = Vec::new();
    for key in keys {
        got.push(layer.get(*key).await.unwrap());
    }
    (got, layer.scan(|_, _| true).await.unwrap())
}

#[tokio::test]
async fn layers_of_three_sources_share_one_vec_and_answer_alike() {
    let case = "btree2";
    let keys: Vec<Key> = load_image_queries(case).iter().map(|q| q.key).collect();
    let (cache, files) = (PageCache::new(32), FileTable::new(2));
    let concrete: ImageLayer = ImageLayer::open(&image_layer_path(case), &cache, &files)
        .await
        .unwrap();
    let mut want = Vec::new();
    for key in &keys {
        want.push(concrete.get(*key).await.unwrap());
    }
    assert!(want.iter().any(Option::is_some));
    let bytes = image_layer_bytes(case);
    let layers: Vec<SharedImageLayer> = vec![
        concrete.into_shared(),
        ImageLayer::from_reader(
            SharedReader::new(MemBlockReader::from_bytes(&bytes)),
            OpenOptions::default(),
        )
        .await
        .unwrap(),
        ImageLayer::from_reader(
            SharedReader::new(OwnFile::open(&image_layer_path(case))),
            OpenOptions::default(),
        )
        .await
        .unwrap(),
    ];
    for (i, layer) in layers.iter().enumerate() {
        assert_eq!(answers(layer, &keys).await, (want.clone(), 20_000), "{i}");
        assert!(layer.verify().await.unwrap().is_empty(), "{i}");
    }
}

#[tokio::test]
async fn the_erased_reader_passes_errors_unchanged() {
    let source = Arc::new(OwnFile::open(&image_layer_path("tiny")));
    let layer = ImageLayer::from_reader(SharedReader::new(Arc::clone(&source)), Default::default())
        .await
        .unwrap();
    let key = layer.summary().key_range.start;
    assert!(layer.get(key).await.unwrap().is_some());
    source.fail.store(true, Ordering::Relaxed);
    let err = layer.get(key).await.unwrap_err();
    assert!(matches!(err, Error::CacheFull { n_slots: 5 }), "{err:?}");
    // A block past the end is Corrupt, through the erased reader as through the concrete one.
    source.fail.store(false, Ordering::Relaxed);
    let mut bytes = image_layer_bytes("tiny");
    bytes.truncate(2 * PAGE_SIZE);
    let short = SharedReader::new(MemBlockReader::from_bytes(&bytes));
    let err = ImageLayer::from_reader(short, Default::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Corrupt(_)), "{err:?}");
}

async fn open_and_count(cache: PageCache, files: FileTable) -> (u64, Option<u64>) {
    let path = image_layer_path("stdsmall");
    let layer = ImageLayer::open(&path, &cache, &files).await.unwrap();
    let missing = ImageLayer::open(&image_layer_path("none"), &cache, &files).await;
    assert!(matches!(missing, Err(Error::Io(_))));
    (layer.scan(|_, _| true).await.unwrap(), layer.file_len())
}

#[test]
fn opens_from_multi_thread_and_current_thread_runtimes() {
    let (cache, files) = (PageCache::new(16), FileTable::new(2));
    let want = (300, Some(2_482_176));
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let task = multi.spawn(open_and_count(cache.clone(), files.clone()));
    assert_eq!(multi.block_on(task).unwrap(), want);
    let current = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(current.block_on(open_and_count(cache, files)), want);
}
