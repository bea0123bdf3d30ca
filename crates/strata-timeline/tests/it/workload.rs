//! The timeline workload read back: every key's history at several LSNs equals
//! `expected_history`, through `get_history` and `get_pages`, and Neon-record pages are made.

use strata_key::{KeyRange, Lsn};
use strata_timeline::Error;
use strata_timeline::workload::{TimelineWorkload, expected_history, write_timeline_workload};

use crate::support::open;

#[tokio::test]
async fn workload_histories() {
    let dir = tempfile::tempdir().unwrap();
    let w = TimelineWorkload {
        keys: 40,
        n_deltas: 5,
        image_size: 100,
        ..TimelineWorkload::default()
    };
    let names = write_timeline_workload(dir.path(), &w).unwrap();
    assert_eq!(names.len(), 6);
    let tl = open(dir.path());
    assert!(tl.verify().await.is_empty());
    for lsn in [
        w.image_lsn(),
        w.record_lsn(2, 7),
        w.last_lsn(),
        Lsn(w.last_lsn().0 + 100),
    ] {
        for k in [0, 7, 39] {
            let t = tl.get_history(w.key(k), lsn).await.unwrap();
            let (img, records) = expected_history(&w, k, lsn).unwrap();
            assert_eq!(
                t.history.img.as_ref().map(|i| (i.0, i.1.len())),
                Some((img, 100))
            );
            let got: Vec<Lsn> = t.history.records.iter().map(|r| r.0).collect();
            assert_eq!(got, records, "key {k} at {lsn}");
            // Postgres records and no backend: the history comes back with the error.
            if !records.is_empty() {
                let err = tl.get_page(w.key(k), lsn).await.unwrap_err();
                assert!(matches!(err, Error::NeedsPostgres { .. }), "{err}");
            }
        }
    }
}

#[tokio::test]
async fn neon_record_workload_pages() {
    let dir = tempfile::tempdir().unwrap();
    let w = TimelineWorkload {
        keys: 20,
        n_deltas: 4,
        image_size: 64,
        neon_records: true,
        seed: 1,
    };
    write_timeline_workload(dir.path(), &w).unwrap();
    let tl = open(dir.path());
    let range = [KeyRange::new(w.key(0), w.key(19).next())];
    let pages = tl.get_pages(&range, w.last_lsn()).await.unwrap();
    assert_eq!(pages.len(), 20);
    for (k, (key, page)) in pages.into_iter().enumerate() {
        assert_eq!(key, w.key(k as u64));
        let page = page.unwrap();
        let one = tl.get_page(key, w.last_lsn()).await.unwrap();
        assert_eq!(page, one);
        // Deltas 0..4 cleared bit 0 of heap blocks 0..4 of this page: byte 24, bits 0, 2, 4, 6.
        let img = tl
            .get_history(key, w.image_lsn())
            .await
            .unwrap()
            .history
            .img
            .unwrap()
            .1;
        assert_eq!(page[24], img[24] & !0x55);
    }
}
