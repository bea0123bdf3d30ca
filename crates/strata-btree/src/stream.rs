//! [`BtreeIter::into_stream`]: a scan of the tree as a `futures_core::Stream` of
//! `(key, value)` results, for callers that use stream adapters.
//!
//! It is strata-blob's [`StepStream`] over the iterator (one boxed future per item; the
//! iterator's `next` borrows it, so it cannot be a `Stream` itself).
//!
//! Invariants: items are exactly the iterator's, in its order and with its checks; an error is
//! an `Err` item, and the stream ends after it.

use strata_blob::{BlockReader, BoxFuture, StepStream};

use crate::error::Error;
use crate::reader::BtreeIter;

/// A scan's stream, from [`BtreeIter::into_stream`].
pub type BtreeStream<'a, R, const L: usize> =
    StepStream<'a, BtreeIter<'a, R, L>, Result<([u8; L], u64), Error>>;

impl<'a, R: BlockReader + 'a, const L: usize> BtreeIter<'a, R, L> {
    /// This scan as a stream.
    pub fn into_stream(self) -> BtreeStream<'a, R, L> {
        StepStream::new(self, next_entry)
    }
}

type Item<const L: usize> = Result<([u8; L], u64), Error>;

fn next_entry<'a, R: BlockReader + 'a, const L: usize>(
    mut iter: BtreeIter<'a, R, L>,
) -> BoxFuture<'a, (BtreeIter<'a, R, L>, Option<Item<L>>)> {
    Box::pin(async move {
        let item = iter.next().await;
        (iter, item)
    })
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use futures_util::{StreamExt, TryStreamExt};
    use strata_blob::{BlockBuf, MemBlockReader};

    use crate::reader::{DiskBtreeReader, VisitDirection};
    use crate::writer::DiskBtreeBuilder;

    #[tokio::test]
    async fn stream_equals_the_iterator_and_ends_after_an_error() {
        let mut builder = DiskBtreeBuilder::<_, 4>::new(BlockBuf::new());
        for i in 0..5000u32 {
            builder.append(&i.to_be_bytes(), u64::from(i) * 3).unwrap();
        }
        let (root, buf) = builder.finish().unwrap();
        let reader = buf.into_reader();
        let tree = DiskBtreeReader::<_, 4>::new(0, root, reader.clone());
        let from = 100u32.to_be_bytes();
        let mut want = Vec::new();
        let mut iter = tree.iter(&from, VisitDirection::Forwards);
        while let Some(e) = iter.next().await {
            want.push(e.unwrap());
        }
        assert_eq!(want.len(), 4900);
        let stream = tree.iter(&from, VisitDirection::Forwards).into_stream();
        let got: Vec<([u8; 4], u64)> = stream.try_collect().await.unwrap();
        assert_eq!(got, want);
        let odd: Vec<_> = tree
            .iter(&from, VisitDirection::Backwards)
            .into_stream()
            .try_filter(|(_, v)| std::future::ready(v % 2 == 1))
            .take(3)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(
            odd,
            [
                (99u32.to_be_bytes(), 297),
                (97u32.to_be_bytes(), 291),
                (95u32.to_be_bytes(), 285)
            ]
        );

        // A root past the end of the blocks: one error item, then the end.
        let bad = DiskBtreeReader::<_, 4>::new(0, 0, MemBlockReader::default());
        let mut stream = bad.iter(&from, VisitDirection::Forwards).into_stream();
        assert!(stream.next().await.unwrap().is_err());
        assert!(stream.next().await.is_none());
    }
}
