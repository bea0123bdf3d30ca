//! On-disk node layout of the B-tree (FORMAT.md sections 6.1 and 6.2): constants, value codecs,
//! node serialization, and [`NodeView`], a decoded node that borrows its block.
//!
//! Invariants:
//! * Everything here is pure and synchronous; nothing panics or allocates, whatever the bytes.
//! * A [`NodeView`] exists only for a block whose header passed [`NodeView::decode`]: at least
//!   one entry, `prefix_len + suffix_len == L`, and the used area fits in the block. Rules that
//!   cost a pass over all entries (key order, value markers, padding) are separate checks, so a
//!   point lookup only pays for the entries it touches.

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use std::cmp::Ordering;

use strata_blob::PAGE_SIZE;

use crate::error::NodeProblem;

/// Bytes per node: one block.
pub const NODE_SIZE: usize = PAGE_SIZE;
/// Offset of `num_children` (u16 BE).
pub const N_CHILDREN_OFFSET: usize = 0;
/// Offset of `level` (u8; 0 = leaf).
pub const LEVEL_OFFSET: usize = N_CHILDREN_OFFSET + 2;
/// Offset of `prefix_len` (u8).
pub const PREFIX_LEN_OFFSET: usize = LEVEL_OFFSET + 1;
/// Offset of `suffix_len` (u8).
pub const SUFFIX_LEN_OFFSET: usize = PREFIX_LEN_OFFSET + 1;
/// Header length; the prefix follows it.
pub const NODE_HEADER_LEN: usize = SUFFIX_LEN_OFFSET + 1;
/// Bytes per stored value (leaf value or downlink).
pub const VALUE_LEN: usize = 5;
/// The largest leaf value the builder accepts (39 bits: the first value byte stays `< 0x80`).
pub const MAX_VALUE: u64 = 0x7F_FFFF_FFFF;
/// First byte of every downlink.
pub const DOWNLINK_MARKER: u8 = 0x80;
/// The longest key a tree may have: prefix and suffix lengths are single bytes.
pub const MAX_KEY_LEN: usize = u8::MAX as usize;

const _: () = assert!(NODE_HEADER_LEN == 5);
const _: () = assert!(MAX_VALUE < (DOWNLINK_MARKER as u64) << 32);
// Any one entry of the longest key fits an empty node, so a fresh node always accepts a push.
const _: () = assert!(NODE_HEADER_LEN + 2 * (MAX_KEY_LEN + VALUE_LEN) < NODE_SIZE);

/// Encodes a leaf value as 5 big-endian bytes; `None` above [`MAX_VALUE`].
pub fn encode_leaf_value(value: u64) -> Option<[u8; VALUE_LEN]> {
    if value > MAX_VALUE {
        return None;
    }
    let [_, _, _, b0, b1, b2, b3, b4] = value.to_be_bytes();
    Some([b0, b1, b2, b3, b4])
}

/// Encodes a downlink to (relative) block `blkno`.
pub fn encode_downlink(blkno: u32) -> [u8; VALUE_LEN] {
    let [b1, b2, b3, b4] = blkno.to_be_bytes();
    [DOWNLINK_MARKER, b1, b2, b3, b4]
}

/// The 40-bit big-endian integer of 5 value bytes.
pub fn decode_value40(bytes: [u8; VALUE_LEN]) -> u64 {
    let [b0, b1, b2, b3, b4] = bytes;
    u64::from_be_bytes([0, 0, 0, b0, b1, b2, b3, b4])
}

/// Used bytes of a node: header, prefix, and `n_children` suffixes and values.
pub fn node_used_len(prefix_len: usize, suffix_len: usize, n_children: usize) -> usize {
    NODE_HEADER_LEN + prefix_len + n_children * (suffix_len + VALUE_LEN)
}

/// The parts of a node to serialize (the builder's open node).
#[derive(Debug, Clone, Copy)]
pub struct NodeParts<'a> {
    /// 0 for a leaf, height above the leaves otherwise.
    pub level: u8,
    /// Bytes shared by all keys.
    pub prefix: &'a [u8],
    /// Length of each key suffix.
    pub suffix_len: usize,
    /// Number of entries.
    pub n_children: usize,
    /// `n_children * suffix_len` bytes of suffixes.
    pub suffixes: &'a [u8],
    /// `n_children * 5` bytes of values.
    pub values: &'a [u8],
}

/// Serializes `parts` into `out` (header, prefix, suffixes, values, zeros to the end).
///
/// Returns the used length, or `None` (leaving `out` unspecified) if the parts are inconsistent:
/// lengths that disagree, a count or length that does not fit its header field, or a node that
/// does not fit the block.
pub fn encode_node(parts: &NodeParts<'_>, out: &mut [u8; NODE_SIZE]) -> Option<usize> {
    let n_children = u16::try_from(parts.n_children).ok()?;
    let prefix_len = u8::try_from(parts.prefix.len()).ok()?;
    let suffix_len = u8::try_from(parts.suffix_len).ok()?;
    if parts.suffixes.len() != parts.n_children.checked_mul(parts.suffix_len)?
        || parts.values.len() != parts.n_children.checked_mul(VALUE_LEN)?
    {
        return None;
    }
    let used = node_used_len(parts.prefix.len(), parts.suffix_len, parts.n_children);
    if used > NODE_SIZE {
        return None;
    }
    out.fill(0);
    let [n0, n1] = n_children.to_be_bytes();
    let header = [n0, n1, parts.level, prefix_len, suffix_len];
    let mut off = 0;
    for piece in [&header[..], parts.prefix, parts.suffixes, parts.values] {
        out.get_mut(off..off + piece.len())?.copy_from_slice(piece);
        off += piece.len();
    }
    Some(used)
}

/// A decoded node borrowing its block; keys are `L` bytes long.
#[derive(Debug, Clone, Copy)]
pub struct NodeView<'a, const L: usize> {
    level: u8,
    n_children: usize,
    prefix: &'a [u8],
    suffix_len: usize,
    suffixes: &'a [u8],
    values: &'a [u8],
}

impl<'a, const L: usize> NodeView<'a, L> {
    /// Decodes a node's header, checking FORMAT.md section 9 items 7 and 8.
    pub fn decode(block: &'a [u8; NODE_SIZE]) -> Result<NodeView<'a, L>, NodeProblem> {
        let &[n0, n1, level, prefix_len, suffix_len, ..] = block;
        let n_children = usize::from(u16::from_be_bytes([n0, n1]));
        if n_children == 0 {
            return Err(NodeProblem::NoChildren);
        }
        let (p, s) = (usize::from(prefix_len), usize::from(suffix_len));
        if p + s != L {
            return Err(NodeProblem::KeyLength {
                prefix_len,
                suffix_len,
                key_len: L,
            });
        }
        let used = node_used_len(p, s, n_children);
        let overflow = NodeProblem::Overflow { used };
        if used > NODE_SIZE {
            return Err(overflow);
        }
        let rest = block.get(NODE_HEADER_LEN..used).ok_or(overflow.clone())?;
        let (prefix, rest) = rest.split_at_checked(p).ok_or(overflow.clone())?;
        let (suffixes, values) = rest.split_at_checked(n_children * s).ok_or(overflow)?;
        Ok(NodeView {
            level,
            n_children,
            prefix,
            suffix_len: s,
            suffixes,
            values,
        })
    }

    /// The node's level: 0 for a leaf.
    pub fn level(&self) -> u8 {
        self.level
    }

    /// True for a leaf (level 0).
    pub fn is_leaf(&self) -> bool {
        self.level == 0
    }

    /// Number of entries (at least 1).
    pub fn n_children(&self) -> usize {
        self.n_children
    }

    /// The bytes every key of this node starts with.
    pub fn prefix(&self) -> &'a [u8] {
        self.prefix
    }

    /// Bytes of the block the node uses; the rest should be zero.
    pub fn used_len(&self) -> usize {
        node_used_len(self.prefix.len(), self.suffix_len, self.n_children)
    }

    /// The stored suffix of key `entry_idx` (empty if out of range).
    pub fn suffix(&self, entry_idx: usize) -> &'a [u8] {
        let start = entry_idx.saturating_mul(self.suffix_len);
        self.suffixes
            .get(start..start.saturating_add(self.suffix_len))
            .unwrap_or_default()
    }

    /// The full key `entry_idx` (`prefix ‖ suffix`); zeros after the prefix if out of range.
    pub fn key(&self, entry_idx: usize) -> [u8; L] {
        let mut key = [0u8; L];
        let suffix = self.suffix(entry_idx);
        if let Some((head, tail)) = key.split_at_mut_checked(self.prefix.len()) {
            head.copy_from_slice(self.prefix);
            if tail.len() == suffix.len() {
                tail.copy_from_slice(suffix);
            }
        }
        key
    }

    /// Key `entry_idx` written over `key`, which already holds some key of this node (so its
    /// first `prefix().len()` bytes are the prefix): only the suffix is copied. Out of range,
    /// `key` is left as it is.
    #[inline]
    pub fn write_suffix(&self, entry_idx: usize, key: &mut [u8; L]) {
        let suffix = self.suffix(entry_idx);
        if let Some(tail) = key.get_mut(self.prefix.len()..) {
            copy_short(tail, suffix);
        }
    }

    /// The stored suffixes and raw value bytes of entries `from..to`, in order, for a forwards
    /// scan that takes them one after the other; `None` if the range is not inside the node
    /// or the node's suffixes are empty (the caller then goes entry by entry).
    #[inline]
    pub fn entries(
        &self,
        from: usize,
        to: usize,
    ) -> Option<impl Iterator<Item = (&'a [u8], &'a [u8; VALUE_LEN])> + use<'a, L>> {
        let s = self.suffix_len;
        if s == 0 || from > to || to > self.n_children {
            return None;
        }
        let suffixes = self.suffixes.get(from * s..to * s)?;
        let values = self.values.get(from * VALUE_LEN..to * VALUE_LEN)?;
        let values = values
            .chunks_exact(VALUE_LEN)
            .map_while(|v| v.first_chunk::<VALUE_LEN>());
        Some(suffixes.chunks_exact(s).zip(values))
    }

    /// Compares key `entry_idx` with `key`, without assembling it.
    pub fn cmp_key(&self, entry_idx: usize, key: &[u8; L]) -> Ordering {
        let (head, tail) = key.split_at(self.prefix.len().min(L));
        self.prefix
            .cmp(head)
            .then_with(|| cmp_suffix(self.suffix(entry_idx), tail))
    }

    /// Binary search for `key`: `Ok(i)` if key `i` equals it, else `Err(i)` with `i` the
    /// insertion point (the first key greater than `key`).
    ///
    /// The node's prefix is compared once; each probe then compares only the stored suffix
    /// with the rest of `key`, eight bytes at a time ([`cmp_suffix`]), and no key is assembled.
    ///
    /// Whatever the bytes, the answer is consistent with the keys it compared: for `Err(i)`,
    /// key `i - 1` (if any) was found `< key` and key `i` (if any) `> key`.
    pub fn search(&self, key: &[u8; L]) -> Result<usize, usize> {
        let (head, tail) = key.split_at(self.prefix.len().min(L));
        match head.cmp(self.prefix) {
            Ordering::Less => return Err(0),
            Ordering::Greater => return Err(self.n_children),
            Ordering::Equal => {}
        }
        let (mut lo, mut hi) = (0, self.n_children);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (below, above) = (lo + (mid - lo) / 2, mid + 1 + (hi - mid - 1) / 2);
            if (hi - lo).saturating_mul(self.suffix_len) > TOUCH_SPAN {
                // The next step probes one of these two: load both while this one is
                // compared, so a search of a cold node is not one cache miss per step.
                self.touch(below);
                self.touch(above);
            }
            if hi - lo <= VALUE_TOUCH_ENTRIES {
                // The entry found is near: load its values' line before the caller reads it.
                self.touch_value(below);
                self.touch_value(above);
            }
            match cmp_suffix(self.suffix(mid), tail) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    /// Loads the first byte of key `entry_idx`'s suffix and discards it: a prefetch of its
    /// cache line that needs no `unsafe`.
    fn touch(&self, entry_idx: usize) {
        std::hint::black_box(
            self.suffixes
                .get(entry_idx.saturating_mul(self.suffix_len))
                .copied(),
        );
    }

    /// [`touch`](Self::touch) for entry `entry_idx`'s value: the entry found is read next.
    fn touch_value(&self, entry_idx: usize) {
        std::hint::black_box(
            self.values
                .get(entry_idx.saturating_mul(VALUE_LEN))
                .copied(),
        );
    }

    /// The raw 5 value bytes of entry `entry_idx` (zeros if out of range).
    pub fn value_bytes(&self, entry_idx: usize) -> [u8; VALUE_LEN] {
        let start = entry_idx.saturating_mul(VALUE_LEN);
        match self.values.get(start..start.saturating_add(VALUE_LEN)) {
            Some(&[b0, b1, b2, b3, b4]) => [b0, b1, b2, b3, b4],
            _ => [0; VALUE_LEN],
        }
    }

    /// The leaf value of entry `entry_idx`, checking item 13 (first byte `< 0x80`).
    pub fn leaf_value(&self, entry_idx: usize) -> Result<u64, NodeProblem> {
        let bytes = self.value_bytes(entry_idx);
        if bytes[0] >= DOWNLINK_MARKER {
            return Err(NodeProblem::BadLeafValue {
                entry_idx,
                first_byte: bytes[0],
            });
        }
        Ok(decode_value40(bytes))
    }

    /// The child block of downlink `entry_idx`, checking item 11's marker byte.
    pub fn downlink(&self, entry_idx: usize) -> Result<u32, NodeProblem> {
        let [b0, b1, b2, b3, b4] = self.value_bytes(entry_idx);
        if b0 != DOWNLINK_MARKER {
            return Err(NodeProblem::BadDownlink {
                entry_idx,
                first_byte: b0,
            });
        }
        Ok(u32::from_be_bytes([b1, b2, b3, b4]))
    }

    /// Checks that key `entry_idx - 1 < ` key `entry_idx` (item 9); true for index 0.
    pub fn check_ascending_at(&self, entry_idx: usize) -> Result<(), NodeProblem> {
        match entry_idx.checked_sub(1) {
            Some(prev) if self.suffix(prev) >= self.suffix(entry_idx) => {
                Err(NodeProblem::Unsorted { entry_idx })
            }
            _ => Ok(()),
        }
    }

    /// Checks every entry: keys strictly increasing (item 9), and every value a valid leaf
    /// value (item 13) or downlink marker (item 11) for the node's level.
    pub fn check_entries(&self) -> Result<(), NodeProblem> {
        for entry_idx in 0..self.n_children {
            self.check_ascending_at(entry_idx)?;
            if self.is_leaf() {
                self.leaf_value(entry_idx)?;
            } else {
                self.downlink(entry_idx)?;
            }
        }
        Ok(())
    }
}

/// Lexicographic order of two byte strings, as `a.cmp(b)`, comparing eight bytes at a time as
/// big-endian words (a suffix is at most 255 bytes and usually under 16, where a call to
/// `memcmp` per probe costs more than the comparison itself).
pub fn cmp_suffix(a: &[u8], b: &[u8]) -> Ordering {
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let (x, y) = (word(x), word(y));
        if x != y {
            return x.cmp(&y);
        }
    }
    // The words compared so far were equal; fewer than 8 bytes are left in one of the two.
    let done = a.len().min(b.len()) / 8 * 8;
    let (ra, rb) = (
        a.get(done..).unwrap_or_default(),
        b.get(done..).unwrap_or_default(),
    );
    for (x, y) in ra.iter().zip(rb) {
        if x != y {
            return x.cmp(y);
        }
    }
    ra.len().cmp(&rb.len())
}

/// `dst.copy_from_slice(src)` when both are as long (nothing otherwise), with a short copy
/// (a key suffix, usually 4 to 32 bytes) done in two overlapping fixed-size moves instead of
/// a call to `memcpy`.
#[inline]
pub(crate) fn copy_short(dst: &mut [u8], src: &[u8]) {
    /// The first and the last `N` bytes of `src` over those of `dst` (which cover it all when
    /// `N <= len <= 2N`); false, copying nothing, when either is shorter than `N`.
    fn two_moves<const N: usize>(dst: &mut [u8], src: &[u8]) -> bool {
        match (dst.first_chunk_mut::<N>(), src.first_chunk::<N>()) {
            (Some(d), Some(s)) => *d = *s,
            _ => return false,
        }
        if let (Some(d), Some(s)) = (dst.last_chunk_mut::<N>(), src.last_chunk::<N>()) {
            *d = *s;
        }
        true
    }
    let len = src.len();
    if dst.len() != len {
        return;
    }
    let done = match len {
        4..=7 => two_moves::<4>(dst, src),
        8..=16 => two_moves::<8>(dst, src),
        17..=32 => two_moves::<16>(dst, src),
        _ => false,
    };
    if !done {
        dst.copy_from_slice(src);
    }
}

/// Bytes of suffixes a search range must span before [`NodeView::search`] touches the next
/// step's candidates (within a couple of cache lines the probes are cheap anyway).
const TOUCH_SPAN: usize = 128;

/// Entries a search range may hold when [`NodeView::search`] starts loading the values of
/// the next step's candidates (a few cache lines of values).
const VALUE_TOUCH_ENTRIES: usize = 64;

/// Eight bytes as a big-endian word (zero if `bytes` is not eight long, which
/// `chunks_exact(8)` rules out).
fn word(bytes: &[u8]) -> u64 {
    <[u8; 8]>::try_from(bytes).map_or(0, u64::from_be_bytes)
}

/// Checks that every byte of `block` after the first `used_len` is zero (item 6).
pub fn check_padding(block: &[u8; NODE_SIZE], used_len: usize) -> Result<(), NodeProblem> {
    let tail = block.get(used_len..).unwrap_or_default();
    match tail.iter().position(|&b| b != 0) {
        Some(pos) => Err(NodeProblem::NonZeroPadding {
            offset: used_len + pos,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
#[expect(clippy::indexing_slicing, clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn encode(parts: &NodeParts<'_>) -> Box<[u8; NODE_SIZE]> {
        let mut out = Box::new([0xAAu8; NODE_SIZE]);
        encode_node(parts, &mut out).unwrap();
        out
    }

    #[test]
    fn values_roundtrip_and_limits() {
        assert_eq!(encode_leaf_value(0x4001), Some([0, 0, 0, 0x40, 0x01]));
        assert_eq!(
            encode_leaf_value(MAX_VALUE),
            Some([0x7F, 0xFF, 0xFF, 0xFF, 0xFF])
        );
        assert_eq!(encode_leaf_value(MAX_VALUE + 1), None);
        assert_eq!(decode_value40([0x7F, 0xFF, 0xFF, 0xFF, 0xFF]), MAX_VALUE);
        assert_eq!(encode_downlink(0x01020304), [0x80, 1, 2, 3, 4]);
    }

    #[test]
    fn worked_example_leaf() {
        // FORMAT.md section 7's worked example: three entries, no prefix.
        let keys: Vec<[u8; 26]> = [
            "000000067f000032be0000400000000020b60000000001696070",
            "000000067f000032be0000400000000020b60000000001696100",
            "000000067f000032be0000400000000020b70000000001696070",
        ]
        .iter()
        .map(|h| {
            let v: Vec<u8> = (0..26)
                .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            v.try_into().unwrap()
        })
        .collect();
        let suffixes: Vec<u8> = keys.concat();
        let values: Vec<u8> = [0x4001u64, 0x4022, 0x404c]
            .iter()
            .flat_map(|&v| encode_leaf_value(v).unwrap())
            .collect();
        let parts = NodeParts {
            level: 0,
            prefix: &[],
            suffix_len: 26,
            n_children: 3,
            suffixes: &suffixes,
            values: &values,
        };
        let block = encode(&parts);
        assert_eq!(&block[..5], &[0x00, 0x03, 0x00, 0x00, 0x1a]);
        assert_eq!(
            &block[0x53..0x62],
            &[
                0, 0, 0, 0x40, 0x01, 0, 0, 0, 0x40, 0x22, 0, 0, 0, 0x40, 0x4c
            ]
        );
        assert!(block[0x62..].iter().all(|&b| b == 0));

        let node = NodeView::<26>::decode(&block).unwrap();
        assert_eq!(node.n_children(), 3);
        assert_eq!(node.used_len(), 0x62);
        assert!(node.is_leaf());
        node.check_entries().unwrap();
        check_padding(&block, node.used_len()).unwrap();
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(node.key(i), *key);
            assert_eq!(node.search(key), Ok(i));
        }
        assert_eq!(node.leaf_value(1), Ok(0x4022));
        assert_eq!(node.search(&[0; 26]), Err(0));
        assert_eq!(node.search(&[0xff; 26]), Err(3));
        let mut between = keys[0];
        between[25] += 1;
        assert_eq!(node.search(&between), Err(1));
    }

    /// A xorshift64 stream from `seed` (test data, reproducible).
    fn xorshift(mut rng: u64) -> impl FnMut() -> u64 {
        move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        }
    }

    /// A leaf of 8-byte keys `prefix ‖ suffix` (suffixes given as numbers, 6 bytes each).
    fn leaf_of(prefix: &[u8; 2], suffixes: &[u64]) -> Box<[u8; NODE_SIZE]> {
        let bytes: Vec<u8> = suffixes
            .iter()
            .flat_map(|v| v.to_be_bytes()[2..].to_vec())
            .collect();
        let values: Vec<u8> = (0..suffixes.len())
            .flat_map(|i| encode_leaf_value(i as u64).unwrap())
            .collect();
        encode(&NodeParts {
            level: 0,
            prefix,
            suffix_len: 6,
            n_children: suffixes.len(),
            suffixes: &bytes,
            values: &values,
        })
    }

    fn key8(prefix: &[u8; 2], suffix: u64) -> [u8; 8] {
        let mut key = [0u8; 8];
        key[..2].copy_from_slice(prefix);
        key[2..].copy_from_slice(&suffix.to_be_bytes()[2..]);
        key
    }

    #[test]
    fn search_finds_every_key_and_gap_however_the_keys_are_spread() {
        let prefix = [7u8, 1];
        let mut next = xorshift(0x2545_F491_4F6C_DD1Du64);
        let max = (1u64 << 48) - 1;
        let mut shapes: Vec<Vec<u64>> = vec![
            (0..400).map(|i| 1000 + 16 * i).collect(), // dense, as a layer's LSNs
            (0..300).map(|i| i * i * i).collect(),     // skewed
            (0..200)
                .map(|i| if i < 190 { i } else { max - 200 + i })
                .collect(), // clustered
            (0..64).map(|i| 1u64 << (i % 48).max(1) | i).collect(), // exponential
            (0..32).collect(),                         // the smallest interpolated
            (0..31).map(|i| 3 * i).collect(),          // binary search only
        ];
        let mut random: Vec<u64> = (0..500).map(|_| next() & max).collect();
        random.sort_unstable();
        random.dedup();
        shapes.push(random);
        for mut suffixes in shapes {
            suffixes.sort_unstable();
            suffixes.dedup();
            let block = leaf_of(&prefix, &suffixes);
            let node = NodeView::<8>::decode(&block).unwrap();
            // Every key, both neighbours of every key, and the ends.
            let mut probes: Vec<u64> = vec![0, max];
            for &v in &suffixes {
                probes.extend([v.saturating_sub(1), v, (v + 1).min(max)]);
            }
            for _ in 0..200 {
                probes.push(next() & max);
            }
            for t in probes {
                let want = suffixes.binary_search(&t);
                assert_eq!(
                    node.search(&key8(&prefix, t)),
                    want,
                    "suffix {t} in {} keys",
                    suffixes.len()
                );
            }
            assert_eq!(node.search(&key8(&[7, 0], max)), Err(0), "below the prefix");
            assert_eq!(
                node.search(&key8(&[7, 2], 0)),
                Err(suffixes.len()),
                "above it"
            );
        }
    }

    #[test]
    fn search_of_an_unsorted_node_agrees_with_the_keys_it_compared() {
        // Corrupt bytes: keys in no order. The answer need not be the model's, but for
        // `Err(i)` key i-1 must be below the key searched and key i above it.
        let prefix = [1u8, 2];
        let mut next = xorshift(0x9E37_79B9_7F4A_7C15u64);
        for round in 0..50 {
            let n = 32 + round * 5;
            let suffixes: Vec<u64> = (0..n).map(|_| next() % 1000).collect();
            let block = leaf_of(&prefix, &suffixes);
            let node = NodeView::<8>::decode(&block).unwrap();
            for t in 0..1000u64 {
                let key = key8(&prefix, t);
                match node.search(&key) {
                    Ok(i) => assert_eq!(suffixes[i], t),
                    Err(i) => {
                        assert!(i <= n);
                        if i > 0 {
                            assert!(suffixes[i - 1] < t, "key {} below {t}", i - 1);
                        }
                        if i < n {
                            assert!(suffixes[i] > t, "key {i} above {t}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn prefixed_internal_node() {
        let prefix = [9u8, 9];
        let suffixes = [1u8, 2, 3, 4];
        let values: Vec<u8> = [encode_downlink(0), encode_downlink(1)].concat();
        let parts = NodeParts {
            level: 1,
            prefix: &prefix,
            suffix_len: 2,
            n_children: 2,
            suffixes: &suffixes,
            values: &values,
        };
        let block = encode(&parts);
        let node = NodeView::<4>::decode(&block).unwrap();
        assert_eq!(node.key(1), [9, 9, 3, 4]);
        assert_eq!(node.search(&[9, 9, 3, 4]), Ok(1));
        assert_eq!(node.search(&[9, 8, 255, 255]), Err(0));
        assert_eq!(node.search(&[9, 10, 0, 0]), Err(2));
        assert_eq!(node.search(&[9, 9, 2, 0]), Err(1));
        assert_eq!(node.cmp_key(0, &[9, 9, 1, 2]), Ordering::Equal);
        assert_eq!(node.cmp_key(0, &[9, 8, 1, 2]), Ordering::Greater);
        assert_eq!(node.downlink(1), Ok(1));
        assert_eq!(
            node.leaf_value(0),
            Err(NodeProblem::BadLeafValue {
                entry_idx: 0,
                first_byte: 0x80
            })
        );
        node.check_entries().unwrap();
    }

    #[test]
    fn header_rules() {
        let mut block = Box::new([0u8; NODE_SIZE]);
        assert_eq!(
            NodeView::<4>::decode(&block).unwrap_err(),
            NodeProblem::NoChildren
        );
        block[..5].copy_from_slice(&[0, 1, 0, 1, 2]);
        assert!(matches!(
            NodeView::<4>::decode(&block),
            Err(NodeProblem::KeyLength {
                prefix_len: 1,
                suffix_len: 2,
                key_len: 4
            })
        ));
        // 5 + 0 + n * (4 + 5) <= 8192 allows n = 909; 910 overflows.
        block[..5].copy_from_slice(&[0x03, 0x8d, 0, 0, 4]);
        assert!(NodeView::<4>::decode(&block).is_ok());
        block[..5].copy_from_slice(&[0x03, 0x8e, 0, 0, 4]);
        assert_eq!(
            NodeView::<4>::decode(&block).unwrap_err(),
            NodeProblem::Overflow { used: 8195 }
        );
        block[..5].copy_from_slice(&[0xff, 0xff, 7, 255, 0]);
        assert!(matches!(
            NodeView::<255>::decode(&block),
            Err(NodeProblem::Overflow { .. })
        ));
    }

    #[test]
    fn entry_rules() {
        let parts = NodeParts {
            level: 0,
            prefix: &[],
            suffix_len: 1,
            n_children: 3,
            suffixes: &[1, 3, 3],
            values: &[0, 0, 0, 0, 1, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        };
        let block = encode(&parts);
        let node = NodeView::<1>::decode(&block).unwrap();
        assert_eq!(node.check_ascending_at(1), Ok(()));
        assert_eq!(
            node.check_ascending_at(2),
            Err(NodeProblem::Unsorted { entry_idx: 2 })
        );
        assert_eq!(
            node.check_entries(),
            Err(NodeProblem::BadLeafValue {
                entry_idx: 1,
                first_byte: 0x80
            })
        );
        let mut padded = block.clone();
        padded[100] = 1;
        assert_eq!(
            check_padding(&padded, node.used_len()),
            Err(NodeProblem::NonZeroPadding { offset: 100 })
        );
        // Out-of-range accessors degrade instead of panicking.
        assert_eq!(node.suffix(3), &[] as &[u8]);
        assert_eq!(node.value_bytes(usize::MAX), [0; 5]);
        assert_eq!(node.key(usize::MAX), [0]);
    }

    #[test]
    fn cmp_suffix_is_slice_order() {
        // Every length up to 20 against every other, with differences at every position
        // (inside a word, at a word boundary, in the tail) and lengths that differ.
        let mut next = xorshift(0x9E37_79B9_7F4A_7C15u64);
        for la in 0..20usize {
            for lb in 0..20usize {
                for _ in 0..20 {
                    let base: Vec<u8> = (0..la.max(lb)).map(|_| (next() % 4) as u8).collect();
                    let a = base[..la].to_vec();
                    let mut b = base[..lb].to_vec();
                    if lb > 0 && next() % 2 == 0 {
                        let at = (next() as usize) % lb;
                        b[at] = (next() % 256) as u8;
                    }
                    assert_eq!(cmp_suffix(&a, &b), a.cmp(&b), "{a:?} vs {b:?}");
                    assert_eq!(cmp_suffix(&b, &a), b.cmp(&a), "{b:?} vs {a:?}");
                }
            }
        }
        assert_eq!(cmp_suffix(&[0xFF; 9], &[0xFF; 9]), Ordering::Equal);
        assert_eq!(cmp_suffix(&[1; 8], &[1; 8][..7]), Ordering::Greater);
    }

    #[test]
    fn encode_rejects_inconsistent_parts() {
        let mut out = Box::new([0u8; NODE_SIZE]);
        let bad_len = NodeParts {
            level: 0,
            prefix: &[],
            suffix_len: 2,
            n_children: 1,
            suffixes: &[1],
            values: &[0; 5],
        };
        assert_eq!(encode_node(&bad_len, &mut out), None);
        let big = vec![0u8; 1000 * 4];
        let values = vec![0u8; 1000 * 5];
        let too_big = NodeParts {
            level: 0,
            prefix: &[],
            suffix_len: 4,
            n_children: 1000,
            suffixes: &big,
            values: &values,
        };
        assert_eq!(encode_node(&too_big, &mut out), None);
    }
}
