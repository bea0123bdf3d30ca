//! A downstream crate's view: everything below is imported from `strata_delta` alone (no other
//! Strata crate), as a user depending only on it would write it. Writes a layer, opens it
//! through a page cache of a few slots, and reads it back every way; exits non-zero on any
//! mismatch. Run with `cargo run -p strata-delta --example downstream`.

use strata_delta::{
    BlockReader, DeltaLayer, DeltaLayerWriter, FileTable, Key, KeyRange, Lsn, LsnRange,
    MemBlockReader, NeonWalRecord, OpenOptions, PageCache, TenantId, TimelineId, Value,
    ValueReconstructResult, ValueReconstructState, VectoredReconstructState,
};

/// Reads the history of `key` through any block source and checks it.
async fn check_history<R: BlockReader>(layer: &DeltaLayer<R>, key: Key) -> Result<(), String> {
    let mut state = ValueReconstructState::default();
    let range = LsnRange::new(Lsn(0), Lsn(0x1000));
    let result = layer
        .get_value_reconstruct_data(key, range, &mut state)
        .await
        .map_err(|e| e.to_string())?;
    if result != ValueReconstructResult::Complete || state.records.len() != 9 {
        return Err(format!(
            "{key}: {result:?}, {} records",
            state.records.len()
        ));
    }
    Ok(())
}

async fn run() -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("strata-downstream-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let keys: Vec<Key> = (0..50).map(|i| Key::from_i128(0x1000 + i)).collect();
    let lsns = LsnRange::new(Lsn(0x10), Lsn(0x1000));
    let mut writer =
        DeltaLayerWriter::new(&dir, TenantId([1; 16]), TimelineId([2; 16]), keys[0], lsns)
            .map_err(|e| e.to_string())?;
    for key in &keys {
        writer
            .put_value(*key, Lsn(0x10), &Value::Image(vec![1; 8192].into()))
            .map_err(|e| e.to_string())?;
        for j in 1..10u64 {
            let rec = NeonWalRecord::Postgres {
                will_init: false,
                rec: vec![j as u8; 100].into(),
            };
            writer
                .put_value(*key, Lsn(0x10 + j * 16), &Value::WalRecord(rec))
                .map_err(|e| e.to_string())?;
        }
    }
    let desc = writer.finish(keys[49].next()).map_err(|e| e.to_string())?;

    // Through a page cache of 2 slots: one per concurrent reader is enough.
    let (cache, files) = (PageCache::new(2), FileTable::new(4));
    let layer = DeltaLayer::open(&desc.path, &cache, &files)
        .await
        .map_err(|e| e.to_string())?;
    for key in &keys {
        check_history(&layer, *key).await?;
    }
    let mut states = VectoredReconstructState::new();
    let all = KeyRange::new(keys[0], keys[49].next());
    layer
        .get_values_reconstruct_data(&[all], Lsn(0x1000), &mut states)
        .await
        .map_err(|e| e.to_string())?;
    if states.len() != keys.len() {
        return Err(format!("vectored read found {} keys", states.len()));
    }
    let findings = layer.verify().await.map_err(|e| e.to_string())?;
    if !findings.is_empty() {
        return Err(format!("verify: {findings:?}"));
    }

    // The same bytes from memory: the same generic reader API.
    let bytes = std::fs::read(&desc.path).map_err(|e| e.to_string())?;
    let in_memory =
        DeltaLayer::from_reader(MemBlockReader::from_bytes(&bytes), OpenOptions::default())
            .await
            .map_err(|e| e.to_string())?;
    check_history(&in_memory, keys[7]).await?;
    std::fs::remove_dir_all(&dir).map_err(|e| e.to_string())?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    let rt = tokio::runtime::Builder::new_current_thread().build();
    match rt
        .map_err(|e| e.to_string())
        .and_then(|rt| rt.block_on(run()))
    {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("downstream check failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
