//! The page cache handle: slots, the sharded mapping, CLOCK eviction, and fill bookkeeping.
//!
//! Invariants (all changed only under the locks named in the crate docs):
//! * `clock.owners[slot] == Owner::Page(key)` exactly when the mapping holds
//!   `Entry::Ready { slot, .. }` under `key`; `Owner::Free` exactly for the slots on
//!   `clock.free`; `Owner::Reserved` for slots held by fills in flight.
//! * The only cache-held handle of a ready page's [`Block`] is the one in its `Entry::Ready`, and
//!   new handles are made only under that entry's shard lock (a lent run's from such a handle);
//!   so `Block::handle_count == 1` seen under the shard lock means no reader holds the page, and
//!   it stays so until the lock is released. A page is evicted only when
//!   `Block::pinning_count == 1`: no handle but the cache's and lent runs' (whose bytes then
//!   live on outside the cache, in a page the cache never reuses while they do).
//! * A `FileId` is never handed out twice by one cache (a `u64` counter per handle).

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use strata_blob::{Block, BlockNo, BlockReader, Error, PAGE_SIZE, PageSlab};
use tokio::sync::watch;

use crate::admission::Doorkeeper;
use crate::fill::{FillOutcome, FillWaiters};
use crate::reader::CachedReader;
use crate::timer::Timer;

/// Knobs of a [`PageCache`].
#[derive(Debug, Clone)]
pub struct PageCacheOptions {
    /// Number of 8 KiB slots: the most pages the cache holds (ready or being filled). At least 1
    /// is used.
    pub n_slots: usize,
    /// How long a miss waits for a slot while every slot is pinned by readers (or reserved by
    /// fills in flight) before it fails with [`Error::CacheFull`]. `Duration::ZERO` fails at once.
    pub pinned_wait: Duration,
    /// Whether the pages live in a [`PageSlab`] of 2 MiB huge-page extents (fewer TLB misses for
    /// reads spread over a large cache, at the price of a dearer first touch of each extent where
    /// a VM's memory is populated lazily), or each in its own heap allocation. Where the platform
    /// has no huge pages the slab's extents are plain allocations.
    pub huge_pages: bool,
    /// Whether a reader may lend cached pages without a copy
    /// ([`BlockReader::lend_pages`](strata_blob::BlockReader::lend_pages); with
    /// [`huge_pages`](Self::huge_pages) only): a point lookup's large values (an 8 KiB page
    /// image) are then slices of the cached pages. A kept value does not pin its pages (the
    /// cache may evict them as if it had been a copy), but keeps their memory until dropped,
    /// at most four times the value's size. Off, every value is a copy and the cache's memory
    /// is its pages alone.
    pub lend_pages: bool,
}

impl Default for PageCacheOptions {
    /// 8192 slots (64 MiB, allocated only as pages are read), a one-second wait, huge pages,
    /// pages lent.
    fn default() -> PageCacheOptions {
        PageCacheOptions {
            n_slots: 8192,
            pinned_wait: Duration::from_secs(1),
            huge_pages: true,
            lend_pages: true,
        }
    }
}

/// A shared cache of 8 KiB pages keyed by ([`FileId`], [`BlockNo`]). Cloning is cheap and
/// shares the cache.
#[derive(Clone)]
pub struct PageCache {
    pub(crate) inner: Arc<Inner>,
}

/// Identifies one wrapped reader within one [`PageCache`]; never reused by that cache.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct FileId(u64);

impl FileId {
    /// The number behind the id.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "file#{}", self.0)
    }
}

/// Counters of a [`PageCache`], summed over its shards when asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheMetrics {
    /// Reads served from a ready page.
    pub hits: u64,
    /// Reads that found no page and started a fill (one inner read each, unless the fill found
    /// no slot).
    pub misses: u64,
    /// Pages evicted to make room.
    pub evictions: u64,
    /// Fills in flight now (a gauge).
    pub fills_in_flight: u64,
    /// Reads that waited for another task's fill of the same page (single-flight joins).
    pub waits: u64,
    /// Ready pages now (a gauge).
    pub resident: u64,
    /// Misses that had to wait because every slot was pinned.
    pub pinned_waits: u64,
    /// Misses that gave up with [`Error::CacheFull`].
    pub cache_full: u64,
    /// Fills that failed (inner read error or no slot).
    pub fill_errors: u64,
    /// Pages added by multi-block reads (scans) into free slots, without a fill or an eviction
    /// (see [`CachedReader`](crate::CachedReader)'s `read_blocks`).
    pub admitted: u64,
    /// Pages a point read ([`BlockReader::append_at`] or `read_at`) missed in a full cache and
    /// read from the source without caching them (their first miss; see `CachedReader`).
    pub bypassed: u64,
    /// Bytes of memory the cache's pages occupy (a gauge): its slab's extents, pages in use or
    /// free for reuse. At most `n_slots` pages plus pages readers keep after their eviction,
    /// rounded up to whole extents (2 MiB). 0 without huge pages (each page is then its own
    /// allocation, freed with its last handle).
    pub page_memory_bytes: u64,
}

/// Largest number of mapping shards.
const MAX_SHARDS: usize = 64;
/// First back-off of a miss waiting for a slot, and its cap.
const FIRST_BACKOFF: Duration = Duration::from_micros(100);
const MAX_BACKOFF: Duration = Duration::from_millis(10);

pub(crate) struct Inner {
    shards: Box<[Padded<Mutex<Shard>>]>,
    shard_mask: u64,
    /// CLOCK reference bits, one per slot: hints set by hits without the clock lock.
    referenced: Box<[AtomicBool]>,
    clock: Mutex<Clock>,
    next_file_id: AtomicU64,
    next_fill_id: AtomicU64,
    n_slots: usize,
    pinned_wait: Duration,
    timer: Timer,
    door: Doorkeeper,
    bypassed: AtomicU64,
    /// The memory of the cache's pages: extents of huge pages, not one allocation per page
    /// (`None`: one heap allocation per page).
    slab: Option<PageSlab>,
    /// [`PageCacheOptions::lend_pages`].
    lend_pages: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct PageKey {
    pub(crate) file_id: FileId,
    pub(crate) blkno: BlockNo,
}

enum Entry {
    Ready {
        slot: u32,
        block: Block,
    },
    Filling {
        fill_id: u64,
        waiters: Arc<FillWaiters>,
    },
}

struct Shard {
    map: HashMap<PageKey, Entry, PageHasherBuilder>,
    hits: u64,
    misses: u64,
    waits: u64,
    fills_in_flight: u64,
    fill_errors: u64,
}

#[derive(Clone, Copy)]
enum Owner {
    Free,
    Reserved,
    Page(PageKey),
}

struct Clock {
    hand: usize,
    owners: Box<[Owner]>,
    free: Vec<u32>,
    resident: u64,
    evictions: u64,
    pinned_waits: u64,
    cache_full: u64,
    admitted: u64,
    /// Incremented by every [`Inner::drop_file`]: an admission that sees it change between its
    /// read and its insert admits nothing (the file may have been dropped meanwhile).
    drops: u64,
}

/// A slot reserved for a fill.
pub(crate) struct Reservation {
    pub(crate) slot: u32,
    /// The page evicted to free the slot, if no reader held it: the fill reads into its buffer
    /// instead of allocating (and zeroing) a new one and freeing this.
    pub(crate) recycled: Option<Block>,
}

/// What a read found in the mapping.
pub(crate) enum Lookup {
    Hit(Block),
    /// Another task fills the page: wait on this.
    Wait(watch::Receiver<Option<FillOutcome>>),
    /// This task must fill the page (its `Filling` entry is in place).
    Fill {
        fill_id: u64,
        waiters: Arc<FillWaiters>,
    },
}

/// Aligns a shard to its own cache lines so two threads on two shards do not share one.
#[repr(align(128))]
struct Padded<T>(T);

impl<T> Deref for Padded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl PageCache {
    /// A cache of `n_slots` pages (at least 1) with default options otherwise.
    pub fn new(n_slots: usize) -> PageCache {
        PageCache::with_options(PageCacheOptions {
            n_slots,
            ..PageCacheOptions::default()
        })
    }

    /// A cache with the given options.
    pub fn with_options(opts: PageCacheOptions) -> PageCache {
        let n_slots = opts.n_slots.clamp(1, u32::MAX as usize);
        let n_shards = (n_slots / 8).next_power_of_two().clamp(1, MAX_SHARDS);
        let per_shard = n_slots / n_shards + 16;
        let shards = (0..n_shards)
            .map(|_| {
                Padded(Mutex::new(Shard {
                    map: HashMap::with_capacity_and_hasher(per_shard, PageHasherBuilder),
                    hits: 0,
                    misses: 0,
                    waits: 0,
                    fills_in_flight: 0,
                    fill_errors: 0,
                }))
            })
            .collect();
        let clock = Clock {
            hand: 0,
            owners: vec![Owner::Free; n_slots].into_boxed_slice(),
            // Popped from the end: slot 0 is used first.
            free: (0..n_slots as u32).rev().collect(),
            resident: 0,
            evictions: 0,
            pinned_waits: 0,
            cache_full: 0,
            admitted: 0,
            drops: 0,
        };
        PageCache {
            inner: Arc::new(Inner {
                shards,
                shard_mask: n_shards as u64 - 1,
                referenced: (0..n_slots).map(|_| AtomicBool::new(false)).collect(),
                clock: Mutex::new(clock),
                next_file_id: AtomicU64::new(0),
                next_fill_id: AtomicU64::new(0),
                n_slots,
                pinned_wait: opts.pinned_wait,
                timer: Timer::default(),
                door: Doorkeeper::new(n_slots),
                bypassed: AtomicU64::new(0),
                slab: opts.huge_pages.then(|| PageSlab::new(n_slots)),
                lend_pages: opts.lend_pages,
            }),
        }
    }

    /// Wraps `inner` so its blocks go through this cache, under a fresh [`FileId`].
    pub fn wrap<R: BlockReader>(&self, inner: R) -> CachedReader<R> {
        let file_id = FileId(self.inner.next_file_id.fetch_add(1, Ordering::Relaxed));
        CachedReader::new(self.clone(), file_id, inner)
    }

    /// Forgets every page of `id`, ready or being filled (its layer was deleted). Readers keep
    /// the blocks they hold; a fill in flight for `id` completes for its waiters but is not
    /// cached. Cost: one pass over every shard.
    pub fn drop_file(&self, id: FileId) {
        self.inner.drop_file(id);
    }

    /// A snapshot of the counters.
    pub fn metrics(&self) -> CacheMetrics {
        self.inner.metrics()
    }

    /// Number of slots.
    pub fn n_slots(&self) -> usize {
        self.inner.n_slots
    }
}

impl fmt::Debug for PageCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PageCache")
            .field("n_slots", &self.inner.n_slots)
            .field("pinned_wait", &self.inner.pinned_wait)
            .field("slab", &self.inner.slab)
            .finish_non_exhaustive()
    }
}

impl Inner {
    pub(crate) fn n_slots(&self) -> usize {
        self.n_slots
    }

    /// Finds `key`: a hit, an in-flight fill to wait on, or a new `Filling` entry this caller
    /// must complete. Takes only `key`'s shard lock.
    pub(crate) fn lookup(&self, key: PageKey) -> Lookup {
        let mut guard = self.lock_shard(key);
        let shard = &mut *guard;
        match shard.map.get(&key) {
            Some(Entry::Ready { slot, block }) => {
                Lookup::Hit(self.hit(&mut shard.hits, *slot, block))
            }
            Some(Entry::Filling { waiters, .. }) => {
                shard.waits += 1;
                Lookup::Wait(waiters.subscribe())
            }
            None => {
                let fill_id = self.next_fill_id.fetch_add(1, Ordering::Relaxed);
                let waiters = Arc::new(FillWaiters::default());
                let entry = Entry::Filling {
                    fill_id,
                    waiters: Arc::clone(&waiters),
                };
                shard.map.insert(key, entry);
                shard.misses += 1;
                shard.fills_in_flight += 1;
                Lookup::Fill { fill_id, waiters }
            }
        }
    }

    /// [`lookup`](Self::lookup) for a caller that only looks at the page: on a hit, `f` runs
    /// on the cached page under the shard lock (no handle is made, so the page's reference
    /// count is not touched) and its result is returned; otherwise `f` comes back with what
    /// the mapping holds.
    pub(crate) fn lookup_with<T, F: FnOnce(&[u8; PAGE_SIZE]) -> T>(
        &self,
        key: PageKey,
        f: F,
    ) -> Result<T, (F, Lookup)> {
        self.lookup_hit(key, f).map_err(|f| (f, self.lookup(key)))
    }

    /// `f` on the ready page `key` under the shard lock (a hit), or `f` back when the page is
    /// not ready; nothing is added to the mapping.
    pub(crate) fn lookup_hit<T, F: FnOnce(&[u8; PAGE_SIZE]) -> T>(
        &self,
        key: PageKey,
        f: F,
    ) -> Result<T, F> {
        let mut guard = self.lock_shard(key);
        let shard = &mut *guard;
        if let Some(Entry::Ready { slot, block }) = shard.map.get(&key) {
            shard.hits += 1;
            self.reference(*slot);
            return Ok(f(block));
        }
        Err(f)
    }

    /// `f` on the ready page `key`'s cached `Block` under the shard lock (a hit: counted and
    /// referenced), or `None` when it is not ready; nothing is added to the mapping. `f` may
    /// make handles of the block (it runs where new handles are made).
    pub(crate) fn hit_with<T>(&self, key: PageKey, f: impl FnOnce(&Block) -> T) -> Option<T> {
        let mut guard = self.lock_shard(key);
        let shard = &mut *guard;
        match shard.map.get(&key) {
            Some(Entry::Ready { slot, block }) => {
                shard.hits += 1;
                self.reference(*slot);
                Some(f(block))
            }
            _ => None,
        }
    }

    /// Takes back the hit [`hit_with`](Self::hit_with) counted for `key` (its page went
    /// unused: the read it was for goes another way and counts its own).
    pub(crate) fn unhit(&self, key: PageKey) {
        let mut shard = self.lock_shard(key);
        shard.hits = shard.hits.saturating_sub(1);
    }

    /// Whether readers may lend this cache's pages: slab pages, whose lent handles do not pin
    /// them (a heap page's would).
    pub(crate) fn lends_pages(&self) -> bool {
        self.lend_pages && self.slab.is_some()
    }

    /// Whether `key`'s page is ready (not counted as a hit).
    pub(crate) fn is_ready(&self, key: PageKey) -> bool {
        matches!(
            self.lock_shard(key).map.get(&key),
            Some(Entry::Ready { .. })
        )
    }

    /// A page for the cache alone (one handle), with unspecified bytes for the caller to fill
    /// (a one-block fill): from the slab, apart from the runs it admits, or a new heap block.
    pub(crate) fn new_page(&self) -> Block {
        match &self.slab {
            Some(slab) => slab.take_apart(),
            None => Block::zeroed(),
        }
    }

    /// A new page holding a copy of `bytes`, for the cache alone: one of a run's pages, which
    /// copied in a row lie consecutive in the slab.
    pub(crate) fn page_copy(&self, bytes: &[u8; PAGE_SIZE]) -> Block {
        let mut page = match &self.slab {
            Some(slab) => slab.take(),
            None => Block::zeroed(),
        };
        match page.get_mut() {
            Some(buf) => {
                buf.copy_from_slice(bytes);
                page
            }
            None => Block::from_array(bytes),
        }
    }

    /// Whether a point read's miss of `key` should fill the page: yes while a slot is free,
    /// otherwise only at its second recent miss (see `admission.rs`). A miss that is not
    /// admitted is counted as bypassed.
    pub(crate) fn admits_miss(&self, key: PageKey) -> bool {
        if !self.lock_clock().free.is_empty() || self.door.seen_before(key.hash_value()) {
            return true;
        }
        self.bypassed.fetch_add(1, Ordering::Relaxed);
        false
    }

    /// Reserves a slot for a fill, evicting an unpinned page by CLOCK; waits (bounded by
    /// `pinned_wait`) while every slot is pinned or reserved.
    pub(crate) async fn reserve_slot(&self) -> Result<Reservation, Error> {
        if let Some(reservation) = self.try_reserve() {
            return Ok(reservation);
        }
        let start = Instant::now();
        let deadline = start.checked_add(self.pinned_wait);
        self.lock_clock().pinned_waits += 1;
        let mut backoff = FIRST_BACKOFF;
        loop {
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                self.lock_clock().cache_full += 1;
                return Err(Error::CacheFull {
                    n_slots: self.n_slots,
                });
            }
            let wake = now
                .checked_add(backoff)
                .map_or(deadline, |w| Some(deadline.map_or(w, |d| d.min(w))));
            if let Some(wake) = wake {
                self.timer.delay(wake).await;
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
            if let Some(reservation) = self.try_reserve() {
                return Ok(reservation);
            }
        }
    }

    /// One CLOCK sweep (at most two turns of the hand) under the clock lock.
    fn try_reserve(&self) -> Option<Reservation> {
        let mut guard = self.lock_clock();
        let clock = &mut *guard;
        if let Some(slot) = clock.free.pop() {
            set_owner(&mut clock.owners, slot, Owner::Reserved);
            return Some(Reservation {
                slot,
                recycled: None,
            });
        }
        let n_slots = clock.owners.len();
        for _ in 0..2 * n_slots {
            let idx = clock.hand;
            clock.hand = if idx + 1 == n_slots { 0 } else { idx + 1 };
            let Some(Owner::Page(key)) = clock.owners.get(idx).copied() else {
                continue; // Reserved (Free slots are all on the free list).
            };
            if let Some(bit) = self.referenced.get(idx) {
                if bit.load(Ordering::Relaxed) {
                    bit.store(false, Ordering::Relaxed);
                    continue; // Second chance.
                }
            }
            let mut shard = self.lock_shard(key);
            let evictable = matches!(
                shard.map.get(&key),
                Some(Entry::Ready { slot, block })
                    if *slot as usize == idx && Block::pinning_count(block) == 1
            );
            if evictable {
                let recycled = match shard.map.remove(&key) {
                    Some(Entry::Ready { block, .. }) => Some(block),
                    _ => None,
                };
                drop(shard);
                let slot = idx as u32;
                set_owner(&mut clock.owners, slot, Owner::Reserved);
                clock.resident -= 1;
                clock.evictions += 1;
                return Some(Reservation { slot, recycled });
            }
        }
        None
    }

    /// Ends fill `fill_id` of `key`: publishes `block` in `slot` if the fill's entry is still
    /// there, otherwise (failure, cancellation, or the file was dropped meanwhile) removes the
    /// entry if it is still this fill's and frees the slot.
    pub(crate) fn finish_fill(
        &self,
        key: PageKey,
        fill_id: u64,
        slot: Option<u32>,
        block: Option<&Block>,
        failed: bool,
    ) {
        // Lock order: clock, then shard.
        let mut clock = slot.map(|_| self.lock_clock());
        let mut guard = self.lock_shard(key);
        let shard = &mut *guard;
        let ours = matches!(
            shard.map.get(&key),
            Some(Entry::Filling { fill_id: id, .. }) if *id == fill_id
        );
        if failed {
            shard.fill_errors += 1;
        }
        if ours {
            shard.fills_in_flight -= 1;
        }
        match (ours, slot, block, clock.as_deref_mut()) {
            (true, Some(slot), Some(block), Some(clock)) => {
                shard.map.insert(
                    key,
                    Entry::Ready {
                        slot,
                        block: block.clone(),
                    },
                );
                if let Some(bit) = self.referenced.get(slot as usize) {
                    bit.store(false, Ordering::Relaxed);
                }
                set_owner(&mut clock.owners, slot, Owner::Page(key));
                clock.resident += 1;
            }
            (ours, slot, _, clock) => {
                if ours {
                    shard.map.remove(&key);
                }
                if let (Some(slot), Some(clock)) = (slot, clock) {
                    set_owner(&mut clock.owners, slot, Owner::Free);
                    clock.free.push(slot);
                }
            }
        }
    }

    /// Whether a run of `needed` blocks may be admitted now (the free slots could hold them);
    /// if so, the drop counter to hand back to [`Inner::admit`] after the run's read.
    pub(crate) fn admission_ticket(&self, needed: u64) -> Option<u64> {
        let clock = self.lock_clock();
        (clock.free.len() as u64 >= needed).then_some(clock.drops)
    }

    /// Adds `pages` (blocks `first..` of `file_id`, read by a multi-block read that started
    /// when the drop counter was `drops`) into free slots: only while at least `needed` slots
    /// are free, only pages not in the mapping already, and nothing at all if a file was dropped
    /// since. Never evicts. Returns the number admitted.
    pub(crate) fn admit(
        &self,
        file_id: FileId,
        first: BlockNo,
        pages: Vec<Option<Block>>,
        needed: u64,
        drops: u64,
    ) -> u64 {
        let mut guard = self.lock_clock();
        let clock = &mut *guard;
        if clock.drops != drops || (clock.free.len() as u64) < needed {
            return 0;
        }
        let mut admitted = 0;
        for (blkno, block) in (first.0..).zip(pages) {
            let Some(block) = block else { continue };
            let key = PageKey {
                file_id,
                blkno: BlockNo(blkno),
            };
            let Some(slot) = clock.free.pop() else { break };
            let mut shard = self.lock_shard(key);
            if shard.map.contains_key(&key) {
                drop(shard);
                clock.free.push(slot);
                continue;
            }
            shard.map.insert(key, Entry::Ready { slot, block });
            drop(shard);
            if let Some(bit) = self.referenced.get(slot as usize) {
                bit.store(false, Ordering::Relaxed);
            }
            set_owner(&mut clock.owners, slot, Owner::Page(key));
            clock.resident += 1;
            admitted += 1;
        }
        clock.admitted += admitted;
        admitted
    }

    /// A hit on the ready page `block` in `slot` (its shard locked): counted, referenced, cloned.
    fn hit(&self, hits: &mut u64, slot: u32, block: &Block) -> Block {
        *hits += 1;
        self.reference(slot);
        block.clone()
    }

    /// Sets `slot`'s CLOCK reference bit (a load first, so a hot page's bit is not rewritten).
    fn reference(&self, slot: u32) {
        if let Some(bit) = self.referenced.get(slot as usize) {
            if !bit.load(Ordering::Relaxed) {
                bit.store(true, Ordering::Relaxed);
            }
        }
    }

    fn drop_file(&self, id: FileId) {
        let mut guard = self.lock_clock();
        let clock = &mut *guard;
        clock.drops += 1;
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            let Shard {
                map,
                fills_in_flight,
                ..
            } = &mut *shard;
            map.retain(|key, entry| {
                if key.file_id != id {
                    return true;
                }
                match entry {
                    Entry::Ready { slot, .. } => {
                        set_owner(&mut clock.owners, *slot, Owner::Free);
                        clock.free.push(*slot);
                        clock.resident -= 1;
                    }
                    Entry::Filling { .. } => *fills_in_flight -= 1,
                }
                false
            });
        }
    }

    fn metrics(&self) -> CacheMetrics {
        let clock = self.lock_clock();
        let mut m = CacheMetrics {
            evictions: clock.evictions,
            resident: clock.resident,
            pinned_waits: clock.pinned_waits,
            cache_full: clock.cache_full,
            admitted: clock.admitted,
            bypassed: self.bypassed.load(Ordering::Relaxed),
            page_memory_bytes: self
                .slab
                .as_ref()
                .map_or(0, |slab| slab.allocated_bytes() as u64),
            ..CacheMetrics::default()
        };
        for shard in self.shards.iter() {
            let shard = lock(shard);
            m.hits += shard.hits;
            m.misses += shard.misses;
            m.waits += shard.waits;
            m.fills_in_flight += shard.fills_in_flight;
            m.fill_errors += shard.fill_errors;
        }
        m
    }

    fn lock_shard(&self, key: PageKey) -> MutexGuard<'_, Shard> {
        // Shard bits are taken from the middle of the hash: the map uses the low bits for its
        // buckets and the top 7 for its tags.
        let idx = (key.hash_value() >> 32) & self.shard_mask;
        let shard = self
            .shards
            .get(idx as usize)
            .or_else(|| self.shards.first())
            .expect("a cache has at least one shard");
        lock(shard)
    }

    fn lock_clock(&self) -> MutexGuard<'_, Clock> {
        lock(&self.clock)
    }
}

/// Locks a mutex, ignoring poison: no code of this crate panics while holding one, and every
/// critical section leaves the invariants intact before any call that could.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn set_owner(owners: &mut [Owner], slot: u32, owner: Owner) {
    if let Some(o) = owners.get_mut(slot as usize) {
        *o = owner;
    }
}

impl PageKey {
    /// A well-mixed 64-bit hash (a multiply-xorshift finaliser): the key's `Hash` and the shard
    /// choice both use it.
    fn hash_value(self) -> u64 {
        let x = self.file_id.0.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(self.blkno.0);
        let x = (x ^ (x >> 31)).wrapping_mul(0xD6E8_FEB8_6659_FD93);
        x ^ (x >> 32)
    }
}

impl Hash for PageKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash_value());
    }
}

/// Hashes a [`PageKey`] by its own `hash_value` (SipHash would double the cost of a hit).
#[derive(Clone, Copy, Default)]
struct PageHasherBuilder;

struct PageHasher(u64);

impl BuildHasher for PageHasherBuilder {
    type Hasher = PageHasher;

    fn build_hasher(&self) -> PageHasher {
        PageHasher(0)
    }
}

impl Hasher for PageHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by `PageKey`; a plain FNV-1a fold keeps the type a correct `Hasher`.
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01B3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}
