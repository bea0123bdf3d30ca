//! Fuzz target `delta_open_scan`: arbitrary bytes as a whole delta layer file. Verify, open, a
//! full scan with values, point and vectored lookups, dump and manifest must give results or
//! corruption errors, never panic, hang or over-allocate; a file that verifies clean must read
//! without errors, and its vectored lookups must equal its point lookups
//! (`strata_delta::testing::open_scan` checks that). The same function runs under proptest and
//! over damaged golden files in `crates/strata-delta/tests/it/robustness.rs`.

#![no_main]

strata_fuzz::oracle_target!(strata_delta::testing::open_scan);
