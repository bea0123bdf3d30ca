//! The golden contract of the `strata` binary, for every case Neon wrote: `manifest` prints
//! exactly the manifest without '#' lines, `query` prints exactly the `Q` lines, `copy` writes a
//! byte-identical file, and `workload --keys 300` reproduces `stdsmall.layer`.

use std::path::Path;
use std::process::{Command, Output};

fn strata(args: &[&std::ffi::OsStr]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .output()
        .expect("running strata");
    assert!(
        out.status.success(),
        "strata {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn os(s: &(impl AsRef<std::ffi::OsStr> + ?Sized)) -> &std::ffi::OsStr {
    s.as_ref()
}

#[test]
fn manifest_equals_neon_manifest_for_every_case() {
    for case in strata_testkit::golden_cases() {
        let expected = strata_testkit::Manifest::load(&case).text;
        let layer = strata_testkit::layer_path(&case);
        let out = strata(&[os("manifest"), os(&layer)]);
        let got = String::from_utf8(out.stdout).expect("utf-8 manifest");
        if got != expected {
            let first = got
                .lines()
                .zip(expected.lines())
                .find(|(g, e)| g != e)
                .map(|(g, e)| format!("got {g:?}\nexpected {e:?}"));
            panic!("{case}: manifest differs; first difference: {first:?}");
        }
    }
}

#[test]
fn query_equals_neon_results_for_every_case() {
    for case in strata_testkit::golden_cases() {
        let queries = strata_testkit::load_queries(&case);
        assert_eq!(queries.len(), 200, "{case}");
        let layer = strata_testkit::layer_path(&case);
        let qfile = strata_testkit::golden_dir().join(format!("{case}.queries"));
        let out = strata(&[os("query"), os(&layer), os(&qfile)]);
        let got = String::from_utf8(out.stdout).expect("utf-8 output");
        let got: Vec<&str> = got.lines().collect();
        let expected: Vec<&str> = queries.iter().map(|q| q.line.as_str()).collect();
        assert_eq!(got, expected, "{case}");
    }
}

/// Only the first four fields of a `Q` line are input: results must not be copied from it.
#[test]
fn query_ignores_the_expected_results_in_its_input() {
    let case = "walonly";
    let dir = tempfile::tempdir().expect("tempdir");
    let stripped: String = strata_testkit::load_queries(case)
        .iter()
        .map(|q| {
            let f: Vec<&str> = q.line.split(' ').take(4).collect();
            format!("{} Complete img=- visited=-\n", f.join(" "))
        })
        .collect();
    let qfile = dir.path().join("q");
    std::fs::write(&qfile, stripped).expect("write queries");
    let out = strata(&[
        os("query"),
        os(&strata_testkit::layer_path(case)),
        os(&qfile),
    ]);
    let got = String::from_utf8(out.stdout).expect("utf-8 output");
    let expected: Vec<String> = strata_testkit::load_queries(case)
        .into_iter()
        .map(|q| q.line)
        .collect();
    assert_eq!(got.lines().collect::<Vec<_>>(), expected);
}

fn last_line(out: &Output) -> String {
    let text = String::from_utf8(out.stdout.clone()).expect("utf-8 output");
    text.lines().last().expect("a path line").to_owned()
}

#[test]
fn copy_is_byte_identical_for_every_case() {
    for case in strata_testkit::golden_cases() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layer = strata_testkit::layer_path(&case);
        let out = strata(&[os("copy"), os(&layer), os(dir.path())]);
        let path = last_line(&out);
        assert!(Path::new(&path).starts_with(dir.path()), "{case}: {path}");
        let copied = std::fs::read(&path).expect("read the copy");
        assert!(
            copied == strata_testkit::layer_bytes(&case),
            "{case}: copy differs from Neon's file"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(
            names.len(),
            1,
            "{case}: no temp file left behind: {names:?}"
        );
    }
}

#[test]
fn workload_300_keys_is_stdsmall() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = strata(&[os("workload"), os("--keys"), os("300"), os(dir.path())]);
    let path = last_line(&out);
    let written = std::fs::read(&path).expect("read the workload file");
    assert!(
        written == strata_testkit::layer_bytes("stdsmall"),
        "workload --keys 300 differs from stdsmall.layer"
    );
}
