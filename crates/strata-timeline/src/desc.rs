//! [`LayerDesc`]: what the layer map knows of a layer (TIMELINE.md 1.6): key range, LSN range,
//! delta or image. Its identity within a timeline; the generation is not part of it.
//!
//! Invariants: the derived order is Neon's `LayerKey` order (LSN start, LSN end, key start,
//! key end, deltas before images), the order in which the layer map inserts layers; the
//! [`Display`](std::fmt::Display) form is the canonical file name without a generation.

use std::cmp::Ordering;
use std::fmt;

use strata_key::{DeltaLayerName, ImageLayerName, Key, KeyRange, LayerName, Lsn, LsnRange};

/// A layer's descriptor: its identity within a timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LayerDesc {
    /// The keys it covers (end exclusive).
    pub key_range: KeyRange,
    /// The LSNs it covers (end exclusive; `P..P+1` for an image at `P`).
    pub lsn_range: LsnRange,
    /// Delta (true) or image (false).
    pub is_delta: bool,
}

impl LayerDesc {
    /// A delta layer over `key_range` and `lsn_range`.
    pub fn delta(key_range: KeyRange, lsn_range: LsnRange) -> LayerDesc {
        LayerDesc {
            key_range,
            lsn_range,
            is_delta: true,
        }
    }

    /// An image layer over `key_range` at `lsn` (LSN range `lsn..lsn+1`, saturating).
    pub fn image(key_range: KeyRange, lsn: Lsn) -> LayerDesc {
        LayerDesc {
            key_range,
            lsn_range: LsnRange::new(lsn, Lsn(lsn.0.saturating_add(1))),
            is_delta: false,
        }
    }

    /// The descriptor a file name gives (its generation dropped).
    pub fn from_name(name: &LayerName) -> LayerDesc {
        LayerDesc {
            key_range: name.key_range(),
            lsn_range: name.lsn_range(),
            is_delta: name.is_delta(),
        }
    }

    /// The image LSN (`lsn_range.start`); for a delta, its first LSN.
    pub fn lsn(&self) -> Lsn {
        self.lsn_range.start
    }

    /// True for an L0 delta: its key range is exactly `Key::MIN..Key::MAX` (TIMELINE.md 2.7,
    /// HEAD's rule: deltas only).
    pub fn is_l0(&self) -> bool {
        self.is_delta && self.key_range == KeyRange::new(Key::MIN, Key::MAX)
    }

    /// The layer's name without generation.
    pub fn name(&self) -> LayerName {
        if self.is_delta {
            LayerName::Delta(DeltaLayerName::new(self.key_range, self.lsn_range))
        } else {
            LayerName::Image(ImageLayerName::new(self.key_range, self.lsn_range.start))
        }
    }

    /// `"delta"` or `"image"`.
    pub fn kind(&self) -> &'static str {
        if self.is_delta { "delta" } else { "image" }
    }

    fn layer_key(&self) -> (Lsn, Lsn, Key, Key, bool) {
        (
            self.lsn_range.start,
            self.lsn_range.end,
            self.key_range.start,
            self.key_range.end,
            !self.is_delta,
        )
    }
}

impl PartialOrd for LayerDesc {
    fn partial_cmp(&self, other: &LayerDesc) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for LayerDesc {
    fn cmp(&self, other: &LayerDesc) -> Ordering {
        self.layer_key().cmp(&other.layer_key())
    }
}

impl fmt::Display for LayerDesc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_neons_layer_key_order() {
        let all = KeyRange::new(Key::MIN, Key::MAX);
        let img = LayerDesc::image(all, Lsn(0x10));
        let delta = LayerDesc::delta(all, LsnRange::new(Lsn(0x10), Lsn(0x11)));
        let later = LayerDesc::delta(all, LsnRange::new(Lsn(0x10), Lsn(0x20)));
        let mut v = vec![later, img, delta];
        v.sort();
        assert_eq!(v, [delta, img, later]);
        assert!(delta.is_l0());
        assert!(!img.is_l0());
    }

    #[test]
    fn name_round_trip() {
        let all = KeyRange::new(Key::MIN, Key::MAX);
        for desc in [
            LayerDesc::image(all, Lsn(0x30)),
            LayerDesc::delta(all, LsnRange::new(Lsn(1), Lsn(0x20))),
        ] {
            let name = LayerName::parse(&desc.to_string()).unwrap();
            assert_eq!(LayerDesc::from_name(&name), desc);
        }
    }
}
