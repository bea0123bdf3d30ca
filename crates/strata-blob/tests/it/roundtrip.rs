//! Blobs written by [`BlobWriter`] read back exactly through every reader, wherever their
//! headers fall relative to block boundaries, and reads past the limit fail typed.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use strata_blob::testing::fuzz;
use strata_blob::testing::lending::lending_reader;
use strata_blob::{
    BlobCursor, BlobReadOptions, BlobRunReader, BlobWriter, BlobWriterOptions, BlockNo,
    BlockReader, Compression, Corruption, Error, FileBlockReader, FileTable, Fs, Gathered,
    HeaderMode, MemBlockReader, PAGE_SIZE, Payload, SHARE_MIN_LEN, StdFs, blob_size,
    gather_payloads, read_blob_into, read_blob_with, read_run,
};

const PAGE: u64 = PAGE_SIZE as u64;
/// Lengths at the header and block edges (FORMAT.md section 4), and multi-block ones.
const EDGE_LENS: [usize; 12] = [
    0,
    1,
    127,
    128,
    129,
    4096,
    8191,
    8192,
    8193,
    16384,
    20000,
    3 * PAGE_SIZE + 5,
];

fn payload(seed: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ seed.wrapping_mul(97)) as u8)
        .collect()
}

/// Writes `payloads` from `start` into memory; returns the whole-block file image, the blob
/// offsets and the end of the last blob.
fn write_mem(
    start: u64,
    payloads: &[Vec<u8>],
    opts: BlobWriterOptions,
) -> (Vec<u8>, Vec<u64>, u64) {
    let mut writer = BlobWriter::with_options(Vec::new(), start, opts);
    let offsets: Vec<u64> = payloads
        .iter()
        .map(|p| writer.write_blob(p).unwrap())
        .collect();
    let end = writer.size();
    let mut bytes = writer.into_inner().unwrap();
    assert_eq!(bytes.len() as u64, end.max(start));
    bytes.resize((end as usize).next_multiple_of(PAGE_SIZE), 0);
    (bytes, offsets, end)
}

/// Reads every blob back through `reader` (one by one, and as one run) and checks it.
async fn check_reader<R: BlockReader>(reader: &R, payloads: &[Vec<u8>], offsets: &[u64], end: u64) {
    let mut buf = vec![0xEE; 3];
    for (p, &off) in payloads.iter().zip(offsets) {
        read_blob_into(reader, off, end, &mut buf).await.unwrap();
        assert_eq!(&buf, p);
    }
    // One cursor for every blob: a payload inside one block is a slice of it, others are
    // copied (or decompressed) once.
    let mut cursor = BlobCursor::new(reader, end, BlobReadOptions::default());
    for (p, &off) in payloads.iter().zip(offsets) {
        let (span, payload) = cursor.payload(off).await.unwrap();
        assert_eq!(payload.bytes(), &p[..]);
        let in_block =
            (span.payload_offset() % PAGE) as usize + span.header.stored_len as usize <= PAGE_SIZE;
        let borrowed = span.header.compression == Compression::None && in_block;
        assert_eq!(
            matches!(payload, Payload::Block(_)),
            borrowed,
            "blob at {off}"
        );
        cursor.read_into(off, &mut buf).await.unwrap();
        assert_eq!(&buf, p);
    }
    // Every payload gathered into one buffer, each block visited once: the cursor's bytes; in
    // reverse order (the cursor's path for each blob) too.
    for order in [offsets.to_vec(), offsets.iter().rev().copied().collect()] {
        let (mut out, mut ranges) = (BytesMut::from(&b"kept"[..]), Vec::new());
        let opts = BlobReadOptions::default();
        gather_payloads(reader, end, &opts, &order, &mut out, &mut ranges)
            .await
            .unwrap();
        assert_eq!(&out[..4], b"kept");
        assert_eq!(ranges.len(), order.len());
        let frozen = Bytes::copy_from_slice(&out);
        let lends = reader.lend_pages(BlockNo(0), 1).is_some();
        for (&off, gathered) in order.iter().zip(ranges.drain(..)) {
            let i = offsets.iter().position(|&o| o == off).unwrap();
            if let Gathered::Lent(lent) = &gathered {
                assert!(lends, "only a lending reader lends");
                assert!(
                    lent.len() >= SHARE_MIN_LEN,
                    "blob at {off}: a small payload is copied"
                );
            }
            assert_eq!(
                &gathered.payload(&frozen)[..],
                &payloads[i][..],
                "blob at {off}"
            );
        }
        // A limit one byte short of the last blob's end fails as the cursor does.
        if let Some(&last) = offsets.last() {
            let err = gather_payloads(reader, end - 1, &opts, &order, &mut out, &mut ranges)
                .await
                .unwrap_err();
            let mut cursor = BlobCursor::new(reader, end - 1, opts);
            let expected = cursor.read_into(last, &mut buf).await.unwrap_err();
            assert_eq!(err.to_string(), expected.to_string());
        }
    }
    // Sequential reads through one reused buffer, one block read ahead at a time.
    let mut runs = BlobRunReader::new(reader, end, BlobReadOptions::default(), 0);
    for (p, &off) in payloads.iter().zip(offsets) {
        assert_eq!(&*runs.blob(off).await.unwrap().1, &p[..]);
    }
    if let (Some(&first), Some(&last)) = (offsets.first(), offsets.last()) {
        let run = read_run(reader, first, end).await.unwrap();
        for (p, &off) in payloads.iter().zip(offsets) {
            assert_eq!(&*run.blob_at(off).unwrap(), &p[..]);
        }
        // The last blob may not reach a limit one byte short of its end.
        let err = read_blob_into(reader, last, end - 1, &mut buf)
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            Error::Corrupt(Corruption::BlobPastEnd { .. } | Corruption::HeaderPastEnd { .. })
        ));
        let short_run = read_run(reader, first, end - 1).await.unwrap();
        assert!(short_run.blob_at(last).unwrap_err().is_corrupt());
        assert!(
            matches!(
                short_run.blob_at(first.wrapping_sub(1)),
                Err(Error::OutOfRange { .. })
            ) || first == 0
        );
    }
}

/// Headers at every position around a block boundary, for every edge length.
#[tokio::test]
async fn every_header_position_near_a_boundary() {
    let positions = (0..=8u64).chain(PAGE - 8..PAGE).map(|p| PAGE + p);
    for start in positions {
        for (i, &len) in EDGE_LENS.iter().enumerate() {
            // The blob under test, then a small one right after it.
            let payloads = vec![payload(i, len), payload(i + 1, 3)];
            let (bytes, offsets, end) = write_mem(start, &payloads, BlobWriterOptions::default());
            assert_eq!(offsets, vec![start, start + blob_size(len as u64)]);
            let reader = MemBlockReader::from_bytes(&bytes);
            check_reader(&reader, &payloads, &offsets, end).await;
            check_reader(&lending_reader(&bytes), &payloads, &offsets, end).await;
            // The pure decoder agrees with the block reader.
            for &off in &offsets {
                let (_, p) = fuzz::blob_read(&bytes, off, end, HeaderMode::Auto).unwrap();
                assert_eq!(payloads[offsets.iter().position(|&o| o == off).unwrap()], p);
            }
        }
    }
}

/// A 4-byte header split 1+3, 2+2 and 3+1 across blocks, and a payload spanning many blocks,
/// through a real file.
#[tokio::test]
async fn straddling_headers_through_files() {
    let dir = tempfile::tempdir().unwrap();
    let table = FileTable::new(2);
    for cut in 1..=3u64 {
        let start = 2 * PAGE - cut;
        let payloads = vec![payload(7, 5 * PAGE_SIZE + 11), payload(8, 200)];
        let path = dir.path().join(format!("f{cut}"));
        let mut writer = BlobWriter::new(StdFs.create(&path).unwrap(), start);
        let offsets: Vec<u64> = payloads
            .iter()
            .map(|p| writer.write_blob(p).unwrap())
            .collect();
        let end = writer.size();
        let file = writer.into_inner().unwrap();
        file.set_len(end.next_multiple_of(PAGE)).unwrap();
        drop(file);
        let reader = FileBlockReader::open(&path).unwrap();
        check_reader(&reader, &payloads, &offsets, end).await;
        let table_file = table.open(&path).unwrap();
        check_reader(&table_file, &payloads, &offsets, end).await;
        // The blob after the header straddle starts where the first ends.
        let mut buf = Vec::new();
        let span = read_blob_with(&reader, start, end, &mut buf, &BlobReadOptions::default())
            .await
            .unwrap();
        assert_eq!((span.header.header_len, span.end()), (4, offsets[1]));
    }
}

#[tokio::test]
async fn huge_length_in_a_small_file_is_corrupt() {
    let mut bytes = vec![0u8; 2 * PAGE_SIZE];
    bytes[PAGE_SIZE..PAGE_SIZE + 4].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
    let reader = MemBlockReader::from_bytes(&bytes);
    let mut buf = Vec::new();
    let err = read_blob_into(&reader, PAGE, u64::MAX, &mut buf)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Corrupt(Corruption::BlobPastEnd {
            offset: PAGE,
            len: 0x7FFF_FFFF,
            limit
        }) if limit == 2 * PAGE
    ));
    assert!(
        buf.capacity() < 2 * PAGE_SIZE,
        "no allocation for the claimed length"
    );
    let err = read_blob_into(&reader, 2 * PAGE, u64::MAX, &mut buf)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Corrupt(Corruption::HeaderPastEnd { .. })
    ));
    // A run past the reader's end.
    let err = read_run(&reader, PAGE, 2 * PAGE + 1).await.unwrap_err();
    assert!(matches!(
        err,
        Error::Corrupt(Corruption::BlobPastEnd { .. })
    ));
    assert!(matches!(
        read_run(&reader, 5, 4).await,
        Err(Error::OutOfRange { .. })
    ));
}

#[cfg(feature = "zstd")]
#[tokio::test]
async fn compressed_blobs_round_trip() {
    let opts = BlobWriterOptions {
        zstd_level: Some(1),
        ..Default::default()
    };
    let compressible = vec![b'a'; 30_000];
    let random: Vec<u8> = (0..3000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let payloads = vec![
        compressible.clone(),
        random.clone(),
        b"tiny".to_vec(),
        vec![],
    ];
    let (bytes, offsets, end) = write_mem(PAGE, &payloads, opts);
    // The compressible payload was stored compressed with the newer header.
    assert_eq!(bytes[PAGE_SIZE] & 0xF0, 0x90);
    assert!(offsets[1] - offsets[0] < 1000);
    let reader = MemBlockReader::from_bytes(&bytes);
    check_reader(&reader, &payloads, &offsets, end).await;
    check_reader(&lending_reader(&bytes), &payloads, &offsets, end).await;
    let mut buf = Vec::new();
    for mode in [HeaderMode::Auto, HeaderMode::Compressed] {
        let opts = BlobReadOptions {
            mode,
            ..Default::default()
        };
        for (p, &off) in payloads.iter().zip(&offsets) {
            read_blob_with(&reader, off, end, &mut buf, &opts)
                .await
                .unwrap();
            assert_eq!(&buf, p);
        }
    }
    // Read as seed headers, the compressed blob claims more than 256 MiB: corrupt, typed.
    let seed = BlobReadOptions {
        mode: HeaderMode::Seed,
        ..Default::default()
    };
    let err = read_blob_with(&reader, offsets[0], end, &mut buf, &seed)
        .await
        .unwrap_err();
    assert!(err.is_corrupt());
    // A decompressed-size cap below the payload is enforced.
    let capped = BlobReadOptions {
        max_decompressed_len: 29_999,
        ..Default::default()
    };
    let err = read_blob_with(&reader, offsets[0], end, &mut buf, &capped)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Corrupt(Corruption::DecompressedTooLarge { limit: 29_999, .. })
    ));
    // Too large for the newer format's 28-bit length: refused before writing.
    let mut w = BlobWriter::with_options(Vec::new(), 0, opts);
    let big = vec![0u8; (1 << 28) + 1];
    assert!(matches!(w.write_blob(&big), Err(Error::BlobTooLarge(_))));
    assert_eq!(w.size(), 0);
}

fn lens() -> impl Strategy<Value = usize> {
    prop_oneof![
        prop::sample::select(EDGE_LENS.to_vec()),
        0usize..200,
        0usize..40_000,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Any sequence of blobs from any start offset and buffer size: the writer's bytes equal
    /// the concatenated encodings, and every reader gives the payloads back.
    #[test]
    fn write_then_read(
        start_in_block in 0u64..PAGE,
        lens in prop::collection::vec(lens(), 1..12),
        buffer_size in prop::sample::select(vec![PAGE_SIZE, 3 * PAGE_SIZE, 256 * 1024]),
    ) {
        let start = PAGE + start_in_block;
        let payloads: Vec<Vec<u8>> = lens.iter().enumerate().map(|(i, &l)| payload(i, l)).collect();
        let opts = BlobWriterOptions { buffer_size, ..Default::default() };
        let (bytes, offsets, end) = write_mem(start, &payloads, opts);

        // Model: headers + payloads back to back.
        let mut model = vec![0u8; start as usize];
        for p in &payloads {
            let (h, n) = strata_blob::encode_header(p.len() as u64).unwrap();
            model.extend_from_slice(&h[..n]);
            model.extend_from_slice(p);
        }
        prop_assert_eq!(&bytes[..end as usize], &model[..]);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("layer");
        std::fs::write(&path, &bytes).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            check_reader(&MemBlockReader::from_bytes(&bytes), &payloads, &offsets, end).await;
            check_reader(&FileBlockReader::open(&path).unwrap(), &payloads, &offsets, end).await;
        });
    }
}

/// Neon writes any payload under 128 bytes with a 1-byte header, uncompressed, even when
/// compression is on (FORMAT.md section 4); 128 bytes and up may be compressed.
#[cfg(feature = "zstd")]
#[test]
fn compressing_writer_leaves_short_blobs_alone() {
    let opts = BlobWriterOptions {
        zstd_level: Some(1),
        ..Default::default()
    };
    for len in [0usize, 1, 100, 127] {
        let payload = vec![b'a'; len];
        let mut w = BlobWriter::with_options(Vec::new(), 0, opts);
        assert_eq!(w.write_blob(&payload).unwrap(), 0);
        let bytes = w.into_inner().unwrap();
        let mut expected = vec![len as u8];
        expected.extend_from_slice(&payload);
        assert_eq!(bytes, expected, "{len}-byte payload");
    }
    // From 128 bytes on a compressible payload takes the zstd header.
    let mut w = BlobWriter::with_options(Vec::new(), 0, opts);
    w.write_blob(&[b'a'; 128]).unwrap();
    let bytes = w.into_inner().unwrap();
    assert_eq!(bytes[0] & 0xF0, 0x90);
    assert!(bytes.len() < 128);
}

/// A payload inside one block is handed out as a slice of that very block (of the cached page,
/// through a page cache): no copy. A run reader reuses its buffer and checks its limit.
#[tokio::test]
async fn cursor_payloads_borrow_the_block() {
    let payloads = vec![payload(1, 100), payload(2, 3000), payload(3, 9000)];
    let (bytes, offsets, end) = write_mem(PAGE, &payloads, BlobWriterOptions::default());
    let reader = MemBlockReader::from_bytes(&bytes);
    let mut cursor = BlobCursor::new(&reader, end, BlobReadOptions::default());
    assert_eq!(cursor.limit(), end);
    let page = reader.read_block(strata_blob::BlockNo(1)).await.unwrap();
    let page_range = page.as_ptr_range();
    for &off in &offsets[..2] {
        let (_, p) = cursor.payload(off).await.unwrap();
        let Payload::Block(slice) = p else {
            panic!("blob at {off} was copied")
        };
        assert!(page_range.contains(&slice.as_ptr()));
    }
    let (_, p) = cursor.payload(offsets[2]).await.unwrap();
    assert!(matches!(p, Payload::Owned(ref v) if *v == payloads[2]));
    // Past the limit: typed, before reading.
    let err = cursor.payload(end).await.unwrap_err();
    assert!(matches!(
        err,
        Error::Corrupt(Corruption::HeaderPastEnd { .. })
    ));
    let mut short = BlobCursor::new(&reader, end - 1, BlobReadOptions::default());
    let err = short.payload(offsets[2]).await.unwrap_err();
    assert!(matches!(
        err,
        Error::Corrupt(Corruption::BlobPastEnd { .. })
    ));

    let mut runs = BlobRunReader::new(&reader, end, BlobReadOptions::default(), 1 << 20);
    let run = runs.load(offsets[1], offsets[2]).await.unwrap();
    assert_eq!(&*run.blob_at(offsets[1]).unwrap(), &payloads[1][..]);
    assert!(run.blob_at(offsets[2]).unwrap_err().is_corrupt());
    let run = runs.load(offsets[0], end).await.unwrap();
    assert_eq!(&*run.blob_at(offsets[2]).unwrap(), &payloads[2][..]);
    assert!(matches!(
        runs.load(offsets[0], end + PAGE).await,
        Err(Error::Corrupt(Corruption::BlobPastEnd { .. }))
    ));
    assert!(matches!(
        runs.load(5, 4).await,
        Err(Error::OutOfRange { .. })
    ));
}

/// Gathered from a reader that lends its pages, a large uncompressed payload (an image
/// straddling two blocks) is a slice of the lent pages themselves, holding a handle to exactly
/// the pages it covers; the small ones after it are copied; a group too long to lend, or
/// pages that are not consecutive in memory, are read as before.
#[tokio::test]
async fn gathered_large_payloads_are_slices_of_lent_pages() {
    let payloads = vec![payload(1, 8204), payload(2, 300), payload(3, 120)];
    let (bytes, offsets, end) = write_mem(PAGE + 4000, &payloads, BlobWriterOptions::default());
    let reader = lending_reader(&bytes);
    let opts = BlobReadOptions::default();
    let (mut out, mut ranges) = (BytesMut::new(), Vec::new());
    gather_payloads(&reader, end, &opts, &offsets, &mut out, &mut ranges)
        .await
        .unwrap();
    let frozen = out.freeze();
    let image_pages: Vec<_> = [1, 2]
        .into_iter()
        .map(|b| block_on_read(&reader, b))
        .collect();
    let handles = |pages: &[strata_blob::Block]| -> Vec<usize> {
        pages.iter().map(strata_blob::Block::handle_count).collect()
    };
    let before = handles(&image_pages);
    let mut got = ranges.drain(..);
    let Some(Gathered::Lent(image)) = got.next() else {
        panic!("the image is lent")
    };
    assert_eq!(&image[..], &payloads[0][..]);
    let lent_range = image.as_ptr_range();
    assert!(image_pages[0].as_ptr_range().contains(&lent_range.start));
    assert!(
        image_pages[1]
            .as_ptr_range()
            .contains(&(lent_range.end.wrapping_sub(1)))
    );
    for (gathered, p) in got.zip(&payloads[1..]) {
        assert!(
            matches!(gathered, Gathered::Copied { .. }),
            "a small one is copied"
        );
        assert_eq!(&gathered.payload(&frozen)[..], &p[..]);
    }
    let before_image = block_on_read(&reader, 0);
    let outside_before = strata_blob::Block::handle_count(&before_image);
    drop(ranges);
    // The image holds one handle to each page it covers, and none to another.
    assert_eq!(handles(&image_pages), before);
    let kept = image.clone();
    drop(image);
    assert_eq!(&kept[..], &payloads[0][..]);
    drop(kept);
    assert_eq!(
        handles(&image_pages),
        before.iter().map(|n| n - 1).collect::<Vec<_>>()
    );
    assert_eq!(
        strata_blob::Block::handle_count(&before_image),
        outside_before
    );

    // Pages that are not one run of memory (separate heap blocks) are copied, with the same
    // bytes.
    let mem = MemBlockReader::from_bytes(&bytes);
    let (mut out, mut ranges) = (BytesMut::new(), Vec::new());
    gather_payloads(&mem, end, &opts, &offsets, &mut out, &mut ranges)
        .await
        .unwrap();
    assert!(ranges.iter().all(|g| matches!(g, Gathered::Copied { .. })));
    let frozen = out.freeze();
    for (gathered, p) in ranges.into_iter().zip(&payloads) {
        assert_eq!(&gathered.payload(&frozen)[..], &p[..]);
    }
}

/// Block `blkno` of `reader`, read at once (the in-memory readers never wait).
fn block_on_read<R: BlockReader>(reader: &R, blkno: u32) -> strata_blob::Block {
    fuzz::poll_ready(reader.read_block(BlockNo(blkno)))
        .expect("an in-memory read completes at once")
        .unwrap()
}

/// Twelve blobs from block 1 on, large (9000 bytes) and small (100) by turns: the payloads, the
/// file image, the offsets and the end.
fn large_and_small() -> (Vec<Vec<u8>>, Vec<u8>, Vec<u64>, u64) {
    let payloads: Vec<Vec<u8>> = (0..12)
        .map(|i| payload(i, if i % 2 == 0 { 9000 } else { 100 }))
        .collect();
    let (bytes, offsets, end) = write_mem(PAGE, &payloads, BlobWriterOptions::default());
    (payloads, bytes, offsets, end)
}

/// Through a reader that lends its pages, a scan's run is those pages: a large payload is a
/// slice of the reader's own blocks (no copy), and every payload stays as it was while the
/// scan goes on.
#[tokio::test]
async fn runs_of_lent_pages_are_the_pages_themselves() {
    let (payloads, bytes, offsets, end) = large_and_small();
    let reader = lending_reader(&bytes);
    let blocks: Vec<_> = (0..reader.n_blocks())
        .map(|b| block_on_read(&reader, b))
        .collect();
    let in_a_block = |p: &[u8]| {
        blocks
            .iter()
            .any(|b| b.as_ptr_range().contains(&p.as_ptr()))
    };
    let mut runs = BlobRunReader::new(&reader, end, BlobReadOptions::default(), 2 * PAGE_SIZE);
    let mut held = Vec::new();
    for (&off, expect) in offsets.iter().zip(&payloads) {
        let (_, got) = runs.blob_shared(off).await.unwrap();
        assert_eq!(&got[..], &expect[..]);
        assert_eq!(
            in_a_block(&got),
            got.len() >= SHARE_MIN_LEN,
            "blob at {off}"
        );
        held.push(got);
    }
    for (got, expect) in held.iter().zip(&payloads) {
        assert_eq!(&got[..], &expect[..], "a held payload changed");
    }
}

/// A reader that lends nothing: its runs are read into the run reader's own buffer.
struct NoLend(MemBlockReader);

impl BlockReader for NoLend {
    async fn read_block(&self, blkno: BlockNo) -> Result<strata_blob::Block, Error> {
        self.0.read_block(blkno).await
    }

    fn n_blocks(&self) -> u32 {
        self.0.n_blocks()
    }
}

/// `blob_shared` hands a large payload out as a slice of the run buffer, copies a small one,
/// and never lets a refill change bytes a caller still holds: a held slice makes the next run
/// read into a new buffer, a dropped one lets it reuse the old.
#[tokio::test]
async fn shared_payloads_slice_the_run_and_survive_refills() {
    let (payloads, bytes, offsets, end) = large_and_small();
    let reader = NoLend(MemBlockReader::from_bytes(&bytes));
    // A read-ahead of two blocks: the scan refills several times.
    let mut runs = BlobRunReader::new(&reader, end, BlobReadOptions::default(), 2 * PAGE_SIZE);
    let mut held = Vec::new();
    let mut buffers = Vec::new();
    for (i, (&off, expect)) in offsets.iter().zip(&payloads).enumerate() {
        let (span, got) = runs.blob_shared(off).await.unwrap();
        assert_eq!(span.offset, off);
        assert_eq!(&got[..], &expect[..], "blob {i}");
        assert_eq!(
            got.len() >= strata_blob::SHARE_MIN_LEN,
            expect.len() == 9000
        );
        if got.len() >= strata_blob::SHARE_MIN_LEN {
            buffers.push(got.as_ptr() as usize - (span.payload_offset() % PAGE) as usize);
        }
        if i < 6 {
            held.push(got); // kept across the refills below
        }
    }
    for (got, expect) in held.iter().zip(&payloads) {
        assert_eq!(&got[..], &expect[..], "a held payload changed");
    }
    drop(held);
    // The buffer's first byte, as `load` leaves it (runs starting at a block boundary).
    async fn buffer_of<R: BlockReader>(runs: &mut BlobRunReader<'_, R>, start: u64) -> usize {
        runs.load(start, start + PAGE)
            .await
            .unwrap()
            .bytes()
            .as_ptr() as usize
    }
    let mut runs = BlobRunReader::new(&reader, end, BlobReadOptions::default(), 2 * PAGE_SIZE);
    let first = buffer_of(&mut runs, PAGE).await;
    // Nothing holds it: the next run reuses it.
    assert_eq!(buffer_of(&mut runs, 2 * PAGE).await, first);
    // A payload shared from it is held: the next run reads into another buffer.
    // (Its run starts at the blob's block, block 1.)
    let (span, kept) = runs.blob_shared(offsets[0]).await.unwrap();
    assert_eq!(offsets[0] / PAGE, 1);
    let kept_buffer = kept.as_ptr() as usize - (span.payload_offset() - PAGE) as usize;
    assert_eq!(
        kept_buffer, first,
        "the free buffer was reused for the blob's run"
    );
    let kept_copy = kept.to_vec();
    let other = buffer_of(&mut runs, 3 * PAGE).await;
    assert_ne!(other, first, "a held buffer was refilled");
    assert_eq!(&kept[..], &kept_copy[..]);
    assert!(!buffers.is_empty());
    drop(kept);
    // Past the limit: typed, as for `blob`.
    assert!(matches!(
        runs.blob_shared(end).await,
        Err(Error::Corrupt(Corruption::HeaderPastEnd { .. }))
    ));
}

/// `blob_shared` copies small payloads into shared chunks (of 64 KiB), the small blobs that
/// follow each other in one copy: payloads read one after the other mostly lie side by side
/// there (a blob header apart), not in the run buffer; a chunk holding held payloads is never
/// written again (no two held payloads overlap), and every held payload keeps its bytes while
/// the scan goes on through many chunks and refills.
#[tokio::test]
async fn small_shared_payloads_share_chunks_that_never_change() {
    let payloads: Vec<Vec<u8>> = (0..3000)
        .map(|i| payload(i, if i % 50 == 0 { 9000 } else { 60 + i % 200 }))
        .collect();
    let small_bytes: usize = payloads
        .iter()
        .filter(|p| p.len() < 4096)
        .map(Vec::len)
        .sum();
    assert!(
        small_bytes > 4 * (64 << 10),
        "the payloads fill several chunks"
    );
    let (bytes, offsets, end) = write_mem(PAGE, &payloads, BlobWriterOptions::default());
    let reader = MemBlockReader::from_bytes(&bytes);
    let mut runs = BlobRunReader::new(&reader, end, BlobReadOptions::default(), 4 * PAGE_SIZE);
    let mut held = Vec::new();
    for &off in &offsets {
        let (_, got) = runs.blob_shared(off).await.unwrap();
        if got.len() < strata_blob::SHARE_MIN_LEN {
            let (_, in_run) = runs.blob(off).await.unwrap();
            assert_ne!(
                got.as_ptr(),
                in_run.as_ptr(),
                "a small payload shares the run"
            );
        }
        held.push(got);
    }
    for (i, (got, expect)) in held.iter().zip(&payloads).enumerate() {
        assert_eq!(&got[..], &expect[..], "held payload {i} changed");
    }
    // Small payloads read one after the other mostly come from one copy, a blob header apart
    // (no allocation of their own) ...
    let small: Vec<_> = held.iter().filter(|p| p.len() < 4096).collect();
    let neighbours = small
        .windows(2)
        .filter(|w| {
            let gap = (w[1].as_ptr() as usize).wrapping_sub(w[0].as_ptr_range().end as usize);
            gap <= 4
        })
        .count();
    assert!(
        neighbours * 4 >= small.len() * 3,
        "{neighbours} of {} small payloads follow the one before",
        small.len()
    );
    // ... and, all held at once, none shares memory with another: no chunk was written again.
    let mut ranges: Vec<_> = small.iter().map(|p| p.as_ptr_range()).collect();
    ranges.sort_by_key(|r| r.start);
    for w in ranges.windows(2) {
        assert!(w[0].end <= w[1].start, "two held payloads overlap");
    }
}
