//! From a PostgreSQL cluster to a Strata timeline: import a data directory and (to come) ingest
//! its WAL into layers, as Neon's pageserver does (WAL.md sections 4-6).
//!
//! Built so far: the pure rules — which file of a data directory becomes which keys
//! ([`classify`]), and how a commit's xids split into per-page CLOG records
//! ([`xids_by_page`]). The import walk, the WAL ingest and the layer flushing build on these.
//!
//! ```
//! use strata_ingest::{PgFile, classify};
//!
//! assert!(matches!(classify("base/5/16384_vm.1"), PgFile::Rel { segno: 1, .. }));
//! assert!(matches!(classify("pg_xact/0000"), PgFile::Slru { segno: 0, .. }));
//! ```

mod clog;
mod datadir;

pub use clog::{CLOG_XACTS_PER_PAGE, clog_page_key, clog_pageno, xids_by_page};
pub use datadir::{PgFile, RELSEG_BLOCKS, SLRU_PAGES_PER_SEGMENT, classify};
