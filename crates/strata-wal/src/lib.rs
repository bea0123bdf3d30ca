//! PostgreSQL write-ahead log (versions 14, 15 and 16) decoded record by record exactly as
//! `pg_waldump` decodes it (`../shared/WAL.md` sections 1 to 3).
//!
//! * [`WalDecoder`] is fed WAL bytes in stream order (segment files or a replication stream,
//!   from a record boundary or from a page boundary inside a continued record) and yields
//!   CRC-checked [`Record`]s (owned, or lent without allocating by
//!   [`WalDecoder::next_record_ref`]) until an [`EndOfWal`] says where and why valid WAL stops, with
//!   PostgreSQL's own wording.
//! * A [`Record`] has the header fields, its [`BlockRef`]s (relation, fork, block, flags, data,
//!   [`BlockImage`]), main data, origin and top-level xid; [`Record::restore_image`] gives the
//!   8192-byte page of an image (uncompressed, pglz, lz4 or zstd).
//! * [`waldump`] formats records as `pg_waldump` lines (minus the rmgr description) and counts
//!   `--stats`; [`rmgr`] holds the names it prints.
//! * [`WalBuilder`] writes valid WAL for tests and examples.
//!
//! Everything is a pure function of bytes: no I/O, no global state, no panics on any input, and
//! no allocation larger than the bytes that justify it.
//!
//! ```
//! use strata_key::Lsn;
//! use strata_wal::{DecoderOptions, WalBuilder, WalDecoder, waldump};
//!
//! // Two records, the second long enough to continue onto the next page.
//! let mut wal = WalBuilder::new(Lsn(0x0100_0000));
//! let first = wal.main_data_record(0, 0x30, 0, &10000u32.to_le_bytes()); // XLOG NEXTOID
//! let second = wal.main_data_record(1, 0x00, 731, &[7u8; 9000]); // Transaction COMMIT
//! let bytes = wal.finish();
//!
//! let mut decoder = WalDecoder::new(Lsn(0x0100_0000), DecoderOptions::default()).unwrap();
//! decoder.feed(&bytes);
//! let r1 = decoder.next_record().unwrap().unwrap();
//! assert_eq!((r1.lsn, r1.type_name()), (first, Some("NEXTOID")));
//! assert_eq!(r1.main_data(), &10000u32.to_le_bytes());
//! let r2 = decoder.next_record().unwrap().unwrap();
//! assert_eq!((r2.lsn, r2.header.prev, r2.main_data().len()), (second, first, 9000));
//! assert!(waldump::record_text(&r2, false).starts_with("rmgr: Transaction len (rec/tot):   9029/  9029, tx:        731, lsn: 0/01000048, prev 0/01000028, desc: COMMIT"));
//!
//! // The zero-filled rest of the page is where this WAL ends, as for PostgreSQL.
//! let end = decoder.next_record().unwrap_err();
//! assert!(end.is_zero_tail());
//! assert_eq!(end.reason.to_string(), format!("invalid record length at {}: wanted 24, got 0", r2.next));
//! ```

mod builder;
mod decoder;
mod error;
pub mod format;
mod image;
mod record;
pub mod rmgr;
pub mod waldump;

pub use builder::{WalBuilder, main_data_body};
pub use decoder::{DecoderOptions, WalDecoder, decode_all};
pub use error::{EndOfWal, EndReason, Error, ImageError, PageError, PageErrorKind, RecordError};
pub use format::{Compression, PgVersion};
pub use image::{pglz_decompress, restore_page};
pub use record::{BlockImage, BlockRef, Record, RelFileNode, decode_record};
