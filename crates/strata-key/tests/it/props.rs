//! Property tests of the value types: bytes ↔ `Key` ↔ string ↔ i128, `add` against a 144-bit
//! big-endian model, order agreement between `Key`, its bytes and its text, `Lsn` text forms and
//! checked arithmetic against `u64`, and id text round trips. Layer names are in
//! `tests/it/name_props.rs`.

use proptest::prelude::*;
use strata_key::{KEY_SIZE, Key, Lsn, ParseError, TenantId, TimelineId};

/// A u32 biased to the carry boundaries.
fn field32() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0),
        Just(1),
        Just(u32::MAX - 1),
        Just(u32::MAX),
        any::<u32>(),
    ]
}

fn field8() -> impl Strategy<Value = u8> {
    prop_oneof![Just(0), Just(0x7F), Just(0x80), Just(0xFF), any::<u8>()]
}

/// Keys with fields biased to boundaries, plus uniformly random byte forms.
fn key() -> impl Strategy<Value = Key> {
    prop_oneof![
        (
            field8(),
            field32(),
            field32(),
            field32(),
            field8(),
            field32()
        )
            .prop_map(|(field1, field2, field3, field4, field5, field6)| Key {
                field1,
                field2,
                field3,
                field4,
                field5,
                field6,
            }),
        any::<[u8; KEY_SIZE]>().prop_map(|b| Key::from_array(&b)),
    ]
}

/// Keys that have an i128 form (`field1 <= 0x7F`, `field2 <= 0xFFFF`).
fn i128_key() -> impl Strategy<Value = Key> {
    key().prop_map(|k| Key {
        field1: k.field1 & 0x7F,
        field2: k.field2 & 0xFFFF,
        ..k
    })
}

fn lsn() -> impl Strategy<Value = Lsn> {
    prop_oneof![
        Just(Lsn(0)),
        Just(Lsn::MAX),
        Just(Lsn(0xFFFF_FFFF)),
        Just(Lsn(1 << 32)),
        any::<u64>().prop_map(Lsn),
    ]
}

/// `bytes + x` as a 144-bit big-endian number, wrapping.
fn add_model(mut bytes: [u8; KEY_SIZE], x: u32) -> [u8; KEY_SIZE] {
    let mut carry = u64::from(x);
    for b in bytes.iter_mut().rev() {
        let sum = u64::from(*b) + (carry & 0xFF);
        *b = (sum & 0xFF) as u8;
        carry = (carry >> 8) + (sum >> 8);
    }
    bytes
}

proptest! {
    #[test]
    fn key_bytes_round_trip(bytes in any::<[u8; KEY_SIZE]>(), tail in proptest::collection::vec(any::<u8>(), 0..8)) {
        let k = Key::from_array(&bytes);
        prop_assert_eq!(k.to_array(), bytes);
        let mut out = [0x5A; KEY_SIZE];
        k.write_to(&mut out);
        prop_assert_eq!(out, bytes);
        let mut long = bytes.to_vec();
        long.extend_from_slice(&tail);
        prop_assert_eq!(Key::from_slice(&long), Some(k));
        prop_assert_eq!(Key::from_slice(&bytes[..KEY_SIZE - 1]), None);
    }

    #[test]
    fn key_text_round_trip(k in key()) {
        let text = k.to_string();
        prop_assert_eq!(text.len(), 36);
        prop_assert!(text.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)), "{}", text);
        prop_assert_eq!(text.parse::<Key>(), Ok(k));
        prop_assert_eq!(text.to_ascii_lowercase().parse::<Key>(), Ok(k));
        // The text is the hex of the byte form.
        let hex: String = k.to_array().iter().map(|b| format!("{b:02X}")).collect();
        prop_assert_eq!(text, hex);
    }

    #[test]
    fn key_from_str_accepts_exactly_36_hex_digits(text in "[0-9a-fA-FgG+ é-]{34,38}") {
        let valid = text.len() == 36 && text.bytes().all(|b| b.is_ascii_hexdigit());
        match text.parse::<Key>() {
            Ok(k) => {
                prop_assert!(valid, "{:?}", text);
                prop_assert!(k.to_string().eq_ignore_ascii_case(&text));
            }
            Err(ParseError::Length { got, .. }) => prop_assert!(got != 36 && got == text.len()),
            Err(ParseError::InvalidChar { .. }) => prop_assert!(!valid && text.len() == 36),
            Err(e) => prop_assert!(false, "unexpected {:?}", e),
        }
    }

    #[test]
    fn key_i128_round_trip(k in i128_key()) {
        let x = k.to_i128().expect("in the compact space");
        prop_assert!(x >= 0);
        prop_assert_eq!(Key::from_i128(x), k);
    }

    #[test]
    fn i128_key_round_trip(x in 0..=i128::MAX) {
        prop_assert_eq!(Key::from_i128(x).to_i128(), Some(x));
    }

    #[test]
    fn i128_form_only_inside_the_compact_space(k in key()) {
        let compact = k.field1 <= 0x7F && k.field2 <= 0xFFFF;
        prop_assert_eq!(k.to_i128().is_some(), compact);
    }

    #[test]
    fn orders_agree(a in key(), b in key()) {
        prop_assert_eq!(a.cmp(&b), a.to_array().cmp(&b.to_array()));
        prop_assert_eq!(a.cmp(&b), a.to_string().cmp(&b.to_string()));
    }

    #[test]
    fn i128_order_agrees(a in i128_key(), b in i128_key()) {
        prop_assert_eq!(a.cmp(&b), a.to_i128().cmp(&b.to_i128()));
    }

    #[test]
    fn add_is_144_bit_addition(k in key(), x in field32()) {
        let sum = k.add(x);
        prop_assert_eq!(sum.to_array(), add_model(k.to_array(), x));
    }

    #[test]
    fn next_and_checked_next(k in key()) {
        prop_assert_eq!(k.next(), k.add(1));
        if k == Key::MAX {
            prop_assert_eq!(k.checked_next(), None);
            prop_assert_eq!(k.next(), Key::MIN);
        } else {
            prop_assert_eq!(k.checked_next(), Some(k.next()));
            prop_assert!(k < k.next());
        }
    }

    #[test]
    fn lsn_text_forms_round_trip(l in lsn()) {
        let hex16 = l.to_hex16();
        prop_assert_eq!(hex16.len(), 16);
        prop_assert_eq!(Lsn::from_hex16(&hex16), Ok(l));
        prop_assert_eq!(Lsn::from_hex16(&hex16.to_ascii_lowercase()), Ok(l));
        prop_assert_eq!(Lsn::from_hex(&format!("{:x}", l.0)), Ok(l));
        let pg = l.to_string();
        prop_assert_eq!(&pg, &format!("{:X}/{:X}", l.0 >> 32, l.0 & 0xFFFF_FFFF));
        prop_assert_eq!(pg.parse::<Lsn>(), Ok(l));
        prop_assert_eq!(format!("{:08x}/{:08x}", l.0 >> 32, l.0 & 0xFFFF_FFFF).parse::<Lsn>(), Ok(l));
        prop_assert_eq!(Lsn::from(l.0).to_be_bytes(), l.0.to_be_bytes());
    }

    #[test]
    fn lsn_checked_arithmetic_is_u64s(l in lsn(), n in prop_oneof![Just(0u64), Just(1), Just(u64::MAX), any::<u64>()]) {
        prop_assert_eq!(l.checked_add(n), l.0.checked_add(n).map(Lsn));
        prop_assert_eq!(l.checked_sub(n), l.0.checked_sub(n).map(Lsn));
    }

    #[test]
    fn ids_round_trip(bytes in any::<[u8; 16]>()) {
        let t = TenantId(bytes);
        let text = t.to_string();
        prop_assert_eq!(text.len(), 32);
        prop_assert!(text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{}", text);
        prop_assert_eq!(text.parse::<TenantId>(), Ok(t));
        prop_assert_eq!(text.to_ascii_uppercase().parse::<TenantId>(), Ok(t));
        prop_assert_eq!(text.parse::<TimelineId>(), Ok(TimelineId(bytes)));
        prop_assert_eq!(TimelineId(bytes).to_string(), text);
    }
}
