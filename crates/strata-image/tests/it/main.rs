//! The integration tests of `strata-image`, in one test binary.

mod golden_read;
mod golden_write;
mod support;
