//! What a traversal collects for one key ([`PageHistory`]) and the record of its visits
//! ([`Visit`]), Neon's `ValueReconstructState` turned oldest first and its traversal path.
//!
//! Invariant: a [`PageHistory`] holds records oldest first, every record newer than the
//! image; it is what [`Redo`](crate::Redo) receives.

use std::fmt;

use bytes::Bytes;
use strata_delta::NeonWalRecord;
use strata_key::Lsn;

use crate::desc::LayerDesc;

/// The history of one page as of a request LSN: a base image (or none) and the records
/// to apply on it, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageHistory {
    /// The base image and its LSN.
    pub img: Option<(Lsn, Bytes)>,
    /// The records, oldest first.
    pub records: Vec<(Lsn, NeonWalRecord)>,
}

/// How a layer visit ended (Neon's `ValueReconstructResult`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VisitResult {
    /// An image or a will_init record was found: nothing older is needed.
    Complete,
    /// Older data is needed.
    Continue,
    /// An image layer covers the key but does not hold it: the key does not exist.
    Missing,
}

impl VisitResult {
    /// `Complete`, `Continue` or `Missing`.
    pub fn as_str(self) -> &'static str {
        match self {
            VisitResult::Complete => "Complete",
            VisitResult::Continue => "Continue",
            VisitResult::Missing => "Missing",
        }
    }
}

/// One layer visit of a traversal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    /// The layer (its name without generation is its `Display` form).
    pub layer: LayerDesc,
    /// Which timeline level: 0 the timeline asked, 1 its ancestor, ...
    pub level: usize,
    /// The LSN range read, `[lo, hi)`.
    pub lo: Lsn,
    /// The end of the range read.
    pub hi: Lsn,
    /// How the visit ended.
    pub result: VisitResult,
    /// Records the visit collected.
    pub n_records: usize,
    /// Whether it found the image.
    pub found_image: bool,
}

impl fmt::Display for Visit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "layer traversal: result {}, cont_lsn {}, layer: {}",
            self.result.as_str(),
            self.lo,
            self.layer
        )
    }
}
