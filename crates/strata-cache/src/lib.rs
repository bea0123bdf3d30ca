//! A page cache of 8 KiB blocks: Neon's `page_cache` redone as a handle the caller creates and
//! shares, wrapping any [`BlockReader`].
//!
//! * [`PageCache`]: a fixed number of slots chosen at creation ([`PageCacheOptions`]); clone it
//!   to share it. No global state: two caches never see each other's pages.
//! * [`PageCache::wrap`] gives a [`CachedReader`], itself a [`BlockReader`], under a fresh
//!   [`FileId`]. Pages are keyed by `(FileId, BlockNo)`.
//! * A hit returns the cached [`Block`] (an `Arc`'d immutable page): no syscall, no thread hop,
//!   no await point that can suspend.
//!
//! ```
//! use strata_blob::{BlockNo, BlockReader, MemBlockReader, PAGE_SIZE};
//! use strata_cache::PageCache;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let cache = PageCache::new(64);
//! let reader = cache.wrap(MemBlockReader::from_bytes(&[7u8; 2 * PAGE_SIZE]));
//! assert_eq!(reader.read_block(BlockNo(1)).await.unwrap()[0], 7); // miss: reads the source
//! assert_eq!(reader.read_block(BlockNo(1)).await.unwrap()[0], 7); // hit
//! let m = cache.metrics();
//! assert_eq!((m.misses, m.hits, m.resident), (1, 1, 1));
//! drop(reader); // forgets its pages
//! assert_eq!(cache.metrics().resident, 0);
//! # });
//! ```
//!
//! # Sizing
//!
//! A reader pins a slot for as long as it holds a page's `Block`. Strata's readers hold at
//! most one page at a time: a B-tree descent releases a parent before reading its child, an
//! iterator copies entries out of its leaf and holds no page between calls, and a blob read
//! releases a block before reading the next. So **one slot per concurrent reader** is enough
//! for every read to make progress (the cache then works as a pass-through; hits need more):
//! `n_slots >= N` for N tasks reading at once, whatever the depth of the trees they read.
//! Blocks a caller keeps (a page it holds on to) pin slots of their own; values lent from the
//! cache's pages (`PageCacheOptions::lend_pages`) do not. With fewer slots than that, a miss waits up to
//! [`PageCacheOptions::pinned_wait`] and fails with `CacheFull`.
//!
//! # Protocol
//!
//! **State.** A *slot* is a unit of the cache's budget: `n_slots` pages, ready or being filled.
//! The *mapping* from `(FileId, BlockNo)` to an entry is split into shards (a power of two, up to
//! 64, chosen by a hash of the key), each a `std::sync::Mutex` around a hash map. An entry is
//! `Ready { slot, block }` or `Filling` (a fill in flight, with its waiter list: a
//! `tokio::sync::watch` channel made by the first task that waits, none while nobody does). The *clock* is one `Mutex` holding the CLOCK hand, each slot's owner
//! (free, reserved by a fill, or the page it holds), the free list and eviction counters. Each
//! slot also has a reference bit, an `AtomicBool` outside any lock.
//!
//! **Locks and their order.** Two kinds: the clock lock and the shard locks (plus a fill's waiter
//! list lock, a leaf taken for a moment under a shard lock or under none, see `fill.rs`). A thread holds
//! at most one shard lock at a time, and takes the clock lock only when holding no shard lock
//! (order: clock, then shard). No lock is held across an `.await`, and no foreign code (the inner
//! reader, wakers) runs under a lock. So no lock can deadlock, and a task cancelled at any await
//! holds none.
//!
//! **Hit.** Lock the key's shard, find `Ready`, clone the `Block` (a reference count), bump the
//! hit count and set the slot's reference bit if it is clear, unlock. Nothing else: no clock
//! lock, no channel, no allocation. The shard lock is one of up to 64 (chosen by the key's hash),
//! so readers of different pages rarely meet on one; a profile of warm lookups puts the hit's
//! time in the two cache-line fetches it cannot avoid (the map's bucket, the page's reference
//! count), not in the lock.
//!
//! **What a guard allows.** The returned `Block` *is* the read guard: it keeps the page's bytes
//! alive and immutable for as long as it is held, and pins the slot — CLOCK never evicts a page
//! whose `Block` has a handle besides the cache's own and lent runs' (`Block::pinning_count >
//! 1`). That check is sound because the cache's handle lives only in the `Ready` entry and new
//! handles are made only under the shard lock, which the evictor holds while it checks and
//! removes. A lent run (`BlockReader::lend_pages`: a value's bytes in cached pages) does not pin:
//! its page may be evicted, and then lives on outside the cache until the run is dropped, and
//! its memory is not reused meanwhile (a fill recycles an evicted page only when it has no
//! handle left). Memory is bounded by `n_slots` pages plus blocks that readers keep after their
//! page was dropped from the cache by [`PageCache::drop_file`] or evicted under a lent value
//! (theirs to drop).
//!
//! **Miss.** Under the shard lock, insert `Filling` and become the filler; later readers of the
//! same page find `Filling`, subscribe to its channel (the first one makes it), unlock and await
//! it (single-flight: one inner read per page however many tasks miss it at once). A miss nobody
//! waits for makes no channel and wakes nobody. The filler, holding no lock:
//! 1. reserves a slot: takes the free list's head, or sweeps the CLOCK hand under the clock lock,
//!    clearing set reference bits (second chance) and evicting the first unreferenced, unpinned
//!    page (taking that page's shard lock to check and remove it);
//! 2. reads the block from the inner reader with a one-block `read_blocks`, one read per miss:
//!    into the evicted page's buffer (no reader can hold that page, it was unpinned when removed,
//!    so no allocation, zeroing or free), or into a page of the cache's [`strata_blob::PageSlab`]
//!    when the slot came off the free list (the slab carves pages from 2 MiB huge-page extents,
//!    so reads spread over a large cache do not each pay a TLB miss);
//! 3. under clock then shard lock, replaces its own `Filling` entry (recognised by a fill id) with
//!    `Ready` and records the slot's owner; then, holding no lock, publishes the block on the
//!    waiters' channel if one was made (every waiter subscribed under the shard lock, before
//!    step 3 took it).
//!
//! **Every slot pinned.** If a sweep finds no evictable slot, the filler retries with growing
//! back-off (100 µs to 10 ms) until [`PageCacheOptions::pinned_wait`] has passed, then fails with
//! [`strata_blob::Error::CacheFull`] (a typed error, never a panic or an unbounded wait). Waiters
//! of that fill get `CacheFull` too. The back-off uses a small timer thread owned by the cache,
//! started on first need, so it works on any executor (tokio's timer would panic on a runtime
//! without `enable_time`).
//!
//! **Failed fill.** If the inner read fails (I/O error, short or corrupt read, block past the
//! end), the filler removes its `Filling` entry and frees its slot *before* publishing the
//! failure: nothing of the failed fill is ever visible, and the next read of the page starts a
//! fresh fill (a retry). The filler returns the original error. Each waiter gets an equivalent
//! error (see `fill.rs`): `Corrupt` copied exactly, an OS error rebuilt from its code, any other
//! `io::Error` rebuilt with the same kind and a [`ConcurrentFillError`] carrying the message;
//! waiters do not re-read, so a failing device sees one read per failed fill, not one per waiter.
//!
//! **Cancelled fill.** If the filler's future is dropped mid-fill, a drop guard removes the
//! `Filling` entry and frees the slot; dropping the `watch` sender wakes the waiters, which start
//! over (one becomes the new filler).
//!
//! **Runs.** A multi-block `read_blocks` (a scan) takes no `Filling` entry and never waits: it
//! reads the run from the inner reader in one I/O and then, holding no lock across that read,
//! *admits* its pages: under the clock lock, and each page's shard lock in turn, it puts each page
//! not in the mapping into a free slot as `Ready`.
//! It admits nothing unless the free slots could hold every block from the run to the end of the
//! file (so a scan never evicts and never fills a cache too small for the file), and nothing if
//! any `drop_file` ran since before its read (a counter under the clock lock), so a dropped file
//! gets no page back from a run that was in flight.
//!
//! **Dropped file.** [`PageCache::drop_file`] (also run by `CachedReader`'s `Drop`) removes every
//! entry of the file, ready or filling, under the clock lock and each shard lock in turn. A fill
//! in flight for it finds its entry gone and does not publish its page to the mapping. File ids
//! come from a per-cache counter and are never reused, so no later reader can see a stale page.
//!
//! **Why no loom model.** The state machine (free / reserved / ready, filling / ready, free /
//! admitted ready) changes only under mutexes. The atomics are a counter (`fetch_add`, only uniqueness matters) and the CLOCK
//! reference bits, which are hints: a lost or stale bit changes which page is evicted, never
//! whether a pinned page may be (that is decided under the shard lock). With no lock-free
//! protocol there is nothing for loom to explore that the mutexes do not already serialise; the
//! stress and single-flight tests exercise the interleavings on a multi-thread runtime.
//!
//! [`Block`]: strata_blob::Block
//! [`BlockReader`]: strata_blob::BlockReader

mod admission;
mod cache;
mod fill;
mod reader;
mod timer;

pub use cache::{CacheMetrics, FileId, PageCache, PageCacheOptions};
pub use fill::ConcurrentFillError;
pub use reader::CachedReader;

// The block trait and types this crate's API takes and returns (its errors are strata-blob's).
pub use strata_blob::{Block, BlockNo, BlockReader, Error};
