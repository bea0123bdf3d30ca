//! Test support, not API: hidden from the docs (`#[doc(hidden)]`), with no stability promise;
//! it may change or go in any release.
//!
//! The oracle of the `timeline_layer_map` fuzz target (`fuzz/fuzz_targets/timeline_layer_map.rs`),
//! shared with this crate's property tests so that what the fuzzer explores also runs under
//! `cargo test`.
//!
//! Input: text, one directory entry name per line. Every name is classified
//! ([`classify_entry`], which must not panic), the layer names build a
//! [`LayerMap`], and the map is queried at keys and LSNs around every layer boundary.
//! Invariants checked (a panic here is the bug the fuzzer looks for):
//! * a class is a pure function of the name, and a layer's descriptor prints as a name that
//!   classifies back to the same descriptor;
//! * every `search` returns a layer that covers the key, started below the bound, with a
//!   floor below the bound and not below the layer's start; chained searches terminate;
//! * `range_search` agrees with `search` at every probed key of its range.

use std::collections::BTreeSet;

use strata_key::{Key, KeyRange, Lsn};

use crate::desc::LayerDesc;
use crate::dir::{EntryClass, classify_entry};
use crate::layer_map::LayerMap;
use crate::verify::check_layer_shapes;

/// Most names and probes one input may use, so one run stays fast.
pub const MAX_NAMES: usize = 64;

/// Runs the checks on `data` (lossily UTF-8); returns the number of layers in the map.
///
/// # Panics
///
/// When an invariant of the module docs breaks.
pub fn layer_map_names(data: &[u8]) -> usize {
    let text = String::from_utf8_lossy(data);
    let mut descs = Vec::new();
    for name in text.lines().take(MAX_NAMES) {
        let class = classify_entry(name);
        assert_eq!(class, classify_entry(name), "classification is pure");
        if let EntryClass::Layer(layer) = class {
            let desc = LayerDesc::from_name(&layer);
            match classify_entry(&desc.to_string()) {
                EntryClass::Layer(back) => assert_eq!(LayerDesc::from_name(&back), desc),
                other => panic!("{desc} classifies as {other:?}"),
            }
            descs.push(desc);
        }
    }
    check_map(&descs);
    descs.len()
}

/// The map checks of the module docs over `descs`.
///
/// # Panics
///
/// When an invariant breaks.
pub fn check_map(descs: &[LayerDesc]) {
    let (map, _) = LayerMap::new(descs.iter().map(|d| (*d, ())));
    check_layer_shapes(descs);
    let mut keys = BTreeSet::from([Key::MIN]);
    let mut lsns = BTreeSet::from([Lsn(1), Lsn(2), Lsn::MAX]);
    for (d, _) in map.layers().iter().take(MAX_NAMES) {
        for k in [d.key_range.start, d.key_range.end] {
            keys.insert(k);
            keys.extend(k.checked_next());
        }
        for l in [d.lsn_range.start, d.lsn_range.end] {
            lsns.insert(l);
            lsns.extend(l.checked_add(1));
        }
    }
    let keys: Vec<Key> = keys.into_iter().collect();
    for &end in lsns.iter().take(2 * MAX_NAMES) {
        for &key in &keys {
            check_chain(&map, key, end);
        }
        for pair in keys.windows(2).take(MAX_NAMES) {
            let [a, b] = [pair[0], pair[1]];
            let range = KeyRange::new(a, b);
            let Some(result) = map.range_search(range, end) else {
                assert!(
                    keys.iter()
                        .filter(|k| range.contains(k))
                        .all(|k| map.search(*k, end).is_none())
                );
                continue;
            };
            for key in keys.iter().filter(|k| range.contains(k)) {
                let want = map.search(*key, end);
                let got = result
                    .found
                    .iter()
                    .find(|(_, rs)| rs.iter().any(|r| r.contains(key)))
                    .map(|(sr, _)| *sr);
                assert_eq!(got, want, "range_search vs search at {key}, end {end}");
                let missing = result.not_found.iter().any(|r| r.contains(key));
                assert_eq!(missing, want.is_none());
            }
        }
    }
}

fn check_chain(map: &LayerMap, key: Key, end: Lsn) {
    let mut cont = end;
    for _ in 0..=map.len() + 1 {
        let Some(found) = map.search(key, cont) else {
            return;
        };
        let (desc, _) = map
            .get(found.layer)
            .expect("search returns a layer of the map");
        assert!(desc.key_range.contains(&key), "{desc} does not cover {key}");
        assert!(
            desc.lsn_range.start < cont,
            "{desc} starts at or above {cont}"
        );
        assert!(found.lsn_floor < cont && found.lsn_floor >= desc.lsn_range.start);
        if !desc.is_delta {
            return;
        }
        cont = found.lsn_floor;
    }
    panic!("search chain for {key} from {end} does not terminate");
}
