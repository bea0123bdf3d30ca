//! Writes the standard workload (WORKLOAD.md) once and prints its `write_*` figures.
//!
//! `cargo run --release -p strata-delta --example write_workload -- [DIR] [K] [BUF_KIB]`
//! (DIR defaults to a temp dir, K to 20000, the write buffer to the writer's default). The data is generated before the timer starts;
//! the timer covers writer creation, every `put_value` and `finish` (index, summary, fsync,
//! rename, directory fsync). The layer is removed afterwards.

use std::time::Instant;

use strata_blob::StdFs;
use strata_delta::workload::{WORKLOAD_TENANT, WORKLOAD_TIMELINE, WorkloadParams};
use strata_delta::{DeltaLayerWriter, DeltaLayerWriterOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let temp = tempfile::tempdir()?;
    let dir = args
        .next()
        .map_or_else(|| temp.path().to_path_buf(), Into::into);
    let keys = args.next().map_or(Ok(20_000), |k| k.parse())?;
    let mut opts = DeltaLayerWriterOptions::default();
    if let Some(kib) = args.next() {
        opts.write_buffer_size = kib.parse::<usize>()? * 1024;
    }
    let params = WorkloadParams {
        keys,
        ..WorkloadParams::default()
    };
    let entries: Vec<_> = params.entries().collect();

    let start = Instant::now();
    let mut writer = DeltaLayerWriter::with_fs(
        StdFs,
        &dir,
        WORKLOAD_TENANT,
        WORKLOAD_TIMELINE,
        params.key_range().start,
        params.lsn_range(),
        opts,
    )?;
    for (key, lsn, value) in &entries {
        writer.put_value(*key, *lsn, value)?;
    }
    let put_secs = start.elapsed().as_secs_f64();
    let desc = writer.finish(params.key_range().end)?;
    let secs = start.elapsed().as_secs_f64();

    println!(
        "write_entries_per_s: {:.0} entries/s",
        desc.n_entries as f64 / secs
    );
    println!(
        "write_mb_per_s: {:.1} MB/s",
        desc.file_size as f64 / 1e6 / secs
    );
    println!("write_total_s: {secs:.3} s");
    println!("file_size: {} bytes", desc.file_size);
    println!(
        "(of which put_value: {put_secs:.3} s, finish with fsync: {:.3} s)",
        secs - put_secs
    );
    std::fs::remove_file(&desc.path)?;
    Ok(())
}
