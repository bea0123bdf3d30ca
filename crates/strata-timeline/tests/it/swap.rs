//! Layers added and replaced while readers run: readers keep getting the model's answers
//! through a compaction (L0 deltas replaced by L1 key slices of the same WAL) and see a newly
//! added layer once it is in the map.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use strata_key::{Key, KeyRange, Lsn, LsnRange};
use strata_timeline::LayerDesc;

use crate::support::{Entries, clear, image, model_page, open, vm_key, write_delta};

const N_KEYS: u32 = 6;

fn entries() -> Entries {
    let mut e = Entries::new();
    for k in 0..N_KEYS {
        e.insert((vm_key(k), Lsn(2 + u64::from(k))), image(0xF0 | k as u8));
        for j in 0..8u64 {
            e.insert(
                (vm_key(k), Lsn(0x10 + j * 0x10 + u64::from(k))),
                clear(k, (j * 7 % 150) as u32, 1 + (j % 3) as u8),
            );
        }
    }
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_and_flush_while_reading() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = entries();
    let all = KeyRange::new(Key::MIN, Key::MAX);
    let cuts = [1u64, 0x30, 0x60, 0x90];
    let mut l0 = Vec::new();
    for w in cuts.windows(2) {
        let lsns = LsnRange::new(Lsn(w[0]), Lsn(w[1]));
        write_delta(dir.path(), &e, all, lsns).unwrap();
        l0.push(LayerDesc::delta(all, lsns));
    }
    let tl = Arc::new(open(dir.path()));
    let model = Arc::new(e.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for r in 0..2u64 {
        let (tl, model, stop) = (tl.clone(), model.clone(), stop.clone());
        readers.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) || n < 50 {
                let key = vm_key((n % u64::from(N_KEYS)) as u32);
                let lsn = Lsn(1 + (n * 13 + r * 7) % 0x8F);
                let got = tl.get_page(key, lsn).await.ok();
                assert_eq!(got, model_page(&model, key, lsn), "{key} at {lsn}");
                if n % 4 == 0 {
                    let pages = tl
                        .get_pages(&[KeyRange::new(vm_key(0), vm_key(N_KEYS))], lsn)
                        .await
                        .unwrap();
                    for (k, p) in pages {
                        assert_eq!(p.ok(), model_page(&model, k, lsn));
                    }
                }
                n += 1;
                tokio::task::yield_now().await;
            }
            n
        }));
    }
    // Compaction: the first two L0s become L1 slices over 1..0x60.
    let lsns = LsnRange::new(Lsn(1), Lsn(0x60));
    let mut l1 = Vec::new();
    for kb in [Key::MIN, vm_key(2), vm_key(4), Key::MAX].windows(2) {
        l1.push(write_delta(dir.path(), &e, KeyRange::new(kb[0], kb[1]), lsns).unwrap());
    }
    tokio::task::yield_now().await;
    let added: Vec<&str> = l1.iter().map(String::as_str).collect();
    tl.replace_layers(&l0[..2], &added).unwrap();
    assert_eq!(tl.layers().len(), 4);
    assert!(
        tl.replace_layers(&l0[..1], &[]).is_err(),
        "already replaced"
    );
    // Flush: a new L0 above; readers at older LSNs are unaffected.
    e.insert((vm_key(0), Lsn(0xA0)), clear(0, 9, 3));
    let name = write_delta(dir.path(), &e, all, LsnRange::new(Lsn(0x90), Lsn(0xB0))).unwrap();
    let before = tl.layers();
    tl.add_layer(&name).unwrap();
    assert!(tl.add_layer(&name).is_err(), "a layer is added once");
    assert_eq!(before.len(), 4, "an old snapshot does not change");
    let got = tl.get_page(vm_key(0), Lsn(0xA0)).await.unwrap();
    assert_eq!(Some(got), model_page(&e, vm_key(0), Lsn(0xA0)));
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.await.unwrap() >= 50);
    }
}
