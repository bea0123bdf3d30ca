//! Faults under the delta layer writer ([`FaultyFs`]), beyond `tests/it/writer.rs`'s
//! single-fault sweep: every fault of that sweep again with the clean-up's `remove_file` failing
//! too (the directory then holds only a temp-named file, or, when the directory fsync after the
//! rename failed, the complete layer, never a partial one under a final name); the
//! `put_value_bytes` path swept over every write; a writer dropped with a failing remove; and
//! every entry point refusing work once poisoned. Read-side faults are in `tests/it/faults.rs`.

use std::path::Path;

use strata_blob::StdFs;
use strata_blob::testing::fault::{Fault, FaultyFs, InjectedFault, OpKind};
use strata_delta::workload::{WORKLOAD_TENANT, WORKLOAD_TIMELINE, WorkloadParams};
use strata_delta::{
    DeltaLayerWriter, DeltaLayerWriterOptions, Error, Finding, LayerDesc, OpenOptions,
};
use strata_key::name::is_temp_file_name;
use strata_key::{Key, Lsn};
use strata_testkit::files_in;

const PARAMS: WorkloadParams = WorkloadParams {
    keys: 60,
    records: 10,
    image_size: 3000,
    seed: 7,
};

/// Writes [`PARAMS`] through `fs` (with `put_value_bytes` when `as_bytes`). A failing put is
/// checked to leave the writer poisoned for every entry point.
fn write_run(fs: &FaultyFs<StdFs>, dir: &Path, as_bytes: bool) -> Result<LayerDesc, Error> {
    let opts = DeltaLayerWriterOptions {
        write_buffer_size: 16 * 1024,
        ..Default::default()
    };
    let mut w = DeltaLayerWriter::with_fs(
        fs.clone(),
        dir,
        WORKLOAD_TENANT,
        WORKLOAD_TIMELINE,
        PARAMS.key_range().start,
        PARAMS.lsn_range(),
        opts,
    )?;
    for (key, lsn, value) in PARAMS.entries() {
        let res = if as_bytes {
            w.put_value_bytes(key, lsn, &value.encode(), value.will_init())
        } else {
            w.put_value(key, lsn, &value)
        };
        if let Err(e) = res {
            assert!(w.is_poisoned());
            let next = (PARAMS.key_range().end, PARAMS.lsn_range().end);
            assert!(matches!(
                w.put_value(key, lsn, &value),
                Err(Error::Poisoned)
            ));
            assert!(matches!(
                w.put_value_bytes(next.0, Lsn(next.1.0 - 1), &value.encode(), true),
                Err(Error::Poisoned)
            ));
            assert_eq!((w.size(), w.n_entries()), (0, 0));
            assert!(matches!(w.finish(Key::MAX), Err(Error::Poisoned)));
            return Err(e);
        }
    }
    w.finish(PARAMS.key_range().end)
}

fn assert_injected(err: &Error, kind: OpKind, nth: u64) {
    let Error::Io(io) = err else {
        panic!("{kind:?} #{nth}: {err:?}");
    };
    assert_eq!(InjectedFault::of(io), Some(InjectedFault { kind, nth }));
}

/// The clean run's bytes and operation counts.
fn clean_write(dir: &Path, as_bytes: bool) -> (Vec<u8>, Vec<(OpKind, u64)>) {
    let fs = FaultyFs::new(StdFs);
    let desc = write_run(&fs, dir, as_bytes).unwrap();
    let bytes = std::fs::read(&desc.path).unwrap();
    std::fs::remove_file(&desc.path).unwrap();
    let counts = OpKind::ALL.iter().map(|&k| (k, fs.count(k))).collect();
    (bytes, counts)
}

/// Every single fault of a clean run, plus the clean-up's remove failing: what is left is one
/// temp-named file, or (only when the directory fsync after the rename failed) the complete
/// layer, byte-identical with the clean run. Never a partial file under a final name.
#[test]
fn every_fault_with_failing_cleanup() {
    let dir = tempfile::tempdir().unwrap();
    let (expect, counts) = clean_write(dir.path(), false);
    let mut plans: Vec<(OpKind, u64, Fault)> = Vec::new();
    for &(kind, n) in &counts {
        plans.extend((0..n).map(|nth| (kind, nth, Fault::Fail)));
    }
    let n_writes = counts[OpKind::Write as usize].1;
    plans.extend((0..n_writes).map(|nth| (OpKind::Write, nth, Fault::TornWrite)));
    let (mut n_temp, mut n_final) = (0, 0);
    for &(kind, nth, fault) in &plans {
        let fs = FaultyFs::new(StdFs);
        fs.inject(kind, nth, fault);
        fs.inject(OpKind::Remove, 0, Fault::Fail);
        let err = write_run(&fs, dir.path(), false).unwrap_err();
        assert_injected(&err, kind, nth);
        let names = files_in(dir.path());
        match (kind, names.as_slice()) {
            (OpKind::Create, []) => {}
            (OpKind::SyncDir, [name]) => {
                assert!(!is_temp_file_name(name), "{name}");
                assert!(std::fs::read(dir.path().join(name)).unwrap() == expect);
                n_final += 1;
            }
            (_, [name]) => {
                assert!(is_temp_file_name(name), "{kind:?} #{nth}: {name}");
                n_temp += 1;
            }
            _ => panic!("{kind:?} #{nth} {fault:?}: {names:?}"),
        }
        assert_eq!(fs.count(OpKind::Remove), u64::from(kind != OpKind::Create));
        for name in names {
            std::fs::remove_file(dir.path().join(name)).unwrap();
        }
    }
    assert_eq!(n_final, 1);
    assert_eq!(n_temp + n_final + 1, plans.len()); // + the failed create
}

/// The `put_value_bytes` path (used by `strata copy`) under every write and sync fault.
#[test]
fn every_fault_through_put_value_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (expect, counts) = clean_write(dir.path(), true);
    let (expect_values, _) = clean_write(dir.path(), false);
    assert!(expect == expect_values, "both paths write the same bytes");
    let n_writes = counts[OpKind::Write as usize].1;
    assert!(n_writes > 20, "{counts:?}");
    for nth in 0..n_writes {
        for fault in [Fault::Fail, Fault::TornWrite] {
            let fs = FaultyFs::new(StdFs);
            fs.inject(OpKind::Write, nth, fault);
            let err = write_run(&fs, dir.path(), true).unwrap_err();
            assert_injected(&err, OpKind::Write, nth);
            assert!(files_in(dir.path()).is_empty(), "write #{nth} {fault:?}");
        }
    }
    let fs = FaultyFs::new(StdFs).fail_nth(OpKind::Sync, 0);
    assert_injected(
        &write_run(&fs, dir.path(), true).unwrap_err(),
        OpKind::Sync,
        0,
    );
    assert!(files_in(dir.path()).is_empty());
}

/// An unfinished writer dropped when its file cannot be removed leaves a temp name only; a
/// later writer of the same layer in the same directory is not disturbed by it.
#[test]
fn drop_with_failing_remove_leaves_a_temp_name() {
    let dir = tempfile::tempdir().unwrap();
    let fs = FaultyFs::new(StdFs).fail_nth(OpKind::Remove, 0);
    let mut w = DeltaLayerWriter::with_fs(
        fs.clone(),
        dir.path(),
        WORKLOAD_TENANT,
        WORKLOAD_TIMELINE,
        PARAMS.key_range().start,
        PARAMS.lsn_range(),
        DeltaLayerWriterOptions::default(),
    )
    .unwrap();
    for (key, lsn, value) in PARAMS.entries().take(50) {
        w.put_value(key, lsn, &value).unwrap();
    }
    drop(w);
    assert_eq!(fs.n_fired(), 1);
    let names = files_in(dir.path());
    assert!(
        matches!(names.as_slice(), [n] if is_temp_file_name(n)),
        "{names:?}"
    );

    let desc = write_run(&FaultyFs::new(StdFs), dir.path(), false).unwrap();
    assert_eq!(files_in(dir.path()).len(), 2);
    let findings = block_on(strata_delta::verify_file(
        &desc.path,
        &OpenOptions::default(),
    ));
    assert_eq!(findings.unwrap(), Vec::<Finding>::new());
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}
