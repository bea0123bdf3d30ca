//! [`layer_error!`](crate::layer_error): the part of a layer crate's error type both kinds
//! share, written once. Each layer crate (`strata-delta`, `strata-image`) declares its own
//! `Error` and `CorruptionKind` enums (their variants differ) and invokes the macro, which adds
//! the `Corruption` struct (what was wrong, and in which file), the helpers on `Error`, and the
//! conversions that lift the lower crates' errors.
//!
//! Invariants of the code the macro writes:
//! * a lower crate's `Io` becomes `Error::Io`, its `Corrupt` becomes `Error::Corrupt` (with
//!   `CorruptionKind::Block` or `CorruptionKind::Btree`), its `CacheFull` becomes
//!   `Error::CacheFull`, whichever lower crate met it; anything else keeps its crate's variant
//!   (`Error::Blob`, `Error::Btree`);
//! * [`in_file`](crate::layer_error) names a file only on a corruption error naming none yet.

/// Writes the shared part of a layer crate's error type: invoke it as
/// `strata_layer::layer_error!("delta layer");` in a module that defines
///
/// * `enum Error` with the variants `Io(std::io::Error)`, `Corrupt(Corruption)`,
///   `CacheFull { n_slots: usize }`, `Blob(strata_blob::Error)`, `Btree(strata_btree::Error)`;
/// * `enum CorruptionKind` with the variants `Block(strata_blob::Corruption)` and
///   `Btree(strata_btree::Corruption)` and an `std::fmt::Display` impl.
///
/// It defines `pub struct Corruption { file, kind }` (displayed as
/// `corrupt <layer> <file>: <kind>`), `Error::{is_corrupt, corrupt, corruption, in_file}`,
/// and `From` for `CorruptionKind`, `strata_blob::Corruption`, `strata_blob::Error` and
/// `strata_btree::Error`.
#[macro_export]
macro_rules! layer_error {
    ($layer:literal) => {
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

    /// A minimal layer error, as a layer crate declares it.
    #[derive(Debug, thiserror::Error)]
    pub(super) enum Error {
        #[error(transparent)]
        Io(#[from] std::io::Error),
        #[error(transparent)]
        Corrupt(Corruption),
        #[error("all {n_slots} page cache slots are pinned")]
        CacheFull { n_slots: usize },
        #[error("blob layer: {0}")]
        Blob(#[source] strata_blob::Error),
        #[error("B-tree: {0}")]
        Btree(#[source] strata_btree::Error),
    }

    #[derive(Debug, thiserror::Error)]
    pub(super) enum CorruptionKind {
        #[error(transparent)]
        Block(strata_blob::Corruption),
        #[error(transparent)]
        Btree(strata_btree::Corruption),
    }

    crate::layer_error!("test layer");

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
    }

    #[test]
    fn in_file_names_the_file_once() {
        let e = Error::corrupt(CorruptionKind::Block(
            strata_blob::Corruption::BlockPastEnd {
                blkno: strata_blob::BlockNo(7),
                n_blocks: 3,
            },
        ));
        assert!(e.is_corrupt());
        let named = e
            .in_file(Some(Path::new("a")))
            .in_file(Some(Path::new("b")));
        let text = named.to_string();
        assert!(text.starts_with("corrupt test layer a: "), "{text}");
        assert!(matches!(named.corruption(), Some(CorruptionKind::Block(_))));
        let unnamed = Error::corrupt(CorruptionKind::Block(
            strata_blob::Corruption::BlockPastEnd {
                blkno: strata_blob::BlockNo(7),
                n_blocks: 3,
            },
        ));
        assert!(unnamed.to_string().starts_with("corrupt test layer: "));
    }
}
