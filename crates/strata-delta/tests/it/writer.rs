//! Error paths of [`DeltaLayerWriter`]: every caller mistake is a typed error that poisons the
//! writer and removes its file; dropping an unfinished writer removes its temp file; and a
//! sweep over every filesystem operation with a fault injected gives Ok or a typed error,
//! never a panic, and never a file left under the final name.

use std::path::Path;

use anyhow::Result;
use bytes::Bytes;
use strata_blob::testing::fault::{FaultyFs, InjectedFault, OpKind};
use strata_blob::{Fs, StdFs};
use strata_delta::workload::{SplitMix64, WORKLOAD_TENANT, WORKLOAD_TIMELINE};
use strata_delta::{
    DeltaLayerWriter, DeltaLayerWriterOptions, Error, LayerDesc, NeonWalRecord, Value,
};
use strata_key::{Key, Lsn, LsnRange};
use strata_testkit::files_in;

fn rel(blkno: u32) -> Key {
    Key {
        field1: 0,
        field2: 1663,
        field3: 16384,
        field4: 16385,
        field5: 0,
        field6: blkno,
    }
}

fn lsns() -> LsnRange {
    LsnRange::new(Lsn(100), Lsn(200))
}

fn writer(dir: &Path) -> DeltaLayerWriter {
    DeltaLayerWriter::new(dir, WORKLOAD_TENANT, WORKLOAD_TIMELINE, rel(10), lsns()).unwrap()
}

fn small(n: u8) -> Value {
    Value::Image(Bytes::from(vec![n; 5]))
}

/// The writer is poisoned and its directory empty.
fn assert_dead(w: &mut DeltaLayerWriter, dir: &Path) {
    assert!(w.is_poisoned());
    assert!(matches!(
        w.put_value(rel(100), Lsn(150), &small(0)),
        Err(Error::Poisoned)
    ));
    assert!(files_in(dir).is_empty(), "{:?}", files_in(dir));
}

#[test]
fn temp_name_then_final_name() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut w = writer(dir.path());
    w.put_value(rel(10), Lsn(100), &small(1))?;
    let names = files_in(dir.path());
    assert_eq!(names.len(), 1);
    let name = &names[0];
    let prefix = format!("{}-XXX__0000000000000064-00000000000000C8.", rel(10));
    assert!(name.starts_with(&prefix), "{name}");
    let random = name[prefix.len()..].strip_suffix(".___temp").unwrap();
    assert_eq!(random.len(), 8);
    assert!(
        random.chars().all(|c| c.is_ascii_alphanumeric()),
        "{random}"
    );
    assert_eq!(w.n_entries(), 1);
    assert_eq!(w.size(), 8192 + 1 + 17);
    let desc = w.finish(rel(11))?;
    let expect = format!("{}-{}__0000000000000064-00000000000000C8", rel(10), rel(11));
    assert_eq!(files_in(dir.path()), std::slice::from_ref(&expect));
    assert_eq!(desc.file_name, expect);
    assert_eq!(desc.file_size, 3 * 8192);
    assert_eq!(std::fs::metadata(&desc.path)?.len(), 3 * 8192);
    Ok(())
}

#[test]
fn drop_removes_the_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = writer(dir.path());
    for i in 0..100 {
        w.put_value(rel(10 + i), Lsn(150), &Value::Image(vec![7; 9000].into()))
            .unwrap();
    }
    assert_eq!(files_in(dir.path()).len(), 1);
    drop(w);
    assert!(files_in(dir.path()).is_empty());
    // Also right after creation.
    drop(writer(dir.path()));
    assert!(files_in(dir.path()).is_empty());
}

#[test]
fn empty_lsn_range_is_refused_at_new() {
    let dir = tempfile::tempdir().unwrap();
    for (start, end) in [(5, 5), (6, 5)] {
        let r = DeltaLayerWriter::new(
            dir.path(),
            WORKLOAD_TENANT,
            WORKLOAD_TIMELINE,
            rel(0),
            LsnRange::new(Lsn(start), Lsn(end)),
        );
        assert!(matches!(r, Err(Error::InvalidLsnRange { .. })), "{r:?}");
    }
    assert!(files_in(dir.path()).is_empty());
}

#[test]
fn unsorted_entries() {
    let dir = tempfile::tempdir().unwrap();
    for (key2, lsn2) in [
        (rel(12), Lsn(150)),
        (rel(12), Lsn(149)),
        (rel(11), Lsn(199)),
    ] {
        let mut w = writer(dir.path());
        w.put_value(rel(12), Lsn(150), &small(1)).unwrap();
        let err = w.put_value(key2, lsn2, &small(2)).unwrap_err();
        assert!(
            matches!(err, Error::Unsorted { key, lsn, last_key, last_lsn }
                if key == key2 && lsn == lsn2 && last_key == rel(12) && last_lsn == Lsn(150)),
            "{err:?}"
        );
        assert_dead(&mut w, dir.path());
        assert!(matches!(w.finish(rel(20)), Err(Error::Poisoned)));
    }
}

#[test]
fn lsn_outside_the_range() {
    let dir = tempfile::tempdir().unwrap();
    // Below the start (Neon asserts) and at or above the end (Neon does not check).
    for lsn in [Lsn(0), Lsn(99), Lsn(200), Lsn(u64::MAX)] {
        let mut w = writer(dir.path());
        w.put_value(rel(10), Lsn(100), &small(1)).unwrap();
        let err = w.put_value(rel(11), lsn, &small(2)).unwrap_err();
        assert!(
            matches!(err, Error::LsnOutOfRange { lsn: l, lsn_range } if l == lsn && lsn_range == lsns()),
            "{err:?}"
        );
        assert_dead(&mut w, dir.path());
    }
}

#[test]
fn key_outside_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = writer(dir.path());
    let err = w.put_value(rel(9), Lsn(100), &small(1)).unwrap_err();
    assert!(
        matches!(err, Error::KeyOutOfRange { key, .. } if key == rel(9)),
        "{err:?}"
    );
    assert_dead(&mut w, dir.path());

    for end in [rel(12), rel(11), rel(5)] {
        let mut w = writer(dir.path());
        w.put_value(rel(10), Lsn(100), &small(1)).unwrap();
        w.put_value(rel(12), Lsn(100), &small(1)).unwrap();
        let err = w.finish(end).unwrap_err();
        assert!(
            matches!(err, Error::KeyOutOfRange { key, end: e, .. } if key == rel(12) && e == end),
            "{err:?}"
        );
        assert!(files_in(dir.path()).is_empty());
    }
}

#[test]
fn empty_layer() {
    let dir = tempfile::tempdir().unwrap();
    let w = writer(dir.path());
    assert_eq!(files_in(dir.path()).len(), 1);
    assert!(matches!(w.finish(rel(11)), Err(Error::EmptyLayer)));
    assert!(files_in(dir.path()).is_empty());
}

#[test]
fn bad_serialized_values() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = writer(dir.path());
    let err = w.put_value_bytes(rel(10), Lsn(100), &[0, 0, 0, 9], false);
    assert!(matches!(err, Err(Error::InvalidValue { .. })), "{err:?}");
    assert_dead(&mut w, dir.path());

    let image = small(3).encode();
    let mut w = writer(dir.path());
    let err = w.put_value_bytes(rel(10), Lsn(100), &image, false);
    assert!(
        matches!(err, Err(Error::WillInitMismatch { given: false, .. })),
        "{err:?}"
    );
    assert_dead(&mut w, dir.path());

    let rec = Value::WalRecord(NeonWalRecord::ClogSetAborted { xids: vec![1] }).encode();
    let mut w = writer(dir.path());
    let err = w.put_value_bytes(rel(10), Lsn(100), &rec, true);
    assert!(
        matches!(err, Err(Error::WillInitMismatch { given: true, .. })),
        "{err:?}"
    );
    assert_dead(&mut w, dir.path());
}

#[test]
fn blob_too_large() {
    let dir = tempfile::tempdir().unwrap();
    // Zeroed allocations are not touched: the length is refused before any copy.
    let n = 0x8000_0000 - 12;
    let mut w = writer(dir.path());
    w.put_value(rel(10), Lsn(100), &small(1)).unwrap();
    let err = w.put_value(rel(11), Lsn(100), &Value::Image(vec![0u8; n].into()));
    assert_too_large(err, &mut w, dir.path());

    let mut w = writer(dir.path());
    let err = w.put_value_bytes(rel(11), Lsn(100), &vec![0u8; 0x8000_0000], true);
    assert_too_large(err, &mut w, dir.path());
}

/// `err` is a blob of 2 GiB refused, and the writer is dead.
fn assert_too_large(err: Result<(), Error>, w: &mut DeltaLayerWriter, dir: &Path) {
    assert!(
        matches!(
            err,
            Err(Error::Blob(strata_blob::Error::BlobTooLarge(0x8000_0000)))
        ),
        "{err:?}"
    );
    assert_dead(w, dir);
}

/// 600 entries of 15-byte values under random keys (no prefix compression): values end in
/// block 2 (index_start_blk 3), and the index has 3 leaves and a root: 7 blocks in all.
fn write_600(dir: &Path, max_file_size: u64) -> Result<LayerDesc, Error> {
    let opts = DeltaLayerWriterOptions {
        max_file_size,
        ..Default::default()
    };
    let mut rng = SplitMix64::new(9);
    let mut keys: Vec<Key> = (0..600)
        .map(|_| Key::from_slice(&rng.bytes(18)).unwrap())
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 600);
    let mut w = DeltaLayerWriter::with_fs(
        StdFs,
        dir,
        WORKLOAD_TENANT,
        WORKLOAD_TIMELINE,
        keys[0],
        lsns(),
        opts,
    )?;
    for k in &keys {
        w.put_value(*k, Lsn(100), &Value::Image(Bytes::from_static(b"abc")))?;
    }
    w.finish(Key::MAX)
}

#[test]
fn file_too_large() {
    let dir = tempfile::tempdir().unwrap();
    let desc = write_600(dir.path(), 7 * 8192).unwrap();
    assert_eq!(desc.file_size, 7 * 8192);
    std::fs::remove_file(&desc.path).unwrap();
    // Found at finish, once the index size is known.
    let err = write_600(dir.path(), 7 * 8192 - 1).unwrap_err();
    assert!(
        matches!(
            err,
            Error::FileTooLarge {
                size: 57344,
                limit: 57343
            }
        ),
        "{err:?}"
    );
    assert!(files_in(dir.path()).is_empty());
    // Found while writing values, as soon as it is certain.
    let err = write_600(dir.path(), 3 * 8192).unwrap_err();
    assert!(
        matches!(
            err,
            Error::FileTooLarge {
                size: 32768,
                limit: 24576
            }
        ),
        "{err:?}"
    );
    assert!(files_in(dir.path()).is_empty());
}

/// The fault sweep's workload: small and large values, several write windows.
fn sweep_entries() -> Vec<(Key, Lsn, Value)> {
    let mut rng = SplitMix64::new(3);
    (0..60u32)
        .map(|i| {
            let len = if i % 7 == 0 {
                20_000
            } else {
                rng.below(300) as usize
            };
            (
                rel(10 + i),
                Lsn(100 + u64::from(i)),
                Value::Image(rng.bytes(len).into()),
            )
        })
        .collect()
}

/// Writes the sweep workload through `fs`. A failing `put_value` is checked to poison the
/// writer on the spot.
fn sweep_run(fs: &FaultyFs<StdFs>, dir: &Path) -> Result<LayerDesc, Error> {
    let opts = DeltaLayerWriterOptions {
        write_buffer_size: 8192,
        ..Default::default()
    };
    let mut w = DeltaLayerWriter::with_fs(
        fs.clone(),
        dir,
        WORKLOAD_TENANT,
        WORKLOAD_TIMELINE,
        rel(10),
        lsns(),
        opts,
    )?;
    for (key, lsn, value) in sweep_entries() {
        if let Err(e) = w.put_value(key, lsn, &value) {
            assert!(w.is_poisoned());
            assert!(matches!(
                w.put_value(rel(99), Lsn(199), &value),
                Err(Error::Poisoned)
            ));
            return Err(e);
        }
    }
    w.finish(rel(70))
}

#[test]
fn fault_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let clean = FaultyFs::new(StdFs);
    let desc = sweep_run(&clean, dir.path()).unwrap();
    let expect = std::fs::read(&desc.path).unwrap();
    std::fs::remove_file(&desc.path).unwrap();
    let counts: Vec<(OpKind, u64)> = OpKind::ALL.iter().map(|&k| (k, clean.count(k))).collect();
    assert!(clean.count(OpKind::Write) > 20, "{counts:?}");
    assert_eq!(clean.count(OpKind::Create), 1);
    assert_eq!(clean.count(OpKind::Sync), 1);
    assert_eq!(clean.count(OpKind::Rename), 1);
    assert_eq!(clean.count(OpKind::SyncDir), 1);
    assert_eq!(clean.count(OpKind::Remove), 0);

    let mut n_runs = 0;
    for (kind, n) in counts {
        for nth in 0..n {
            let fs = FaultyFs::new(StdFs).fail_nth(kind, nth);
            let err = sweep_run(&fs, dir.path()).unwrap_err();
            let Error::Io(io) = &err else {
                panic!("{kind:?} #{nth}: {err:?}");
            };
            assert_eq!(InjectedFault::of(io), Some(InjectedFault { kind, nth }));
            assert!(files_in(dir.path()).is_empty(), "{kind:?} #{nth}");
            n_runs += 1;
        }
    }
    let n_writes = clean.count(OpKind::Write);
    for nth in 0..n_writes {
        // A torn write is an error; a short write is retried and invisible.
        let fs = FaultyFs::new(StdFs).torn_write_nth(nth);
        assert!(matches!(sweep_run(&fs, dir.path()), Err(Error::Io(_))));
        assert!(files_in(dir.path()).is_empty(), "torn write #{nth}");
        let fs = FaultyFs::new(StdFs).short_write_nth(nth);
        let desc = sweep_run(&fs, dir.path()).unwrap();
        assert_eq!(
            std::fs::read(&desc.path).unwrap(),
            expect,
            "short write #{nth}"
        );
        std::fs::remove_file(&desc.path).unwrap();
        n_runs += 2;
    }
    assert!(n_runs > 3 * n_writes);
}

#[test]
fn failed_cleanup_leaves_only_a_temp_name() {
    let dir = tempfile::tempdir().unwrap();
    let fs = FaultyFs::new(StdFs).fail_nth(OpKind::Write, 3);
    fs.inject(OpKind::Remove, 0, strata_blob::testing::fault::Fault::Fail);
    assert!(matches!(sweep_run(&fs, dir.path()), Err(Error::Io(_))));
    let names = files_in(dir.path());
    assert_eq!(names.len(), 1);
    assert!(names[0].ends_with(".___temp"), "{names:?}");

    // Failing the directory fsync after the rename removes the file under its final name.
    let dir = tempfile::tempdir().unwrap();
    let fs = FaultyFs::new(StdFs).fail_nth(OpKind::SyncDir, 0);
    assert!(matches!(sweep_run(&fs, dir.path()), Err(Error::Io(_))));
    assert!(files_in(dir.path()).is_empty());
    assert_eq!(fs.count(OpKind::Remove), 1);
    assert!(fs.inner().remove_file(&dir.path().join("x")).is_err());
}
