//! `cargo xtask fuzz`: builds and runs the libFuzzer targets of `fuzz/` (its own workspace)
//! through cargo-fuzz, installing cargo-fuzz ([`CARGO_FUZZ_VERSION`]) when it is missing.
//!
//! The targets are built with [`SANITIZER`] (`none`: stable Rust, no `RUSTC_BOOTSTRAP`; see
//! its docs for why that loses nothing). Each target runs for `--secs` seconds with
//! `-timeout=`[`INPUT_TIMEOUT_SECS`], so a hang counts as a failure; libFuzzer's default
//! `-rss_limit_mb=2048` and the targets' own allocation cap (`fuzz/src/lib.rs`) make memory
//! exhaustion one too. A crash leaves its input under `fuzz/artifacts/<target>/` and fails the
//! command.
//!
//! Before a run, [`setup`] gives a target its `-max_len` and writes seed inputs into
//! `fuzz/corpus/<target>/` (ignored by git): the golden layers (`$STRATA_GOLDEN_DIR`, or
//! `../shared/golden` beside the repository) for the whole-file targets, which cannot grow a
//! 16 KiB layer from nothing in a short run (with the small golden image layers of
//! `$STRATA_GOLDEN_IMAGE_DIR` or `../shared/golden-image`), and a few valid names for
//! `key_name_parse`.
//! Without the golden directory the run goes on unseeded, with a warning.
//!
//! Invariant: the list of targets is `fuzz/Cargo.toml`'s `[[bin]]` names; nothing else.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};

use crate::command;

/// Seconds per target when `--secs` is not given.
pub const DEFAULT_SECS: u64 = 30;

/// The cargo-fuzz release installed when `cargo fuzz` is missing (`--locked`).
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// The `--sanitizer` given to cargo-fuzz: none. It builds on stable Rust without
/// `RUSTC_BOOTSTRAP`, and the targets run several times more inputs per second than under
/// AddressSanitizer (about seven times on a small parser target here). What ASan added for safe Rust was libFuzzer's per-allocation limit, which catches a decoder that
/// allocates gigabytes because of a length field even when the pages are never touched; the
/// targets install `strata_fuzz::CappedAlloc` (`fuzz/src/lib.rs`), which aborts on any single
/// allocation above 64 MiB, so that failure still happens. Memory errors need `unsafe`, which
/// the decoders do not use.
pub const SANITIZER: &str = "none";

/// Per-input time limit in seconds: an input taking longer is reported as a hang.
pub const INPUT_TIMEOUT_SECS: u64 = 10;

/// Golden layer files up to this size seed the whole-file targets, whose `-max_len` it is.
pub const LAYER_MAX_LEN: usize = 64 * 1024;

/// The fixed header `fuzz/fuzz_targets/blob_read.rs` reads before the file bytes: blob offset
/// 8192 (the first blob of a layer's value area, little-endian u32), limit gap 0, not limited,
/// mode 0 (automatic header detection).
pub const BLOB_READ_SEED_HEADER: [u8; 10] = [0x00, 0x20, 0, 0, 0, 0, 0, 0, 0, 0];

/// Valid inputs for `key_name_parse`, one per parser (FORMAT.md section 10 for the names),
/// which random mutation would take long to assemble.
pub const NAME_SEEDS: [&str; 8] = [
    "000000067F000032BE0000400000000020B6",
    "11223344556677889900aabbccddeeff",
    "0000000001696070",
    "000000067F000032BE0000400000000020B6-000000067F000032BE0000400000000020B7__0000000001696070-00000000016960E9",
    "000000067F000032BE0000400000000020B6-000000067F000032BE0000400000000020B7__0000000001696070-v1-00000001",
    "000000067F000032BE0000400000000020B6-000000067F000032BE0000400000000020B7__0000000001696070-00000002",
    "000000067F000032BE0000400000000020B6-XXX__0000000001696070-00000000016960E9.AbCd1234.___temp",
    "000000067F000032BE0000400000000020B6-000000067F000032BE0000400000000020B7__0000000001696070.AbCd1234.___temp",
];

/// `-max_len` of `wal_decode`: a few WAL pages.
pub const WAL_MAX_LEN: usize = 64 * 1024;

/// `-max_len` of `wal_image_restore`: a header and an uncompressed page.
pub const WAL_IMAGE_MAX_LEN: usize = 6 + 8192;

/// Seeds of `wal_decode` in its built-WAL mode (mode byte 1; `(rmgr, size / 61)` pairs, `FE` a
/// switch, `FF` the end; then `(offset / 16 u16, xor)` flips): records within a page, across
/// pages and across a switch, undamaged and with one flipped byte.
pub const WAL_DECODE_SEEDS: [&[u8]; 3] = [
    &[1, 0, 1, 10, 3, 1, 200, 9, 40, 0xFF],
    &[1, 0, 1, 1, 250, 0xFE, 0, 10, 2, 11, 255, 0xFF],
    &[1, 0, 1, 1, 250, 2, 90, 0xFF, 0, 0x10, 0x02, 0x40],
];

/// How [`run`] prepares one target.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Setup {
    /// `-max_len` for libFuzzer; `None` keeps its default (4096).
    pub max_len: Option<usize>,
    /// Seed inputs, as (file name, bytes), for `fuzz/corpus/<target>/`.
    pub seeds: Vec<(String, Vec<u8>)>,
}

/// The [`Setup`] of `target`, given the golden layers as (case, bytes).
pub fn setup(target: &str, layers: &[(String, Vec<u8>)]) -> Setup {
    let layer_seeds = |header: &[u8]| -> Vec<(String, Vec<u8>)> {
        layers
            .iter()
            .filter(|(_, bytes)| header.len() + bytes.len() <= LAYER_MAX_LEN)
            .map(|(case, bytes)| (format!("seed-golden-{case}"), [header, bytes].concat()))
            .collect()
    };
    match target {
        "blob_read" => Setup {
            max_len: Some(LAYER_MAX_LEN),
            seeds: layer_seeds(&BLOB_READ_SEED_HEADER),
        },
        "delta_open_scan" | "image_open_scan" => Setup {
            max_len: Some(LAYER_MAX_LEN),
            seeds: layer_seeds(&[]),
        },
        "key_name_parse" | "timeline_layer_map" => Setup {
            max_len: None,
            seeds: NAME_SEEDS
                .iter()
                .enumerate()
                .map(|(i, name)| (format!("seed-name-{i}"), name.as_bytes().to_vec()))
                .collect(),
        },
        "wal_decode" => Setup {
            max_len: Some(WAL_MAX_LEN),
            seeds: WAL_DECODE_SEEDS
                .iter()
                .enumerate()
                .map(|(i, seed)| (format!("seed-built-{i}"), seed.to_vec()))
                .collect(),
        },
        "wal_image_restore" => Setup {
            max_len: Some(WAL_IMAGE_MAX_LEN),
            seeds: Vec::new(),
        },
        _ => Setup::default(),
    }
}

/// The golden directory: `$STRATA_GOLDEN_DIR`, or `shared/golden` beside the repository.
pub fn golden_dir() -> PathBuf {
    std::env::var_os("STRATA_GOLDEN_DIR").map_or_else(
        || command::project_root().join("../shared/golden"),
        PathBuf::from,
    )
}

/// The golden image-layer directory: `$STRATA_GOLDEN_IMAGE_DIR`, or `shared/golden-image`
/// beside the repository.
pub fn golden_image_dir() -> PathBuf {
    std::env::var_os("STRATA_GOLDEN_IMAGE_DIR").map_or_else(
        || command::project_root().join("../shared/golden-image"),
        PathBuf::from,
    )
}

/// The `*.layer` files of `dir` no larger than [`LAYER_MAX_LEN`], as (case, bytes), sorted.
pub fn small_layers(dir: &Path) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut layers = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let Some(case) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".layer"))
        else {
            continue;
        };
        if std::fs::metadata(&path)?.len() <= LAYER_MAX_LEN as u64 {
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            layers.push((case.to_owned(), bytes));
        }
    }
    layers.sort();
    Ok(layers)
}

/// What `cargo xtask fuzz` was asked to do.
#[derive(Clone, Debug)]
pub struct Args {
    /// Print the targets and stop.
    pub list: bool,
    /// Seconds per target.
    pub secs: u64,
    /// Targets to run; empty means all.
    pub targets: Vec<String>,
}

/// Lists, or builds and runs, the fuzz targets `args` names.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let fuzz_dir = command::project_root().join("fuzz");
    let manifest_path = fuzz_dir.join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("reading {}", manifest_path.display()))?;
    let declared = bin_targets(&manifest);
    let missing_source = |(_, path): &&(String, String)| !fuzz_dir.join(path).is_file();

    if args.list {
        for target in &declared {
            let note = if missing_source(&target) {
                "  (source file missing)"
            } else {
                ""
            };
            println!("{}{note}", target.0);
        }
        return Ok(());
    }

    let selected: Vec<&(String, String)> = if args.targets.is_empty() {
        declared.iter().collect()
    } else {
        args.targets
            .iter()
            .map(|name| {
                declared.iter().find(|(n, _)| n == name).with_context(|| {
                    let names: Vec<&str> = declared.iter().map(|(n, _)| n.as_str()).collect();
                    format!("no fuzz target `{name}`; fuzz/Cargo.toml declares {names:?}")
                })
            })
            .collect::<anyhow::Result<_>>()?
    };
    // cargo refuses the whole fuzz workspace if any declared target's file is missing.
    let absent: Vec<&str> = declared
        .iter()
        .filter(missing_source)
        .map(|(_, path)| path.as_str())
        .collect();
    if !absent.is_empty() {
        bail!("fuzz/Cargo.toml declares targets whose source is missing: {absent:?}");
    }
    if selected.is_empty() {
        bail!("fuzz/Cargo.toml declares no targets");
    }

    let golden = golden_dir();
    let mut layers = small_layers(&golden).unwrap_or_else(|e| {
        eprintln!("fuzz: warning: no golden layers to seed from ({e:#}); running unseeded");
        Vec::new()
    });
    match small_layers(&golden_image_dir()) {
        Ok(images) => layers.extend(images.into_iter().map(|(c, b)| (format!("image-{c}"), b))),
        Err(e) => eprintln!("fuzz: warning: no golden image layers to seed from ({e:#})"),
    }

    ensure_cargo_fuzz()?;
    let mut build = cargo_fuzz(&["build", "--sanitizer", SANITIZER]);
    if let [(only, _)] = selected.as_slice() {
        build.arg(only);
    }
    command::run(&mut build)?;

    let mut ran = Vec::new();
    for (target, _) in &selected {
        let Setup { max_len, seeds } = setup(target, &layers);
        let corpus = fuzz_dir.join("corpus").join(target);
        std::fs::create_dir_all(&corpus)
            .with_context(|| format!("creating {}", corpus.display()))?;
        for (name, bytes) in &seeds {
            let path = corpus.join(name);
            std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        }
        let started = Instant::now();
        let mut run = cargo_fuzz(&["run", "--sanitizer", SANITIZER, target, "--"]);
        run.arg(format!("-max_total_time={}", args.secs))
            .arg(format!("-timeout={INPUT_TIMEOUT_SECS}"));
        if let Some(max_len) = max_len {
            run.arg(format!("-max_len={max_len}"));
        }
        command::run(&mut run).with_context(|| {
            format!("fuzz target `{target}` failed: the input is under fuzz/artifacts/{target}/")
        })?;
        ran.push((target, started.elapsed()));
    }
    for (target, took) in ran {
        eprintln!("fuzz: {target:<20} ok, {:.1}s", took.as_secs_f64());
    }
    Ok(())
}

/// `(name, path)` of each `[[bin]]` table of a cargo-fuzz manifest, in order; a table without
/// a `path` gets cargo's default `src/bin/<name>.rs`.
pub fn bin_targets(manifest: &str) -> Vec<(String, String)> {
    let mut targets: Vec<(String, Option<String>)> = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
            if in_bin {
                targets.push((String::new(), None));
            }
            continue;
        }
        let Some(current) = targets.last_mut().filter(|_| in_bin) else {
            continue;
        };
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"').to_owned();
        match key.trim() {
            "name" => current.0 = value,
            "path" => current.1 = Some(value),
            _ => {}
        }
    }
    targets
        .into_iter()
        .filter(|(name, _)| !name.is_empty())
        .map(|(name, path)| {
            let path = path.unwrap_or_else(|| format!("src/bin/{name}.rs"));
            (name, path)
        })
        .collect()
}

/// Installs cargo-fuzz unless `cargo fuzz` already runs.
fn ensure_cargo_fuzz() -> anyhow::Result<()> {
    if command::succeeds(command::cargo().args(["fuzz", "--version"])) {
        return Ok(());
    }
    eprintln!("fuzz: cargo-fuzz is missing; installing cargo-fuzz {CARGO_FUZZ_VERSION}");
    command::run(command::cargo().args([
        "install",
        "cargo-fuzz",
        "--locked",
        "--version",
        CARGO_FUZZ_VERSION,
    ]))
}

/// `cargo fuzz <args>`, from the repository root (cargo-fuzz finds `fuzz/` there).
fn cargo_fuzz(args: &[&str]) -> std::process::Command {
    let mut cmd = command::cargo();
    cmd.arg("fuzz").args(args);
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bin_targets_reads_names_and_paths() {
        let manifest = "[package]\nname = \"strata-fuzz\"\n\n[[bin]]\nname = \"key_name_parse\"\npath = \"fuzz_targets/key_name_parse.rs\"\ntest = false\n\n[dependencies]\nname = \"not-a-bin\"\n\n[[bin]]\nname = \"blob_read\"\n";
        assert_eq!(
            bin_targets(manifest),
            [
                (
                    "key_name_parse".to_owned(),
                    "fuzz_targets/key_name_parse.rs".to_owned()
                ),
                ("blob_read".to_owned(), "src/bin/blob_read.rs".to_owned()),
            ]
        );
        assert_eq!(bin_targets("[package]\nname = \"x\"\n"), []);
    }

    #[test]
    fn setup_seeds_whole_file_targets_with_small_layers_only() {
        let layers = vec![
            ("small".to_owned(), vec![7u8; 3 * 8192]),
            ("exact".to_owned(), vec![8u8; LAYER_MAX_LEN]),
            ("big".to_owned(), vec![9u8; LAYER_MAX_LEN + 1]),
        ];
        let scan = setup("delta_open_scan", &layers);
        assert_eq!(scan.max_len, Some(LAYER_MAX_LEN));
        let names: Vec<&str> = scan.seeds.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["seed-golden-small", "seed-golden-exact"]);
        assert_eq!(scan.seeds[1].1, layers[1].1);

        let blob = setup("blob_read", &layers);
        assert_eq!(blob.max_len, Some(LAYER_MAX_LEN));
        assert_eq!(
            blob.seeds.len(),
            1,
            "the header pushes `exact` over the limit"
        );
        let (head, file) = blob.seeds[0].1.split_at(BLOB_READ_SEED_HEADER.len());
        assert_eq!(head, BLOB_READ_SEED_HEADER);
        assert_eq!(u32::from_le_bytes(head[..4].try_into().unwrap()), 8192);
        assert_eq!(file, layers[0].1);

        let names = setup("key_name_parse", &layers);
        assert_eq!(names.max_len, None);
        assert_eq!(names.seeds.len(), NAME_SEEDS.len());
        assert!(names.seeds.iter().any(|(_, b)| b.ends_with(b"___temp")));
        assert_eq!(setup("value_decode", &layers), Setup::default());
        let wal = setup("wal_decode", &layers);
        assert_eq!(wal.max_len, Some(WAL_MAX_LEN));
        assert!(wal.seeds.iter().all(|(_, b)| b[0] & 1 == 1));
    }

    #[test]
    fn blob_read_header_matches_the_target() {
        let source =
            std::fs::read_to_string(command::project_root().join("fuzz/fuzz_targets/blob_read.rs"))
                .unwrap();
        let declared = format!("const HEADER_LEN: usize = {};", BLOB_READ_SEED_HEADER.len());
        assert!(
            source.contains(&declared),
            "blob_read.rs lacks `{declared}`"
        );
    }

    #[test]
    fn golden_image_dir_has_small_layers_to_seed_from() {
        let layers = small_layers(&golden_image_dir()).unwrap();
        let cases: Vec<&str> = layers.iter().map(|(case, _)| case.as_str()).collect();
        assert!(
            cases.contains(&"tiny") && cases.contains(&"extremes"),
            "{cases:?}"
        );
        let scan = setup("image_open_scan", &layers);
        assert_eq!(scan.seeds.len(), layers.len());
    }

    #[test]
    fn golden_dir_has_small_layers_to_seed_from() {
        let layers = small_layers(&golden_dir()).unwrap();
        let cases: Vec<&str> = layers.iter().map(|(case, _)| case.as_str()).collect();
        assert!(cases.contains(&"tiny"), "{cases:?}");
        assert!(
            layers
                .iter()
                .all(|(_, b)| !b.is_empty() && b.len() <= LAYER_MAX_LEN)
        );
    }

    #[test]
    fn the_project_declares_the_six_targets() {
        let fuzz_dir = command::project_root().join("fuzz");
        let manifest = std::fs::read_to_string(fuzz_dir.join("Cargo.toml")).unwrap();
        let names: Vec<String> = bin_targets(&manifest).into_iter().map(|(n, _)| n).collect();
        for expected in [
            "key_name_parse",
            "blob_read",
            "btree_decode",
            "btree_roundtrip",
            "value_decode",
            "delta_open_scan",
            "image_open_scan",
            "wal_decode",
            "wal_image_restore",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} not in {names:?}"
            );
        }
    }
}
