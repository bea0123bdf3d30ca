//! Admission of point-read misses into a full cache: a doorkeeper, the first stage of
//! TinyLFU. A page a point read misses while the cache has no free slot is read from the
//! source without being cached the first time; only a page missed again while the doorkeeper
//! still remembers the first miss is filled (and so evicts another). Uniformly random reads
//! over a file much larger than the cache then stop churning it (each fill would evict a page
//! as likely to be read again as the new one), while a page read repeatedly is cached at its
//! second miss.
//!
//! Invariants:
//! * The doorkeeper is a hint: a lost or stale bit only changes whether one miss is cached,
//!   never what a read returns.
//! * It forgets everything after about `bits / 2` remembered misses, so what it remembers is
//!   the recent past, and its memory is fixed (one bit per four slots' worth of keys, at least
//!   4096 bits).

use std::sync::atomic::{AtomicU64, Ordering};

/// A set of recently missed pages' hashes, one bit each, cleared when half full.
pub(crate) struct Doorkeeper {
    words: Box<[AtomicU64]>,
    /// `bits - 1` (a power of two).
    mask: u64,
    /// Bits set since the last clear.
    set: AtomicU64,
}

impl Doorkeeper {
    /// A doorkeeper for a cache of `n_slots` pages.
    pub(crate) fn new(n_slots: usize) -> Doorkeeper {
        let bits = (n_slots as u64)
            .saturating_mul(4)
            .next_power_of_two()
            .max(4096);
        Doorkeeper {
            words: (0..bits / 64).map(|_| AtomicU64::new(0)).collect(),
            mask: bits - 1,
            set: AtomicU64::new(0),
        }
    }

    /// Whether `hash` was remembered; remembers it either way.
    pub(crate) fn seen_before(&self, hash: u64) -> bool {
        let bit = hash & self.mask;
        let Some(word) = self.words.get((bit / 64) as usize) else {
            return false;
        };
        let flag = 1u64 << (bit % 64);
        let old = word.fetch_or(flag, Ordering::Relaxed);
        if old & flag != 0 {
            return true;
        }
        if self.set.fetch_add(1, Ordering::Relaxed) + 1 >= self.mask.div_ceil(2) {
            self.set.store(0, Ordering::Relaxed);
            for word in self.words.iter() {
                word.store(0, Ordering::Relaxed);
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_then_forgets_when_half_full() {
        let door = Doorkeeper::new(16);
        assert!(!door.seen_before(7));
        assert!(door.seen_before(7));
        assert!(!door.seen_before(8));
        // 4096 bits: the 2048th new bit clears them all.
        for h in 100..100 + 2045 {
            assert!(!door.seen_before(h));
        }
        assert!(door.seen_before(7));
        assert!(!door.seen_before(4000));
        assert!(!door.seen_before(7), "cleared after half the bits were set");
    }
}
