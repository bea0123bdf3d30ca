//! File-system calls made from async code without blocking a runtime's worker thread:
//! [`run_blocking`], and [`open_table_file`] (what a layer's `open` does before it reads).
//!
//! Inside a tokio **multi-thread** runtime the call goes to the blocking pool
//! (`spawn_blocking`): an `open` or `stat` on a slow or remote file system would otherwise
//! stall a worker and every task queued on it. Anywhere else it runs inline:
//! * outside tokio (another executor, or none) there is no blocking pool to hand it to;
//! * on a **current-thread** runtime the caller is a single-task program (a CLI, a test, a
//!   doc example) driving one future to completion; the hop to another thread and back costs
//!   more than an `open` of a local file and lets nothing else run that matters.
//!
//! Block *reads* are not offloaded: they are synchronous `pread`s through the page cache
//! (reasons in `file.rs`), so a cache miss blocks its thread for one read. Size the runtime
//! for it: a worker per core serves hits, and the misses in flight at once (at most one per
//! concurrent reader) each hold a worker for one disk read.
//!
//! Invariant: the closure runs exactly once, or not at all only when the runtime shut down
//! before it started ([`Error::Shutdown`]); a panic in it resumes in the caller.

use std::path::Path;

use tokio::runtime::{Handle, RuntimeFlavor};

use crate::error::Error;
use crate::file_table::{FileTable, TableFile};

/// Runs `f` on the blocking pool inside a tokio multi-thread runtime, inline otherwise (see
/// the module docs).
pub async fn run_blocking<T, F>(f: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, Error> + Send + 'static,
{
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            match handle.spawn_blocking(f).await {
                Ok(res) => res,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => Err(Error::Shutdown),
            }
        }
        _ => f(),
    }
}

/// Opens `path` through `files` and reads its length in bytes, through [`run_blocking`].
pub async fn open_table_file(files: &FileTable, path: &Path) -> Result<(TableFile, u64), Error> {
    let (files, path) = (files.clone(), path.to_path_buf());
    run_blocking(move || {
        let file = files.open(&path)?;
        let len = std::fs::metadata(&path)?.len();
        Ok((file, len))
    })
    .await
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use std::thread;

    use super::*;
    use crate::block::{BlockNo, BlockReader, PAGE_SIZE};

    /// Whether the closure ran on the calling thread.
    async fn ran_inline() -> bool {
        let caller = thread::current().id();
        run_blocking(move || Ok(thread::current().id() == caller))
            .await
            .unwrap()
    }

    #[test]
    fn offloads_only_on_a_multi_thread_runtime() {
        let multi = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        assert!(!multi.block_on(async { tokio::spawn(ran_inline()).await.unwrap() }));
        let current = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert!(current.block_on(ran_inline()));
        // No runtime at all: a trivial executor (the future never waits).
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut fut = std::pin::pin!(ran_inline());
        assert_eq!(fut.as_mut().poll(&mut cx), std::task::Poll::Ready(true));
    }

    #[test]
    fn errors_and_panics_reach_the_caller() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let err = rt.block_on(async {
            tokio::spawn(run_blocking(|| {
                Err::<(), _>(Error::CacheFull { n_slots: 2 })
            }))
            .await
            .unwrap()
        });
        assert!(matches!(err, Err(Error::CacheFull { n_slots: 2 })));
        let panicked = rt.block_on(async {
            tokio::spawn(run_blocking(|| -> Result<(), Error> { panic!("boom") }))
                .await
                .unwrap_err()
        });
        assert!(panicked.is_panic());
    }

    #[test]
    fn opens_a_table_file_from_both_flavors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![5u8; 2 * PAGE_SIZE + 1]).unwrap();
        let files = FileTable::new(2);
        let open = |files: FileTable, path: std::path::PathBuf| async move {
            let (file, len) = open_table_file(&files, &path).await.unwrap();
            (
                len,
                file.n_blocks(),
                file.read_block(BlockNo(1)).await.unwrap()[0],
            )
        };
        let multi = tokio::runtime::Builder::new_multi_thread().build().unwrap();
        let got = multi.block_on(async { tokio::spawn(open(files.clone(), path.clone())).await });
        assert_eq!(got.unwrap(), (2 * PAGE_SIZE as u64 + 1, 2, 5));
        let current = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(
            current.block_on(open(files.clone(), path.clone())),
            (2 * PAGE_SIZE as u64 + 1, 2, 5)
        );
        let missing = current.block_on(open_table_file(&files, &dir.path().join("none")));
        assert!(matches!(missing, Err(Error::Io(_))));
    }
}
