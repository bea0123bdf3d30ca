//! Fuzz target `btree_roundtrip`: structured key sets (runs of keys sharing long prefixes,
//! key length 26, 18 or 4), optionally with out-of-order keys and oversized values, through
//! `DiskBtreeBuilder` and back through `DiskBtreeReader`, compared with a `BTreeMap` model
//! (`strata_btree::testing::roundtrip`). The same function runs under proptest in
//! `crates/strata-btree/tests/it/model.rs`.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use strata_btree::testing::{self, KeyRun, Probe};
use strata_btree::{MAX_VALUE, VisitDirection};

/// Aborts on any allocation above `strata_fuzz::MAX_ALLOC` (see `fuzz/src/lib.rs`).
#[global_allocator]
static ALLOC: strata_fuzz::CappedAlloc = strata_fuzz::CappedAlloc;

/// A run of keys. Counts and probe limits are `u8` so that most inputs stay small and fast
/// (with `u16` nearly every input expanded to the 4 000-entry cap, about 100 runs/s); many runs
/// still reach the cap and multi-leaf trees.
#[derive(Arbitrary, Debug)]
struct Run {
    base: u64,
    shared: u8,
    count: u8,
    stride: u32,
    value_seed: u64,
}

#[derive(Arbitrary, Debug)]
struct RawProbe {
    /// Index of an entry whose key the probe starts from (nudged by `delta`).
    pick: u16,
    delta: i8,
    backwards: bool,
    limit: u8,
}

#[derive(Arbitrary, Debug)]
struct Input {
    key_len: u8,
    runs: Vec<Run>,
    probes: Vec<RawProbe>,
    /// Entry indexes swapped with their successor before building (unsorted input).
    swaps: Vec<u16>,
    /// Entry indexes whose value is made too large.
    oversize: Vec<u16>,
}

fn check<const L: usize>(input: &Input) {
    let runs: Vec<KeyRun> = input
        .runs
        .iter()
        .map(|r| KeyRun {
            base: r.base,
            shared: r.shared,
            count: u16::from(r.count),
            stride: r.stride,
            value_seed: r.value_seed,
        })
        .collect();
    let mut entries = testing::expand_key_runs::<L>(&runs, 4_000);
    let n = entries.len();
    let probes: Vec<Probe<L>> = input
        .probes
        .iter()
        .filter_map(|p| {
            let mut key = entries.get(usize::from(p.pick) % n.max(1))?.0;
            if let Some(last) = key.last_mut() {
                *last = last.wrapping_add(p.delta as u8);
            }
            let dir = if p.backwards {
                VisitDirection::Backwards
            } else {
                VisitDirection::Forwards
            };
            Some(Probe {
                key,
                dir,
                limit: usize::from(p.limit),
            })
        })
        .collect();
    if n > 1 {
        for &i in &input.swaps {
            let i = usize::from(i) % (n - 1);
            entries.swap(i, i + 1);
        }
    }
    for &i in &input.oversize {
        if let Some(entry) = entries.get_mut(usize::from(i) % n.max(1)) {
            entry.1 += MAX_VALUE + 1;
        }
    }
    if let Err(mismatch) = testing::roundtrip(&entries, &probes) {
        panic!("{mismatch}");
    }
}

fuzz_target!(|input: Input| {
    match input.key_len % 3 {
        0 => check::<26>(&input),
        1 => check::<18>(&input),
        _ => check::<4>(&input),
    }
});
