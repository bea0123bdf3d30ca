//! Fuzz target `image_open_scan`: arbitrary bytes as a whole image layer file. Verify, open, a
//! full scan, point reads and reconstruct lookups, vectored reads, dump and manifest must give
//! results or corruption errors, never panic, hang or over-allocate; a file that verifies clean
//! must read without errors, and its point and vectored reads must agree with its scan
//! (`strata_image::testing::open_scan` checks that). The same function runs under proptest and
//! over damaged golden image files in `crates/strata-image/tests/it/sweep.rs`.

#![no_main]

strata_fuzz::oracle_target!(strata_image::testing::open_scan);
