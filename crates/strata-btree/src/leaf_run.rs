//! The forwards copy of a leaf's consecutive entries into an iterator's batch (a full scan's
//! inner loop), with the checks the iterator makes on every entry: value marker (FORMAT.md
//! section 9 item 13) and strictly ascending keys.
//!
//! Invariant: for any node and start, [`copy_forwards`] copies exactly the entries, and
//! reports exactly the problem, that taking the entries one at a time with
//! [`NodeView::leaf_value`], [`NodeView::write_suffix`] and a full key comparison would.
//! Keys of one node share its prefix, so after the first entry (compared in full with the key
//! before it) each key is ordered by its suffix alone, which is read as two overlapping
//! `N`-byte words: with `N <= suffix_len <= 2N` they cover the suffix, and comparing the pairs
//! lexicographically is comparing the suffixes (where the first words are equal, so are the
//! bytes the second word shares with them).

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use std::cmp::Ordering;

use crate::error::NodeProblem;
use crate::format::{DOWNLINK_MARKER, NodeView, copy_short, decode_value40};

/// Copies entries `first..` of the leaf `node` into `batch` (as many as fit, to the node's
/// end), assembling each key in `key` (which holds some key of the node: its prefix is in
/// place), each checked to come after the one before it (`last` for the first); stops at the
/// first bad value or key out of order, which it returns. The number copied, or `None` when
/// the node's suffixes are too short or long for the word-wise loop (`first` past the end, or
/// suffixes under 4 or over 32 bytes): the caller then takes the entries one at a time.
pub(crate) fn copy_forwards<const L: usize>(
    node: &NodeView<'_, L>,
    first: usize,
    batch: &mut [([u8; L], u64)],
    key: &mut [u8; L],
    last: Option<&[u8; L]>,
) -> Option<(usize, Option<NodeProblem>)> {
    let out = (batch, key);
    match L.checked_sub(node.prefix().len())? {
        4..=7 => copy_words::<L, 4>(node, first, out, last),
        8..=16 => copy_words::<L, 8>(node, first, out, last),
        17..=32 => copy_words::<L, 16>(node, first, out, last),
        _ => None,
    }
}

/// [`copy_forwards`] for suffixes of `N..=2N` bytes, into `(batch, key)`.
#[inline(always)]
fn copy_words<const L: usize, const N: usize>(
    node: &NodeView<'_, L>,
    first: usize,
    (batch, key): (&mut [([u8; L], u64)], &mut [u8; L]),
    last: Option<&[u8; L]>,
) -> Option<(usize, Option<NodeProblem>)> {
    let to = first.saturating_add(batch.len()).min(node.n_children());
    let mut entries = node.entries(first, to)?;
    let mut slots = batch.iter_mut();
    let prefix_len = node.prefix().len();
    let bad_value = |entry_idx: usize| Some((entry_idx - first, node.leaf_value(entry_idx).err()));
    let out_of_order = |entry_idx: usize| {
        Some((
            entry_idx - first,
            Some(NodeProblem::OutOfOrder { entry_idx }),
        ))
    };
    // The first entry, compared in full with the key before it.
    let (Some((suffix, value)), Some(slot)) = (entries.next(), slots.next()) else {
        return Some((0, None));
    };
    if value[0] >= DOWNLINK_MARKER {
        return bad_value(first);
    }
    if let Some(tail) = key.get_mut(prefix_len..) {
        copy_short(tail, suffix);
    }
    if last.is_some_and(|last| cmp_key(key, last).is_le()) {
        return out_of_order(first);
    }
    *slot = (*key, decode_value40(*value));
    // The order of the suffix words of the entry copied last.
    let mut prev = order(&words::<N>(suffix)?);
    let mut entry_idx = first + 1;
    for ((suffix, value), slot) in entries.zip(slots) {
        if value[0] >= DOWNLINK_MARKER {
            return bad_value(entry_idx);
        }
        let Some(next) = words::<N>(suffix) else {
            return Some((entry_idx - first, None));
        };
        let next_order = order(&next);
        if next_order <= prev {
            return out_of_order(entry_idx);
        }
        write_words(key, prefix_len, &next.0, &next.1);
        *slot = (*key, decode_value40(*value));
        prev = next_order;
        entry_idx += 1;
    }
    Some((entry_idx - first, None))
}

/// The first and the last `N` bytes of `suffix` (`None` if it is shorter).
#[inline(always)]
fn words<const N: usize>(suffix: &[u8]) -> Option<([u8; N], [u8; N])> {
    Some((*suffix.first_chunk::<N>()?, *suffix.last_chunk::<N>()?))
}

/// Suffix words as numbers that order as the word pairs do lexicographically (each word
/// big-endian, the first word more significant): one comparison, kept in registers.
#[inline(always)]
fn order<const N: usize>((head, tail): &([u8; N], [u8; N])) -> (u128, u128) {
    let num = |w: &[u8; N]| {
        let mut b = [0u8; 16];
        if let Some(d) = b.last_chunk_mut::<N>() {
            *d = *w;
        }
        u128::from_be_bytes(b)
    };
    if N <= 8 {
        // Both words in one number: one comparison.
        (0, (num(head) << 64) | num(tail))
    } else {
        (num(head), num(tail))
    }
}

/// Writes a suffix given as its first and last `N` bytes into `key` after `prefix_len` bytes
/// (`N <= L - prefix_len <= 2N`).
#[inline(always)]
fn write_words<const L: usize, const N: usize>(
    key: &mut [u8; L],
    prefix_len: usize,
    head: &[u8; N],
    tail: &[u8; N],
) {
    if let Some(d) = key
        .get_mut(prefix_len..)
        .and_then(|k| k.first_chunk_mut::<N>())
    {
        *d = *head;
    }
    if let Some(d) = key.last_chunk_mut::<N>() {
        *d = *tail;
    }
}

/// `a.cmp(b)`, eight bytes at a time as big-endian words (unrolled for the key size: no call
/// to `memcmp`, no byte loop but for the last `L % 8` bytes).
#[inline]
pub(crate) fn cmp_key<const L: usize>(a: &[u8; L], b: &[u8; L]) -> Ordering {
    let word = |c: &[u8]| c.iter().fold(0u64, |w, &byte| (w << 8) | u64::from(byte));
    let (mut xs, mut ys) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in xs.by_ref().zip(ys.by_ref()) {
        let (x, y) = (
            <[u8; 8]>::try_from(x).map_or(0, u64::from_be_bytes),
            <[u8; 8]>::try_from(y).map_or(0, u64::from_be_bytes),
        );
        if x != y {
            return x.cmp(&y);
        }
    }
    word(xs.remainder()).cmp(&word(ys.remainder()))
}

#[cfg(test)]
#[expect(clippy::indexing_slicing, clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::format::{NODE_SIZE, NodeParts, encode_node};

    fn splitmix(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A leaf of `n` entries with `suffix_len`-byte suffixes, ascending unless `rng` breaks
    /// the order (repeated or smaller suffixes) or a value's marker byte, now and then.
    fn leaf<const L: usize>(rng: &mut u64, suffix_len: usize, n: usize) -> Box<[u8; NODE_SIZE]> {
        let prefix: Vec<u8> = (0..L - suffix_len).map(|_| splitmix(rng) as u8).collect();
        let mut suffixes = Vec::new();
        let mut values = Vec::new();
        let mut counter = u128::from(splitmix(rng) as u16);
        for _ in 0..n {
            match splitmix(rng) % 40 {
                0 => counter = counter.saturating_sub(1 + u128::from(splitmix(rng) as u8)),
                1 => {}
                _ => counter += 1 + u128::from(splitmix(rng) % 300),
            }
            let bytes = counter.to_be_bytes();
            // The counter's low bytes at the suffix's end, noise-free high bytes before them.
            let mut suffix = vec![0u8; suffix_len];
            let k = suffix_len.min(16);
            suffix[suffix_len - k..].copy_from_slice(&bytes[16 - k..]);
            suffixes.extend_from_slice(&suffix);
            let value = splitmix(rng) & 0x7F_FFFF_FFFF;
            let mut v = value.to_be_bytes()[3..].to_vec();
            if splitmix(rng) % 50 == 0 {
                v[0] |= 0x80;
            }
            values.extend_from_slice(&v);
        }
        let parts = NodeParts {
            level: 0,
            prefix: &prefix,
            suffix_len,
            n_children: n,
            suffixes: &suffixes,
            values: &values,
        };
        let mut block = Box::new([0u8; NODE_SIZE]);
        encode_node(&parts, &mut block).unwrap();
        block
    }

    /// Entries `first..` taken one at a time, as the iterator's general loop does.
    fn one_by_one<const L: usize>(
        node: &NodeView<'_, L>,
        first: usize,
        room: usize,
        mut key: [u8; L],
        mut last: Option<[u8; L]>,
    ) -> (Vec<([u8; L], u64)>, Option<NodeProblem>) {
        let mut out = Vec::new();
        for entry_idx in first..node.n_children().min(first + room) {
            let value = match node.leaf_value(entry_idx) {
                Ok(v) => v,
                Err(p) => return (out, Some(p)),
            };
            node.write_suffix(entry_idx, &mut key);
            if last.is_some_and(|l| key <= l) {
                return (out, Some(NodeProblem::OutOfOrder { entry_idx }));
            }
            out.push((key, value));
            last = Some(key);
        }
        (out, None)
    }

    fn check<const L: usize>(seed: u64) {
        let mut rng = seed;
        for _ in 0..300 {
            let suffix_len = (splitmix(&mut rng) % (L as u64 + 1)) as usize;
            let max_n = (NODE_SIZE - 5 - L) / (suffix_len + 5);
            let n = 1 + (splitmix(&mut rng) as usize) % max_n.min(300);
            let block = leaf::<L>(&mut rng, suffix_len, n);
            let node = NodeView::<L>::decode(&block).unwrap();
            for _ in 0..8 {
                let first = (splitmix(&mut rng) as usize) % (n + 2);
                let room = 1 + (splitmix(&mut rng) as usize) % 70;
                let last = match splitmix(&mut rng) % 3 {
                    0 => None,
                    1 => Some(node.key(first.saturating_sub(1))),
                    _ => Some(node.key(first.min(n - 1))),
                };
                let (want, want_problem) = one_by_one(&node, first, room, node.key(0), last);
                let mut batch = vec![([0u8; L], 0u64); room];
                let mut key = node.key(0);
                let got = copy_forwards(&node, first, &mut batch, &mut key, last.as_ref());
                let words = (4..=32).contains(&suffix_len) && first <= n;
                assert_eq!(
                    got.is_some(),
                    words,
                    "suffix {suffix_len}, first {first} of {n}"
                );
                if let Some((copied, problem)) = got {
                    assert_eq!(problem, want_problem, "suffix {suffix_len}, first {first}");
                    assert_eq!(&batch[..copied], &want[..], "suffix {suffix_len}");
                }
            }
        }
    }

    #[test]
    fn copies_as_one_at_a_time_26() {
        check::<26>(1);
    }

    #[test]
    fn copies_as_one_at_a_time_18() {
        check::<18>(2);
    }

    #[test]
    fn cmp_key_is_byte_order() {
        let mut rng = 3;
        for _ in 0..2000 {
            let a: [u8; 26] = std::array::from_fn(|_| (splitmix(&mut rng) % 3) as u8);
            let b: [u8; 26] = std::array::from_fn(|_| (splitmix(&mut rng) % 3) as u8);
            assert_eq!(cmp_key(&a, &b), a.cmp(&b));
        }
    }
}
