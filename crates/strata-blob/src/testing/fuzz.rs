//! Entry points shared by the fuzz targets (`fuzz/fuzz_targets/blob_read.rs`) and this
//! crate's property tests, so whatever the fuzzer explores is also run by `cargo test`.
//!
//! Invariant: every function here bounds its allocations by its input's length (plus
//! [`FUZZ_MAX_DECOMPRESSED_LEN`]) and panics only when two readers of the same bytes disagree,
//! which is the bug the fuzzer looks for.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use crate::block::{MemBlockReader, PAGE_SIZE};
use crate::error::Error;
use crate::format::{BlobReadOptions, BlobSpan, HeaderMode, decode_blob};
use crate::reader::read_blob_with;
use crate::run::read_run_with;

/// Largest decompressed payload the fuzz entry points accept.
pub const FUZZ_MAX_DECOMPRESSED_LEN: u64 = 1 << 20;

/// Reads the blob at `offset` of `file` (as whole blocks: a partial last block is dropped, as
/// a file reader would) three ways: block by block ([`read_blob_with`] over a
/// [`MemBlockReader`]), from a run ([`read_run_with`] + [`BlobRun::blob_span_at`]), and
/// straight from the slice ([`decode_blob`]). Returns the payload and its span, or the error.
///
/// # Panics
///
/// When the three readings disagree (on the payload, the span, or the error).
///
/// [`BlobRun::blob_span_at`]: crate::BlobRun::blob_span_at
pub fn blob_read(
    file: &[u8],
    offset: u64,
    limit: u64,
    mode: HeaderMode,
) -> Result<(BlobSpan, Vec<u8>), Error> {
    let opts = BlobReadOptions {
        mode,
        max_decompressed_len: FUZZ_MAX_DECOMPRESSED_LEN,
    };
    let whole = file
        .get(..file.len() / PAGE_SIZE * PAGE_SIZE)
        .unwrap_or_default();
    let reader = MemBlockReader::from_bytes(whole);

    let mut buf = Vec::new();
    let by_blocks = now(read_blob_with(&reader, offset, limit, &mut buf, &opts)).map(|s| (s, buf));
    let by_slice = decode_blob(whole, 0, offset, limit, &opts).map(|(s, p)| (s, p.into_owned()));
    assert_same(&by_blocks, &by_slice, "block reader vs slice");

    let run_end = limit.min(whole.len() as u64);
    if offset < run_end {
        let by_run = now(read_run_with(&reader, offset, run_end, &opts))
            .and_then(|run| run.blob_span_at(offset).map(|(s, p)| (s, p.into_owned())));
        assert_same(&by_blocks, &by_run, "block reader vs run");
    }
    by_blocks
}

fn assert_same(
    a: &Result<(BlobSpan, Vec<u8>), Error>,
    b: &Result<(BlobSpan, Vec<u8>), Error>,
    what: &str,
) {
    match (a, b) {
        (Ok(a), Ok(b)) => assert!(a == b, "{what}: different blobs {:?} / {:?}", a.0, b.0),
        (Err(Error::Corrupt(a)), Err(Error::Corrupt(b))) => assert_eq!(a, b, "{what}"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{what}"),
        (a, b) => panic!("{what}: {:?} / {:?}", a.as_ref().err(), b.as_ref().err()),
    }
}

/// Runs a future that never waits (reads from memory) to completion.
fn now<F: Future>(fut: F) -> F::Output {
    poll_ready(fut).unwrap_or_else(|| panic!("a read from memory waited"))
}

/// Polls `fut` once; `None` if it is not ready (in-memory reads always are). The one copy of
/// this helper: the fuzz oracles of strata-btree and strata-delta re-export it.
pub fn poll_ready<F: Future>(fut: F) -> Option<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(fut).poll(&mut cx) {
        Poll::Ready(out) => Some(out),
        Poll::Pending => None,
    }
}

/// A fuzz oracle's check that failed: what was expected and what happened. The one type the
/// oracles of every crate return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch(pub String);

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Mismatch {}
