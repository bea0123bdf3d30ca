//! Whole-workload benchmarks of Strata (see `benches/benches/`).
