//! [`DiskBtreeBuilder`]: bulk-loads a B-tree from sorted entries, reproducing Neon's builder
//! byte for byte (FORMAT.md section 6.4).
//!
//! Invariants:
//! * The stack of open nodes is never empty; its last element is the open leaf and each
//!   element's level is one less than the one before it.
//! * Compression is lazy: a node's prefix grows only when a push into it fails, and a node
//!   ends at the first key that does not start with its prefix, exactly as Neon's does.
//! * Blocks are written children before parents; the root is written last, by `finish`.
//! * After the block writer fails the builder is poisoned: every later call fails.

use strata_blob::{BlockWriter, PAGE_SIZE};

use crate::error::Error;
use crate::format::{
    self, MAX_KEY_LEN, NODE_HEADER_LEN, NODE_SIZE, NodeParts, VALUE_LEN, encode_downlink,
    encode_leaf_value,
};

/// Builds a B-tree of `L`-byte keys and 40-bit values into a [`BlockWriter`].
///
/// Entries must be appended in strictly increasing key order. Blocks are numbered by the
/// writer; the root, written by [`finish`](DiskBtreeBuilder::finish), comes last.
#[derive(Debug)]
pub struct DiskBtreeBuilder<W: BlockWriter, const L: usize> {
    writer: W,
    /// Open nodes, the root-most first; the last one is the open leaf.
    stack: Vec<BuildNode<L>>,
    last_key: Option<[u8; L]>,
    n_entries: u64,
    poisoned: bool,
}

impl<W: BlockWriter, const L: usize> DiskBtreeBuilder<W, L> {
    /// A builder writing its blocks to `writer`.
    pub fn new(writer: W) -> Self {
        const { assert!(L >= 1 && L <= MAX_KEY_LEN, "B-tree keys are 1 to 255 bytes") };
        DiskBtreeBuilder {
            writer,
            stack: vec![BuildNode::new(0)],
            last_key: None,
            n_entries: 0,
            poisoned: false,
        }
    }

    /// Appends an entry. `key` must be greater than every key appended before and `value` at
    /// most [`MAX_VALUE`](crate::MAX_VALUE); otherwise a typed error, and nothing changes.
    pub fn append(&mut self, key: &[u8; L], value: u64) -> Result<(), Error> {
        if self.poisoned {
            return Err(Error::Poisoned);
        }
        let value5 = encode_leaf_value(value).ok_or(Error::ValueTooLarge(value))?;
        if let Some(last_key) = &self.last_key {
            if key <= last_key {
                return Err(Error::Unsorted {
                    key: key.to_vec(),
                    last_key: last_key.to_vec(),
                });
            }
        }
        self.last_key = Some(*key);
        self.n_entries += 1;
        let result = self.add(key, value5);
        self.poisoned = result.is_err();
        result
    }

    /// Number of entries appended so far.
    pub fn n_entries(&self) -> u64 {
        self.n_entries
    }

    /// Writes the remaining open nodes, the root last. Returns the root's block number (as the
    /// writer numbered it) and the writer.
    pub fn finish(mut self) -> Result<(u32, W), Error> {
        if self.poisoned {
            return Err(Error::Poisoned);
        }
        if self.n_entries == 0 {
            return Err(Error::Empty);
        }
        while self.stack.len() > 1 {
            self.flush()?;
        }
        let root = self.pop_node();
        let root_blkno = self.write_node(&root)?;
        Ok((root_blkno, self.writer))
    }

    /// Adds an entry to the bottom (open, lowest) node, flushing it when it is full.
    fn add(&mut self, key: &[u8; L], value5: [u8; VALUE_LEN]) -> Result<(), Error> {
        let node = self.bottom();
        if node.push(key, value5) || (node.compress() && node.push(key, value5)) {
            return Ok(());
        }
        let mut fresh = self.flush()?;
        let pushed = fresh.push(key, value5);
        debug_assert!(pushed, "an empty node accepts any one entry");
        self.stack.push(fresh);
        Ok(())
    }

    /// Pops the bottom node, writes it, and adds its downlink to its parent (creating a new
    /// top level if it was the top). Returns the node emptied, for reuse at the same level.
    fn flush(&mut self) -> Result<BuildNode<L>, Error> {
        let mut node = self.pop_node();
        let blkno = self.write_node(&node)?;
        let first_key = node.first_key();
        if self.stack.is_empty() {
            self.stack
                .push(BuildNode::new(node.level.saturating_add(1)));
        }
        self.add(&first_key, encode_downlink(blkno))?;
        node.clear();
        Ok(node)
    }

    fn write_node(&mut self, node: &BuildNode<L>) -> Result<u32, Error> {
        let mut page = [0u8; PAGE_SIZE];
        let used = format::encode_node(&node.parts(), &mut page);
        debug_assert_eq!(
            used,
            Some(node.size),
            "the builder keeps its nodes encodable"
        );
        match self.writer.write_block(&page) {
            Ok(blkno) => Ok(blkno.0),
            Err(e) => {
                self.poisoned = true;
                Err(e.into())
            }
        }
    }

    fn bottom(&mut self) -> &mut BuildNode<L> {
        if self.stack.is_empty() {
            self.stack.push(BuildNode::new(0));
        }
        let last = self.stack.len() - 1;
        &mut self.stack[last]
    }

    fn pop_node(&mut self) -> BuildNode<L> {
        self.stack.pop().unwrap_or_else(|| BuildNode::new(0))
    }
}

/// One open node: its entries so far and its would-be serialized size.
#[derive(Debug)]
struct BuildNode<const L: usize> {
    level: u8,
    n_children: usize,
    prefix: [u8; L],
    prefix_len: usize,
    /// 0 while empty; `L - prefix_len` once it has entries.
    suffix_len: usize,
    suffixes: Vec<u8>,
    values: Vec<u8>,
    /// Serialized size: header, prefix, and every suffix and value.
    size: usize,
}

impl<const L: usize> BuildNode<L> {
    fn new(level: u8) -> Self {
        BuildNode {
            level,
            n_children: 0,
            prefix: [0; L],
            prefix_len: 0,
            suffix_len: 0,
            suffixes: Vec::new(),
            values: Vec::new(),
            size: NODE_HEADER_LEN,
        }
    }

    /// Empties the node, keeping its level and buffers.
    fn clear(&mut self) {
        self.n_children = 0;
        self.prefix_len = 0;
        self.suffix_len = 0;
        self.suffixes.clear();
        self.values.clear();
        self.size = NODE_HEADER_LEN;
    }

    fn prefix(&self) -> &[u8] {
        &self.prefix[..self.prefix_len]
    }

    /// Appends an entry if the key starts with the node's prefix and the node stays below a
    /// full block.
    fn push(&mut self, key: &[u8; L], value5: [u8; VALUE_LEN]) -> bool {
        if self.n_children > 0 {
            if !key.starts_with(self.prefix()) {
                return false;
            }
        } else {
            self.suffix_len = L;
        }
        if self.size + self.suffix_len + VALUE_LEN >= NODE_SIZE {
            return false;
        }
        self.suffixes.extend_from_slice(&key[self.prefix_len..]);
        self.values.extend_from_slice(&value5);
        self.n_children += 1;
        self.size += self.suffix_len + VALUE_LEN;
        true
    }

    /// Moves the common prefix of the first and last suffixes into the node prefix; false if
    /// they share nothing.
    fn compress(&mut self) -> bool {
        let s = self.suffix_len;
        if self.n_children == 0 || s == 0 {
            return false;
        }
        let first = &self.suffixes[..s];
        let last = &self.suffixes[self.suffixes.len() - s..];
        let p = first.iter().zip(last).take_while(|(a, b)| a == b).count();
        if p == 0 {
            return false;
        }
        self.prefix[self.prefix_len..self.prefix_len + p].copy_from_slice(&first[..p]);
        self.prefix_len += p;
        let new_s = s - p;
        for entry_idx in 0..self.n_children {
            let from = entry_idx * s + p;
            self.suffixes
                .copy_within(from..from + new_s, entry_idx * new_s);
        }
        self.suffixes.truncate(self.n_children * new_s);
        self.suffix_len = new_s;
        self.size = self.size - p * self.n_children + p;
        true
    }

    /// The full first key (`prefix ‖ first suffix`).
    fn first_key(&self) -> [u8; L] {
        let mut key = [0u8; L];
        key[..self.prefix_len].copy_from_slice(self.prefix());
        key[self.prefix_len..].copy_from_slice(&self.suffixes[..self.suffix_len]);
        key
    }

    fn parts(&self) -> NodeParts<'_> {
        NodeParts {
            level: self.level,
            prefix: self.prefix(),
            suffix_len: self.suffix_len,
            n_children: self.n_children,
            suffixes: &self.suffixes,
            values: &self.values,
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
mod tests {
    use strata_blob::{BlockBuf, BlockNo};

    use super::*;
    use crate::format::NodeView;

    fn build<const L: usize>(keys: impl IntoIterator<Item = [u8; L]>) -> (u32, BlockBuf) {
        let mut builder = DiskBtreeBuilder::<_, L>::new(BlockBuf::new());
        for (i, key) in keys.into_iter().enumerate() {
            builder.append(&key, i as u64).unwrap();
        }
        builder.finish().unwrap()
    }

    #[test]
    fn one_leaf_stays_uncompressed() {
        let (root, buf) = build::<4>((0u32..100).map(|i| i.to_be_bytes()));
        assert_eq!((root, buf.n_blocks()), (0, 1));
        let block = &buf.blocks()[0];
        // 100 entries, level 0, no prefix although all keys share three bytes.
        assert_eq!(&block[..5], &[0, 100, 0, 0, 4]);
        let node = NodeView::<4>::decode(block).unwrap();
        assert_eq!(node.key(99), 99u32.to_be_bytes());
        assert_eq!(node.leaf_value(99), Ok(99));
    }

    #[test]
    fn compression_is_lazy_and_repeated() {
        // 4-byte keys 0x0000_0000.. : no prefix while they fit; then the first push failure
        // compresses the common prefix of the first and last key.
        let n_uncompressed = (NODE_SIZE - 1 - NODE_HEADER_LEN) / (4 + VALUE_LEN); // 909
        let (root, buf) = build::<4>((0u32..2000).map(|i| i.to_be_bytes()));
        let leaf0 = NodeView::<4>::decode(&buf.blocks()[0]).unwrap();
        // Keys 0..909 share 00 00 (0x038C fits one more byte? no: 00 00 00 vs 00 00 03).
        assert_eq!(leaf0.prefix(), &[0, 0]);
        // After compression each entry takes 2 + 5 bytes.
        let capacity = (NODE_SIZE - 1 - NODE_HEADER_LEN - 2) / (2 + VALUE_LEN);
        assert!(n_uncompressed < capacity);
        assert_eq!(leaf0.n_children(), capacity);
        assert_eq!(leaf0.used_len(), NODE_HEADER_LEN + 2 + capacity * 7);
        // The root is last and holds one downlink per leaf, uncompressed.
        assert_eq!(root + 1, buf.n_blocks());
        let root_node = NodeView::<4>::decode(&buf.blocks()[root as usize]).unwrap();
        assert_eq!(root_node.level(), 1);
        assert_eq!(root_node.prefix(), &[] as &[u8]);
        assert_eq!(root_node.n_children(), root as usize);
        assert_eq!(root_node.downlink(1), Ok(1));
        assert_eq!(root_node.key(1), (capacity as u32).to_be_bytes());

        // Keys that fit one node uncompressed are never compressed.
        let (_, buf) = build::<4>((0u32..909).map(|i| (0x0100_0000 + i).to_be_bytes()));
        let leaf0 = NodeView::<4>::decode(&buf.blocks()[0]).unwrap();
        assert_eq!(
            (buf.n_blocks(), leaf0.n_children(), leaf0.prefix().len()),
            (1, 909, 0)
        );
    }

    #[test]
    fn prefix_mismatch_ends_a_node_early() {
        // 1000 keys under 01 00: the 910th push fails (full), compression finds prefix 01 00,
        // and the node goes on with 7-byte entries (room for 1169). The first key under 02
        // does not match the prefix: compression is tried again (the first and last suffixes
        // share nothing more) and the node is flushed with 1000 entries, not full.
        let keys = (0u32..1000)
            .map(|i| (0x0100_0000 + i).to_be_bytes())
            .chain((0u32..10).map(|i| (0x0200_0000 + i).to_be_bytes()));
        let (root, buf) = build::<4>(keys);
        let leaf0 = NodeView::<4>::decode(&buf.blocks()[0]).unwrap();
        assert_eq!((leaf0.n_children(), leaf0.prefix()), (1000, &[1u8, 0][..]));
        assert!(leaf0.used_len() + 1000 < NODE_SIZE);
        let leaf1 = NodeView::<4>::decode(&buf.blocks()[1]).unwrap();
        assert_eq!((leaf1.n_children(), leaf1.prefix().len()), (10, 0));
        assert_eq!((root, buf.n_blocks()), (2, 3));
        let root_node = NodeView::<4>::decode(&buf.blocks()[2]).unwrap();
        assert_eq!(root_node.key(1), 0x0200_0000u32.to_be_bytes());
    }

    #[test]
    fn full_compressed_leaf_and_level_growth() {
        // 26-byte keys sharing 22 bytes then a u32 counter: 264 uncompressed entries, then
        // prefix 24 (the counter's high bytes are zero) and 7-byte entries:
        // 5 + 24 + 7 * 1166 = 8191 is the last size below a block.
        let key = |i: u32| {
            let mut k = [7u8; 26];
            k[22..].copy_from_slice(&i.to_be_bytes());
            k
        };
        let n = 1166 * 300;
        let (root, buf) = build::<26>((0..n).map(key));
        let leaf0 = NodeView::<26>::decode(&buf.blocks()[0]).unwrap();
        assert_eq!((leaf0.n_children(), leaf0.prefix().len()), (1166, 24));
        assert_eq!(leaf0.used_len(), 8191);
        let root_node = NodeView::<26>::decode(&buf.blocks()[root as usize]).unwrap();
        assert_eq!(root_node.level(), 1);
        assert_eq!(root_node.n_children(), root as usize);
        assert!(root_node.n_children() >= 300);
        // Children come before parents; the root is last.
        assert_eq!(root + 1, buf.n_blocks());
        assert_eq!(root_node.downlink(root as usize - 1), Ok(root - 1));
    }

    #[test]
    fn misuse_gives_typed_errors_and_keeps_the_builder() {
        let mut builder = DiskBtreeBuilder::<_, 2>::new(BlockBuf::new());
        builder.append(&[0, 5], 1).unwrap();
        assert!(matches!(
            builder.append(&[0, 5], 2),
            Err(Error::Unsorted { key, last_key }) if key == [0, 5] && last_key == [0, 5]
        ));
        assert!(matches!(
            builder.append(&[0, 4], 2),
            Err(Error::Unsorted { .. })
        ));
        assert!(matches!(
            builder.append(&[0, 6], MAX_VALUE_PLUS_ONE),
            Err(Error::ValueTooLarge(MAX_VALUE_PLUS_ONE))
        ));
        builder.append(&[0, 6], crate::MAX_VALUE).unwrap();
        assert_eq!(builder.n_entries(), 2);
        let (root, buf) = builder.finish().unwrap();
        assert_eq!((root, buf.n_blocks()), (0, 1));

        let empty = DiskBtreeBuilder::<_, 2>::new(BlockBuf::new());
        assert!(matches!(empty.finish(), Err(Error::Empty)));
    }

    const MAX_VALUE_PLUS_ONE: u64 = crate::MAX_VALUE + 1;

    /// Fails every write after the first `ok` ones.
    struct FailingWriter {
        ok: u32,
        written: u32,
    }

    impl BlockWriter for FailingWriter {
        fn write_block(&mut self, _: &[u8; PAGE_SIZE]) -> Result<BlockNo, strata_blob::Error> {
            if self.written == self.ok {
                return Err(std::io::Error::other("disk full").into());
            }
            self.written += 1;
            Ok(BlockNo(self.written - 1))
        }
    }

    #[test]
    fn writer_failure_poisons() {
        let mut builder = DiskBtreeBuilder::<_, 4>::new(FailingWriter { ok: 1, written: 0 });
        let mut failed_at = None;
        for i in 0u32..100_000 {
            if let Err(e) = builder.append(&(i * 1000).to_be_bytes(), 0) {
                assert!(matches!(e, Error::Io(_)), "{e}");
                failed_at = Some(i);
                break;
            }
        }
        assert!(failed_at.is_some());
        assert!(matches!(
            builder.append(&[0xff; 4], 0),
            Err(Error::Poisoned)
        ));
        assert!(matches!(builder.finish(), Err(Error::Poisoned)));

        let mut builder = DiskBtreeBuilder::<_, 4>::new(FailingWriter { ok: 0, written: 0 });
        builder.append(&[1; 4], 1).unwrap();
        assert!(matches!(builder.finish(), Err(Error::Io(_))));
    }
}
