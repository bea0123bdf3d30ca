//! The `strata` binary on image layers, chosen by block 0's magic: the golden contract for
//! every image case (`manifest`, `query`, `copy` byte-identical), `workload --kind image`
//! reproducing `stdsmall`, and `summary`, `dump`, `get` and `verify` on image layers (mixed
//! with delta layers for `verify`).

use crate::strata::{run, run_ok, stderr, stdout};
use strata_testkit::{ImageManifest, golden_image_dir, image_cases, image_layer_path};

#[test]
fn golden_image_cases_manifest_query_and_copy() {
    for case in image_cases() {
        let layer = image_layer_path(&case);
        let got = run_ok([std::ffi::OsStr::new("manifest"), layer.as_os_str()]);
        assert_eq!(got, ImageManifest::load(&case).text, "{case}: manifest");

        let qfile = golden_image_dir().join(format!("{case}.queries"));
        let got = run_ok([
            std::ffi::OsStr::new("query"),
            layer.as_os_str(),
            qfile.as_os_str(),
        ]);
        let text = std::fs::read_to_string(&qfile).expect("queries");
        let want: Vec<&str> = text.lines().filter(|l| l.starts_with("Q ")).collect();
        assert_eq!(got.lines().collect::<Vec<_>>(), want, "{case}: queries");

        let dir = tempfile::tempdir().expect("tempdir");
        let got = run_ok([
            std::ffi::OsStr::new("copy"),
            layer.as_os_str(),
            dir.path().as_os_str(),
        ]);
        let path = got.lines().last().expect("a path");
        let copied = std::fs::read(path).expect("the copy");
        assert!(
            copied == std::fs::read(&layer).expect("golden"),
            "{case}: copy differs"
        );
    }
}

#[test]
fn image_workload_is_stdsmall_and_inspection_commands_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8 dir");
    let got = run_ok([
        "workload", "--kind", "image", "--keys", "300", "--seed", "42", d,
    ]);
    let path = got.lines().last().expect("a path").to_owned();
    let golden = std::fs::read(image_layer_path("stdsmall")).expect("golden");
    assert!(
        std::fs::read(&path).expect("written") == golden,
        "workload differs from stdsmall"
    );
    assert!(path.ends_with("000000067F00004000000040010000000000-000000067F0000400000004001000000012C__0000000001000000"));

    let summary = run_ok(["summary", &path]);
    assert!(
        summary.contains("kind: image\n") && summary.contains("lsn: 0000000001000000\n"),
        "{summary}"
    );
    assert!(summary.contains("entries: 300\n"), "{summary}");
    let json = run_ok(["summary", "--json", &path]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["magic"], "5A60");

    let dump = run_ok(["dump", &path]);
    assert_eq!(dump.lines().filter(|l| l.contains(" offset=")).count(), 300);
    let v: serde_json::Value =
        serde_json::from_str(&run_ok(["dump", "--json", &path])).expect("dump json");
    assert_eq!(v["entries"].as_array().map(Vec::len), Some(300));
    assert_eq!(v["entries"][1]["offset"], 8192 + 8196);

    let key = "000000067F00004000000040010000000005";
    let got = run_ok(["get", &path, key, "0000000001000000"]);
    assert_eq!(
        got,
        format!("Complete {key} 0000000001000000\n0000000001000000 Image len=8192\n")
    );
    let got = run_ok(["get", &path, key, "0000000000FFFFFF"]);
    assert_eq!(got, format!("Missing {key} 0000000000FFFFFF\n"));
    let absent = "000000067F00004000000040010000000FFF";
    assert!(run_ok(["get", &path, absent, "FFFFFFFF"]).starts_with("Missing "));

    // verify: image and delta files together, each by its own verifier.
    let delta = strata_testkit::layer_path("tiny");
    let delta = delta.to_str().expect("utf-8");
    let got = run_ok(["verify", &path, delta]);
    assert_eq!(got, format!("ok {path}\nok {delta}\n"));
    let mut bytes = std::fs::read(&path).expect("layer");
    bytes[8192 + 3] ^= 0x40; // the first blob's length
    let bad = dir.path().join("bad.layer");
    std::fs::write(&bad, &bytes).expect("write");
    let out = run(["verify".as_ref(), bad.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("rule "), "{}", stdout(&out));
    let out = run(["manifest".as_ref(), bad.as_os_str()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a corrupt image layer is an invalid file"
    );
    assert!(
        stderr(&out).contains("corrupt image layer"),
        "{}",
        stderr(&out)
    );
}
