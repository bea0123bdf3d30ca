//! [`CachedReader`]: a [`BlockReader`] that serves blocks through a [`PageCache`].
//!
//! Invariants:
//! * A read returns the inner reader's block for that number or an error; never a block of
//!   another file or block (pages are keyed by this reader's [`FileId`], never reused).
//! * At most one inner read per page is in flight per cache (single-flight); a fill that fails or
//!   is cancelled leaves no page behind, so the next read retries.
//! * Dropping a `CachedReader` forgets its pages ([`PageCache::drop_file`]).

use std::fmt;
use std::sync::Arc;

use bytes::BytesMut;

use strata_blob::{
    Block, BlockNo, BlockReader, Corruption, Error, MAX_RUN_PAGES, PAGE_SIZE, PageRun,
    PageRunBuilder,
};
use tokio::sync::watch;

use crate::cache::{FileId, Inner, Lookup, PageCache, PageKey, Reservation};
use crate::fill::{FillFailure, FillOutcome, FillWaiters};

/// A [`BlockReader`] whose single-block reads go through a [`PageCache`]; made by
/// [`PageCache::wrap`].
///
/// [`read_blocks`](BlockReader::read_blocks) of one block goes through the cache. A run of more
/// blocks (a scan) is one I/O of the inner source, as before the cache (a scan's runs are served
/// faster by one positioned read than by copying page by page out of the cache, and faster
/// still by [`lend_pages`](BlockReader::lend_pages) where the cache holds the run whole: the
/// scan then reads the cached pages themselves); its pages are then *admitted* into free slots,
/// copied into consecutive slab pages, but only if the cache's free slots could hold every
/// block from the run's first to the end of the file. So a
/// scan of a file that fits warms the cache for the point reads after it (as a scan through
/// Neon's page cache does), and a scan of a file that does not fit leaves the cache as it was:
/// a run never evicts, never waits for a slot, and never takes the last free slots of a cache
/// too small for the file. Blocks are immutable, so every path sees the same bytes.
///
/// [`with_block`](BlockReader::with_block) on a hit runs its closure on the cached page under
/// the shard lock, making no handle. [`read_at`](BlockReader::read_at), a point read of a
/// byte range (a lookup's values), copies the pages the cache holds; a page it misses is
/// filled while the cache has a free slot, and in a full cache only at its second recent miss
/// (a doorkeeper, see `admission.rs`): a first miss is read from the source, just the bytes
/// asked for and together with its missed neighbours, without evicting anything
/// ([`CacheMetrics::bypassed`](crate::CacheMetrics::bypassed)).
///
/// [`lend_pages`](BlockReader::lend_pages) lends pages the cache holds, when each of the run
/// is a hit and they are consecutive in the cache's slab (pages a scan admitted together are,
/// and pages one read filled in order while the cache had free slots; a fill into an evicted
/// page's buffer lands anywhere), unless
/// [`PageCacheOptions::lend_pages`](crate::PageCacheOptions::lend_pages) is off or the cache
/// has no huge pages. It never fills, waits or evicts, and a run it does not lend counts no
/// hit. A lent run does not pin its pages: they may be evicted while it lives.
pub struct CachedReader<R> {
    cache: PageCache,
    file_id: FileId,
    inner: R,
}

impl<R> CachedReader<R> {
    pub(crate) fn new(cache: PageCache, file_id: FileId, inner: R) -> CachedReader<R> {
        CachedReader {
            cache,
            file_id,
            inner,
        }
    }

    /// This reader's id in its cache.
    pub fn file_id(&self) -> FileId {
        self.file_id
    }

    /// The wrapped reader.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    /// The cache this reader reads through.
    pub fn cache(&self) -> &PageCache {
        &self.cache
    }
}

impl<R: BlockReader> CachedReader<R> {
    async fn read_cached(&self, blkno: BlockNo) -> Result<Block, Error> {
        let key = self.page_key(blkno)?;
        let cache: &Inner = &self.cache.inner;
        self.resolve(key, cache.lookup(key)).await
    }

    /// [`BlockReader::with_block`] through the cache: on a hit `f` runs on the cached page
    /// under its shard lock; on a miss (or a fill in flight) the page is read as by
    /// [`read_cached`](Self::read_cached) and `f` runs on it.
    async fn with_cached<T, F: FnOnce(&[u8; PAGE_SIZE]) -> T>(
        &self,
        blkno: BlockNo,
        f: F,
    ) -> Result<T, Error> {
        let key = self.page_key(blkno)?;
        let cache: &Inner = &self.cache.inner;
        match cache.lookup_with(key, f) {
            Ok(found) => Ok(found),
            Err((f, first)) => {
                let block = self.resolve(key, first).await?;
                Ok(f(&block))
            }
        }
    }

    /// [`BlockReader::append_at`] through the cache: each page of the range it holds is
    /// copied out (a hit); a missed page is filled and copied when [`Inner::admits_miss`] says
    /// so, and otherwise read from the source with its missed neighbours, only the bytes asked
    /// for, in one read. On an error `out` is as it was.
    async fn append_at_cached(
        &self,
        offset: u64,
        len: usize,
        out: &mut BytesMut,
    ) -> Result<(), Error> {
        strata_blob::check_byte_range(offset, len, self.inner.n_blocks())?;
        let from = out.len();
        let res = self.append_pages(offset, len, out).await;
        if res.is_err() {
            out.truncate(from);
        }
        res
    }

    async fn append_pages(&self, offset: u64, len: usize, out: &mut BytesMut) -> Result<(), Error> {
        let cache: &Inner = &self.cache.inner;
        let page = PAGE_SIZE as u64;
        out.reserve(len);
        // Bytes `[direct, done)` of the range are still to be read from the source.
        let (mut done, mut direct) = (0usize, 0usize);
        while done < len {
            let at = offset + done as u64;
            let in_block = (at % page) as usize;
            let n = (len - done).min(PAGE_SIZE - in_block);
            let blkno = BlockNo(u32::try_from(at / page).unwrap_or(u32::MAX));
            let key = self.page_key(blkno)?;
            let piece = in_block..in_block + n;
            if direct == done {
                // Nothing pending: a hit is copied at once.
                let copy = |src: &[u8; PAGE_SIZE]| {
                    out.extend_from_slice(src.get(piece.clone()).unwrap_or_default());
                };
                match cache.lookup_hit(key, copy) {
                    Ok(()) => direct = done + n,
                    Err(mut copy) if cache.admits_miss(key) => {
                        // Not a hit a moment ago: fill it (or join a fill) without a second
                        // hit probe.
                        let block = self.resolve(key, cache.lookup(key)).await?;
                        copy(&block);
                        direct = done + n;
                    }
                    Err(_) => {}
                }
            } else if cache.is_ready(key) || cache.admits_miss(key) {
                // The missed pages before this one, in one read of the source, then this one.
                let start = offset + direct as u64;
                self.inner.append_at(start, done - direct, out).await?;
                let copy = |src: &[u8; PAGE_SIZE]| {
                    out.extend_from_slice(src.get(piece.clone()).unwrap_or_default());
                };
                self.with_cached(blkno, copy).await?;
                direct = done + n;
            }
            done += n;
        }
        if direct < done {
            let start = offset + direct as u64;
            self.inner.append_at(start, done - direct, out).await?;
        }
        Ok(())
    }

    /// The page key of `blkno`, checked against the file's end before a slot is taken: a bad
    /// block number must not evict a page.
    fn page_key(&self, blkno: BlockNo) -> Result<PageKey, Error> {
        let n_blocks = self.inner.n_blocks();
        if blkno.0 >= n_blocks {
            return Err(Error::Corrupt(Corruption::BlockPastEnd { blkno, n_blocks }));
        }
        Ok(PageKey {
            file_id: self.file_id,
            blkno,
        })
    }

    /// The page `key`, from what the mapping held (`first`): a hit, a fill to join, or a fill
    /// this task must complete; a cancelled fill is looked up again.
    async fn resolve(&self, key: PageKey, first: Lookup) -> Result<Block, Error> {
        let cache: &Inner = &self.cache.inner;
        let mut found = first;
        loop {
            let rx = match found {
                Lookup::Hit(block) => return Ok(block),
                Lookup::Wait(rx) => rx,
                Lookup::Fill { fill_id, waiters } => {
                    return self.fill(cache, key, fill_id, waiters).await;
                }
            };
            match wait_for_fill(rx).await {
                Some(Ok(block)) => return Ok(block),
                Some(Err(failure)) => {
                    if let Some(err) = failure.to_error() {
                        return Err(err);
                    }
                    // Not copyable: read it ourselves (a new fill, or join one).
                }
                None => {} // The filler was cancelled: start over.
            }
            found = cache.lookup(key);
        }
    }

    /// Completes this task's `Filling` entry: reserve a slot, read once, publish.
    async fn fill(
        &self,
        cache: &Inner,
        key: PageKey,
        fill_id: u64,
        waiters: Arc<FillWaiters>,
    ) -> Result<Block, Error> {
        let mut guard = FillGuard {
            cache,
            key,
            fill_id,
            waiters: Some(waiters),
            slot: None,
        };
        let recycled = match cache.reserve_slot().await {
            Ok(Reservation { slot, recycled }) => {
                guard.slot = Some(slot);
                recycled
            }
            Err(err) => {
                guard.finish(Err(&err));
                return Err(err);
            }
        };
        match self.read_page(key.blkno, recycled).await {
            Ok(block) => {
                guard.finish(Ok(&block));
                Ok(block)
            }
            Err(err) => {
                guard.finish(Err(&err));
                Err(err)
            }
        }
    }
}

impl<R: BlockReader> CachedReader<R> {
    /// Takes back the hits `lend_pages` counted for blocks `first..first + n` when it lends
    /// nothing (the read goes through `append_at`, which counts its own); always `None`.
    fn unlend(&self, first: BlockNo, n: usize) -> Option<PageRun> {
        let cache: &Inner = &self.cache.inner;
        for i in 0..n {
            let blkno = BlockNo(first.0.saturating_add(u32::try_from(i).unwrap_or(u32::MAX)));
            if let Ok(key) = self.page_key(blkno) {
                cache.unhit(key);
            }
        }
        None
    }

    /// Reads block `blkno` from the inner reader as a page only the cache holds: with a
    /// one-block `read_blocks` into the buffer of `recycled` (the page evicted for this fill)
    /// when no reader holds that page any more, otherwise into a new page (of the cache's slab).
    async fn read_page(&self, blkno: BlockNo, recycled: Option<Block>) -> Result<Block, Error> {
        let mut block = match recycled {
            Some(block) if Block::handle_count(&block) == 1 => block,
            _ => self.cache.inner.new_page(),
        };
        if let Some(buf) = block.get_mut() {
            self.inner.read_blocks(blkno, &mut buf[..]).await?;
            return Ok(block);
        }
        // Not reached (both pages above have one handle), but a shared page is never written.
        let block = self.inner.read_block(blkno).await?;
        Ok(self.cache.inner.page_copy(&block))
    }

    /// A multi-block read: one I/O of the inner reader, whose pages are then admitted into free
    /// slots when the cache could hold the rest of the file from `first` on (see
    /// [`CachedReader`]).
    async fn read_run(&self, first: BlockNo, buf: &mut [u8]) -> Result<(), Error> {
        let cache: &Inner = &self.cache.inner;
        let needed = u64::from(self.inner.n_blocks().saturating_sub(first.0));
        let ticket = cache.admission_ticket(needed);
        self.inner.read_blocks(first, buf).await?;
        if let Some(drops) = ticket {
            // Copied outside any lock, but not the pages the cache holds already (so the copies
            // of one run take consecutive slab pages, which `lend_pages` can lend as one run);
            // pages the mapping has by the time of `admit` are skipped there.
            let pages: Vec<Option<Block>> = (first.0..)
                .zip(buf.chunks_exact(PAGE_SIZE))
                .map(|(blkno, chunk)| {
                    let bytes = <&[u8; PAGE_SIZE]>::try_from(chunk).ok()?;
                    let held = self
                        .page_key(BlockNo(blkno))
                        .is_ok_and(|key| cache.is_ready(key));
                    (!held).then(|| cache.page_copy(bytes))
                })
                .collect();
            cache.admit(self.file_id, first, pages, needed, drops);
        }
        Ok(())
    }
}

/// Waits for a fill's outcome; `None` if its filler went away without one (cancelled).
async fn wait_for_fill(mut rx: watch::Receiver<Option<FillOutcome>>) -> Option<FillOutcome> {
    match rx.wait_for(Option::is_some).await {
        Ok(outcome) => outcome.clone(),
        Err(_closed) => None,
    }
}

/// Owns a fill in flight: whatever happens to the filling task (return, error, or the future
/// being dropped at an await), the `Filling` entry and the reserved slot are released exactly
/// once.
struct FillGuard<'a> {
    cache: &'a Inner,
    key: PageKey,
    fill_id: u64,
    /// `None` once the fill has finished.
    waiters: Option<Arc<FillWaiters>>,
    slot: Option<u32>,
}

impl FillGuard<'_> {
    fn finish(&mut self, outcome: Result<&Block, &Error>) {
        let Some(waiters) = self.waiters.take() else {
            return;
        };
        self.cache.finish_fill(
            self.key,
            self.fill_id,
            self.slot,
            outcome.ok(),
            outcome.is_err(),
        );
        // Published after the mapping: a waiter that wakes and reads again finds the page
        // (or no entry, after a failure) rather than the finished fill. Every waiter subscribed
        // under the shard lock before `finish_fill` took it, so none is missed; with no waiter
        // there is no channel and nothing to wake.
        if let Some(tx) = waiters.take() {
            tx.send_replace(Some(match outcome {
                Ok(block) => Ok(block.clone()),
                Err(err) => Err(FillFailure::of(err)),
            }));
        }
    }
}

impl Drop for FillGuard<'_> {
    fn drop(&mut self) {
        if let Some(waiters) = self.waiters.take() {
            // Cancelled mid-fill: nothing is published; dropping the sender (after the entry is
            // gone) wakes the waiters, which start over.
            self.cache
                .finish_fill(self.key, self.fill_id, self.slot, None, false);
            drop(waiters.take());
        }
    }
}

impl<R: BlockReader> BlockReader for CachedReader<R> {
    async fn read_block(&self, blkno: BlockNo) -> Result<Block, Error> {
        self.read_cached(blkno).await
    }

    async fn with_block<T, F>(&self, blkno: BlockNo, f: F) -> Result<T, Error>
    where
        T: Send,
        F: FnOnce(&[u8; PAGE_SIZE]) -> T + Send,
    {
        self.with_cached(blkno, f).await
    }

    async fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        let mut bytes = BytesMut::new();
        self.append_at_cached(offset, buf.len(), &mut bytes).await?;
        buf.copy_from_slice(&bytes);
        Ok(())
    }

    async fn append_at(&self, offset: u64, len: usize, out: &mut BytesMut) -> Result<(), Error> {
        self.append_at_cached(offset, len, out).await
    }

    fn lend_pages(&self, first: BlockNo, n: usize) -> Option<PageRun> {
        let cache: &Inner = &self.cache.inner;
        // Checked before any probe: a run past the file's end is refused with no hit counted.
        let end = u64::from(first.0).saturating_add(n as u64);
        if !cache.lends_pages() || n == 0 || n > MAX_RUN_PAGES {
            return None;
        }
        if end > u64::from(self.inner.n_blocks()) {
            return None;
        }
        let mut run = PageRunBuilder::lent_only();
        for i in 0..n {
            let blkno = BlockNo(first.0.checked_add(u32::try_from(i).ok()?)?);
            let key = self.page_key(blkno).ok()?;
            match cache.hit_with(key, |block| run.push(block)) {
                Some(true) => {}
                Some(false) => return self.unlend(first, i + 1),
                None => return self.unlend(first, i),
            }
        }
        run.finish()
    }

    fn n_blocks(&self) -> u32 {
        self.inner.n_blocks()
    }

    async fn read_blocks(&self, first: BlockNo, buf: &mut [u8]) -> Result<(), Error> {
        if buf.len() == PAGE_SIZE {
            let block = self.read_cached(first).await?;
            buf.copy_from_slice(&block[..]);
            Ok(())
        } else if buf.len() % PAGE_SIZE == 0 {
            self.read_run(first, buf).await
        } else {
            self.inner.read_blocks(first, buf).await
        }
    }
}

impl<R> Drop for CachedReader<R> {
    fn drop(&mut self) {
        self.cache.drop_file(self.file_id);
    }
}

impl<R: fmt::Debug> fmt::Debug for CachedReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedReader")
            .field("file_id", &self.file_id)
            .field("n_slots", &self.cache.inner.n_slots())
            .field("inner", &self.inner)
            .finish()
    }
}
