//! The standard workload of `WORKLOAD.md` (and `golden/README`): [`Workload`], an iterator over
//! the workload's entries in (key, LSN) order, drawn from strata-layer's [`SplitMix64`] (the
//! generator, ids and `workload_key` are re-exported from there).
//!
//! Invariants:
//! * One random stream, consumed in the order the workload text gives: per key the image's
//!   `S` bytes, then per record its length draw and its bytes. So the output is a function of
//!   the [`WorkloadParams`] alone, and `K = 300` gives exactly `golden/stdsmall`.
//! * Entries come out strictly increasing in (key, LSN) without the workload being held in
//!   memory: the iterator yields one value at a time.

use bytes::Bytes;
use strata_key::{Key, KeyRange, Lsn, LsnRange};

use crate::value::{NeonWalRecord, Value};

pub use strata_layer::{
    SplitMix64, WORKLOAD_KEYS_PER_REL, WORKLOAD_LSN_BASE, WORKLOAD_TENANT, WORKLOAD_TIMELINE,
    workload_key,
};

/// The LSN step between consecutive entries.
pub const WORKLOAD_LSN_STEP: u64 = 16;

/// Parameters of the standard workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkloadParams {
    /// `K`: number of keys.
    pub keys: u64,
    /// `R`: WAL records per key (after its image).
    pub records: u64,
    /// `S`: image size in bytes.
    pub image_size: usize,
    /// The random seed.
    pub seed: u64,
}

/// The standard workload's entries, in (key, LSN) order; see the module docs.
#[derive(Clone, Debug)]
pub struct Workload {
    params: WorkloadParams,
    rng: SplitMix64,
    /// Next key index.
    k: u64,
    /// Next entry of key `k`: 0 the image, 1..=R the records.
    j: u64,
}

impl Default for WorkloadParams {
    /// `K = 20000, R = 10, S = 8192, seed 42`: 220 000 entries, a 203 481 088-byte file.
    fn default() -> WorkloadParams {
        WorkloadParams {
            keys: 20_000,
            records: 10,
            image_size: 8192,
            seed: 42,
        }
    }
}

impl WorkloadParams {
    /// Number of entries: `K * (R + 1)`.
    pub fn n_entries(&self) -> u64 {
        self.keys * (self.records + 1)
    }

    /// `key_range = key(0) .. key(K-1).next()` (needs `K >= 1`).
    pub fn key_range(&self) -> KeyRange {
        KeyRange::new(
            workload_key(0),
            workload_key(self.keys.saturating_sub(1)).next(),
        )
    }

    /// `lsn_range = 0x1000000 .. lsn(K-1, R) + 1` (needs `K >= 1`).
    pub fn lsn_range(&self) -> LsnRange {
        let last = workload_lsn(self, self.keys.saturating_sub(1), self.records);
        LsnRange::new(Lsn(WORKLOAD_LSN_BASE), Lsn(last.0 + 1))
    }

    /// The workload's entries.
    pub fn entries(&self) -> Workload {
        Workload::new(*self)
    }
}

/// `lsn(k, j) = 0x1000000 + (k * (R + 1) + j) * 16`.
pub fn workload_lsn(params: &WorkloadParams, k: u64, j: u64) -> Lsn {
    Lsn(WORKLOAD_LSN_BASE + (k * (params.records + 1) + j) * WORKLOAD_LSN_STEP)
}

impl Workload {
    /// The entries of the workload `params`.
    pub fn new(params: WorkloadParams) -> Workload {
        Workload {
            params,
            rng: SplitMix64::new(params.seed),
            k: 0,
            j: 0,
        }
    }

    /// The parameters.
    pub fn params(&self) -> &WorkloadParams {
        &self.params
    }
}

impl Iterator for Workload {
    type Item = (Key, Lsn, Value);

    fn next(&mut self) -> Option<(Key, Lsn, Value)> {
        if self.k >= self.params.keys {
            return None;
        }
        let (k, j) = (self.k, self.j);
        let value = if j == 0 {
            Value::Image(Bytes::from(self.rng.bytes(self.params.image_size)))
        } else {
            let len = 64 + self.rng.below(193) as usize;
            Value::WalRecord(NeonWalRecord::Postgres {
                will_init: false,
                rec: Bytes::from(self.rng.bytes(len)),
            })
        };
        if j >= self.params.records {
            self.k += 1;
            self.j = 0;
        } else {
            self.j += 1;
        }
        Some((workload_key(k), workload_lsn(&self.params, k, j), value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let done = self.k * (self.params.records + 1) + self.j;
        let left = self.params.n_entries().saturating_sub(done);
        let left = usize::try_from(left).unwrap_or(usize::MAX);
        (left, Some(left))
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_little_endian_draws_truncated() {
        let mut a = SplitMix64::new(0);
        let b = a.bytes(11);
        assert_eq!(&b[..8], &0xE220A8397B1DCDAFu64.to_le_bytes());
        assert_eq!(&b[8..], &0x6E789E6AA1B965F4u64.to_le_bytes()[..3]);
        // The surplus of the last draw is dropped, not kept for the next call.
        assert_eq!(a.next_u64(), 0x06C45D188009454F);
        let mut c = SplitMix64::new(0);
        assert!(c.bytes(0).is_empty());
        assert_eq!(c.next_u64(), 0xE220A8397B1DCDAF);
        let mut d = SplitMix64::new(0);
        let mut v = vec![9];
        d.bytes_into(11, &mut v);
        assert_eq!(&v[1..], &b[..]);
        assert_eq!(SplitMix64::new(0).below(10), 0xE220A8397B1DCDAF % 10);
    }

    #[test]
    fn default_workload_shape() {
        let p = WorkloadParams::default();
        assert_eq!(p.n_entries(), 220_000);
        assert_eq!(
            p.key_range().start.to_string(),
            "000000067F00004000000040010000000000"
        );
        assert_eq!(
            p.key_range().end.to_string(),
            "000000067F00004000000040040000001388"
        );
        assert_eq!(p.lsn_range().start, Lsn(0x100_0000));
        assert_eq!(p.lsn_range().end, Lsn(0x100_0000 + 219_999 * 16 + 1));
        assert_eq!(workload_key(5000).field4, 16386);
        assert_eq!(workload_key(5000).field6, 0);
    }

    #[test]
    fn small_workload_entries_in_order() {
        let p = WorkloadParams {
            keys: 7,
            records: 3,
            image_size: 100,
            seed: 1,
        };
        let all: Vec<_> = p.entries().collect();
        assert_eq!(all.len(), 28);
        assert_eq!(p.entries().size_hint(), (28, Some(28)));
        for w in all.windows(2) {
            assert!((w[0].0, w[0].1) < (w[1].0, w[1].1));
        }
        // Replay the stream by hand.
        let mut rng = SplitMix64::new(1);
        for (i, (key, lsn, value)) in all.iter().enumerate() {
            let (k, j) = (i as u64 / 4, i as u64 % 4);
            assert_eq!(*key, workload_key(k));
            assert_eq!(*lsn, workload_lsn(&p, k, j));
            let expect = if j == 0 {
                Value::Image(rng.bytes(100).into())
            } else {
                let len = 64 + rng.below(193) as usize;
                Value::WalRecord(NeonWalRecord::Postgres {
                    will_init: false,
                    rec: rng.bytes(len).into(),
                })
            };
            assert_eq!(*value, expect);
        }
        assert_eq!(all.last().unwrap().1.0 + 1, p.lsn_range().end.0);
    }
}
