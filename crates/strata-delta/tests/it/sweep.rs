//! Corruption sweep over every golden layer (issue 8, "Corruption"): each file is damaged by
//! XOR-flipping single bytes (masks `0xFF` and `0x01`) and by truncation, and every damaged
//! file goes through every read path: `testing::open_scan` (the `delta_open_scan` fuzz
//! oracle), strict `verify_reader` with the expected summary (Neon's production check, item
//! 4), open, a forwards scan with values, a backwards index scan, every query of the case and
//! a vectored read of the whole key range.
//!
//! For each damaged file the test asserts: results or [`Error::Corrupt`] only (a panic fails
//! the test, naming the damage); a file `verify` finds clean opens and reads without error;
//! the largest single allocation during the reads is at most `max(file length, 1 MiB)` (a
//! per-thread count of `strata_testkit::PeakAlloc`, this test binary's `#[global_allocator]`); and no run takes longer
//! than a hang guard of `max(5 s, 20 × the undamaged run)` (timing is measured and printed;
//! the bound only catches hangs).
//!
//! **Structural damage must be detected**, and by `verify` itself (which is stronger than the
//! issue's "verify or a failing open/read": every structural damage gets a finding). The
//! file is split into regions; *structural* ones are every byte whose value the format pins:
//! * block 0: the 96 summary bytes (every field is checked, the ids and ranges against the
//!   expected summary) and the padding after it (item 6);
//! * every index block: node header, the prefix and keys of internal nodes (each equals its
//!   child's first key, item 12), all node values (downlinks, item 11; BlobRefs, whose offsets
//!   are pinned by strict packing, item 16, and whose will_init bit by item 18) and padding;
//! * the value area: blob headers (a changed length breaks packing or the area's end) and the
//!   padding after the last blob;
//! * truncation at any length (item 1).
//!
//! Two regions are *data*: bytes whose change can give another valid file, since the format
//! has no checksums. Damage there may go undetected, but then the reads must still agree with
//! the manifest:
//! * value payloads: the scan returns exactly the manifest's keys, LSNs and BlobRefs, and every
//!   query prints its golden line;
//! * leaf keys (prefix and suffixes of level-0 nodes): a key that stays sorted and inside the
//!   summary's ranges is a different valid key; the scan returns the manifest's number of
//!   entries with the manifest's BlobRefs, in order.
//!
//! Sampling: each region gets positions spread evenly with a deterministic jitter, as many as
//! a per-case budget allows (estimated from the manifest's entry count and the file size, so
//! the default run stays well under a minute in a debug build), with both masks when the
//! region is small enough; at least one position per region and case. Truncation: at most 128
//! block boundaries spread over the file, and one other length inside each of those blocks.
//! `STRATA_SWEEP=full` flips every byte with both masks in files of at most 64 KiB and in every
//! summary, gives the other regions a 40 times larger budget, and truncates at every block
//! boundary. Counts per region (damaged, verify-detected, read-failed, decoded clean) are
//! printed.

use std::collections::BTreeMap;
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use strata_blob::{MemBlockReader, PAGE_SIZE};
use strata_btree::format::NodeView;
use strata_btree::{DiskBtreeReader, VisitDirection};
use strata_delta::testing::{open_scan, poll_ready};
use strata_delta::text::format_query_line;
use strata_delta::{
    DeltaLayer, Error, OpenOptions, Summary, ValueReconstructState, VectoredReconstructState,
    verify_reader,
};
use strata_key::{Key, Lsn, LsnRange};
use strata_testkit::{Manifest, Query, golden_cases, layer_bytes, load_queries, peak, reset_peak};

const MASKS: [u8; 2] = [0xFF, 0x01];
const SMALL_FILE: usize = 64 * 1024;
const MIN_ALLOC_BOUND: usize = 1 << 20;
/// Debug-build time budget of one case's sample, in microseconds (default mode).
const BUDGET_US: u64 = 4_000_000;
/// Most block boundaries a default sweep truncates a file at.
const DEFAULT_CUT_BLOCKS: usize = 128;

/// Where a damaged byte lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Region {
    Summary,
    Block0Padding,
    NodeHeader,
    InternalKeys,
    LeafKeys,
    NodeValues,
    NodePadding,
    BlobHeaders,
    Payloads,
    ValuePadding,
    Truncation,
}

impl Region {
    fn structural(self) -> bool {
        !matches!(self, Region::LeafKeys | Region::Payloads)
    }

    /// Share of a case's budget.
    fn weight(self) -> f64 {
        match self {
            Region::Summary | Region::Payloads => 0.15,
            Region::Block0Padding | Region::NodePadding | Region::ValuePadding => 0.05,
            _ => 0.1,
        }
    }
}

/// One entry as the manifest gives it: key, LSN, raw BlobRef.
type Entry = (Key, Lsn, u64);

struct Case {
    name: String,
    bytes: Vec<u8>,
    expected: Summary,
    entries: Vec<Entry>,
    queries: Vec<Query>,
    regions: BTreeMap<Region, Vec<Range<usize>>>,
}

/// What the read paths saw on one damaged file.
#[derive(Debug, Default)]
struct Outcome {
    verify_findings: usize,
    read_errors: usize,
    /// Scan entries differing from the manifest's (key, LSN, BlobRef).
    scan_diffs: usize,
    /// Scan entries whose BlobRef differs from the manifest's.
    blob_ref_diffs: usize,
    n_scanned: usize,
    query_diffs: usize,
    peak_alloc: usize,
    elapsed: Duration,
}

/// Damaged files, verify-detected, read-failed, decoded clean (no finding, no error).
type Counts = [u64; 4];

fn load(name: &str) -> Case {
    let bytes = layer_bytes(name);
    let manifest = Manifest::load(name);
    let expected = Summary::decode(&bytes).unwrap();
    let offsets = manifest.blob_offsets();
    let entries = manifest
        .entries
        .iter()
        .zip(&offsets)
        .map(|(e, &pos)| (e.key, e.lsn, pos << 1 | u64::from(e.will_init)))
        .collect();
    let mut regions: BTreeMap<Region, Vec<Range<usize>>> = BTreeMap::new();
    let mut add = |r: Region, range: Range<usize>| {
        if !range.is_empty() {
            regions.entry(r).or_default().push(range);
        }
    };
    add(Region::Summary, 0..96);
    add(Region::Block0Padding, 96..PAGE_SIZE);
    let mut end = PAGE_SIZE;
    for (e, &off) in manifest.entries.iter().zip(&offsets) {
        let (off, hdr) = (off as usize, if e.len < 128 { 1 } else { 4 });
        add(Region::BlobHeaders, off..off + hdr);
        end = off + hdr + e.len as usize;
        add(Region::Payloads, off + hdr..end);
    }
    let index_start = expected.index_start_blk as usize * PAGE_SIZE;
    add(Region::ValuePadding, end..index_start);
    for block in bytes[index_start..].chunks_exact(PAGE_SIZE) {
        let b = block.as_ptr() as usize - bytes.as_ptr() as usize;
        let node = NodeView::<26>::decode(block.try_into().unwrap()).unwrap();
        let keys_end = b + 5 + node.prefix().len() + node.n_children() * (26 - node.prefix().len());
        add(Region::NodeHeader, b..b + 5);
        let keys = if node.is_leaf() {
            Region::LeafKeys
        } else {
            Region::InternalKeys
        };
        add(keys, b + 5..keys_end);
        add(Region::NodeValues, keys_end..b + node.used_len());
        add(Region::NodePadding, b + node.used_len()..b + PAGE_SIZE);
    }
    let covered: usize = regions.values().flatten().map(|r| r.len()).sum();
    assert_eq!(
        covered,
        bytes.len(),
        "{name}: the regions partition the file"
    );
    Case {
        name: name.to_string(),
        expected,
        entries,
        queries: load_queries(name),
        regions,
        bytes,
    }
}

/// Estimated debug-build cost of one run over `case`, in microseconds.
fn est_cost_us(case: &Case) -> u64 {
    3 * (500 + 4 * case.entries.len() as u64 + 10 * (case.bytes.len() as u64 / 1024))
}

/// `k` positions out of `0..total`, one per equal stratum with a deterministic jitter.
fn spread(total: usize, k: usize) -> Vec<usize> {
    if k >= total {
        return (0..total).collect();
    }
    (0..k)
        .map(|j| {
            let (lo, hi) = (j * total / k, (j + 1) * total / k);
            lo + (j.wrapping_mul(2_654_435_761) >> 7) % (hi - lo).max(1)
        })
        .collect()
}

/// The damages of one region: (byte offset, mask).
fn flips(case: &Case, region: Region, full: bool) -> Vec<(usize, u8)> {
    let ranges = &case.regions[&region];
    let total: usize = ranges.iter().map(|r| r.len()).sum();
    let exhaustive = case.bytes.len() <= SMALL_FILE || region == Region::Summary;
    let k = if full && exhaustive {
        2 * total
    } else {
        let budget = if full { 40 * BUDGET_US } else { BUDGET_US };
        ((budget / est_cost_us(case)) as f64 * region.weight()).ceil() as usize
    };
    let at = |mut i: usize| {
        for r in ranges {
            if i < r.len() {
                return r.start + i;
            }
            i -= r.len();
        }
        unreachable!()
    };
    if k >= 2 * total {
        let all = (0..total).map(at);
        return all.flat_map(|p| MASKS.map(|m| (p, m))).collect();
    }
    let picked = spread(total, k);
    picked
        .into_iter()
        .enumerate()
        .map(|(j, i)| (at(i), MASKS[j % 2]))
        .collect()
}

/// Truncated lengths: block boundaries (every one in full mode, else at most
/// [`DEFAULT_CUT_BLOCKS`] spread over the file) and one other length in each such block.
fn cuts(case: &Case, full: bool) -> Vec<usize> {
    let n = case.bytes.len() / PAGE_SIZE;
    let blocks = spread(n, if full { n } else { DEFAULT_CUT_BLOCKS });
    let jitter = spread(blocks.len() * (PAGE_SIZE - 1), blocks.len());
    let other = |j: usize| 1 + jitter[j] % (PAGE_SIZE - 1);
    let at = |(j, b): (usize, &usize)| [b * PAGE_SIZE, b * PAGE_SIZE + other(j)];
    blocks.iter().enumerate().flat_map(at).collect()
}

fn corrupt_only<T>(res: Result<T, Error>, out: &mut Outcome, what: &str) -> Option<T> {
    match res {
        Ok(v) => Some(v),
        Err(Error::Corrupt(_)) => {
            out.read_errors += 1;
            None
        }
        Err(e) => panic!("{what}: not a corruption error: {e}"),
    }
}

/// Every read path over `data`; see the module docs.
async fn read_paths(case: &Case, data: &[u8], out: &mut Outcome) {
    let reader = MemBlockReader::from_bytes(data);
    let opts = OpenOptions {
        file_len: Some(data.len() as u64),
        ..OpenOptions::default()
    };
    let strict = OpenOptions {
        expected_summary: Some(case.expected),
        ..opts.clone()
    };
    let findings = verify_reader(reader.clone(), None, &strict).await;
    out.verify_findings = findings.expect("verify reports, it does not fail").len();
    let open = DeltaLayer::from_reader(reader, opts).await;
    let Some(layer) = corrupt_only(open, out, "open") else {
        return;
    };
    let mut iter = layer.iter();
    while let Some(entry) = iter.next().await {
        let Some(entry) = corrupt_only(entry, out, "scan") else {
            break;
        };
        let got = (entry.key, entry.lsn, entry.blob_ref.raw());
        match case.entries.get(out.n_scanned) {
            Some(want) if *want == got => {}
            Some(want) if want.2 == got.2 => out.scan_diffs += 1,
            _ => {
                out.scan_diffs += 1;
                out.blob_ref_diffs += 1;
            }
        }
        out.n_scanned += 1;
        corrupt_only(iter.load_value(&entry).await, out, "scan value");
    }
    drop(iter);
    let s = layer.summary();
    let tree = DiskBtreeReader::<_, 26>::new(
        s.index_start_blk,
        s.index_root_blk,
        MemBlockReader::from_bytes(data),
    );
    let mut back = tree.iter(&[0xFF; 26], VisitDirection::Backwards);
    let mut n_back = 0;
    while let Some(entry) = back.next().await {
        if corrupt_only(entry.map_err(Error::from), out, "backwards").is_none() {
            break;
        }
        n_back += 1;
    }
    if out.read_errors == 0 {
        assert_eq!(n_back, out.n_scanned, "backwards and forwards scans differ");
    }
    for q in &case.queries {
        let mut state = ValueReconstructState::default();
        let range = LsnRange::new(q.lsn_start, q.lsn_end);
        let res = layer
            .get_value_reconstruct_data(q.key, range, &mut state)
            .await;
        if let Some(result) = corrupt_only(res, out, "query") {
            out.query_diffs +=
                usize::from(format_query_line(q.key, range, result, &state) != q.line);
        }
    }
    let s = *layer.summary();
    let mut states = VectoredReconstructState::new();
    let res = layer
        .get_values_reconstruct_data(&[s.key_range], s.lsn_range.end, &mut states)
        .await;
    corrupt_only(res, out, "vectored");
}

/// Runs every read path over `data`, measuring time and the largest allocation.
fn run(case: &Case, data: &[u8]) -> Outcome {
    reset_peak();
    let start = Instant::now();
    let mut out = Outcome::default();
    if let Err(m) = open_scan(data) {
        panic!("open_scan: {m}");
    }
    poll_ready(read_paths(case, data, &mut out)).expect("in-memory reads are ready");
    out.elapsed = start.elapsed();
    out.peak_alloc = peak();
    out
}

/// Checks one damaged file against the rules of the module docs; updates `counts`.
fn check(
    case: &Case,
    region: Region,
    what: &str,
    data: &[u8],
    guard: Duration,
    counts: &mut Counts,
) -> Duration {
    let ctx = format!("{} {region:?} {what}", case.name);
    let out = match catch_unwind(AssertUnwindSafe(|| run(case, data))) {
        Ok(out) => out,
        Err(p) => {
            let msg = p.downcast_ref::<String>().map_or("", |s| s);
            panic!(
                "{ctx}: panicked: {msg}{}",
                p.downcast_ref::<&str>().unwrap_or(&"")
            );
        }
    };
    let (found, failed) = (out.verify_findings > 0, out.read_errors > 0);
    let detected = found || failed;
    let seen = [true, found, failed, !detected];
    for (count, seen) in counts.iter_mut().zip(seen) {
        *count += u64::from(seen);
    }
    let fail = |what: &str| panic!("{ctx}: {what}: {out:?}");
    if out.elapsed > guard {
        fail("took too long");
    }
    if out.peak_alloc > data.len().max(MIN_ALLOC_BOUND) {
        fail("an allocation larger than the file");
    }
    if !found && failed {
        fail("verify found nothing but a read failed");
    }
    if region.structural() && !found {
        fail("verify missed structural damage");
    }
    let payload_diffs = region == Region::Payloads && out.scan_diffs + out.query_diffs > 0;
    let differs = out.n_scanned != case.entries.len() || out.blob_ref_diffs > 0;
    if !detected && (differs || payload_diffs) {
        fail("undetected damage changed what the reads return");
    }
    out.elapsed
}

/// Sweeps one case; returns counts per region and the longest run.
fn sweep_case(name: &str, full: bool) -> (BTreeMap<Region, Counts>, Duration) {
    let case = load(name);
    let clean = run(&case, &case.bytes);
    let sound = clean.verify_findings + clean.read_errors + clean.scan_diffs + clean.query_diffs;
    let small = clean.peak_alloc <= case.bytes.len().max(MIN_ALLOC_BOUND);
    assert!(sound == 0 && small, "{name}: undamaged: {clean:?}");
    let guard = (clean.elapsed * 20).max(Duration::from_secs(5));
    let mut counts: BTreeMap<Region, Counts> = BTreeMap::new();
    let mut longest = Duration::ZERO;
    let mut data = case.bytes.clone();
    for &region in case.regions.keys() {
        let c = counts.entry(region).or_default();
        for (pos, mask) in flips(&case, region, full) {
            data[pos] ^= mask;
            let what = format!("byte {pos:#x} ^ {mask:#04x}");
            longest = longest.max(check(&case, region, &what, &data, guard, c));
            data[pos] ^= mask;
        }
    }
    let c = counts.entry(Region::Truncation).or_default();
    for cut in cuts(&case, full) {
        let what = format!("cut at {cut}");
        let data = &case.bytes[..cut];
        longest = longest.max(check(&case, Region::Truncation, &what, data, guard, c));
    }
    (counts, longest)
}

#[test]
fn every_golden_file_damaged() {
    let full = std::env::var("STRATA_SWEEP").is_ok_and(|v| v == "full");
    let cases = golden_cases();
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    let start = Instant::now();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                while let Some(name) = cases.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let t = Instant::now();
                    let (counts, longest) = sweep_case(name, full);
                    results
                        .lock()
                        .unwrap()
                        .push((name.clone(), counts, longest, t.elapsed()));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut total: BTreeMap<Region, Counts> = BTreeMap::new();
    for (name, counts, longest, took) in &results {
        let n: u64 = counts.values().map(|c| c[0]).sum();
        eprintln!("{name}: {n} damaged files in {took:.1?}, longest run {longest:.1?}");
        for (region, c) in counts {
            let t = total.entry(*region).or_default();
            t.iter_mut().zip(c).for_each(|(t, c)| *t += c);
        }
    }
    eprintln!(
        "sweep ({}) in {:.1?}: region damaged verify-detected read-failed decoded-clean",
        if full { "full" } else { "default" },
        start.elapsed()
    );
    for (region, [damaged, found, failed, clean]) in &total {
        eprintln!("  {region:?} {damaged} {found} {failed} {clean}");
        assert!(*damaged > 0, "{region:?} was never damaged");
    }
    assert_eq!(results.len(), cases.len());
}
