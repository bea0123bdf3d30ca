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
//! * It forgets everything after `window` remembered misses, half the cache's slots (at least
//!   1024): a page is admitted when it is missed again sooner than the cache would turn over
//!   half its pages, which a page of a uniformly random read over a file eight times the
//!   cache's size rarely is (about 6 % of misses). Its memory is fixed: eight bits per slot
//!   (at least 8192), so at most one remembered miss in sixteen bits, and a hash collision
//!   admits a page at most about 6 % of the time.

use std::sync::atomic::{AtomicU64, Ordering};

/// A set of recently missed pages' hashes, one bit each, cleared after `window` of them.
pub(crate) struct Doorkeeper {
    words: Box<[AtomicU64]>,
    /// `bits - 1` (a power of two).
    mask: u64,
    /// Bits set since the last clear.
    set: AtomicU64,
    /// Bits set before everything is forgotten.
    window: u64,
}

impl Doorkeeper {
    /// A doorkeeper for a cache of `n_slots` pages.
    pub(crate) fn new(n_slots: usize) -> Doorkeeper {
        let bits = (n_slots as u64)
            .saturating_mul(8)
            .next_power_of_two()
            .max(8192);
        Doorkeeper {
            words: (0..bits / 64).map(|_| AtomicU64::new(0)).collect(),
            mask: bits - 1,
            set: AtomicU64::new(0),
            window: (n_slots as u64 / 2).max(1024),
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
        if self.set.fetch_add(1, Ordering::Relaxed) + 1 >= self.window {
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
    fn remembers_then_forgets_after_its_window() {
        let door = Doorkeeper::new(16);
        assert!(!door.seen_before(7));
        assert!(door.seen_before(7));
        assert!(!door.seen_before(8));
        // A window of 1024 misses: the 1024th new bit clears them all.
        for h in 100..100 + 1021 {
            assert!(!door.seen_before(h));
        }
        assert!(door.seen_before(7));
        assert!(!door.seen_before(4000));
        assert!(!door.seen_before(7), "forgotten after the window");
        // A larger cache remembers longer: half its slots.
        let door = Doorkeeper::new(10_000);
        for h in 0..4999 {
            assert!(!door.seen_before(h));
        }
        assert!(door.seen_before(0));
        assert!(!door.seen_before(99_999));
        assert!(!door.seen_before(0));
    }
}
