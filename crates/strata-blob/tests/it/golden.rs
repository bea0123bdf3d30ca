//! Golden files written by Neon (FORMAT.md sections 2 and 4): walking the value area blob by
//! blob gives exactly the manifest's entries, and [`BlobWriter`] reproduces the value area byte
//! for byte from those payloads.

use strata_blob::{
    BlobReadOptions, BlobWriter, BlobWriterOptions, BlockReader, FileBlockReader, HeaderMode,
    MemBlockReader, PAGE_SIZE, blob_size, read_blob_with, read_run,
};
use strata_testkit::{Manifest, golden_cases, layer_bytes, layer_path};

const VALUE_AREA_OFFSET: u64 = PAGE_SIZE as u64;
/// `index_start_blk` in the summary (FORMAT.md section 3).
const INDEX_START_BLK_OFFSET: usize = 88;

fn index_start_blk(bytes: &[u8]) -> u32 {
    let raw: [u8; 4] = bytes[INDEX_START_BLK_OFFSET..INDEX_START_BLK_OFFSET + 4]
        .try_into()
        .unwrap();
    u32::from_be_bytes(raw)
}

/// Walks the value area of `reader` for the manifest's entries; returns the payloads and the
/// offset after the last blob.
async fn walk<R: BlockReader>(
    case: &str,
    reader: &R,
    manifest: &Manifest,
    value_end: u64,
    mode: HeaderMode,
) -> (Vec<Vec<u8>>, Vec<u64>, u64) {
    let opts = BlobReadOptions {
        mode,
        ..Default::default()
    };
    let mut offset = VALUE_AREA_OFFSET;
    let mut payloads = Vec::with_capacity(manifest.entries.len());
    let mut offsets = Vec::with_capacity(manifest.entries.len());
    let mut buf = Vec::new();
    for (entry_idx, entry) in manifest.entries.iter().enumerate() {
        let span = read_blob_with(reader, offset, value_end, &mut buf, &opts)
            .await
            .unwrap_or_else(|e| panic!("{case}: entry {entry_idx} at {offset}: {e}"));
        assert_eq!(span.offset, offset);
        assert_eq!(
            span.header.stored_len, entry.len,
            "{case}: entry {entry_idx}"
        );
        assert_eq!(buf.len() as u64, entry.len, "{case}: entry {entry_idx}");
        assert!(
            entry.payload.matches(&buf),
            "{case}: entry {entry_idx} payload differs"
        );
        // Neon writes the shortest header.
        assert_eq!(span.end() - offset, blob_size(entry.len));
        offsets.push(offset);
        payloads.push(buf.clone());
        offset = span.end();
    }
    (payloads, offsets, offset)
}

#[tokio::test]
async fn golden_value_areas_read_exactly() {
    let cases = golden_cases();
    assert!(
        cases.len() >= 9,
        "expected the nine golden cases, got {cases:?}"
    );
    for case in &cases {
        let bytes = layer_bytes(case);
        let manifest = Manifest::load(case);
        let blk = index_start_blk(&bytes);
        assert_eq!(blk, manifest.summary.index_start_blk, "{case}");
        let value_end = u64::from(blk) * PAGE_SIZE as u64;

        let mem = MemBlockReader::from_bytes(&bytes);
        let file = FileBlockReader::open(layer_path(case)).unwrap();
        assert_eq!(file.n_blocks(), mem.n_blocks());
        assert_eq!(
            u64::from(file.n_blocks()) * PAGE_SIZE as u64,
            manifest.file_size
        );

        let (payloads, offsets, end) =
            walk(case, &mem, &manifest, value_end, HeaderMode::Auto).await;
        assert_eq!(offsets, manifest.blob_offsets(), "{case}");
        // After the last blob: zero padding to the index, less than a block of it.
        assert!(
            end <= value_end && value_end - end < PAGE_SIZE as u64,
            "{case}"
        );
        assert!(
            bytes[end as usize..value_end as usize]
                .iter()
                .all(|&b| b == 0),
            "{case}: padding is not zero"
        );

        // The same through the file reader and in the other header modes (all golden headers
        // are seed headers below 256 MiB, which every mode reads alike).
        for mode in [HeaderMode::Seed, HeaderMode::Compressed] {
            let (p, o, e) = walk(case, &file, &manifest, value_end, mode).await;
            assert!(p == payloads && o == offsets && e == end, "{case} {mode:?}");
        }

        // One run over the whole value area decodes the same blobs.
        let run = read_run(&file, VALUE_AREA_OFFSET, value_end).await.unwrap();
        for (offset, payload) in offsets.iter().zip(&payloads) {
            assert_eq!(&*run.blob_at(*offset).unwrap(), &payload[..], "{case}");
        }
    }
}

#[tokio::test]
async fn blob_writer_reproduces_golden_value_areas() {
    for case in golden_cases() {
        let bytes = layer_bytes(&case);
        let manifest = Manifest::load(&case);
        let value_end = u64::from(index_start_blk(&bytes)) * PAGE_SIZE as u64;
        let mem = MemBlockReader::from_bytes(&bytes);
        // Payloads over 4 KiB are only hashed in the manifest: take them from the file.
        let (payloads, offsets, _) =
            walk(&case, &mem, &manifest, value_end, HeaderMode::Auto).await;

        for buffer_size in [PAGE_SIZE, 256 * 1024] {
            let opts = BlobWriterOptions {
                buffer_size,
                ..Default::default()
            };
            let mut writer = BlobWriter::with_options(Vec::new(), VALUE_AREA_OFFSET, opts);
            for (payload, offset) in payloads.iter().zip(&offsets) {
                assert_eq!(writer.write_blob(payload).unwrap(), *offset, "{case}");
            }
            let mut out = writer.into_inner().unwrap();
            out.resize(value_end as usize, 0);
            let area = VALUE_AREA_OFFSET as usize..value_end as usize;
            let first_diff = out[area.clone()]
                .iter()
                .zip(&bytes[area.clone()])
                .position(|(a, b)| a != b);
            assert_eq!(
                first_diff, None,
                "{case}: value area differs (buffer {buffer_size})"
            );
            assert_eq!(out.len(), area.end, "{case}");
        }
    }
}
