//! [`ValueReconstructResult`]: the outcome of one layer's part of a page reconstruction, as
//! Neon names it, for both kinds (a delta layer answers Complete or Continue, an image layer
//! Complete or Missing).

/// Whether a layer's lookup found everything the page needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueReconstructResult {
    /// An image (or a will_init record) was found: older layers are not needed.
    Complete,
    /// The history continues in older layers.
    Continue,
    /// The layer has nothing for the key (an image layer: the key does not exist at its LSN).
    Missing,
}

impl ValueReconstructResult {
    /// `"Complete"`, `"Continue"` or `"Missing"`, as in the golden query files.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueReconstructResult::Complete => "Complete",
            ValueReconstructResult::Continue => "Continue",
            ValueReconstructResult::Missing => "Missing",
        }
    }
}
