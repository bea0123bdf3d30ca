//! Unit tests of the layer map: the worked example of TIMELINE.md 2.8 (search chains and
//! range searches) and Neon's own layer-map tests re-created.

use super::*;
use strata_key::LsnRange;

pub(crate) fn k(n: i128) -> Key {
    Key::from_i128(n)
}

pub(crate) fn keys(a: i128, b: i128) -> KeyRange {
    KeyRange::new(k(a), k(b))
}

fn all() -> KeyRange {
    KeyRange::new(Key::MIN, Key::MAX)
}

fn delta(r: KeyRange, a: u64, b: u64) -> LayerDesc {
    LayerDesc::delta(r, LsnRange::new(Lsn(a), Lsn(b)))
}

fn image(r: KeyRange, lsn: u64) -> LayerDesc {
    LayerDesc::image(r, Lsn(lsn))
}

/// The six layers of TIMELINE.md 2.8, named.
pub(crate) fn example_layers() -> Vec<(LayerDesc, &'static str)> {
    vec![
        (image(keys(0, 100), 0x10), "I1"),
        (delta(all(), 0x11, 0x30), "D1"),
        (delta(keys(0, 50), 0x30, 0x50), "D2"),
        (image(keys(20, 40), 0x40), "I2"),
        (delta(all(), 0x50, 0x60), "D3"),
        (image(keys(60, 100), 0x5F), "I3"),
    ]
}

fn example() -> LayerMap<&'static str> {
    let (map, dropped) = LayerMap::new(example_layers());
    assert!(dropped.is_empty());
    map
}

/// `search` chained as the reader does: (layer name, [lo, hi)) until none or an image.
fn chain(map: &LayerMap<&'static str>, key: Key, lsn: u64) -> Vec<(&'static str, u64, u64)> {
    let mut out = Vec::new();
    let mut cont = Lsn(lsn + 1);
    while let Some(found) = map.search(key, cont) {
        let (desc, name) = map.get(found.layer).unwrap();
        assert!(found.lsn_floor < cont, "search must make progress");
        out.push((*name, found.lsn_floor.0, cont.0));
        if !desc.is_delta {
            break;
        }
        cont = found.lsn_floor;
    }
    out
}

#[test]
fn worked_example_insertion_order() {
    let map = example();
    let names: Vec<_> = map.layers().iter().map(|(_, n)| *n).collect();
    assert_eq!(names, ["I1", "D1", "D2", "I2", "D3", "I3"]);
    let l0: Vec<_> = map.l0_deltas().map(|(_, n)| *n).collect();
    assert_eq!(l0, ["D1", "D3"]);
}

#[test]
fn worked_example_versions() {
    let map = example();
    let name = |c: Cover| c.map(|(_, idx)| map.get(idx).unwrap().1);
    let points = |cov: &LayerCoverage| -> Vec<(Key, Option<&str>)> {
        cov.points()
            .into_iter()
            .map(|(k, c)| (k, name(c)))
            .collect()
    };
    let v = |lsn: u64| map.versions.get(&Lsn(lsn)).unwrap();
    assert_eq!(points(&v(0x10).image), [(k(0), Some("I1")), (k(100), None)]);
    assert!(v(0x10).delta.points().is_empty());
    assert_eq!(
        points(&v(0x11).delta),
        [(k(0), Some("D1")), (Key::MAX, None)]
    );
    assert_eq!(
        points(&v(0x30).delta),
        [(k(0), Some("D2")), (k(50), Some("D1")), (Key::MAX, None)]
    );
    assert_eq!(
        points(&v(0x40).image),
        [
            (k(0), Some("I1")),
            (k(20), Some("I2")),
            (k(40), Some("I1")),
            (k(100), None)
        ]
    );
    assert_eq!(
        points(&v(0x50).delta),
        [(k(0), Some("D3")), (Key::MAX, None)]
    );
    assert_eq!(
        points(&v(0x5F).image),
        [
            (k(0), Some("I1")),
            (k(20), Some("I2")),
            (k(40), Some("I1")),
            (k(60), Some("I3")),
            (k(100), None)
        ]
    );
    assert_eq!(map.versions.len(), 6);
}

#[test]
fn worked_example_search_chains() {
    let map = example();
    type Case = (i128, u64, &'static [(&'static str, u64, u64)]);
    let cases: &[Case] = &[
        (
            30,
            0x58,
            &[("D3", 0x50, 0x59), ("D2", 0x41, 0x50), ("I2", 0x40, 0x41)],
        ),
        (30, 0x40, &[("I2", 0x40, 0x41)]),
        (
            30,
            0x3F,
            &[("D2", 0x30, 0x40), ("D1", 0x11, 0x30), ("I1", 0x10, 0x11)],
        ),
        (
            45,
            0x41,
            &[("D2", 0x30, 0x42), ("D1", 0x11, 0x30), ("I1", 0x10, 0x11)],
        ),
        (70, 0x45, &[("D1", 0x11, 0x46), ("I1", 0x10, 0x11)]),
        (
            70,
            0x5E,
            &[("D3", 0x50, 0x5F), ("D1", 0x11, 0x50), ("I1", 0x10, 0x11)],
        ),
        (70, 0x70, &[("I3", 0x5F, 0x71)]),
        (150, 0x55, &[("D3", 0x50, 0x56), ("D1", 0x11, 0x50)]),
        (30, 0x0F, &[]),
    ];
    for (key, lsn, want) in cases {
        assert_eq!(chain(&map, k(*key), *lsn), *want, "k{key} at {lsn:#x}");
    }
}

#[test]
fn worked_example_range_search() {
    let map = example();
    let idx = |name: &str| map.layers().iter().position(|(_, n)| *n == name).unwrap();
    let sr = |name: &str, floor: u64| SearchResult {
        layer: idx(name),
        lsn_floor: Lsn(floor),
    };
    let r = map.range_search(keys(0, 100), Lsn(0x59)).unwrap();
    assert_eq!(
        r.found,
        BTreeMap::from([(sr("D3", 0x50), vec![keys(0, 100)])])
    );
    assert!(r.not_found.is_empty());

    let r = map.range_search(keys(0, 100), Lsn(0x46)).unwrap();
    assert_eq!(
        r.found,
        BTreeMap::from([
            (sr("D2", 0x30), vec![keys(0, 20), keys(40, 50)]),
            (sr("D2", 0x41), vec![keys(20, 40)]),
            (sr("D1", 0x11), vec![keys(50, 100)]),
        ])
    );
    let r = map.range_search(keys(0, 100), Lsn(0x41)).unwrap();
    assert_eq!(
        r.found,
        BTreeMap::from([
            (sr("D2", 0x30), vec![keys(0, 20), keys(40, 50)]),
            (sr("I2", 0x40), vec![keys(20, 40)]),
            (sr("D1", 0x11), vec![keys(50, 100)]),
        ])
    );
    let r = map.range_search(keys(90, 200), Lsn(0x59)).unwrap();
    assert_eq!(
        r.found,
        BTreeMap::from([(sr("D3", 0x50), vec![keys(90, 200)])])
    );
    assert!(map.range_search(keys(0, 100), Lsn(0x10)).is_none());
}

#[test]
fn range_search_equals_search_per_key_on_neons_ranged_search_layers() {
    // Neon's `ranged_search` test: images spanning several LSNs, below and above deltas.
    let layers = vec![
        (delta(keys(0, 50), 0x10, 0x20), ()),
        (
            LayerDesc {
                key_range: keys(10, 40),
                lsn_range: LsnRange::new(Lsn(5), Lsn(0x30)),
                is_delta: false,
            },
            (),
        ),
        (delta(keys(20, 60), 0x30, 0x40), ()),
        (
            LayerDesc {
                key_range: keys(30, 45),
                lsn_range: LsnRange::new(Lsn(0x45), Lsn(0x50)),
                is_delta: false,
            },
            (),
        ),
        (delta(keys(5, 25), 0x40, 0x60), ()),
    ];
    let (map, _) = LayerMap::new(layers);
    for end in [0x5u64, 0x10, 0x21, 0x35, 0x46, 100] {
        for a in 0..60 {
            for b in a..=60 {
                check_range_search(&map, keys(a, b), Lsn(end));
            }
        }
    }
}

pub(crate) fn check_range_search<T>(map: &LayerMap<T>, range: KeyRange, end: Lsn) {
    let Some(r) = map.range_search(range, end) else {
        let mut key = range.start;
        while key < range.end {
            assert_eq!(map.search(key, end), None);
            key = key.next();
        }
        return;
    };
    let mut key = range.start;
    while key < range.end {
        let want = map.search(key, end);
        let got = r
            .found
            .iter()
            .find(|(_, ranges)| ranges.iter().any(|rr| rr.contains(&key)))
            .map(|(sr, _)| *sr);
        let missing = r.not_found.iter().any(|rr| rr.contains(&key));
        assert_eq!(got, want, "key {key} end {end}");
        assert_eq!(missing, want.is_none(), "key {key} end {end}");
        key = key.next();
    }
}

#[test]
fn off_by_one_and_ties() {
    // Neon's test_off_by_one: no version below the first start; start and end both see it.
    let (map, _) = LayerMap::new([(image(keys(0, 10), 5), ())]);
    assert_eq!(map.search(k(3), Lsn(5)), None);
    assert!(map.search(k(3), Lsn(6)).is_some());
    assert!(map.search(k(3), Lsn(100)).is_some());
    assert_eq!(map.search(k(10), Lsn(100)), None);
    // Ties on lsn.end: the taller delta wins everywhere.
    let (map, _) = LayerMap::new([
        (delta(keys(0, 10), 0x40, 0x50), "short"),
        (delta(keys(0, 10), 0x10, 0x50), "tall"),
    ]);
    let found = map.search(k(1), Lsn(0x50)).unwrap();
    assert_eq!(map.get(found.layer).unwrap().1, "tall");
}

#[test]
fn duplicates_and_changes() {
    let d = delta(all(), 1, 2);
    let (map, dropped) = LayerMap::new([(d, 1), (d, 2)]);
    assert_eq!(map.len(), 1);
    assert_eq!(dropped, [(d, 2)]);
    assert!(matches!(
        map.with_changes(&[], vec![(d, 3)]),
        Err(crate::Error::DuplicateLayer(_))
    ));
    let e = delta(all(), 2, 3);
    assert!(matches!(
        map.with_changes(&[e], vec![]),
        Err(crate::Error::NoSuchLayer(_))
    ));
    let next = map.with_changes(&[d], vec![(e, 4)]).unwrap();
    assert_eq!(map.len(), 1);
    assert_eq!(next.layers(), &[(e, 4)]);
    assert_eq!(next.search(k(0), Lsn(2)), None);
    assert_eq!(next.search(k(0), Lsn(3)).unwrap().lsn_floor, Lsn(2));
}
