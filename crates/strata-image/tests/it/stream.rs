//! The full scan as an iterator and a stream: `ImageLayer::iter` gives what the callback
//! `scan` gives, stream adapters over `into_stream` equal the iterator, and an error (a read
//! fault, or a blob running into the next entry's) is an `Err` item after which the stream ends.

use std::sync::Arc;

use futures_util::{StreamExt, TryStreamExt};
use strata_blob::testing::fault::{FaultyBlockReader, ReadFault};
use strata_image::{Error, ImageEntry, ImageLayer, MemBlockReader, OpenOptions};
use strata_testkit::image_layer_bytes;

type Items = Vec<(ImageEntry, Vec<u8>)>;

async fn layer_of(bytes: &[u8]) -> ImageLayer<MemBlockReader> {
    ImageLayer::from_reader(MemBlockReader::from_bytes(bytes), OpenOptions::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn iterator_and_stream_adapters_equal_the_scan() {
    for case in ["btree2", "imgsizes", "pageboundary", "extremes"] {
        let layer = layer_of(&image_layer_bytes(case)).await;
        let mut want: Items = Vec::new();
        layer
            .scan(|e, img| {
                want.push((e, img.to_vec()));
                true
            })
            .await
            .unwrap();
        let mut from_iter: Items = Vec::new();
        let mut iter = layer.iter();
        while let Some(item) = iter.next().await {
            from_iter.push(item.unwrap());
        }
        assert!(iter.next().await.is_none());
        assert_eq!(from_iter, want, "{case}");

        let all: Items = layer.iter().into_stream().try_collect().await.unwrap();
        assert_eq!(all, want, "{case}");
        let first: Items = layer
            .iter()
            .into_stream()
            .take(3)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(first, want[..want.len().min(3)], "{case}");
        let big: Vec<ImageEntry> = layer
            .iter()
            .into_stream()
            .try_filter(|(_, img)| std::future::ready(img.len() > 4096))
            .map_ok(|(e, _)| e)
            .try_collect()
            .await
            .unwrap();
        let want_big: Vec<ImageEntry> = want
            .iter()
            .filter(|(_, img)| img.len() > 4096)
            .map(|(e, _)| *e)
            .collect();
        assert_eq!(big, want_big, "{case}");
    }
}

#[tokio::test]
async fn an_error_is_an_item_and_ends_the_stream() {
    let bytes = image_layer_bytes("btree2");
    let reader = Arc::new(FaultyBlockReader::new(MemBlockReader::from_bytes(&bytes)));
    let layer = ImageLayer::from_reader(Arc::clone(&reader), OpenOptions::default())
        .await
        .unwrap();
    reader.inject(reader.count() + 5, ReadFault::Fail);
    let items: Vec<Result<(), Error>> = layer
        .iter()
        .into_stream()
        .map(|r| r.map(drop))
        .collect()
        .await;
    assert_eq!(reader.n_fired(), 1);
    let (last, before) = items.split_last().unwrap();
    assert!(!before.is_empty() && before.len() < 20_000);
    assert!(before.iter().all(Result::is_ok));
    assert!(matches!(last, Err(Error::Io(_))), "{last:?}");

    // The first blob's length grown by one: it runs into the second blob, which the scan
    // finds before handing it out; the stream gives that error, then ends.
    let mut bytes = image_layer_bytes("pageboundary");
    assert_eq!(bytes[8192..8196], [0x80, 0x00, 0x3f, 0xfb]);
    bytes[8195] = 0xfc;
    let layer = layer_of(&bytes).await;
    let mut stream = layer.iter().into_stream();
    let err = stream.next().await.unwrap().unwrap_err();
    assert!(err.is_corrupt(), "{err:?}");
    assert!(stream.next().await.is_none());
    assert!(stream.next().await.is_none());
    assert!(layer.scan(|_, _| true).await.unwrap_err().is_corrupt());
}
