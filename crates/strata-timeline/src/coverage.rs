//! One-dimensional coverage (TIMELINE.md 2.3, Neon's `LayerCoverage`): for one kind of layer
//! at one moment of history, which layer with the greatest `lsn.end` covers each key.
//!
//! Invariants:
//! * The map holds change points `key -> Option<(lsn_end, layer)>`; the value at a key is the
//!   one of the greatest change point at or below it.
//! * After inserting layers in any order, the value at every key is the covering layer with
//!   the greatest `lsn.end`, ties going to the layer inserted first.
//! * Keys are compared in their 18-byte order (TIMELINE.md 2.2 allows it: the answers agree
//!   with Neon's 124-bit form wherever that form preserves order).

use std::collections::BTreeMap;

use strata_key::{Key, KeyRange, Lsn};

/// The value of a change point: the covering layer's `lsn.end` and its index, or nothing.
pub(crate) type Cover = Option<(Lsn, usize)>;

/// A coverage of keys by layers.
#[derive(Debug, Clone, Default)]
pub(crate) struct LayerCoverage {
    points: BTreeMap<Key, Cover>,
}

impl LayerCoverage {
    /// The layer covering `key`, if any.
    pub(crate) fn query(&self, key: Key) -> Cover {
        self.points
            .range(..=key)
            .next_back()
            .and_then(|(_, cover)| *cover)
    }

    /// Inserts `layer` over `range` with `lsn_end` (an empty range changes nothing).
    pub(crate) fn insert(&mut self, range: KeyRange, lsn_end: Lsn, layer: usize) {
        if range.is_empty() {
            return;
        }
        // 1. Pin the state outside the range.
        let at_start = self.query(range.start);
        self.points.entry(range.start).or_insert(at_start);
        let at_end = self.query(range.end);
        self.points.entry(range.end).or_insert(at_end);
        // 2. Cover the points that need it, one point per run.
        let mut to_remove = Vec::new();
        let mut in_run = false;
        for (key, cover) in self.points.range_mut(range.start..range.end) {
            let needs_cover = match cover {
                None => true,
                Some((end, _)) => *end < lsn_end,
            };
            if !needs_cover {
                in_run = false;
            } else if in_run {
                to_remove.push(*key);
            } else {
                *cover = Some((lsn_end, layer));
                in_run = true;
            }
        }
        for key in to_remove {
            self.points.remove(&key);
        }
    }

    /// The value at `start`, then every change point in `(start, end)` with its value.
    pub(crate) fn walk(&self, range: KeyRange) -> (Cover, Vec<(Key, Cover)>) {
        let first = self.query(range.start);
        let rest = if range.is_empty() {
            Vec::new()
        } else {
            self.points
                .range(range.start..range.end)
                .filter(|(k, _)| **k > range.start)
                .map(|(k, c)| (*k, *c))
                .collect()
        };
        (first, rest)
    }

    /// The change points in `range`, for tests and drawings.
    #[cfg(test)]
    pub(crate) fn points(&self) -> Vec<(Key, Cover)> {
        self.points.iter().map(|(k, c)| (*k, *c)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(n: u32) -> Key {
        Key {
            field6: n,
            ..Key::MIN
        }
    }

    fn range(a: u32, b: u32) -> KeyRange {
        KeyRange::new(k(a), k(b))
    }

    #[test]
    fn later_shadows_inside_its_range_only() {
        let mut c = LayerCoverage::default();
        c.insert(range(0, 10), Lsn(5), 0);
        c.insert(range(3, 6), Lsn(7), 1);
        assert_eq!(c.query(k(2)), Some((Lsn(5), 0)));
        assert_eq!(c.query(k(3)), Some((Lsn(7), 1)));
        assert_eq!(c.query(k(5)), Some((Lsn(7), 1)));
        assert_eq!(c.query(k(6)), Some((Lsn(5), 0)));
        assert_eq!(c.query(k(10)), None);
    }

    #[test]
    fn ties_keep_the_first_and_shorter_does_not_hide() {
        let mut c = LayerCoverage::default();
        c.insert(range(0, 10), Lsn(9), 0);
        c.insert(range(0, 10), Lsn(9), 1);
        c.insert(range(2, 4), Lsn(3), 2);
        assert_eq!(c.query(k(3)), Some((Lsn(9), 0)));
    }

    #[test]
    fn shared_end_does_not_leak_past_the_end() {
        // Neon's test_regression: a second layer sharing key.end.
        let mut c = LayerCoverage::default();
        c.insert(range(0, 5), Lsn(1), 0);
        c.insert(range(3, 5), Lsn(2), 1);
        assert_eq!(c.query(k(4)), Some((Lsn(2), 1)));
        assert_eq!(c.query(k(5)), None);
        assert_eq!(c.points().last(), Some(&(k(5), None)));
    }

    #[test]
    fn walk_gives_state_then_change_points() {
        let mut c = LayerCoverage::default();
        c.insert(range(0, 10), Lsn(5), 0);
        c.insert(range(3, 6), Lsn(7), 1);
        let (first, rest) = c.walk(range(1, 8));
        assert_eq!(first, Some((Lsn(5), 0)));
        assert_eq!(rest, [(k(3), Some((Lsn(7), 1))), (k(6), Some((Lsn(5), 0)))]);
    }
}
