//! `Lsn` (the 16-hex-digit file-name form, the 1-to-16-digit form, the Postgres `X/Y` form,
//! checked arithmetic), `LsnRange`, and `TenantId`/`TimelineId` (32 lowercase hex digits):
//! values, boundaries and every error variant.

use strata_key::{Lsn, LsnRange, ParseError, TenantId, TimelineId};

fn length(what: &'static str, expected: usize, got: usize) -> ParseError {
    ParseError::Length {
        what,
        expected,
        got,
    }
}

fn invalid(what: &'static str, text: &str) -> ParseError {
    ParseError::InvalidChar {
        what,
        text: text.to_owned(),
    }
}

#[test]
fn hex16_form() {
    for (lsn, text) in [
        (Lsn(0), "0000000000000000"),
        (Lsn(0x1696070), "0000000001696070"),
        (Lsn(0x1_0169_60E9), "00000001016960E9"),
        (Lsn::MAX, "FFFFFFFFFFFFFFFF"),
    ] {
        assert_eq!(lsn.to_hex16(), text);
        assert_eq!(Lsn::from_hex16(text), Ok(lsn));
        assert_eq!(Lsn::from_hex16(&text.to_ascii_lowercase()), Ok(lsn));
        assert_eq!(Lsn::from_hex(text), Ok(lsn));
    }
}

#[test]
fn hex16_errors() {
    for len in [0, 1, 8, 15, 17, 32] {
        let text = "1".repeat(len);
        assert_eq!(
            Lsn::from_hex16(&text),
            Err(length("lsn", 16, len)),
            "{text:?}"
        );
    }
    for text in [
        "+000000001696070",
        "-000000001696070",
        "0x00000001696070",
        " 000000001696070",
        "000000001696070 ",
        "00000000016960G0",
        "éééééééé",
        "€€€€€1",
    ] {
        assert_eq!(text.len(), 16, "{text:?}");
        assert_eq!(Lsn::from_hex16(text), Err(invalid("lsn", text)), "{text:?}");
    }
}

#[test]
fn short_hex_form() {
    assert_eq!(Lsn::from_hex("0"), Ok(Lsn(0)));
    assert_eq!(Lsn::from_hex("a"), Ok(Lsn(10)));
    assert_eq!(Lsn::from_hex("1696070"), Ok(Lsn(0x1696070)));
    assert_eq!(Lsn::from_hex(""), Err(length("lsn", 16, 0)));
    assert_eq!(
        Lsn::from_hex("10000000000000000"),
        Err(length("lsn", 16, 17))
    );
    for text in ["+1", "-1", "0x1", " 1", "1 ", "é", "1_0"] {
        assert_eq!(Lsn::from_hex(text), Err(invalid("lsn", text)), "{text:?}");
    }
}

#[test]
fn postgres_form_display() {
    for (lsn, text) in [
        (Lsn(0), "0/0"),
        (Lsn(0x1696070), "0/1696070"),
        (Lsn(0xFFFF_FFFF), "0/FFFFFFFF"),
        (Lsn(1 << 32), "1/0"),
        (Lsn(0x16_B374_D848), "16/B374D848"),
        (Lsn::MAX, "FFFFFFFF/FFFFFFFF"),
    ] {
        assert_eq!(lsn.to_string(), text);
        assert_eq!(format!("{lsn:?}"), text);
        assert_eq!(text.parse::<Lsn>(), Ok(lsn));
    }
}

#[test]
fn postgres_form_parse_is_lenient_on_case_and_zeros() {
    assert_eq!("16/b374d848".parse::<Lsn>(), Ok(Lsn(0x16_B374_D848)));
    assert_eq!("00000016/0B374D84".parse::<Lsn>(), Ok(Lsn(0x16_0B37_4D84)));
    assert_eq!("0/00000000".parse::<Lsn>(), Ok(Lsn(0)));
}

#[test]
fn postgres_form_errors() {
    let malformed = |text: &str| {
        assert!(
            matches!(
                text.parse::<Lsn>(),
                Err(ParseError::Malformed { what: "lsn", .. })
            ),
            "{text:?}: {:?}",
            text.parse::<Lsn>()
        );
    };
    malformed("");
    malformed("1696070");
    malformed("0000000001696070");
    malformed("123456789/0");
    malformed("0/123456789");
    malformed("1-0");
    // An empty side is malformed too (it used to be reported as "expected 16 characters").
    malformed("/");
    malformed("/1");
    malformed("1/");
    for (text, side) in [
        ("1/2/3", "2/3"),
        ("1//0", "/0"),
        ("+1/0", "+1"),
        ("1/-0", "-0"),
        (" 1/0", " 1"),
        ("1/0 ", "0 "),
        ("é/0", "é"),
        ("0x1/0", "0x1"),
        ("G/0", "G"),
    ] {
        assert_eq!(text.parse::<Lsn>(), Err(invalid("lsn", side)), "{text:?}");
    }
    // Eight bytes that are four characters: rejected by length, never sliced mid-character.
    malformed("éééééé/0");
}

#[test]
fn checked_arithmetic_reports_overflow() {
    assert_eq!(Lsn::MAX.checked_add(1), None);
    assert_eq!(Lsn(1).checked_add(u64::MAX), None);
    assert_eq!(Lsn::MAX.checked_add(0), Some(Lsn::MAX));
    assert_eq!(Lsn(u64::MAX - 1).checked_add(1), Some(Lsn::MAX));
    assert_eq!(Lsn(0x10).checked_add(0x20), Some(Lsn(0x30)));
    assert_eq!(Lsn(0).checked_sub(1), None);
    assert_eq!(Lsn(5).checked_sub(6), None);
    assert_eq!(Lsn(0).checked_sub(0), Some(Lsn(0)));
    assert_eq!(Lsn::MAX.checked_sub(u64::MAX), Some(Lsn(0)));
    assert_eq!(Lsn(0x30).checked_sub(0x20), Some(Lsn(0x10)));
}

#[test]
fn lsn_basics() {
    assert_eq!(Lsn::INVALID, Lsn(0));
    assert_eq!(Lsn::default(), Lsn::INVALID);
    assert_eq!(Lsn::from(7u64), Lsn(7));
    assert_eq!(
        Lsn(0x0102_0304_0506_0708).to_be_bytes(),
        [1, 2, 3, 4, 5, 6, 7, 8]
    );
    assert!(Lsn(1) < Lsn(2));
    assert!(Lsn(0xFFFF_FFFF) < Lsn(1 << 32));
}

#[test]
fn lsn_range_helpers() {
    let r = LsnRange::new(Lsn(10), Lsn(20));
    assert_eq!((r.start, r.end), (Lsn(10), Lsn(20)));
    assert!(!r.is_empty());
    assert!(r.contains(Lsn(10)));
    assert!(r.contains(Lsn(19)));
    assert!(!r.contains(Lsn(20)));
    assert!(!r.contains(Lsn(9)));
    assert!(LsnRange::new(Lsn(10), Lsn(10)).is_empty());
    assert!(LsnRange::new(Lsn(20), Lsn(10)).is_empty());
    assert!(!LsnRange::new(Lsn(20), Lsn(10)).contains(Lsn(15)));
    let all = LsnRange::new(Lsn(0), Lsn::MAX);
    assert!(all.contains(Lsn(0)));
    assert!(!all.contains(Lsn::MAX));
}

const ID_TEXT: &str = "11223344556677889900aabbccddeeff";
const ID_BYTES: [u8; 16] = [
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0x00, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF,
];

#[test]
fn ids_display_lowercase_and_parse_either_case() {
    let t: TenantId = ID_TEXT.parse().unwrap();
    assert_eq!(t, TenantId(ID_BYTES));
    assert_eq!(t.as_bytes(), &ID_BYTES);
    assert_eq!(t.to_string(), ID_TEXT);
    assert_eq!(format!("{t:?}"), ID_TEXT);
    assert_eq!(ID_TEXT.to_ascii_uppercase().parse::<TenantId>(), Ok(t));

    let tl: TimelineId = "ffeeddccbbaa00998877665544332211".parse().unwrap();
    assert_eq!(tl.0[0], 0xFF);
    assert_eq!(tl.0[15], 0x11);
    assert_eq!(tl.to_string(), "ffeeddccbbaa00998877665544332211");
    assert_eq!(
        "FFEEDDCCBBAA00998877665544332211".parse::<TimelineId>(),
        Ok(tl)
    );

    assert_eq!(TenantId::default().to_string(), "0".repeat(32));
    assert_eq!(TimelineId([0xFF; 16]).to_string(), "f".repeat(32));
    // Order is byte order, which is also the order of the text forms.
    assert!(TenantId([0; 16]) < TenantId(ID_BYTES));
    let mut high_last = [0u8; 16];
    high_last[15] = 0xFF;
    let mut low_first = [0u8; 16];
    low_first[0] = 1;
    assert!(TimelineId(high_last) < TimelineId(low_first));
    assert!(TimelineId(high_last).to_string() < TimelineId(low_first).to_string());
}

#[test]
fn id_errors() {
    for len in [0, 1, 16, 31, 33, 36, 64] {
        let text = "a".repeat(len);
        assert_eq!(
            text.parse::<TenantId>(),
            Err(length("tenant id", 32, len)),
            "{text:?}"
        );
        assert_eq!(
            text.parse::<TimelineId>(),
            Err(length("timeline id", 32, len)),
            "{text:?}"
        );
    }
    let mut bad = vec![
        "g1223344556677889900aabbccddeeff".to_owned(),
        "+1223344556677889900aabbccddeeff".to_owned(),
        " 1223344556677889900aabbccddeeff".to_owned(),
        "11223344-556677889900aabbccddeef".to_owned(),
        "0x223344556677889900aabbccddeeff".to_owned(),
    ];
    bad.push("é".repeat(16));
    bad.push("😀".repeat(8));
    bad.push(format!("{}é", &ID_TEXT[..30]));
    for text in bad {
        assert_eq!(text.len(), 32, "{text:?}");
        assert_eq!(text.parse::<TenantId>(), Err(invalid("tenant id", &text)));
        assert_eq!(
            text.parse::<TimelineId>(),
            Err(invalid("timeline id", &text))
        );
    }
    // A UUID with dashes is not an id.
    assert!(
        "11223344-5566-7788-9900-aabbccddeeff"
            .parse::<TenantId>()
            .is_err()
    );
}

#[test]
fn parse_error_messages_name_the_form_and_the_text() {
    let name = "000000067F000032BE0000400000000030B6-000000067F000032BE0000400000000020B6__\
                0000000001696070-00000000016960E9";
    let cases = [
        (
            "1/".parse::<Lsn>().unwrap_err(),
            "lsn: malformed \"1/\": each side of X/Y has 1 to 8 hex digits",
        ),
        (
            "x/1".parse::<Lsn>().unwrap_err(),
            "lsn: invalid character in \"x\"",
        ),
        (
            "12".parse::<Lsn>().unwrap_err(),
            "lsn: malformed \"12\": expected X/Y",
        ),
        (
            strata_key::LayerName::parse(name).unwrap_err(),
            "key range: empty range 000000067F000032BE0000400000000030B6..\
             000000067F000032BE0000400000000020B6",
        ),
        (
            strata_key::ImageLayerName::parse(
                "000000067F000032BE0000400000000020B6-000000067F000032BE0000400000000030B6__\
                 FFFFFFFFFFFFFFFF",
            )
            .unwrap_err(),
            "image layer lsn: value out of range in \"FFFFFFFFFFFFFFFF\"",
        ),
    ];
    for (err, want) in cases {
        assert_eq!(err.to_string(), want);
    }
}
