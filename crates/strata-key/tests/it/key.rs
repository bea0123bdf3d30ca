//! `Key` and `KeyRange`: the 18-byte big-endian form (FORMAT.md section 5.1), `MIN`/`MAX`,
//! `add`/`next` with carry (wrapping at `MAX`, `checked_next` for the checked form), the i128
//! form, Display as 36 uppercase hex digits, and `FromStr` rejecting everything else with a typed
//! error (never a panic, also on multi-byte UTF-8).

use strata_key::{KEY_SIZE, Key, KeyRange, ParseError};

/// The key of the FORMAT.md examples and its six fields.
const EXAMPLE: &str = "000000067F000032BE0000400000000020B6";

fn key(f1: u8, f2: u32, f3: u32, f4: u32, f5: u8, f6: u32) -> Key {
    Key {
        field1: f1,
        field2: f2,
        field3: f3,
        field4: f4,
        field5: f5,
        field6: f6,
    }
}

fn counting_bytes() -> [u8; KEY_SIZE] {
    std::array::from_fn(|i| u8::try_from(i).unwrap() + 1)
}

#[test]
fn byte_form_is_the_six_fields_big_endian() {
    let b = counting_bytes();
    let k = Key::from_array(&b);
    assert_eq!(
        k,
        key(
            0x01,
            0x0203_0405,
            0x0607_0809,
            0x0A0B_0C0D,
            0x0E,
            0x0F10_1112
        )
    );
    assert_eq!(k.to_array(), b);
    let mut out = [0xAA; KEY_SIZE];
    k.write_to(&mut out);
    assert_eq!(out, b);
    // write_to overwrites every byte, also with zeros.
    Key::MIN.write_to(&mut out);
    assert_eq!(out, [0; KEY_SIZE]);
}

#[test]
fn from_slice_needs_18_bytes_and_reads_only_those() {
    let b = counting_bytes();
    for len in 0..KEY_SIZE {
        assert_eq!(Key::from_slice(&b[..len]), None, "len {len}");
    }
    assert_eq!(Key::from_slice(&b), Some(Key::from_array(&b)));
    let mut longer = b.to_vec();
    longer.extend_from_slice(&[0xFF; 10]);
    assert_eq!(Key::from_slice(&longer), Some(Key::from_array(&b)));
}

#[test]
fn min_and_max() {
    assert_eq!(Key::MIN.to_array(), [0; KEY_SIZE]);
    assert_eq!(Key::MAX.to_array(), [0xFF; KEY_SIZE]);
    assert_eq!(Key::MIN.to_string(), "0".repeat(36));
    assert_eq!(Key::MAX.to_string(), "F".repeat(36));
    assert_eq!(Key::default(), Key::MIN);
    assert!(Key::MIN < Key::MAX);
    assert_eq!(KEY_SIZE, 18);
}

#[test]
fn order_is_byte_order_field_by_field() {
    // A larger earlier field wins over any later field.
    let pairs = [
        (key(0, 0xFFFF_FFFF, 0, 0, 0, 0), key(1, 0, 0, 0, 0, 0)),
        (key(0, 0, 0xFFFF_FFFF, 0, 0, 0), key(0, 1, 0, 0, 0, 0)),
        (key(0, 0, 0, 0xFFFF_FFFF, 0, 0), key(0, 0, 1, 0, 0, 0)),
        (key(0, 0, 0, 0, 0xFF, 0), key(0, 0, 0, 1, 0, 0)),
        (key(0, 0, 0, 0, 0, 0xFFFF_FFFF), key(0, 0, 0, 0, 1, 0)),
        (key(0, 0, 0, 0, 0, 0x7F), key(0, 0, 0, 0, 0, 0x80)),
    ];
    for (lo, hi) in pairs {
        assert!(lo < hi, "{lo} < {hi}");
        assert!(lo.to_array() < hi.to_array());
        assert!(lo.to_string() < hi.to_string());
    }
}

#[test]
fn add_carries_through_every_field() {
    let m = u32::MAX;
    let cases = [
        (key(0, 0, 0, 0, 0, 5), 1, key(0, 0, 0, 0, 0, 6)),
        (key(0, 0, 0, 0, 0, m), 1, key(0, 0, 0, 0, 1, 0)),
        (key(0, 0, 0, 0, 0xFF, m), 1, key(0, 0, 0, 1, 0, 0)),
        (key(0, 0, 0, m, 0xFF, m), 1, key(0, 0, 1, 0, 0, 0)),
        (key(0, 0, m, m, 0xFF, m), 1, key(0, 1, 0, 0, 0, 0)),
        (key(0x7F, m, m, m, 0xFF, m), 1, key(0x80, 0, 0, 0, 0, 0)),
        // A carry stops at the first field that does not overflow.
        (key(3, 4, 5, 6, 0xFE, m), 1, key(3, 4, 5, 6, 0xFF, 0)),
        (
            key(3, 4, 5, 6, 7, 0xFFFF_FFF0),
            0x20,
            key(3, 4, 5, 6, 8, 0x10),
        ),
        (key(3, 4, 5, 6, 7, 1), m, key(3, 4, 5, 6, 8, 0)),
        (key(3, 4, 5, 6, 7, 8), 0, key(3, 4, 5, 6, 7, 8)),
    ];
    for (k, x, want) in cases {
        assert_eq!(k.add(x), want, "{k} + {x}");
    }
}

#[test]
fn next_is_add_one_and_wraps_at_max() {
    let k: Key = EXAMPLE.parse().unwrap();
    assert_eq!(k.next(), k.add(1));
    assert_eq!(k.next().to_string(), "000000067F000032BE0000400000000020B7");
    assert_eq!(k.checked_next(), Some(k.next()));
    // The documented wrap (Neon's Key::add) and its checked counterpart.
    assert_eq!(Key::MAX.next(), Key::MIN);
    assert_eq!(Key::MAX.add(5), key(0, 0, 0, 0, 0, 4));
    assert_eq!(Key::MAX.checked_next(), None);
    let below_max = key(0xFF, u32::MAX, u32::MAX, u32::MAX, 0xFF, u32::MAX - 1);
    assert_eq!(below_max.checked_next(), Some(Key::MAX));
    assert_eq!(Key::MIN.checked_next(), Some(key(0, 0, 0, 0, 0, 1)));
}

#[test]
fn i128_form() {
    let k: Key = EXAMPLE.parse().unwrap();
    let want = (0x67F_i128 << 104) | (0x32BE << 72) | (0x4000 << 40) | 0x20B6;
    assert_eq!(k.to_i128(), Some(want));
    assert_eq!(Key::from_i128(want), k);
    assert_eq!(Key::MIN.to_i128(), Some(0));
    assert_eq!(Key::from_i128(0), Key::MIN);
    // The largest key with an i128 form is i128::MAX.
    let top = key(0x7F, 0xFFFF, u32::MAX, u32::MAX, 0xFF, u32::MAX);
    assert_eq!(top.to_i128(), Some(i128::MAX));
    assert_eq!(Key::from_i128(i128::MAX), top);
    // Keys outside the compact space have none.
    assert_eq!(key(0x80, 0, 0, 0, 0, 0).to_i128(), None);
    assert_eq!(key(0, 0x1_0000, 0, 0, 0, 0).to_i128(), None);
    assert_eq!(Key::MAX.to_i128(), None);
    // Each field lands in its own bits.
    assert_eq!(key(1, 0, 0, 0, 0, 0).to_i128(), Some(1 << 120));
    assert_eq!(key(0, 1, 0, 0, 0, 0).to_i128(), Some(1 << 104));
    assert_eq!(key(0, 0, 1, 0, 0, 0).to_i128(), Some(1 << 72));
    assert_eq!(key(0, 0, 0, 1, 0, 0).to_i128(), Some(1 << 40));
    assert_eq!(key(0, 0, 0, 0, 1, 0).to_i128(), Some(1 << 32));
    assert_eq!(key(0, 0, 0, 0, 0, 1).to_i128(), Some(1));
}

#[test]
fn display_is_36_uppercase_hex_with_fixed_field_widths() {
    let k = key(0x0A, 0xB, 0xC, 0xD, 0xE, 0xF);
    assert_eq!(k.to_string(), "0A0000000B0000000C0000000D0E0000000F");
    assert_eq!(format!("{k:?}"), k.to_string());
    let parsed: Key = EXAMPLE.parse().unwrap();
    assert_eq!(parsed, key(0, 0x67F, 0x32BE, 0x4000, 0, 0x20B6));
    assert_eq!(parsed.to_string(), EXAMPLE);
}

#[test]
fn from_str_accepts_either_case() {
    let upper: Key = "0A0B0C0D0E0F1A1B1C1D1E1FAABBCCDDEEFF".parse().unwrap();
    let lower: Key = "0a0b0c0d0e0f1a1b1c1d1e1faabbccddeeff".parse().unwrap();
    let mixed: Key = "0A0b0C0d0E0f1A1b1C1d1E1faAbBcCdDeEfF".parse().unwrap();
    assert_eq!(upper, lower);
    assert_eq!(upper, mixed);
    assert_eq!(lower.to_string(), "0A0B0C0D0E0F1A1B1C1D1E1FAABBCCDDEEFF");
}

#[test]
fn from_str_rejects_wrong_lengths() {
    for len in [0, 1, 2, 17, 18, 32, 34, 35, 37, 38, 72] {
        let text = "A".repeat(len);
        assert_eq!(
            text.parse::<Key>(),
            Err(ParseError::Length {
                what: "key",
                expected: 36,
                got: len
            }),
            "{text:?}"
        );
    }
    // Whitespace around a valid key changes its length.
    for text in [
        format!(" {EXAMPLE}"),
        format!("{EXAMPLE}\n"),
        format!("{EXAMPLE}\0"),
    ] {
        assert!(matches!(
            text.parse::<Key>(),
            Err(ParseError::Length { got: 37, .. })
        ));
    }
}

#[test]
fn from_str_rejects_non_hex_of_the_right_length() {
    let mut bad = vec![
        "G00000067F000032BE0000400000000020B6".to_owned(),
        "000000067F000032BE0000400000000020Bg".to_owned(),
        "+00000067F000032BE0000400000000020B6".to_owned(),
        "-00000067F000032BE0000400000000020B6".to_owned(),
        "0x0000067F000032BE0000400000000020B6".to_owned(),
        " 00000067F000032BE0000400000000020B6".to_owned(),
        "00000006 F000032BE0000400000000020B6".to_owned(),
        "00000006\tF000032BE0000400000000020B6".to_owned(),
        "00000006_F000032BE0000400000000020B6".to_owned(),
        "\0".repeat(36),
    ];
    // Multi-byte UTF-8 whose byte length is 36: two-, three- and four-byte characters, aligned
    // with the hex pairs and straddling them.
    bad.push("é".repeat(18));
    bad.push("€".repeat(12));
    bad.push("😀".repeat(9));
    bad.push("０".repeat(12)); // full-width digit zero
    bad.push(format!("{}é", &EXAMPLE[..34]));
    bad.push(format!("{}é{}", &EXAMPLE[..33], &EXAMPLE[35..]));
    bad.push(format!("é{}", &EXAMPLE[2..]));
    for text in bad {
        assert_eq!(text.len(), 36, "{text:?}");
        assert_eq!(
            text.parse::<Key>(),
            Err(ParseError::InvalidChar {
                what: "key",
                text: text.clone()
            }),
            "{text:?}"
        );
    }
}

#[test]
fn from_str_rejects_short_multibyte_text_by_length() {
    // 36 characters but more bytes: the byte length decides.
    let text = "é".repeat(36);
    assert_eq!(
        text.parse::<Key>(),
        Err(ParseError::Length {
            what: "key",
            expected: 36,
            got: 72
        })
    );
}

#[test]
fn parse_errors_display_what_was_parsed() {
    let err = "12".parse::<Key>().unwrap_err();
    assert_eq!(err.to_string(), "key: expected 36 characters, got 2");
    let err = "Z".repeat(36).parse::<Key>().unwrap_err();
    assert!(
        err.to_string().starts_with("key: invalid character"),
        "{err}"
    );
}

#[test]
fn key_range_helpers() {
    let a = key(0, 0, 0, 0, 0, 10);
    let b = key(0, 0, 0, 0, 0, 20);
    let r = KeyRange::new(a, b);
    assert_eq!((r.start, r.end), (a, b));
    assert!(!r.is_empty());
    assert!(r.contains(&a));
    assert!(r.contains(&key(0, 0, 0, 0, 0, 19)));
    assert!(!r.contains(&b));
    assert!(!r.contains(&key(0, 0, 0, 0, 0, 9)));
    // A later field larger does not make a key before the range fall into it.
    assert!(!r.contains(&key(0, 0, 0, 0, 0xFF, 5)));
    assert!(KeyRange::new(a, a).is_empty());
    assert!(KeyRange::new(b, a).is_empty());
    assert!(!KeyRange::new(b, a).contains(&a));
    let all = KeyRange::new(Key::MIN, Key::MAX);
    assert!(all.contains(&Key::MIN));
    assert!(!all.contains(&Key::MAX), "end is exclusive");
    assert!(KeyRange::new(a, a.next()).contains(&a));
}
