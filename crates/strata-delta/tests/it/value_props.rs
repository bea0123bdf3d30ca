//! Property tests of the hand-written [`Value`] codec against bincode 1.3 (big-endian fixint,
//! trailing bytes rejected): same bytes out, same accept/reject decisions, same values in.
//! `decode_then_encode_is_identity` is the logic of `fuzz/fuzz_targets/value_decode.rs`.

use bincode::Options;
use bytes::Bytes;
use proptest::prelude::*;
use strata_delta::{MultiXactMember, NeonWalRecord, Value};

fn bincode_opts(limit: u64) -> impl Options {
    bincode::DefaultOptions::new()
        .with_big_endian()
        .with_fixint_encoding()
        .reject_trailing_bytes()
        .with_limit(limit)
}

fn bytes_strategy() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..64),
        1 => proptest::collection::vec(any::<u8>(), 0..9000),
    ]
    .prop_map(Bytes::from)
}

fn record_strategy() -> impl Strategy<Value = NeonWalRecord> {
    let xids = || proptest::collection::vec(any::<u32>(), 0..20);
    prop_oneof![
        (any::<bool>(), bytes_strategy())
            .prop_map(|(will_init, rec)| NeonWalRecord::Postgres { will_init, rec }),
        (any::<Option<u32>>(), any::<Option<u32>>(), any::<u8>()).prop_map(|(n, o, flags)| {
            NeonWalRecord::ClearVisibilityMapFlags {
                new_heap_blkno: n,
                old_heap_blkno: o,
                flags,
            }
        }),
        (xids(), any::<i64>())
            .prop_map(|(xids, timestamp)| NeonWalRecord::ClogSetCommitted { xids, timestamp }),
        xids().prop_map(|xids| NeonWalRecord::ClogSetAborted { xids }),
        (any::<u32>(), any::<u32>())
            .prop_map(|(mid, moff)| NeonWalRecord::MultixactOffsetCreate { mid, moff }),
        (
            any::<u32>(),
            proptest::collection::vec((any::<u32>(), any::<u32>()), 0..10)
        )
            .prop_map(|(moff, m)| NeonWalRecord::MultixactMembersCreate {
                moff,
                members: m
                    .into_iter()
                    .map(|(xid, status)| MultiXactMember { xid, status })
                    .collect(),
            }),
        (".{0,12}", proptest::option::of(bytes_strategy()))
            .prop_map(|(file_path, content)| NeonWalRecord::AuxFile { file_path, content }),
        (any::<u64>(), any::<u64>()).prop_map(|(trunc_byte, trunc_offs)| {
            NeonWalRecord::TruncateVisibilityMap {
                trunc_byte,
                trunc_offs,
            }
        }),
    ]
}

fn value_strategy() -> impl Strategy<Value = Value> {
    prop_oneof![
        bytes_strategy().prop_map(Value::Image),
        record_strategy().prop_map(Value::WalRecord),
    ]
}

/// Checks `Value::decode` on arbitrary bytes against bincode, and that an accepted input
/// re-encodes to itself.
fn check_bytes(data: &[u8]) -> Result<(), TestCaseError> {
    let ours = Value::decode(data);
    // The owned decoder's shortcuts give the same value or the same error.
    prop_assert_eq!(&Value::decode_owned(Bytes::copy_from_slice(data)), &ours);
    let theirs: Result<Value, _> = bincode_opts(data.len() as u64).deserialize(data);
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        _ => prop_assert!(false, "ours {:?} vs bincode {:?}", ours, theirs),
    }
    if let Ok(v) = ours {
        prop_assert_eq!(v.encode(), data);
        prop_assert_eq!(Value::will_init_from_bytes(data).ok(), Some(v.will_init()));
        prop_assert_eq!(Value::kind_name_from_bytes(data).ok(), Some(v.kind_name()));
        prop_assert_eq!(
            Value::decode_bytes(&Bytes::copy_from_slice(data)).ok(),
            Some(v)
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn encode_matches_bincode(v in value_strategy()) {
        let ours = v.encode();
        let theirs = bincode_opts(u64::MAX).serialize(&v).unwrap();
        prop_assert_eq!(&ours, &theirs);
        prop_assert_eq!(ours.len(), v.encoded_len());
        let mut head = vec![0xEE];
        let tail = v.encode_head_into(&mut head);
        prop_assert_eq!(&[&head[1..], tail].concat(), &ours);
        let mut appended = vec![1, 2];
        v.encode_into(&mut appended);
        prop_assert_eq!(&appended[2..], &ours[..]);
        prop_assert_eq!(Value::decode(&ours).unwrap(), v.clone());
        prop_assert_eq!(Value::decode_bytes(&Bytes::from(ours.clone())).unwrap(), v.clone());
        prop_assert_eq!(Value::decode_owned(Bytes::from(ours.clone())).unwrap(), v.clone());
        prop_assert_eq!(Value::will_init_from_bytes(&ours).unwrap(), v.will_init());
        prop_assert_eq!(Value::kind_name_from_bytes(&ours).unwrap(), v.kind_name());
    }

    #[test]
    fn decode_then_encode_is_identity(data in proptest::collection::vec(any::<u8>(), 0..64)) {
        check_bytes(&data)?;
    }

    #[test]
    fn mutated_values_agree_with_bincode(
        v in value_strategy(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
        cut in any::<prop::sample::Index>(),
        how in 0..4u8,
    ) {
        let mut data = v.encode();
        for (idx, byte) in edits {
            let i = idx.index(data.len());
            data[i] = byte;
        }
        match how {
            0 => data.truncate(cut.index(data.len() + 1)),
            1 => data.push(0),
            _ => {}
        }
        check_bytes(&data)?;
    }
}
