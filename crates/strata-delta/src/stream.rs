//! Scans as `futures_core::Stream`s: [`DeltaEntryIter::into_stream`] (entries) and
//! [`DeltaEntryIter::into_value_stream`] (entries with their values), for callers that use
//! stream adapters (`StreamExt::take`, `filter`, `TryStreamExt::try_collect`, …).
//!
//! Both are strata-blob's [`StepStream`] over the iterator (one boxed future per item; the
//! iterator's `next` borrows it, so it cannot be a `Stream` itself).
//!
//! Invariants:
//! * Items are exactly the iterator's, in (key, LSN) order, with the same checks (`iter.rs`).
//! * An error is an `Err` item, and the stream ends after it: the next poll gives `None`.

use strata_blob::{BlockReader, BoxFuture, StepStream};

use crate::error::Error;
use crate::iter::{DeltaEntry, DeltaEntryIter};
use crate::value::Value;

/// The stream of a layer's entries, from [`DeltaEntryIter::into_stream`].
pub type DeltaEntryStream<'a, R> = StepStream<'a, DeltaEntryIter<'a, R>, Result<DeltaEntry, Error>>;

/// The stream of a layer's entries with their values, from
/// [`DeltaEntryIter::into_value_stream`].
pub type DeltaValueStream<'a, R> =
    StepStream<'a, ValueScan<'a, R>, Result<(DeltaEntry, Value), Error>>;

/// The state of a [`DeltaValueStream`]: the iterator, and whether a value failed to load.
pub struct ValueScan<'a, R> {
    iter: DeltaEntryIter<'a, R>,
    failed: bool,
}

impl<'a, R: BlockReader + 'a> DeltaEntryIter<'a, R> {
    /// This scan as a stream of entries (values not read).
    pub fn into_stream(self) -> DeltaEntryStream<'a, R> {
        StepStream::new(self, next_entry)
    }

    /// This scan as a stream of entries with their values, read as
    /// [`DeltaEntryIter::load_value`] does (the value area once, in large runs).
    pub fn into_value_stream(self) -> DeltaValueStream<'a, R> {
        let scan = ValueScan {
            iter: self,
            failed: false,
        };
        StepStream::new(scan, next_with_value)
    }
}

type Stepped<'a, S, T> = BoxFuture<'a, (S, Option<T>)>;

fn next_entry<'a, R: BlockReader + 'a>(
    mut iter: DeltaEntryIter<'a, R>,
) -> Stepped<'a, DeltaEntryIter<'a, R>, Result<DeltaEntry, Error>> {
    Box::pin(async move {
        let item = iter.next().await;
        (iter, item)
    })
}

fn next_with_value<'a, R: BlockReader + 'a>(
    mut scan: ValueScan<'a, R>,
) -> Stepped<'a, ValueScan<'a, R>, Result<(DeltaEntry, Value), Error>> {
    Box::pin(async move {
        if scan.failed {
            return (scan, None);
        }
        let item = match scan.iter.next().await {
            None => None,
            Some(Err(e)) => Some(Err(e)),
            Some(Ok(entry)) => match scan.iter.load_value(&entry).await {
                Ok(value) => Some(Ok((entry, value))),
                Err(e) => {
                    scan.failed = true;
                    Some(Err(e))
                }
            },
        };
        (scan, item)
    })
}
