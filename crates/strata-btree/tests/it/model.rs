//! Property tests against a `BTreeMap` model: random and structured key sets (long shared
//! prefixes), key lengths 26, 18 and 4, gets, visits and iterators both ways from random keys
//! with early stops; plus the fuzz targets' logic over random and mutated bytes.

use proptest::prelude::*;
use strata_blob::BlockBuf;
use strata_btree::testing::{self, KeyRun, Probe};
use strata_btree::{DiskBtreeBuilder, MAX_VALUE, VisitDirection};

/// A probe before resolution: (entry pick, last-byte nudge, direction, limit, random key,
/// whether to use the random key).
type RawProbe<const L: usize> = (usize, i8, VisitDirection, usize, [u8; L], bool);

fn dir() -> impl Strategy<Value = VisitDirection> {
    prop_oneof![
        Just(VisitDirection::Forwards),
        Just(VisitDirection::Backwards)
    ]
}

fn key_run() -> impl Strategy<Value = KeyRun> {
    (
        any::<u64>(),
        0u8..30,
        1u16..1500,
        prop_oneof![Just(1u32), 1u32..300, any::<u32>()],
        any::<u64>(),
    )
        .prop_map(|(base, shared, count, stride, value_seed)| KeyRun {
            base,
            shared,
            count,
            stride,
            value_seed,
        })
}

/// Probes near the keys (`pick` chooses an entry, `delta` nudges its last byte) or random.
fn probes<const L: usize>(entries: &[([u8; L], u64)], raw: &[RawProbe<L>]) -> Vec<Probe<L>> {
    raw.iter()
        .map(|&(pick, delta, dir, limit, random, use_random)| {
            let key = match entries.get(pick % entries.len().max(1)) {
                Some((k, _)) if !use_random => {
                    let mut k = *k;
                    if let Some(last) = k.last_mut() {
                        *last = last.wrapping_add(delta as u8);
                    }
                    k
                }
                _ => random,
            };
            Probe { key, dir, limit }
        })
        .collect()
}

fn raw_probes<const L: usize>() -> impl Strategy<Value = Vec<RawProbe<L>>> {
    prop::collection::vec(
        (
            any::<usize>(),
            -2i8..=2,
            dir(),
            prop_oneof![1usize..5, 1usize..2000],
            any::<[u8; L]>(),
            any::<bool>(),
        ),
        1..12,
    )
}

fn check_runs<const L: usize>(runs: &[KeyRun], raw: &[RawProbe<L>]) -> Result<(), TestCaseError> {
    let entries = testing::expand_key_runs::<L>(runs, 6000);
    let probes = probes(&entries, raw);
    let report = testing::roundtrip(&entries, &probes).map_err(|m| TestCaseError::fail(m.0))?;
    prop_assert_eq!(report.n_entries, entries.len());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn structured_keys_26(runs in prop::collection::vec(key_run(), 0..6), raw in raw_probes::<26>()) {
        check_runs::<26>(&runs, &raw)?;
    }

    #[test]
    fn structured_keys_18(runs in prop::collection::vec(key_run(), 0..6), raw in raw_probes::<18>()) {
        check_runs::<18>(&runs, &raw)?;
    }

    #[test]
    fn structured_keys_4(runs in prop::collection::vec(key_run(), 0..6), raw in raw_probes::<4>()) {
        check_runs::<4>(&runs, &raw)?;
    }

    #[test]
    fn random_keys_4(
        map in prop::collection::btree_map(any::<[u8; 4]>(), 0..=MAX_VALUE, 0..4000),
        raw in raw_probes::<4>(),
    ) {
        let entries: Vec<_> = map.into_iter().collect();
        let probes = probes(&entries, &raw);
        testing::roundtrip(&entries, &probes).map_err(|m| TestCaseError::fail(m.0))?;
    }

    #[test]
    fn random_keys_26(
        map in prop::collection::btree_map(any::<[u8; 26]>(), 0..=MAX_VALUE, 0..1500),
        raw in raw_probes::<26>(),
    ) {
        let entries: Vec<_> = map.into_iter().collect();
        let probes = probes(&entries, &raw);
        testing::roundtrip(&entries, &probes).map_err(|m| TestCaseError::fail(m.0))?;
    }

    /// Unordered input, duplicates and oversized values: rejected with typed errors, the rest
    /// of the stream still builds the model's tree.
    #[test]
    fn misuse_is_rejected(
        entries in prop::collection::vec(
            (any::<[u8; 2]>(), prop_oneof![0..=MAX_VALUE, MAX_VALUE + 1..=u64::MAX]),
            0..600,
        ),
        raw in raw_probes::<2>(),
    ) {
        let probes = probes(&entries, &raw);
        testing::roundtrip(&entries, &probes).map_err(|m| TestCaseError::fail(m.0))?;
    }

    /// Arbitrary bytes as an index: corruption errors only, and self-consistent reads when
    /// the bytes happen to verify.
    #[test]
    fn decode_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..3000)) {
        testing::decode_arbitrary(&data).map_err(|m| TestCaseError::fail(m.0))?;
    }

    /// Valid trees with a few bytes changed.
    #[test]
    fn decode_mutated_trees(
        n in 1u32..4000,
        stride in 1u32..5,
        mutations in prop::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        probe in any::<[u8; 4]>(),
    ) {
        let mut builder = DiskBtreeBuilder::<_, 4>::new(BlockBuf::new());
        for i in 0..n {
            builder.append(&(i * stride).to_be_bytes(), u64::from(i)).unwrap();
        }
        let (root, buf) = builder.finish().unwrap();
        prop_assume!(buf.n_blocks() <= 8);
        // decode_arbitrary's layout: selector (L = 4, block count), root, key, blocks.
        let n_blocks = buf.n_blocks() as u8;
        let mut data = vec![2 | ((n_blocks - 1) << 2)];
        data.extend_from_slice(&root.to_be_bytes());
        data.extend_from_slice(&probe);
        let header_len = data.len();
        for block in buf.blocks() {
            data.extend_from_slice(&block[..]);
        }
        let pristine = testing::decode_arbitrary(&data).map_err(|m| TestCaseError::fail(m.0))?;
        prop_assert!(pristine.verified);
        prop_assert_eq!(pristine.n_scanned, n as usize);
        let body = data.len() - header_len;
        for (pos, byte) in mutations {
            // Bias towards node headers and the start of the entries.
            let pos = header_len + if pos % 2 == 0 { (pos / 2) % body } else {
                (pos / 2 % n_blocks as usize) * 8192 + (pos / 16) % 64
            };
            data[pos] = byte;
        }
        testing::decode_arbitrary(&data).map_err(|m| TestCaseError::fail(m.0))?;
    }
}

/// splitmix64: deterministic pseudo-random numbers.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[test]
fn three_level_trees_26() {
    // Random keys barely compress: about 264 entries per node, so 100 000 keys need three
    // levels.
    let mut state = 7;
    let mut map = std::collections::BTreeMap::new();
    while map.len() < 100_000 {
        let mut key = [0u8; 26];
        for chunk in key.chunks_mut(8) {
            let bytes = splitmix(&mut state).to_be_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        map.insert(key, splitmix(&mut state) & MAX_VALUE);
    }
    let entries: Vec<_> = map.into_iter().collect();
    let mut probes = vec![
        Probe {
            key: [0; 26],
            dir: VisitDirection::Backwards,
            limit: 5,
        },
        Probe {
            key: [0xff; 26],
            dir: VisitDirection::Forwards,
            limit: 5,
        },
        Probe {
            key: entries[50_000].0,
            dir: VisitDirection::Backwards,
            limit: 1000,
        },
        Probe {
            key: entries[70_000].0,
            dir: VisitDirection::Forwards,
            limit: 30_000,
        },
    ];
    for _ in 0..50 {
        let mut key = entries[(splitmix(&mut state) % 100_000) as usize].0;
        key[25] ^= 1;
        let dir = if splitmix(&mut state) % 2 == 0 {
            VisitDirection::Forwards
        } else {
            VisitDirection::Backwards
        };
        probes.push(Probe {
            key,
            dir,
            limit: 700,
        });
    }
    let report = testing::roundtrip(&entries, &probes).unwrap();
    assert_eq!(report.depth, 3, "{report:?}");
}
