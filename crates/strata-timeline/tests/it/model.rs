//! Model-based property tests: random stacks of L0 deltas (whole key range), L1 deltas (key
//! slices) and image layers (holding the model's pages at their LSN, anywhere in the stack,
//! so also inside a delta's LSN span) written with Strata's writers, holding page images and
//! Neon records; every `get_page` and `get_pages` answer must equal the model of
//! `support::model_page` (an image layer lacking a key answers "not found", which is also
//! what the model says: no image at or below).

use std::collections::BTreeSet;

use proptest::prelude::*;
use strata_key::{Key, KeyRange, Lsn, LsnRange};

use crate::support::{Entries, clear, image, model_page, open, vm_key, write_delta, write_image};

/// Highest LSN entries get.
const MAX_LSN: u64 = 200;

#[derive(Debug, Clone)]
struct Case {
    n_keys: u32,
    entries: Vec<(u32, u64, bool, u8)>,
    cuts: Vec<u64>,
    /// Per segment: 0 = one L0 delta; otherwise a bit mask of key slice boundaries.
    layouts: Vec<u8>,
    /// Image layers: (LSN, first key, number of keys), holding the model's pages there.
    images: Vec<(u64, u32, u32)>,
}

fn case() -> impl Strategy<Value = Case> {
    (1u32..8).prop_flat_map(|n_keys| {
        (
            Just(n_keys),
            prop::collection::vec((0..n_keys, 1..=MAX_LSN, any::<bool>(), any::<u8>()), 0..40),
            prop::collection::vec(2..=MAX_LSN, 0..6),
            prop::collection::vec(any::<u8>(), 7),
            prop::collection::vec((1..=MAX_LSN, 0..n_keys, 1..=n_keys), 0..4),
        )
            .prop_map(|(n_keys, entries, cuts, layouts, images)| Case {
                n_keys,
                entries,
                cuts,
                layouts,
                images,
            })
    })
}

fn entries_of(case: &Case) -> Entries {
    let mut entries = Entries::new();
    for &(k, lsn, is_image, byte) in &case.entries {
        let value = if is_image {
            image(byte)
        } else {
            clear(k, u32::from(byte % 160), 1 + byte % 3)
        };
        entries.insert((vm_key(k), Lsn(lsn)), value);
    }
    entries
}

/// Writes the layers of `case` into `dir`; returns their file names.
fn write_layers(dir: &std::path::Path, case: &Case, entries: &Entries) -> Vec<String> {
    let mut cuts: BTreeSet<u64> = case.cuts.iter().copied().collect();
    cuts.insert(1);
    cuts.insert(MAX_LSN + 1);
    let cuts: Vec<u64> = cuts.into_iter().collect();
    let mut names = Vec::new();
    for (i, w) in cuts.windows(2).enumerate() {
        let lsns = LsnRange::new(Lsn(w[0]), Lsn(w[1]));
        let layout = case.layouts[i % case.layouts.len()];
        let mut bounds = vec![Key::MIN];
        if layout != 0 {
            for b in 1..case.n_keys.min(8) {
                if layout & (1 << b) != 0 {
                    bounds.push(vm_key(b));
                }
            }
        }
        bounds.push(Key::MAX);
        for kb in bounds.windows(2) {
            names.extend(write_delta(dir, entries, KeyRange::new(kb[0], kb[1]), lsns));
        }
    }
    for &(lsn, first, n) in &case.images {
        let keys = KeyRange::new(vm_key(first), vm_key(first + n));
        let pages: Vec<_> = (first..first + n)
            .filter_map(|k| model_page(entries, vm_key(k), Lsn(lsn)).map(|p| (vm_key(k), p)))
            .collect();
        names.extend(write_image(dir, keys, Lsn(lsn), &pages));
    }
    names
}

fn query_lsns(entries: &Entries) -> Vec<Lsn> {
    let mut lsns: BTreeSet<u64> = [0, 1, 2, MAX_LSN, MAX_LSN + 5].into();
    for (_, l) in entries.keys() {
        lsns.extend([l.0 - 1, l.0, l.0 + 1]);
    }
    lsns.into_iter().map(Lsn).collect()
}

fn check(case: Case) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let entries = entries_of(&case);
    write_layers(dir.path(), &case, &entries);
    let tl = open(dir.path());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let keys: Vec<Key> = (0..case.n_keys + 1).map(vm_key).collect();
    for lsn in query_lsns(&entries) {
        for &key in &keys {
            let want = model_page(&entries, key, lsn);
            let got = rt.block_on(tl.get_page(key, lsn));
            match (&want, &got) {
                (Some(w), Ok(g)) => prop_assert_eq!(w, g, "{} at {}", key, lsn),
                (None, Err(_)) => {}
                _ => prop_assert!(false, "{key} at {lsn}: model {want:?}, got {got:?}"),
            }
        }
        let keyspace = [KeyRange::new(keys[0], keys[keys.len() - 1].next())];
        let pages = rt.block_on(tl.get_pages(&keyspace, lsn));
        if lsn == Lsn(0) {
            prop_assert!(matches!(pages, Err(strata_timeline::Error::InvalidLsn(_))));
            continue;
        }
        let pages = pages.unwrap();
        prop_assert_eq!(pages.len(), keys.len());
        for (key, got) in pages {
            match (model_page(&entries, key, lsn), got) {
                (Some(w), Ok(g)) => prop_assert_eq!(w, g),
                (None, Err(_)) => {}
                (w, g) => prop_assert!(false, "get_pages {key} at {lsn}: model {w:?}, got {g:?}"),
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn pages_equal_the_model(case in case()) {
        check(case)?;
    }
}
