//! tmp
mod error;
mod format;
mod writer;
pub use error::*;
pub use format::*;
pub use writer::*;
