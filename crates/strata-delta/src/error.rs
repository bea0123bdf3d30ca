//! The errors of delta layer writing and reading.
//!
//! Variants are added by the writer and reader modules; keep `Io` and `Corrupt` as the places
//! lower crates' I/O and corruption errors map into.

use std::io;

/// An error of a delta layer operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The operating system reported an I/O error.
    #[error(transparent)]
    Io(#[from] io::Error),
}
