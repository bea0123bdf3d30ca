//! Ingest stopped at `--until` and resumed answers as one uninterrupted ingest; the typed
//! errors of import and ingest on directories they cannot take.

use strata_ingest::{
    Catalog, Error, ImportOptions, import_datadir, open_for_ingest, open_timeline,
};
use strata_key::{Key, Lsn, SlruKind};

use crate::fixture::{fixture, import_and_ingest, ingest, runtime};

#[test]
fn stopping_at_until_and_resuming_gives_the_same_answers() {
    let f = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tl");
    let mid = Lsn(f.import_lsn.0 + (f.final_lsn.0 - f.import_lsn.0) / 3);
    let first = import_and_ingest(&f.run.base, &f.run.wal_dir(), &dir, Some(mid)).unwrap();
    assert!(first.lsn <= mid && first.stop.as_deref() == Some("until"));
    let second = ingest(&f.run.wal_dir(), &dir, None).unwrap();
    assert_eq!(second.start_lsn, first.lsn);
    assert_eq!(second.lsn, f.final_lsn);
    assert_eq!(first.records + second.records, f.progress.records);
    // Once more: nothing left to ingest.
    let third = ingest(&f.run.wal_dir(), &dir, None).unwrap();
    assert_eq!((third.records, third.layers), (0, 0));

    let a = open_timeline(&f.timeline).unwrap();
    let b = open_timeline(&dir).unwrap();
    let rt = runtime();
    let keys = [
        Key::slru_block(SlruKind::Clog, 0, 0),
        Key::slru_block(SlruKind::Clog, 0, 1),
        Key::CHECKPOINT,
        Key::DBDIR,
    ];
    for key in keys {
        let x = rt.block_on(a.get_page(key, f.final_lsn)).unwrap();
        let y = rt.block_on(b.get_page(key, f.final_lsn)).unwrap();
        assert!(x == y, "{key} differs");
    }
    // The whole catalog (every fork's size, every SLRU segment, the directories) agrees.
    let ca = rt.block_on(Catalog::load(&a, f.final_lsn)).unwrap();
    let cb = rt.block_on(Catalog::load(&b, f.final_lsn)).unwrap();
    assert!(ca.rel_sizes.len() > 500);
    assert_eq!(ca.rel_sizes, cb.rel_sizes);
    assert_eq!(ca.slru_sizes, cb.slru_sizes);
    assert_eq!(ca.db_dir, cb.db_dir);
    assert_eq!(ca.checkpoint, cb.checkpoint);
}

#[test]
fn import_and_ingest_refuse_what_they_cannot_take() {
    let f = fixture();
    let tmp = tempfile::tempdir().unwrap();
    // A directory that already holds a timeline cannot be imported into; one without an
    // import cannot be ingested into.
    let err = import_datadir(
        &f.run.base,
        &f.timeline,
        ImportOptions::default(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, Error::NotEmpty(_)), "{err}");
    let err = open_for_ingest(tmp.path()).unwrap_err();
    assert!(matches!(err, Error::NoImport(_)), "{err}");
    // A damaged pg_control is a CRC error.
    let copy = tmp.path().join("pgdata");
    std::fs::create_dir_all(copy.join("global")).unwrap();
    let mut control = std::fs::read(f.run.base.join("global/pg_control")).unwrap();
    control[40] ^= 0xff;
    std::fs::write(copy.join("global/pg_control"), control).unwrap();
    let err = import_datadir(
        &copy,
        &tmp.path().join("tl"),
        ImportOptions::default(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, Error::ControlCrc { .. }), "{err}");
}
