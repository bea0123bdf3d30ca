//! `strata name`: the line format for valid layer file names (delta, image, temporary), the
//! `invalid <name> <reason>` lines on stderr with exit code 1, and names from stdin.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::strata::{run, run_ok, stderr, stdout};

const DELTA: &str = "000000000000000000000000000000000000-FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF__0000000001696070-00000000016960E9";
const IMAGE: &str =
    "000000067F000032BE0000400000000020B6-000000067F000032BE0000400000000020B7__0000000001696070";
const TEMP: &str =
    "000000067F000032BE0000400000000020B6-XXX__0000000001696070-00000000016960E9.aB3dEf9H.___temp";

fn expected_name_lines() -> Vec<String> {
    vec![
        format!(
            "{DELTA} delta 000000000000000000000000000000000000 FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF 0000000001696070 00000000016960E9"
        ),
        format!(
            "{IMAGE} image 000000067F000032BE0000400000000020B6 000000067F000032BE0000400000000020B7 0000000001696070 0000000001696071"
        ),
        format!(
            "{TEMP} temp 000000067F000032BE0000400000000020B6 - 0000000001696070 00000000016960E9"
        ),
    ]
}

#[test]
fn name_prints_one_line_per_valid_name() {
    let text = run_ok(["name", DELTA, IMAGE, TEMP]);
    assert_eq!(text.lines().collect::<Vec<_>>(), expected_name_lines());
}

#[test]
fn name_reads_stdin_when_no_names_are_given() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("name")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn strata name");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{DELTA}\n{IMAGE}\nnot-a-layer\n{TEMP}").expect("write names");
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).lines().collect::<Vec<_>>(),
        expected_name_lines()
    );
    let err = stderr(&out);
    assert!(
        err.lines().any(|l| l.starts_with("invalid not-a-layer ")),
        "{err}"
    );
}

#[test]
fn name_rejects_invalid_names_with_exit_1() {
    let empty_lsn_range = "000000000000000000000000000000000000-FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF__00000000016960E9-00000000016960E9";
    let empty_key_range = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF-000000000000000000000000000000000000__0000000001696070-00000000016960E9";
    let out = run(["name", "hello", DELTA, empty_lsn_range, empty_key_range]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out).lines().collect::<Vec<_>>(),
        [expected_name_lines()[0].clone()]
    );
    let err = stderr(&out);
    for bad in ["hello", empty_lsn_range, empty_key_range] {
        assert!(
            err.lines()
                .any(|l| l.starts_with(&format!("invalid {bad} "))),
            "{bad}: {err}"
        );
    }
}

#[test]
fn name_canonicalises_lowercase_hex() {
    let lower = DELTA.replace('F', "f").replace("E9", "e9");
    let text = run_ok(["name", &lower]);
    let first = text.split(' ').next().expect("a field");
    assert_eq!(first, DELTA);
}
