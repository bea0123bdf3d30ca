//! Criterion bench of the delta layer writer on the standard workload (WORKLOAD.md) with a
//! modest K (default 1000; `STRATA_BENCH_KEYS` overrides), group `strata-delta/write`.
//!
//! The entries are generated once, outside the timing; each iteration creates a writer in a
//! temp dir, puts every value and finishes (index, summary, fsync, rename, directory fsync),
//! as WORKLOAD.md's `write_*` figures count. Throughput is the finished file's bytes. Removing
//! the file happens outside the timing. For the full default workload see
//! `examples/write_workload.rs`.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use strata_delta::workload::{WORKLOAD_TENANT, WORKLOAD_TIMELINE, WorkloadParams};
use strata_delta::{DeltaLayerWriter, LayerDesc, Value};
use strata_key::{Key, Lsn};

fn params() -> WorkloadParams {
    WorkloadParams {
        keys: strata_testkit::bench_keys(1000),
        ..WorkloadParams::default()
    }
}

fn write(dir: &Path, params: &WorkloadParams, entries: &[(Key, Lsn, Value)]) -> LayerDesc {
    let mut writer = DeltaLayerWriter::new(
        dir,
        WORKLOAD_TENANT,
        WORKLOAD_TIMELINE,
        params.key_range().start,
        params.lsn_range(),
    )
    .expect("create writer");
    for (key, lsn, value) in entries {
        writer.put_value(*key, *lsn, value).expect("put_value");
    }
    writer.finish(params.key_range().end).expect("finish")
}

/// Removes the layer when dropped (outside the timed section).
struct Written(PathBuf);

impl Drop for Written {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn bench_write(c: &mut Criterion) {
    let params = params();
    let entries: Vec<_> = params.entries().collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let size = {
        let desc = write(dir.path(), &params, &entries);
        let _ = std::fs::remove_file(&desc.path);
        desc.file_size
    };
    let mut group = c.benchmark_group("strata-delta/write");
    group.throughput(Throughput::Bytes(size));
    group.sample_size(20);
    group.bench_function(format!("standard_k{}", params.keys), |b| {
        b.iter_batched(
            || (),
            |()| Written(black_box(write(dir.path(), &params, &entries)).path),
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, bench_write);
criterion_main!(benches);
