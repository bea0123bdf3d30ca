//! The layer map (TIMELINE.md 2): the historic layers of one timeline indexed for Neon's
//! [`LayerMap::search`] and [`LayerMap::range_search`].
//!
//! Invariants:
//! * Layers are held sorted in `LayerKey` order ([`LayerDesc`]'s `Ord`), without duplicate
//!   identities; [`SearchResult::layer`] indexes that order ([`LayerMap::get`]).
//! * Versions (2.4): one snapshot of (image coverage, delta coverage) per distinct
//!   `lsn.start`, holding exactly the layers with `lsn.start <=` that LSN. A map is immutable
//!   once built; adding or replacing layers builds a new map ([`LayerMap::with_changes`]),
//!   which is what lets a [`Timeline`](crate::Timeline) swap maps atomically.
//! * `search` returns a floor strictly below `end_lsn` (so chained searches make progress),
//!   and `range_search` gives, for every key of its range, the answer of `search`.
//!
//! Cost: building clones the coverage once per distinct `lsn.start`, so memory is
//! O(layers × change points) — fine for the thousands of layers of one timeline directory; a
//! persistent tree (Neon's choice) would make it O(layers log layers).

use std::collections::BTreeMap;
use std::sync::Arc;

use strata_key::{Key, KeyRange, Lsn};

use crate::coverage::{Cover, LayerCoverage};
use crate::desc::LayerDesc;

/// The answer of a search: read layer number `layer` for LSNs `[lsn_floor, end_lsn)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SearchResult {
    /// Index of the layer in [`LayerMap::layers`].
    pub layer: usize,
    /// Lowest LSN to read from it; continue below with `end_lsn := lsn_floor`.
    pub lsn_floor: Lsn,
}

/// The answer of [`LayerMap::range_search`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeSearchResult {
    /// Key ranges per search result, ascending, adjacent ranges merged.
    pub found: BTreeMap<SearchResult, Vec<KeyRange>>,
    /// Key ranges no layer covers, ascending.
    pub not_found: Vec<KeyRange>,
}

#[derive(Debug, Clone, Default)]
struct Version {
    image: LayerCoverage,
    delta: LayerCoverage,
}

/// The historic layers of a timeline, indexed for search. `T` is what the caller keeps per
/// layer (an open file, a size, nothing).
#[derive(Debug, Clone)]
pub struct LayerMap<T = ()> {
    layers: Vec<(LayerDesc, T)>,
    versions: BTreeMap<Lsn, Arc<Version>>,
}

impl<T> Default for LayerMap<T> {
    fn default() -> LayerMap<T> {
        LayerMap {
            layers: Vec::new(),
            versions: BTreeMap::new(),
        }
    }
}

impl<T> LayerMap<T> {
    /// Builds the map of `layers`. Of several layers with the same descriptor the first is
    /// kept; the others are returned.
    pub fn new(
        layers: impl IntoIterator<Item = (LayerDesc, T)>,
    ) -> (LayerMap<T>, Vec<(LayerDesc, T)>) {
        let mut layers: Vec<(LayerDesc, T)> = layers.into_iter().collect();
        layers.sort_by_key(|a| a.0);
        let mut kept: Vec<(LayerDesc, T)> = Vec::with_capacity(layers.len());
        let mut dropped = Vec::new();
        for layer in layers {
            if kept.last().is_some_and(|last| last.0 == layer.0) {
                dropped.push(layer);
            } else {
                kept.push(layer);
            }
        }
        let versions = build_versions(&kept);
        (
            LayerMap {
                layers: kept,
                versions,
            },
            dropped,
        )
    }

    /// Every layer, in `LayerKey` order.
    pub fn layers(&self) -> &[(LayerDesc, T)] {
        &self.layers
    }

    /// Layer number `idx`.
    pub fn get(&self, idx: usize) -> Option<&(LayerDesc, T)> {
        self.layers.get(idx)
    }

    /// The index of the layer with descriptor `desc`.
    pub fn position(&self, desc: &LayerDesc) -> Option<usize> {
        self.layers.binary_search_by(|(d, _)| d.cmp(desc)).ok()
    }

    /// Number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// True if the map holds no layer.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The L0 deltas (key range exactly `Key::MIN..Key::MAX`), in `LayerKey` order.
    pub fn l0_deltas(&self) -> impl Iterator<Item = &(LayerDesc, T)> {
        self.layers.iter().filter(|(d, _)| d.is_l0())
    }

    /// The newest layer holding data for `key` below `end_lsn` (exclusive), and the floor
    /// below which it must not be read (TIMELINE.md 2.5).
    pub fn search(&self, key: Key, end_lsn: Lsn) -> Option<SearchResult> {
        let version = self.version(end_lsn)?;
        self.select(version.delta.query(key), version.image.query(key), end_lsn)
    }

    /// [`LayerMap::search`] for every key of `range` at once (TIMELINE.md 2.6); `None` when no
    /// layer starts below `end_lsn`.
    pub fn range_search(&self, range: KeyRange, end_lsn: Lsn) -> Option<RangeSearchResult> {
        let version = self.version(end_lsn)?;
        let mut result = RangeSearchResult::default();
        if range.is_empty() {
            return Some(result);
        }
        let (mut delta, delta_points) = version.delta.walk(range);
        let (mut image, image_points) = version.image.walk(range);
        let mut start = range.start;
        let (mut di, mut ii) = (0, 0);
        loop {
            let next_d = delta_points.get(di).map(|p| p.0);
            let next_i = image_points.get(ii).map(|p| p.0);
            let next = match (next_d, next_i) {
                (None, None) => break,
                (Some(d), None) => d,
                (None, Some(i)) => i,
                (Some(d), Some(i)) => d.min(i),
            };
            self.assign(
                &mut result,
                KeyRange::new(start, next),
                delta,
                image,
                end_lsn,
            );
            if let Some((k, cover)) = delta_points.get(di)
                && *k == next
            {
                delta = *cover;
                di += 1;
            }
            if let Some((k, cover)) = image_points.get(ii)
                && *k == next
            {
                image = *cover;
                ii += 1;
            }
            start = next;
        }
        self.assign(
            &mut result,
            KeyRange::new(start, range.end),
            delta,
            image,
            end_lsn,
        );
        Some(result)
    }

    /// A new map: this one without the layers of `remove` (which must all be present) and with
    /// `add` (which must not be). Neither this map nor readers of it see the change.
    pub fn with_changes(
        &self,
        remove: &[LayerDesc],
        add: Vec<(LayerDesc, T)>,
    ) -> Result<LayerMap<T>, crate::Error>
    where
        T: Clone,
    {
        for desc in remove {
            if self.position(desc).is_none() {
                return Err(crate::Error::NoSuchLayer(desc.to_string()));
            }
        }
        let mut layers: Vec<(LayerDesc, T)> = self
            .layers
            .iter()
            .filter(|(d, _)| !remove.contains(d))
            .cloned()
            .collect();
        for (desc, _) in &add {
            if layers.iter().any(|(d, _)| d == desc) {
                return Err(crate::Error::DuplicateLayer(desc.to_string()));
            }
        }
        layers.extend(add);
        let (map, dropped) = LayerMap::new(layers);
        match dropped.first() {
            Some((desc, _)) => Err(crate::Error::DuplicateLayer(desc.to_string())),
            None => Ok(map),
        }
    }

    /// The snapshot holding the layers with `lsn.start < end_lsn`.
    fn version(&self, end_lsn: Lsn) -> Option<&Version> {
        let last = end_lsn.checked_sub(1)?;
        self.versions.range(..=last).next_back().map(|(_, v)| &**v)
    }

    /// The table of TIMELINE.md 2.5.
    fn select(&self, delta: Cover, image: Cover, end_lsn: Lsn) -> Option<SearchResult> {
        let desc = |cover: Cover| {
            cover.and_then(|(_, idx)| self.layers.get(idx).map(|(d, _)| (idx, d.lsn_range)))
        };
        let found = |layer, lsn_floor| Some(SearchResult { layer, lsn_floor });
        match (desc(delta), desc(image)) {
            (None, None) => None,
            (None, Some((i, ilsn))) => found(i, ilsn.start),
            (Some((d, dlsn)), None) => found(d, dlsn.start),
            (Some((d, dlsn)), Some((i, ilsn))) => {
                let image_is_newer = ilsn.end >= dlsn.end;
                let exact = ilsn.start.checked_add(1) == Some(end_lsn);
                if image_is_newer || exact {
                    found(i, ilsn.start)
                } else {
                    let above_image = ilsn.start.checked_add(1).unwrap_or(Lsn::MAX);
                    found(d, dlsn.start.max(above_image))
                }
            }
        }
    }

    fn assign(
        &self,
        result: &mut RangeSearchResult,
        range: KeyRange,
        delta: Cover,
        image: Cover,
        end_lsn: Lsn,
    ) {
        if range.is_empty() {
            return;
        }
        let ranges = match self.select(delta, image, end_lsn) {
            Some(found) => result.found.entry(found).or_default(),
            None => &mut result.not_found,
        };
        match ranges.last_mut() {
            Some(last) if last.end == range.start => last.end = range.end,
            _ => ranges.push(range),
        }
    }
}

fn build_versions<T>(layers: &[(LayerDesc, T)]) -> BTreeMap<Lsn, Arc<Version>> {
    let mut versions = BTreeMap::new();
    let mut current = Version::default();
    for (idx, (desc, _)) in layers.iter().enumerate() {
        let coverage = if desc.is_delta {
            &mut current.delta
        } else {
            &mut current.image
        };
        coverage.insert(desc.key_range, desc.lsn_range.end, idx);
        let next_start = layers.get(idx + 1).map(|(d, _)| d.lsn_range.start);
        if next_start != Some(desc.lsn_range.start) {
            versions.insert(desc.lsn_range.start, Arc::new(current.clone()));
        }
    }
    versions
}

#[cfg(test)]
#[path = "layer_map_tests.rs"]
pub(crate) mod tests;
