//! [`BlobWriter`] under [`FaultyFs`]: for every operation of every kind a clean run performs,
//! and for a short and a torn version of every write, with and without compression, and whether
//! the run ends with `sync_all` or straight with `into_inner`:
//! * a failed operation is [`Error::Io`] carrying the [`InjectedFault`] that was planned;
//! * the writer is poisoned: every later `write_blob`, `flush`, `sync_all` and `into_inner` is
//!   [`Error::Poisoned`], `size` stays put, and no further filesystem operation happens (nothing
//!   is retried, in particular no second fsync);
//! * the file holds a prefix of the clean run's bytes: what reached the disk is right, only the
//!   rest is missing;
//! * a short write is absorbed and the file is byte-identical with the clean run.
//!
//! A [`BlobWriter`] writes to a file it is given and owns no names (the delta writer's temp and
//! final names are tested in strata-delta's `tests/it/faults.rs` and `tests/it/writer.rs`); it never
//! renames, removes or syncs a directory, which the clean run's counts assert.

use std::path::Path;

use strata_blob::testing::fault::{Fault, FaultyFs, InjectedFault, OpKind};
use strata_blob::{BlobWriter, BlobWriterOptions, Error, Fs, PAGE_SIZE, StdFs};

/// Payloads: empty, short, long-header, straddling, and larger than a write window (which
/// the writer sends straight from the caller's buffer); every third one compressible, the rest
/// noise (so compression keeps some blobs and not others).
fn payloads() -> Vec<Vec<u8>> {
    let lens = [
        0, 1, 127, 128, 5000, 3, 20_000, 17, 8191, 8192, 40_000, 2, 300, 9000, 16_384, 1, 4000,
        12_000, 70, 8193,
    ];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    lens.iter()
        .enumerate()
        .map(|(i, &len)| {
            (0..len)
                .map(|j| {
                    x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    if i % 3 == 0 {
                        (j % 5) as u8
                    } else {
                        (x >> 56) as u8
                    }
                })
                .collect()
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// `flush`, `sync_all`, then `into_inner`.
    Sync,
    /// `into_inner` alone (its flush is the last write).
    IntoInner,
}

fn options(compress: bool) -> BlobWriterOptions {
    BlobWriterOptions {
        buffer_size: PAGE_SIZE,
        zstd_level: compress.then_some(1),
    }
}

/// Writes every payload through `fs` into `path` from offset 8192. On an error, checks that the
/// writer is poisoned and does no more I/O, then returns the error.
fn run(fs: &FaultyFs<StdFs>, path: &Path, compress: bool, end: End) -> Result<Vec<u64>, Error> {
    let file = fs.create(path)?;
    let mut w = BlobWriter::with_options(file, PAGE_SIZE as u64, options(compress));
    let mut offsets = Vec::new();
    let mut res = Ok(());
    for p in payloads() {
        match w.write_blob(&p) {
            Ok(off) => offsets.push(off),
            Err(e) => {
                res = Err(e);
                break;
            }
        }
    }
    if res.is_ok() && end == End::Sync {
        res = w.flush().and_then(|()| w.sync_all());
    }
    if let Err(e) = res {
        assert_poisoned(fs, &mut w);
        assert!(matches!(w.into_inner(), Err(Error::Poisoned)));
        return Err(e);
    }
    w.into_inner()?;
    Ok(offsets)
}

/// Every call on a poisoned writer is [`Error::Poisoned`] and touches no file.
fn assert_poisoned(fs: &FaultyFs<StdFs>, w: &mut BlobWriter<impl strata_blob::WriteFile>) {
    let counts = OpKind::ALL.map(|k| fs.count(k));
    let size = w.size();
    assert!(matches!(w.write_blob(b"more"), Err(Error::Poisoned)));
    assert!(matches!(w.write_blob(&[9u8; 70_000]), Err(Error::Poisoned)));
    assert!(matches!(
        w.write_blob_parts(&[b"a", b"b"]),
        Err(Error::Poisoned)
    ));
    assert!(matches!(w.flush(), Err(Error::Poisoned)));
    assert!(matches!(w.sync_all(), Err(Error::Poisoned)));
    assert_eq!(w.size(), size);
    assert_eq!(
        OpKind::ALL.map(|k| fs.count(k)),
        counts,
        "I/O after poisoning"
    );
}

/// The error is the planned fault.
fn assert_injected(err: &Error, kind: OpKind, nth: u64) {
    let Error::Io(io) = err else {
        panic!("{kind:?} #{nth}: {err:?}");
    };
    assert_eq!(InjectedFault::of(io), Some(InjectedFault { kind, nth }));
}

/// What a clean run writes, and its operation counts.
struct Clean {
    bytes: Vec<u8>,
    offsets: Vec<u64>,
    counts: Vec<(OpKind, u64)>,
}

fn clean(path: &Path, compress: bool, end: End) -> Clean {
    let fs = FaultyFs::new(StdFs);
    let offsets = run(&fs, path, compress, end).unwrap();
    let counts = OpKind::ALL.iter().map(|&k| (k, fs.count(k))).collect();
    assert_eq!(fs.count(OpKind::Create), 1);
    assert_eq!(fs.count(OpKind::Sync), u64::from(end == End::Sync));
    for kind in [OpKind::Rename, OpKind::Remove, OpKind::SyncDir] {
        assert_eq!(fs.count(kind), 0, "{kind:?}");
    }
    Clean {
        bytes: std::fs::read(path).unwrap(),
        offsets,
        counts,
    }
}

/// The file at `path` is a prefix of the clean run's.
fn assert_prefix(path: &Path, clean: &Clean, what: &str) {
    let got = std::fs::read(path).unwrap();
    assert!(got.len() <= clean.bytes.len(), "{what}: longer than clean");
    assert!(got == clean.bytes[..got.len()], "{what}: wrong bytes");
}

/// Sweeps every fault; returns (runs, writes swept).
fn sweep(compress: bool, end: End) -> (u64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blobs");
    let clean = clean(&path, compress, end);
    let n_writes = clean.counts[OpKind::Write as usize].1;
    assert!(n_writes >= 10, "{:?}", clean.counts);
    let mut n_runs = 0;
    for &(kind, n) in &clean.counts {
        for nth in 0..n {
            let fs = FaultyFs::new(StdFs).fail_nth(kind, nth);
            let err = run(&fs, &path, compress, end).unwrap_err();
            assert_injected(&err, kind, nth);
            assert_eq!(fs.n_fired(), 1);
            if kind != OpKind::Create {
                assert_prefix(&path, &clean, &format!("{kind:?} #{nth}"));
            }
            n_runs += 1;
        }
    }
    for nth in 0..n_writes {
        let fs = FaultyFs::new(StdFs).torn_write_nth(nth);
        let err = run(&fs, &path, compress, end).unwrap_err();
        assert_injected(&err, OpKind::Write, nth);
        assert_prefix(&path, &clean, &format!("torn write #{nth}"));
        // A torn write's first half did land.
        assert!(std::fs::metadata(&path).unwrap().len() > PAGE_SIZE as u64);

        let fs = FaultyFs::new(StdFs).short_write_nth(nth);
        let offsets = run(&fs, &path, compress, end).unwrap();
        assert_eq!(offsets, clean.offsets, "short write #{nth}");
        assert!(
            std::fs::read(&path).unwrap() == clean.bytes,
            "short write #{nth}"
        );
        assert_eq!(fs.count(OpKind::Write), n_writes + 1, "one extra write");
        n_runs += 2;
    }
    (n_runs, n_writes)
}

#[test]
fn every_fault_plain_with_sync() {
    let (runs, writes) = sweep(false, End::Sync);
    assert_eq!(runs, 3 * writes + 2); // + create, sync
}

#[test]
fn every_fault_plain_into_inner() {
    let (runs, writes) = sweep(false, End::IntoInner);
    assert_eq!(runs, 3 * writes + 1); // + create
}

#[test]
fn every_fault_compressed() {
    for end in [End::Sync, End::IntoInner] {
        let (runs, writes) = sweep(true, end);
        assert_eq!(runs, 3 * writes + 1 + u64::from(end == End::Sync));
    }
}

/// Every write short at once (a file that never writes more than half of what is asked):
/// still byte-identical.
#[test]
fn all_writes_short() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blobs");
    let clean = clean(&path, false, End::Sync);
    let fs = FaultyFs::new(StdFs);
    // Enough planned shorts for the halvings of every write.
    for nth in 0..clean.counts[OpKind::Write as usize].1 * 20 {
        fs.inject(OpKind::Write, nth, Fault::ShortWrite);
    }
    assert_eq!(run(&fs, &path, false, End::Sync).unwrap(), clean.offsets);
    assert!(std::fs::read(&path).unwrap() == clean.bytes);
}

/// A failed fsync is never retried: the poisoned writer does not call `sync_all` again, and the
/// data written before it stays as it was.
#[test]
fn failed_sync_is_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blobs");
    let fs = FaultyFs::new(StdFs).fail_nth(OpKind::Sync, 0);
    let mut w = BlobWriter::with_options(fs.create(&path).unwrap(), 0, options(false));
    w.write_blob(b"hello").unwrap();
    let err = w.sync_all().unwrap_err();
    assert_injected(&err, OpKind::Sync, 0);
    assert_poisoned(&fs, &mut w);
    assert_eq!(fs.count(OpKind::Sync), 1);
    assert_eq!(std::fs::read(&path).unwrap(), b"\x05hello");
}
