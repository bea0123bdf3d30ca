//! `strata timeline ls | draw | verify | workload` and `strata page` end to end on a timeline
//! directory written by `strata timeline workload` (Strata's own layer writers): listings,
//! the SVG, verification and its exit codes, page reads with redo, JSON forms, `--out`.

use std::path::Path;

use crate::strata::{run, run_ok, stderr, stdout};

/// Key 7 of the Neon-record workload (the VM fork of the standard workload's relation).
const KEY7: &str = "000000067F00004000000040010200000007";

fn workload(dir: &Path, neon: bool) -> Vec<String> {
    let d = dir.to_str().unwrap();
    let mut args = vec![
        "timeline",
        "workload",
        "--keys",
        "30",
        "--deltas",
        "4",
        "--image-size",
        "64",
        d,
    ];
    if neon {
        args.push("--neon-records");
    }
    run_ok(args).lines().map(str::to_owned).collect()
}

#[test]
fn ls_lists_layers_and_problems() {
    let dir = tempfile::tempdir().unwrap();
    let files = workload(dir.path(), true);
    assert_eq!(files.len(), 5);
    std::fs::write(dir.path().join("junk"), b"x").unwrap();
    std::fs::write(dir.path().join("ephemeral-3"), b"x").unwrap();
    let d = dir.path().to_str().unwrap();
    let text = run_ok(["timeline", "ls", d]);
    assert_eq!(text.lines().filter(|l| l.starts_with("image ")).count(), 1);
    assert_eq!(
        text.lines().filter(|l| l.starts_with("delta-L0 ")).count(),
        4,
        "{text}"
    );
    assert!(text.contains("problem unknown junk"), "{text}");
    assert!(text.contains("problem leftover ephemeral-3"), "{text}");
    assert!(
        text.trim_end()
            .ends_with("5 layers, 122880 bytes, 2 problems")
            || text.contains("5 layers,"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&run_ok(["timeline", "ls", "--json", d])).unwrap();
    assert_eq!(json["layers"].as_array().unwrap().len(), 5);
    assert_eq!(json["layers"][0]["lsn_start"], "0/1000000");
    assert_eq!(json["layers"][0]["kind"], "image");
    assert_eq!(json["layers"][1]["kind"], "delta");
    assert_eq!(json["problems"].as_array().unwrap().len(), 2);
    assert!(
        dir.path().join("ephemeral-3").exists(),
        "ls removes nothing"
    );
}

#[test]
fn draw_writes_an_svg_with_every_layer() {
    let dir = tempfile::tempdir().unwrap();
    workload(dir.path(), false);
    let svg_path = dir
        .path()
        .join("..")
        .join(format!("layers-{}.svg", std::process::id()));
    let d = dir.path().to_str().unwrap();
    run_ok(["timeline", "draw", d, "-o", svg_path.to_str().unwrap()]);
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.starts_with("<svg"));
    assert_eq!(svg.matches("<title>").count(), 5);
    assert!(svg.contains("5 layers (4 delta, 1 image)"), "{svg}");
}

#[test]
fn verify_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let files = workload(dir.path(), false);
    let d = dir.path().to_str().unwrap();
    assert!(run_ok(["timeline", "verify", d]).starts_with("ok "));
    // A layer renamed so its name disagrees with its summary: exit 1, the layer named.
    let last = Path::new(&files[4]);
    let name = last.file_name().unwrap().to_str().unwrap();
    let (stem, _end) = name.rsplit_once('-').unwrap();
    let liar = format!("{stem}-00000000FFFFFFFF");
    std::fs::rename(last, dir.path().join(&liar)).unwrap();
    let out = run(["timeline", "verify", d]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains(&liar), "{}", stdout(&out));
    assert!(stdout(&out).contains("does not match expected summary"));
    let json: serde_json::Value =
        serde_json::from_slice(&run(["timeline", "verify", "--json", d]).stdout).unwrap();
    assert!(!json["findings"].as_array().unwrap().is_empty());
}

#[test]
fn page_makes_neon_pages_and_shows_the_traversal() {
    let dir = tempfile::tempdir().unwrap();
    workload(dir.path(), true);
    let d = dir.path().to_str().unwrap();
    let text = run_ok(["page", d, KEY7, "0/2000000"]);
    assert_eq!(
        text.lines().filter(|l| l.starts_with("visit ")).count(),
        5,
        "{text}"
    );
    assert_eq!(text.lines().filter(|l| l.starts_with("record ")).count(), 4);
    assert!(text.contains("page len=64"));
    assert!(text.contains("00000030  "), "hex dump: {text}");

    let json: serde_json::Value =
        serde_json::from_str(&run_ok(["page", "--json", d, KEY7, "0/2000000"])).unwrap();
    assert_eq!(json["visits"].as_array().unwrap().len(), 5);
    assert_eq!(json["records"][0]["kind"], "ClearVisibilityMapFlags");
    let hex = json["page"]["hex"].as_str().unwrap();
    // Heap blocks 0..4 of VM page 7 cleared bit 0 of each: byte 24 lost mask 0x55.
    let out_file = dir
        .path()
        .join("..")
        .join(format!("page-{}.bin", std::process::id()));
    run_ok([
        "page",
        d,
        KEY7,
        "0/2000000",
        "--out",
        out_file.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&out_file).unwrap();
    assert_eq!(bytes.len(), 64);
    assert_eq!(
        hex,
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    assert_eq!(bytes[24] & 0x55, 0);
}

#[test]
fn page_errors() {
    let dir = tempfile::tempdir().unwrap();
    workload(dir.path(), false);
    let d = dir.path().to_str().unwrap();
    // Postgres records and no redo backend: the history is shown, exit 1.
    let key = "000000067F00004000000040010000000007";
    let out = run(["page", d, key, "0/2000000"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("page not made"), "{}", stdout(&out));
    assert_eq!(
        stdout(&out)
            .lines()
            .filter(|l| l.starts_with("record "))
            .count(),
        4
    );
    // Below every layer: not found, exit 1, message on stderr.
    let out = run(["page", d, key, "0/10"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("could not find data for key"),
        "{}",
        stderr(&out)
    );
    // A bad key is a usage error.
    assert_eq!(run(["page", d, "xyz", "0/10"]).status.code(), Some(2));
}
