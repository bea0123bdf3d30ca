//! Write-then-read property tests against a model (a sorted map of key → image): any set of
//! keys and images (empty images, 1- and 4-byte headers, blobs over block boundaries,
//! optionally zstd-compressed) written by `ImageLayerWriter` reads back exactly through every
//! path: `get` of present and absent keys, `get_value_reconstruct_data`, vectored reads of
//! random key ranges, the full scan, and `verify` finds nothing. The fuzz oracle
//! (`testing::open_scan`) agrees, and so does it on the file with one random byte flipped.

use std::collections::BTreeMap;

use proptest::prelude::*;
use strata_blob::MemBlockReader;
use strata_image::testing::{open_scan, poll_ready};
use strata_image::{ImageLayer, ImageLayerWriter, ImageLayerWriterOptions, OpenOptions};
use strata_key::{Key, KeyRange, Lsn};
use strata_layer::{ValueReconstructResult, WORKLOAD_TENANT, WORKLOAD_TIMELINE};

fn image() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..140),
        1 => (0usize..20_000, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
        1 => proptest::collection::vec(any::<u8>(), 8000..8400),
    ]
}

fn model() -> impl Strategy<Value = BTreeMap<u32, Vec<u8>>> {
    proptest::collection::btree_map(0u32..5000, image(), 1..60)
}

fn write(model: &BTreeMap<u32, Vec<u8>>, zstd: bool) -> (Vec<u8>, KeyRange) {
    let base = Key::MIN.add(1 << 20);
    let first = base.add(*model.keys().next().expect("non-empty"));
    let last = base.add(*model.keys().last().expect("non-empty"));
    let range = KeyRange::new(first, last.next());
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = ImageLayerWriterOptions {
        zstd_level: zstd.then_some(1),
        ..Default::default()
    };
    let mut w = ImageLayerWriter::with_fs(
        strata_blob::StdFs,
        dir.path(),
        WORKLOAD_TENANT,
        WORKLOAD_TIMELINE,
        range,
        Lsn(0x99),
        opts,
    )
    .expect("writer");
    for (k, img) in model {
        w.put_image(base.add(*k), img).expect("put");
    }
    let desc = w.finish().expect("finish");
    (std::fs::read(desc.path).expect("read"), range)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn written_layers_read_back_as_the_model(
        model in model(),
        zstd in any::<bool>(),
        ranges in proptest::collection::vec((0u32..5100, 0u32..300), 1..4),
        flip in any::<(usize, u8)>(),
    ) {
        let (bytes, range) = write(&model, zstd);
        let base = Key::MIN.add(1 << 20);
        let layer = poll_ready(ImageLayer::from_reader(MemBlockReader::from_bytes(&bytes), OpenOptions::default()))
            .expect("ready").expect("open");
        prop_assert!(poll_ready(layer.verify()).expect("ready").expect("verify").is_empty());
        let want: Vec<(Key, Vec<u8>)> = model.iter().map(|(k, v)| (base.add(*k), v.clone())).collect();
        let mut scanned = Vec::new();
        poll_ready(layer.scan(|e, i| { scanned.push((e.key, i.to_vec())); true })).expect("ready").expect("scan");
        prop_assert_eq!(&scanned, &want);
        for probe in model.keys().take(10).flat_map(|k| [*k, k + 1]) {
            let key = base.add(probe);
            let got = poll_ready(layer.get(key)).expect("ready").expect("get");
            prop_assert_eq!(got.as_ref(), model.get(&probe));
            let mut img = None;
            let res = poll_ready(layer.get_value_reconstruct_data(key, &mut img)).expect("ready").expect("get");
            let complete = res == ValueReconstructResult::Complete;
            prop_assert_eq!(complete, model.contains_key(&probe));
            prop_assert_eq!(img, model.get(&probe).map(|i| (Lsn(0x99), i.clone())));
        }
        let ranges: Vec<KeyRange> = ranges.iter().map(|(s, n)| KeyRange::new(base.add(*s), base.add(s + n))).collect();
        let got = poll_ready(layer.get_vectored(&ranges)).expect("ready").expect("vectored");
        let expect: Vec<(Key, Vec<u8>)> = ranges.iter()
            .flat_map(|r| want.iter().filter(|(k, _)| r.contains(k)).cloned().collect::<Vec<_>>())
            .collect();
        prop_assert_eq!(got, expect);
        prop_assert!(range.contains(&want[0].0));
        let report = open_scan(&bytes).map_err(|m| TestCaseError::fail(m.0))?;
        prop_assert!(report.findings.is_empty() && report.n_entries == model.len() as u64);
        let mut damaged = bytes.clone();
        let at = flip.0 % damaged.len();
        damaged[at] ^= flip.1.max(1);
        open_scan(&damaged).map_err(|m| TestCaseError::fail(format!("byte {at}: {}", m.0)))?;
    }
}
