//! From a PostgreSQL cluster to a Strata timeline, as Neon's pageserver does it
//! (`../shared/WAL.md` sections 4-6): [`import_datadir`] turns a cleanly shut-down data
//! directory into image layers at its checkpoint LSN, and [`ingest_wal`] turns the WAL that
//! follows into L0 delta layers, adding each to an open [`strata_timeline::Timeline`].
//!
//! * [`ControlFile`] / [`CheckPoint`]: `global/pg_control` (CRC-checked) and the checkpoint.
//! * [`classify`]: which file of a data directory becomes which keys; [`xids_by_page`]: how a
//!   commit's xids split into per-page CLOG records.
//! * [`Catalog`]: relation forks, sizes, SLRU segments, directories and the checkpoint, kept
//!   current record by record and stored as Neon stores them.
//! * [`ingest_record`]: one WAL record → its values (images, Postgres records, CLOG and
//!   visibility-map records, sizes, directories).
//!
//! The timeline directory is the only state: ingest resumes after the last complete layer.
//!
//! ```
//! use strata_ingest::{PgFile, classify, ControlFile, Error};
//!
//! assert!(matches!(classify("base/5/16384_vm.1"), PgFile::Rel { segno: 1, .. }));
//! assert!(matches!(classify("pg_xact/0000"), PgFile::Slru { segno: 0, .. }));
//! // A control file whose CRC does not match is a typed error.
//! assert!(matches!(ControlFile::parse(&[0u8; 8192]), Err(Error::ControlCrc { .. })));
//! ```

mod buffer;
mod catalog;
mod clog;
mod control;
mod datadir;
mod dirs;
mod error;
mod import;
mod ingest;
mod layout;
mod records;
#[doc(hidden)]
pub mod testing;
mod walingest;
mod walsource;

pub use buffer::OpenLayer;
pub use catalog::{Catalog, Puts, read_u32};
pub use clog::{CLOG_XACTS_PER_PAGE, clog_page_key, clog_pageno, xids_by_page};
pub use control::{CHECKPOINT_LEN, CheckPoint, ControlFile, DB_SHUTDOWNED};
pub use datadir::{PgFile, RELSEG_BLOCKS, SLRU_PAGES_PER_SEGMENT, classify};
pub use dirs::{
    DbDir, RelDir, SegDir, decode_db_dir, decode_rel_dir, decode_seg_dir, encode_db_dir,
    encode_rel_dir, encode_seg_dir,
};
pub use error::Error;
pub use import::{ImportOptions, ImportSummary, import_datadir};
pub use ingest::{
    DEFAULT_CHECKPOINT_DISTANCE, IngestOptions, IngestProgress, ingest_wal, open_for_ingest,
    open_timeline, open_timeline_with,
};
pub use layout::{Extent, METADATA, timeline_ids};
pub use walingest::{HEAPBLOCKS_PER_PAGE, fsm_logical_to_physical, ingest_record};
pub use walsource::{WalSource, segment_file_name};
