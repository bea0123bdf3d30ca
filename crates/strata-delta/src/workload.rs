//! The standard workload of `WORKLOAD.md` (and `golden/README`): the [`SplitMix64`] generator
//! and [`Workload`], an iterator over the workload's entries in (key, LSN) order.
//!
//! Invariants:
//! * One random stream, consumed in the order the workload text gives: per key the image's
//!   `S` bytes, then per record its length draw and its bytes. So the output is a function of
//!   the [`WorkloadParams`] alone, and `K = 300` gives exactly `golden/stdsmall`.
//! * Entries come out strictly increasing in (key, LSN) without the workload being held in
//!   memory: the iterator yields one value at a time.

use bytes::Bytes;
use strata_key::{Key, KeyRange, Lsn, LsnRange, TenantId, TimelineId};

use crate::value::{NeonWalRecord, Value};

/// The tenant of the standard workload (and of every golden case).
pub const WORKLOAD_TENANT: TenantId = TenantId([
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0x00, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
]);
/// The timeline of the standard workload (and of every golden case).
pub const WORKLOAD_TIMELINE: TimelineId = TimelineId([
    0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x00, 0x99, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
]);
/// The first LSN of the workload.
pub const WORKLOAD_LSN_BASE: u64 = 0x100_0000;
/// The LSN step between consecutive entries.
pub const WORKLOAD_LSN_STEP: u64 = 16;
/// Keys per relation: key `k` is block `k mod 5000` of relation `16385 + k div 5000`.
pub const WORKLOAD_KEYS_PER_REL: u64 = 5000;

/// The splitmix64 generator (all arithmetic mod 2^64).
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

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

impl SplitMix64 {
    /// A generator with the given seed as its state.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next output.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `next() % n` (for `n == 0` it draws and returns 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64().checked_rem(n).unwrap_or(0)
    }

    /// `n` bytes: the little-endian bytes of `ceil(n/8)` outputs, truncated to `n`.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = vec![0; n];
        self.fill(&mut out);
        out
    }

    /// Appends [`SplitMix64::bytes`]`(n)` to `out`.
    pub fn bytes_into(&mut self, n: usize, out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + n, 0);
        if let Some(tail) = out.get_mut(start..) {
            self.fill(tail);
        }
    }

    /// Fills `buf` as [`SplitMix64::bytes`]`(buf.len())` would.
    pub fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for chunk in &mut chunks {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        if !rest.is_empty() {
            let last = self.next_u64().to_le_bytes();
            rest.copy_from_slice(last.get(..rest.len()).unwrap_or_default());
        }
    }
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

/// `key(k) = Key(0, 1663, 16384, 16385 + k div 5000, 0, k mod 5000)`.
pub fn workload_key(k: u64) -> Key {
    Key {
        field1: 0,
        field2: 1663,
        field3: 16384,
        field4: 16385 + (k / WORKLOAD_KEYS_PER_REL) as u32,
        field5: 0,
        field6: (k % WORKLOAD_KEYS_PER_REL) as u32,
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
    fn splitmix_seed_0() {
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220A8397B1DCDAF);
        assert_eq!(r.next_u64(), 0x6E789E6AA1B965F4);
        assert_eq!(r.next_u64(), 0x06C45D188009454F);
    }

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
