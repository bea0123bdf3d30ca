//! The `timeline_layer_map` fuzz oracle under proptest: random directories of layer names
//! (valid, with generation suffixes, and garbage) must pass `strata_timeline::testing`.

use proptest::prelude::*;
use strata_key::{DeltaLayerName, ImageLayerName, Key, KeyRange, Lsn, LsnRange};
use strata_timeline::testing::layer_map_names;

fn key(n: u8) -> Key {
    Key::from_i128(i128::from(n) << 8)
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u8..20, 1u8..20, 1u64..60, 1u64..30).prop_map(|(a, w, l, h)| {
            let keys = KeyRange::new(key(a), key(a.saturating_add(w)));
            DeltaLayerName::new(keys, LsnRange::new(Lsn(l), Lsn(l + h))).to_string()
        }),
        (1u64..60, 1u64..30).prop_map(|(l, h)| {
            let keys = KeyRange::new(Key::MIN, Key::MAX);
            DeltaLayerName::new(keys, LsnRange::new(Lsn(l), Lsn(l + h))).to_string()
        }),
        (0u8..20, 1u8..20, 1u64..90).prop_map(|(a, w, l)| {
            ImageLayerName::new(KeyRange::new(key(a), key(a.saturating_add(w))), Lsn(l)).to_string()
        }),
        (0u8..20, 1u8..20, 1u64..90).prop_map(|(a, w, l)| {
            let n = ImageLayerName::new(KeyRange::new(key(a), key(a.saturating_add(w))), Lsn(l));
            format!("{n}-v1-0000000{}", l % 10)
        }),
        "[a-z_.0-9-]{0,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn layer_map_oracle(names in prop::collection::vec(name(), 0..14)) {
        let n = layer_map_names(names.join("\n").as_bytes());
        prop_assert!(n <= names.len());
    }
}

#[test]
fn oracle_on_the_fuzz_seeds() {
    for seed in ["", "metadata\nephemeral-1\n\u{fffd}", "0\n\n\n"] {
        assert_eq!(layer_map_names(seed.as_bytes()), 0);
    }
}
