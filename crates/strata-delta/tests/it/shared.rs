//! Type-erased layers (`SharedDeltaLayer`): layers opened from a cached file, from memory and
//! from a reader defined here live in one `Vec` and answer through one code path exactly as the
//! concrete layer does; the erased reader passes errors (Corrupt, CacheFull, Io) unchanged.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use strata_delta::{
    Block, BlockNo, BlockReader, DeltaLayer, Error, FileTable, Lsn, LsnRange, MemBlockReader,
    OpenOptions, PAGE_SIZE, PageCache, SharedDeltaLayer, SharedReader, ValueReconstructResult,
    ValueReconstructState,
};
use strata_testkit::{Query, layer_bytes, layer_path, load_queries};

/// A caller's own block source: the file's bytes in one `Vec`, copied out block by block.
/// `fail` makes every read fail: 1 with `CacheFull`, 2 with a corrupt block.
struct VecSource {
    bytes: Vec<u8>,
    fail: AtomicU8,
}

impl VecSource {
    fn new(bytes: Vec<u8>) -> VecSource {
        VecSource {
            bytes,
            fail: AtomicU8::new(0),
        }
    }
}

impl BlockReader for VecSource {
    async fn read_block(&self, blkno: BlockNo) -> Result<Block, strata_blob::Error> {
        match self.fail.load(Ordering::Relaxed) {
            1 => return Err(strata_blob::Error::CacheFull { n_slots: 3 }),
            2 => {
                return Err(strata_blob::Corruption::BlockPastEnd { blkno, n_blocks: 0 }.into());
            }
            _ => {}
        }
        let start = blkno.0 as usize * PAGE_SIZE;
        let page = self.bytes.get(start..start + PAGE_SIZE).ok_or(
            strata_blob::Corruption::BlockPastEnd {
                blkno,
                n_blocks: self.n_blocks(),
            },
        )?;
        Ok(Block::from_array(page.try_into().unwrap()))
    }

    fn n_blocks(&self) -> u32 {
        (self.bytes.len() / PAGE_SIZE) as u32
    }
}

type Answer = (ValueReconstructResult, ValueReconstructState, Option<Lsn>);

/// The one code path every layer is read through (and the concrete reference).
async fn answers<R: BlockReader>(layer: &DeltaLayer<R>, queries: &[Query]) -> Vec<Answer> {
    let mut out = Vec::new();
    for q in queries {
        let mut state = ValueReconstructState::default();
        let range = LsnRange::new(q.lsn_start, q.lsn_end);
        let result = layer
            .get_value_reconstruct_data(q.key, range, &mut state)
            .await
            .unwrap();
        let latest = layer.get_latest(q.key, q.lsn_end).await.unwrap();
        out.push((result, state, latest.map(|(lsn, _)| lsn)));
    }
    out
}

#[tokio::test]
async fn layers_of_three_sources_share_one_vec_and_answer_alike() {
    let case = "prefixes";
    let (cache, files) = (PageCache::new(64), FileTable::new(4));
    let queries = load_queries(case);
    let concrete: DeltaLayer = DeltaLayer::open(&layer_path(case), &cache, &files)
        .await
        .unwrap();
    let want = answers(&concrete, &queries).await;
    assert!(want.iter().any(|a| a.0 == ValueReconstructResult::Complete));

    let bytes = layer_bytes(case);
    let layers: Vec<SharedDeltaLayer> = vec![
        concrete.into_shared(),
        DeltaLayer::from_reader(
            SharedReader::new(MemBlockReader::from_bytes(&bytes)),
            OpenOptions::default(),
        )
        .await
        .unwrap(),
        DeltaLayer::from_reader(
            SharedReader::new(VecSource::new(bytes.clone())),
            OpenOptions::default(),
        )
        .await
        .unwrap(),
    ];
    assert!(layers[0].path().is_some());
    for (i, layer) in layers.iter().enumerate() {
        assert_eq!(layer.summary(), layers[0].summary(), "layer {i}");
        assert_eq!(answers(layer, &queries).await, want, "layer {i}");
        assert!(layer.verify().await.unwrap().is_empty(), "layer {i}");
    }
}

#[tokio::test]
async fn the_erased_reader_passes_errors_unchanged() {
    let case = "tiny";
    let q = &load_queries(case)[0];
    let range = LsnRange::new(q.lsn_start, q.lsn_end);
    let source = Arc::new(VecSource::new(layer_bytes(case)));
    let opts = OpenOptions::default;
    let concrete = DeltaLayer::from_reader(Arc::clone(&source), opts())
        .await
        .unwrap();
    // Erased directly over the source, and erased above a page cache (only block 0 cached).
    let erased = [
        DeltaLayer::from_reader(SharedReader::new(Arc::clone(&source)), opts())
            .await
            .unwrap(),
        DeltaLayer::from_reader(PageCache::new(8).wrap(Arc::clone(&source)), opts())
            .await
            .unwrap()
            .into_shared(),
    ];
    for fail in [1u8, 2] {
        source.fail.store(fail, Ordering::Relaxed);
        let mut state = ValueReconstructState::default();
        let want = concrete
            .get_value_reconstruct_data(q.key, range, &mut state)
            .await
            .unwrap_err();
        for layer in &erased {
            let got = layer
                .get_value_reconstruct_data(q.key, range, &mut state)
                .await
                .unwrap_err();
            assert_eq!(state, ValueReconstructState::default());
            match fail {
                1 => assert!(matches!(got, Error::CacheFull { n_slots: 3 }), "{got:?}"),
                _ => assert!(matches!(got, Error::Corrupt(_)), "{got:?}"),
            }
            assert_eq!(got.to_string(), want.to_string());
        }
    }
    source.fail.store(0, Ordering::Relaxed);
    for layer in &erased {
        let mut state = ValueReconstructState::default();
        let res = layer
            .get_value_reconstruct_data(q.key, range, &mut state)
            .await;
        assert!(res.is_ok());
    }
}
