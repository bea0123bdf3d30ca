//! serde forms. Binary: bincode 1.3 with Neon's `BeSer` options (big-endian, fixint; FORMAT.md
//! section 3) gives a `Key` as its 18 raw bytes, an `Lsn` as a big-endian u64, ids as 16 raw
//! bytes with no length prefix, ranges as `start ‖ end`; short or over-long input is an error.
//! Human-readable (serde_json): `Lsn` as `X/Y`, ids as 32 lowercase hex, `Key` as Neon's derived
//! struct of six fields.

#![cfg(feature = "serde")]

use bincode::Options;
use serde::Serialize;
use serde::de::DeserializeOwned;
use strata_key::{Key, KeyRange, Lsn, LsnRange, TenantId, TimelineId};

/// Neon's `utils::bin_ser::BeSer` options.
fn be() -> impl Options {
    bincode::DefaultOptions::new()
        .with_big_endian()
        .with_fixint_encoding()
}

fn enc<T: Serialize>(v: &T) -> Vec<u8> {
    be().serialize(v).unwrap()
}

fn dec<T: DeserializeOwned>(b: &[u8]) -> bincode::Result<T> {
    be().deserialize(b)
}

/// Checks `v` encodes to `want`, decodes back, and that one byte fewer or one more is an error.
#[track_caller]
fn binary_form<T>(v: &T, want: &[u8])
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    assert_eq!(enc(v), want, "{v:?}");
    assert_eq!(be().serialized_size(v).unwrap(), want.len() as u64);
    assert_eq!(&dec::<T>(want).unwrap(), v);
    assert!(dec::<T>(&want[..want.len() - 1]).is_err(), "short {v:?}");
    assert!(dec::<T>(&[]).is_err(), "empty {v:?}");
    let mut long = want.to_vec();
    long.push(0);
    assert!(dec::<T>(&long).is_err(), "trailing byte after {v:?}");
    // Neon reads block 0 with `des_prefix`, which ignores what follows.
    let prefix: T = be().allow_trailing_bytes().deserialize(&long).unwrap();
    assert_eq!(&prefix, v);
}

fn example_key() -> Key {
    "000000067F000032BE0000400000000020B6".parse().unwrap()
}

#[test]
fn key_is_its_18_bytes() {
    for k in [
        Key::MIN,
        Key::MAX,
        example_key(),
        Key::from_array(&std::array::from_fn(|i| 0xF0 | u8::try_from(i).unwrap())),
    ] {
        binary_form(&k, &k.to_array());
    }
}

#[test]
fn lsn_is_a_big_endian_u64() {
    for lsn in [Lsn(0), Lsn(1), Lsn(0x0102_0304_0506_0708), Lsn::MAX] {
        binary_form(&lsn, &lsn.0.to_be_bytes());
        assert_eq!(enc(&lsn), enc(&lsn.0));
    }
}

#[test]
fn ids_are_16_raw_bytes() {
    let bytes: [u8; 16] = std::array::from_fn(|i| u8::try_from(i * 17).unwrap());
    binary_form(&TenantId(bytes), &bytes);
    binary_form(&TimelineId(bytes), &bytes);
    binary_form(&TenantId::default(), &[0; 16]);
    binary_form(&TimelineId([0xFF; 16]), &[0xFF; 16]);
}

#[test]
fn ranges_are_start_then_end_like_std_range() {
    let kr = KeyRange::new(example_key(), Key::MAX);
    let mut want = example_key().to_array().to_vec();
    want.extend_from_slice(&Key::MAX.to_array());
    binary_form(&kr, &want);
    assert_eq!(enc(&kr), enc(&(kr.start..kr.end)));

    let lr = LsnRange::new(Lsn(0x578C_6B29), Lsn(0x57A5_0051));
    binary_form(
        &lr,
        &[
            0, 0, 0, 0, 0x57, 0x8C, 0x6B, 0x29, 0, 0, 0, 0, 0x57, 0xA5, 0, 0x51,
        ],
    );
    assert_eq!(enc(&lr), enc(&(lr.start..lr.end)));
}

/// The summary of FORMAT.md section 3, decoded field by field with these types.
#[test]
fn format_md_summary_example() {
    let hex = "5a610003\
        11111111111111111111111111111111\
        22222222222222222222222222222222\
        000000067f000032be0000400000000020b6\
        000000067f000032be0000400000000030b6\
        00000000578c6b290000000057a50051\
        0000000500000002";
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    assert_eq!(bytes.len(), 96);
    type Summary = (u16, u16, TenantId, TimelineId, KeyRange, LsnRange, u32, u32);
    let s: Summary = dec(&bytes).unwrap();
    assert_eq!(s.0, 0x5A61);
    assert_eq!(s.1, 3);
    assert_eq!(s.2, TenantId([0x11; 16]));
    assert_eq!(s.3, TimelineId([0x22; 16]));
    assert_eq!(s.4.start, example_key());
    assert_eq!(s.4.end.to_string(), "000000067F000032BE0000400000000030B6");
    assert_eq!(s.5, LsnRange::new(Lsn(0x578C_6B29), Lsn(0x57A5_0051)));
    assert_eq!((s.6, s.7), (5, 2));
    assert_eq!(enc(&s), bytes);
}

#[test]
fn json_lsn_is_the_postgres_form() {
    assert_eq!(
        serde_json::to_string(&Lsn(0x1_0169_6070)).unwrap(),
        r#""1/1696070""#
    );
    assert_eq!(serde_json::to_string(&Lsn(0)).unwrap(), r#""0/0""#);
    assert_eq!(
        serde_json::from_str::<Lsn>(r#""16/b374d848""#).unwrap(),
        Lsn(0x16_B374_D848)
    );
    for bad in [
        r#""0000000001696070""#,
        r#""1/""#,
        r#""+1/0""#,
        r#""é/0""#,
        "23",
        "null",
        "[0, 1]",
    ] {
        assert!(serde_json::from_str::<Lsn>(bad).is_err(), "{bad}");
    }
    let err = serde_json::from_str::<Lsn>(r#""1696070""#).unwrap_err();
    assert!(err.to_string().contains("lsn"), "{err}");
}

#[test]
fn json_ids_are_lowercase_hex() {
    let text = "11223344556677889900aabbccddeeff";
    let t: TenantId = text.parse().unwrap();
    assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{text}\""));
    let upper = format!("\"{}\"", text.to_ascii_uppercase());
    assert_eq!(serde_json::from_str::<TenantId>(&upper).unwrap(), t);
    let tl = TimelineId(t.0);
    assert_eq!(serde_json::to_string(&tl).unwrap(), format!("\"{text}\""));
    assert_eq!(
        serde_json::from_str::<TimelineId>(&format!("\"{text}\"")).unwrap(),
        tl
    );
    let short = format!("\"{}\"", &text[1..]);
    let raw = serde_json::to_string(&t.0).unwrap();
    for bad in [
        short.as_str(),
        r#""g1223344556677889900aabbccddeeff""#,
        &raw,
        "0",
    ] {
        assert!(serde_json::from_str::<TenantId>(bad).is_err(), "{bad}");
        assert!(serde_json::from_str::<TimelineId>(bad).is_err(), "{bad}");
    }
}

#[test]
fn json_key_and_ranges_use_the_derived_structs() {
    let k = example_key();
    let json = serde_json::to_string(&k).unwrap();
    assert_eq!(
        json,
        r#"{"field1":0,"field2":1663,"field3":12990,"field4":16384,"field5":0,"field6":8374}"#
    );
    assert_eq!(serde_json::from_str::<Key>(&json).unwrap(), k);
    // Out-of-range fields are refused, not truncated.
    let bad = json.replace(r#""field1":0"#, r#""field1":256"#);
    assert!(serde_json::from_str::<Key>(&bad).is_err());
    assert!(serde_json::from_str::<Key>(r#""000000067F000032BE0000400000000020B6""#).is_err());

    let lr = LsnRange::new(Lsn(0x10), Lsn(0x1_0000_0011));
    let json = serde_json::to_string(&lr).unwrap();
    assert_eq!(json, r#"{"start":"0/10","end":"1/11"}"#);
    assert_eq!(serde_json::from_str::<LsnRange>(&json).unwrap(), lr);

    let kr = KeyRange::new(Key::MIN, k);
    let back: KeyRange = serde_json::from_str(&serde_json::to_string(&kr).unwrap()).unwrap();
    assert_eq!(back, kr);
}
