//! Faults under the image layer writer and reader.
//!
//! Writer ([`FaultyFs`]): every filesystem operation of a small workload write is failed in
//! turn (and every write torn or cut short), alone and with the clean-up's `remove_file`
//! failing too. The assertion: `Ok` with a file byte-identical to the fault-free one, or a
//! typed error leaving nothing under the final name (only, when the removal failed too, a
//! temp-named file — or, when the directory fsync after the rename failed, the complete
//! layer). A dropped or poisoned writer: no file, every later call `Poisoned`.
//!
//! Reader ([`FaultyBlockReader`], with and without the page cache): every read of a point
//! read, a vectored read and a full scan is failed in turn (also cut short and garbled): the
//! failure reaches the caller as an error (`Io` for failed and short reads), and the same
//! call repeated on the same layer returns the right data.

use std::path::Path;

use strata_blob::testing::fault::{Fault, FaultyBlockReader, FaultyFs, OpKind, ReadFault};
use strata_blob::{MemBlockReader, StdFs};
use strata_cache::PageCache;
use strata_image::testing::poll_ready;
use strata_image::{
    Error, ImageLayer, ImageLayerWriter, ImageLayerWriterOptions, ImageWorkloadParams, OpenOptions,
    write_image_workload,
};
use strata_key::name::is_temp_file_name;
use strata_key::{Key, KeyRange, Lsn};
use strata_layer::{LayerDesc, WORKLOAD_TENANT, WORKLOAD_TIMELINE};
use strata_testkit::image_layer_bytes;

use crate::support::golden_entries;
use strata_testkit::files_in;

const PARAMS: ImageWorkloadParams = ImageWorkloadParams {
    keys: 40,
    image_size: 3000,
    seed: 7,
};

fn write_run(fs: &FaultyFs<StdFs>, dir: &Path) -> Result<LayerDesc, Error> {
    let opts = ImageLayerWriterOptions {
        write_buffer_size: 16 * 1024,
        ..Default::default()
    };
    write_image_workload(fs.clone(), &PARAMS, dir, opts, |_| {})
}

#[test]
fn every_write_side_fault_leaves_a_complete_layer_or_nothing_final() {
    let dir = tempfile::tempdir().expect("tempdir");
    let counter = FaultyFs::new(StdFs);
    let reference = write_run(&counter, dir.path()).expect("fault-free write");
    let good = std::fs::read(&reference.path).expect("read");
    std::fs::remove_file(&reference.path).expect("rm");
    let mut n_faults = 0;
    for kind in OpKind::ALL {
        for nth in 0..counter.count(kind) {
            let faults: &[Fault] = match kind {
                OpKind::Write => &[Fault::Fail, Fault::ShortWrite, Fault::TornWrite],
                _ => &[Fault::Fail],
            };
            for &fault in faults {
                for remove_fails in [false, true] {
                    let dir = tempfile::tempdir().expect("tempdir");
                    let fs = FaultyFs::new(StdFs);
                    fs.inject(kind, nth, fault);
                    if remove_fails {
                        fs.inject(OpKind::Remove, 0, Fault::Fail);
                    }
                    let what = format!("{kind:?} #{nth} {fault:?} remove_fails={remove_fails}");
                    n_faults += 1;
                    match write_run(&fs, dir.path()) {
                        Ok(desc) => {
                            let bytes = std::fs::read(&desc.path).expect("read");
                            assert!(bytes == good, "{what}: Ok but the file differs");
                        }
                        Err(e) => {
                            assert!(matches!(e, Error::Io(_)), "{what}: {e}");
                            let names = files_in(dir.path());
                            let ok = names.is_empty()
                                || (remove_fails && names.len() == 1)
                                    && (is_temp_file_name(&names[0])
                                        || (kind == OpKind::SyncDir
                                            && std::fs::read(dir.path().join(&names[0]))
                                                .expect("read")
                                                == good));
                            assert!(ok, "{what}: left {names:?}");
                        }
                    }
                }
            }
        }
    }
    assert!(
        counter.count(OpKind::Write) > 3 && n_faults > 20,
        "{n_faults}"
    );
}

#[test]
fn dropped_and_poisoned_writers_leave_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let range = KeyRange::new(Key::MIN, Key::MIN.add(10));
    let new = || {
        ImageLayerWriter::new(
            dir.path(),
            WORKLOAD_TENANT,
            WORKLOAD_TIMELINE,
            range,
            Lsn(5),
        )
        .expect("writer")
    };
    let mut w = new();
    w.put_image(Key::MIN.add(1), b"abc").expect("put");
    let temp = w.temp_path().expect("temp").to_path_buf();
    assert!(temp.exists() && is_temp_file_name(&temp.file_name().unwrap().to_string_lossy()));
    drop(w);
    assert_eq!(files_in(dir.path()), Vec::<String>::new());

    let mut w = new();
    w.put_image(Key::MIN.add(2), b"abc").expect("put");
    let e = w
        .put_image(Key::MIN.add(2), b"again")
        .expect_err("not increasing");
    assert!(matches!(e, Error::Unsorted { .. }), "{e}");
    assert!(w.is_poisoned());
    assert!(matches!(
        w.put_image(Key::MIN.add(3), b"x"),
        Err(Error::Poisoned)
    ));
    assert!(matches!(w.finish(), Err(Error::Poisoned)));
    assert_eq!(files_in(dir.path()), Vec::<String>::new());

    let mut w = new();
    let e = w.put_image(Key::MIN.add(10), b"x").expect_err("outside");
    assert!(matches!(e, Error::KeyOutOfRange { .. }), "{e}");
    let e = new().finish().expect_err("empty");
    assert!(matches!(e, Error::EmptyLayer), "{e}");
    assert_eq!(files_in(dir.path()), Vec::<String>::new());
    let empty = KeyRange::new(Key::MIN, Key::MIN);
    let e = ImageLayerWriter::new(
        dir.path(),
        WORKLOAD_TENANT,
        WORKLOAD_TIMELINE,
        empty,
        Lsn(5),
    );
    assert!(matches!(e, Err(Error::InvalidKeyRange { .. })));
    let e = ImageLayerWriter::new(
        dir.path(),
        WORKLOAD_TENANT,
        WORKLOAD_TIMELINE,
        range,
        Lsn::MAX,
    );
    assert!(matches!(e, Err(Error::InvalidLsn { .. })));
}

/// A point read, a vectored read and a scan of `layer`, compared with the golden entries.
fn reads(
    layer: &ImageLayer<impl strata_blob::BlockReader>,
    entries: &[(Key, Vec<u8>)],
) -> Result<bool, Error> {
    let (k, img) = &entries[entries.len() / 2];
    let got = poll_ready(layer.get(*k)).expect("ready")?;
    let range = KeyRange::new(entries[2].0, entries[6].0);
    let vec = poll_ready(layer.get_vectored(&[range])).expect("ready")?;
    let mut scanned = Vec::new();
    poll_ready(layer.scan(|e, i| {
        scanned.push((e.key, i.to_vec()));
        true
    }))
    .expect("ready")?;
    Ok(got.as_ref() == Some(img) && vec == entries[2..6] && scanned == entries)
}

fn open<R: strata_blob::BlockReader>(reader: R) -> ImageLayer<R> {
    poll_ready(ImageLayer::from_reader(reader, OpenOptions::default()))
        .expect("ready")
        .expect("open")
}

#[test]
fn every_read_side_fault_reaches_the_caller_and_a_retry_reads_right() {
    let case = "pageboundary";
    let (_, entries) = golden_entries(case).expect("entries");
    let bytes = image_layer_bytes(case);
    for cached in [false, true] {
        // How many reads one run makes on a freshly opened layer (and a fresh cache).
        let counter = FaultyBlockReader::new(MemBlockReader::from_bytes(&bytes));
        let cache = PageCache::new(64);
        let n = if cached {
            let layer = open(cache.wrap(&counter));
            let before = counter.count();
            assert!(reads(&layer, &entries).expect("fault-free"));
            counter.count() - before
        } else {
            let layer = open(&counter);
            let before = counter.count();
            assert!(reads(&layer, &entries).expect("fault-free"));
            counter.count() - before
        };
        assert!(n > 3, "{n}");
        for nth in 0..n {
            for fault in [ReadFault::Fail, ReadFault::ShortRead, ReadFault::Garble] {
                let what = format!("cached={cached} read #{nth} {fault:?}");
                let faulty = FaultyBlockReader::new(MemBlockReader::from_bytes(&bytes));
                let cache = PageCache::new(64);
                let (first, retry) = if cached {
                    let layer = open(cache.wrap(&faulty));
                    faulty.inject(faulty.count() + nth, fault);
                    (reads(&layer, &entries), reads(&layer, &entries))
                } else {
                    let layer = open(&faulty);
                    faulty.inject(faulty.count() + nth, fault);
                    (reads(&layer, &entries), reads(&layer, &entries))
                };
                assert_eq!(faulty.n_fired(), 1, "{what}: the fault did not fire");
                match (fault, first) {
                    (ReadFault::Garble, Ok(_)) => {}
                    (ReadFault::Garble, Err(e)) => assert!(e.is_corrupt(), "{what}: {e}"),
                    (_, Ok(_)) => panic!("{what}: the failed read was swallowed"),
                    (_, Err(e)) => assert!(matches!(e, Error::Io(_)), "{what}: {e}"),
                }
                // A garbled block the cache kept stays garbled; anything else reads right.
                if !(cached && fault == ReadFault::Garble) {
                    assert!(retry.unwrap_or(false), "{what}: the retry is wrong");
                }
            }
        }
    }
}
