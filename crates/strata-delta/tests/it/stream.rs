//! Scans as streams: stream adapters over `DeltaEntryIter::into_stream` /
//! `into_value_stream` give exactly the iterator's output on a golden file, and an error is
//! an `Err` item after which the stream ends.

use std::sync::Arc;

use futures_util::{StreamExt, TryStreamExt};
use strata_blob::testing::fault::FaultyBlockReader;
use strata_delta::{DeltaEntry, DeltaLayer, MemBlockReader, OpenOptions, Value};
use strata_testkit::layer_bytes;

async fn layer(case: &str) -> DeltaLayer<MemBlockReader> {
    let reader = MemBlockReader::from_bytes(&layer_bytes(case));
    DeltaLayer::from_reader(reader, OpenOptions::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn stream_adapters_equal_the_iterator() {
    let layer = layer("stdsmall").await;
    let mut want: Vec<(DeltaEntry, Value)> = Vec::new();
    let mut iter = layer.iter();
    while let Some(entry) = iter.next().await {
        let entry = entry.unwrap();
        want.push((entry, iter.load_value(&entry).await.unwrap()));
    }
    assert_eq!(want.len(), 3300);
    let entries: Vec<DeltaEntry> = want.iter().map(|(e, _)| *e).collect();

    let all: Vec<DeltaEntry> = layer.iter().into_stream().try_collect().await.unwrap();
    assert_eq!(all, entries);
    assert_eq!(layer.load_keys().await.unwrap(), entries);

    let first: Vec<DeltaEntry> = layer
        .iter()
        .into_stream()
        .take(10)
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(first, entries[..10]);

    let key = entries[1234].key;
    let of_key: Vec<DeltaEntry> = layer
        .iter()
        .into_stream()
        .filter(|e| std::future::ready(e.as_ref().is_ok_and(|e| e.key == key)))
        .try_collect()
        .await
        .unwrap();
    let want_of_key: Vec<DeltaEntry> = entries.iter().filter(|e| e.key == key).copied().collect();
    assert!(!want_of_key.is_empty());
    assert_eq!(of_key, want_of_key);

    let with_values: Vec<(DeltaEntry, Value)> = layer
        .iter()
        .into_value_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(with_values, want);
    let images = layer
        .iter()
        .into_value_stream()
        .try_filter(|(_, v)| std::future::ready(matches!(v, Value::Image(_))))
        .count()
        .await;
    let want_images = want
        .iter()
        .filter(|(_, v)| matches!(v, Value::Image(_)))
        .count();
    assert_eq!(images, want_images);
}

#[tokio::test]
async fn an_error_is_an_item_and_ends_the_stream() {
    let bytes = layer_bytes("stdsmall");
    // The n-th read fails: index blocks (entry stream) or a value run (value stream).
    for (values, nth) in [(false, 3), (true, 4)] {
        let reader = Arc::new(FaultyBlockReader::new(MemBlockReader::from_bytes(&bytes)));
        let layer = DeltaLayer::from_reader(Arc::clone(&reader), OpenOptions::default())
            .await
            .unwrap();
        reader.inject(
            reader.count() + nth,
            strata_blob::testing::fault::ReadFault::Fail,
        );
        let items: Vec<Result<(), strata_delta::Error>> = if values {
            let stream = layer.iter().into_value_stream();
            stream.map(|r| r.map(drop)).collect().await
        } else {
            layer
                .iter()
                .into_stream()
                .map(|r| r.map(drop))
                .collect()
                .await
        };
        assert_eq!(reader.n_fired(), 1, "values: {values}");
        let (last, before) = items.split_last().unwrap();
        assert!(before.iter().all(Result::is_ok), "values: {values}");
        assert!(
            !before.is_empty() && before.len() < 3300,
            "values: {values}"
        );
        assert!(matches!(last, Err(strata_delta::Error::Io(_))), "{last:?}");

        // Polled again after the end: still the end.
        let mut stream = layer.iter().into_stream();
        reader.inject(reader.count(), strata_blob::testing::fault::ReadFault::Fail);
        assert!(stream.next().await.unwrap().is_err());
        assert!(stream.next().await.is_none());
        assert!(stream.next().await.is_none());
    }
}
