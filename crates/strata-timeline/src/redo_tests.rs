//! Unit tests of redo: every row of TIMELINE.md 4.6, the edge cases of 4.5, the dispatcher's
//! runs (4.1) and AUX directories compared decoded.

use std::collections::BTreeMap;
use std::sync::Mutex;

use strata_delta::MultiXactMember;

use super::*;
use crate::aux_file::{decode_aux_dir, encode_aux_dir};

fn vm_key(blkno: u32) -> Key {
    Key {
        field1: 0,
        field2: 1663,
        field3: 5,
        field4: 16384,
        field5: VISIBILITYMAP_FORKNUM,
        field6: blkno,
    }
}

fn slru_key(kind: u32, seg: u32, blkno: u32) -> Key {
    Key {
        field1: 1,
        field2: kind,
        field3: 0,
        field4: seg,
        field5: 0,
        field6: blkno,
    }
}

fn apply(key: Key, record: NeonWalRecord, page: &mut Vec<u8>) -> Result<(), RedoError> {
    apply_neon(key, Lsn(0x10), &record, page)
}

fn clear_vm(new: Option<u32>, old: Option<u32>, flags: u8) -> NeonWalRecord {
    NeonWalRecord::ClearVisibilityMapFlags {
        new_heap_blkno: new,
        old_heap_blkno: old,
        flags,
    }
}

/// Bytes that differ between an all-0xFF page and `page`.
fn changed(page: &[u8]) -> Vec<(usize, u8)> {
    page.iter()
        .enumerate()
        .filter(|(_, b)| **b != 0xFF)
        .map(|(i, b)| (i, *b))
        .collect()
}

#[test]
fn clear_vm_rows() {
    let mut page = vec![0xFF; BLCKSZ];
    apply(vm_key(0), clear_vm(Some(5), None, 0x03), &mut page).unwrap();
    assert_eq!(changed(&page), [(25, 0xF3)]);

    let mut page = vec![0xFF; BLCKSZ];
    apply(vm_key(1), clear_vm(Some(32673), None, 0x01), &mut page).unwrap();
    assert_eq!(changed(&page), [(24, 0xFB)]);

    let mut page = vec![0xFF; BLCKSZ];
    apply(vm_key(2), clear_vm(Some(65354), None, 0x03), &mut page).unwrap();
    assert_eq!(changed(&page), [(26, 0xCF)]);

    // Neon panics on a block mismatch; we return an error.
    let mut page = vec![0xFF; BLCKSZ];
    let err = apply(vm_key(1), clear_vm(Some(5), None, 0x03), &mut page).unwrap_err();
    assert!(matches!(err, RedoError::BlockMismatch { .. }), "{err}");
}

#[test]
fn clear_vm_edge_cases() {
    // Both blocks in the same byte: both applied. Neither: no change.
    let mut page = vec![0xFF; BLCKSZ];
    apply(vm_key(0), clear_vm(Some(4), Some(5), 0x01), &mut page).unwrap();
    assert_eq!(changed(&page), [(25, 0xFA)]);
    let mut page = vec![0xFF; BLCKSZ];
    apply(vm_key(0), clear_vm(None, None, 0x03), &mut page).unwrap();
    assert!(changed(&page).is_empty());
    // Flags above 3 clear the neighbours' bits; bits past bit 7 are lost.
    let mut page = vec![0xFF; BLCKSZ];
    apply(vm_key(0), clear_vm(Some(3), None, 0xFF), &mut page).unwrap();
    assert_eq!(changed(&page), [(24, 0x3F)]);
    // Wrong fork, wrong kind, short page.
    let mut key = vm_key(0);
    key.field5 = 0;
    let err = apply(key, clear_vm(Some(1), None, 1), &mut vec![0; BLCKSZ]).unwrap_err();
    assert!(matches!(err, RedoError::WrongKey { .. }));
    let err = apply(vm_key(0), clear_vm(Some(100), None, 1), &mut vec![0; 30]).unwrap_err();
    assert!(
        matches!(
            err,
            RedoError::PageTooShort {
                offset: 49,
                len: 30,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn clog_rows() {
    let mut page = vec![0u8; BLCKSZ];
    let commit = NeonWalRecord::ClogSetCommitted {
        xids: vec![1000],
        timestamp: 0x0102_0304_0506_0708,
    };
    apply(slru_key(0, 0, 0), commit.clone(), &mut page).unwrap();
    assert_eq!(page.len(), BLCKSZ + 8);
    assert_eq!(page[250], 0x01);
    assert_eq!(&page[8192..], &[1, 2, 3, 4, 5, 6, 7, 8]);
    // 8200 -> 8200 with the new timestamp.
    let commit2 = NeonWalRecord::ClogSetCommitted {
        xids: vec![1001],
        timestamp: 9,
    };
    apply(slru_key(0, 0, 0), commit2, &mut page).unwrap();
    assert_eq!(page.len(), BLCKSZ + 8);
    assert_eq!(page[250], 0x01 | 0x04);
    assert_eq!(&page[8192..], &9i64.to_be_bytes());

    let mut page = vec![0xFFu8; BLCKSZ];
    apply(
        slru_key(0, 0, 3),
        NeonWalRecord::ClogSetAborted { xids: vec![100000] },
        &mut page,
    )
    .unwrap();
    assert_eq!(page.len(), BLCKSZ);
    assert_eq!(changed(&page), [(424, 0xFE)]);

    let mut page = vec![0u8; BLCKSZ];
    let commit = NeonWalRecord::ClogSetCommitted {
        xids: vec![1081351],
        timestamp: 0,
    };
    apply(slru_key(0, 1, 1), commit, &mut page).unwrap();
    assert_eq!(page[1], 0x40);
    // An aborted 8200-byte page keeps its timestamp; another length is left alone.
    let mut page = vec![0u8; BLCKSZ + 8];
    page[8199] = 7;
    apply(
        slru_key(0, 0, 0),
        NeonWalRecord::ClogSetAborted { xids: vec![0] },
        &mut page,
    )
    .unwrap();
    assert_eq!((page.len(), page[0], page[8199]), (8200, 0x02, 7));
    let mut page = vec![0u8; 9000];
    apply(
        slru_key(0, 0, 0),
        NeonWalRecord::ClogSetCommitted {
            xids: vec![0],
            timestamp: 1,
        },
        &mut page,
    )
    .unwrap();
    assert_eq!(page.len(), 9000);
}

#[test]
fn clog_errors() {
    let rec = NeonWalRecord::ClogSetAborted { xids: vec![100000] };
    let err = apply(slru_key(0, 0, 2), rec.clone(), &mut vec![0; BLCKSZ]).unwrap_err();
    assert!(matches!(err, RedoError::BlockMismatch { .. }));
    let err = apply(slru_key(1, 0, 3), rec.clone(), &mut vec![0; BLCKSZ]).unwrap_err();
    assert!(matches!(err, RedoError::WrongKey { .. }));
    let err = apply(slru_key(0, 0, 3), rec, &mut vec![0; 10]).unwrap_err();
    assert!(matches!(err, RedoError::PageTooShort { .. }));
}

#[test]
fn multixact_rows() {
    let mut page = vec![0u8; BLCKSZ];
    let rec = NeonWalRecord::MultixactOffsetCreate {
        mid: 70000,
        moff: 0xA1B2_C3D4,
    };
    apply(slru_key(2, 1, 2), rec, &mut page).unwrap();
    assert_eq!(&page[1472..1476], &0xA1B2_C3D4u32.to_le_bytes());
    assert_eq!(page.iter().filter(|b| **b != 0).count(), 4);

    let mut page = vec![0xEEu8; BLCKSZ];
    let rec = NeonWalRecord::MultixactMembersCreate {
        moff: 1640,
        members: vec![MultiXactMember {
            xid: 0x1234_5678,
            status: 0x05,
        }],
    };
    apply(slru_key(1, 0, 1), rec, &mut page).unwrap();
    assert_eq!(&page[20..24], &[0x05, 0xEE, 0xEE, 0xEE]);
    assert_eq!(&page[24..28], &0x1234_5678u32.to_le_bytes());

    // test_multixid_calc's vectors.
    assert_eq!(123456789 / MULTIXACT_MEMBERS_PER_PAGE, 75462);
    assert_eq!((75462 / 32, 75462 % 32), (2358, 6));
    assert_eq!(member_position(123456789), (4780, 8, 4788));
    assert_eq!(4294967295 / MULTIXACT_MEMBERS_PER_PAGE, 2625285);
    assert_eq!(member_position(4294967295), (5160, 24, 5176));
}

#[test]
fn multixact_edge_cases() {
    // Second member of a group, a later page rejected, and offset overflow.
    let mut page = vec![0u8; BLCKSZ];
    let members = vec![
        MultiXactMember { xid: 1, status: 1 },
        MultiXactMember { xid: 2, status: 2 },
    ];
    apply(
        slru_key(1, 0, 0),
        NeonWalRecord::MultixactMembersCreate {
            moff: 0,
            members: members.clone(),
        },
        &mut page,
    )
    .unwrap();
    assert_eq!(&page[0..4], &[1, 2, 0, 0]);
    assert_eq!(&page[4..12], &[1, 0, 0, 0, 2, 0, 0, 0]);
    let err = apply(
        slru_key(1, 0, 0),
        NeonWalRecord::MultixactMembersCreate {
            moff: 1635,
            members: members.clone(),
        },
        &mut page,
    )
    .unwrap_err();
    assert!(matches!(err, RedoError::BlockMismatch { .. }), "{err}");
    let last_page = u32::MAX / MULTIXACT_MEMBERS_PER_PAGE;
    let err = apply(
        slru_key(1, last_page / 32, last_page % 32),
        NeonWalRecord::MultixactMembersCreate {
            moff: u32::MAX,
            members,
        },
        &mut page,
    )
    .unwrap_err();
    assert_eq!(err, RedoError::Overflow("MultixactMembersCreate"));
    let err = apply(
        slru_key(2, 0, 1),
        NeonWalRecord::MultixactOffsetCreate { mid: 1, moff: 1 },
        &mut page,
    )
    .unwrap_err();
    assert!(matches!(err, RedoError::BlockMismatch { .. }));
}

#[test]
fn truncate_vm() {
    let mut page = vec![0xFFu8; BLCKSZ];
    let rec = NeonWalRecord::TruncateVisibilityMap {
        trunc_byte: 10,
        trunc_offs: 4,
    };
    apply(vm_key(0), rec, &mut page).unwrap();
    assert!(page[..34].iter().all(|b| *b == 0xFF));
    assert_eq!(page[34], 0x0F);
    assert!(page[35..].iter().all(|b| *b == 0));
    let err = apply(
        vm_key(0),
        NeonWalRecord::TruncateVisibilityMap {
            trunc_byte: 9000,
            trunc_offs: 0,
        },
        &mut page,
    )
    .unwrap_err();
    assert!(matches!(err, RedoError::PageTooShort { .. }));
    let err = apply(
        vm_key(0),
        NeonWalRecord::TruncateVisibilityMap {
            trunc_byte: 0,
            trunc_offs: 8,
        },
        &mut page,
    )
    .unwrap_err();
    assert_eq!(err, RedoError::Overflow("TruncateVisibilityMap"));
}

fn aux(files: &[(&str, &str)]) -> Bytes {
    let map: BTreeMap<String, Bytes> = files
        .iter()
        .map(|(p, c)| ((*p).to_owned(), Bytes::copy_from_slice(c.as_bytes())))
        .collect();
    Bytes::from(encode_aux_dir(&map))
}

fn aux_rec(path: &str, content: Option<&str>) -> NeonWalRecord {
    NeonWalRecord::AuxFile {
        file_path: path.to_owned(),
        content: content.map(|c| Bytes::copy_from_slice(c.as_bytes())),
    }
}

#[test]
fn aux_file_insert_update_delete() {
    // Neon's apply_aux_file_deltas, compared decoded.
    let base = aux(&[
        ("pg_logical/mappings/test1", "first"),
        ("pg_logical/mappings/test2", "second"),
    ]);
    let records = [
        (
            Lsn(2),
            aux_rec("pg_logical/mappings/test1", Some("first-upd")),
        ),
        (Lsn(3), aux_rec("pg_logical/mappings/test2", None)),
        (Lsn(4), aux_rec("pg_logical/mappings/test3", Some("third"))),
    ];
    let out = NeonRedo::new()
        .redo(AUX_FILES_KEY, Lsn(4), Some((Lsn(1), base)), &records, 16)
        .unwrap();
    assert_eq!(
        decode_aux_dir(&out).unwrap(),
        decode_aux_dir(&aux(&[
            ("pg_logical/mappings/test1", "first-upd"),
            ("pg_logical/mappings/test3", "third")
        ]))
        .unwrap()
    );
    let err = decode_aux_dir(&[0, 0, 0, 0, 0, 0, 0, 1, 0xFF]).unwrap_err();
    assert!(matches!(err, RedoError::AuxDirectory(_)));
    let mut trailing = aux(&[]).to_vec();
    trailing.push(0);
    assert!(decode_aux_dir(&trailing).is_err());
    // A huge count on a short page fails without allocating.
    assert!(decode_aux_dir(&[0xFF; 8]).is_err());
}

/// A Postgres backend that appends each record's bytes to the page and logs its runs.
#[derive(Default)]
struct FakePostgres {
    runs: Mutex<Vec<(Option<usize>, usize)>>,
}

impl PostgresRedo for FakePostgres {
    fn apply_postgres(
        &self,
        _key: Key,
        base: Option<&[u8]>,
        records: &[(Lsn, Bytes)],
        _pg_version: u32,
    ) -> Result<Bytes, RedoError> {
        self.runs
            .lock()
            .unwrap()
            .push((base.map(<[u8]>::len), records.len()));
        let mut page = base.map_or_else(|| vec![0; BLCKSZ], <[u8]>::to_vec);
        for (i, (_, rec)) in records.iter().enumerate() {
            page[i] = rec[0];
        }
        Ok(Bytes::from(page))
    }
}

fn pg(byte: u8) -> NeonWalRecord {
    NeonWalRecord::Postgres {
        will_init: false,
        rec: Bytes::from(vec![byte]),
    }
}

#[test]
fn dispatcher_runs() {
    let key = vm_key(0);
    let records = [
        (Lsn(1), pg(0xAA)),
        (Lsn(2), clear_vm(Some(0), None, 0x03)),
        (Lsn(3), pg(0x11)),
        (Lsn(4), pg(0x22)),
    ];
    let backend = std::sync::Arc::new(FakePostgres::default());
    let redo = NeonRedo::with_postgres(backend.clone());
    let out = redo.redo(key, Lsn(4), None, &records, 16).unwrap();
    assert_eq!(
        *backend.runs.lock().unwrap(),
        [(None, 1), (Some(BLCKSZ), 2)]
    );
    assert_eq!(&out[..2], &[0x11, 0x22]);
    assert_eq!(out[24], 0);

    // Without a backend: typed error. No records, Neon run without base: typed errors.
    let err = NeonRedo::new()
        .redo(key, Lsn(4), None, &records, 16)
        .unwrap_err();
    assert_eq!(err, RedoError::NeedsPostgres { n_records: 1 });
    assert_eq!(
        NeonRedo::new()
            .redo(key, Lsn(4), None, &[], 16)
            .unwrap_err(),
        RedoError::NoRecords
    );
    assert_eq!(
        NeonRedo::new()
            .redo(key, Lsn(4), None, &records[1..2], 16)
            .unwrap_err(),
        RedoError::NoBaseImage
    );
    // A Postgres run on a non-relation key, or with a base of the wrong length.
    let err = redo
        .redo(slru_key(0, 0, 0), Lsn(4), None, &records[..1], 16)
        .unwrap_err();
    assert!(matches!(err, RedoError::WrongKey { .. }));
    let err = redo
        .redo(
            key,
            Lsn(4),
            Some((Lsn(0), Bytes::from_static(b"x"))),
            &records[..1],
            16,
        )
        .unwrap_err();
    assert_eq!(err, RedoError::BasePageLength(1));
}
