//! Test support, not API: hidden from the docs (`#[doc(hidden)]`), with no stability promise;
//! it may change or go in any release.
//!
//! * [`fault`]: a fault-injecting [`Fs`](crate::Fs) and [`BlockReader`](crate::BlockReader)
//!   for the write and read fault sweeps of this crate and the layer crates.
//! * [`fuzz`]: the entry points of the `blob_read` fuzz target, shared with the property tests,
//!   and the poll-once helper and `Mismatch` type every crate's oracles use.
//! * [`lending`]: an in-memory reader that lends runs of its pages as the page cache does.

pub mod fault;
pub mod fuzz;
pub mod lending;
