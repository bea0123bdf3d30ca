//! Identifiers of Neon's pageserver storage: [`Key`], [`Lsn`], key and LSN ranges, tenant and
//! timeline ids, layer file names, and Neon's key space (which PostgreSQL object a key names).
//!
//! This crate does no I/O. Every type has a fixed binary form (FORMAT.md sections 3, 5.1) and a
//! text form (section 10); parsing never panics, whatever the input.
//!
//! ```
//! use strata_key::{Key, Lsn};
//!
//! let key: Key = "000000067F000032BE0000400000000020B6".parse().unwrap();
//! assert_eq!(key.field6, 0x20B6);
//! assert_eq!(key.next().to_string(), "000000067F000032BE0000400000000020B7");
//! assert_eq!(Lsn(0x1696070).to_string(), "0/1696070");
//! ```

mod error;
mod id;
mod key;
mod lsn;
pub mod name;
mod space;
#[doc(hidden)]
pub mod testing;

pub use error::ParseError;
pub use id::{TenantId, TimelineId};
pub use key::{KEY_SIZE, Key, KeyRange};
pub use lsn::{Lsn, LsnRange};
pub use name::{DeltaLayerName, ImageLayerName, LayerName, TempLayerName};
pub use space::{
    DEFAULTTABLESPACE_OID, FSM_FORKNUM, ForkNum, GLOBALTABLESPACE_OID, INIT_FORKNUM, KeyKind,
    MAIN_FORKNUM, RelTag, SlruKind, VISIBILITYMAP_FORKNUM,
};
