//! The errors of timeline reads ([`Error`]) and of redo ([`RedoError`]).
//!
//! Invariants:
//! * Every error caused by a layer names the layer file ([`Error::layer`]); a layer's I/O
//!   errors stay I/O ([`Error::LayerIo`]) and its corruption stays corruption
//!   ([`Error::Corrupt`]), whichever lower crate found it, so `matches!(e, Error::Corrupt(_))`
//!   holds for every problem in the bytes.
//! * Where Neon panics (TIMELINE.md 4.5, 5) the error is a typed variant, never a panic.
//! * [`RedoError`] is the error of the [`Redo`](crate::Redo) boundary, so that a caller's own
//!   redo backend can return it; [`Error::Redo`] carries it with the key and LSN.

use std::fmt;
use std::io;
use std::sync::Arc;

use strata_key::{Key, Lsn};

use crate::history::{PageHistory, Visit};

/// An error of opening or reading a timeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The operating system reported an I/O error outside any layer file (listing the
    /// directory, reading `metadata`, removing a leftover).
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A layer file could not be read (missing, unreadable): the layer is named.
    #[error("layer {layer}: {source}")]
    LayerIo {
        /// The layer's file name.
        layer: String,
        /// What the operating system said.
        source: io::Error,
    },
    /// Bytes on disk break a rule: a layer file (named), or the `metadata` file.
    #[error(transparent)]
    Corrupt(Corruption),
    /// The directory holds files that are neither layers nor known leftovers (TIMELINE.md
    /// 1.2 rule 7). Neon's load fails the same way.
    #[error("unrecognized files in timeline dir (total {}), first 10: {:?}", .names.len(), .names.iter().take(10).collect::<Vec<_>>())]
    UnknownFiles {
        /// Every unknown name, sorted.
        names: Vec<String>,
    },
    /// A request at LSN 0, or at an LSN whose `L + 1` does not fit (TIMELINE.md 5.12, 5.14).
    #[error("invalid request LSN {0}")]
    InvalidLsn(Lsn),
    /// The key has no history at the LSN (TIMELINE.md 3.5: an image layer covering the key
    /// lacks it, or no layer and no ancestor holds more of it).
    #[error("could not find data for key {key} at LSN {lsn}, for request at LSN {request_lsn}{}", Traversal(.traversal))]
    KeyNotFound {
        /// The key asked for.
        key: Key,
        /// Where the traversal stopped.
        lsn: Lsn,
        /// The LSN asked for.
        request_lsn: Lsn,
        /// The layers visited, in order.
        traversal: Vec<Visit>,
    },
    /// The traversal could not make progress (TIMELINE.md 3.5: e.g. a non-inherited key
    /// missing on a branch).
    #[error("could not find layer with more data for key {key} at LSN {lsn}, request LSN {request_lsn}, ancestor {ancestor_lsn}{}", Traversal(.traversal))]
    NoProgress {
        /// The key asked for.
        key: Key,
        /// `cont - 1` when the loop stopped.
        lsn: Lsn,
        /// The LSN asked for.
        request_lsn: Lsn,
        /// The ancestor LSN of the timeline being read (0 for a root).
        ancestor_lsn: Lsn,
        /// The layers visited, in order.
        traversal: Vec<Visit>,
    },
    /// Records were found but neither a base image nor a will_init record (TIMELINE.md 3.7).
    #[error("base image for {key} at {lsn} not found, but got {n_records} WAL records")]
    BaseImageMissing {
        /// The key asked for.
        key: Key,
        /// The LSN asked for.
        lsn: Lsn,
        /// How many records were collected.
        n_records: usize,
    },
    /// The history holds Postgres records and no Postgres redo backend was given. The
    /// collected history is handed back so the caller can run its own redo.
    #[error("page {key} at {lsn} needs Postgres redo of {} records", .history.records.len())]
    NeedsPostgres {
        /// The key asked for.
        key: Key,
        /// The LSN asked for.
        lsn: Lsn,
        /// The image and the records, oldest first.
        history: Box<PageHistory>,
    },
    /// Redo failed.
    #[error("redo of {key} at {lsn}: {source}")]
    Redo {
        /// The key asked for.
        key: Key,
        /// The LSN asked for.
        lsn: Lsn,
        /// Why.
        source: RedoError,
    },
    /// A vectored read was asked for more keys than [`crate::TimelineOptions::max_get_pages_keys`].
    #[error("get_pages over {n_keys} keys, more than the limit of {max}")]
    TooManyKeys {
        /// Keys asked for (counted up to `max + 1`).
        n_keys: usize,
        /// The limit.
        max: usize,
    },
    /// A layer with the same identity (key range, LSN range, kind) is already in the map.
    #[error("layer {0} is already in the timeline")]
    DuplicateLayer(String),
    /// A layer to replace is not in the map.
    #[error("layer {0} is not in the timeline")]
    NoSuchLayer(String),
    /// The traversal asked a layer for keys or LSNs outside it (TIMELINE.md 3.2's checks;
    /// means the layer map and the layer disagree).
    #[error("layer {layer} asked for key {key} in LSNs {lo}..{hi}, outside its ranges")]
    ReadOutOfRange {
        /// The layer's name.
        layer: String,
        /// The key.
        key: Key,
        /// Start of the LSN range asked.
        lo: Lsn,
        /// End of the LSN range asked.
        hi: Lsn,
    },
    /// A layer kind this build cannot read yet.
    #[error("layer {layer}: {what}")]
    Unsupported {
        /// The layer's file name.
        layer: String,
        /// What is missing.
        what: &'static str,
    },
    /// The ancestor timeline named by `metadata` cannot serve reads up to the branch point.
    #[error("ancestor timeline {ancestor}: {what}")]
    Ancestor {
        /// The ancestor's directory name.
        ancestor: String,
        /// What is wrong.
        what: String,
    },
}

/// Something wrong in bytes on disk.
#[derive(Debug, Clone)]
pub struct Corruption {
    /// The layer file at fault, or `None` for the `metadata` file.
    pub layer: Option<String>,
    /// What is wrong.
    pub kind: CorruptionKind,
}

/// What is wrong, by source.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CorruptionKind {
    /// The delta layer reader refused the file (its summary disagrees with the name, a bad
    /// index, a bad blob, ...).
    Delta(Arc<strata_delta::Error>),
    /// The image layer reader refused the file.
    Image(Arc<strata_image::Error>),
    /// The layer's summary names other ids or ranges than its file name and directory.
    SummaryMismatch {
        /// What the name and directory say.
        expected: String,
        /// What the file says.
        actual: String,
    },
    /// The `metadata` file (TIMELINE.md 1.5) is malformed.
    Metadata(String),
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.layer {
            Some(layer) => write!(f, "layer {layer}: ")?,
            None => write!(f, "metadata: ")?,
        }
        match &self.kind {
            CorruptionKind::Delta(e) => write!(f, "{e}"),
            CorruptionKind::Image(e) => write!(f, "{e}"),
            CorruptionKind::SummaryMismatch { expected, actual } => write!(
                f,
                "in-file summary does not match expected summary. actual = {actual} expected = {expected}"
            ),
            CorruptionKind::Metadata(what) => write!(f, "{what}"),
        }
    }
}

impl std::error::Error for Corruption {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            CorruptionKind::Delta(e) => Some(&**e),
            CorruptionKind::Image(e) => Some(&**e),
            _ => None,
        }
    }
}

impl Error {
    /// Maps a delta layer error of `layer`: I/O stays I/O, everything else is corruption of
    /// that layer.
    pub(crate) fn from_delta(layer: &str, e: strata_delta::Error) -> Error {
        match e {
            strata_delta::Error::Io(source) => Error::LayerIo {
                layer: layer.to_owned(),
                source,
            },
            other => Error::Corrupt(Corruption {
                layer: Some(layer.to_owned()),
                kind: CorruptionKind::Delta(Arc::new(other)),
            }),
        }
    }

    /// Maps an image layer error of `layer` as [`Error::from_delta`] does.
    pub(crate) fn from_image(layer: &str, e: strata_image::Error) -> Error {
        match e {
            strata_image::Error::Io(source) => Error::LayerIo {
                layer: layer.to_owned(),
                source,
            },
            other => Error::Corrupt(Corruption {
                layer: Some(layer.to_owned()),
                kind: CorruptionKind::Image(Arc::new(other)),
            }),
        }
    }

    /// The layer file this error is about, if any.
    pub fn layer(&self) -> Option<&str> {
        match self {
            Error::LayerIo { layer, .. }
            | Error::Unsupported { layer, .. }
            | Error::ReadOutOfRange { layer, .. } => Some(layer),
            Error::Corrupt(c) => c.layer.as_deref(),
            _ => None,
        }
    }
}

/// The traversal as context lines, Neon's `layer traversal: ...` form.
struct Traversal<'a>(&'a [Visit]);

impl fmt::Display for Traversal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for visit in self.0 {
            write!(f, "\n{visit}")?;
        }
        Ok(())
    }
}

/// Why redo could not make a page (TIMELINE.md 4.1, 4.5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedoError {
    /// Redo was asked with no records.
    #[error("invalid WAL redo request with no records")]
    NoRecords,
    /// A run of Neon records has no page to start from.
    #[error("invalid neon WAL redo request with no base image")]
    NoBaseImage,
    /// A run of Postgres records and no Postgres backend.
    #[error("{n_records} Postgres records need a Postgres redo backend")]
    NeedsPostgres {
        /// Records in the run.
        n_records: usize,
    },
    /// A record was applied to a key of the wrong kind.
    #[error("{record} record applied to key {key}, which is not {expected}")]
    WrongKey {
        /// The record's kind.
        record: &'static str,
        /// The key.
        key: Key,
        /// What the key should be.
        expected: &'static str,
    },
    /// A record names a block other than the key's (Neon asserts).
    #[error("{record} record for {what} does not belong to key {key}")]
    BlockMismatch {
        /// The record's kind.
        record: &'static str,
        /// The xid, heap block or offset.
        what: String,
        /// The key.
        key: Key,
    },
    /// The page is too short for the bytes the record changes.
    #[error("{record} record changes byte {offset} of a {len}-byte page")]
    PageTooShort {
        /// The record's kind.
        record: &'static str,
        /// The byte changed.
        offset: usize,
        /// The page's length.
        len: usize,
    },
    /// A Postgres run's base image is not exactly 8192 bytes (Neon asserts).
    #[error("Postgres redo base image of {0} bytes, not 8192")]
    BasePageLength(usize),
    /// An arithmetic overflow Neon would panic on (e.g. a member offset past `u32::MAX`).
    #[error("{0} record: arithmetic overflow")]
    Overflow(&'static str),
    /// The AUX directory page does not decode.
    #[error("AUX file directory: {0}")]
    AuxDirectory(String),
    /// The caller's backend failed.
    #[error("redo backend: {0}")]
    Backend(String),
}
