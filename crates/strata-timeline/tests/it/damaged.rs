//! Damaged timelines: a missing layer, a truncated layer, a layer whose summary disagrees with
//! its name, overlapping layers Neon would not produce. Each gives a typed error (or a
//! verification finding) naming the layer, and the rest of the timeline keeps answering.

use std::path::Path;

use strata_key::{Key, KeyRange, Lsn, LsnRange};
use strata_timeline::{CorruptionKind, Error};

use crate::support::{Entries, clear, image, model_page, open, vm_key, write_delta};

fn all() -> KeyRange {
    KeyRange::new(Key::MIN, Key::MAX)
}

/// Key 0's history lies in the old layer (image 0x10) and the new one (record 0x30); key 1
/// has an image in the new layer, so it never needs the old one above 0x20.
fn timeline(dir: &Path) -> (Entries, String, String) {
    let mut e = Entries::new();
    e.insert((vm_key(0), Lsn(0x10)), image(0xFF));
    e.insert((vm_key(0), Lsn(0x30)), clear(0, 1, 3));
    e.insert((vm_key(1), Lsn(0x25)), image(0x7F));
    let old = write_delta(dir, &e, all(), LsnRange::new(Lsn(1), Lsn(0x20))).unwrap();
    let new = write_delta(dir, &e, all(), LsnRange::new(Lsn(0x20), Lsn(0x40))).unwrap();
    (e, old, new)
}

async fn still_answers(tl: &strata_timeline::Timeline, e: &Entries) {
    let page = tl.get_page(vm_key(1), Lsn(0x30)).await.unwrap();
    assert_eq!(Some(page), model_page(e, vm_key(1), Lsn(0x30)));
}

#[tokio::test]
async fn missing_layer() {
    let dir = tempfile::tempdir().unwrap();
    let (e, old, _) = timeline(dir.path());
    let tl = open(dir.path());
    std::fs::remove_file(dir.path().join(&old)).unwrap();
    let err = tl.get_page(vm_key(0), Lsn(0x30)).await.unwrap_err();
    assert!(
        matches!(&err, Error::LayerIo { layer, .. } if *layer == old),
        "{err}"
    );
    assert_eq!(err.layer(), Some(old.as_str()));
    still_answers(&tl, &e).await;
    let findings = tl.verify().await;
    assert!(
        findings
            .iter()
            .any(|f| f.layer.as_deref() == Some(old.as_str())),
        "{findings:?}"
    );
}

#[tokio::test]
async fn truncated_layer() {
    let dir = tempfile::tempdir().unwrap();
    let (e, old, _) = timeline(dir.path());
    for len in [100u64, 8192] {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.path().join(&old))
            .unwrap();
        f.set_len(len).unwrap();
        drop(f);
        let tl = open(dir.path());
        let err = tl.get_page(vm_key(0), Lsn(0x30)).await.unwrap_err();
        assert_eq!(err.layer(), Some(old.as_str()), "{err}");
        assert!(
            matches!(err, Error::Corrupt(_)),
            "truncated to {len}: {err}"
        );
        still_answers(&tl, &e).await;
    }
}

#[tokio::test]
async fn summary_disagreeing_with_name() {
    let dir = tempfile::tempdir().unwrap();
    let (e, old, _) = timeline(dir.path());
    // Rename the old layer as if it started at LSN 2: the name now lies about the summary.
    let liar = old.replace("__0000000000000001-", "__0000000000000002-");
    assert_ne!(liar, old);
    std::fs::rename(dir.path().join(&old), dir.path().join(&liar)).unwrap();
    let tl = open(dir.path());
    for _ in 0..2 {
        // The failure is remembered: the second read fails the same way.
        let err = tl.get_page(vm_key(0), Lsn(0x30)).await.unwrap_err();
        match &err {
            Error::Corrupt(c) => {
                assert_eq!(c.layer.as_deref(), Some(liar.as_str()));
                assert!(
                    matches!(c.kind, CorruptionKind::SummaryMismatch { .. }),
                    "{err}"
                );
            }
            other => panic!("expected a summary mismatch, got {other}"),
        }
        assert!(
            err.to_string().contains("does not match expected summary"),
            "{err}"
        );
    }
    still_answers(&tl, &e).await;
}

#[tokio::test]
async fn overlapping_layers_are_found_and_reads_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let (e, _, _) = timeline(dir.path());
    // A delta partly overlapping both (same WAL): Neon's ingest never writes this.
    let odd = write_delta(dir.path(), &e, all(), LsnRange::new(Lsn(0x18), Lsn(0x28))).unwrap();
    let tl = open(dir.path());
    let findings = tl.verify().await;
    assert!(
        findings
            .iter()
            .any(|f| f.layer.as_deref() == Some(odd.as_str())
                && f.message.contains("partly overlaps")),
        "{findings:?}"
    );
    for lsn in [0x10, 0x1F, 0x30] {
        let page = tl.get_page(vm_key(0), Lsn(lsn)).await.unwrap();
        assert_eq!(Some(page), model_page(&e, vm_key(0), Lsn(lsn)));
    }
    still_answers(&tl, &e).await;
}

#[tokio::test]
async fn a_sound_timeline_verifies_clean() {
    let dir = tempfile::tempdir().unwrap();
    timeline(dir.path());
    let findings = open(dir.path()).verify().await;
    assert!(findings.is_empty(), "{findings:?}");
}

#[tokio::test]
async fn image_layer_damage_and_missing_key() {
    use crate::support::write_image;
    let dir = tempfile::tempdir().unwrap();
    let (e, _, _) = timeline(dir.path());
    // An image layer at 0x38 over keys 0..4 holding key 0 only: key 2 "does not exist" there.
    let page = model_page(&e, vm_key(0), Lsn(0x38)).unwrap();
    let keys = KeyRange::new(vm_key(0), vm_key(4));
    let name = write_image(dir.path(), keys, Lsn(0x38), &[(vm_key(0), page.clone())]).unwrap();
    let tl = open(dir.path());
    assert_eq!(tl.get_page(vm_key(0), Lsn(0x3A)).await.unwrap(), page);
    let err = tl.get_page(vm_key(2), Lsn(0x3A)).await.unwrap_err();
    assert!(
        matches!(err, Error::KeyNotFound { lsn: Lsn(0x38), .. }),
        "{err}"
    );
    assert!(tl.verify().await.is_empty());
    // The same file under a name with another LSN: a summary mismatch naming it.
    let liar = name.replace("__0000000000000038", "__0000000000000039");
    std::fs::rename(dir.path().join(&name), dir.path().join(&liar)).unwrap();
    let tl = open(dir.path());
    let err = tl.get_page(vm_key(0), Lsn(0x3A)).await.unwrap_err();
    assert_eq!(err.layer(), Some(liar.as_str()), "{err}");
    assert!(
        matches!(&err, Error::Corrupt(c) if matches!(c.kind, CorruptionKind::SummaryMismatch { .. }))
    );
    // Reads that do not need it go on.
    still_answers(&tl, &e).await;
    assert_eq!(
        Some(tl.get_page(vm_key(0), Lsn(0x30)).await.unwrap()),
        model_page(&e, vm_key(0), Lsn(0x30))
    );
}
