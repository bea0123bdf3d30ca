//! The integration tests of `strata-image`, in one test binary.

mod crafted;
mod faults;
mod golden_read;
mod golden_write;
mod props;
mod shared;
mod stream;
mod support;
mod sweep;
mod workload;

/// Notes the largest single allocation, for the corruption sweep's bound.
#[global_allocator]
static ALLOC: strata_testkit::PeakAlloc = strata_testkit::PeakAlloc;
