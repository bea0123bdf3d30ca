//! The full scan as a `futures_core::Stream`: [`ImageEntryIter::into_stream`], for callers
//! that use stream adapters (`StreamExt::take`, `filter`, `TryStreamExt::try_collect`, …).
//!
//! It is strata-blob's [`StepStream`] over the iterator (one boxed future per item; the
//! iterator's `next` borrows it, so it cannot be a `Stream` itself).
//!
//! Invariants:
//! * Items are exactly the iterator's, in key order, with the same checks (`iter.rs`).
//! * An error is an `Err` item, and the stream ends after it: the next poll gives `None`.

use strata_blob::{BlockReader, BoxFuture, StepStream};

use crate::error::Error;
use crate::iter::ImageEntryIter;
use crate::scan::ImageEntry;

/// The stream of a layer's (entry, image) pairs, from [`ImageEntryIter::into_stream`].
pub type ImageEntryStream<'a, R> =
    StepStream<'a, ImageEntryIter<'a, R>, Result<(ImageEntry, Vec<u8>), Error>>;

impl<'a, R: BlockReader + 'a> ImageEntryIter<'a, R> {
    /// This scan as a stream.
    pub fn into_stream(self) -> ImageEntryStream<'a, R> {
        StepStream::new(self, next_image)
    }
}

type Item = Result<(ImageEntry, Vec<u8>), Error>;

fn next_image<'a, R: BlockReader + 'a>(
    mut iter: ImageEntryIter<'a, R>,
) -> BoxFuture<'a, (ImageEntryIter<'a, R>, Option<Item>)> {
    Box::pin(async move {
        let item = iter.next().await;
        (iter, item)
    })
}
