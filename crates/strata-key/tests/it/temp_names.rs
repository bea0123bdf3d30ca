//! Temp layer file names (FORMAT.md section 10: `….{8 alphanumerics}.___temp`), the lenient
//! `is_temp_file_name` test, `classify`, and the typed errors of malformed temp names.

use strata_key::name::{
    NameKind, TEMP_FILE_SUFFIX, TEMP_KEY_END, TEMP_RANDOM_LEN, TempRandom, classify,
    delta_temp_name, is_temp_file_name,
};
use strata_key::{
    ImageLayerName, Key, KeyRange, LayerName, Lsn, LsnRange, ParseError, TempLayerName,
};

const KA: &str = "000000067F000032BE0000400000000020B6";
const KB: &str = "000000067F000032BE0000400000000030B6";
const L1: &str = "0000000001696070";
const L2: &str = "00000000016960E9";

fn ka() -> Key {
    KA.parse().unwrap()
}

fn kb() -> Key {
    KB.parse().unwrap()
}

fn lsns() -> LsnRange {
    LsnRange::new(Lsn(0x1696070), Lsn(0x16960E9))
}

#[test]
fn constants() {
    assert_eq!(TEMP_FILE_SUFFIX, "___temp");
    assert_eq!(TEMP_RANDOM_LEN, 8);
    assert_eq!(TEMP_KEY_END, "XXX");
}

#[test]
fn delta_temp_name_round_trip() {
    let text = delta_temp_name(ka(), lsns(), "aZ09bY18");
    assert_eq!(text, format!("{KA}-XXX__{L1}-{L2}.aZ09bY18.___temp"));
    let random = TempRandom::new("aZ09bY18").unwrap();
    let want = TempLayerName::Delta {
        key_start: ka(),
        lsn_range: lsns(),
        random,
    };
    assert_eq!(TempLayerName::parse(&text), Ok(want));
    assert_eq!(text.parse::<TempLayerName>(), Ok(want));
    assert_eq!(want.to_string(), text);
    assert_eq!(want.random(), random);
    assert!(is_temp_file_name(&text));
    assert_eq!(classify(&text), Ok(NameKind::Temp(want)));
    assert_eq!(text.parse::<NameKind>(), Ok(NameKind::Temp(want)));
    assert_eq!(NameKind::Temp(want).to_string(), text);
}

#[test]
fn image_temp_name_round_trip() {
    let final_name = ImageLayerName::new(KeyRange::new(ka(), kb()), Lsn(0x1696070));
    let text = format!("{final_name}.Qq7Rr8Ss.___temp");
    assert_eq!(text, format!("{KA}-{KB}__{L1}.Qq7Rr8Ss.___temp"));
    let want = TempLayerName::Image {
        name: final_name,
        random: TempRandom::new("Qq7Rr8Ss").unwrap(),
    };
    assert_eq!(TempLayerName::parse(&text), Ok(want));
    assert_eq!(want.to_string(), text);
    assert_eq!(want.random().to_string(), "Qq7Rr8Ss");
    assert_eq!(classify(&text), Ok(NameKind::Temp(want)));
    // Lowercase hex parses to the same value and formats back uppercase.
    let lower = format!(
        "{}.Qq7Rr8Ss.___temp",
        final_name.to_string().to_ascii_lowercase()
    );
    assert_eq!(TempLayerName::parse(&lower), Ok(want));
}

#[test]
fn temp_random_part() {
    let r = TempRandom::new("abcXYZ09").unwrap();
    assert_eq!(r.as_bytes(), b"abcXYZ09");
    assert_eq!(r.to_string(), "abcXYZ09");
    for text in ["", "abc", "abcdefg", "abcdefghi"] {
        assert_eq!(
            TempRandom::new(text),
            Err(ParseError::Length {
                what: "temp name random part",
                expected: 8,
                got: text.len()
            })
        );
    }
    for text in [
        "abc-efgh",
        "abc_efgh",
        "abc.efgh",
        "abc efgh",
        "abcdéfg",
        "\0bcdefgh",
    ] {
        assert_eq!(text.len(), 8, "{text:?}");
        assert!(
            matches!(
                TempRandom::new(text),
                Err(ParseError::InvalidChar {
                    what: "temp name random part",
                    ..
                })
            ),
            "{text:?}"
        );
    }
}

#[test]
fn is_temp_file_name_is_neons_lenient_suffix_test() {
    for yes in ["___temp", "x___temp", "anything.at.all.___temp", "____temp"] {
        assert!(is_temp_file_name(yes), "{yes:?}");
    }
    for no in [
        "",
        "__temp",
        "___temp.",
        "___Temp",
        "x___temp ",
        "___temp\n",
    ] {
        assert!(!is_temp_file_name(no), "{no:?}");
    }
    let final_name = format!("{KA}-{KB}__{L1}-{L2}");
    assert!(!is_temp_file_name(&final_name));
}

#[test]
fn classify_tells_final_from_temp_names() {
    let delta = format!("{KA}-{KB}__{L1}-{L2}");
    let image = format!("{KA}-{KB}__{L1}-v1-00000003");
    for text in [&delta, &image] {
        let kind = classify(text).unwrap();
        assert_eq!(kind, NameKind::Layer(LayerName::parse(text).unwrap()));
        assert_eq!(kind.to_string(), *text);
    }
    // A temp name is not a final name, and garbage is neither.
    let temp = delta_temp_name(ka(), lsns(), "abcdefgh");
    assert!(LayerName::parse(&temp).is_err());
    assert!(TempLayerName::parse(&delta).is_err());
    assert!(matches!(
        classify("garbage"),
        Err(ParseError::Malformed {
            what: "layer name",
            ..
        })
    ));
    assert!(matches!(
        classify("garbage___temp"),
        Err(ParseError::Malformed {
            what: "temp layer name",
            ..
        })
    ));
    assert!(classify("").is_err());
    assert!(classify("metadata").is_err());
}

/// Asserts `text` is an invalid temp name with an error `check` accepts, also for `classify`.
#[track_caller]
fn rejects(text: &str, check: impl Fn(&ParseError) -> bool) {
    let err = TempLayerName::parse(text).expect_err(text);
    assert!(check(&err), "{text:?} gave {err:?}");
    assert_eq!(classify(text).map(|_| ()), Err(err), "{text:?}");
}

#[test]
fn malformed_temp_names() {
    let malformed = |reason: &'static str| move |e: &ParseError| matches!(e, ParseError::Malformed { reason: r, .. } if *r == reason);
    let shape = "expected {name}.{random}.___temp";
    let base = format!("{KA}-XXX__{L1}-{L2}");
    rejects(&format!("{base}___temp"), malformed(shape));
    rejects(&format!("{base}.___temp"), malformed(shape));
    rejects("abcdefgh.___temp", malformed(shape));
    rejects(&format!("{base}.abcdefgh___temp"), malformed(shape));
    rejects(
        &format!("{KA}-XXX__{L1}.abcdefgh.___temp"),
        malformed("expected two LSNs"),
    );
    rejects(
        &format!("{KA}XXX__{L1}-{L2}.abcdefgh.___temp"),
        malformed("no '-' between the keys"),
    );
    rejects(
        &format!("{KA}-XXX{L1}-{L2}.abcdefgh.___temp"),
        malformed("no '__' between keys and LSNs"),
    );
    rejects(
        &format!("{KA}-XXX-{KB}__{L1}-{L2}.abcdefgh.___temp"),
        malformed("more than two keys"),
    );
}

#[test]
fn temp_names_with_bad_parts() {
    let base = format!("{KA}-XXX__{L1}-{L2}");
    // The random part.
    rejects(&format!("{base}.abcdefg.___temp"), |e: &ParseError| {
        matches!(
            e,
            ParseError::Length {
                what: "temp name random part",
                got: 7,
                ..
            }
        )
    });
    rejects(&format!("{base}.abcd-fgh.___temp"), |e: &ParseError| {
        matches!(
            e,
            ParseError::InvalidChar {
                what: "temp name random part",
                ..
            }
        )
    });
    rejects(&format!("{base}.abcdéfg.___temp"), |e: &ParseError| {
        matches!(
            e,
            ParseError::InvalidChar {
                what: "temp layer name",
                ..
            }
        )
    });
    // The keys and LSNs, as strictly as in final names.
    rejects(
        &format!("{KA}-xxx__{L1}-{L2}.abcdefgh.___temp"),
        |e: &ParseError| {
            matches!(
                e,
                ParseError::Length {
                    what: "key",
                    got: 3,
                    ..
                }
            )
        },
    );
    rejects(
        &format!("{}-XXX__{L1}-{L2}.abcdefgh.___temp", &KA[1..]),
        |e: &ParseError| {
            matches!(
                e,
                ParseError::Length {
                    what: "key",
                    got: 35,
                    ..
                }
            )
        },
    );
    rejects(
        &format!("{KA}-XXX__{L2}-{L1}.abcdefgh.___temp"),
        |e: &ParseError| {
            matches!(
                e,
                ParseError::EmptyRange {
                    what: "lsn range",
                    ..
                }
            )
        },
    );
    rejects(
        &format!("{KA}-XXX__{L1}-{L2}-00000001.abcdefgh.___temp"),
        |e: &ParseError| {
            matches!(
                e,
                ParseError::Length {
                    what: "lsn",
                    got: 25,
                    ..
                }
            )
        },
    );
    rejects(
        &format!("{KB}-{KA}__{L1}.abcdefgh.___temp"),
        |e: &ParseError| {
            matches!(
                e,
                ParseError::EmptyRange {
                    what: "key range",
                    ..
                }
            )
        },
    );
    rejects(
        &format!("{KA}-{KB}__FFFFFFFFFFFFFFFF.abcdefgh.___temp"),
        |e: &ParseError| {
            matches!(
                e,
                ParseError::Overflow {
                    what: "image layer lsn",
                    ..
                }
            )
        },
    );
    // An image temp name carries no generation, and never two LSNs.
    rejects(
        &format!("{KA}-{KB}__{L1}-v1-00000001.abcdefgh.___temp"),
        |e: &ParseError| {
            matches!(
                e,
                ParseError::Length {
                    what: "lsn",
                    got: 28,
                    ..
                }
            )
        },
    );
    rejects(
        &format!("{KA}-{KB}__{L1}-{L2}.abcdefgh.___temp"),
        |e: &ParseError| {
            matches!(
                e,
                ParseError::Length {
                    what: "lsn",
                    got: 33,
                    ..
                }
            )
        },
    );
}

#[test]
fn temp_random_from_any_bytes_is_valid() {
    let mut seen = std::collections::BTreeSet::new();
    for start in (0..=255u8).step_by(8) {
        let bytes: [u8; 8] = std::array::from_fn(|i| start.wrapping_add(i as u8));
        let r = TempRandom::from_random_bytes(bytes);
        assert_eq!(TempRandom::new(&r.to_string()), Ok(r));
        seen.extend(r.as_bytes().iter().copied());
    }
    // Every alphanumeric is reachable.
    assert_eq!(seen.len(), 62);
}
