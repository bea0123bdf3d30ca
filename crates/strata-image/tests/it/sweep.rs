//! Corruption sweep over every golden image layer: each file is damaged by XOR-flipping single
//! bytes (masks `0xFF` and `0x01`) in every region, and by truncation, and every damaged file
//! goes through every read path: `testing::open_scan` (the `image_open_scan` fuzz oracle:
//! verify, open, scan, point reads, reconstruct lookups, vectored reads, dump, manifest) and
//! strict `verify_reader` with the expected summary (Neon's production check, rule 4).
//!
//! Asserted for each damaged file: no panic and no [`Mismatch`](strata_image::testing::Mismatch)
//! (the oracle's self-contradictions: a non-corruption error, a clean file failing a read,
//! point or vectored reads disagreeing with the scan); the largest single allocation at most
//! `max(file length, 1 MiB)` (`strata_testkit::PeakAlloc`, this binary's global allocator);
//! no run longer than a hang guard of `max(5 s, 20 × the undamaged run)`.
//!
//! **Structural damage must be found by verify**: the summary, block 0's padding, node headers,
//! internal nodes' keys, all node values (downlinks; leaf offsets are pinned by strict packing),
//! node padding, blob headers, the padding after the last blob, and any truncation. Two regions
//! are data (no checksums): image payloads (a damaged file that verifies clean must scan the
//! manifest's keys, with exactly one image changed) and leaf keys (a key that stays sorted and
//! inside the key range is another valid key: the scan must give the manifest's entry count).
//!
//! Sampling keeps the default run short in a debug build: per case, positions spread evenly
//! over each region, as many as a time budget allows (from the undamaged run's time), at least
//! one per region; truncation at up to 32 block boundaries and one length inside each. The two
//! big cases (`btree2`, `btree3`: seconds per run in debug) are swept only with
//! `STRATA_SWEEP=full`, which also gives a 40 times larger budget.

use std::collections::BTreeMap;
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use strata_blob::{MemBlockReader, PAGE_SIZE};
use strata_image::testing::{open_scan, poll_ready};
use strata_image::{OpenOptions, Summary, verify_reader};
use strata_key::Key;
use strata_testkit::{ImageManifest, image_cases, image_layer_bytes, peak, reset_peak};

use crate::support::golden_entries;

const MASKS: [u8; 2] = [0xFF, 0x01];
const MIN_ALLOC_BOUND: usize = 1 << 20;
/// Debug-build time budget of one case, in microseconds (default mode).
const BUDGET_US: u128 = 2_500_000;
const CUT_BLOCKS: usize = 32;

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
    /// The last blob's header: a longer length that stays inside the zero padding before the
    /// index is another valid file (the image grows by zeros).
    LastBlobHeader,
    Payloads,
    ValuePadding,
}

impl Region {
    fn structural(self) -> bool {
        !matches!(
            self,
            Region::LeafKeys | Region::Payloads | Region::LastBlobHeader
        )
    }
}

struct Case {
    name: String,
    bytes: Vec<u8>,
    expected: Summary,
    keys: Vec<Key>,
    images: Vec<Vec<u8>>,
    regions: BTreeMap<Region, Vec<Range<usize>>>,
}

fn load(name: &str) -> Case {
    let bytes = image_layer_bytes(name);
    let (m, entries): (ImageManifest, _) = golden_entries(name).expect("golden entries");
    let expected = Summary::decode(&bytes).expect("summary");
    let mut regions: BTreeMap<Region, Vec<Range<usize>>> = BTreeMap::new();
    let mut add = |r: Region, range: Range<usize>| {
        if !range.is_empty() {
            regions.entry(r).or_default().push(range);
        }
    };
    add(Region::Summary, 0..88);
    add(Region::Block0Padding, 88..PAGE_SIZE);
    let mut off = PAGE_SIZE;
    for (i, e) in m.entries.iter().enumerate() {
        let hdr = if e.len < 128 { 1 } else { 4 };
        let last = i + 1 == m.entries.len();
        let r = if last {
            Region::LastBlobHeader
        } else {
            Region::BlobHeaders
        };
        add(r, off..off + hdr);
        add(Region::Payloads, off + hdr..off + hdr + e.len as usize);
        off += hdr + e.len as usize;
    }
    let index_start = m.index_start_blk as usize * PAGE_SIZE;
    add(Region::ValuePadding, off..index_start);
    for (i, node) in bytes[index_start..].chunks(PAGE_SIZE).enumerate() {
        let base = index_start + i * PAGE_SIZE;
        let n = u16::from_be_bytes([node[0], node[1]]) as usize;
        let (level, prefix, suffix) = (node[2], node[3] as usize, node[4] as usize);
        let keys_end = 5 + prefix + n * suffix;
        let used = keys_end + n * 5;
        add(Region::NodeHeader, base..base + 5);
        let keys = if level == 0 {
            Region::LeafKeys
        } else {
            Region::InternalKeys
        };
        add(keys, base + 5..base + keys_end);
        add(Region::NodeValues, base + keys_end..base + used);
        add(Region::NodePadding, base + used..base + PAGE_SIZE);
    }
    let (keys, images) = entries.into_iter().unzip();
    Case {
        name: name.to_owned(),
        bytes,
        expected,
        keys,
        images,
        regions,
    }
}

/// Runs every read path over `data`; panics (naming `what`) on any broken promise. Returns
/// whether strict verification with the expected summary found anything, and the scan.
fn check(case: &Case, data: &[u8], what: &str, guard: Duration) -> (bool, Vec<(Key, Vec<u8>)>) {
    let start = Instant::now();
    reset_peak();
    let report = catch_unwind(AssertUnwindSafe(|| open_scan(data)))
        .unwrap_or_else(|_| panic!("{}: {what}: a read path panicked", case.name));
    let report = report.unwrap_or_else(|m| panic!("{}: {what}: {m}", case.name));
    let opts = OpenOptions {
        expected_summary: Some(case.expected),
        file_len: Some(data.len() as u64),
        ..OpenOptions::default()
    };
    let reader = MemBlockReader::from_bytes(data);
    let strict = poll_ready(verify_reader(reader.clone(), None, &opts))
        .expect("in-memory verify is ready")
        .unwrap_or_else(|e| panic!("{}: {what}: verify failed: {e}", case.name));
    let bound = data.len().max(MIN_ALLOC_BOUND);
    assert!(
        peak() <= bound,
        "{}: {what}: allocated {} > {bound}",
        case.name,
        peak()
    );
    let mut scanned = Vec::new();
    if strict.is_empty() && report.findings.is_empty() {
        let layer = poll_ready(strata_image::ImageLayer::from_reader(reader, opts))
            .expect("ready")
            .unwrap_or_else(|e| panic!("{}: {what}: clean but does not open: {e}", case.name));
        poll_ready(layer.scan(|e, img| {
            scanned.push((e.key, img.to_vec()));
            true
        }))
        .expect("ready")
        .unwrap_or_else(|e| panic!("{}: {what}: clean but the scan fails: {e}", case.name));
    }
    let elapsed = start.elapsed();
    assert!(
        elapsed <= guard,
        "{}: {what}: took {elapsed:?} (hang guard {guard:?})",
        case.name
    );
    (!strict.is_empty() || !report.findings.is_empty(), scanned)
}

fn sweep_case(name: &str, budget_us: u128) -> BTreeMap<Region, [u64; 2]> {
    let case = load(name);
    let start = Instant::now();
    let (found, scanned) = check(&case, &case.bytes, "undamaged", Duration::from_secs(60));
    assert!(!found, "{name}: the golden file has findings");
    assert_eq!(scanned.len(), case.keys.len(), "{name}");
    let clean = start.elapsed();
    println!("{name}: undamaged run {clean:?}");
    let guard = Duration::from_secs(5).max(clean * 20);
    let per_run = clean.as_micros().max(1);
    let n_regions = case.regions.len() as u128 + 1;
    let per_region = (budget_us / per_run / n_regions).clamp(1, 4096) as usize;

    let mut counts: BTreeMap<Region, [u64; 2]> = BTreeMap::new();
    for (&region, ranges) in &case.regions {
        let total: usize = ranges.iter().map(Range::len).sum();
        let n = per_region.min(total);
        for i in 0..n {
            // Position i of n spread over the region's bytes, with a deterministic jitter.
            let mut at = (i * total) / n + (i * 7919) % (total / n).max(1);
            let pos = ranges
                .iter()
                .find_map(|r| {
                    if at < r.len() {
                        Some(r.start + at)
                    } else {
                        at -= r.len();
                        None
                    }
                })
                .expect("inside the region");
            let mask = MASKS[i % 2];
            let mut data = case.bytes.clone();
            data[pos] ^= mask;
            let what = format!("{region:?} byte {pos:#x} ^ {mask:#04x}");
            let (found, scanned) = check(&case, &data, &what, guard);
            let c = counts.entry(region).or_default();
            c[0] += 1;
            c[1] += u64::from(found);
            if region.structural() {
                assert!(
                    found,
                    "{name}: {what}: structural damage not found by verify"
                );
            } else if !found && matches!(region, Region::Payloads | Region::LastBlobHeader) {
                let keys: Vec<Key> = scanned.iter().map(|(k, _)| *k).collect();
                assert_eq!(keys, case.keys, "{name}: {what}: keys changed");
                let changed = scanned
                    .iter()
                    .zip(&case.images)
                    .filter(|((_, a), b)| a != *b);
                assert_eq!(changed.count(), 1, "{name}: {what}: not one image changed");
            } else if !found {
                assert_eq!(
                    scanned.len(),
                    case.keys.len(),
                    "{name}: {what}: entry count"
                );
            }
        }
    }
    let n_blocks = case.bytes.len() / PAGE_SIZE;
    let step = n_blocks.div_ceil(CUT_BLOCKS).max(1);
    for blk in (0..n_blocks).step_by(step) {
        for cut in [
            blk * PAGE_SIZE,
            blk * PAGE_SIZE + 1 + (blk * 131) % (PAGE_SIZE - 1),
        ] {
            let what = format!("truncated to {cut}");
            let (found, _) = check(&case, &case.bytes[..cut], &what, guard);
            assert!(found, "{name}: {what}: not found by verify");
        }
    }
    counts
}

#[test]
fn damaged_golden_image_layers_never_break_a_read_path() {
    let full = std::env::var("STRATA_SWEEP").is_ok_and(|v| v == "full");
    let budget = if full { BUDGET_US * 40 } else { BUDGET_US };
    for case in image_cases() {
        // The two big trees take seconds per run in a debug build: full mode only.
        if !full && (case == "btree2" || case == "btree3") {
            continue;
        }
        let counts = sweep_case(&case, budget);
        // Counts per region: damaged, found by verify (printed for the record).
        println!("{case}: {counts:?}");
        assert!(counts.values().map(|c| c[0]).sum::<u64>() > 0, "{case}");
    }
}
