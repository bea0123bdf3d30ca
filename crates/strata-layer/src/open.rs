//! [`layer_open!`](crate::layer_open): the public ways to open a layer that both layer kinds
//! have — from a path through the caller's open-file table and page cache, or from any block
//! source — written once.
//!
//! Invariants:
//! * Every way ends in the kind's own `open_reader(reader, path, opts)`, which reads and checks
//!   the summary; nothing here reads a block.
//! * The file-system calls of opening a path (`open`, `stat`) go through
//!   `strata_blob::open_table_file`, so they leave a multi-thread runtime's worker threads.

/// Writes `open`, `open_with`, `into_shared`, `from_reader` and `from_reader_at` for the layer
/// type named.
///
/// At the call site, `Error` (with `From<strata_blob::Error>`), `OpenOptions` and a private
/// `async fn open_reader(reader: R, path: Option<PathBuf>, opts: OpenOptions) -> Result<Self,
/// Error>` and `fn new_unchecked(reader, summary, path, &OpenOptions) -> Self` on the layer
/// type, whose fields `tree`, `summary`, `path`, `file_len`, `blob_opts` and `max_run_bytes` it
/// reads, must be in scope; the crate must depend on `strata-blob` and
/// `strata-cache`.
#[macro_export]
macro_rules! layer_open {
    ($layer:ident) => {
        impl $layer<::strata_cache::CachedReader<::strata_blob::TableFile>> {
            /// Opens the layer file at `path` through the open-file table `files`, reading its
            /// blocks through `cache`, with default [`OpenOptions`].
            pub async fn open(
                path: &::std::path::Path,
                cache: &::strata_cache::PageCache,
                files: &::strata_blob::FileTable,
            ) -> ::std::result::Result<Self, Error> {
                Self::open_with(path, cache, files, OpenOptions::default()).await
            }

            /// `open` with explicit options (`file_len` is taken from the file).
            ///
            /// The file-system calls of opening (`open`, `stat`) run on tokio's blocking pool
            /// when called inside a multi-thread runtime, inline otherwise
            /// ([`strata_blob::run_blocking`]). Block reads afterwards are synchronous `pread`s
            /// through the cache: a hit costs no syscall, a miss blocks its worker thread for
            /// one read, so a server sizes its runtime's workers for the misses it lets run at
            /// once (one per concurrent reader at most).
            pub async fn open_with(
                path: &::std::path::Path,
                cache: &::strata_cache::PageCache,
                files: &::strata_blob::FileTable,
                mut opts: OpenOptions,
            ) -> ::std::result::Result<Self, Error> {
                let (file, file_len) = ::strata_blob::open_table_file(files, path).await?;
                opts.file_len = Some(file_len);
                Self::open_reader(cache.wrap(file), Some(path.to_path_buf()), opts).await
            }
        }

        impl<R: ::strata_blob::BlockReader + 'static> $layer<R> {
            /// The same layer over a type-erased reader ([`SharedReader`](strata_blob::SharedReader)),
            /// so that layers opened in different ways fit one collection. Nothing is read
            /// again; each block read then costs a virtual call and a boxed future more (the
            /// erased reader sits above `R`'s page cache).
            pub fn into_shared(self) -> $layer<::strata_blob::SharedReader> {
                let opts = OpenOptions {
                    file_len: self.file_len,
                    blob: self.blob_opts,
                    max_run_bytes: self.max_run_bytes,
                    ..OpenOptions::default()
                };
                let reader = ::strata_blob::SharedReader::new(self.tree.into_reader());
                $layer::new_unchecked(reader, self.summary, self.path, &opts)
            }
        }

        impl<R: ::strata_blob::BlockReader> $layer<R> {
            /// Opens the layer held by `reader` (any block source: a file, the page cache,
            /// memory).
            pub async fn from_reader(
                reader: R,
                opts: OpenOptions,
            ) -> ::std::result::Result<Self, Error> {
                Self::open_reader(reader, None, opts).await
            }

            /// Opens the layer held by `reader`, naming `path` in errors.
            pub async fn from_reader_at(
                reader: R,
                path: &::std::path::Path,
                opts: OpenOptions,
            ) -> ::std::result::Result<Self, Error> {
                Self::open_reader(reader, Some(path.to_path_buf()), opts).await
            }
        }
    };
}
