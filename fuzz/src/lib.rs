//! Shared by the fuzz targets: [`CappedAlloc`], the global allocator each target installs.
//!
//! The targets run without a sanitizer (`cargo fuzz ... -s none`, on stable Rust, several
//! times faster). libFuzzer's `-malloc_limit_mb` only works under a sanitizer, and its
//! `-rss_limit_mb` misses memory that is reserved but never touched (`vec![0; n]` is a lazily
//! zeroed mapping), so a decoder that trusts a 2 GiB length field could pass unnoticed.
//! [`CappedAlloc`] closes that gap: any single allocation larger than [`MAX_ALLOC`] aborts the
//! process, which libFuzzer reports as a crash and saves under `fuzz/artifacts/<target>/`.
//!
//! Invariant: [`MAX_ALLOC`] is far above what any target legitimately needs (inputs are at
//! most 64 KiB, decompression is capped at 1 MiB) and far below what a length field read from
//! the input can ask for (up to 4 GiB).

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;

/// Largest single allocation a fuzz target may make: 64 MiB.
pub const MAX_ALLOC: usize = 64 << 20;

/// The system allocator, aborting on any allocation or reallocation above [`MAX_ALLOC`].
pub struct CappedAlloc;

impl CappedAlloc {
    fn check(size: usize) {
        if size > MAX_ALLOC {
            // Formatting into unbuffered stderr does not allocate.
            let _ = writeln!(
                std::io::stderr(),
                "strata-fuzz: allocation of {size} bytes exceeds the {MAX_ALLOC}-byte cap"
            );
            std::process::abort();
        }
    }
}

// SAFETY: every method forwards to `System` with the same arguments after a size check that
// either returns or aborts, so `System`'s guarantees carry over unchanged.
unsafe impl GlobalAlloc for CappedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::check(layout.size());
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract for `layout`.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::check(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::check(new_size);
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract for `ptr` and `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// The whole of a fuzz target whose oracle is a function `fn(&[u8]) -> Result<_, Mismatch>`
/// (a `Mismatch` is a reader contradicting itself): installs [`CappedAlloc`] and panics with
/// the mismatch. Use it in a target file after `#![no_main]`:
/// `strata_fuzz::oracle_target!(strata_delta::testing::open_scan);`.
#[macro_export]
macro_rules! oracle_target {
    ($oracle:path) => {
        /// Aborts on any allocation above `strata_fuzz::MAX_ALLOC` (see `fuzz/src/lib.rs`).
        #[global_allocator]
        static ALLOC: $crate::CappedAlloc = $crate::CappedAlloc;

        libfuzzer_sys::fuzz_target!(|data: &[u8]| {
            if let Err(mismatch) = $oracle(data) {
                panic!("{mismatch}");
            }
        });
    };
}
