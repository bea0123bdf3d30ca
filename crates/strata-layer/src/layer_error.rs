//! [`layer_error!`](crate::layer_error): the part of a layer crate's error types both kinds
//! share, written once. Each layer crate (`strata-delta`, `strata-image`) invokes the macro with
//! its own `Error` and `CorruptionKind` variants; the macro adds the variants both kinds have
//! (I/O, corruption, a full page cache, the lower crates' other errors; the block, B-tree and
//! summary corruptions, the expected-summary mismatch, blob order and place), the `Corruption`
//! struct (what was wrong, and in which file), the helpers on `Error`, and the conversions that
//! lift the lower crates' errors.
//!
//! Invariants of the code the macro writes:
//! * a lower crate's `Io` becomes `Error::Io`, its `Corrupt` becomes `Error::Corrupt` (with
//!   `CorruptionKind::Block`, `CorruptionKind::Btree` or `CorruptionKind::Summary`), its
//!   `CacheFull` becomes `Error::CacheFull`, whichever lower crate met it; anything else keeps
//!   its crate's variant (`Error::Blob`, `Error::Btree`);
//! * `Error::in_file` names a file only on a corruption error naming none yet.

/// Writes a layer crate's error types (see the module docs). Invoke it as
///
/// ```text
/// strata_layer::layer_error! {
///     layer: "delta layer",
///     summary: crate::format::Summary,
///     /// An error of a delta layer operation.
///     pub enum Error { /* the kind's own variants */ }
///     /// What was wrong with a layer's bytes, and where.
///     pub enum CorruptionKind { /* the kind's own variants */ }
/// }
/// ```
///
/// where `summary` is the kind's summary type (for `SummaryMismatch`). Besides the two enums it
/// defines `pub struct Corruption { file, kind }` (displayed as `corrupt <layer> <file>:
/// <kind>`), `Error::{is_corrupt, corrupt, corruption, in_file}`, and `From` for
/// `CorruptionKind`, `SummaryProblem`, `strata_blob::Corruption`, `strata_blob::Error` and
/// `strata_btree::Error`.
#[macro_export]
macro_rules! layer_error {
    (
        layer: $layer:literal,
        summary: $summary:ty,
        $(#[$error_meta:meta])*
        pub enum Error { $($error_variants:tt)* }
        $(#[$kind_meta:meta])*
        pub enum CorruptionKind { $($kind_variants:tt)* }
    ) => {
        $(#[$error_meta])*
        #[derive(Debug, ::thiserror::Error)]
        #[non_exhaustive]
        pub enum Error {
            /// The operating system reported an I/O error.
            #[error(transparent)]
            Io(#[from] ::std::io::Error),
            /// The layer's bytes break a rule of the format: see [`Corruption`].
            #[error(transparent)]
            Corrupt(Corruption),
            /// Every slot of the page cache the layer is read through stayed pinned for longer
            /// than the cache's wait, whichever lower crate met it (sizing rule: one slot per
            /// concurrent reader, see `strata-cache`).
            #[error("all {n_slots} page cache slots are pinned")]
            CacheFull {
                /// The cache's number of slots.
                n_slots: usize,
            },
            /// Another error of the blob layer (neither I/O nor corruption), e.g. a blob too
            /// large to write or a poisoned blob writer.
            #[error("blob layer: {0}")]
            Blob(#[source] $crate::__private::strata_blob::Error),
            /// Another error of the B-tree (neither I/O nor corruption), e.g. unsorted keys
            /// given to the builder.
            #[error("B-tree: {0}")]
            Btree(#[source] $crate::__private::strata_btree::Error),
            $($error_variants)*
        }

        $(#[$kind_meta])*
        #[derive(Debug, ::thiserror::Error)]
        #[non_exhaustive]
        pub enum CorruptionKind {
            /// The block layer found the data wrong (a block past the end, a blob running past
            /// its limit, a bad compressed frame, …).
            #[error(transparent)]
            Block($crate::__private::strata_blob::Corruption),
            /// The B-tree index breaks a rule (FORMAT.md section 9 items 7–13).
            #[error(transparent)]
            Btree($crate::__private::strata_btree::Corruption),
            /// A summary rule both layer kinds share (items 1, 2, 3 for the key range, and 5).
            #[error(transparent)]
            Summary($crate::SummaryProblem),
            /// The summary differs from the one the caller expected (item 4; the index fields
            /// are not compared).
            #[error("summary {found:?} differs from the expected {expected:?}")]
            SummaryMismatch {
                /// The expected summary, with the file's index fields.
                expected: Box<$summary>,
                /// The file's summary.
                found: Box<$summary>,
            },
            /// Blob offsets do not increase in key order (item 16), so entry sizes are
            /// undefined.
            #[error("blob offset {next_offset:#x} follows offset {offset:#x} in key order")]
            OffsetsNotIncreasing {
                /// Offset of an entry's blob.
                offset: u64,
                /// Offset of the next entry's blob, not greater.
                next_offset: u64,
            },
            /// A blob offset lies outside the value area `[8192, index_start_blk * 8192)`
            /// (item 15).
            #[error("blob offset {offset:#x} is outside the value area 0x2000..{value_area_end:#x}")]
            BlobOutsideValueArea {
                /// The blob's offset.
                offset: u64,
                /// `index_start_blk * 8192`.
                value_area_end: u64,
            },
            $($kind_variants)*
        }

        /// What was wrong with a layer's bytes, and in which file (when known).
        #[derive(Debug)]
        #[non_exhaustive]
        pub struct Corruption {
            /// The layer file, when the reader was opened from a path.
            pub file: ::std::option::Option<::std::path::PathBuf>,
            /// What was wrong, and where in the file.
            pub kind: CorruptionKind,
        }

        impl Error {
            /// True for [`Error::Corrupt`].
            pub fn is_corrupt(&self) -> bool {
                matches!(self, Error::Corrupt(_))
            }

            /// A corruption error of unknown file.
            pub fn corrupt(kind: CorruptionKind) -> Error {
                Error::Corrupt(Corruption { file: None, kind })
            }

            /// The corruption's kind, if this is [`Error::Corrupt`].
            pub fn corruption(&self) -> ::std::option::Option<&CorruptionKind> {
                match self {
                    Error::Corrupt(c) => Some(&c.kind),
                    _ => None,
                }
            }

            /// Names `path` as the file of a corruption error that names none yet (other
            /// errors are returned unchanged).
            pub fn in_file(self, path: ::std::option::Option<&::std::path::Path>) -> Error {
                match (self, path) {
                    (Error::Corrupt(Corruption { file: None, kind }), Some(path)) => {
                        Error::Corrupt(Corruption {
                            file: Some(path.to_path_buf()),
                            kind,
                        })
                    }
                    (e, _) => e,
                }
            }
        }

        impl ::std::convert::From<CorruptionKind> for Error {
            fn from(kind: CorruptionKind) -> Error {
                Error::corrupt(kind)
            }
        }

        impl ::std::convert::From<$crate::SummaryProblem> for Error {
            fn from(p: $crate::SummaryProblem) -> Error {
                Error::corrupt(CorruptionKind::Summary(p))
            }
        }

        impl ::std::convert::From<$crate::__private::strata_blob::Corruption> for Error {
            fn from(c: $crate::__private::strata_blob::Corruption) -> Error {
                Error::corrupt(CorruptionKind::Block(c))
            }
        }

        impl ::std::convert::From<$crate::__private::strata_blob::Error> for Error {
            fn from(err: $crate::__private::strata_blob::Error) -> Error {
                use $crate::__private::strata_blob::Error as E;
                match err {
                    E::Io(e) => Error::Io(e),
                    E::Corrupt(c) => Error::corrupt(CorruptionKind::Block(c)),
                    E::CacheFull { n_slots } => Error::CacheFull { n_slots },
                    other => Error::Blob(other),
                }
            }
        }

        impl ::std::convert::From<$crate::__private::strata_btree::Error> for Error {
            fn from(err: $crate::__private::strata_btree::Error) -> Error {
                use $crate::__private::strata_btree::Error as E;
                match err {
                    E::Io(e) => Error::Io(e),
                    E::Corrupt(c) => Error::corrupt(CorruptionKind::Btree(c)),
                    E::CacheFull { n_slots } => Error::CacheFull { n_slots },
                    other => Error::Btree(other),
                }
            }
        }

        impl ::std::fmt::Display for Corruption {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match &self.file {
                    Some(path) => write!(
                        f,
                        concat!("corrupt ", $layer, " {}: {}"),
                        path.display(),
                        self.kind
                    ),
                    None => write!(f, concat!("corrupt ", $layer, ": {}"), self.kind),
                }
            }
        }

        impl ::std::error::Error for Corruption {
            fn source(&self) -> ::std::option::Option<&(dyn ::std::error::Error + 'static)> {
                Some(&self.kind)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    crate::layer_error! {
        layer: "test layer",
        summary: u8,
        /// A test layer's error.
        pub enum Error {
            /// A kind's own error.
            #[error("own")]
            Own,
        }
        /// A test layer's corruption.
        pub enum CorruptionKind {
            /// A kind's own corruption.
            #[error("own corruption")]
            OwnCorruption,
        }
    }

    #[test]
    fn lower_errors_lift_into_one_shape() {
        let io: Error = strata_blob::Error::Io(std::io::Error::other("disk")).into();
        assert!(matches!(io, Error::Io(_)));
        let full: Error = strata_btree::Error::CacheFull { n_slots: 3 }.into();
        assert!(matches!(full, Error::CacheFull { n_slots: 3 }));
        let full: Error = strata_blob::Error::CacheFull { n_slots: 4 }.into();
        assert!(matches!(full, Error::CacheFull { n_slots: 4 }));
        let io: Error = strata_btree::Error::Io(std::io::Error::other("disk")).into();
        assert!(matches!(io, Error::Io(_)) && !io.is_corrupt() && io.corruption().is_none());
        let summary: Error = crate::SummaryProblem::FileTooShort { n_blocks: 1 }.into();
        assert!(matches!(
            summary.corruption(),
            Some(CorruptionKind::Summary(_))
        ));
        assert_eq!(Error::Own.to_string(), "own");
    }

    #[test]
    fn shared_corruptions_display() {
        let kinds = [
            CorruptionKind::SummaryMismatch {
                expected: Box::new(1),
                found: Box::new(2),
            },
            CorruptionKind::OffsetsNotIncreasing {
                offset: 0x3000,
                next_offset: 0x2000,
            },
            CorruptionKind::BlobOutsideValueArea {
                offset: 0x10,
                value_area_end: 0x4000,
            },
        ];
        assert_eq!(
            kinds.map(|k| k.to_string()),
            [
                "summary 2 differs from the expected 1",
                "blob offset 0x2000 follows offset 0x3000 in key order",
                "blob offset 0x10 is outside the value area 0x2000..0x4000",
            ]
        );
    }

    #[test]
    fn in_file_names_the_file_once() {
        let e = Error::corrupt(CorruptionKind::OwnCorruption);
        assert!(e.is_corrupt());
        let named = e
            .in_file(Some(Path::new("a")))
            .in_file(Some(Path::new("b")));
        assert_eq!(named.to_string(), "corrupt test layer a: own corruption");
        assert!(matches!(
            named.corruption(),
            Some(CorruptionKind::OwnCorruption)
        ));
        let unnamed = Error::corrupt(CorruptionKind::Block(
            strata_blob::Corruption::BlockPastEnd {
                blkno: strata_blob::BlockNo(7),
                n_blocks: 3,
            },
        ));
        assert!(unnamed.to_string().starts_with("corrupt test layer: "));
    }
}
