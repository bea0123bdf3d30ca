//! Integration tests of strata-timeline through its public API, over timeline directories
//! written with Strata's own layer writers (one test binary, modules per subject).

mod damaged;
mod dirs;
mod fuzz_oracle;
mod model;
mod support;
mod swap;
mod workload;
