//! Fuzz target `btree_decode`: arbitrary bytes as a B-tree index (1 to 8 blocks, an arbitrary
//! root and search key, key length 26, 18 or 4). Gets, visits both ways, a full scan and
//! `verify` must give results or corruption errors, never panic, loop or over-allocate; a tree
//! that verifies must read consistently (`strata_btree::testing::decode_arbitrary` checks that).
//! The same function runs under proptest in `crates/strata-btree/tests/it/model.rs`.

#![no_main]

strata_fuzz::oracle_target!(strata_btree::testing::decode_arbitrary);
