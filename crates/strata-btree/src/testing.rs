//! Test support, not API: hidden from the docs (`#[doc(hidden)]`), with no stability promise;
//! it may change or go in any release.
//!
//! Model checks behind the fuzz targets `btree_decode` and `btree_roundtrip`, kept here as
//! plain functions so property tests run the same logic without cargo-fuzz.
//!
//! Invariants:
//! * Nothing here panics on any input; a failed check is a [`Mismatch`] the caller turns into a
//!   test failure (or a fuzzer crash).
//! * Trees live in memory ([`MemBlockReader`]), whose reads complete at once, so the async
//!   reader is driven by polling once with a no-op waker: no runtime needed.

use std::collections::BTreeMap;
use std::future::Future;

use strata_blob::{Block, BlockBuf, MemBlockReader, PAGE_SIZE};

use crate::error::Error;
use crate::format::MAX_VALUE;
use crate::reader::{DiskBtreeReader, VisitDirection};
use crate::writer::DiskBtreeBuilder;

pub use strata_blob::testing::fuzz::{Mismatch, poll_ready};

fn mismatch<T>(what: impl Into<String>) -> Result<T, Mismatch> {
    Err(Mismatch(what.into()))
}

fn run<F: Future>(fut: F) -> Result<F::Output, Mismatch> {
    poll_ready(fut).map_or_else(
        || mismatch("an in-memory read did not complete at once"),
        Ok,
    )
}

/// A bounded scan: where it starts, which way, and after how many entries the visitor stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe<const L: usize> {
    /// Search key.
    pub key: [u8; L],
    /// Scan direction.
    pub dir: VisitDirection,
    /// The visitor returns false once it has seen this many entries (at least one).
    pub limit: usize,
}

/// What [`decode_arbitrary`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecodeReport {
    /// Whether the bytes formed a tree that passed [`DiskBtreeReader::verify`].
    pub verified: bool,
    /// Entries a full forward scan returned before it ended or failed.
    pub n_scanned: usize,
    /// Operations that returned a corruption error.
    pub n_corrupt: usize,
}

/// Reads arbitrary bytes as a B-tree index and runs lookups and scans on it (the
/// `btree_decode` fuzz target). Corruption errors are fine; panics, unbounded scans, other
/// errors, and a tree that verifies but reads inconsistently are not.
///
/// Layout of `data`: byte 0 picks the key length (bits 0–1: 26, 18, 4, 4) and the number of
/// blocks (bits 2–4, plus one); bytes 1..5 the root (big-endian, modulo blocks + 2); then `L`
/// bytes of search key; the rest is split evenly over the blocks, each part at its block's
/// start and zeros after.
pub fn decode_arbitrary(data: &[u8]) -> Result<DecodeReport, Mismatch> {
    let (&selector, rest) = data.split_first().unwrap_or((&0, &[]));
    match selector & 3 {
        0 => decode_with::<26>(selector, rest),
        1 => decode_with::<18>(selector, rest),
        _ => decode_with::<4>(selector, rest),
    }
}

fn decode_with<const L: usize>(selector: u8, data: &[u8]) -> Result<DecodeReport, Mismatch> {
    let n_blocks = usize::from((selector >> 2) & 7) + 1;
    let mut root_bytes = [0u8; 4];
    let mut key = [0u8; L];
    let mut rest = data;
    for dst in root_bytes.iter_mut().chain(key.iter_mut()) {
        if let Some((&b, tail)) = rest.split_first() {
            *dst = b;
            rest = tail;
        }
    }
    let root = u32::from_be_bytes(root_bytes) % (n_blocks as u32 + 2);
    let chunk_len = rest.len().div_ceil(n_blocks).clamp(1, PAGE_SIZE);
    let mut chunks = rest.chunks(chunk_len);
    let blocks: Vec<Block> = (0..n_blocks)
        .map(|_| {
            let mut page = [0u8; PAGE_SIZE];
            if let Some(chunk) = chunks.next() {
                page.iter_mut().zip(chunk).for_each(|(d, s)| *d = *s);
            }
            Block::from_array(&page)
        })
        .collect();
    let tree = DiskBtreeReader::<_, L>::new(0, root, MemBlockReader::from_blocks(blocks));
    // A node holds at most (8192 - 5) / 5 entries, and a scan enters each node at most once.
    let bound = n_blocks * PAGE_SIZE / 5;
    let mut report = DecodeReport::default();
    report.n_corrupt += corrupt_count(run(tree.get(&key))?.map(drop))?;
    for dir in [VisitDirection::Forwards, VisitDirection::Backwards] {
        let mut seen = 0usize;
        let result = run(tree.visit(&key, dir, |_, _| {
            seen += 1;
            seen <= bound
        }))?;
        if seen > bound {
            return mismatch(format!("{dir:?} visit went past {bound} entries"));
        }
        report.n_corrupt += corrupt_count(result.map(drop))?;
    }
    let mut model = BTreeMap::new();
    let mut iter = tree.iter(&[0; L], VisitDirection::Forwards);
    while let Some(entry) = run(iter.next())? {
        match entry {
            Ok((k, v)) => {
                model.insert(k, v);
                if model.len() > bound {
                    return mismatch(format!("scan went past {bound} entries"));
                }
            }
            Err(e) => {
                report.n_corrupt += corrupt_count(Err(e))?;
                break;
            }
        }
    }
    report.n_scanned = model.len();
    match run(tree.verify())? {
        Ok(stats) => {
            report.verified = true;
            if stats.n_entries != model.len() as u64 {
                return mismatch("verify counted other entries than the scan returned");
            }
            let probes = [VisitDirection::Forwards, VisitDirection::Backwards].map(|dir| Probe {
                key,
                dir,
                limit: 3,
            });
            check_against_model(&tree, &model, &probes)?;
        }
        Err(e) => report.n_corrupt += corrupt_count(Err(e))?,
    }
    Ok(report)
}

/// 1 for a corruption error, 0 for success; any other error is a mismatch (in-memory bytes
/// can only be corrupt, never fail I/O).
fn corrupt_count(result: Result<(), Error>) -> Result<usize, Mismatch> {
    match result {
        Ok(()) => Ok(0),
        Err(Error::Corrupt(_)) => Ok(1),
        Err(e) => mismatch(format!("non-corruption error from in-memory bytes: {e}")),
    }
}

/// What [`roundtrip`] built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RoundtripReport {
    /// Entries the builder accepted.
    pub n_entries: usize,
    /// Blocks it wrote.
    pub n_blocks: u32,
    /// Levels of the tree (0 if it was empty).
    pub depth: u32,
}

/// Feeds `entries` in the given order to a builder, then checks the tree against a
/// `BTreeMap` model (the `btree_roundtrip` fuzz target and the property tests).
///
/// Unsorted keys and values above [`MAX_VALUE`] must be rejected with their typed errors
/// (and leave the builder usable); an empty input must give [`Error::Empty`]. The built tree
/// must verify, hold exactly the accepted entries, and answer gets, scans from every probe
/// (visitor and iterator, both directions, with early stops) as the model does.
pub fn roundtrip<const L: usize>(
    entries: &[([u8; L], u64)],
    probes: &[Probe<L>],
) -> Result<RoundtripReport, Mismatch> {
    let mut builder = DiskBtreeBuilder::<_, L>::new(BlockBuf::new());
    let mut model = BTreeMap::new();
    let mut last_key: Option<[u8; L]> = None;
    for (key, value) in entries {
        let result = builder.append(key, *value);
        let expect_unsorted = last_key.is_some_and(|last| *key <= last);
        match result {
            Err(Error::ValueTooLarge(v)) if *value > MAX_VALUE && v == *value => {}
            Err(Error::Unsorted { .. }) if *value <= MAX_VALUE && expect_unsorted => {}
            Ok(()) if *value <= MAX_VALUE && !expect_unsorted => {
                model.insert(*key, *value);
                last_key = Some(*key);
            }
            other => return mismatch(format!("append({key:?}, {value}) gave {other:?}")),
        }
    }
    if builder.n_entries() != model.len() as u64 {
        return mismatch("n_entries differs from the number of accepted entries");
    }
    let (root, buf) = match builder.finish() {
        Err(Error::Empty) if model.is_empty() => return Ok(RoundtripReport::default()),
        Ok(done) if !model.is_empty() => done,
        other => return mismatch(format!("finish gave {:?}", other.map(|(root, _)| root))),
    };
    let n_blocks = buf.n_blocks();
    if root.checked_add(1) != Some(n_blocks) {
        return mismatch(format!("root {root} is not the last of {n_blocks} blocks"));
    }
    let tree = DiskBtreeReader::<_, L>::new(0, root, buf.into_reader());
    let stats = run(tree.verify())?.map_err(|e| Mismatch(format!("verify failed: {e}")))?;
    if stats.n_entries != model.len() as u64 || stats.n_nodes != u64::from(n_blocks) {
        return mismatch(format!(
            "verify counted {stats:?} for {} entries",
            model.len()
        ));
    }
    check_against_model(&tree, &model, probes)?;
    Ok(RoundtripReport {
        n_entries: model.len(),
        n_blocks,
        depth: stats.depth,
    })
}

/// Checks a tree that should hold exactly `model`: full scans both ways, a get of every key,
/// and for each probe a get, a bounded visit and a bounded iteration.
pub fn check_against_model<const L: usize>(
    tree: &DiskBtreeReader<MemBlockReader, L>,
    model: &BTreeMap<[u8; L], u64>,
    probes: &[Probe<L>],
) -> Result<(), Mismatch> {
    let all_forwards = Probe {
        key: [0; L],
        dir: VisitDirection::Forwards,
        limit: usize::MAX,
    };
    let all_backwards = Probe {
        key: [0xff; L],
        dir: VisitDirection::Backwards,
        limit: usize::MAX,
    };
    for probe in [all_forwards, all_backwards].iter().chain(probes) {
        check_probe(tree, model, probe)?;
    }
    for (key, value) in model {
        let got = run(tree.get(key))?;
        if !matches!(got, Ok(Some(v)) if v == *value) {
            return mismatch(format!("get({key:?}) gave {got:?}, expected {value}"));
        }
    }
    Ok(())
}

fn check_probe<const L: usize>(
    tree: &DiskBtreeReader<MemBlockReader, L>,
    model: &BTreeMap<[u8; L], u64>,
    probe: &Probe<L>,
) -> Result<(), Mismatch> {
    let limit = probe.limit.max(1);
    // The first `limit` entries from the probe's key on: all a bounded probe can see (taking
    // the whole range first made every probe cost the size of the model).
    let expected: Vec<([u8; L], u64)> = match probe.dir {
        VisitDirection::Forwards => model
            .range(probe.key..)
            .take(limit)
            .map(|(k, v)| (*k, *v))
            .collect(),
        VisitDirection::Backwards => model
            .range(..=probe.key)
            .rev()
            .take(limit)
            .map(|(k, v)| (*k, *v))
            .collect(),
    };
    // Neon's visit returns false when the visitor stops it, and for a backwards scan that
    // starts before the smallest key. Fewer than `limit` entries means the range ran out.
    let expected_done =
        expected.len() < limit && !(probe.dir == VisitDirection::Backwards && expected.is_empty());

    let got = run(tree.get(&probe.key))?;
    let model_value = model.get(&probe.key).copied();
    if !matches!(&got, Ok(v) if *v == model_value) {
        return mismatch(format!(
            "get({:?}) gave {got:?}, expected {model_value:?}",
            probe.key
        ));
    }

    let mut visited = Vec::new();
    let done = run(tree.visit(&probe.key, probe.dir, |k, v| {
        visited.push((*k, v));
        visited.len() < limit
    }))?;
    if !matches!(done, Ok(d) if d == expected_done) || visited != expected {
        return mismatch(format!(
            "visit {probe:?} gave {done:?} after {} entries, expected {expected_done} after {}",
            visited.len(),
            expected.len()
        ));
    }

    // The default batches, and a first batch of 1 to 8 entries (doubling after): the same
    // entries.
    let small_first = 1 + usize::from(probe.key.last().copied().unwrap_or(0) % 8);
    for first_batch in [None, Some(small_first)] {
        let mut iterated = Vec::new();
        let mut iter = tree.iter(&probe.key, probe.dir);
        if let Some(n) = first_batch {
            iter.set_first_batch(n);
        }
        while iterated.len() < limit {
            match run(iter.next())? {
                Some(Ok(entry)) => iterated.push(entry),
                Some(Err(e)) => return mismatch(format!("iter {probe:?} failed: {e}")),
                None => break,
            }
        }
        if iterated != expected {
            return mismatch(format!(
                "iter {probe:?} (first batch {first_batch:?}) gave {} entries, expected {}",
                iterated.len(),
                expected.len()
            ));
        }
    }
    Ok(())
}

/// A run of keys for [`expand_key_runs`]: keys that share `shared` leading bytes drawn from
/// `base` and count up by `stride` in their tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRun {
    /// Fills the key's leading bytes (repeated as needed).
    pub base: u64,
    /// How many leading bytes come from `base` (the rest is the counter).
    pub shared: u8,
    /// Number of keys in the run.
    pub count: u16,
    /// Step of the counter between keys (0 acts as 1).
    pub stride: u32,
    /// Seed of the run's values.
    pub value_seed: u64,
}

/// Turns runs into sorted, distinct entries of `L`-byte keys with values `<= MAX_VALUE`, at
/// most `max_entries` of them: structured key sets with long shared prefixes, for the
/// `btree_roundtrip` fuzz target and property tests.
pub fn expand_key_runs<const L: usize>(runs: &[KeyRun], max_entries: usize) -> Vec<([u8; L], u64)> {
    let mut map = BTreeMap::new();
    'runs: for run in runs {
        let base = run.base.to_be_bytes();
        let shared = usize::from(run.shared).min(L);
        let mut key = [0u8; L];
        for (dst, src) in key.iter_mut().zip(base.iter().cycle()) {
            *dst = *src;
        }
        let tail_len = (L - shared).clamp(1, 8);
        let stride = u64::from(run.stride.max(1));
        for i in 0..u64::from(run.count) {
            if map.len() >= max_entries {
                break 'runs;
            }
            let counter = (i * stride).to_be_bytes();
            for (dst, src) in key
                .iter_mut()
                .rev()
                .zip(counter.iter().rev())
                .take(tail_len)
            {
                *dst = *src;
            }
            let value = run
                .value_seed
                .wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            map.insert(key, value & MAX_VALUE);
        }
    }
    map.into_iter().collect()
}
