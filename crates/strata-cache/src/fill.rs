//! What tasks waiting on another task's fill receive when that fill fails.
//!
//! [`strata_blob::Error`] is not `Clone` (`io::Error` is not), so the filler keeps its own error
//! and every waiter gets a copy rebuilt from a [`FillFailure`]:
//! * `Corrupt(c)` is copied exactly (a [`Corruption`] is plain data), as are `CacheFull`,
//!   `BlobTooLarge`, `Poisoned` and `OutOfRange`.
//! * An OS error (`io::Error` with a raw OS code) is rebuilt from its code: same kind, same code,
//!   same message.
//! * Any other `io::Error` is rebuilt with the same [`io::ErrorKind`] and a
//!   [`ConcurrentFillError`] holding the original's message and saying where it came from.
//! * A variant this crate does not know (the enum is non-exhaustive) is not copied: waiters retry
//!   the read instead, as they do when the filler is cancelled.
//!
//! Waiters find a fill's [`FillWaiters`] in its `Filling` entry. The channel to them is made by
//! the first waiter, so a miss that nobody waits for (the usual case) makes no channel and wakes
//! nobody when it ends.
//!
//! Invariant: a waiter never receives a block from a failed fill and never an error of a different
//! kind than the filler's (`Corrupt` stays `Corrupt`, `Io` stays `Io` of the same kind).

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use strata_blob::{Block, Corruption, Error};
use tokio::sync::watch;

/// What a fill publishes to its waiters.
pub(crate) type FillOutcome = Result<Block, FillFailure>;

/// The channel a fill publishes its outcome on, made by its first waiter.
///
/// Its lock is a leaf: a joining reader takes it under the page's shard lock (so every waiter
/// has subscribed before the filler replaces the `Filling` entry, under that same shard lock),
/// and the filler takes it holding no lock, after the mapping is updated. Neither runs foreign
/// code under it.
#[derive(Debug, Default)]
pub(crate) struct FillWaiters(Mutex<Option<watch::Sender<Option<FillOutcome>>>>);

impl FillWaiters {
    /// A receiver of the fill's outcome (`None` until it is published), making the channel if
    /// this is the first waiter.
    pub(crate) fn subscribe(&self) -> watch::Receiver<Option<FillOutcome>> {
        let mut tx = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        tx.get_or_insert_with(|| watch::channel(None).0).subscribe()
    }

    /// The channel, if any task waits: the filler sends its outcome on it, or drops it unsent
    /// (cancelled), which wakes the waiters to start over.
    pub(crate) fn take(&self) -> Option<watch::Sender<Option<FillOutcome>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// A copyable description of a failed fill's error.
#[derive(Debug, Clone)]
pub(crate) enum FillFailure {
    Corrupt(Corruption),
    Os(i32),
    Io {
        kind: io::ErrorKind,
        message: Arc<str>,
    },
    CacheFull {
        n_slots: usize,
    },
    BlobTooLarge(u64),
    Poisoned,
    OutOfRange {
        offset: u64,
        start: u64,
        end: u64,
    },
    /// Not copyable: waiters read the block themselves.
    Retry,
}

/// The error a waiter gets for a concurrent fill's `io::Error` that has no OS error code.
#[derive(Debug, Clone)]
pub struct ConcurrentFillError {
    message: Arc<str>,
}

impl ConcurrentFillError {
    /// The message of the original error (as the task that did the read saw it).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConcurrentFillError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (reported by a concurrent read of the same block)",
            self.message
        )
    }
}

impl std::error::Error for ConcurrentFillError {}

impl FillFailure {
    /// Describes `err` for the waiters of the fill that failed with it.
    pub(crate) fn of(err: &Error) -> FillFailure {
        match err {
            Error::Corrupt(c) => FillFailure::Corrupt(c.clone()),
            Error::Io(e) => match e.raw_os_error() {
                Some(code) => FillFailure::Os(code),
                None => FillFailure::Io {
                    kind: e.kind(),
                    message: e.to_string().into(),
                },
            },
            Error::CacheFull { n_slots } => FillFailure::CacheFull { n_slots: *n_slots },
            Error::BlobTooLarge(len) => FillFailure::BlobTooLarge(*len),
            Error::Poisoned => FillFailure::Poisoned,
            Error::OutOfRange { offset, start, end } => FillFailure::OutOfRange {
                offset: *offset,
                start: *start,
                end: *end,
            },
            _ => FillFailure::Retry,
        }
    }

    /// The waiter's copy of the error, or `None` for [`FillFailure::Retry`].
    pub(crate) fn to_error(&self) -> Option<Error> {
        Some(match self {
            FillFailure::Corrupt(c) => Error::Corrupt(c.clone()),
            FillFailure::Os(code) => Error::Io(io::Error::from_raw_os_error(*code)),
            FillFailure::Io { kind, message } => Error::Io(io::Error::new(
                *kind,
                ConcurrentFillError {
                    message: Arc::clone(message),
                },
            )),
            FillFailure::CacheFull { n_slots } => Error::CacheFull { n_slots: *n_slots },
            FillFailure::BlobTooLarge(len) => Error::BlobTooLarge(*len),
            FillFailure::Poisoned => Error::Poisoned,
            FillFailure::OutOfRange { offset, start, end } => Error::OutOfRange {
                offset: *offset,
                start: *start,
                end: *end,
            },
            FillFailure::Retry => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use strata_blob::BlockNo;

    use super::*;

    fn roundtrip(err: &Error) -> Error {
        FillFailure::of(err).to_error().expect("copyable")
    }

    #[test]
    fn corrupt_is_copied_exactly() {
        let c = Corruption::BlockPastEnd {
            blkno: BlockNo(9),
            n_blocks: 3,
        };
        let copy = roundtrip(&Error::Corrupt(c.clone()));
        assert!(matches!(copy, Error::Corrupt(ref got) if *got == c));
    }

    #[test]
    fn os_error_keeps_its_code_and_kind() {
        let orig = io::Error::from_raw_os_error(5); // EIO
        let copy = roundtrip(&Error::Io(io::Error::from_raw_os_error(5)));
        let Error::Io(copy) = copy else {
            panic!("not Io: {copy:?}")
        };
        assert_eq!(copy.raw_os_error(), Some(5));
        assert_eq!(copy.kind(), orig.kind());
    }

    #[test]
    fn custom_io_error_keeps_kind_and_message() {
        let err = Error::Io(io::Error::new(io::ErrorKind::UnexpectedEof, "short read"));
        let Error::Io(copy) = roundtrip(&err) else {
            panic!("not Io")
        };
        assert_eq!(copy.kind(), io::ErrorKind::UnexpectedEof);
        let inner = copy
            .get_ref()
            .and_then(|e| e.downcast_ref::<ConcurrentFillError>())
            .expect("ConcurrentFillError inside");
        assert_eq!(inner.message(), "short read");
        assert!(copy.to_string().contains("short read"));
    }

    #[test]
    fn plain_variants_are_copied() {
        assert!(matches!(
            roundtrip(&Error::CacheFull { n_slots: 4 }),
            Error::CacheFull { n_slots: 4 }
        ));
        assert!(matches!(
            roundtrip(&Error::BlobTooLarge(7)),
            Error::BlobTooLarge(7)
        ));
        assert!(matches!(roundtrip(&Error::Poisoned), Error::Poisoned));
        assert!(matches!(
            roundtrip(&Error::OutOfRange {
                offset: 1,
                start: 2,
                end: 3
            }),
            Error::OutOfRange {
                offset: 1,
                start: 2,
                end: 3
            }
        ));
    }
}
