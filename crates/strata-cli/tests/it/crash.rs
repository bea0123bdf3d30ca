//! Crash safety: `strata workload` writing a ~30 MB delta layer (and `workload --kind image`
//! writing a ~12 MB image layer) is killed with SIGKILL (`Child::kill`) at many moments, from
//! before its file exists to around the rename. Afterwards every file in its directory is either
//! a complete layer under its final name (`strata verify` passes and `strata name` calls it a
//! delta, or an image) or a leftover under a temp name (`strata name` and `is_temp_file_name`
//! call it temp); never a partial file under a final name.
//!
//! The kill moments are deterministic: half are seeded delays spanning 0 to 120 % of a clean
//! run's duration, half are "the temp file has reached N % of the final size" triggers. The
//! outcome of each run (nothing yet, a temp file, the finished layer) may vary with the machine's
//! speed; the invariant checked never does. At least one run is killed mid-write (a size trigger
//! fires while the file is still growing, long before the rename).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use strata_key::name::is_temp_file_name;
use strata_layer::SplitMix64;
use strata_testkit::files_in;

/// The delta workload: 3000 keys × 11 entries, about 30 MB; 8 kill runs of each kind.
const DELTA: Workload = Workload {
    args: &["workload", "--keys", "3000"],
    kind: "delta",
    runs: 8,
    min_size: 20 << 20,
};
/// The image workload: 1500 images of 8 KiB, about 12 MB; 4 kill runs of each kind.
const IMAGE: Workload = Workload {
    args: &["workload", "--kind", "image", "--keys", "1500"],
    kind: "image",
    runs: 4,
    min_size: 10 << 20,
};

/// A workload command and what its layer is.
struct Workload {
    args: &'static [&'static str],
    /// What `strata name` calls the finished layer.
    kind: &'static str,
    /// Kill runs of each kind (timed, size-triggered).
    runs: u64,
    /// The finished file is at least this large.
    min_size: u64,
}

fn strata() -> Command {
    Command::new(env!("CARGO_BIN_EXE_strata"))
}

fn spawn_workload(w: &Workload, dir: &Path) -> Child {
    strata()
        .args(w.args)
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting strata workload")
}

/// What a killed run left behind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Left {
    temp: usize,
    complete: usize,
}

/// Checks the invariant on `dir` and says what it holds.
fn check_dir(w: &Workload, dir: &Path, what: &str) -> Left {
    let names = files_in(dir);
    assert!(names.len() <= 1, "{what}: one writer, one file: {names:?}");
    let mut left = Left::default();
    for name in &names {
        let out = strata()
            .arg("name")
            .arg(name)
            .output()
            .expect("strata name");
        let line = String::from_utf8(out.stdout).expect("utf-8");
        assert!(out.status.success(), "{what}: strata name {name}: {line}");
        let kind = line.split_whitespace().nth(1).unwrap_or_default();
        if is_temp_file_name(name) {
            assert_eq!(kind, "temp", "{what}: {line}");
            left.temp += 1;
        } else {
            assert_eq!(kind, w.kind, "{what}: {line}");
            let path = dir.join(name);
            let out = strata()
                .arg("verify")
                .arg(&path)
                .output()
                .expect("strata verify");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{what}: a file under a final name does not verify: {text}"
            );
            assert_eq!(text.trim(), format!("ok {}", path.display()), "{what}");
            left.complete += 1;
        }
    }
    left
}

/// SIGKILLs `child` and reaps it.
fn kill(mut child: Child) {
    // `kill` fails only if the child was already reaped, which `wait` below does.
    let _ = child.kill();
    child.wait().expect("reaping the child");
}

#[test]
fn sigkill_never_leaves_a_partial_layer_under_a_final_name() {
    crash_sweep(&DELTA);
}

#[test]
fn sigkill_never_leaves_a_partial_image_layer_under_a_final_name() {
    crash_sweep(&IMAGE);
}

fn crash_sweep(w: &Workload) {
    let runs = w.runs;
    // A clean run: its duration places the timed kills, its size the size triggers.
    let clean = tempfile::tempdir().expect("tempdir");
    let start = Instant::now();
    let status = spawn_workload(w, clean.path()).wait().expect("clean run");
    let duration = start.elapsed();
    assert!(status.success());
    assert_eq!(
        check_dir(w, clean.path(), "clean run"),
        Left {
            temp: 0,
            complete: 1
        }
    );
    let final_size = std::fs::metadata(clean.path().join(&files_in(clean.path())[0]))
        .expect("metadata")
        .len();
    assert!(final_size > w.min_size, "{final_size}");

    let mut rng = SplitMix64::new(0x5EED);
    let mut total = Left::default();
    let mut n_mid_write = 0;
    // Timed kills: seeded fractions spread over [0, 1.2) of the clean duration, one per slot.
    for i in 0..runs {
        let frac = (i as f64 + rng.below(1000) as f64 / 1000.0) / runs as f64 * 1.2;
        let delay = duration.mul_f64(frac);
        let dir = tempfile::tempdir().expect("tempdir");
        let child = spawn_workload(w, dir.path());
        std::thread::sleep(delay);
        kill(child);
        let left = check_dir(w, dir.path(), &format!("timed kill {i} after {delay:?}"));
        total.temp += left.temp;
        total.complete += left.complete;
    }
    // Size triggers: kill once the temp file holds a seeded 5–90 % of the final size.
    for i in 0..runs {
        let pct = 5 + (i * 85 + rng.below(85 / runs)) / runs;
        let target = final_size * pct / 100;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = spawn_workload(w, dir.path());
        let mut reached = false;
        loop {
            let grown = files_in(dir.path()).iter().any(|n| {
                is_temp_file_name(n)
                    && std::fs::metadata(dir.path().join(n)).is_ok_and(|m| m.len() >= target)
            });
            if grown {
                reached = true;
                break;
            }
            if child.try_wait().expect("try_wait").is_some() {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        kill(child);
        let left = check_dir(w, dir.path(), &format!("kill at {pct}% of the file"));
        n_mid_write += usize::from(reached && left.temp == 1);
        total.temp += left.temp;
        total.complete += left.complete;
    }
    assert!(n_mid_write >= 1, "no run was killed mid-write: {total:?}");
}
