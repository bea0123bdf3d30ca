//! Every descent holds at most one tree page at a time (issue 11, bug 1): `get`, `visit` and
//! the iterators both ways, and `verify`, over a 3-level tree. A page cache pins a slot for as
//! long as a reader holds its `Block`, so "no other page held while a page is read" is exactly
//! "readable through a 1-slot cache". Iterators hold no page between calls, so N interleaved
//! iterators hold none while one of them reads: N slots serve N concurrent readers.

use std::sync::Mutex;

use strata_blob::{Block, BlockBuf, BlockNo, BlockReader, Error, MemBlockReader};
use strata_btree::{DiskBtreeBuilder, DiskBtreeReader, VisitDirection};

const L: usize = 64;
const N_KEYS: u32 = 20_000;

/// Hands out a fresh copy of each block and records, at every read, how many blocks it handed
/// out earlier the caller still holds.
struct PinCounter {
    inner: MemBlockReader,
    state: Mutex<PinState>,
}

#[derive(Default)]
struct PinState {
    /// Our handle to every block handed out and maybe still held by the caller.
    out: Vec<Block>,
    /// The most blocks the caller held while asking for another one.
    max_held: usize,
    reads: u64,
}

impl PinCounter {
    fn new(inner: MemBlockReader) -> PinCounter {
        PinCounter {
            inner,
            state: Mutex::new(PinState::default()),
        }
    }

    /// (most blocks held during a read, reads) since the last call.
    fn take(&self) -> (usize, u64) {
        let mut s = self.state.lock().unwrap();
        let res = (s.max_held, s.reads);
        s.max_held = 0;
        s.reads = 0;
        res
    }
}

impl BlockReader for PinCounter {
    async fn read_block(&self, blkno: BlockNo) -> Result<Block, Error> {
        let block = Block::from_array(&*self.inner.read_block(blkno).await?);
        let mut s = self.state.lock().unwrap();
        s.out.retain(|b| Block::handle_count(b) > 1);
        s.max_held = s.max_held.max(s.out.len());
        s.reads += 1;
        s.out.push(block.clone());
        Ok(block)
    }

    fn n_blocks(&self) -> u32 {
        self.inner.n_blocks()
    }
}

fn key(i: u32) -> [u8; L] {
    let mut k = [0u8; L];
    k[..4].copy_from_slice(&(i * 2).to_be_bytes());
    let mut x = u64::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for b in &mut k[4..] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    k
}

fn tree() -> DiskBtreeReader<PinCounter, L> {
    let mut builder = DiskBtreeBuilder::<_, L>::new(BlockBuf::new());
    for i in 0..N_KEYS {
        builder.append(&key(i), u64::from(i)).unwrap();
    }
    let (root, blocks) = builder.finish().unwrap();
    DiskBtreeReader::new(0, root, PinCounter::new(blocks.into_reader()))
}

#[tokio::test]
async fn every_descent_holds_one_page() {
    let tree = tree();
    assert_eq!(tree.depth().await.unwrap(), 3);
    tree.reader().take();

    for i in (0..N_KEYS).step_by(97) {
        assert_eq!(tree.get(&key(i)).await.unwrap(), Some(u64::from(i)));
        let mut absent = key(i);
        absent[3] |= 1; // odd first word: between two keys
        assert_eq!(tree.get(&absent).await.unwrap(), None);
    }
    let (held, reads) = tree.reader().take();
    assert!(reads > 0);
    assert_eq!(held, 0, "get held a page while reading another");

    for dir in [VisitDirection::Forwards, VisitDirection::Backwards] {
        let start = match dir {
            VisitDirection::Forwards => [0u8; L],
            VisitDirection::Backwards => [0xFF; L],
        };
        let mut n = 0u32;
        tree.visit(&start, dir, |_, _| {
            n += 1;
            true
        })
        .await
        .unwrap();
        assert_eq!(n, N_KEYS);
        let (held, reads) = tree.reader().take();
        assert!(reads > 170, "{dir:?}: {reads} reads");
        assert_eq!(held, 0, "{dir:?} visit held a page while reading another");

        // An iterator holds no page between calls.
        let mut iter = tree.iter(&key(N_KEYS / 3), dir);
        let mut n = 0;
        while let Some(entry) = iter.next().await {
            entry.unwrap();
            n += 1;
        }
        assert!(n > N_KEYS / 3);
        assert_eq!(tree.reader().take().0, 0, "{dir:?} iterator");
    }

    let stats = tree.verify().await.unwrap();
    assert_eq!((stats.depth, stats.n_entries), (3, u64::from(N_KEYS)));
    assert_eq!(
        tree.reader().take().0,
        0,
        "verify held a page while reading another"
    );
}

/// N iterators stepped in turn hold no page between their calls (never N × depth).
#[tokio::test]
async fn interleaved_iterators_hold_one_page_each() {
    const N: usize = 4;
    let tree = tree();
    let mut iters: Vec<_> = (0..N)
        .map(|i| {
            let dir = if i % 2 == 0 {
                VisitDirection::Forwards
            } else {
                VisitDirection::Backwards
            };
            let start = if i % 2 == 0 { [0u8; L] } else { [0xFF; L] };
            tree.iter(&start, dir)
        })
        .collect();
    let mut counts = [0u32; N];
    let mut live = N;
    while live > 0 {
        live = 0;
        for (iter, count) in iters.iter_mut().zip(&mut counts) {
            if let Some(entry) = iter.next().await {
                entry.unwrap();
                *count += 1;
                live += 1;
            }
        }
    }
    assert_eq!(counts, [N_KEYS; N]);
    let (held, reads) = tree.reader().take();
    assert!(reads > 4 * 170, "{reads} reads");
    assert_eq!(held, 0, "{held} pages held by {N} iterators between calls");
}
