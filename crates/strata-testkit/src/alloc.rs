//! [`PeakAlloc`]: a global allocator for test binaries that forwards to the system allocator
//! and notes, per thread, the largest single allocation asked for since [`reset_peak`], so a
//! test can assert that bad bytes never made a reader allocate more than the file holds
//! (the corruption sweeps). Install it with
//! `#[global_allocator] static ALLOC: strata_testkit::PeakAlloc = strata_testkit::PeakAlloc;`.

#![expect(
    unsafe_code,
    reason = "a counting global allocator needs `unsafe impl GlobalAlloc`"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Forwards every call to [`System`], noting the largest size asked for on this thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct PeakAlloc;

thread_local! {
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = PEAK.try_with(|p| p.set(p.get().max(size)));
}

/// Forgets this thread's peak.
pub fn reset_peak() {
    let _ = PEAK.try_with(|p| p.set(0));
}

/// The largest single allocation on this thread since [`reset_peak`] (0 unless [`PeakAlloc`]
/// is the global allocator).
pub fn peak() -> usize {
    PEAK.try_with(Cell::get).unwrap_or(0)
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; `note` neither allocates nor unwinds.
unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller's guarantees about `layout` are passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (through this allocator) with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: as for `dealloc`, and the caller's guarantees about `new_size`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
