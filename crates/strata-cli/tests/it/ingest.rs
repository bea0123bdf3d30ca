//! `strata import` and `strata ingest` on a real PostgreSQL 15 run: the kill test (about
//! 300 MB of WAL, ingest SIGKILLed at random moments and in the middle of layer writes,
//! restarted until done, answers exactly as an uninterrupted ingest: every CLOG page, size
//! and directory key and every 4th block of every fork; every block with
//! `STRATA_INGEST_BIG=1`), `--json` summaries, `strata page` and `strata timeline verify` on the
//! result.
//!
//! The WAL comes cheaply from `pgbench -i -s 20` (its COPY writes ~300 MB of WAL in seconds)
//! plus a short pgbench run and the xid-burning scripts; a 16 MiB checkpoint distance makes
//! the ingest write ~20 layers, so the kills land between and during layer writes.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use strata_ingest::testing::{PgRun, PgSpec};
use strata_ingest::{Catalog, Extent, open_timeline};
use strata_key::{Key, Lsn, SlruKind};
use strata_timeline::{EntryClass, Timeline, classify_entry};

use crate::strata::{command, run, run_ok};

/// This test's server port (strata-wal's oracle uses 54391, strata-ingest's 54393).
const PORT: u16 = 54394;
/// Kills before the run that is left to finish.
const KILLS: u32 = 8;
/// `--checkpoint-mb` of every ingest.
const CHECKPOINT_MB: &str = "16";

fn spec() -> PgSpec {
    PgSpec {
        port: PORT,
        scale: 20,
        pgbench_seconds: 2,
        burn_transactions: 2_000,
    }
}

/// A small deterministic generator seeded from the clock (the seed is in failure messages).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

/// The keys compared, from the catalog: the directory, checkpoint and control keys, every
/// relation fork's size key, every `step`-th block of each fork and its last block, every
/// SLRU segment's size key and every page of it (all CLOG pages among them).
fn keys(cat: &Catalog, step: usize) -> Vec<Key> {
    let mut keys = vec![Key::DBDIR, Key::CHECKPOINT, Key::CONTROLFILE];
    keys.extend(cat.rel_dirs.keys().map(|&(spc, db)| Key::rel_dir(spc, db)));
    for (&rel, &blocks) in &cat.rel_sizes {
        keys.push(Key::rel_size(rel));
        let sample = (0..blocks).step_by(step).chain(blocks.checked_sub(1));
        keys.extend(sample.map(|blk| Key::rel_block(rel, blk)));
    }
    keys.extend(cat.slru_dirs.keys().map(|&kind| Key::slru_dir(kind)));
    for (&(kind, segno), &pages) in &cat.slru_sizes {
        keys.push(Key::slru_segment_size(kind, segno));
        keys.extend((0..pages).map(|page| Key::slru_block(kind, segno, page)));
    }
    keys
}

/// What a timeline says about `key` at `lsn`: its history (LSNs and values) or the error.
fn answer(tl: &Timeline, rt: &tokio::runtime::Runtime, key: Key, lsn: Lsn) -> String {
    match rt.block_on(tl.get_history(key, lsn)) {
        Ok(t) => format!("{:?} {:?}", t.history.img, t.history.records),
        Err(e) => format!("error {}", e.to_string().lines().next().unwrap_or("")),
    }
}

fn resume_lsn(dir: &Path) -> Lsn {
    Extent::scan(dir).unwrap().resume_lsn().unwrap()
}

/// Whether `dir` holds a layer's temp file (a layer write in progress, or a killed one's).
fn has_temp(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .any(|e| classify_entry(&e.file_name().to_string_lossy()) == EntryClass::Temporary)
}

fn spawn_ingest(wal: &Path, dir: &Path) -> Child {
    command()
        .args(["ingest".as_ref(), wal.as_os_str(), dir.as_os_str()])
        .args(["--checkpoint-mb", CHECKPOINT_MB])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// How a run is to be interrupted.
#[derive(Clone, Copy, Debug)]
enum Moment {
    /// After this long.
    After(Duration),
    /// As soon as the n-th layer write of this run (1-based) has its temp file.
    InLayerWrite(u32),
}

/// Waits for `moment` and SIGKILLs `child`; `false` if it finished first (successfully).
fn kill_at(child: &mut Child, dir: &Path, moment: Moment, seed: u64) -> bool {
    let start = Instant::now();
    let (mut writes, mut in_write) = (0, false);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "seed {seed}: ingest failed: {status}");
            return false;
        }
        let now = match moment {
            Moment::After(d) => start.elapsed() >= d,
            Moment::InLayerWrite(n) => {
                let temp = has_temp(dir);
                if temp && !in_write {
                    writes += 1;
                }
                in_write = temp;
                temp && writes >= n
            }
        };
        if now {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn ingest_killed_at_random_moments_answers_as_an_uninterrupted_one() {
    let tmp = tempfile::Builder::new()
        .prefix("strata-cli-ingest")
        .tempdir()
        .unwrap();
    let pg = PgRun::generate(&tmp.path().join("pg"), &spec()).expect("PostgreSQL run");
    let wal = pg.wal_dir();
    let (reference, killed) = (tmp.path().join("ref"), tmp.path().join("killed"));

    let summary = run_ok([
        "import".as_ref(),
        pg.base.as_os_str(),
        reference.as_os_str(),
        "--json".as_ref(),
    ]);
    assert!(summary.contains("\"layers\":[\""), "{summary}");
    let started = Instant::now();
    let summary = run_ok([
        "ingest".as_ref(),
        wal.as_os_str(),
        reference.as_os_str(),
        "--checkpoint-mb".as_ref(),
        CHECKPOINT_MB.as_ref(),
        "--json".as_ref(),
    ]);
    let full = started.elapsed();
    let v: serde_json::Value = serde_json::from_str(&summary).unwrap();
    let wal_bytes = v["wal_bytes"].as_u64().unwrap();
    let ref_layers = v["layers"].as_u64().unwrap();
    assert!(wal_bytes > 250_000_000, "{summary}");
    assert!(ref_layers >= 15, "{summary}");
    // Once more: nothing is left, and this is what a restart costs before it ingests.
    let started = Instant::now();
    let again = run_ok([
        "ingest".as_ref(),
        wal.as_os_str(),
        reference.as_os_str(),
        "--json".as_ref(),
    ]);
    let restart = started.elapsed();
    assert!(again.contains("\"records\":0,"), "{again}");
    run_ok(["import".as_ref(), pg.base.as_os_str(), killed.as_os_str()]);

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let mut rng = Lcg(seed);
    // Timed kills spread over about the first two thirds of the WAL; the others land inside
    // the first, second or third layer write of their run.
    let span = (full / KILLS).as_millis() as u64;
    let (mut kills, mut mid_write, mut resumes) = (0, 0, vec![resume_lsn(&killed)]);
    for i in 0..KILLS {
        let moment = if i % 2 == 0 {
            // At least half a span in: most timed kills land after a layer of progress.
            Moment::After(restart + Duration::from_millis(span / 2 + rng.next(span)))
        } else {
            Moment::InLayerWrite(1 + rng.next(3) as u32)
        };
        let mut child = spawn_ingest(&wal, &killed);
        if !kill_at(&mut child, &killed, moment, seed) {
            break;
        }
        kills += 1;
        mid_write += u32::from(has_temp(&killed));
        let at = resume_lsn(&killed);
        assert!(at >= *resumes.last().unwrap(), "seed {seed}: went back");
        resumes.push(at);
    }
    let last = run_ok([
        "ingest".as_ref(),
        wal.as_os_str(),
        killed.as_os_str(),
        "--checkpoint-mb".as_ref(),
        CHECKPOINT_MB.as_ref(),
        "--json".as_ref(),
    ]);
    resumes.dedup();
    eprintln!(
        "kill test: {:.1} MB WAL, {ref_layers} layers, full ingest {full:?}, restart {restart:?}, \
         {kills} kills ({mid_write} inside a layer write), {} resume points",
        wal_bytes as f64 / 1e6,
        resumes.len()
    );
    assert!(kills >= 5, "seed {seed}: only {kills} kills ({last})");
    assert!(mid_write >= 1, "seed {seed}: no kill inside a layer write");
    assert!(resumes.len() >= 3, "seed {seed}: resumed from {resumes:?}");

    let lsn = resume_lsn(&reference);
    assert_eq!(resume_lsn(&killed), lsn, "seed {seed}");
    let (a, b) = (
        open_timeline(&reference).unwrap(),
        open_timeline(&killed).unwrap(),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (ca, cb) = (
        rt.block_on(Catalog::load(&a, lsn)).unwrap(),
        rt.block_on(Catalog::load(&b, lsn)).unwrap(),
    );
    assert_eq!(ca.rel_sizes, cb.rel_sizes, "seed {seed}");
    assert_eq!(ca.slru_sizes, cb.slru_sizes, "seed {seed}");
    assert_eq!(ca.db_dir, cb.db_dir, "seed {seed}");
    assert_eq!(ca.checkpoint, cb.checkpoint, "seed {seed}");
    // Every key with STRATA_INGEST_BIG=1 (about 40 s more in a debug build).
    let step = if std::env::var_os("STRATA_INGEST_BIG").is_some() {
        1
    } else {
        4
    };
    let keys = keys(&ca, step);
    assert!(keys.len() > 40_000 / step, "{}", keys.len());
    assert!(ca.slru_sizes.contains_key(&(SlruKind::Clog, 0)));
    for key in &keys {
        assert_eq!(
            answer(&a, &rt, *key, lsn),
            answer(&b, &rt, *key, lsn),
            "seed {seed}: key {key}"
        );
    }

    // The restarted timeline verifies, and `strata page` reads a CLOG page of the result.
    run_ok(["timeline".as_ref(), "verify".as_ref(), killed.as_os_str()]);
    let clog = Key::slru_block(SlruKind::Clog, 0, 0).to_string();
    let out = run([
        "page".as_ref(),
        killed.as_os_str(),
        clog.as_ref(),
        lsn.to_string().as_ref(),
        "--json".as_ref(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
