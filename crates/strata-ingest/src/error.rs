//! The errors of import and ingest.
//!
//! Invariants: every error caused by the bytes of a data directory, a WAL stream or a timeline
//! is [`Error::Corrupt`] (or a lower crate's corruption, wrapped); operating-system failures are
//! [`Error::Io`] with the path involved where one is known. Nothing here panics on bad input.

use std::io;
use std::path::PathBuf;

use strata_key::Lsn;

/// An error of [`crate::import_datadir`], [`crate::ingest_wal`] or their parsers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The operating system reported an I/O error.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// An I/O error on a named file.
    #[error("{}: {source}", .path.display())]
    FileIo {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Bytes that break a rule of the format they claim to be (the message says which).
    #[error("corrupt: {0}")]
    Corrupt(String),
    /// `global/pg_control`'s CRC-32C does not match its contents.
    #[error("pg_control CRC mismatch: stored {stored:08x}, computed {computed:08x}")]
    ControlCrc {
        /// The CRC stored at offset 288.
        stored: u32,
        /// The CRC of bytes 0..288.
        computed: u32,
    },
    /// The cluster was not shut down cleanly (pg_control's state is not `SHUTDOWNED`).
    #[error("the PostgreSQL cluster was not shut down cleanly (pg_control state {state})")]
    NotShutDown {
        /// The state stored in pg_control.
        state: u32,
    },
    /// The latest checkpoint's REDO pointer is not the checkpoint record itself.
    #[error("unexpected checkpoint REDO pointer {redo} (checkpoint record at {checkpoint})")]
    RedoMismatch {
        /// `checkPointCopy.redo`.
        redo: Lsn,
        /// `checkPoint`.
        checkpoint: Lsn,
    },
    /// A data directory file the import cannot handle (a tablespace, say).
    #[error("cannot import {path}: {reason}")]
    Unsupported {
        /// The path relative to PGDATA.
        path: String,
        /// Why.
        reason: &'static str,
    },
    /// The import's target directory already holds a timeline.
    #[error("{} already holds layers or metadata; import needs an empty directory", .0.display())]
    NotEmpty(PathBuf),
    /// Ingest was pointed at a directory with no completed import.
    #[error("{} holds no completed import (no metadata file or no image layer)", .0.display())]
    NoImport(PathBuf),
    /// A WAL record that the ingest mapping cannot apply (a relation created twice, say).
    #[error("WAL record at {lsn}: {message}")]
    Record {
        /// The record's start LSN.
        lsn: Lsn,
        /// What was wrong.
        message: String,
    },
    /// The WAL decoder rejected its options or start.
    #[error("WAL: {0}")]
    Wal(#[from] strata_wal::Error),
    /// WAL ended with an error before `--until` was reached, or a segment is missing.
    #[error("WAL ends at {at} ({reason}) before the requested LSN {until}")]
    WalEnded {
        /// Where valid WAL ends.
        at: Lsn,
        /// PostgreSQL's wording of why.
        reason: String,
        /// The LSN asked for.
        until: Lsn,
    },
    /// Writing a delta layer failed.
    #[error("delta layer: {0}")]
    Delta(#[from] strata_delta::Error),
    /// Writing an image layer failed.
    #[error("image layer: {0}")]
    Image(#[from] strata_image::Error),
    /// The timeline failed to open, read or take a layer.
    #[error("timeline: {0}")]
    Timeline(#[from] strata_timeline::Error),
}

impl Error {
    /// A [`Error::Corrupt`] with `message`.
    pub(crate) fn corrupt(message: impl Into<String>) -> Error {
        Error::Corrupt(message.into())
    }

    /// An I/O error on `path`.
    pub(crate) fn file(path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::FileIo {
            path: path.into(),
            source,
        }
    }
}
