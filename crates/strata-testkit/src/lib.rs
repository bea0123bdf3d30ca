//! Test support shared by every Strata crate: where the golden files written by Neon live, and
//! parsers for their manifests and query lists (format: `../shared/golden/README`); the same for
//! the image-layer cases of `../shared/golden-image`; and [`PeakAlloc`], the counting allocator of
//! the corruption sweeps; [`bench_keys`] and [`time_runs`] for the criterion benches;
//! [`files_in`] for the writers' leave-nothing-behind checks.
//!
//! The golden directory is resolved once, here: `$STRATA_GOLDEN_DIR` if set, else
//! `<repository root>/../shared/golden`. Functions that load a case panic with a message naming
//! the path when it is missing: they are for tests, where that is the clearest failure.
//!
//! Invariant: this crate depends on `strata-key` only, so any crate's tests may use it.

mod alloc;
mod bench;
mod dir;
mod golden;
mod image;
mod manifest;
mod queries;

pub use alloc::{PeakAlloc, peak, reset_peak};
pub use bench::{bench_keys, time_runs};
pub use dir::files_in;
pub use golden::{golden_cases, golden_dir, golden_image_dir, layer_bytes, layer_path};
pub use image::{
    ImageEntry, ImageManifest, image_cases, image_layer_bytes, image_layer_path, load_image_queries,
};
pub use manifest::{Manifest, ManifestEntry, ManifestSummary, Payload};
pub use queries::{Query, load_queries, parse_queries};

/// The SHA-256 digest of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}
