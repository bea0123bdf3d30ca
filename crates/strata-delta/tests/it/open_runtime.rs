//! `DeltaLayer::open` from both tokio runtime flavors: on a multi-thread runtime its
//! file-system calls go to the blocking pool, on a current-thread runtime they run inline;
//! either way the layer opens and reads, and a missing file is `Error::Io`.

use strata_delta::{DeltaLayer, Error, FileTable, PageCache};
use strata_testkit::{Manifest, layer_path};

async fn open_and_hash(cache: PageCache, files: FileTable) -> ([u8; 32], Option<u64>) {
    let layer = DeltaLayer::open(&layer_path("walonly"), &cache, &files)
        .await
        .unwrap();
    let missing = DeltaLayer::open(&layer_path("no-such-case"), &cache, &files).await;
    assert!(matches!(missing, Err(Error::Io(_))));
    (layer.file_sha256().await.unwrap(), layer.file_len())
}

#[test]
fn opens_from_multi_thread_and_current_thread_runtimes() {
    let want = Manifest::load("walonly").file_sha256;
    let (cache, files) = (PageCache::new(16), FileTable::new(2));
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let task = multi.spawn(open_and_hash(cache.clone(), files.clone()));
    let (sha, len) = multi.block_on(task).unwrap();
    assert_eq!((sha, len), (want, Some(49152)));
    let current = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(
        current.block_on(open_and_hash(cache, files)),
        (want, Some(49152))
    );
}
