//! `strata import` and `strata ingest` on a real PostgreSQL 15 run: the kill test (ingest
//! SIGKILLed at random moments and restarted until done answers exactly as an uninterrupted
//! ingest), `--json` summaries, `strata page` and `strata timeline verify` on the result.
//! `STRATA_INGEST_BIG=1` makes the workload a few hundred MB of WAL (opt-in).

use std::path::Path;
use std::time::{Duration, Instant};

use strata_ingest::testing::{PgRun, PgSpec};
use strata_ingest::{RELSEG_BLOCKS, open_timeline};
use strata_key::{Key, Lsn, SlruKind};
use strata_timeline::Timeline;

use crate::strata::{command, run, run_ok};

/// This test's server port (strata-wal's oracle uses 54391, strata-ingest's 54393).
const PORT: u16 = 54394;

fn spec() -> PgSpec {
    if std::env::var_os("STRATA_INGEST_BIG").is_some() {
        PgSpec {
            port: PORT,
            scale: 30,
            pgbench_seconds: 40,
            burn_transactions: 40_000,
        }
    } else {
        PgSpec {
            port: PORT,
            scale: 1,
            pgbench_seconds: 2,
            burn_transactions: 2_000,
        }
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
        (self.0 >> 33) % n
    }
}

/// Every key worth comparing: CLOG pages, sizes of the forks on disk, a sample of their
/// blocks, and the directory and checkpoint keys.
fn keys(run: &PgRun) -> Vec<Key> {
    let mut keys = vec![Key::DBDIR, Key::CHECKPOINT, Key::CONTROLFILE];
    for seg in 0..4 {
        for page in 0..32 {
            keys.push(Key::slru_block(SlruKind::Clog, seg, page));
        }
    }
    let db_dirs = std::fs::read_dir(run.data.join("base")).unwrap().flatten();
    for db in db_dirs {
        for f in std::fs::read_dir(db.path()).unwrap().flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            let path = format!("base/{}/{name}", db.file_name().to_string_lossy());
            if let strata_ingest::PgFile::Rel { rel, segno } = strata_ingest::classify(&path) {
                keys.push(Key::rel_size(rel));
                let n = f.metadata().unwrap().len() / 8192;
                for blk in (0..n as u32).step_by(5) {
                    keys.push(Key::rel_block(rel, segno * RELSEG_BLOCKS + blk));
                }
            }
        }
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

fn final_lsn(dir: &Path) -> Lsn {
    strata_ingest::Extent::scan(dir)
        .unwrap()
        .resume_lsn()
        .unwrap()
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
    let summary = run_ok([
        "ingest".as_ref(),
        wal.as_os_str(),
        reference.as_os_str(),
        "--checkpoint-mb".as_ref(),
        "1".as_ref(),
        "--json".as_ref(),
    ]);
    assert!(summary.contains("\"records_per_s\""), "{summary}");
    run_ok(["import".as_ref(), pg.base.as_os_str(), killed.as_os_str()]);

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let mut rng = Lcg(seed);
    let (mut kills, mut runs) = (0, 0);
    loop {
        runs += 1;
        assert!(runs < 60, "seed {seed}: ingest never finished");
        let mut child = command()
            .args([
                "ingest".as_ref(),
                wal.as_os_str(),
                killed.as_os_str(),
                "--checkpoint-mb".as_ref(),
                "1".as_ref(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Random moments, later and later, so that every run eventually completes.
        let deadline = Instant::now() + Duration::from_millis(20 + rng.next(300) + 100 * runs);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if Instant::now() >= deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        match status {
            Some(s) => {
                assert!(s.success(), "seed {seed}: ingest failed: {s}");
                break;
            }
            None => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                kills += 1;
            }
        }
    }
    assert!(kills > 0, "seed {seed}: ingest finished before any kill");

    let lsn = final_lsn(&reference);
    assert_eq!(final_lsn(&killed), lsn, "seed {seed}");
    let (a, b) = (
        open_timeline(&reference).unwrap(),
        open_timeline(&killed).unwrap(),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let keys = keys(&pg);
    for key in &keys {
        assert_eq!(
            answer(&a, &rt, *key, lsn),
            answer(&b, &rt, *key, lsn),
            "seed {seed}: key {key}"
        );
    }
    assert!(keys.len() > 1000);

    // Both timelines verify, and `strata page` reads a CLOG page of the result.
    for dir in [&reference, &killed] {
        run_ok(["timeline".as_ref(), "verify".as_ref(), dir.as_os_str()]);
    }
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
