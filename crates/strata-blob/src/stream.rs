//! [`StepStream`]: a [`futures_core::Stream`] over any state with an async step, for the
//! async iterators of the crates above (a layer's entry iterator, its scans).
//!
//! Those iterators have an `async fn next(&mut self)`; a `Stream` must keep the step in flight
//! between polls, which a value borrowing the iterator it lives in cannot do. So the stream
//! owns the state and moves it into each step's future, getting it back with the item: one
//! boxed future per item, no `unsafe`.
//!
//! Invariants:
//! * Items come in the order the steps give them; the first step that gives `None` ends the
//!   stream for good (it is fused: every later poll gives `None`).
//! * A dropped stream drops its state, or the step in flight with the state inside it.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::{FusedStream, Stream};

use crate::dyn_reader::BoxFuture;

/// One step of a [`StepStream`]: takes the state, gives it back with the next item (`None`
/// at the end).
pub type Step<'a, S, T> = fn(S) -> BoxFuture<'a, (S, Option<T>)>;

/// A stream over the state `S`, advanced by a [`Step`]; see the module docs.
pub struct StepStream<'a, S, T> {
    state: Option<S>,
    step: Step<'a, S, T>,
    in_flight: Option<BoxFuture<'a, (S, Option<T>)>>,
}

impl<'a, S, T> StepStream<'a, S, T> {
    /// A stream starting from `state`.
    pub fn new(state: S, step: Step<'a, S, T>) -> StepStream<'a, S, T> {
        StepStream {
            state: Some(state),
            step,
            in_flight: None,
        }
    }

    /// The state back, unless the stream has ended or a step is in flight (a poll returned
    /// `Pending` and the stream was not polled to the item since).
    pub fn into_inner(self) -> Option<S> {
        self.state
    }
}

// The state is never pinned: it moves into each step's (boxed) future and back.
impl<S, T> Unpin for StepStream<'_, S, T> {}

impl<S, T> Stream for StepStream<'_, S, T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        if this.in_flight.is_none() {
            let Some(state) = this.state.take() else {
                return Poll::Ready(None);
            };
            this.in_flight = Some((this.step)(state));
        }
        let Some(fut) = this.in_flight.as_mut() else {
            return Poll::Ready(None);
        };
        let (state, item) = match fut.as_mut().poll(cx) {
            Poll::Ready(out) => out,
            Poll::Pending => return Poll::Pending,
        };
        this.in_flight = None;
        if item.is_some() {
            this.state = Some(state);
        }
        Poll::Ready(item)
    }
}

impl<S, T> FusedStream for StepStream<'_, S, T> {
    fn is_terminated(&self) -> bool {
        self.state.is_none() && self.in_flight.is_none()
    }
}

impl<S, T> fmt::Debug for StepStream<'_, S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StepStream")
            .field("in_flight", &self.in_flight.is_some())
            .field("ended", &self.is_terminated())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    fn count_to_three(n: u32) -> BoxFuture<'static, (u32, Option<u32>)> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            (n + 1, (n < 3).then_some(n))
        })
    }

    #[tokio::test]
    async fn yields_each_step_then_ends_for_good() {
        let mut stream = StepStream::new(0u32, count_to_three);
        assert!(!stream.is_terminated());
        let got: Vec<u32> = (&mut stream).collect().await;
        assert_eq!(got, [0, 1, 2]);
        assert!(stream.is_terminated());
        assert_eq!(stream.next().await, None);
        assert!(stream.into_inner().is_none());

        let mut stream = StepStream::new(1u32, count_to_three);
        assert_eq!(stream.next().await, Some(1));
        assert_eq!(stream.into_inner(), Some(2));
        assert!(format!("{:?}", StepStream::new(0u32, count_to_three)).contains("ended: false"));
        assert_eq!(StepStream::new(5u32, count_to_three).next().await, None);
        assert_eq!(StepStream::new(0u32, count_to_three).count().await, 3);
        assert!(StepStream::new(0u32, count_to_three).into_inner().is_some());
        // A stream over a `Send` state is `Send` (a compile-time check).
        fn assert_send<S: Send>(_: &S) {}
        assert_send(&StepStream::new(0u32, count_to_three));
    }
}
