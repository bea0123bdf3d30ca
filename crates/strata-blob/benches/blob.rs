//! Criterion benches of the blob codec: [`BlobWriter`] throughput to a temporary file for
//! several buffer sizes (the default buffer size was chosen from these), and blob reads from a
//! [`MemBlockReader`] one by one and as a run.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use strata_blob::{
    BlobWriter, BlobWriterOptions, Fs, MemBlockReader, PAGE_SIZE, StdFs, read_blob_into, read_run,
};

/// Bytes of payload per write iteration.
const WRITE_BYTES: usize = 32 << 20;

/// Payloads shaped like a delta layer's: mostly 8 KiB page images, some small WAL records.
fn payloads(total: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut size = 0;
    let mut i = 0usize;
    while size < total {
        let len = if i % 4 == 3 {
            60 + i % 200
        } else {
            PAGE_SIZE + 12
        };
        out.push((0..len).map(|j| (i ^ j) as u8).collect::<Vec<u8>>());
        size += len;
        i += 1;
    }
    out
}

fn write(c: &mut Criterion) {
    let payloads = payloads(WRITE_BYTES);
    let total: usize = payloads.iter().map(Vec::len).sum();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("blobs");
    let mut group = c.benchmark_group("strata-blob/write");
    group.throughput(Throughput::Bytes(total as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    for buffer_size in [64 << 10, 256 << 10, 1 << 20] {
        let opts = BlobWriterOptions {
            buffer_size,
            ..Default::default()
        };
        group.bench_with_input(
            BenchmarkId::new("file", buffer_size >> 10),
            &opts,
            |b, &opts| {
                b.iter(|| {
                    let file = StdFs.create(&path).expect("create");
                    let mut w = BlobWriter::with_options(file, PAGE_SIZE as u64, opts);
                    for p in &payloads {
                        black_box(w.write_blob(p).expect("write"));
                    }
                    w.into_inner().expect("flush")
                });
            },
        );
    }
    group.bench_function("mem", |b| {
        b.iter(|| {
            let mut w = BlobWriter::new(Vec::with_capacity(total + (1 << 20)), PAGE_SIZE as u64);
            for p in &payloads {
                black_box(w.write_blob(p).expect("write"));
            }
            w.into_inner().expect("flush")
        });
    });
    group.finish();
}

fn read(c: &mut Criterion) {
    let payloads = payloads(8 << 20);
    let total: usize = payloads.iter().map(Vec::len).sum();
    let mut w = BlobWriter::new(Vec::new(), PAGE_SIZE as u64);
    let offsets: Vec<u64> = payloads
        .iter()
        .map(|p| w.write_blob(p).expect("write"))
        .collect();
    let end = w.size();
    let mut bytes = w.into_inner().expect("flush");
    bytes.resize(bytes.len().next_multiple_of(PAGE_SIZE), 0);
    let reader = MemBlockReader::from_bytes(&bytes);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");

    let mut group = c.benchmark_group("strata-blob/read_mem");
    group.throughput(Throughput::Bytes(total as u64));
    group.sample_size(20);
    group.bench_function("one_by_one", |b| {
        b.to_async(&rt).iter(|| async {
            let mut buf = Vec::new();
            for &off in &offsets {
                read_blob_into(&reader, off, end, &mut buf)
                    .await
                    .expect("read");
                black_box(&buf);
            }
        });
    });
    group.bench_function("run", |b| {
        b.to_async(&rt).iter(|| async {
            let run = read_run(&reader, PAGE_SIZE as u64, end).await.expect("run");
            for &off in &offsets {
                black_box(run.blob_at(off).expect("blob"));
            }
        });
    });
    group.finish();
}

criterion_group!(benches, write, read);
criterion_main!(benches);
