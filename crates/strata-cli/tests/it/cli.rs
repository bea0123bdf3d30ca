//! The `strata` binary's other contracts: exit codes of `verify` and the reading commands, JSON
//! output that parses, `demo` and `bench` at a tiny size, and `--help` examples.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

const SUBCOMMANDS: [&str; 11] = [
    "demo", "manifest", "query", "copy", "workload", "verify", "summary", "dump", "get", "name",
    "bench",
];

use crate::strata::{command, run, run_ok, stderr, stdout};

fn golden(case: &str) -> OsString {
    strata_testkit::layer_path(case).into_os_string()
}

/// A copy of `case`'s layer in `dir` with `damage` applied to its bytes.
fn damaged(dir: &Path, case: &str, damage: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = strata_testkit::layer_bytes(case);
    damage(&mut bytes);
    let path = dir.join(format!("{case}.damaged"));
    std::fs::write(&path, bytes).expect("write damaged copy");
    path
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    for cmd in SUBCOMMANDS {
        let text = run_ok([cmd, "--help"]);
        assert!(text.contains("Example"), "{cmd} --help: {text}");
    }
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(["frobnicate"]).status.code(), Some(2));
    assert_eq!(run(["manifest"]).status.code(), Some(2));
    let bad_key = run([
        OsString::from("get"),
        golden("tiny"),
        "nokey".into(),
        "10".into(),
    ]);
    assert_eq!(bad_key.status.code(), Some(2), "{}", stderr(&bad_key));
    let bad_lsn = run([
        OsString::from("get"),
        golden("tiny"),
        "000000067F00004001000040000000000000".into(),
        "xyz".into(),
    ]);
    assert_eq!(bad_lsn.status.code(), Some(2), "{}", stderr(&bad_lsn));
}

#[test]
fn a_bad_key_or_lsn_is_reported_in_one_message() {
    let key = "000000067F00004001000040000000000000";
    let cases = [
        (
            "nokey",
            "10",
            "KEY \"nokey\": expected 36 hex digits, got 5 characters",
        ),
        (
            "000000067F0000400100004000000000000Z",
            "10",
            "KEY \"000000067F0000400100004000000000000Z\": expected 36 hex digits, got a \
             character that is not a hex digit",
        ),
        (
            key,
            "xyz",
            "LSN \"xyz\": expected X/Y or 1 to 16 hex digits, got a character that is not a \
             hex digit",
        ),
    ];
    for (key, lsn, message) in cases {
        let out = run([
            OsString::from("get"),
            golden("tiny"),
            key.into(),
            lsn.into(),
        ]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert_eq!(stderr(&out), format!("strata: error: {message}\n"));
        assert_eq!(stdout(&out), "");
    }
}

#[test]
fn a_directory_is_reported_as_a_directory_with_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let expected = format!(
        "strata: error: {} is a directory, not a layer file\n",
        dir.path().display()
    );
    let out = run([OsStr::new("verify"), dir.path().as_os_str()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(stdout(&out), "", "no finding such as \"0 whole blocks\"");
    assert_eq!(stderr(&out), expected);

    // Alongside a good file: the good one is still verified, and the exit code is 2.
    let out = run([OsString::from("verify"), dir.path().into(), golden("tiny")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("ok "), "{}", stdout(&out));
    assert_eq!(stderr(&out), expected);

    for cmd in ["summary", "dump", "manifest"] {
        let out = run([OsStr::new(cmd), dir.path().as_os_str()]);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {}", stderr(&out));
        assert_eq!(stderr(&out), expected, "{cmd}");
    }
}

#[test]
fn an_invalid_file_is_reported_once_per_cause() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tiny = dir.path().join("two-bytes.layer");
    std::fs::write(&tiny, b"xx").expect("write");
    for cmd in ["summary", "dump", "manifest"] {
        let out = run([OsStr::new(cmd), tiny.as_os_str()]);
        assert_eq!(out.status.code(), Some(1), "{cmd}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{cmd}: {err}");
        assert_eq!(err.matches("0 whole blocks").count(), 1, "{cmd}: {err}");
    }
}

#[test]
fn verify_accepts_every_golden_file() {
    let cases = strata_testkit::golden_cases();
    let mut args = vec![OsString::from("verify")];
    args.extend(cases.iter().map(|c| golden(c)));
    let text = run_ok(&args);
    let expected: Vec<String> = cases
        .iter()
        .map(|c| format!("ok {}", strata_testkit::layer_path(c).display()))
        .collect();
    assert_eq!(text.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn verify_reports_damaged_files_with_exit_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let damages: Vec<(&str, PathBuf)> = vec![
        ("bad magic", damaged(dir.path(), "tiny", |b| b[0] ^= 0xFF)),
        (
            "truncated",
            damaged(dir.path(), "walonly", |b| b.truncate(2 * 8192)),
        ),
        (
            "nonzero summary padding",
            damaged(dir.path(), "extremes", |b| b[200] = 1),
        ),
        (
            "garbage index root",
            damaged(dir.path(), "walvariants", |b| {
                let len = b.len();
                b[len - 8192..len - 8000].fill(0xAB);
            }),
        ),
    ];
    for (what, path) in &damages {
        let out = run([OsStr::new("verify"), path.as_os_str()]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{what}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        let text = stdout(&out);
        assert!(!text.is_empty(), "{what}: no finding printed");
        assert!(
            text.lines().all(|l| !l.starts_with("ok ")),
            "{what}: {text}"
        );
    }
    // A good file next to a bad one: both reported, exit 1.
    let good = golden("tiny");
    let out = run([OsStr::new("verify"), &good, damages[0].1.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    let good_line = format!("ok {}", Path::new(&good).display());
    assert!(
        stdout(&out).lines().any(|l| l == good_line),
        "{}",
        stdout(&out)
    );
}

#[test]
fn verify_of_a_missing_file_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such-layer");
    let out = run([OsStr::new("verify"), missing.as_os_str()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("no-such-layer"), "{}", stderr(&out));
}

#[test]
fn reading_commands_exit_1_on_an_invalid_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = damaged(dir.path(), "tiny", |b| b[0] ^= 0xFF);
    for cmd in ["manifest", "summary", "dump"] {
        let out = run([OsStr::new(cmd), bad.as_os_str()]);
        assert_eq!(out.status.code(), Some(1), "{cmd}: {}", stderr(&out));
    }
    let missing = dir.path().join("missing");
    let out = run([OsStr::new("summary"), missing.as_os_str()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

fn json(args: &[OsString]) -> serde_json::Value {
    let text = run_ok(args);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {text}"))
}

#[test]
fn summary_json_parses_and_matches_the_manifest() {
    for case in ["tiny", "extremes", "btree3"] {
        let v = json(&["summary".into(), "--json".into(), golden(case)]);
        let m = strata_testkit::Manifest::load(case);
        assert_eq!(v["tenant_id"], m.summary.tenant_id.to_string(), "{case}");
        assert_eq!(
            v["timeline_id"],
            m.summary.timeline_id.to_string(),
            "{case}"
        );
        assert_eq!(
            v["key_range"]["start"],
            m.summary.key_range.start.to_string()
        );
        assert_eq!(v["key_range"]["end"], m.summary.key_range.end.to_string());
        assert_eq!(
            v["lsn_range"]["start"],
            m.summary.lsn_range.start.to_hex16()
        );
        assert_eq!(v["lsn_range"]["end"], m.summary.lsn_range.end.to_hex16());
        assert_eq!(v["index_start_blk"], m.summary.index_start_blk, "{case}");
        assert_eq!(v["index_root_blk"], m.summary.index_root_blk, "{case}");
        assert_eq!(v["file_size"], m.file_size, "{case}");
    }
}

#[test]
fn dump_json_parses_and_lists_every_entry() {
    for case in ["walvariants", "prefixes"] {
        let m = strata_testkit::Manifest::load(case);
        let v = json(&[
            "dump".into(),
            "--json".into(),
            "--values".into(),
            golden(case),
        ]);
        let entries = v["entries"].as_array().expect("entries array");
        assert_eq!(entries.len(), m.entries.len(), "{case}");
        for (got, want) in entries.iter().zip(&m.entries) {
            assert_eq!(got["key"], want.key.to_string());
            assert_eq!(got["lsn"], want.lsn.to_hex16());
            assert_eq!(got["will_init"], want.will_init);
            assert_eq!(got["kind"], want.kind.as_str());
            assert_eq!(got["len"], want.len);
            let value = hex::decode(got["value"].as_str().expect("value hex")).expect("hex");
            assert!(want.payload.matches(&value), "{case} {}", want.key);
        }
    }
}

#[test]
fn dump_text_has_one_line_per_entry_at_least() {
    let m = strata_testkit::Manifest::load("walonly");
    let text = run_ok([OsString::from("dump"), golden("walonly")]);
    assert!(text.lines().count() >= m.entries.len(), "{text}");
}

#[test]
fn get_json_returns_the_history_newest_first() {
    // stdsmall = the standard workload with K = 300: key(5) at lsn(5,3) sees the image and
    // records 1..=3.
    let lsn = |k: u64, j: u64| 0x100_0000 + (k * 11 + j) * 16;
    let key = "000000067F00004000000040010000000005".to_owned();
    let v = json(&[
        "get".into(),
        "--json".into(),
        golden("stdsmall"),
        key.clone().into(),
        format!("{:016X}", lsn(5, 3)).into(),
    ]);
    assert_eq!(v["result"], "Complete");
    let records = v["records"].as_array().expect("records");
    let lsns: Vec<String> = records
        .iter()
        .map(|r| r["lsn"].as_str().expect("lsn").to_owned())
        .collect();
    let expected: Vec<String> = (1..=3)
        .rev()
        .map(|j| format!("{:016X}", lsn(5, j)))
        .collect();
    assert_eq!(lsns, expected);
    assert_eq!(v["image"]["lsn"], format!("{:016X}", lsn(5, 0)));

    // The same in text form, with the X/Y LSN syntax.
    let text = run_ok([
        OsString::from("get"),
        golden("stdsmall"),
        key.into(),
        format!("0/{:X}", lsn(5, 3)).into(),
    ]);
    assert!(text.contains("Complete"), "{text}");
    assert_eq!(text.lines().count(), 1 + 3 + 1, "{text}");
}

#[test]
fn get_json_of_a_missing_key_is_continue_with_nothing() {
    let v = json(&[
        "get".into(),
        "--json".into(),
        golden("tiny"),
        "7F0000000000000000000000000000000000".into(),
        "FFFFFFFF".into(),
    ]);
    assert_eq!(v["result"], "Continue");
    assert_eq!(v["records"].as_array().map(Vec::len), Some(0));
    assert!(v["image"].is_null());
}

#[test]
fn demo_runs_at_a_tiny_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let demo_dir = dir.path().join("demo");
    let out = run([
        OsStr::new("demo"),
        OsStr::new("--keys"),
        OsStr::new("50"),
        OsStr::new("--dir"),
        demo_dir.as_os_str(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for word in ["entries", "write", "scan", "hit rate", "strata verify"] {
        assert!(text.contains(word), "missing {word:?}: {text}");
    }
    assert!(text.contains("550"), "50 keys x 11 entries: {text}");
    let files: Vec<PathBuf> = std::fs::read_dir(&demo_dir)
        .expect("demo dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(text.contains(&files[0].display().to_string()), "{text}");
    let verified = run_ok([OsStr::new("verify"), files[0].as_os_str()]);
    assert!(verified.starts_with("ok "), "{verified}");

    // Never overwrites: a non-empty directory is refused.
    let again = run([
        OsStr::new("demo"),
        OsStr::new("--keys"),
        OsStr::new("50"),
        OsStr::new("--dir"),
        demo_dir.as_os_str(),
    ]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
}

/// Runs `strata demo --keys 3` with no `--dir`, with the system temp dir set to `tmp`.
fn demo_in_temp_dir(tmp: &Path) -> std::process::Output {
    command()
        .args(["demo", "--keys", "3"])
        .env("TMPDIR", tmp)
        .output()
        .expect("running strata demo")
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn demo_without_dir_reuses_one_directory_and_says_where() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let demo_dir = tmp.path().join("strata-demo");
    for run in 0..2 {
        let out = demo_in_temp_dir(tmp.path());
        assert!(out.status.success(), "run {run}: {}", stderr(&out));
        // One directory, holding one file, however many runs.
        assert_eq!(entries(tmp.path()), ["strata-demo"], "run {run}");
        let files = entries(&demo_dir);
        assert_eq!(files.len(), 1, "run {run}: {files:?}");
        let shown = format!("The file: {}", demo_dir.join(&files[0]).display());
        assert!(stdout(&out).contains(&shown), "run {run}: {}", stdout(&out));
        assert!(
            stderr(&out).contains(&demo_dir.display().to_string()),
            "run {run}: {}",
            stderr(&out)
        );
    }

    // Anything the demo did not write makes it refuse, and nothing is removed.
    let layer = entries(&demo_dir);
    std::fs::write(demo_dir.join("notes.txt"), "mine").expect("write notes");
    let out = demo_in_temp_dir(tmp.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("notes.txt"), "{}", stderr(&out));
    assert!(stderr(&out).contains("--dir"), "{}", stderr(&out));
    let mut expected = layer.clone();
    expected.push("notes.txt".into());
    expected.sort();
    assert_eq!(entries(&demo_dir), expected);
}

const BENCH_FIGURES: [&str; 19] = [
    "write_entries_per_s",
    "write_mb_per_s",
    "write_total_s",
    "file_size",
    "lookup_warm_per_s",
    "lookup_warm_us_per_lookup",
    "lookup_cold_per_s",
    "get_latest_per_s",
    "scan_cold_entries_per_s",
    "scan_cold_mb_per_s",
    "scan_warm_entries_per_s",
    "scan_warm_mb_per_s",
    "vectored_keys_per_s",
    "vectored_mb_per_s",
    "max_rss_mb",
    "lookup_warm_2task_per_s",
    "lookup_warm_scale_2task",
    "memcpy_mb_per_s",
    "scan_warm_vs_memcpy",
];

/// Figures `strata bench` prints only where the kernel reports thread CPU time (schedstat).
const BENCH_CPU_FIGURES: [&str; 3] = [
    "lookup_warm_cpu_us_per_lookup",
    "lookup_warm_2task_cpu_us_per_lookup",
    "lookup_warm_scale_2task_cpu",
];

#[test]
fn bench_prints_every_figure_by_name() {
    let text = run_ok(["bench", "--keys", "60", "--lookups", "300"]);
    let mut names = Vec::new();
    for line in text.lines() {
        let (name, rest) = line.split_once(": ").unwrap_or_else(|| panic!("{line:?}"));
        let value = rest.split(' ').next().expect("a value");
        assert!(value.parse::<f64>().is_ok(), "{line:?}");
        names.push(name.to_owned());
    }
    let has_cpu = std::path::Path::new("/proc/thread-self/schedstat").exists();
    let mut expected: Vec<String> = BENCH_FIGURES
        .iter()
        .chain(BENCH_CPU_FIGURES.iter().filter(|_| has_cpu))
        .map(|s| (*s).to_owned())
        .collect();
    expected.sort();
    names.sort();
    assert_eq!(names, expected);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = run_ok([
        OsStr::new("workload"),
        OsStr::new("--keys"),
        OsStr::new("60"),
        dir.path().as_os_str(),
    ]);
    let size = std::fs::metadata(path.trim_end())
        .expect("workload file")
        .len();
    assert!(
        text.contains(&format!("file_size: {size} bytes\n")),
        "{size}: {text}"
    );
}

#[test]
fn bench_json_has_the_same_figures() {
    let v = json(&[
        "bench".into(),
        "--json".into(),
        "--keys".into(),
        "40".into(),
        "--lookups".into(),
        "100".into(),
    ]);
    for name in BENCH_FIGURES {
        assert!(v[name].is_number(), "{name}: {v}");
    }
    assert_eq!(v["params"]["keys"], 40);
}

#[test]
fn a_closed_stdout_ends_quietly_with_exit_0() {
    use std::io::{BufRead, BufReader};
    let mut child = command()
        .args([OsString::from("dump"), golden("btree3")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn strata dump");
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("first line");
    // The reader closes the pipe after one of ~150 000 lines, like `| head -1`.
    assert!(first.starts_with("magic: "), "{first}");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}
