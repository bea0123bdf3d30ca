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
    match L.checked_sub(node.prefix().len())? {
        4..=7 => copy_words::<L, 4>(node, first, batch, key, last),
        8..=16 => copy_words::<L, 8>(node, first, batch, key, last),
        17..=32 => copy_words::<L, 16>(node, first, batch, key, last),
        _ => None,
    }
}

/// [`copy_forwards`] for suffixes of `N..=2N` bytes.
#[inline(always)]
fn copy_words<const L: usize, const N: usize>(
    node: &NodeView<'_, L>,
    first: usize,
    batch: &mut [([u8; L], u64)],
    key: &mut [u8; L],
    last: Option<&[u8; L]>,
) -> Option<(usize, Option<NodeProblem>)> {
    let to = first.saturating_add(batch.len()).min(node.n_children());
    let entries = node.entries(first, to)?;
    let prefix_len = node.prefix().len();
    // The suffix words of the entry copied last (none before the first).
    let mut prev: Option<([u8; N], [u8; N])> = None;
    let mut n = 0;
    for ((suffix, value), slot) in entries.zip(batch.iter_mut()) {
        let entry_idx = first + n;
        if value[0] >= DOWNLINK_MARKER {
            return Some((n, node.leaf_value(entry_idx).err()));
        }
        let words = suffix.first_chunk::<N>().zip(suffix.last_chunk::<N>());
        let in_order = match (words, &prev) {
            (Some((&head, &tail)), Some(before)) => {
                write_words(key, prefix_len, &head, &tail);
                (head, tail) > *before
            }
            _ => {
                // The first entry (or a suffix shorter than `N`, which the caller rules out).
                if let Some(tail) = key.get_mut(prefix_len..) {
                    copy_short(tail, suffix);
                }
                last.is_none_or(|last| cmp_key(key, last).is_gt())
            }
        };
        if !in_order {
            return Some((n, Some(NodeProblem::OutOfOrder { entry_idx })));
        }
        *slot = (*key, decode_value40(*value));
        prev = words.map(|(&head, &tail)| (head, tail));
        n += 1;
    }
    Some((n, None))
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
