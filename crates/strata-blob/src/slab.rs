//! [`PageSlab`]: page memory for a cache, carved from large extents instead of one heap
//! allocation per page.
//!
//! A cache that holds a file of hundreds of megabytes touches a different 4 KiB memory page on
//! almost every read, so with one heap allocation per block each read pays TLB misses (a page
//! walk) besides its cache misses. A slab hands out 8 KiB pages from extents of up to 2 MiB.
//! On Linux a full extent is an anonymous mapping aligned to its size and advised for
//! transparent huge pages (`madvise(MADV_HUGEPAGE)`), so one TLB entry covers 256 pages and the
//! kernel's zeros need no second zeroing; a smaller extent (a small cache) is a zeroed heap
//! allocation. On the standard workload this is what
//! `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` gives a whole process, but for the cache's pages
//! only and without an environment setting. Where the advice is refused the pages still work,
//! with 4 KiB TLB entries.
//!
//! While a slab carves one full extent, a short-lived thread makes the next one and faults its
//! memory in, up to the extents the cache's size needs: on a VM whose memory the host populates
//! lazily a fresh huge page costs about a millisecond to touch, which a cache filling at
//! memory speed would otherwise pay on its reads.
//!
//! This is the crate's one `unsafe` module: a slab page is a pointer into an extent, with its
//! own reference count.
//!
//! Invariants:
//! * Every byte of an extent is initialized (zeroed) before any page of it is handed out, so a
//!   page always reads as initialized bytes: zeros, or the bytes of the page that used the
//!   memory before.
//! * A page's bytes are written only through [`Block::get_mut`], which requires the page's
//!   count to be 1 (this handle the only one) and `&mut` access to that handle, so no shared
//!   reference to the bytes exists while they change (the rule `Arc::get_mut` follows).
//! * An extent's memory is freed only when no page handle and no slab refers to it (each page
//!   handle holds an `Arc` of its extent).
//! * A page whose last handle is dropped goes back to its extent's free list; the slab reuses
//!   freed pages before it carves new ones, so its memory is bounded by the most pages alive at
//!   once, rounded up to whole extents, plus one: pages taken in runs ([`PageSlab::take`]) and
//!   alone ([`PageSlab::take_apart`]) are carved from two extents, so that a cache's lone fills
//!   never come between the pages of a run it admits.

#![expect(
    unsafe_code,
    reason = "pages are pointers into a shared extent; see each SAFETY comment"
)]

use std::alloc::{self, Layout};
use std::fmt;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::block::{Block, PAGE_SIZE};

/// Pages in the largest extent: 2 MiB, one transparent huge page on x86-64 and aarch64 (4 KiB
/// base pages).
pub const PAGES_PER_EXTENT: usize = 256;

/// Bytes of the largest extent.
const EXTENT_BYTES: usize = PAGES_PER_EXTENT * PAGE_SIZE;

/// A page count past which a clone aborts rather than wrap (as `Arc` does).
const MAX_REFS: u64 = u32::MAX as u64 / 2;

/// A page's count word: its handles in the low 32 bits, and in the high 32 bits how many of
/// them belong to lent runs ([`SlabRun`]), so one load sees both at once.
const HANDLE: u64 = 1;
/// One lent handle: a handle, counted in both halves.
const LENT: u64 = (1 << 32) | HANDLE;
/// The handles half of a count word.
const HANDLES: u64 = u32::MAX as u64;

/// Hands out 8 KiB pages carved from large extents (see the module docs). One per cache: no
/// global state. Pages outlive the slab that made them.
///
/// ```
/// use strata_blob::{Block, PageSlab};
///
/// let slab = PageSlab::new(1024);
/// let mut page = slab.take();
/// page.get_mut().expect("a new page has one handle")[..5].copy_from_slice(b"hello");
/// let shared = page.clone();
/// assert_eq!(Block::handle_count(&page), 2);
/// assert!(page.get_mut().is_none(), "a shared page is immutable");
/// assert_eq!(&shared[..5], b"hello");
/// ```
pub struct PageSlab {
    state: Mutex<SlabState>,
    /// Pages waiting on the extents' free lists (a hint: read without the extents' locks).
    freed: Arc<AtomicUsize>,
    /// Pages per extent this slab carves.
    extent_pages: usize,
    /// Extents the cache's size needs; no extent is made ahead past this many.
    max_extents: usize,
    /// The next full extent, made and faulted in ahead by a short-lived thread while the current
    /// one is carved, so the first touch of its memory (dear where a VM's memory is populated
    /// lazily: a huge page at once) is not paid by the read that needs a page.
    spare: Arc<Spare>,
}

#[derive(Default)]
struct Spare {
    extent: Mutex<Option<Arc<Extent>>>,
    /// Whether a thread is making the spare now.
    making: AtomicBool,
}

struct SlabState {
    extents: Vec<Arc<Extent>>,
    /// Where new pages are carved: [`RUN`] for [`PageSlab::take`], [`APART`] for
    /// [`PageSlab::take_apart`], each in an extent of its own, so pages taken in a row by one
    /// kind of caller are consecutive whatever the other takes meanwhile.
    cursors: [Cursor; 2],
}

/// The cursor of [`PageSlab::take`].
const RUN: usize = 0;
/// The cursor of [`PageSlab::take_apart`].
const APART: usize = 1;

/// An extent being carved, and how many of its pages were handed out at least once.
#[derive(Default)]
struct Cursor {
    extent: Option<Arc<Extent>>,
    carved: usize,
}

impl PageSlab {
    /// A slab for a cache of about `pages` pages: its extents hold [`PAGES_PER_EXTENT`] pages,
    /// or fewer for a smaller cache (then they are plain allocations, not huge pages).
    pub fn new(pages: usize) -> PageSlab {
        PageSlab {
            state: Mutex::new(SlabState {
                extents: Vec::new(),
                cursors: Default::default(),
            }),
            freed: Arc::new(AtomicUsize::new(0)),
            extent_pages: pages.clamp(1, PAGES_PER_EXTENT),
            max_extents: pages.max(1).div_ceil(PAGES_PER_EXTENT),
            spare: Arc::default(),
        }
    }

    /// A page only the caller holds ([`Block::handle_count`] 1, so [`Block::get_mut`] works),
    /// with unspecified bytes: zeros, or what an earlier page left. The caller fills it.
    /// A freed page is reused first; if a new extent cannot be allocated the page is a plain
    /// heap block. New pages taken in a row are consecutive in an extent (a run of blocks
    /// copied in, which a [`PageRun`](crate::PageRun) can then read as one slice).
    pub fn take(&self) -> Block {
        self.take_with(RUN)
    }

    /// [`take`](Self::take) for a page wanted alone (a one-block fill): new ones are carved
    /// from an extent of their own, so they do not come between the pages of runs.
    pub fn take_apart(&self) -> Block {
        self.take_with(APART)
    }

    fn take_with(&self, cursor: usize) -> Block {
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        if self.freed.load(Ordering::Relaxed) > 0 {
            for extent in &state.extents {
                let reused = lock(&extent.free).pop();
                if let Some(index) = reused {
                    self.freed.fetch_sub(1, Ordering::Relaxed);
                    return Block::from_slab(SlabPage::claim(extent, index));
                }
            }
        }
        let Some(cur) = state.cursors.get_mut(cursor) else {
            return Block::zeroed();
        };
        if let (Some(extent), Ok(index)) = (&cur.extent, u16::try_from(cur.carved)) {
            if cur.carved < self.extent_pages {
                cur.carved += 1;
                return Block::from_slab(SlabPage::claim(extent, index));
            }
        }
        let ready = lock(&self.spare.extent).take();
        match ready.or_else(|| Extent::new(self.extent_pages, Arc::clone(&self.freed))) {
            Some(extent) => {
                let page = SlabPage::claim(&extent, 0);
                cur.extent = Some(Arc::clone(&extent));
                cur.carved = 1;
                state.extents.push(extent);
                if state.extents.len() < self.max_extents {
                    self.make_spare();
                }
                Block::from_slab(page)
            }
            None => Block::zeroed(),
        }
    }

    /// Starts a thread that makes the next full extent and faults its memory in, unless one is
    /// at it already (Linux only, where full extents are huge-page mappings). A thread that
    /// cannot be started, or an extent that cannot be made, leaves the next `take` to make its
    /// own.
    fn make_spare(&self) {
        if !PREFAULT || self.extent_pages != PAGES_PER_EXTENT {
            return;
        }
        if self.spare.making.swap(true, Ordering::AcqRel) {
            return;
        }
        let spare = Arc::clone(&self.spare);
        let freed = Arc::clone(&self.freed);
        let work = move || {
            if let Some(extent) = Extent::new(PAGES_PER_EXTENT, freed) {
                extent.memory.fault_in();
                *lock(&spare.extent) = Some(extent);
            }
            spare.making.store(false, Ordering::Release);
        };
        let started = std::thread::Builder::new()
            .name("strata-slab".into())
            .spawn(work);
        if started.is_err() {
            self.spare.making.store(false, Ordering::Release);
        }
    }

    /// Bytes of the extents this slab has allocated (pages in use or free, and an extent made
    /// ahead).
    pub fn allocated_bytes(&self) -> usize {
        let extents = lock(&self.state).extents.len();
        let spare = usize::from(lock(&self.spare.extent).is_some());
        (extents + spare) * self.extent_pages * PAGE_SIZE
    }
}

/// Whether full extents are made ahead (where they are huge-page mappings).
const PREFAULT: bool = cfg!(all(target_os = "linux", not(miri)));

impl fmt::Debug for PageSlab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PageSlab")
            .field("extent_pages", &self.extent_pages)
            .field("allocated_bytes", &self.allocated_bytes())
            .finish_non_exhaustive()
    }
}

/// Locks `m`, going on past a poisoned lock (every critical section here leaves its data
/// consistent).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One allocation of `refs.len()` pages.
struct Extent {
    memory: Memory,
    /// Each page's count word (handles, and lent handles among them: see [`LENT`]); 0 for a
    /// page on the free list or never handed out.
    refs: Box<[AtomicU64]>,
    /// Pages whose last handle was dropped.
    free: Mutex<Vec<u16>>,
    /// The slab's count of freed pages.
    freed: Arc<AtomicUsize>,
}

// SAFETY: the extent owns its memory (released only in `Memory`'s `Drop`); its bytes are
// reached only through `SlabPage`, whose shared access is read-only and whose writes need the
// page's count to be 1 (see the module invariants). The counts and free list are atomics and a
// mutex.
unsafe impl Send for Extent {}
// SAFETY: as for `Send`: no method of `Extent` hands out unsynchronized mutable access.
unsafe impl Sync for Extent {}

impl Extent {
    /// A zeroed extent of `pages` pages, or `None` if the memory cannot be had.
    fn new(pages: usize, freed: Arc<AtomicUsize>) -> Option<Arc<Extent>> {
        Some(Arc::new(Extent {
            memory: Memory::zeroed(pages * PAGE_SIZE)?,
            refs: (0..pages).map(|_| AtomicU64::new(0)).collect(),
            free: Mutex::new(Vec::new()),
            freed,
        }))
    }

    /// The count word of page `index`.
    fn count(&self, index: u16) -> &AtomicU64 {
        #[expect(
            clippy::indexing_slicing,
            reason = "free-list indexes and carved indexes are below the extent's page count"
        )]
        &self.refs[usize::from(index)]
    }

    /// One more handle to page `index` (`one`: [`HANDLE`], or [`LENT`] for a lent run's),
    /// made from an existing one.
    fn retain(&self, index: u16, one: u64) {
        // Relaxed, as `Arc::clone`: a new handle is made from an existing one.
        let old = self.count(index).fetch_add(one, Ordering::Relaxed);
        if old & HANDLES > MAX_REFS {
            std::process::abort();
        }
    }

    /// One handle fewer to page `index` (`one` as it was retained); the last one puts the
    /// page on the free list.
    fn release(&self, index: u16, one: u64) {
        if self.count(index).fetch_sub(one, Ordering::Release) & HANDLES != 1 {
            return;
        }
        // The last handle: every use of the bytes through other handles happened before the
        // page is reused.
        fence(Ordering::Acquire);
        lock(&self.free).push(index);
        self.freed.fetch_add(1, Ordering::Relaxed);
    }
}

/// `len` zeroed bytes at `base`, owned: released when dropped.
struct Memory {
    base: NonNull<u8>,
    len: usize,
    /// Whether `base` is an anonymous mapping (else a heap allocation of `heap_layout(len)`).
    mapped: bool,
}

impl Memory {
    /// A full extent on Linux is an anonymous mapping aligned to its size and advised for huge
    /// pages (the kernel's zeros, written by no one); anything else, or a refused mapping, is a
    /// zeroed heap allocation.
    fn zeroed(len: usize) -> Option<Memory> {
        if len == EXTENT_BYTES {
            if let Some(base) = map_huge(len) {
                return Some(Memory {
                    base,
                    len,
                    mapped: true,
                });
            }
        }
        let layout = heap_layout(len)?;
        // SAFETY: `layout` has a non-zero size (an extent holds at least one page).
        let base = NonNull::new(unsafe { alloc::alloc_zeroed(layout) })?;
        Some(Memory {
            base,
            len,
            mapped: false,
        })
    }
}

impl Memory {
    /// Writes a zero to every 4 KiB of the memory, so the kernel backs all of it now (one huge
    /// page where it allows) rather than at the first use of each page.
    fn fault_in(&self) {
        for offset in (0..self.len).step_by(4096) {
            // SAFETY: `offset < len`, inside the memory this `Memory` owns; no page of the
            // extent has been handed out yet (the caller made it and holds the only reference),
            // and the byte written is the zero already there.
            unsafe { self.base.as_ptr().add(offset).write_volatile(0) };
        }
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        if self.mapped {
            unmap(self.base, self.len);
        } else if let Some(layout) = heap_layout(self.len) {
            // SAFETY: `base` was allocated by `alloc_zeroed` with this same layout (a function
            // of `len` alone), and no page handle is left (each holds its extent).
            unsafe { alloc::dealloc(self.base.as_ptr(), layout) };
        }
    }
}

fn heap_layout(len: usize) -> Option<Layout> {
    Layout::from_size_align(len, PAGE_SIZE).ok()
}

/// An anonymous private mapping of `len` bytes aligned to `len` (a power of two), advised for
/// transparent huge pages, or `None` if the kernel refuses the mapping. The advice is only
/// advice: refused (an older kernel, THP disabled), the pages are 4 KiB ones.
#[cfg(all(target_os = "linux", not(miri)))]
fn map_huge(len: usize) -> Option<NonNull<u8>> {
    let span = len.checked_mul(2)?;
    // SAFETY: a new anonymous mapping: no existing memory is affected.
    let raw = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            span,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if raw == libc::MAP_FAILED {
        return None;
    }
    let start = raw as usize;
    let aligned = start.next_multiple_of(len);
    let head = aligned - start;
    let tail = span - head - len;
    // SAFETY: the head and tail are the parts of the mapping just made outside the aligned
    // `len` bytes kept; nothing refers to them. The advice changes only how the kernel backs
    // the kept range, never its contents (zeros) or validity.
    unsafe {
        if head > 0 {
            libc::munmap(raw, head);
        }
        if tail > 0 {
            libc::munmap((aligned + len) as *mut libc::c_void, tail);
        }
        libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
    }
    NonNull::new(aligned as *mut u8)
}

#[cfg(all(target_os = "linux", not(miri)))]
fn unmap(base: NonNull<u8>, len: usize) {
    // SAFETY: `[base, base + len)` is a mapping made by `map_huge` and owned by the `Memory`
    // being dropped; no page handle is left.
    unsafe { libc::munmap(base.as_ptr().cast(), len) };
}

#[cfg(not(all(target_os = "linux", not(miri))))]
fn map_huge(_len: usize) -> Option<NonNull<u8>> {
    None
}

#[cfg(not(all(target_os = "linux", not(miri))))]
fn unmap(_base: NonNull<u8>, _len: usize) {}

/// A handle to one page of an extent: what a [`Block`] from a slab holds.
pub(crate) struct SlabPage {
    extent: Arc<Extent>,
    index: u16,
}

impl SlabPage {
    /// The first handle to page `index` of `extent`, which is free (count 0) and whose index
    /// the caller owns (taken from the free list or newly carved under the slab's lock), and
    /// below the extent's page count (checked by `count`).
    fn claim(extent: &Arc<Extent>, index: u16) -> SlabPage {
        extent.count(index).store(1, Ordering::Relaxed);
        SlabPage {
            extent: Arc::clone(extent),
            index,
        }
    }

    fn ptr(&self) -> *mut [u8; PAGE_SIZE] {
        SlabPage::ptr_of(&self.extent, self.index)
    }

    /// Where page `index` of `extent` starts, for an index that has a handle (so below the
    /// extent's page count).
    fn ptr_of(extent: &Extent, index: u16) -> *mut [u8; PAGE_SIZE] {
        // SAFETY: `index < refs.len()` (a page with a handle was claimed, and `claim` indexed
        // `refs` with it), so the offset stays inside the extent's memory of
        // `refs.len() * PAGE_SIZE` bytes.
        unsafe {
            extent
                .memory
                .base
                .as_ptr()
                .add(usize::from(index) * PAGE_SIZE)
                .cast()
        }
    }

    pub(crate) fn bytes(&self) -> &[u8; PAGE_SIZE] {
        // SAFETY: the page is initialized (extents are zeroed when made), lives as long as
        // this handle (which holds the extent), and is not written while this shared borrow of
        // a handle exists: writes need `get_mut` on the only handle.
        unsafe { &*self.ptr() }
    }

    pub(crate) fn get_mut(&mut self) -> Option<&mut [u8; PAGE_SIZE]> {
        // Acquire: see the writes made through handles dropped before (their Release).
        if self.handle_count() != 1 {
            return None;
        }
        // SAFETY: this handle is the only one (count 1) and is borrowed mutably, so no other
        // reference to the page's bytes exists and none can be made while this one lives.
        Some(unsafe { &mut *self.ptr() })
    }

    pub(crate) fn handle_count(&self) -> usize {
        (self.extent.count(self.index).load(Ordering::Acquire) & HANDLES) as usize
    }

    /// Handles but those of lent runs, from one load of the count word.
    pub(crate) fn pinning_count(&self) -> usize {
        let word = self.extent.count(self.index).load(Ordering::Acquire);
        (word & HANDLES).saturating_sub(word >> 32) as usize
    }
}

impl Clone for SlabPage {
    fn clone(&self) -> SlabPage {
        self.extent.retain(self.index, HANDLE);
        SlabPage {
            extent: Arc::clone(&self.extent),
            index: self.index,
        }
    }
}

impl Drop for SlabPage {
    fn drop(&mut self) {
        self.extent.release(self.index, HANDLE);
    }
}

/// Handles to consecutive pages of one extent, whose bytes read as one slice: what a
/// [`PageRun`](crate::PageRun) of cache pages holds. It counts as one *lent* handle of each of
/// its pages: one that keeps the page's bytes as they are, but does not pin it in a cache
/// ([`Block::pinning_count`]).
pub(crate) struct SlabRun {
    extent: Arc<Extent>,
    first: u16,
    /// Pages in the run, at least 1; `first + n` is at most the extent's page count.
    n: u16,
}

impl SlabRun {
    /// A run of `page` alone (a lent handle of it).
    pub(crate) fn of(page: &SlabPage) -> SlabRun {
        SlabRun::retain(&page.extent, page.index, 1)
    }

    /// Extends the run by `page` when it is the page right after the run's last, in the same
    /// extent, and the run has fewer than `max` pages: takes a lent handle of it. `false`
    /// otherwise, the run unchanged.
    pub(crate) fn extend(&mut self, page: &SlabPage, max: usize) -> bool {
        let Some(next) = self.first.checked_add(self.n) else {
            return false;
        };
        if usize::from(self.n) >= max || !Arc::ptr_eq(&self.extent, &page.extent) {
            return false;
        }
        if page.index != next {
            return false;
        }
        self.extent.retain(next, LENT);
        self.n += 1;
        true
    }

    /// A new handle to pages `first..first + n` of `extent`, each of which has a handle
    /// already (the caller's), so none of them is on a free list.
    fn retain(extent: &Arc<Extent>, first: u16, n: u16) -> SlabRun {
        for index in first..first + n {
            extent.retain(index, LENT);
        }
        SlabRun {
            extent: Arc::clone(extent),
            first,
            n,
        }
    }

    /// The pages `from..to` of this run (`from < to <= n`), as a run of their own.
    pub(crate) fn pages(&self, from: u16, to: u16) -> Option<SlabRun> {
        if from >= to || to > self.n {
            return None;
        }
        Some(SlabRun::retain(&self.extent, self.first + from, to - from))
    }

    /// The run's bytes: `n` pages, one after the other.
    pub(crate) fn bytes(&self) -> &[u8] {
        let page = SlabPage::ptr_of(&self.extent, self.first);
        // SAFETY: pages `first..first + n` lie inside the extent's memory (`join` and `pages`
        // only make runs of pages that have handles, so `first + n <= refs.len()`), one
        // allocation reached through `page`, a pointer derived from its base. Every byte is
        // initialized (extents are zeroed when made). The run holds a handle to each page, so
        // no page of it is on a free list, and none is written while the run lives: writes
        // need `get_mut` on a page's only handle, and the run's count makes at least two
        // wherever another handle exists.
        unsafe { std::slice::from_raw_parts(page.cast::<u8>(), usize::from(self.n) * PAGE_SIZE) }
    }
}

impl Drop for SlabRun {
    fn drop(&mut self) {
        for index in self.first..self.first + self.n {
            self.extent.release(index, LENT);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::PageRun;

    #[test]
    fn pages_are_distinct_initialized_and_reused_after_their_last_handle() {
        let slab = PageSlab::new(4);
        let mut pages: Vec<Block> = (0..6).map(|_| slab.take()).collect();
        assert_eq!(
            slab.allocated_bytes(),
            2 * 4 * PAGE_SIZE,
            "two extents of 4"
        );
        for (i, page) in pages.iter_mut().enumerate() {
            assert!(page.iter().all(|&b| b == 0), "a new extent is zeroed");
            page.get_mut().expect("one handle").fill(i as u8 + 1);
        }
        for (i, page) in pages.iter().enumerate() {
            assert!(
                page.iter().all(|&b| b == i as u8 + 1),
                "page {i} kept its bytes"
            );
        }
        let addr = pages[2].as_ptr();
        let held = pages[2].clone();
        drop(pages.remove(2));
        let other = slab.take();
        assert_ne!(
            other.as_ptr(),
            addr,
            "a page with a handle left is not reused"
        );
        drop(held);
        let reused = slab.take();
        assert_eq!(reused.as_ptr(), addr, "the freed page is reused first");
        assert_eq!(
            reused[0], 3,
            "a reused page holds its old bytes until filled"
        );
        assert_eq!(slab.allocated_bytes(), 2 * 4 * PAGE_SIZE, "no third extent");
    }

    #[cfg(all(target_os = "linux", not(miri)))]
    #[test]
    fn a_full_extent_is_aligned_to_its_size() {
        let slab = PageSlab::new(PAGES_PER_EXTENT);
        let first = slab.take();
        let second = slab.take();
        assert_eq!(first.as_ptr() as usize % EXTENT_BYTES, 0, "one huge page");
        assert_eq!(
            second.as_ptr() as usize,
            first.as_ptr() as usize + PAGE_SIZE
        );
        assert!(first.iter().chain(second.iter()).all(|&b| b == 0));
        assert_eq!(slab.allocated_bytes(), EXTENT_BYTES);
    }

    #[cfg(all(target_os = "linux", not(miri)))]
    #[test]
    fn the_next_extent_is_made_ahead_up_to_the_caches_size() {
        let wait_for = |slab: &PageSlab, bytes: usize| {
            let start = std::time::Instant::now();
            while slab.allocated_bytes() != bytes {
                assert!(start.elapsed().as_secs() < 30, "no spare extent made");
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        };
        let slab = PageSlab::new(3 * PAGES_PER_EXTENT);
        let mut pages = vec![slab.take()];
        wait_for(&slab, 2 * EXTENT_BYTES);
        pages.extend((0..PAGES_PER_EXTENT).map(|_| slab.take()));
        wait_for(&slab, 3 * EXTENT_BYTES);
        let second = pages[PAGES_PER_EXTENT].as_ptr() as usize;
        assert_eq!(
            second % EXTENT_BYTES,
            0,
            "the spare is a full, aligned extent"
        );
        assert!(pages[PAGES_PER_EXTENT].iter().all(|&b| b == 0));
        pages.extend((0..PAGES_PER_EXTENT).map(|_| slab.take()));
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(
            slab.allocated_bytes(),
            3 * EXTENT_BYTES,
            "none past the cache's size"
        );
        // Past its size (pages kept by readers) the slab still grows, on demand.
        pages.extend((0..PAGES_PER_EXTENT).map(|_| slab.take()));
        assert_eq!(pages.len(), 3 * PAGES_PER_EXTENT + 1);
        assert_eq!(slab.allocated_bytes(), 4 * EXTENT_BYTES);
    }

    #[test]
    fn a_shared_page_is_immutable_and_outlives_its_slab() {
        let slab = PageSlab::new(PAGES_PER_EXTENT * 2);
        let mut page = slab.take();
        page.get_mut().expect("one handle")[PAGE_SIZE - 1] = 7;
        let copy = page.clone();
        assert_eq!(Block::handle_count(&page), 2);
        assert!(page.get_mut().is_none());
        drop(slab);
        drop(page);
        assert_eq!(Block::handle_count(&copy), 1);
        assert_eq!(copy[PAGE_SIZE - 1], 7, "the extent lives while a page does");
        let mut copy = copy;
        assert!(copy.get_mut().is_some(), "the last handle may write again");
    }

    #[test]
    fn a_run_of_consecutive_pages_reads_as_one_slice_and_holds_its_pages() {
        let slab = PageSlab::new(4);
        let mut pages: Vec<Block> = (0..6).map(|_| slab.take()).collect();
        for (i, page) in pages.iter_mut().enumerate() {
            page.get_mut().expect("one handle").fill(i as u8 + 1);
        }
        let slab_pages = |blocks: &[Block]| -> Vec<Option<SlabPage>> {
            blocks
                .iter()
                .map(|b| match &b.0 {
                    crate::block::Repr::Slab(page) => Some(page.clone()),
                    crate::block::Repr::Heap(_) => None,
                })
                .collect()
        };
        let handles = slab_pages(&pages);
        let join = |range: std::ops::Range<usize>, max: usize| {
            let mut pages = handles[range].iter();
            let mut run = SlabRun::of(pages.next()?.as_ref()?);
            for page in pages {
                if !run.extend(page.as_ref()?, max) {
                    return None;
                }
            }
            Some(run)
        };
        // Pages 1..4 are consecutive in the first extent; 3..5 cross into the second.
        let run = join(1..4, 4).expect("consecutive pages of one extent");
        assert!(join(3..5, 4).is_none(), "two extents");
        assert!(join(1..4, 2).is_none(), "longer than the most allowed");
        assert!(join(0..1, 4).is_some(), "one page");
        let mut second = SlabRun::of(handles[2].as_ref().unwrap());
        assert!(
            !second.extend(handles[1].as_ref().unwrap(), 4),
            "out of order"
        );
        assert_eq!(second.bytes().len(), PAGE_SIZE, "unchanged");
        drop(second);
        let bytes = run.bytes();
        assert_eq!(bytes.len(), 3 * PAGE_SIZE);
        for (i, chunk) in bytes.chunks(PAGE_SIZE).enumerate() {
            assert!(
                chunk.iter().all(|&b| b == i as u8 + 2),
                "page {} of the run",
                i + 1
            );
        }
        // A run's handles are lent: they keep the pages but do not pin them.
        assert_eq!(
            Block::handle_count(&pages[1]),
            3,
            "page, its clone, the run"
        );
        assert_eq!(
            Block::pinning_count(&pages[1]),
            2,
            "the run's handle is lent"
        );
        let tail = run.pages(1, 3).expect("inside the run");
        assert_eq!(Block::pinning_count(&pages[2]), 2);
        assert_eq!(Block::handle_count(&pages[2]), 4);
        assert!(run.pages(2, 4).is_none() && run.pages(1, 1).is_none());
        assert_eq!(tail.bytes()[0], 3);
        // With every other handle gone, the runs keep their pages off the free list.
        drop(handles);
        let first_page = pages[1].as_ptr();
        pages.drain(1..4);
        drop(run);
        let taken: Vec<Block> = (0..2).map(|_| slab.take()).collect();
        assert!(
            taken.iter().all(|b| b.as_ptr() != tail.bytes().as_ptr()),
            "a page a run holds is not reused"
        );
        assert_eq!(
            taken[0].as_ptr(),
            first_page,
            "the page only the dropped run held is"
        );
        assert_eq!(&tail.bytes()[PAGE_SIZE..PAGE_SIZE + 2], &[4, 4]);
        drop(tail);
        assert_eq!(slab.allocated_bytes(), 2 * 4 * PAGE_SIZE, "no third extent");
    }

    #[test]
    fn pages_taken_apart_never_come_between_a_runs_pages() {
        let slab = PageSlab::new(16);
        let mut run = Vec::new();
        let mut apart = Vec::new();
        for _ in 0..6 {
            run.push(slab.take());
            apart.push(slab.take_apart());
        }
        for pages in [&run, &apart] {
            for pair in pages.windows(2) {
                assert_eq!(
                    pair[1].as_ptr() as usize,
                    pair[0].as_ptr() as usize + PAGE_SIZE,
                    "consecutive pages of one extent"
                );
            }
        }
        assert!(PageRun::join(&run).is_some());
        assert_eq!(
            slab.allocated_bytes(),
            2 * 16 * PAGE_SIZE,
            "one extent each"
        );
        // A freed page is reused by either before anything new is carved.
        let freed = apart.pop().expect("six").as_ptr();
        assert_eq!(slab.take().as_ptr(), freed);
    }

    #[test]
    fn pages_move_between_threads() {
        let slab = Arc::new(PageSlab::new(8));
        let workers: Vec<_> = (0..4u8)
            .map(|t| {
                let slab = Arc::clone(&slab);
                std::thread::spawn(move || {
                    // Miri checks every byte access for races: fewer rounds there.
                    let rounds = if cfg!(miri) { 3 } else { 20 };
                    for round in 0..rounds {
                        let mut page = slab.take();
                        page.get_mut().expect("one handle").fill(t ^ round);
                        let seen = page.clone();
                        assert!(seen.iter().all(|&b| b == t ^ round));
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().expect("worker");
        }
        assert!(
            slab.allocated_bytes() <= 2 * 8 * PAGE_SIZE,
            "freed pages were reused (4 threads taking pages one at a time, 2 handles each)"
        );
    }
}
