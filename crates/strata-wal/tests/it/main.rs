//! The integration tests of strata-wal, one binary: the PostgreSQL fixture (`pg`), the oracle
//! comparison with `pg_waldump` (`oracle`), damaged WAL (`damaged`) and WAL written by
//! `WalBuilder` (`synthetic`).

mod damaged;
mod oracle;
mod pg;
mod synthetic;
