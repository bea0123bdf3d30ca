//! The fixture's timeline checked against PostgreSQL (WAL.md 7.3): CLOG pages against the
//! final `pg_xact`, fork sizes against the final files, page histories against pg_waldump,
//! full-page images against the final relation pages, and verify on every layer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use strata_delta::NeonWalRecord;
use strata_ingest::{PgFile, RELSEG_BLOCKS, classify, open_timeline, read_u32};
use strata_key::{FSM_FORKNUM, Key, Lsn, MAIN_FORKNUM, RelTag, SlruKind, VISIBILITYMAP_FORKNUM};
use strata_timeline::Timeline;

use crate::fixture::{fixture, runtime};

const SEG_SIZE: u64 = 16 << 20;

/// Every file under `dir` (recursively), as paths relative to `root`.
fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(root, &p, out);
        } else if let Ok(rel) = p.strip_prefix(root) {
            out.push(rel.to_string_lossy().into_owned());
        }
    }
}

fn page(tl: &Timeline, key: Key, lsn: Lsn) -> bytes::Bytes {
    runtime()
        .block_on(tl.get_page(key, lsn))
        .unwrap_or_else(|e| panic!("get_page {key}: {e}"))
}

#[test]
fn clog_pages_equal_the_final_pg_xact() {
    let f = fixture();
    let tl = open_timeline(&f.timeline).unwrap();
    let mut pages = 0;
    for e in std::fs::read_dir(f.run.data.join("pg_xact"))
        .unwrap()
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        let segno = u32::from_str_radix(&name, 16).unwrap();
        let bytes = std::fs::read(e.path()).unwrap();
        for (i, want) in bytes.chunks(8192).enumerate() {
            let got = page(
                &tl,
                Key::slru_block(SlruKind::Clog, segno, i as u32),
                f.final_lsn,
            );
            assert!(
                got.len() == 8192 || got.len() == 8200,
                "CLOG page length {}",
                got.len()
            );
            assert!(got[..8192] == *want, "CLOG segment {name} page {i} differs");
            pages += 1;
        }
    }
    // The workload burns xids past the first page boundary (32768 xids a page).
    assert!(pages >= 2, "only {pages} CLOG pages");
}

/// Size in blocks of every fork in the final data directory.
fn file_sizes(data: &Path) -> BTreeMap<RelTag, u32> {
    let mut files = Vec::new();
    walk(data, data, &mut files);
    let mut sizes = BTreeMap::new();
    for path in files {
        if let PgFile::Rel { rel, segno } = classify(&path) {
            let len = std::fs::metadata(data.join(&path)).unwrap().len();
            let n = segno * RELSEG_BLOCKS + (len / 8192) as u32;
            let e = sizes.entry(rel).or_insert(0);
            *e = (*e).max(n);
        }
    }
    sizes
}

#[test]
fn fork_sizes_equal_the_final_files() {
    let f = fixture();
    let tl = open_timeline(&f.timeline).unwrap();
    let sizes = file_sizes(&f.run.data);
    let (mut checked, mut unlogged_vm) = (0, 0);
    for (rel, n) in &sizes {
        if rel.forknum == FSM_FORKNUM {
            continue; // FSM forks change without WAL (WAL.md 7.3 item 3)
        }
        let got = runtime().block_on(tl.get_page(Key::rel_size(*rel), f.final_lsn));
        match got {
            Ok(bytes) => assert_eq!(read_u32(&bytes).unwrap(), *n, "size of {rel:?}"),
            Err(e) if rel.forknum == VISIBILITYMAP_FORKNUM => {
                // VACUUM pins (and so creates and zero-extends) a VM fork without WAL when it
                // sets no bit; Neon reads such a fork as absent (size 0). Its pages must then
                // hold no bit (a page header at most).
                let path = f
                    .run
                    .data
                    .join(format!("base/{}/{}_vm", rel.dbnode, rel.relnode));
                let bytes = std::fs::read(&path).unwrap_or_else(|_| panic!("{rel:?}: {e}"));
                let no_bits = bytes.chunks(8192).all(|p| p[24..].iter().all(|&b| b == 0));
                assert!(no_bits, "{rel:?}: VM has bits but no size: {e}");
                unlogged_vm += 1;
            }
            Err(e) => panic!("size of {rel:?}: {e}"),
        }
        checked += 1;
    }
    assert!(checked > 500, "only {checked} forks");
    assert!(
        unlogged_vm * 10 < checked,
        "{unlogged_vm} of {checked} forks are unlogged VMs"
    );
}

/// One record of `pg_waldump -b`.
#[derive(Debug)]
pub struct DumpRecord {
    pub start: Lsn,
    pub tot: u32,
    pub prev: Lsn,
    pub rmgr: String,
    pub desc: String,
    /// `(rel, blkno, has applied image, compressed)`.
    pub blocks: Vec<(RelTag, u32, bool, bool)>,
}

fn lsn(text: &str) -> Lsn {
    let (hi, lo) = text.split_once('/').expect("X/Y");
    Lsn((u64::from_str_radix(hi, 16).unwrap() << 32) | u64::from_str_radix(lo, 16).unwrap())
}

pub fn parse_dump(text: &str) -> Vec<DumpRecord> {
    let mut out: Vec<DumpRecord> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("rmgr: ") {
            let (rmgr, rest) = rest.split_once(' ').unwrap();
            let tot = rest
                .split("rec/tot):")
                .nth(1)
                .unwrap()
                .split(',')
                .next()
                .unwrap();
            let tot = tot.split('/').nth(1).unwrap().trim().parse().unwrap();
            let start = lsn(rest
                .split("lsn: ")
                .nth(1)
                .unwrap()
                .split(',')
                .next()
                .unwrap());
            let prev = lsn(rest
                .split("prev ")
                .nth(1)
                .unwrap()
                .split(',')
                .next()
                .unwrap());
            let desc = rest.split("desc: ").nth(1).unwrap_or("").to_owned();
            out.push(DumpRecord {
                start,
                tot,
                prev,
                rmgr: rmgr.to_owned(),
                desc,
                blocks: Vec::new(),
            });
        } else if let Some(rest) = line.strip_prefix("\tblkref #") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            // "<id>: rel S/D/R fork F blk B [(FPW); hole ...]"
            let ids: Vec<u32> = words[2].split('/').map(|x| x.parse().unwrap()).collect();
            let forknum = match words[4] {
                "main" => 0,
                "fsm" => 1,
                "vm" => 2,
                _ => 3,
            };
            let rel = RelTag {
                spcnode: ids[0],
                dbnode: ids[1],
                relnode: ids[2],
                forknum,
            };
            let blk = words[6].parse().unwrap();
            let fpw = rest.contains("(FPW)");
            let compressed = rest.contains("method:");
            out.last_mut()
                .unwrap()
                .blocks
                .push((rel, blk, fpw, compressed));
        }
    }
    out
}

/// Neon's storage LSN of each record: the next record's start, or the page boundary
/// before it when the next record is the first on its page (WAL.md 4.2).
pub fn storage_lsns(recs: &[DumpRecord], last: Lsn) -> Vec<Lsn> {
    (0..recs.len())
        .map(|i| match recs.get(i + 1) {
            None => last,
            Some(next) => {
                let n = next.start.0;
                if n % SEG_SIZE == 40 {
                    Lsn(n - 40)
                } else if n % 8192 == 24 {
                    Lsn(n - 24)
                } else {
                    next.start
                }
            }
        })
        .collect()
}

/// A block's reference by one record: (storage LSN, record index, Neon image?).
type BlockRef = (Lsn, usize, bool);

fn is_neon_image(r: &DumpRecord, fpw: bool, compressed: bool) -> bool {
    r.rmgr == "XLOG"
        && (r.desc.starts_with("FPI ") || r.desc.starts_with("FPI_FOR_HINT"))
        && fpw
        && !compressed
}

fn dump() -> (Vec<DumpRecord>, Vec<Lsn>) {
    let f = fixture();
    let text = f
        .run
        .waldump(&["-b", "-s", &f.import_lsn.to_string()])
        .unwrap();
    let recs = parse_dump(&text);
    let lsns = storage_lsns(&recs, f.final_lsn);
    (recs, lsns)
}

#[test]
fn page_histories_are_the_waldump_records_since_the_last_image() {
    let f = fixture();
    let (recs, lsns) = dump();
    assert!(
        recs.len() as u64 == f.progress.records,
        "pg_waldump lists {} records, ingest {}",
        recs.len(),
        f.progress.records
    );
    assert_eq!(*lsns.last().unwrap(), f.final_lsn);
    // Per main-fork block: (storage LSN, record index, Neon image?) in WAL order.
    let mut per_block: BTreeMap<(RelTag, u32), Vec<BlockRef>> = BTreeMap::new();
    for (i, r) in recs.iter().enumerate() {
        for &(rel, blk, fpw, compressed) in &r.blocks {
            if rel.forknum == MAIN_FORKNUM {
                per_block.entry((rel, blk)).or_default().push((
                    lsns[i],
                    i,
                    is_neon_image(r, fpw, compressed),
                ));
            }
        }
    }
    let tl = open_timeline(&f.timeline).unwrap();
    let rt = runtime();
    let step = (per_block.len() / 1500).max(1);
    let (mut images, mut inits, mut imported) = (0, 0, 0);
    for (n, ((rel, blk), refs)) in per_block.iter().enumerate() {
        if n % step != 0 {
            continue;
        }
        let t = rt
            .block_on(tl.get_history(Key::rel_block(*rel, *blk), f.final_lsn))
            .unwrap();
        let h = t.history;
        let got: Vec<Lsn> = h.records.iter().map(|(l, _)| *l).collect();
        let last_image = refs.iter().rposition(|r| r.2);
        let base = match (&h.img, last_image) {
            (Some((l, _)), Some(i)) if *l == refs[i].0 => {
                images += 1;
                *l
            }
            (Some((l, img)), _) => {
                // The imported page, or a zero page from an extension (handle_rel_extend).
                assert!(
                    *l == f.import_lsn || img.iter().all(|&b| b == 0),
                    "{rel:?} blk {blk}: base at {l}"
                );
                if let Some(i) = last_image {
                    assert!(
                        refs[i].0 < *l,
                        "{rel:?} blk {blk}: image at {} not used",
                        refs[i].0
                    );
                }
                imported += 1;
                *l
            }
            (None, _) => {
                // The history starts at a record that initialises the page.
                let Some((
                    first,
                    NeonWalRecord::Postgres {
                        will_init: true, ..
                    },
                )) = h.records.first()
                else {
                    panic!(
                        "{rel:?} blk {blk}: no image and no will_init record: {:?}",
                        got.first()
                    );
                };
                inits += 1;
                Lsn(first.0 - 1)
            }
        };
        let want: Vec<Lsn> = refs
            .iter()
            .filter(|r| r.0 > base && !r.2)
            .map(|r| r.0)
            .collect();
        assert_eq!(got, want, "{rel:?} blk {blk}: records since {base}");
        for ((_, rec), r) in h.records.iter().zip(refs.iter().filter(|r| r.0 > base)) {
            let NeonWalRecord::Postgres { rec, .. } = rec else {
                panic!("{rel:?} blk {blk}: not a Postgres record");
            };
            let d = &recs[r.1];
            assert_eq!(rec.len() as u32, d.tot, "record at {}", d.start);
            assert_eq!(u64::from_le_bytes(rec[8..16].try_into().unwrap()), d.prev.0);
        }
    }
    // `imported` counts histories based on the imported page or an extension's zero page:
    // after a checkpoint every first touch carries a full-page write, so it may be 0.
    assert!(
        images > 10 && inits > 10,
        "images {images}, inits {inits}, imported {imported}"
    );
}

#[test]
fn pages_last_changed_by_an_fpi_equal_the_final_files_outside_free_space() {
    let f = fixture();
    let (recs, lsns) = dump();
    let mut last: BTreeMap<(RelTag, u32), (Lsn, bool)> = BTreeMap::new();
    for (i, r) in recs.iter().enumerate() {
        for &(rel, blk, fpw, compressed) in &r.blocks {
            last.insert((rel, blk), (lsns[i], is_neon_image(r, fpw, compressed)));
        }
    }
    let sizes = file_sizes(&f.run.data);
    let tl = open_timeline(&f.timeline).unwrap();
    let mut checked = 0;
    for ((rel, blk), (lsn, image)) in &last {
        if !image || rel.forknum != MAIN_FORKNUM || sizes.get(rel).is_none_or(|n| n <= blk) {
            continue;
        }
        let dir = if rel.spcnode == 1664 {
            "global".to_owned()
        } else {
            format!("base/{}", rel.dbnode)
        };
        let seg = blk / RELSEG_BLOCKS;
        let name = if seg == 0 {
            format!("{}", rel.relnode)
        } else {
            format!("{}.{seg}", rel.relnode)
        };
        let file = std::fs::read(f.run.data.join(dir).join(name)).unwrap();
        let off = (blk % RELSEG_BLOCKS) as usize * 8192;
        let want = &file[off..off + 8192];
        let got = page(&tl, Key::rel_block(*rel, *blk), f.final_lsn);
        assert_eq!(got.len(), 8192);
        assert_eq!(
            got[..8],
            want[..8],
            "pd_lsn of {rel:?} blk {blk} (image at {lsn})"
        );
        let lower = u16::from_le_bytes([got[12], got[13]]) as usize;
        let upper = u16::from_le_bytes([got[14], got[15]]) as usize;
        assert!(lower <= upper && upper <= 8192);
        assert!(
            got[..lower] == want[..lower] && got[upper..] == want[upper..],
            "{rel:?} blk {blk}"
        );
        checked += 1;
    }
    assert!(checked > 20, "only {checked} pages");
}

#[test]
fn every_layer_verifies_and_the_timeline_is_well_formed() {
    let f = fixture();
    let tl = open_timeline(&f.timeline).unwrap();
    let findings = runtime().block_on(tl.verify());
    assert!(findings.is_empty(), "{findings:?}");
    let map = tl.layers();
    let layers = map.layers();
    let deltas = layers.iter().filter(|(d, _)| d.is_delta).count();
    assert!(
        deltas >= 3 && deltas == f.progress.layers as usize,
        "{deltas} deltas"
    );
    assert!(layers.len() > deltas, "no image layer");
    let starts: BTreeSet<Lsn> = layers
        .iter()
        .filter(|(d, _)| d.is_delta)
        .map(|(d, _)| d.lsn_range.start)
        .collect();
    assert!(starts.contains(&Lsn(f.import_lsn.0 + 1)));
}
