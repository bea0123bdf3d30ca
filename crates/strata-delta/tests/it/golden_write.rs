//! The writer reproduces every golden layer Neon wrote, byte for byte:
//! * from each case's manifest (values ≤ 4 KiB from the manifest's hex, longer ones from the
//!   golden file's blobs, checked against the manifest's sha256);
//! * from data generators alone: the standard workload (`stdsmall`) and the cases `tiny`,
//!   `walonly`, `imgsizes` and `walvariants` per the data generation of `golden/README`.

use anyhow::{Context, Result, bail, ensure};
use bytes::Bytes;
use strata_delta::{
    DeltaLayerWriter, LayerDesc, MultiXactMember, NeonWalRecord, SplitMix64, Value,
    WORKLOAD_TENANT, WORKLOAD_TIMELINE, WorkloadParams,
};
use strata_key::{Key, KeyRange, Lsn, LsnRange};
use strata_testkit::{Manifest, Payload, golden_cases, layer_bytes, sha256};

const PAGE: usize = 8192;

/// Fails naming the first differing byte (compared block by block).
fn assert_same_file(case: &str, ours: &[u8], golden: &[u8]) -> Result<()> {
    for (blkno, (a, b)) in ours.chunks(PAGE).zip(golden.chunks(PAGE)).enumerate() {
        if a != b {
            let i = a
                .iter()
                .zip(b)
                .position(|(x, y)| x != y)
                .unwrap_or(a.len().min(b.len()));
            let offset = blkno * PAGE + i;
            bail!(
                "{case}: first difference at offset {offset} ({offset:#x}, block {blkno}): ours \
                 {:#04x?} golden {:#04x?}",
                a.get(i),
                b.get(i)
            );
        }
    }
    ensure!(
        ours.len() == golden.len(),
        "{case}: same prefix but sizes differ: ours {} golden {}",
        ours.len(),
        golden.len()
    );
    Ok(())
}

/// Writes `entries` as the golden cases were written (key range from the first key to the last
/// key's next, LSN range from the smallest LSN to the largest + 1) and returns the file.
fn write_entries(entries: &[(Key, Lsn, Value)]) -> Result<(Vec<u8>, LayerDesc)> {
    let first = entries.first().context("no entries")?;
    let last = entries.last().context("no entries")?;
    let min_lsn = entries.iter().map(|e| e.1).min().context("no entries")?;
    let max_lsn = entries.iter().map(|e| e.1).max().context("no entries")?;
    let key_range = KeyRange::new(first.0, last.0.next());
    let lsn_range = LsnRange::new(min_lsn, Lsn(max_lsn.0 + 1));
    let dir = tempfile::tempdir()?;
    let mut w = DeltaLayerWriter::new(
        dir.path(),
        WORKLOAD_TENANT,
        WORKLOAD_TIMELINE,
        key_range.start,
        lsn_range,
    )?;
    for (key, lsn, value) in entries {
        w.put_value(*key, *lsn, value)?;
    }
    let desc = w.finish(key_range.end)?;
    Ok((std::fs::read(&desc.path)?, desc))
}

/// The serialized value of each manifest entry: from the manifest, or from the golden file's
/// blob (checked against the digest).
fn manifest_payloads(m: &Manifest, golden: &[u8]) -> Result<Vec<Vec<u8>>> {
    m.entries
        .iter()
        .zip(m.blob_offsets())
        .map(|(e, off)| match &e.payload {
            Payload::Bytes(b) => Ok(b.clone()),
            Payload::Sha256(_) => {
                let start = off as usize + if e.len < 128 { 1 } else { 4 };
                let bytes = golden
                    .get(start..start + e.len as usize)
                    .context("blob outside the golden file")?;
                ensure!(e.payload.matches(bytes), "sha256 mismatch at {off}");
                Ok(bytes.to_vec())
            }
        })
        .collect()
}

#[test]
fn every_golden_case_from_its_manifest() -> Result<()> {
    let cases = golden_cases();
    ensure!(
        cases.len() >= 9,
        "expected the 9 golden cases, got {cases:?}"
    );
    for case in &cases {
        let m = Manifest::load(case);
        let golden = layer_bytes(case);
        let payloads = manifest_payloads(&m, &golden)?;
        let s = &m.summary;
        let dir = tempfile::tempdir()?;
        let mut w = DeltaLayerWriter::new(
            dir.path(),
            s.tenant_id,
            s.timeline_id,
            s.key_range.start,
            s.lsn_range,
        )?;
        for (i, (e, bytes)) in m.entries.iter().zip(&payloads).enumerate() {
            let value = Value::decode(bytes).with_context(|| format!("{case} entry {i}"))?;
            ensure!(value.kind_name() == e.kind, "{case} entry {i}: kind");
            ensure!(
                value.will_init() == e.will_init,
                "{case} entry {i}: will_init"
            );
            ensure!(
                value.encode() == *bytes,
                "{case} entry {i}: re-encoding differs"
            );
            // Both entry points: the Value one and the serialized-bytes one.
            if i % 2 == 0 {
                w.put_value(e.key, e.lsn, &value)?;
            } else {
                w.put_value_bytes(e.key, e.lsn, bytes, e.will_init)?;
            }
        }
        let desc = w.finish(s.key_range.end)?;
        let ours = std::fs::read(&desc.path)?;
        assert_same_file(case, &ours, &golden)?;
        ensure!(sha256(&ours) == m.file_sha256, "{case}: sha256");
        ensure!(desc.file_size == m.file_size, "{case}: file size");
        ensure!(desc.n_entries == m.entries.len() as u64, "{case}: entries");
        let expect_name = format!(
            "{}-{}__{}-{}",
            s.key_range.start,
            s.key_range.end,
            s.lsn_range.start.to_hex16(),
            s.lsn_range.end.to_hex16()
        );
        ensure!(
            desc.file_name == expect_name,
            "{case}: name {}",
            desc.file_name
        );
        ensure!(desc.path == dir.path().join(&expect_name), "{case}: path");
        // Nothing else is left in the directory (no temp file).
        ensure!(
            std::fs::read_dir(dir.path())?.count() == 1,
            "{case}: stray files"
        );
    }
    Ok(())
}

#[test]
fn stdsmall_from_the_workload_generator() -> Result<()> {
    let params = WorkloadParams {
        keys: 300,
        ..WorkloadParams::default()
    };
    let dir = tempfile::tempdir()?;
    let mut w = DeltaLayerWriter::new(
        dir.path(),
        WORKLOAD_TENANT,
        WORKLOAD_TIMELINE,
        params.key_range().start,
        params.lsn_range(),
    )?;
    for (key, lsn, value) in params.entries() {
        w.put_value(key, lsn, &value)?;
    }
    let desc = w.finish(params.key_range().end)?;
    ensure!(desc.n_entries == 3300);
    assert_same_file(
        "stdsmall",
        &std::fs::read(&desc.path)?,
        &layer_bytes("stdsmall"),
    )
}

/// `Key(0, 1663, 16384, f4, f5, f6)`.
fn rel(f4: u32, f5: u8, f6: u32) -> Key {
    key(0, 1663, 16384, f4, f5, f6)
}

fn key(field1: u8, field2: u32, field3: u32, field4: u32, field5: u8, field6: u32) -> Key {
    Key {
        field1,
        field2,
        field3,
        field4,
        field5,
        field6,
    }
}

fn pg(will_init: bool, rec: Vec<u8>) -> Value {
    Value::WalRecord(NeonWalRecord::Postgres {
        will_init,
        rec: rec.into(),
    })
}

fn img(b: Vec<u8>) -> Value {
    Value::Image(b.into())
}

fn check_generated(case: &str, entries: &[(Key, Lsn, Value)]) -> Result<()> {
    let (ours, _) = write_entries(entries)?;
    assert_same_file(case, &ours, &layer_bytes(case))
}

#[test]
fn tiny_from_its_description() -> Result<()> {
    let mut da = SplitMix64::new(1);
    check_generated("tiny", &[(rel(16385, 0, 0), Lsn(0x10), img(da.bytes(13)))])
}

#[test]
fn walonly_from_its_description() -> Result<()> {
    let mut da = SplitMix64::new(2);
    let mut sh = SplitMix64::new(2 ^ 0x5EED_5EED_5EED_5EED);
    let mut entries = Vec::new();
    for i in 0..40u64 {
        let n = 1 + sh.below(8);
        for j in 0..n {
            let wi = (j == 0 && i % 3 == 0) || (j == 3 && i % 7 == 0);
            let len = sh.below(300) as usize;
            let lsn = Lsn(0x100000 + 0x40 * j + i);
            entries.push((rel(16386, 0, i as u32), lsn, pg(wi, da.bytes(len))));
        }
    }
    ensure!(entries.len() == 177);
    check_generated("walonly", &entries)
}

#[test]
fn imgsizes_from_its_description() -> Result<()> {
    let sizes = [
        0, 1, 7, 8, 115, 116, 117, 127, 128, 129, 8180, 8181, 8192, 8193, 16384, 65536, 1048576,
    ];
    let mut da = SplitMix64::new(3);
    let entries: Vec<_> = sizes
        .iter()
        .enumerate()
        .map(|(i, &sz)| {
            let lsn = Lsn(0x200000 + 0x10 * i as u64);
            (rel(16387, 0, i as u32), lsn, img(da.bytes(sz)))
        })
        .collect();
    check_generated("imgsizes", &entries)
}

#[test]
fn walvariants_from_its_description() -> Result<()> {
    use NeonWalRecord as R;
    let mut da = SplitMix64::new(7);
    let rec = Value::WalRecord;
    let at = |n: u64| Lsn(0x600000 + n);
    let mut e: Vec<(Key, Lsn, Value)> = Vec::new();
    let k = rel(16385, 0, 7);
    e.push((k, at(0), pg(true, da.bytes(50))));
    e.push((k, at(8), pg(false, da.bytes(0))));
    e.push((k, at(0x10), pg(false, da.bytes(200))));
    e.push((k, at(0x18), pg(true, da.bytes(111))));
    e.push((k, at(0x20), pg(false, da.bytes(5000))));
    let k = rel(16385, 2, 0);
    e.push((k, at(0), img(da.bytes(8192))));
    for (n, new, old, flags) in [
        (8, Some(5), None, 0x03),
        (0x10, None, Some(0xFFFF_FFFF), 0x01),
        (0x18, None, None, 0),
        (0x20, Some(1), Some(2), 0xFF),
    ] {
        let r = R::ClearVisibilityMapFlags {
            new_heap_blkno: new,
            old_heap_blkno: old,
            flags,
        };
        e.push((k, at(n), rec(r)));
    }
    let k = key(1, 0, 1, 0, 0, 0);
    e.push((k, at(0), img(da.bytes(8192))));
    let committed = |xids: Vec<u32>, timestamp| rec(R::ClogSetCommitted { xids, timestamp });
    e.push((k, at(8), committed(vec![100, 101, 102], 0x0001020304050607)));
    e.push((k, at(0x10), rec(R::ClogSetAborted { xids: vec![103] })));
    e.push((k, at(0x18), committed(vec![], -1)));
    e.push((k, at(0x20), rec(R::ClogSetAborted { xids: vec![] })));
    e.push((k, at(0x28), committed((1000..=2499).collect(), i64::MIN)));
    let k = key(1, 1, 1, 0, 0, 0);
    let member = |xid, status| MultiXactMember { xid, status };
    let members = vec![member(500, 0), member(501, 5), member(0xFFFF_FFFF, 3)];
    e.push((
        k,
        at(0),
        rec(R::MultixactMembersCreate { moff: 42, members }),
    ));
    let members = vec![];
    e.push((
        k,
        at(8),
        rec(R::MultixactMembersCreate { moff: 0, members }),
    ));
    let k = key(1, 2, 1, 0, 0, 0);
    let offset = |mid, moff| rec(R::MultixactOffsetCreate { mid, moff });
    e.push((k, at(0), offset(7, 0xFFFF_FFFF)));
    e.push((k, at(8), offset(0xFFFF_FFFF, 0)));
    let k = key(3, 0, 0, 0, 0, 2);
    let aux = |path: &str, content: Option<Vec<u8>>| {
        rec(R::AuxFile {
            file_path: path.into(),
            content: content.map(Bytes::from),
        })
    };
    e.push((
        k,
        at(0),
        aux("pg_logical/mappings/test1", Some(da.bytes(64))),
    ));
    e.push((k, at(8), aux("pg_stat/pgstat.stat", None)));
    e.push((k, at(0x10), aux("päth/ü€😀", Some(Vec::new()))));
    e.push((k, at(0x18), aux("", Some(da.bytes(300)))));
    ensure!(e.len() == 24);
    check_generated("walvariants", &e)
}
