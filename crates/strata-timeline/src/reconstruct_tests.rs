//! Unit tests of the traversal: the worked traversal of TIMELINE.md 3.6, the stop conditions
//! and errors of 3.5, ancestors (3.4), materialization (3.7), and the vectored form agreeing
//! with the single-key one.

use strata_delta::Value;
use strata_key::KeyRange;

use super::*;
use crate::desc::LayerDesc;
use crate::layer_map::tests::{example_layers, k};
use crate::mem_layer::MemLayer;
use crate::redo::NeonRedo;

fn rec(lsn: u64, will_init: bool) -> NeonWalRecord {
    NeonWalRecord::Postgres {
        will_init,
        rec: Bytes::from(format!("r{lsn:x}")),
    }
}

fn img(tag: &str) -> Bytes {
    Bytes::from(tag.to_owned())
}

type Map = LayerMap<Arc<MemLayer>>;

/// The layers of 2.8 with the contents of 3.6 for k30, and a will_init record for k10 in D3.
fn example_map() -> Map {
    let layers = example_layers().into_iter().map(|(desc, name)| {
        let mut layer = MemLayer::new(desc);
        match name {
            "I1" => layer.put_image(k(30), img("A@10")),
            "D1" => layer.put(k(30), Lsn(0x20), Value::WalRecord(rec(0x20, false))),
            "D2" => {
                layer.put(k(30), Lsn(0x35), Value::WalRecord(rec(0x35, false)));
                layer.put(k(30), Lsn(0x48), Value::WalRecord(rec(0x48, false)));
            }
            "I2" => layer.put_image(k(30), img("A@40")),
            "D3" => {
                layer.put(k(30), Lsn(0x55), Value::WalRecord(rec(0x55, false)));
                layer.put(k(10), Lsn(0x52), Value::WalRecord(rec(0x52, true)));
            }
            _ => {}
        }
        (desc, Arc::new(layer))
    });
    LayerMap::new(layers).0
}

fn root(map: &Map) -> Vec<Level<'_, MemLayer>> {
    vec![Level {
        map,
        ancestor_lsn: None,
    }]
}

async fn get(levels: &[Level<'_, MemLayer>], key: Key, lsn: u64) -> Result<Traversal, Error> {
    reconstruct(levels, key, Lsn(lsn)).await
}

#[tokio::test]
async fn worked_traversal_3_6() {
    let map = example_map();
    let t = get(&root(&map), k(30), 0x58).await.unwrap();
    assert_eq!(t.history.img, Some((Lsn(0x40), img("A@40"))));
    assert_eq!(
        t.history.records,
        [(Lsn(0x48), rec(0x48, false)), (Lsn(0x55), rec(0x55, false))]
    );
    let path: Vec<_> = t
        .visits
        .iter()
        .map(|v| (v.lo.0, v.hi.0, v.result))
        .collect();
    assert_eq!(
        path,
        [
            (0x50, 0x59, VisitResult::Continue),
            (0x41, 0x50, VisitResult::Continue),
            (0x40, 0x41, VisitResult::Complete),
        ]
    );

    let t = get(&root(&map), k(10), 0x70).await.unwrap();
    assert_eq!(t.history.img, None);
    assert_eq!(t.history.records, [(Lsn(0x52), rec(0x52, true))]);
    assert_eq!(t.visits.len(), 1);
}

#[tokio::test]
async fn stop_conditions_and_errors() {
    let map = example_map();
    let levels = root(&map);
    // Image layer covering k31 lacks it: not found, at the image's LSN.
    let err = get(&levels, k(31), 0x40).await.unwrap_err();
    assert!(
        matches!(&err, Error::KeyNotFound { lsn, traversal, .. } if *lsn == Lsn(0x40) && traversal.len() == 1),
        "{err}"
    );
    assert!(
        err.to_string().contains("layer traversal: result Missing"),
        "{err}"
    );
    // No image covers k150: search returns none below D1, no ancestor.
    let err = get(&levels, k(150), 0x55).await.unwrap_err();
    assert!(
        matches!(err, Error::KeyNotFound { lsn: Lsn(0x11), .. }),
        "{err}"
    );
    // Below every layer.
    let err = get(&levels, k(30), 0x0F).await.unwrap_err();
    assert!(matches!(err, Error::KeyNotFound { .. }));
    // LSN 0 and u64::MAX are invalid; u64::MAX - 1 works.
    assert!(matches!(
        get(&levels, k(30), 0).await,
        Err(Error::InvalidLsn(_))
    ));
    assert!(matches!(
        get(&levels, k(30), u64::MAX).await,
        Err(Error::InvalidLsn(_))
    ));
    let t = get(&levels, k(70), u64::MAX - 1).await;
    assert!(
        matches!(t, Err(Error::KeyNotFound { .. })),
        "I3 lacks k70: {t:?}"
    );
    let t = get(&levels, k(30), u64::MAX - 1).await.unwrap();
    assert_eq!(t.history.img, Some((Lsn(0x40), img("A@40"))));
}

#[tokio::test]
async fn records_reaching_lsn_1_without_base() {
    let desc = LayerDesc::delta(
        KeyRange::new(Key::MIN, Key::MAX),
        LsnRange::new(Lsn(1), Lsn(0x10)),
    );
    let mut layer = MemLayer::new(desc);
    layer.put(k(1), Lsn(5), Value::WalRecord(rec(5, false)));
    let map = LayerMap::new([(desc, Arc::new(layer))]).0;
    let t = get(&root(&map), k(1), 0x20).await.unwrap();
    assert_eq!(t.history.records.len(), 1);
    let err = materialize(&NeonRedo::new(), k(1), Lsn(0x20), &t.history, 16).unwrap_err();
    assert!(
        matches!(err, Error::BaseImageMissing { n_records: 1, .. }),
        "{err}"
    );
    // A key with nothing at all: reaches LSN 1 with nothing, which is also missing.
    let t = get(&root(&map), k(2), 0x20).await.unwrap();
    let err = materialize(&NeonRedo::new(), k(2), Lsn(0x20), &t.history, 16).unwrap_err();
    assert!(matches!(err, Error::BaseImageMissing { n_records: 0, .. }));
}

#[tokio::test]
async fn materialize_image_and_postgres_history() {
    let map = example_map();
    let levels = root(&map);
    // No records: the image unchanged.
    let t = get(&levels, k(30), 0x40).await.unwrap();
    let page = materialize(&NeonRedo::new(), k(30), Lsn(0x40), &t.history, 16).unwrap();
    assert_eq!(page, img("A@40"));
    // Postgres records without a backend: the history comes back with the error.
    let t = get(&levels, k(30), 0x58).await.unwrap();
    let err = materialize(&NeonRedo::new(), k(30), Lsn(0x58), &t.history, 16).unwrap_err();
    match err {
        Error::NeedsPostgres { history, .. } => assert_eq!(*history, t.history),
        other => panic!("expected NeedsPostgres, got {other}"),
    }
}

/// A child branched at 0x30 from a parent holding an image at 0x10 and records at 0x20, 0x40.
fn branch() -> (Map, Map) {
    let all = KeyRange::new(Key::MIN, Key::MAX);
    let img_desc = LayerDesc::image(all, Lsn(0x10));
    let mut parent_img = MemLayer::new(img_desc);
    parent_img.put_image(k(1), img("P@10"));
    parent_img.put_image(AUX_FILES_KEY, img("aux"));
    let pd = LayerDesc::delta(all, LsnRange::new(Lsn(0x11), Lsn(0x50)));
    let mut parent_delta = MemLayer::new(pd);
    parent_delta.put(k(1), Lsn(0x20), Value::WalRecord(rec(0x20, false)));
    parent_delta.put(k(1), Lsn(0x40), Value::WalRecord(rec(0x40, false)));
    let parent = LayerMap::new([
        (img_desc, Arc::new(parent_img)),
        (pd, Arc::new(parent_delta)),
    ])
    .0;
    let cd = LayerDesc::delta(all, LsnRange::new(Lsn(0x31), Lsn(0x60)));
    let mut child_delta = MemLayer::new(cd);
    child_delta.put(k(1), Lsn(0x50), Value::WalRecord(rec(0x50, false)));
    let child = LayerMap::new([(cd, Arc::new(child_delta))]).0;
    (child, parent)
}

/// The child of [`branch`] over its parent.
fn branch_levels<'a>(child: &'a Map, parent: &'a Map) -> Vec<Level<'a, MemLayer>> {
    vec![
        Level {
            map: child,
            ancestor_lsn: Some(Lsn(0x30)),
        },
        Level {
            map: parent,
            ancestor_lsn: None,
        },
    ]
}

#[tokio::test]
async fn ancestors() {
    let (child, parent) = branch();
    let levels = branch_levels(&child, &parent);
    // Above the branch point: the child's record, then the parent up to 0x30 only.
    let t = get(&levels, k(1), 0x58).await.unwrap();
    assert_eq!(t.history.img, Some((Lsn(0x10), img("P@10"))));
    let lsns: Vec<_> = t.history.records.iter().map(|r| r.0.0).collect();
    assert_eq!(lsns, [0x20, 0x50]);
    assert_eq!(
        t.visits.iter().map(|v| v.level).collect::<Vec<_>>(),
        [0, 1, 1]
    );
    // At the branch point: the parent's newer record (0x40) is never seen.
    let t = get(&levels, k(1), 0x30).await.unwrap();
    assert_eq!(
        t.history.records.iter().map(|r| r.0.0).collect::<Vec<_>>(),
        [0x20]
    );
    // The AUX key is not inherited: no progress.
    let err = get(&levels, AUX_FILES_KEY, 0x58).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::NoProgress {
                ancestor_lsn: Lsn(0x30),
                ..
            }
        ),
        "{err}"
    );
    // Without the parent opened: a typed error.
    let err = get(&levels[..1], k(1), 0x58).await.unwrap_err();
    assert!(matches!(err, Error::Ancestor { .. }), "{err}");
}

#[tokio::test]
async fn vectored_equals_single_key() {
    let map = example_map();
    let (child, parent) = branch();
    let branch_levels = branch_levels(&child, &parent);
    let keys: Vec<Key> = (0..160)
        .step_by(5)
        .map(k)
        .chain([k(31), AUX_FILES_KEY])
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for levels in [root(&map), branch_levels] {
        for lsn in [
            1u64, 0x0F, 0x10, 0x30, 0x3F, 0x40, 0x41, 0x45, 0x58, 0x5E, 0x5F, 0x70,
        ] {
            let many = reconstruct_many(&levels, &keys, Lsn(lsn)).await.unwrap();
            assert_eq!(many.len(), keys.len());
            for key in &keys {
                let one = reconstruct(&levels, *key, Lsn(lsn)).await;
                let got = &many[key];
                match (&one, got) {
                    (Ok(a), Ok(b)) => assert_eq!(a, b, "{key} at {lsn:#x}"),
                    (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                    _ => panic!("{key} at {lsn:#x}: {one:?} vs {got:?}"),
                }
            }
        }
    }
}

/// A layer counting its vectored reads.
struct Counting {
    inner: MemLayer,
    calls: std::sync::atomic::AtomicUsize,
}

impl ReadLayer for Counting {
    async fn get_value_reconstruct_data(
        &self,
        key: Key,
        lsn_range: LsnRange,
        state: &mut ValueReconstructState,
    ) -> Result<VisitResult, Error> {
        self.inner
            .get_value_reconstruct_data(key, lsn_range, state)
            .await
    }

    async fn get_values_reconstruct_data(
        &self,
        reads: &[(Key, LsnRange)],
    ) -> Result<Vec<(VisitResult, ValueReconstructState)>, Error> {
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.get_values_reconstruct_data(reads).await
    }
}

#[tokio::test]
async fn vectored_reads_each_layer_once() {
    let map: LayerMap<Arc<Counting>> =
        LayerMap::new(example_map().layers().iter().map(|(d, l)| {
            let counting = Counting {
                inner: (**l).clone(),
                calls: Default::default(),
            };
            (*d, Arc::new(counting))
        }))
        .0;
    let levels = vec![Level {
        map: &map,
        ancestor_lsn: None,
    }];
    let keys: Vec<Key> = (0..100).map(k).collect();
    let many = reconstruct_many(&levels, &keys, Lsn(0x58)).await.unwrap();
    assert!(many[&k(30)].is_ok());
    for (desc, layer) in map.layers() {
        let calls = layer.calls.load(std::sync::atomic::Ordering::Relaxed);
        assert!(calls <= 1, "{desc} read {calls} times");
    }
    // D3, D2 (keys with floors 0x30 and 0x41), D1 (ceilings 0x50 and 0x30), I1, I2: once each.
    let used = map
        .layers()
        .iter()
        .filter(|(_, l)| l.calls.load(std::sync::atomic::Ordering::Relaxed) == 1)
        .count();
    assert_eq!(used, 5);
}
