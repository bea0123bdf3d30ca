//! The data generator and the fixed identities of the workloads of WORKLOAD.md (the standard
//! delta workload and the image workload) and of every golden case: [`SplitMix64`], the
//! workload tenant and timeline, and [`workload_key`].
//!
//! Invariant: [`SplitMix64`] is bit-exact with WORKLOAD.md (`seed 0 -> E220A8397B1DCDAF, ...`),
//! so a workload is a function of its parameters alone.

use strata_key::{Key, TenantId, TimelineId};

/// The tenant of the workloads (and of every golden case).
pub const WORKLOAD_TENANT: TenantId = TenantId([
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0x00, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
]);
/// The timeline of the workloads (and of every golden case).
pub const WORKLOAD_TIMELINE: TimelineId = TimelineId([
    0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x00, 0x99, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
]);
/// The first LSN of the standard workload, and the one LSN of the image workload.
pub const WORKLOAD_LSN_BASE: u64 = 0x100_0000;
/// Keys per relation: key `k` is block `k mod 5000` of relation `16385 + k div 5000`.
pub const WORKLOAD_KEYS_PER_REL: u64 = 5000;

/// `key(k)` of WORKLOAD.md: `Key(0, 1663, 16384, 16385 + k div 5000, 0, k mod 5000)`.
pub fn workload_key(k: u64) -> Key {
    let rel = 16385 + k / WORKLOAD_KEYS_PER_REL;
    Key {
        field1: 0,
        field2: 1663,
        field3: 16384,
        field4: u32::try_from(rel).unwrap_or(u32::MAX),
        field5: 0,
        field6: (k % WORKLOAD_KEYS_PER_REL) as u32,
    }
}

/// The splitmix64 increment.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The splitmix64 generator (all arithmetic mod 2^64).
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator with the given seed as its state.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The generator seeded with `seed` after `n` outputs (splitmix64 is random access: its
    /// state only ever advances by a constant).
    pub fn at(seed: u64, n: u64) -> SplitMix64 {
        SplitMix64 {
            state: seed.wrapping_add(GAMMA.wrapping_mul(n)),
        }
    }

    /// The next output.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_workload_md() {
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(r.next_u64(), 0x06C4_5D18_8009_454F);
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        let bytes = a.bytes(11);
        let first = b.next_u64().to_le_bytes();
        assert_eq!(&bytes[..8], &first);
        assert_eq!(&bytes[8..], &b.next_u64().to_le_bytes()[..3]);
        assert_eq!(
            workload_key(5001).to_string(),
            "000000067F00004000000040020000000001"
        );
    }
}
