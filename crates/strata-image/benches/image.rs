//! Criterion benches of the image layer on the image workload (WORKLOAD.md, "The image
//! workload") with a modest K (default 2000; `STRATA_BENCH_KEYS` overrides), in a temp dir:
//!
//! * `strata-image/write`: the whole layer written (images generated beforehand), `finish`
//!   with its fsyncs and rename included.
//! * `strata-image/get`: warm point reads of `key(q.below(K))` through a page cache holding the
//!   whole file (`warm`), and through one of an eighth of it (`cold`), each answer's length
//!   checked.
//! * `strata-image/scan`: a warm full scan, every image read.
//!
//! Reads run inside one `block_on` per sample (`iter_custom`), so the runtime's entry cost is
//! not counted per operation.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use strata_blob::{FileTable, StdFs, TableFile};
use strata_cache::{CachedReader, PageCache};
use strata_image::{ImageLayer, ImageLayerWriter, ImageLayerWriterOptions, ImageWorkloadParams};
use strata_layer::{SplitMix64, WORKLOAD_TENANT, WORKLOAD_TIMELINE, workload_key};
use strata_testkit::time_runs;

fn params() -> ImageWorkloadParams {
    ImageWorkloadParams {
        keys: strata_testkit::bench_keys(2000),
        ..ImageWorkloadParams::default()
    }
}

async fn gets(
    layer: &ImageLayer<CachedReader<TableFile>>,
    p: &ImageWorkloadParams,
    q: &mut SplitMix64,
    n: u64,
) {
    let mut buf = Vec::new();
    for _ in 0..n {
        let key = workload_key(q.below(p.keys));
        assert!(layer.get_into(key, &mut buf).await.expect("get"));
        assert_eq!(buf.len(), p.image_size);
        black_box(&buf);
    }
}

async fn scan(layer: &ImageLayer<CachedReader<TableFile>>) -> u64 {
    layer
        .scan(|_, image| {
            black_box(image);
            true
        })
        .await
        .expect("scan")
}

fn benches(c: &mut Criterion) {
    let p = params();
    let mut images = p.images();
    let mut all = Vec::new();
    let mut buf = Vec::new();
    while let Some(key) = images.next_into(&mut buf) {
        all.push((key, buf.clone()));
    }
    let dir = tempfile::tempdir().expect("temp dir");

    let mut group = c.benchmark_group("strata-image/write");
    group.throughput(Throughput::Bytes(p.keys * p.image_size as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("workload", |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let mut w = ImageLayerWriter::with_fs(
                    StdFs,
                    dir.path(),
                    WORKLOAD_TENANT,
                    WORKLOAD_TIMELINE,
                    p.key_range(),
                    p.lsn(),
                    ImageLayerWriterOptions::default(),
                )
                .expect("writer");
                for (key, image) in &all {
                    w.put_image(*key, image).expect("put");
                }
                let desc = w.finish().expect("finish");
                elapsed += start.elapsed();
                std::fs::remove_file(desc.path).expect("rm");
            }
            elapsed
        })
    });
    group.finish();

    let mut w = ImageLayerWriter::new(
        dir.path(),
        WORKLOAD_TENANT,
        WORKLOAD_TIMELINE,
        p.key_range(),
        p.lsn(),
    )
    .expect("writer");
    for (key, image) in &all {
        w.put_image(*key, image).expect("put");
    }
    let desc = w.finish().expect("finish");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let n_blocks = desc.file_size / 8192;
    let files = FileTable::new(16);
    let mut group = c.benchmark_group("strata-image/get");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(5));
    for (name, slots) in [("warm", n_blocks + 64), ("cold", (n_blocks / 8).max(1))] {
        let cache = PageCache::new(slots as usize);
        let layer = rt
            .block_on(ImageLayer::open(&desc.path, &cache, &files))
            .expect("open");
        let mut q = SplitMix64::new(p.seed ^ 0x5741_524D_5550_0000);
        rt.block_on(gets(&layer, &p, &mut q, 10_000));
        let mut q = SplitMix64::new(p.seed ^ 0x4C4F_4F4B_5550_0000);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    gets(&layer, &p, &mut q, iters).await;
                    start.elapsed()
                })
            })
        });
    }
    group.finish();

    let cache = PageCache::new(n_blocks as usize + 64);
    let layer = rt
        .block_on(ImageLayer::open(&desc.path, &cache, &files))
        .expect("open");
    assert_eq!(rt.block_on(scan(&layer)), p.keys);
    let mut group = c.benchmark_group("strata-image/scan");
    group.throughput(Throughput::Elements(p.keys));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("warm", |b| {
        b.iter_custom(|iters| rt.block_on(time_runs(iters, async || scan(&layer).await)))
    });
    group.finish();
}

criterion_group!(image, benches);
criterion_main!(image);
